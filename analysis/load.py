"""Load the trials of a results root (a path or URI) as one lazy Polars query of winning rows.

A thin layer over the results layer (workers/results/, through ResultsStore): its reader, layout
and winning-row rule are the ones resume, status and query use. Any number of sweeps and schema
versions: columns an older part lacks come back null, columns we do not know are ignored; a
foreign part (not a trials part hpsweep wrote) is refused with one line naming it, never skipped
silently.
"""

from __future__ import annotations

import polars as pl

from hpsweep.workers.errors import AnalysisError, StoreError
from hpsweep.workers.hashing import short_hash
from hpsweep.workers.results import ResultsStore
from hpsweep.workers.results.read import POLARS_SCHEMAS
from hpsweep.workers.schema import FINAL_STATUSES

TRIALS_POLARS_SCHEMA = POLARS_SCHEMAS["trials"]


def trial_parts(root) -> list:
    """The trials parts (pyarrow FileInfo, sorted by path) under root, with the storage holding them.

    Raises:
        StoreError: when root cannot be opened or has no trials parts.
    """
    parts = ResultsStore(str(root)).parts("trials")
    if not parts:
        raise StoreError(
            f"no trial parts under {str(root).rstrip('/')}/trials/sweep=*/task=*/; run `hpsweep run` "
            f"first or point at a results root"
        )
    return parts


def fingerprint(root) -> dict:
    """What the fitted meta-models depend on: every trials part with its size and mtime."""
    base = ResultsStore(str(root)).base
    files = [[p.path[len(base) + 1 :], p.size, p.mtime_ns] for p in trial_parts(root)]
    return {"n_files": len(files), "files": files}


def fingerprint_key(fp: dict) -> str:
    return short_hash(fp)


def scan_trials(root, *, sweeps=None, tasks=None, statuses=("ok",)) -> pl.LazyFrame:
    """Lazy scan of the winning row of each trial, filtered.

    Args:
        root: results root (path or URI) holding trials/sweep=*/task=*/part-*.parquet.
        sweeps: keep only these sweep ids (None = all).
        tasks: keep only these task names (None = all).
        statuses: keep trials whose final status is one of these (None = all). "ok" keeps "stopped" too:
            a model that successive halving stopped at a rung trained normally until then, and the
            meta-table ranks it below the models of its group that went further (metatable.build).

    Returns:
        A LazyFrame with every TRIALS_SCHEMA column.

    Raises:
        StoreError: when root has no trial parts, or a part is foreign or unreadable.
        AnalysisError: for a status that is not one of ok / diverged / failed / stopped.
    """
    for s in statuses or ():
        if s not in FINAL_STATUSES:
            raise AnalysisError(f"status must be one of {', '.join(FINAL_STATUSES)}; got {s!r}")
    lf = ResultsStore(str(root)).scan("trials", parts=trial_parts(root))
    if sweeps:
        lf = lf.filter(pl.col("sweep_id").is_in(list(sweeps)))
    if tasks:
        lf = lf.filter(pl.col("task").is_in(list(tasks)))
    if statuses:
        keep = list(statuses) + (["stopped"] if "ok" in statuses and "stopped" not in statuses else [])
        lf = lf.filter(pl.col("status").is_in(keep))
    return lf


def collect(lf: pl.LazyFrame, root) -> pl.DataFrame:
    """collect() with unreadable parts turned into one clear StoreError."""
    from hpsweep.workers.results import read

    return read.collect(lf, str(root))
