"""Surviving failures: a pack that runs out of memory is split and retried (the splitting alone,
then run_pack on real Parquet without Ray, then a sweep on the local Ray), and the exactly-once
guarantee on a real S3-compatible server after a retried pack and a killed driver.

Covered elsewhere, not repeated here (tests/sweep/test_run.py): a pack that raises is retried
and succeeds; one that always raises ends `failed` with its error after max_failures retries; a
driver killed with SIGKILL mid-sweep, then re-run, gives every trial once (local results); a
sweep into S3. The store's own contract runs on local and S3 in tests/sweep/test_store.py.
Nodes removed mid-sweep: tests/sweep/test_cluster.py.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import fields

import polars as pl
import pytest
import torch

from hpsweep.sweep import faults
from hpsweep.sweep.cli import main
from hpsweep.sweep.coordinator import make_plan
from hpsweep.sweep.faults import PackFault
from hpsweep.sweep.oom_split import Piece, train_splitting
from hpsweep.sweep.pack_runner import PackJob, run_pack
from hpsweep.sweep.spec import load_spec
from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import TINY, exactly_once, pack_ids, spec_file

# -- the splitting alone -------------------------------------------------------------------------


class FakeOOM(Exception):
    pass


def _trainer(fits, calls):
    """A 'trainer' that runs out of memory on groups `fits` refuses, and records what it was asked."""

    def train(group):
        calls.append(group)
        if not fits(group):
            raise FakeOOM(f"out of memory with {len(group)}\nsecond line of the message")
        return f"trained {group}"

    return train


def test_an_oom_halves_the_pack_recursively_until_the_halves_fit():
    calls, released = [], []
    pieces = train_splitting(
        range(7),
        _trainer(lambda g: len(g) <= 2, calls),
        lambda e: isinstance(e, FakeOOM),
        release=lambda: released.append(1),
    )
    assert [p.trials for p in pieces] == [(0, 1), (2, 3), (4, 5), (6,)]  # 7 -> 4 + 3 -> 2 + 2 + 2 + 1, order kept
    assert all(p.error is None and p.result == f"trained {p.trials}" for p in pieces)
    assert [len(c) for c in calls] == [7, 4, 2, 2, 3, 2, 1]
    assert len(released) == 3  # once after each out-of-memory (7, 4, 3)


def test_a_single_model_that_still_runs_out_of_memory_is_given_up_alone():
    calls = []
    pieces = train_splitting((1, 2, 3, 4), _trainer(lambda g: 3 not in g, calls), lambda e: isinstance(e, FakeOOM))
    assert pieces == [
        Piece((1, 2), "trained (1, 2)", None),
        Piece((3,), None, "FakeOOM: out of memory with 1"),
        Piece((4,), "trained (4,)", None),
    ]
    assert calls == [(1, 2, 3, 4), (1, 2), (3, 4), (3,), (4,)]


def test_errors_other_than_oom_are_not_split_but_raised():
    calls = []

    def train(group):
        calls.append(group)
        raise ValueError("a bug, not memory")

    with pytest.raises(ValueError, match="a bug, not memory"):
        train_splitting((1, 2, 3, 4), train, lambda e: isinstance(e, FakeOOM))
    assert calls == [(1, 2, 3, 4)]  # the pack fails whole: Tune retries it, then it is recorded failed


def test_the_fault_seam_reads_only_the_installed_plan(tmp_path, monkeypatch):
    plan = str(tmp_path / "plan.json")
    monkeypatch.setenv("HPSWEEP_FAULTS", plan)
    assert faults.for_pack("a") is faults.NO_FAULT  # no plan installed: nothing injected
    faults.install({"a": PackFault(raise_times=2), "b": PackFault(oom_above=1)})
    assert faults.for_pack("a") == PackFault(2, None) and faults.for_pack("c") is faults.NO_FAULT
    with pytest.raises(RuntimeError, match=r"^injected failure \(HPSWEEP_FAULTS\) in pack a, attempt 2$"):
        faults.for_pack("a").before_attempt("a", 2)
    faults.for_pack("a").before_attempt("a", 3)  # attempts after raise_times run
    faults.for_pack("b").before_training("b", 1)
    with pytest.raises(torch.OutOfMemoryError, match="2 models at once in pack b, at most 1 fit"):
        faults.for_pack("b").before_training("b", 2)
    faults.clear()
    assert faults.for_pack("a") is faults.NO_FAULT
    monkeypatch.delenv("HPSWEEP_FAULTS")
    assert faults.for_pack("a") is faults.NO_FAULT
    with pytest.raises(RuntimeError, match="HPSWEEP_FAULTS is not set"):
        faults.install({})


def test_the_pack_job_carries_no_test_field():
    assert [f.name for f in fields(PackJob)] == [
        "root",
        "sweep_id",
        "pack",
        "base_attempt",
        "device",
        "threads",
        "keep",
    ]


# -- run_pack on real Parquet, no Ray ------------------------------------------------------------


def test_run_pack_splits_on_oom_and_commits_the_pack_once(tmp_path, inject):
    spec = load_spec(spec_file(tmp_path))
    root = str(tmp_path / "r")
    store = ResultsStore(root)
    plan, _ = make_plan(spec, store.sweep(spec.name))
    assert [len(p.trials) for p in plan.packs] == [4, 4]
    fits_two, fits_none = plan.packs
    inject({fits_two.pack_id: PackFault(oom_above=2), fits_none.pack_id: PackFault(oom_above=0)})
    summary = run_pack(PackJob(root, "tiny", fits_two, threads=1), in_ray=False)
    assert (summary["models"], summary["ok"], summary["failed"], summary["splits"], summary["written"]) == (
        4,
        4,
        0,
        1,
        True,
    )
    summary = run_pack(PackJob(root, "tiny", fits_none, threads=1), in_ray=False)
    assert (summary["models"], summary["ok"], summary["failed"], summary["splits"]) == (4, 0, 4, 3)

    trials = store.scan("trials").sort("pack_id", "trial_id").collect()
    assert sorted(trials["trial_id"]) == sorted(t.trial_id for t in plan.trials)
    assert len(store.parts("trials", "tiny")) == 2  # one commit per pack, however it was split
    split = trials.filter(pl.col("pack_id") == fits_two.pack_id)
    assert split["status"].to_list() == ["ok"] * 4 and split["pack_size"].to_list() == [2] * 4
    assert split["attempt"].to_list() == [1] * 4 and split["test_score"].null_count() == 0
    given_up = trials.filter(pl.col("pack_id") == fits_none.pack_id)
    assert given_up["status"].to_list() == ["failed"] * 4 and given_up["pack_size"].to_list() == [1] * 4
    assert (
        given_up["error"].to_list()
        == [
            f"OutOfMemoryError: injected out of memory (HPSWEEP_FAULTS): 1 models at once in pack "
            f"{fits_none.pack_id}, at most 0 fit"
        ]
        * 4
    )
    curves = store.read("curves", "tiny")
    assert sorted(set(curves["trial_id"].to_pylist())) == sorted(split["trial_id"])  # failed models have none
    assert curves.num_rows == 4 * 2
    # the injected error is torch's own out-of-memory class, the one CUDA raises
    with pytest.raises(torch.OutOfMemoryError):
        raise torch.cuda.OutOfMemoryError("same class")


# -- a sweep on the local Ray ----------------------------------------------------------------------


def test_an_oom_in_a_sweep_splits_the_pack_down_to_single_models(ray_local, tmp_path, capsys, inject):
    spec = spec_file(tmp_path)
    inject({pack_ids(spec)[0]: PackFault(oom_above=1)})
    results = str(tmp_path / "r")
    main(["run", spec, "--results", results, "--progress", "lines"])
    assert "sweep tiny: 8 planned, 8 ok, 0 diverged, 0 failed, 0 missing" in capsys.readouterr().out
    store = ResultsStore(results)
    exactly_once(store, "tiny")
    trials = store.scan("trials").collect()
    first = trials.filter(pl.col("pack_size") == 1)
    assert first.height == 4 and first["pack_id"].n_unique() == 1  # 4 -> 2 + 2 -> 1 + 1 + 1 + 1
    assert trials.filter(pl.col("pack_size") == 4).height == 4  # the other pack trained whole
    assert trials["attempt"].to_list() == [1] * 8  # split inside the attempt: no Tune retry spent


# -- exactly once on S3 after a retried pack and a killed driver -----------------------------------


@pytest.mark.slow
def test_s3_results_after_a_retried_pack_and_a_killed_driver(s3_server, tmp_path):
    """The first pack raises once; the driver is killed -9 as Tune's retry of it starts; a re-run
    completes the sweep on S3 with every trial exactly once."""
    task = "teacher(x=8,y=4,t=10,n_train=2000,n_val=50,n_test=50)"  # packs of a second or two: killed in flight
    doc = {
        **TINY,
        "name": "s3kill",
        "tasks": [{**TINY["tasks"][0], "task": task, "hidden": [8, 12, 16]}],
        "training": {**TINY["training"], "epochs": 20},
        "pack": {"max_models": 2},
    }
    spec = spec_file(tmp_path, doc)
    uri = f"s3://results/faults?endpoint_override=127.0.0.1:{s3_server}&scheme=http"
    store = ResultsStore(uri)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # AWS_* from the fixture, no files
    cmd = [sys.executable, "-m", "hpsweep.sweep.cli", "run", spec, "--results", uri, "--progress", "lines"]
    first = pack_ids(spec)[0]
    plan = faults.install({first: PackFault(raise_times=1)}, str(tmp_path / "faults.json"))
    proc = subprocess.Popen(
        cmd,
        env={**env, "HPSWEEP_FAULTS": plan},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    try:  # kill as soon as the failing pack's retry has started (Tune queues a retry behind the other packs)
        while time.monotonic() < deadline and proc.poll() is None and store.sweep("s3kill").attempts(first) < 2:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        out = proc.communicate()[0].decode()
    before = store.sweep("s3kill").status()
    assert before["planned"] == 12 and before["missing"] > 0, f"the kill came too late: {before}\n{out}"
    faults.clear(plan)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.sweep("s3kill").status() == {
        "sweep": "s3kill",
        "planned": 12,
        "ok": 12,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    exactly_once(store, "s3kill")
    assert store.read("curves", "s3kill", dedupe=False).num_rows == 12 * 20  # no curves of killed attempts left
    assert store.sweep("s3kill").attempts(first) >= 2
    # the retried pack's rows carry its attempt count, across the kill (packs of 2 regroup identically)
    winners = store.read("trials", "s3kill").to_pydict()
    assert {a for p, a in zip(winners["pack_id"], winners["attempt"]) if p == first} == {
        store.sweep("s3kill").attempts(first)
    }
