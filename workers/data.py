"""The tensors a task hands to the trainer: one `TaskData` per (task, parameters, seed).

Layout (N sequences, T steps, X inputs, Y outputs):
    x_*  float32 (N, T, X)
    y_*  float32 (N, T, Y)   for loss == "mse"
         int64   (N, T)      for loss == "cross_entropy" (class index; only counted steps matter)
    loss_steps  bool (T,)    the steps where the loss and the score count

Score is "higher is better" on every task: accuracy for cross-entropy; for MSE,
1 - MSE / Var(target) over the counted steps of that split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

LOSSES = ("cross_entropy", "mse")


@dataclass
class TaskData:
    """Train/validation/test tensors and how to score them. Built deterministically from a seed."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    loss: str
    loss_steps: torch.Tensor
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        assert self.loss in LOSSES, f"loss must be one of {LOSSES}; got {self.loss!r}"
        assert self.loss_steps.dtype == torch.bool and self.loss_steps.dim() == 1
        assert bool(self.loss_steps.any()), "at least one step must count"
        if self.loss == "cross_entropy":
            assert "n_classes" in self.params, "a cross_entropy task must set params['n_classes']"
        for split in ("train", "val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            assert x.dim() == 3 and x.shape[1] == self.seq_len, f"x_{split} must be (N, T, X); got {tuple(x.shape)}"
            assert y.shape[:2] == x.shape[:2], f"y_{split} {tuple(y.shape)} does not match x_{split} {tuple(x.shape)}"

    @property
    def input_dim(self) -> int:
        return self.x_train.shape[2]

    @property
    def output_dim(self) -> int:
        if self.loss == "cross_entropy":
            return int(self.params["n_classes"])
        return self.y_train.shape[2]

    @property
    def seq_len(self) -> int:
        return self.loss_steps.shape[0]

    @property
    def n_train(self) -> int:
        return self.x_train.shape[0]

    @property
    def score_name(self) -> str:
        return "accuracy" if self.loss == "cross_entropy" else "r2"

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")
