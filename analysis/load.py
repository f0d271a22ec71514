"""Load the trials table of a results root as one lazy Polars query (DESIGN.md, results dataset).

Any number of sweeps and schema versions: every part is read against the current
TRIALS_SCHEMA, columns an older part lacks come back null, columns we do not know are ignored.
The directory keys (sweep=…, task=…) only organise files; the rows' own `sweep_id` and `task`
columns are what we read, so hive partitioning is off.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from hpsweep.workers.errors import AnalysisError, StoreError
from hpsweep.workers.schema import FINAL_STATUSES, TRIALS_SCHEMA

TRIALS_POLARS_SCHEMA = pl.Schema(pl.from_arrow(TRIALS_SCHEMA.empty_table()).schema)


def trial_parts(root) -> list[Path]:
    """The trials part files under root, sorted.

    Raises:
        StoreError: when root has no trials/ parts.
    """
    folder = Path(root) / "trials"
    parts = sorted(folder.glob("sweep=*/task=*/part-*.parquet"))  # temporaries are hidden, not part-*
    if not parts:
        raise StoreError(f"no trial parts under {folder}/sweep=*/task=*/; run `hpsweep run` first "
                         f"or point at a results root")
    return parts


def fingerprint(root) -> dict:
    """What the fitted meta-models depend on: every trials part with its size and mtime."""
    parts = trial_parts(root)
    files = [[str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns] for p in parts]
    return {"n_files": len(files), "files": files}


def fingerprint_key(fp: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:16]


def final_rows(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Keep the final row of each trial: highest `attempt`, then latest `finished_at`."""
    return (
        lf.sort(["trial_id", "attempt", "finished_at"], nulls_last=False)
        .unique(subset="trial_id", keep="last")
    )


def scan_trials(root, *, sweeps=None, tasks=None, statuses=("ok",)) -> pl.LazyFrame:
    """Lazy scan of the final row of each trial, filtered.

    Args:
        root: results root holding trials/sweep=*/task=*/part-*.parquet.
        sweeps: keep only these sweep ids (None = all).
        tasks: keep only these task names (None = all).
        statuses: keep trials whose final status is one of these (None = all).

    Returns:
        A LazyFrame with every TRIALS_SCHEMA column.

    Raises:
        StoreError: when root has no trial parts.
        AnalysisError: for a status that is not one of ok / diverged / failed.
    """
    parts = trial_parts(root)
    for s in statuses or ():
        if s not in FINAL_STATUSES:
            raise AnalysisError(f"status must be one of {', '.join(FINAL_STATUSES)}; got {s!r}")
    lf = pl.scan_parquet(
        [str(p) for p in parts],
        schema=TRIALS_POLARS_SCHEMA,
        hive_partitioning=False,
        missing_columns="insert",
        extra_columns="ignore",
        cast_options=pl.ScanCastOptions(integer_cast="upcast", float_cast="upcast"),
    )
    if sweeps:
        lf = lf.filter(pl.col("sweep_id").is_in(list(sweeps)))
    if tasks:
        lf = lf.filter(pl.col("task").is_in(list(tasks)))
    lf = final_rows(lf)
    if statuses:
        lf = lf.filter(pl.col("status").is_in(list(statuses)))
    return lf


def collect(lf: pl.LazyFrame, root) -> pl.DataFrame:
    """collect() with unreadable parts turned into one clear StoreError naming the file."""
    try:
        return lf.collect()
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StoreError(f"cannot read the trials under {Path(root) / 'trials'}: {_first_bad_part(root) or first}; "
                         f"move the file away or rewrite it") from None


def _first_bad_part(root) -> str | None:
    """Only on the error path: the first part pyarrow cannot open, with why."""
    import pyarrow.parquet as pq

    for part in trial_parts(root):
        try:
            pq.read_metadata(part)
        except Exception as e:  # noqa: BLE001 - any reason to fail is the answer here
            return f"{part} is not a readable Parquet file ({type(e).__name__})"
    return None
