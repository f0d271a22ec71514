"""recommend picks the known optimum among the swept candidates, refuses what the results cannot
support, and reuses saved models."""

import json

import pytest

from hpsweep.analysis.analyze import AnalysisOptions, recommend_band
from hpsweep.analysis.recommend import candidate_set, candidates, label_of, quality_line, recommend
from hpsweep.analysis.saved import bundle_of, load_or_fit, models_dir
from hpsweep.analysis.synthetic import (
    SyntheticTask,
    default_tasks,
    make_table,
    true_score,
    write_meta_results,
    write_part,
)
from hpsweep.workers.descriptors import Densities, describe
from hpsweep.workers.errors import AnalysisError, DescriptorError


@pytest.fixture(scope="module")
def bundle(synth_root):
    return load_or_fit(synth_root)[0]


@pytest.mark.parametrize("x, y", [(120, 6), (700, 3), (40, 20)])
def test_top_pick_is_near_the_known_optimum_of_the_swept_candidates(bundle, x, y):
    budget = 60_000
    top = recommend(bundle, x, y, budget, top=3)
    assert top["rank"].to_list() == [1, 2, 3]
    truth = sorted(
        float(true_score(describe(x, y, d, budget=budget).hidden_proportion, x, y, budget))
        for _, d in candidate_set(bundle)
    )
    picked = float(true_score(top["hidden_proportion"][0], x, y, budget))
    assert picked >= truth[-3]  # among the true best three of the 16 candidates
    assert ((top["low"] <= top["predicted"]) & (top["predicted"] <= top["high"]) | (top["high"] == 1.0)).all()
    assert (top["high"] <= 1.0).all()  # within the score's possible range
    row = top.row(0, named=True)
    d = Densities(*(row[f"d_{b}"] for b in ("hx", "hh", "hy", "yx", "yh", "yy")))
    assert describe(x, y, d, budget=budget).hidden == row["hidden"]  # |h| from the budget


@pytest.mark.parametrize("key", ["paper/score", "gbt/standing", "nearest/score"])
def test_every_model_shows_predicted_standing_and_a_score_model_its_score_too(synth_result, key):
    """The top k with predicted standing and an honest band, whichever model won; a score
    model's predicted score (a new task's level, the hard part) comes beside it, not instead."""
    pred = synth_result.table[f"pred_{key}"].to_numpy()
    bundle = bundle_of(synth_result) | {
        "chosen": key,
        "fitted": {key: synth_result.fitted[key]},
        "band": recommend_band(synth_result.table, pred, key),
    }
    every = recommend(bundle, 120, 6, 60_000, top=100)
    assert every.height == 16 and every["predicted"].to_list() == sorted(every["predicted"], reverse=True)
    assert every["predicted"][0] == 1.0 and every["predicted"][-1] == 0.0  # first and last among the candidates
    assert ((0 <= every["low"]) & (every["low"] <= every["high"]) & (every["high"] <= 1)).all()
    if key.endswith("/score"):
        assert ((every["score_low"] <= every["score"]) & (every["score"] <= every["score_high"])).all()
        assert every["score"].is_sorted(descending=True)
    else:
        assert "score" not in every.columns


def test_candidates_are_the_swept_shared_set(bundle):
    labels = [label for label, _ in candidate_set(bundle)]
    assert len(labels) == 16 and labels.count("dense") == 1 and "uniform 0.2" in labels and labels.count("draw") == 12
    assert label_of((0.2, 1.0, 1.0, 0.2, 0.2, 0.2)) == "code 011000 base 0.2"
    generated = [label for label, _ in candidates(n_random=10)]
    assert "code 011001 base 0.2" in generated and sum(g.startswith("random") for g in generated) == 10


def test_quality_line_says_how_the_model_did_held_out(bundle):
    line = quality_line(bundle)
    assert line.startswith(f"model {bundle['chosen']}: on 10 held-out tasks Kendall tau ")
    assert "median top-pick regret" in line and line.endswith("learned from 10 tasks")


def test_refuses_far_outside_the_swept_range_and_bad_settings(bundle):
    lo, hi = bundle["swept"]["input_dim"]
    with pytest.raises(AnalysisError) as e:
        recommend(bundle, hi * 3, 5, 60_000)
    assert str(e.value) == (
        f"input_dim {hi * 3} is outside what the results can answer for (swept {lo}..{hi}; answers up to "
        f"{hi * 2}): the nearest it answers for is input_dim={hi * 2}; sweep tasks nearer to {hi * 3} to go further"
    )
    recommend(bundle, int(hi * 1.5), 5, 60_000)  # within the factor: answered
    with pytest.raises(AnalysisError, match=r"seq_len 200 is outside .* \(swept 20..20; answers up to 40\)"):
        recommend(bundle, 50, 5, 60_000, seq_len=200)
    with pytest.raises(AnalysisError, match=r"^--lr must be a positive number; got 0.0"):
        recommend(bundle, 50, 5, 60_000, lr=0.0)
    with pytest.raises(DescriptorError, match="input_dim must be a positive integer; got 0"):
        recommend(bundle, 0, 5, 60_000)


def test_refuses_fewer_than_three_tasks(tmp_path):
    tasks = default_tasks(2)
    names = ", ".join(sorted(t.name for t in tasks))
    write_meta_results(tmp_path, tasks)
    with pytest.raises(AnalysisError) as no_filter:
        load_or_fit(tmp_path)
    assert str(no_filter.value) == (
        f"the results under {tmp_path} hold scored trials of 2 tasks ({names}); the meta-models need "
        f"at least 3 tasks to hold one out: sweep at least 1 more task"
    )
    with pytest.raises(AnalysisError, match=r"after filtering by sweep=meta; .* relax --sweep/--task$"):
        load_or_fit(tmp_path, AnalysisOptions(sweeps=("meta",), filters_hint="--sweep/--task"))


def test_models_are_saved_reloaded_and_refitted_when_results_change(tmp_path):
    write_meta_results(tmp_path, default_tasks(4, seed=5), seed=5)
    options = AnalysisOptions()
    first, refitted = load_or_fit(tmp_path, options)
    assert refitted
    manifest = json.loads((models_dir(tmp_path, options) / "manifest.json").read_text())
    assert manifest["fingerprint"]["n_files"] == 4 and manifest["chosen"] == first["chosen"]
    again, refitted = load_or_fit(tmp_path, options)
    assert not refitted
    a = recommend(first, 100, 5, 30_000)
    assert a.equals(recommend(again, 100, 5, 30_000))
    write_part(tmp_path, make_table(SyntheticTask("late", 50, 5), 30, sweep_id="synth"), "synth", "late")
    newer, refitted = load_or_fit(tmp_path, options)
    assert refitted and newer["n_tasks"] == 5
