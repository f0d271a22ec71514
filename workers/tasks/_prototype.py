"""Anomaly position over random prototype vectors: RAD's question without images.

`protos` random prototypes in R^x (i.i.d. N(0, 1)). One sequence: `frames` noisy copies of one
prototype, one position (uniform) replaced by a noisy copy of a different prototype, then one
all-zero frame; the target is the anomaly's position, read at the last step (cross-entropy).

Easy or hard: the signal-to-noise ratio; two prototypes lie about sqrt(2x) apart and the noise
of a frame has norm about noise*sqrt(x), so a larger x or smaller `noise` is easier. More
`frames` is harder (more positions to tell apart, longer memory); |x| sets the input share of
the model's weights, so x=2500 mimics RAD's balance problem at a fraction of the cost.
"""

from __future__ import annotations

import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.tasks._base import TaskInfo, make_generator
from hpsweep.workers.tasks._params import INPUT, SPLITS_FORMULA, Param, canonical, check_size, split_sizes, split_total

SPLITS = ("train", "val", "test")


class PrototypeTask:
    """`prototype(x=64,frames=10,protos=10,noise=1,n_train=1000,n_val=250,n_test=250)`."""

    family = "prototype"
    PARAMS = (
        Param("x", int, 64, "|x|, the dimension of the prototype vectors", 1, 100_000, scaling=INPUT),
        Param("frames", int, 10, "frames per sequence before the blank one; |y| = frames", 2, 256),
        Param("protos", int, 10, "number of prototypes", 2, 100_000),
        Param("noise", float, 1.0, "std of the noise added to every coordinate of a frame", 0.0, 100.0),
        *split_sizes(),
    )

    def __init__(self, params: dict):
        p = params
        check_size(
            self.family,
            (
                f"{SPLITS_FORMULA} x (frames+1) x x",
                "n_train, n_val, n_test, frames or x",
                split_total(p) * (p["frames"] + 1) * p["x"],
            ),
            ("protos x x", "protos or x", p["protos"] * p["x"]),
        )
        self.params = params
        self.name = canonical(self.family, self.PARAMS, params)

    def info(self) -> TaskInfo:
        p = self.params
        return TaskInfo(
            name=self.name,
            input_dim=p["x"],
            output_dim=p["frames"],
            seq_len=p["frames"] + 1,
            n_train=p["n_train"],
            n_val=p["n_val"],
            n_test=p["n_test"],
            loss="cross_entropy",
            params=dict(p),
            description="anomaly position among noisy copies of random prototypes",
        )

    def build(self, seed: int) -> TaskData:
        p = self.params
        frames, k = p["frames"], p["protos"]
        protos = torch.randn(k, p["x"], generator=make_generator(seed, 10))
        out = {}
        for i, split in enumerate(SPLITS):
            g, n = make_generator(seed, 1 + i), p[f"n_{split}"]
            normal = torch.randint(k, (n,), generator=g)
            other = (normal + 1 + torch.randint(k - 1, (n,), generator=g)) % k  # a different prototype
            pos = torch.randint(frames, (n,), generator=g)
            which = normal[:, None].repeat(1, frames)
            which[torch.arange(n), pos] = other
            x = protos[which] + p["noise"] * torch.randn(n, frames, p["x"], generator=g)  # (n, frames, x)
            out[f"x_{split}"] = torch.cat([x, torch.zeros(n, 1, p["x"])], 1).contiguous()
            out[f"y_{split}"] = pos[:, None].repeat(1, frames + 1).contiguous()
        loss_steps = torch.zeros(frames + 1, dtype=torch.bool)
        loss_steps[-1] = True
        return TaskData(
            name=self.name, loss="cross_entropy", loss_steps=loss_steps, params={**p, "n_classes": frames}, **out
        )
