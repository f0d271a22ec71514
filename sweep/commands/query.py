"""`hpsweep query RESULTS "SQL"`: read-only Polars SQL over the winning rows of `trials` and `curves`.

Read-only by an allow-list, not by the first word: the statement is parsed (sqlglot) and must be
one query (SELECT, WITH ... SELECT, UNION, ...) whose every table reference is `trials`, `curves`
or a name the query itself defines with WITH. Anything else (read_csv / read_parquet / read_ipc /
read_json or any other table function, a quoted path, a schema-qualified name, DDL, a second
statement) is refused before Polars sees the query, so no file outside the results is opened.
"""

from __future__ import annotations

import os
import sys

import click

FORMATS = ("table", "csv", "json", "parquet")
TABLE_NAMES = ("trials", "curves")


def check_read_only(sql: str) -> list[str]:
    """Refuse any statement that is not a query over TABLE_NAMES (and its own WITH names); returns
    the TABLE_NAMES it reads.

    Raises:
        StoreError: with the offending reference.
    """
    import sqlglot
    from sqlglot import exp

    from hpsweep.workers.errors import StoreError

    shown = " ".join(sql.split())[:80]
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except sqlglot.errors.SqlglotError as e:
        raise StoreError(f"query cannot be parsed ({str(e).splitlines()[0][:80]}): {shown!r}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise StoreError(
            f"query is read-only: give one SELECT (or WITH ... SELECT) statement over the tables "
            f"trials and curves; got {shown!r}"
        )
    tree = statements[0]
    own = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    reads = set()
    for table in tree.find_all(exp.Table):
        name = table.this
        ok = (
            isinstance(name, exp.Identifier)
            and not table.args.get("db")
            and not table.args.get("catalog")
            and name.name.lower() in (*TABLE_NAMES, *own)
        )
        if not ok:
            raise StoreError(
                f"query may read only the tables trials and curves (and names it defines with WITH); "
                f"{table.sql()[:60]!r} is not allowed"
            )
        reads.add(name.name.lower())
    return [t for t in TABLE_NAMES if t in reads]


def run_query(results: str, sql: str, sweep_id: str | None = None):
    """Run one read-only query over the store's winning rows; returns a Polars DataFrame.

    Raises:
        StoreError: the root does not exist, the statement is not allowed, or Polars rejects it.
    """
    import polars as pl

    from hpsweep.workers.errors import StoreError
    from hpsweep.workers.results import ResultsStore

    tables = check_read_only(sql)  # only the tables it reads are listed and checked
    store = ResultsStore(results)
    store.require_root()
    if sweep_id is not None:
        store.sweep(sweep_id)  # a bad --sweep is one line, before anything is read

    def execute(r):
        try:
            return pl.SQLContext({t: getattr(r, t) for t in tables}).execute(sql, eager=True)
        except FileNotFoundError:
            raise  # a part compacted meanwhile: the store lists and reads again
        except (pl.exceptions.PolarsError, OSError) as e:
            first = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise StoreError(f"query failed: {first}") from None

    return store.collect(execute, sweep_id)


def _check_output(output: str) -> None:
    """--output must go into an existing folder (nothing is created for a typo)."""
    from hpsweep.workers.errors import StoreError

    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise StoreError(f"--output {output!r:.100}: the folder {folder!r:.100} does not exist; create it first")


def _write_output(output: str, write) -> None:
    import pyarrow.fs as pafs

    from hpsweep.workers.results.storage import atomic_write

    atomic_write(pafs.LocalFileSystem(), os.path.abspath(output), write)


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

    if output:
        _check_output(output)
    df = run_query(results, sql, sweep_id)
    if fmt == "parquet":
        if output is None and sys.stdout.isatty():
            raise click.UsageError("--format parquet writes binary: give --output FILE or redirect stdout")
        if output:
            _write_output(output, df.write_parquet)
        else:
            df.write_parquet(sys.stdout.buffer)
        return
    if fmt == "table":
        with pl.Config(
            tbl_rows=min(max(df.height, 10), 200),
            tbl_cols=-1,
            tbl_width_chars=200,
            fmt_str_lengths=60,
            tbl_hide_dataframe_shape=False,
        ):
            text = str(df)
    elif fmt == "csv":
        text = df.write_csv()
    else:
        text = df.write_json()
    if output:
        _write_output(output, lambda f: f.write((text if text.endswith("\n") else text + "\n").encode()))
    else:
        click.echo(text.rstrip("\n"))
