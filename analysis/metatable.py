"""The meta-dataset: one row per (task, budget, config), seeds averaged, each config at its best lr.

A recommendation answers "which densities, for this data set and budget"; so the unit the
meta-models learn from and are judged on is a config within a task and budget, not a trial:

- a config is its six densities (rounded to 4 decimals, so the same config planned twice is one);
- a group is a task at one budget (ln budget rounded to 3 decimals): the configs a user would
  choose between. A sweep given by |h| (no budget) is grouped the way it was designed: a task at
  one |h|, whose configs compete at equal hidden size; its budget feature is the dense model's
  weights at that |h| (features.log_budget). Such a group never merges with a budget group of the
  same task, even at an equal number, so a root holding both kinds of sweep analyses as both;
- learning rate is a training setting, not part of the config: when a config was trained at
  several learning rates, it is scored at the lr with the best validation score (mean over
  seeds), and its test scores at that lr are what count. A config is then compared with the
  others at its own best lr, which is the fair comparison a user who tunes lr would make;
- `score` is the mean test score over seeds; `standing` is the config's rank percentile within
  its group (0 = worst, 1 = best; ties share the mean rank); `normalised` is (score - worst) /
  (best - worst) within the group, which the regret metrics use.

The per-seed test scores stay in `seed_scores` (a list, seed order) for the noise ceiling.

Partial training (a sweep with in-pack successive halving): `reached` is the epochs a config
trained (mean over seeds; the schedule keeps a config's seeds together), `trained_score` its mean
test score there. A config stopped at a rung ranks below every config of its group promoted past
it: `standing` ranks by (reached, score), and `score` is `trained_score` capped at the lowest
score of the configs of its group that reached further (what halving tells us: it was judged
worse than those), so `normalised`, the regrets and the held-out Kendall tau (computed on `score`)
follow the same order. The best lr of a config is chosen by (reached, validation score). A sweep
without a schedule has reached = epochs everywhere, nothing is capped, and every target is
exactly what it was.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hpsweep.analysis.features import DATASET_FEATURES, GROUP, TRAINING_FEATURES
from hpsweep.workers.descriptors import BALANCE_METRICS, BLOCKS

CONFIG = "config"
UNIT = "unit"
"""The group column: task and budget ("task @ 5000") or, for a sweep given by |h|, task and |h|
("task @ h=16"): one ranking question."""
DENSITY_COLUMNS = tuple(f"d_{b}" for b in BLOCKS)
CONFIG_FEATURES = (*DENSITY_COLUMNS, "log_hidden", "log_total_weights", *BALANCE_METRICS)
"""What describes a config at a budget: its densities, |h|, weights and balance metrics."""
RELATIVE, ABSOLUTE = "standing", "score"
REACHED, TRAINED = "reached", "trained_score"
"""Epochs a config trained (mean over its seeds): below `epochs` when successive halving stopped it."""
TARGETS = (RELATIVE, ABSOLUTE)


def config_key() -> pl.Expr:
    return pl.concat_str([pl.col(c).round(4).cast(pl.Utf8) for c in DENSITY_COLUMNS], separator=",").alias(CONFIG)


def build(trials: pl.DataFrame) -> pl.DataFrame:
    """The meta-dataset of a features frame (analysis.features.with_features, plus val_score, seed, lr,
    score_name). One row per (task, budget, config); columns: task, unit, config, the a-priori
    features, score, standing, normalised, n_seeds, seed_scores, lr (the chosen one), n_lrs,
    score_name, input_dim, output_dim, budget."""
    reached = pl.col("epochs_reached") if "epochs_reached" in trials.columns else pl.col("epochs")
    # |h| of a sweep given by |h|; 0 in a sweep by budget (not null: joins on the keys drop nulls),
    # and in a frame without |h| (built by hand): grouped by budget alone
    given_hidden = pl.col("hidden") if "hidden" in trials.columns else pl.lit(0)
    df = trials.with_columns(
        config_key(),
        pl.col("log_budget").round(3).alias("_b"),
        pl.when(pl.col("budget").is_null()).then(given_hidden).otherwise(0).alias("_h"),
        pl.col("val_score").fill_null(pl.col("test_score")).alias("_val"),
        reached.cast(pl.Float64).alias(REACHED),
    )
    keys = [GROUP, "_b", "_h", CONFIG]
    by_lr = df.group_by([*keys, "lr"]).agg(
        pl.col("_val").mean().alias("_val_mean"), pl.col(REACHED).mean().alias("_reach"), pl.len().alias("_n")
    )
    best_lr = (
        by_lr.sort([*keys, "_reach", "_val_mean", "lr"], descending=[*[False] * len(keys), True, True, False])
        .group_by(keys, maintain_order=True)
        .agg(pl.col("lr").first().alias("_best_lr"), pl.col("lr").n_unique().alias("n_lrs"))
    )
    df = df.join(best_lr, on=keys).filter(pl.col("lr") == pl.col("_best_lr"))
    firsts = [
        c
        for c in (
            *DATASET_FEATURES,
            *CONFIG_FEATURES,
            "input_dim",
            "output_dim",
            "budget",
            "score_name",
            "lr",
            *TRAINING_FEATURES,
        )
        if c in df.columns
    ]
    table = (
        df.sort("seed")
        .group_by(keys, maintain_order=True)
        .agg(
            *[pl.col(c).first() for c in firsts],
            pl.col("n_lrs").first(),
            pl.col("test_score").mean().alias(ABSOLUTE),
            pl.col("test_score").alias("seed_scores"),
            pl.col("seed").n_unique().alias("n_seeds"),
            pl.col(REACHED).mean(),
        )
    )
    at = (
        pl.when(pl.col("_h") == 0)
        .then(pl.col("budget").fill_null(pl.col("_b").exp()).round(0).cast(pl.Int64).cast(pl.Utf8))
        .otherwise(pl.concat_str([pl.lit("h="), pl.col("_h").cast(pl.Utf8)]))
    )
    unit = pl.concat_str([pl.col(GROUP), pl.lit(" @ "), at]).alias(UNIT)
    size = pl.len().over(UNIT)
    table = _cap_below_further(table.with_columns(unit).filter(size >= 2))  # a group of one config asks no question
    # (reached, score) in one number: the dense rank of reached outweighs any rank of score in the group
    order = pl.col(REACHED).rank("dense").over(UNIT) * (size + 1) + pl.col(ABSOLUTE).rank("average").over(UNIT)
    rank = order.rank("average").over(UNIT)
    lo, hi = pl.col(ABSOLUTE).min().over(UNIT), pl.col(ABSOLUTE).max().over(UNIT)
    return (
        table.with_columns(
            ((rank - 1) / (size - 1)).alias(RELATIVE),
            pl.when(hi > lo).then((pl.col(ABSOLUTE) - lo) / (hi - lo)).otherwise(1.0).alias("normalised"),
        )
        .drop("_b", "_h")
        .sort(UNIT, CONFIG)
    )


def group_kind(units: pl.Series) -> str:
    """What a group is, in words, from the unit names: "task x budget", "task x |h|" (a sweep given
    by |h|: "task @ h=16") or both."""
    by_hidden = units.str.contains(" @ h=", literal=True)
    if by_hidden.all():
        return "task x |h|"
    return "task x budget or |h|" if by_hidden.any() else "task x budget"


def _cap_below_further(table: pl.DataFrame) -> pl.DataFrame:
    """`score` of a config at most that of every config of its group that reached more epochs; the
    score as trained stays in `trained_score`."""
    table = table.with_columns(pl.col(ABSOLUTE).alias(TRAINED))
    if table[REACHED].n_unique() <= 1:
        return table  # trained alike (no schedule): nothing to cap
    further = (
        table.select(UNIT, pl.col(REACHED).alias("_r"), pl.col(ABSOLUTE).alias("_s"))
        .join(table.select(UNIT, REACHED).unique(), on=UNIT)
        .filter(pl.col("_r") > pl.col(REACHED))
        .group_by(UNIT, REACHED)
        .agg(pl.col("_s").min().alias("_cap"))
    )
    return (
        table.join(further, on=[UNIT, REACHED], how="left")
        .with_columns(pl.min_horizontal(ABSOLUTE, pl.col("_cap").fill_null(float("inf"))).alias(ABSOLUTE))
        .drop("_cap")
    )


def chance_level(score_name: str | None, output_dim: int) -> float:
    """What a model that learned nothing scores: 1/|y| classes for accuracy, 0 for r2."""
    return 1.0 / max(output_dim, 1) if score_name == "accuracy" else 0.0


NEAR_CHANCE_MARGIN = 0.05
"""A group is near chance when even its best config is within this of the chance level (score units)."""


def unit_info(table: pl.DataFrame) -> pl.DataFrame:
    """Per group: task, unit, n configs, the noise ceiling (seed-vs-seed Kendall tau, mean over seed
    pairs; NaN with one seed), the estimated ceiling against the group's seed mean and with one seed
    more (analysis.noise), the seeds every config has, the seed noise (median over configs of the
    std between seeds), best score, chance level and whether the group is near chance."""
    from scipy.stats import kendalltau

    from hpsweep.analysis.noise import seed_mean_ceiling

    rows = []
    for (unit,), g in table.group_by([UNIT], maintain_order=True):
        seeds = g["seed_scores"].to_list()
        n_common = min(len(s) for s in seeds)
        taus = []
        for a in range(n_common):
            for b in range(a + 1, n_common):
                t = kendalltau([s[a] for s in seeds], [s[b] for s in seeds])[0]
                taus.append(0.0 if not np.isfinite(t) else float(t))
        stds = [float(np.std(s, ddof=1)) for s in seeds if len(s) > 1]
        chance = chance_level(g["score_name"][0] if "score_name" in g.columns else None, int(g["output_dim"][0]))
        best = float(g[ABSOLUTE].max())
        seed_tau = float(np.mean(taus)) if taus else float("nan")
        rows.append(
            {
                "unit": unit,
                "task": g[GROUP][0],
                "n_configs": g.height,
                "ceiling_tau": seed_tau,
                "n_seeds": n_common,
                "ceiling_mean_tau": seed_mean_ceiling(seed_tau, n_common),
                "ceiling_next_seed": seed_mean_ceiling(seed_tau, n_common + 1),
                "seed_noise": float(np.median(stds)) if stds else 0.0,
                "best": best,
                "chance": chance,
                "near_chance": best <= chance + NEAR_CHANCE_MARGIN,
            }
        )
    return pl.DataFrame(rows)


def near_chance_tasks(info: pl.DataFrame) -> set[str]:
    """Tasks whose every group is near chance (from unit_info): left out of the held-out means."""
    return set(info.group_by("task").agg(pl.col("near_chance").all()).filter(pl.col("near_chance"))["task"].to_list())
