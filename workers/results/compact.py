"""`compact`: merge each (table, sweep, task) partition's parts into one, dropping losing attempts,
under the sweep's lease (a running driver keeps its sweep; compact refuses with one line).

Also removes what the merged sweep no longer needs: temporaries of writers killed mid-write and
the `_attempts` folder (its markers only number the attempts of a running driver, and a later run
numbers from the attempts stored in the rows, so its new attempts still win; its commit records
name parts that the merge has replaced).

The merged part is published before the parts it replaces are deleted, so a reader that listed
the old parts and finds one gone lists again and reads the same rows (read.py).
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
import pyarrow.parquet as pq

from hpsweep.workers.results import read as reader
from hpsweep.workers.results.layout import MODELS, SCHEMAS, TABLES, sweep_of_partition
from hpsweep.workers.results.lease import TTL_S

if TYPE_CHECKING:
    from hpsweep.workers.results.store import ResultsStore


@dataclass(frozen=True)
class CompactStats:
    partitions: int  # partitions rewritten
    files_before: int
    files_after: int
    rows: int  # rows kept in the rewritten partitions
    markers: int = 0  # _attempts markers removed


def sweeps_in(store: ResultsStore) -> list[str]:
    """Every sweep id with a spec, parts or markers in the store (unsafe folder names ignored)."""
    found = set(store.sweeps())
    for table in TABLES:
        for f in store.storage.list(store.layout.table(table)):
            if (sid := sweep_of_partition(f.base_name)) is not None:
                found.add(sid)
    for f in store.storage.list(store.layout.attempts()):
        if sweep_of_partition(f"sweep={f.base_name}") is not None:
            found.add(f.base_name)
    return sorted(found)


def compact(store: ResultsStore, sweep_id: str | None = None, min_files: int = 2, echo=print) -> CompactStats:
    """Compact one sweep (or all) while holding their leases; readers' results do not change.

    Raises:
        StoreError: a sweep is held by a running driver, a part is unreadable or foreign, or the
            filesystem refuses a write. Nothing is deleted before every check has passed.
    """
    if sweep_id is not None:
        store.layout.partition("trials", sweep_id)  # a bad --sweep is refused before anything is touched
    sweeps = [sweep_id] if sweep_id is not None else sweeps_in(store)
    _checked_parts(store, sweeps)  # a foreign part is refused before anything is written (even a lease)
    counts = [0, 0, 0, 0, 0]  # the fields of CompactStats, summed over partitions
    with ExitStack() as held:
        for s in sweeps:
            held.enter_context(store.sweep(s).lease("compact", echo))
        infos = _checked_parts(store, sweeps)  # again under the leases: parts written meanwhile
        for s in sweeps:
            _remove_temporaries(store, s)
            for table in TABLES:
                counts = [a + b for a, b in zip(counts, _compact_table(store, table, infos[(table, s)], min_files))]
            counts[4] += _remove_markers(store, s)
    return CompactStats(*counts)


def _checked_parts(store: ResultsStore, sweeps: list[str]) -> dict[tuple[str, str], list]:
    infos = {(t, s): store.parts(t, s) for t in TABLES for s in sweeps}
    for (t, _), parts in infos.items():
        reader.check_parts(store.storage, t, parts)
    return infos


def _compact_table(store: ResultsStore, table: str, parts: list, min_files: int) -> tuple[int, int, int, int, int]:
    by_dir: dict[str, list] = {}
    for p in parts:
        by_dir.setdefault(p.path.rsplit("/", 1)[0], []).append(p)
    partitions = files_before = files_after = rows = 0
    for directory, group in sorted(by_dir.items()):
        files_before += len(group)
        if len(group) < min_files:
            files_after += len(group)
            continue
        lf = reader.winners(reader.scan_raw(store.storage, table, group), table)
        data = reader.collect(lf.select(SCHEMAS[table].names), store.root)
        data = data.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(SCHEMAS[table])
        path = f"{directory}/part-compacted-{uuid.uuid4().hex[:8]}.parquet"
        store.storage.put(path, lambda f: pq.write_table(data, f, compression="zstd"))
        for p in group:
            store.storage.delete(p.path)
        partitions, files_after, rows = partitions + 1, files_after + 1, rows + data.num_rows
    return partitions, files_before, files_after, rows, 0


def _remove_temporaries(store: ResultsStore, sweep_id: str) -> None:
    """Temporaries (.part-*.tmp) of writers killed mid-write, older than a lease's life: garbage.
    Object stores have none (one PUT)."""
    if not store.local:
        return
    cutoff = time.time_ns() - int(TTL_S * 1e9)
    folders = [store.layout.partition(t, sweep_id) for t in TABLES] + [store.layout.join(MODELS, f"sweep={sweep_id}")]
    for folder in folders:  # kept models' files are left as they are; only their temporaries go
        for f in store.storage.list(folder, recursive=True):
            if (
                f.is_file
                and f.base_name.startswith(".part-")
                and f.base_name.endswith(".tmp")
                and f.mtime_ns < cutoff
                and store.layout.inside(f.path)
            ):
                store.storage.delete(f.path)


def _remove_markers(store: ResultsStore, sweep_id: str) -> int:
    folder = store.layout.attempts(sweep_id)
    markers = [f for f in store.storage.list(folder, recursive=True) if f.is_file and store.layout.inside(f.path)]
    for f in markers:
        store.storage.delete(f.path)
    if store.local:
        for d in sorted({f.path.rsplit("/", 1)[0] for f in markers}, reverse=True):
            store.storage.delete_dir_if_empty(d)
        store.storage.delete_dir_if_empty(folder)
    return sum(1 for f in markers if not f.base_name.startswith("commit-"))  # records are not attempts
