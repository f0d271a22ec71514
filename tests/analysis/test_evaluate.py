"""Held-out metrics on hand-made numbers, and the meta-models on known structure."""

import numpy as np
import polars as pl
import pytest

from hpsweep.analysis.analyze import choose_model
from hpsweep.analysis.evaluate import (
    DENSE,
    UNIFORM_02,
    bootstrap_interval,
    per_task,
    region_folds,
    summarise,
    unit_metrics,
)
from hpsweep.analysis.features import BASELINE_FEATURES
from hpsweep.analysis.metamodels import TREE_FEATURES
from hpsweep.workers.descriptors import BALANCE_METRICS


def _group(unit, task, configs, scores):
    lo, hi = min(scores), max(scores)
    order = np.argsort(np.argsort(scores))
    return [
        {
            "unit": unit,
            "task": task,
            "config": c,
            "score": s,
            "standing": o / (len(scores) - 1),
            "normalised": (s - lo) / (hi - lo),
        }
        for c, s, o in zip(configs, scores, order)
    ]


CONFIGS = [DENSE, UNIFORM_02, "a", "b", "c", "d"]
TABLE = pl.DataFrame(
    _group("t1 @ 1", "t1", CONFIGS, [0.5, 0.3, 0.9, 0.1, 0.7, 0.6])
    + _group("t2 @ 1", "t2", CONFIGS, [0.8, 0.2, 0.4, 0.6, 0.0, 1.0])
)
INFO = pl.DataFrame({"unit": ["t1 @ 1", "t2 @ 1"], "seed_noise": [0.05, 0.3]})


def test_unit_metrics_by_hand():
    # t1: the model puts c (0.7) first, then a (0.9): regret (0.9 - 0.7) / 0.8; t2: a perfect order
    pred = np.array([0.0, 0.1, 0.8, 0.2, 0.9, 0.3] + [0.8, 0.2, 0.4, 0.6, 0.0, 1.0])
    m = unit_metrics(TABLE, pred, INFO).sort("unit")
    assert m["regret1"].to_list() == pytest.approx([0.25, 0.0])
    assert m["regret5"].to_list() == pytest.approx([0.0, 0.0])
    assert m["kendall"][1] == pytest.approx(1.0) and m["ndcg5"][1] == pytest.approx(1.0)
    assert m["beats_dense"].to_list() == [1.0, 1.0] and m["beats_uniform"].to_list() == [1.0, 1.0]
    assert m["ge_dense"].to_list() == [1.0, 1.0]


def test_baselines_by_hand():
    dense = unit_metrics(TABLE, "always-dense", INFO).sort("unit")
    assert dense["regret1"].to_list() == pytest.approx([1 - 0.5, 1 - 0.8])
    uniform = unit_metrics(TABLE, "always-uniform-0.2", INFO).sort("unit")
    assert uniform["regret1"].to_list() == pytest.approx([1 - 0.25, 1 - 0.2])
    # t2's seed noise 0.3: uniform (0.2) is not within it of dense (0.8); t1: 0.3 vs 0.5 - 0.05 neither
    assert uniform["ge_dense"].to_list() == [0.0, 0.0] and uniform["beats_dense"].to_list() == [0.0, 0.0]
    rand = unit_metrics(TABLE, "random", INFO).sort("unit")
    norm1 = (np.array([0.5, 0.3, 0.9, 0.1, 0.7, 0.6]) - 0.1) / 0.8
    assert rand["regret1"][0] == pytest.approx(1 - norm1.mean())
    # the best of 5 random configs out of 6 misses the best only when the best is left out: 1/6
    assert rand["regret5"][0] == pytest.approx((1 / 6) * (1 - np.sort(norm1)[-2]))


def test_summary_excludes_tasks_and_bootstraps():
    tasks = per_task(unit_metrics(TABLE, "always-dense", INFO))
    s = summarise(tasks, {"t2"})
    assert s["n_tasks"] == 1 and s["n_excluded"] == 1 and s["regret1"]["mean"] == pytest.approx(0.5)
    lo, hi = bootstrap_interval(np.arange(100.0))
    assert 44 < lo < 49.5 < hi < 55


def test_region_folds_hold_out_quadrants():
    tasks = pl.DataFrame(
        {
            "task": ["a", "b", "c", "d", "e"],
            "log_input_dim": [1.0, 1.0, 5.0, 5.0, 3.0],
            "log_output_dim": [1.0, 5.0, 1.0, 5.0, 3.0],
        }
    )
    assert sorted(region_folds(tasks)) == [["a", "e"], ["b"], ["c"], ["d"]]


def test_no_post_training_column_is_a_feature():
    leaks = ("score", "loss", "realised", "seconds", "epochs_run", "status", "diverged", "lr", "seed", "task")
    assert not [f for f in TREE_FEATURES if any(word in f for word in leaks)]
    assert not set(BASELINE_FEATURES) & set(BALANCE_METRICS)


def test_chosen_model_is_the_best_held_out_tau_whatever_it_is():
    def entry(tau, regret):
        return {"loto": {"kendall": {"mean": tau}, "regret1": {"median": regret}}}

    assert (
        choose_model(
            {"paper/score": entry(0.4, 0.1), "rank/standing": entry(0.6, 0.2), "gbt/standing": entry(0.5, 0.0)}
        )
        == "rank/standing"
    )
    assert choose_model({"nearest/score": entry(0.6, 0.3), "gbt/score": entry(0.6, 0.1)}) == "gbt/score"  # tie: regret


def test_meta_models_recover_the_known_structure(synth_result):
    # score = level(x, y) - 1.5 (HP - hp_opt(x, y))^2 + noise: the paper polynomial's exact form
    loto = {k: v["loto"] for k, v in synth_result.models.items()}
    assert loto["paper/score"]["kendall"]["mean"] > 0.6 and loto["paper/standing"]["kendall"]["mean"] > 0.6
    assert loto["paper/score"]["regret1"]["median"] < synth_result.baselines["random"]["regret1"]["median"] / 2
    assert synth_result.paper_coefficients["score"]["hidden_proportion^2"] < 0  # an interior optimum in HP
    # the chosen model is the one with the best mean held-out tau, here the true form
    assert synth_result.chosen == max(loto, key=lambda k: loto[k]["kendall"]["mean"])
    assert synth_result.chosen.startswith("paper/")
    assert set(synth_result.models) == {
        "paper/standing",
        "paper/score",
        "gbt/standing",
        "gbt/score",
        "rank/standing",
        "nearest/standing",
        "nearest/score",
    }
    # 10 tasks x 2 budgets x 16 configs, 2 seeds each; every fold learns from 9 tasks' 288 rows
    assert synth_result.table.height == 320 and synth_result.n_rows == 640
    assert synth_result.models["gbt/score"]["loto_fit_rows"] == [288, 288]
    assert 0.3 < synth_result.ceiling["mean"] < 1.0


def test_learning_curve_sizes_and_tau_rise(synth_result):
    curve = synth_result.curve
    assert sorted(set(curve["n_train_tasks"].to_list())) == [5, 8]
    assert set(curve["model"].to_list()) == {synth_result.chosen, "gbt/score", "rank/standing"}
    assert (curve["n_tasks"] == 10).all()


def test_balance_ranking_puts_the_true_metric_first(synth_result):
    assert synth_result.ranking["metric"][0] == "hidden_proportion"
    assert synth_result.ranking["rank"].to_list() == [1, 2, 3, 4, 5]


def test_analysis_is_reproducible(synth_root):
    from hpsweep.analysis.analyze import AnalysisOptions, analyze

    a = analyze(synth_root, AnalysisOptions(curve=False), with_ranking=False)
    b = analyze(synth_root, AnalysisOptions(curve=False), with_ranking=False)
    assert a.models == b.models and a.table["config"].to_list() == b.table["config"].to_list()


def test_few_tasks_are_flagged(tmp_path):
    from hpsweep.analysis.analyze import AnalysisOptions, analyze
    from hpsweep.analysis.synthetic import default_tasks, write_meta_results

    write_meta_results(tmp_path, default_tasks(3))
    result = analyze(tmp_path, AnalysisOptions(curve=False), with_ranking=False)
    assert result.warnings() == [
        "only 3 tasks: every held-out metric rests on 3 folds fit on 2 tasks' dims and is "
        "rough; sweep 8+ tasks for firm answers"
    ]
    assert result.metrics()["warnings"] == result.warnings()


def test_a_fit_learns_from_at_most_200_configs_per_group_the_same_ones_in_any_order():
    from hpsweep.analysis.metamodels import FIT_CONFIGS_PER_GROUP, configs_per_group

    assert FIT_CONFIGS_PER_GROUP == 200
    frame = pl.DataFrame({"unit": ["big"] * 250 + ["small"] * 30, "config": [f"c{i}" for i in range(280)]})
    kept = configs_per_group(frame, 200)
    assert kept.group_by("unit").len().sort("unit").rows() == [("big", 200), ("small", 30)]
    shuffled = configs_per_group(frame.sample(fraction=1.0, shuffle=True, seed=5), 200)
    assert sorted(shuffled["config"].to_list()) == sorted(kept["config"].to_list())
    assert configs_per_group(kept, 200).equals(kept)  # applying it again changes nothing


def test_folds_fitted_in_two_processes_give_the_one_process_answer(tmp_path):
    """Random-search trials (a fresh config per trial, ~270 per group): every fold's fit is capped to 200
    configs per group, and spreading the folds over processes changes no prediction."""
    from hpsweep.analysis import metatable
    from hpsweep.analysis.evaluate import held_out, loto_folds
    from hpsweep.analysis.features import with_features
    from hpsweep.analysis.load import scan_trials
    from hpsweep.analysis.metamodels import model_named
    from hpsweep.analysis.synthetic import default_tasks, write_results

    write_results(tmp_path, default_tasks(3, seed=1), 800, seed=1)
    table = metatable.build(with_features(scan_trials(tmp_path, statuses=("ok",))).collect())
    sizes = table.group_by("task", "unit").len()
    assert sizes["len"].min() > 200
    tasks = sorted(sizes["task"].unique().to_list())
    expected_rows = [200 * sizes.filter(pl.col("task") != t).height for t in tasks]
    for key in ("gbt/score", "rank/standing", "paper/standing"):
        one, rows_one = held_out(lambda: model_named(key), table, loto_folds(tasks), jobs=1)
        two, rows_two = held_out(lambda: model_named(key), table, loto_folds(tasks), jobs=2)
        assert np.array_equal(one, two) and not np.isnan(one).any()
        assert rows_one == rows_two == expected_rows
