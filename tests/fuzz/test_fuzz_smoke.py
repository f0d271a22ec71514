"""The harness itself: a bad value gives one line, nothing written (the first rows of the fuzz)."""

import pytest

from tests.fuzz.harness import Case, check_case

CASES = [
    Case(
        "describe-density-over-one",
        ["describe", "-x", "4", "-y", "2", "--hidden", "8", "--densities", "1.5,1,1,1,1,1"],
        "(0, 1]",
    ),
    Case("run-missing-spec", ["run", "no-such-spec.yaml", "--dry-run"], "no-such-spec"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capfd):
    assert check_case(case, tmp_path, capfd).startswith(
        "Error: "
    )  # one line, exit != 0, nothing written: see check_case
