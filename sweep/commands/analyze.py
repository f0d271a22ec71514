"""`hpsweep analyze`: fit the meta-models on a results root, print the held-out metrics, write the report."""

from __future__ import annotations

import json
import math
import time

import click

from hpsweep.sweep.commands._types import at_least, results_argument


def _fmt(summary: dict, metric: str, stat: str = "mean") -> str:
    v = summary.get(metric, {}).get(stat)
    return "-" if v is None else f"{v:.2f}"


def _ci(summary: dict, metric: str) -> str:
    ci = summary.get(metric, {}).get("ci90")
    return "-" if not ci else f"{ci[0]:.2f}..{ci[1]:.2f}"


def print_tables(result, model_dir, report, seconds) -> None:
    from hpsweep.analysis.text import paragraph, text_table

    m = result.metrics()
    loto_rows = [v["loto_fit_rows"] for v in result.models.values()]
    region_rows = [v["region_fit_rows"] for v in result.models.values()]
    click.echo(
        paragraph(
            f"{m['n_rows']:,} scored trials -> {m['n_groups']} {m['group_kind']} groups of {len(result.tasks)} "
            f"tasks, {m['n_configs']} configs (seeds averaged, each config at its best lr on validation)."
        )
    )
    click.echo(
        paragraph(
            f"Held out one task at a time, each fold fitted on {min(r[0] for r in loto_rows):,}.."
            f"{max(r[1] for r in loto_rows):,} rows; region: a quadrant of the (|x|,|y|) plane held out, "
            f"fitted on {min(r[0] for r in region_rows):,}..{max(r[1] for r in region_rows):,} rows."
        )
    )
    rows = []
    for key, v in result.models.items():
        rows.append(
            [
                key + (" *" if key == result.chosen else ""),
                _fmt(v["loto"], "kendall"),
                _ci(v["loto"], "kendall"),
                _fmt(v["loto"], "ndcg5"),
                _fmt(v["loto"], "regret1", "median"),
                _fmt(v["loto"], "regret5", "median"),
                _fmt(v["loto"], "ge_dense"),
                _fmt(v["region"], "kendall"),
            ]
        )
    for name, v in result.baselines.items():
        rows.append(
            [
                name,
                _fmt(v, "kendall"),
                "-",
                "-",
                _fmt(v, "regret1", "median"),
                _fmt(v, "regret5", "median"),
                _fmt(v, "ge_dense"),
                "-",
            ]
        )
    c = result.ceiling
    if math.isfinite(c.get("mean", float("nan"))):
        rows.append(["seed vs seed", f"{c['mean']:.2f}", f"{c['ci90'][0]:.2f}..{c['ci90'][1]:.2f}", *["-"] * 5])
    else:  # one seed per config: nothing to compare it with
        rows.append(["seed vs seed", "-", "needs 2 seeds", *["-"] * 5])
    mean = c.get("seed_mean") or {}
    if mean:
        rows.append(
            [f"expected vs {mean['n_seeds']}-seed mean", f"{mean['mean']:.2f}", _ci(c, "seed_mean"), *["-"] * 5]
        )
    n = result.models[result.chosen]["loto"]["n_tasks"]
    click.echo(
        text_table(
            ["model/target", "tau", "tau 90% CI", "ndcg5", "regret", "top5", ">=dense", "region"],
            rows,
            f"\nHeld-out tasks ({n}; means over tasks, regrets are medians):",
        )
    )
    if result.curve.height:
        click.echo(
            text_table(
                ["model/target", "training tasks", "tau", "regret"],
                [
                    [r["model"], str(r["n_train_tasks"]), f"{r['kendall_mean']:.2f}", f"{r['regret1_median']:.2f}"]
                    for r in result.curve.iter_rows(named=True)
                ],
                "\nLearning curve (5 folds of tasks, each model learning from n of the others):",
            )
        )
    split = result.warning_split
    if split:
        click.echo("")
        click.echo(paragraph(warning_split_text(split, result.models[result.chosen]["loto"]["kendall"])))
    click.echo("")
    for warning in result.warnings():
        click.echo(paragraph(f"Warning: {warning}"))
    click.echo(
        paragraph(
            "* used by recommend (best held-out tau). tau: Kendall tau of predicted vs actual order within a "
            "group; regret: (best - picked) / (best - worst), top5: the best of the top 5; "
            ">=dense: share of tasks where the pick is at least as good as dense within seed noise; "
            "region: tau with a quadrant of the (|x|,|y|) plane held out. seed vs seed: how well two single "
            "seeds agree; expected vs seed mean: what an order that knew each config's expected score would "
            "reach against the seed means the models are judged on (estimated from the seed noise"
            + (f"; {mean['next_seed']:.2f} with one seed more" if mean else "")
            + ")."
        )
    )
    click.echo(f"Models: {model_dir}")
    click.echo(f"Report: {report}  ({seconds:.1f} s)")


def warning_split_text(split: dict, overall: dict) -> str:
    """What recommend's "train the top five" warning tells apart among the held-out tasks."""
    from hpsweep.analysis.nearby import NEARBY_GROUPS

    def part(p: dict) -> str:
        if not p["n_tasks"]:
            return "none"
        tau = p["kendall"]
        return (
            f"{p['n_tasks']} tasks, tau {tau['mean']:.2f} ({tau['ci90'][0]:.2f}..{tau['ci90'][1]:.2f}), "
            f"top5 {p['regret5']['mean']:.3f}"
        )

    rho = "n/a" if split["spearman"] is None else f"{split['spearman']:.2f}"
    return (
        f"Near a request: recommend reports the held-out tau of the {NEARBY_GROUPS} groups nearest it and warns "
        f"where that "
        f"is below {overall['ci90'][0]:.2f}. Each task asked about as if new (its neighbours from the other "
        f"tasks): not warned {part(split['not_warned'])}; warned {part(split['warned'])} (top5: mean "
        f"best-of-five regret). The nearby tau tracked each task's own with Spearman {rho}, "
        f"off by {split['error']:.2f} on average (the overall mean by {split['overall_error']:.2f})."
    )


@click.command("analyze")
@results_argument
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Report folder (default RESULTS/report/, ./hpsweep-report for a URI).",
)
@click.option("--sweep", "sweeps", multiple=True, help="Only this sweep id (repeatable).")
@click.option("--task", "tasks", multiple=True, help="Only this task (repeatable).")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["ok", "stopped", "diverged", "failed"]),
    help="Keep trials whose final status is this (repeatable; default ok, which keeps a halving sweep's stopped trials too).",
)
@click.option(
    "--max-rows-per-task",
    type=at_least(50),
    default=4000,
    show_default=True,
    help="Trial rows per task read into the meta-dataset (seeded sample).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object (keys: docs/analysis.md).")
def analyze(results, out, sweeps, tasks, statuses, max_rows_per_task, as_json):
    """Held-out evaluation of the meta-models (leave-one-task-out and a held-out region), baselines,
    noise ceiling, learning curve and the balance-metric ranking.

    Example: hpsweep analyze hpsweep-results --out report/
    """
    from hpsweep.analysis.pipeline import analyze_root, options
    from hpsweep.workers.results.layout import default_report_dir

    start = time.perf_counter()
    result, model_dir, report = analyze_root(
        results,
        options(sweeps, tasks, statuses, max_rows_per_task),
        save=True,
        report=str(out or default_report_dir(results)),
    )
    seconds = time.perf_counter() - start
    if as_json:
        click.echo(
            json.dumps(
                {**result.metrics(), "report": str(report), "models_dir": str(model_dir), "seconds": round(seconds, 3)}
            )
        )
        return
    print_tables(result, model_dir, report, seconds)
