"""A sweep given by |h| (no budget) is analysed task x |h|, with the dense model's weights at |h| as
its budget; a root mixing it with sweeps by budget keeps both kinds of group; and when results
cannot be analysed, the one-line error says why (filters named only when given)."""

import json
import math

import numpy as np
import polars as pl
import pytest
import yaml

from hpsweep.analysis import metatable
from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.recommend import recommend
from hpsweep.analysis.saved import load_or_fit
from hpsweep.analysis.synthetic import SyntheticTask, default_tasks, write_meta_results
from hpsweep.sweep.cli import main


def dense_weights(x, h, y):
    return h * x + h * h + h * y + y * x + y * h + y * y


def one_line_error(capsys, args):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


REAL_TASKS = [(8, 4), (12, 3), (6, 2)]


def test_a_real_sweep_by_hidden_size_analyses_and_recommends(ray_local, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a relative --results, as a user types it
    spec = {
        "name": "byh",
        "tasks": [
            {
                "task": f"teacher(x={x},y={y},t=10,n_train=200,n_val=50,n_test=50)",
                "hidden": [8, 16],
                "densities": {"uniform": [1.0, 0.5]},
            }
            for x, y in REAL_TASKS
        ],
        "training": {"epochs": 1, "seeds": [0, 1]},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    main(["run", "spec.yaml", "--results", "r"])
    rows = pl.read_parquet(tmp_path / "r" / "trials" / "**" / "*.parquet")
    assert rows.height == 24 and rows["budget"].null_count() == 24  # what a sweep by |h| writes
    capsys.readouterr()

    main(["analyze", "r", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert (out["n_tasks"], out["n_groups"], out["n_configs"]) == (3, 6, 2)
    assert out["group_kind"] == "task x |h|"  # what the text and the report say the 6 groups are
    budgets = [dense_weights(x, h, y) for x, y in REAL_TASKS for h in (8, 16)]
    assert out["swept"]["budget"] == pytest.approx([min(budgets), max(budgets)], rel=1e-12)  # 160, 589
    main(["recommend", "-x", "8", "-y", "4", "--budget", "300", "--from", "r", "--json"])
    rec = json.loads(capsys.readouterr().out)
    assert rec["refitted"] is False and rec["quality"].startswith(f"model {out['chosen_model']}: on 3 held-out tasks")
    # two configs swept are too few to rank among: recommend ranks its own candidates, |h| solved from 300
    assert [c["rank"] for c in rec["configs"]] == [1, 2, 3, 4, 5]
    assert all(abs(c["total_weights"] - 300) < 0.1 * 300 for c in rec["configs"]), rec["configs"]


@pytest.fixture(scope="module")
def mixed_root(tmp_path_factory):
    """Four tasks swept both ways: by budget (dense at |h| 32, and 3x) and by |h| (16 and 32). The
    budget group at 1x and the |h|=32 group have the same budget number and stay two groups."""
    root = tmp_path_factory.mktemp("mixed")
    tasks = default_tasks(4, seed=3)
    write_meta_results(root, tasks, sweep_id="bybudget", seed=4)
    write_meta_results(root, tasks, sweep_id="byh", hidden=(16, 32), seed=3)
    return root, tasks


def test_groups_of_a_mixed_root(mixed_root):
    root, tasks = mixed_root
    result = analyze(root, AnalysisOptions(curve=False), with_ranking=False)
    table = result.table
    assert result.tasks == sorted(t.name for t in tasks) and table["unit"].n_unique() == 16
    assert metatable.group_kind(table["unit"]) == "task x budget or |h|"
    assert metatable.group_kind(table.filter(~pl.col("unit").str.contains("h="))["unit"]) == "task x budget"
    t = tasks[0]
    x, y = t.input_dim, t.output_dim
    mine = table.filter(pl.col("task") == t.name)
    units = mine.group_by("unit").agg(pl.len(), pl.col("log_budget").first(), pl.col("standing").sort())
    d32 = dense_weights(x, 32, y)
    assert dict(zip(units["unit"], units["len"])) == {
        f"{t.name} @ {d32}": 16,
        f"{t.name} @ {3 * d32}": 16,
        f"{t.name} @ h=16": 16,
        f"{t.name} @ h=32": 16,
    }
    budget_of = {u: math.exp(b) for u, b in zip(units["unit"], units["log_budget"])}
    assert budget_of[f"{t.name} @ h=16"] == pytest.approx(dense_weights(x, 16, y), rel=1e-12)
    assert budget_of[f"{t.name} @ h=32"] == pytest.approx(d32, rel=1e-12)
    for standings in units["standing"]:  # each group ranks its 16 configs on its own
        assert standings.to_list() == pytest.approx(list(np.arange(16) / 15))


def test_hidden_only_root_analyses_and_recommends(tmp_path):
    write_meta_results(tmp_path, default_tasks(4, seed=3), hidden=(16, 32), seed=3)
    bundle, refitted = load_or_fit(tmp_path)
    assert refitted and bundle["n_tasks"] == 4
    picks = recommend(bundle, 100, 5, 5000, top=3)
    assert picks.height == 3 and (picks["total_weights"] <= 5000 * 1.01).all()


def test_one_task_says_one_task_and_gives_no_filter_advice(tmp_path, capsys):
    task = SyntheticTask("teacher(x=8,y=4,t=10)", 8, 4)
    write_meta_results(tmp_path, [task], hidden=(8, 16))
    root = str(tmp_path)
    expected = (
        f"Error: the results under {root} hold scored trials of 1 task (teacher(x=8,y=4,t=10)); the meta-models "
        f"need at least 3 tasks to hold one out: sweep at least 2 more tasks"
    )
    assert one_line_error(capsys, ["analyze", root]) == expected
    rec = ["recommend", "-x", "8", "-y", "4", "--budget", "300", "--from", root]
    assert one_line_error(capsys, rec) == expected
    filtered = (
        f"Error: the results under {root} hold scored trials of 1 task (teacher(x=8,y=4,t=10)) after filtering by "
        f"task=teacher(x=8,y=4,t=10); the meta-models need at least 3 tasks to hold one out: sweep more tasks or relax "
    )
    assert one_line_error(capsys, ["analyze", root, "--task", task.name]) == filtered + "--sweep/--task/--status"
    assert one_line_error(capsys, [*rec, "--task", task.name]) == filtered + "--sweep/--task"
    assert one_line_error(capsys, ["analyze", root, "--status", "failed"]) == (
        f"Error: the results under {root} hold no scored trial (a finite test score) after filtering by "
        f"status=failed: nothing to analyse; relax --sweep/--task/--status"
    )


def test_tasks_with_one_config_per_group_are_named(tmp_path, capsys):
    tasks = default_tasks(3, seed=3)
    write_meta_results(tmp_path, tasks[:2], seed=3)
    write_meta_results(tmp_path, tasks[2:], configs=np.array([[1.0] * 6]), hidden=(8, 16, 32), sweep_id="dense")
    names = sorted(t.name for t in tasks)
    assert one_line_error(capsys, ["analyze", str(tmp_path)]) == (
        f"Error: the results under {tmp_path} hold scored trials of 3 tasks ({', '.join(names)}); {tasks[2].name} has "
        f"no group of 2+ configs to rank (configs compete within a task at one budget, or at one |h| in a sweep "
        f"given by |h|), which leaves 2 tasks; the meta-models need at least 3 tasks to hold one out: sweep at "
        f"least 1 more task with 2+ configs at each budget or |h|"
    )
