"""Within-task metrics on hand-made numbers, and the meta-models on known structure."""

import numpy as np
import pytest

from hpsweep.analysis.evaluate import per_task_metrics, residual_band, summary
from hpsweep.analysis.features import ALL_FEATURES, BASELINE_FEATURES
from hpsweep.workers.descriptors import BALANCE_METRICS


def test_per_task_metrics_by_hand():
    y = np.array([0.1, 0.5, 0.3, 0.9, 0.2, 0.4])
    pred = np.array([0.0, 0.2, 0.9, 0.4, 0.1, 0.2])  # task a: picks 0.3 (best 0.5); task b: perfect order
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    m = per_task_metrics(y, pred, groups).sort("task")
    assert m["regret"].to_list() == pytest.approx([0.2, 0.0])
    assert m["spearman"].to_list() == pytest.approx([0.5, 1.0])
    assert m["kendall"].to_list() == pytest.approx([1 / 3, 1.0])
    assert m["n"].to_list() == [3, 3]
    s = summary(y, pred, m)
    assert s["regret_mean"] == pytest.approx(0.1) and s["regret_max"] == pytest.approx(0.2)


def test_constant_prediction_has_zero_rank_correlation():
    m = per_task_metrics(np.array([1.0, 2.0, 3.0]), np.zeros(3), np.array(["t"] * 3))
    assert m["spearman"][0] == 0.0 and m["kendall"][0] == 0.0


def test_residual_band_brackets_90_percent():
    rng = np.random.default_rng(0)
    y = rng.normal(size=10_000)
    low, high = residual_band(y, np.zeros_like(y))
    assert low == pytest.approx(-1.645, abs=0.06) and high == pytest.approx(1.645, abs=0.06)


def test_no_post_training_column_is_a_feature():
    leaks = ("score", "loss", "realised", "seconds", "epochs_run", "status", "diverged")
    assert not [f for f in ALL_FEATURES if any(word in f for word in leaks)]
    assert not set(BASELINE_FEATURES) & set(BALANCE_METRICS)
    assert not [f for f in BASELINE_FEATURES if f.startswith("d_")]


def test_paper_model_recovers_the_known_structure(synth_result):
    paper, gbt, base = (synth_result.models[k] for k in ("paper", "gbt", "baseline"))
    # score = level(x, y) - 1.5 (HP - hp_opt(x, y))^2 + ...: exactly the paper model's form
    assert paper["r2_pooled"] > 0.9 and paper["spearman_mean"] > 0.85 and paper["kendall_mean"] > 0.7
    assert gbt["spearman_mean"] > 0.7
    assert base["spearman_mean"] < 0.3  # without densities nothing ranks configs inside a task
    assert paper["regret_mean"] < base["regret_mean"] / 2 and gbt["regret_mean"] < base["regret_mean"]
    assert synth_result.paper_coefficients["hidden_proportion^2"] < 0  # an interior optimum in HP
    assert synth_result.chosen in ("paper", "gbt")
    assert synth_result.per_task.height == 3 * 10 and synth_result.n_rows == 3000


def test_balance_ranking_puts_the_true_metric_first(synth_result):
    ranking = synth_result.ranking
    assert ranking["metric"][0] == "hidden_proportion"
    assert ranking["rank"].to_list() == [1, 2, 3, 4, 5]
    assert ranking["r2_gain"][0] > 0.8
    per_task_best = (synth_result.ranking_per_task.sort("r2_gain", descending=True)
                     .group_by("task").first()["metric"].to_list())
    assert per_task_best.count("hidden_proportion") >= 8


def test_analysis_is_reproducible(synth_root):
    from hpsweep.analysis.analyze import AnalysisOptions, analyze

    a = analyze(synth_root, AnalysisOptions(max_rows_per_task=120), with_ranking=False)
    b = analyze(synth_root, AnalysisOptions(max_rows_per_task=120), with_ranking=False)
    assert a.n_rows_used == 1200 and a.data["trial_id"].to_list() == b.data["trial_id"].to_list()
    assert a.models == b.models


def test_few_tasks_are_flagged(tmp_path):
    from hpsweep.analysis.analyze import analyze
    from hpsweep.analysis.synthetic import default_tasks, write_results

    write_results(tmp_path, default_tasks(3), 60)
    result = analyze(tmp_path, with_ranking=False)
    assert result.warnings() == ["only 3 tasks: every held-out metric rests on 3 folds fit on 2 tasks' dims and is "
                                 "rough; sweep 8+ tasks for firm answers"]
    assert result.metrics()["warnings"] == result.warnings()
