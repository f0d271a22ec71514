"""Bad inputs to `hpsweep run` (paths and options): one line, non-zero exit, nothing written.
All run with --dry-run where the mistake is found before Ray starts, so none needs a Ray."""

from pathlib import Path

import pytest

from tests.fuzz.harness import Case, check_case


def _file(name: str):
    def setup(work: Path):
        (work / name).write_text("not a directory\n")

    return setup


def _spec_with_task(task: str):
    def setup(work: Path):
        (work / "spec.yaml").write_text(f"name: s\ntasks:\n  - task: {task}\n    hidden: [4]\n")

    return setup


def _parquet(name: str, rows: int | None = None, cut: bool = False, task_spec: bool = True):
    """A file: Parquet in the work folder (all its rows, the first `rows`, or cut in half as a broken
    copy leaves it) and a spec that trains on it."""

    def setup(work: Path):
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        n, t = 10, 4
        table = pa.table(
            {
                "seq": np.repeat(np.arange(n), t),
                "step": np.tile(np.arange(t), n),
                "x_0": np.linspace(0, 1, n * t),
                "y_0": np.linspace(1, 0, n * t),
            }
        )
        pq.write_table(table.slice(0, rows) if rows is not None else table, work / name)
        if cut:
            whole = (work / name).read_bytes()
            (work / name).write_bytes(whole[: len(whole) // 2])
        if task_spec:
            (work / "spec.yaml").write_text(
                f"name: s\ntasks:\n  - task: file:{name}\n    hidden: [4]\n    densities: {{uniform: [1.0]}}\n"
            )

    return setup


CASES = [
    Case("run-relative-results-in-a-ray-job", ["run", "--dry-run"], "relative path inside a Ray job"),
    Case(
        "run-results-is-a-file",
        ["run", "--results", "res.txt", "--dry-run"],
        "'res.txt' is a file, not a directory",
        setup=_file("res.txt"),
    ),
    Case(
        "run-results-under-a-file",
        ["run", "--results", "res.txt/sub", "--dry-run"],
        "is under a file",
        setup=_file("res.txt"),
    ),
    Case("run-bad-progress", ["run", "--progress", "fancy", "--dry-run"], "--progress 'fancy' is not one of auto"),
    Case("run-results-unknown-scheme", ["run", "--results", "nosuch://bucket/x", "--dry-run"], "cannot be opened"),
    Case(
        "run-relative-task-file-missing",
        ["run", "spec.yaml", "--dry-run"],
        "data/missing.parquet does not exist",
        setup=_spec_with_task("file:data/missing.parquet"),
    ),
    Case("run-bad-scale-from-env", ["run", "--dry-run"], "--scale"),
    Case(
        "run-file-parquet-cut-short",
        ["run", "spec.yaml", "--dry-run"],
        "data.parquet: cannot be read as Parquet (Parquet magic bytes not found in footer.",
        exit_code=1,
        setup=_parquet("data.parquet", cut=True),
    ),
    Case(
        "run-file-parquet-no-rows",
        ["run", "spec.yaml", "--dry-run"],
        "data.parquet: has no rows; it needs at least 3 sequences (one each for train, val and test)",
        exit_code=1,
        setup=_parquet("data.parquet", rows=0),
    ),
    Case(
        "tasks-file-parquet-cut-short",
        ["tasks", "file:data.parquet"],
        "data.parquet: cannot be read as Parquet",
        exit_code=1,
        setup=_parquet("data.parquet", cut=True),
    ),
    Case(
        "tasks-file-parquet-no-rows",
        ["tasks", "file:data.parquet"],
        "data.parquet: has no rows",
        exit_code=1,
        setup=_parquet("data.parquet", rows=0),
    ),
    Case(
        "run-relative-results-on-cluster-auto",
        ["run", "--address", "auto", "--dry-run"],
        "--results 'hpsweep-results' is a relative path, but Ray address 'auto' joins a cluster whose other "
        "machines cannot see this machine's folders; give an object store (s3://bucket/prefix) or a path every "
        "node shares (/mnt/shared/hpsweep)",
        exit_code=1,
    ),
    Case(
        "run-relative-results-on-remote-head",
        ["run", "-r", "res", "--address", "ray://10.255.0.1:10001", "--dry-run"],
        "--results 'res' is a relative path, but Ray address 'ray://10.255.0.1:10001' joins a cluster",
        exit_code=1,
    ),
    Case(
        "run-relative-results-on-cluster-from-env",
        ["run", "-r", "res", "--dry-run"],
        "but Ray address '10.255.0.1:6379' joins a cluster",
        exit_code=1,
    ),
]

ENV = {  # environment per case, beyond the test session's
    "run-relative-results-in-a-ray-job": {"RAY_JOB_CONFIG_JSON_ENV_VAR": "{}"},
    "run-bad-scale-from-env": {"HPSWEEP_SCALE": "abc"},
    "run-relative-results-on-cluster-from-env": {"RAY_ADDRESS": "10.255.0.1:6379"},
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capfd, monkeypatch):
    for name, value in ENV.get(case.id, {}).items():
        monkeypatch.setenv(name, value)
    assert check_case(case, tmp_path, capfd).startswith(
        "Error: "
    )  # one line, exit != 0, nothing written: see check_case


@pytest.mark.parametrize(
    "address, cluster",
    [
        (None, False),
        ("local", False),
        ("127.0.0.1:6379", False),
        ("localhost:6379", False),
        ("ray://127.0.0.1:10001", False),
        ("auto", True),
        ("10.255.0.1:6379", True),
        ("ray://10.255.0.1:10001", True),
    ],
)
def test_which_addresses_name_a_cluster(address, cluster):
    """A head on this machine shares its disk (a relative path is made absolute as usual); 'auto' and a
    head elsewhere do not."""
    from hpsweep.sweep.locations import names_a_cluster

    assert names_a_cluster(address) is cluster


def test_absolute_paths_and_uris_pass_with_a_cluster_address(tmp_path, monkeypatch):
    from hpsweep.sweep.locations import check_results_for_cluster

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    for results in (str(tmp_path / "res"), "s3://bucket/prefix", "file:///mnt/shared/res"):
        assert check_results_for_cluster(results, "auto") is None  # raises nothing
    assert check_results_for_cluster("res", "127.0.0.1:6379") is None  # a head on this machine: made absolute as usual
