"""Regression on the outputs of a random sparse teacher RNN.

The teacher has the block structure of docs/method.md §1 (its output reads the input now and the
hidden state of the step before), a tanh hidden layer of `h` units, every weight block kept with
probability `density`, and W_hh scaled to spectral radius `rho`. Inputs are i.i.d. N(0, 1);
targets are standardized with the training split's statistics, then `noise` x N(0, 1) is added.

Easy or hard: `rho` near 0 makes the target depend on the last input or two; near 1 it keeps a
long memory. A larger teacher `h` than the student's |h| cannot be fitted exactly. `noise` caps
the score at about 1 / (1 + noise^2). A dense `density` mixes every input into every unit.
"""

from __future__ import annotations

import math

import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.tasks._base import TaskInfo, make_generator
from hpsweep.workers.tasks._params import INPUT, SPLITS_FORMULA, Param, canonical, check_size, split_sizes, split_total

SPLITS = ("train", "val", "test")


class TeacherTask:
    """`teacher(x=32,y=8,t=20,h=32,density=0.2,rho=0.9,noise=0,n_train=1000,n_val=250,n_test=250)`."""

    family = "teacher"
    PARAMS = (
        Param("x", int, 32, "|x|, inputs per step", 1, 100_000, scaling=INPUT),
        Param("y", int, 8, "|y|, targets per step", 1, 10_000),
        Param("t", int, 20, "steps per sequence; the loss counts at every step", 1, 10_000),
        Param("h", int, 32, "hidden units of the teacher", 1, 10_000),
        Param("density", float, 0.2, "probability that a teacher weight is kept", 0.001, 1.0),
        Param("rho", float, 0.9, "spectral radius of the teacher's W_hh (memory length)", 0.0, 2.0),
        Param("noise", float, 0.0, "std of noise added to the standardized targets", 0.0, 100.0),
        *split_sizes(),
    )

    def __init__(self, params: dict):
        p = params
        check_size(
            self.family,
            (
                f"{SPLITS_FORMULA} x t x (x+y)",
                "n_train, n_val, n_test, t, x or y",
                split_total(p) * p["t"] * (p["x"] + p["y"]),
            ),
            ("(h+y) x (x+h)", "h, x or y", (p["h"] + p["y"]) * (p["x"] + p["h"])),
        )  # the teacher's weights
        self.params = params
        self.name = canonical(self.family, self.PARAMS, params)

    def info(self) -> TaskInfo:
        p = self.params
        return TaskInfo(
            name=self.name,
            input_dim=p["x"],
            output_dim=p["y"],
            seq_len=p["t"],
            n_train=p["n_train"],
            n_val=p["n_val"],
            n_test=p["n_test"],
            loss="mse",
            params=dict(p),
            description="regression on a random sparse teacher RNN's outputs",
        )

    def _teacher(self, g: torch.Generator) -> dict[str, torch.Tensor]:
        p = self.params
        shapes = {"hx": (p["h"], p["x"]), "hh": (p["h"], p["h"]), "yx": (p["y"], p["x"]), "yh": (p["y"], p["h"])}
        w = {}
        for block, shape in shapes.items():
            mask = torch.rand(shape, generator=g, dtype=torch.float64) < p["density"]
            w[block] = torch.randn(shape, generator=g, dtype=torch.float64) * mask
            w[block] /= math.sqrt(max(p["density"] * shape[1], 1e-12))  # unit-scale pre-activations
        radius = float(torch.linalg.eigvals(w["hh"]).abs().max())
        w["hh"] = w["hh"] * (p["rho"] / radius) if radius > 1e-12 else w["hh"]
        return w

    def build(self, seed: int) -> TaskData:
        p = self.params
        w = self._teacher(make_generator(seed, 10))
        xs, ys = {}, {}
        for i, split in enumerate(SPLITS):
            g = make_generator(seed, 1 + i)
            x = torch.randn(p[f"n_{split}"], p["t"], p["x"], generator=g, dtype=torch.float64)
            h = torch.zeros(x.shape[0], p["h"], dtype=torch.float64)
            out = []
            for x_t in x.unbind(1):
                out.append(x_t @ w["yx"].T + h @ w["yh"].T)  # output reads h of the step before
                h = torch.tanh(x_t @ w["hx"].T + h @ w["hh"].T)
            xs[split], ys[split] = x, torch.stack(out, 1)  # (N, T, Y)
        mean = ys["train"].mean((0, 1))
        std = ys["train"].std((0, 1)).clamp_min(1e-8)
        out = {}
        for i, split in enumerate(SPLITS):
            noise = torch.randn(ys[split].shape, generator=make_generator(seed, 20 + i), dtype=torch.float64)
            out[f"x_{split}"] = xs[split].float()
            out[f"y_{split}"] = ((ys[split] - mean) / std + p["noise"] * noise).float()
        return TaskData(
            name=self.name, loss="mse", loss_steps=torch.ones(p["t"], dtype=torch.bool), params=dict(p), **out
        )
