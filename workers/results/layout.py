"""Where everything lives under a results root, and the names allowed to build those paths.

    <root>/sweeps/<sweep_id>/spec.yaml       frozen spec + its hash (written once)
    <root>/sweeps/<sweep_id>/plan.parquet    planned trial ids and their tasks (written once)
    <root>/trials/sweep=<sweep_id>/task=<quoted task>/part-<pack_id>-a<attempt>-<uuid>.parquet
    <root>/curves/sweep=<sweep_id>/task=<quoted task>/part-...parquet
    <root>/models/sweep=<sweep_id>/task=<quoted task>/part-<pack_id>-a<attempt>-<token>.safetensors
                                                 kept models' weights (workers/kept_models.py), same commit
    <root>/_attempts/<sweep_id>/<pack_id>/<token>  one empty marker per attempt at a pack
    <root>/_attempts/<sweep_id>/<pack_id>/commit-a<attempt>-<token>[.curves]   a commit's record (commits.py)
    <root>/_leases/<sweep_id>/<token>.json          the driver (or compact) holding a sweep

Every path the store builds goes through `Layout`: each component is checked (no separator, no
`..`, no absolute path, bounded length) and the result must lie under the root, so a hostile
sweep id such as `x/../../victim` is refused before any file is opened.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse

from hpsweep.workers.errors import StoreError
from hpsweep.workers.schema import CURVES_SCHEMA, TRIALS_SCHEMA

SCHEMAS = {"trials": TRIALS_SCHEMA, "curves": CURVES_SCHEMA}
TABLES = tuple(SCHEMAS)
MODELS, MODELS_SUFFIX = "models", ".safetensors"  # kept models' folder and file suffix
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""Sweep ids, pack ids and attempt tokens: the spec's name rule, up to 128 characters."""
MAX_TASK_COMPONENT = 200
"""A quoted task name longer than this is shortened with a hash (file names stop at 255 bytes)."""


def check_id(kind: str, value) -> str:
    """`value` if it is a safe path component (letters, digits, '_', '.', '-'; starts with a letter
    or digit; at most 128 characters).

    Raises:
        StoreError: anything else, e.g. a separator, `..`, an absolute path.
    """
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        shown = repr(value)[:100]
        raise StoreError(
            f"{kind} must be letters, digits, '_', '.', '-' (starting with a letter or digit, at most "
            f"128 characters); got {shown}"
        )
    return value


def task_component(task: str) -> str:
    """The directory name of a task's partition: `task=<url-quoted name>` (no separator can survive
    quoting), shortened with a hash when too long. Readers use the rows' own `task` column."""
    if not isinstance(task, str) or not task or len(task) > 10_000:
        raise StoreError(f"task must be a task name of 1..10000 characters; got {repr(task)[:100]}")
    quoted = urllib.parse.quote(task, safe="")
    if len(quoted) > MAX_TASK_COMPONENT:
        quoted = f"{quoted[:150]}~{hashlib.sha256(task.encode()).hexdigest()[:16]}"
    return f"task={quoted}"


class Layout:
    """Builds the paths of one results root; `base` is the root as its filesystem names it."""

    def __init__(self, base: str):
        self.base = base.rstrip("/") or "/"

    def join(self, *parts: str) -> str:
        """base/part/...; every part must be one safe component (checked here, whoever built it)."""
        for p in parts:
            if not p or "/" in p or "\\" in p or p in (".", "..") or "\0" in p or len(p) > 255:
                raise StoreError(
                    f"results path component {p!r:.100} is not allowed (no separators, no '..', at most 255 characters)"
                )
        return "/".join([self.base.rstrip("/"), *parts]) if parts else self.base

    def inside(self, path: str) -> bool:
        """Whether `path` (as the filesystem lists it) lies under the root."""
        base = self.base.rstrip("/")
        return path.startswith(base + "/") and "/../" not in path[len(base) :] + "/"

    def table(self, table: str) -> str:
        assert table in TABLES, f"unknown table {table!r}"
        return self.join(table)

    def partition(self, table: str, sweep_id: str, task: str | None = None) -> str:
        parts = [f"sweep={check_id('sweep id', sweep_id)}"]
        if task is not None:
            parts.append(task_component(task))
        return self.join(self.table(table).rsplit("/", 1)[1], *parts)

    def part(self, table: str, sweep_id: str, task: str, stem: str, token: str) -> str:
        return f"{self.partition(table, sweep_id, task)}/part-{check_id('part name', stem)}-{check_id('token', token)}.parquet"

    def models_file(self, sweep_id: str, task: str, stem: str, token: str) -> str:
        """A pack's kept models: beside its parts, under `models/` (not a table: readers skip it)."""
        partition = self.partition("trials", sweep_id, task).split("/")[-2:]
        return (
            f"{self.join(MODELS, *partition)}/part-{check_id('part name', stem)}-{check_id('token', token)}"
            f"{MODELS_SUFFIX}"
        )

    def sweep_dir(self, sweep_id: str) -> str:
        return self.join("sweeps", check_id("sweep id", sweep_id))

    def sweep_file(self, sweep_id: str, name: str) -> str:
        return f"{self.sweep_dir(sweep_id)}/{name}"

    def attempts(self, sweep_id: str | None = None, pack_id: str | None = None) -> str:
        parts = ["_attempts"]
        if sweep_id is not None:
            parts.append(check_id("sweep id", sweep_id))
        if pack_id is not None:
            parts.append(check_id("pack id", pack_id))
        return self.join(*parts)

    def leases(self, sweep_id: str) -> str:
        return self.join("_leases", check_id("sweep id", sweep_id))


def is_part(name: str) -> bool:
    """A visible part file name (temporaries start with '.')."""
    return name.startswith("part-") and name.endswith(".parquet")


def sweep_of_partition(name: str) -> str | None:
    """The sweep id of a `sweep=<id>` directory name, None when it is not one or not a safe id."""
    if not name.startswith("sweep="):
        return None
    value = name[len("sweep=") :]
    return value if ID_RE.fullmatch(value) else None


def default_report_dir(root: str) -> str:
    """Where `analyze` writes its report without --out: beside a local root's results, or
    ./hpsweep-report for a URI (the report is HTML for a person, read locally)."""
    return "hpsweep-report" if "://" in str(root) else f"{str(root).rstrip('/')}/report"
