"""The store's hardening: confinement to the root, writer leases (local and moto S3),
damaged roots, faults, compaction's clean-up, and URIs end to end (analyze / recommend on S3)."""

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hpsweep.workers.errors import StoreError
from hpsweep.workers.results import ResultsStore
from hpsweep.workers.results.lease import TTL_S
from hpsweep.workers.schema import TRIALS_SCHEMA
from tests.sweep.test_store import _counter, _curves, _failed, _pack, store  # noqa: F401 - store is a fixture


def _ok(pack, attempt=1):
    rows = _failed(pack, attempt)
    for name, values in (
        ("status", ["ok"] * rows.num_rows),
        ("epochs_run", [2] * rows.num_rows),
        ("error", [None] * rows.num_rows),
    ):
        i = rows.schema.get_field_index(name)
        rows = rows.set_column(i, rows.schema.field(i), pa.array(values, rows.schema.field(i).type))
    return rows


@pytest.mark.parametrize("bad", ["x/../../../victim", "..", "/etc", "a\\b", "", "x" * 129, "sweep=a/b"])
def test_unsafe_ids_are_refused_before_any_path_is_built(tmp_path, bad):
    store = ResultsStore(str(tmp_path / "results"))
    pack = _pack()
    for call in (
        lambda: store.sweep(bad).write_part("trials", pack.task, "p-a1", _failed(pack, 1)),
        lambda: store.sweep(bad).planned(),
        lambda: store.scan("trials", bad),
        lambda: store.compact(bad),
        lambda: store.sweep("s1").begin_attempt(bad),
        lambda: store.sweep(bad).lease(),
    ):
        with pytest.raises(StoreError, match="must be letters, digits|is not allowed"):
            call()
    assert not (tmp_path / "results").exists()


def test_task_names_cannot_leave_their_partition(tmp_path):
    store = ResultsStore(str(tmp_path / "r"))
    for task in ("../../x", "a/b", "x" * 300):
        path = store.layout.partition("trials", "s1", task)
        assert (
            path.startswith(f"{tmp_path}/r/trials/sweep=s1/task=") and path.count("/") == f"{tmp_path}/r".count("/") + 3
        )
        assert len(path.rsplit("/", 1)[1]) <= 205


def test_a_second_writer_is_refused_naming_the_holder(store):
    messages = []
    with store.sweep("s1").lease(echo=messages.append):
        with pytest.raises(StoreError, match=r"sweep 's1' is held by run on .+ pid \d+ since .+; wait for it to end"):
            store.sweep("s1").lease("run").acquire()
        with pytest.raises(StoreError, match="sweep 's1' is held by run on"):
            store.compact("s1")
        with store.sweep("s2").lease():  # other sweeps are free
            pass
    with store.sweep("s1").lease("compact"):  # released: free again
        pass
    assert messages == []
    assert store.storage.list(store.layout.leases("s1")) == []


def _plant_lease(store, sweep, host, pid, heartbeat):
    record = {
        "holder": f"run on {host} pid {pid}",
        "host": host,
        "pid": pid,
        "started": "2026-01-01T00:00:00+00:00",
        "heartbeat": heartbeat,
    }
    store.storage.put_bytes(f"{store.layout.leases(sweep)}/dead.json", json.dumps(record).encode())


def test_a_stale_lease_is_taken_over_with_a_message(store):
    _plant_lease(store, "s1", "elsewhere", 4242, time.time() - TTL_S - 5)
    messages = []
    with store.sweep("s1").lease(echo=messages.append):
        pass
    assert len(messages) == 1 and messages[0].startswith(
        "sweep s1: taking over the lease of run on elsewhere pid 4242 (last heartbeat 1"
    )
    _plant_lease(store, "s1", "elsewhere", 4242, time.time())  # live on another host: refused
    with pytest.raises(StoreError, match="held by run on elsewhere pid 4242"):
        store.sweep("s1").lease().acquire()


def test_a_killed_driver_on_this_host_is_detected_at_once(tmp_path):
    import socket
    import subprocess
    import sys

    store = ResultsStore(str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _plant_lease(store, "s1", socket.gethostname(), int(gone.stdout), time.time())
    messages = []
    with store.sweep("s1").lease(echo=messages.append):
        pass
    assert messages == [
        f"sweep s1: taking over the lease of run on {socket.gethostname()} pid {int(gone.stdout)} "
        f"(pid {int(gone.stdout)} on this host is gone; its driver is gone)"
    ]


def test_run_sweep_refuses_while_another_driver_holds_the_sweep(tmp_path):
    from hpsweep.sweep.coordinator import run_sweep
    from hpsweep.sweep.spec import load_spec

    spec = load_spec("quickstart")
    store = ResultsStore(str(tmp_path))
    with store.sweep(spec.name).lease():
        with pytest.raises(StoreError, match=f"sweep '{spec.name}' is held by run on"):
            run_sweep(spec, str(tmp_path), echo=lambda m: None)
    assert store.sweeps() == []  # nothing written by the refused driver


def test_a_foreign_part_is_refused_by_every_reader_and_compact(store):
    pack = _pack()
    store.sweep("s1").commit(pack.task, pack.pack_id, 1, _failed(pack, 1), _curves(pack))
    store.sweep("s1").commit(pack.task, "p2", 1, _failed(_pack("p2"), 1), None)
    foreign = f"{store.layout.partition('trials', 's1', pack.task)}/part-planted.parquet"
    store.storage.put(foreign, lambda f: pq.write_table(pa.table({"a": [1, 2]}), f))
    before = [p.path for p in store.parts("trials")]
    message = r"trials/sweep=s1/task=.*/part-planted.parquet in results .* lacks the column\(s\) sweep_id, trial_id, task, attempt, status: not a trials part hpsweep wrote; move it out"
    for call in (
        lambda: store.sweep("s1").finished(),
        lambda: store.scan("trials").collect(),
        lambda: store.compact(),
        lambda: store.read("trials"),
    ):
        with pytest.raises(StoreError, match=message):
            call()
    assert [p.path for p in store.parts("trials")] == before  # compact deleted nothing


def test_a_damaged_plan_is_one_store_error(tmp_path):
    store = ResultsStore(str(tmp_path))
    store.sweep("s1").save("spec_hash: h1\n", "h1", pa.table({"trial_id": ["a"], "task": ["t"]}))
    plan = tmp_path / "sweeps" / "s1" / "plan.parquet"
    plan.write_bytes(plan.read_bytes()[:20])
    with pytest.raises(StoreError, match=r"sweeps/s1/plan.parquet is damaged \(ArrowInvalid\)"):
        store.sweep("s1").status()


def test_a_missing_curves_part_is_reported_and_repaired(store):
    pack = _pack()
    store.sweep("s1").save(
        "spec_hash: h\n", "h", pa.table({"trial_id": [t.trial_id for t in pack.trials], "task": [pack.task] * 3})
    )
    store.sweep("s1").commit(pack.task, pack.pack_id, 1, _ok(pack), _curves(pack))
    assert store.sweep("s1").status() == {
        "sweep": "s1",
        "planned": 3,
        "ok": 3,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    store.storage.delete(store.parts("curves", "s1")[0].path)
    assert store.sweep("s1").status() == {
        "sweep": "s1",
        "planned": 3,
        "ok": 0,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 3,
        "curves_missing": 3,
    }
    assert store.sweep("s1").finished() == {}  # a re-run plans them again ...
    assert store.sweep("s1").commit(pack.task, pack.pack_id, 2, _ok(pack, 2), _curves(pack))  # ... and commits
    assert store.sweep("s1").status()["ok"] == 3 and store.sweep("s1").status()["curves_missing"] == 0
    assert {a for _, a in store.sweep("s1").finished().values()} == {2}


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
        with pytest.raises(
            StoreError,
            match=r"^cannot write .*/trials/sweep=s1/.*part-p1-a1-.*parquet: the disk is full; "
            r"free space and run the same command again$",
        ):
            store.sweep("s1").commit(pack.task, pack.pack_id, 1, _ok(pack), _curves(pack))
    finally:
        pq_module.write_table = real
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no curves without commit, no temporaries
    assert store.sweep("s1").commit(pack.task, pack.pack_id, 2, _ok(pack, 2), _curves(pack))
    assert store.read("trials", dedupe=False).num_rows == 3 and store.read("curves", dedupe=False).num_rows == 6


def test_compact_removes_attempt_markers(store):
    pack = _pack()
    for _ in range(3):
        store.sweep("s1").begin_attempt(pack.pack_id)
    store.sweep("s2").begin_attempt("p9")
    store.sweep("s1").commit(pack.task, pack.pack_id, 3, _failed(pack, 3), None)
    assert store.compact("s1").markers == 3
    assert store.sweep("s1").attempts(pack.pack_id) == 0 and store.sweep("s2").attempts("p9") == 1
    assert store.sweep("s1").finished() == {t.trial_id: ("failed", 3) for t in pack.trials}


def test_readers_need_an_existing_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file, not a results directory"):
        ResultsStore(str(tmp_path / "file")).require_root()
    with pytest.raises(StoreError, match="do not exist; give the folder"):
        ResultsStore(str(tmp_path / "none")).require_root()


def test_query_sees_the_winning_rows_through_ctes(store):
    from hpsweep.sweep.commands.query import run_query

    pack = _pack()
    store.sweep("s1").write_part("trials", pack.task, "x-a1", _failed(pack, 1, "first"))
    store.sweep("s1").write_part("trials", pack.task, "x-a2", _failed(pack, 2, "second"))
    df = run_query(
        store.root, "WITH w AS (SELECT error, attempt FROM trials) SELECT error, count(*) AS n FROM w GROUP BY error"
    )
    assert df.rows() == [("second", 3)]


def test_the_python_api_reads_winning_rows_of_any_root(store):
    from hpsweep.workers.results import results

    pack = _pack()
    store.sweep("s1").write_part("trials", pack.task, "x-a1", _failed(pack, 1, "first"))
    store.sweep("s1").write_part("trials", pack.task, "x-a2", _failed(pack, 2, "second"))
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
    assert [
        f.base_name for f in fs.get_file_info(pafs.FileSelector(f"{base}/models", recursive=True)) if f.is_file
    ] == ["manifest.json", "models.joblib"]
