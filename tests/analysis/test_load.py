"""Loading: final row per trial, old schema versions, filters, clear errors. Real Parquet files."""

from datetime import datetime, timedelta, timezone

import polars as pl
import pyarrow as pa
import pytest

from hpsweep.analysis.load import scan_trials
from hpsweep.analysis.synthetic import SyntheticTask, make_table, write_part
from hpsweep.workers.errors import AnalysisError, StoreError

TASK = SyntheticTask("teacher(x=64,y=8,t=20)", 64, 8)


def _set(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type))


def test_final_row_is_highest_attempt_then_latest(tmp_path):
    first = make_table(TASK, 4, sweep_id="s", seed=0, attempt=1)
    retry = _set(make_table(TASK, 4, sweep_id="s", seed=1, attempt=2), "status", ["ok", "failed", "ok", "ok"])
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    late = _set(
        _set(make_table(TASK, 4, sweep_id="s", seed=2, attempt=2), "finished_at", [t0 + timedelta(hours=1)] * 4),
        "test_score",
        [9.0, 9.0, 9.0, 9.0],
    )
    early = _set(retry, "finished_at", [t0] * 4)
    for table in (late, first, early):
        write_part(tmp_path, table, "s", TASK.name)
    every = scan_trials(tmp_path, statuses=None).collect()
    assert every.height == 4
    assert every["test_score"].to_list() == [9.0] * 4 and set(every["attempt"]) == {2}
    # without the later retry, attempt 2's own status decides: one trial is now failed
    (tmp_path / "trials").rename(tmp_path / "old")
    for table in (first, early):
        write_part(tmp_path, table, "s", TASK.name)
    ok = scan_trials(tmp_path).collect()
    assert ok.height == 3 and set(ok["attempt"]) == {2}


def test_old_schema_version_missing_columns_are_null(tmp_path):
    new = make_table(TASK, 5, sweep_id="new", seed=0)
    old = make_table(TASK, 5, sweep_id="old", seed=1).drop_columns(
        ["pack_size", "realised_hidden_proportion", "ray_version"]
    )
    old = _set(old, "schema_version", [0] * 5)
    write_part(tmp_path, old, "old", TASK.name)
    write_part(tmp_path, new, "new", TASK.name)
    df = scan_trials(tmp_path).collect()
    assert df.height == 10
    by_sweep = df.group_by("sweep_id").agg(pl.col("pack_size").null_count().alias("nulls")).sort("sweep_id")
    assert by_sweep.rows() == [("new", 0), ("old", 5)]


def test_filters_by_sweep_task_and_status(tmp_path):
    other = SyntheticTask("minari:hammer-expert-v1", 46, 26)
    write_part(tmp_path, make_table(TASK, 6, sweep_id="a", seed=0), "a", TASK.name)
    write_part(
        tmp_path,
        _set(make_table(other, 6, sweep_id="b", seed=1), "status", ["diverged"] * 2 + ["ok"] * 4),
        "b",
        other.name,
    )
    assert scan_trials(tmp_path, sweeps=["a"]).collect()["task"].unique().to_list() == [TASK.name]
    assert scan_trials(tmp_path, tasks=[other.name]).collect().height == 4
    assert scan_trials(tmp_path, tasks=[other.name], statuses=("diverged",)).collect().height == 2
    with pytest.raises(AnalysisError, match="status must be one of ok, diverged, failed, stopped; got 'done'"):
        scan_trials(tmp_path, statuses=("done",))


def test_no_parts_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match=r"no trial parts under .*trials/sweep=\*/task=\*/; run `hpsweep run` first"):
        scan_trials(tmp_path)


def test_reads_what_the_results_store_writes(tmp_path):
    from hpsweep.workers.results import ResultsStore

    store = ResultsStore(str(tmp_path))
    task = SyntheticTask("minari:hammer-expert-v1", 46, 26)
    store.sweep("s1").commit(task.name, "p0", 1, make_table(task, 7, sweep_id="s1"), None)
    (tmp_path / "trials" / "sweep=s1" / "task=minari%3Ahammer-expert-v1" / ".part-x.parquet.tmp").write_bytes(b"half")
    df = scan_trials(tmp_path).collect()
    assert df.height == 7 and df["task"].unique().to_list() == [task.name]


def test_an_unreadable_part_is_one_store_error(tmp_path):
    from hpsweep.analysis.analyze import analyze

    write_part(tmp_path, make_table(TASK, 5), "s", TASK.name)
    (tmp_path / "trials" / "sweep=s" / "task=x").mkdir(parents=True)
    (tmp_path / "trials" / "sweep=s" / "task=x" / "part-bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(
        StoreError,
        match=r"^trials/sweep=s/task=x/part-bad.parquet in results '.*' is not a readable Parquet file \(ArrowInvalid\): not a trials part hpsweep wrote; move it out of the results root$",
    ):
        analyze(tmp_path)


def test_balance_metrics_missing_from_an_old_part_are_computed_a_priori(tmp_path):
    from hpsweep.analysis.features import with_features

    table = make_table(TASK, 6, seed=4)
    drop = [
        "hidden_proportion",
        "hp_recurrent",
        "input_share",
        "output_share",
        "overall_density",
        "total_weights",
        "n_hh",
    ]
    write_part(tmp_path, table.drop_columns(drop), "s", TASK.name)
    got = with_features(scan_trials(tmp_path)).collect().sort("trial_id")
    want = pl.from_arrow(table).sort("trial_id")
    assert got.height == 6
    for column in drop[:5] + ["log_total_weights"]:
        expected = want["total_weights"].log() if column == "log_total_weights" else want[column]
        assert got[column].to_list() == pytest.approx(expected.to_list(), rel=1e-12), column
