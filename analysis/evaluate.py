"""Held-out evaluation of the meta-models on the user's question.

A fold holds some tasks out (every budget of a task goes with it), fits a model on the others and
predicts the held-out groups. Per held-out group (task x budget) we measure:

- kendall: Kendall tau between the predictions and the configs' seed-mean scores;
- ndcg5: NDCG@5 with the configs' standing as relevance;
- regret1: normalised regret of the top pick, (best - picked) / (best - worst) in the group;
- regret5: the same for the best of the top 5 (a user who trains five);
- beats_dense / beats_uniform: the pick scores above dense / uniform 0.2; ge_dense: the pick is at
  least as good as dense within the group's seed noise (its median std between seeds).

Per task the group values are averaged; summaries are over tasks (near-chance tasks excluded,
their count said) with bootstrap 90% intervals over tasks.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import polars as pl
from joblib import Parallel, delayed
from scipy.stats import ConstantInputWarning, kendalltau
from sklearn.metrics import ndcg_score
from threadpoolctl import threadpool_limits

from hpsweep.analysis.features import GROUP
from hpsweep.analysis.metatable import ABSOLUTE, CONFIG, RELATIVE, UNIT

DENSE = ",".join(["1.0"] * 6)
UNIFORM_02 = ",".join(["0.2"] * 6)
BASELINES = ("always-dense", "always-uniform-0.2", "random")
METRICS = ("kendall", "ndcg5", "regret1", "regret5", "beats_dense", "ge_dense", "beats_uniform")
BOOTSTRAP = 2000


def loto_folds(tasks: list[str]) -> list[list[str]]:
    """Leave one task out: every task is a fold."""
    return [[t] for t in tasks]


def region_folds(table: pl.DataFrame) -> list[list[str]]:
    """Hold out a whole region of the (ln|x|, ln|y|) plane: the four quadrants cut at the tasks' median
    ln|x| and ln|y|, each held out in turn while the model learns from the other three."""
    tasks = table.group_by(GROUP).agg(pl.col("log_input_dim").first(), pl.col("log_output_dim").first()).sort(GROUP)
    mx, my = float(tasks["log_input_dim"].median()), float(tasks["log_output_dim"].median())
    quadrant = [(x > mx) * 2 + (y > my) for x, y in tasks.select("log_input_dim", "log_output_dim").iter_rows()]
    names = tasks[GROUP].to_list()
    return [f for f in ([n for n, q in zip(names, quadrant) if q == k] for k in range(4)) if f]


PARALLEL_FIT_ROWS = 2_000
"""Folds go to worker processes only when they learn from this many rows each on average. Smaller
fits take milliseconds, and starting the workers and shipping the folds cost more than they save:
the 300-row meta-dataset of a partial `meta` run analysed in 115 s serially and 213 s spread over
two processes (load average ~30); the million-row benchmark's folds (11,000 rows) gained."""


def fold_jobs() -> int:
    """Processes the folds are spread over: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _fit_predict(model, train: pl.DataFrame, test: pl.DataFrame) -> np.ndarray:
    return model.fit(train).predict(test)


def held_out(
    make_model, table: pl.DataFrame, folds: list[list[str]], *, train_tasks=None, jobs: int | None = None
) -> tuple[np.ndarray, list[int]]:
    """Predictions for every row of the held-out tasks of each fold, and the rows each fold fit on.

    make_model: () -> an unfitted MetaModel. train_tasks: (fold index, candidate tasks) -> tasks to
    learn from (the learning curve subsamples them); default all the others. The folds are fitted in
    `jobs` processes (default: fold_jobs() when the folds average PARALLEL_FIT_ROWS rows, else one),
    each on one thread; every fit is seeded, so the answer does not depend on how many.
    """
    pred = np.full(table.height, np.nan)
    tasks = table[GROUP]
    names = set(tasks.to_list())
    masks, calls, fit_rows = [], [], []
    for i, fold in enumerate(folds):
        test = tasks.is_in(fold).to_numpy()
        others = sorted(names - set(fold))
        if train_tasks is not None:
            others = train_tasks(i, others)
        model = make_model()
        # only the rows and columns the fit reads travel to the worker process
        train = model.training_rows(table.filter(pl.col(GROUP).is_in(others)))
        calls.append(delayed(_fit_predict)(model, train, table.filter(test).select(model.columns())))
        masks.append(test)
        fit_rows.append(train.height)
    if jobs is None:
        jobs = fold_jobs() if sum(fit_rows) >= PARALLEL_FIT_ROWS * len(calls) else 1
    with threadpool_limits(limits=1):
        done = Parallel(n_jobs=min(jobs, len(calls)))(calls)  # one job: in this process
    for test, p in zip(masks, done):
        pred[test] = p
    return pred, fit_rows


def _tau(a, b) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        value = kendalltau(a, b)[0]
    return float(value) if np.isfinite(value) else 0.0


def _random_best_of(norm: np.ndarray, k: int) -> float:
    """Expected best normalised score of k configs drawn at random without replacement."""
    v = np.sort(norm)[::-1]
    n, k = len(v), min(k, len(v))
    probs = np.array([math.comb(n - 1 - i, k - 1) for i in range(n)], float) / math.comb(n, k)
    return float((v * probs).sum())


def unit_metrics(table: pl.DataFrame, pred: np.ndarray | str, info: pl.DataFrame) -> pl.DataFrame:
    """One row per group: unit, task and METRICS. pred: predictions aligned with table, or the name of
    a baseline (always-dense, always-uniform-0.2, random)."""
    noise = dict(zip(info[UNIT], info["seed_noise"]))
    frame = table.select(UNIT, GROUP, CONFIG, ABSOLUTE, RELATIVE, "normalised").with_row_index("_i")
    rows = []
    for (unit,), g in frame.group_by([UNIT], maintain_order=True):
        y, norm, configs = g[ABSOLUTE].to_numpy(), g["normalised"].to_numpy(), g[CONFIG].to_list()
        ref = {c: s for c, s in zip(configs, y)}
        dense, uniform = ref.get(DENSE, np.nan), ref.get(UNIFORM_02, np.nan)
        row = {"unit": unit, "task": g[GROUP][0]}
        if isinstance(pred, str):
            wanted = {"always-dense": DENSE, "always-uniform-0.2": UNIFORM_02}.get(pred)
            if pred == "random":
                r1, r5, picked = 1 - float(norm.mean()), 1 - _random_best_of(norm, 5), np.nan
                share = lambda ref_score: float(np.mean(y > ref_score)) if np.isfinite(ref_score) else np.nan  # noqa: E731
                row.update(
                    kendall=0.0,
                    ndcg5=np.nan,
                    regret1=r1,
                    regret5=r5,
                    beats_dense=share(dense),
                    ge_dense=float(np.mean(y >= dense - noise[unit])) if np.isfinite(dense) else np.nan,
                    beats_uniform=share(uniform),
                )
                rows.append(row)
                continue
            if wanted not in ref:
                continue
            i = configs.index(wanted)
            row.update(kendall=np.nan, ndcg5=np.nan, regret1=1 - float(norm[i]), regret5=np.nan)
            picked = y[i]
        else:
            p = pred[g["_i"].to_numpy()]
            order = np.argsort(-p, kind="stable")
            picked = y[order[0]]
            row.update(
                kendall=_tau(y, p),
                ndcg5=float(ndcg_score([g[RELATIVE].to_numpy()], [p], k=5)) if len(y) > 1 else np.nan,
                regret1=1 - float(norm[order[0]]),
                regret5=1 - float(norm[order[:5]].max()),
            )
        row.update(
            beats_dense=float(picked > dense) if np.isfinite(dense) else np.nan,
            ge_dense=float(picked >= dense - noise[unit]) if np.isfinite(dense) else np.nan,
            beats_uniform=float(picked > uniform) if np.isfinite(uniform) else np.nan,
        )
        rows.append(row)
    schema = {"unit": pl.Utf8, "task": pl.Utf8, **{m: pl.Float64 for m in METRICS}}
    return pl.DataFrame(rows, schema=schema)


def per_task(units: pl.DataFrame) -> pl.DataFrame:
    """The group metrics averaged within each task (NaN-aware)."""
    return (
        units.with_columns(pl.col(m).fill_nan(None) for m in METRICS)
        .group_by("task")
        .agg(pl.col(m).mean() for m in METRICS)
        .sort("task")
    )


def bootstrap_interval(values: np.ndarray, stat=np.mean, *, seed: int = 0, level: float = 0.90) -> tuple[float, float]:
    """Percentile bootstrap interval of stat over the values (resampled with replacement)."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    draws = rng.choice(values, size=(BOOTSTRAP, len(values)), replace=True)
    stats = stat(draws, axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(stats, tail)), float(np.quantile(stats, 1 - tail))


def summarise(tasks: pl.DataFrame, excluded: set[str], seed: int = 0) -> dict:
    """Mean, median and bootstrap 90% interval of the mean, per metric, over the tasks not excluded."""
    kept = tasks.filter(~pl.col("task").is_in(sorted(excluded)))
    out = {"n_tasks": kept.height, "n_excluded": tasks.height - kept.height}
    for m in METRICS:
        v = kept[m].cast(pl.Float64).fill_null(np.nan).to_numpy()
        finite = v[np.isfinite(v)]
        if not len(finite):
            continue
        lo, hi = bootstrap_interval(finite, seed=seed)
        out[m] = {"mean": float(finite.mean()), "median": float(np.median(finite)), "ci90": [lo, hi]}
    return out


def standing_band(table: pl.DataFrame, pred: np.ndarray, bins: int = 10) -> list[list[float]]:
    """Where configs landed on held-out tasks, by predicted standing: for each tenth of the predicted
    standing within a group (0..0.1, ..., 0.9..1), the 5% and 95% quantiles of their actual standing.
    recommend shows the band of a pick's predicted standing: what such picks turned out to be."""
    predicted = (
        table.select(UNIT)
        .with_columns(_p=pl.Series(pred))
        .select((pl.col("_p").rank("average").over(UNIT) - 1) / (pl.len().over(UNIT) - 1).clip(1))
    )
    p = predicted.to_series().to_numpy()
    actual = table[RELATIVE].to_numpy()
    out = []
    for b in range(bins):
        mask = (p >= b / bins) & ((p < (b + 1) / bins) | (b == bins - 1))
        vals = actual[mask] if mask.any() else actual
        out.append([float(np.quantile(vals, 0.05)), float(np.quantile(vals, 0.95))])
    return out


def residual_band(y: np.ndarray, pred: np.ndarray, low: float = 0.05, high: float = 0.95) -> tuple[float, float]:
    """5% / 95% quantiles of held-out-task residuals (actual - predicted), for an absolute-score model."""
    r = y - pred
    r = r[np.isfinite(r)]
    return float(np.quantile(r, low)), float(np.quantile(r, high))
