"""The fused trainer: a whole pack of block RNNs trained as one computation.

One training step for K models is one input-projection matmul, one batched matmul per time step
forward and backward (workers/packed.py), per-model losses, and one Adam update for all stacked
weights with a learning rate per model. Models stay independent: model k's numbers never depend
on another model's, so a model that diverges (NaN/inf loss) is frozen and marked and the others
go on exactly as if it had not.

Batches: each model draws its own batch order from its seed (drop-last, at least one batch per
epoch), so a model trains on the same batches whether it is packed with others or alone. When all
models of a pack share a seed, the batch is gathered once and shared (the fast path).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.packed import ModelSpec, PackedBlockRNN, recurrence_backward, recurrence_forward

ADAM_BETAS = (0.9, 0.999)  # PAPER.md §5: plain Adam, no weight decay, no schedule, no clipping
ADAM_EPS = 1e-8


def resolve_device(name: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; anything else is passed through."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


@dataclass(frozen=True)
class TrainSettings:
    epochs: int  # PAPER.md §5 used 25
    batch_size: int  # sequences per step (16 for RAD, 64 for hammer in the paper)
    device: str = "auto"  # "auto" picks CUDA when available
    threads: int | None = None  # torch CPU threads; None leaves torch's default
    cuda_graph: bool = True  # replay the whole step as one CUDA graph (GPU only)
    tf32: bool = True  # TF32 matmuls on CUDA: weights stay float32, products round to 10-bit mantissas


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    val_score: list[float]
    seconds: float


@dataclass
class ModelResult:
    status: str  # "ok" | "diverged"
    error: str | None
    diverged_epoch: int | None
    epochs_run: int
    train_loss: list[float] = field(default_factory=list)  # one per epoch run
    val_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    test_loss: float | None = None
    test_score: float | None = None
    realised: dict[str, int] = field(default_factory=dict)


@dataclass
class PackResult:
    models: list[ModelResult]
    train_seconds: float
    device: str
    model_steps_per_s: float
    lanes: list = field(default_factory=list, repr=False)  # (trained PackedBlockRNN, model indices) per chunk
    rollouts: list | None = None  # per model, filled by workers/rollout.py when the task has rollouts
    rollout_seconds: float | None = None


def pack_memory_bytes(input_dim: int, output_dim: int, seq_len: int, hidden: int, batch_size: int,
                      k: int, n_train: int) -> int:
    """Rough device bytes a pack needs: weights with grads, masks and Adam moments, the step's
    activations, a per-model batch copy, and the task's tensors (train, plus as much again for
    validation and test)."""
    s = hidden + output_dim
    weights = k * (s * input_dim + s * s + s)
    activations = 6 * seq_len * k * batch_size * s
    batch_copy = k * batch_size * seq_len * input_dim
    data = 2 * n_train * seq_len * (input_dim + output_dim)
    return 4 * (7 * weights + activations + batch_copy + data)


class PackAdam:
    """Adam over the pack's stacked weights with one learning rate per model (dim 0 of every tensor).

    Follows torch.optim.Adam's arithmetic; the step count and bias corrections are tensors so the
    update can be captured in a CUDA graph. Models with alive=False are not moved.
    """

    def __init__(self, params: list[torch.Tensor], lrs: list[float]):
        self.params = params
        device = params[0].device
        self.lr = torch.tensor(lrs, dtype=torch.float64, device=device)
        self.step_count = torch.zeros((), dtype=torch.float64, device=device)
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], alive: torch.Tensor):
        beta1, beta2 = ADAM_BETAS
        self.step_count += 1
        bias_correction1 = 1 - beta1**self.step_count
        bias_correction2_sqrt = (1 - beta2**self.step_count).sqrt()
        step_size = (self.lr * alive / bias_correction1).float()  # (K,)
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
            shape = (-1,) + (1,) * (p.dim() - 1)
            g = torch.where(alive.view(shape), g, 0.0)
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v.sqrt() / bias_correction2_sqrt.float()).add_(ADAM_EPS)
            p.sub_(step_size.view(shape) * m / denom)


def loss_and_grad(out: torch.Tensor, target: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-model mean losses (K,) and d(sum_k loss_k)/d out, written out for the fused step.
    out (Tc, K, B, Y); target (Tc, 1 or K, B[, Y])."""
    tc, k, b, c = out.shape
    if loss == "mse":
        diff = out - target
        return diff.square().mean(dim=(0, 2, 3)), diff * (2.0 / (tc * b * c))
    log_p = torch.log_softmax(out, dim=-1)
    target = target.expand(tc, k, b).unsqueeze(-1)
    losses = -log_p.gather(-1, target).squeeze(-1).mean(dim=(0, 2))
    grad = log_p.exp_().scatter_add_(-1, target, torch.full_like(target, -1, dtype=out.dtype))
    return losses, grad.mul_(1.0 / (tc * b))


class PackTrainer:
    """Trains one pack on one device: the inner loop that `train_pack` and `hpsweep bench` share."""

    def __init__(self, data: TaskData, specs: list[ModelSpec], device: str):
        self.data, self.specs, self.device = data, specs, torch.device(device)
        self.model = PackedBlockRNN(specs, device=self.device)
        self.params = list(self.model.parameters())
        self.masks = self.model.masks()
        self.optimizer = PackAdam(self.params, [s.lr for s in specs])
        self.alive = torch.ones(len(specs), dtype=torch.bool, device=self.device)
        self.loss_sum = torch.zeros(len(specs), device=self.device)
        self.steps = data.loss_steps.nonzero().flatten().to(self.device)
        self.x_train = data.x_train.to(self.device)
        self.y_train = data.y_train.to(self.device)

    @torch.no_grad()
    def step(self, idx: torch.Tensor):
        """One Adam step for every model. idx: (B,) batch rows shared by all models, or (K, B).

        Forward and backward are written out (no autograd engine): fewer kernels, and a step that
        captures cleanly into a CUDA graph. tests/workers/test_packed.py proves it against autograd
        through K reference models.
        """
        model, h = self.model, self.model.n_hidden
        x, y = self.x_train[idx], self.y_train[idx]  # (B, T, X) or (K, B, T, X)
        z = recurrence_forward(model.input_projection(x), model.w_rec, h)  # (T, B, K, S)
        out = z[..., h:].index_select(0, self.steps).transpose(1, 2)  # (Tc, K, B, Y), copies outputs only
        if idx.dim() == 1:
            target = y.index_select(1, self.steps).movedim(1, 0).unsqueeze(1)  # (Tc, 1, B[, Y])
        else:
            target = y.index_select(2, self.steps).movedim(2, 0)  # (Tc, K, B[, Y])
        losses, grad_out = loss_and_grad(out, target, self.data.loss)  # (K,), (Tc, K, B, Y)
        self.alive &= torch.isfinite(losses)
        self.loss_sum += torch.where(self.alive, losses, 0.0)
        grad_z = torch.zeros_like(z)
        grad_z[self.steps, ..., h:] = grad_out.transpose(1, 2)
        grad_u, grad_w_rec = recurrence_backward(z, model.w_rec, h, grad_z)
        grad_w_in, grad_bias = model.input_grads(grad_u, x)
        grads = [grad_w_in, grad_w_rec, grad_bias]  # the order of model.parameters()
        self.optimizer.step([g * m for g, m in zip(grads, self.masks)], self.alive)

    @torch.no_grad()
    def evaluate(self, split: str, max_rows: int = 1 << 21) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-model (loss, score) on a split, in chunks sized to bound memory."""
        x, y = self.data.split(split)
        k, s = len(self.specs), self.model.w_rec.shape[1]
        chunk = max(1, max_rows // max(1, k * s * x.shape[1]))
        outs = []
        for i in range(0, x.shape[0], chunk):
            xb = x[i:i + chunk].to(self.device)
            outs.append(self.model(xb).index_select(0, self.steps))  # (Tc, K, b, Y)
        out = torch.cat(outs, dim=2)  # (Tc, K, N, Y)
        target = y.to(self.device).index_select(1, self.steps).movedim(1, 0).unsqueeze(1)  # (Tc, 1, N[, Y])
        loss, _ = loss_and_grad(out, target, self.data.loss)
        if self.data.loss == "cross_entropy":
            score = (out.argmax(-1) == target).float().mean(dim=(0, 2))
        else:
            var = ((target - target.mean(dim=(0, 2), keepdim=True)) ** 2).mean()
            score = 1 - ((out - target) ** 2).mean(dim=(0, 2, 3)) / var
        return loss.cpu(), score.cpu()

    def state(self) -> list[torch.Tensor]:
        """Every tensor a step changes (for snapshot/restore around CUDA-graph warm-up)."""
        opt = self.optimizer
        return [*self.params, *opt.exp_avg, *opt.exp_avg_sq, opt.step_count, self.alive, self.loss_sum]

    def compiled_step(self, idx_shape: tuple[int, ...]) -> Callable[[torch.Tensor], None]:
        """`step` captured as one CUDA graph (replayed per batch), or `step` itself off CUDA."""
        if self.device.type != "cuda":
            return self.step
        static_idx = torch.zeros(idx_shape, dtype=torch.long, device=self.device)
        snapshot = [t.clone() for t in self.state()]
        # Warm-up and capture on one side stream: autograd remembers the stream each leaf's
        # gradient was made on, and a capture on another stream fails (cudaErrorStreamCaptureImplicit).
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.stream(side):
                for _ in range(3):  # warm-up allocations and kernel choices before capture
                    self.step(static_idx)
            with torch.cuda.graph(graph, stream=side):
                self.step(static_idx)
        except RuntimeError as e:  # capture is an optimisation: fall back to eager steps
            warnings.warn(f"CUDA graph capture failed, training eagerly: {e}")
            graph = None
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize(self.device)
        with torch.no_grad():  # the warm-up and capture steps must not count
            for t, saved in zip(self.state(), snapshot):
                t.copy_(saved)
        if graph is None:
            return self.step

        def replay(idx: torch.Tensor):
            static_idx.copy_(idx, non_blocking=True)
            graph.replay()
        return replay


class BatchOrder:
    """Each model's batches come from its own seed: per epoch a permutation of the training rows,
    cut into max(1, N // B) batches of min(B, N) rows (the last partial batch is dropped)."""

    def __init__(self, seeds: list[int], n_rows: int, batch_size: int):
        self.seeds, self.n_rows = seeds, n_rows
        self.batch = min(batch_size, n_rows)
        self.steps_per_epoch = max(1, n_rows // batch_size)
        self.shared = len(set(seeds)) == 1
        self.generators = {s: torch.Generator().manual_seed(s + 1_000_003) for s in sorted(set(seeds))}
        self.batch_shape = (self.batch,) if self.shared else (len(seeds), self.batch)

    def epoch(self) -> list[torch.Tensor]:
        perms = {s: torch.randperm(self.n_rows, generator=g) for s, g in self.generators.items()}
        order = perms[self.seeds[0]] if self.shared else torch.stack([perms[s] for s in self.seeds])
        b = self.batch
        return [order[..., i * b:(i + 1) * b] for i in range(self.steps_per_epoch)]


def cpu_chunk_width(data: TaskData, specs: list[ModelSpec], batch_size: int) -> int:
    """Models per chunk on a CPU. Past a working set of a few MB per step the batched matmuls
    leave the caches and packing stops paying, so a big pack is trained as several chunks in
    lock-step (same results: models never mix)."""
    s = max(sp.hidden for sp in specs) + data.output_dim
    per_model = 4 * data.seq_len * min(batch_size, data.n_train) * (s + data.input_dim) * 3
    return max(1, min(len(specs), CPU_CHUNK_BYTES // per_model))


CPU_CHUNK_BYTES = 48 << 20  # measured with `hpsweep bench` on 2 cores; see README "Performance"


def apply_backend_settings(settings: TrainSettings, device: str):
    """Process-wide torch switches a worker sets before training (threads, TF32)."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = settings.tf32


def make_lanes(data: TaskData, specs: list[ModelSpec], settings: TrainSettings, device: str):
    """Split a pack into chunks run in lock-step (several on a CPU, one on a GPU); per chunk its
    trainer, batch order, step function (CUDA graph where possible) and model indices."""
    width = cpu_chunk_width(data, specs, settings.batch_size) if device == "cpu" else len(specs)
    lanes = []
    for start in range(0, len(specs), width):
        chunk = list(range(start, min(start + width, len(specs))))
        trainer = PackTrainer(data, [specs[i] for i in chunk], device)
        order = BatchOrder([specs[i].seed for i in chunk], data.n_train, settings.batch_size)
        step = trainer.compiled_step(order.batch_shape) if settings.cuda_graph else trainer.step
        lanes.append((trainer, order, step, chunk))
    return lanes


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def train_pack(data: TaskData, specs: list[ModelSpec], settings: TrainSettings,
               on_epoch: Callable[[EpochReport], None] | None = None) -> PackResult:
    """Train K models of one task together; results in the order of `specs`.

    Raises:
        ValueError: if the specs do not match the task's dims or the settings are impossible.
    """
    for s in specs:
        if (s.input_dim, s.output_dim) != (data.input_dim, data.output_dim):
            raise ValueError(f"model dims ({s.input_dim}, {s.output_dim}) do not match task {data.name} "
                             f"({data.input_dim}, {data.output_dim})")
    if settings.epochs < 1 or settings.batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1; got {settings.epochs}, {settings.batch_size}")
    device = resolve_device(settings.device)
    apply_backend_settings(settings, device)
    lanes = make_lanes(data, specs, settings, device)
    trainers, orders, steps, chunks = zip(*lanes) if lanes else ((), (), (), ())
    results = [ModelResult(status="ok", error=None, diverged_epoch=None, epochs_run=0) for _ in specs]
    started = time.perf_counter()
    total_steps = 0
    for epoch in range(1, settings.epochs + 1):
        t0 = time.perf_counter()
        for trainer, order, step in zip(trainers, orders, steps):
            trainer.loss_sum.zero_()
            batches = order.epoch()
            for idx in batches:
                step(idx.to(trainer.device, non_blocking=True))
            total_steps += len(batches) * len(trainer.specs)
        val_scores = []
        for trainer, order, chunk in zip(trainers, orders, chunks):
            train_loss = (trainer.loss_sum / order.steps_per_epoch).cpu()
            alive = trainer.alive.cpu()
            val_loss, val_score = trainer.evaluate("val")
            for j, i in enumerate(chunk):
                r = results[i]
                if r.status == "diverged":
                    continue
                r.epochs_run = epoch
                if not alive[j]:
                    r.status, r.diverged_epoch = "diverged", epoch
                    r.error = f"loss became NaN/inf in epoch {epoch}; model frozen"
                    continue
                r.train_loss.append(float(train_loss[j]))
                r.val_loss.append(float(val_loss[j]))
                r.val_score.append(float(val_score[j]))
            val_scores.extend(float(v) for v in val_score)
        if on_epoch is not None:
            on_epoch(EpochReport(epoch, settings.epochs, val_scores, time.perf_counter() - t0))
    train_seconds = time.perf_counter() - started
    for trainer, chunk in zip(trainers, chunks):
        test_loss, test_score = trainer.evaluate("test")
        for j, i in enumerate(chunk):
            r = results[i]
            r.realised = trainer.model.realised[j]
            if r.status == "ok":
                r.test_loss, r.test_score = _finite_or_none(float(test_loss[j])), _finite_or_none(float(test_score[j]))
    return PackResult(results, train_seconds, device, total_steps / max(train_seconds, 1e-9),
                      lanes=[(t.model, c) for t, c in zip(trainers, chunks)])
