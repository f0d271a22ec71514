"""Field rules: each spec field's constraint, written once, as a pydantic validator with one message.

A rule raises `fail(...)` (a pydantic custom error) carrying the rule text, the value and an
optional path suffix; `errors.one_line` turns the first of them into the one-line message:

    spec.yaml: tasks[1].densities.grid.hh[1] must be a density in (0, 1]; got 1.5

Every number is checked for finiteness and a sane range; the caps sit beside each field in
models.py and are listed in docs/sweep.md ("Limits").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from hpsweep.workers.descriptors import BLOCKS, density_problem

SEED_MAX = 2**32 - 1  # numpy and torch seed from 32-bit words; the results columns are int64
_YAML_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def fail(rule: str, value: Any = ..., sub: str = "") -> PydanticCustomError:
    """The one error every rule raises: `rule` reads after the field path ("must be ...")."""
    return PydanticCustomError("hpsweep", "{rule}", {"rule": rule, "value": value, "sub": sub})


class _Bad(Exception):
    """A value outside the rule; `rule` replaces the rule's default text when set."""

    def __init__(self, rule: str | None = None):
        self.rule = rule


def _as_number(v):
    if isinstance(v, str) and _YAML_FLOAT.fullmatch(v.strip()):
        return float(v)  # YAML 1.1 reads 1e-3 (no dot) as a string; every user means the number
    return v


def integer(low: int, high: int, why: str = "") -> tuple[Callable, str]:
    def check(v):
        written = v
        v = _as_number(v)
        if isinstance(v, float) and math.isfinite(v) and v.is_integer() and (written is not v or abs(v) > 2**53):
            v = int(v)  # '1e7' (YAML reads it as a string) or 1.0e+23: whole numbers, checked against the range
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise _Bad
        if v > high:
            raise _Bad(f"must be at most {high}{why}")
        return v

    return check, f"an integer >= {low}"


def number(low: float, low_open: bool, high: float) -> tuple[Callable, str]:
    def check(v):
        v = _as_number(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise _Bad
        if isinstance(v, int) and v > high:  # first: a 400-digit integer does not fit a float
            raise _Bad(f"must be at most {high:g}")
        if not math.isfinite(v):
            raise _Bad("must be a finite number")
        if v > high:
            raise _Bad(f"must be at most {high:g}")
        if v <= low if low_open else v < low:
            raise _Bad
        return float(v)

    return check, f"a number {'>' if low_open else '>='} {low:g}"


def _density_check(v):
    v = _as_number(v)
    problem = density_problem(v)
    if problem:
        raise _Bad(f"must be a density {problem}")
    return float(v)


DENSITY = (_density_check, "a density in (0, 1]")


def one_of(choices) -> tuple[Callable, str]:
    def check(v):
        if not isinstance(v, str) or v not in choices:
            raise _Bad
        return v

    return check, "one of " + ", ".join(map(str, choices))


def _bool_check(v):
    if not isinstance(v, bool):
        raise _Bad
    return v


BOOL = (_bool_check, "true or false")


def _name_check(v):
    if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", v):
        raise _Bad
    return v


NAME = (_name_check, "a name of letters, digits, '_', '.', '-' (at most 64 characters)")


def _code_check(v):
    if not isinstance(v, str) or len(v) != 6 or set(v) - {"0", "1"}:
        raise _Bad
    return v


CODE = (_code_check, f"a structure code of six quoted bits in the order {','.join(BLOCKS)}, e.g. '011001'")


def _text_check(v):
    if not isinstance(v, str) or not v.strip() or len(v) > 1000:
        raise _Bad
    return v.strip()


TASK_NAME = (_text_check, "a task name such as teacher(x=8,y=4,t=10) (see `hpsweep tasks`)")


def _run(rule, v):
    check, desc = rule
    try:
        return check(v)
    except _Bad as bad:
        raise fail(bad.rule or f"must be {desc}", v) from None


def one(rule, optional: bool = False) -> PlainValidator:
    """A validator for a scalar field under `rule`; `optional`: null is allowed."""
    return PlainValidator(lambda v: None if optional and v is None else _run(rule, v))


def many(rule, max_len: int = 10_000) -> PlainValidator:
    """A validator for a list field: a single value counts as a list of one; each item under `rule`."""

    def validate(v):
        items = list(v) if isinstance(v, (list, tuple)) else [v]
        if not items:
            raise fail("must list at least one value", v)
        if len(items) > max_len:
            raise fail(f"must list at most {max_len} values", f"{len(items)} values")
        out = []
        for i, item in enumerate(items):
            try:
                out.append(rule[0](item))
            except _Bad as bad:
                raise fail(
                    bad.rule or f"must be {rule[1]}", item, f"[{i}]" if isinstance(v, (list, tuple)) else ""
                ) from None
        return tuple(out)

    return PlainValidator(validate)


PosInt = Annotated[int, one(integer(1, 10**6))]
Seed = Annotated[int, one(integer(0, SEED_MAX, " (seeds must fit the RNG: 32 bits)"))]
Bool = Annotated[bool, one(BOOL)]
LR = number(0.0, True, 10.0)
