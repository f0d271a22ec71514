"""K block RNNs computed as one batched computation (the fast path; workers/model.py is the slow one).

Each model's state z = [h | y] is laid out in S = H + Y slots, H being the largest hidden size in
the pack; a model with a smaller |h| has padded hidden slots whose weights, biases and masks are
zero, so they stay exactly zero and change nothing. With the blocks stacked as

    W_in  = [[W_hx], [W_yx]]            (K, S, X)
    W_rec = [[W_hh, W_hy], [W_yh, W_yy]]  (K, S, S)
    b     = [b_h, b_y]                  (K, S)

one step of docs/method.md §1 for all K models is  z_{t+1} = act(W_in x_{t+1} + W_rec z_t + b), with relu
on the hidden slots and identity on the output slots.

States are laid out (T, B, K, S): time, batch, model, slot. With a batch shared by the pack, the
input projection for all steps (bias included) is then one plain matmul (T*B, X) @ (X, K*S) that
writes the states in place, and its weight gradient is one matmul back; the recurrence is one
batched matmul per step over a (K, B, S) view, forward and backward. (A (T, K, B, S) layout makes
each step's matmul contiguous but costs two full permute copies per step; measured slower on CPUs.)

Invariant: masked weight entries are exactly zero. Forward passes use the raw weights (no mask
multiply), and `mask_grads_` zeroes the masked entries of the gradients, so Adam never moves them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hpsweep.workers.descriptors import BLOCKS, Densities
from hpsweep.workers.model import BlockRNNConfig, init_blocks


@dataclass(frozen=True)
class ModelSpec:
    """One model of a pack: its shape, densities, seed and learning rate."""

    input_dim: int
    output_dim: int
    hidden: int
    densities: Densities
    seed: int
    lr: float
    init_std: float = 0.05

    def config(self) -> BlockRNNConfig:
        return BlockRNNConfig(self.input_dim, self.hidden, self.output_dim, self.densities, self.init_std, self.seed)


def _with_ones(x: torch.Tensor) -> torch.Tensor:
    """x (B, T, X) -> time-major rows with a ones column: (T*B, X+1)."""
    b, t, n = x.shape
    out = x.new_ones(t, b, n + 1)
    out[..., :n] = x.transpose(0, 1)
    return out.view(t * b, n + 1)


def _by_model(a: torch.Tensor) -> torch.Tensor:
    """(B, K, S) step slice -> (K, B, S) view for the per-model batched matmul (no copy)."""
    return a.transpose(0, 1)


def _add_bmm_(out: torch.Tensor, a: torch.Tensor, b: torch.Tensor):
    """out += a @ b over the model batch, out a strided (K, B, S) view. On CUDA one in-place batched
    matmul. On CPUs torch's in-place batched matmul into a strided view runs one small matmul per
    model, so a contiguous product is added instead: 1.5-2x faster at batch <= 64 (measured)."""
    if out.is_cuda:
        out.baddbmm_(a, b)
    else:
        out.add_(torch.bmm(a, b))


def recurrence_forward(u: torch.Tensor, w_rec: torch.Tensor, n_hidden: int) -> torch.Tensor:
    """All T steps of z_t = act(u_t + z_{t-1} W_rec^T), z_0 = 0, for K models at once.

    u: (T, B, K, S) input projections plus bias, overwritten in place with the states z_1..z_T
    (the caller owns it; no copy per step). w_rec: (K, S, S). Returns u.
    """
    w_t = w_rec.transpose(1, 2).contiguous()  # (K, S, S), once per call
    u[0, ..., :n_hidden].clamp_(min=0)  # z_0 = 0, so z_1 = act(u_1)
    for t in range(1, u.shape[0]):
        _add_bmm_(_by_model(u[t]), _by_model(u[t - 1]), w_t)  # (K, B, S)
        u[t, ..., :n_hidden].clamp_(min=0)  # relu on hidden slots, identity on outputs
    return u


def recurrence_backward(
    z_all: torch.Tensor, w_rec: torch.Tensor, n_hidden: int, grad_z: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of recurrence_forward: (dL/du, dL/dW_rec) from dL/dz (T, B, K, S).

    grad_z is overwritten in place with dL/du (the caller owns it). Each step is one in-place
    batched matmul and one masked multiply (the relu's gate, taken from the stored states);
    dW_rec accumulates one batched matmul per step.
    """
    grad_a = grad_z  # (T, B, K, S), becomes dL/du
    grad_w = torch.zeros_like(w_rec)  # (K, S, S)
    last = z_all.shape[0] - 1
    for t in range(last, -1, -1):
        if t < last:
            a_next = _by_model(grad_a[t + 1])  # (K, B, S)
            grad_w.baddbmm_(a_next.transpose(1, 2), _by_model(z_all[t]))  # dW_rec += dL/da_{t+1}^T z_t
            _add_bmm_(_by_model(grad_a[t]), a_next, w_rec)  # dL/dz_t += dL/da_{t+1} W_rec
        hidden = grad_a[t, ..., :n_hidden]  # through the relu (one fused kernel); outputs pass as they are
        torch.ops.aten.threshold_backward.grad_input(hidden, z_all[t, ..., :n_hidden], 0.0, grad_input=hidden)
    return grad_a, grad_w


class Recurrence(torch.autograd.Function):
    """recurrence_forward with recurrence_backward as its gradient, for autograd users."""

    @staticmethod
    def forward(ctx, u, w_rec, n_hidden):
        z_all = recurrence_forward(u.clone(), w_rec, n_hidden)
        ctx.save_for_backward(z_all, w_rec)
        ctx.n_hidden = n_hidden
        return z_all

    @staticmethod
    def backward(ctx, grad_z):
        z_all, w_rec = ctx.saved_tensors
        grad_u, grad_w = recurrence_backward(z_all, w_rec, ctx.n_hidden, grad_z.clone())
        return grad_u, grad_w, None


class PackedBlockRNN(torch.nn.Module):
    """K block RNNs of one task (same |x|, |y|) with their own densities, |h|, seeds and init."""

    def __init__(self, specs: list[ModelSpec], device: str | torch.device = "cpu", initialise: bool = True):
        """initialise=False leaves weights and masks zero and `realised` empty, for a caller that
        copies trained models in (relayout_models)."""
        super().__init__()
        assert specs, "a pack needs at least one model"
        x, y = specs[0].input_dim, specs[0].output_dim
        assert all(s.input_dim == x and s.output_dim == y for s in specs), "a pack holds models of one task"
        self.specs = list(specs)
        self.k, self.input_dim, self.output_dim = len(specs), x, y
        self.n_hidden = max(s.hidden for s in specs)
        k, hh, s_ = self.k, self.n_hidden, self.n_hidden + y
        w_in, w_rec = torch.zeros(k, s_, x), torch.zeros(k, s_, s_)
        m_in, m_rec, m_b = torch.zeros(k, s_, x), torch.zeros(k, s_, s_), torch.zeros(k, s_)
        realised = []
        for i, spec in enumerate(specs if initialise else ()):
            blocks = init_blocks(spec.config())
            h = spec.hidden
            rows = {"h": slice(0, h), "y": slice(hh, s_)}  # where each state part sits in z
            for name in ("hx", "yx"):
                w, m = blocks[name]
                w_in[i, rows[name[0]]], m_in[i, rows[name[0]]] = w, m
            for name in ("hh", "hy", "yh", "yy"):
                w, m = blocks[name]
                w_rec[i, rows[name[0]], rows[name[1]]], m_rec[i, rows[name[0]], rows[name[1]]] = w, m
            m_b[i, :h], m_b[i, hh:] = 1.0, 1.0  # padded hidden slots get no bias
            realised.append({name: int(blocks[name][1].sum()) for name in BLOCKS})
        self.realised = realised
        self.w_in = torch.nn.Parameter(w_in.to(device))
        self.w_rec = torch.nn.Parameter(w_rec.to(device))
        self.bias = torch.nn.Parameter(torch.zeros(k, s_, device=device))  # biases start at zero
        self.register_buffer("mask_in", m_in.to(device))
        self.register_buffer("mask_rec", m_rec.to(device))
        self.register_buffer("mask_bias", m_b.to(device))

    def masks(self) -> list[torch.Tensor]:
        return [self.mask_in, self.mask_rec, self.mask_bias]

    @torch.no_grad()
    def mask_grads_(self):
        """Zero the gradient of masked and padded entries, so they never move."""
        for p, m in zip(self.parameters(), self.masks()):
            if p.grad is not None:
                p.grad.mul_(m)

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, X) shared by all models, or (K, B, T, X) per model -> u (T, B, K, S), bias included."""
        k, s_ = self.k, self.w_in.shape[1]
        if x.dim() == 3:
            b, t, _ = x.shape
            # [x | 1] @ [W_in | b]^T: the bias rides in the matmul (no broadcast pass), and the
            # matmul back in input_grads yields [dW_in | db] at once.
            w_aug = torch.cat([self.w_in.view(k * s_, -1), self.bias.view(k * s_, 1)], dim=1)  # (K*S, X+1)
            return (_with_ones(x) @ w_aug.T).view(t, b, k, s_)
        _, b, t, _ = x.shape
        u = torch.bmm(x.reshape(k, b * t, -1), self.w_in.transpose(1, 2)).view(k, b, t, s_)
        return (u + self.bias.view(k, 1, 1, s_)).permute(2, 1, 0, 3).contiguous()  # (T, B, K, S)

    def input_grads(self, grad_u: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradients of input_projection: (dL/dW_in (K, S, X), dL/dbias (K, S)) from dL/du (T, B, K, S)."""
        t, b, k, s_ = grad_u.shape
        grad_2d = grad_u.view(t * b, k * s_)
        if x.dim() == 3:
            grad_aug = (grad_2d.T @ _with_ones(x)).view(k, s_, -1)  # one matmul back: [dW_in | db]
            return grad_aug[..., :-1], grad_aug[..., -1]
        return torch.einsum("tbks,kbtx->ksx", grad_u, x), grad_2d.sum(dim=0).view(k, s_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, X) or (K, B, T, X) -> outputs y_1..y_T of every model: (T, K, B, Y) (a view)."""
        z = Recurrence.apply(self.input_projection(x), self.w_rec, self.n_hidden)  # (T, B, K, S)
        return z[..., self.n_hidden :].transpose(1, 2)

    def block(self, i: int, name: str, grad: bool = False) -> torch.Tensor:
        """Model i's block `name` (or its gradient) cut out of the stacked weights."""
        h, hh, y = self.specs[i].hidden, self.n_hidden, self.output_dim
        rows = {"h": slice(0, h), "y": slice(hh, hh + y)}
        w_in, w_rec = (self.w_in.grad, self.w_rec.grad) if grad else (self.w_in, self.w_rec)
        if name in ("hx", "yx"):
            return w_in[i, rows[name[0]]]
        return w_rec[i, rows[name[0]], rows[name[1]]]

    def biases(self, i: int, grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Model i's (b_h, b_y) or their gradients."""
        b = self.bias.grad if grad else self.bias
        return b[i, : self.specs[i].hidden], b[i, self.n_hidden :]


def slot_map(old_hidden: int, new_hidden: int, output_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(source, destination) slot indices that move a model's state from a pack laid out with
    `old_hidden` hidden slots to one with `new_hidden`: its hidden slots, then its outputs. A model
    moved into fewer slots has |h| <= new_hidden, so the slots left behind are padding (zero)."""
    keep = min(old_hidden, new_hidden)
    out = torch.arange(output_dim)
    return (torch.cat([torch.arange(keep), old_hidden + out]), torch.cat([torch.arange(keep), new_hidden + out]))


@torch.no_grad()
def relayout_models(
    dst: torch.Tensor,
    dst_row: int,
    src: torch.Tensor,
    src_row: int,
    slot_dims: int,
    slots: tuple[torch.Tensor, torch.Tensor],
) -> None:
    """Copy model `src_row` of a stacked tensor (K, S[, S or X]) into row `dst_row` of `dst`, moving
    its first `slot_dims` dims after the model dim through `slots` (slot_map)."""
    s, d = (t.to(src.device) for t in slots)
    if slot_dims == 1:
        dst[dst_row, d] = src[src_row, s]
    else:
        dst[dst_row][d[:, None], d[None, :]] = src[src_row][s[:, None], s[None, :]]
