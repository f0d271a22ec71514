"""`hpsweep bench`: the same K models trained one at a time and packed, side by side in one run.

Both sides run the trainer's own inner step (PackTrainer.step via make_lanes, CUDA-graphed on a GPU),
so the ratio measures packing and nothing else. A model-step is one training step (forward,
backward, Adam) of one model on one batch. Repeats are interleaved and the median ratio is
reported with its spread, so that two runs give the same answer (run_bench). Needs torch only:
no ray, no polars.
"""

from __future__ import annotations

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


def synthetic_task(cfg: BenchConfig, device: str) -> TaskData:
    gen = torch.Generator().manual_seed(0)
    n = cfg.batch * 4
    steps = torch.zeros(cfg.seq_len, dtype=torch.bool)
    steps[-1] = True  # loss at the last step, as in RAD and the fusion anchor
    def split(m):
        return torch.randn(m, cfg.seq_len, cfg.input_dim, generator=gen), torch.randn(m, cfg.seq_len, cfg.output_dim, generator=gen)
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
    settings = TrainSettings(epochs=1, batch_size=cfg.batch, device=device, threads=cfg.threads,
                             cuda_graph=cfg.cuda_graph, tf32=cfg.tf32)
    apply_backend_settings(settings, device)
    data = synthetic_task(cfg, device)
    specs = [ModelSpec(cfg.input_dim, cfg.output_dim, cfg.hidden, Densities.uniform(cfg.density), seed=0, lr=1e-3)
             for _ in range(cfg.models)]
    n_single = min(cfg.models, sample or cfg.models)

    def single() -> float:
        return sum(time_steps(data, [specs[i]], settings, device, cfg.iters) for i in range(n_single)) \
            * cfg.models / n_single

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
