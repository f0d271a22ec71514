"""What a plan will cost before it runs: model-epochs with and without the schedule, and an estimate
of the wall time on this machine: from the cost columns of the sweeps already in the results
(how long this machine took per unit of work), else from a few seconds of measurement here (a
fresh worker's start, and the packed trainer).

The estimate: each pack's model-epochs (under a schedule, the planner's count for groups that start
together) times a measured cost per model-epoch of its task's shape, the packs spread over the packs
that run at once (longest first), plus a start-up and a per-pack overhead. The cost per model-epoch
is measured on synthetic data of the same shapes (nothing is generated or downloaded), on one
thread, for a few representative packs; other packs take the rate of the nearest measured shape in
work per model-epoch (n_train x seq_len x S x (S + |x|), S = |h| + |y|). docs/sweep.md quotes how
close it came on the runs we made.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time

from hpsweep.sweep.halving_plan import planned_model_epochs
from hpsweep.sweep.plan import Pack, Plan

STARTUP_S = 8.0  # an embedded Ray starting and the Tune run set up (measured: 6-10 s on 2 cores)
# (each worker's own start, importing torch, is measured: worker_start_seconds)
PACK_OVERHEAD_S = 0.6  # per pack: Tune scheduling, task data from the disk cache, the commit (measured)
MEASURED_SHAPES = 4  # packs timed for the estimate (a second or less each)
HALVING_FACTOR = 1.5
"""What a halving pack's training costs beyond the fresh packs measured here: the stacked tensors
rebuilt as models stop and join, and live models of many sizes side by side. Measured, not derived:
on meta-wide's 32 halving packs (warm cache, load 1-2) the packs' walls summed to 1.56x their
estimates without it; checked on the 30-task `meta` under halving (154 s measured)."""


def pack_model_epochs(pack: Pack) -> int:
    """Model-epochs of one pack: every epoch of every model, or the schedule's count."""
    if pack.schedule is None:
        return len(pack.trials) * pack.epochs
    plan = Plan("", "", (), (pack,), {}, 0, 0.0)
    return planned_model_epochs(plan, pack.schedule)[1]


def _work(pack: Pack, shape) -> float:
    s = pack.hidden_max + shape.output_dim
    return float(shape.n_train * shape.seq_len * s * (s + shape.input_dim))


def measure_pack_epoch(pack: Pack, shape, k: int) -> tuple[float, float]:
    """(training, validation) seconds of one epoch of `k` models of a pack like `pack` on synthetic
    data of its task's shape, on one CPU thread. Long epochs are timed over a few steps."""
    import torch

    from hpsweep.workers.data import TaskData
    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.packed import ModelSpec
    from hpsweep.workers.trainer import TrainSettings, make_lanes

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        x, y, t = shape.input_dim, shape.output_dim, shape.seq_len
        n_val = getattr(shape, "n_val", shape.n_train // 2)
        classes = shape.loss == "cross_entropy" if hasattr(shape, "loss") else False

        def split(n):
            xs = torch.randn(n, t, x, generator=gen)
            return xs, (torch.randint(0, y, (n, t), generator=gen) if classes else torch.randn(n, t, y, generator=gen))

        steps = torch.zeros(t, dtype=torch.bool)
        steps[-1] = True
        data = TaskData(
            "cost",
            *split(shape.n_train),
            *split(max(1, n_val)),
            *split(1),
            loss="cross_entropy" if classes else "mse",
            loss_steps=steps,
            params={"n_classes": y},
        )
        specs = [
            ModelSpec(x, y, tr.hidden, Densities(*tr.densities), tr.seed, tr.lr, tr.init_std) for tr in pack.trials[:k]
        ]
        lanes = make_lanes(data, specs, TrainSettings(pack.epochs, pack.batch_size, "cpu", cuda_graph=False), "cpu")
        batches = [order.epoch() for _, order, _, _ in lanes]
        for (_, _, step, _), b in zip(lanes, batches):
            step(b[0])  # warm-up
        timed = max(1, min(len(batches[0]), 8))
        t0 = time.perf_counter()
        for i in range(timed):
            for (_, _, step, _), b in zip(lanes, batches):
                step(b[i])
        train = (time.perf_counter() - t0) * len(batches[0]) / timed
        t0 = time.perf_counter()
        for trainer, *_ in lanes:
            trainer.evaluate("val")
        return train, time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)


RAY_WORKER_NICENESS = 15  # what Ray gives its workers; a busy machine serves them after everything else


def _as_nice_as_ray_workers() -> None:
    """Run the calling thread (Linux: niceness is per thread) at the niceness of the Ray workers
    that will train the packs, so that on a busy machine it is measured as they will be served."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, os.nice(0) + RAY_WORKER_NICENESS))
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: measured at this process's niceness


def estimate_wall_seconds(plan: Plan, parallel: int) -> tuple[float, float]:
    """(estimated wall seconds of the plan's packs, seconds the measurement took)."""
    if not plan.packs:
        return 0.0, 0.0
    started = time.perf_counter()
    by_work = sorted(plan.packs, key=lambda p: _work(p, plan.shapes[p.task]))
    picks = sorted({round(i * (len(by_work) - 1) / max(1, MEASURED_SHAPES - 1)) for i in range(MEASURED_SHAPES)})
    rates = []  # (log work, seconds per pack-epoch, seconds per model-epoch per unit of work,
    #              seconds of one model's test evaluation per unit of work)
    worker_start = []

    def measure():
        _as_nice_as_ray_workers()
        worker_start.append(worker_start_seconds())
        for i in picks:  # an epoch costs a + b k for k live models: two sizes give a and b
            p = by_work[i]
            shape, w = plan.shapes[p.task], _work(p, plan.shapes[p.task])
            big = p.slots or len(p.trials)
            small = max(1, big // 8)
            train_big, val_big = measure_pack_epoch(p, shape, big)
            t_big = train_big + val_big
            t_small = sum(measure_pack_epoch(p, shape, small)) if small < big else 0.0
            b = (t_big - t_small) / (big - small) if small < big else t_big / big
            # every model is evaluated once on the test split (at its last epoch, or where it stopped):
            # a validation pass scaled by the splits' sizes (2,000 test against 500 validation
            # sequences made it a quarter of meta-wide's cost)
            n_val = max(1, getattr(shape, "n_val", shape.n_train // 2))  # what measure_pack_epoch validated on
            test = val_big / big * getattr(shape, "n_test", 0) / n_val
            rates.append(
                (math.log(w), max(0.0, t_small - b * small) if small < big else 0.0, max(b, 0.0) / w, test / w)
            )

    thread = threading.Thread(target=measure)
    thread.start()
    thread.join()
    measured = time.perf_counter() - started
    logs = [r[0] for r in rates]
    seconds = []
    for p in plan.packs:
        w = _work(p, plan.shapes[p.task])
        _, per_epoch, per_work, test_per_work = rates[min(range(len(rates)), key=lambda i: abs(logs[i] - math.log(w)))]
        model_epochs = pack_model_epochs(p)
        # a halving pack runs about model-epochs / slots epochs (never fewer than `epochs`)
        pack_epochs = p.epochs if p.schedule is None else max(p.epochs, math.ceil(model_epochs / (p.slots or 1)))
        test = len(p.trials) * w * test_per_work
        train = per_epoch * pack_epochs + model_epochs * w * per_work
        if p.schedule is not None:
            train *= HALVING_FACTOR
        seconds.append(train + test + PACK_OVERHEAD_S)
    return STARTUP_S + worker_start[0] + _longest_lane(seconds, parallel), measured


def worker_start_seconds() -> float:
    """How long a fresh Python takes here to import the trainer (what each Ray worker does before its
    first pack), run at the caller's niceness: on a busy machine this is a large part of a small
    sweep's wall time."""
    import subprocess
    import sys

    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import hpsweep.workers.trainer, hpsweep.sweep.pack_runner"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def history_rate(store) -> tuple[float, int] | None:
    """(wall seconds of a pack per unit of work, packs it rests on) from the cost columns of the
    sweeps already in `store` (a pack's started_at..finished_at holds its data loading, training
    and commit, as this machine ran them), or None when it holds no trained pack."""
    import polars as pl

    from hpsweep.workers.errors import StoreError

    try:
        rows = (
            store.scan("trials")
            .filter((pl.col("status") != "failed") & (pl.col("epochs_run") > 0))
            .group_by("sweep_id", "pack_id", "attempt", "started_at")
            .agg(
                pl.col("finished_at").max(),
                pl.col("hidden").max(),
                pl.col("epochs_run").sum(),
                *[pl.col(c).first() for c in ("input_dim", "output_dim", "seq_len", "n_train")],
            )
            .collect()
        )
    except (StoreError, pl.exceptions.PolarsError):
        return None
    rows = rows.drop_nulls(["started_at", "finished_at"])
    if rows.height == 0:
        return None
    s = rows["hidden"] + rows["output_dim"]
    work = (rows["epochs_run"] * rows["n_train"] * rows["seq_len"] * s * (s + rows["input_dim"])).cast(pl.Float64)
    wall = (rows["finished_at"] - rows["started_at"]).dt.total_microseconds() / 1e6
    return float(wall.sum()) / max(float(work.sum()), 1.0), rows.height


def estimate_from_history(plan: Plan, parallel: int, rate: float) -> float:
    """Estimated wall seconds of the plan from a history rate (history_rate)."""
    seconds = [pack_model_epochs(p) * _work(p, plan.shapes[p.task]) * rate for p in plan.packs]
    return STARTUP_S + _longest_lane(seconds, parallel)


def _longest_lane(seconds: list[float], parallel: int) -> float:
    lanes = [0.0] * max(1, min(parallel, len(seconds)))
    heapq.heapify(lanes)
    for s in sorted(seconds, reverse=True):  # longest first onto the lane that frees first
        heapq.heappush(lanes, heapq.heappop(lanes) + s)
    return max(lanes)


def packs_at_once(cpus_per_pack: float, max_concurrent: int | None, cpus: int | None = None) -> int:
    """Packs an embedded local Ray runs at once here."""
    n = max(1, int((cpus or os.cpu_count() or 1) // max(cpus_per_pack, 1e-9)))
    return min(n, max_concurrent) if max_concurrent else n


def cost_lines(spec, plan: Plan, store=None, measure: bool = True) -> list[str]:
    """The dry-run's cost lines: model-epochs with and without the schedule, and the wall estimate
    (from the cost columns of earlier sweeps in `store` when it holds some, else measured here)."""
    sched = spec.training.schedule
    full, scheduled = planned_model_epochs(plan, (sched.eta, sched.min_epochs) if sched else None)
    if sched is None:
        lines = [f"{full:,} model-epochs (no schedule: every model trains every epoch)"]
    else:
        share = scheduled / full if full else 1.0
        lines = [f"{scheduled:,} model-epochs with {sched.describe()} ({share:.0%} of {full:,} unscheduled)"]
    if not plan.packs:
        return lines
    parallel = packs_at_once(spec.resources.cpus, spec.resources.max_concurrent)
    history = history_rate(store) if store is not None else None
    if history is not None:
        wall = estimate_from_history(plan, parallel, history[0])
        lines.append(f"estimated wall time on this machine: {_duration(wall)} ({parallel} pack(s) at once)")
        lines.append(f"  (from the cost columns of {history[1]} pack(s) already in these results)")
    elif measure:
        wall, took = estimate_wall_seconds(plan, parallel)
        lines.append(f"estimated wall time on this machine: {_duration(wall)} ({parallel} pack(s) at once)")
        lines.append(f"  (measured here in {took:.1f} s: a worker's start, the trainer on these shapes)")
    return lines


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{seconds:.0f} s"
    if seconds < 5400:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"
