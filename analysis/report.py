"""The self-contained HTML report of an analysis: metric tables and four plots (PNG, base64-embedded).

Plots: the learning curve, top-pick regret per held-out task, the balance-metric ranking, and
score vs HP per task. matplotlib runs on the Agg backend: no display is needed.
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
    tasks = (result.table.group_by("task").len().sort(["len", "task"], descending=[True, False])
             .head(MAX_PANELS)["task"].to_list())
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharex=True,
                             layout="constrained")  # keeps the shared axis labels off the tick labels
    for ax, task in zip(axes.flat, sorted(tasks)):
        d = _thin(result.table.filter(pl.col("task") == task))
        ax.scatter(d["hidden_proportion"], d["score"], s=5, alpha=0.5)
        ax.set_title(task if len(task) < 34 else task[:31] + "...", fontsize=8)
    for ax in axes.flat[len(tasks):]:
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
    for ax, label in ((tau, "mean Kendall tau, held-out tasks"), (regret, "median top-pick regret")):
        ax.set_xscale("log")
        ax.set_xlabel("training tasks")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    return _png(fig)


def plot_regret(result: AnalysisResult) -> str:
    keep = [result.chosen, "always-dense", "always-uniform-0.2"]
    wide = (result.per_task.filter(pl.col("model").is_in(keep)).pivot(on="model", index="task", values="regret1")
            .sort("task"))
    tasks = wide["task"].to_list()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(tasks)), 3.6))
    width = 0.8 / len(keep)
    for i, name in enumerate(k for k in keep if k in wide.columns):
        ax.bar(np.arange(len(tasks)) + i * width, wide[name].fill_null(np.nan), width, label=name)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2, [t[:24] for t in tasks], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("top-pick regret (normalised)")
    ax.legend(fontsize=8)
    return _png(fig)


def plot_ranking(result: AnalysisResult) -> str:
    r = result.ranking.sort("r2_gain")
    fig, ax = plt.subplots(figsize=(6, 0.45 * r.height + 1.2))
    ax.barh(r["metric"], r["r2_gain"])
    ax.set_xlabel("held-out R² gain over the baseline (standing centred per task)")
    return _png(fig)


def _table(df: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{v:.4g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in df.iter_rows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def models_table(result: AnalysisResult) -> pl.DataFrame:
    """One row per model/target and baseline: split, n_tasks, and each metric's mean, median, CI."""
    rows = []
    entries = [(k, s, v[s]) for k, v in result.models.items() for s in ("loto", "region")]
    entries += [(k, "loto", v) for k, v in result.baselines.items()]
    for key, split, summ in entries:
        row = {"model": key + (" *" if key == result.chosen else ""), "split": split, "n_tasks": summ["n_tasks"]}
        for metric in ("kendall", "ndcg5", "regret1", "regret5", "ge_dense", "beats_dense", "beats_uniform"):
            m = summ.get(metric)
            row[f"{metric}_mean"] = m["mean"] if m else None
            row[f"{metric}_median"] = m["median"] if m else None
            row[f"{metric}_ci90"] = f"{m['ci90'][0]:.3f}..{m['ci90'][1]:.3f}" if m else ""
        rows.append(row)
    return pl.DataFrame(rows)


def write_report(result: AnalysisResult, out_dir, root) -> Path:
    """Write out_dir/report.html (self-contained) and out_dir/metrics.json; returns the HTML path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    img = lambda b64: f'<img src="data:image/png;base64,{b64}">'  # noqa: E731
    coef = pl.DataFrame([{"term": t, **{target: c.get(t) for target, c in result.paper_coefficients.items()}}
                         for t in next(iter(result.paper_coefficients.values()))])
    fit_rows = [v["loto_fit_rows"] for v in result.models.values()]
    m = result.metrics()
    sections = [
        f"<h1>hpsweep analysis</h1><p>Results: {html.escape(str(root))}. {result.n_rows:,} scored trials; "
        f"{m['n_groups']} task x budget groups of {len(result.tasks)} tasks and {m['n_configs']} configs "
        f"(seeds averaged, each config at its best learning rate on validation). Every metric is measured on "
        f"tasks held out of the fit: one at a time (each fold fitted on {min(r[0] for r in fit_rows):,}.."
        f"{max(r[1] for r in fit_rows):,} rows), and a quadrant of the (|x|, |y|) plane at a time (region). "
        f"recommend uses <b>{html.escape(result.chosen)}</b> (best held-out Kendall tau). Seed-vs-seed tau "
        f"(the noise ceiling): {result.ceiling.get('mean', float('nan')):.3f}.</p>",
        *[f"<p><b>Warning:</b> {html.escape(w)}</p>" for w in result.warnings()],
        "<h2>Meta-models and baselines on held-out tasks</h2>", _table(models_table(result)),
        "<h2>Learning curve</h2>",
        img(plot_learning_curve(result)) if result.curve.height else "<p>not computed</p>",
        _table(result.curve) if result.curve.height else "",
        "<h2>Top-pick regret per held-out task</h2>", img(plot_regret(result)),
        "<h2>Balance metrics: what each adds to the baseline</h2>",
        _table(result.ranking) if result.ranking.height else "<p>not computed</p>",
        img(plot_ranking(result)) if result.ranking.height else "",
        "<h2>Score vs hidden proportion, per task</h2>", img(plot_score_vs_hp(result)),
        "<h2>Per task (leave-one-task-out)</h2>", _table(result.per_task),
        "<h2>Paper-style regression: coefficients per target (inputs standardised)</h2>", _table(coef),
    ]
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}")
    (out / "metrics.json").write_text(json.dumps(result.metrics(), indent=1))
    path = out / "report.html"
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>hpsweep analysis</title>"
                    f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")
    return path
