"""The meta-dataset: configs at their best lr, seeds averaged, standing within a task and budget."""

import numpy as np
import polars as pl
import pytest

from hpsweep.analysis.metatable import build, unit_info

DENSE, SPARSE, THIN = [1.0] * 6, [0.2] * 6, [0.5, 1.0, 1.0, 0.5, 0.5, 1.0]


def _trials(rows):
    """rows: (task, budget, densities, lr, seed, val, test); a features-like frame."""
    out = []
    for task, budget, d, lr, seed, val, test in rows:
        out.append(
            {
                "task": task,
                "budget": float(budget),
                "log_budget": float(np.log(budget)),
                "lr": lr,
                "seed": seed,
                "val_score": val,
                "test_score": test,
                "input_dim": 8,
                "output_dim": 4,
                "score_name": "accuracy",
                **{f"d_{b}": v for b, v in zip(("hx", "hh", "hy", "yx", "yh", "yy"), d)},
                "log_input_dim": np.log(8),
                "log_output_dim": np.log(4),
                "log_seq_len": 2.0,
                "log_n_train": 6.0,
                "log_hidden": 3.0,
                "log_total_weights": 7.0,
                "hidden_proportion": 0.5,
                "hp_recurrent": 0.5,
                "input_share": 0.2,
                "output_share": 0.3,
                "overall_density": 0.9,
                "log10_lr": np.log10(lr),
                "epochs": 10.0,
            }
        )
    return pl.DataFrame(out)


def test_each_config_is_scored_at_its_best_validation_lr_with_seeds_averaged():
    rows = [
        # dense: lr 0.01 wins on mean validation (0.7 vs 0.6) although lr 0.003 has the better test
        ("a", 1000, DENSE, 0.003, 0, 0.6, 0.9),
        ("a", 1000, DENSE, 0.003, 1, 0.6, 0.9),
        ("a", 1000, DENSE, 0.01, 0, 0.7, 0.5),
        ("a", 1000, DENSE, 0.01, 1, 0.7, 0.7),
        ("a", 1000, SPARSE, 0.003, 0, 0.8, 0.8),
        ("a", 1000, SPARSE, 0.003, 1, 0.8, 0.6),
        ("a", 1000, SPARSE, 0.01, 0, 0.1, 0.1),
        ("a", 1000, SPARSE, 0.01, 1, 0.1, 0.1),
        ("a", 1000, THIN, 0.003, 0, 0.5, 0.3),
        ("a", 1000, THIN, 0.003, 1, 0.5, 0.4),
        ("a", 1000, THIN, 0.01, 0, 0.4, 0.2),
        ("a", 1000, THIN, 0.01, 1, 0.4, 0.2),
    ]
    t = build(_trials(rows)).sort("config")
    assert t.height == 3 and t["unit"].unique().to_list() == ["a @ 1000"]
    by = {c: r for c, r in zip(t["config"], t.iter_rows(named=True))}
    dense, sparse, thin = by["1.0,1.0,1.0,1.0,1.0,1.0"], by["0.2,0.2,0.2,0.2,0.2,0.2"], by["0.5,1.0,1.0,0.5,0.5,1.0"]
    assert (dense["lr"], dense["score"], dense["seed_scores"]) == (0.01, pytest.approx(0.6), [0.5, 0.7])
    assert (sparse["lr"], sparse["score"]) == (0.003, pytest.approx(0.7))
    assert (thin["lr"], thin["score"], thin["n_lrs"], thin["n_seeds"]) == (0.003, pytest.approx(0.35), 2, 2)
    # standing: rank percentile in the group; normalised: (score - worst) / (best - worst)
    assert (sparse["standing"], dense["standing"], thin["standing"]) == (1.0, 0.5, 0.0)
    assert dense["normalised"] == pytest.approx((0.6 - 0.35) / (0.7 - 0.35))


def test_groups_are_task_and_budget_and_singletons_are_dropped():
    rows = [
        ("a", 1000, DENSE, 0.01, 0, 0.5, 0.5),
        ("a", 1000, SPARSE, 0.01, 0, 0.5, 0.6),
        ("a", 4000, DENSE, 0.01, 0, 0.5, 0.5),
        ("b", 1000, DENSE, 0.01, 0, 0.5, 0.4),
        ("b", 1000, SPARSE, 0.01, 0, 0.5, 0.4),
    ]
    t = build(_trials(rows))
    assert sorted(t["unit"].unique().to_list()) == ["a @ 1000", "b @ 1000"]
    assert t.filter(pl.col("unit") == "b @ 1000")["standing"].to_list() == [0.5, 0.5]  # a tie shares the rank


def test_noise_ceiling_and_near_chance():
    rows = []
    for i, d in enumerate((DENSE, SPARSE, THIN, [0.3] * 6)):
        rows += [("clear", 1000, d, 0.01, 0, 0.5, 0.2 + 0.1 * i), ("clear", 1000, d, 0.01, 1, 0.5, 0.21 + 0.1 * i)]
        # 4 classes: chance 0.25; every config within 0.05 of it, and the seeds disagree
        rows += [
            ("chance", 1000, d, 0.01, 0, 0.25, 0.25 + 0.01 * i),
            ("chance", 1000, d, 0.01, 1, 0.25, 0.29 - 0.01 * i),
        ]
    info = unit_info(build(_trials(rows))).sort("task")
    assert info["task"].to_list() == ["chance", "clear"]
    assert info["ceiling_tau"].to_list() == pytest.approx([-1.0, 1.0])
    assert info["near_chance"].to_list() == [True, False]
    assert info["chance"].to_list() == [0.25, 0.25]


def _halving_trials(rows):
    """rows: (densities, lr, epochs reached, val, test) of task a, budget 1000, seed 0."""
    t = _trials([("a", 1000, d, lr, 0, val, test) for d, lr, _, val, test in rows])
    return t.with_columns(pl.Series("epochs_reached", [float(r[2]) for r in rows]))


def test_a_config_stopped_at_a_rung_ranks_below_every_config_that_went_further():
    HALF = [0.5] * 6
    rows = [
        (DENSE, 0.01, 10, 0.6, 0.60),
        (SPARSE, 0.01, 10, 0.5, 0.50),  # promoted to the end
        (THIN, 0.01, 3, 0.7, 0.80),  # stopped at rung 3 with a better partial score than both
        (HALF, 0.01, 1, 0.2, 0.20),
    ]  # stopped at rung 1
    by = {r["config"]: r for r in build(_halving_trials(rows)).iter_rows(named=True)}
    dense, sparse = by["1.0,1.0,1.0,1.0,1.0,1.0"], by["0.2,0.2,0.2,0.2,0.2,0.2"]
    thin, half = by["0.5,1.0,1.0,0.5,0.5,1.0"], by["0.5,0.5,0.5,0.5,0.5,0.5"]
    assert [c["standing"] for c in (dense, sparse, thin, half)] == [
        1.0,
        pytest.approx(2 / 3),
        pytest.approx(1 / 3),
        0.0,
    ]
    # its score as trained is kept; its score is capped at the lowest of those that went further (sparse)
    assert (thin["trained_score"], thin["score"], thin["reached"]) == (pytest.approx(0.8), pytest.approx(0.5), 3.0)
    assert (half["trained_score"], half["score"]) == (pytest.approx(0.2), pytest.approx(0.2))
    # normalised over the scores (0.2..0.6): the stopped config never stands above sparse
    assert dense["normalised"] == 1.0 and sparse["normalised"] == pytest.approx(0.75)
    assert thin["normalised"] == pytest.approx(0.75) and half["normalised"] == 0.0


def test_the_best_lr_of_a_config_is_the_one_that_trained_further():
    rows = [(DENSE, 0.003, 10, 0.5, 0.5), (DENSE, 0.01, 3, 0.9, 0.9), (SPARSE, 0.003, 10, 0.4, 0.4)]
    by = {r["config"]: r for r in build(_halving_trials(rows)).iter_rows(named=True)}
    assert (by["1.0,1.0,1.0,1.0,1.0,1.0"]["lr"], by["1.0,1.0,1.0,1.0,1.0,1.0"]["reached"]) == (0.003, 10.0)


def test_a_sweep_without_a_schedule_gets_the_same_table_with_or_without_epochs_reached():
    rows = [
        ("a", 1000, d, lr, s, 0.1 * i + 0.01 * s, 0.1 * i - 0.02 * s)
        for i, d in enumerate((DENSE, SPARSE, THIN))
        for lr in (0.003, 0.01)
        for s in (0, 1)
    ]
    plain = build(_trials(rows))
    reached = build(_trials(rows).with_columns(pl.lit(10.0).alias("epochs_reached")))
    assert plain.equals(reached) and plain["score"].equals(plain["trained_score"], check_names=False)
