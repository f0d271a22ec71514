"""research/transfer_check.py: what one sweep's analysis promised, checked on another sweep's tasks."""

import pytest

from hpsweep.analysis.synthetic import default_tasks, write_meta_results
from research import transfer_check


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory):
    root = tmp_path_factory.mktemp("two")
    first, second = default_tasks(8, seed=1), default_tasks(6, seed=2)
    assert not {t.name for t in first} & {t.name for t in second}
    write_meta_results(root, first, sweep_id="first", seed=1)
    write_meta_results(root, second, sweep_id="second", seed=2)
    return root


def test_the_learned_model_is_scored_on_the_other_sweeps_tasks(two_sweeps, capsys):
    out = transfer_check.check(str(two_sweeps), "first", "second")
    assert out["tasks"] == (8, 6)
    # the synthetic score follows HP and the dims the same way on every task: what 8 tasks teach
    # orders 6 new ones well, and the verdict's interval covers most of their groups
    assert out["found"]["kendall"]["mean"] > 0.5
    assert out["found"]["n_tasks"] == 6
    assert out["found_gain"]["n_groups"] == 12 and out["found_gain"]["coverage"] >= 0.5
    said = sum(n for n, _ in out["found_gain"]["claims"].values())
    assert said == 12  # every group gets exactly one of the three answers
    transfer_check.main([str(two_sweeps), "--learn", "first", "--check", "second"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("learned from 8 tasks of first")
    assert lines[1] == "checked on the 6 tasks of second it did not learn from"
    assert all(len(line) <= 80 for line in lines)


def test_only_tasks_the_first_sweep_lacks_are_checked_on(two_sweeps):
    with pytest.raises(SystemExit, match="^every task of first is also in first: nothing new to check on$"):
        transfer_check.check(str(two_sweeps), "first", "first")
    # a grown sweep repeats the first's tasks (as `--scale tasks=2` does): only the new ones count
    write_meta_results(two_sweeps, default_tasks(8, seed=1) + default_tasks(6, seed=2), sweep_id="grown", seed=3)
    assert transfer_check.check(str(two_sweeps), "first", "grown")["tasks"] == (8, 6)
