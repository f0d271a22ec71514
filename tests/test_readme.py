"""The README's tour, run as written: the commands are read from README.md itself and run one by one
as a user types them, from a fresh working directory, with the default relative results path.

Only the size changes: HPSWEEP_SCALE shrinks the quickstart (the same as `--scale`) and the
HPSWEEP_BENCH_* variables shrink `hpsweep bench`, so no command line differs from the README's.
The sweep connects to the session's Ray (RAY_ADDRESS), whose workers run in another directory:
results that land anywhere but ./hpsweep-results fail this test.
"""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL = {"HPSWEEP_SCALE": "0.1", "HPSWEEP_BENCH_MODELS": "4", "HPSWEEP_BENCH_ITERS": "2", "HPSWEEP_BENCH_REPEATS": "1"}


def tour_commands() -> list[list[str]]:
    """The argv of each line of the README's "A tour" block (comments dropped)."""
    section = README.read_text().split("\n## A tour\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def _hpsweep(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    assert args[0] == "hpsweep", args
    return subprocess.run(
        [sys.executable, "-m", "hpsweep.sweep.cli", *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tour_parses_into_the_commands_this_test_checks():
    names = [(c[1], c[2] if len(c) > 2 and c[2].startswith("--dry") else "") for c in tour_commands()]
    assert names == [
        ("describe", ""),
        ("tasks", ""),
        ("run", "--dry-run"),
        ("run", ""),
        ("status", ""),
        ("query", ""),
        ("analyze", ""),
        ("recommend", ""),
        ("bench", ""),
    ]


@pytest.mark.slow
def test_readme_tour_from_a_fresh_directory(ray_local, tmp_path, monkeypatch):
    import os

    env = {**os.environ, **SMALL, "RAY_ADDRESS": ray_local.get_runtime_context().gcs_address}
    cwd = tmp_path / "fresh"
    cwd.mkdir()
    outputs = {}
    for args in tour_commands():
        done = _hpsweep(args, cwd, env)
        outputs[args[1] + (" --dry-run" if "--dry-run" in args else "")] = done
        if args[1] == "recommend" and done.returncode != 0:  # may refuse on a small sweep: one line
            assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, done.stderr
            continue
        assert done.returncode == 0, f"{shlex.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    # rows where the user looks: ./hpsweep-results/trials, every planned trial once
    trials = ds.dataset(str(cwd / "hpsweep-results" / "trials"), format="parquet", partitioning="hive")
    ids = trials.to_table(columns=["trial_id", "status"])
    status = json.loads(_hpsweep(["hpsweep", "status", "hpsweep-results", "--json"], cwd, env).stdout)
    assert status["planned"] > 0 and status["missing"] == 0 and status["failed"] == 0
    assert ids.num_rows == len(set(ids["trial_id"].to_pylist())) == status["planned"]
    assert status["ok"] + status["diverged"] == status["planned"]
    assert f"{status['planned']} planned, {status['ok']} ok" in outputs["run"].stdout
    assert status["sweep"] in outputs["status"].stdout
    # query: one row per task, the three quickstart tasks
    assert all(t in outputs["query"].stdout for t in ("teacher", "lorenz", "prototype"))
    # analyze wrote its report into the results root the user named
    assert (cwd / "hpsweep-results" / "report").is_dir() and any((cwd / "hpsweep-results" / "report").iterdir())
    # a second run has nothing left to do
    again = _hpsweep(["hpsweep", "run"], cwd, env)
    assert again.returncode == 0 and "nothing to run" in again.stdout, again.stdout + again.stderr


def meta_commands() -> list[list[str]]:
    """The argv of each line of the README's "Which model to build for a new data set" block."""
    section = README.read_text().split("\n## Which model to build for a new data set\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_the_meta_block_is_run_meta_analyze_recommend():
    assert [c[:3] for c in meta_commands()] == [
        ["hpsweep", "run", "meta"],
        ["hpsweep", "analyze", "meta-results"],
        ["hpsweep", "recommend", "-x"],
    ]


@pytest.mark.slow
def test_readme_meta_block_from_a_fresh_directory(ray_local, tmp_path):
    """The meta-dataset path as typed (shrunk by HPSWEEP_SCALE: 6 tasks, one seed), with its
    relative results folder: the sweep lands there, analyze judges every model on it, and recommend
    answers or refuses in one line (n_train 500 is far from the shrunk tasks' 25)."""
    import os

    env = {**os.environ, "HPSWEEP_SCALE": "0.05", "RAY_ADDRESS": ray_local.get_runtime_context().gcs_address}
    cwd = tmp_path / "fresh"
    cwd.mkdir()
    run, analyze, recommend = (_hpsweep(args, cwd, env) for args in meta_commands())
    assert run.returncode == 0, run.stdout + run.stderr
    status = json.loads(_hpsweep(["hpsweep", "status", "meta-results", "--json"], cwd, env).stdout)
    assert status["planned"] == status["ok"] + status["diverged"] > 0 and status["sweep"].startswith("meta-scale-")
    assert analyze.returncode == 0, analyze.stdout + analyze.stderr
    assert "6 tasks" in analyze.stdout and "needs 2 seeds" in analyze.stdout and "nan" not in analyze.stdout
    assert (cwd / "meta-results" / "report" / "report.html").is_file()
    if recommend.returncode:
        assert recommend.stderr.startswith("Error: ") and recommend.stderr.count("\n") == 1, recommend.stderr
    else:
        assert "held-out tasks Kendall tau" in recommend.stdout
