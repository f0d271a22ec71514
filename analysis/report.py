"""The self-contained HTML report of an analysis: metric tables and four plots (PNG, base64-embedded).

Plots: score vs HP per task, predicted vs actual on held-out tasks, regret per task, and the
balance-metric ranking. matplotlib runs on the Agg backend: no display is needed.
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
from hpsweep.analysis.metamodels import META_MODELS  # noqa: E402

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
    tasks = (result.data.group_by("task").len().sort(["len", "task"], descending=[True, False])
             .head(MAX_PANELS)["task"].to_list())
    cols = min(4, len(tasks))
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False, sharex=True,
                             layout="constrained")  # keeps the shared axis labels off the tick labels
    for ax, task in zip(axes.flat, sorted(tasks)):
        d = _thin(result.data.filter(pl.col("task") == task))
        ax.scatter(d["hidden_proportion"], d["test_score"], s=4, alpha=0.4)
        ax.set_title(task if len(task) < 34 else task[:31] + "...", fontsize=8)
    for ax in axes.flat[len(tasks):]:
        ax.axis("off")
    fig.supxlabel("hidden proportion HP")
    fig.supylabel("test score")
    return _png(fig)


def plot_predicted_vs_actual(result: AnalysisResult) -> str:
    fig, axes = plt.subplots(1, len(META_MODELS), figsize=(4 * len(META_MODELS), 3.6), squeeze=False)
    d = _thin(result.data)
    lo, hi = float(d["test_score"].min()), float(d["test_score"].max())
    for ax, spec in zip(axes.flat, META_MODELS):
        ax.scatter(d[f"pred_{spec.name}"], d["test_score"], s=4, alpha=0.3)
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.set_title(f"{spec.name}: R² {result.models[spec.name]['r2_pooled']:.3f}", fontsize=9)
        ax.set_xlabel("predicted (task held out)")
    axes.flat[0].set_ylabel("actual")
    return _png(fig)


def plot_regret(result: AnalysisResult) -> str:
    wide = result.per_task.pivot(on="model", index="task", values="regret").sort("task")
    tasks = wide["task"].to_list()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(tasks)), 3.6))
    width = 0.8 / len(META_MODELS)
    for i, spec in enumerate(META_MODELS):
        ax.bar(np.arange(len(tasks)) + i * width, wide[spec.name], width, label=spec.name)
    ax.set_xticks(np.arange(len(tasks)) + 0.4 - width / 2, [t[:24] for t in tasks], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("regret (best - picked)")
    ax.legend(fontsize=8)
    return _png(fig)


def plot_ranking(result: AnalysisResult) -> str:
    r = result.ranking.sort("r2_gain")
    fig, ax = plt.subplots(figsize=(6, 0.45 * r.height + 1.2))
    ax.barh(r["metric"], r["r2_gain"])
    ax.set_xlabel("held-out R² gain over the baseline (score centred per task)")
    return _png(fig)


def _table(df: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{v:.4g}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in df.iter_rows()
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def models_table(result: AnalysisResult) -> pl.DataFrame:
    return pl.DataFrame([{"model": name, **m} for name, m in result.models.items()])


def write_report(result: AnalysisResult, out_dir, root) -> Path:
    """Write out_dir/report.html (self-contained) and out_dir/metrics.json; returns the HTML path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    img = lambda b64: f'<img src="data:image/png;base64,{b64}">'  # noqa: E731
    coef = pl.DataFrame({"term": list(result.paper_coefficients), "coefficient": list(result.paper_coefficients.values())})
    sections = [
        f"<h1>hpsweep analysis</h1><p>Results: {html.escape(str(root))}. {result.n_rows:,} scored trials of "
        f"{len(result.tasks)} tasks; meta-models fit and scored on {result.n_rows_used:,} of them "
        f"(a seeded sample per task). Every metric is measured on tasks held out of the fit "
        f"(leave-one-task-out). recommend uses <b>{result.chosen}</b> (lowest held-out regret).</p>",
        *[f"<p><b>Warning:</b> {html.escape(w)}</p>" for w in result.warnings()],
        "<h2>Meta-models on held-out tasks</h2>", _table(models_table(result)),
        "<h2>Balance metrics: what each adds to the baseline</h2>",
        _table(result.ranking) if result.ranking.height else "<p>not computed</p>",
        img(plot_ranking(result)) if result.ranking.height else "",
        "<h2>Score vs hidden proportion, per task</h2>", img(plot_score_vs_hp(result)),
        "<h2>Predicted vs actual, tasks held out</h2>", img(plot_predicted_vs_actual(result)),
        "<h2>Regret per held-out task</h2>", img(plot_regret(result)),
        "<h2>Per task</h2>", _table(result.per_task),
        "<h2>Paper-style regression: coefficients (inputs standardised)</h2>", _table(coef),
    ]
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}")
    (out / "metrics.json").write_text(json.dumps(result.metrics(), indent=1))
    path = out / "report.html"
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>hpsweep analysis</title>"
                    f"<style>{style}</style></head><body>{''.join(sections)}</body></html>")
    return path
