"""minari:<id> on a tiny Minari data set built here from a gymnasium environment (no network)."""

import numpy as np
import pytest
import torch

from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks import get_task, score_predictions
from tests.minari_helpers import make_pendulum_dataset
from tests.workers.extras import require_extra

require_extra("minari", "gymnasium", extra="minari")
import minari  # noqa: E402  (after the check: a skip outside CI, a failure in CI)

DATASET_ID = "hpsweep/pendulum-tiny-v0"


def make_minari_dataset(episodes: int = 20, steps: int = 25) -> str:
    return make_pendulum_dataset(DATASET_ID, episodes, steps)


@pytest.fixture(scope="module")
def minari_name(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(tmp_path_factory.mktemp("minari")))
        yield make_minari_dataset()


def test_info_and_split_by_episodes(minari_name):
    info = get_task(minari_name).info()
    assert (info.input_dim, info.output_dim, info.seq_len, info.loss) == (3, 1, 25, "mse")
    assert (info.n_train, info.n_val, info.n_test) == (18, 1, 1)
    data = get_task(f"{minari_name}(split=50/25/25,t=10)").build(0)
    assert (data.n_train, len(data.x_val), len(data.x_test), data.seq_len) == (10, 5, 5, 10)
    assert data.loss_steps.all()


def test_episodes_stay_whole_and_normalization_uses_train(minari_name):
    raw = get_task(f"{minari_name}(normalize=false)").build(3)
    ds = minari.load_dataset(DATASET_ID)
    episodes = {tuple(np.round(e.observations[0], 5)): e for e in ds.iterate_episodes()}
    for x, y in zip(raw.x_train, raw.y_train):
        ep = episodes[tuple(np.round(x[0].numpy(), 5))]
        assert np.allclose(x.numpy(), ep.observations[:25]) and np.allclose(y.numpy(), ep.actions)
    norm = get_task(minari_name).build(3)
    assert torch.allclose(norm.x_train.mean((0, 1)), torch.zeros(3), atol=1e-5)


def test_train_on_it(minari_name):
    """The data set is learnable: a linear map observation -> action reaches r2 > 0.8 on test."""
    data = get_task(f"{minari_name}(split=80/10/10)").build(0)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data.x_train), data.y_train)
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert score_predictions(data, "test", model(data.x_test)) > 0.8


def test_missing_dataset_says_how_to_download(minari_name):
    with pytest.raises(
        TaskError,
        match=r"^task minari: data set 'D4RL/hammer/expert-v2' is not on local disk under .*"
        r"minari download D4RL/hammer/expert-v2",
    ):
        get_task("minari:D4RL/hammer/expert-v2").info()


def test_t_longer_than_the_shortest_episode(minari_name):
    with pytest.raises(
        TaskError,
        match=r"^task minari:hpsweep/pendulum-tiny-v0: parameter 't' must be at most "
        r"the shortest episode \(25 steps\); got 30$",
    ):
        get_task(f"{minari_name}(t=30)").info()


@pytest.mark.parametrize(
    "args, message",
    [
        ("rollouts=-1", "parameter 'rollouts' must be an int in [0, 100000]; got '-1'"),
        ("rollout_steps=0", "parameter 'rollout_steps' must be an int in [1, 1000000]; got '0'"),
        ("ref_return=-5", "parameter 'ref_return' must be a number in [0, 1000000000000]; got '-5'"),
    ],
)
def test_rollout_parameters_out_of_range(args, message):
    with pytest.raises(TaskError) as e:
        get_task(f"minari:D4RL/hammer/expert-v2({args})")
    assert str(e.value) == f"task minari: {message}"


def test_a_data_set_whose_environment_is_given_explicitly_or_switched_off(minari_name):
    assert get_task(f"{minari_name}(rollouts=0)").info().score_name == "r2"
    info = get_task(f"{minari_name}(rollouts=3,env=Pendulum-v1)").info()
    assert (info.params["rollout_env"], info.params["rollouts"], info.score_name) == ("Pendulum-v1", 3, "return")
