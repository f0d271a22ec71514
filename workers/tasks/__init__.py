"""The task registry: names like `rad`, `teacher(x=64,y=8,t=20)`, `minari:<id>`, `file:<path>`.

`get_task(name)` parses a name into a `Task`; `load_task_data(name, seed)` builds its tensors
once and serves them from a disk cache afterwards; `list_tasks()` describes every family at its
defaults. Each family is one private module (`_rad.py`, `_teacher.py`, ...) with a parameter table.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from hpsweep.workers.data import TaskData
from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks import _cache
from hpsweep.workers.tasks._base import Task, TaskInfo
from hpsweep.workers.tasks._file import FileTask
from hpsweep.workers.tasks._lorenz import LorenzTask
from hpsweep.workers.tasks._minari import MinariTask
from hpsweep.workers.tasks._params import parse_args, resolve
from hpsweep.workers.tasks._prototype import PrototypeTask
from hpsweep.workers.tasks._rad import RadTask
from hpsweep.workers.tasks._score import score_outputs, score_predictions
from hpsweep.workers.tasks._teacher import TeacherTask

__all__ = [
    "FAMILIES",
    "PREFIXED",
    "Task",
    "TaskInfo",
    "get_task",
    "list_tasks",
    "load_task_data",
    "score_outputs",
    "score_predictions",
    "valid_names",
]

FAMILIES = {cls.family: cls for cls in (RadTask, TeacherTask, PrototypeTask, LorenzTask)}
"""Generated families: `family` or `family(key=value,...)`."""
PREFIXED = {"minari": MinariTask, "file": FileTask}
"""Families that name an outside source: `prefix:<source>` or `prefix:<source>(key=value,...)`."""

_ARGS = re.compile(r"^(?P<head>.*?)\((?P<args>(?:\s*[A-Za-z_]\w*\s*=[^()=,]*,?)*\s*)\)\s*$")


def valid_names() -> str:
    """The choices, as every 'unknown task' message lists them."""
    return ", ".join([*FAMILIES, "minari:<dataset_id>", "file:<path.parquet|path.npz>"])


def _split_args(family: str, text: str) -> tuple[str, dict[str, str]]:
    m = _ARGS.match(text)
    if m is None:
        return text.strip(), {}
    return m.group("head").strip(), parse_args(family, m.group("args"))


def get_task(name: str) -> Task:
    """Parse a task name into a Task.

    Args:
        name: `rad`, `rad(side=28,n_train=500)`, `teacher(x=64,y=8,t=20)`, `prototype(...)`,
            `lorenz(...)`, `minari:<dataset_id>[(split=90/5/5,...)]`, `file:<path>[(split=...)]`.
            Unspecified parameters take the defaults in docs/tasks.md.

    Returns:
        The task; `task.name` is canonical (non-default parameters in a stable order).

    Raises:
        TaskError: an unknown family or parameter, a value out of range (the message lists the
            valid choices), or, for minari:/file:, a source that cannot be read.
    """
    if not isinstance(name, str) or not name.strip():
        raise TaskError(f"a task name must be a non-empty string; got {name!r}; valid tasks: {valid_names()}")
    text = name.strip()
    prefix, colon, rest = text.partition(":")
    if colon and prefix.strip() in PREFIXED:
        cls = PREFIXED[prefix.strip()]
        source, given = _split_args(cls.family, rest)
        if not source:
            raise TaskError(f"task {cls.family}: give a source after the colon, e.g. {cls.example}")
        return cls(source, resolve(cls.family, cls.PARAMS, given))
    family, paren, args = text.partition("(")
    family = family.strip()
    if family not in FAMILIES:
        raise TaskError(f"unknown task {text!r}; valid tasks: {valid_names()}")
    if paren and (not args.endswith(")") or "(" in args[:-1] or ")" in args[:-1]):
        raise TaskError(
            f"task {family}: parameters go in one pair of parentheses, e.g. {family}(key=value,...); got {text!r}"
        )
    cls = FAMILIES[family]
    return cls(resolve(family, cls.PARAMS, parse_args(family, args[:-1]) if paren else {}))


def list_tasks() -> list[TaskInfo]:
    """Every generated family at its defaults (minari: and file: need a source, so they are absent)."""
    return [cls(resolve(f, cls.PARAMS, {})).info() for f, cls in FAMILIES.items()]


def load_task_data(name: str, seed: int = 0, cache_dir: str | Path | None = None) -> TaskData:
    """The task's tensors for a data seed, generated once and then read from the disk cache.

    Args:
        name: a task name (see `get_task`).
        seed: the data seed; same name and seed give identical tensors.
        cache_dir: where cached files live; default $HPSWEEP_CACHE or ~/.cache/hpsweep/tasks.

    Returns:
        TaskData with the canonical name.

    Raises:
        TaskError: as `get_task`, or when the task's data cannot be read or built.

    Concurrency: several processes may call this for the same task at once; each file appears
    atomically, so a reader never sees a partial file (at worst two workers both generate it).
    """
    task = get_task(name)
    token = task.cache_token() if hasattr(task, "cache_token") else ""
    path = _cache.cache_path(Path(cache_dir) if cache_dir else _cache.default_cache_dir(), task.name, int(seed), token)
    data = _cache.read(path)
    if data is None:
        data = task.build(int(seed))
        try:
            _cache.write(path, data)
        except OSError as e:  # a read-only or full cache must not stop a worker: it just regenerates
            warnings.warn(
                f"task cache {path.parent} not writable ({e}); {task.name} will be regenerated next time", stacklevel=2
            )
    return data
