"""`hpsweep query RESULTS "SQL"`: read-only Polars SQL over the tables `trials` and `curves`."""

from __future__ import annotations

import re
import sys

import click

FORMATS = ("table", "csv", "json", "parquet")
_READ_ONLY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def run_query(results: str, sql: str, sweep_id: str | None = None):
    """Run one SELECT over the store's winning rows; returns a Polars DataFrame.

    Raises:
        StoreError: not a SELECT / WITH statement, or Polars rejects the query.
    """
    import polars as pl

    from hpsweep.sweep.store import ResultsStore
    from hpsweep.workers.errors import StoreError

    if not _READ_ONLY.match(sql):
        raise StoreError(f"query is read-only: give one SELECT (or WITH ... SELECT) statement over the tables "
                         f"trials and curves; got {sql.strip()[:60]!r}")
    store = ResultsStore(results)
    ctx = pl.SQLContext({"trials": store.scan("trials", sweep_id), "curves": store.scan("curves", sweep_id)})
    try:
        return ctx.execute(sql, eager=True)
    except pl.exceptions.PolarsError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StoreError(f"query failed: {first}") from None


@click.command("query")
@click.argument("results")
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--sweep", "sweep_id", default=None, help="Only rows of this sweep.")
def query(results, sql, fmt, output, sweep_id):
    """Run SQL (Polars dialect) over the tables `trials` and `curves` of RESULTS.

    Example: hpsweep query hpsweep-results "SELECT task, avg(test_score) FROM trials GROUP BY task"
    """
    import polars as pl

    df = run_query(results, sql, sweep_id)
    if fmt == "parquet":
        if output is None and sys.stdout.isatty():
            raise click.UsageError("--format parquet writes binary: give --output FILE or redirect stdout")
        df.write_parquet(output or sys.stdout.buffer)
        return
    if fmt == "table":
        with pl.Config(tbl_rows=min(max(df.height, 10), 200), tbl_cols=-1, tbl_width_chars=200,
                       fmt_str_lengths=60, tbl_hide_dataframe_shape=False):
            text = str(df)
    elif fmt == "csv":
        text = df.write_csv()
    else:
        text = df.write_json()
    if output:
        with open(output, "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    else:
        click.echo(text.rstrip("\n"))
