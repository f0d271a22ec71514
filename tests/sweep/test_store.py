"""One contract suite for the results store, run on every filesystem it supports:
a local directory and a real S3-compatible server (moto) on loopback."""

import os
import threading
import time

import json

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from hpsweep.sweep.plan import Pack, Trial
from hpsweep.sweep.rows import trial_rows
from hpsweep.sweep.store import ResultsStore
from hpsweep.workers.errors import StoreError
from hpsweep.workers.results.lease import TTL_S
from hpsweep.workers.schema import CURVES_SCHEMA, TRIALS_SCHEMA


_counter = iter(range(10**6))


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return ResultsStore(str(tmp_path / "results"))
    port = request.getfixturevalue("s3_server")
    return ResultsStore(f"s3://results/run{next(_counter)}?endpoint_override=127.0.0.1:{port}&scheme=http")


class _Shape:
    input_dim, output_dim, seq_len, n_train = 8, 4, 10, 100


def _pack(pack_id="p1", task="teacher(x=8,y=4,t=10)", n=3):
    trials = tuple(Trial(f"{pack_id}-t{i}", task, 0, 16 + i, None, (1.0,) * 6, 1e-3, 2, 8, 0.05, i) for i in range(n))
    return Pack(pack_id, task, 0, 2, 8, trials)


def _failed(pack, attempt, error="boom"):
    return trial_rows("s1", pack, attempt, _Shape(), error=error, in_ray=False)


def _curves(pack):
    rows = [{"schema_version": 1, "sweep_id": "s1", "trial_id": t.trial_id, "task": pack.task, "epoch": e,
             "train_loss": 1.0 / e, "val_loss": 1.0 / e, "val_score": 0.1 * e} for t in pack.trials for e in (1, 2)]
    return pa.Table.from_pylist(rows, schema=CURVES_SCHEMA)


def test_parts_round_trip_with_all_columns(store):
    pack = _pack()
    assert store.write_pack("s1", pack.task, pack.pack_id, 1, _failed(pack, 1), _curves(pack))
    trials = store.read("trials", "s1")
    assert trials.schema.equals(TRIALS_SCHEMA)
    assert sorted(trials["trial_id"].to_pylist()) == [t.trial_id for t in pack.trials]
    assert set(trials["task"].to_pylist()) == {pack.task}
    assert store.read("curves", "s1").num_rows == 6
    assert store.finished("s1") == {t.trial_id: ("failed", 1) for t in pack.trials}
    assert store.scan("trials").select(pl.len()).collect().item() == 3
    assert store.list_parts("trials", "s1", pack.task)[0].split("/")[-3:-1] == [
        "sweep=s1", "task=teacher%28x%3D8%2Cy%3D4%2Ct%3D10%29"]


def test_a_committed_pack_is_never_written_twice(store):
    pack = _pack()
    assert store.write_pack("s1", pack.task, pack.pack_id, 1, _failed(pack, 1), _curves(pack))
    assert not store.write_pack("s1", pack.task, pack.pack_id, 2, _failed(pack, 2), _curves(pack))
    assert store.read("trials", "s1", dedupe=False).num_rows == 3
    assert store.read("curves", "s1").num_rows == 6


def test_curves_of_an_attempt_lost_before_its_commit_are_replaced(store):
    pack = _pack()
    store.write_part("curves", "s1", pack.task, f"{pack.pack_id}-a1", _curves(pack))  # died before trials
    store.write_pack("s1", pack.task, pack.pack_id, 2, _failed(pack, 2), _curves(pack))
    assert len(store.list_parts("curves", "s1")) == 1
    assert store.read("curves", "s1", dedupe=False).num_rows == 6


def test_readers_keep_the_highest_attempt(store):
    pack = _pack()
    store.write_part("trials", "s1", pack.task, "x-a1", _failed(pack, 1, "first"))
    store.write_part("trials", "s1", pack.task, "x-a3", _failed(pack, 3, "third"))
    store.write_part("trials", "s1", pack.task, "x-a2", _failed(pack, 2, "second"))
    assert store.read("trials", "s1", dedupe=False).num_rows == 9
    assert set(store.read("trials", "s1")["error"].to_pylist()) == {"third"}
    assert set(store.scan("trials", "s1").collect()["error"].to_list()) == {"third"}
    assert {a for _, a in store.finished("s1").values()} == {3}


def test_compact_merges_parts_without_changing_what_readers_see(store):
    packs = [_pack(f"p{i}", task, n=2) for i in range(3) for task in ("a(x=1)", "b(x=2)")]
    for p in packs:
        store.write_pack("s1", p.task, p.pack_id, 1, _failed(p, 1), _curves(p))
    store.write_part("trials", "s1", "a(x=1)", "late-a2", _failed(packs[0], 2, "retried"))
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
    store.write_pack("s1", pack.task, pack.pack_id, 1, _failed(pack, 1), None)
    directory = tmp_path / "trials/sweep=s1" / store.partition("trials", "s1", pack.task).rsplit("/", 1)[1]
    stale = directory / ".part-x-a1-1234.parquet.abcd.tmp"
    stale.write_bytes(b"PAR1 half a file")
    os.utime(stale, (time.time() - TTL_S - 60,) * 2)  # a writer killed over a lease's life ago
    (directory / ".part-y-a1-1234.parquet.abcd.tmp").write_bytes(b"PAR1 being written")
    assert store.read("trials").num_rows == 3  # invisible to readers
    store.compact()
    assert sorted(p.name for p in directory.iterdir()) == [".part-y-a1-1234.parquet.abcd.tmp",
                                                           store.list_parts("trials")[0].rsplit("/", 1)[1]]


def _sorted(rows):
    return sorted(rows, key=lambda r: (r["trial_id"], r.get("epoch") or 0))


def test_sweep_spec_is_frozen_once(store):
    plan = pa.table({"trial_id": ["a", "b"], "task": ["t", "t"]})
    store.save_sweep("s1", "spec_hash: h1\n", "h1", plan)
    store.save_sweep("s1", "spec_hash: h1\n", "h1", plan)
    assert store.sweeps() == ["s1"] and store.sweep_hash("s1") == "h1"
    assert store.planned("s1")["trial_id"].to_pylist() == ["a", "b"]
    with pytest.raises(StoreError, match="already hold sweep 's1' with spec hash h1; this spec has h2"):
        store.save_sweep("s1", "spec_hash: h2\n", "h2", plan)
    with pytest.raises(StoreError, match="hold no sweep 'nope'; sweeps: s1"):
        store.planned("nope")


def test_attempts_are_counted_per_pack(store):
    assert store.attempts("s1", "p1") == 0
    assert [store.begin_attempt("s1", "p1") for _ in range(3)] == [1, 2, 3]
    assert store.begin_attempt("s1", "p2") == 1


def test_empty_store_reads_as_empty_tables(store):
    assert store.read("trials").num_rows == 0
    assert store.scan("curves").collect().height == 0
    assert store.finished("s1") == {} and store.sweeps() == []


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
                n1 = pl.scan_parquet(f"{tmp_path}/trials/**/*.parquet", hive_partitioning=False).select(pl.len()).collect().item() \
                    if list(tmp_path.glob("trials/**/*.parquet")) else 0
                n2 = ds.dataset(f"{tmp_path}/trials", format="parquet", partitioning="hive").count_rows() \
                    if (tmp_path / "trials").exists() else 0
                seen.extend([n1, n2])
            except Exception as e:  # noqa: BLE001 - any failure to read is what this test catches
                errors.append(repr(e))

    readers = [threading.Thread(target=poll) for _ in range(2)]
    for r in readers:
        r.start()
    big = _pack(n=pack_rows)
    for i in range(40):
        p = Pack(f"p{i}", big.task, 0, 2, 8, tuple(Trial(f"{i}-{t.trial_id}", *list(t.__dict__.values())[1:])
                                                    for t in big.trials))
        store.write_pack("s1", p.task, p.pack_id, 1, _failed(p, 1, "x" * 2000), None)
    deadline = time.monotonic() + 30
    while 40 * pack_rows not in seen and not errors and time.monotonic() < deadline:
        time.sleep(0.01)  # until a reader has seen the finished dataset (slow on a loaded machine)
    stop.set()
    for r in readers:
        r.join()
    assert errors == []
    assert seen and all(n % pack_rows == 0 for n in seen)
    assert max(seen) == 40 * pack_rows


# -- issue 13: confinement, leases, damaged roots, faults ------------------------------------

def _ok(pack, attempt=1):
    rows = _failed(pack, attempt)
    for name, values in (("status", ["ok"] * rows.num_rows), ("epochs_run", [2] * rows.num_rows), ("error", [None] * rows.num_rows)):
        i = rows.schema.get_field_index(name)
        rows = rows.set_column(i, rows.schema.field(i), pa.array(values, rows.schema.field(i).type))
    return rows


@pytest.mark.parametrize("bad", ["x/../../../victim", "..", "/etc", "a\\b", "", "x" * 129, "sweep=a/b"])
def test_unsafe_ids_are_refused_before_any_path_is_built(tmp_path, bad):
    store = ResultsStore(str(tmp_path / "results"))
    pack = _pack()
    for call in (lambda: store.write_part("trials", bad, pack.task, "p-a1", _failed(pack, 1)),
                 lambda: store.planned(bad), lambda: store.scan("trials", bad), lambda: store.compact(bad),
                 lambda: store.begin_attempt("s1", bad), lambda: store.lease(bad)):
        with pytest.raises(StoreError, match="must be letters, digits|is not allowed"):
            call()
    assert not (tmp_path / "results").exists()


def test_task_names_cannot_leave_their_partition(tmp_path):
    store = ResultsStore(str(tmp_path / "r"))
    for task in ("../../x", "a/b", "x" * 300):
        path = store.partition("trials", "s1", task)
        assert path.startswith(f"{tmp_path}/r/trials/sweep=s1/task=") and path.count("/") == f"{tmp_path}/r".count("/") + 3
        assert len(path.rsplit("/", 1)[1]) <= 205


def test_a_second_writer_is_refused_naming_the_holder(store):
    messages = []
    with store.lease("s1", echo=messages.append):
        with pytest.raises(StoreError, match=r"sweep 's1' is held by run on .+ pid \d+ since .+; wait for it to end"):
            store.lease("s1", "run").acquire()
        with pytest.raises(StoreError, match="sweep 's1' is held by run on"):
            store.compact("s1")
        with store.lease("s2"):  # other sweeps are free
            pass
    with store.lease("s1", "compact"):  # released: free again
        pass
    assert messages == []
    assert store.storage.list(store.layout.leases("s1")) == []


def _plant_lease(store, sweep, host, pid, heartbeat):
    record = {"holder": f"run on {host} pid {pid}", "host": host, "pid": pid, "started": "2026-01-01T00:00:00+00:00",
              "heartbeat": heartbeat}
    store.storage.put_bytes(f"{store.layout.leases(sweep)}/dead.json", json.dumps(record).encode())


def test_a_stale_lease_is_taken_over_with_a_message(store):
    _plant_lease(store, "s1", "elsewhere", 4242, time.time() - TTL_S - 5)
    messages = []
    with store.lease("s1", echo=messages.append):
        pass
    assert len(messages) == 1 and messages[0].startswith(
        "sweep s1: taking over the lease of run on elsewhere pid 4242 (last heartbeat 1")
    _plant_lease(store, "s1", "elsewhere", 4242, time.time())  # live on another host: refused
    with pytest.raises(StoreError, match="held by run on elsewhere pid 4242"):
        store.lease("s1").acquire()


def test_a_killed_driver_on_this_host_is_detected_at_once(tmp_path):
    import socket
    import subprocess
    import sys

    store = ResultsStore(str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _plant_lease(store, "s1", socket.gethostname(), int(gone.stdout), time.time())
    messages = []
    with store.lease("s1", echo=messages.append):
        pass
    assert messages == [f"sweep s1: taking over the lease of run on {socket.gethostname()} pid {int(gone.stdout)} "
                        f"(pid {int(gone.stdout)} on this host is gone; its driver is gone)"]


def test_run_sweep_refuses_while_another_driver_holds_the_sweep(tmp_path):
    from hpsweep.sweep.coordinator import run_sweep
    from hpsweep.sweep.spec import load_spec

    spec = load_spec("quickstart")
    store = ResultsStore(str(tmp_path))
    with store.lease(spec.name):
        with pytest.raises(StoreError, match=f"sweep '{spec.name}' is held by run on"):
            run_sweep(spec, str(tmp_path), echo=lambda m: None)
    assert store.sweeps() == []  # nothing written by the refused driver


def test_a_foreign_part_is_refused_by_every_reader_and_compact(store):
    pack = _pack()
    store.write_pack("s1", pack.task, pack.pack_id, 1, _failed(pack, 1), _curves(pack))
    store.write_pack("s1", pack.task, "p2", 1, _failed(_pack("p2"), 1), None)
    foreign = f"{store.partition('trials', 's1', pack.task)}/part-planted.parquet"
    store.storage.put(foreign, lambda f: pq.write_table(pa.table({"a": [1, 2]}), f))
    before = store.list_parts("trials")
    message = r"trials/sweep=s1/task=.*/part-planted.parquet in results .* lacks the column\(s\) sweep_id, trial_id, task, attempt, status: not a trials part hpsweep wrote; move it out"
    for call in (lambda: store.finished("s1"), lambda: store.scan("trials").collect(), lambda: store.compact(),
                 lambda: store.read("trials")):
        with pytest.raises(StoreError, match=message):
            call()
    assert store.list_parts("trials") == before  # compact deleted nothing


def test_a_damaged_plan_is_one_store_error(tmp_path):
    store = ResultsStore(str(tmp_path))
    store.save_sweep("s1", "spec_hash: h1\n", "h1", pa.table({"trial_id": ["a"], "task": ["t"]}))
    plan = tmp_path / "sweeps" / "s1" / "plan.parquet"
    plan.write_bytes(plan.read_bytes()[:20])
    with pytest.raises(StoreError, match=r"sweeps/s1/plan.parquet is damaged \(ArrowInvalid\)"):
        store.status("s1")


def test_a_missing_curves_part_is_reported_and_repaired(store):
    pack = _pack()
    store.save_sweep("s1", "spec_hash: h\n", "h", pa.table({"trial_id": [t.trial_id for t in pack.trials],
                                                          "task": [pack.task] * 3}))
    store.write_pack("s1", pack.task, pack.pack_id, 1, _ok(pack), _curves(pack))
    assert store.status("s1") == {"sweep": "s1", "planned": 3, "ok": 3, "diverged": 0, "failed": 0, "missing": 0,
                                  "curves_missing": 0}
    store.storage.delete(store.list_parts("curves", "s1")[0])
    assert store.status("s1") == {"sweep": "s1", "planned": 3, "ok": 0, "diverged": 0, "failed": 0, "missing": 3,
                                  "curves_missing": 3}
    assert store.finished("s1") == {}  # a re-run plans them again ...
    assert store.write_pack("s1", pack.task, pack.pack_id, 2, _ok(pack, 2), _curves(pack))  # ... and commits
    assert store.status("s1")["ok"] == 3 and store.status("s1")["curves_missing"] == 0
    assert {a for _, a in store.finished("s1").values()} == {2}


def test_a_full_disk_leaves_no_orphan_and_a_retry_commits_once(tmp_path):
    import errno

    store = ResultsStore(str(tmp_path))
    pack = _pack()
    real = pq.write_table

    def full(table, where, **kw):
        if table.schema.equals(TRIALS_SCHEMA):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(table, where, **kw)

    pq_module = pq
    pq_module.write_table = full
    try:
        with pytest.raises(StoreError, match=r"^cannot write .*/trials/sweep=s1/.*part-p1-a1-.*parquet: the disk is full; "
                                             r"free space and run the same command again$"):
            store.write_pack("s1", pack.task, pack.pack_id, 1, _ok(pack), _curves(pack))
    finally:
        pq_module.write_table = real
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no curves without commit, no temporaries
    assert store.write_pack("s1", pack.task, pack.pack_id, 2, _ok(pack, 2), _curves(pack))
    assert store.read("trials", dedupe=False).num_rows == 3 and store.read("curves", dedupe=False).num_rows == 6


def test_compact_removes_attempt_markers(store):
    pack = _pack()
    for _ in range(3):
        store.begin_attempt("s1", pack.pack_id)
    store.begin_attempt("s2", "p9")
    store.write_pack("s1", pack.task, pack.pack_id, 3, _failed(pack, 3), None)
    assert store.compact("s1").markers == 3
    assert store.attempts("s1", pack.pack_id) == 0 and store.attempts("s2", "p9") == 1
    assert store.finished("s1") == {t.trial_id: ("failed", 3) for t in pack.trials}


def test_readers_need_an_existing_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file, not a results directory"):
        ResultsStore(str(tmp_path / "file")).require_root()
    with pytest.raises(StoreError, match="do not exist; give the folder"):
        ResultsStore(str(tmp_path / "none")).require_root()


def test_query_sees_the_winning_rows_through_ctes(store):
    from hpsweep.sweep.commands.query import run_query

    pack = _pack()
    store.write_part("trials", "s1", pack.task, "x-a1", _failed(pack, 1, "first"))
    store.write_part("trials", "s1", pack.task, "x-a2", _failed(pack, 2, "second"))
    df = run_query(store.root, "WITH w AS (SELECT error, attempt FROM trials) SELECT error, count(*) AS n FROM w "
                               "GROUP BY error")
    assert df.rows() == [("second", 3)]


def test_the_python_api_reads_winning_rows_of_any_root(store):
    from hpsweep.workers.results import results

    pack = _pack()
    store.write_part("trials", "s1", pack.task, "x-a1", _failed(pack, 1, "first"))
    store.write_part("trials", "s1", pack.task, "x-a2", _failed(pack, 2, "second"))
    trials, curves = results(store.root)
    assert trials.select("error").collect()["error"].to_list() == ["second"] * 3
    assert curves.collect().height == 0


def test_analyze_and_recommend_read_an_s3_root(s3_server, tmp_path, capsys, monkeypatch):
    """`hpsweep analyze s3://…` and `recommend --from s3://…` over the moto server: the same reader,
    the meta-models saved beside the results in the bucket and reused by recommend."""
    import pyarrow.fs as pafs

    from hpsweep.analysis.synthetic import default_tasks, write_results
    from hpsweep.sweep.cli import main

    local = tmp_path / "local"
    write_results(local, default_tasks(4, seed=1), 120, seed=1)
    uri = f"s3://results/analyze{next(_counter)}?endpoint_override=127.0.0.1:{s3_server}&scheme=http"
    fs, base = pafs.FileSystem.from_uri(uri)
    pafs.copy_files(str(local), base, destination_filesystem=fs)
    monkeypatch.chdir(tmp_path)
    main(["analyze", uri, "--json"])
    analysis = json.loads(capsys.readouterr().out)
    assert analysis["n_tasks"] == 4 and analysis["n_rows"] == 480
    assert analysis["report"] == "hpsweep-report/report.html" and (tmp_path / "hpsweep-report" / "report.html").exists()
    assert analysis["models_dir"].startswith(uri.split("?")[0] + "/models/")
    main(["recommend", "-x", "20", "-y", "4", "--budget", "2000", "--from", uri, "--top", "2", "--json"])
    picked = json.loads(capsys.readouterr().out)
    assert picked["refitted"] is False and len(picked["configs"]) == 2
    assert [f.base_name for f in fs.get_file_info(pafs.FileSelector(f"{base}/models", recursive=True))
            if f.is_file] == ["manifest.json", "models.joblib"]
