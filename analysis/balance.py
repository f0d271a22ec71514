"""Which balance metric explains performance best.

Each candidate of workers.descriptors.BALANCE_METRICS is added, alone, to the baseline
meta-model (dims, weights, training settings); its gain is the held-out R² of baseline+metric
minus that of the baseline, under the same leave-one-task-out folds. Reported overall (pooled
R² over all held-out rows, and the mean of within-task gains) and per task.

The target here is the config's standing within its task and budget (analysis.metatable), centred
within each task. A balance
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

from hpsweep.analysis.evaluate import held_out
from hpsweep.analysis.features import GROUP
from hpsweep.analysis.metamodels import balance_spec
from hpsweep.analysis.metatable import RELATIVE
from hpsweep.workers.descriptors import BALANCE_METRICS


def _centred(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = y.astype(float).copy()
    for g in np.unique(groups):
        mask = groups == g
        out[mask] -= out[mask].mean()
    return out


def _task_r2(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    return {
        str(g): float(r2_score(y[groups == g], pred[groups == g])) if (groups == g).sum() > 1 else float("nan")
        for g in np.unique(groups)
    }


def rank_balance_metrics(
    table: pl.DataFrame, folds: list[list[str]], *, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rank the balance candidates by held-out R² gain over the baseline, on the standing target.

    Returns:
        (ranking, per_task): ranking has one row per metric (metric, r2_gain, r2_gain_task_mean,
        tasks_best, rank), best first; per_task has (task, metric, r2_gain).
    """
    groups = table[GROUP].to_numpy()
    y = _centred(table[RELATIVE].to_numpy(), groups)

    def centred_pred(metric):
        pred, _ = held_out(lambda: balance_spec(metric), table, folds)
        return _centred(pred, groups)

    base = centred_pred(None)
    base_tasks, base_pooled = _task_r2(y, base, groups), r2_score(y, base)
    overall, per_task = [], []
    for metric in BALANCE_METRICS:
        pred = centred_pred(metric)
        gains = {t: r - base_tasks[t] for t, r in _task_r2(y, pred, groups).items()}
        per_task.append(pl.DataFrame({"task": list(gains), "metric": metric, "r2_gain": list(gains.values())}))
        overall.append(
            {
                "metric": metric,
                "r2_gain": float(r2_score(y, pred) - base_pooled),
                "r2_gain_task_mean": float(np.nanmean(list(gains.values()))),
            }
        )
    per_task_df = pl.concat(per_task)
    best_per_task = (
        per_task_df.sort("r2_gain", descending=True).group_by("task").first().group_by("metric").len(name="tasks_best")
    )
    ranking = (
        pl.DataFrame(overall)
        .join(best_per_task, on="metric", how="left")
        .with_columns(pl.col("tasks_best").fill_null(0))
        .sort("r2_gain", descending=True)
        .with_row_index("rank", offset=1)
    )
    return ranking, per_task_df
