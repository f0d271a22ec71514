"""Worker side of a sweep: one pack in, one committed Parquet part out.

`run_pack` loads the task's data (disk cached; kept in this process for the next pack of the same
task when Ray reuses the worker), trains the pack with the fused trainer, turns the results into
rows and commits them through the store's exactly-once protocol (sweep/store.py). Nothing here
imports Ray: the Tune adapter calls it, and so can a plain loop or a test.

Failure injection (tests only): the driver reads HPSWEEP_FAIL_PACKS="<pack_id>|first|all:<times>"
and hands it to the packs; a matching pack raises before training on each of its first <times>
attempts, so retries and failed packs can be tested with real Ray.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from sweep.plan import Pack
from sweep.rows import curve_rows, now, trial_rows
from sweep.store import ResultsStore

FAIL_ENV = "HPSWEEP_FAIL_PACKS"


@dataclass(frozen=True)
class PackJob:
    """Everything a worker needs to run one pack."""

    root: str  # results store root (path or URI)
    sweep_id: str
    pack: Pack
    base_attempt: int = 0  # highest attempt already recorded for these trials (retried failed trials)
    device: str = "auto"
    threads: int | None = None
    fail_times: int = 0  # injected failures (tests only): raise on attempts 1..fail_times


def parse_fail_env(value: str | None, pack_ids: list[str]) -> dict[str, int]:
    """HPSWEEP_FAIL_PACKS -> {pack_id: times}. Test-only; malformed values raise ValueError."""
    if not value:
        return {}
    target, _, times = value.rpartition(":")
    n = int(times)
    if target == "first":
        return {pack_ids[0]: n} if pack_ids else {}
    if target == "all":
        return {p: n for p in pack_ids}
    return {target: n}


_DATA: dict[tuple[str, int], object] = {}  # last task's tensors, kept for the next pack on this worker


def _task_data(task: str, data_seed: int):
    from workers.tasks import load_task_data

    key = (task, data_seed)
    if key not in _DATA:
        _DATA.clear()  # one task at a time: packs of a task are scheduled together
        _DATA[key] = load_task_data(task, seed=data_seed)
    return _DATA[key]


def run_pack(job: PackJob, on_epoch: Callable[[dict], None] | None = None, in_ray: bool = True) -> dict:
    """Train one pack and commit its rows.

    Args:
        job: the pack and where its results go.
        on_epoch: called with a small dict per epoch (epoch, epochs, best_val_score).
        in_ray: whether this runs inside Ray (recorded as ray_version).

    Returns:
        A small summary: models, ok, diverged, best_val_score, train_seconds, model_steps_per_s, written.

    Raises:
        RuntimeError: an injected failure (tests).
        Any error of the trainer or the store: Tune retries the pack, then the driver marks it failed.
    """
    from workers.descriptors import Densities
    from workers.packed import ModelSpec
    from workers.trainer import TrainSettings, train_pack

    store = ResultsStore(job.root)
    pack = job.pack
    tries = store.begin_attempt(job.sweep_id, pack.pack_id)
    if tries <= job.fail_times:
        raise RuntimeError(f"injected failure ({FAIL_ENV}) in pack {pack.pack_id}, attempt {tries}")
    summary = {"models": len(pack.trials), "ok": 0, "diverged": 0, "best_val_score": None,
               "train_seconds": 0.0, "model_steps_per_s": 0.0, "written": False}
    if store.pack_committed(job.sweep_id, pack.task, pack.pack_id, job.base_attempt):
        return summary  # an earlier attempt committed just before it was lost
    started = now()
    data = _task_data(pack.task, pack.data_seed)
    specs = [ModelSpec(data.input_dim, data.output_dim, t.hidden, Densities(*t.densities), t.seed, t.lr, t.init_std)
             for t in pack.trials]

    def report(e):
        scores = [s for s in e.val_score if s == s]
        if on_epoch is not None:
            on_epoch({"epoch": e.epoch, "epochs": e.epochs, "best_val_score": max(scores) if scores else None})

    t0 = time.perf_counter()
    result = train_pack(data, specs, TrainSettings(pack.epochs, pack.batch_size, job.device, job.threads),
                        on_epoch=report)
    shape = _Shape(data)
    trials = trial_rows(job.sweep_id, pack, job.base_attempt + tries, shape, results=result.models,
                        train_seconds=result.train_seconds, device=result.device, score=data.score_name,
                        started_at=started, finished_at=now(), in_ray=in_ray)
    written = store.write_pack(job.sweep_id, pack.task, pack.pack_id, job.base_attempt + tries, trials,
                               curve_rows(job.sweep_id, pack, result.models), after_attempt=job.base_attempt)
    ok = [m for m in result.models if m.status == "ok"]
    scores = [m.val_score[-1] for m in ok if m.val_score and m.val_score[-1] == m.val_score[-1]]
    summary.update(ok=len(ok), diverged=len(result.models) - len(ok), best_val_score=max(scores) if scores else None,
                   train_seconds=result.train_seconds, model_steps_per_s=result.model_steps_per_s,
                   wall_seconds=time.perf_counter() - t0, written=written)
    return summary


@dataclass(frozen=True)
class _Shape:
    """The task dims the rows need, read from the data itself."""

    input_dim: int
    output_dim: int
    seq_len: int
    n_train: int

    def __init__(self, data):
        for name in ("input_dim", "output_dim", "seq_len", "n_train"):
            object.__setattr__(self, name, getattr(data, name))
