"""The results store: a hive-partitioned Parquet dataset on any pyarrow filesystem.

    <root>/sweeps/<sweep_id>/spec.yaml       frozen spec + its hash (written once)
    <root>/sweeps/<sweep_id>/plan.parquet    planned trial ids and their tasks (written once)
    <root>/trials/sweep=<sweep_id>/task=<quoted task>/part-<pack_id>-a<attempt>-<uuid>.parquet
    <root>/curves/sweep=<sweep_id>/task=<quoted task>/part-...parquet
    <root>/_attempts/<sweep_id>/<pack_id>/<uuid>   one empty marker per attempt at a pack

`<root>` is a local path or a URI pyarrow.fs understands (s3://bucket/prefix?endpoint_override=...,
gs://..., file://...). Every part holds all columns of workers/schema.py, sweep_id and task
included, so a reader needs no partition parsing.

Contract (what resume and exactly-once are built on):
- A part appears whole or not at all. On a local or shared filesystem it is written under a
  hidden temporary name in its final directory, flushed, fsynced, then renamed; on an object
  store it is one PUT under a unique name (objects appear whole).
- A pack writes its curves part, then its trials part; the trials part is the commit. A new
  attempt at a pack whose trials part exists writes nothing; one whose trials part does not
  exist first deletes earlier curves parts of that pack.
- If two attempts of a pack ever both commit (a lost worker that was not dead), readers keep
  the row with the highest `attempt` per trial_id: `read`, `scan`, `finished` and `compact`
  all apply this rule, and `compact` drops the losers for good.
Thread safety: an instance holds no mutable state beyond its filesystem handle; any number of
processes may write different packs concurrently. Do not run `compact` on a sweep that is
being written.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from hpsweep.workers.errors import StoreError
from hpsweep.workers.schema import CURVES_SCHEMA, FINAL_STATUSES, TRIALS_SCHEMA

TABLES = {"trials": TRIALS_SCHEMA, "curves": CURVES_SCHEMA}
PLAN_SCHEMA = pa.schema([("trial_id", pa.string()), ("task", pa.string())])


@dataclass(frozen=True)
class CompactStats:
    partitions: int  # partitions rewritten
    files_before: int
    files_after: int
    rows: int  # rows kept in the rewritten partitions


def _is_uri(root: str) -> bool:
    return "://" in root


class ResultsStore:
    """Reads and writes one results dataset. See the module docstring for the layout and contract.

    Args:
        root: local directory (created on first write) or filesystem URI.

    Raises:
        StoreError: the URI cannot be opened (unknown scheme, bad bucket or credentials).
    """

    def __init__(self, root: str):
        self.root = str(root)
        try:
            if _is_uri(self.root):
                self.fs, self.base = pafs.FileSystem.from_uri(self.root)
            else:
                self.fs, self.base = pafs.LocalFileSystem(), os.path.abspath(self.root)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise StoreError(f"results {self.root!r} cannot be opened: {e}; give a local path or a URI such as "
                             f"s3://bucket/prefix") from None
        self.base = self.base.rstrip("/")
        self.local = isinstance(self.fs, pafs.LocalFileSystem)

    # -- paths -------------------------------------------------------------------------------
    def _join(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def partition(self, table: str, sweep_id: str, task: str | None = None) -> str:
        assert table in TABLES, f"unknown table {table!r}"
        parts = [table, f"sweep={sweep_id}"]
        if task is not None:
            parts.append(f"task={urllib.parse.quote(task, safe='')}")
        return self._join(*parts)

    def _list(self, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
        try:
            return self.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=recursive))
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"results {self.root!r} cannot be listed at {path}: {e}") from None

    def list_parts(self, table: str, sweep_id: str | None = None, task: str | None = None) -> list[str]:
        """Visible parts (paths) of a table, optionally of one sweep / task; temporaries excluded."""
        path = self.partition(table, sweep_id, task) if sweep_id else self._join(table)
        return sorted(f.path for f in self._list(path, recursive=True)
                      if f.type == pafs.FileType.File and f.base_name.startswith("part-")
                      and f.base_name.endswith(".parquet"))

    def sweeps(self) -> list[str]:
        """Sweep ids that have a frozen spec in the store."""
        return sorted(f.base_name for f in self._list(self._join("sweeps")) if f.type == pafs.FileType.Directory)

    # -- writing -----------------------------------------------------------------------------
    def _write_bytes_atomic(self, path: str, write) -> None:
        """Make `path` appear whole: temp name + fsync + rename locally, one PUT on object stores."""
        if self.local:
            directory, name = os.path.split(path)
            os.makedirs(directory, exist_ok=True)
            tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
            try:
                with open(tmp, "wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            fd = os.open(directory, os.O_RDONLY)  # make the rename itself durable
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return
        try:
            with self.fs.open_output_stream(path) as f:
                write(f)
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"results {self.root!r}: cannot write {path}: {e}") from None

    def write_part(self, table: str, sweep_id: str, task: str, name: str, data: pa.Table) -> str:
        """Write one part atomically under a unique name.

        Args:
            table: "trials" or "curves".
            sweep_id, task: the partition.
            name: a stem; the file is `part-<name>-<uuid>.parquet`.
            data: rows in exactly TABLES[table]'s schema.

        Returns:
            The part's path.

        Raises:
            StoreError: the filesystem refuses the write.
        """
        if not data.schema.equals(TABLES[table]):
            raise AssertionError(f"{table} part does not match the schema: {data.schema}")
        path = f"{self.partition(table, sweep_id, task)}/part-{name}-{uuid.uuid4().hex[:8]}.parquet"
        self._write_bytes_atomic(path, lambda f: pq.write_table(data, f, compression="zstd"))
        return path

    def _delete(self, path: str) -> None:
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            pass

    def pack_committed(self, sweep_id: str, task: str, pack_id: str, after_attempt: int = 0) -> bool:
        """Whether a trials part of this pack with an attempt > after_attempt exists (the pack's commit).

        after_attempt lets a deliberate re-run (of failed trials) write over an old commit."""
        prefix = f"part-{pack_id}-a"
        for p in self.list_parts("trials", sweep_id, task):
            name = os.path.basename(p)
            if name.startswith(prefix) and int(name[len(prefix):].split("-", 1)[0]) > after_attempt:
                return True
        return False

    def write_pack(self, sweep_id: str, task: str, pack_id: str, attempt: int,
                   trials: pa.Table, curves: pa.Table | None, after_attempt: int = 0) -> bool:
        """Commit one pack's rows exactly once: curves first, then the trials part (the commit).

        Args:
            after_attempt: commits with attempts up to this one are old (see pack_committed).

        Returns:
            True if written; False if an earlier attempt of the pack had already committed.

        Raises:
            StoreError: the filesystem refuses a write.
        """
        if self.pack_committed(sweep_id, task, pack_id, after_attempt):
            return False
        prefix = f"part-{pack_id}-"
        for old in self.list_parts("curves", sweep_id, task):  # an attempt that died between the two writes
            if os.path.basename(old).startswith(prefix):
                self._delete(old)
        name = f"{pack_id}-a{attempt}"
        if curves is not None and curves.num_rows:
            self.write_part("curves", sweep_id, task, name, curves)
        self.write_part("trials", sweep_id, task, name, trials)
        return True

    def begin_attempt(self, sweep_id: str, pack_id: str) -> int:
        """Record one more attempt at a pack; returns how many attempts there have been, this one included."""
        directory = self._join("_attempts", sweep_id, pack_id)
        self._write_bytes_atomic(f"{directory}/{uuid.uuid4().hex}", lambda f: f.write(b""))
        return self.attempts(sweep_id, pack_id)

    def attempts(self, sweep_id: str, pack_id: str) -> int:
        return sum(1 for f in self._list(self._join("_attempts", sweep_id, pack_id)) if f.type == pafs.FileType.File)

    # -- sweep metadata ------------------------------------------------------------------------
    def save_sweep(self, sweep_id: str, spec_text: str, spec_hash: str, plan: pa.Table) -> None:
        """Freeze a sweep's spec and plan, once. Re-running the same spec is fine.

        Raises:
            StoreError: the store already holds a different spec under this sweep id.
        """
        known = self.check_sweep(sweep_id, spec_hash)
        if known is None:
            self._write_bytes_atomic(self._join("sweeps", sweep_id, "plan.parquet"),
                                     lambda f: pq.write_table(plan.cast(PLAN_SCHEMA), f))
            self._write_bytes_atomic(self._join("sweeps", sweep_id, "spec.yaml"), lambda f: f.write(spec_text.encode()))

    def check_sweep(self, sweep_id: str, spec_hash: str) -> str | None:
        """The stored spec hash of a sweep (None if new).

        Raises:
            StoreError: the store holds a different spec under this sweep id.
        """
        known = self.sweep_hash(sweep_id)
        if known is not None and known != spec_hash:
            raise StoreError(f"results {self.root!r} already hold sweep {sweep_id!r} with spec hash {known}; this spec "
                             f"has {spec_hash}. Give the changed spec a new name, or use another --results")
        return known

    def sweep_hash(self, sweep_id: str) -> str | None:
        import yaml
        try:
            with self.fs.open_input_stream(self._join("sweeps", sweep_id, "spec.yaml")) as f:
                return yaml.safe_load(f.read().decode())["spec_hash"]
        except FileNotFoundError:
            return None
        except (OSError, KeyError, TypeError, yaml.YAMLError) as e:
            raise StoreError(f"results {self.root!r}: sweeps/{sweep_id}/spec.yaml is unreadable: {e}") from None

    def planned(self, sweep_id: str) -> pa.Table:
        """The planned (trial_id, task) rows of a sweep."""
        try:
            with self.fs.open_input_file(self._join("sweeps", sweep_id, "plan.parquet")) as f:
                return pq.read_table(f)
        except FileNotFoundError:
            raise StoreError(f"results {self.root!r} hold no sweep {sweep_id!r}; sweeps: {', '.join(self.sweeps()) or 'none'}") from None

    # -- reading -------------------------------------------------------------------------------
    def _dataset(self, table: str, sweep_id: str | None) -> ds.Dataset | None:
        parts = self.list_parts(table, sweep_id)
        if not parts:
            return None
        try:
            return ds.dataset(parts, schema=TABLES[table], format="parquet", filesystem=self.fs)
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"results {self.root!r}: cannot read {table}: {e}") from None

    def read(self, table: str, sweep_id: str | None = None, columns: list[str] | None = None,
             dedupe: bool = True) -> pa.Table:
        """Rows of a table (one sweep or all), winners only unless dedupe=False.

        Raises:
            StoreError: a part is unreadable.
        """
        dataset = self._dataset(table, sweep_id)
        if dataset is None:
            return TABLES[table].empty_table() if columns is None else TABLES[table].empty_table().select(columns)
        need = None if columns is None else list(dict.fromkeys([*columns, *_dedupe_columns(table)]))
        try:
            data = dataset.to_table(columns=need)
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"results {self.root!r}: cannot read {table}: {e}") from None
        if dedupe:
            data = _dedupe(table, data)
        return data if columns is None else data.select(columns)

    def scan(self, table: str, sweep_id: str | None = None):
        """A Polars LazyFrame over a table's winners (highest attempt per trial)."""
        import polars as pl

        parts = self.list_parts(table, sweep_id)
        if not parts:
            return pl.from_arrow(TABLES[table].empty_table()).lazy()
        if self.local:
            lf = pl.scan_parquet(parts, hive_partitioning=False)
        else:
            lf = pl.scan_pyarrow_dataset(ds.dataset(parts, schema=TABLES[table], format="parquet", filesystem=self.fs))
        if table == "trials":
            lf = lf.filter(pl.col("attempt") == pl.col("attempt").max().over("trial_id"))
            return lf.unique("trial_id", keep="first", maintain_order=True)
        return lf.unique(["trial_id", "epoch"], keep="last", maintain_order=True)

    def finished(self, sweep_id: str) -> dict[str, tuple[str, int]]:
        """trial_id -> (status, attempt) of the winning row of every trial with a final status."""
        data = self.read("trials", sweep_id, columns=["trial_id", "status", "attempt"])
        return {t: (s, a) for t, s, a in zip(*(data[c].to_pylist() for c in ("trial_id", "status", "attempt")))
                if s in FINAL_STATUSES}

    # -- maintenance ---------------------------------------------------------------------------
    def compact(self, sweep_id: str | None = None, min_files: int = 2) -> CompactStats:
        """Merge each partition's parts into one, dropping losing attempts; readers' results do not change.
        Also removes temporaries left by writers killed mid-write.

        Raises:
            StoreError: a part is unreadable or the filesystem refuses a write.
        """
        partitions = files_before = files_after = rows = 0
        if self.local:  # temporaries of writers killed mid-write: invisible to readers, garbage here
            for table in TABLES:
                path = self.partition(table, sweep_id) if sweep_id else self._join(table)
                for f in self._list(path, recursive=True):
                    if f.type == pafs.FileType.File and f.base_name.startswith(".part-") and f.base_name.endswith(".tmp"):
                        self._delete(f.path)
        for table in TABLES:
            by_dir: dict[str, list[str]] = {}
            for p in self.list_parts(table, sweep_id):
                by_dir.setdefault(p.rsplit("/", 1)[0], []).append(p)
            for directory, parts in sorted(by_dir.items()):
                files_before += len(parts)
                if len(parts) < min_files:
                    files_after += len(parts)
                    continue
                data = _dedupe(table, ds.dataset(parts, schema=TABLES[table], format="parquet",
                                                 filesystem=self.fs).to_table())
                path = f"{directory}/part-compacted-{uuid.uuid4().hex[:8]}.parquet"
                self._write_bytes_atomic(path, lambda f: pq.write_table(data, f, compression="zstd"))
                for p in parts:
                    self._delete(p)
                partitions, files_after, rows = partitions + 1, files_after + 1, rows + data.num_rows
        return CompactStats(partitions, files_before, files_after, rows)


def _dedupe_columns(table: str) -> tuple[str, ...]:
    return ("trial_id", "attempt") if table == "trials" else ("trial_id", "epoch")


def _dedupe(table: str, data: pa.Table) -> pa.Table:
    """Trials: the highest attempt per trial_id; curves: one row per (trial_id, epoch)."""
    if data.num_rows == 0:
        return data
    keys = data["trial_id"].to_pylist()
    if table == "trials":
        attempts = data["attempt"].to_pylist()
        best: dict[str, int] = {}
        for i, (k, a) in enumerate(zip(keys, attempts)):
            if k not in best or a > attempts[best[k]]:
                best[k] = i
        keep = sorted(best.values())
    else:
        epochs = data["epoch"].to_pylist()
        last: dict[tuple, int] = {}
        for i, key in enumerate(zip(keys, epochs)):
            last[key] = i
        keep = sorted(last.values())
    return data if len(keep) == data.num_rows else data.take(pa.array(keep, pa.int64()))
