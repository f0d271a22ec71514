"""`hpsweep run` end to end on a real local Ray with real Parquet files: the quickstart, resume,
retries and failed packs, a driver killed with SIGKILL mid-sweep, and readers polling meanwhile."""

import json
import os
import signal
import subprocess
import sys
import time

import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from hpsweep.sweep import faults
from hpsweep.sweep.cli import main
from hpsweep.sweep.commands.run import INCOMPLETE_EXIT
from hpsweep.sweep.faults import PackFault
from hpsweep.sweep.spec import load_spec
from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import TINY, exactly_once, pack_ids, spec_file


@pytest.mark.slow
def test_quickstart_end_to_end_then_resume(ray_local, tmp_path, capsys):
    results = str(tmp_path / "results")
    main(["run", "--results", results, "--progress", "lines"])
    out = capsys.readouterr().out
    store = ResultsStore(results)
    status = store.sweep("quickstart").status()
    assert status["planned"] == 120 and status["missing"] == 0 and status["failed"] == 0
    assert status["ok"] + status["diverged"] == 120
    exactly_once(store, "quickstart")
    trials = store.scan("trials").collect()
    assert trials["task"].n_unique() == 3
    assert trials.filter(pl.col("status") == "ok")["test_score"].null_count() == 0
    assert (trials["realised_weights"] > 0).all() and (trials["pack_size"] > 1).all()
    curves = store.scan("curves").collect()
    assert curves.height == trials["epochs_run"].sum()
    assert f"sweep quickstart: 120 planned, {status['ok']} ok" in out
    assert "best model per task" in out and f"hpsweep status {results}" in out
    assert "packs 6/6  models 120/120" in out
    # layout: hive partitions with the task quoted, frozen spec
    assert (tmp_path / "results/sweeps/quickstart/spec.yaml").exists()
    assert (tmp_path / "results/trials/sweep=quickstart/task=lorenz").is_dir()
    # re-running resumes: nothing left to do, nothing written twice
    main(["run", "--results", results, "--progress", "lines"])
    assert "all 120 planned trials are already in" in capsys.readouterr().out
    exactly_once(store, "quickstart")
    # and the other commands read it
    main(["status", results, "--json"])
    assert '"planned": 120' in capsys.readouterr().out
    main(["query", results, "SELECT count(*) AS n FROM trials WHERE task = 'lorenz'", "--format", "csv"])
    assert capsys.readouterr().out.split() == ["n", "40"]
    main(
        [
            "query",
            results,
            "SELECT trial_id, epoch, val_score FROM curves",
            "--format",
            "parquet",
            "-o",
            str(tmp_path / "curves.parquet"),
        ]
    )
    assert pq.read_table(tmp_path / "curves.parquet").num_rows == curves.height
    main(["query", results, "SELECT max(hidden) AS h FROM trials", "--format", "json"])
    assert json.loads(capsys.readouterr().out) == [{"h": trials["hidden"].max()}]


def test_a_failing_pack_is_retried_and_succeeds(ray_local, tmp_path, capsys, inject):
    spec = spec_file(tmp_path)
    inject({pack_ids(spec)[0]: PackFault(raise_times=1)})
    results = str(tmp_path / "r")
    main(["run", spec, "--results", results, "--progress", "lines"])
    out = capsys.readouterr().out
    assert "failed (RuntimeError: injected failure (HPSWEEP_FAULTS) in pack" in out and "; retrying" in out
    store = ResultsStore(results)
    assert store.sweep("tiny").status() == {
        "sweep": "tiny",
        "planned": 8,
        "ok": 8,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    exactly_once(store, "tiny")
    assert sorted(store.read("trials", "tiny")["attempt"].to_pylist()) == [1] * 4 + [2] * 4


def _exit_code(args) -> int:
    try:
        main(args)
    except SystemExit as e:
        return e.code
    return 0


def test_a_pack_that_always_fails_ends_failed_with_its_error(ray_local, tmp_path, capsys, inject):
    results = str(tmp_path / "r")
    spec = spec_file(tmp_path)
    inject({pack_ids(spec)[0]: PackFault(raise_times=9)})
    assert _exit_code(["run", spec, "--results", results, "--progress", "lines"]) == INCOMPLETE_EXIT
    out, err = capsys.readouterr()
    assert "failed after all retries" in out
    assert err == (
        f"sweep tiny: 4 failed and 0 missing of 8 planned; run them again with: "
        f"hpsweep run {spec} --results {results} --retry-failed\n"
    )
    store = ResultsStore(results)
    assert store.sweep("tiny").status()["failed"] == 4 and store.sweep("tiny").status()["ok"] == 4
    failed = store.scan("trials").filter(pl.col("status") == "failed").collect()
    assert failed["error"].str.starts_with("RuntimeError: injected failure (HPSWEEP_FAULTS)").all()
    assert failed["attempt"].to_list() == [2] * 4  # max_failures=1: two attempts
    exactly_once(store, "tiny")
    # failed is final: a plain re-run skips it; --retry-failed runs it again and the new rows win
    faults.clear()
    assert _exit_code(["run", spec, "--results", results, "--progress", "lines"]) == INCOMPLETE_EXIT
    assert "nothing to run" in capsys.readouterr().out
    assert _exit_code(["run", spec, "--results", results, "--progress", "lines", "--retry-failed"]) == 0
    assert store.sweep("tiny").status()["ok"] == 8
    assert store.read("trials", "tiny", dedupe=False).num_rows == 12  # old failed rows lose to higher attempts
    assert store.scan("trials").collect().height == 8


def test_a_relative_results_path_lands_where_the_user_runs(ray_local, tmp_path, monkeypatch):
    """The default relative --results must not follow Tune into a trial directory, even
    when Tune is told to change into one (RAY_CHDIR_TO_TRIAL_DIR=1, Tune's own default)."""
    monkeypatch.setenv("RAY_CHDIR_TO_TRIAL_DIR", "1")
    spec = spec_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert _exit_code(["run", spec, "--results", "rel", "--progress", "lines"]) == 0
    exactly_once(ResultsStore(str(tmp_path / "rel")), "tiny")


def test_rows_a_reader_cannot_see_are_missing_and_exit_non_zero(ray_local, tmp_path, monkeypatch, capsys):
    """The old bug, rebuilt on purpose: a worker that resolves the results path in its own working
    directory. Its pack is never reported ok, the summary counts it missing, and the run exits 3."""
    from hpsweep.sweep import coordinator, locations

    monkeypatch.setenv("RAY_CHDIR_TO_TRIAL_DIR", "1")
    for module in (coordinator, locations):
        monkeypatch.setattr(module, "resolve_results", lambda results: results)
    spec = spec_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert _exit_code(["run", spec, "--results", "rel", "--progress", "lines"]) == INCOMPLETE_EXIT
    out, err = capsys.readouterr()
    assert out.count("trained 4 models but its rows are not in rel; they count as missing") == 2
    assert " ok, " not in out.split("\nsweep tiny:")[0]  # no progress line said ok
    assert "sweep tiny: 8 planned, 0 ok, 0 diverged, 0 failed, 8 missing" in out
    assert "2 pack(s) reported done but their rows are not in rel" in out
    assert (
        err == f"sweep tiny: 0 failed and 8 missing of 8 planned; run them again with: hpsweep run {spec} "
        f"--results rel\n"
    )


def test_a_changed_spec_under_the_same_name_is_refused(ray_local, tmp_path, capsys):
    results = str(tmp_path / "r")
    main(["run", spec_file(tmp_path), "--results", results, "--progress", "lines"])
    changed = {**TINY, "training": {**TINY["training"], "epochs": 3}}
    with pytest.raises(SystemExit):
        main(["run", spec_file(tmp_path, changed, "changed.yaml"), "--results", results])
    assert "already hold sweep 'tiny' with spec hash" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_of_the_driver_then_rerun_gives_every_trial_once(ray_local, tmp_path, capsys):
    """The driver (with its own embedded Ray) is killed -9 as a process group mid-sweep while
    Polars and pyarrow poll the dataset; a re-run completes it with every trial exactly once."""
    doc = {
        **TINY,
        "name": "kill",
        "tasks": [{**TINY["tasks"][0], "hidden": [8, 12, 16], "densities": {"uniform": [1.0, 0.5, 0.2, 0.1]}}],
        "pack": {"max_models": 2},
    }
    spec, results = spec_file(tmp_path, doc), tmp_path / "r"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpsweep.sweep.cli", "run", spec, "--results", str(results), "--progress", "lines"],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    seen, deadline = [], time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            files = list(results.glob("trials/**/*.parquet"))
            if files:
                # each reader finds the parts itself: pyarrow's dataset discovery and a Polars glob
                n_pa = ds.dataset(str(results / "trials"), format="parquet", partitioning="hive").count_rows()
                n_pl = (
                    pl.scan_parquet(str(results / "trials/**/*.parquet"), hive_partitioning=False)
                    .select(pl.len())
                    .collect()
                    .item()
                )
                # a part is listed only once whole: each opens and holds its pack's 2 rows
                sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
                seen.append((sizes, n_pa, n_pl))
            if len(files) >= 2:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:  # a driver that already finished is caught below ("the kill came too late")
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # every pack is 2 models and one part: a part in the making (visible before its last byte was
    # written) would fail to open or hold fewer rows; the readers' totals only grow
    assert seen, "no part appeared before the deadline"
    for sizes, n_pa, n_pl in seen:
        assert set(sizes) == {2} and n_pa >= sum(sizes) and n_pl >= sum(sizes), seen
    assert [n for _, n, _ in seen] == sorted(n for _, n, _ in seen), "rows disappeared while the sweep ran"
    store = ResultsStore(str(results))
    before = store.sweep("kill").status()
    assert before["planned"] == 24 and before["missing"] > 0, f"the kill came too late: {before}"
    main(["run", spec, "--results", str(results), "--progress", "lines"])
    assert store.sweep("kill").status() == {
        "sweep": "kill",
        "planned": 24,
        "ok": 24,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    exactly_once(store, "kill")
    curves = store.read("curves", "kill", dedupe=False)
    assert curves.num_rows == 24 * 2  # no curves left behind by packs killed between their two writes


@pytest.mark.slow
def test_run_into_an_object_store(s3_server, tmp_path, capsys):
    """`hpsweep run --results s3://...` (its own embedded Ray; credentials from the environment only)."""
    uri = f"s3://results/e2e?endpoint_override=127.0.0.1:{s3_server}&scheme=http"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hpsweep.sweep.cli",
            "run",
            spec_file(tmp_path),
            "--results",
            uri,
            "--progress",
            "lines",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sweep tiny: 8 planned, 8 ok" in done.stdout
    store = ResultsStore(uri)
    exactly_once(store, "tiny")
    assert store.read("curves", "tiny").num_rows == 8 * 2
    main(["query", uri, "SELECT count(*) AS n FROM trials WHERE status = 'ok'", "--format", "csv"])
    assert capsys.readouterr().out.split() == ["n", "8"]


def test_sampled_task_names_stay_whole_in_the_plan_at_80_columns(tmp_path, capsys, monkeypatch):
    """A sampled task's name is its parameters; folded mid-word it could not be copied into
    --task. Too long to share a line with the numbers, each name gets a line of its own."""
    monkeypatch.setenv("COLUMNS", "80")
    main(["run", "meta", "--dry-run", "--results", str(tmp_path / "r")])
    lines = capsys.readouterr().out.splitlines()
    names = [t.task for t in load_spec("meta").tasks]
    assert len(names) == 30 and all(name in lines for name in names)
    below = lines[lines.index(names[0]) + 1].split()
    assert below[:5] == ["28", "5", "128", "128", "4"]  # x, y, trials, to run, packs of that task
    assert max(len(line) for line in lines[1:]) <= 80  # the first names the (long) results path


def test_the_plan_reads_whole_at_80_columns_when_piped(tmp_path, capsys, monkeypatch):
    """Piped output is 80 columns wide; no number may be cut to '0.…'."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    main(["run", "--dry-run"])
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    assert "0.280-0.799" in out and "1,472-3,060" in out  # teacher's HP range and prototype's weights, whole
    assert not (tmp_path / "hpsweep-results").exists()
