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
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from hpsweep.workers.errors import StoreError
from hpsweep.workers.results.layout import Layout, is_part
from hpsweep.workers.results.storage import Storage, open_storage
from hpsweep.workers.schema import CURVES_SCHEMA, TRIALS_SCHEMA

SCHEMAS = {"trials": TRIALS_SCHEMA, "curves": CURVES_SCHEMA}
POLARS_SCHEMAS = {t: pl.Schema(pl.from_arrow(s.empty_table()).schema) for t, s in SCHEMAS.items()}
IDENTITY = {"trials": ("sweep_id", "trial_id", "task", "attempt", "status"),
            "curves": ("sweep_id", "trial_id", "task", "epoch")}
"""Columns without which a row cannot be placed: a part lacking one is foreign."""


class Results(NamedTuple):
    """The winning rows of a results root, as lazy Polars queries."""

    trials: pl.LazyFrame
    curves: pl.LazyFrame


def results(root: str, sweep_id: str | None = None) -> Results:
    """trials and curves LazyFrames of the winning rows of `root` (a path or URI), one sweep or all.

    Raises:
        StoreError: the root cannot be opened, a sweep id is not a safe name, or a part is foreign.
    """
    storage, base = open_storage(root)
    layout = Layout(base)
    return Results(scan(storage, layout, "trials", sweep_id), scan(storage, layout, "curves", sweep_id))


def list_parts(storage: Storage, layout: Layout, table: str, sweep_id: str | None = None,
               task: str | None = None) -> list:
    """Visible parts (FileInfo, sorted by path) of a table, optionally of one sweep / task."""
    path = layout.partition(table, sweep_id, task) if sweep_id is not None else layout.table(table)
    infos = [f for f in storage.list(path, recursive=True)
             if f.is_file and is_part(f.base_name) and layout.inside(f.path)]
    return sorted(infos, key=lambda f: f.path)


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
        except (pa.ArrowException, OSError) as e:
            reason = f"is not a readable Parquet file ({type(e).__name__})"
        else:
            want = SCHEMAS[table]
            missing = [c for c in IDENTITY[table] if c not in schema.names]
            wrong = [f"{c} is {schema.field(c).type}" for c in schema.names
                     if c in want.names and not _compatible(schema.field(c).type, want.field(c).type)]
            reason = (f"lacks the column(s) {', '.join(missing)}" if missing
                      else f"has column types that are not the {table} schema's ({'; '.join(wrong)[:80]})" if wrong
                      else None)
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
        shown = path[len(storage.base) + 1:] if path.startswith(storage.base + "/") else path
        raise StoreError(f"{shown} in results {storage.root!r:.100} {reason}{more}: not a {table} part hpsweep "
                         f"wrote; move it out of the results root")


def scan_raw(storage: Storage, table: str, infos: list) -> pl.LazyFrame:
    """Every row of the given parts (losing attempts included), in the table's schema and part order."""
    if not infos:
        return pl.LazyFrame(schema=POLARS_SCHEMAS[table])
    check_parts(storage, table, infos)
    paths = [f.path for f in infos]
    if storage.local:
        return pl.scan_parquet(paths, schema=POLARS_SCHEMAS[table], hive_partitioning=False,
                               missing_columns="insert", extra_columns="ignore",
                               cast_options=pl.ScanCastOptions(integer_cast="upcast", float_cast="upcast"))
    dataset = ds.dataset(paths, schema=SCHEMAS[table], format="parquet", filesystem=storage.fs)
    return pl.scan_pyarrow_dataset(dataset)


def winners(lf: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """The winning rows (module docstring): a sort on the tie-break columns, then a hash group-by."""
    if table == "trials":
        ordered = lf.sort(["attempt", "finished_at"], nulls_last=False, maintain_order=True)
        return ordered.unique(["sweep_id", "trial_id"], keep="last")
    return lf.unique(["sweep_id", "trial_id", "epoch"], keep="last")


def scan(storage: Storage, layout: Layout, table: str, sweep_id: str | None = None) -> pl.LazyFrame:
    """Winning rows of one table (one sweep or all) as a LazyFrame."""
    return winners(scan_raw(storage, table, list_parts(storage, layout, table, sweep_id)), table)


def collect(lf: pl.LazyFrame | list[pl.LazyFrame], root: str):
    """collect() (collect_all() for a list) with read failures turned into one StoreError.

    Raises:
        StoreError: a part became unreadable between listing and reading, or a value cannot be cast.
    """
    try:
        return pl.collect_all(lf) if isinstance(lf, list) else lf.collect()
    except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as e:
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise StoreError(f"cannot read the results under {root!r:.100}: {first}; move the damaged file away "
                         f"or rewrite it") from None
