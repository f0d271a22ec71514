"""The one module that speaks Ray Tune, so a Tune upgrade touches one file. The rest of sweep/ speaks packs and results.

One Tune trial = one pack. The pack jobs travel through Ray's object store (`tune.with_parameters`),
so Tune's own config and experiment state hold only pack ids: nothing Tune writes grows per model.
Tune's per-trial loggers are off, no checkpoints are written, and its storage lives in a temporary
directory that is removed afterwards. Each pack reports a few numbers per epoch and a final summary.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass

from ray import tune

from hpsweep.sweep.pack_runner import PackJob, run_pack
from hpsweep.workers.errors import HpsweepError

# Tune's JSON/CSV/TensorBoard loggers would write files per trial: off (read when Tune builds callbacks)
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
# no per-trial result buffering: the progress bar should move when a pack reports
os.environ.setdefault("TUNE_RESULT_BUFFER_LENGTH", "1")
# Tune would run each trainable in a per-trial working directory: a second line of defence against a
# relative path reaching a worker (the driver already makes every local path absolute: sweep/locations.py)
os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
# the legacy output engine honours verbose=0 fully (no experiment banner); progress is ours
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# Ctrl-C raises KeyboardInterrupt in the driver (Tune's own handler would end the sweep as if Ray had gone)
os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
# with the loggers off, the result grid cannot find per-trial metrics files, and says so per trial
logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)


@dataclass(frozen=True)
class PackOutcome:
    pack_id: str
    error: str | None  # the last error, when the pack failed after all its retries
    summary: dict | None  # the pack's final report, when it finished


class Events:
    """Hooks the driver gets while Tune runs; all no-ops (like Tune's own LoggerCallback)."""

    def on_epoch(self, pack_id: str, report: dict) -> None: ...
    def on_pack_done(self, pack_id: str, summary: dict) -> None: ...
    def on_pack_retry(self, pack_id: str, error: str) -> None: ...
    def on_pack_failed(self, pack_id: str, error: str) -> None: ...


EPOCH_REPORT_EVERY_S = 0.5  # least time between a pack's progress reports (the live bar moves per epoch)
_EVENTS: dict[int, Events] = {}  # driver-side hooks of the running sweeps, by key


class _Held(logging.Handler):
    """Keeps log records instead of printing them."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def _quiet_ray_startup(verbose: bool):
    """Ray's start-up messages (the token-authentication notice among them) would print above the
    live bar: hold them while Ray starts and show them only when asked (--verbose) or when it fails."""
    ray_log = logging.getLogger("ray")
    if verbose:
        yield
        return
    handlers, held = ray_log.handlers[:], _Held()
    ray_log.handlers = [held]
    try:
        yield
    except BaseException:
        ray_log.handlers = handlers
        for record in held.records:
            ray_log.handle(record)
        raise
    ray_log.handlers = handlers


def ensure_ray(address: str | None, num_cpus: int | None = None, verbose: bool = False) -> bool:
    """Connect to Ray unless already connected; returns True if this call started it (then stop it).

    `address` None starts an embedded local Ray unless RAY_ADDRESS is set; "auto" or
    "ray://host:10001" connect to a cluster. Ray's own authentication is left as Ray sets it up.
    """
    import ray

    if ray.is_initialized():
        return False
    # "local": a new embedded Ray. Without it ray.init() joins whatever cluster `ray start` last
    # recorded on this machine (/tmp/ray/ray_current_cluster), someone else's included.
    target = address or os.environ.get("RAY_ADDRESS") or "local"
    with _quiet_ray_startup(verbose):
        ray.init(
            address=target,
            num_cpus=num_cpus if target == "local" else None,
            include_dashboard=False,
            logging_level=logging.INFO if verbose else logging.WARNING,
            log_to_driver=verbose,
            configure_logging=True,
        )
    return True


def ray_connected() -> bool:
    import ray

    return ray.is_initialized()


def shutdown_ray() -> None:
    import ray

    ray.shutdown()


def cluster_resources() -> dict:
    import ray

    return dict(ray.cluster_resources())


def _short_error(error) -> str:
    """The last meaningful line of a (remote) traceback: 'RuntimeError: ...'."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    for line in reversed(lines):
        if not line.startswith(("File ", "^", "~")):
            return line[:2000]
    return (lines[-1] if lines else repr(error))[:2000]


class _Bridge(tune.Callback):
    """Forwards Tune's trial events to `events`. Tune pickles its callbacks with the experiment
    state, so the bridge holds only a key into this module's registry, not the hooks themselves."""

    def __init__(self, key):
        self.key = key

    def on_trial_result(self, iteration, trials, trial, result, **info):
        pid = trial.config["pack_id"]
        result = _unpack(result)
        if result.get("kind") == "epoch":
            _EVENTS[self.key].on_epoch(pid, {k: result.get(k) for k in ("epoch", "epochs", "best_val_score")})
        elif result.get("kind") == "done":
            keys = ("models", "ok", "diverged", "best_val_score", "train_seconds", "written", "warning")
            _EVENTS[self.key].on_pack_done(pid, {k: result.get(k) for k in keys})

    def on_trial_recover(self, iteration, trials, trial, **info):
        _EVENTS[self.key].on_pack_retry(trial.config["pack_id"], _trial_error(trial))

    def on_trial_error(self, iteration, trials, trial, **info):
        _EVENTS[self.key].on_pack_failed(trial.config["pack_id"], _trial_error(trial))


def _pack_trainable(config, jobs=None):
    """The Tune function trainable: one pack, a small report per epoch and a final summary."""
    job = jobs[config["pack_id"]]
    last = [time.monotonic()]

    def on_epoch(report):
        # each tune.report is a round trip to the driver: short packs only report when done
        if time.monotonic() - last[0] >= EPOCH_REPORT_EVERY_S:
            last[0] = time.monotonic()
            tune.report(_pack("epoch", report))

    summary = run_pack(job, on_epoch=on_epoch)
    import ray  # the node that trained it: shows how packs spread over a cluster

    tune.report(_pack("done", {**summary, "node_id": ray.get_runtime_context().get_node_id()}))


def _pack(kind: str, report: dict) -> dict:
    """A report as ONE string field: Tune keeps running statistics (and deques) per numeric field per
    trial for the whole sweep, which made the driver grow ~73 KB per pack (bench/driver_memory.py)."""
    return {"kind": kind, "report": json.dumps(report)}


def _unpack(result: dict) -> dict:
    return {"kind": result.get("kind"), **json.loads(result.get("report") or "{}")}


def _trial_error(trial) -> str:
    """A failed trial's error text: Tune writes it next to the trial before syncing it to storage."""
    try:
        path = trial.error_file
        if path and os.path.exists(path):
            with open(path) as f:
                return _short_error(f.read())
        return _short_error(trial.get_error() or "unknown error")
    except Exception as e:  # noqa: BLE001 - progress text only; the rows get the error from the result grid
        return f"error text unavailable: {e!r}"


TUNE_CHUNK = int(os.environ.get("HPSWEEP_TUNE_CHUNK", "256"))
"""Most packs one Tuner runs. Tune keeps state per trial for the life of a Tuner (the Trial objects,
metric statistics, a JSON copy for its experiment checkpoint), so one Tuner over N packs grows the
driver with N; a fresh Tuner per chunk bounds the driver by one chunk's state. A chunk
boundary lets the last packs of a chunk finish before the next chunk starts: 256 keeps that tail
small next to the chunk's length."""


def run_packs(
    jobs: list[PackJob],
    *,
    cpus: float,
    gpus: float,
    max_concurrent: int | None,
    max_failures: int,
    events: Events | None = None,
) -> list[PackOutcome]:
    """Run packs as Tune trials on the connected Ray, TUNE_CHUNK packs per Tuner; one outcome per job.

    Args:
        jobs: the packs to run (ids must be unique).
        cpus, gpus: resources per pack (fractional GPUs let packs share a card).
        max_concurrent: most packs at once (None: as resources allow).
        max_failures: retries per pack (Tune FailureConfig).
        events: progress hooks, called in the driver.
    """
    import gc

    events = events or Events()
    assert len({j.pack.pack_id for j in jobs}) == len(jobs), "pack ids must be unique"
    outcomes: list[PackOutcome] = []
    for start in range(0, len(jobs), TUNE_CHUNK):
        outcomes += _run_chunk(
            jobs[start : start + TUNE_CHUNK],
            cpus=cpus,
            gpus=gpus,
            max_concurrent=max_concurrent,
            max_failures=max_failures,
            events=events,
        )
        gc.collect()  # the finished Tuner's trial state goes before the next one builds its own
    return outcomes


def _run_chunk(
    jobs: list[PackJob], *, cpus: float, gpus: float, max_concurrent: int | None, max_failures: int, events: Events
) -> list[PackOutcome]:
    """One Tuner over some packs (see run_packs)."""
    by_id = {j.pack.pack_id: j for j in jobs}

    storage = tempfile.mkdtemp(prefix="hpsweep-tune-")
    key = id(events)
    _EVENTS[key] = events
    try:
        resources = {"cpu": cpus, "gpu": gpus} if gpus else {"cpu": cpus}
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(_pack_trainable, jobs=by_id), resources),
            param_space={"pack_id": tune.grid_search(list(by_id))},
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, reuse_actors=True),
            run_config=tune.RunConfig(
                name="hpsweep",
                storage_path=storage,
                verbose=0,
                callbacks=[_Bridge(key)],
                log_to_file=False,
                failure_config=tune.FailureConfig(max_failures=max_failures),
                checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
            ),
        )
        # Tune logs every trial failure with its traceback; the driver reports them on one line each
        tune_log = logging.getLogger("ray.tune")
        level = tune_log.level
        tune_log.setLevel(logging.CRITICAL)
        try:
            grid = tuner.fit()
        finally:
            tune_log.setLevel(level)
        outcomes = []
        if any(result.config is None for result in grid):
            # Tune returns results without a config when Ray itself went away mid-sweep
            raise HpsweepError(
                "Ray stopped during the sweep, so some packs did not report; every pack "
                "that finished is saved: run the same command again to resume"
            )
        for result in grid:
            pid = result.config["pack_id"]
            metrics = _unpack(result.metrics or {})
            done = metrics.get("kind") == "done"
            outcomes.append(
                PackOutcome(
                    pid,
                    None if result.error is None else _short_error(result.error),
                    {k: metrics.get(k) for k in ("models", "ok", "diverged", "failed", "node_id")} if done else None,
                )
            )
        return outcomes
    finally:
        _EVENTS.pop(key, None)
        shutil.rmtree(storage, ignore_errors=True)
