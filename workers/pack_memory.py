"""How much a pack costs in memory: the planner's pack-size bound and the CPU chunk width.

Pure arithmetic, no torch: `hpsweep run --dry-run` and the driver's planning size packs with
`pack_memory_bytes` on machines that never train (a laptop planning a GPU sweep).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type names only: importing them would import torch
    from hpsweep.workers.data import TaskData
    from hpsweep.workers.packed import ModelSpec


def pack_memory_bytes(
    input_dim: int, output_dim: int, seq_len: int, hidden: int, batch_size: int, k: int, n_train: int
) -> int:
    """Rough device bytes a pack needs: weights with grads, masks and Adam moments, the step's
    activations, a per-model batch copy, and the task's tensors (train, plus as much again for
    validation and test)."""
    s = hidden + output_dim
    weights = k * (s * input_dim + s * s + s)
    activations = 6 * seq_len * k * batch_size * s
    batch_copy = k * batch_size * seq_len * input_dim
    data = 2 * n_train * seq_len * (input_dim + output_dim)
    return 4 * (7 * weights + activations + batch_copy + data)


CPU_CHUNK_BYTES = 48 << 20  # measured with `hpsweep bench` on 2 cores; see README "Performance"


def cpu_chunk_width(data: TaskData, specs: list[ModelSpec], batch_size: int) -> int:
    """Models per chunk on a CPU. Past a working set of a few MB per step the batched matmuls
    leave the caches and packing stops paying, so a big pack is trained as several chunks in
    lock-step (same results: models never mix)."""
    s = max(sp.hidden for sp in specs) + data.output_dim
    per_model = 4 * data.seq_len * min(batch_size, data.n_train) * (s + data.input_dim) * 3
    return max(1, min(len(specs), CPU_CHUNK_BYTES // per_model))
