"""Out-of-memory splitting: a pack too big for its device is halved and retried, down to single models.

The planner sizes packs with an estimate (`pack_memory_bytes`), and an estimate can be wrong: a
card shared with other packs, a fragmented allocator, a task bigger than it looked. Rather than
failing every model of such a pack, the pack runner trains it through `train_splitting`: when the
trainer runs out of memory, the trials are split in two halves (order kept, so each half stays
sorted by hidden size) and each half is trained on its own, recursively. A single model that
still runs out of memory is given up on with the error, and its trial is recorded failed.

Pure Python: the trainer, the out-of-memory test and the memory release are passed in, so the
splitting is tested without torch, Ray or a GPU.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")  # a trial
R = TypeVar("R")  # what one training run returns


@dataclass(frozen=True)
class Piece(Generic[T, R]):
    """Trials that trained together (result set) or one trial that ran out of memory alone (error set)."""

    trials: tuple[T, ...]
    result: R | None
    error: str | None


def error_line(error: BaseException) -> str:
    """'OutOfMemoryError: CUDA out of memory. Tried to allocate ...' (first line of the message only)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")[:2000]


def train_splitting(
    trials: Sequence[T],
    train: Callable[[tuple[T, ...]], R],
    is_out_of_memory: Callable[[BaseException], bool],
    release: Callable[[], None] = lambda: None,
) -> list[Piece[T, R]]:
    """Train `trials` together; on out-of-memory, halve and train each half, down to single trials.

    Args:
        trials: the pack's trials, in pack order (at least one).
        train: trains a group of trials together and returns its result.
        is_out_of_memory: whether an error raised by `train` means "too big for the device".
        release: frees what the failed attempt left allocated (e.g. torch.cuda.empty_cache);
            called after the error is dropped, before the halves are tried.

    Returns:
        Pieces covering every trial exactly once, in the order of `trials`.

    Raises:
        Whatever `train` raises that is not out-of-memory (the pack then fails as a whole and is retried).
    """
    assert trials, "a pack has at least one trial"
    group = tuple(trials)
    oom = None
    try:
        return [Piece(group, train(group), None)]
    except Exception as e:  # noqa: BLE001 - re-raised unless it is out-of-memory
        if not is_out_of_memory(e):
            raise
        oom = error_line(e)  # keep text only: the traceback would keep the failed attempt's tensors alive
    release()
    if len(group) == 1:
        return [Piece(group, None, oom)]
    half = (len(group) + 1) // 2
    return train_splitting(group[:half], train, is_out_of_memory, release) + train_splitting(
        group[half:], train, is_out_of_memory, release
    )
