"""research.nearby_check judges each task by the other tasks' groups only, as if it were new."""

from research import nearby_check
from tests.analysis.test_nearby import bundle_with, group


def test_a_task_is_judged_without_its_own_groups():
    # "odd" sits among five well-ordered tasks of the same dims; its own groups are ordered badly
    groups = [group("odd", 100, 0.1, classification=True, budget=b) for b in (5_000, 10_000)]
    groups += [group(f"good{i}", 100 + i, 0.9, classification=True) for i in range(5)]
    rows = {r["task"]: r for r in nearby_check.per_task_rows(bundle_with(groups))}
    assert rows["odd"]["near_tau"] == 0.9 and not rows["odd"]["warned"]  # its own 0.1 would have pulled it down
    assert rows["odd"]["kendall"] == 0.1
    assert rows["good0"]["near_tau"] < 0.9  # odd's groups are among good0's nearest five
    text = nearby_check.report(list(rows.values()), {"mean": 0.55, "ci90": [0.45, 0.65]})
    assert "- not warned: 6 tasks; tau " in text and "- warned: 0 tasks; tau n/a" in text
