"""`import hpsweep as hs`: the Python API run for real (a sweep on the local Ray into real Parquet,
the analysis on synthetic results in the results layout), and the CLI giving the same answers."""

import json
import subprocess
import sys

import polars as pl
import pytest

import hpsweep as hs
from hpsweep.analysis.synthetic import default_tasks, write_results
from hpsweep.sweep.cli import main
from hpsweep.workers.errors import DescriptorError, SpecError
from tests.sweep.sweep_helpers import TINY


def test_import_is_light_and_exports_what_it_documents():
    code = (
        "import sys, hpsweep; heavy = ('ray', 'torch', 'polars', 'pyarrow', 'sklearn', 'numpy');"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
    assert {"run", "results", "describe", "analyze", "recommend"} <= set(hs.__all__)
    for name in hs.__all__:
        assert hasattr(hs, name), name
    for fn in (hs.run, hs.results, hs.describe, hs.analyze, hs.recommend):
        assert "Returns:" in fn.__doc__ and "Raises:" in fn.__doc__, fn.__name__


def test_run_then_results_are_the_winning_rows(ray_local, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative root, as a notebook gives it: the workers run elsewhere
    root = str(tmp_path / "r")
    lines = []
    report = hs.run({**TINY, "name": "api"}, results="r", echo=lines.append)
    assert (report.sweep_id, report.planned, report.skipped, report.packs, report.failed_packs) == ("api", 8, 0, 2, [])
    assert lines[0] == f"sweep api: 8 trials planned, 0 already done; running 8 models in 2 packs -> {root}"
    trials, curves = hs.results("r")
    assert isinstance(trials, pl.LazyFrame) and isinstance(curves, pl.LazyFrame)
    t = trials.collect()
    assert t.height == 8 and t["trial_id"].n_unique() == 8 and set(t["status"]) == {"ok"}
    assert curves.collect().height == 8 * 2  # two epochs per trial
    assert hs.results(root, sweep="other").trials.collect().height == 0
    again = hs.run({**TINY, "name": "api"}, results=root, echo=None)  # a re-run resumes: nothing left
    assert (again.planned, again.skipped, again.packs) == (8, 8, 0)


def test_run_refuses_a_bad_spec_before_anything_is_written(tmp_path):
    with pytest.raises(SpecError, match="training.epochs"):
        hs.run({**TINY, "training": {"epochs": 0, "seeds": [0]}}, results=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_describe_matches_the_cli(capsys):
    m = hs.describe(300, 12, budget=80_000, code="011001", base=0.2)
    main(["describe", "-x", "300", "-y", "12", "--budget", "80000", "--code", "011001", "--base", "0.2", "--json"])
    assert json.loads(capsys.readouterr().out) == m.to_dict()
    dense = hs.describe(5, 3, hidden=4)
    assert dense.hidden == 4 and dense.total_weights == 4 * 5 + 16 + 4 * 3 + 3 * 5 + 3 * 4 + 9
    by_name = hs.describe(5, 3, hidden=4, densities={"hh": 0.5})
    assert by_name.d_hh == 0.5 and by_name.d_hx == 1.0
    assert hs.describe(5, 3, hidden=4, densities=[1, 0.5, 1, 1, 1, 1]).to_dict() == by_name.to_dict()
    with pytest.raises(DescriptorError, match=r"unknown block\(s\) \['hz'\]"):
        hs.describe(5, 3, hidden=4, densities={"hz": 0.5})
    with pytest.raises(DescriptorError, match="give densities or code, not both"):
        hs.describe(5, 3, hidden=4, densities=[1] * 6, code="111111")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_results(root, default_tasks(4, seed=1), 120, seed=1)
    return str(root)


def test_analyze_then_recommend_reuses_the_saved_models(synth, tmp_path, capsys):
    result = hs.analyze(synth, report=str(tmp_path / "report"))
    assert len(result.tasks) == 4 and result.chosen in result.models
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["chosen_model"] == result.chosen
    assert "hpsweep analysis" in (tmp_path / "report" / "report.html").read_text()
    top = hs.recommend(synth, 300, 12, 80_000, top=3)
    assert top["rank"].to_list() == [1, 2, 3] and top["predicted"].is_sorted(descending=True)
    main(["recommend", "-x", "300", "-y", "12", "--budget", "80000", "--from", synth, "--top", "3", "--json"])
    cli = json.loads(capsys.readouterr().out)
    assert cli["refitted"] is False  # hs.analyze saved the models recommend uses
    assert cli["configs"] == top.to_dicts()
    assert top.verdict == cli["verdict"] and top.verdict["sentence"].startswith(("no verdict", "sparsity", "build"))


def test_analyze_with_too_few_tasks_is_an_hpsweep_error(synth):
    task = hs.results(synth).trials.select("task").unique().sort("task").collect()["task"][0]
    with pytest.raises(hs.HpsweepError, match="at least 3 tasks"):
        hs.analyze(synth, tasks=task, save=False)  # a bare string is one task, not its letters
