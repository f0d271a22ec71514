"""Option types shared by the commands."""

from __future__ import annotations

import click


class _Integer(click.IntRange):
    name = "integer"  # click then says "'abc' is not a valid integer", not "... a valid integer range"


def at_least(low: int) -> click.IntRange:
    """An int option of at least `low`; click's error names the option and the value it got."""
    return _Integer(min=low)
