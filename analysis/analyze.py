"""The whole analysis of a results root: the meta-dataset, every meta-model on both
targets evaluated leave-one-task-out and on a held-out region of the (|x|, |y|) plane, the
baselines a user has without hpsweep, the noise ceiling, the learning curve, the balance-metric
ranking, and final models fitted on every task for recommend. `hpsweep analyze` is a thin shell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from hpsweep.analysis import metatable
from hpsweep.analysis.balance import rank_balance_metrics
from hpsweep.analysis.curve import learning_curve
from hpsweep.analysis.dense_gain import fit_dense_gain, summary
from hpsweep.analysis.evaluate import (
    BASELINES,
    bootstrap_interval,
    held_out,
    loto_folds,
    per_task,
    region_folds,
    residual_band,
    standing_band,
    summarise,
    unit_metrics,
)
from hpsweep.analysis.features import GROUP, per_task_sample, with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metamodels import ABOUT, all_models, coefficients, model_named
from hpsweep.analysis.nearby import held_out_groups, split_by_warning
from hpsweep.analysis.too_few import too_few_tasks
from hpsweep.workers.errors import AnalysisError

MIN_TASKS = 3
"""Leave-one-task-out needs tasks to hold out and tasks to learn from; fewer than 3 says nothing."""
FEW_TASKS = 8
"""Below this many tasks the held-out metrics rest on a few folds each fit on a few dims: said aloud."""


@dataclass
class AnalysisOptions:
    """What to analyse and how much of it to fit on."""

    sweeps: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("ok",)
    max_rows_per_task: int = 4_000
    """Trial rows per task read into the meta-dataset (a seeded sample; a shared candidate set
    at a few budgets, lrs and seeds stays far below it)."""
    seed: int = 0
    filters_hint: str = "--sweep/--task/--status"
    """The filter flags the calling command has, named in the too-few-tasks message."""
    curve: bool = True
    """Compute the learning curve (the slowest part after the main evaluation)."""

    def key(self) -> dict:
        return {
            "sweeps": sorted(self.sweeps),
            "tasks": sorted(self.tasks),
            "statuses": sorted(self.statuses),
            "max_rows_per_task": self.max_rows_per_task,
            "seed": self.seed,
        }


@dataclass
class AnalysisResult:
    n_rows: int  # scored trials read
    n_rows_used: int  # trials in the meta-dataset (after the per-task sample)
    tasks: list[str]
    excluded: list[str]  # near-chance tasks left out of every mean
    models: dict[str, dict]  # "name/target" -> {about, loto, region, fit_rows}
    baselines: dict[str, dict]
    ceiling: dict  # seed-vs-seed Kendall tau over tasks
    per_task: pl.DataFrame  # model, task, metrics (leave-one-task-out)
    curve: pl.DataFrame
    chosen: str
    band: dict  # {"kind": "standing" | "score", "bins": [[lo, hi] x 10]}, plus "residual": [lo, hi] for a score model
    paper_coefficients: dict[str, dict[str, float]]
    ranking: pl.DataFrame
    ranking_per_task: pl.DataFrame
    swept: dict
    table: pl.DataFrame = field(repr=False)  # the meta-dataset with held-out predictions, for plots
    fitted: dict = field(repr=False, default_factory=dict)  # "name/target" -> MetaModel fitted on all tasks
    gain: dict = field(repr=False, default_factory=dict)  # the verdict against dense (analysis/dense_gain.py)
    held_out_groups: list = field(repr=False, default_factory=list)  # the chosen model per group (analysis/nearby.py)
    warning_split: dict = field(repr=False, default_factory=dict)  # what recommend's warning tells apart (nearby.py)

    def warnings(self) -> list[str]:
        out = []
        if len(self.tasks) < FEW_TASKS:
            out.append(
                f"only {len(self.tasks)} tasks: every held-out metric rests on {len(self.tasks)} folds fit on "
                f"{len(self.tasks) - 1} tasks' dims and is rough; sweep {FEW_TASKS}+ tasks for firm answers"
            )
        if self.excluded:
            out.append(
                f"{len(self.excluded)} near-chance task(s) left out of the means (even their best config is "
                f"within {metatable.NEAR_CHANCE_MARGIN:g} of chance): {', '.join(self.excluded)[:300]}"
            )
        stopped = self.stopped_share()
        if stopped:
            out.append(
                f"{stopped:.0%} of the configs were stopped by successive halving and are ranked by partial "
                "training: on the 30 `meta` tasks, meta-models learned from a halving sweep ordered held-out "
                "tasks 0.05-0.07 Kendall tau less well than from the full sweep (docs/sweep.md, 'Analysis "
                "from a halving sweep')"
            )
        return out

    def stopped_share(self) -> float:
        """Share of the meta-dataset's configs that trained fewer epochs than the furthest of their group."""
        reached = self.table[metatable.REACHED]
        furthest = self.table.select(pl.col(metatable.REACHED).max().over(metatable.UNIT)).to_series()
        return float((reached < furthest).mean()) if self.table.height else 0.0

    def metrics(self) -> dict:
        """Everything a person or a script reads, as plain JSON-able values (keys: docs/analysis.md)."""
        return {
            "n_rows": self.n_rows,
            "n_rows_used": self.n_rows_used,
            "n_tasks": len(self.tasks),
            "n_groups": self.table[metatable.UNIT].n_unique(),
            "group_kind": metatable.group_kind(self.table[metatable.UNIT]),
            "n_configs": self.table[metatable.CONFIG].n_unique(),
            "excluded_tasks": self.excluded,
            "models": self.models,
            "baselines": self.baselines,
            "ceiling": self.ceiling,
            "chosen_model": self.chosen,
            "band": self.band,
            "per_task": self.per_task.to_dicts(),
            "learning_curve": self.curve.to_dicts(),
            "paper_coefficients": self.paper_coefficients,
            "balance_ranking": self.ranking.to_dicts(),
            "balance_per_task": self.ranking_per_task.to_dicts(),
            "swept": self.swept,
            "dense_gain": summary(self.gain),
            "warning_split": self.warning_split,
            "warnings": self.warnings(),
        }


def _swept(table: pl.DataFrame) -> dict:
    counts = table.group_by(metatable.CONFIG).agg(pl.col(GROUP).n_unique().alias("n"))
    n_tasks = table[GROUP].n_unique()
    shared = sorted(counts.filter(pl.col("n") * 2 >= n_tasks)[metatable.CONFIG].to_list())
    budget = table.select(pl.coalesce(pl.col("budget").cast(pl.Float64), pl.col("log_budget").exp())).to_series()
    return {
        "input_dim": [int(table["input_dim"].min()), int(table["input_dim"].max())],
        "output_dim": [int(table["output_dim"].min()), int(table["output_dim"].max())],
        # as swept, not exp(ln v): that drifts a hair below v (500 came back 499.99999999999983)
        "budget": [float(budget.min()), float(budget.max())],
        "seq_len": [round(float(np.exp(table["log_seq_len"].min()))), round(float(np.exp(table["log_seq_len"].max())))],
        "n_train": [round(float(np.exp(table["log_n_train"].min()))), round(float(np.exp(table["log_n_train"].max())))],
        "dims": sorted({(int(a), int(b)) for a, b in table.select("input_dim", "output_dim").unique().iter_rows()}),
        "medians": {c: float(table[c].median()) for c in ("log_seq_len", "log_n_train", "log10_lr", "epochs")},
        "configs": shared,  # the shared candidate set: configs evaluated on at least half the tasks
        "score_names": sorted({s for s in table["score_name"].to_list() if s}),
    }


def analyze(root, options: AnalysisOptions | None = None, *, with_ranking: bool = True) -> AnalysisResult:
    """Analyse the results under root. The fits run on one BLAS/OpenMP thread: the models are small and
    many, and on a busy 2-core machine two OpenMP threads made one boosted-trees fit 46x slower.

    Raises:
        StoreError: no or unreadable trial parts.
        AnalysisError: fewer than MIN_TASKS tasks with scored trials after filtering.
    """
    with threadpool_limits(limits=1):
        return _analyze(root, options or AnalysisOptions(), with_ranking)


def noise_ceiling(info: pl.DataFrame, excluded: set[str], seed: int) -> dict:
    """The seed-vs-seed tau over tasks (mean, median, ci90, n_tasks), and under `seed_mean` the
    estimated tau of the expected order against the seed-mean targets the models are judged on, at
    the seeds swept (`n_seeds`) and with one more (`next_seed`): analysis.noise. The tasks' means
    of their groups; near-chance tasks left out, as from every other mean."""
    columns = {"ceiling_tau": "seed", "ceiling_mean_tau": "mean", "ceiling_next_seed": "next"}
    tasks_df = (
        info.filter(~pl.col("task").is_in(sorted(excluded)))
        .group_by("task")
        .agg(*[pl.col(c).mean().alias(a) for c, a in columns.items()], pl.col("n_seeds").min())
    )

    def over_tasks(column: str) -> dict:
        values = tasks_df[column].to_numpy().astype(float)
        values = values[np.isfinite(values)]
        if not len(values):
            return {}
        lo, hi = bootstrap_interval(values, seed=seed)
        return {"mean": float(values.mean()), "median": float(np.median(values)), "ci90": [lo, hi]}

    seed_mean = over_tasks("mean")
    if seed_mean:
        seed_mean |= {"n_seeds": int(tasks_df["n_seeds"].min()), "next_seed": over_tasks("next")["mean"]}
    return over_tasks("seed") | {"n_tasks": tasks_df.height, "seed_mean": seed_mean}


def choose_model(models: dict) -> str:
    """The model recommend uses: the best mean held-out Kendall tau (leave-one-task-out); ties go to the
    lower median top-pick regret, then the name."""

    def key(k):
        loto = models[k]["loto"]
        return (
            -round(loto.get("kendall", {}).get("mean", -1.0), 6),
            round(loto.get("regret1", {}).get("median", 1.0), 6),
            k,
        )

    return min(models, key=key)


def recommend_band(table: pl.DataFrame, pred: np.ndarray, key: str) -> dict:
    """What recommend shows beside a pick, from the model's held-out predictions: for every model the
    band of standing that configs it placed this high reached (`bins`); for a score model also the
    5%..95% of its held-out residuals (`residual`), for the predicted score."""
    kind = metatable.RELATIVE if key.endswith(metatable.RELATIVE) else metatable.ABSOLUTE
    band = {"kind": kind, "bins": standing_band(table, pred)}
    if kind == metatable.ABSOLUTE:
        band["residual"] = list(residual_band(table[metatable.ABSOLUTE].to_numpy(), pred))
    return band


def _analyze(root, opt: AnalysisOptions, with_ranking: bool) -> AnalysisResult:
    lf = with_features(scan_trials(root, sweeps=opt.sweeps, tasks=opt.tasks, statuses=opt.statuses))
    n_rows = collect(lf.select(pl.len()), root).item()
    trials = collect(per_task_sample(lf, opt.max_rows_per_task, opt.seed), root)
    table = metatable.build(trials)
    tasks = sorted(table[GROUP].unique().to_list())
    if len(tasks) < MIN_TASKS:
        raise AnalysisError(too_few_tasks(root, opt, trials, table, MIN_TASKS))
    info = metatable.unit_info(table)
    excluded = metatable.near_chance_tasks(info)
    if len(excluded) == len(tasks):
        excluded = set()  # nothing would be left: report everything rather than nothing
    folds = {"loto": loto_folds(tasks), "region": region_folds(table)}
    models, per_task_rows, preds, loto_units = {}, [], {}, {}
    for model in all_models(opt.seed):
        entry = {"about": ABOUT[model.name]}
        for split, split_folds in folds.items():
            pred, fit_rows = held_out(lambda m=model: model_named(m.key, opt.seed), table, split_folds)
            units = unit_metrics(table, pred, info)
            tasks_df = per_task(units)
            entry[split] = summarise(tasks_df, excluded, opt.seed)
            entry[f"{split}_fit_rows"] = [min(fit_rows), max(fit_rows)]
            if split == "loto":
                preds[model.key], loto_units[model.key] = pred, units
                per_task_rows.append(tasks_df.select(pl.lit(model.key).alias("model"), pl.all()))
        models[model.key] = entry
    baselines = {}
    for name in BASELINES:
        tasks_df = per_task(unit_metrics(table, name, info))
        baselines[name] = summarise(tasks_df, excluded, opt.seed)
        per_task_rows.append(tasks_df.select(pl.lit(name).alias("model"), pl.all()))
    ceiling = noise_ceiling(info, excluded, opt.seed)
    chosen = choose_model(models)
    fitted = {m.key: m.fit(table) for m in all_models(opt.seed)}
    band = recommend_band(table, preds[chosen], chosen)
    curve_models = {
        k: (lambda k=k: model_named(k, opt.seed)) for k in dict.fromkeys([chosen, "gbt/score", "rank/standing"])
    }
    curve = learning_curve(table, info, curve_models, excluded, seed=opt.seed) if opt.curve else pl.DataFrame()
    if with_ranking:
        ranking, ranking_per_task = rank_balance_metrics(table, folds["loto"], seed=opt.seed)
    else:
        ranking = ranking_per_task = pl.DataFrame()
    groups = held_out_groups(table, loto_units[chosen], excluded)
    return AnalysisResult(
        n_rows=n_rows,
        n_rows_used=trials.height,
        tasks=tasks,
        excluded=sorted(excluded),
        models=models,
        baselines=baselines,
        ceiling=ceiling,
        per_task=pl.concat(per_task_rows, how="diagonal_relaxed"),
        curve=curve,
        chosen=chosen,
        band=band,
        paper_coefficients={t: coefficients(fitted[f"paper/{t}"]) for t in metatable.TARGETS},
        ranking=ranking,
        ranking_per_task=ranking_per_task,
        swept=_swept(table),
        table=table.with_columns(**{f"pred_{k}": v for k, v in preds.items()}),
        fitted=fitted,
        gain=fit_dense_gain(table, preds[chosen], dict(zip(info["unit"], info["seed_noise"]))),
        held_out_groups=groups,
        warning_split=split_by_warning(groups, models[chosen]["loto"].get("kendall", {}), opt.seed),
    )
