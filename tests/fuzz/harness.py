"""The shape every fuzz table shares: a bad input is one `Case`, and `check_case` runs it
through the real CLI entry point in a fresh working directory and asserts what a user must see:
a non-zero exit, exactly one line on stderr that starts with "Error:" and holds the expected
fragment, no traceback, and nothing written (the directory tree is the same before and after,
files and modification times, apart from what the case's own `setup` made).

Each owner keeps its own table module (test_fuzz_spec.py, test_fuzz_results.py, test_fuzz_cli.py):
    CASES = [Case("budget-inf", ["describe", "-x", "4", "-y", "2", "--budget", "inf"], "finite"), ...]
    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
    def test_bad_input(case, tmp_path, capfd):
        check_case(case, tmp_path, capfd)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    id: str  # short, unique within its table
    args: list[str]  # hpsweep's arguments; "{tmp}" is replaced by the case's working directory
    expect: str  # a fragment of the one-line message (case-sensitive)
    setup: Callable[[Path], None] | None = None  # makes the case's files in the working directory
    exit_code: int | None = None  # None: any non-zero code
    writes_allowed: tuple[str, ...] = field(default=())  # paths (relative) the case may create


def tree(root: Path) -> dict[str, int]:
    """Every file under root with its mtime (ns): what "nothing was written" compares."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() or p.is_dir()}


def check_case(case: Case, tmp_path: Path, capfd) -> str:
    """Run one case; returns the error line (for extra assertions)."""
    from hpsweep.sweep.cli import main

    work = tmp_path / "work"
    work.mkdir()
    if case.setup is not None:
        case.setup(work)
    before = tree(work)
    args = [a.replace("{tmp}", str(work)) for a in case.args]
    old = os.getcwd()
    os.chdir(work)
    try:
        capfd.readouterr()
        try:
            main(args)
            rc = 0
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(old)
    out, err = capfd.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc != 0, f"{case.id}: exit 0 for a bad input; stdout={out[-500:]!r} stderr={err[-500:]!r}"
    if case.exit_code is not None:
        assert rc == case.exit_code, f"{case.id}: exit {rc}, expected {case.exit_code}"
    assert "Traceback" not in err and "Traceback" not in out, f"{case.id}: traceback:\n{err[-2000:]}"
    assert len(lines) == 1, f"{case.id}: expected one line on stderr, got {len(lines)}:\n{err[-2000:]}"
    assert lines[0].startswith("Error:"), f"{case.id}: {lines[0]!r}"
    assert case.expect in lines[0], f"{case.id}: {case.expect!r} not in {lines[0]!r}"
    after = {k: v for k, v in tree(work).items() if not k.startswith(case.writes_allowed or ("\0",))}
    assert after == before, f"{case.id}: wrote {sorted(set(after) ^ set(before))} / changed files"
    return lines[0]
