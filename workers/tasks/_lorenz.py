"""Forecasting Lorenz-96: dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, indices mod n.

Integrated with classic RK4 at an inner step of at most 0.01 time units, in float64. Each
sequence starts from its own point on the attractor (a random start run for 10 time units first).
Input at step t: the standardized state (plus optional observation noise); target: the state
`horizon` steps of `dt` later. MSE and r2 at every step.

Easy or hard: F = 8 is chaotic (largest Lyapunov exponent about 1.7, doubling time about 0.4
time units), so `horizon * dt` well under 0.4 is a smooth one-step map and well above it is
nearly unpredictable; F below about 1 decays to a fixed point (trivial). Observation `noise`
makes the model average over time, which needs memory.
"""

from __future__ import annotations

import math

import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.tasks._base import TaskInfo, make_generator
from hpsweep.workers.tasks._params import SPLITS_FORMULA, Param, canonical, check_size, split_sizes, split_total

SPLITS = ("train", "val", "test")
SPINUP_TIME = 10.0
MAX_INNER_STEP = 0.01


def lorenz96_rhs(x: torch.Tensor, forcing: float) -> torch.Tensor:
    """(B, n) -> (B, n) time derivative of Lorenz-96."""
    return (torch.roll(x, -1, 1) - torch.roll(x, 2, 1)) * torch.roll(x, 1, 1) - x + forcing


def rk4(x: torch.Tensor, forcing: float, step: float, n_steps: int) -> torch.Tensor:
    for _ in range(n_steps):
        k1 = lorenz96_rhs(x, forcing)
        k2 = lorenz96_rhs(x + 0.5 * step * k1, forcing)
        k3 = lorenz96_rhs(x + 0.5 * step * k2, forcing)
        k4 = lorenz96_rhs(x + step * k3, forcing)
        x = x + step / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


class LorenzTask:
    """`lorenz(n=8,t=20,forcing=8,dt=0.05,horizon=1,noise=0,n_train=1000,n_val=250,n_test=250)`."""

    family = "lorenz"
    PARAMS = (
        Param("n", int, 8, "variables; |x| = |y| = n", 4, 10_000),  # no scaling: input= would change |y| too
        Param("t", int, 20, "steps per sequence", 1, 10_000),
        Param("forcing", float, 8.0, "F; 8 is chaotic", 0.0, 100.0),
        Param("dt", float, 0.05, "time between steps", 0.001, 10.0),
        Param("horizon", int, 1, "forecast this many steps ahead", 1, 1000),
        Param("noise", float, 0.0, "std of observation noise on the standardized inputs", 0.0, 100.0),
        *split_sizes(),
    )

    def __init__(self, params: dict):
        p = params  # the trajectories, then x and y cut from them
        check_size(
            self.family,
            (
                f"{SPLITS_FORMULA} x (t+horizon) x 2n",
                "n_train, n_val, n_test, t, horizon or n",
                split_total(p) * (p["t"] + p["horizon"]) * 2 * p["n"],
            ),
        )
        self.params = params
        self.name = canonical(self.family, self.PARAMS, params)

    def info(self) -> TaskInfo:
        p = self.params
        return TaskInfo(
            name=self.name,
            input_dim=p["n"],
            output_dim=p["n"],
            seq_len=p["t"],
            n_train=p["n_train"],
            n_val=p["n_val"],
            n_test=p["n_test"],
            loss="mse",
            params=dict(p),
            description="forecast the Lorenz-96 state horizon*dt ahead",
        )

    def _trajectories(self, n_seq: int, g: torch.Generator) -> torch.Tensor:
        """(n_seq, t + horizon, n) states, sampled every dt, each from its own attractor point."""
        p = self.params
        x = p["forcing"] + torch.randn(n_seq, p["n"], generator=g, dtype=torch.float64)
        x = rk4(x, p["forcing"], MAX_INNER_STEP, int(SPINUP_TIME / MAX_INNER_STEP))
        inner = max(1, math.ceil(p["dt"] / MAX_INNER_STEP))
        states = [x]
        for _ in range(p["t"] + p["horizon"] - 1):
            x = rk4(x, p["forcing"], p["dt"] / inner, inner)
            states.append(x)
        return torch.stack(states, 1)

    def build(self, seed: int) -> TaskData:
        p = self.params
        traj = {s: self._trajectories(p[f"n_{s}"], make_generator(seed, 1 + i)) for i, s in enumerate(SPLITS)}
        # Lorenz-96 is symmetric under shifting the index, so one mean and std serve every variable.
        mean, std = traj["train"].mean(), traj["train"].std().clamp_min(1e-8)
        out = {}
        for i, s in enumerate(SPLITS):
            z = (traj[s] - mean) / std
            x = z[:, : p["t"]]
            noise = torch.randn(x.shape, generator=make_generator(seed, 20 + i), dtype=torch.float64)
            out[f"x_{s}"] = (x + p["noise"] * noise).float().contiguous()
            out[f"y_{s}"] = z[:, p["horizon"] :].float().contiguous()
        return TaskData(
            name=self.name, loss="mse", loss_steps=torch.ones(p["t"], dtype=torch.bool), params=dict(p), **out
        )
