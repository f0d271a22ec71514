"""Leave-one-task-out evaluation of a meta-model (issue 5, item 3).

Every task is held out in turn; the model is fit on the other tasks and predicts the held-out
one. Within each held-out task we report R², Spearman ρ, Kendall τ between predicted and actual
scores, and regret: the task's best actual score minus the actual score of the model's top pick.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
from scipy.stats import ConstantInputWarning, kendalltau, spearmanr
from sklearn.metrics import r2_score
from sklearn.model_selection import LeaveOneGroupOut

from hpsweep.analysis.metamodels import MetaModelSpec


def held_out_predictions(spec: MetaModelSpec, X: np.ndarray, y: np.ndarray, groups: np.ndarray, *,
                         max_fit_rows: int = 20_000, seed: int = 0) -> np.ndarray:
    """Leave-one-task-out predictions for every row.

    Each fold fits on at most max_fit_rows of the other tasks' rows (drawn at random, seeded),
    which bounds the cost of a fold whatever the size of the results.
    """
    rng = np.random.default_rng(seed)
    pred = np.empty_like(y)
    for train, test in LeaveOneGroupOut().split(X, y, groups):
        if len(train) > max_fit_rows:
            train = rng.choice(train, max_fit_rows, replace=False)
        model = spec.build(random_state=seed).fit(X[train], y[train])
        pred[test] = model.predict(X[test])
    return pred


def _rank_corr(fn, a, b) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        value = fn(a, b)[0]
    return float(value) if np.isfinite(value) else 0.0


def per_task_metrics(y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> pl.DataFrame:
    """One row per task: n, r2, spearman, kendall, regret, best (actual), picked (actual)."""
    rows = []
    for task in np.unique(groups):
        mask = groups == task
        yt, pt = y[mask], pred[mask]
        picked = float(yt[np.argmax(pt)])
        rows.append({
            "task": str(task), "n": int(mask.sum()),
            "r2": float(r2_score(yt, pt)) if mask.sum() > 1 else float("nan"),
            "spearman": _rank_corr(spearmanr, yt, pt),
            "kendall": _rank_corr(kendalltau, yt, pt),
            "regret": float(yt.max()) - picked,
            "best": float(yt.max()), "picked": picked,
        })
    return pl.DataFrame(rows)


def summary(y: np.ndarray, pred: np.ndarray, per_task: pl.DataFrame) -> dict[str, float]:
    """Pooled held-out R² and the per-task metrics averaged over tasks."""
    return {
        "r2_pooled": float(r2_score(y, pred)),
        "r2_task_mean": float(per_task["r2"].mean()),
        "spearman_mean": float(per_task["spearman"].mean()),
        "kendall_mean": float(per_task["kendall"].mean()),
        "regret_mean": float(per_task["regret"].mean()),
        "regret_max": float(per_task["regret"].max()),
    }


def residual_band(y: np.ndarray, pred: np.ndarray, low: float = 0.05, high: float = 0.95) -> tuple[float, float]:
    """5% / 95% quantiles of held-out-task residuals (actual - predicted).

    Added to a prediction they give the uncertainty band recommend shows: how far off the
    model has been on tasks it never saw, which is the situation of a new data set.
    """
    r = y - pred
    return float(np.quantile(r, low)), float(np.quantile(r, high))
