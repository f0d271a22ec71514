"""`hpsweep status RESULTS`: planned / ok / diverged / failed / missing trials per sweep."""

from __future__ import annotations

import json

import click


@click.command("status")
@click.argument("results")
@click.option("--sweep", "sweep_id", default=None, help="Only this sweep.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per sweep, one per line.")
def status(results, sweep_id, as_json):
    """Count the trials of every sweep in RESULTS (a directory or URI) by final status.

    `missing` are planned trials with no final status yet: re-run the spec to finish them.
    """
    from hpsweep.sweep.coordinator import sweep_status
    from hpsweep.sweep.store import ResultsStore
    from hpsweep.workers.errors import StoreError

    store = ResultsStore(results)
    sweeps = [sweep_id] if sweep_id else store.sweeps()
    if not sweeps:
        raise StoreError(f"results {results!r} hold no sweeps; run one with: hpsweep run --results {results}")
    rows = [sweep_status(store, s) for s in sweeps]
    if as_json:
        for r in rows:
            click.echo(json.dumps(r))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"results {results}", title_justify="left")
    for col in ("sweep", "planned", "ok", "diverged", "failed", "missing"):
        table.add_column(col, justify="left" if col == "sweep" else "right")
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("sweep", "planned", "ok", "diverged", "failed", "missing")))
    Console(width=100).print(table)
