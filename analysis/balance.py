"""Which balance metric explains performance best (issue 5, item 4).

Each candidate of workers.descriptors.BALANCE_METRICS is added, alone, to the baseline
meta-model (dims, weights, training settings); its gain is the held-out R² of baseline+metric
minus that of the baseline, under the same leave-one-task-out folds. Reported overall (pooled
R² over all held-out rows, and the mean of within-task gains) and per task.

The target here is the score centred within each task (score - the task's mean score). A balance
metric is a choice made inside a task; how easy a task is overall is the dims' business, and
with few tasks the error in that level would drown every metric's contribution. Centring
isolates what each metric explains about the choice, which is the question asked. The
held-out predictions are centred per task the same way (their own mean, no score involved), so
a model's error in a held-out task's level, which only the dims terms make, does not count.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.metrics import r2_score

from hpsweep.analysis.evaluate import held_out_predictions, per_task_metrics
from hpsweep.analysis.metamodels import balance_spec
from hpsweep.workers.descriptors import BALANCE_METRICS


def _centred(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = y.astype(float).copy()
    for g in np.unique(groups):
        mask = groups == g
        out[mask] -= out[mask].mean()
    return out


def rank_balance_metrics(X_of, y: np.ndarray, groups: np.ndarray, *,
                         max_fit_rows: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rank the balance candidates by held-out R² gain over the baseline.

    Args:
        X_of: callable mapping a feature tuple to the design matrix.
        y, groups: scores and task of each row.

    Returns:
        (ranking, per_task): ranking has one row per metric (metric, r2_gain, r2_gain_task_mean,
        tasks_best, rank), best first; per_task has (task, metric, r2_gain).
    """
    y = _centred(y, groups)
    baseline_pred = _centred(held_out_predictions(balance_spec(None), X_of(balance_spec(None).features), y, groups,
                                                  max_fit_rows=max_fit_rows, seed=seed), groups)
    base_tasks = per_task_metrics(y, baseline_pred, groups).select("task", pl.col("r2").alias("r2_base"))
    base_pooled = r2_score(y, baseline_pred)
    overall, per_task = [], []
    for metric in BALANCE_METRICS:
        spec = balance_spec(metric)
        pred = _centred(held_out_predictions(spec, X_of(spec.features), y, groups, max_fit_rows=max_fit_rows,
                                             seed=seed), groups)
        tasks = (per_task_metrics(y, pred, groups).join(base_tasks, on="task")
                 .select("task", pl.lit(metric).alias("metric"), (pl.col("r2") - pl.col("r2_base")).alias("r2_gain")))
        per_task.append(tasks)
        overall.append({"metric": metric, "r2_gain": float(r2_score(y, pred) - base_pooled),
                        "r2_gain_task_mean": float(tasks["r2_gain"].mean())})
    per_task_df = pl.concat(per_task)
    best_per_task = (per_task_df.sort("r2_gain", descending=True).group_by("task").first()
                     .group_by("metric").len(name="tasks_best"))
    ranking = (
        pl.DataFrame(overall)
        .join(best_per_task, on="metric", how="left")
        .with_columns(pl.col("tasks_best").fill_null(0))
        .sort("r2_gain", descending=True)
        .with_row_index("rank", offset=1)
    )
    return ranking, per_task_df
