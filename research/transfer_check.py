"""What analyze learned from one sweep, checked on the tasks of another in the same results.

    python -m research.transfer_check RESULTS --learn meta-wide --check meta-wide-scale-t2

`hpsweep analyze` estimates everything leave one task out, and chooses its meta-model and the
verdict's settings on those same estimates. Tasks of the same design that were swept later and
used for nothing are a cleaner test: here the analysis of the `--learn` sweep (its chosen model
and its gain model, as `analyze` saves them) predicts the groups of the `--check` sweep's tasks
that `--learn` does not hold (so `meta-wide --scale tasks=2`, a sweep of its own that repeats the
32 tasks, checks on the 30 it adds), and the script prints what the leave-one-task-out numbers promised beside what the new tasks gave:

- the chosen meta-model's Kendall tau, top-pick regret and best of the top five (near-chance
  tasks left out, as analyze does), with bootstrap 90% intervals over the new tasks;
- the verdict against dense: the share of each new task's groups whose realised gain fell inside
  the interval (mean over tasks), the mean width, and its claims, each right or wrong as
  dense_gain.claim_right says.
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from hpsweep.analysis import metatable
from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.dense_gain import claim, claim_right, dense_verdict, group_gains
from hpsweep.analysis.evaluate import per_task, summarise, unit_metrics
from hpsweep.analysis.features import GROUP


def check(root: str, learn: str, check_sweep: str) -> dict:
    learned = analyze(root, AnalysisOptions(sweeps=(learn,), curve=False), with_ranking=False)
    new = analyze(root, AnalysisOptions(sweeps=(check_sweep,), curve=False), with_ranking=False)
    fresh = sorted(set(new.tasks) - set(learned.tasks))
    if not fresh:
        raise SystemExit(f"every task of {check_sweep} is also in {learn}: nothing new to check on")
    table = new.table.filter(pl.col(GROUP).is_in(fresh))
    pred = learned.fitted[learned.chosen].predict(table)
    info = metatable.unit_info(table)
    excluded = metatable.near_chance_tasks(info)
    ranking = summarise(per_task(unit_metrics(table, pred, info)), excluded)

    noise = dict(zip(info["unit"], info["seed_noise"]))
    bundle = {"gain": learned.gain, "swept": {}}
    covered, widths = {}, []
    claims = {"pays": [0, 0], "dense": [0, 0], "unclear": [0, 0]}
    for row in group_gains(table, pred).iter_rows(named=True):
        v = dense_verdict(bundle, row, row["pick"], None)
        covered.setdefault(row[GROUP], []).append(v["low"] <= row["gain"] <= v["high"])
        widths.append(v["high"] - v["low"])
        kind = claim(v["low"], v["high"])
        claims[kind][0] += 1
        claims[kind][1] += bool(claim_right(kind, row["gain"], noise[row["unit"]]))
    return {
        "model": learned.chosen,
        "promised": learned.models[learned.chosen]["loto"],
        "promised_gain": {k: learned.gain.get(k) for k in ("coverage", "mean_width", "claims")},
        "tasks": (len(learned.tasks), len(fresh)),
        "found": ranking,
        "found_gain": {
            "coverage": float(np.mean([np.mean(v) for v in covered.values()])),
            "mean_width": float(np.mean(widths)),
            "claims": claims,
            "n_groups": len(widths),
        },
    }


def _metric(summary: dict, name: str) -> str:
    m = summary.get(name)
    return "n/a" if not m else f"{m['mean']:.3f} [{m['ci90'][0]:.3f}, {m['ci90'][1]:.3f}]"


def _claims(c: dict) -> str:
    return f"dense {c['dense'][0]} ({c['dense'][1]} right), pays {c['pays'][0]} ({c['pays'][1]} right)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results")
    parser.add_argument("--learn", required=True, help="The sweep id analyze learns from.")
    parser.add_argument("--check", required=True, help="The sweep id whose tasks it is checked on.")
    args = parser.parse_args(argv)
    out = check(args.results, args.learn, args.check)
    n_learn, n_check = out["tasks"]
    print(f"{out['model']} learned from {n_learn} tasks of {args.learn}")
    print(f"checked on the {n_check} tasks of {args.check} it did not learn from")
    print(f"{'':22s}{'leave one task out':>28s}{'the new tasks':>28s}")
    for name in ("kendall", "regret1", "regret5"):
        print(f"{name:22s}{_metric(out['promised'], name):>28s}{_metric(out['found'], name):>28s}")
    p, f = out["promised_gain"], out["found_gain"]
    print(f"{'verdict coverage':22s}{p['coverage']:>28.3f}{f['coverage']:>28.3f}")
    print(f"{'verdict mean width':22s}{p['mean_width']:>28.3f}{f['mean_width']:>28.3f}")
    print(f"claims, leave one task out: {_claims(p['claims'])}")
    print(f"claims, new tasks ({f['n_groups']} groups): {_claims(f['claims'])}")


if __name__ == "__main__":
    main()
