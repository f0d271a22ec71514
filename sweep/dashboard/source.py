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
from hpsweep.workers.schema import FINAL_STATUSES

STATUSES = ("ok", "diverged", "failed", "stopped")
"""Every final status a trial row can carry; `stopped` (successive halving) counts when present."""
DENSITY_COLUMNS = ("d_hx", "d_hh", "d_hy", "d_yx", "d_yh", "d_yy")
TRIAL_COLUMNS = ("trial_id", "pack_id", "task", "status", "seed", "hidden", "budget", *DENSITY_COLUMNS,
                 "hidden_proportion", "total_weights", "lr", "epochs_run", "test_score", "val_score", "score_name",
                 "input_dim", "output_dim", "started_at", "finished_at", "error")
"""The trial columns the views draw; the rest of the row never leaves the store."""


class StoreSource:
    """Read-only, cached access to one results root (a local path or a URI).

    Raises:
        StoreError: the root cannot be opened (on construction), or a part is unreadable (on reads).
    """

    def __init__(self, root: str):
        from hpsweep.sweep.store import ResultsStore

        self.root = str(root)
        self.store = ResultsStore(self.root)
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple] = {}  # (what, sweep, ...) -> (listing key, value)
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
            raise StoreError(f"results {self.root!r:.100} hold no sweeps; run one with: hpsweep run --results "
                             f"{self.root}")
        return sweeps

    def sweeps(self) -> list[str]:
        return self.store.sweeps()

    def listing(self, sweep: str) -> tuple:
        """(path, size, mtime) of every trials and curves part of a sweep: changes when a pack lands."""
        storage, layout = self.store.storage, self.store.layout
        return tuple((f.path, f.size, f.mtime_ns) for table in ("trials", "curves")
                     for f in reader.list_parts(storage, layout, table, sweep))

    def _cached(self, what: tuple, key: tuple, compute):
        with self._lock:
            hit = self._cache.get(what)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = compute()
        with self._lock:
            self._cache[what] = (key, value)
        return value

    # -- per sweep ---------------------------------------------------------------------------
    def status(self, sweep: str, key: tuple) -> dict:
        """planned / ok / diverged / failed / stopped / missing of a sweep (the `status` command's counts)."""
        def compute():
            row = self.store.status(sweep)
            if "stopped" not in row:  # a status the store's counter does not know yet: counted here
                stopped = self.trials(sweep, key).filter(pl.col("status") == "stopped")
                planned = set(self.store.planned(sweep)["trial_id"].to_pylist())
                row["stopped"] = sum(1 for t in stopped["trial_id"].to_list() if t in planned)
                row["missing"] -= row["stopped"]
            return {s: row.get(s, 0) for s in ("sweep", "planned", *STATUSES, "missing", "curves_missing")}
        return self._cached(("status", sweep), key, compute)

    def trials(self, sweep: str, key: tuple) -> pl.DataFrame:
        """The winning row of every trial of a sweep, only the columns the views draw."""
        def compute():
            lf = self.store.scan("trials", sweep).select(TRIAL_COLUMNS)
            return reader.collect(lf, self.root)
        return self._cached(("trials", sweep), key, compute)

    def curves(self, sweep: str, task: str, trial_ids: list[str], key: tuple) -> pl.DataFrame:
        """The curve rows of the given trials of one task (epoch, val_score, train_loss, val_loss)."""
        def compute():
            lf = (self.store.scan("curves", sweep)
                  .filter((pl.col("task") == task) & pl.col("trial_id").is_in(trial_ids))
                  .select("trial_id", "epoch", "val_score", "train_loss", "val_loss").sort("trial_id", "epoch"))
            return reader.collect(lf, self.root)
        return self._cached(("curves", sweep, task, tuple(trial_ids)), key, compute)

    def curve_band(self, sweep: str, task: str, key: tuple) -> pl.DataFrame:
        """Per epoch over every trial of a task: median and 10%..90% of the validation score."""
        def compute():
            lf = (self.store.scan("curves", sweep).filter(pl.col("task") == task)
                  .group_by("epoch").agg(pl.len().alias("n"), pl.col("val_score").median().alias("median"),
                                         pl.col("val_score").quantile(0.1).alias("p10"),
                                         pl.col("val_score").quantile(0.9).alias("p90"))
                  .sort("epoch"))
            return reader.collect(lf, self.root)
        return self._cached(("band", sweep, task), key, compute)

    def running(self, sweep: str) -> str | None:
        """Who holds the sweep's writer lease right now (a `run` or `compact`), or None."""
        storage = self.store.storage
        now = time.time()
        from hpsweep.workers.results.lease import TTL_S

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

    def recommend(self, input_dim: int, output_dim: int, budget: float, top: int = 5) -> tuple[pl.DataFrame, dict]:
        """`recommend`'s table from the saved analysis (its checks and one-line errors are the CLI's).

        Raises:
            DescriptorError, AnalysisError: a bad request, or no current analysis to answer from.
        """
        from hpsweep.analysis.recommend import check_request, recommend

        check_request(input_dim, output_dim, budget, top=top)
        bundle = self.analysis()
        if bundle is None:
            raise AnalysisError(f"results {self.root!r:.100} hold no analysis of the results as they are now; run: "
                                f"hpsweep analyze {self.root}")
        return recommend(bundle, input_dim, output_dim, budget, top=top), bundle


def final_statuses() -> tuple[str, ...]:
    """The final statuses the results layer knows, with `stopped` whether or not it knows it yet."""
    return tuple(dict.fromkeys((*FINAL_STATUSES, *STATUSES)))
