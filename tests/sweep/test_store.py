"""One contract suite for the results store (workers/results), run on every filesystem it supports:
a local directory and a real S3-compatible server (moto) on loopback."""

import os
import threading
import time

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from hpsweep.sweep.plan import Pack, Trial
from hpsweep.sweep.rows import trial_rows
from hpsweep.workers.errors import StoreError
from hpsweep.workers.results import ResultsStore
from hpsweep.workers.results.lease import TTL_S
from hpsweep.workers.schema import CURVES_SCHEMA, TRIALS_SCHEMA

_counter = iter(range(10**6))


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return ResultsStore(str(tmp_path / "results"))
    port = request.getfixturevalue("s3_server")
    return ResultsStore(f"s3://results/run{next(_counter)}?endpoint_override=127.0.0.1:{port}&scheme=http")


@pytest.fixture
def sweep(store):
    return store.sweep("s1")


class _Shape:
    input_dim, output_dim, seq_len, n_train = 8, 4, 10, 100


def _pack(pack_id="p1", task="teacher(x=8,y=4,t=10)", n=3):
    trials = tuple(Trial(f"{pack_id}-t{i}", task, 0, 16 + i, None, (1.0,) * 6, 1e-3, 2, 8, 0.05, i) for i in range(n))
    return Pack(pack_id, task, 0, 2, 8, trials)


def _failed(pack, attempt, error="boom"):
    return trial_rows("s1", pack, attempt, _Shape(), error=error, in_ray=False)


def _curves(pack):
    rows = [
        {
            "schema_version": 1,
            "sweep_id": "s1",
            "trial_id": t.trial_id,
            "task": pack.task,
            "epoch": e,
            "train_loss": 1.0 / e,
            "val_loss": 1.0 / e,
            "val_score": 0.1 * e,
        }
        for t in pack.trials
        for e in (1, 2)
    ]
    return pa.Table.from_pylist(rows, schema=CURVES_SCHEMA)


def test_parts_round_trip_with_all_columns(store, sweep):
    pack = _pack()
    assert sweep.commit(pack.task, pack.pack_id, 1, _failed(pack, 1), _curves(pack))
    trials = sweep.read("trials")
    assert trials.schema.equals(TRIALS_SCHEMA)
    assert sorted(trials["trial_id"].to_pylist()) == [t.trial_id for t in pack.trials]
    assert set(trials["task"].to_pylist()) == {pack.task}
    assert sweep.read("curves").num_rows == 6
    assert sweep.finished() == {t.trial_id: ("failed", 1) for t in pack.trials}
    assert store.scan("trials").select(pl.len()).collect().item() == 3
    assert sweep.parts("trials", pack.task)[0].path.split("/")[-3:-1] == [
        "sweep=s1",
        "task=teacher%28x%3D8%2Cy%3D4%2Ct%3D10%29",
    ]


def test_a_committed_pack_is_never_written_twice(sweep):
    pack = _pack()
    assert sweep.commit(pack.task, pack.pack_id, 1, _failed(pack, 1), _curves(pack))
    assert not sweep.commit(pack.task, pack.pack_id, 2, _failed(pack, 2), _curves(pack))
    assert sweep.read("trials", dedupe=False).num_rows == 3
    assert sweep.read("curves").num_rows == 6


def test_curves_of_an_attempt_lost_before_its_commit_are_replaced(sweep):
    pack = _pack()
    first = sweep.begin_attempt(pack.pack_id)  # wrote its curves part, then died before the trials part
    sweep._commits.write_part("curves", pack.task, f"{pack.pack_id}-a1", _curves(pack), first.token)
    second = sweep.begin_attempt(pack.pack_id)
    assert not sweep.committed(pack.task, pack.pack_id, own_token=second.token)
    assert sweep.commit(pack.task, pack.pack_id, 2, _failed(pack, 2), _curves(pack), token=second.token)
    assert len(sweep.parts("curves")) == 1
    assert sweep.read("curves", dedupe=False).num_rows == 6


def test_readers_keep_the_highest_attempt(store, sweep):
    pack = _pack()
    sweep.write_part("trials", pack.task, "x-a1", _failed(pack, 1, "first"))
    sweep.write_part("trials", pack.task, "x-a3", _failed(pack, 3, "third"))
    sweep.write_part("trials", pack.task, "x-a2", _failed(pack, 2, "second"))
    assert sweep.read("trials", dedupe=False).num_rows == 9
    assert set(sweep.read("trials")["error"].to_pylist()) == {"third"}
    assert set(store.scan("trials", "s1").collect()["error"].to_list()) == {"third"}
    assert {a for _, a in sweep.finished().values()} == {3}


def test_compact_merges_parts_without_changing_what_readers_see(store, sweep):
    packs = [_pack(f"p{i}", task, n=2) for i in range(3) for task in ("a(x=1)", "b(x=2)")]
    for p in packs:
        sweep.commit(p.task, p.pack_id, 1, _failed(p, 1), _curves(p))
    sweep.write_part("trials", "a(x=1)", "late-a2", _failed(packs[0], 2, "retried"))
    before = {t: store.read(t).sort_by("trial_id").to_pylist() for t in ("trials", "curves")}
    stats = store.compact()
    assert (stats.files_before, stats.files_after) == (13, 4)
    for t in ("trials", "curves"):
        assert _sorted(store.read(t).to_pylist()) == _sorted(before[t])
    assert store.read("trials", dedupe=False).num_rows == 12  # the losing attempt is gone for good
    assert store.compact().partitions == 0


def test_compact_removes_temporaries_of_killed_writers(tmp_path):
    store = ResultsStore(str(tmp_path))
    pack = _pack()
    store.sweep("s1").commit(pack.task, pack.pack_id, 1, _failed(pack, 1), None)
    directory = tmp_path / "trials/sweep=s1" / store.layout.partition("trials", "s1", pack.task).rsplit("/", 1)[1]
    stale = directory / ".part-x-a1-1234.parquet.abcd.tmp"
    stale.write_bytes(b"PAR1 half a file")
    os.utime(stale, (time.time() - TTL_S - 60,) * 2)  # a writer killed over a lease's life ago
    (directory / ".part-y-a1-1234.parquet.abcd.tmp").write_bytes(b"PAR1 being written")
    assert store.read("trials").num_rows == 3  # invisible to readers
    store.compact()
    assert sorted(p.name for p in directory.iterdir()) == [
        ".part-y-a1-1234.parquet.abcd.tmp",
        store.parts("trials")[0].base_name,
    ]


def _sorted(rows):
    return sorted(rows, key=lambda r: (r["trial_id"], r.get("epoch") or 0))


def test_sweep_spec_is_frozen_once(store, sweep):
    plan = pa.table({"trial_id": ["a", "b"], "task": ["t", "t"]})
    sweep.save("spec_hash: h1\n", "h1", plan)
    sweep.save("spec_hash: h1\n", "h1", plan)
    assert store.sweeps() == ["s1"] and sweep.spec_hash() == "h1"
    assert sweep.planned()["trial_id"].to_pylist() == ["a", "b"]
    with pytest.raises(StoreError, match="already hold sweep 's1' with spec hash h1; this spec has h2"):
        sweep.save("spec_hash: h2\n", "h2", plan)
    with pytest.raises(StoreError, match="hold no sweep 'nope'; sweeps: s1"):
        store.sweep("nope").planned()


def test_attempts_are_counted_per_pack(store, sweep):
    assert sweep.attempts("p1") == 0
    attempts = [sweep.begin_attempt("p1") for _ in range(3)]
    assert [a.number for a in attempts] == [1, 2, 3] and len({a.token for a in attempts}) == 3
    assert store.sweep("s2").begin_attempt("p1").number == 1
    sweep.commit("t", "p1", 3, _failed(_pack(), 3), None, token=attempts[2].token)
    assert sweep.attempts("p1") == 3  # a commit's record is not an attempt


def test_empty_store_reads_as_empty_tables(store, sweep):
    assert store.read("trials").num_rows == 0
    assert store.scan("curves").collect().height == 0
    assert sweep.finished() == {} and store.sweeps() == []


def test_unknown_scheme_is_a_store_error():
    with pytest.raises(StoreError, match="results 'nosuch://x' cannot be opened"):
        ResultsStore("nosuch://x")


def test_polling_readers_never_see_a_partial_file(tmp_path):
    """Polars and pyarrow read the dataset in a loop while parts are written: every read succeeds
    and sees whole packs only."""
    store = ResultsStore(str(tmp_path))
    pack_rows = 64
    stop, errors, seen = threading.Event(), [], []

    def poll():
        while not stop.is_set():
            try:
                n1 = (
                    pl.scan_parquet(f"{tmp_path}/trials/**/*.parquet", hive_partitioning=False)
                    .select(pl.len())
                    .collect()
                    .item()
                    if list(tmp_path.glob("trials/**/*.parquet"))
                    else 0
                )
                n2 = (
                    ds.dataset(f"{tmp_path}/trials", format="parquet", partitioning="hive").count_rows()
                    if (tmp_path / "trials").exists()
                    else 0
                )
                seen.extend([n1, n2])
            except Exception as e:  # noqa: BLE001 - any failure to read is what this test catches
                errors.append(repr(e))

    readers = [threading.Thread(target=poll) for _ in range(2)]
    for r in readers:
        r.start()
    big = _pack(n=pack_rows)
    for i in range(40):
        p = Pack(
            f"p{i}",
            big.task,
            0,
            2,
            8,
            tuple(Trial(f"{i}-{t.trial_id}", *list(t.__dict__.values())[1:]) for t in big.trials),
        )
        store.sweep("s1").commit(p.task, p.pack_id, 1, _failed(p, 1, "x" * 2000), None)
    deadline = time.monotonic() + 30
    while 40 * pack_rows not in seen and not errors and time.monotonic() < deadline:
        time.sleep(0.01)  # until a reader has seen the finished dataset (slow on a loaded machine)
    stop.set()
    for r in readers:
        r.join()
    assert errors == []
    assert seen and all(n % pack_rows == 0 for n in seen)
    assert max(seen) == 40 * pack_rows
