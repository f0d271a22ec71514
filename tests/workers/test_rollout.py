"""Policy rollouts in the real AdroitHandHammer-v1, offline: a tiny Minari data set recorded
here with Minari's DataCollector, a trained pack, 2 episodes x 20 steps per model."""

import sys

import numpy as np
import pytest
import torch

from hpsweep.workers.descriptors import BLOCKS, Densities
from hpsweep.workers.errors import TaskError
from hpsweep.workers.model import BlockRNN
from hpsweep.workers.packed import ModelSpec
from hpsweep.workers.rollout import RolloutConfig, episode_seeds, make_env, repack, roll_out, rollout_returns
from hpsweep.workers.tasks import get_task, load_task_data
from hpsweep.workers.trainer import TrainSettings, train_pack
from tests.minari_helpers import make_hammer_dataset
from tests.workers.extras import require_extra

require_extra("minari", "gymnasium_robotics", "mujoco", "jax", extra="hammer")

DATASET_ID = "hpsweep/hammer-tiny-v0"
TASK = f"minari:{DATASET_ID}(split=4/1/1,rollouts=2,rollout_steps=20)"
# three models of one task: different |h| (padding), densities and seeds, two sharing a seed
SPECS = [
    ModelSpec(46, 26, 12, Densities.uniform(1.0), 0, 3e-3),
    ModelSpec(46, 26, 20, Densities(0.3, 1, 1, 0.2, 0.5, 1), 1, 3e-3),
    ModelSpec(46, 26, 7, Densities.uniform(0.5), 0, 1e-3),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(data, trained PackResult with rollouts) on the tiny hammer set."""
    root = tmp_path_factory.mktemp("hammer")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
        mp.setenv("HPSWEEP_CACHE", str(root / "cache"))
        make_hammer_dataset(DATASET_ID, episodes=6, steps=20)
        data = load_task_data(TASK, seed=0)
        result = roll_out(data, train_pack(data, SPECS, TrainSettings(epochs=3, batch_size=2, device="cpu")))
        yield data, result


def reference_net(packed, i: int) -> BlockRNN:
    """Model i of a packed model as the reference BlockRNN (workers/model.py)."""
    net = BlockRNN(packed.specs[i].config())
    with torch.no_grad():
        for name in BLOCKS:
            getattr(net, f"w_{name}").copy_(packed.block(i, name))
        b_h, b_y = packed.biases(i)
        net.b_h.copy_(b_h), net.b_y.copy_(b_y)
    return net


def reference_returns(net: BlockRNN, cfg: RolloutConfig, seed: int, mean: torch.Tensor, std: torch.Tensor) -> list:
    """One model alone, one environment at a time, the slow way: at every step the whole observation
    history goes through BlockRNN.forward from a zero state and the last output is the action."""
    returns = []
    for episode_seed in episode_seeds(seed, cfg.episodes):
        env = make_env(cfg.env, cfg.steps, "test")
        obs, _ = env.reset(seed=episode_seed)
        history, total = [], 0.0
        for _ in range(cfg.steps):
            history.append((torch.from_numpy(obs.astype(np.float32)) - mean) / std)
            with torch.no_grad():
                action = net(torch.stack(history)[None])[0, -1].numpy()
            obs, reward, term, trunc, _ = env.step(np.clip(action, env.action_space.low, env.action_space.high))
            total += reward
            if term or trunc:
                break
        env.close()
        returns.append(total)
    return returns


def test_returns_are_finite_with_the_configured_episodes_and_steps(trained):
    data, result = trained
    cfg = RolloutConfig.from_params(data.params["rollout"])
    assert (cfg.episodes, cfg.steps, cfg.ref_source) == (2, 20, "none")
    assert [r.episodes for r in result.rollouts] == [2, 2, 2] and [r.steps for r in result.rollouts] == [20] * 3
    assert all(np.isfinite([r.return_mean, r.return_std]).all() for r in result.rollouts)
    assert result.rollout_seconds > 0


def test_packed_rollout_equals_each_model_alone_through_the_reference(trained):
    data, result = trained
    cfg = RolloutConfig.from_params(data.params["rollout"])
    packed = result.lanes[0][0]
    raw = get_task(TASK.replace(")", ",normalize=false)")).build(0).x_train  # the training split, unscaled
    mean, std = raw.mean((0, 1)), raw.std((0, 1)).clamp_min(1e-6)
    returns, steps = rollout_returns(packed, cfg, [s.seed for s in SPECS], "test")
    assert steps == 3 * 2 * 20
    for i, spec in enumerate(SPECS):
        alone = reference_returns(reference_net(packed, i), cfg, spec.seed, mean, std)
        np.testing.assert_allclose(returns[i], alone, rtol=1e-6, atol=1e-6)
        assert result.rollouts[i].return_mean == pytest.approx(np.mean(alone), rel=1e-6)


def test_returns_are_deterministic_and_do_not_depend_on_the_pack(trained):
    data, result = trained
    cfg = RolloutConfig.from_params(data.params["rollout"])
    packed = result.lanes[0][0]
    seeds = [s.seed for s in SPECS]
    first, _ = rollout_returns(packed, cfg, seeds, "test")
    np.testing.assert_array_equal(first, rollout_returns(packed, cfg, seeds, "test")[0])  # same seeds: same bits
    waves, _ = rollout_returns(packed, cfg, seeds, "test", env_limit=1)  # one episode per wave: same returns
    np.testing.assert_allclose(waves, first, rtol=1e-6)  # (other batch shapes round the matmuls differently)
    alone, _ = rollout_returns(repack([(packed, 1)], "cpu"), cfg, [seeds[1]], "test")
    np.testing.assert_allclose(alone[0], first[1], rtol=1e-6)
    assert not np.array_equal(first[0], first[1])  # other seeds, other models: other returns


def test_a_diverged_model_is_not_rolled_out(trained):
    data, result = trained
    result.models[1].status = "diverged"
    try:
        again = roll_out(data, result)
        assert again.rollouts[1] is None
        assert again.rollouts[0].return_mean == pytest.approx(result.rollouts[0].return_mean)
    finally:
        result.models[1].status = "ok"


@pytest.mark.parametrize("missing", ["gymnasium_robotics", "mujoco"])
def test_a_missing_environment_package_is_one_line_naming_the_extra(trained, monkeypatch, missing):
    data, _ = trained
    for name in [m for m in sys.modules if m.split(".")[0] in ("gymnasium_robotics", "mujoco")]:
        if name.split(".")[0] == missing:
            monkeypatch.setitem(sys.modules, name, None)  # importing it now fails, as when not installed
        else:
            monkeypatch.delitem(sys.modules, name)  # imported afresh, so it meets the missing one
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(TaskError) as e:
        make_env(data.params["rollout"]["env"], 20, "minari:x")
    assert str(e.value) == (
        "task minari:x: rollouts in AdroitHandHammer-v1 need gymnasium-robotics and mujoco "
        f"({missing} is missing): pip install 'hpsweep[hammer]', or rollouts=0 to score "
        "by r2 only"
    )
