"""Labelled image sources for RAD: scikit-learn's 8x8 digits (offline, the default) and MNIST
from local IDX or NPZ files. A source gives raw image pools; `resize` scales what is used.

Sources return `ImagePools`: float32 images in [0, 1], shape (N, H, W), int64 labels, split into
disjoint train/validation/test pools so no image is seen in two splits.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hpsweep.workers.errors import TaskError


@dataclass
class ImagePools:
    """Disjoint image pools per split: split -> (images float32 (N, H, W) in [0, 1], labels int64 (N,))."""

    pools: dict[str, tuple[torch.Tensor, torch.Tensor]]


def _split_pool(images: torch.Tensor, labels: torch.Tensor, fractions, names, g: torch.Generator):
    order = torch.randperm(len(labels), generator=g)
    out, start = {}, 0
    for i, (name, frac) in enumerate(zip(names, fractions)):
        stop = len(order) if i == len(names) - 1 else start + int(round(frac * len(order)))
        idx = order[start:stop]
        out[name] = (images[idx], labels[idx])
        start = stop
    return out


def digits_pools(g: torch.Generator) -> ImagePools:
    """scikit-learn's 1,797 8x8 digits (values 0-16), split 80/10/10 by the data seed."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.from_numpy(d.images.astype(np.float32) / 16.0)
    labels = torch.from_numpy(d.target.astype(np.int64))
    return ImagePools(_split_pool(images, labels, (0.8, 0.1, 0.1), ("train", "val", "test"), g))


_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise TaskError(f"{path} is not an IDX file of unsigned bytes (magic 0x0000 08 nn)")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise TaskError(f"{path}: IDX header says shape {shape} but the file holds {data.size} values")
    return data.reshape(shape)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    return None


def _load_mnist_arrays(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if path.is_dir():
        parts = {}
        for split, (img_stem, lab_stem) in _IDX_NAMES.items():
            img, lab = _find(path, img_stem), _find(path, lab_stem)
            if img and lab:
                parts[split] = (_read_idx(img), _read_idx(lab))
        if "train" not in parts:
            raise TaskError(
                f"task rad: no MNIST IDX files in {path}; expected train-images-idx3-ubyte[.gz] and "
                f"train-labels-idx1-ubyte[.gz] (t10k-* optional)"
            )
        return parts
    if path.suffix == ".npz":
        with np.load(path) as z:
            keys = set(z.files)
            for xk, yk in (("x_train", "y_train"), ("images", "labels"), ("x", "y")):
                if {xk, yk} <= keys:
                    parts = {"train": (z[xk], z[yk])}
                    if xk == "x_train" and {"x_test", "y_test"} <= keys:
                        parts["test"] = (z["x_test"], z["y_test"])
                    return parts
        raise TaskError(
            f"task rad: {path} must hold arrays x_train, y_train (x_test, y_test optional), "
            f"or images, labels; it holds {', '.join(sorted(keys))}"
        )
    raise TaskError(f"task rad: path must be a directory of MNIST IDX files or an .npz file; got {str(path)!r}")


def absolute_source(path: str) -> str:
    """A task's local source (file or folder) as an absolute path, `~` expanded: task names carry it,
    so a worker, whatever its working directory, reads what the user meant."""
    return os.path.abspath(os.path.expanduser(path))


def mnist_pools(path: str, g: torch.Generator) -> ImagePools:
    """MNIST (or any labelled grayscale images) from local files.

    With a test part (t10k-* files, or x_test/y_test), that is the test pool and the train part is
    split 90/10 into train/val; otherwise one pool is split 80/10/10.
    """
    p = Path(os.path.expanduser(path))
    if not p.exists():
        raise TaskError(
            f"task rad: MNIST path {path!r} does not exist; point path= at a directory of IDX files or an .npz"
        )
    parts = _load_mnist_arrays(p)
    conv = {}
    for split, (x, y) in parts.items():
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise TaskError(
                f"task rad: {path}: {split} images must be (N, H, W) with N labels; got {x.shape} and {y.shape}"
            )
        scale = 255.0 if x.dtype == np.uint8 or x.max() > 1.0 else 1.0
        conv[split] = (torch.from_numpy(np.asarray(x, np.float32) / scale), torch.from_numpy(np.asarray(y, np.int64)))
    if "test" in conv:
        pools = _split_pool(*conv["train"], (0.9, 0.1), ("train", "val"), g)
        pools["test"] = conv["test"]
    else:
        pools = _split_pool(*conv["train"], (0.8, 0.1, 0.1), ("train", "val", "test"), g)
    return ImagePools(pools)


def resize(images: torch.Tensor, side: int) -> torch.Tensor:
    """(B, H, W) -> (B, 1, side, side), bilinear (antialiased when shrinking)."""
    x = images[:, None]
    if x.shape[-1] == side and x.shape[-2] == side:
        return x.clone()
    shrink = side < max(x.shape[-2:])
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=shrink).clamp(0.0, 1.0)
