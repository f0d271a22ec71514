"""Option types shared by the commands."""

from __future__ import annotations

import click


class _Integer(click.IntRange):
    name = "integer"  # click then says "'abc' is not a valid integer", not "... a valid integer range"


def at_least(low: int) -> click.IntRange:
    """An int option of at least `low`; click's error names the option and the value it got."""
    return _Integer(min=low)


def results_argument(command):
    """The RESULTS argument of a read command: optional, defaulting to where `hpsweep run` writes
    (./hpsweep-results), so `hpsweep run` then `hpsweep status` needs no path."""
    from hpsweep.sweep.locations import DEFAULT_RESULTS

    return click.argument("results", default=DEFAULT_RESULTS, required=False)(command)
