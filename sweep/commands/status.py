"""`hpsweep status RESULTS`: planned / ok / stopped / diverged / failed / missing trials per sweep."""

from __future__ import annotations

import json

import click

from hpsweep.sweep.commands._types import results_argument
from hpsweep.workers.schema import FINAL_STATUSES

COLUMNS = ("sweep", "planned", *FINAL_STATUSES, "missing")


@click.command("status")
@results_argument
@click.option("--sweep", "sweep_id", default=None, help="Only this sweep.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per sweep, one per line.")
def status(results, sweep_id, as_json):
    """Count the trials of every sweep in RESULTS (a directory or URI) by final status.

    `missing` are planned trials with no final status yet, or trained trials whose curves part is
    gone (`curves_missing` of them): re-run the spec to finish or repair them.
    """
    from hpsweep.workers.errors import StoreError
    from hpsweep.workers.results import ResultsStore

    store = ResultsStore(results)
    store.require_root()
    sweeps = [sweep_id] if sweep_id is not None else store.sweeps()
    if not sweeps:
        raise StoreError(f"results {results!r:.100} hold no sweeps; run one with: hpsweep run --results {results}")
    rows = [store.sweep(s).status() for s in sweeps]
    if as_json:
        for r in rows:
            click.echo(json.dumps(r))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"results {results}", title_justify="left")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col == "sweep" else "right")
    for r in rows:
        table.add_row(*(str(r[c]) for c in COLUMNS))
    Console(width=100).print(table)
    for r in rows:
        if r["curves_missing"]:
            click.echo(
                f"sweep {r['sweep']}: {r['curves_missing']} trained trial(s) have no curves (a curves part "
                f"is missing); they count as missing: run the spec again to repair them"
            )
