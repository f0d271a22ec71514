"""Damaged results roots, hostile ids and queries: each is one line,
a non-zero exit, and nothing written anywhere in the working directory, which also holds a
`victim/` folder outside the results root that no command may read, write or delete."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hpsweep.analysis.synthetic import default_tasks, write_results
from tests.fuzz.harness import Case, check_case

SWEEP = "quickstart"


def _rows(n=3, sweep=SWEEP, task="teacher(x=8,y=4,t=10)"):
    from hpsweep.sweep.plan import Pack, Trial
    from hpsweep.sweep.rows import trial_rows

    class Shape:
        input_dim, output_dim, seq_len, n_train = 8, 4, 10, 100

    trials = tuple(Trial(f"t{i}", task, 0, 16 + i, None, (1.0,) * 6, 1e-3, 2, 8, 0.05, i) for i in range(n))
    pack = Pack("p1", task, 0, 2, 8, trials)
    return pack, trial_rows(sweep, pack, 1, Shape(), error="boom", in_ray=False)


def root(work: Path, name="r") -> Path:
    """A small valid root: the quickstart sweep frozen with its real spec, one committed pack, and a
    victim folder beside it (outside the root)."""
    from hpsweep.sweep.spec import load_spec
    from hpsweep.workers.results import ResultsStore

    spec = load_spec("quickstart")
    store = ResultsStore(str(work / name))
    pack, rows = _rows()
    sweep = store.sweep(SWEEP)
    sweep.save(
        spec.text,
        spec.spec_hash,
        pa.table({"trial_id": [t.trial_id for t in pack.trials], "task": [pack.task] * len(pack.trials)}),
    )
    sweep.commit(pack.task, pack.pack_id, 1, rows, None)
    sweep.begin_attempt(pack.pack_id)
    victim = work / "victim" / "trials" / "sweep=x" / "task=y"
    victim.mkdir(parents=True)
    pq.write_table(rows, victim / "part-1.parquet")
    pq.write_table(rows, victim / "part-2.parquet")
    (work / "victim" / ".part-3.parquet.abcd.tmp").write_bytes(b"x")
    return work / name


def foreign(work: Path) -> None:
    r = root(work)
    folder = next((r / "trials" / f"sweep={SWEEP}").iterdir())
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), folder / "part-planted.parquet")


def truncated_plan(work: Path) -> None:
    plan = root(work) / "sweeps" / SWEEP / "plan.parquet"
    plan.write_bytes(plan.read_bytes()[:25])


def damaged_spec(work: Path) -> None:
    (root(work) / "sweeps" / SWEEP / "spec.yaml").write_bytes(b"\xff\xfe not yaml")


def a_file(work: Path) -> None:
    root(work)
    (work / "afile").write_text("not a results root\n")


def missing_curves(work: Path) -> None:
    root(work)


Q = ["query", "r"]
CASES = [
    # 13.1 nothing outside the root
    Case("compact-sweep-traversal", ["compact", "r", "--sweep", "x/../../../victim"], "sweep id must be letters", root),
    Case("compact-sweep-dotdot", ["compact", "r", "--sweep", ".."], "sweep id must be letters", root),
    Case("compact-sweep-absolute", ["compact", "r", "--sweep", "{tmp}/victim"], "sweep id must be letters", root),
    Case("compact-sweep-empty", ["compact", "r", "--sweep", ""], "sweep id must be letters", root),
    Case("compact-sweep-too-long", ["compact", "r", "--sweep", "s" * 200], "at most 128 characters", root),
    Case(
        "query-sweep-traversal", [*Q, "SELECT * FROM trials", "--sweep", "../victim"], "sweep id must be letters", root
    ),
    Case("status-sweep-traversal", ["status", "r", "--sweep", "x/../../victim"], "sweep id must be letters", root),
    Case("status-sweep-backslash", ["status", "r", "--sweep", "a\\b"], "sweep id must be letters", root),
    # 13.2 query reads the results and nothing else
    Case("query-read-csv", [*Q, "SELECT * FROM read_csv('/etc/passwd')"], "may read only the tables", root),
    Case(
        "query-read-parquet",
        [*Q, "SELECT * FROM read_parquet('victim/trials/sweep=x/task=y/part-1.parquet')"],
        "may read only the tables",
        root,
    ),
    Case("query-read-ipc", [*Q, "SELECT * FROM read_ipc('/etc/hostname')"], "may read only the tables", root),
    Case("query-read-json", [*Q, "SELECT * FROM read_json('/etc/hostname')"], "may read only the tables", root),
    Case(
        "query-join-read-csv",
        [*Q, "SELECT * FROM trials t JOIN read_csv('/etc/passwd') p ON true"],
        "may read only the tables",
        root,
    ),
    Case(
        "query-comma-read-parquet",
        [*Q, "SELECT * FROM trials, read_parquet('victim/**/*.parquet')"],
        "may read only the tables",
        root,
    ),
    Case(
        "query-subquery-read-json",
        [*Q, "SELECT (SELECT count(*) FROM read_json('/etc/hostname')) FROM trials"],
        "may read only the tables",
        root,
    ),
    Case(
        "query-cte-read-csv",
        [*Q, "WITH trials AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM trials"],
        "may read only the tables",
        root,
    ),
    Case("query-path-literal", [*Q, "SELECT * FROM '/etc/passwd'"], "may read only the tables", root),
    Case("query-qualified", [*Q, "SELECT * FROM other.trials"], "may read only the tables", root),
    Case("query-create", [*Q, "CREATE TABLE x AS SELECT * FROM trials"], "query is read-only", root),
    Case("query-drop", [*Q, "DROP TABLE trials"], "query is read-only", root),
    Case("query-two-statements", [*Q, "SELECT 1; SELECT * FROM read_csv('/etc/passwd')"], "query is read-only", root),
    Case("query-unknown-table", [*Q, "SELECT * FROM secrets"], "may read only the tables", root),
    Case("query-unparsable", [*Q, "SELECT FROM WHERE ((("], "query", root),
    # 13.3 store side: nothing written for a bad --output, damaged roots
    Case(
        "query-output-missing-dir",
        [*Q, "SELECT 1 AS one", "--output", "nodir/out.csv", "--format", "csv"],
        "the folder",
        root,
    ),
    Case("status-foreign-part", ["status", "r"], "part-planted.parquet in results 'r' lacks the column(s)", foreign),
    Case("compact-foreign-part", ["compact", "r"], "not a trials part hpsweep wrote", foreign),
    Case("query-foreign-part", [*Q, "SELECT count(*) FROM trials"], "not a trials part hpsweep wrote", foreign),
    Case("run-foreign-part", ["run", "quickstart", "-r", "r"], "not a trials part hpsweep wrote", foreign),
    Case("analyze-foreign-part", ["analyze", "r"], "not a trials part hpsweep wrote", foreign),
    Case("status-truncated-plan", ["status", "r"], "plan.parquet is damaged", truncated_plan),
    Case("run-damaged-spec-yaml", ["run", "quickstart", "-r", "r"], "spec.yaml is not a frozen spec", damaged_spec),
    Case("status-unknown-sweep", ["status", "r", "--sweep", "nope"], "hold no sweep 'nope'", root),
    # 13.4 store side: a file or nothing where a root should be
    Case("query-root-is-file", ["query", "afile", "SELECT 1"], "is a file, not a results directory", a_file),
    Case("status-root-is-file", ["status", "afile"], "is a file, not a results directory", a_file),
    Case("compact-root-is-file", ["compact", "afile"], "is a file, not a results directory", a_file),
    Case("query-root-missing", ["query", "nothing-here", "SELECT 1"], "do not exist", root),
    Case("status-root-missing", ["status", "nothing-here"], "do not exist", root),
    Case("compact-root-missing", ["compact", "nothing-here"], "do not exist", root),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capfd):
    assert check_case(case, tmp_path, capfd).startswith(
        "Error: "
    )  # one line, exit != 0, nothing written: see check_case


def _mount_read_only(folder: Path):
    """A read-only filesystem at `folder` (a tmpfs remounted read-only), or None where this
    process may not mount (then chmod 555 serves for a non-root user)."""
    if os.geteuid() != 0:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    ok = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)], capture_output=True).returncode
        == 0
    )
    return folder if ok else None


@pytest.fixture
def read_only(tmp_path):
    """A setup that puts a results root on a read-only filesystem at work/ro (a tmpfs remounted
    read-only when this process may mount; chmod for a non-root user); unmounted afterwards."""
    mounted = []

    def setup(work: Path) -> None:
        folder = _mount_read_only(work / "ro")
        if folder is None and os.geteuid() == 0:
            pytest.skip("root without mount permission: no read-only filesystem can be made here")
        root(work, "ro/r")
        write_results(work / "ro" / "r", default_tasks(4, seed=1), 60, seed=1)  # enough for analyze
        if folder is not None:
            mounted.append(folder)
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        else:
            for p in sorted((work / "ro").rglob("*"), reverse=True):
                p.chmod(0o555 if p.is_dir() else 0o444)

    yield setup
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize(
    "args",
    [
        ["compact", "ro/r"],
        ["run", "quickstart", "-r", "ro/r"],
        ["query", "ro/r", "SELECT 1 AS one", "-o", "ro/out.csv", "--format", "csv"],
        ["analyze", "ro/r", "--out", "report"],
    ],
    ids=["compact", "run", "query-output", "analyze"],
)
def test_a_read_only_root_is_one_line(args, read_only, tmp_path, capfd):
    line = check_case(Case("read-only", args, "cannot write", setup=read_only), tmp_path, capfd)
    assert "read-only" in line or "permission denied" in line
