"""The reference block RNN of docs/method.md §1, one model, in plain torch.

This is the slow path that the packed model (workers/packed.py) is proven against. Read it beside
the paper: the state is z = [x | h | y]; each step writes x_{t+1} and applies one map

    h_{t+1} = relu(W_hx x_{t+1} + W_hh h_t + W_hy y_t + b_h)
    y_{t+1} =      W_yx x_{t+1} + W_yh h_t + W_yy y_t + b_y

Note the output reads the *previous* hidden state h_t. Every block has one fixed Bernoulli mask,
drawn once from the seed and never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from hpsweep.workers.descriptors import BLOCKS, Densities


@dataclass(frozen=True)
class BlockRNNConfig:
    input_dim: int  # |x|, from the task
    hidden: int  # |h|, given or solved from a budget (workers.descriptors)
    output_dim: int  # |y|, from the task
    densities: Densities = field(default_factory=lambda: Densities.uniform(1.0))  # dense unless told
    init_std: float = 0.05  # docs/method.md §1: kept entries start from N(0, 0.05^2)
    seed: int = 0  # masks and initial weights come from this seed alone

    def block_shape(self, block: str) -> tuple[int, int]:
        size = {"h": self.hidden, "x": self.input_dim, "y": self.output_dim}
        return size[block[0]], size[block[1]]


def init_blocks(cfg: BlockRNNConfig) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(weight, mask) per block, drawn on the CPU from the config's seed in BLOCKS order.

    Both the reference and the packed model build their weights here, so a model starts from the
    same numbers wherever it is trained. Masked entries of the weight are exactly zero.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    blocks = {}
    for name in BLOCKS:
        shape = cfg.block_shape(name)
        mask = torch.rand(shape, generator=gen) < getattr(cfg.densities, name)
        weight = torch.randn(shape, generator=gen) * cfg.init_std * mask
        blocks[name] = (weight, mask.float())
    return blocks


class BlockRNN(nn.Module):
    """One generalized block RNN with masked weights (docs/method.md §1)."""

    def __init__(self, cfg: BlockRNNConfig):
        super().__init__()
        self.cfg = cfg
        for name, (weight, mask) in init_blocks(cfg).items():
            setattr(self, f"w_{name}", nn.Parameter(weight))
            self.register_buffer(f"mask_{name}", mask)
        # Biases are dense and trainable and start at zero (our choice; the paper is silent).
        self.b_h = nn.Parameter(torch.zeros(cfg.hidden))
        self.b_y = nn.Parameter(torch.zeros(cfg.output_dim))

    def weight(self, name: str) -> torch.Tensor:
        return getattr(self, f"w_{name}") * getattr(self, f"mask_{name}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, X) -> outputs y_1..y_T: (B, T, Y)."""
        w = {name: self.weight(name) for name in BLOCKS}
        batch = x.shape[0]
        h = x.new_zeros(batch, self.cfg.hidden)  # (B, H)   z starts at zero
        y = x.new_zeros(batch, self.cfg.output_dim)  # (B, Y)
        outputs = []
        for x_t in x.unbind(1):  # (B, X)
            h_next = torch.relu(x_t @ w["hx"].T + h @ w["hh"].T + y @ w["hy"].T + self.b_h)
            y_next = x_t @ w["yx"].T + h @ w["yh"].T + y @ w["yy"].T + self.b_y  # reads h_t, not h_{t+1}
            h, y = h_next, y_next
            outputs.append(y)
        return torch.stack(outputs, dim=1)  # (B, T, Y)

    def realised_weights(self) -> dict[str, int]:
        """Kept mask entries per block: the realised counts beside the expected ones."""
        return {name: int(getattr(self, f"mask_{name}").sum()) for name in BLOCKS}
