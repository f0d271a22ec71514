"""A spec with a minari: task on a local AdroitHandHammer-v1 data set, planned and run pack by pack
through the worker's real path (run_pack: train, roll out, commit Parquet rows): the trials rows
hold finite returns and the normalised return is the score."""

import math
import os
import subprocess
import sys

import pytest

from hpsweep.sweep.coordinator import make_plan
from hpsweep.sweep.pack_runner import PackJob, run_pack
from hpsweep.sweep.spec import parse_spec
from hpsweep.workers.errors import TaskError
from hpsweep.workers.results import ResultsStore
from hpsweep.workers.tasks import get_task
from tests.minari_helpers import make_hammer_dataset
from tests.workers.extras import require_extra

require_extra("minari", "gymnasium_robotics", "mujoco", "jax", extra="hammer")

REF = 50.0  # the data set's metadata ref_max_score (D4RL's data sets carry one)


@pytest.fixture(scope="module")
def hammer_task(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(tmp_path_factory.mktemp("minari")))
        yield make_hammer_dataset("hpsweep/hammer-ref-v0", episodes=5, steps=20, ref_max_score=REF)


def test_info_documents_the_rollouts(hammer_task):
    params = get_task(f"{hammer_task}(rollouts=2,rollout_steps=20)").info().params
    assert (params["rollouts"], params["rollout_steps"], params["rollout_env"]) == (2, 20, "AdroitHandHammer-v1")
    assert (params["ref_return"], params["ref_source"]) == (REF, "metadata")
    given = get_task(f"{hammer_task}(ref_return=12388.345)").info().params
    assert (given["ref_return"], given["ref_source"]) == (12388.345, "param")


def test_a_sweep_on_the_local_hammer_set_stores_finite_returns(hammer_task, tmp_path):
    spec = parse_spec(
        {
            "name": "hammer-local",
            "tasks": [
                {
                    "task": f"{hammer_task}(split=3/1/1,rollouts=2,rollout_steps=20)",
                    "hidden": [6, 10],
                    "densities": {"uniform": [1.0, 0.5]},
                }
            ],
            "training": {"lr": [0.003], "epochs": 2, "batch_size": 2, "seeds": [0]},
            "pack": {"max_models": 4},
        }
    )
    store = ResultsStore(str(tmp_path / "results"))
    plan, _ = make_plan(spec, store.sweep(spec.name))
    assert [len(p.trials) for p in plan.packs] == [4]
    summary = run_pack(PackJob(str(tmp_path / "results"), spec.name, plan.packs[0], device="cpu"), in_ray=False)
    assert summary["written"] and summary["ok"] == 4
    rows = store.read("trials", spec.name).to_pylist()
    assert len(rows) == 4
    for row in rows:
        assert (row["rollout_episodes"], row["rollout_steps"], row["rollout_ref_return"]) == (2, 20, REF)
        assert math.isfinite(row["rollout_return_mean"]) and math.isfinite(row["rollout_return_std"])
        assert row["rollout_normalized"] == pytest.approx(row["rollout_return_mean"] / REF)
        assert (row["score_name"], row["test_score"]) == ("normalized_return", row["rollout_normalized"])
        assert math.isfinite(row["test_offline_score"]) and row["rollout_seconds"] > 0
        assert row["schema_version"] == 3
    assert len({row["rollout_seconds"] for row in rows}) == 1  # one pack, one rollout time


def test_scale_shrinks_the_rollouts_not_the_data_set(hammer_task):
    from hpsweep.sweep.scale import parse_scale, scale_task_name

    assert scale_task_name(hammer_task, parse_scale("0.1")) == f"{hammer_task}(rollouts=10,rollout_steps=20)"
    assert scale_task_name(hammer_task, parse_scale("0.01")) == f"{hammer_task}(rollouts=10,rollout_steps=10)"
    two = f"{hammer_task}(rollouts=2)"  # already below the floor of 10: kept
    assert scale_task_name(two, parse_scale("0.1")) == f"{hammer_task}(rollouts=2,rollout_steps=20)"
    assert scale_task_name(hammer_task, parse_scale("epochs=0.5")) == hammer_task


def test_without_gymnasium_robotics_the_cli_says_which_extra_in_one_line(hammer_task):
    """As a user without the hammer extra meets it: `hpsweep tasks` (and run, at planning) stops."""
    blocked = "import sys; sys.modules['gymnasium_robotics'] = sys.modules['mujoco'] = None; "
    done = subprocess.run(
        [sys.executable, "-c", blocked + "from hpsweep.sweep.cli import main; main()", "tasks", hammer_task],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode != 0
    assert done.stderr.strip() == (
        f"Error: task {hammer_task}: rollouts in AdroitHandHammer-v1 need gymnasium-robotics and mujoco "
        "(gymnasium_robotics is missing): pip install 'hpsweep[hammer]', or rollouts=0 to score by r2 only"
    )


def test_an_environment_named_explicitly(hammer_task):
    params = get_task(f"{hammer_task}(env=gym:AdroitHandHammer-v1)").info().params
    assert params["rollout_env"] == "AdroitHandHammer-v1" and params["env"] == "gym:AdroitHandHammer-v1"
    with pytest.raises(
        TaskError,
        match=r"^task minari:hpsweep/hammer-ref-v0\(env=Pendulum-v1\): environment "
        r"Pendulum-v1 observes 3 and acts with 1 values; the data set has \|x\| = 46, "
        r"\|y\| = 26; give env=<a matching id> or rollouts=0$",
    ):
        get_task(f"{hammer_task}(env=Pendulum-v1)").info()
    with pytest.raises(
        TaskError,
        match=r"^task minari:hpsweep/hammer-ref-v0\(env=NoSuchEnv-v0\): cannot make "
        r"environment 'NoSuchEnv-v0' for rollouts: .*; give env=<gymnasium id> or "
        r"rollouts=0$",
    ):
        get_task(f"{hammer_task}(env=NoSuchEnv-v0)").info()
    assert "rollout_env" not in get_task(f"{hammer_task}(rollouts=0)").info().params
