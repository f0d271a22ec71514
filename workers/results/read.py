"""The one reader of a results root: Polars lazy scans of the winning rows, local or remote.

Winning-row rule (the same for resume, status, query, analyze, recommend and the Python API):
- trials: per (sweep_id, trial_id) the row with the highest `attempt`; among rows of the same attempt (only
  two commits of one attempt, which the lease prevents) the latest `finished_at` (a null one
  loses); then the part whose path sorts last.
- curves: per (sweep_id, trial_id, epoch) the row of the part whose path sorts last (an attempt's curves
  are written before its commit and replaced by the next attempt's, so there is one normally).

Parts are read against the current schema (workers/schema.py): columns an older part lacks come
back null, columns we do not know are ignored. A part that lacks an identity column or holds a
known column with an incompatible type is a *foreign* part: every reader refuses it with one
line naming it, instead of crashing or skipping its rows silently.

A reader lists the parts, then reads them. `compact` may replace parts in between (it publishes
the merged part before it deletes the ones it merged): a listed part that is gone when read
raises PartsReplaced, and the store's `collect` lists again and reads again (the rows are the
same), so nothing reports a damaged file that was only compacted.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hpsweep.workers.errors import StoreError
from hpsweep.workers.results.layout import SCHEMAS
from hpsweep.workers.results.storage import Storage

POLARS_SCHEMAS = {t: pl.Schema(pl.from_arrow(pa.Table.from_batches([], schema=s)).schema) for t, s in SCHEMAS.items()}
# (not Schema.empty_table(): it imports pandas, ~0.5 s of every reader's start)
IDENTITY = {
    "trials": ("sweep_id", "trial_id", "task", "attempt", "status"),
    "curves": ("sweep_id", "trial_id", "task", "epoch"),
}
"""Columns without which a row cannot be placed: a part lacking one is foreign."""


class PartsReplaced(StoreError):
    """A part listed for reading was gone when it was read (a `compact` replaced it meanwhile)."""


class PartsMismatch(StoreError):
    """A part's columns do not fit the table's schema (the store names the part: check_parts)."""


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__


def vanished(root: str) -> PartsReplaced:
    return PartsReplaced(
        f"the results under {root!r:.100} changed while they were read (a `compact` ran "
        f"meanwhile); nothing is lost: run the same command again"
    )


_CHECKED: dict[tuple, str | None] = {}  # (path, size, mtime) -> why foreign (None: fine); parts never change


def _compatible(have: pa.DataType, want: pa.DataType) -> bool:
    if have.equals(want):
        return True
    kinds = (pa.types.is_integer, pa.types.is_floating, pa.types.is_timestamp)
    if any(k(have) and k(want) for k in kinds):
        return True
    if pa.types.is_integer(have) and pa.types.is_floating(want):
        return True
    return pa.types.is_string(want) and (pa.types.is_string(have) or pa.types.is_large_string(have))


def foreign_reason(storage: Storage, table: str, info) -> str | None:
    """Why the part is not a part of `table` (missing identity columns, wrong types, not Parquet), or None."""
    key = (info.path, info.size, info.mtime_ns)
    if key not in _CHECKED:
        try:
            with storage.open(info.path) as f:
                schema = pq.read_schema(f)
        except FileNotFoundError:
            raise vanished(storage.root) from None
        except (pa.ArrowException, OSError) as e:
            reason = f"is not a readable Parquet file ({type(e).__name__})"
        else:
            want = SCHEMAS[table]
            missing = [c for c in IDENTITY[table] if c not in schema.names]
            wrong = [
                f"{c} is {schema.field(c).type}"
                for c in schema.names
                if c in want.names and not _compatible(schema.field(c).type, want.field(c).type)
            ]
            reason = (
                f"lacks the column(s) {', '.join(missing)}"
                if missing
                else f"has column types that are not the {table} schema's ({'; '.join(wrong)[:80]})"
                if wrong
                else None
            )
        _CHECKED[key] = reason
    return _CHECKED[key]


def check_parts(storage: Storage, table: str, infos: list) -> None:
    """Refuse foreign parts with one line naming the first.

    Raises:
        StoreError: a part that is not a readable Parquet file of the table's schema.
    """
    if len(infos) > 8:  # one footer read per part: overlap the reads (round trips on object stores)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda f: foreign_reason(storage, table, f), infos))
    bad = [(f.path, r) for f in infos if (r := foreign_reason(storage, table, f)) is not None]
    if bad:
        path, reason = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        shown = path[len(storage.base) + 1 :] if path.startswith(storage.base + "/") else path
        raise StoreError(
            f"{shown} in results {storage.root!r:.100} {reason}{more}: not a {table} part hpsweep "
            f"wrote; move it out of the results root"
        )


CAST = pl.ScanCastOptions(integer_cast="upcast", float_cast="upcast")


def _check_identity(storage: Storage, table: str, infos: list) -> None:
    """The identity columns of every local part, checked by Polars in one native pass (~10x faster
    than reading the footers from Python, which adds seconds to `status` over thousands of parts).
    A part that fails is then named by check_parts."""
    schema = pl.Schema({c: POLARS_SCHEMAS[table][c] for c in IDENTITY[table]})
    try:  # null counts make Polars read the columns (a bare count would come from the footers alone)
        pl.scan_parquet(
            [f.path for f in infos],
            schema=schema,
            missing_columns="raise",
            extra_columns="ignore",
            hive_partitioning=False,
            cast_options=CAST,
        ).select(pl.all().null_count()).collect()
    except FileNotFoundError:
        raise vanished(storage.root) from None
    except (pl.exceptions.PolarsError, OSError) as e:
        check_parts(storage, table, infos)
        raise PartsMismatch(f"cannot read the results under {storage.root!r:.100}: {_first_line(e)}") from None


def scan_raw(storage: Storage, table: str, infos: list, check: str = "footers") -> pl.LazyFrame:
    """Every row of the given parts (losing attempts included), in the table's schema and part order.

    check: "footers" refuses a foreign part before anything is returned (check_parts: what the
    Python API hands out); "identity" checks the identity columns only (_check_identity, local
    parts) and leaves the other columns' types to the read, whose error the store's `collect`
    turns into check_parts' line naming the part.

    Raises:
        StoreError: a foreign part; PartsReplaced: a listed part is gone.
    """
    if not infos:
        return pl.LazyFrame(schema=POLARS_SCHEMAS[table])
    if check == "identity" and storage.local:
        _check_identity(storage, table, infos)
    else:
        check_parts(storage, table, infos)
    paths = [f.path for f in infos]
    if storage.local:
        return pl.scan_parquet(
            paths,
            schema=POLARS_SCHEMAS[table],
            hive_partitioning=False,
            missing_columns="insert",
            extra_columns="ignore",
            cast_options=CAST,
        )
    import pyarrow.dataset as ds  # only for object stores: importing it costs a reader ~0.4 s (it loads pandas)

    try:
        dataset = ds.dataset(paths, schema=SCHEMAS[table], format="parquet", filesystem=storage.fs)
    except FileNotFoundError:
        raise vanished(storage.root) from None
    return pl.scan_pyarrow_dataset(dataset)


def winners(lf: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """The winning rows (module docstring): a sort on the tie-break columns, then a hash group-by."""
    if table == "trials":
        ordered = lf.sort(["attempt", "finished_at"], nulls_last=False, maintain_order=True)
        return ordered.unique(["sweep_id", "trial_id"], keep="last")
    return lf.unique(["sweep_id", "trial_id", "epoch"], keep="last")


def collect(lf: pl.LazyFrame | list[pl.LazyFrame] | pl.DataFrame, root: str):
    """collect() (collect_all() for a list; a DataFrame is already collected) with read failures
    turned into one StoreError.

    Raises:
        PartsReplaced: a listed part was gone when read (compacted meanwhile; list and read again).
        StoreError: a part became unreadable between listing and reading, or a value cannot be cast.
    """
    if isinstance(lf, pl.DataFrame):
        return lf
    try:
        return pl.collect_all(lf) if isinstance(lf, list) else lf.collect()
    except FileNotFoundError:
        raise vanished(root) from None
    except (pl.exceptions.SchemaError, pl.exceptions.ColumnNotFoundError) as e:
        raise PartsMismatch(f"cannot read the results under {root!r:.100}: {_first_line(e)}") from None
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as e:
        if "No such file or directory" in str(e) or "os error 2" in str(e):
            raise vanished(root) from None
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise StoreError(
            f"cannot read the results under {root!r:.100}: {first}; move the damaged file away or rewrite it"
        ) from None
