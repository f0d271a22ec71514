"""Adam over a pack's stacked weights, one learning rate per model, capturable in a CUDA graph."""

from __future__ import annotations

import torch

ADAM_BETAS = (0.9, 0.999)  # the paper's plain Adam: no weight decay, no schedule, no clipping
ADAM_EPS = 1e-8


class PackAdam:
    """Adam over the pack's stacked weights with one learning rate per model (dim 0 of every tensor).

    Follows torch.optim.Adam's arithmetic; the step counts and bias corrections are tensors so the
    update can be captured in a CUDA graph. Each model has its own step count: a model that joins a
    pack mid-way (successive halving refills freed slots) starts its bias corrections at step 1 like
    a model trained alone. Models with alive=False are not moved.
    """

    def __init__(self, params: list[torch.Tensor], lrs: list[float]):
        self.params = params
        device = params[0].device
        self.lr = torch.tensor(lrs, dtype=torch.float64, device=device)
        self.step_count = torch.zeros(len(lrs), dtype=torch.float64, device=device)  # (K,)
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], alive: torch.Tensor):
        beta1, beta2 = ADAM_BETAS
        self.step_count += 1
        bias_correction1 = 1 - beta1**self.step_count  # (K,)
        bias_correction2_sqrt = (1 - beta2**self.step_count).sqrt().float()
        step_size = (self.lr * alive / bias_correction1).float()  # (K,)
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
            shape = (-1,) + (1,) * (p.dim() - 1)
            g = torch.where(alive.view(shape), g, 0.0)
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v.sqrt() / bias_correction2_sqrt.view(shape)).add_(ADAM_EPS)
            p.sub_(step_size.view(shape) * m / denom)
