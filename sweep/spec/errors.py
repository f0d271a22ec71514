"""pydantic's errors -> the one-line message every spec mistake gets:

    spec.yaml: tasks[1].densities.grid.hh[1] must be a density in (0, 1]; got 1.5

Only the first error is reported (a user fixes one line at a time), and a value is quoted in at
most ~100 characters, whatever its size.
"""

from __future__ import annotations

import reprlib
from typing import Any

from pydantic import ValidationError

from hpsweep.workers.errors import SpecError

_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxlevel = 100, 100, 8, 8, 6, 3
MAX_VALUE_CHARS = 100


def quote(value: Any) -> str:
    """repr(value) in at most ~100 characters (a huge value never reaches the message whole)."""
    text = _REPR.repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def field_path(loc: tuple, sub: str = "") -> str:
    """('tasks', 1, 'densities', 'grid', 'hh') + '[1]' -> tasks[1].densities.grid.hh[1]."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc) + sub
    return text.lstrip(".")


def one_line(source: str, error: ValidationError) -> SpecError:
    """The first validation error as the one-line SpecError."""
    e = error.errors(include_url=False)[0]
    ctx = e.get("ctx") or {}
    if e["type"] == "hpsweep":
        rule, value, sub = ctx["rule"], ctx["value"], ctx["sub"]
    elif e["type"] == "missing":
        rule, value, sub = "is required", ..., ""
    else:  # a pydantic rule we did not write ourselves: keep its words
        rule, value, sub = f"is invalid: {e['msg']}", e.get("input", ...), ""
    got = "" if value is ... else f"; got {quote(value)}"
    return SpecError(f"{source}: {field_path(e['loc'], sub) or 'the spec'} {rule}{got}")
