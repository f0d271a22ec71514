"""`hpsweep run [SPEC]`: run a sweep spec (or the built-in quickstart) on Ray Tune."""

from __future__ import annotations

import sys

import click

from hpsweep.sweep.locations import DEFAULT_RESULTS
from hpsweep.workers.errors import HpsweepError

PROGRESS_MODES = {"auto": None, "bar": True, "lines": False}  # --progress -> live bar (None: when stdout is a TTY)


def _range(lo, hi, fmt):
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)}-{format(hi, fmt)}"


PLAN_COLUMNS = ("task", "x", "y", "trials", "to run", "packs", "hidden", "weights", "HP")


def _stacked_plan(cells: list[list[str]], widths: list[int]) -> list[str]:
    """The plan when names and numbers do not fit one line: each task's name whole on its own line (a
    sampled task's name is its parameters, and a name folded mid-word cannot be copied), its numbers
    indented under it."""

    def numbers(values):
        return "    " + "  ".join(v.rjust(w) for v, w in zip(values, widths))

    lines = ["task", numbers(PLAN_COLUMNS[1:])]
    for c in cells:
        lines += [c[0], numbers(c[1:])]
    return lines


def print_plan(spec, plan, results: str, store=None) -> None:
    """The --dry-run view: per task trials, packs, hidden sizes, weights and HP range."""
    from rich.console import Console
    from rich.table import Table

    from hpsweep.sweep.plan import plan_summary

    rows = plan_summary(plan)
    cells = [
        [
            r["task"],
            str(r["x"]),
            str(r["y"]),
            str(r["trials"]),
            str(r["pending"]),
            str(r["packs"]),
            _range(*r["hidden"], "d"),
            _range(*r["weights"], ",.0f"),
            _range(*r["hp"], ".3f"),
        ]
        for r in rows
    ]
    click.echo(f"sweep {spec.name} (spec {spec.spec_hash}) -> {results}")
    console = Console()
    numbers = [max(len(col), *(len(c[i]) for c in cells)) for i, col in enumerate(PLAN_COLUMNS) if i]
    if max(len(c[0]) for c in cells) + sum(numbers) + 2 * len(numbers) > console.width:  # 2 spaces between columns
        click.echo("\n".join(_stacked_plan(cells, numbers)))  # sampled tasks' long names: one line each
    else:
        table = Table(box=None, pad_edge=False)  # no borders: the table fits 80 columns
        for col in PLAN_COLUMNS:  # numbers are never cut to '0.…': each column as wide as its widest cell
            table.add_column(col, justify="left" if col == "task" else "right", no_wrap=True)
        for c in cells:
            table.add_row(*c)
        console.print(table)
    pending = sum(r["pending"] for r in rows)
    res = spec.resources
    packs = (
        f"{len(plan.packs)} packs of at most {spec.pack.max_models} models"
        if spec.training.schedule is None
        else f"{len(plan.packs)} halving packs (up to {max((len(p.trials) for p in plan.packs), default=0)} models, "
        f"{max((p.slots for p in plan.packs), default=0)} at once)"
    )
    from hpsweep.sweep.cost import cost_lines

    click.echo(f"{len(plan.trials)} trials, {pending} to run in {packs};")
    click.echo("\n".join(cost_lines(spec, plan, store)))
    click.echo(
        f"{res.cpus:g} CPU + {res.gpus:g} GPU per pack, {res.max_failures} retries. "
        f"Dry run: nothing trained, nothing written."
    )


def print_summary(sweep, spec, report, results: str) -> dict:
    """After a run: status counts, the best models, and what to run next. Returns the counts, as a
    reader of `results` sees them (the exit code is decided from these, never from what workers said)."""
    import polars as pl

    s = sweep.status()
    stopped = f"{s['stopped']} stopped (halving), " if s.get("stopped") else ""
    click.echo(
        f"\nsweep {spec.name}: {s['planned']} planned, {s['ok']} ok, {stopped}{s['diverged']} diverged, "
        f"{s['failed']} failed, {s['missing']} missing"
    )
    click.echo(f"({report.seconds:.0f} s this run; {report.skipped} were already done)")
    best = sweep.collect(
        lambda r: (
            r.trials.filter(pl.col("status") == "ok")
            .sort("val_score", descending=True, nulls_last=True)
            .group_by("task", maintain_order=True)
            .first()
            .select(
                "task",
                "hidden",
                "d_hx",
                "d_hh",
                "d_hy",
                "d_yx",
                "d_yh",
                "d_yy",
                "hidden_proportion",
                "val_score",
                "test_score",
                "score_name",
            )
        )
    )
    if best.height:
        click.echo("best model per task (by validation score; densities hx,hh,hy,yx,yh,yy):")
        for r in best.iter_rows(named=True):
            dens = ",".join(f"{r[f'd_{b}']:.2g}" for b in ("hx", "hh", "hy", "yx", "yh", "yy"))
            # rollout tasks score test by the policy's return, but validation stays r2 (workers/rollout.py)
            val_name = "r2" if r["score_name"] in ("normalized_return", "return") else r["score_name"]
            test_name = "" if val_name == r["score_name"] else f"{r['score_name']} "
            click.echo(f"  {r['task'][:96]}")
            click.echo(
                f"    h={r['hidden']:<4} densities {dens:<24} HP={r['hidden_proportion']:.3f}  "
                f"val {val_name} {r['val_score']:.4f}  test {test_name}{r['test_score']:.4f}"
            )
    if report.failed_packs:
        click.echo(f"{len(report.failed_packs)} pack(s) failed after all retries; their errors:")
        click.echo(f"  hpsweep query {results} \"SELECT trial_id, error FROM trials WHERE status = 'failed'\"")
    if report.unseen_packs:
        click.echo(
            f"{len(report.unseen_packs)} pack(s) reported done but their rows are not in {results}: "
            f"a worker wrote somewhere else (a path only it can see?)"
        )
    click.echo("next:")
    click.echo(f"  hpsweep status {results}")
    click.echo(f'  hpsweep query {results} "SELECT task, status, count(*) AS n FROM trials GROUP BY task, status"')
    click.echo(f"  hpsweep analyze {results}")
    return s


INCOMPLETE_EXIT = 3
"""Exit code of `hpsweep run` when a planned trial is failed or missing (docs/sweep.md, "Running")."""


def retry_command(spec_arg: str | None, results: str, scale: str | None, failed: bool) -> str:
    """The command line that runs the unfinished trials again (what the user typed, plus --retry-failed)."""
    import shlex

    args = ["hpsweep", "run", *([spec_arg] if spec_arg else [])]
    if results != DEFAULT_RESULTS:
        args += ["--results", results]
    if scale:
        args += ["--scale", scale]
    return shlex.join(args + (["--retry-failed"] if failed else []))


@click.command("run")
@click.argument("spec", required=False)
@click.option(
    "--results",
    "-r",
    default=DEFAULT_RESULTS,
    show_default=True,
    help="Results store: a local directory (relative to where you run this) or a URI "
    "(s3://bucket/prefix, gs://..., file://...).",
)
@click.option(
    "--address",
    envvar="RAY_ADDRESS",
    default=None,
    help="Ray cluster to use ('auto', 'ray://head:10001'); default: RAY_ADDRESS or an embedded local Ray.",
)
@click.option("--dry-run", is_flag=True, help="Validate the spec and print the plan; train nothing, write nothing.")
@click.option("--retry-failed", is_flag=True, help="Run trials whose pack failed in an earlier run again.")
@click.option(
    "--progress",
    default="auto",
    show_default=True,
    metavar="auto|bar|lines",
    help="A live bar (terminal default) or plain log lines.",
)
@click.option(
    "--scale",
    default=None,
    metavar="F|QTY=F,...",
    envvar="HPSWEEP_SCALE",
    show_envvar=True,
    help="Run the spec smaller or larger: a bare factor scales data, epochs, seeds and random draws; "
    "data=, epochs=, seeds=, draws=, input=, budget= one by one (rules: sweep/scale.py).",
)
@click.option("--verbose", "-v", is_flag=True, help="Show Ray's own start-up messages (shown anyway when Ray fails).")
def run(spec, results, address, dry_run, retry_failed, progress, scale, verbose):
    """Run SPEC (a YAML file or a shipped spec name) or, without SPEC, the quickstart sweep.

    Re-running a spec resumes it: finished trials are skipped. Exit code 0 when every planned
    trial is ok or diverged, 3 when any is failed or missing (the last line says how to retry).
    """
    from hpsweep.sweep.coordinator import make_plan, run_sweep
    from hpsweep.sweep.locations import check_results_for_cluster, resolve_results
    from hpsweep.sweep.scale import load_scaled
    from hpsweep.workers.results import ResultsStore

    if progress not in PROGRESS_MODES:  # checked here, not by click, so the mistake is one line like the others
        raise HpsweepError(
            f"--progress {progress[:100]!r} is not one of {', '.join(PROGRESS_MODES)}; 'lines' suits logs and pipes"
        )
    root = resolve_results(results)  # against this directory, before anything reaches Ray
    check_results_for_cluster(results, address)  # --address includes RAY_ADDRESS (its envvar)
    sweep_spec = load_scaled(spec, scale, click.echo)
    sweep = ResultsStore(root).sweep(sweep_spec.name)
    if dry_run:
        plan, _ = make_plan(sweep_spec, sweep, retry_failed)
        print_plan(sweep_spec, plan, results, sweep.store)
        return
    live = PROGRESS_MODES[progress]
    report = run_sweep(
        sweep_spec, root, address=address, retry_failed=retry_failed, live=live, echo=click.echo, verbose=verbose
    )
    counts = print_summary(sweep, sweep_spec, report, results)
    if counts["failed"] or counts["missing"]:
        click.echo(
            f"sweep {sweep_spec.name}: {counts['failed']} failed and {counts['missing']} missing of "
            f"{counts['planned']} planned; run them again with: "
            f"{retry_command(spec, results, scale, bool(counts['failed']))}",
            err=True,
        )
        sys.exit(INCOMPLETE_EXIT)  # not click.exceptions.Exit: click returns that code instead of exiting
