"""Task sizes whose every parameter is in range but whose product is not: one line naming the parameters
and the limit, from `tasks` and from `run`, for every generated family; nothing generated or written."""

from pathlib import Path

import pytest

from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks import FAMILIES, get_task
from hpsweep.workers.tasks._params import MAX_TASK_VALUES
from tests.fuzz.harness import Case, check_case

LIMIT = f"over the limit of {MAX_TASK_VALUES:,} (8 GiB as float32) for one task's data"

TOO_BIG = {  # family -> (a task in range parameter by parameter, the start of its message)
    "teacher": (
        "teacher(t=10000,n_train=10000000)",
        "task teacher: (n_train+n_val+n_test) x t x (x+y) = 4,000,200,000,000 numbers, "
        + LIMIT
        + "; lower n_train, n_val, n_test, t, x or y",
    ),
    "prototype": (
        "prototype(x=100000,protos=100000,n_train=10)",
        "task prototype: protos x x = 10,000,000,000 numbers, " + LIMIT + "; lower protos or x",
    ),
    "lorenz": (
        "lorenz(n=10000,t=10000)",
        "task lorenz: (n_train+n_val+n_test) x (t+horizon) x 2n = 300,030,000,000 numbers, "
        + LIMIT
        + "; lower n_train, n_val, n_test, t, horizon or n",
    ),
    "rad": (
        "rad(side=256,frames=64,n_train=100000)",
        "task rad: (n_train+n_val+n_test) x (frames+1) x side^2 = 428,113,920,000 numbers, "
        + LIMIT
        + "; lower n_train, n_val, n_test, frames or side",
    ),
}


def test_every_generated_family_has_a_too_big_row():
    assert set(FAMILIES) <= set(TOO_BIG), f"families without a size row: {sorted(set(FAMILIES) - set(TOO_BIG))}"


def _spec(task: str):
    def setup(work: Path):
        (work / "spec.yaml").write_text(
            f"name: s\ntasks:\n  - task: {task}\n    hidden: [4]\n    densities: {{uniform: [1.0]}}\n"
        )

    return setup


CASES = [
    *(
        Case(f"tasks-{family}-too-big", ["tasks", task], message, exit_code=1)
        for family, (task, message) in TOO_BIG.items()
    ),
    *(
        Case(f"run-{family}-too-big", ["run", "spec.yaml", "--dry-run"], message, _spec(task), exit_code=1)
        for family, (task, message) in TOO_BIG.items()
    ),
    Case(
        "prototype-data-too-big",
        ["tasks", "prototype(x=100000,frames=256)"],
        "task prototype: (n_train+n_val+n_test) x (frames+1) x x = 38,550,000,000 numbers",
        exit_code=1,
    ),
    Case(
        "teacher-weights-too-big",
        ["tasks", "teacher(h=10000,y=10000,x=100000,n_train=1,n_val=1,n_test=1,t=1)"],
        "task teacher: (h+y) x (x+h) = 2,200,000,000 numbers, " + LIMIT + "; lower h, x or y",
        exit_code=1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_too_big_is_one_line(case, tmp_path, capfd):
    line = check_case(case, tmp_path, capfd)  # one line, non-zero exit, nothing written
    assert line.startswith("Error: ") and "over the limit of 2,147,483,648" in line


def test_the_limit_is_inclusive():
    """(n_train+n_val+n_test) x t x (x+y) = 2**21 x 512 x 2 = 2**31 exactly is accepted; one more step is not."""
    at_limit = "teacher(x=1,y=1,h=1,t=512,n_train=2096652,n_val=250,n_test=250)"
    assert get_task(at_limit).info().seq_len == 512  # info only: nothing generated
    with pytest.raises(TaskError, match=r"= 2,151,677,952 numbers, over the limit of 2,147,483,648 "):
        get_task(at_limit.replace("t=512", "t=513"))
