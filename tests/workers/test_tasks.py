"""One contract suite over every task (a new family is covered by adding one row): determinism, shapes and dims against
info(), loss steps, score definitions, the disk cache and a concurrent cache fill."""

import os
import subprocess
import sys

import pytest
import torch

from hpsweep.workers.tasks import Task, get_task, list_tasks, load_task_data, score_predictions
from hpsweep.workers.tasks._cache import cache_path
from tests.workers.extras import require_extra

SMALL = {
    "rad": "rad(side=12,frames=4,n_train=24,n_val=8,n_test=8)",
    "teacher": "teacher(x=6,y=3,t=5,h=8,n_train=24,n_val=8,n_test=8)",
    "prototype": "prototype(x=8,frames=4,protos=3,n_train=24,n_val=8,n_test=8)",
    "lorenz": "lorenz(n=5,t=6,n_train=24,n_val=8,n_test=8)",
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Task names for the families that read a source: an NPZ, a Parquet file, a Minari data set."""
    from tests.workers.test_tasks_file import X, Y, long_table, write_npz, write_parquet

    root = tmp_path_factory.mktemp("sources")
    names = {
        "file_npz": write_npz(root / "d.npz", x=X, y=Y),
        "file_parquet": write_parquet(root / "d.parquet", long_table(X, Y)),
    }
    with pytest.MonkeyPatch.context() as mp:
        names["minari"] = None
        if minari_installed():  # a helper that fails to import or build is an error, never "minari optional"
            from tests.minari_helpers import make_pendulum_dataset

            mp.setenv("MINARI_DATASETS_PATH", str(root / "minari"))
            names["minari"] = make_pendulum_dataset("hpsweep/pendulum-tiny-v0", episodes=8, steps=10)
        yield names


def minari_installed() -> bool:
    """Whether the minari extra is installed; in CI (where `.[test]` installs it) missing is a failure."""
    try:
        require_extra("minari", "gymnasium", extra="minari")
    except pytest.skip.Exception:
        return False
    return True


@pytest.fixture(params=[*SMALL, "file_npz", "file_parquet", "minari"])
def name(request, sources):
    value = SMALL.get(request.param) or sources[request.param]
    if value is None:
        pytest.skip("minari is an optional extra: pip install 'hpsweep[minari]'")
    return value


def tensors(data):
    return [getattr(data, f"{v}_{s}") for s in ("train", "val", "test") for v in "xy"] + [data.loss_steps]


def test_same_seed_same_tensors_other_seed_different(name):
    task = get_task(name)
    a, b, c = task.build(0), get_task(name).build(0), task.build(1)
    assert all(torch.equal(u, v) for u, v in zip(tensors(a), tensors(b)))
    assert not torch.equal(a.x_train, c.x_train)


def test_shapes_and_dims_match_info(name):
    task = get_task(name)
    assert isinstance(task, Task)
    info, data = task.info(), task.build(0)
    assert data.name == info.name == task.name
    assert (data.input_dim, data.output_dim, data.seq_len, data.loss) == (
        info.input_dim,
        info.output_dim,
        info.seq_len,
        info.loss,
    )
    for split in ("train", "val", "test"):
        x, y = data.split(split)
        n = getattr(info, f"n_{split}")
        assert x.shape == (n, info.seq_len, info.input_dim) and x.dtype == torch.float32
        if info.loss == "mse":
            assert y.shape == (n, info.seq_len, info.output_dim) and y.dtype == torch.float32
        else:
            assert y.shape == (n, info.seq_len) and y.dtype == torch.int64
            assert 0 <= int(y.min()) and int(y.max()) < data.params["n_classes"] == info.output_dim
        assert torch.isfinite(x).all()
    assert data.loss_steps.dtype == torch.bool and data.loss_steps.shape == (info.seq_len,)
    if info.loss == "cross_entropy":  # the anomaly tasks answer at the blank last step only
        assert data.loss_steps.tolist() == [False] * (info.seq_len - 1) + [True]
    else:
        assert data.loss_steps.all()


def test_score_definitions(name):
    data = get_task(name).build(0)
    x, y = data.split("val")
    if data.loss == "cross_entropy":
        perfect = torch.nn.functional.one_hot(y, data.output_dim).float()
        assert score_predictions(data, "val", perfect) == 1.0
        wrong = torch.nn.functional.one_hot((y + 1) % data.output_dim, data.output_dim).float()
        assert score_predictions(data, "val", wrong) == 0.0
    else:
        assert score_predictions(data, "val", y.clone()) == 1.0
        mean = y[:, data.loss_steps].reshape(-1, data.output_dim).mean(0)
        assert score_predictions(data, "val", mean.expand_as(y)) == pytest.approx(0.0, abs=1e-6)
        twice = y.double() * 2
        var = ((y.double() - y.double().mean((0, 1))) ** 2).mean()
        assert score_predictions(data, "val", twice) == pytest.approx(
            float(1 - (y.double() ** 2).mean() / var), rel=1e-6
        )


def test_cache_hit_returns_equal_data(name, tmp_path):
    first = load_task_data(name, seed=2, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"
    stamp = files[0].stat().st_mtime_ns
    second = load_task_data(name, seed=2, cache_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == stamp  # read, not rewritten
    assert all(torch.equal(u, v) for u, v in zip(tensors(first), tensors(second)))
    assert second.params == first.params and second.name == first.name


def test_list_tasks_covers_every_family_at_defaults():
    infos = {i.name: i for i in list_tasks()}
    assert list(infos) == ["rad", "teacher", "prototype", "lorenz"]
    rad = infos["rad"]
    assert (rad.input_dim, rad.output_dim, rad.seq_len, rad.n_train, rad.loss) == (2500, 10, 11, 1000, "cross_entropy")


def test_cache_env_var_and_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("HPSWEEP_CACHE", str(tmp_path))
    load_task_data(SMALL["lorenz"], seed=0)
    assert [p.name for p in tmp_path.iterdir()] == [cache_path(tmp_path, SMALL["lorenz"], 0).name]
    assert cache_path(tmp_path, "lorenz", 0) != cache_path(tmp_path, "lorenz", 1)
    assert cache_path(tmp_path, "lorenz", 0) != cache_path(tmp_path, "lorenz(n=5)", 0)


def test_corrupt_cache_file_is_regenerated(tmp_path):
    path = cache_path(tmp_path, get_task(SMALL["teacher"]).name, 0)
    tmp_path.joinpath(path.name).write_bytes(b"half a file")
    data = load_task_data(SMALL["teacher"], seed=0, cache_dir=tmp_path)
    assert torch.equal(data.x_train, get_task(SMALL["teacher"]).build(0).x_train)


_FILL = """
import hashlib, sys, torch
from hpsweep.workers.tasks import load_task_data
d = load_task_data(sys.argv[1], seed=7, cache_dir=sys.argv[2])
h = hashlib.sha256()
for t in (d.x_train, d.y_train, d.x_val, d.y_val, d.x_test, d.y_test):
    h.update(t.numpy().tobytes())
print(h.hexdigest())
"""


def test_concurrent_cache_fill_is_safe(tmp_path):
    """Two processes fill the same cache entry at once: both get the same data, one whole file."""
    name = "rad(side=20,n_train=200,n_val=20,n_test=20)"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _FILL, name, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert outs[0][0] == outs[1][0]
    assert [p.suffix for p in tmp_path.iterdir()] == [".pt"]  # no temporary files left behind
    data = load_task_data(name, seed=7, cache_dir=tmp_path)
    import hashlib

    h = hashlib.sha256()
    for t in (data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test):
        h.update(t.numpy().tobytes())
    assert h.hexdigest() == outs[0][0].strip()


def test_unwritable_cache_still_returns_data(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="not writable"):
        data = load_task_data(SMALL["prototype"], seed=0, cache_dir=blocker / "cache")
    assert torch.equal(data.x_train, get_task(SMALL["prototype"]).build(0).x_train)
