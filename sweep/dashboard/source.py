"""The dashboard's one door into a results store: every read the dashboard makes goes through here.

Only public readers are used (the results store's status and planned rows, the results layer's
winning-row scans, the saved meta-models of `analyze`), so a change of the results layer is
re-pointed in this one file. Nothing here writes: no lease, no refit, no report.

Caching: a part never changes once written (a compaction replaces parts under new names), so
whatever is derived from one sweep is kept until that sweep's listing of parts (path, size,
mtime) changes. A poll of an idle store is then one listing per sweep.
"""

from __future__ import annotations

import json
import threading
import time

import polars as pl

from hpsweep.workers.errors import AnalysisError, StoreError
from hpsweep.workers.results import read as reader

STATUSES = ("ok", "diverged", "failed", "stopped")
"""Every final status a trial row can carry; `stopped` (successive halving) counts when present."""
DENSITY_COLUMNS = ("d_hx", "d_hh", "d_hy", "d_yx", "d_yh", "d_yy")
TRIAL_COLUMNS = (
    "trial_id",
    "pack_id",
    "task",
    "status",
    "seed",
    "hidden",
    "budget",
    *DENSITY_COLUMNS,
    "hidden_proportion",
    "total_weights",
    "lr",
    "epochs_run",
    "test_score",
    "val_score",
    "score_name",
    "input_dim",
    "output_dim",
    "started_at",
    "finished_at",
    "error",
)
"""The trial columns the views draw; the rest of the row never leaves the store."""


class StoreSource:
    """Read-only, cached access to one results root (a local path or a URI).

    A sweep's parts are listed once per poll and grouped by task partition (a trial's rows all lie
    in its task's partition, so the winning-row rule holds within one); what is derived from a
    partition is recomputed only when that partition's parts change. A new pack costs one
    partition's reads, not the sweep's.

    Raises:
        StoreError: the root cannot be opened (on construction), or a part is unreadable (on reads).
    """

    MAX_TASK_ENTRIES = 16
    """Per-task curve caches kept (the tasks last opened); the per-partition trials are all kept."""

    def __init__(self, root: str):
        from hpsweep.workers.results import ResultsStore

        self.root = str(root)
        self.store = ResultsStore(self.root)
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple] = {}  # (what, sweep, folder) -> (key, value)
        self._task_cache: dict[tuple, tuple] = {}  # bounded: curves of opened tasks
        self._analysis: tuple | None = None

    # -- what is there -----------------------------------------------------------------------
    def check(self) -> list[str]:
        """The sweeps of the root.

        Raises:
            StoreError: the root does not exist, is a file, or holds no sweeps (the CLI's own lines).
        """
        self.store.require_root()
        sweeps = self.store.sweeps()
        if not sweeps:
            raise StoreError(
                f"results {self.root!r:.100} hold no sweeps; run one with: hpsweep run --results {self.root}"
            )
        return sweeps

    def sweeps(self) -> list[str]:
        return self.store.sweeps()

    def listing(self, sweep: str) -> dict[str, dict[str, tuple]]:
        """table -> task partition folder -> its parts (FileInfo): changes when a pack lands."""
        out: dict[str, dict[str, list]] = {}
        for table in ("trials", "curves"):
            folders: dict[str, list] = {}
            for f in self.store.parts(table, sweep):
                folders.setdefault(f.path.rsplit("/", 1)[0], []).append(f)
            out[table] = {k: tuple(v) for k, v in folders.items()}
        return out

    @staticmethod
    def key(listing: dict) -> tuple:
        """A hashable summary of a listing: (path, size, mtime) of every part."""
        return tuple(
            (f.path, f.size, f.mtime_ns)
            for table in ("trials", "curves")
            for infos in listing[table].values()
            for f in infos
        )

    def _per_folder(self, what: str, table: str, infos: tuple, compute, cache: dict | None = None):
        cache = self._cache if cache is None else cache
        folder = infos[0].path.rsplit("/", 1)[0]
        key = tuple((f.path, f.size, f.mtime_ns) for f in infos)
        with self._lock:
            hit = cache.get((what, folder))
        if hit is not None and hit[0] == key:
            return hit[1]
        value = reader.collect(
            compute(reader.winners(reader.scan_raw(self.store.storage, table, list(infos)), table)), self.root
        )
        with self._lock:
            cache[(what, folder)] = (key, value)
            if cache is self._task_cache and len(cache) > self.MAX_TASK_ENTRIES:
                cache.pop(next(iter(cache)))
        return value

    # -- per sweep ---------------------------------------------------------------------------
    def trials(self, sweep: str, listing: dict) -> pl.DataFrame:
        """The winning row of every trial of a sweep, only the columns the views draw."""
        frames = [
            self._per_folder("trials", "trials", infos, lambda lf: lf.select(TRIAL_COLUMNS))
            for infos in listing["trials"].values()
        ]
        if not frames:
            return pl.DataFrame(schema={c: reader.POLARS_SCHEMAS["trials"][c] for c in TRIAL_COLUMNS})
        return pl.concat(frames, how="vertical")

    def with_curves(self, listing: dict) -> pl.DataFrame:
        """trial_id of every trial that has curve rows (whichever part holds them)."""
        frames = [
            self._per_folder("curve_ids", "curves", infos, lambda lf: lf.select("trial_id").unique())
            for infos in listing["curves"].values()
        ]
        return pl.concat(frames) if frames else pl.DataFrame(schema={"trial_id": pl.String})

    def planned(self, sweep: str) -> pl.DataFrame:
        """The planned trial ids of a sweep (frozen when the sweep was saved: read once)."""
        with self._lock:
            hit = self._cache.get(("planned", sweep))
        if hit is None:
            hit = (None, pl.from_arrow(self.store.sweep(sweep).planned().select(["trial_id"])).unique())
            with self._lock:
                self._cache[("planned", sweep)] = hit
        return hit[1]

    def status(self, sweep: str, listing: dict) -> dict:
        """planned / ok / diverged / failed / stopped / missing of a sweep, counted as `hpsweep status`
        counts them: winning rows of planned trials; a trained trial (not failed, epochs_run > 0)
        whose curves are gone is missing, not finished."""
        planned = self.planned(sweep)
        wins = self.trials(sweep, listing).join(planned, on="trial_id", how="semi")
        lacking = wins.filter((pl.col("status") != "failed") & (pl.col("epochs_run").fill_null(0) > 0)).join(
            self.with_curves(listing), on="trial_id", how="anti"
        )
        counted = dict(wins.join(lacking, on="trial_id", how="anti").group_by("status").len().iter_rows())
        row = {s: int(counted.get(s, 0)) for s in STATUSES}
        return {
            "sweep": sweep,
            "planned": planned.height,
            **row,
            "missing": planned.height - sum(row.values()),
            "curves_missing": lacking.height,
        }

    def _task_curves(self, sweep: str, task: str, listing: dict) -> tuple | None:
        folder = self.store.layout.partition("curves", sweep, task)
        return listing["curves"].get(folder)

    def curves(self, sweep: str, task: str, trial_ids: list[str], listing: dict) -> pl.DataFrame:
        """The curve rows of the given trials of one task (epoch, val_score, train_loss, val_loss)."""
        infos = self._task_curves(sweep, task, listing)
        if not infos:
            return pl.DataFrame(schema={"trial_id": pl.String, "epoch": pl.Int64, "val_score": pl.Float64})
        return self._per_folder(
            f"curves:{','.join(trial_ids)}",
            "curves",
            infos,
            lambda lf: (
                lf.filter(pl.col("trial_id").is_in(trial_ids))
                .select("trial_id", "epoch", "val_score")
                .sort("trial_id", "epoch")
            ),
            self._task_cache,
        )

    def curve_band(self, sweep: str, task: str, listing: dict) -> pl.DataFrame:
        """Per epoch over every trial of a task: median and 10%..90% of the validation score."""
        infos = self._task_curves(sweep, task, listing)
        if not infos:
            return pl.DataFrame(
                schema={"epoch": pl.Int64, "n": pl.UInt32, "median": pl.Float64, "p10": pl.Float64, "p90": pl.Float64}
            )
        return self._per_folder(
            "band",
            "curves",
            infos,
            lambda lf: (
                lf.group_by("epoch")
                .agg(
                    pl.len().alias("n"),
                    pl.col("val_score").median().alias("median"),
                    pl.col("val_score").quantile(0.1).alias("p10"),
                    pl.col("val_score").quantile(0.9).alias("p90"),
                )
                .sort("epoch")
            ),
            self._task_cache,
        )

    def running(self, sweep: str) -> str | None:
        """Who holds the sweep's writer lease right now (a `run` or `compact`), or None."""
        from hpsweep.workers.results.lease import TTL_S

        storage = self.store.storage
        now = time.time()
        for f in storage.list(self.store.layout.leases(sweep)):
            if not (f.is_file and f.base_name.endswith(".json")):
                continue
            try:
                record = json.loads(storage.read_bytes(f.path) or b"null") or {}
            except (ValueError, StoreError):
                continue
            if now - float(record.get("heartbeat", 0)) <= TTL_S:
                return str(record.get("purpose", "run"))
        return None

    # -- the saved analysis ---------------------------------------------------------------------
    def analysis(self) -> dict | None:
        """The meta-models `hpsweep analyze RESULTS` saved, when they still match the results; else None.

        Never fits or saves (the dashboard writes nothing): a stale or missing analysis is None.
        """
        if not any(f.type.name == "Directory" for f in self.store.storage.list(self.store.layout.join("models"))):
            return None  # nothing saved: no need to import scikit-learn (seconds) to learn that
        from hpsweep.analysis.analyze import AnalysisOptions
        from hpsweep.analysis.load import fingerprint
        from hpsweep.analysis.saved import load_if_current

        try:
            fp = json.dumps(fingerprint(self.root), sort_keys=True)
        except StoreError:  # no trials parts yet
            return None
        if self._analysis is not None and self._analysis[0] == fp:
            return self._analysis[1]
        bundle = load_if_current(self.root, AnalysisOptions())
        self._analysis = (fp, bundle)
        return bundle

    def recommend(
        self, input_dim: int, output_dim: int, budget: float, top: int = 5, kind: str | None = None
    ) -> tuple[pl.DataFrame, dict, dict, dict | None]:
        """`recommend`'s table, the saved analysis, the verdict against dense and how the order held up
        near the request (its checks and one-line errors are the CLI's).

        Raises:
            DescriptorError, AnalysisError: a bad request, or no current analysis to answer from.
        """
        from hpsweep.analysis.nearby import nearby
        from hpsweep.analysis.recommend import check_request, recommend_with_verdict

        check_request(input_dim, output_dim, budget, top=top, kind=kind)
        bundle = self.analysis()
        if bundle is None:
            raise AnalysisError(
                f"results {self.root!r:.100} hold no analysis of the results as they are now; run: "
                f"hpsweep analyze {self.root}"
            )
        table, verdict = recommend_with_verdict(bundle, input_dim, output_dim, budget, top=top, kind=kind)
        return table, bundle, verdict, nearby(bundle, input_dim, output_dim, budget, kind=kind)
