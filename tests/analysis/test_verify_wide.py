"""research/verify_wide.py: the held-out tasks it draws before any result exists, and how it
scores recommend's answers. Training takes the better part of an hour, so only these run here."""

import pytest

from hpsweep.workers.descriptors import BLOCKS, Densities, describe
from research import verify_wide
from research.verify_recommend import key_of


@pytest.fixture(scope="module")
def drawn():
    return verify_wide.draw_tasks("meta-wide", 7, 2)


def test_the_draw_is_new_tasks_from_every_block_plus_the_papers_rad(drawn):
    from hpsweep.sweep.spec import load_spec

    known = {t.task for t in load_spec("meta-wide").tasks}
    assert drawn == verify_wide.draw_tasks("meta-wide", 7, 2)  # the seed alone decides
    assert len(drawn) == 13 and not known & {t["task"] for t in drawn}
    assert [t["block"] for t in drawn] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    paper = drawn[-1]
    assert (paper["family"], paper["x"], paper["budget"]) == ("rad", 2500, 100_000)
    assert any(t["n_train"] >= 2000 for t in drawn)
    for t in drawn:
        assert describe(t["x"], t["y"], Densities.uniform(1.0), budget=t["budget"]).hidden >= 8


def test_another_seed_draws_other_tasks(drawn):
    other = verify_wide.draw_tasks("meta-wide", 8, 2)
    assert {t["task"] for t in other[:-1]}.isdisjoint({t["task"] for t in drawn[:-1]})


def _config(d):
    return {f"d_{b}": v for b, v in zip(BLOCKS, d)}


def test_a_pick_is_scored_against_dense_and_the_verdict_checked():
    import polars as pl

    dense, sparse, other = (1.0,) * 6, (0.2,) * 6, (0.5,) * 6
    table = pl.DataFrame(
        {
            "task": ["t"] * 3,
            "config": [key_of(dense), key_of(sparse), key_of(other)],
            "score": [0.60, 0.70, 0.50],
            "seed_scores": [[0.59, 0.60, 0.61], [0.69, 0.70, 0.71], [0.5, 0.5, 0.5]],
        }
    )
    task = {"task": "t", "x": 10, "y": 2, "n_train": 500, "budget": 5000.0}
    rec = {"configs": [_config(other), _config(sparse)], "verdict": {"gain": 0.05, "low": 0.01, "high": 0.08}}
    row = verify_wide.score_task(table, task, rec)
    assert (row["pick_rank"], row["pick_regret"], row["dense_regret"], row["top5_regret"]) == (3, 1.0, 0.5, 0.0)
    assert row["gain"] == pytest.approx(-0.10)
    assert row["v_claim"] == "pays" and not row["v_covered"] and not row["v_hit"]
    assert row["tau"] == -1.0  # the worse of the two listed first
    rec["configs"].reverse()  # the sparse config first: it beats dense by 0.10, far beyond the seed noise
    row = verify_wide.score_task(table, task, rec)
    assert row["pick_regret"] == 0.0 and row["gain"] == pytest.approx(0.10) and row["tau"] == 1.0
    assert row["v_claim"] == "pays" and row["v_hit"] and not row["v_covered"]  # 0.10 is above the interval's 0.08
    rec["verdict"] = {"gain": 0.0, "low": -0.3, "high": 0.3}
    row = verify_wide.score_task(table, task, rec)
    assert row["v_claim"] == "unclear" and row["v_hit"] is None and row["v_covered"]


def test_the_report_gives_the_paired_difference_with_its_interval():
    rows = [
        {"task": f"t{i}", "pick_regret": p, "dense_regret": d, "top5_regret": 0.0}
        for i, (p, d) in enumerate([(0.0, 0.5), (0.1, 0.3), (0.2, 0.2), (0.0, 0.4)])
    ]
    text = verify_wide.report(rows, 60.0)
    assert "4 held-out tasks, 4 answered; 60 s of training" in text
    assert "- pick minus dense, paired per task: -0.275 [" in text
    assert "'near this request'" not in text  # rows scored before recommend said it
    for r, (tau, near) in zip(rows, [(0.9, 0.8), (0.2, 0.3), (0.5, 0.6), (0.7, 0.7)]):
        r |= {"tau": tau, "near_tau": near, "overall_tau": 0.6, "warned": near < 0.5}
    text = verify_wide.report(rows, 60.0)
    assert (
        "tracked it with Spearman 1.00 and missed it by 0.075 on average (the overall held-out tau 0.60 by 0.225)"
        in text
    )
    assert "- warned (train the top five): 1 tasks; tau +0.200 [" in text
    assert "- not warned: 3 tasks; tau +0.700 [" in text
