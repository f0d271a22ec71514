"""The results store: exactly-once commits of packs over the storage engine (workers/results/).

Layout and path rules: workers/results/layout.py. Storage engine (atomic put, list, open,
delete; one small class per backend): workers/results/storage.py. Reader and the winning-row
rule: workers/results/read.py. One writer per sweep: workers/results/lease.py.

Contract (what resume and exactly-once are built on):
- A part appears whole or not at all (the storage engine's atomic put).
- A pack writes its curves part, then its trials part; the trials part is the commit. A new
  attempt at a pack whose complete commit exists writes nothing; one whose commit does not
  exist first deletes earlier curves parts of that pack. A commit whose curves part went
  missing is incomplete: its trials are not finished, and the next run commits them again
  under a higher attempt (`status` reports them meanwhile).
- If two attempts of a pack ever both commit, readers keep the winning row (read.py), and
  `compact` drops the losers for good.
- A sweep is written by one driver at a time: `run` and `compact` hold the sweep's lease.
Thread safety: an instance holds no mutable state beyond its filesystem handle; any number of
processes may write different packs concurrently.
"""

from __future__ import annotations

import uuid

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hpsweep.workers.errors import StoreError
from hpsweep.workers.results import read as reader
from hpsweep.workers.results.layout import Layout, check_id
from hpsweep.workers.results.lease import Lease
from hpsweep.workers.results.storage import open_storage
from hpsweep.workers.schema import CURVES_SCHEMA, FINAL_STATUSES, TRIALS_SCHEMA

TABLES = {"trials": TRIALS_SCHEMA, "curves": CURVES_SCHEMA}
PLAN_SCHEMA = pa.schema([("trial_id", pa.string()), ("task", pa.string())])


class ResultsStore:
    """Reads and writes one results dataset. See the module docstring for the contract.

    Args:
        root: local directory (created on first write) or filesystem URI.

    Raises:
        StoreError: the URI cannot be opened (unknown scheme, bad bucket or credentials), or its
            filesystem cannot publish files atomically.
    """

    def __init__(self, root: str):
        self.root = str(root)
        self.storage, self.base = open_storage(self.root)
        self.layout = Layout(self.base)
        self.fs, self.local = self.storage.fs, self.storage.local

    def require_root(self) -> None:
        """For readers: the root must be an existing directory (or a non-empty prefix).

        Raises:
            StoreError: it does not exist, or it is a file.
        """
        info = self.storage.info(self.base)
        if info.is_file:
            raise StoreError(f"results {self.root!r:.100} is a file, not a results directory; give the folder "
                             f"that `hpsweep run --results` wrote")
        if info.type.name == "NotFound":
            raise StoreError(f"results {self.root!r:.100} do not exist; give the folder that `hpsweep run "
                             f"--results` wrote (default hpsweep-results)")

    # -- paths -------------------------------------------------------------------------------
    def partition(self, table: str, sweep_id: str, task: str | None = None) -> str:
        return self.layout.partition(table, sweep_id, task)

    def list_parts(self, table: str, sweep_id: str | None = None, task: str | None = None) -> list[str]:
        """Visible parts (paths) of a table, optionally of one sweep / task; temporaries excluded."""
        return [f.path for f in reader.list_parts(self.storage, self.layout, table, sweep_id, task)]

    def sweeps(self) -> list[str]:
        """Sweep ids that have a frozen spec in the store (folders that are not safe names are ignored)."""
        return sorted(f.base_name for f in self.storage.list(self.layout.join("sweeps"))
                      if f.type.name == "Directory" and _safe(f.base_name))

    def lease(self, sweep_id: str, purpose: str = "run", echo=print) -> Lease:
        """The sweep's writer lease (a context manager); see workers/results/lease.py."""
        return Lease(self.storage, self.layout, sweep_id, purpose, echo)

    # -- writing -----------------------------------------------------------------------------
    def write_part(self, table: str, sweep_id: str, task: str, name: str, data: pa.Table) -> str:
        """Write one part atomically under a unique name `part-<name>-<uuid>.parquet`; returns its path.

        Raises:
            StoreError: the filesystem refuses the write, or a name is not a safe path component.
        """
        if not data.schema.equals(TABLES[table]):
            raise AssertionError(f"{table} part does not match the schema: {data.schema}")
        path = self.layout.part(table, sweep_id, task, name, uuid.uuid4().hex[:8])
        self.storage.put(path, lambda f: pq.write_table(data, f, compression="zstd"))
        return path

    def _pack_parts(self, table: str, sweep_id: str, task: str, pack_id: str) -> dict[str, int]:
        """path -> attempt of the parts named after this pack."""
        prefix = f"part-{check_id('pack id', pack_id)}-a"
        found = {}
        for p in self.list_parts(table, sweep_id, task):
            name = p.rsplit("/", 1)[1]
            if name.startswith(prefix) and name[len(prefix):].split("-", 1)[0].isdigit():
                found[p] = int(name[len(prefix):].split("-", 1)[0])
        return found

    def pack_committed(self, sweep_id: str, task: str, pack_id: str, after_attempt: int = 0) -> bool:
        """Whether a complete commit of this pack with an attempt > after_attempt exists.

        after_attempt lets a deliberate re-run (of failed trials) write over an old commit. A commit
        whose trained trials lost their curves part is not complete (a re-run repairs it)."""
        curves = set(self._pack_parts("curves", sweep_id, task, pack_id).values())
        for path, attempt in self._pack_parts("trials", sweep_id, task, pack_id).items():
            if attempt > after_attempt and (attempt in curves or not self._needs_curves(path)):
                return True
        return False

    def _needs_curves(self, trials_part: str) -> bool:
        with self.storage.open(trials_part) as f:
            t = pq.read_table(f, columns=["status", "epochs_run"])
        return any(s != "failed" and (e or 0) > 0 for s, e in zip(t["status"].to_pylist(), t["epochs_run"].to_pylist()))

    def write_pack(self, sweep_id: str, task: str, pack_id: str, attempt: int,
                   trials: pa.Table, curves: pa.Table | None, after_attempt: int = 0) -> bool:
        """Commit one pack's rows exactly once: curves first, then the trials part (the commit).

        Returns:
            True if written; False if an earlier attempt of the pack had already committed.

        Raises:
            StoreError: the filesystem refuses a write (the curves part written first is removed).
        """
        if self.pack_committed(sweep_id, task, pack_id, after_attempt):
            return False
        for old in self._pack_parts("curves", sweep_id, task, pack_id):  # an attempt that died between the writes
            self.storage.delete(old)
        name = f"{pack_id}-a{attempt}"
        written = None
        if curves is not None and curves.num_rows:
            written = self.write_part("curves", sweep_id, task, name, curves)
        try:
            self.write_part("trials", sweep_id, task, name, trials)
        except BaseException:
            if written is not None:  # no orphan curves without their commit
                self.storage.delete(written)
            raise
        return True

    def begin_attempt(self, sweep_id: str, pack_id: str) -> int:
        """Record one more attempt at a pack; returns how many attempts there have been, this one included."""
        self.storage.put_bytes(f"{self.layout.attempts(sweep_id, pack_id)}/{uuid.uuid4().hex}", b"")
        return self.attempts(sweep_id, pack_id)

    def attempts(self, sweep_id: str, pack_id: str) -> int:
        return sum(1 for f in self.storage.list(self.layout.attempts(sweep_id, pack_id)) if f.is_file)

    # -- sweep metadata ------------------------------------------------------------------------
    def save_sweep(self, sweep_id: str, spec_text: str, spec_hash: str, plan: pa.Table) -> None:
        """Freeze a sweep's spec and plan, once. Re-running the same spec is fine.

        Raises:
            StoreError: the store already holds a different spec under this sweep id.
        """
        if self.check_sweep(sweep_id, spec_hash) is None:
            self.storage.put(self.layout.sweep_file(sweep_id, "plan.parquet"),
                             lambda f: pq.write_table(plan.cast(PLAN_SCHEMA), f))
            self.storage.put_bytes(self.layout.sweep_file(sweep_id, "spec.yaml"), spec_text.encode())

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

        raw = self.storage.read_bytes(self.layout.sweep_file(sweep_id, "spec.yaml"))
        if raw is None:
            return None
        try:
            return str(yaml.safe_load(raw.decode())["spec_hash"])
        except (UnicodeDecodeError, KeyError, TypeError, yaml.YAMLError):
            raise StoreError(f"results {self.root!r:.100}: sweeps/{sweep_id}/spec.yaml is not a frozen spec "
                             f"hpsweep wrote; restore it or move the sweep folder away") from None

    def planned(self, sweep_id: str) -> pa.Table:
        """The planned (trial_id, task) rows of a sweep.

        Raises:
            StoreError: no such sweep, or its plan.parquet is damaged.
        """
        path = self.layout.sweep_file(sweep_id, "plan.parquet")
        try:
            with self.storage.open(path) as f:
                plan = pq.read_table(f)
            return plan.select(PLAN_SCHEMA.names).cast(PLAN_SCHEMA)
        except FileNotFoundError:
            raise StoreError(f"results {self.root!r} hold no sweep {sweep_id!r}; sweeps: "
                             f"{', '.join(self.sweeps()) or 'none'}") from None
        except (pa.ArrowException, OSError, KeyError, ValueError) as e:
            raise StoreError(f"results {self.root!r:.100}: sweeps/{sweep_id}/plan.parquet is damaged "
                             f"({type(e).__name__}); run the spec again with a fresh --results, or restore the "
                             f"file") from None

    def compact(self, sweep_id: str | None = None, min_files: int = 2, echo=print):
        """Merge parts under the sweeps' leases (sweep/compaction.py); returns CompactStats."""
        from hpsweep.sweep.compaction import compact

        return compact(self, sweep_id, min_files, echo)

    # -- reading -------------------------------------------------------------------------------
    def scan(self, table: str, sweep_id: str | None = None) -> pl.LazyFrame:
        """A Polars LazyFrame over a table's winning rows (workers/results/read.py)."""
        return reader.scan(self.storage, self.layout, table, sweep_id)

    def read(self, table: str, sweep_id: str | None = None, columns: list[str] | None = None,
             dedupe: bool = True) -> pa.Table:
        """Rows of a table (one sweep or all) in its exact schema, winners only unless dedupe=False.

        Raises:
            StoreError: a part is unreadable or foreign.
        """
        lf = reader.scan_raw(self.storage, table, reader.list_parts(self.storage, self.layout, table, sweep_id))
        if dedupe:
            lf = reader.winners(lf, table)
        schema = TABLES[table] if columns is None else pa.schema([TABLES[table].field(c) for c in columns])
        data = reader.collect(lf.select(schema.names), self.root)
        return data.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema)

    def _trained_without_curves(self, sweep_id: str) -> pl.LazyFrame:
        """trial_ids of winning, trained rows (status ok/diverged, epochs_run > 0) with no curves row."""
        curves = self.scan("curves", sweep_id).select("trial_id").unique()
        return (self.scan("trials", sweep_id)
                .filter((pl.col("status") != "failed") & (pl.col("epochs_run").fill_null(0) > 0))
                .select("trial_id").join(curves, on="trial_id", how="anti"))

    def finished(self, sweep_id: str) -> dict[str, tuple[str, int]]:
        """trial_id -> (status, attempt) of the winning row of every trial with a final status and,
        when it trained, its curves (a trial whose curves part is missing is not finished)."""
        wins = self.scan("trials", sweep_id).filter(pl.col("status").is_in(FINAL_STATUSES))
        lacking = self._trained_without_curves(sweep_id)
        data = reader.collect(wins.join(lacking, on="trial_id", how="anti").select("trial_id", "status", "attempt"),
                              self.root)
        return dict(zip(data["trial_id"].to_list(), zip(data["status"].to_list(), data["attempt"].to_list())))

    def status(self, sweep_id: str) -> dict:
        """planned / ok / diverged / failed / missing (winning rows of planned trials), and how many of the
        missing ones are committed trials whose curves part is gone."""
        planned = pl.from_arrow(self.planned(sweep_id).select(["trial_id"])).lazy().unique()
        wins = self.scan("trials", sweep_id).select("trial_id", "status").join(planned, on="trial_id", how="semi")
        lacking = self._trained_without_curves(sweep_id).join(planned, on="trial_id", how="semi")
        counts, n_planned, n_lacking = reader.collect([
            wins.join(lacking, on="trial_id", how="anti").group_by("status").len(),
            planned.select(pl.len()), lacking.select(pl.len())], self.root)
        by_status = dict(counts.iter_rows())
        row = {s: int(by_status.get(s, 0)) for s in FINAL_STATUSES}
        total = int(n_planned.item())
        return {"sweep": sweep_id, "planned": total, **row, "missing": total - sum(row.values()),
                "curves_missing": int(n_lacking.item())}


def _safe(name: str) -> bool:
    try:
        check_id("sweep id", name)
        return True
    except StoreError:
        return False
