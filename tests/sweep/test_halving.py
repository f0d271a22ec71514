"""In-pack successive halving through the sweep: spec, plan (groups, queues, resume), bad input as
one line, the dry-run's cost lines, and a real run on local Ray: stopped rows, curves that end at
the rung, status and query, and a driver killed mid-sweep whose re-run takes the same decisions."""

import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pytest

from hpsweep.sweep.cli import main
from hpsweep.sweep.halving_plan import halving_groups, pack_candidates
from hpsweep.sweep.plan import plan_sweep, short_hash
from hpsweep.sweep.spec import parse_spec
from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import exactly_once, spec_file
from tests.sweep.test_plan import SHAPES

HALVING = {
    "name": "halving",
    "tasks": [
        {
            "task": "teacher(x=8,y=4,t=10,n_train=200,n_val=50,n_test=50)",
            "budgets": [300, 600],
            "densities": {"uniform": [1.0, 0.5, 0.2], "codes": ["011001", "110110"]},
        }
    ],
    "training": {"epochs": 4, "seeds": [0, 1], "lr": [0.01], "schedule": {"eta": 2, "min_epochs": 1}},
    "pack": {"max_models": 6},
    "resources": {"max_failures": 1},
}


def _spec(schedule=None, **pack):
    doc = {
        "name": "p",
        "training": {"seeds": [0, 1], "epochs": 9, **({"schedule": schedule} if schedule else {})},
        "pack": {"max_models": 8, **pack},
        "tasks": [
            {
                "task": "a(x=1)",
                "budgets": [300, 900],
                "lr": [0.001, 0.01],
                "densities": {"uniform": [1.0, 0.5, 0.2], "codes": ["011001"]},
            }
        ],
    }
    return parse_spec(doc, "spec.yaml", check_task=None)


def test_a_schedule_makes_other_trials_and_ids_stay_the_hash_of_their_key():
    plain, halving = plan_sweep(_spec(), SHAPES), plan_sweep(_spec({"eta": 3}), SHAPES)
    assert _spec().spec_hash != _spec({"eta": 3}).spec_hash
    assert {t.trial_id for t in plain.trials}.isdisjoint(t.trial_id for t in halving.trials)
    assert all(short_hash(t.key()) == t.trial_id and t.schedule == "halving eta=3 min_epochs=1" for t in halving.trials)
    assert [t.schedule for t in plain.trials] == [""] * len(plain.trials)


def test_groups_and_candidates():
    trials = plan_sweep(_spec({"eta": 3}), SHAPES).trials
    groups = halving_groups(trials)
    # 2 budgets x 2 lrs; in each, 4 configs (candidates) of 2 seeds
    assert len(groups) == 4 and all(len(g) == 4 and all(len(c) == 2 for c in g) for g in groups)
    for g in groups:
        assert len({(t.budget, t.lr) for c in g for t in c}) == 1
        for c in g:
            assert len({(t.hidden, t.densities) for t in c}) == 1 and [t.seed for t in c] == [0, 1]


def test_halving_packs_hold_whole_groups_and_a_resume_plans_the_same_packs(monkeypatch):
    monkeypatch.setattr("hpsweep.sweep.halving_plan.QUEUE_SLOTS", 1)  # queues of at most 8 models: a group each
    plan = plan_sweep(_spec({"eta": 3}), SHAPES)
    assert [len(p.trials) for p in plan.packs] == [8, 8, 8, 8] and {p.slots for p in plan.packs} == {8}
    assert {p.schedule for p in plan.packs} == {(3, 1)}
    for p in plan.packs:
        assert len(halving_groups(p.trials)) == 1
        assert [m for _, c in pack_candidates(p) for m in c] == list(range(len(p.trials)))
    done = {t.trial_id for t in plan.packs[1].trials}
    again = plan_sweep(_spec({"eta": 3}), SHAPES, finished=done)
    assert again.packs == tuple(p for p in plan.packs if p is not plan.packs[1])


def test_slots_fit_memory_and_a_candidate_always_fits():
    plan = plan_sweep(_spec({"eta": 3}, max_models=1), SHAPES)
    assert {p.slots for p in plan.packs} == {2}  # a config's two seeds train side by side


def _run_error(tmp_path, capsys, doc, results="r"):
    with pytest.raises(SystemExit) as stop:
        main(["run", spec_file(tmp_path, doc), "--results", str(tmp_path / results), "--dry-run"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 1 and len(lines) == 1, lines
    return lines[0]


def test_bad_schedules_are_one_line(tmp_path, capsys):
    def with_training(**kw):
        return {**HALVING, "training": {**HALVING["training"], **kw}}

    assert _run_error(tmp_path, capsys, with_training(schedule={"eta": 1})) == (
        "Error: spec.yaml: training.schedule.eta must be an integer >= 2; got 1"
    )
    assert _run_error(tmp_path, capsys, with_training(schedule={"min_epochs": 4})) == (
        "Error: spec.yaml: training.schedule.min_epochs must be below training.epochs (4): the first rung has to "
        "come before the last epoch; lower min_epochs or train longer; got 4"
    )
    task_epochs = {
        **HALVING,
        "tasks": [{**HALVING["tasks"][0], "epochs": 2}],
        "training": {**HALVING["training"], "schedule": {"min_epochs": 2}},
    }
    assert _run_error(tmp_path, capsys, task_epochs).startswith(
        "Error: spec.yaml: training.schedule.min_epochs must be below tasks[0].epochs (2)"
    )
    single = {**HALVING, "tasks": [{**HALVING["tasks"][0], "densities": {"uniform": [0.5]}}]}
    assert _run_error(tmp_path, capsys, single) == (
        "Error: spec.yaml: training.schedule has nothing to compare: every group of competing models (same task, "
        "budget and lr; e.g. teacher(x=8,y=4,t=10,n_train=200,n_val=50,n_test=50) at budget 300, lr 0.01) holds "
        "one density config; sweep several configs per task, budget and lr, or remove training.schedule"
    )
    assert not (tmp_path / "r").exists()


def test_a_halving_sweep_refuses_a_root_of_an_older_schema(tmp_path, capsys):
    from hpsweep.workers.schema import TRIALS_SCHEMA

    store = ResultsStore(str(tmp_path / "old"))
    row = {n: None for n in TRIALS_SCHEMA.names} | {
        "schema_version": 2,
        "sweep_id": "before",
        "trial_id": "t1",
        "task": "rad",
        "attempt": 1,
        "status": "ok",
    }
    store.sweep("before").write_part("trials", "rad", "p-a1", pa.Table.from_pylist([row], schema=TRIALS_SCHEMA))
    parts = sorted(p.name for p in (tmp_path / "old").rglob("*") if p.is_file())
    assert _run_error(tmp_path, capsys, HALVING, "old") == (
        f"Error: spec.yaml: training.schedule writes trials with status 'stopped', but results "
        f"{str(tmp_path / 'old')!r} hold rows of results schema 2 (an hpsweep before version 3 of the schema), "
        f"whose readers do not know that status; run the halving sweep with a fresh --results"
    )
    assert sorted(p.name for p in (tmp_path / "old").rglob("*") if p.is_file()) == parts  # nothing written


def test_dry_run_prints_model_epochs_with_and_without_the_schedule(tmp_path, capsys):
    main(["run", spec_file(tmp_path, HALVING), "--results", str(tmp_path / "r"), "--dry-run"])
    out = capsys.readouterr().out
    # 2 groups (budgets) of 5 configs x 2 seeds, rungs 1 and 2 of 4 epochs: 5 + 2 + 1 x 2 = 9 per seed
    assert "36 model-epochs with halving eta=2 min_epochs=1 (45% of 80 unscheduled)" in out
    assert "estimated wall time on this machine: ~" in out
    cost = [line for line in out.splitlines() if "model-epochs" in line or "wall time" in line or "measured" in line]
    assert len(cost) == 3 and max(map(len, cost)) <= 80  # 80 columns (a task's name alone may be longer)
    assert not (tmp_path / "r").exists()


def _decisions(store, sweep_id):
    t = store.scan("trials", sweep_id).collect().sort("trial_id")
    return list(zip(t["trial_id"], t["status"], t["epochs_run"], t["val_score"], t["test_score"]))


@pytest.mark.slow
def test_a_halving_sweep_writes_stopped_rows_that_every_reader_counts(ray_local, tmp_path, capsys):
    results = str(tmp_path / "r")
    main(["run", spec_file(tmp_path, HALVING), "--results", results, "--progress", "lines"])
    out = capsys.readouterr().out
    store = ResultsStore(results)
    s = store.sweep("halving").status()
    assert s["planned"] == 20 and s["ok"] + s["stopped"] + s["diverged"] == 20 and s["stopped"] >= 10
    assert f"20 planned, {s['ok']} ok, {s['stopped']} stopped (halving)" in out
    exactly_once(store, "halving")
    trials = store.scan("trials", "halving").collect()
    curves = store.scan("curves", "halving").collect()
    for r in trials.iter_rows(named=True):
        assert r["schedule"] == "halving eta=2 min_epochs=1" and r["schema_version"] == 3
        epochs = sorted(curves.filter(curves["trial_id"] == r["trial_id"])["epoch"].to_list())
        assert epochs == list(range(1, r["epochs_run"] + 1))  # curves end at the rung
        if r["status"] == "stopped":
            assert r["epochs_run"] in (1, 2) and r["test_score"] is not None
        else:
            assert r["epochs_run"] == 4
    by_config = {}
    for r in trials.iter_rows(named=True):  # a config's seeds stop together
        by_config.setdefault((r["budget"], *(r[f"d_{b}"] for b in ("hx", "hh", "hy", "yx", "yh", "yy"))), set()).add(
            (r["status"], r["epochs_run"])
        )
    assert all(len(v) == 1 for v in by_config.values())
    main(["status", results, "--json"])
    assert f'"stopped": {s["stopped"]}' in capsys.readouterr().out
    main(["query", results, "SELECT count(*) AS n FROM trials WHERE status = 'stopped'", "--format", "csv"])
    assert capsys.readouterr().out.split() == ["n", str(s["stopped"])]
    main(["run", spec_file(tmp_path, HALVING), "--results", results, "--progress", "lines"])
    assert "all 20 planned trials are already in" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_halving_sweep_resumes_with_the_same_decisions(ray_local, tmp_path, capsys):
    """Four tasks, one halving pack each, one at a time; the driver is killed -9 once a pack has
    committed; the re-run finishes with every trial once and the decisions of an uninterrupted run."""
    tasks = [
        {**HALVING["tasks"][0], "task": f"teacher(x={x},y=4,t=10,n_train=200,n_val=50,n_test=50)"}
        for x in (6, 8, 10, 12)
    ]
    doc = {**HALVING, "name": "hkill", "tasks": tasks, "resources": {"max_failures": 1, "max_concurrent": 1}}
    spec, results = spec_file(tmp_path, doc), tmp_path / "r"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpsweep.sweep.cli", "run", spec, "--results", str(results), "--progress", "lines"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list(results.glob("trials/**/*.parquet")):
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    store = ResultsStore(str(results))
    before = store.sweep("hkill").status()
    assert before["planned"] == 80 and before["missing"] > 0, f"the kill came too late: {before}"
    main(["run", spec, "--results", str(results), "--progress", "lines"])
    assert store.sweep("hkill").status()["missing"] == 0
    exactly_once(store, "hkill")
    clean = str(tmp_path / "clean")
    main(["run", spec, "--results", clean, "--progress", "lines"])
    assert _decisions(store, "hkill") == _decisions(ResultsStore(clean), "hkill")


def test_the_wall_estimate_from_earlier_sweeps_cost_columns(tmp_path):
    from datetime import datetime, timedelta, timezone

    from hpsweep.sweep.cost import STARTUP_S, estimate_from_history, history_rate
    from hpsweep.workers.schema import TRIALS_SCHEMA

    store = ResultsStore(str(tmp_path / "r"))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    shape = {"input_dim": 8, "output_dim": 4, "seq_len": 10, "n_train": 100}
    rows = []
    for pack, (hidden, epochs, seconds) in enumerate([(16, 3, 12.0), (28, 2, 30.0)]):
        for i in range(2):  # two models per pack; the pack's cost columns are on both rows
            rows.append(
                {n: None for n in TRIALS_SCHEMA.names}
                | shape
                | {
                    "schema_version": 3,
                    "sweep_id": "old",
                    "trial_id": f"t{pack}{i}",
                    "task": "a",
                    "pack_id": f"p{pack}",
                    "attempt": 1,
                    "status": "ok",
                    "hidden": hidden - 4 * i,
                    "epochs_run": epochs,
                    "started_at": start,
                    "finished_at": start + timedelta(seconds=seconds),
                }
            )
    store.sweep("old").write_part("trials", "a", "p-a1", pa.Table.from_pylist(rows, schema=TRIALS_SCHEMA))
    # work of a pack: model-epochs x n_train x seq_len x S (S + |x|), S = its largest |h| + |y|
    work = 6 * 100 * 10 * 20 * 28 + 4 * 100 * 10 * 32 * 40
    rate, packs = history_rate(store)
    assert packs == 2 and rate == pytest.approx(42.0 / work)
    plan = plan_sweep(_spec(), SHAPES)
    expected = [
        len(p.trials)
        * p.epochs
        * SHAPES[p.task].n_train
        * SHAPES[p.task].seq_len
        * (p.hidden_max + 4)
        * (p.hidden_max + 4 + 8)
        * rate
        for p in plan.packs
    ]
    assert estimate_from_history(plan, 1, rate) == pytest.approx(STARTUP_S + sum(expected))
    assert history_rate(ResultsStore(str(tmp_path / "empty"))) is None


def test_the_measured_estimate_counts_each_models_test_evaluation_once(monkeypatch):
    """Every model is scored on the test split once: a validation pass scaled by n_test / n_val. On
    meta-wide (2,000 test against 500 validation sequences) leaving it out made the estimate low."""
    from types import SimpleNamespace

    from hpsweep.sweep import cost

    monkeypatch.setattr(cost, "measure_pack_epoch", lambda pack, shape, k: (0.01 * k, 0.002 * k))
    monkeypatch.setattr(cost, "worker_start_seconds", lambda: 0.0)
    doc = {
        "name": "t",
        "training": {"seeds": [0, 1], "epochs": 3, "lr": [0.001, 0.01]},
        "pack": {"max_models": 8},
        "tasks": [{"task": "a(x=1)", "budgets": [300], "densities": {"uniform": [1.0]}}],
    }
    spec = parse_spec(doc, "spec.yaml", check_task=None)

    def estimate(n_test):
        shape = SimpleNamespace(input_dim=8, output_dim=4, seq_len=10, n_train=100, n_val=50, n_test=n_test)
        plan = plan_sweep(spec, {"a(x=1)": shape})
        assert [len(p.trials) for p in plan.packs] == [4]
        return cost.estimate_wall_seconds(plan, 1)[0]

    # 4 models x 0.002 s per validation pass x 200 / 50
    assert estimate(200) - estimate(0) == pytest.approx(4 * 0.002 * 4)
    # and the rest: startup, 3 epochs of 4 models at 0.012 s each, the pack's overhead
    assert estimate(0) == pytest.approx(cost.STARTUP_S + 3 * 4 * 0.012 + cost.PACK_OVERHEAD_S)
