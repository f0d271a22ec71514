"""`hpsweep run SPEC --scale ...`: run the same spec smaller (a laptop) or larger (a cluster).

A shipped spec states the full-size sweep. `scale_spec(spec, factors)` multiplies the quantities
below by their factor and returns a new, validated SweepSpec; nothing else changes:

| quantity | what it multiplies | rounding and floor |
|---|---|---|
| data   | n_train, n_val, n_test of every task that has them (rad, teacher, prototype, lorenz) | nearest, >= min(n, 10) |
| epochs | training epochs (the spec's and every task's) | nearest, >= 1 |
| seeds  | how many model seeds: the first round(n * f) of the list; more than listed continue after the largest | nearest, >= 1 |
| draws  | `densities.random.count` of every task | nearest, >= 1 |
| input  | |x| of tasks that have an input size: rad's side by sqrt(f) (|x| = side^2), teacher's and prototype's x by f | nearest, within the task's range |
| budget | every weight budget P (specs that give |h| directly keep it) | nearest integer, >= 1 |

`--scale 0.1` scales data, epochs, seeds and draws, the size of the sweep, never the models:
each trial trains the same architecture on fewer sequences for fewer epochs. `input` and
`budget` change the models themselves and must be asked for by name (`--scale
data=0.05,epochs=0.4,input=0.25,budget=0.3`); scaling both by the same factor keeps the
|x|/|h| regime of the dense model (|h| ~ P/|x| when |x| >> |h|). It does not keep every balance
metric: with |y| fixed, the y-blocks take a larger share of a smaller budget, and sparse models'
|h| shrinks more slowly than |x| (docs/findings.md lists the HP values at the scale it ran).
A bare number and named factors combine: `--scale 0.1,epochs=0.5`.

The scaled sweep gets its own name (`paper-rad-scale-d0.05e0.4`), so results at different scales
never mix in one sweep id and resuming a scaled run works as for any spec.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from hpsweep.sweep.spec import SweepSpec, TaskSweep, parse_spec
from hpsweep.workers.errors import SpecError

QUANTITIES = ("data", "epochs", "seeds", "draws", "input", "budget")
SIZE_QUANTITIES = ("data", "epochs", "seeds", "draws")
"""What a bare `--scale F` multiplies: the sweep's size, not its models."""
_TAGS = {"data": "d", "epochs": "e", "seeds": "s", "draws": "r", "input": "x", "budget": "b"}
_DATA_PARAMS = ("n_train", "n_val", "n_test")


@dataclass(frozen=True)
class ScaleFactors:
    """One factor per scalable quantity; 1.0 leaves it as the spec says."""

    data: float = 1.0  # sequences per split
    epochs: float = 1.0
    seeds: float = 1.0  # number of model seeds
    draws: float = 1.0  # random density draws per task
    input: float = 1.0  # |x| of generated tasks
    budget: float = 1.0  # weight budgets

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
        SpecError: an unknown quantity or a factor that is not a number > 0.
    """
    values: dict[str, float] = {}
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, raw = item.partition("=")
        key, raw = (key.strip(), raw.strip()) if eq else ("", key.strip())
        if eq and key not in QUANTITIES:
            raise SpecError(f"--scale: unknown quantity {key!r}; valid quantities: {', '.join(QUANTITIES)} "
                            f"(or a bare number for {', '.join(SIZE_QUANTITIES)})")
        try:
            factor = float(raw)
        except ValueError:
            factor = float("nan")
        if not (math.isfinite(factor) and factor > 0):
            raise SpecError(f"--scale: {key or 'the factor'} must be a number > 0; got {raw!r}")
        for q in ([key] if key else SIZE_QUANTITIES):
            if key or q not in values:  # named factors win over a bare number, in any order
                values[q] = factor
    if not values:
        raise SpecError(f"--scale: give a number > 0 or quantity=factor pairs ({', '.join(QUANTITIES)}); got {text!r}")
    return ScaleFactors(**values)


def _near(value: float, floor: int) -> int:
    return max(floor, math.floor(value + 0.5))


def _seeds(seeds: tuple[int, ...], f: float) -> tuple[int, ...]:
    n = _near(len(seeds) * f, 1)
    extra = tuple(range(max(seeds) + 1, max(seeds) + 1 + n - len(seeds)))
    return (seeds + extra)[:n]


def scale_task_name(name: str, factors: ScaleFactors) -> str:
    """The task name with its data sizes and input size scaled; names without those stay as they are."""
    from hpsweep.workers.tasks import FAMILIES, get_task
    from hpsweep.workers.tasks._params import canonical

    task = get_task(name)
    cls = FAMILIES.get(getattr(task, "family", ""))
    if cls is None or not isinstance(task, cls):  # minari:, file: have no sizes to scale
        return task.name
    params = dict(task.params)
    table = {p.name: p for p in cls.PARAMS}
    for key in _DATA_PARAMS:
        if key in params:
            params[key] = _near(params[key] * factors.data, min(params[key], 10))
    size_key, f = ("side", math.sqrt(factors.input)) if "side" in params else ("x", factors.input)
    if size_key in params and cls.family != "lorenz":
        p = table[size_key]
        params[size_key] = int(min(p.high, max(p.low, _near(params[size_key] * f, 1))))
    return canonical(cls.family, cls.PARAMS, params)


def _raw_task(t: TaskSweep, factors: ScaleFactors) -> dict:
    d = t.densities
    dens: dict = {}
    if d.uniform:
        dens["uniform"] = list(d.uniform)
    if d.codes:
        dens["codes"], dens["base"] = list(d.codes), list(d.base)
    if d.grid:
        dens["grid"] = {b: list(v) for b, v in zip(("hx", "hh", "hy", "yx", "yh", "yy"), d.grid)}
    if d.random is not None:
        dens["random"] = {"count": _near(d.random.count * factors.draws, 1), "method": d.random.method,
                          "seed": d.random.seed, "shared": d.random.shared}
    raw = {"task": scale_task_name(t.task, factors), "data_seed": t.data_seed, "densities": dens,
           "round_densities": t.round_densities, "lr": list(t.lr), "epochs": _near(t.epochs * factors.epochs, 1),
           "batch_size": t.batch_size}
    if t.min_dense_hidden is not None:
        raw["min_dense_hidden"] = t.min_dense_hidden
    if t.budgets:
        raw["budgets"] = [float(_near(b * factors.budget, 1)) for b in t.budgets]
    else:
        raw["hidden"] = list(t.hidden)
    return raw


def scaled_name(name: str, factors: ScaleFactors) -> str:
    """`paper-rad` -> `paper-rad-scale-d0.05e0.4`; hashed when that would pass the 64-character limit."""
    full = f"{name}-scale-{factors.tag()}"
    if len(full) <= 64:
        return full
    return f"{name[:40]}-scale-{hashlib.sha256(factors.tag().encode()).hexdigest()[:8]}"


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
    if factors.is_identity():
        return spec
    tr = spec.training
    raw = {
        "name": scaled_name(spec.name, factors),
        "tasks": [_raw_task(t, factors) for t in spec.tasks],
        "training": {"lr": list(tr.lr), "epochs": _near(tr.epochs * factors.epochs, 1), "batch_size": tr.batch_size,
                     "seeds": list(_seeds(tr.seeds, factors.seeds)), "init_std": tr.init_std},
        "pack": {k: v for k, v in spec.pack.__dict__.items() if v is not None},
        "resources": {k: v for k, v in spec.resources.__dict__.items() if v is not None},
    }
    source = f"{spec.source} scaled ({factors.describe()})"
    return parse_spec(raw, source, check_task=None)


__all__ = ["QUANTITIES", "SIZE_QUANTITIES", "ScaleFactors", "parse_scale", "scale_spec", "scale_task_name",
           "scaled_name"]
