"""Bad inputs to `hpsweep run` (paths and options): one line, non-zero exit, nothing written.
All run with --dry-run where the mistake is found before Ray starts, so none needs a Ray."""

from pathlib import Path

import pytest

from tests.fuzz.harness import Case, check_case


def _file(name: str):
    def setup(work: Path):
        (work / name).write_text("not a directory\n")
    return setup


def _spec_with_task(task: str):
    def setup(work: Path):
        (work / "spec.yaml").write_text(f"name: s\ntasks:\n  - task: {task}\n    hidden: [4]\n")
    return setup


CASES = [
    Case("run-relative-results-in-a-ray-job", ["run", "--dry-run"], "relative path inside a Ray job"),
    Case("run-results-is-a-file", ["run", "--results", "res.txt", "--dry-run"], "'res.txt' is a file, not a directory",
         setup=_file("res.txt")),
    Case("run-results-under-a-file", ["run", "--results", "res.txt/sub", "--dry-run"], "is under a file",
         setup=_file("res.txt")),
    Case("run-bad-progress", ["run", "--progress", "fancy", "--dry-run"], "--progress 'fancy' is not one of auto"),
    Case("run-results-unknown-scheme", ["run", "--results", "nosuch://bucket/x", "--dry-run"], "cannot be opened"),
    Case("run-relative-task-file-missing", ["run", "spec.yaml", "--dry-run"], "data/missing.parquet does not exist",
         setup=_spec_with_task("file:data/missing.parquet")),
    Case("run-bad-scale-from-env", ["run", "--dry-run"], "--scale"),
]

ENV = {  # environment per case, beyond the test session's
    "run-relative-results-in-a-ray-job": {"RAY_JOB_CONFIG_JSON_ENV_VAR": "{}"},
    "run-bad-scale-from-env": {"HPSWEEP_SCALE": "abc"},
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capfd, monkeypatch):
    for name, value in ENV.get(case.id, {}).items():
        monkeypatch.setenv(name, value)
    assert check_case(case, tmp_path, capfd).startswith("Error: ")  # one line, exit != 0, nothing written: see check_case
