"""recommend says how its order held up on the held-out groups nearest the request (analysis/nearby.py)."""

import math

import pytest

from hpsweep.analysis.nearby import NEARBY_GROUPS, nearby
from hpsweep.analysis.saved import bundle_of


def group(task: str, x: int, kendall: float, *, classification: bool, budget: float = 10_000) -> dict:
    return {
        "task": task,
        "unit": f"{task} @ {budget:g}",
        "kendall": kendall,
        "regret1": 1 - kendall,
        "regret5": (1 - kendall) / 4,
        "log_input_dim": math.log(x),
        "log_output_dim": math.log(5),
        "log_budget": math.log(budget),
        "log_seq_len": math.log(10),
        "is_classification": float(classification),
    }


# five small-input classifications ordered badly, five input-heavy regressions ordered well
SMALL = [
    group(f"rad(side={s})", s * s, k, classification=True) for s, k in zip(range(6, 11), (0.1, 0.2, 0.3, 0.0, 0.2))
]
LARGE = [group(f"teacher(x={x})", x, 0.9, classification=False) for x in (800, 900, 1000, 1100, 1200)]


def bundle_with(groups: list[dict]) -> dict:
    loto = {"kendall": {"mean": 0.55, "ci90": [0.45, 0.65]}}
    return {
        "held_out_groups": groups,
        "chosen": "nearest/score",
        "models": {"nearest/score": {"loto": loto}},
        "swept": {"medians": {"log_seq_len": math.log(10)}},
    }


def test_a_request_among_weakly_ordered_tasks_gets_their_tau_and_is_told_to_train_five():
    near = nearby(bundle_with(SMALL + LARGE), 64, 5, 10_000, kind="classification")
    assert set(near["groups"]) == {g["unit"] for g in SMALL}
    assert near["k"] == NEARBY_GROUPS and near["families"] == {"rad": 5}
    assert near["kendall"] == pytest.approx(0.16) and near["kendall_range"] == [0.0, 0.3]
    assert near["sentence"].startswith(
        "near this request: on the 5 held-out task x budget groups nearest it (5 rad) the order agreed "
        "with the measured one at Kendall tau 0.16 (0.00..0.30)"
    )
    assert "below the model's held-out tau overall (0.55): here, train the top five" in near["sentence"]


def test_a_request_among_well_ordered_tasks_gets_no_warning():
    near = nearby(bundle_with(SMALL + LARGE), 1000, 5, 10_000, kind="regression")
    assert set(near["groups"]) == {g["unit"] for g in LARGE} and near["kendall"] == pytest.approx(0.9)
    assert "train the top five" not in near["sentence"]


def test_the_kind_decides_between_groups_of_the_same_dims_and_is_ignored_without_one():
    both = [group("a", 100, 0.1, classification=True), group("b", 100, 0.9, classification=False)]
    far = [group(f"far{i}", 2000 + i, 0.5, classification=i % 2 == 0) for i in range(4)]
    groups = both + far
    assert nearby(bundle_with(groups), 100, 5, 10_000, kind="classification")["groups"][0] == "a @ 10000"
    assert nearby(bundle_with(groups), 100, 5, 10_000, kind="regression")["groups"][0] == "b @ 10000"
    # without a kind the two are equally near: both lead, in the saved order
    assert nearby(bundle_with(groups), 100, 5, 10_000)["groups"][:2] == ["a @ 10000", "b @ 10000"]


def test_a_bundle_saved_without_the_groups_gives_none():
    old = bundle_with([])
    assert nearby(old, 64, 5, 10_000) is None
    del old["held_out_groups"]
    assert nearby(old, 64, 5, 10_000) is None


def test_analyze_saves_one_row_per_held_out_group_of_the_chosen_model(synth_result):
    groups = bundle_of(synth_result)["held_out_groups"]
    units = synth_result.table.filter(~synth_result.table["task"].is_in(synth_result.excluded))["unit"].unique()
    assert sorted(g["unit"] for g in groups) == sorted(units.to_list())
    per_task = synth_result.per_task.filter(synth_result.per_task["model"] == synth_result.chosen)
    # the per-group taus average to the per-task ones analyze reports
    for task, tau in per_task.select("task", "kendall").iter_rows():
        mine = [g["kendall"] for g in groups if g["task"] == task]
        assert sum(mine) / len(mine) == pytest.approx(tau)
