"""Task parameters as data: one `Param` row per parameter, one message shape for every mistake.

Like scikit-learn's parameter validation: each family lists its parameters with type, default
and range; `resolve` turns the raw strings of a name like `teacher(x=64,t=20)` into values,
and `canonical` writes the non-default ones back in table order, so equal tasks get equal names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpsweep.workers.errors import TaskError

_KIND_WORDS = {int: "an int", float: "a number", bool: "a bool (true/false)", str: "a string"}


@dataclass(frozen=True)
class Scaling:
    """How a parameter follows `hpsweep run --scale` (sweep/scale.py): the family declares it.

    The scaled value is value x factor**power of the named quantity, rounded for int parameters;
    `floor` keeps small values from vanishing (data: at least min(value, floor)); `clamp` keeps
    the result inside the parameter's range instead of failing validation.
    """

    quantity: str  # the --scale quantity: "data" (sequences, episodes) or "input" (|x|)
    power: float = 1.0  # rad's side scales by sqrt(f) because |x| = side^2
    floor: int | None = None  # smallest result: min(value, floor); None: the parameter's low (or 1)
    clamp: bool = False  # stay inside [low, high] rather than fail

    def apply(self, param: Param, value, factor: float):
        raw = value * factor**self.power
        if param.kind is int:
            raw = math.floor(raw + 0.5)
        low = min(value, self.floor) if self.floor is not None else (param.low if param.low is not None else 1)
        raw = max(low, raw)
        if self.clamp and param.high is not None:
            raw = min(param.high, raw)
        return param.kind(raw)


DATA = Scaling("data", floor=10)
"""Sequences per split (and, for data sets, episodes): `--scale data=F`; never below min(n, 10)."""
INPUT = Scaling("input", clamp=True)
"""|x| itself: `--scale input=F`, kept inside the family's range."""


@dataclass(frozen=True)
class Param:
    """One task parameter: its name, type, default, allowed range or choices, and meaning."""

    name: str
    kind: type
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    scaling: Scaling | None = None  # how `--scale` changes it; None: never

    def rule(self) -> str:
        if self.choices is not None:
            return f"one of {', '.join(map(str, self.choices))}"
        text = _KIND_WORDS[self.kind]
        if self.low is not None and self.high is not None:
            text += f" in [{format_value(self.low)}, {format_value(self.high)}]"
        elif self.low is not None:
            text += f" >= {format_value(self.low)}"
        return text

    def convert(self, family: str, raw: Any) -> Any:
        """A raw value (string from a name, or a Python value from a spec) -> checked value."""
        value = _coerce(self.kind, raw)
        ok = value is not None
        if ok and self.choices is not None:
            ok = value in self.choices
        if ok and self.kind in (int, float):
            ok = (
                math.isfinite(value)
                and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high)
            )
        if not ok:
            raise TaskError(f"task {family}: parameter '{self.name}' must be {self.rule()}; got {raw!r}")
        return value


def split_sizes(train_meaning: str = "training sequences") -> tuple[Param, Param, Param]:
    """The n_train / n_val / n_test parameters every generated family takes."""
    return (
        Param("n_train", int, 1000, train_meaning, 1, 10**7, scaling=DATA),
        Param("n_val", int, 250, "validation sequences", 1, 10**7, scaling=DATA),
        Param("n_test", int, 250, "test sequences", 1, 10**7, scaling=DATA),
    )


MAX_TASK_VALUES = 2**31
"""The most numbers one task's tensors may hold (8 GiB as float32). Each size parameter has its own
range, but their product does not: n_train=10**7 with t=10**4 passes both ranges and asks for 10**11
numbers per input dimension. paper-rad, the largest shipped task, holds about 0.9 * 10**9."""


def check_size(family: str, *terms: tuple[str, str, int]) -> None:
    """Refuse a task whose tensors would hold more than MAX_TASK_VALUES numbers.

    Args:
        terms: (formula in the family's parameter names, the parameters to lower, numbers it holds),
            one per tensor or group of tensors; each is checked alone.
    """
    for formula, names, count in terms:
        if count > MAX_TASK_VALUES:
            raise TaskError(
                f"task {family}: {formula} = {count:,} numbers, over the limit of {MAX_TASK_VALUES:,} "
                f"(8 GiB as float32) for one task's data; lower {names}"
            )


def split_total(params: dict) -> int:
    """Sequences over the three splits."""
    return params["n_train"] + params["n_val"] + params["n_test"]


SPLITS_FORMULA = "(n_train+n_val+n_test)"


def _coerce(kind: type, raw: Any):
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        return {"true": True, "false": False, "1": True, "0": False}.get(str(raw).strip().lower())
    if kind is str:
        text = str(raw).strip()
        return text or None
    if isinstance(raw, bool):
        return None
    try:
        if kind is int:
            number = float(raw)
            return int(number) if number.is_integer() else None
        return float(raw)
    except (TypeError, ValueError):
        return None


def format_value(value: Any) -> str:
    """Shortest text that reads back as the same value: 8 -> '8', 0.05 -> '0.05', 2.0 -> '2'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def parse_args(family: str, text: str) -> dict[str, str]:
    """'x=64, t=20' -> {'x': '64', 't': '20'}; a malformed item is a TaskError."""
    out: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise TaskError(f"task {family}: parameters are written key=value separated by commas; got {item!r}")
        if key in out:
            raise TaskError(f"task {family}: parameter '{key}' is given twice")
        out[key] = value
    return out


def resolve(family: str, table: tuple[Param, ...], given: dict[str, Any]) -> dict[str, Any]:
    """Check every given parameter against the table and fill in the defaults."""
    by_name = {p.name: p for p in table}
    for key in given:
        if key not in by_name:
            valid = ", ".join(by_name) or "none"
            raise TaskError(f"task {family} has no parameter '{key}'; valid parameters: {valid}")
    return {p.name: (p.convert(family, given[p.name]) if p.name in given else p.default) for p in table}


def canonical(head: str, table: tuple[Param, ...], values: dict[str, Any]) -> str:
    """`head(k=v,...)` with the non-default parameters in table order; just `head` if none."""
    parts = [f"{p.name}={format_value(values[p.name])}" for p in table if values[p.name] != p.default]
    return f"{head}({','.join(parts)})" if parts else head


def scale_params(table: tuple[Param, ...], values: dict[str, Any], factors) -> dict[str, Any]:
    """Every parameter with a Scaling multiplied by its quantity's factor (`factors.data`, ...)."""
    out = dict(values)
    for p in table:
        if p.scaling is not None and p.name in out:
            out[p.name] = p.scaling.apply(p, out[p.name], getattr(factors, p.scaling.quantity))
    return out


def parse_split(family: str, text: str) -> tuple[float, float, float]:
    """'90/5/5' -> fractions (0.9, 0.05, 0.05); every part positive."""
    try:
        parts = [float(p) for p in str(text).split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or not all(math.isfinite(p) and p > 0 for p in parts):
        raise TaskError(
            f"task {family}: parameter 'split' must be three positive numbers train/val/test like 90/5/5; got {text!r}"
        )
    total = sum(parts)
    return tuple(p / total for p in parts)


def split_counts(family: str, n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Whole sequences per split; val and test get at least one each, train the rest."""
    n_val = max(1, round(n * fractions[1]))
    n_test = max(1, round(n * fractions[2]))
    n_train = n - n_val - n_test
    if n_train < 1:
        raise TaskError(f"task {family}: {n} sequences are too few to split into train/val/test; need at least 3")
    return n_train, n_val, n_test
