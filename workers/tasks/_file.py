"""A user's own sequences from a Parquet or NPZ file (layout in docs/tasks.md).

NPZ: arrays `x` float (N, T, X) and `y` float (N, T, Y) for regression or integer (N, T) for
classes; or the same split by hand as x_train, y_train, x_val, y_val, x_test, y_test. Optional
`loss_steps` bool (T,) (default: every step counts).

Parquet, one row per (sequence, step): `seq` (any id), `step` (0..T-1), `x_0`..`x_{X-1}`, and
either `y_0`..`y_{Y-1}` (regression) or `y` (integer class); optional `split` (train/val/test,
one value per sequence) and `loss_step` (bool, the same at each step for every sequence).

Without a split in the file, whole sequences are shuffled by the data seed and split by `split`.
Integer targets train with cross-entropy over n_classes = max label + 1 (or `n_classes=`).
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks._base import TaskInfo, make_generator
from hpsweep.workers.tasks._images import absolute_source
from hpsweep.workers.tasks._params import Param, canonical, parse_split, split_counts

SPLITS = ("train", "val", "test")
PARQUET_LAYOUT = (
    "one row per (seq, step) with columns seq, step, x_0..x_{X-1}, and y_0..y_{Y-1} "
    "(regression) or y (class index); optional split, loss_step"
)
NPZ_LAYOUT = "arrays x (N, T, X) and y (N, T, Y) or (N, T), or x_train, y_train, x_val, y_val, x_test, y_test"


class FileTask:
    """`file:<path.parquet|path.npz>(split=90/5/5,n_classes=0)`."""

    family = "file"
    example = "file:/data/my_sequences.parquet"
    PARAMS = (
        Param("split", str, "90/5/5", "train/val/test shares of the sequences when the file has no split"),
        Param("n_classes", int, 0, "classes of integer targets (0 = max label + 1)", 0, 10**6),
    )

    def __init__(self, path: str, params: dict):
        # absolute, against the user's working directory: a worker runs elsewhere (and the name says which file)
        self.path = Path(absolute_source(path))
        self.params = params
        self.fractions = parse_split(self.family, params["split"])
        self.name = canonical(f"file:{self.path}", self.PARAMS, params)
        if not self.path.is_file():
            raise TaskError(f"task file: {path} does not exist or is not a file")
        if self.path.suffix not in (".parquet", ".npz"):
            raise TaskError(f"task file: {path} must end in .parquet or .npz; got {self.path.suffix or 'no suffix'!r}")

    def _fail(self, what: str) -> TaskError:
        return TaskError(f"task file: {self.path}: {what}")

    def _unreadable(self, kind: str, error: Exception) -> TaskError:
        """A file that cannot be read as `kind` at all: cut short by a copy, empty, or something else."""
        reason = " ".join(str(error).split())
        reason = re.sub(r"^Could not open Parquet input source '.*?': ", "", reason)[:200] or type(error).__name__
        return self._fail(f"cannot be read as {kind} ({reason}); is it complete? write it again or copy it whole")

    @cached_property
    def _arrays(self):
        """(presplit {split: (x, y)} or None, x, y, loss_steps), checked."""
        presplit, x, y, steps = self._read_npz() if self.path.suffix == ".npz" else self._read_parquet()
        parts = presplit or {"all": (x, y)}
        x0, y0 = next(iter(parts.values()))  # x_train, y_train (or x, y): the others must match them
        for split, (xs, ys) in parts.items():
            label = "" if split == "all" else f"_{split}"
            if xs.ndim != 3:
                raise self._fail(f"x{label} must be 3-D (N, T, X); got shape {xs.shape}")
            if ys.ndim not in (2, 3) or ys.shape[:2] != xs.shape[:2]:
                raise self._fail(
                    f"y{label} has shape {ys.shape} but x{label} has {xs.shape}; "
                    f"y must be (N, T, Y) or (N, T) with the same N and T"
                )
            if xs.shape[1:] != x0.shape[1:]:
                raise self._fail(
                    f"x{label} has (T, X) = {xs.shape[1:]} but x_train has {x0.shape[1:]}; every split needs the same"
                )
            if ys.shape[2:] != y0.shape[2:]:
                raise self._fail(
                    f"y{label} has shape {ys.shape} but y_train has {y0.shape}; "
                    f"every split needs the same kind and number of outputs"
                )
            for arr, nm in ((xs, "x"), (ys, "y")):
                if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
                    seq, step = np.argwhere(~np.isfinite(arr))[0][:2]
                    raise self._fail(
                        f"{nm}{label} contains NaN or inf (first at sequence {seq}, step {step}); remove or fill them"
                    )
            if not (np.issubdtype(ys.dtype, np.integer) or np.issubdtype(ys.dtype, np.floating)):
                raise self._fail(f"y{label} must be numbers; got dtype {ys.dtype}")
            if ys.ndim == 2 and not np.issubdtype(ys.dtype, np.integer):
                raise self._fail(f"y{label} of shape (N, T) holds class indices and must be integers; got {ys.dtype}")
            if ys.ndim == 2 and ys.min() < 0:
                raise self._fail(f"y{label} class indices must be >= 0; got {ys.min()}")
        if steps.shape != (x0.shape[1],) or not steps.any():
            raise self._fail(
                f"loss_steps must be bool (T,) = ({x0.shape[1]},) with at least one True; got {steps.shape}"
            )
        return presplit, x, y, steps

    def _read_npz(self):
        import zipfile

        try:
            with np.load(self.path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:  # truncated, not an NPZ, pickled objects
            raise self._unreadable("NPZ", e) from None
        steps = arrays.get("loss_steps")
        if all(f"{v}_{s}" in arrays for v in "xy" for s in SPLITS):
            presplit = {s: (arrays[f"x_{s}"], arrays[f"y_{s}"]) for s in SPLITS}
            t = presplit["train"][0].shape[1] if presplit["train"][0].ndim == 3 else 0
            empty = [s for s, (xs, _) in presplit.items() if len(xs) == 0]
            if empty:
                raise self._fail(f"x_{', x_'.join(empty)} hold(s) no sequences; each of train, val, test needs one")
            return presplit, None, None, np.ones(t, bool) if steps is None else steps.astype(bool)
        missing = [k for k in ("x", "y") if k not in arrays]
        if missing:
            raise self._fail(
                f"missing array(s) {', '.join(missing)}; a file: NPZ holds {NPZ_LAYOUT}; "
                f"this one holds {', '.join(sorted(arrays)) or 'nothing'}"
            )
        x, y = arrays["x"], arrays["y"]
        t = x.shape[1] if x.ndim == 3 else 0
        return None, x, y, np.ones(t, bool) if steps is None else steps.astype(bool)

    def _read_parquet(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path)
        except (pa.ArrowException, OSError) as e:  # truncated (no footer), empty, or not Parquet at all
            raise self._unreadable("Parquet", e) from None
        cols = table.column_names
        x_cols = sorted((c for c in cols if re.fullmatch(r"x_\d+", c)), key=lambda c: int(c[2:]))
        y_cols = sorted((c for c in cols if re.fullmatch(r"y_\d+", c)), key=lambda c: int(c[2:]))
        missing = [c for c in ("seq", "step") if c not in cols]
        if not x_cols:
            missing.append("x_0..x_{X-1}")
        if not y_cols and "y" not in cols:
            missing.append("y_0..y_{Y-1} or y")
        if missing:
            raise self._fail(f"missing column(s) {', '.join(missing)}; the layout is {PARQUET_LAYOUT}")
        for cols_, stem in ((x_cols, "x"), (y_cols, "y")):
            if cols_ and [int(c[2:]) for c in cols_] != list(range(len(cols_))):
                raise self._fail(
                    f"columns {stem}_0..{stem}_{len(cols_) - 1} must all be present; got {', '.join(cols_)}"
                )
        if table.num_rows == 0:
            raise self._fail("has no rows; it needs at least 3 sequences (one each for train, val and test)")
        seq_ids = table.column("seq").to_numpy(zero_copy_only=False)
        step = np.asarray(table.column("step").to_numpy(zero_copy_only=False))
        if not np.issubdtype(step.dtype, np.integer):
            raise self._fail(f"column step must hold integers 0..T-1; got {step.dtype}")
        uniq, inverse, counts = np.unique(seq_ids, return_inverse=True, return_counts=True)
        if counts.min() != counts.max():
            raise self._fail(
                f"sequences have different lengths ({counts.min()} to {counts.max()} steps); "
                f"every sequence needs the same steps 0..T-1 (ragged sequences are not supported)"
            )
        n, t = len(uniq), int(counts[0])
        order = np.lexsort((step, inverse))
        if not (step[order].reshape(n, t) == np.arange(t)).all():
            raise self._fail(f"every sequence needs each step 0..{t - 1} exactly once")

        def grid(names):
            block = np.stack([table.column(c).to_numpy(zero_copy_only=False) for c in names], 1)
            return block[order].reshape(n, t, len(names))

        x = grid(x_cols).astype(np.float32)
        if y_cols:
            y = grid(y_cols).astype(np.float32)
        else:
            y = np.asarray(table.column("y").to_numpy(zero_copy_only=False))[order].reshape(n, t)
        steps = np.ones(t, bool)
        if "loss_step" in cols:
            flags = np.asarray(table.column("loss_step").to_numpy(zero_copy_only=False), bool)[order].reshape(n, t)
            if not (flags == flags[0]).all():
                raise self._fail("column loss_step must be the same at each step for every sequence")
            steps = flags[0]
        if "split" not in cols:
            return None, x, y, steps
        labels = np.asarray(table.column("split").to_numpy(zero_copy_only=False), dtype=object)[order].reshape(n, t)
        if not (labels == labels[:, :1]).all() or not set(labels[:, 0]) <= set(SPLITS):
            raise self._fail(f"column split must be one of {', '.join(SPLITS)}, the same for every step of a sequence")
        presplit = {s: (x[labels[:, 0] == s], y[labels[:, 0] == s]) for s in SPLITS}
        empty = [s for s, (xs, _) in presplit.items() if len(xs) == 0]
        if empty:
            raise self._fail(
                f"column split gives no sequences to {', '.join(empty)}; each of train, val, test needs one"
            )
        return presplit, None, None, steps

    @cached_property
    def content_sha256(self) -> str:
        """The file's content hash: trial ids cover it, so a regenerated file never resumes old rows."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()[:16]

    def cache_token(self) -> str:
        st = self.path.stat()
        return f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}"

    def _loss_and_classes(self) -> tuple[str, int]:
        presplit, _, y, _ = self._arrays
        ys = [v[1] for v in presplit.values()] if presplit else [y]
        if ys[0].ndim == 3:
            return "mse", ys[0].shape[2]
        top = max(int(v.max()) for v in ys) + 1
        n_classes = self.params["n_classes"] or top
        if top > n_classes:
            raise TaskError(
                f"task file: parameter 'n_classes' must exceed the largest label {top - 1}; got {n_classes}"
            )
        return "cross_entropy", n_classes

    def info(self) -> TaskInfo:
        presplit, x, _, steps = self._arrays
        loss, out_dim = self._loss_and_classes()
        if presplit:
            n_train, n_val, n_test = (len(presplit[s][0]) for s in SPLITS)
            x = presplit["train"][0]
        else:
            n_train, n_val, n_test = split_counts(self.family, len(x), self.fractions)
        return TaskInfo(
            name=self.name,
            input_dim=x.shape[2],
            output_dim=out_dim,
            seq_len=len(steps),
            n_train=n_train,
            n_val=n_val,
            n_test=n_test,
            loss=loss,
            params={**self.params, "path": str(self.path), "content_sha256": self.content_sha256},
            description=f"sequences from {self.path.name}",
        )

    def build(self, seed: int) -> TaskData:
        presplit, x, y, steps = self._arrays
        loss, out_dim = self._loss_and_classes()
        if presplit is None:
            counts = split_counts(self.family, len(x), self.fractions)
            order = torch.randperm(len(x), generator=make_generator(seed, 0)).numpy()
            bounds = np.cumsum([0, *counts])
            presplit = {s: (x[order[a:b]], y[order[a:b]]) for s, a, b in zip(SPLITS, bounds[:-1], bounds[1:])}
        out = {}
        for s in SPLITS:
            xs, ys = presplit[s]
            out[f"x_{s}"] = torch.from_numpy(np.ascontiguousarray(xs, dtype=np.float32))
            out[f"y_{s}"] = torch.from_numpy(
                np.ascontiguousarray(ys, dtype=np.int64 if loss == "cross_entropy" else np.float32)
            )
        params = {**self.params, "path": str(self.path)}
        if loss == "cross_entropy":
            params["n_classes"] = out_dim
        return TaskData(
            name=self.name, loss=loss, loss_steps=torch.from_numpy(steps.astype(bool)), params=params, **out
        )
