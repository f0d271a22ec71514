"""The verdict against dense: how much the meta-model's top sparse pick is expected to beat the dense
model at the same budget, in the score's own units, with a held-out-calibrated 90% interval.

Data: the chosen meta-model's leave-one-task-out predictions. In every group (task x budget) that
holds the dense config, the pick is the config the model (not fitted on that task) placed first
among the non-dense ones, and the realised gain is score(pick) - score(dense): seed-mean test
scores, so what a user who trusted the model there would have gained over building dense.

Gain model: a ridge regression of the gain on (ln|x|, ln|y|, ln budget, ln n_train, ln sequence
length, whether the task is a classification), standardised over the groups, its penalty chosen
leave one task out (PENALTIES). Deterministic, readable, and fit for tens of groups, where a boosted
model has nothing to split on. Held out (mean absolute error, leave one task out) it beat the mean
gain of the 5 nearest groups and the overall mean gain: 0.033 vs 0.042 and 0.042 on a 10-task
synthetic sweep, 0.017 vs 0.032 and 0.157 on a set whose gain is linear in ln|x|, 0.055 vs 0.063
for the mean on meta-wide. A request's features are clipped to the groups' range first: the gain at
the nearest swept point, never a straight line extended past the data (recommend answers up to 2x
beyond it).

Interval: leave-one-task-out conformal. For each task, the gain model fitted without it predicts
its groups (residual = realised - predicted). A held-out task's interval is its prediction plus the
finite-sample 5% and 95% quantiles of the OTHER tasks' residuals; its coverage is the share of its
groups whose realised gain falls inside, and `coverage` is the mean over tasks. `claims` counts what
the sentence would have said on each held-out group and whether the realised gain bore it out.
recommend uses the model fitted on every group plus the quantiles of every task's residual.
A band scaled by a model of |residual| was tried (docs/analysis.md, "The verdict against dense"):
more claims, but its "sparsity pays" was wrong on most groups once the picks knew the task kind.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from hpsweep.analysis.features import CLASSIFICATION, GROUP
from hpsweep.analysis.metatable import ABSOLUTE, CONFIG, UNIT

DENSE = ",".join(["1.0"] * 6)
GAIN_FEATURES = ("log_input_dim", "log_output_dim", "log_budget", "log_n_train", "log_seq_len", CLASSIFICATION)
RIDGE_ALPHA = 1.0
"""The penalty when there are too few tasks to choose one."""
PENALTIES = (1.0, 10.0, 100.0, 1000.0)
"""The penalties fit_ridge chooses among, leave one task out. A fixed 1 let the gain model chase the
few input-heavy RAD groups of meta-wide (before the task kind was a feature it erred more than the
plain mean gain held out, 0.061 vs 0.050); a sweep whose gain follows the dims keeps 1."""
LEVEL = 0.90
MIN_GAIN_TASKS = 3
"""Fewer tasks with a dense model than this: no gain model (nothing to hold out and learn from)."""
WIDE = 0.2
"""An interval spanning zero and wider than this (score units) is no evidence for dense either: the
verdict says it has no clear answer instead of "build dense"."""


def group_gains(table: pl.DataFrame, pred: np.ndarray) -> pl.DataFrame:
    """One row per group holding the dense config: task, unit, GAIN_FEATURES, pick (the config the
    held-out predictions placed first among the non-dense ones) and gain = score(pick) - score(dense)."""
    frame = table.select(GROUP, UNIT, CONFIG, ABSOLUTE, *GAIN_FEATURES).with_columns(
        _p=pl.Series(pred, dtype=pl.Float64)
    )
    dense = frame.filter(pl.col(CONFIG) == DENSE).select(UNIT, pl.col(ABSOLUTE).alias("_dense"))
    picks = (
        frame.filter((pl.col(CONFIG) != DENSE) & pl.col("_p").is_finite())
        .sort([UNIT, "_p", CONFIG], descending=[False, True, False])
        .group_by(UNIT, maintain_order=True)
        .first()
    )
    return (
        picks.join(dense, on=UNIT)
        .select(
            GROUP,
            UNIT,
            *GAIN_FEATURES,
            pl.col(CONFIG).alias("pick"),
            (pl.col(ABSOLUTE) - pl.col("_dense")).alias("gain"),
        )
        .sort(GROUP, UNIT)
    )


def fit_ridge(X: np.ndarray, y: np.ndarray, tasks: np.ndarray | None = None) -> dict:
    """A ridge regression on standardised features, as plain numbers (saved in the bundle): scaling,
    coefficients, intercept, feature range and the penalty. With `tasks` (each row's task), the
    penalty is the one of PENALTIES with the lowest leave-one-task-out mean absolute error."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    alpha = RIDGE_ALPHA if tasks is None else _held_out_penalty(X, y, np.asarray(tasks))
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0  # a constant feature: no scaling (its coefficient is 0)
    coef, intercept = _solve(X, y, alpha, mean, std)
    return {
        "mean": mean.tolist(),
        "scale": std.tolist(),
        "coef": coef.tolist(),
        "intercept": intercept,
        "min": X.min(axis=0).tolist(),
        "max": X.max(axis=0).tolist(),
        "alpha": alpha,
    }


def _solve(X, y, alpha, mean=None, std=None) -> tuple[np.ndarray, float]:
    """Ridge with an unpenalised intercept on X standardised by (mean, std) (default: X's own)."""
    if mean is None:
        mean, std = X.mean(axis=0), X.std(axis=0)
        std[std == 0] = 1.0
    Z = (X - mean) / std
    zc, yc = Z - Z.mean(axis=0), y - y.mean()
    coef = np.linalg.solve(zc.T @ zc + alpha * np.eye(X.shape[1]), zc.T @ yc)
    return coef, float(y.mean() - Z.mean(axis=0) @ coef)


def _held_out_penalty(X: np.ndarray, y: np.ndarray, tasks: np.ndarray) -> float:
    """The penalty whose fits, each without one task, predict that task's rows best (mean absolute
    error; ties go to the larger penalty). Fewer than 3 tasks: RIDGE_ALPHA."""
    names = np.unique(tasks)
    if len(names) < 3:
        return RIDGE_ALPHA
    errors = []
    for alpha in PENALTIES:
        err = np.empty(len(y))
        for t in names:
            mine = tasks == t
            mean, std = X[~mine].mean(axis=0), X[~mine].std(axis=0)
            std[std == 0] = 1.0
            coef, intercept = _solve(X[~mine], y[~mine], alpha, mean, std)
            err[mine] = y[mine] - (np.clip(X[mine], X[~mine].min(0), X[~mine].max(0)) - mean) / std @ coef - intercept
        errors.append(float(np.mean(np.abs(err))))
    best = min(errors)
    return max(a for a, e in zip(PENALTIES, errors) if e <= best + 1e-12)


def predict_ridge(model: dict, X: np.ndarray) -> np.ndarray:
    """The predicted gain of each row of X, its features clipped to the range the model was fitted on."""
    X = np.clip(np.atleast_2d(np.asarray(X, float)), model["min"], model["max"])
    Z = (X - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return Z @ np.asarray(model["coef"]) + model["intercept"]


def claim(low: float, high: float) -> str:
    """What the sentence claims of an interval: `pays` (above zero), `dense` (below zero, or narrow
    around it) or `unclear` (wide around zero)."""
    return "pays" if low > 0 else "dense" if high < 0 or high - low <= WIDE else "unclear"


def claim_right(kind: str, gain: float, noise: float) -> bool | None:
    """Did the realised gain bear the claim out: sparsity paid beyond the seed noise where it said so,
    and did not where it said build dense; None for no claim."""
    if kind == "unclear":
        return None
    return bool(gain > noise) if kind == "pays" else bool(gain <= noise)


def conformal_band(residuals: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Finite-sample split-conformal quantiles of residuals: the ceil((n+1)(1-a/2))-th smallest and its mirror
    (a = 1 - level); with too few residuals for that rank, the largest and smallest."""
    r = np.sort(np.asarray(residuals, float))
    n = len(r)
    rank = math.ceil((n + 1) * (1 - (1 - level) / 2))  # 1-based
    rank = min(rank, n)
    return float(r[n - rank]), float(r[rank - 1])


def fit_dense_gain(table: pl.DataFrame, pred: np.ndarray, noise: dict[str, float] | None = None) -> dict:
    """The saved gain model and its held-out calibration (module doc); {"reason": ...} when none can be fitted.
    noise: each group's seed noise (metatable.unit_info), against which `claims` counts a held-out claim
    right or wrong ({unit: 0} without it)."""
    groups = group_gains(table, pred)
    tasks = sorted(set(groups[GROUP].to_list()))
    if len(tasks) < MIN_GAIN_TASKS:
        reason = (
            "the results hold no dense model to compare with"
            if groups.is_empty()
            else f"only {len(tasks)} task(s) hold the dense model; the verdict needs {MIN_GAIN_TASKS}"
        )
        return {"reason": reason}
    X, y = groups.select(GAIN_FEATURES).to_numpy().astype(float), groups["gain"].to_numpy()
    task_of = np.asarray(groups[GROUP].to_list())
    held_pred = np.empty(len(y))
    for t in tasks:
        mine = task_of == t
        held_pred[mine] = predict_ridge(fit_ridge(X[~mine], y[~mine], task_of[~mine]), X[mine])
    residual = y - held_pred
    mean_only = np.array([y[task_of != t].mean() for t in task_of])  # the held-out mean gain, for comparison
    covered, widths = [], []
    claims = {"pays": [0, 0], "dense": [0, 0], "unclear": [0, 0]}  # [said, right]
    for t in tasks:
        mine = task_of == t
        lo, hi = conformal_band(residual[~mine])
        low, high = held_pred[mine] + lo, held_pred[mine] + hi
        covered.append(float(np.mean((y[mine] >= low) & (y[mine] <= high))))
        widths.extend(high - low)
        for a, b, g, unit in zip(low, high, y[mine], groups.filter(pl.Series(mine))[UNIT]):
            kind = claim(a, b)
            claims[kind][0] += 1
            claims[kind][1] += bool(claim_right(kind, g, (noise or {}).get(unit, 0.0)))
    lo, hi = conformal_band(residual)
    return {
        "model": fit_ridge(X, y, task_of),
        "residual": [lo, hi],
        "level": LEVEL,
        "coverage": float(np.mean(covered)),
        "n_tasks": len(tasks),
        "n_groups": len(y),
        "mean_width": float(np.mean(widths)),
        "claims": claims,
        "mae": float(np.mean(np.abs(residual))),
        "mae_mean_only": float(np.mean(np.abs(y - mean_only))),
        "mean_gain": float(y.mean()),
    }


def summary(gain: dict) -> dict:
    """What the metrics JSON and the report show of the gain model (not its data)."""
    return {k: v for k, v in gain.items() if k != "model"}


def _fmt(v: float, digits: int) -> str:
    return f"{v:+.{digits}f}"


def sentence(gain: float, low: float, high: float, score_name: str) -> str:
    """The plain verdict: sparsity pays (interval above 0), dense wins (below 0), or no difference beyond noise."""
    digits = 2 if high - low >= 0.02 else 3
    numbers = f"{_fmt(gain, digits)} [{_fmt(low, digits)}, {_fmt(high, digits)}] {score_name}"
    if low > 0:
        return f"sparsity pays here: {numbers} over dense"
    if high < 0:
        return f"build dense: the top sparse pick is expected to score below it here ({numbers})"
    if high - low > WIDE:
        return f"no clear answer here: the top sparse pick's gain over dense is {numbers}; train both"
    return f"build dense: no candidate beats it beyond noise here ({numbers})"


def score_label(score_names) -> str:
    """The unit of the verdict's numbers: the one score the tasks share, or, when they mix scores
    (accuracy on some, r2 on others), the scores by name, so no one reads r2 as accuracy."""
    names = sorted(set(score_names or ()))
    if len(names) == 1:
        return names[0]
    return f"score ({' or '.join(names)})" if names else "score"


def dense_verdict(
    bundle: dict, features: dict, pick: str | None, no_dense: str | None, score_names: list[str] | None = None
) -> dict:
    """{gain, low, high, score_name, sentence, config} for one request. features: the request's
    GAIN_FEATURES; pick: the top sparse candidate's label; no_dense: why dense is not among the
    candidates, or None. The numbers are None, and the sentence says why, when there is no verdict."""
    name = score_label(score_names or bundle["swept"].get("score_names"))
    out = {"gain": None, "low": None, "high": None, "score_name": name, "config": pick}
    gain = bundle.get("gain")
    why = (
        "these saved models predate it; re-run `hpsweep analyze`"
        if gain is None
        else no_dense or gain.get("reason") or ("no sparse candidate fits this budget" if pick is None else None)
    )
    if why:
        return out | {"sentence": f"no verdict against dense: {why}"}
    x = np.array([[features[f] for f in GAIN_FEATURES]], float)
    g = float(predict_ridge(gain["model"], x)[0])
    lo, hi = g + gain["residual"][0], g + gain["residual"][1]
    return out | {"gain": g, "low": lo, "high": hi, "sentence": sentence(g, lo, hi, name)}
