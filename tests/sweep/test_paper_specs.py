"""The specs that reproduce the paper (sweep/specs/paper-rad, paper-hammer, dims) validate, plan
what their comments promise, and dry-run by name, at full size and at the scale docs/findings.md ran."""

import numpy as np
import pytest

from hpsweep.sweep.cli import main
from hpsweep.sweep.coordinator import task_shapes
from hpsweep.sweep.plan import expand_trials
from hpsweep.sweep.scale import parse_scale, scale_spec
from hpsweep.sweep.spec import load_spec, shipped_specs
from hpsweep.workers.descriptors import Densities, describe
from tests.minari_helpers import make_pendulum_dataset

RAD_LOCAL = "data=0.2,epochs=0.16,input=0.25,budget=0.3"  # the run in docs/findings.md
DIMS_LOCAL = "data=0.1,epochs=0.4,seeds=0.5,draws=0.2"


def _trials(spec):
    return expand_trials(spec, task_shapes(spec))


def test_the_paper_specs_ship():
    assert {"paper-rad", "paper-hammer", "dims"} <= set(shipped_specs())


def test_paper_rad_full_size_is_the_paper_setting():
    spec = load_spec("paper-rad")
    (task,) = spec.tasks
    assert task.task == "rad(n_train=30000,n_val=1000,n_test=1000)"  # side 50 is the default: |x| = 2500
    assert task.budgets == (100000.0,) and task.batch_size == 16 and task.epochs == 25
    trials = _trials(spec)
    configs = {t.densities for t in trials}
    assert len(configs) == 76 and len(trials) == 76 * 3
    assert (1.0,) * 6 in configs and (0.2,) * 6 in configs
    assert (0.09, 1.0, 1.0, 0.1, 0.1, 1.0) in configs  # the paper's balanced example
    dense = describe(2500, 10, Densities.uniform(1.0), budget=100000)
    assert dense.hidden == 29 and dense.hidden_proportion == pytest.approx(0.0085, abs=1e-4)  # docs/method.md §3 table
    balanced = describe(2500, 10, Densities(0.09, 1, 1, 0.1, 0.1, 1), budget=100000)
    assert balanced.hidden == 216 and balanced.hidden_proportion == pytest.approx(0.4655, abs=1e-3)


def test_paper_rad_local_scale_keeps_the_input_heavy_regime():
    spec = scale_spec(load_spec("paper-rad"), parse_scale(RAD_LOCAL))
    (task,) = spec.tasks
    assert task.task == "rad(side=25,n_train=6000,n_val=200,n_test=200)" and task.epochs == 4
    hp = {
        t.densities: describe(625, 10, Densities(*t.densities), budget=t.budget).hidden_proportion
        for t in _trials(spec)
    }
    # dense: W_hx holds nearly everything, as at full size (0.0085); uniform 0.2 is less extreme than
    # the paper's 0.062 because the |y| blocks do not shrink with |x| (docs/findings.md says so)
    assert hp[(1.0,) * 6] == pytest.approx(0.041, abs=0.001) and hp[(0.2,) * 6] == pytest.approx(0.204, abs=0.001)
    balanced = [v for d, v in hp.items() if d[0] == 0.2 and d[1:] == (1.0, 1.0, 0.1, 0.1, 1.0)]
    assert balanced and 0.3 < balanced[0] < 0.6


def test_dims_spans_the_dims_and_budgets_of_the_issue():
    spec = load_spec("dims")
    shapes = task_shapes(spec)
    xs = sorted(s.input_dim for s in shapes.values())
    ys = sorted(s.output_dim for s in shapes.values())
    assert xs[0] == 8 and xs[-1] == 2048 and ys[0] == 2 and ys[-1] == 64
    assert len(spec.tasks) >= 8  # analyze warns below 8 tasks
    budgets = {b for t in spec.tasks for b in t.budgets}
    assert min(budgets) == 5000 and max(budgets) == 100000
    assert all(t.densities.random.method == "paper" and not t.densities.uniform for t in spec.tasks)
    trials = _trials(spec)
    dens = np.array([t.densities for t in trials])
    assert dens.min() >= 0.02 and dens.max() <= 1.0  # docs/method.md §5's clip
    assert len({t.lr for t in trials}) > 100  # drawn learning rates


@pytest.mark.parametrize(
    "name, scale, expect",
    [
        ("paper-rad", None, "228 trials, 228 to run"),
        ("paper-rad", RAD_LOCAL, "228 trials, 228 to run"),
        ("dims", None, "2880 trials, 2880 to run"),
        ("dims", DIMS_LOCAL, "300 trials, 300 to run"),
    ],
)
def test_dry_run_by_name(name, scale, expect, tmp_path, capsys):
    main(["run", name, "--dry-run", "--results", str(tmp_path / "r"), *(["--scale", scale] if scale else [])])
    out = capsys.readouterr().out
    assert expect in out
    assert not (tmp_path / "r").exists()


def test_paper_hammer_without_the_data_set_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "empty"))
    spec = load_spec("paper-hammer")  # validation needs no data
    assert spec.tasks[0].task == "minari:D4RL/hammer/expert-v2(ref_return=12388.345)" and spec.tasks[0].batch_size == 64
    assert spec.tasks[0].budgets == (10000.0, 50000.0, 100000.0, 400000.0, 1500000.0)
    with pytest.raises(SystemExit) as e:
        main(["run", "paper-hammer", "--dry-run", "--results", str(tmp_path / "r")])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: ") and "minari download D4RL/hammer/expert-v2" in err and "\n" not in err


def test_paper_hammer_plans_on_a_local_data_set(tmp_path, capsys, monkeypatch):
    pytest.importorskip("minari", reason="minari is an optional extra: pip install 'hpsweep[minari]'")
    pytest.importorskip("gymnasium")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    make_pendulum_dataset("D4RL/hammer/expert-v2", episodes=20, steps=12)  # a tiny stand-in under the hammer's id
    main(["run", "paper-hammer", "--dry-run", "--scale", "0.1", "--results", str(tmp_path / "r")])
    out = capsys.readouterr().out
    # 10 uniform + 16 codes + round(32 * 0.1) = 3 draws, 5 budgets, round(2 * 0.1) -> 1 seed
    assert "sweep paper-hammer-scale-d0.1e0.1s0.1r0.1" in out and "145 trials, 145 to run" in out
