"""`hpsweep compact RESULTS`: merge small Parquet parts without changing what readers see."""

from __future__ import annotations

import click

from hpsweep.sweep.commands._types import results_argument


@click.command("compact")
@results_argument
@click.option("--sweep", "sweep_id", default=None, help="Only this sweep (default: all).")
def compact(results, sweep_id):
    """Rewrite each (table, sweep, task) partition of RESULTS as one Parquet file.

    Rows stay the same (losing duplicate attempts, if any, are dropped for good); attempt markers
    the sweep no longer needs are removed. A sweep that a driver is running is refused.
    """
    from hpsweep.workers.results import ResultsStore

    store = ResultsStore(results)
    store.require_root()
    stats = store.compact(sweep_id, echo=click.echo)
    click.echo(
        f"compacted {stats.partitions} partition(s): {stats.files_before} -> {stats.files_after} files "
        f"({stats.rows} rows rewritten, {stats.markers} attempt markers removed)"
    )
