"""Does a halving sweep teach the meta-models what the full sweep teaches them?

    python -m research.halving_tau FULL_RESULTS HALVING_RESULTS

The same spec run twice, once training every model to the end (FULL) and once under in-pack halving
(HALVING). Every meta-model is fitted leave-one-task-out on each sweep's meta-dataset, and both
sets of held-out predictions are scored against the FULL sweep's scores (the truth a user cares
about: how configs rank when trained). Prints, per meta-model, the held-out Kendall tau from
HALVING and from FULL, and their difference; the model `analyze` would choose on each is marked
(on HALVING that is the best against HALVING's own targets, as `analyze` sees them: choosing by
the FULL scores would pick with the answer in hand).
The last line is the chosen models' difference with a bootstrap 90% interval over tasks, paired
(each task's tau from HALVING minus its tau from FULL), so that the 0.05 bar can be read against
the noise of a 30-task mean.
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from hpsweep.analysis import metatable
from hpsweep.analysis.analyze import choose_model
from hpsweep.analysis.evaluate import bootstrap_interval, held_out, loto_folds, per_task, summarise, unit_metrics
from hpsweep.analysis.features import GROUP, with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metamodels import all_models, model_named

KEYS = [GROUP, metatable.UNIT, metatable.CONFIG]


def meta_table(root: str) -> pl.DataFrame:
    return metatable.build(collect(with_features(scan_trials(root, statuses=("ok", "stopped"))), root))


def held_out_taus(train: pl.DataFrame, truth: pl.DataFrame, seed: int = 0) -> dict[str, dict]:
    """{model key: {"loto": summary, "tasks": {task: tau}}}: each model fitted on `train`'s other
    tasks, scored on `truth` (near-chance tasks left out of both)."""
    info = metatable.unit_info(truth)
    excluded = metatable.near_chance_tasks(info)
    folds = loto_folds(sorted(train[GROUP].unique().to_list()))
    out = {}
    for model in all_models(seed):
        pred, _ = held_out(lambda m=model: model_named(m.key, seed), train, folds)
        aligned = (
            truth.select(KEYS)
            .join(train.select(KEYS).with_columns(_pred=pl.Series(pred)), on=KEYS, how="left")["_pred"]
            .to_numpy()
        )
        keep = np.isfinite(aligned)
        tasks = per_task(unit_metrics(truth.filter(keep), aligned[keep], info))
        kept = tasks.filter(~pl.col("task").is_in(sorted(excluded)))
        out[model.key] = {"loto": summarise(tasks, excluded), "tasks": dict(zip(kept["task"], kept["kendall"]))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("full")
    ap.add_argument("halving")
    args = ap.parse_args()
    full = meta_table(args.full)
    taus = {
        name: held_out_taus(meta_table(root), full) for name, root in (("halving", args.halving), ("full", args.full))
    }  # both scored against the FULL sweep
    halving = meta_table(args.halving)
    chosen = {"halving": choose_model(held_out_taus(halving, halving)), "full": choose_model(taus["full"])}
    print("| meta-model | tau from halving | tau from full | difference |\n|---|---|---|---|")
    for key in taus["full"]:
        h, f = (taus[n][key]["loto"]["kendall"]["mean"] for n in ("halving", "full"))
        marks = "".join(f" ({n}'s choice)" for n in ("halving", "full") if chosen[n] == key)
        print(f"| {key}{marks} | {h:.3f} | {f:.3f} | {h - f:+.3f} |")
    h = taus["halving"][chosen["halving"]]["loto"]["kendall"]["mean"]
    f = taus["full"][chosen["full"]]["loto"]["kendall"]["mean"]
    per_h, per_f = taus["halving"][chosen["halving"]]["tasks"], taus["full"][chosen["full"]]["tasks"]
    paired = np.array([per_h[t] - per_f[t] for t in sorted(per_h.keys() & per_f.keys())], dtype=float)
    lo, hi = bootstrap_interval(paired)
    print(
        f"\nthe chosen model's held-out tau: {h:.3f} from halving, {f:.3f} from full "
        f"({h - f:+.3f}, 90% interval over {len(paired)} tasks paired: [{lo:+.3f}, {hi:+.3f}])"
    )


if __name__ == "__main__":
    main()
