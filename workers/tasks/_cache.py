"""On-disk cache of generated task data, safe when many workers fill it at once.

Key: canonical task name + data seed + FORMAT_VERSION (+ a fingerprint of the source file for
tasks that read one). A file is written by the results layer's one atomic-write helper
(workers/results/storage.py: temporary name, fsync, rename, removed on failure): readers see a
whole file or none, and two workers that race just both write the same bytes; the last rename wins.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pyarrow.fs as pafs
import torch

from hpsweep.workers.data import TaskData
from hpsweep.workers.errors import StoreError
from hpsweep.workers.results.storage import atomic_write

FORMAT_VERSION = 1
"""Bump when the layout of the cached file or any task's generator changes."""

_TENSORS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "loss_steps")


def default_cache_dir() -> Path:
    """$HPSWEEP_CACHE, else ~/.cache/hpsweep/tasks."""
    env = os.environ.get("HPSWEEP_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hpsweep" / "tasks"


def cache_path(cache_dir: Path, name: str, seed: int, token: str = "") -> Path:
    key = hashlib.sha256(f"v{FORMAT_VERSION}|{name}|{seed}|{token}".encode()).hexdigest()[:20]
    stem = re.sub(r"[^A-Za-z0-9_.=-]+", "_", name)[:60]
    return Path(cache_dir) / f"{stem}-s{seed}-{key}.pt"


def read(path: Path) -> TaskData | None:
    """The cached data, or None when absent or unreadable (then the caller regenerates it)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return TaskData(name=blob["name"], loss=blob["loss"], params=blob["params"], **{k: blob[k] for k in _TENSORS})
    except FileNotFoundError:
        return None
    except Exception:  # a truncated file from a crashed writer before atomic writes, or an old layout
        return None


def write(path: Path, data: TaskData) -> None:
    """Write atomically (workers/results/storage.atomic_write).

    Raises:
        OSError: the cache folder refuses the write (full disk, read-only); callers regenerate instead.
    """
    blob = {
        "name": data.name,
        "loss": data.loss,
        "params": dict(data.params),
        **{k: getattr(data, k).contiguous() for k in _TENSORS},
    }
    try:
        atomic_write(pafs.LocalFileSystem(), os.path.abspath(path), lambda f: torch.save(blob, f))
    except StoreError as e:
        raise OSError(str(e)) from None
