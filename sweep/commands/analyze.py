"""`hpsweep analyze`: fit the meta-models on a results root, print the metrics, write the report."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click


@click.command("analyze")
@click.argument("results")  # a path or URI (s3://...): the results layer opens it
@click.option("--out", type=click.Path(file_okay=False), help="Report folder (default RESULTS/report/, ./hpsweep-report for a URI).")
@click.option("--sweep", "sweeps", multiple=True, help="Only this sweep id (repeatable).")
@click.option("--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(["ok", "diverged", "failed"]),
              help="Keep trials whose final status is this (repeatable; default ok).")
@click.option("--max-rows-per-task", type=click.IntRange(min=50), default=4000, show_default=True,
              help="Rows per task the meta-models are fit and scored on (seeded sample).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
def analyze(results, out, sweeps, tasks, statuses, max_rows_per_task, as_json):
    """Leave-one-task-out evaluation of the meta-models and the balance-metric ranking.

    Example: hpsweep analyze hpsweep-results --out report/
    """
    from hpsweep.analysis.analyze import AnalysisOptions, analyze as run_analysis
    from hpsweep.analysis.load import fingerprint
    from hpsweep.analysis.report import models_table, write_report
    from hpsweep.analysis.saved import save
    from hpsweep.workers.results.layout import default_report_dir

    start = time.perf_counter()
    options = AnalysisOptions(sweeps=tuple(sweeps), tasks=tuple(tasks), statuses=tuple(statuses) or ("ok",),
                              max_rows_per_task=max_rows_per_task)
    fp = fingerprint(results)
    result = run_analysis(results, options)
    model_dir = save(results, options, result, fp)
    report = write_report(result, Path(out or default_report_dir(results)), results)
    seconds = time.perf_counter() - start
    if as_json:
        click.echo(json.dumps({**result.metrics(), "report": str(report), "models_dir": str(model_dir),
                               "seconds": round(seconds, 3)}))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.n_rows:,} trials, {len(result.tasks)} tasks, each held out in turn "
                        f"(fit on {result.n_rows_used:,})", title_justify="left")
    columns = ("model", "r2_pooled", "r2_task_mean", "spearman_mean", "kendall_mean", "regret_mean", "regret_max")
    for c in columns:
        table.add_column(c, justify="left" if c == "model" else "right")
    for row in models_table(result).select(columns).iter_rows():
        table.add_row(row[0] + (" *" if row[0] == result.chosen else ""), *(f"{v:.4f}" for v in row[1:]))
    console.print(table)
    ranking = Table(title="balance metrics: held-out R² gain over the baseline", title_justify="left")
    for c in ("rank", "metric", "r2_gain", "r2_gain_task_mean", "tasks_best"):
        ranking.add_column(c, justify="left" if c == "metric" else "right")
    for r in result.ranking.iter_rows(named=True):
        ranking.add_row(str(r["rank"]), r["metric"], f"{r['r2_gain']:.4f}", f"{r['r2_gain_task_mean']:.4f}",
                        str(r["tasks_best"]))
    console.print(ranking)
    for warning in result.warnings():
        click.echo(f"Warning: {warning}")
    click.echo(f"* used by recommend (lowest held-out regret). Models: {model_dir}")
    click.echo(f"Report: {report}  ({seconds:.1f} s)", file=sys.stdout)
