"""recommend says how its order held up on the held-out groups nearest the request (analysis/nearby.py)."""

import math

import pytest

from hpsweep.analysis.nearby import NEARBY_GROUPS, nearby, split_by_warning
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


def test_each_task_is_judged_by_the_others_only():
    """split_by_warning asks about each task as if new: its own groups are not its neighbours."""
    odd = [group("odd", 100, 0.1, classification=True)]
    good = [group(f"good{i}", 101 + i, 0.9, classification=True) for i in range(5)]
    bad = [group(f"bad{i}", 5000 + i, 0.2, classification=True) for i in range(5)]
    split = split_by_warning(odd + good + bad, {"mean": 0.55, "ci90": [0.5, 0.6]})
    # odd's neighbours are the five good tasks (0.9): not warned, off by 0.8. Each good task's are the
    # four others and odd (0.74), each bad task's the four others and the nearest good one (0.34)
    assert split["not_warned"]["n_tasks"] == 6 and split["warned"]["n_tasks"] == 5
    assert split["warned"]["kendall"]["mean"] == pytest.approx(0.2)
    assert split["error"] == pytest.approx((0.8 + 5 * 0.16 + 5 * 0.14) / 11)
    assert split["overall_error"] == pytest.approx((0.45 + 5 * 0.35 + 5 * 0.35) / 11)
    assert split_by_warning(odd + good[:1], {"mean": 0.5, "ci90": [0.4, 0.6]}) == {}  # two tasks: too few


def test_analyze_prints_and_saves_what_the_warning_tells_apart(synth_result):
    from hpsweep.analysis.verdict import verdict
    from hpsweep.sweep.commands.analyze import warning_split_text

    split = synth_result.warning_split
    n = synth_result.models[synth_result.chosen]["loto"]["kendall"]
    assert split["warned"]["n_tasks"] + split["not_warned"]["n_tasks"] == len(synth_result.tasks)
    assert synth_result.metrics()["warning_split"] == split == bundle_of(synth_result)["warning_split"]
    text = warning_split_text(split, n)
    assert text.startswith(
        f"Near a request: recommend reports the held-out tau of the 5 groups nearest it and warns where that is below {n['ci90'][0]:.2f}."
    )
    card = next(
        i for i in verdict(bundle_of(synth_result))["items"] if i["label"] == "tau where recommend does not warn"
    )
    assert card["note"].startswith(f"{split['not_warned']['n_tasks']} of {len(synth_result.tasks)} held-out tasks")


def test_tasks_all_ordered_alike_have_no_spearman_and_say_so():
    from hpsweep.sweep.commands.analyze import warning_split_text

    same = [group(f"t{i}", 100 + 50 * i, 0.5, classification=False) for i in range(4)]
    overall = {"mean": 0.5, "ci90": [0.4, 0.6]}
    split = split_by_warning(same, overall)
    assert split["spearman"] is None and split["not_warned"]["n_tasks"] == 4
    assert "Spearman n/a, off by 0.00 on average" in warning_split_text(split, overall)
