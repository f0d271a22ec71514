"""Behaviour cloning from a Minari data set on local disk, scored by policy rollouts in its environment.

Observation -> action at every step.

`minari:<dataset_id>` reads the data set from Minari's local store ($MINARI_DATASETS_PATH, else
~/.minari/datasets); it never downloads. The paper's Adroit Hammer is
`minari:D4RL/hammer/expert-v2` in current Minari (`hammer-expert-v1` in Minari < 0.5):
|x| = 46, |y| = 26, 200 steps per episode. Episodes are split whole into train/val/test by the
data seed (default 90/5/5). Episodes are cut to `t` steps (default: the shortest episode) so
every sequence has the same length; observations are standardized with the training episodes'
mean and std (normalize=false keeps them raw). MSE and r2 at every step.

Rollout scoring: when the data set names an environment (or `env=<gymnasium id>` is
given) and rollouts > 0, every trained model is also run as a policy in that environment
(workers/rollout.py): `rollouts` episodes of `rollout_steps` steps (defaults: the paper's 100 x
200 for hammer; the steps replace the environment's own episode limit). The score is then the
normalised return, mean return / reference return (`ref_return`; else the data set's metadata
`ref_max_score`; else the mean episode return of the data set itself, when positive), with r2
kept beside it. Adroit needs gymnasium-robotics and mujoco: pip install 'hpsweep[hammer]'.

Easy or hard: expert demonstrations are nearly a function of the current observation, so the
task mostly asks for a wide input-to-output map; the long episodes test stability of the
recurrence. r2 on held-out episodes says how well actions are copied; the return says whether
the copy acts well, where small errors compound over an episode.
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
from hpsweep.workers.tasks._params import DATA, Param, canonical, format_value, parse_split, split_counts

DOWNLOAD_HINT = (
    "pip install 'hpsweep[minari]' then `minari download {id}` on a machine with network "
    "(e.g. D4RL/hammer/expert-v2 for the paper's Adroit Hammer), and copy the folder under "
    "$MINARI_DATASETS_PATH (default ~/.minari/datasets)"
)


class MinariTask:
    """`minari:<dataset_id>(split=90/5/5,t=0,normalize=true,rollouts=100,rollout_steps=200,ref_return=0,env=)`."""

    family = "minari"
    example = "minari:D4RL/hammer/expert-v2"
    PARAMS = (
        Param("split", str, "90/5/5", "train/val/test shares of the episodes"),
        Param(
            "t",
            int,
            0,
            "steps per sequence: episodes are cut to their first t steps (0 = the shortest episode)",
            0,
            10**6,
        ),
        Param("normalize", bool, True, "standardize observations with the training episodes' mean and std"),
        Param(
            "rollouts",
            int,
            100,
            "policy rollouts per model after training, in the environment (0 = none: score r2)",
            0,
            10**5,
            scaling=DATA,
        ),
        Param("rollout_steps", int, 200, "steps per rollout (the paper's 200 for hammer)", 1, 10**6, scaling=DATA),
        Param(
            "ref_return",
            float,
            0.0,
            "return that normalises the score (0 = the data set's ref_max_score, else its mean episode return)",
            0.0,
            1e12,
        ),
        Param("env", str, "", "gymnasium id to roll out in (default: the environment the data set names)"),
    )  # --scale shrinks the rollouts with the data factor (never below min(value, 10)); the data set is never cut

    def __init__(self, dataset_id: str, params: dict):
        self.dataset_id = dataset_id
        self.params = params
        self.fractions = parse_split(self.family, params["split"])
        head = f"minari:{dataset_id}"
        self.name = canonical(head, self.PARAMS, params)

    @cached_property
    def _episodes(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return self._loaded[:2]

    @cached_property
    def _loaded(self) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
        """(observations, actions, facts for rollouts: env spec, reference scores, mean return)."""
        try:
            import minari
        except ImportError:
            raise TaskError(
                f"task minari:{self.dataset_id} needs the minari package: pip install 'hpsweep[minari]'"
            ) from None
        try:
            ds = minari.load_dataset(self.dataset_id)
        except FileNotFoundError:
            root = os.environ.get("MINARI_DATASETS_PATH", "~/.minari/datasets")
            raise TaskError(
                f"task minari: data set {self.dataset_id!r} is not on local disk under {root}; "
                + DOWNLOAD_HINT.format(id=self.dataset_id)
            ) from None
        obs, act, returns = [], [], []
        for ep in ds.iterate_episodes():
            returns.append(float(np.sum(ep.rewards)))
            o, a = ep.observations, ep.actions
            if not isinstance(o, np.ndarray) or not isinstance(a, np.ndarray):
                raise TaskError(
                    f"task minari:{self.dataset_id}: observations and actions must be Box arrays; "
                    f"got {type(o).__name__} and {type(a).__name__}"
                )
            obs.append(o[: len(a)].reshape(len(a), -1))  # observations hold one more (the final) state
            act.append(a.reshape(len(a), -1))
        if len(obs) < 3:
            raise TaskError(
                f"task minari:{self.dataset_id}: {len(obs)} episodes are too few to split into train/val/test"
            )
        meta = ds.storage.metadata
        facts = {
            "env": ds.env_spec.to_json() if ds.env_spec is not None else None,
            "ref_max_score": meta.get("ref_max_score"),
            "mean_return": float(np.mean(returns)),
        }
        return obs, act, facts

    def _seq_len(self) -> int:
        shortest = min(len(a) for a in self._episodes[1])
        t = self.params["t"] or shortest
        if t > shortest:
            raise TaskError(
                f"task minari:{self.dataset_id}: parameter 't' must be at most the shortest episode "
                f"({shortest} steps); got {t}"
            )
        return t

    def cache_token(self) -> str:
        root = Path(os.environ.get("MINARI_DATASETS_PATH", Path.home() / ".minari" / "datasets"))
        meta = root / self.dataset_id / "data" / "metadata.json"
        # "r1": the cached params carry the rollout configuration since rollout scoring was added
        return f"{root}|{meta.stat().st_mtime_ns if meta.exists() else 0}|r1"

    def info(self) -> TaskInfo:
        obs, act = self._episodes
        n_train, n_val, n_test = split_counts(self.name, len(obs), self.fractions)
        return TaskInfo(
            name=self.name,
            input_dim=obs[0].shape[1],
            output_dim=act[0].shape[1],
            seq_len=self._seq_len(),
            n_train=n_train,
            n_val=n_val,
            n_test=n_test,
            loss="mse",
            params={**self.params, "dataset_id": self.dataset_id, "episodes": len(obs), **self._rollout_info()},
            description=f"behaviour cloning on Minari {self.dataset_id}: observation -> action" + self._rollout_words(),
        )

    def build(self, seed: int) -> TaskData:
        obs, act = self._episodes
        t = self._seq_len()
        counts = split_counts(self.name, len(obs), self.fractions)
        order = torch.randperm(len(obs), generator=make_generator(seed, 0)).tolist()
        x_all = torch.from_numpy(np.stack([o[:t] for o in obs]).astype(np.float32))  # (E, T, X)
        y_all = torch.from_numpy(np.stack([a[:t] for a in act]).astype(np.float32))  # (E, T, Y)
        out, start = {}, 0
        for split, n in zip(("train", "val", "test"), counts):
            idx = torch.tensor(order[start : start + n])
            out[f"x_{split}"], out[f"y_{split}"] = x_all[idx], y_all[idx]
            start += n
        if self.params["normalize"]:
            mean = out["x_train"].mean((0, 1))
            std = out["x_train"].std((0, 1)).clamp_min(1e-6)  # constant observations stay 0
            for split in ("train", "val", "test"):
                out[f"x_{split}"] = ((out[f"x_{split}"] - mean) / std).contiguous()
            stats = mean, std
        else:
            stats = None
        extra = {"rollout": self.rollout_config(stats).to_params()} if self._env() else {}
        return TaskData(
            name=self.name,
            loss="mse",
            loss_steps=torch.ones(t, dtype=torch.bool),
            params={**self.params, "dataset_id": self.dataset_id, **extra},
            **out,
        )

    def _env(self) -> str | None:
        """The environment to roll out in (None: no rollouts)."""
        if self.params["rollouts"] == 0:
            return None
        env = self.params["env"] or self._loaded[2]["env"]
        if not env:
            raise TaskError(
                f"task {self.name}: the data set names no environment to roll out in; "
                "give env=<gymnasium id> or rollouts=0"
            )
        return env

    def rollout_config(self, stats=None):
        """The RolloutConfig of this task (stats: the training split's observation mean and std)."""
        from hpsweep.workers.rollout import RolloutConfig

        facts, env = self._loaded[2], self._env()
        if self.params["ref_return"] > 0:
            ref, source = self.params["ref_return"], "param"
        elif facts["ref_max_score"] is not None and facts["ref_max_score"] > 0:
            ref, source = float(facts["ref_max_score"]), "metadata"
        elif facts["mean_return"] > 0:
            ref, source = facts["mean_return"], "dataset mean"
        else:
            ref, source = None, "none"
        mean, std = (tuple(v.tolist()) for v in stats) if stats else (None, None)  # float32 values, exactly
        return RolloutConfig(
            env=env,
            episodes=self.params["rollouts"],
            steps=self.params["rollout_steps"],
            ref_return=ref,
            ref_source=source,
            obs_mean=mean,
            obs_std=std,
        )

    def _rollout_info(self) -> dict:
        """What info() says of the rollouts; making one environment checks, at planning, that the
        packages it needs are installed (else one line naming the extra)."""
        from hpsweep.workers.rollout import check_env, env_name

        if not self._env():
            return {}
        cfg = self.rollout_config()
        obs, act = self._episodes
        check_env(cfg.env, self.name, obs[0].shape[1], act[0].shape[1])
        return {
            "rollout_env": env_name(cfg.env),
            "ref_return": cfg.ref_return,
            "ref_source": cfg.ref_source,
            "score_name": "normalized_return" if cfg.ref_return else "return",
        }

    def _rollout_words(self) -> str:
        from hpsweep.workers.rollout import env_name

        if not self._env():
            return "; scored by r2 (no rollouts)"
        cfg = self.rollout_config()
        ref = (
            f"return / {format_value(cfg.ref_return)} ({cfg.ref_source})"
            if cfg.ref_return
            else "return (no positive reference)"
        )
        return (
            f"; scored by {cfg.episodes} rollouts x {cfg.steps} steps per model in {env_name(cfg.env)}: "
            f"{ref}, r2 kept as test_offline_score"
        )
