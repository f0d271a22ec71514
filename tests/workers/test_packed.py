"""The packed model and fused trainer against K plain reference models, an independent
re-implementation that serves as the oracle: random data, awkward sizes (odd K, ragged hidden sizes), outputs, gradients and whole training curves."""

import pytest
import torch
import torch.nn.functional as F

from hpsweep.workers.batch_order import BatchOrder
from hpsweep.workers.data import TaskData
from hpsweep.workers.descriptors import BLOCKS, Densities
from hpsweep.workers.model import BlockRNN
from hpsweep.workers.packed import ModelSpec, PackedBlockRNN, Recurrence
from hpsweep.workers.trainer import TrainSettings, train_pack

# Every test that trains runs on the CPU, and on CUDA too where a GPU is visible (TF32 off there,
# so float32 tolerances hold; CUDA-graph replay is on, as in production).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def settings_for(device, epochs, batch_size):
    return TrainSettings(epochs=epochs, batch_size=batch_size, device=device, tf32=False)


def random_specs(k, x, y, hiddens, seed=0, lrs=None):
    gen = torch.Generator().manual_seed(seed)
    specs = []
    for i in range(k):
        dens = (torch.rand(6, generator=gen) * 0.9 + 0.1).tolist()
        specs.append(
            ModelSpec(
                x,
                y,
                hiddens[i % len(hiddens)],
                Densities(*dens),
                seed=100 + i,
                lr=(lrs[i] if lrs else 1e-2 * (1 + i) / k),
            )
        )
    return specs


def toy_task(loss="mse", n=96, t=7, x=5, y=3, seed=0):
    gen = torch.Generator().manual_seed(seed)

    def split(m):
        xs = torch.randn(m, t, x, generator=gen)
        if loss == "mse":
            return xs, torch.randn(m, t, y, generator=gen)
        return xs, torch.randint(0, y, (m, t), generator=gen)

    steps = torch.zeros(t, dtype=torch.bool)
    steps[-1] = True
    if loss == "mse":
        steps[2] = True
    tr, va, te = split(n), split(32), split(32)
    return TaskData("toy", *tr, *va, *te, loss=loss, loss_steps=steps, params={"n_classes": y})


def max_rel_err(a, b):
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


@pytest.fixture(autouse=True)
def no_tf32():
    """TF32 off for float32 tolerances on CUDA (the trainer sets the global flag from its settings),
    and the flags put back afterwards so no other test inherits them."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shared_x", [True, False])
def test_packed_outputs_and_gradients_match_reference(shared_x, device):
    torch.manual_seed(0)
    specs = random_specs(5, x=6, y=3, hiddens=[9, 4, 13, 1, 7])
    packed = PackedBlockRNN(specs, device=device)
    refs = [BlockRNN(s.config()) for s in specs]
    xs = torch.randn(5, 4, 8, 6)  # a different batch per model, or the first for all
    out = packed((xs[0] if shared_x else xs).to(device)).cpu()  # (T, K, B, Y)
    (out.square().sum() + out.sum()).backward()
    packed.mask_grads_()
    packed.cpu()
    zero_blocks = 0
    for i, ref in enumerate(refs):
        y_ref = ref(xs[0] if shared_x else xs[i])  # (B, T, Y)
        assert max_rel_err(out[:, i].transpose(0, 1), y_ref) < 1e-5
        (y_ref.square().sum() + y_ref.sum()).backward()
        for name in BLOCKS:
            ref_grad = getattr(ref, f"w_{name}").grad
            got = packed.block(i, name, grad=True)
            if ref_grad.abs().max() > 0:
                assert max_rel_err(got, ref_grad) < 1e-5, name
            else:  # a zero reference gradient (e.g. a block fully masked): the packed one is zero too
                assert torch.equal(got, torch.zeros_like(got)), name
                zero_blocks += 1
        b_h, b_y = packed.biases(i, grad=True)
        assert max_rel_err(b_h, ref.b_h.grad) < 1e-5 and max_rel_err(b_y, ref.b_y.grad) < 1e-5
    assert zero_blocks > 0  # the |h| = 1 model's masked blocks: the zero case above is exercised


def test_padded_and_masked_entries_are_inert():
    specs = random_specs(3, x=4, y=2, hiddens=[2, 6, 3])
    packed = PackedBlockRNN(specs)
    out = packed(torch.randn(5, 6, 4))
    out.sum().backward()
    packed.mask_grads_()
    for p, m in zip(packed.parameters(), packed.masks()):
        assert torch.all(p[m == 0] == 0) and torch.all(p.grad[m == 0] == 0)
    assert packed.mask_bias[0, 2:6].sum() == 0  # model 0 has |h| = 2 of 6 slots
    for i, s in enumerate(specs):
        assert packed.realised[i] == BlockRNN(s.config()).realised_weights()


def test_recurrence_gradcheck():
    # finite differences through the hand-written backward (relu on the first 4 of 6 slots)
    gen = torch.Generator().manual_seed(1)
    u = torch.randn(5, 2, 3, 6, dtype=torch.double, generator=gen).requires_grad_()  # (T, B, K, S)
    w_rec = (0.5 * torch.randn(3, 6, 6, dtype=torch.double, generator=gen)).requires_grad_()
    assert torch.autograd.gradcheck(lambda u, w: Recurrence.apply(u, w, 4), (u, w_rec))


def reference_train(task, spec, settings):
    """One model trained alone: reference BlockRNN + torch.optim.Adam, same batch order."""
    torch.manual_seed(0)
    model = BlockRNN(spec.config())
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
    order = BatchOrder([spec.seed], task.n_train, settings.batch_size)
    steps = task.loss_steps.nonzero().flatten()
    curve = []
    for _ in range(settings.epochs):
        total = 0.0
        for idx in order.epoch():
            out = model(task.x_train[idx])[:, steps]  # (B, Tc, Y)
            target = task.y_train[idx][:, steps]
            if task.loss == "mse":
                loss = F.mse_loss(out, target)
            else:
                loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
        curve.append(total / order.steps_per_epoch)
    return curve, model


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_training_curve_is_the_same_packed_or_alone(loss, device):
    task = toy_task(loss)
    specs = random_specs(5, x=5, y=3, hiddens=[6, 2, 9])
    settings = settings_for(device, epochs=3, batch_size=16)
    packed = train_pack(task, specs, settings)
    for i, spec in enumerate(specs):
        alone = train_pack(task, [spec], settings).models[0]
        ref_curve, _ = reference_train(task, spec, settings)
        assert packed.models[i].train_loss == pytest.approx(alone.train_loss, rel=1e-5)
        assert packed.models[i].train_loss == pytest.approx(ref_curve, rel=1e-5 if device == "cpu" else 1e-4)
        assert packed.models[i].test_loss == pytest.approx(alone.test_loss, rel=1e-5)
        assert packed.models[i].realised == BlockRNN(spec.config()).realised_weights()


@pytest.mark.parametrize("device", DEVICES)
def test_divergence_is_isolated_and_others_are_bit_identical(device):
    task = toy_task("mse", t=7)
    lrs = [1e-2, 1e-2, 1e-2]
    specs = random_specs(3, x=5, y=3, hiddens=[6, 8, 5], lrs=lrs)
    settings = settings_for(device, epochs=4, batch_size=16)
    calm = train_pack(task, specs, settings)
    wild = list(specs)
    wild[1] = ModelSpec(5, 3, 8, specs[1].densities, seed=specs[1].seed, lr=1e4, init_std=1e15)
    mixed = train_pack(task, wild, settings)
    assert mixed.models[1].status == "diverged"
    assert mixed.models[1].diverged_epoch == 1
    assert "NaN/inf" in mixed.models[1].error
    for i in (0, 2):
        assert mixed.models[i].status == "ok"
        assert mixed.models[i].train_loss == calm.models[i].train_loss  # bit-identical
        assert mixed.models[i].val_loss == calm.models[i].val_loss
        assert mixed.models[i].test_score == calm.models[i].test_score


def test_scores_are_accuracy_and_r2():
    task = toy_task("cross_entropy", y=4)
    result = train_pack(task, random_specs(2, 5, 4, [4]), TrainSettings(1, 32, device="cpu"))
    for m in result.models:
        assert 0.0 <= m.test_score <= 1.0 and m.test_score * 32 == pytest.approx(round(m.test_score * 32))
    task = toy_task("mse")
    m = train_pack(task, random_specs(1, 5, 3, [4]), TrainSettings(1, 32, device="cpu")).models[0]
    steps = task.loss_steps.nonzero().flatten()
    target = task.y_test[:, steps]
    var = ((target - target.mean(dim=(0, 1))) ** 2).mean()
    assert m.test_score == pytest.approx(1 - m.test_loss / float(var), rel=1e-5)


def test_training_is_deterministic():
    task = toy_task("mse")
    specs = random_specs(3, 5, 3, [4, 7])
    a = train_pack(task, specs, TrainSettings(2, 16, device="cpu"))
    b = train_pack(task, specs, TrainSettings(2, 16, device="cpu"))
    assert [m.train_loss for m in a.models] == [m.train_loss for m in b.models]


def test_dims_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"model dims \(4, 3\) do not match task toy \(5, 3\)"):
        train_pack(toy_task(), [ModelSpec(4, 3, 5, Densities.uniform(1), 0, 1e-3)], TrainSettings(1, 8, device="cpu"))
