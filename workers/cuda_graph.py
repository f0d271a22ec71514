"""A training step captured as one CUDA graph and replayed per batch.

Capture is an optimisation: when it fails the step runs eagerly, with a warning. Warm-up and
capture run real steps, so every tensor a step changes is snapshotted first and put back after,
and the captured steps leave no trace in the results.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch


def capture_step(
    step: Callable[[torch.Tensor], None], state: list[torch.Tensor], idx_shape: tuple[int, ...], device: torch.device
) -> Callable[[torch.Tensor], None]:
    """`step(idx)` captured as one CUDA graph, or `step` itself off CUDA or when capture fails.

    Args:
        step: one training step, reading the batch rows `idx` (long, shape idx_shape).
        state: every tensor the step changes (snapshotted and restored around warm-up and capture).
    """
    if device.type != "cuda":
        return step
    static_idx = torch.zeros(idx_shape, dtype=torch.long, device=device)
    snapshot = [t.clone() for t in state]
    # Warm-up and capture on one side stream: autograd remembers the stream each leaf's
    # gradient was made on, and a capture on another stream fails (cudaErrorStreamCaptureImplicit).
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.stream(side):
            for _ in range(3):  # warm-up allocations and kernel choices before capture
                step(static_idx)
        with torch.cuda.graph(graph, stream=side):
            step(static_idx)
    except RuntimeError as e:
        warnings.warn(f"CUDA graph capture failed, training eagerly: {e}", stacklevel=2)
        graph = None
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize(device)
    with torch.no_grad():  # the warm-up and capture steps must not count
        for t, saved in zip(state, snapshot):
            t.copy_(saved)
    if graph is None:
        return step

    def replay(idx: torch.Tensor):
        static_idx.copy_(idx, non_blocking=True)
        graph.replay()

    return replay
