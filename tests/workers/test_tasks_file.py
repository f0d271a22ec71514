"""file:<path>: Parquet and NPZ round trips and every error of the documented layout."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks import get_task

RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(20, 6, 3)).astype(np.float32), RNG.normal(size=(20, 6, 2)).astype(np.float32)


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return f"file:{path}"


def long_table(x, y, seq_ids=None, extra=None) -> dict:
    """The Parquet layout: one row per (seq, step), columns seq, step, x_i, y_j (or y)."""
    n, t, _ = x.shape
    seq_ids = np.arange(n) if seq_ids is None else seq_ids
    cols = {"seq": np.repeat(seq_ids, t), "step": np.tile(np.arange(t), n)}
    cols.update({f"x_{i}": x[:, :, i].ravel() for i in range(x.shape[2])})
    if y.ndim == 2:
        cols["y"] = y.ravel()
    else:
        cols.update({f"y_{j}": y[:, :, j].ravel() for j in range(y.shape[2])})
    cols.update(extra or {})
    return cols


def write_parquet(path, cols: dict, shuffle=True):
    table = pa.table(cols)
    if shuffle:  # rows in any order: the reader sorts by (seq, step)
        table = table.take(np.random.default_rng(1).permutation(len(table)))
    pq.write_table(table, path)
    return f"file:{path}"


def all_rows(data):
    x = torch.cat([data.x_train, data.x_val, data.x_test])
    y = torch.cat([data.y_train, data.y_val, data.y_test])
    order = torch.argsort(x[:, 0, 0])
    return x[order], y[order]


def test_npz_round_trip(tmp_path):
    data = get_task(write_npz(tmp_path / "d.npz", x=X, y=Y)).build(0)
    assert (data.n_train, len(data.x_val), len(data.x_test)) == (18, 1, 1)
    x, y = all_rows(data)
    order = np.argsort(X[:, 0, 0])
    assert np.array_equal(x.numpy(), X[order]) and np.array_equal(y.numpy(), Y[order])
    assert data.loss == "mse" and data.loss_steps.all()


def test_parquet_round_trip_with_classes_and_loss_steps(tmp_path):
    labels = RNG.integers(0, 4, size=(20, 6))
    flags = np.tile(np.arange(6) >= 4, 20)
    name = write_parquet(
        tmp_path / "d.parquet", long_table(X, labels, seq_ids=np.arange(20) * 7 + 3, extra={"loss_step": flags})
    )
    task = get_task(name + "(split=10/5/5)")
    data = task.build(1)
    info = task.info()
    assert (info.input_dim, info.output_dim, info.seq_len, info.loss) == (3, 4, 6, "cross_entropy")
    assert (data.n_train, len(data.x_val), len(data.x_test)) == (10, 5, 5)
    assert data.params["n_classes"] == 4 and data.y_train.dtype == torch.int64
    assert data.loss_steps.tolist() == [False] * 4 + [True] * 2
    x, y = all_rows(data)
    order = np.argsort(X[:, 0, 0])
    assert np.array_equal(x.numpy(), X[order]) and np.array_equal(y.numpy(), labels[order])


def test_parquet_split_column_is_kept(tmp_path):
    split = np.repeat(np.array(["train"] * 14 + ["val"] * 3 + ["test"] * 3), 6)
    data = get_task(write_parquet(tmp_path / "d.parquet", long_table(X, Y, extra={"split": split}))).build(5)
    assert np.array_equal(data.x_val.numpy(), X[14:17]) and np.array_equal(data.y_test.numpy(), Y[17:])


def _error(name) -> str:
    with pytest.raises(TaskError) as e:
        get_task(name).build(0)
    return str(e.value)


def test_errors(tmp_path):
    p = tmp_path
    assert _error(f"file:{p}/none.npz") == f"task file: {p}/none.npz does not exist or is not a file"
    (p / "d.csv").write_text("a")
    assert _error(f"file:{p}/d.csv") == f"task file: {p}/d.csv must end in .parquet or .npz; got '.csv'"
    assert _error(write_npz(p / "a.npz", x=X, target=Y)) == (
        f"task file: {p}/a.npz: missing array(s) y; a file: NPZ holds arrays x (N, T, X) and y (N, T, Y) or (N, T), "
        "or x_train, y_train, x_val, y_val, x_test, y_test; this one holds target, x"
    )
    cols = long_table(X, Y)
    del cols["step"]
    assert _error(write_parquet(p / "b.parquet", cols)) == (
        f"task file: {p}/b.parquet: missing column(s) step; the layout is one row per (seq, step) with columns "
        "seq, step, x_0..x_{X-1}, and y_0..y_{Y-1} (regression) or y (class index); optional split, loss_step"
    )
    ragged = {k: v[:-1] for k, v in long_table(X, Y).items()}
    assert _error(write_parquet(p / "c.parquet", ragged)) == (
        f"task file: {p}/c.parquet: sequences have different lengths (5 to 6 steps); every sequence needs the "
        "same steps 0..T-1 (ragged sequences are not supported)"
    )
    nan = X.copy()
    nan[3, 2, 1] = np.nan
    assert _error(write_npz(p / "e.npz", x=nan, y=Y)) == (
        f"task file: {p}/e.npz: x contains NaN or inf (first at sequence 3, step 2); remove or fill them"
    )
    assert _error(write_npz(p / "f.npz", x=X, y=Y[:, :5])) == (
        f"task file: {p}/f.npz: y has shape (20, 5, 2) but x has (20, 6, 3); y must be (N, T, Y) or (N, T) "
        "with the same N and T"
    )
    split = {f"{v}_{s}": a for s in ("train", "val", "test") for v, a in (("x", X), ("y", Y))}
    split["x_val"] = X[:, :, :2]
    assert _error(write_npz(p / "g.npz", **split)) == (
        f"task file: {p}/g.npz: x_val has (T, X) = (6, 2) but x_train has (6, 3); every split needs the same"
    )
    split["x_val"], split["y_test"] = X, Y[:, :, :1]
    assert _error(write_npz(p / "h.npz", **split)) == (
        f"task file: {p}/h.npz: y_test has shape (20, 6, 1) but y_train has (20, 6, 2); every split needs the "
        "same kind and number of outputs"
    )
    assert _error(f"file:{p}/d.npz(split=90/5)") == (
        "task file: parameter 'split' must be three positive numbers train/val/test like 90/5/5; got '90/5'"
    )


def test_a_file_cut_short_or_empty_is_one_error(tmp_path):
    """A copy cut short (no Parquet footer, half a zip), an empty file and a Parquet of 0 rows are user
    errors that name the file, not a pyarrow or zipfile traceback."""
    p = tmp_path
    whole = p / "whole.parquet"
    write_parquet(whole, long_table(X, Y))
    (p / "cut.parquet").write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    assert _error(f"file:{p}/cut.parquet") == (
        f"task file: {p}/cut.parquet: cannot be read as Parquet (Parquet magic bytes not found in footer. Either the "
        "file is corrupted or this is not a parquet file.); is it complete? write it again or copy it whole"
    )
    (p / "empty.parquet").write_bytes(b"")
    assert _error(f"file:{p}/empty.parquet") == (
        f"task file: {p}/empty.parquet: cannot be read as Parquet (Parquet file size is 0 bytes); is it complete? "
        "write it again or copy it whole"
    )
    write_parquet(p / "zero.parquet", {k: v[:0] for k, v in long_table(X, Y).items()})
    assert _error(f"file:{p}/zero.parquet") == (
        f"task file: {p}/zero.parquet: has no rows; it needs at least 3 sequences (one each for train, val and test)"
    )
    whole_npz = p / "whole.npz"
    write_npz(whole_npz, x=X, y=Y)
    (p / "cut.npz").write_bytes(whole_npz.read_bytes()[:100])
    assert _error(f"file:{p}/cut.npz") == (
        f"task file: {p}/cut.npz: cannot be read as NPZ (File is not a zip file); is it complete? write it again "
        "or copy it whole"
    )
    split = {f"{v}_{s}": a for s in ("train", "val", "test") for v, a in (("x", X), ("y", Y))}
    split["x_val"], split["y_val"] = X[:0], Y[:0]
    assert _error(write_npz(p / "noval.npz", **split)) == (
        f"task file: {p}/noval.npz: x_val hold(s) no sequences; each of train, val, test needs one"
    )


def test_a_damaged_column_chunk_is_one_error(tmp_path):
    """The footer is whole but the data it points at is not (bytes overwritten mid-file)."""
    path = tmp_path / "damaged.parquet"
    pq.write_table(pa.table(long_table(X, Y)), path, compression="snappy")
    data = bytearray(path.read_bytes())
    data[4 : len(data) // 2] = b"\xff" * (len(data) // 2 - 4)
    path.write_bytes(bytes(data))
    message = _error(f"file:{path}")
    assert message.startswith(f"task file: {path}: cannot be read as Parquet (") and message.endswith(
        "); is it complete? write it again or copy it whole"
    )
