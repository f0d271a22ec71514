"""A-priori features of a trial: what is known before training.

Every feature is a small function returning a `pl.Expr`, so each is defined once and the same
expressions serve the analysis (over the trials table) and recommend (over candidate configs).
Nothing measured after training (losses, scores, realised mask counts, time) is a feature.
Sizes enter as natural logs: dims and budgets span orders of magnitude.
"""

from __future__ import annotations

import polars as pl

from hpsweep.workers.descriptors import BALANCE_METRICS, BLOCKS, balance_metrics, block_weights

TARGET = "test_score"
GROUP = "task"


def log_of(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64).log().alias(f"log_{column}")


def dense_weights() -> pl.Expr:
    """Total weights of the dense model at the row's |x|, |h|, |y| (workers.descriptors.block_weights)."""
    return sum(block_weights(*_dims(), dict.fromkeys(BLOCKS, 1.0)).values())


def log_budget() -> pl.Expr:
    """ln of the budget. A trial given |h| directly has no budget: the dense model's weights at its
    |h| stand in (the budget at which the dense config gets this |h|). Every config of a task at one
    |h| shares it, so they stay one group (metatable.build) with one defined budget feature, and
    `recommend --budget` means what it means for a sweep by budget. Not the trial's own total
    weights: those differ per config and would make every config a group of its own."""
    return pl.coalesce(pl.col("budget").cast(pl.Float64), dense_weights()).log().alias("log_budget")


def classification() -> pl.Expr:
    """Whether the task is a classification (its score is accuracy). A user knows it before training,
    and it tells apart what the dims cannot: on meta-wide, input-heavy RAD (a classification) gains
    +0.3 from thinning W_hx where a teacher regression of the same |x| gains nothing, and the
    meta-models learned from 31 tasks ordered a held-out one's configs with Kendall tau 0.69 with it
    against 0.53 without (docs/findings.md §6)."""
    return (pl.col("score_name") == "accuracy").fill_null(False).cast(pl.Float64).alias(CLASSIFICATION)


def log_lr() -> pl.Expr:
    return pl.col("lr").log10().alias("log10_lr")


DIM_FEATURES = ("log_input_dim", "log_output_dim", "log_seq_len", "log_n_train")
"""What a new data set brings: its dims, sequence length and size."""
CLASSIFICATION = "is_classification"
"""1 where the task is scored by accuracy (a classification), 0 otherwise (r2, returns)."""
DATASET_FEATURES = (*DIM_FEATURES, "log_budget", CLASSIFICATION)
"""What describes the question a user asks: the data set, its kind and the weight budget."""
TRAINING_FEATURES = ("log10_lr", "epochs")
WEIGHT_FEATURES = ("log_budget", "log_total_weights")
DENSITY_FEATURES = tuple(f"d_{b}" for b in BLOCKS)

BASELINE_FEATURES = DIM_FEATURES + WEIGHT_FEATURES + TRAINING_FEATURES
"""The baseline meta-model: weights and dims only, no balance metric and no densities."""
PAPER_FEATURES = ("hidden_proportion", "log_input_dim", "log_output_dim", "log_budget")
"""The paper-style regression: HP with dims (and, in the model, their interactions)."""
ALL_FEATURES = BASELINE_FEATURES + DENSITY_FEATURES + ("log_hidden",) + BALANCE_METRICS
"""The nonlinear meta-model sees every a-priori descriptor."""

REQUIRED_COLUMNS = (
    "input_dim",
    "output_dim",
    "seq_len",
    "n_train",
    "hidden",
    "total_weights",
    "lr",
    "epochs",
    *(f"d_{b}" for b in BLOCKS),
    *BALANCE_METRICS,
)
"""Inputs the features need (balance metrics and total weights are filled a priori first)."""


def _dims() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    return tuple(pl.col(c).cast(pl.Float64) for c in ("input_dim", "hidden", "output_dim"))


def expected_weights(block: str) -> pl.Expr:
    """n_<block>, or density x block size where an older part lacks it (workers.descriptors.block_weights)."""
    derived = block_weights(*_dims(), {b: pl.col(f"d_{b}") for b in BLOCKS})[f"n_{block}"]
    return pl.coalesce(pl.col(f"n_{block}"), derived).cast(pl.Float64)


def balance_metric_exprs() -> dict[str, pl.Expr]:
    """The balance candidates as stored, filled from the expected counts where a part lacks them
    (the formulas are workers.descriptors.balance_metrics)."""
    n = {f"n_{b}": expected_weights(b) for b in BLOCKS}
    x, h, y = _dims()
    derived = balance_metrics(n, x, h, y)
    return {m: pl.coalesce(pl.col(m).cast(pl.Float64), derived[m]).alias(m) for m in BALANCE_METRICS}


def fill_descriptors(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Total weights and balance metrics computed a priori where older parts lack them."""
    total = sum(expected_weights(b) for b in BLOCKS)
    return lf.with_columns(
        pl.coalesce(pl.col("total_weights"), total).alias("total_weights"), *balance_metric_exprs().values()
    )


def feature_exprs() -> list[pl.Expr]:
    return [
        log_of("input_dim"),
        log_of("output_dim"),
        log_of("seq_len"),
        log_of("n_train"),
        log_budget(),
        classification(),
        log_of("total_weights"),
        log_lr(),
        pl.col("epochs").cast(pl.Float64),
        *[pl.col(c).cast(pl.Float64) for c in DENSITY_FEATURES],
        log_of("hidden"),
        *[pl.col(m).cast(pl.Float64) for m in BALANCE_METRICS],
    ]


def with_features(lf: pl.LazyFrame) -> pl.LazyFrame:
    """task, raw dims, the target and every feature; rows missing an input or the score dropped."""
    return (
        fill_descriptors(lf)
        .drop_nulls(subset=[*REQUIRED_COLUMNS, TARGET])
        .filter(pl.col(TARGET).is_finite())
        .select(
            pl.col(GROUP),
            pl.col("trial_id"),
            pl.col("input_dim"),
            pl.col("output_dim"),
            pl.col("budget"),
            pl.col("hidden"),
            pl.col(TARGET).cast(pl.Float64),
            pl.col("val_score").cast(pl.Float64),
            pl.col("seed"),
            pl.col("lr").cast(pl.Float64),
            pl.col("score_name"),
            *feature_exprs(),
            # how far halving let it train (metatable ranks by it); older rows lack it: trained fully
            pl.col("epochs_run").fill_null(pl.col("epochs")).cast(pl.Float64).alias("epochs_reached"),
        )
    )


def per_task_sample(lf: pl.LazyFrame, max_rows_per_task: int, seed: int = 0) -> pl.LazyFrame:
    """At most max_rows_per_task rows of each task, chosen at random (reproducibly).

    Meta-models are fit and scored on this sample so that a million-row results root analyses
    in seconds; a few thousand rows per task pin down within-task rankings well.
    """
    # a seeded hash of trial_id, not row order: the scan's order is not stable, the sample must be
    return lf.filter(pl.col("trial_id").hash(seed).rank("ordinal").over(GROUP) <= max_rows_per_task).sort(
        GROUP, "trial_id"
    )
