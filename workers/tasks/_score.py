"""The score of a task, higher is better everywhere, so scores of different tasks can be compared.

cross_entropy tasks: accuracy of the argmax over the counted steps.
mse tasks: r2 = 1 - MSE / Var(target), both over the counted steps of that split, where Var is
the variance of each output around its own mean on that split, averaged over outputs. Predicting
each output's split mean scores 0; a perfect prediction scores 1.
"""

from __future__ import annotations

import torch

from hpsweep.workers.data import TaskData


def score_outputs(loss: str, outputs: torch.Tensor, targets: torch.Tensor, loss_steps: torch.Tensor) -> float:
    """Score model outputs against targets.

    Args:
        loss: "cross_entropy" or "mse".
        outputs: (N, T, C) logits for cross_entropy, (N, T, Y) predictions for mse.
        targets: int64 (N, T) class indices, or float (N, T, Y).
        loss_steps: bool (T,), the steps that count.

    Returns:
        Accuracy in [0, 1], or r2 (<= 1; 0 = as good as the mean).
    """
    out, tgt = outputs[:, loss_steps], targets[:, loss_steps]
    if loss == "cross_entropy":
        return float((out.argmax(-1) == tgt).double().mean())
    tgt = tgt.double().reshape(-1, tgt.shape[-1])
    out = out.double().reshape(-1, tgt.shape[-1])
    mse = ((out - tgt) ** 2).mean()
    var = ((tgt - tgt.mean(0)) ** 2).mean()
    if float(var) == 0.0:
        return 1.0 if float(mse) == 0.0 else float("-inf")
    return float(1.0 - mse / var)


def score_predictions(data: TaskData, split: str, outputs: torch.Tensor) -> float:
    """`score_outputs` for one split ("train", "val" or "test") of a task's data."""
    _, y = data.split(split)
    return score_outputs(data.loss, outputs, y, data.loss_steps)
