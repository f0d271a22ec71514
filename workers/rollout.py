"""Policy rollouts: the trained models of a pack act in their task's environment.

The paper scores behaviour cloning on Adroit Hammer by the return of the cloned policy, not by
the fit of its actions (docs/method.md §4). After training, every model of a pack is a policy:
observation in, action out, its recurrent state carried through the episode. All K models act in
lock-step: one batched step of the packed model (workers/packed.py) per environment step, over
K x E environments (E episodes per model) held in one gymnasium SyncVectorEnv. The step keeps
the model's semantics (docs/method.md §1): z_{t+1} = act(W_in x_{t+1} + W_rec z_t + b), so the action
y_{t+1} reads the previous hidden state h_t, exactly as in training.

- Observations are standardized with the training split's mean and std, as in training; the
  actions were never normalized, so the network's outputs are the actions, clipped to the action
  space.
- Episode e of a model whose seed is s resets its environment with `episode_seeds(s, E)[e]`:
  a model's return is the same packed or alone, and models of equal seed meet the same starts.
- Environments cost memory (about 7.5 MB each for Adroit Hammer), so at most `max_envs`
  (default 256, $HPSWEEP_ROLLOUT_ENVS) exist at once: the E episodes run in waves of
  max(1, max_envs // K) episodes per model, every wave with all K models in lock-step.
- On a GPU worker the network steps on the GPU and the environments on the CPU (one process,
  MuJoCo's simulation dominates: about 2,000 Adroit steps/s per core).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np
import torch

from hpsweep.workers.errors import TaskError

MAX_ENVS_VAR = "HPSWEEP_ROLLOUT_ENVS"
DEFAULT_MAX_ENVS = 256
_SALT = 0x0A11_0047  # keeps rollout seeds apart from every other stream drawn from a model seed
ENV_EXTRA = "hammer"  # pyproject extra with gymnasium-robotics and mujoco


@dataclass(frozen=True)
class RolloutConfig:
    """How a task's models are rolled out; travels in TaskData.params["rollout"] (plain values)."""

    env: str  # a gymnasium EnvSpec as JSON (from the data set) or a registered id
    episodes: int
    steps: int
    ref_return: float | None  # return that normalises the score; None: no normalised score
    ref_source: str  # where ref_return came from: "param", "metadata", "dataset mean" or "none"
    obs_mean: tuple[float, ...] | None = None  # the training split's statistics (None: raw observations)
    obs_std: tuple[float, ...] | None = None

    def to_params(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_params(cls, params: dict) -> RolloutConfig:
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()})


@dataclass(frozen=True)
class ModelRollout:
    """One model's rollout outcome (the row's rollout columns)."""

    return_mean: float
    return_std: float
    normalized: float | None
    ref_return: float | None
    episodes: int
    steps: int


def env_name(env: str) -> str:
    """The environment's id, from an EnvSpec JSON or an id."""
    if env.lstrip().startswith("{"):
        import json

        return json.loads(env).get("id", env)
    return env.removeprefix("gym:")


def make_env(env: str, steps: int, task: str):
    """One environment of the rollouts, its episodes cut at `steps` steps.

    Raises:
        TaskError: one line when gymnasium, gymnasium-robotics or mujoco is missing (naming the
            extra to install) or when the id is unknown.
    """
    try:
        import gymnasium as gym
        from gymnasium.envs.registration import EnvSpec

        spec = EnvSpec.from_json(env) if env.lstrip().startswith("{") else _registered(gym, env.removeprefix("gym:"))
        return gym.make(spec, max_episode_steps=steps)
    except Exception as e:
        missing = _missing_module(e)
        if missing:
            raise TaskError(
                f"task {task}: rollouts in {env_name(env)} need gymnasium-robotics and mujoco "
                f"({missing} is missing): pip install 'hpsweep[{ENV_EXTRA}]', or rollouts=0 to score by "
                "r2 only"
            ) from None
        if type(e).__module__.startswith("gymnasium.error"):  # an unknown id, a bad spec: one line for the user
            raise TaskError(
                f"task {task}: cannot make environment {env_name(env)!r} for rollouts: "
                f"{str(e).splitlines()[0][:100]}; give env=<gymnasium id> or rollouts=0"
            ) from None
        raise


def _missing_module(error: BaseException | None) -> str | None:
    """The top-level module whose import failed, along the exception chain (gymnasium-robotics
    re-raises a missing mujoco as gymnasium's DependencyNotInstalled)."""
    while error is not None:
        if isinstance(error, ImportError):
            return (error.name or "gymnasium_robotics").split(".")[0]
        error = error.__cause__ or error.__context__
    return None


def check_env(env: str, task: str, input_dim: int, output_dim: int) -> None:
    """Make (and close) one environment: a missing package or an environment whose spaces do not
    fit the task's |x| and |y| stops a sweep at planning, in one line."""
    made = make_env(env, 1, task)
    try:
        dims = (int(np.prod(made.observation_space.shape or (0,))), int(np.prod(made.action_space.shape or (0,))))
    finally:
        made.close()
    if dims != (input_dim, output_dim):
        raise TaskError(
            f"task {task}: environment {env_name(env)} observes {dims[0]} and acts with {dims[1]} "
            f"values; the data set has |x| = {input_dim}, |y| = {output_dim}; give env=<a matching id> "
            "or rollouts=0"
        )


def _registered(gym, env_id: str):
    """gym.spec(env_id), registering Gymnasium-Robotics' environments first when it is installed."""
    if env_id not in gym.registry:
        try:
            import gymnasium_robotics

            gym.register_envs(gymnasium_robotics)
        except ImportError:
            if env_id.startswith("AdroitHand"):
                raise
    return gym.spec(env_id)


def episode_seeds(model_seed: int, episodes: int) -> list[int]:
    """Reset seeds of a model's episodes, from its seed alone."""
    state = np.random.SeedSequence([_SALT, int(model_seed) & 0xFFFFFFFF]).generate_state(episodes, dtype=np.uint32)
    return [int(s) for s in state]


def obs_normalizer(cfg: RolloutConfig, device):
    """Environment observations -> network inputs with the training split's arithmetic (float32
    observations, then (x - mean) / std); the statistics are moved to the device once."""
    stats = None
    if cfg.obs_mean is not None:
        stats = [torch.tensor(v, dtype=torch.float32, device=device) for v in (cfg.obs_mean, cfg.obs_std)]

    def normalize(obs: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.asarray(obs, dtype=np.float32).reshape(len(obs), -1)).to(device)
        return x if stats is None else (x - stats[0]) / stats[1]

    return normalize


def packed_step(model, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """One step of every model of a packed model: x (K, B, X), z_t (K, B, S) -> z_{t+1} (K, B, S).

    z_{t+1} = act(W_in x_{t+1} + W_rec z_t + b): relu on the hidden slots, identity on the outputs,
    so the outputs read the previous hidden state (docs/method.md §1), as in `recurrence_forward`.
    """
    u = torch.baddbmm(model.bias.unsqueeze(1), x, model.w_in.transpose(1, 2))
    u.baddbmm_(z, model.w_rec.transpose(1, 2))
    u[..., : model.n_hidden].clamp_(min=0)
    return u


def max_envs() -> int:
    return max(1, int(os.environ.get(MAX_ENVS_VAR, DEFAULT_MAX_ENVS)))


@torch.no_grad()
def rollout_returns(
    model, cfg: RolloutConfig, seeds: list[int], task: str, env_limit: int | None = None
) -> tuple[np.ndarray, int]:
    """Returns (K, episodes) of every model of a packed model, and the environment steps taken.

    Args:
        model: a PackedBlockRNN (trained); it stays on its device.
        cfg: environment, episodes, steps and observation statistics.
        seeds: each model's seed (its episodes' reset seeds come from it).
        env_limit: environments alive at once (default `max_envs()`).
    """
    import gymnasium as gym

    k, device = model.k, model.w_in.device
    wave = max(1, min(cfg.episodes, (env_limit or max_envs()) // k))
    envs = gym.vector.SyncVectorEnv([lambda: make_env(cfg.env, cfg.steps, task) for _ in range(k * wave)])
    low, high = envs.single_action_space.low, envs.single_action_space.high
    all_seeds = [episode_seeds(s, cfg.episodes) for s in seeds]
    normalize = obs_normalizer(cfg, device)
    returns = np.zeros((k, cfg.episodes))
    env_steps = 0
    try:
        for start in range(0, cfg.episodes, wave):
            n = min(wave, cfg.episodes - start)
            reset = [all_seeds[i][start + min(e, n - 1)] for i in range(k) for e in range(wave)]
            obs, _ = envs.reset(seed=reset)
            z = torch.zeros(k, wave, model.w_rec.shape[1], device=device)
            total = np.zeros(k * wave)
            done = np.zeros(k * wave, dtype=bool)
            for _ in range(cfg.steps):
                z = packed_step(model, normalize(obs).view(k, wave, -1), z)
                action = z[..., model.n_hidden :].reshape(k * wave, -1).cpu().numpy()
                obs, reward, term, trunc, _ = envs.step(np.clip(action, low, high))
                total += np.where(done, 0.0, reward)  # an ended episode's env resets on its next step
                env_steps += int((~done).sum())
                done |= term | trunc
                if done.all():
                    break
            returns[:, start : start + n] = total.reshape(k, wave)[:, :n]
    finally:
        envs.close()
    return returns, env_steps


def summarize(returns: np.ndarray, cfg: RolloutConfig) -> ModelRollout:
    """One model's returns -> mean, std (population), normalised mean."""
    mean = float(returns.mean())
    ref = cfg.ref_return
    return ModelRollout(
        return_mean=mean,
        return_std=float(returns.std()),
        normalized=mean / ref if ref and math.isfinite(mean) else None,
        ref_return=ref,
        episodes=len(returns),
        steps=cfg.steps,
    )


def repack(sources: list, device) -> object:
    """One packed model whose model i is `sources[i]` = (a PackedBlockRNN, its index there): the
    trained chunks (trainer lanes) of a pack become ONE model, so all its models step together.
    Weights are copied block by block through the views `PackedBlockRNN.block` and `.biases` return."""
    from hpsweep.workers.descriptors import BLOCKS
    from hpsweep.workers.packed import PackedBlockRNN

    nets = {id(net) for net, _ in sources}
    net0 = sources[0][0]
    if len(nets) == 1 and [j for _, j in sources] == list(range(net0.k)):
        return net0  # already the pack, in order
    merged = PackedBlockRNN([net.specs[j] for net, j in sources], device=device)
    with torch.no_grad():
        for i, (net, j) in enumerate(sources):
            for name in BLOCKS:
                merged.block(i, name).copy_(net.block(j, name))
            for dst, src in zip(merged.biases(i), net.biases(j)):
                dst.copy_(src)
    return merged


def roll_out(data, result):
    """Roll out the models of a trained pack when its task has rollouts; fills `result.rollouts`
    (a ModelRollout per model, None for a diverged one) and `result.rollout_seconds`.

    Args:
        data: the task's TaskData (rollouts are configured in data.params["rollout"]).
        result: train_pack's PackResult, with its trained `lanes` ((PackedBlockRNN, model indices)).
    """
    params = data.params.get("rollout")
    if not params or not result.lanes:
        return result
    cfg = RolloutConfig.from_params(params)
    source = {i: (net, j) for net, chunk in result.lanes for j, i in enumerate(chunk)}
    alive = [i for i, m in enumerate(result.models) if m.status == "ok"]  # diverged models do not act
    started = time.perf_counter()
    rollouts = [None] * len(result.models)
    if alive:
        model = repack([source[i] for i in alive], result.lanes[0][0].w_in.device)
        returns, _ = rollout_returns(model, cfg, [s.seed for s in model.specs], data.name)
        for j, i in enumerate(alive):
            rollouts[i] = summarize(returns[j], cfg)
    result.rollouts, result.rollout_seconds = rollouts, time.perf_counter() - started
    return result
