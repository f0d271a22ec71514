"""The fused trainer: a whole pack of block RNNs trained as one computation.

One training step for K models is one input-projection matmul, one batched matmul per time step
forward and backward (workers/packed.py), per-model losses, and one Adam update for all stacked
weights with a learning rate per model (workers/pack_adam.py). Models stay independent: model k's
numbers never depend on another model's, so a model that diverges (NaN/inf loss) is frozen and
marked and the others go on exactly as if it had not.

Batches: each model draws its own batch order from its seed (drop-last, at least one batch per
epoch), so a model trains on the same batches whether it is packed with others or alone. When all
models of a pack share a seed, the batch is gathered once and shared (the fast path).

Read top to bottom: the settings and results, `train_pack` (the epoch loop), then the pieces it
uses in the order it uses them: lanes (chunks of a pack), one chunk's trainer and its batch order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from hpsweep.workers.batch_order import BatchOrder
from hpsweep.workers.cuda_graph import capture_step
from hpsweep.workers.data import TaskData
from hpsweep.workers.pack_adam import PackAdam
from hpsweep.workers.pack_memory import cpu_chunk_width
from hpsweep.workers.packed import (
    ModelSpec,
    PackedBlockRNN,
    recurrence_backward,
    recurrence_forward,
    relayout_models,
    slot_map,
)


@dataclass(frozen=True)
class TrainSettings:
    epochs: int  # the paper trained 25 (docs/method.md §5)
    batch_size: int  # sequences per step (16 for RAD, 64 for hammer in the paper)
    device: str = "auto"  # "auto" picks CUDA when available
    threads: int | None = None  # torch CPU threads; None leaves torch's default
    cuda_graph: bool = True  # replay the whole step as one CUDA graph (GPU only)
    tf32: bool = True  # TF32 matmuls on CUDA: weights stay float32, products round to 10-bit mantissas


@dataclass
class EpochReport:
    epoch: int  # epochs of this pack so far (with halving: of the pack, not of one model)
    epochs: int  # epochs the pack will run (with halving: at most this many)
    val_score: list[float]
    seconds: float
    live: int | None = None  # models trained this epoch (halving; None: every model of the pack)
    waiting: int = 0  # models not yet started (halving with refill)


@dataclass
class ModelResult:
    status: str  # "ok" | "diverged" | "stopped" (successive halving stopped it at a rung: workers/halving.py)
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
    epoch_log: list = field(default_factory=list)  # halving: per pack epoch (live models, waiting models, seconds)


def train_pack(
    data: TaskData,
    specs: list[ModelSpec],
    settings: TrainSettings,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> PackResult:
    """Train K models of one task together; results in the order of `specs`.

    Raises:
        ValueError: if the specs do not match the task's dims or the settings are impossible.
    """
    check_pack(data, specs, settings)
    device = resolve_device(settings.device)
    apply_backend_settings(settings, device)
    lanes = make_lanes(data, specs, settings, device)
    results = [ModelResult(status="ok", error=None, diverged_epoch=None, epochs_run=0) for _ in specs]
    started = time.perf_counter()
    total_steps = 0
    for epoch in range(1, settings.epochs + 1):
        t0 = time.perf_counter()
        for trainer, order, step, _ in lanes:
            total_steps += train_epoch(trainer, order, step)
        val_scores = []
        for trainer, order, _, chunk in lanes:
            val_scores += record_epoch(trainer, order, [results[i] for i in chunk], epoch)
        if on_epoch is not None:
            on_epoch(EpochReport(epoch, settings.epochs, val_scores, time.perf_counter() - t0))
    train_seconds = time.perf_counter() - started
    for trainer, _, _, chunk in lanes:
        record_test(trainer, [results[i] for i in chunk])
    return PackResult(
        results,
        train_seconds,
        device,
        total_steps / max(train_seconds, 1e-9),
        lanes=[(t.model, c) for t, _, _, c in lanes],
    )


def check_pack(data: TaskData, specs: list[ModelSpec], settings: TrainSettings) -> None:
    """ValueError when a model's dims are not the task's, or epochs / batch size are below 1."""
    for s in specs:
        if (s.input_dim, s.output_dim) != (data.input_dim, data.output_dim):
            raise ValueError(
                f"model dims ({s.input_dim}, {s.output_dim}) do not match task {data.name} "
                f"({data.input_dim}, {data.output_dim})"
            )
    if settings.epochs < 1 or settings.batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1; got {settings.epochs}, {settings.batch_size}")


def train_epoch(trainer: PackTrainer, order: BatchOrder, step: Callable[[torch.Tensor], None]) -> int:
    """One epoch of one chunk; returns the model-steps it ran."""
    trainer.loss_sum.zero_()
    batches = order.epoch()
    for idx in batches:
        step(idx.to(trainer.device, non_blocking=True))
    return len(batches) * len(trainer.specs)


def record_epoch(
    trainer: PackTrainer, order: BatchOrder, results: list[ModelResult], epoch: int | list[int]
) -> list[float]:
    """Append a chunk's epoch (train loss, validation loss and score) to its models' results and
    mark the models whose loss turned NaN/inf; returns the chunk's validation scores. `epoch`: the
    epoch each model just trained (one number when they train in step)."""
    train_loss = (trainer.loss_sum / order.steps_per_epoch).cpu()
    alive = trainer.alive.cpu()
    val_loss, val_score = trainer.evaluate("val")
    epochs = epoch if isinstance(epoch, list) else [epoch] * len(results)
    for j, (r, epoch) in enumerate(zip(results, epochs)):
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
    return [float(v) for v in val_score]


def record_test(trainer: PackTrainer, results: list[ModelResult]) -> None:
    """Test loss and score of a chunk's final weights, and its realised mask counts."""
    test_loss, test_score = trainer.evaluate("test")
    for j, r in enumerate(results):
        r.realised = trainer.model.realised[j]
        if r.status == "ok":
            r.test_loss, r.test_score = finite_or_none(float(test_loss[j])), finite_or_none(float(test_score[j]))


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def resolve_device(name: str = "auto") -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; anything else is passed through."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


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


class PackTrainer:
    """Trains one pack on one device: the inner loop that `train_pack` and `hpsweep bench` share."""

    def __init__(
        self,
        data: TaskData,
        specs: list[ModelSpec],
        device: str,
        initialise: bool = True,
        device_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    ):
        """device_data: the training inputs and targets already on `device` (a halving pack rebuilds
        its trainers often; without it each would copy the training set to the GPU again)."""
        self.data, self.specs, self.device = data, specs, torch.device(device)
        self.model = PackedBlockRNN(specs, device=self.device, initialise=initialise)
        self.params = list(self.model.parameters())
        self.masks = self.model.masks()
        self.optimizer = PackAdam(self.params, [s.lr for s in specs])
        self.alive = torch.ones(len(specs), dtype=torch.bool, device=self.device)
        self.loss_sum = torch.zeros(len(specs), device=self.device)
        self.steps = data.loss_steps.nonzero().flatten().to(self.device)
        self.x_train, self.y_train = device_data or (data.x_train.to(self.device), data.y_train.to(self.device))

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
            xb = x[i : i + chunk].to(self.device)
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

    def per_model_state(self) -> list[tuple[torch.Tensor, int]]:
        """(tensor, slot dims after the model dim) of every tensor stacked per model: what moves
        with a model when a pack is compacted (assemble)."""
        opt, m = self.optimizer, self.model
        return [
            (m.w_in, 1),
            (m.w_rec, 2),
            (m.bias, 1),
            (m.mask_in, 1),
            (m.mask_rec, 2),
            (m.mask_bias, 1),
            *[(t, d) for t, d in zip(opt.exp_avg, (1, 2, 1))],
            *[(t, d) for t, d in zip(opt.exp_avg_sq, (1, 2, 1))],
            (opt.step_count, 0),
            (opt.lr, 0),
            (self.alive, 0),
            (self.loss_sum, 0),
        ]

    @classmethod
    def assemble(cls, data: TaskData, sources: list[tuple[PackTrainer, int]], device: str) -> PackTrainer:
        """A trainer whose model i is model `j` of trainer `t` for sources[i] = (t, j): weights, masks,
        Adam moments and step counts copied, hidden slots laid out for the new pack's largest |h|.
        Compaction (a smaller pack of survivors) and refill (survivors plus fresh models) both use it;
        a model's numbers are unchanged by the move (padding slots are zero in every tensor)."""
        out = cls(
            data,
            [t.specs[j] for t, j in sources],
            device,
            initialise=False,
            device_data=(sources[0][0].x_train, sources[0][0].y_train),
        )
        out.model.realised = [t.model.realised[j] for t, j in sources]
        y, new_h = data.output_dim, out.model.n_hidden
        maps = {}
        with torch.no_grad():
            for i, (t, j) in enumerate(sources):
                old_h = t.model.n_hidden
                slots = maps.setdefault(old_h, slot_map(old_h, new_h, y))
                for (dst, dims), (src, _) in zip(out.per_model_state(), t.per_model_state()):
                    if dims == 0:
                        dst[i] = src[j]
                    else:
                        relayout_models(dst, i, src, j, dims, slots)
        return out

    def compiled_step(self, idx_shape: tuple[int, ...]) -> Callable[[torch.Tensor], None]:
        """`step` captured as one CUDA graph (replayed per batch), or `step` itself off CUDA."""
        return capture_step(self.step, self.state(), idx_shape, self.device)


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
