"""Worker side of a sweep: one pack in, one committed Parquet part out.

`run_pack` loads the task's data (disk cached; kept in this process for the next pack of the same
task when Ray reuses the worker), trains the pack with the fused trainer, turns the results into
rows and commits them through the results layer's exactly-once protocol (workers/results). Nothing here
imports Ray: the Tune adapter calls it, and so can a plain loop or a test.

A pack that runs out of device memory is split in halves and each half trained on its own, down
to single models (sweep/oom_split.py); all its rows are still committed as one part, each row's
pack_size saying how many models actually trained together.

Tests make packs fail or run out of memory through sweep/faults.py, which the runner asks at each
attempt; the job itself carries no test field.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import pyarrow as pa

from hpsweep.sweep import faults
from hpsweep.sweep.halving_plan import pack_candidates
from hpsweep.sweep.oom_split import Piece, train_splitting
from hpsweep.sweep.plan import Pack
from hpsweep.sweep.rows import curve_rows, now, trial_rows
from hpsweep.workers.results import ResultsStore


@dataclass(frozen=True)
class PackJob:
    """Everything a worker needs to run one pack."""

    root: str  # results store root (path or URI)
    sweep_id: str
    pack: Pack
    base_attempt: int = 0  # highest attempt already recorded for these trials (retried failed trials)
    device: str = "auto"
    threads: int | None = None
    keep: object = None  # workers.kept_models.KeepRule: the models whose weights the commit keeps


_DATA: dict[tuple[str, int], object] = {}  # last task's tensors, kept for the next pack on this worker


def _task_data(task: str, data_seed: int):
    from hpsweep.workers.tasks import load_task_data

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
        A small summary: models, ok, stopped (halving), diverged, failed (out of memory even alone), splits,
        best_val_score, train_seconds, model_steps_per_s, written, warning (a device warning, or None),
        epoch_log (halving: per pack epoch (epoch, models trained, models waiting, seconds)).

    Raises:
        RuntimeError: an injected failure (tests, sweep/faults.py). Out-of-memory is not raised: the pack is split.
        Any error of the trainer or the store: Tune retries the pack, then the driver marks it failed.
    """
    import torch

    from hpsweep.workers import kept_models
    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.packed import ModelSpec
    from hpsweep.workers.rollout import roll_out
    from hpsweep.workers.trainer import TrainSettings, train_pack

    sweep = ResultsStore(job.root).sweep(job.sweep_id)
    pack = job.pack
    tries, token = sweep.begin_attempt(pack.pack_id)
    fault = faults.for_pack(pack.pack_id)
    fault.before_attempt(pack.pack_id, tries)
    summary = {
        "models": len(pack.trials),
        "ok": 0,
        "stopped": 0,
        "diverged": 0,
        "failed": 0,
        "splits": 0,
        "best_val_score": None,
        "train_seconds": 0.0,
        "model_steps_per_s": 0.0,
        "written": False,
    }
    if sweep.committed(pack.task, pack.pack_id, job.base_attempt, own_token=token):
        return summary  # an earlier attempt committed just before it was lost
    warning = _check_device(job, in_ray)
    started = now()
    data = _task_data(pack.task, pack.data_seed)
    settings = TrainSettings(pack.epochs, pack.batch_size, job.device, job.threads)

    def report(e):
        scores = [s for s in e.val_score if s == s]
        if on_epoch is not None:
            on_epoch(
                {
                    "epoch": e.epoch,
                    "epochs": e.epochs,
                    "best_val_score": max(scores) if scores else None,
                    "live": e.live,
                    "waiting": e.waiting,
                }
            )

    def train(group):
        fault.before_training(pack.pack_id, len(group))
        specs = [
            ModelSpec(data.input_dim, data.output_dim, t.hidden, Densities(*t.densities), t.seed, t.lr, t.init_std)
            for t in group
        ]
        return roll_out(data, train_pack(data, specs, settings, on_epoch=report))  # rollouts: policy tasks only

    def train_halving_pack():
        from hpsweep.workers.halving import train_halving
        from hpsweep.workers.schedule import Candidate, Halving

        fault.before_training(pack.pack_id, len(pack.trials))
        specs = [
            ModelSpec(data.input_dim, data.output_dim, t.hidden, Densities(*t.densities), t.seed, t.lr, t.init_std)
            for t in pack.trials
        ]
        candidates = [Candidate(g, models) for g, models in pack_candidates(pack)]
        slots = pack.slots or len(pack.trials)
        while True:  # out of memory: fewer slots (the queue and the rule stay; refill comes later)
            try:
                result = train_halving(
                    data, specs, settings, Halving(*pack.schedule), candidates, slots, on_epoch=report
                )
                return roll_out(data, result)
            except torch.OutOfMemoryError:
                fewest = max(len(c.models) for c in candidates)
                if slots <= fewest:
                    raise
                slots = max(fewest, slots // 2)
                _release_memory()

    fault.hold_point(pack.pack_id, tries)
    t0 = time.perf_counter()
    if pack.schedule is None:
        pieces = train_splitting(pack.trials, train, lambda e: isinstance(e, torch.OutOfMemoryError), _release_memory)
    else:
        pieces = [Piece(pack.trials, train_halving_pack(), None)]
    shape, attempt = _Shape(data), job.base_attempt + tries
    trial_parts, curve_parts, models = [], [], []
    for piece in pieces:  # each piece's rows say the pack_size it actually trained at
        sub = replace(pack, trials=piece.trials)
        if piece.result is None:
            trial_parts.append(
                trial_rows(
                    job.sweep_id,
                    sub,
                    attempt,
                    shape,
                    error=piece.error,
                    score=data.score_name,
                    started_at=started,
                    in_ray=in_ray,
                )
            )
            continue
        r = piece.result
        models += r.models
        trial_parts.append(
            trial_rows(
                job.sweep_id,
                sub,
                attempt,
                shape,
                results=r.models,
                train_seconds=r.train_seconds,
                device=r.device,
                score=data.score_name,
                started_at=started,
                finished_at=now(),
                in_ray=in_ray,
                rollouts=r.rollouts,
                rollout_seconds=r.rollout_seconds,
            )
        )
        curve_parts.append(curve_rows(job.sweep_id, sub, r.models))
    curves = pa.concat_tables(curve_parts) if curve_parts else None
    kept, _ = kept_models.pack_file(job.keep, job.sweep_id, pack.pack_id, attempt, pieces) if job.keep else (None, 0)
    written = sweep.commit(
        pack.task,
        pack.pack_id,
        attempt,
        pa.concat_tables(trial_parts),
        curves,
        after_attempt=job.base_attempt,
        token=token,
        models=kept,
    )
    trained = [p.result for p in pieces if p.result is not None]
    ok = [m for m in models if m.status == "ok"]
    stopped = sum(m.status == "stopped" for m in models)
    scores = [m.val_score[-1] for m in ok if m.val_score and m.val_score[-1] == m.val_score[-1]]
    train_seconds = sum(r.train_seconds for r in trained)
    steps_per_s = sum(r.model_steps_per_s * r.train_seconds for r in trained) / train_seconds if train_seconds else 0.0
    summary.update(
        ok=len(ok),
        stopped=stopped,
        diverged=len(models) - len(ok) - stopped,
        failed=len(pack.trials) - len(models),
        epoch_log=[e for r in trained for e in r.epoch_log],
        splits=len(pieces) - 1,
        best_val_score=max(scores) if scores else None,
        train_seconds=train_seconds,
        model_steps_per_s=steps_per_s,
        wall_seconds=time.perf_counter() - t0,
        written=written,
        warning=warning,
    )
    return summary


def _check_device(job: PackJob, in_ray: bool) -> str | None:
    """A worker without a CUDA device: `device: cuda` fails the pack with one line; under `device: auto`
    the pack trains on the CPU (its rows say device cpu) and a warning is returned when Ray had
    reserved a GPU for it (a node that advertises GPUs it cannot use).

    Raises:
        RuntimeError: device cuda and no CUDA device visible here.
    """
    import torch

    if torch.cuda.is_available() or job.device == "cpu":
        return None
    where = "this worker"
    gpu_ids = []
    if in_ray:
        import ray

        gpu_ids = ray.get_gpu_ids()
        where = f"node {ray.get_runtime_context().get_node_id()[:12]}"
    if job.device == "cuda":
        raise RuntimeError(
            f"pack {job.pack.pack_id}: pack.device is cuda, but {where} sees no CUDA device "
            f"(Ray GPU ids {gpu_ids}); check the node's driver, or set pack.device: auto"
        )
    if not gpu_ids:
        return None  # no GPU asked for: the CPU is the plan
    message = (
        f"pack {job.pack.pack_id}: Ray reserved GPU {gpu_ids} on {where}, but torch sees no CUDA device; "
        f"trained on the CPU (device column 'cpu')"
    )
    warnings.warn(message, RuntimeWarning, stacklevel=2)
    return message


def _release_memory() -> None:
    """Give the failed attempt's cached GPU blocks back before the halves try."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


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
