"""The commit index (a pack's commit is found without listing its sweep), reads that meet a
`compact` mid-way, and the final statuses, on a local directory and on a real S3 server (moto)."""

import pyarrow as pa
import pytest

from hpsweep.workers.results import ResultsStore
from hpsweep.workers.schema import FINAL_STATUSES
from tests.sweep.test_store import _counter, _curves, _failed, _pack


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return ResultsStore(str(tmp_path / "results"))
    port = request.getfixturevalue("s3_server")
    return ResultsStore(f"s3://results/idx{next(_counter)}?endpoint_override=127.0.0.1:{port}&scheme=http")


class _Listings:
    """Records the folders a Storage lists."""

    def __init__(self, storage, monkeypatch):
        self.paths = []
        real = storage.list

        def listing(path, recursive=False):
            self.paths.append(path)
            return real(path, recursive)

        monkeypatch.setattr(storage, "list", listing)

    def of_partitions(self):
        return [p for p in self.paths if "/trials/" in p or "/curves/" in p]


def _commit_like_a_worker(sweep, pack, attempt_rows=1):
    attempt = sweep.begin_attempt(pack.pack_id)
    assert not sweep.committed(pack.task, pack.pack_id, own_token=attempt.token)
    assert sweep.commit(
        pack.task, pack.pack_id, attempt.number, _failed(pack, attempt_rows), _curves(pack), token=attempt.token
    )
    return attempt


def test_checking_a_commit_never_lists_the_partition(store, monkeypatch):
    sweep = store.sweep("s1")
    for i in range(20):
        _commit_like_a_worker(sweep, _pack(f"p{i}"))
    listings = _Listings(store.storage, monkeypatch)
    _commit_like_a_worker(sweep, _pack("p20"))  # the worker's check before training and its commit
    assert all(sweep.committed(_pack(f"p{i}").task, f"p{i}") for i in range(21))  # the driver's check per pack
    assert listings.of_partitions() == []
    assert len(listings.paths) == 3 + 21  # the worker: marker count, check, commit; the driver: one per pack


def test_a_record_is_only_a_hint_the_parts_decide(store):
    sweep = store.sweep("s1")
    pack = _pack()
    _commit_like_a_worker(sweep, pack)
    curves = sweep.parts("curves")[0].path
    store.storage.delete(curves)  # a commit whose curves part went missing is not complete
    assert not sweep.committed(pack.task, pack.pack_id)
    retry = sweep.begin_attempt(pack.pack_id)
    assert sweep.commit(pack.task, pack.pack_id, retry.number, _failed(pack, 2), _curves(pack), token=retry.token)
    assert sweep.committed(pack.task, pack.pack_id) and len(sweep.parts("curves")) == 1
    store.storage.delete(sweep.parts("trials", pack.task)[-1].path)  # now the second commit's trials part
    assert sweep.committed(pack.task, pack.pack_id) is False  # the first commit's curves are gone too


def test_an_attempt_that_died_before_its_record_is_found_by_listing(store):
    sweep = store.sweep("s1")
    pack = _pack()
    died = sweep.begin_attempt(pack.pack_id)  # published both parts, then died before writing its record
    sweep._commits.write_part("curves", pack.task, f"{pack.pack_id}-a1", _curves(pack), died.token)
    sweep._commits.write_part("trials", pack.task, f"{pack.pack_id}-a1", _failed(pack, 1), died.token)
    retry = sweep.begin_attempt(pack.pack_id)
    assert sweep.committed(pack.task, pack.pack_id, own_token=retry.token)
    assert not sweep.commit(pack.task, pack.pack_id, 2, _failed(pack, 2), _curves(pack), token=retry.token)
    assert sweep.read("trials", dedupe=False)["attempt"].to_pylist() == [1, 1, 1]
    assert sweep.committed(pack.task, pack.pack_id, after_attempt=1) is False  # a deliberate re-run may write


def test_the_drivers_commit_of_a_failed_pack_is_indexed_too(store, monkeypatch):
    sweep = store.sweep("s1")
    pack = _pack()
    for _ in range(2):
        sweep.begin_attempt(pack.pack_id)  # both attempts raised before committing
    assert sweep.commit(pack.task, pack.pack_id, 2, _failed(pack, 2), None)  # no token: the driver
    listings = _Listings(store.storage, monkeypatch)
    assert sweep.committed(pack.task, pack.pack_id)
    assert listings.of_partitions() == []


def test_a_read_that_meets_a_compact_reads_again(store):
    """A reader lists the parts, `compact` replaces them, the reader opens them: the same rows, no
    error (the summary of a sweep whose root was compacted right after its lease was released)."""
    sweep = store.sweep("s1")
    packs = [_pack(f"p{i}") for i in range(3)]
    sweep.save(
        "spec_hash: h\n",
        "h",
        pa.table(
            {
                "trial_id": [t.trial_id for p in packs for t in p.trials],
                "task": [p.task for p in packs for _ in p.trials],
            }
        ),
    )
    for p in packs:
        _commit_like_a_worker(sweep, p)
    expected = sweep.status()
    calls = []

    def compacting_status(r):
        frames = r.trials.select("trial_id", "status"), r.curves.select("trial_id")  # listed here
        if not calls:
            assert store.compact().partitions == 2  # ... and replaced before they are read
        calls.append(1)
        return list(frames)

    trials, curves = sweep.collect(compacting_status)
    assert len(calls) == 2 and trials.height == 9 and curves.height == 18
    assert (
        sweep.status()
        == expected
        == {
            "sweep": "s1",
            "planned": 9,
            "ok": 0,
            "diverged": 0,
            "failed": 9,
            "stopped": 0,
            "missing": 0,
            "curves_missing": 0,
        }
    )


@pytest.mark.parametrize("status", FINAL_STATUSES)
def test_every_final_status_is_final(tmp_path, status):
    """One constant (workers/schema.FINAL_STATUSES) decides what is final for resume and status; a
    status other than 'failed' trained, so it is finished only with its curves."""
    sweep = ResultsStore(str(tmp_path)).sweep("s1")
    pack = _pack()
    rows = _failed(pack, 1)
    rows = rows.set_column(rows.schema.get_field_index("status"), "status", pa.array([status] * 3))
    rows = rows.set_column(rows.schema.get_field_index("epochs_run"), "epochs_run", pa.array([2] * 3, pa.int64()))
    sweep.save(
        "spec_hash: h\n", "h", pa.table({"trial_id": [t.trial_id for t in pack.trials], "task": [pack.task] * 3})
    )
    sweep.commit(pack.task, pack.pack_id, 1, rows, _curves(pack))
    assert sweep.finished() == {t.trial_id: (status, 1) for t in pack.trials}
    assert sweep.status()[status] == 3 and sweep.status()["missing"] == 0
    sweep.storage.delete(sweep.parts("curves")[0].path)
    trained = status != "failed"
    assert len(sweep.finished()) == (0 if trained else 3)
    assert sweep.status()["curves_missing"] == (3 if trained else 0)


def test_the_write_path_runs_without_polars(tmp_path):
    """The pack runner commits from GPU boxes that have torch and pyarrow only."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['polars'] = None\n"
        "from hpsweep.sweep.plan import Pack, Trial\n"
        "from hpsweep.sweep.rows import trial_rows\n"
        "from hpsweep.workers.results import ResultsStore\n"
        "import hpsweep.sweep.pack_runner\n"
        "class Shape: input_dim, output_dim, seq_len, n_train = 8, 4, 10, 100\n"
        "p = Pack('p1', 't', 0, 2, 8, (Trial('x', 't', 0, 16, None, (1.0,) * 6, 1e-3, 2, 8, 0.05, 0),))\n"
        f"sweep = ResultsStore({str(tmp_path)!r}).sweep('s1')\n"
        "a = sweep.begin_attempt(p.pack_id)\n"
        "rows = trial_rows('s1', p, 1, Shape(), error='boom', in_ray=False)\n"
        "assert sweep.commit(p.task, p.pack_id, a.number, rows, None, token=a.token)\n"
        "assert sweep.committed(p.task, p.pack_id)\n"
    )
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
