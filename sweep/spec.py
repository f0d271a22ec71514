"""Sweep specs: the YAML a user writes, validated into frozen dataclasses before Ray starts.

Validation is data (STYLE.md §9): each section has a table of fields -> (constraint, default),
and every mistake becomes one message of one shape, naming the file, the field path and the value:

    spec.yaml: tasks[1].densities.grid.hh must be a density in (0, 1]; got 1.5

The word `sparsity` is refused everywhere (PAPER.md §1): we only speak of density.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import yaml

from hpsweep.workers.descriptors import BLOCKS
from hpsweep.workers.errors import HpsweepError, SpecError

SPEC_VERSION = 1
RANDOM_METHODS = ("paper", "paper-densities")
"""`paper`: densities clip(|N(0.5, 0.25)|, 0.02, 1) and lr clip(N(1e-3, 4e-4), >= 1e-6) (PAPER.md §5);
`paper-densities`: the same densities, learning rates from the lr list."""


@dataclass(frozen=True)
class RandomDraws:
    """Seeded random density configurations."""

    count: int  # how many configurations to draw per task
    method: str = "paper"  # one of RANDOM_METHODS
    seed: int = 0  # seed of the draws (not of the models)
    shared: bool = False  # true: the same draws on every task (seeded by seed alone, not by the task)


@dataclass(frozen=True)
class DensityChoices:
    """Which density configurations a task sweeps; the union of every form given."""

    uniform: tuple[float, ...] = ()  # all six blocks at each of these densities (1.0 = dense)
    codes: tuple[str, ...] = ()  # structure codes, six bits hx,hh,hy,yx,yh,yy; 1 = dense, 0 = base
    base: tuple[float, ...] = (0.2,)  # base densities of the 0 bits of codes (the paper used 0.2)
    grid: tuple[tuple[float, ...], ...] = ()  # per block, in BLOCKS order: values of a cartesian grid
    random: RandomDraws | None = None  # random draws


@dataclass(frozen=True)
class TaskSweep:
    """One task and the models swept on it."""

    task: str  # task name with parameters, e.g. teacher(x=8,y=4,t=10) (see `hpsweep tasks`)
    data_seed: int  # seed of the task's data (model seeds are training.seeds)
    budgets: tuple[float, ...]  # trainable-weight budgets P; |h| is solved per density config
    hidden: tuple[int, ...]  # or |h| directly (exactly one of budgets / hidden)
    densities: DensityChoices
    round_densities: bool  # round densities to 2 decimals before solving |h|, as the original configs
    lr: tuple[float, ...]  # Adam learning rates (task override of training.lr)
    epochs: int  # task override of training.epochs
    batch_size: int  # task override of training.batch_size
    min_dense_hidden: int | None = None  # budgets giving the dense model fewer |h| are left out for this task


@dataclass(frozen=True)
class Training:
    """Training settings shared by every task unless a task overrides them."""

    lr: tuple[float, ...] = (1e-3,)
    epochs: int = 10
    batch_size: int = 32
    seeds: tuple[int, ...] = (0,)  # model seeds: masks, initial weights, batch order
    init_std: float = 0.05  # std of kept entries at init (PAPER.md §1)


@dataclass(frozen=True)
class PackSettings:
    """How trials are grouped into packs that train as one batched computation."""

    max_models: int = 64  # most models in one pack
    memory_gb: float | None = None  # device memory one pack may use; None: from the device (or 2 GB on CPU)
    device: str = "auto"  # auto, cpu or cuda
    threads: int | None = None  # torch threads per pack; None: resources.cpus


@dataclass(frozen=True)
class Resources:
    """What Ray reserves per pack, and how failures are retried."""

    cpus: float = 1  # CPUs per pack
    gpus: float = 0  # GPUs per pack; fractions share one GPU between packs
    max_concurrent: int | None = None  # most packs running at once; None: as resources allow
    max_failures: int = 2  # retries of a failing pack before its trials are marked failed


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep. Frozen once loaded; `spec_hash` identifies its content."""

    name: str  # the sweep id in the results store
    tasks: tuple[TaskSweep, ...]
    training: Training
    pack: PackSettings
    resources: Resources
    source: str = "spec"  # file name used in messages
    # -- filled in by load_spec ------------------------------------------------------------
    spec_hash: str = ""
    text: str = ""  # the canonical YAML stored as sweeps/<name>/spec.yaml

    def canonical(self) -> dict:
        out = asdict(self)
        for key in ("source", "spec_hash", "text"):
            out.pop(key)
        for task in out["tasks"]:  # fields added later are left out at their defaults: old hashes stay
            if task["min_dense_hidden"] is None:
                del task["min_dense_hidden"]
            if task["densities"]["random"] is not None and not task["densities"]["random"]["shared"]:
                del task["densities"]["random"]["shared"]
        return out


# ---------------------------------------------------------------------------------------------
# constraints: (check, description) pairs; a check returns the normalised value or raises _Bad
# ---------------------------------------------------------------------------------------------

class _Bad(Exception):
    pass


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(low: int) -> tuple[Callable, str]:
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise _Bad
        return v
    return check, f"an integer >= {low}"


_YAML_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _number(low: float, low_open: bool, high: float | None = None) -> tuple[Callable, str]:
    def check(v):
        if isinstance(v, str) and _YAML_FLOAT.fullmatch(v.strip()):
            v = float(v)  # PyYAML reads 1e-3 (no dot) as a string; every user means the number
        if not _is_num(v) or v != v or (v <= low if low_open else v < low) or (high is not None and v > high):
            raise _Bad
        return float(v)
    lo = f"({low:g}" if low_open else f"[{low:g}"
    desc = f"a number in {lo}, {high:g}]" if high is not None else f"a number {'>' if low_open else '>='} {low:g}"
    return check, desc


def _optional(constraint):
    check, desc = constraint
    return (lambda v: None if v is None else check(v)), f"{desc} or null"


def _one_of(choices) -> tuple[Callable, str]:
    def check(v):
        if v not in choices:
            raise _Bad
        return v
    return check, "one of " + ", ".join(map(str, choices))


def _bool():
    def check(v):
        if not isinstance(v, bool):
            raise _Bad
        return v
    return check, "true or false"


_POS_INT, _NONNEG_INT = _int(1), _int(0)
_DENSITY = (_number(0.0, True, 1.0)[0], "a density in (0, 1]")
_LR = _number(0.0, True)


def _name():
    def check(v):
        if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", v):
            raise _Bad
        return v
    return check, "a name of letters, digits, '_', '.', '-' (at most 64 characters)"


_NAME = _name()


def _code():
    def check(v):
        v = str(v) if isinstance(v, str) else None
        if v is None or len(v) != 6 or set(v) - {"0", "1"}:
            raise _Bad
        return v
    return check, f"a structure code of six quoted bits in the order {','.join(BLOCKS)}, e.g. '011001'"


def _task_name():
    def check(v):
        if not isinstance(v, str) or not v.strip():
            raise _Bad
        return v.strip()
    return check, "a task name such as teacher(x=8,y=4,t=10) (see `hpsweep tasks`)"


# section tables: field -> (constraint, default, is_list). Defaults of None mean optional.
_TOP = {"name": (_NAME, None, False), "tasks": (None, None, False), "training": (None, {}, False),
        "pack": (None, {}, False), "resources": (None, {}, False), "densities": (None, None, False)}
_TRAINING = {"lr": (_LR, Training.lr, True), "epochs": (_POS_INT, Training.epochs, False),
             "batch_size": (_POS_INT, Training.batch_size, False),
             "seeds": (_NONNEG_INT, Training.seeds, True), "init_std": (_number(0.0, True), Training.init_std, False)}
_PACK = {"max_models": (_POS_INT, PackSettings.max_models, False),
         "memory_gb": (_optional(_number(0.0, True)), None, False),
         "device": (_one_of(("auto", "cpu", "cuda")), PackSettings.device, False),
         "threads": (_optional(_POS_INT), None, False)}
_RESOURCES = {"cpus": (_number(0.0, False), Resources.cpus, False), "gpus": (_number(0.0, False), Resources.gpus, False),
              "max_concurrent": (_optional(_POS_INT), None, False),
              "max_failures": (_NONNEG_INT, Resources.max_failures, False)}
_TASK = {"task": (_task_name(), None, False), "sample": (None, None, False), "data_seed": (_NONNEG_INT, 0, False),
         "budgets": (_number(0.0, True), None, True), "hidden": (_POS_INT, None, True),
         "densities": (None, None, False), "round_densities": (_bool(), False, False),
         "lr": (_LR, None, True), "epochs": (_POS_INT, None, False), "batch_size": (_POS_INT, None, False),
         "min_dense_hidden": (_optional(_POS_INT), None, False)}
_DENSITIES = {"uniform": (_DENSITY, (), True), "codes": (_code(), (), True), "base": (_DENSITY, (0.2,), True),
              "grid": (None, None, False), "random": (None, None, False)}
_GRID = {b: (_DENSITY, (1.0,), True) for b in BLOCKS}
_RANDOM = {"count": (_POS_INT, None, False), "method": (_one_of(RANDOM_METHODS), "paper", False),
           "seed": (_NONNEG_INT, 0, False), "shared": (_bool(), False, False)}
_SAMPLE = {"family": (_task_name(), None, False), "count": (_POS_INT, None, False),
           "seed": (_NONNEG_INT, 0, False), "params": (None, None, False)}


class _Validator:
    """Applies the section tables; raises SpecError with the one message shape."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, rule: str, value: Any = ...) -> SpecError:
        got = "" if value is ... else f"; got {value!r}"
        return SpecError(f"{self.source}: {path} {rule}{got}")

    def section(self, raw, path: str, table: dict, required=()) -> dict:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise self.fail(path or "the spec", "must be a mapping of fields", raw)
        for key in raw:
            if "sparsity" in str(key).lower():
                raise self.fail(f"{path}.{key}".lstrip("."), "is not accepted: hpsweep speaks of density "
                                "(the share of weights kept, 1.0 = dense); rename it to a density field")
            if key not in table:
                raise self.fail(f"{path}.{key}".lstrip("."), f"is not a field here; valid fields: {', '.join(table)}")
        for key in required:
            if raw.get(key) is None:
                raise self.fail(f"{path}.{key}".lstrip("."), "is required")
        out = {}
        for key, (constraint, default, is_list) in table.items():
            where = f"{path}.{key}".lstrip(".")
            value = raw.get(key, default)
            if constraint is None or value is None or key not in raw:
                out[key] = value  # defaults are valid by construction
                continue
            check, desc = constraint
            if is_list:
                values = list(value) if isinstance(value, (list, tuple)) else [value]
                if not values:
                    raise self.fail(where, "must list at least one value", value)
                normalised = []
                for i, v in enumerate(values):
                    try:
                        normalised.append(check(v))
                    except _Bad:
                        raise self.fail(f"{where}[{i}]" if isinstance(value, (list, tuple)) else where,
                                        f"must be {desc}", v) from None
                out[key] = tuple(normalised)
            else:
                try:
                    out[key] = check(value)
                except _Bad:
                    raise self.fail(where, f"must be {desc}", value) from None
        return out


def _densities(v: _Validator, raw, path: str) -> DensityChoices:
    if raw is None:
        raise v.fail(path, "is required: give uniform, codes (+ base), grid and/or random")
    d = v.section(raw, path, _DENSITIES)
    grid = None
    if d["grid"] is not None:
        g = v.section(d["grid"], f"{path}.grid", _GRID)
        grid = tuple(g[b] for b in BLOCKS)
    random = None
    if d["random"] is not None:
        r = v.section(d["random"], f"{path}.random", _RANDOM, required=("count",))
        random = RandomDraws(**r)
    if "base" in raw and not d["codes"]:
        raise v.fail(f"{path}.base", "only applies to codes; add codes or remove base")
    if not (d["uniform"] or d["codes"] or grid or random):
        raise v.fail(path, "must give at least one of uniform, codes, grid, random", raw)
    return DensityChoices(uniform=d["uniform"], codes=d["codes"], base=d["base"], grid=grid or (), random=random)


def _task_names(v: _Validator, raw: dict, t: dict, path: str, check_task) -> list[str]:
    """The entry's task name, or the names its `sample` block draws (sweep/sampling.py)."""
    if t["task"] is None and t["sample"] is None:
        raise v.fail(f"{path}.task", "is required (or a sample: block that draws tasks)")
    if t["task"] is not None and t["sample"] is not None:
        raise v.fail(path, "must give exactly one of task and sample", {k: raw.get(k) for k in ("task", "sample")})
    if t["sample"] is not None:
        from hpsweep.sweep.sampling import SampleError, sample_tasks

        s = v.section(t["sample"], f"{path}.sample", _SAMPLE, required=("family", "count"))
        try:
            return sample_tasks(s["family"], s["params"], s["count"], s["seed"])
        except SampleError as e:
            raise v.fail(f"{path}.sample.{e.where}", e.rule, e.value) from None
    if check_task is None:
        return [t["task"]]
    try:
        return [check_task(t["task"])]
    except HpsweepError as e:
        raise v.fail(f"{path}.task", f"is not a known task ({e})", raw["task"]) from None


def _task(v: _Validator, raw, path: str, training: Training, check_task: Callable[[str], str] | None,
          default_densities) -> list[TaskSweep]:
    t = v.section(raw, path, _TASK)
    names = _task_names(v, raw, t, path, check_task)
    if (t["budgets"] is None) == (t["hidden"] is None):
        raise v.fail(path, "must give exactly one of budgets and hidden", {k: raw.get(k) for k in ("budgets", "hidden")})
    given = raw.get("densities")
    dens = _densities(v, given if given is not None else default_densities,
                      f"{path}.densities" if given is not None or default_densities is None else "densities")
    return [TaskSweep(
        task=name, data_seed=t["data_seed"], budgets=t["budgets"] or (), hidden=t["hidden"] or (),
        densities=dens, round_densities=t["round_densities"],
        lr=t["lr"] or training.lr, epochs=t["epochs"] or training.epochs,
        batch_size=t["batch_size"] or training.batch_size, min_dense_hidden=t["min_dense_hidden"],
    ) for name in names]


def _default_check_task(name: str) -> str:
    """Canonical task name via workers.tasks (TaskError for unknown ones)."""
    from hpsweep.workers.tasks import get_task
    return get_task(name).name


def parse_spec(raw: Any, source: str = "spec", check_task: Callable[[str], str] | None = _default_check_task) -> SweepSpec:
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
    v = _Validator(source)
    top = v.section(raw, "", _TOP, required=("name", "tasks"))
    training = Training(**v.section(top["training"], "training", _TRAINING))
    pack = PackSettings(**v.section(top["pack"], "pack", _PACK))
    res = Resources(**v.section(top["resources"], "resources", _RESOURCES))
    if not isinstance(top["tasks"], list) or not top["tasks"]:
        raise v.fail("tasks", "must be a non-empty list of task entries", top["tasks"])
    tasks = tuple(ts for i, t in enumerate(top["tasks"])
                  for ts in _task(v, t, f"tasks[{i}]", training, check_task, top["densities"]))
    spec = SweepSpec(name=top["name"], tasks=tasks, training=training, pack=pack, resources=res, source=source)
    canonical = spec.canonical()
    text = json.dumps(canonical, sort_keys=True, default=list)
    spec_hash = hashlib.sha256(text.encode()).hexdigest()[:16]
    body = yaml.safe_dump({"spec_version": SPEC_VERSION, "spec_hash": spec_hash, "spec": json.loads(text)},
                          sort_keys=False)
    return SweepSpec(**{**spec.__dict__, "spec_hash": spec_hash, "text": body})


def shipped_specs() -> list[str]:
    """Names of the specs that ship with hpsweep (sweep/specs/*.yaml)."""
    return sorted(p.name[:-5] for p in (resources.files("sweep") / "specs").iterdir() if p.name.endswith(".yaml"))


def load_spec(path_or_name: str, check_task: Callable[[str], str] | None = _default_check_task) -> SweepSpec:
    """Load and validate a spec from a YAML file or the name of a shipped spec.

    Args:
        path_or_name: a path to a YAML file, or a shipped spec name such as `quickstart`.
        check_task: see parse_spec.

    Returns:
        The frozen SweepSpec.

    Raises:
        SpecError: file missing, not YAML, or failing validation (one line, field and value).
    """
    p = Path(path_or_name)
    if p.is_file():
        text, source = p.read_text(), p.name
    elif path_or_name in shipped_specs():
        text = (resources.files("sweep") / "specs" / f"{path_or_name}.yaml").read_text()
        source = f"{path_or_name}.yaml"
    else:
        raise SpecError(f"spec {path_or_name!r} is neither a file nor a shipped spec; shipped specs: "
                        f"{', '.join(shipped_specs())}")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"{source}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    return parse_spec(raw, source, check_task)


__all__ = ["SweepSpec", "TaskSweep", "Training", "PackSettings", "Resources", "DensityChoices", "RandomDraws",
           "parse_spec", "load_spec", "shipped_specs", "RANDOM_METHODS"]
