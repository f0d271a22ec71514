"""Random Anomaly Detection (docs/method.md §4).

One sequence: a digit class and two distinct transforms; `frames` images of that class under the
first transform, one position (uniform) replaced by another image of the same class under the
second; then one all-zero frame, because the model's output reads the previous hidden state and
needs one more step to answer. Target: the anomaly's position, read at the last step only.

Easy or hard: the pair of transforms decides most of it (blur vs sharpness is visible at a glance;
baseline vs noise std 0.01 is nearly invisible), so chance is 1/frames and the ceiling is below
1. More frames: more classes and a longer memory. Larger sides: more inputs per hidden unit.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks._base import TaskInfo, make_generator
from hpsweep.workers.tasks._images import absolute_source, digits_pools, mnist_pools, resize
from hpsweep.workers.tasks._params import (
    SPLITS_FORMULA,
    Param,
    Scaling,
    canonical,
    check_size,
    split_sizes,
    split_total,
)
from hpsweep.workers.tasks._transforms import TRANSFORM_NAMES, TRANSFORMS

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
"""The paper normalizes every image with MNIST's mean and std (the blank frame stays 0)."""

SPLITS = ("train", "val", "test")


class RadTask:
    """`rad(side=50,frames=10,n_train=1000,n_val=250,n_test=250,source=digits,path=)`."""

    family = "rad"
    PARAMS = (
        Param(
            "side",
            int,
            50,
            "images are resized to side x side; |x| = side^2",
            4,
            256,
            scaling=Scaling("input", power=0.5, clamp=True),
        ),  # |x| = side^2: side follows sqrt(f)
        Param("frames", int, 10, "image frames per sequence (the blank frame comes after); |y| = frames", 2, 64),
        *split_sizes("training sequences (the paper used about 30,000)"),
        Param(
            "source",
            str,
            "digits",
            "image source: scikit-learn's 8x8 digits (offline) or local MNIST files",
            choices=("digits", "mnist"),
        ),
        Param(
            "path",
            str,
            "",
            "for source=mnist: a directory of IDX files or an .npz (x_train, y_train[, x_test, y_test])",
        ),
    )

    def __init__(self, params: dict):
        p = params
        check_size(
            self.family,
            (
                f"{SPLITS_FORMULA} x (frames+1) x side^2",
                "n_train, n_val, n_test, frames or side",
                split_total(p) * (p["frames"] + 1) * p["side"] ** 2,
            ),
        )
        if params["source"] == "mnist" and not params["path"]:
            raise TaskError("task rad: source=mnist needs path=<directory of MNIST IDX files or an .npz file>")
        if params["source"] == "digits" and params["path"]:
            raise TaskError("task rad: path= only goes with source=mnist")
        self.params = {**params, "path": absolute_source(params["path"])} if params["path"] else params
        self.name = canonical(self.family, self.PARAMS, self.params)

    def info(self) -> TaskInfo:
        p = self.params
        return TaskInfo(
            name=self.name,
            input_dim=p["side"] ** 2,
            output_dim=p["frames"],
            seq_len=p["frames"] + 1,
            n_train=p["n_train"],
            n_val=p["n_val"],
            n_test=p["n_test"],
            loss="cross_entropy",
            params=dict(p),
            description="anomaly position in a sequence of transformed digit images (docs/method.md §4)",
        )

    def cache_token(self) -> str:
        """A changed MNIST file must not be served from the cache."""
        if self.params["source"] != "mnist":
            return ""
        path = Path(os.path.expanduser(self.params["path"]))
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        return "|".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files if f.is_file())

    def build(self, seed: int) -> TaskData:
        p = self.params
        g_pool = make_generator(seed, 0)
        pools = digits_pools(g_pool) if p["source"] == "digits" else mnist_pools(p["path"], g_pool)
        out = {}
        for i, split in enumerate(SPLITS):
            images, labels = pools.pools[split]
            x, y = self._sequences(images, labels, p[f"n_{split}"], make_generator(seed, 1 + i))
            out[f"x_{split}"], out[f"y_{split}"] = x, y
        loss_steps = torch.zeros(p["frames"] + 1, dtype=torch.bool)
        loss_steps[-1] = True
        return TaskData(
            name=self.name, loss="cross_entropy", loss_steps=loss_steps, params={**p, "n_classes": p["frames"]}, **out
        )

    def _sequences(self, images, labels, n: int, g: torch.Generator):
        """n sequences from one image pool -> x float32 (n, frames+1, side^2), y int64 (n, frames+1)."""
        plan = plan_sequences(labels, n, self.params["frames"], g)
        return render(images, plan, self.params["side"], g)


def plan_sequences(labels: torch.Tensor, n: int, frames: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Draw what each sequence shows, before any pixel is touched.

    Returns:
        cls (n,) class index into the pool's classes; first, second (n,) transform ids, always
        different; pos (n,) the anomaly's position; picks (n, frames) image indices into the
        pool (the anomaly's at pos, all of class cls); tf (n, frames) transform id per frame.
    """
    classes = torch.unique(labels)
    by_class = [torch.nonzero(labels == c).flatten() for c in classes]
    n_tf = len(TRANSFORM_NAMES)
    cls = torch.randint(len(classes), (n,), generator=g)
    first = torch.randint(n_tf, (n,), generator=g)
    second = (first + 1 + torch.randint(n_tf - 1, (n,), generator=g)) % n_tf  # never equal to first
    pos = torch.randint(frames, (n,), generator=g)
    picks = torch.empty(n, frames, dtype=torch.long)
    for i in range(n):
        pool = by_class[int(cls[i])]
        if len(pool) > frames:  # frames + 1 distinct images: the normal ones and the anomaly
            chosen = pool[torch.randperm(len(pool), generator=g)[: frames + 1]]
        else:
            chosen = pool[torch.randint(len(pool), (frames + 1,), generator=g)]
        picks[i] = chosen[:frames]
        picks[i, pos[i]] = chosen[frames]
    tf = first[:, None].repeat(1, frames)  # (n, frames)
    tf[torch.arange(n), pos] = second
    return {"cls": cls, "first": first, "second": second, "pos": pos, "picks": picks, "tf": tf}


def render(images: torch.Tensor, plan: dict, side: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize, transform, normalize and append the blank frame -> x (n, frames+1, side^2), y (n, frames+1)."""
    picks, pos = plan["picks"], plan["pos"]
    n, frames = picks.shape
    flat_imgs = resize(images[picks.flatten()], side)  # (n*frames, 1, S, S)
    flat_tf = plan["tf"].flatten()
    out = torch.empty_like(flat_imgs)
    for t, name in enumerate(TRANSFORM_NAMES):  # one batched call per transform
        idx = torch.nonzero(flat_tf == t).flatten()
        if len(idx):
            out[idx] = TRANSFORMS[name](flat_imgs[idx], g)
    out = ((out - MNIST_MEAN) / MNIST_STD).view(n, frames, side * side)
    x = torch.cat([out, torch.zeros(n, 1, side * side)], 1).float()  # blank last frame
    y = pos[:, None].repeat(1, frames + 1)  # only the last step counts
    return x.contiguous(), y.contiguous()
