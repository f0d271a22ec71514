"""Why a results root cannot be analysed, in one line: what it holds, what was filtered, what to do.

The meta-models are judged by holding one task out while learning from the others, so an analysis
needs a few tasks whose configs can be ranked. The line names the cause exactly: no scored trial,
tasks whose trials form no group of two configs or more, or too few tasks; it names the filters
only when some were given (relaxing filters nobody set is no advice).
"""

from __future__ import annotations

import polars as pl

from hpsweep.analysis.features import GROUP

DEFAULT_STATUSES = {"ok", "stopped"}
"""What the status filter keeps when none is given ("ok" keeps "stopped": analysis.load.scan_trials)."""


def given_filters(options) -> list[str]:
    """The filters of AnalysisOptions that narrow (or widen) the default reading, as `name=values`."""
    given = []
    if options.sweeps:
        given.append(f"sweep={','.join(options.sweeps)}")
    if options.tasks:
        given.append(f"task={','.join(options.tasks)}")
    if set(options.statuses) | {"stopped"} != DEFAULT_STATUSES:
        given.append(f"status={','.join(options.statuses)}")
    return given


def _names(tasks: list[str], most: int = 3) -> str:
    shown = ", ".join(tasks[:most])
    return shown if len(tasks) <= most else f"{shown} and {len(tasks) - most} more"


def _tasks(n: int) -> str:
    return f"{n} task" if n == 1 else f"{n} tasks"


def too_few_tasks(root, options, trials: pl.DataFrame, table: pl.DataFrame, min_tasks: int) -> str:
    """The one-line reason the scored `trials` (features.with_features) and their meta-table
    (metatable.build) cannot be analysed: fewer than `min_tasks` tasks in the table."""
    filters = given_filters(options)
    after = f" after filtering by {' '.join(filters)}" if filters else ""
    scored = sorted(trials[GROUP].unique().to_list()) if trials.height else []
    ranked = sorted(table[GROUP].unique().to_list()) if table.height else []
    where = f"the results under {str(root).rstrip('/')}"
    if not scored:
        scored_means = (
            "a finite test score" if any(f.startswith("status=") for f in filters) else "status ok, a finite test score"
        )
        held = f"{where} hold no scored trial ({scored_means}){after}"
        step = f"relax {options.filters_hint}" if filters else f"`hpsweep status {root}` shows what they hold"
        return f"{held}: nothing to analyse; {step}"
    held = f"{where} hold scored trials of {_tasks(len(scored))} ({_names(scored)}){after}"
    if len(ranked) < len(scored):
        unranked = [t for t in scored if t not in ranked]
        held += (
            f"; {_names(unranked)} {'has' if len(unranked) == 1 else 'have'} no group of 2+ configs to rank "
            f"(configs compete within a task at one budget, or at one |h| in a sweep given by |h|)"
        )
        if ranked:
            held += f", which leaves {_tasks(len(ranked))}"
    more = min_tasks - len(ranked)
    each = " with 2+ configs at each budget or |h|" if len(ranked) < len(scored) else ""
    step = (
        f"sweep more tasks or relax {options.filters_hint}"
        if filters
        else f"sweep at least {more} more task{'' if more == 1 else 's'}{each}"
    )
    return f"{held}; the meta-models need at least {min_tasks} tasks to hold one out: {step}"
