"""Behaviour cloning from a Minari data set on local disk: observation -> action at every step.

`minari:<dataset_id>` reads the data set from Minari's local store ($MINARI_DATASETS_PATH, else
~/.minari/datasets); it never downloads. The paper's Adroit Hammer is
`minari:D4RL/hammer/expert-v2` in current Minari (`hammer-expert-v1` in Minari < 0.5):
|x| = 46, |y| = 26, 200 steps per episode. Episodes are split whole into train/val/test by the
data seed (default 90/5/5). Episodes are cut to `t` steps (default: the shortest episode) so
every sequence has the same length; observations are standardized with the training episodes'
mean and std (normalize=false keeps them raw). MSE and r2 at every step.

Easy or hard: expert demonstrations are nearly a function of the current observation, so the
task mostly asks for a wide input-to-output map; the long episodes test stability of the
recurrence. The paper's true score is the return of rollouts, which needs the simulator; r2 on
held-out episodes is the offline stand-in.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks._base import TaskInfo, make_generator
from hpsweep.workers.tasks._params import Param, canonical, parse_split, split_counts

DOWNLOAD_HINT = ("pip install 'hpsweep[minari]' then `minari download {id}` on a machine with network "
                 "(e.g. D4RL/hammer/expert-v2 for the paper's Adroit Hammer), and copy the folder under "
                 "$MINARI_DATASETS_PATH (default ~/.minari/datasets)")


class MinariTask:
    """`minari:<dataset_id>(split=90/5/5,t=0,normalize=true)`."""

    family = "minari"
    example = "minari:D4RL/hammer/expert-v2"
    PARAMS = (
        Param("split", str, "90/5/5", "train/val/test shares of the episodes"),
        Param("t", int, 0, "steps per sequence: episodes are cut to their first t steps (0 = the shortest episode)", 0, 10**6),
        Param("normalize", bool, True, "standardize observations with the training episodes' mean and std"),
    )

    def __init__(self, dataset_id: str, params: dict):
        self.dataset_id = dataset_id
        self.params = params
        self.fractions = parse_split(self.family, params["split"])
        head = f"minari:{dataset_id}"
        self.name = canonical(head, self.PARAMS, params)

    @cached_property
    def _episodes(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        try:
            import minari
        except ImportError:
            raise TaskError(f"task minari:{self.dataset_id} needs the minari package: pip install 'hpsweep[minari]'") from None
        try:
            ds = minari.load_dataset(self.dataset_id)
        except FileNotFoundError:
            root = os.environ.get("MINARI_DATASETS_PATH", "~/.minari/datasets")
            raise TaskError(f"task minari: data set {self.dataset_id!r} is not on local disk under {root}; "
                            + DOWNLOAD_HINT.format(id=self.dataset_id)) from None
        obs, act = [], []
        for ep in ds.iterate_episodes():
            o, a = ep.observations, ep.actions
            if not isinstance(o, np.ndarray) or not isinstance(a, np.ndarray):
                raise TaskError(f"task minari:{self.dataset_id}: observations and actions must be Box arrays; "
                                f"got {type(o).__name__} and {type(a).__name__}")
            obs.append(o[: len(a)].reshape(len(a), -1))  # observations hold one more (the final) state
            act.append(a.reshape(len(a), -1))
        if len(obs) < 3:
            raise TaskError(f"task minari:{self.dataset_id}: {len(obs)} episodes are too few to split into train/val/test")
        return obs, act

    def _seq_len(self) -> int:
        shortest = min(len(a) for a in self._episodes[1])
        t = self.params["t"] or shortest
        if t > shortest:
            raise TaskError(f"task minari:{self.dataset_id}: parameter 't' must be at most the shortest episode "
                            f"({shortest} steps); got {t}")
        return t

    def cache_token(self) -> str:
        root = Path(os.environ.get("MINARI_DATASETS_PATH", Path.home() / ".minari" / "datasets"))
        meta = root / self.dataset_id / "data" / "metadata.json"
        return f"{root}|{meta.stat().st_mtime_ns if meta.exists() else 0}"

    def info(self) -> TaskInfo:
        obs, act = self._episodes
        n_train, n_val, n_test = split_counts(self.name, len(obs), self.fractions)
        return TaskInfo(name=self.name, input_dim=obs[0].shape[1], output_dim=act[0].shape[1],
                        seq_len=self._seq_len(), n_train=n_train, n_val=n_val, n_test=n_test, loss="mse",
                        params={**self.params, "dataset_id": self.dataset_id, "episodes": len(obs)},
                        description=f"behaviour cloning on Minari {self.dataset_id}: observation -> action")

    def build(self, seed: int) -> TaskData:
        obs, act = self._episodes
        t = self._seq_len()
        counts = split_counts(self.name, len(obs), self.fractions)
        order = torch.randperm(len(obs), generator=make_generator(seed, 0)).tolist()
        x_all = torch.from_numpy(np.stack([o[:t] for o in obs]).astype(np.float32))   # (E, T, X)
        y_all = torch.from_numpy(np.stack([a[:t] for a in act]).astype(np.float32))   # (E, T, Y)
        out, start = {}, 0
        for split, n in zip(("train", "val", "test"), counts):
            idx = torch.tensor(order[start:start + n])
            out[f"x_{split}"], out[f"y_{split}"] = x_all[idx], y_all[idx]
            start += n
        if self.params["normalize"]:
            mean = out["x_train"].mean((0, 1))
            std = out["x_train"].std((0, 1)).clamp_min(1e-6)  # constant observations stay 0
            for split in ("train", "val", "test"):
                out[f"x_{split}"] = ((out[f"x_{split}"] - mean) / std).contiguous()
        return TaskData(name=self.name, loss="mse", loss_steps=torch.ones(t, dtype=torch.bool),
                        params={**self.params, "dataset_id": self.dataset_id}, **out)
