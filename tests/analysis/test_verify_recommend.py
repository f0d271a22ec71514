"""research/verify_recommend.py: the held-out tasks it draws and the summary it prints.

The script trains for minutes, so only its pure parts run here: the draw must not depend on how
many rounds are asked for (the first six are the pre-registered ones), must skip tasks the meta
results hold, and the summary must count the top 20% and regrets of the pick, dense and uniform."""

import polars as pl
import pytest

from research import verify_recommend


@pytest.fixture(scope="module")
def verify():
    return verify_recommend


def test_more_rounds_keep_the_first_six(verify):
    six = verify.draw_tasks(2026, set())
    eighteen = verify.draw_tasks(2026, set(), rounds=3)
    assert len(eighteen) == 18 and eighteen[:6] == six
    assert [t["family"] for t in eighteen] == list(verify.FAMILIES) * 3
    assert len({t["task"] for t in eighteen}) == 18


def test_a_task_the_meta_results_hold_is_drawn_again(verify):
    six = verify.draw_tasks(2026, set())
    redrawn = verify.draw_tasks(2026, {six[0]["task"]})
    assert six[0]["task"] not in {t["task"] for t in redrawn}
    assert redrawn[0]["family"] == "teacher"


def test_every_budget_gives_dense_at_least_eight_hidden_units(verify):
    for t in verify.draw_tasks(7, set(), rounds=2):
        allowed = verify.META_BUDGETS["small" if t["x"] < 32 else "large"]
        assert t["budget"] in allowed
        assert verify.describe(t["x"], t["y"], verify.Densities.uniform(1.0), budget=t["budget"]).hidden >= 8


def test_summary_counts_the_top_20_percent_and_regrets(verify):
    rows = pl.DataFrame(
        {
            "configs": [26, 26, 26, 26],
            "pick_rank": [1, 6, 7, 20],
            "pick_regret": [0.0, 0.1, 0.2, 0.9],
            "dense_rank": [2, 2, 2, 2],
            "dense_regret": [0.01, 0.01, 0.02, 0.03],
            "uniform02_rank": [26, 25, 6, None],
            "uniform02_regret": [1.0, 0.9, 0.1, None],
            "model": ["nearest/score"] * 4,
        }
    )
    text = verify.summary(rows, 12.0)
    assert "Top 20% = rank <= 6 of 26" in text
    assert "| top pick | 2 of 4 (" in text and "| 0.150 | 0.300 (" in text
    assert "| always dense | 4 of 4 (100%..100%) | 0.015 | 0.018 (" in text
    assert "| always uniform 0.2 | 1 of 4 (" in text  # a missing rank is not a hit
