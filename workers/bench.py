"""`hpsweep bench`: the same K models trained one at a time and packed, side by side in one run.

Both sides run the trainer's own inner step (PackTrainer.step via make_lanes, CUDA-graphed on a GPU),
so the ratio measures packing and nothing else. A model-step is one training step (forward,
backward, Adam) of one model on one batch. Repeats are interleaved and the median ratio is
reported with its spread, so that two runs give the same answer (run_bench). Needs torch only:
no ray, no polars.

Timing one CPU thread, the bench pins itself to one CPU (the lowest it may use, or --cpu N): on a
2-core cloud machine the ratio followed the core the process landed on (2.2-2.4x on one, 3.2-3.7x
on the other, each run's repeats within a few percent), so an unpinned run drew one of two answers.
The result names the CPU, so runs are compared core for core.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass

import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.descriptors import Densities
from hpsweep.workers.packed import ModelSpec
from hpsweep.workers.trainer import TrainSettings, apply_backend_settings, make_lanes, resolve_device


@dataclass(frozen=True)
class BenchConfig:
    models: int = 64  # K
    input_dim: int = 8
    hidden: int = 32
    output_dim: int = 4
    seq_len: int = 20  # time steps per sequence ("20 steps" in the targets)
    batch: int = 64
    iters: int = 20  # timed training steps per model
    density: float = 0.5
    device: str = "auto"
    threads: int | None = 1  # one thread by default: a second thread mostly measures the machine's load
    cuda_graph: bool = True
    tf32: bool = True
    cpu: int | None = None  # pin to this CPU; None: the lowest allowed one when timing one CPU thread
    pin: bool = True  # False: leave the process wherever the OS puts it


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (empty where the OS does not say: not Linux)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def cpu_to_pin(cfg: BenchConfig, device: str) -> int | None:
    """The CPU the bench runs on: cfg.cpu if given; else, timing one CPU thread, the lowest allowed CPU
    (the same core run after run); else none (CUDA or several threads: the OS places them).

    Raises:
        ValueError: cfg.cpu is not one this process may run on.
    """
    allowed = allowed_cpus()
    if cfg.cpu is not None:
        if cfg.cpu not in allowed:
            shown = ", ".join(map(str, allowed)) or "none (pinning needs Linux)"
            raise ValueError(f"--cpu {cfg.cpu}: this process may run on CPUs {shown}; pick one of them")
        return cfg.cpu
    if not cfg.pin or not allowed or device != "cpu" or cfg.threads != 1:
        return None
    return allowed[0]


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (None where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


def synthetic_task(cfg: BenchConfig, device: str) -> TaskData:
    gen = torch.Generator().manual_seed(0)
    n = cfg.batch * 4
    steps = torch.zeros(cfg.seq_len, dtype=torch.bool)
    steps[-1] = True  # loss at the last step, as in RAD and the fusion anchor

    def split(m):
        return torch.randn(m, cfg.seq_len, cfg.input_dim, generator=gen), torch.randn(
            m, cfg.seq_len, cfg.output_dim, generator=gen
        )

    return TaskData("bench", *split(n), *split(cfg.batch), *split(cfg.batch), loss="mse", loss_steps=steps)


def _sync(device: str):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def clock_for(device: str, threads: int | None):
    """The clock the bench reads. One CPU thread: that thread's CPU time, which equals wall time on a
    quiet machine and, unlike wall time, does not grow while other processes hold the cores (a busy
    2-core machine swung the wall-clock ratio 4.2x -> 81x). Otherwise (CUDA, several threads): wall time."""
    return time.thread_time if device == "cpu" and threads == 1 else time.perf_counter


def time_steps(data: TaskData, specs: list[ModelSpec], settings: TrainSettings, device: str, iters: int) -> float:
    """Seconds for `iters` training steps of `specs` as one pack (after warm-up), on clock_for's clock."""
    clock = clock_for(device, settings.threads)
    lanes = make_lanes(data, specs, settings, device)
    batches = [[idx.to(device) for idx in order.epoch()] for _, order, _, _ in lanes]
    for (_, _, step, _), b in zip(lanes, batches):
        for i in range(2):
            step(b[i % len(b)])
    _sync(device)
    t0 = clock()
    for i in range(iters):
        for (_, _, step, _), b in zip(lanes, batches):
            step(b[i % len(b)])
    _sync(device)
    return clock() - t0


def run_bench(cfg: BenchConfig, sample: int | None = None, repeats: int = 5) -> dict:
    """Model-steps/s one at a time and packed, and their ratio, robust to a busy machine.

    The two sides are timed `repeats` times, interleaved (single, packed, then packed, single, ...)
    so a slow spell of the machine hits both sides alike; each repeat gives one ratio, and the
    result is the median with the spread (min, max) beside it. `sample` times only that many of the
    one-at-a-time models per repeat and scales up (they are identical in cost).
    """
    device = resolve_device(cfg.device)
    cpu = cpu_to_pin(cfg, device)
    before = allowed_cpus()
    if cpu is not None:
        # pins the calling thread, which does all the timed work on one torch thread; threads it starts inherit it
        os.sched_setaffinity(0, {cpu})
    try:
        return _run_bench(cfg, device, sample, repeats) | {
            "cpu": cpu,  # the CPU the process was pinned to; None: not pinned
            "cpus_allowed": before,
            "cpu_model": cpu_model(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        }
    finally:
        if cpu is not None:
            os.sched_setaffinity(0, before)


def _run_bench(cfg: BenchConfig, device: str, sample: int | None, repeats: int) -> dict:
    settings = TrainSettings(
        epochs=1, batch_size=cfg.batch, device=device, threads=cfg.threads, cuda_graph=cfg.cuda_graph, tf32=cfg.tf32
    )
    apply_backend_settings(settings, device)
    data = synthetic_task(cfg, device)
    specs = [
        ModelSpec(cfg.input_dim, cfg.output_dim, cfg.hidden, Densities.uniform(cfg.density), seed=0, lr=1e-3)
        for _ in range(cfg.models)
    ]
    n_single = min(cfg.models, sample or cfg.models)

    def single() -> float:
        return (
            sum(time_steps(data, [specs[i]], settings, device, cfg.iters) for i in range(n_single))
            * cfg.models
            / n_single
        )

    def packed() -> float:
        return time_steps(data, specs, settings, device, cfg.iters)

    runs = []
    for r in range(repeats):
        if r % 2 == 0:
            t_single, t_packed = single(), packed()
        else:
            t_packed, t_single = packed(), single()
        runs.append((t_single, t_packed))
    model_steps = cfg.models * cfg.iters
    ratios = [s / p for s, p in runs]
    name = torch.cuda.get_device_name() if device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"
    return {
        "one_at_a_time": model_steps / statistics.median(s for s, _ in runs),
        "packed": model_steps / statistics.median(p for _, p in runs),
        "ratio": statistics.median(ratios),
        "ratio_spread": [min(ratios), max(ratios)],
        "ratios": ratios,
        "repeats": repeats,
        "clock": "thread cpu time" if clock_for(device, cfg.threads) is time.thread_time else "wall",
        "device": name,
        "torch": torch.__version__,
        "config": asdict(cfg) | {"device": device},
    }
