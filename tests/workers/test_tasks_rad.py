"""Random Anomaly Detection specifics (docs/method.md §4): the target is the anomaly's position, the
last frame is blank, the two transforms differ; the transforms and the MNIST source."""

import gzip

import numpy as np
import pytest
import torch

from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks import get_task
from hpsweep.workers.tasks._rad import MNIST_MEAN, MNIST_STD, plan_sequences, render
from hpsweep.workers.tasks._transforms import TRANSFORM_NAMES, TRANSFORMS, perspective

NAME = "rad(side=16,frames=6,n_train=60,n_val=10,n_test=10)"
DETERMINISTIC = (TRANSFORM_NAMES.index("baseline"), TRANSFORM_NAMES.index("sharpness_4"))


def test_plan_anomaly_is_one_same_class_image_under_the_other_transform():
    labels = torch.arange(200) % 5
    plan = plan_sequences(labels, 300, 6, torch.Generator().manual_seed(0))
    assert (plan["first"] != plan["second"]).all()
    assert {int(t) for t in torch.cat([plan["first"], plan["second"]])} == set(range(len(TRANSFORM_NAMES)))
    for i in range(300):
        pos, tf, picks = int(plan["pos"][i]), plan["tf"][i], plan["picks"][i]
        assert (labels[picks] == int(plan["cls"][i])).all()
        assert len(set(picks.tolist())) == 6  # the anomaly is another image, not a copy
        assert int(tf[pos]) == int(plan["second"][i])
        assert (tf[torch.arange(6) != pos] == plan["first"][i]).all()
    assert set(plan["pos"].tolist()) == set(range(6))


def test_rendered_target_is_the_odd_frame_and_the_last_frame_is_blank():
    # Every image of a class is the same pattern, so under a deterministic first transform the
    # normal frames are identical and only the anomaly's frame differs.
    patterns = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(60) % 3
    images = patterns[labels]
    g = torch.Generator().manual_seed(2)
    plan = plan_sequences(labels, 200, 5, g)
    x, y = render(images, plan, 12, g)
    assert x.shape == (200, 6, 144) and y.shape == (200, 6)
    assert (y == plan["pos"][:, None]).all()
    assert (x[:, -1] == 0).all() and (x[:, :-1].abs().sum(-1) > 0).all()
    checked = 0
    for i in range(200):
        if int(plan["first"][i]) not in DETERMINISTIC:
            continue
        pos = int(y[i, -1])
        normal = x[i, [f for f in range(5) if f != pos]]
        assert (normal == normal[0]).all()
        assert not torch.equal(x[i, pos], normal[0])
        checked += 1
    assert checked > 20


def test_rad_data_from_digits():
    data = get_task(NAME).build(0)
    assert data.x_train.shape == (60, 7, 256) and data.params["n_classes"] == 6
    assert (data.x_train[:, -1] == 0).all()
    assert (data.y_train == data.y_train[:, -1:]).all()
    pixels = data.x_train[:, :-1] * MNIST_STD + MNIST_MEAN  # normalized like MNIST, from [0, 1]
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
    counts = torch.bincount(data.y_train[:, -1], minlength=6)
    assert (counts > 0).all()


@pytest.mark.parametrize("name", TRANSFORM_NAMES)
def test_each_transform_keeps_shape_and_range(name):
    img = torch.rand(5, 1, 20, 20, generator=torch.Generator().manual_seed(0))
    out = TRANSFORMS[name](img, torch.Generator().manual_seed(1))
    assert out.shape == img.shape and out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, img) == (name == "baseline")


def test_transform_properties():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(4, 1, 30, 30, generator=g)
    assert torch.allclose(perspective(img, g, 0.0), img, atol=1e-5)  # no distortion: identity
    erased = TRANSFORMS["random_erase"](torch.ones(200, 1, 30, 30), g)
    share = (erased == 0).float().mean((1, 2, 3))
    assert share.min() >= 0.08 and share.max() <= 0.23  # area 10-20 %, up to rounding of the sides
    flat = torch.full((3, 1, 30, 30), 0.4)
    assert torch.allclose(TRANSFORMS["gaussian_blur_15"](flat, g), flat, atol=1e-6)
    assert torch.allclose(TRANSFORMS["sharpness_4"](flat, g), flat, atol=1e-6)
    noisy = TRANSFORMS["gaussian_noise"](flat, g)
    assert 0.005 < float((noisy - flat).std()) < 0.015


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_source_from_idx_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (300, 28, 28)), np.arange(300) % 10
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    np.savez(tmp_path / "mnist.npz", x_train=images.astype(np.uint8), y_train=labels)
    a = get_task(f"rad(side=14,frames=4,n_train=20,n_val=5,n_test=5,source=mnist,path={tmp_path})").build(0)
    b = get_task(f"rad(side=14,frames=4,n_train=20,n_val=5,n_test=5,source=mnist,path={tmp_path}/mnist.npz)").build(0)
    assert a.x_train.shape == (20, 5, 196) and torch.equal(a.x_train, b.x_train)


def test_rad_source_errors(tmp_path):
    with pytest.raises(
        TaskError,
        match=r"^task rad: source=mnist needs path=<directory of MNIST IDX files or an "
        r"\.npz file>$",
    ):
        get_task("rad(source=mnist)")
    with pytest.raises(TaskError, match=r"^task rad: path= only goes with source=mnist$"):
        get_task("rad(path=/tmp)")
    with pytest.raises(TaskError, match=r"^task rad: no MNIST IDX files in .*; expected train-images-idx3-ubyte"):
        get_task(f"rad(source=mnist,path={tmp_path})").build(0)
