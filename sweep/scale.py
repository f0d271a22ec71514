"""`hpsweep run SPEC --scale ...`: run the same spec smaller (a laptop) or larger (a cluster).

A shipped spec states the full-size sweep. `scale_spec(spec, factors)` multiplies the quantities
below by their factor in the spec as written (its SpecDocument) and validates the result again;
nothing else changes:

| quantity | what it multiplies | rounding and floor |
|---|---|---|
| data   | task parameters the family marks `scaling=DATA` (n_train, n_val, n_test) | nearest, >= min(n, 10) |
| epochs | training epochs (the spec's and every task's) | nearest, >= 1 |
| seeds  | how many model seeds: the first round(n * f) of the list; more than listed continue after the largest | nearest, >= 1 |
| draws  | `densities.random.count` (every task's and the top-level one) | nearest, >= 1 |
| tasks  | `sample.count` of every sampled entry (specs without `sample:` ignore it) | nearest, >= 1 |
| input  | task parameters marked `scaling=INPUT`: teacher's and prototype's x by f, rad's side by sqrt(f) | nearest, within the parameter's range |
| budget | every weight budget P (specs that give |h| directly keep it) | nearest integer, >= 1 |

Which task parameter follows which quantity is declared by its family (`Param(..., scaling=...)`
in workers/tasks/_params.py), so a new family or parameter scales without touching this module.
Sampled entries scale their fixed values and distribution bounds the same way.

`--scale 0.1` scales data, epochs, seeds, draws and tasks, the size of the sweep, never the
models: each trial trains the same architecture on fewer sequences for fewer epochs. `input` and
`budget` change the models themselves and must be asked for by name (`--scale
data=0.05,epochs=0.4,input=0.25,budget=0.3`); scaling both by the same factor keeps the
|x|/|h| regime of the dense model (|h| ~ P/|x| when |x| >> |h|). It does not keep every balance
metric: with |y| fixed, the y-blocks take a larger share of a smaller budget, and sparse models'
|h| shrinks more slowly than |x| (docs/findings.md lists the HP values at the scale it ran).
A bare number and named factors combine: `--scale 0.1,epochs=0.5`. A factor is at most 1000.

The scaled sweep gets its own name (`paper-rad-scale-d0.05e0.4`), so results at different scales
never mix in one sweep id and resuming a scaled run works as for any spec.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hpsweep.sweep.spec import SweepSpec, load_spec, parse_spec
from hpsweep.workers.errors import HpsweepError, SpecError
from hpsweep.workers.hashing import text_hash

QUANTITIES = ("data", "epochs", "seeds", "draws", "input", "budget", "tasks")
SIZE_QUANTITIES = ("data", "epochs", "seeds", "draws", "tasks")
"""What a bare `--scale F` multiplies: the sweep's size, not its models."""
MAX_FACTOR = 1000.0
_TAGS = {"data": "d", "epochs": "e", "seeds": "s", "draws": "r", "input": "x", "budget": "b", "tasks": "t"}


@dataclass(frozen=True)
class ScaleFactors:
    """One factor per scalable quantity; 1.0 leaves it as the spec says."""

    data: float = 1.0  # sequences per split
    epochs: float = 1.0
    seeds: float = 1.0  # number of model seeds
    draws: float = 1.0  # random density draws per task
    input: float = 1.0  # |x| of generated tasks
    budget: float = 1.0  # weight budgets
    tasks: float = 1.0  # tasks drawn by each sample: entry

    def is_identity(self) -> bool:
        return all(getattr(self, q) == 1.0 for q in QUANTITIES)

    def tag(self) -> str:
        """Short text for the sweep name: d0.05e0.4 (only factors other than 1)."""
        return "".join(f"{_TAGS[q]}{getattr(self, q):g}" for q in QUANTITIES if getattr(self, q) != 1.0)

    def describe(self) -> str:
        return ", ".join(f"{q} x{getattr(self, q):g}" for q in QUANTITIES if getattr(self, q) != 1.0) or "unchanged"


def parse_scale(text: str) -> ScaleFactors:
    """`0.1`, `data=0.05,epochs=0.4` or `0.1,epochs=0.5` -> ScaleFactors.

    Raises:
        SpecError: an unknown quantity or a factor that is not a number in (0, 1000].
    """
    values: dict[str, float] = {}
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, raw = item.partition("=")
        key, raw = (key.strip(), raw.strip()) if eq else ("", key.strip())
        if eq and key not in QUANTITIES:
            raise SpecError(
                f"--scale: unknown quantity {key[:100]!r}; valid quantities: {', '.join(QUANTITIES)} "
                f"(or a bare number for {', '.join(SIZE_QUANTITIES)})"
            )
        try:
            factor = float(raw)
        except ValueError:
            factor = float("nan")
        if not (math.isfinite(factor) and factor > 0):
            raise SpecError(f"--scale: {key or 'the factor'} must be a number > 0; got {raw[:100]!r}")
        if factor > MAX_FACTOR:
            raise SpecError(f"--scale: {key or 'the factor'} must be at most {MAX_FACTOR:g}; got {raw[:100]!r}")
        for q in [key] if key else SIZE_QUANTITIES:
            if key or q not in values:  # named factors win over a bare number, in any order
                values[q] = factor
    if not values:
        raise SpecError(
            f"--scale: give a number > 0 or quantity=factor pairs ({', '.join(QUANTITIES)}); got {str(text)[:100]!r}"
        )
    return ScaleFactors(**values)


def _near(value: float, floor: int) -> int:
    return max(floor, math.floor(value + 0.5))


def _seeds(seeds: tuple[int, ...], f: float) -> list[int]:
    n = _near(len(seeds) * f, 1)
    extra = tuple(range(max(seeds) + 1, max(seeds) + 1 + n - len(seeds)))
    return list((seeds + extra)[:n])


def scale_task_name(name: str, factors: ScaleFactors) -> str:
    """The task name with the parameters its family marks as scalable scaled (others unchanged)."""
    from hpsweep.workers.tasks import get_task
    from hpsweep.workers.tasks._params import canonical, scale_params

    task = get_task(name)
    table = task.PARAMS
    scaled = scale_params(table, task.params, factors)
    if scaled == task.params:
        return task.name
    head = task.name[: len(task.name) - len(canonical("", table, task.params))]  # family, or prefix:source
    return get_task(canonical(head, table, scaled)).name


def _scale_sample(sample: dict, factors: ScaleFactors) -> dict:
    """A sample: block's count by `tasks`, its fixed values and distribution bounds as the family says."""
    from hpsweep.workers.tasks import FAMILIES

    table = {p.name: p for p in getattr(FAMILIES.get(sample["family"]), "PARAMS", ())}
    params = {}
    for key, value in sample.get("params", {}).items():
        p = table.get(key)
        f = getattr(factors, p.scaling.quantity) if p is not None and p.scaling is not None else 1.0
        if f == 1.0 or isinstance(value, bool):
            params[key] = value
        elif isinstance(value, dict):
            params[key] = {
                kind: [p.scaling.apply(p, v, f) if isinstance(v, (int, float)) else v for v in bounds]
                if isinstance(bounds, list)
                else bounds
                for kind, bounds in value.items()
            }
        else:
            params[key] = p.scaling.apply(p, value, f) if isinstance(value, (int, float)) else value
    return {**sample, "count": _near(sample["count"] * factors.tasks, 1), "params": params}


def _scale_densities(dens: dict | None, factors: ScaleFactors) -> dict | None:
    if dens and dens.get("random"):
        dens = {**dens, "random": {**dens["random"], "count": _near(dens["random"]["count"] * factors.draws, 1)}}
    return dens


def scaled_name(name: str, factors: ScaleFactors) -> str:
    """`paper-rad` -> `paper-rad-scale-d0.05e0.4`; hashed when that would pass the 64-character limit."""
    full = f"{name}-scale-{factors.tag()}"
    if len(full) <= 64:
        return full
    return f"{name[:40]}-scale-{text_hash(factors.tag(), 8)}"


def scale_spec(spec: SweepSpec, factors: ScaleFactors) -> SweepSpec:
    """The spec with its scalable quantities multiplied (module docstring); a new sweep name.

    Args:
        spec: a loaded, validated spec.
        factors: from `parse_scale`; all 1.0 returns `spec` itself.

    Returns:
        A validated SweepSpec (new name, hash and canonical text).

    Raises:
        SpecError: the scaled spec breaks a rule, e.g. a scaled budget too small for its task.
    """
    doc = spec.document
    if not any(t.sample is not None for t in doc.tasks):
        factors = dataclasses.replace(factors, tasks=1.0)  # nothing to scale: keep old names and hashes
    if factors.is_identity():
        return spec
    raw = doc.model_dump(exclude_defaults=True)
    tr = doc.training
    raw["name"] = scaled_name(doc.name, factors)
    raw["training"] = {
        **raw.get("training", {}),
        "epochs": _near(tr.epochs * factors.epochs, 1),
        "seeds": _seeds(tr.seeds, factors.seeds),
    }
    raw["densities"] = _scale_densities(raw.get("densities"), factors)
    # pack and resources in full, as earlier versions wrote them (cpus 1 -> 1.0): scaled hashes stay
    raw["pack"] = doc.pack.model_dump(exclude_none=True)
    raw["resources"] = doc.resources.model_dump(exclude_none=True)
    source = f"{spec.source} scaled ({factors.describe()})"
    for i, (entry, t) in enumerate(zip(raw["tasks"], doc.tasks)):
        if t.task is not None:
            try:
                entry["task"] = scale_task_name(t.task, factors)
            except HpsweepError as e:
                raise SpecError(f"{source}: tasks[{i}].task {t.task} cannot be scaled: {e}") from None
        else:
            entry["sample"] = _scale_sample(entry["sample"], factors)
        if t.epochs is not None:
            entry["epochs"] = _near(t.epochs * factors.epochs, 1)
        if t.budgets:
            entry["budgets"] = [float(_near(b * factors.budget, 1)) for b in t.budgets]
        entry["densities"] = _scale_densities(entry.get("densities"), factors)
    return parse_spec(raw, source, check_task=None)


__all__ = [
    "QUANTITIES",
    "SIZE_QUANTITIES",
    "MAX_FACTOR",
    "ScaleFactors",
    "parse_scale",
    "scale_spec",
    "scale_task_name",
    "scaled_name",
]


def load_scaled(
    spec: str | Mapping | SweepSpec | None, scale: str | None = None, echo: Callable[[str], None] | None = None
) -> SweepSpec:
    """A validated spec from a YAML path, a shipped name, a dict, a SweepSpec or None (quickstart),
    scaled by `scale` (the `--scale` syntax) when given; `echo` gets the scaled sweep's name."""
    if isinstance(spec, SweepSpec):
        loaded = spec
    elif isinstance(spec, Mapping):
        loaded = parse_spec(dict(spec), source="spec dict")
    else:
        loaded = load_spec(str(spec) if spec is not None else "quickstart")
    if scale is None:
        return loaded
    factors = parse_scale(scale)
    scaled = scale_spec(loaded, factors)
    if echo is not None:
        echo(f"scaled ({factors.describe()}): sweep {scaled.name}")
    return scaled
