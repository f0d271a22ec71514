"""The one interface to a results root: `ResultsStore(root)`, and `store.sweep(id)` for one sweep.

    store = ResultsStore("hpsweep-results")        # or "s3://bucket/prefix?..."
    sweep = store.sweep("quickstart")               # the sweep id is checked here, once
    sweep.check_spec(spec_hash); sweep.save(spec_text, spec_hash, plan)
    with sweep.lease():                             # one driver (or compact) per sweep
        attempt = sweep.begin_attempt(pack_id)      # in the pack runner
        sweep.commit(task, pack_id, attempt.number, trials, curves, token=attempt.token)
        sweep.committed(task, pack_id)              # the driver: is a finished pack visible?
    sweep.finished(); sweep.status(); sweep.scan("trials")
    store.scan("trials"); store.collect(lambda r: r.trials.filter(...)); store.compact()

The coordinator, the pack runner, the commands, analysis and the Python API all go through
these two classes. Underneath: paths (layout.py), the storage engine (storage.py), commits and
their index (commits.py), the reader and the winning-row rule (read.py), the lease (lease.py),
compaction (compact.py). Writing needs only pyarrow; Polars is imported by the reading methods,
so the pack runner commits on a box without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from hpsweep.workers.errors import StoreError
from hpsweep.workers.results.commits import UNTRAINED_STATUS, Attempt, PackCommits
from hpsweep.workers.results.layout import SCHEMAS, Layout, check_id, is_part
from hpsweep.workers.results.lease import Lease
from hpsweep.workers.results.storage import open_storage
from hpsweep.workers.schema import FINAL_STATUSES

if TYPE_CHECKING:
    import polars as pl

    from hpsweep.workers.results.compact import CompactStats

PLAN_SCHEMA = pa.schema([("trial_id", pa.string()), ("task", pa.string())])
RETRIES = 3
"""Times a read is listed and read again when `compact` replaced its parts meanwhile."""


class Results(NamedTuple):
    """The winning rows of a results root, as lazy Polars queries."""

    trials: pl.LazyFrame
    curves: pl.LazyFrame


class _Scans:
    """trials / curves scans built when first used (a query over trials lists and checks no curves),
    identity columns checked natively (read.scan_raw); `listed` keeps the parts for a diagnosis."""

    def __init__(self, store: ResultsStore, sweep_id: str | None):
        self._store, self._sweep, self._built, self.listed = store, sweep_id, {}, {}

    def _get(self, table: str):
        if table not in self._built:
            self.listed[table] = self._store.parts(table, self._sweep)
            self._built[table] = self._store.scan(table, parts=self.listed[table], check="identity")
        return self._built[table]

    trials = property(lambda self: self._get("trials"))
    curves = property(lambda self: self._get("curves"))


def results(root: str, sweep_id: str | None = None) -> Results:
    """trials and curves LazyFrames of the winning rows of `root` (a path or URI), one sweep or all.

    Raises:
        StoreError: the root cannot be opened, a sweep id is not a safe name, or a part is foreign.
    """
    store = ResultsStore(root)
    return Results(store.scan("trials", sweep_id), store.scan("curves", sweep_id))


class ResultsStore:
    """One results root (a local directory, created on first write, or a filesystem URI).

    Raises:
        StoreError: the URI cannot be opened (unknown scheme, bad bucket or credentials), or its
            filesystem cannot publish files atomically.
    """

    def __init__(self, root: str):
        self.root = str(root)
        self.storage, self.base = open_storage(self.root)
        self.layout = Layout(self.base)
        self.local = self.storage.local

    def require_root(self) -> None:
        """For readers: the root must be an existing directory (or a non-empty prefix).

        Raises:
            StoreError: it does not exist, or it is a file.
        """
        info = self.storage.info(self.base)
        if info.is_file:
            raise StoreError(
                f"results {self.root!r:.100} is a file, not a results directory; give the folder "
                f"that `hpsweep run --results` wrote"
            )
        if info.type.name == "NotFound":
            raise StoreError(
                f"results {self.root!r:.100} do not exist; give the folder that `hpsweep run "
                f"--results` wrote (default hpsweep-results)"
            )

    def sweeps(self) -> list[str]:
        """Sweep ids that have a frozen spec in the store (folders that are not safe names are ignored)."""
        return sorted(
            f.base_name
            for f in self.storage.list(self.layout.join("sweeps"))
            if f.type.name == "Directory" and _safe(f.base_name)
        )

    def sweep(self, sweep_id: str) -> SweepStore:
        """One sweep of the store.

        Raises:
            StoreError: the sweep id is not a safe name.
        """
        return SweepStore(self, check_id("sweep id", sweep_id))

    # -- reading -------------------------------------------------------------------------------
    def parts(self, table: str, sweep_id: str | None = None, task: str | None = None) -> list:
        """Visible parts (pyarrow FileInfo, sorted by path) of a table, optionally of one sweep / task."""
        path = self.layout.partition(table, sweep_id, task) if sweep_id is not None else self.layout.table(table)
        infos = [
            f
            for f in self.storage.list(path, recursive=True)
            if f.is_file and is_part(f.base_name) and self.layout.inside(f.path)
        ]
        return sorted(infos, key=lambda f: f.path)

    def scan(
        self, table: str, sweep_id: str | None = None, parts: list | None = None, check: str = "footers"
    ) -> pl.LazyFrame:
        """A Polars LazyFrame over a table's winning rows (of `parts`, default: all of the sweep or root).

        check: how foreign parts are found (read.scan_raw); the default refuses them before returning.

        Raises:
            StoreError: a part is foreign; PartsReplaced: a listed part is gone (collect() retries).
        """
        from hpsweep.workers.results import read

        parts = self.parts(table, sweep_id) if parts is None else parts
        return read.winners(read.scan_raw(self.storage, table, parts, check), table)

    def collect(
        self, query: Callable[[Results], pl.LazyFrame | list[pl.LazyFrame] | pl.DataFrame], sweep_id: str | None = None
    ):
        """Run `query` over fresh scans (Results of trials and curves) and collect what it returns;
        when `compact` replaced a part meanwhile, list and read again (read.py).

        Raises:
            StoreError: a part is foreign or unreadable, or a value cannot be cast.
        """
        from hpsweep.workers.results import read

        for attempt in range(RETRIES):
            scans = _Scans(self, sweep_id)
            try:
                return read.collect(query(scans), self.root)
            except (read.PartsReplaced, FileNotFoundError):
                if attempt == RETRIES - 1:
                    raise read.vanished(self.root) from None
            except read.PartsMismatch:
                for table, parts in scans.listed.items():
                    read.check_parts(self.storage, table, parts)  # names the part
                raise

    def read(
        self, table: str, sweep_id: str | None = None, columns: list[str] | None = None, dedupe: bool = True
    ) -> pa.Table:
        """Rows of a table (one sweep or all) in its exact schema, winners only unless dedupe=False.

        Raises:
            StoreError: a part is unreadable or foreign.
        """
        import polars as pl

        from hpsweep.workers.results import read

        schema = SCHEMAS[table] if columns is None else pa.schema([SCHEMAS[table].field(c) for c in columns])

        def rows(_):
            lf = read.scan_raw(self.storage, table, self.parts(table, sweep_id))
            return (read.winners(lf, table) if dedupe else lf).select(schema.names)

        return self.collect(rows).to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema)

    # -- maintenance ---------------------------------------------------------------------------
    def compact(self, sweep_id: str | None = None, min_files: int = 2, echo=print) -> CompactStats:
        """Merge parts under the sweeps' leases (compact.py); readers' results do not change."""
        from hpsweep.workers.results.compact import compact

        return compact(self, sweep_id, min_files, echo)


class SweepStore:
    """One sweep of a results root: its frozen spec and plan, lease, commits and winning rows."""

    def __init__(self, store: ResultsStore, sweep_id: str):
        self.store, self.id = store, sweep_id
        self.storage, self.layout, self.root = store.storage, store.layout, store.root
        self._commits = PackCommits(store.storage, store.layout, sweep_id)

    # -- spec and plan ---------------------------------------------------------------------------
    def save(self, spec_text: str, spec_hash: str, plan: pa.Table) -> None:
        """Freeze the sweep's spec and plan, once. Re-running the same spec is fine.

        Raises:
            StoreError: the store already holds a different spec under this sweep id.
        """
        if self.check_spec(spec_hash) is None:
            self.storage.put(
                self.layout.sweep_file(self.id, "plan.parquet"), lambda f: pq.write_table(plan.cast(PLAN_SCHEMA), f)
            )
            self.storage.put_bytes(self.layout.sweep_file(self.id, "spec.yaml"), spec_text.encode())

    def check_spec(self, spec_hash: str) -> str | None:
        """The stored spec hash of the sweep (None if new).

        Raises:
            StoreError: the store holds a different spec under this sweep id.
        """
        known = self.spec_hash()
        if known is not None and known != spec_hash:
            raise StoreError(
                f"results {self.root!r} already hold sweep {self.id!r} with spec hash {known}; this "
                f"spec has {spec_hash}. Give the changed spec a new name, or use another --results"
            )
        return known

    def spec_hash(self) -> str | None:
        import yaml

        raw = self.storage.read_bytes(self.layout.sweep_file(self.id, "spec.yaml"))
        if raw is None:
            return None
        try:
            return str(yaml.safe_load(raw.decode())["spec_hash"])
        except (UnicodeDecodeError, KeyError, TypeError, yaml.YAMLError):
            raise StoreError(
                f"results {self.root!r:.100}: sweeps/{self.id}/spec.yaml is not a frozen spec "
                f"hpsweep wrote; restore it or move the sweep folder away"
            ) from None

    def planned(self) -> pa.Table:
        """The planned (trial_id, task) rows of the sweep.

        Raises:
            StoreError: no such sweep, or its plan.parquet is damaged.
        """
        path = self.layout.sweep_file(self.id, "plan.parquet")
        try:
            with self.storage.open(path) as f:
                plan = pq.ParquetFile(f).read()  # read_table would import pyarrow.dataset (and pandas): ~0.5 s
            return plan.select(PLAN_SCHEMA.names).cast(PLAN_SCHEMA)
        except FileNotFoundError:
            raise StoreError(
                f"results {self.root!r} hold no sweep {self.id!r}; sweeps: {', '.join(self.store.sweeps()) or 'none'}"
            ) from None
        except (pa.ArrowException, OSError, KeyError, ValueError) as e:
            raise StoreError(
                f"results {self.root!r:.100}: sweeps/{self.id}/plan.parquet is damaged "
                f"({type(e).__name__}); run the spec again with a fresh --results, or restore the "
                f"file"
            ) from None

    # -- writing ---------------------------------------------------------------------------------
    def lease(self, purpose: str = "run", echo=print) -> Lease:
        """The sweep's writer lease (a context manager); see lease.py."""
        return Lease(self.storage, self.layout, self.id, purpose, echo)

    def begin_attempt(self, pack_id: str) -> Attempt:
        """Record one more attempt at a pack: Attempt(number of attempts so far, this one's token)."""
        return self._commits.begin_attempt(pack_id)

    def attempts(self, pack_id: str) -> int:
        return self._commits.attempts(pack_id)

    def committed(self, task: str, pack_id: str, after_attempt: int = 0, own_token: str | None = None) -> bool:
        """Whether a complete commit of the pack with an attempt > after_attempt is visible (commits.py)."""
        return self._commits.committed(task, pack_id, after_attempt, own_token)

    def commit(
        self,
        task: str,
        pack_id: str,
        attempt: int,
        trials: pa.Table,
        curves: pa.Table | None,
        after_attempt: int = 0,
        token: str | None = None,
        models: bytes | None = None,
    ) -> bool:
        """Commit a pack's rows (and kept models) exactly once; False when an earlier attempt had
        committed (commits.py)."""
        return self._commits.commit(task, pack_id, attempt, trials, curves, after_attempt, token, models)

    def models_file(self, task: str, pack_id: str, attempt: int) -> str | None:
        """The path of a commit's kept-models file, or None when it kept none."""
        return self._commits.models_file(task, pack_id, attempt)

    def write_part(self, table: str, task: str, name: str, data: pa.Table) -> str:
        """One part outside the commit protocol (tests plant parts with it); returns its path."""
        return self._commits.write_part(table, task, name, data)

    # -- reading ---------------------------------------------------------------------------------
    def parts(self, table: str, task: str | None = None) -> list:
        return self.store.parts(table, self.id, task)

    def scan(self, table: str) -> pl.LazyFrame:
        return self.store.scan(table, self.id)

    def read(self, table: str, columns: list[str] | None = None, dedupe: bool = True) -> pa.Table:
        return self.store.read(table, self.id, columns, dedupe)

    def collect(self, query: Callable[[Results], pl.LazyFrame | list[pl.LazyFrame]]):
        return self.store.collect(query, self.id)

    def finished(self) -> dict[str, tuple[str, int]]:
        """trial_id -> (status, attempt) of the winning row of every trial with a final status and,
        when it trained, its curves (a trial whose curves part is missing is not finished)."""
        import polars as pl

        def done(r: Results):
            wins = r.trials.filter(pl.col("status").is_in(FINAL_STATUSES))
            return wins.join(_trained_without_curves(r), on="trial_id", how="anti").select(
                "trial_id", "status", "attempt"
            )

        data = self.collect(done)
        return dict(zip(data["trial_id"].to_list(), zip(data["status"].to_list(), data["attempt"].to_list())))

    def status(self) -> dict:
        """planned, one count per final status, missing (winning rows of planned trials), and how many
        of the missing ones are committed trials whose curves part is gone."""
        import polars as pl

        planned = pl.from_arrow(self.planned().select(["trial_id"])).lazy().unique()

        def counts(r: Results):
            wins = r.trials.select("trial_id", "status").join(planned, on="trial_id", how="semi")
            lacking = _trained_without_curves(r).join(planned, on="trial_id", how="semi")
            return [
                wins.join(lacking, on="trial_id", how="anti").group_by("status").len(),
                planned.select(pl.len()),
                lacking.select(pl.len()),
            ]

        by_status, n_planned, n_lacking = self.collect(counts)
        found = dict(by_status.iter_rows())
        row = {s: int(found.get(s, 0)) for s in FINAL_STATUSES}
        total = int(n_planned.item())
        return {
            "sweep": self.id,
            "planned": total,
            **row,
            "missing": total - sum(row.values()),
            "curves_missing": int(n_lacking.item()),
        }


def _trained_without_curves(r: Results) -> pl.LazyFrame:
    """trial_ids of winning, trained rows (epochs_run > 0, status not UNTRAINED_STATUS) with no curves row."""
    import polars as pl

    curves = r.curves.select("trial_id").unique()
    return (
        r.trials.filter((pl.col("status") != UNTRAINED_STATUS) & (pl.col("epochs_run").fill_null(0) > 0))
        .select("trial_id")
        .join(curves, on="trial_id", how="anti")
    )


def _safe(name: str) -> bool:
    try:
        check_id("sweep id", name)
        return True
    except StoreError:
        return False
