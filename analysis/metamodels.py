"""The meta-models: plain scikit-learn Pipelines that predict a trial's score a priori.

- paper:    score ~ degree-2 polynomial of HP, ln|x|, ln|y|, ln P (HP, dims and their
            interactions), ordinary least squares: the paper-style regression, coefficients readable.
- gbt:      gradient-boosted trees over every a-priori feature (nonlinear).
- baseline: the same polynomial regression over dims, weights and training settings only,
            without densities or any balance metric: what you get without balancing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from hpsweep.analysis.features import ALL_FEATURES, BASELINE_FEATURES, PAPER_FEATURES


RIDGE_ALPHA = 1.0
"""A small penalty, negligible beside thousands of rows for well-determined terms. With few
tasks the dims terms are nearly collinear (a handful of distinct dims stand for task identity),
plain least squares gave them huge opposite coefficients, and held-out predictions of a
3-task quickstart sweep were off by 10^5 in R²; the penalty keeps those directions near zero."""


def polynomial_regression(degree: int = 2) -> Pipeline:
    """Standardise, expand to all products up to `degree`, least squares with a small ridge."""
    return Pipeline([
        ("scale", StandardScaler()),
        ("poly", PolynomialFeatures(degree=degree, include_bias=False)),
        ("ols", Ridge(alpha=RIDGE_ALPHA)),
    ])


def boosted_trees(random_state: int = 0) -> Pipeline:
    return Pipeline([
        ("gbt", HistGradientBoostingRegressor(max_iter=100, learning_rate=0.15, max_leaf_nodes=31,
                                              early_stopping=False, random_state=random_state)),
    ])


@dataclass(frozen=True)
class MetaModelSpec:
    """A named meta-model: which features it reads and how to build a fresh, unfitted one."""

    name: str
    features: tuple[str, ...]
    kind: str  # "poly" or "gbt"
    about: str

    def build(self, random_state: int = 0) -> Pipeline:
        return polynomial_regression() if self.kind == "poly" else boosted_trees(random_state)


META_MODELS = (
    MetaModelSpec("paper", PAPER_FEATURES, "poly", "score on HP, dims and their interactions (degree-2 OLS)"),
    MetaModelSpec("gbt", ALL_FEATURES, "gbt", "gradient-boosted trees over every a-priori feature"),
    MetaModelSpec("baseline", BASELINE_FEATURES, "poly", "dims, weights and training settings only (degree-2 OLS)"),
)


def spec_named(name: str) -> MetaModelSpec:
    return next(m for m in META_MODELS if m.name == name)


def balance_spec(metric: str | None) -> MetaModelSpec:
    """Baseline plus one balance metric (None: the baseline alone) for the ranking."""
    if metric is None:
        return MetaModelSpec("baseline", BASELINE_FEATURES, "poly", "baseline features (degree-2 OLS)")
    return MetaModelSpec(f"baseline+{metric}", BASELINE_FEATURES + (metric,), "poly",
                         f"baseline features plus {metric} (degree-2 OLS)")


def coefficients(fitted: Pipeline, features: tuple[str, ...]) -> dict[str, float]:
    """Coefficients of a fitted polynomial regression, by term (inputs standardised)."""
    names = fitted.named_steps["poly"].get_feature_names_out(list(features))
    ols = fitted.named_steps["ols"]
    out = {"intercept": float(ols.intercept_)}
    out.update({str(n): float(c) for n, c in zip(names, np.ravel(ols.coef_))})
    return out
