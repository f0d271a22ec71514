"""What every task is: a `Task` protocol (a name, `info()`, `build(seed)`) and its `TaskInfo`.

Tasks share no code beyond this, so the interface is a `typing.Protocol`, not a base class. Each
family lives in its own private module and declares its parameters as a table (workers/tasks/_params.py) so that names, defaults and messages come from one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hpsweep.workers.data import TaskData

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class TaskInfo:
    """What a task is, known without generating its data."""

    name: str
    """Canonical name: family plus every non-default parameter in a stable order."""
    input_dim: int
    output_dim: int
    seq_len: int
    n_train: int
    n_val: int
    n_test: int
    loss: str
    """"cross_entropy" (score: accuracy) or "mse" (score: r2 = 1 - MSE/Var(target))."""
    params: dict = field(default_factory=dict)
    """Every parameter's resolved value, defaults included."""
    description: str = ""

    @property
    def score_name(self) -> str:
        if self.params.get("score_name"):  # a task scored otherwise says so (minari: rollouts)
            return self.params["score_name"]
        return "accuracy" if self.loss == "cross_entropy" else "r2"

    def to_dict(self) -> dict:
        return {**asdict(self), "score_name": self.score_name}


@runtime_checkable
class Task(Protocol):
    """A source of deterministic train/validation/test tensors.

    `name` is canonical (equal tasks have equal names). `info()` must not generate the data.
    `build(seed)` returns the same tensors for the same seed, every time, on every machine;
    `seed` is the DATA seed (a sweep's model seeds are separate). A task that reads a source
    file may also define `cache_token() -> str` (e.g. size and mtime) so a changed file is not
    served from the cache.
    """

    name: str

    def info(self) -> TaskInfo: ...

    def build(self, seed: int) -> TaskData: ...


def make_generator(seed: int, *salt: int) -> torch.Generator:
    """A torch CPU generator for (data seed, stream...): independent streams per split/purpose."""
    import numpy as np
    import torch

    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *salt]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
