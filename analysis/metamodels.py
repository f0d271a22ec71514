"""The meta-models: each learns, from other tasks, how a config fares on a task and budget a priori.

Every model reads the meta-dataset (analysis.metatable: one row per task x budget x config) and
predicts one number per row; within a group (task x budget) a higher number means a better
config. Each is fitted on one of two targets: `standing` (the config's rank percentile inside
its group: comparable across tasks whatever their score level or kind) or `score` (the seed-mean
test score: what the first meta-models regressed).

- paper:   degree-2 polynomial of HP, ln|x|, ln|y|, ln budget, small ridge: the paper-style
           regression, its coefficients are the readable result.
- gbt:     gradient-boosted trees over the data-set and config features.
- rank:    LightGBM LambdaRank over the same features, one query per task x budget: learns the
           order inside a group directly (standing target only; its output is an order, not a score).
- nearest: ranks configs by their mean standing (or score) on the k training groups nearest in
           ln|x|, ln|y|, ln budget, ln sequence length and task kind (classification or not;
           standardised): no model of configs at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from hpsweep.analysis.features import BASELINE_FEATURES, CLASSIFICATION, DATASET_FEATURES, PAPER_FEATURES
from hpsweep.analysis.metatable import CONFIG, CONFIG_FEATURES, RELATIVE, TARGETS, UNIT

RIDGE_ALPHA = 1.0
"""A small penalty, negligible beside thousands of rows for well-determined terms. With few
tasks the dims terms are nearly collinear (a handful of distinct dims stand for task identity),
plain least squares gave them huge opposite coefficients, and held-out predictions of a
3-task quickstart sweep were off by 10^5 in R²; the penalty keeps those directions near zero."""
TREE_FEATURES = (*DATASET_FEATURES, *CONFIG_FEATURES)
"""What the tree models see: the data set (dims, length, size, whether it is a classification,
budget) and the config. No lr (each config is scored at its best lr) and no family: features
describe what a user knows of the data before training."""
NEAREST_FEATURES = ("log_input_dim", "log_output_dim", "log_budget", "log_seq_len", CLASSIFICATION)
RANK_LEVELS = 10
"""LambdaRank needs integer relevance: standing cut into this many equal levels (0 = worst)."""
FIT_CONFIGS_PER_GROUP = 200
"""Every meta-model learns from at most this many configs of each group (task x budget), a seeded
sample by config; a shared candidate set (tens of configs) is never cut. The fits were nearly all
of analyze's time and grow with the configs per group (a random-search sweep has a fresh config per
trial: 1,300 per group in the 1M-row benchmark). Measured there with 5 of its 20 tasks held out of
the fit (two draws): the held-out tau of boosted trees and of the polynomials was within 0.005 of
the full fit from 100 configs per group up, LambdaRank's 0.01-0.03 higher (its pairwise loss
weighs the top of a query, a smaller share of a big query); the tree fits ran 3.5x (boosted trees)
and 6x (LambdaRank) faster."""
RANK_ROUNDS, RANK_LEARNING_RATE = 50, 0.1
"""LambdaRank's boosting: with the same tasks held out of the fit (three draws), 50 rounds at 0.1 gave
the tau of 100 at 0.05 (mean 0.635 vs 0.637) in half the time; 150 at 0.05, the earlier setting,
was 0.005-0.008 below 100. Boosted trees keep 100 rounds at 0.1: 50 at 0.2 lost 0.005-0.015."""


def polynomial_regression(degree: int = 2) -> Pipeline:
    """Standardise, expand to all products up to `degree`, least squares with a small ridge."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("poly", PolynomialFeatures(degree=degree, include_bias=False)),
            ("ols", Ridge(alpha=RIDGE_ALPHA)),
        ]
    )


def boosted_trees(random_state: int = 0) -> Pipeline:
    return Pipeline(
        [
            (
                "gbt",
                HistGradientBoostingRegressor(
                    max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False, random_state=random_state
                ),
            )
        ]
    )


@dataclass
class MetaModel:
    """A named meta-model on one target; fit() and predict() take meta-dataset frames."""

    name: str
    kind: str  # poly, gbt, rank, nearest
    features: tuple[str, ...]
    target: str
    random_state: int = 0
    fitted: object = None
    n_fit_rows: int = 0

    @property
    def key(self) -> str:
        return f"{self.name}/{self.target}"

    def training_rows(self, df: pl.DataFrame) -> pl.DataFrame:
        """What fit() learns from: at most FIT_CONFIGS_PER_GROUP configs per group, and only the columns
        it reads (a fold shipped to another process carries no more). Applying it twice changes nothing."""
        return configs_per_group(df, FIT_CONFIGS_PER_GROUP, self.random_state).select(self.columns())

    def columns(self) -> list[str]:
        """Every column fit() and predict() read."""
        return list(
            dict.fromkeys(
                [
                    UNIT,
                    CONFIG,
                    RELATIVE,
                    self.target,
                    *self.features,
                    *(TREE_FEATURES if self.kind == "rank" else ()),
                    *(NEAREST_FEATURES if self.kind == "nearest" else ()),
                ]
            )
        )

    def fit(self, df: pl.DataFrame) -> MetaModel:
        df = self.training_rows(df)
        y = df[self.target].to_numpy().astype(float)
        self.n_fit_rows = df.height
        if self.kind == "nearest":
            self.fitted = _fit_nearest(df, self.target)
        elif self.kind == "rank":
            self.fitted = _fit_ranker(df, self.random_state)
        else:
            model = polynomial_regression() if self.kind == "poly" else boosted_trees(self.random_state)
            self.fitted = model.fit(df.select(self.features).to_numpy(), y)
        return self

    def predict(self, df: pl.DataFrame) -> np.ndarray:
        if self.kind == "nearest":
            return _predict_nearest(self.fitted, df)
        return np.asarray(self.fitted.predict(df.select(self.features).to_numpy()), dtype=float)


def configs_per_group(df: pl.DataFrame, most: int, seed: int = 0) -> pl.DataFrame:
    """At most `most` rows of each group, chosen by a seeded hash of the config (reproducible whatever
    the row order); groups that small already are kept whole."""
    return df.filter(pl.col(CONFIG).hash(seed).rank("ordinal").over(UNIT) <= most)


def _fit_ranker(df: pl.DataFrame, random_state: int):
    import lightgbm

    df = df.sort(UNIT)
    label = np.minimum((df[RELATIVE].to_numpy() * RANK_LEVELS).astype(int), RANK_LEVELS - 1)
    sizes = df.group_by(UNIT, maintain_order=True).len()["len"].to_numpy()
    model = lightgbm.LGBMRanker(
        objective="lambdarank",
        n_estimators=RANK_ROUNDS,
        learning_rate=RANK_LEARNING_RATE,
        num_leaves=15,
        min_child_samples=10,
        random_state=random_state,
        n_jobs=1,
        verbose=-1,
    )
    # a plain array, not a frame: predict() gets one too, and LightGBM warns when names differ
    return model.fit(df.select(TREE_FEATURES).to_numpy(), label, group=sizes)


def _fit_nearest(df: pl.DataFrame, target: str, k: int = 3) -> dict:
    units = df.group_by(UNIT, maintain_order=True).agg(*[pl.col(c).first() for c in NEAREST_FEATURES])
    X = units.select(NEAREST_FEATURES).to_numpy().astype(float)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    per_config = df.select(UNIT, CONFIG, pl.col(target).alias("_y"))
    return {
        "X": (X - mean) / std,
        "mean": mean,
        "std": std,
        "units": units[UNIT].to_list(),
        "k": k,
        "table": per_config,
        "fallback": df.group_by(CONFIG).agg(pl.col(target).mean().alias("_all")),
        "default": float(df[target].mean()),
    }


def _predict_nearest(state: dict, df: pl.DataFrame) -> np.ndarray:
    X = (df.select(NEAREST_FEATURES).to_numpy().astype(float) - state["mean"]) / state["std"]
    out = np.empty(df.height)
    rows = df.with_row_index("_i").select("_i", CONFIG)
    keys = [tuple(r) for r in np.round(X, 9)]
    for key in dict.fromkeys(keys):  # each distinct data set / budget once
        idx = [i for i, k in enumerate(keys) if k == key]
        dist = np.linalg.norm(state["X"] - np.asarray(key), axis=1)
        near = [state["units"][j] for j in np.argsort(dist, kind="stable")[: state["k"]]]
        means = state["table"].filter(pl.col(UNIT).is_in(near)).group_by(CONFIG).agg(pl.col("_y").mean())
        got = (
            (
                rows[idx]
                .join(means, on=CONFIG, how="left")
                .join(state["fallback"], on=CONFIG, how="left")
                .sort("_i")
                .select(pl.coalesce("_y", "_all", pl.lit(state["default"])))
            )
            .to_series()
            .to_numpy()
        )
        out[idx] = got
    return out


MODEL_KINDS = (
    ("paper", "poly", PAPER_FEATURES, TARGETS),
    ("gbt", "gbt", TREE_FEATURES, TARGETS),
    ("rank", "rank", TREE_FEATURES, (RELATIVE,)),
    ("nearest", "nearest", NEAREST_FEATURES, TARGETS),
)
ABOUT = {
    "paper": "degree-2 polynomial of HP, ln|x|, ln|y|, ln budget (ridge)",
    "gbt": "gradient-boosted trees over data-set (kind included) and config features",
    "rank": "LightGBM LambdaRank, one query per task x budget",
    "nearest": "mean of the 3 nearest training tasks (ln|x|, ln|y|, ln budget, ln length, kind)",
}


def all_models(random_state: int = 0) -> list[MetaModel]:
    """A fresh, unfitted instance of every (model, target) pair."""
    return [
        MetaModel(name, kind, features, target, random_state)
        for name, kind, features, targets in MODEL_KINDS
        for target in targets
    ]


def model_named(key: str, random_state: int = 0) -> MetaModel:
    return next(m for m in all_models(random_state) if m.key == key)


def balance_spec(metric: str | None):
    """Baseline features plus one balance metric (None: the baseline alone), for the ranking."""
    features = BASELINE_FEATURES + ((metric,) if metric else ())
    return MetaModel(f"baseline+{metric}" if metric else "baseline", "poly", features, RELATIVE)


def coefficients(model: MetaModel) -> dict[str, float]:
    """Coefficients of a fitted polynomial regression, by term (inputs standardised)."""
    names = model.fitted.named_steps["poly"].get_feature_names_out(list(model.features))
    ols = model.fitted.named_steps["ols"]
    out = {"intercept": float(ols.intercept_)}
    out.update({str(n): float(c) for n, c in zip(names, np.ravel(ols.coef_))})
    return out
