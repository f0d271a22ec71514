"""A validated SpecDocument -> the SweepSpec the planner reads: sampled tasks drawn, each task's
defaults filled in, the canonical text and the spec hash computed.

The hash identifies what a sweep trains, so resume can trust it. It is the sha256 of the
canonical JSON (sorted keys) of the expanded spec; fields added after a spec was first hashed are
left out at their defaults, so existing specs keep their hashes (tests pin them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from hpsweep.sweep.spec.errors import field_path, one_line, quote
from hpsweep.sweep.spec.models import Keep, PackSettings, Resources, SpecDocument, TaskEntry, Training
from hpsweep.workers.errors import SpecError
from hpsweep.workers.hashing import text_hash

SPEC_VERSION = 1
MAX_TASKS = 100_000  # tasks after sampling
TaskSweep = TaskEntry
"""A task entry once expanded: `task` set, `sample` None, lr/epochs/batch_size filled in."""
_ADDED_LATER = {"min_dense_hidden": None}  # task fields left out of the hash at these defaults


@dataclass(frozen=True)
class SweepSpec:
    """A validated, expanded sweep. Frozen; `spec_hash` identifies its content."""

    name: str  # the sweep id in the results store
    tasks: tuple[TaskSweep, ...]
    training: Training
    pack: PackSettings
    resources: Resources
    max_trials: int  # plans above this size are refused
    keep: Keep = Keep()  # which trained models the packs keep
    source: str = "spec"  # file name used in messages
    document: SpecDocument | None = field(default=None, repr=False, compare=False)  # as written (for --scale)
    entries: tuple[int, ...] = field(default=(), repr=False, compare=False)  # spec entry of each task (messages)
    spec_hash: str = ""
    text: str = ""  # the canonical YAML stored as sweeps/<name>/spec.yaml

    def canonical(self) -> dict:
        training = self.training.model_dump()
        if training["schedule"] is None:  # added later: a spec without one keeps its hash
            del training["schedule"]
        keep = {} if self.keep == Keep() else {"keep": self.keep.model_dump()}  # older specs keep their hash
        return {
            "name": self.name,
            "tasks": [_task_canonical(t) for t in self.tasks],
            "training": training,
            "pack": self.pack.model_dump(),
            "resources": self.resources.model_dump(),
            **keep,
        }


def _task_canonical(t: TaskSweep) -> dict:
    out = t.model_dump(exclude={"sample"})
    for key, default in _ADDED_LATER.items():
        if out[key] == default:
            del out[key]
    dens = out["densities"]
    dens["grid"] = t.densities.grid.axes() if t.densities.grid is not None else ()
    if dens["random"] is not None and not dens["random"]["shared"]:
        del dens["random"]["shared"]
    return out


def _expand(doc: SpecDocument, source: str) -> tuple[tuple[TaskSweep, ...], tuple[int, ...]]:
    """(expanded tasks, index of the spec entry each came from)."""
    from hpsweep.sweep.spec.sampling import SampleError, sample_tasks

    tr, tasks, entries = doc.training, [], []
    for i, entry in enumerate(doc.tasks):
        names = [entry.task]
        if entry.sample is not None:
            s = entry.sample
            try:
                names = sample_tasks(s.family, s.params, s.count, s.seed)
            except SampleError as e:
                got = "" if e.value is ... else f"; got {quote(e.value)}"
                raise SpecError(f"{source}: {field_path(('tasks', i, 'sample', e.where))} {e.rule}{got}") from None
        update = {
            "sample": None,
            "densities": entry.densities or doc.densities,
            "lr": entry.lr or tr.lr,
            "epochs": entry.epochs or tr.epochs,
            "batch_size": entry.batch_size or tr.batch_size,
        }
        tasks += [entry.model_copy(update={**update, "task": name}) for name in names]
        entries += [i] * len(names)
        if len(tasks) > MAX_TASKS:
            raise SpecError(
                f"{source}: tasks expand to more than {MAX_TASKS:,} tasks (at tasks[{i}]); lower the sample counts"
            )
    return tuple(tasks), tuple(entries)


def build_spec(doc: SpecDocument, source: str) -> SweepSpec:
    """Expand a document into the SweepSpec with its hash and canonical text."""
    tasks, entries = _expand(doc, source)
    spec = SweepSpec(
        name=doc.name,
        tasks=tasks,
        training=doc.training,
        pack=doc.pack,
        resources=doc.resources,
        max_trials=doc.max_trials,
        keep=doc.keep,
        source=source,
        document=doc,
        entries=entries,
    )
    text = json.dumps(spec.canonical(), sort_keys=True, default=list)
    spec_hash = text_hash(text)
    body = yaml.safe_dump(
        {"spec_version": SPEC_VERSION, "spec_hash": spec_hash, "spec": json.loads(text)}, sort_keys=False
    )
    return SweepSpec(**{**spec.__dict__, "spec_hash": spec_hash, "text": body})


def _default_check_task(name: str) -> str:
    """Canonical task name via workers.tasks (TaskError for unknown ones)."""
    from hpsweep.workers.tasks import get_task

    return get_task(name).name


def parse_spec(
    raw: Any, source: str = "spec", check_task: Callable[[str], str] | None = _default_check_task
) -> SweepSpec:
    """Validate a parsed YAML document into a SweepSpec.

    Args:
        raw: the document (a mapping).
        source: file name used in messages.
        check_task: maps a task name to its canonical name, raising HpsweepError for unknown
            tasks; None skips the check.

    Returns:
        The frozen SweepSpec with spec_hash and canonical text filled in.

    Raises:
        SpecError: the first mistake, as one line naming the field and the value.
    """
    try:
        doc = SpecDocument.model_validate(raw, context={"check_task": check_task})
    except ValidationError as e:
        raise one_line(source, e) from None
    return build_spec(doc, source)


def load_spec(path_or_name: str, check_task: Callable[[str], str] | None = _default_check_task) -> SweepSpec:
    """Load and validate a spec from a YAML file or the name of a shipped spec.

    Args:
        path_or_name: a path to a YAML file, or a shipped spec name such as `quickstart`.
        check_task: see parse_spec.

    Returns:
        The frozen SweepSpec.

    Raises:
        SpecError: file missing, not UTF-8 YAML, or failing validation (one line, field and value).
    """
    from hpsweep.sweep.spec.loading import read_spec_file

    raw, source = read_spec_file(path_or_name)
    return parse_spec(raw, source, check_task)
