"""The self-contained HTML report of an analysis: the verdict first, then metric tables and four plots
(PNG, base64-embedded; no script, so it opens anywhere).

The verdict is the dashboard's (analysis/verdict.py): which model recommend uses, how well it
orders configs on held-out tasks against the noise ceiling, and its regret against always-dense.
Tables have fixed decimals and a dash for what is missing, and stay within a 1400 px window; the
full numbers are in metrics.json. Plots: top-pick regret per held-out task (horizontal bars, so
task names never overlap), score vs HP per task, the learning curve, the balance-metric ranking.
matplotlib runs on the Agg backend: no display is needed.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from hpsweep.analysis.analyze import AnalysisResult  # noqa: E402
from hpsweep.analysis.verdict import verdict  # noqa: E402

MAX_PANELS = 12
"""Score-vs-HP panels drawn at most (the tasks with the most rows); a wall of 100 helps nobody."""
MAX_POINTS = 3_000
"""Points per scatter at most: more only slows the browser."""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _thin(df: pl.DataFrame, n: int = MAX_POINTS) -> pl.DataFrame:
    return df.sample(n, seed=0) if df.height > n else df


def plot_score_vs_hp(result: AnalysisResult) -> str:
    tasks = (
        result.table.group_by("task")
        .len()
        .sort(["len", "task"], descending=[True, False])
        .head(MAX_PANELS)["task"]
        .to_list()
    )
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharex=True, layout="constrained"
    )  # keeps the shared axis labels off the tick labels
    for ax, task in zip(axes.flat, sorted(tasks)):
        d = _thin(result.table.filter(pl.col("task") == task))
        ax.scatter(d["hidden_proportion"], d["score"], s=5, alpha=0.5)
        ax.set_title(task if len(task) < 34 else task[:31] + "...", fontsize=8)
    for ax in axes.flat[len(tasks) :]:
        ax.axis("off")
    fig.supxlabel("hidden proportion HP")
    fig.supylabel("test score (seed mean, best lr)")
    return _png(fig)


def plot_learning_curve(result: AnalysisResult) -> str:
    fig, (tau, regret) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for (model,), d in result.curve.group_by(["model"], maintain_order=True):
        tau.plot(d["n_train_tasks"], d["kendall_mean"], marker="o", label=model)
        regret.plot(d["n_train_tasks"], d["regret1_median"], marker="o", label=model)
    ceiling = result.ceiling.get("mean")
    if ceiling is not None and np.isfinite(ceiling):
        tau.axhline(ceiling, color="grey", ls="--", lw=1, label="seed vs seed")
    dense = result.baselines.get("always-dense", {}).get("regret1", {}).get("median")
    if dense is not None:
        regret.axhline(dense, color="grey", ls=":", lw=1, label="always dense")
    sizes = sorted(set(result.curve["n_train_tasks"].to_list()))
    for ax, label in ((tau, "mean Kendall tau, held-out tasks"), (regret, "median top-pick regret")):
        ax.set_xscale("log")
        ax.set_xticks(sizes, [str(n) for n in sizes])  # the sizes double: plain numbers, not 5x10^0
        ax.minorticks_off()
        ax.set_xlabel("training tasks")
        ax.set_ylabel(label)
        ax.legend(fontsize=7, loc="best", framealpha=0.8)
    return _png(fig)


def plot_regret(result: AnalysisResult) -> str:
    """Top-pick regret per held-out task: horizontal bars, one row of labels per task (they never overlap)."""
    keep = [k for k in (result.chosen, "always-dense", "always-uniform-0.2")]
    wide = (
        result.per_task.filter(pl.col("model").is_in(keep))
        .pivot(on="model", index="task", values="regret1")
        .sort("task", descending=True)
    )
    tasks = wide["task"].to_list()
    fig, ax = plt.subplots(figsize=(7.5, 1.0 + 0.32 * len(tasks) * len(keep) / 2), layout="constrained")
    height = 0.8 / len(keep)
    for i, name in enumerate(k for k in keep if k in wide.columns):
        ax.barh(
            np.arange(len(tasks)) + (len(keep) - 1 - i) * height,
            wide[name].fill_null(np.nan),
            height,
            label=name + (" (recommend's)" if name == result.chosen else ""),
        )
    ax.set_yticks(
        np.arange(len(tasks)) + 0.4 - height / 2, [t if len(t) <= 40 else t[:37] + "..." for t in tasks], fontsize=8
    )
    ax.set_xlabel("top-pick regret on the held-out task (0 = its best config, 1 = its worst)")
    fig.legend(fontsize=8, loc="outside upper center", ncol=len(keep), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def plot_ranking(result: AnalysisResult) -> str:
    r = result.ranking.sort("r2_gain")
    fig, ax = plt.subplots(figsize=(6, 0.45 * r.height + 1.2))
    ax.barh(r["metric"], r["r2_gain"])
    ax.set_xlabel("held-out R² gain over the baseline (standing centred per task)")
    return _png(fig)


def _cell(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "<td class='na'>–</td>"
    if isinstance(v, float):
        return f"<td>{v:.{digits}f}</td>"
    if isinstance(v, int):
        return f"<td>{v:,}</td>"
    return f"<td class='left'>{html.escape(str(v))}</td>"


def _table(df: pl.DataFrame, digits: int = 3, headers: dict | None = None) -> str:
    """An HTML table with fixed decimals and a dash for what is missing, in a box that scrolls if too wide."""
    headers = headers or {}
    head = "".join(f"<th>{html.escape(headers.get(c, c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(_cell(v, digits) for v in row) + "</tr>" for row in df.iter_rows())
    return f"<div class='wrap'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _stat(summary: dict | None, metric: str, stat: str = "mean"):
    m = (summary or {}).get(metric)
    return m[stat] if m else None


def models_table(result: AnalysisResult) -> pl.DataFrame:
    """One row per meta-model and baseline on held-out tasks (the columns `analyze` prints); every
    metric with its median and 90% interval stays in metrics.json."""
    rows = []
    for key, v in result.models.items():
        loto = v["loto"]
        ci = (loto.get("kendall") or {}).get("ci90")
        rows.append(
            {
                "model": key + (" *" if key == result.chosen else ""),
                "tau": _stat(loto, "kendall"),
                "tau 90% CI": f"{ci[0]:.2f}..{ci[1]:.2f}" if ci else None,
                "ndcg5": _stat(loto, "ndcg5"),
                "regret": _stat(loto, "regret1", "median"),
                "top5": _stat(loto, "regret5", "median"),
                ">=dense": _stat(loto, "ge_dense"),
                "region tau": _stat(v["region"], "kendall"),
            }
        )
    for name, v in result.baselines.items():
        rows.append(
            {
                "model": name,
                "tau": _stat(v, "kendall"),
                "tau 90% CI": None,
                "ndcg5": _stat(v, "ndcg5"),
                "regret": _stat(v, "regret1", "median"),
                "top5": _stat(v, "regret5", "median"),
                ">=dense": _stat(v, "ge_dense"),
                "region tau": None,
            }
        )
    c = result.ceiling
    if np.isfinite(c.get("mean", float("nan"))):
        rows.append(
            {
                "model": "seed vs seed (noise ceiling)",
                "tau": c["mean"],
                "tau 90% CI": f"{c['ci90'][0]:.2f}..{c['ci90'][1]:.2f}",
                "ndcg5": None,
                "regret": None,
                "top5": None,
                ">=dense": None,
                "region tau": None,
            }
        )
    mean = c.get("seed_mean") or {}
    if mean:
        rows.append(
            {
                "model": f"expected vs {mean['n_seeds']}-seed mean (estimated)",
                "tau": mean["mean"],
                "tau 90% CI": f"{mean['ci90'][0]:.2f}..{mean['ci90'][1]:.2f}",
                "ndcg5": None,
                "regret": None,
                "top5": None,
                ">=dense": None,
                "region tau": None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "model": pl.String,
            "tau": pl.Float64,
            "tau 90% CI": pl.String,
            "ndcg5": pl.Float64,
            "regret": pl.Float64,
            "top5": pl.Float64,
            ">=dense": pl.Float64,
            "region tau": pl.Float64,
        },
    )


def per_task_table(result: AnalysisResult) -> pl.DataFrame:
    """Per held-out task: the chosen model's tau and regret beside the baselines' regret."""
    keep = [result.chosen, "always-dense", "always-uniform-0.2", "random"]
    d = result.per_task.filter(pl.col("model").is_in(keep))
    tau = d.filter(pl.col("model") == result.chosen).select("task", pl.col("kendall").alias(f"tau ({result.chosen})"))
    regret = d.pivot(on="model", index="task", values="regret1")
    regret = regret.rename({k: f"regret ({k})" for k in keep if k in regret.columns})
    return tau.join(regret, on="task", how="left").sort("task")


def _verdict_html(result: AnalysisResult) -> str:
    v = verdict(result)
    cards = "".join(
        f"<div class='card'><div class='label'>{html.escape(i['label'])}</div><div class='value'>"
        f"{html.escape(i['value'])}</div><div class='note'>{html.escape(i['note'])}</div></div>"
        for i in v["items"]
    )
    return f"<p class='headline'>{html.escape(v['headline'])}</p><div class='cards'>{cards}</div>"


STYLE = """
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f6f7f9}
header{padding:.8em 1.5em;background:#1d2430;color:#fff}header h1{margin:0;font-size:1.3em}
main{max-width:1280px;margin:0 auto;padding:1em 1.5em 3em}
section{background:#fff;border:1px solid #d9dee5;border-radius:8px;padding:.8em 1.1em 1em;margin-bottom:1.1em}
h2{font-size:1.1em;margin:.1em 0 .6em}.headline{font-size:1.08em;margin:.2em 0 .8em}
.cards{display:flex;flex-wrap:wrap;gap:.7em}.card{border:1px solid #d9dee5;border-radius:6px;padding:.45em .8em;
min-width:160px;background:#fbfcfd}.card .label,.card .note{color:#5b6574;font-size:.8em}
.card .value{font-size:1.3em;font-weight:600}.warn{background:#fffbeb;border:1px solid #fcd34d;border-radius:6px;
padding:.5em .8em;margin:.6em 0 0}.hint{color:#5b6574;font-size:.88em}
.wrap{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.3em 0}
td,th{padding:.3em .7em;border-bottom:1px solid #e3e7ed;text-align:right;white-space:nowrap}
th{color:#5b6574;font-size:.85em;border-bottom:2px solid #d9dee5}th:first-child{text-align:left}td.left{text-align:left}td.na{color:#9aa3af}
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.2em;align-items:start}
img{max-width:100%;height:auto}
"""


def write_report(result: AnalysisResult, out_dir, root) -> Path:
    """Write out_dir/report.html (self-contained, no script) and out_dir/metrics.json; returns the HTML path.

    The verdict leads (the words and numbers the dashboard shows); the details follow."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    img = lambda b64, alt: f'<img alt="{alt}" src="data:image/png;base64,{b64}">'  # noqa: E731
    coef = pl.DataFrame(
        [
            {"term": t, **{target: c.get(t) for target, c in result.paper_coefficients.items()}}
            for t in next(iter(result.paper_coefficients.values()))
        ]
    )
    fit_rows = [v["loto_fit_rows"] for v in result.models.values()]
    m = result.metrics()
    warnings = "".join(f"<p class='warn'><b>Warning:</b> {html.escape(w)}</p>" for w in result.warnings())
    sections = [
        f"<section><h2>Verdict</h2>{_verdict_html(result)}{warnings}</section>",
        "<section><h2>Meta-models and baselines on held-out tasks</h2>",
        _table(models_table(result), 2),
        "<p class='hint'>* used by recommend (best held-out tau). tau: Kendall tau of predicted vs actual order "
        "within a task and budget (mean over held-out tasks); regret: (best - picked) / (best - worst), median; "
        "top5: the same for the best of the top five; &gt;=dense: share of tasks where the pick is at least as good "
        "as dense within seed noise; region tau: a quadrant of the (|x|, |y|) plane held out. Every metric with its "
        "median and interval: metrics.json beside this file.</p></section>",
        f"<section><h2>What was analysed</h2><p>Results: {html.escape(str(root))}. {result.n_rows:,} scored trials; "
        f"{m['n_groups']} {m['group_kind']} groups of {len(result.tasks)} tasks and {m['n_configs']} configs (seeds "
        f"averaged, each config at its best learning rate on validation). Every metric is measured on tasks held "
        f"out of the fit: one at a time (each fold fitted on {min(r[0] for r in fit_rows):,}.."
        f"{max(r[1] for r in fit_rows):,} rows), and a quadrant of the (|x|, |y|) plane at a time (region).</p>"
        "</section>",
        "<section><h2>Top-pick regret per held-out task</h2>",
        img(plot_regret(result), "regret per task"),
        _table(per_task_table(result), 3),
        "</section>",
        "<section><h2>Score vs hidden proportion, per task</h2>",
        img(plot_score_vs_hp(result), "score vs HP"),
        "</section>",
        "<section><h2>Learning curve</h2>",
        (
            img(plot_learning_curve(result), "learning curve")
            + _table(
                result.curve,
                3,
                {
                    "n_train_tasks": "training tasks",
                    "kendall_mean": "tau (mean)",
                    "regret1_median": "regret (median)",
                    "n_tasks": "held-out tasks",
                },
            )
        )
        if result.curve.height
        else "<p class='hint'>not computed</p>",
        "</section>",
        "<section><h2>Balance metrics: what each adds to the baseline</h2><div class='pair'><div>",
        _table(
            result.ranking, 3, {"r2_gain": "R² gain", "r2_gain_task_mean": "per-task mean", "tasks_best": "tasks best"}
        )
        if result.ranking.height
        else "<p class='hint'>not computed</p>",
        "</div><div>",
        img(plot_ranking(result), "balance ranking") if result.ranking.height else "",
        "</div></div></section>",
        "<section><h2>Paper-style regression: coefficients per target (inputs standardised)</h2>",
        _table(coef, 4),
        "</section>",
    ]
    (out / "metrics.json").write_text(json.dumps(result.metrics(), indent=1))
    path = out / "report.html"
    path.write_text(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width, initial-scale=1'><title>hpsweep analysis</title><style>{STYLE}"
        f"</style></head><body><header><h1>hpsweep analysis</h1></header><main>{''.join(sections)}"
        f"</main></body></html>"
    )
    return path
