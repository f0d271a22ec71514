"""Sampled tasks: a family, a distribution per parameter, a count and a seed -> ordinary task names.

A spec entry may give `sample:` instead of `task:` (docs/sweep.md, "Sampled tasks"):

    - sample:
        family: teacher
        count: 200                      # distinct tasks to draw
        seed: 7                         # same seed, same tasks, on every machine
        params:
          x: {log_uniform: [4, 1024]}   # log-uniform; int parameters round to the nearest integer
          y: {log_uniform: [2, 64]}
          t: {choice: [10, 20]}
          noise: {uniform: [0, 0.3]}
          n_train: 500                  # a plain value is fixed
      budgets: [20000, 100000]
      densities: {...}

Expansion happens while the spec is validated, so `--dry-run`, the spec hash and every trial id
see plain task names (`teacher(x=37,y=5,noise=0.12,...)`). Draws come from numpy's PCG64 seeded
by `seed` alone, in the family's parameter order, so adding a parameter to a family never
reshuffles the draws of the others. Rounded duplicates are drawn again; a range too narrow to
give `count` distinct tasks is an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from hpsweep.workers.errors import TaskError

DISTRIBUTIONS = ("uniform", "log_uniform", "choice")
MAX_TRIES_PER_TASK = 50  # redraws allowed per distinct task before the ranges count as too narrow


class SampleError(ValueError):
    """A bad sample block: `where` is the field path below the entry, `rule` the message."""

    def __init__(self, where: str, rule: str, value: Any = ...):
        super().__init__(rule)
        self.where, self.rule, self.value = where, rule, value


def _number(where: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1e300 < v < 1e300:  # also NaN, huge ints
        raise SampleError(where, "must be a finite number", v)
    return float(v)


def parse_distribution(where: str, param, raw: Any) -> Callable[[np.random.Generator], Any] | Any:
    """One `params` entry -> a fixed value (checked by the family) or a draw function."""
    if not isinstance(raw, dict):
        return raw  # checked with the family's own rule when the task is built
    if len(raw) != 1 or next(iter(raw)) not in DISTRIBUTIONS:
        raise SampleError(
            where,
            "must be a value or one of {uniform: [low, high]}, {log_uniform: [low, high]}, {choice: [a, b, ...]}",
            raw,
        )
    ((kind, args),) = raw.items()
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise SampleError(f"{where}.choice", "must list at least one value", args)
        values = list(args)
        return lambda rng: values[int(rng.integers(len(values)))]
    if param.kind not in (int, float):
        raise SampleError(where, f"is a {param.kind.__name__} parameter: give a value or choice", raw)
    if not isinstance(args, list) or len(args) != 2:
        raise SampleError(f"{where}.{kind}", "must be [low, high]", args)
    low, high = (_number(f"{where}.{kind}", a) for a in args)
    if low > high:
        raise SampleError(f"{where}.{kind}", "must be [low, high] with low <= high", args)
    for end in (low, high):
        if (param.low is not None and end < param.low) or (param.high is not None and end > param.high):
            raise SampleError(f"{where}.{kind}", f"must lie within the parameter's range ({param.rule()})", args)
    if kind == "log_uniform":
        if low <= 0:
            raise SampleError(f"{where}.{kind}", "must be [low, high] with low > 0", args)
        draw = lambda rng: math.exp(rng.uniform(math.log(low), math.log(high)))  # noqa: E731
    else:
        draw = lambda rng: rng.uniform(low, high)  # noqa: E731
    if param.kind is int:
        return lambda rng: int(min(high, max(low, math.floor(draw(rng) + 0.5))))
    # 4 significant digits keep names short and readable; the clamp keeps rounding inside the range
    return lambda rng: min(high, max(low, float(f"{draw(rng):.4g}")))


def sample_tasks(family: str, params: Any, count: int, seed: int) -> list[str]:
    """`count` distinct canonical task names of `family`, drawn with `seed`.

    Raises:
        SampleError: an unknown family or parameter, a bad distribution, ranges too narrow.
    """
    from hpsweep.workers.tasks import FAMILIES

    if family not in FAMILIES:
        raise SampleError(
            "family", f"must be one of {', '.join(FAMILIES)} (file: and minari: tasks are given by name)", family
        )
    cls = FAMILIES[family]
    table = {p.name: p for p in cls.PARAMS}
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise SampleError("params", "must be a mapping of parameter: value or distribution", params)
    for key in params:
        if key not in table:
            raise SampleError(f"params.{key}", f"is not a parameter of {family}; valid parameters: {', '.join(table)}")
    draws = {k: parse_distribution(f"params.{k}", table[k], params[k]) for k in table if k in params}
    rng = np.random.default_rng(seed)
    names: dict[str, None] = {}
    for _ in range(count * MAX_TRIES_PER_TASK):
        values = {k: (d(rng) if callable(d) else d) for k, d in draws.items()}
        try:
            task = cls(_resolve(cls, values))
        except TaskError as e:
            raise SampleError("params", f"gives a task that does not exist ({e})") from None
        names.setdefault(task.name)
        if len(names) == count:
            return list(names)
    raise SampleError(
        "count",
        f"asks for more distinct tasks than the ranges hold ({len(names)} found); widen the ranges or lower count",
        count,
    )


def _resolve(cls, values: dict) -> dict:
    from hpsweep.workers.tasks._params import resolve

    return resolve(cls.family, cls.PARAMS, values)


__all__ = ["DISTRIBUTIONS", "SampleError", "sample_tasks"]
