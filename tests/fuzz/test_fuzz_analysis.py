"""Bad inputs to `recommend` and `analyze`: one line, non-zero exit, nothing written."""

import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from hpsweep.analysis.saved import load_or_fit
from hpsweep.analysis.synthetic import default_tasks, write_meta_results
from tests.fuzz.harness import Case, check_case


@functools.lru_cache(maxsize=1)
def _template() -> Path:
    """Results of 4 tasks with their models already fitted and saved: a case that refuses must not
    write, and a current saved model means recommend has nothing to refit."""
    root = Path(tempfile.mkdtemp(prefix="hpsweep-fuzz-analysis-")) / "res"
    write_meta_results(root, default_tasks(4, seed=2), seed=2)
    load_or_fit(root)
    return root


def _results(work):
    shutil.copytree(_template(), work / "res")  # copy2: mtimes kept, so the saved models stay current


REC = ["recommend", "-x", "50", "-y", "5", "--budget", "20000", "--from", "res"]
CASES = [
    Case("lr-zero", [*REC, "--lr", "0"], "--lr must be a positive number; got 0.0", _results),
    Case("lr-negative", [*REC, "--lr", "-0.001"], "--lr must be a positive number; got -0.001", _results),
    Case("lr-nan", [*REC, "--lr", "nan"], "--lr must be a positive number; got nan", _results),
    Case("n-train-zero", [*REC, "--n-train", "0"], "--n-train must be a positive number; got 0", _results),
    Case("epochs-negative", [*REC, "--epochs", "-3"], "--epochs must be a positive number; got -3", _results),
    Case("seq-len-zero", [*REC, "--seq-len", "0"], "--seq-len must be a positive number; got 0", _results),
    Case(
        "seq-len-far",
        [*REC, "--seq-len", "400"],
        "seq_len 400 is outside what the results can answer for (swept 20..20; answers up to 40)",
        _results,
    ),
    Case(
        "budget-zero",
        ["recommend", "-x", "50", "-y", "5", "--budget", "0", "--from", "res"],
        "budget must be a positive number of weights; got 0.0",
        _results,
    ),
    Case(
        "x-far",
        ["recommend", "-x", "900000", "-y", "5", "--budget", "20000", "--from", "res"],
        "input_dim 900000 is outside what the results can answer for (swept ",
        _results,
    ),
    Case(
        "too-few-tasks",
        ["recommend", "-x", "50", "-y", "5", "--budget", "2e4", "--from", "few"],
        "the meta-models need at least 3 tasks to hold one out: sweep at least 1 more task",
        lambda w: write_meta_results(w / "few", default_tasks(2)),
    ),
    Case("no-results", ["analyze", "nowhere"], "no trial parts under"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capfd):
    line = check_case(case, tmp_path, capfd)
    assert "--status" not in line  # recommend has no --status: its messages never suggest it
