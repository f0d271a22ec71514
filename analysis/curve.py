"""The learning curve: held-out quality when the meta-models learn from 5, 10, 20, 40, ... tasks.

Tasks are split into CURVE_FOLDS folds (seeded); for each size n every fold's model learns from n
tasks drawn at random from the other folds (REPEATS draws) and predicts the fold. The per-task
metrics are averaged over the draws, then summarised over tasks like the main evaluation, so a
reader sees how many training tasks a given quality needs and whether it is still rising.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hpsweep.analysis.evaluate import held_out, per_task, unit_metrics
from hpsweep.analysis.features import GROUP

CURVE_FOLDS = 5
REPEATS = 2
SIZES = (5, 10, 20, 40, 80, 160, 320, 640)


def sizes_for(n_tasks: int) -> list[int]:
    """Training sizes that fit: every SIZES value below what the folds leave to learn from, and that most."""
    most = n_tasks - -(-n_tasks // CURVE_FOLDS)  # tasks outside the largest fold
    out = [s for s in SIZES if s < most]
    return out + [most] if most >= 3 else out


def learning_curve(
    table: pl.DataFrame, info: pl.DataFrame, make_models: dict, excluded: set[str], *, seed: int = 0
) -> pl.DataFrame:
    """One row per (model, n_train_tasks): mean Kendall tau and median top-pick regret over held-out
    tasks (near-chance ones excluded), with the number of tasks they average."""
    tasks = sorted(table[GROUP].unique().to_list())
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(tasks))
    folds = [[tasks[i] for i in order[k::CURVE_FOLDS]] for k in range(CURVE_FOLDS)]
    folds = [f for f in folds if f]
    rows = []
    for n in sizes_for(len(tasks)):
        for key, make in make_models.items():
            per_rep = []
            for rep in range(REPEATS):
                draw = np.random.default_rng([seed, n, rep])
                pick = lambda i, others: sorted(draw.choice(others, size=min(n, len(others)), replace=False).tolist())  # noqa: E731
                pred, _ = held_out(make, table, folds, train_tasks=pick)
                per_rep.append(per_task(unit_metrics(table, pred, info)))
            t = pl.concat(per_rep).group_by("task").agg(pl.col("kendall").mean(), pl.col("regret1").mean())
            t = t.filter(~pl.col("task").is_in(sorted(excluded)))
            rows.append(
                {
                    "model": key,
                    "n_train_tasks": n,
                    "kendall_mean": float(t["kendall"].mean()),
                    "regret1_median": float(t["regret1"].median()),
                    "n_tasks": t.height,
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "model": pl.Utf8,
            "n_train_tasks": pl.Int64,
            "kendall_mean": pl.Float64,
            "regret1_median": pl.Float64,
            "n_tasks": pl.Int64,
        },
    )
