"""recommend's whole procedure judged on tasks it never saw: model choice included.

    python -m research.nested_selection META_RESULTS [--json OUT.json]

`hpsweep analyze` reports every meta-model leave-one-task-out and recommend then uses the one with
the best held-out tau. The chosen model's figure is therefore the best of seven on the same folds:
a little optimistic. Here the choice itself is held out. For each task T in turn, the seven models
are compared leave-one-task-out on the other tasks alone, the winner is fitted on them and ranks
T's configs; the metrics of T are kept. Their mean over tasks (near-chance tasks left out, as
analyze does) with bootstrap 90% intervals is what a user of recommend can expect on a new task
drawn like these, beside always-dense on the same tasks. About 30 x 7 x 29 fits: 333 s on 2 cores
for the `meta` results (quadratic in the number of tasks).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import polars as pl
from threadpoolctl import threadpool_limits

from hpsweep.analysis import metatable
from hpsweep.analysis.analyze import choose_model
from hpsweep.analysis.evaluate import held_out, loto_folds, per_task, summarise, unit_metrics
from hpsweep.analysis.features import GROUP, with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metamodels import all_models, model_named

SEED = 0


def chosen_on(table: pl.DataFrame, info: pl.DataFrame, tasks: list[str], excluded: set[str]) -> str:
    """The model analyze would choose from these tasks alone (best mean leave-one-task-out tau)."""
    inner = table.filter(pl.col(GROUP).is_in(tasks))
    models = {}
    for model in all_models(SEED):
        pred, _ = held_out(lambda k=model.key: model_named(k, SEED), inner, loto_folds(tasks))
        models[model.key] = {"loto": summarise(per_task(unit_metrics(inner, pred, info)), excluded & set(tasks))}
    return choose_model(models)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--json", help="Also write the per-task rows and the summary here.")
    args = ap.parse_args()
    start = time.time()
    table = metatable.build(collect(with_features(scan_trials(args.results)), args.results))
    info = metatable.unit_info(table)
    excluded = metatable.near_chance_tasks(info)
    tasks = sorted(table[GROUP].unique().to_list())
    rows, picks = [], Counter()
    with threadpool_limits(limits=1):
        for i, task in enumerate(tasks, 1):
            others = [t for t in tasks if t != task]
            key = chosen_on(table, info, others, excluded)
            picks[key] += 1
            held = table.filter(pl.col(GROUP) == task)
            model = model_named(key, SEED).fit(table.filter(pl.col(GROUP).is_in(others)))
            metrics = per_task(unit_metrics(held, model.predict(held), info))
            rows.append(metrics.with_columns(chosen=pl.lit(key)))
            print(
                f"[{i}/{len(tasks)}] {task[:60]}: {key}, tau {metrics['kendall'][0]:.2f}, "
                f"regret {metrics['regret1'][0]:.3f}  ({time.time() - start:.0f} s)",
                file=sys.stderr,
            )
    nested = pl.concat(rows)
    summary = summarise(nested, excluded, SEED)
    dense = summarise(per_task(unit_metrics(table, "always-dense", info)), excluded, SEED)
    print(
        f"{len(tasks)} tasks, {len(excluded)} near-chance left out; models chosen: "
        + ", ".join(f"{k} x{n}" for k, n in picks.most_common())
    )
    print("| | tau (90% CI) | top-pick regret: median, mean (90% CI) | pick >= dense |")
    print("|---|---|---|---|")
    for name, s in (("recommend's procedure, choice held out", summary), ("always dense", dense)):
        tau = s.get("kendall")
        tau_cell = f"{tau['mean']:.2f} ({tau['ci90'][0]:.2f}..{tau['ci90'][1]:.2f})" if tau else "-"
        r = s["regret1"]
        print(
            f"| {name} | {tau_cell} | {r['median']:.3f}, {r['mean']:.3f} ({r['ci90'][0]:.3f}..{r['ci90'][1]:.3f}) "
            f"| {s['ge_dense']['mean']:.0%} |"
        )
    print(f"({time.time() - start:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"summary": summary, "always_dense": dense, "chosen": dict(picks), "per_task": nested.to_dicts()},
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
