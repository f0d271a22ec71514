"""recommend picks the known optimum, refuses what the results cannot support, and reuses saved models."""

import json

import numpy as np
import pytest

from hpsweep.analysis.analyze import AnalysisOptions
from hpsweep.analysis.recommend import candidates, recommend
from hpsweep.analysis.saved import load_or_fit, models_dir
from hpsweep.analysis.synthetic import SyntheticTask, default_tasks, hp_opt, make_table, true_score, write_part, write_results
from hpsweep.workers.descriptors import describe
from hpsweep.workers.errors import AnalysisError, DescriptorError


@pytest.fixture(scope="module")
def bundle(synth_root):
    return load_or_fit(synth_root)[0]


@pytest.mark.parametrize("x, y", [(120, 6), (700, 3), (40, 20)])
def test_top_pick_is_the_known_optimum(bundle, x, y):
    budget = 60_000
    top = recommend(bundle, x, y, budget, top=3)
    assert top["rank"].to_list() == [1, 2, 3] and top["predicted"].is_sorted(descending=True)
    assert abs(top["hidden_proportion"][0] - float(hp_opt(x, y))) < 0.08
    truth = [true_score(describe(x, y, d, budget=budget).hidden_proportion, x, y, budget) for _, d in candidates()]
    assert float(true_score(top["hidden_proportion"][0], x, y, budget)) > max(truth) - 0.01
    assert (top["low"] < top["predicted"]).all() and (top["predicted"] < top["high"]).all()
    # |h| comes from the budget through describe()
    row = top.row(0, named=True)
    from hpsweep.workers.descriptors import Densities
    d = Densities(*(row[f"d_{b}"] for b in ("hx", "hh", "hy", "yx", "yh", "yy")))
    assert describe(x, y, d, budget=budget).hidden == row["hidden"]


def test_candidates_cover_the_families():
    labels = [label for label, _ in candidates(n_random=10)]
    assert "dense" in labels and "uniform 0.2" in labels and "code 011001 base 0.2" in labels
    assert sum(label.startswith("random") for label in labels) == 10


def test_refuses_dims_far_outside_the_swept_range(bundle):
    lo, hi = bundle["swept"]["input_dim"]
    with pytest.raises(AnalysisError) as e:
        recommend(bundle, hi * 3, 5, 60_000)
    assert str(e.value) == (f"input_dim {hi * 3} is far outside the swept range {lo}..{hi} (more than 2x beyond it); "
                            f"the meta-models would extrapolate: sweep tasks nearer to it first")
    recommend(bundle, int(hi * 1.5), 5, 60_000)  # within the factor: answered
    with pytest.raises(AnalysisError, match="budget 10 is far outside the swept range"):
        recommend(bundle, 50, 5, 10)
    with pytest.raises(DescriptorError, match="input_dim must be a positive integer; got 0"):
        recommend(bundle, 0, 5, 60_000)


def test_refuses_fewer_than_three_tasks(tmp_path):
    write_results(tmp_path, default_tasks(2), 50)
    with pytest.raises(AnalysisError, match=r"hold scored trials of 2 task\(s\) after filtering; the meta-models need "
                                            r"at least 3 tasks"):
        load_or_fit(tmp_path)


def test_models_are_saved_reloaded_and_refitted_when_results_change(tmp_path):
    tasks = default_tasks(4, seed=5)
    write_results(tmp_path, tasks, 120, seed=5)
    options = AnalysisOptions(max_rows_per_task=100)
    first, refitted = load_or_fit(tmp_path, options)
    assert refitted
    manifest = json.loads((models_dir(tmp_path, options) / "manifest.json").read_text())
    assert manifest["fingerprint"]["n_files"] == 4 and manifest["chosen"] == first["chosen"]
    again, refitted = load_or_fit(tmp_path, options)
    assert not refitted
    x = np.array([[np.log(tasks[0].input_dim)] * len(first["features"]["paper"])])
    assert first["fitted"]["paper"].predict(x) == pytest.approx(again["fitted"]["paper"].predict(x))
    write_part(tmp_path, make_table(SyntheticTask("late", 50, 5), 30, sweep_id="synth"), "synth", "late")
    newer, refitted = load_or_fit(tmp_path, options)
    assert refitted and newer["n_tasks"] == 5
