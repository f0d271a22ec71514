"""The whole analysis of a results root: load, features, leave-one-task-out evaluation of the
three meta-models, the balance-metric ranking, and final models fitted on every task for
recommend. `hpsweep analyze` is a thin shell around `analyze()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from hpsweep.analysis.balance import rank_balance_metrics
from hpsweep.analysis.evaluate import held_out_predictions, per_task_metrics, residual_band, summary
from hpsweep.analysis.features import GROUP, TARGET, per_task_sample, with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metamodels import META_MODELS, coefficients, spec_named
from hpsweep.workers.errors import AnalysisError

MIN_TASKS = 3
"""Leave-one-task-out needs tasks to hold out and tasks to learn from; fewer than 3 says nothing."""
FEW_TASKS = 8
"""Below this many tasks the held-out metrics rest on a few folds each fit on a few dims: said aloud."""


@dataclass
class AnalysisOptions:
    """What to analyse and how much of it to fit on."""

    sweeps: tuple[str, ...] = ()
    """Sweep ids to keep (empty = all)."""
    tasks: tuple[str, ...] = ()
    """Task names to keep (empty = all)."""
    statuses: tuple[str, ...] = ("ok",)
    """Final statuses to keep; diverged and failed trials have no score."""
    max_rows_per_task: int = 4_000
    """Rows per task the meta-models are fit and scored on (a random, seeded sample)."""
    max_fit_rows: int = 20_000
    """Rows a single cross-validation fold fits on, at most."""
    seed: int = 0

    def key(self) -> dict:
        return {"sweeps": sorted(self.sweeps), "tasks": sorted(self.tasks), "statuses": sorted(self.statuses),
                "max_rows_per_task": self.max_rows_per_task, "max_fit_rows": self.max_fit_rows, "seed": self.seed}


@dataclass
class AnalysisResult:
    """Metrics, per-task tables, held-out predictions and the final fitted meta-models."""

    n_rows: int
    n_rows_used: int
    tasks: list[str]
    models: dict[str, dict]  # name -> summary metrics
    per_task: pl.DataFrame  # model, task, n, r2, spearman, kendall, regret, best, picked
    ranking: pl.DataFrame  # balance metrics, best first
    ranking_per_task: pl.DataFrame
    paper_coefficients: dict[str, float]
    chosen: str  # the model recommend uses
    bands: dict[str, tuple[float, float]]  # model -> residual 5%/95%
    swept: dict  # ranges and training settings seen in the results
    data: pl.DataFrame = field(repr=False)  # the sample with held-out predictions, for plots
    fitted: dict = field(repr=False, default_factory=dict)  # model name -> fitted Pipeline

    def warnings(self) -> list[str]:
        if len(self.tasks) < FEW_TASKS:
            return [f"only {len(self.tasks)} tasks: every held-out metric rests on {len(self.tasks)} folds fit on "
                    f"{len(self.tasks) - 1} tasks' dims and is rough; sweep {FEW_TASKS}+ tasks for firm answers"]
        return []

    def metrics(self) -> dict:
        """Everything a person or a script reads, as plain JSON-able values."""
        return {
            "n_rows": self.n_rows, "n_rows_used": self.n_rows_used, "n_tasks": len(self.tasks),
            "models": self.models, "chosen_model": self.chosen,
            "bands": {k: list(v) for k, v in self.bands.items()},
            "per_task": self.per_task.to_dicts(),
            "balance_ranking": self.ranking.to_dicts(),
            "balance_per_task": self.ranking_per_task.to_dicts(),
            "paper_coefficients": self.paper_coefficients,
            "swept": self.swept, "warnings": self.warnings(),
        }


def _swept(df: pl.DataFrame, full: pl.DataFrame) -> dict:
    return {
        "input_dim": [int(full["input_dim"].min()), int(full["input_dim"].max())],
        "output_dim": [int(full["output_dim"].min()), int(full["output_dim"].max())],
        "budget": [float(np.exp(full["log_budget"].min())), float(np.exp(full["log_budget"].max()))],
        "dims": sorted({(int(a), int(b)) for a, b in df.select("input_dim", "output_dim").unique().iter_rows()}),
        "medians": {c: float(full[c].median()) for c in ("log_seq_len", "log_n_train", "log10_lr", "epochs")},
    }


def analyze(root, options: AnalysisOptions | None = None, *, with_ranking: bool = True) -> AnalysisResult:
    """Analyse the results under root (see _analyze). The fits run on one BLAS/OpenMP thread:
    the models are small and many, and on a busy 2-core machine two OpenMP threads made a
    15k-row gradient-boosting fit 46x slower (23.5 s against 0.51 s) by spinning on each other."""
    with threadpool_limits(limits=1):
        return _analyze(root, options, with_ranking=with_ranking)


def _analyze(root, options: AnalysisOptions | None = None, *, with_ranking: bool = True) -> AnalysisResult:
    """Analyse the results under root.

    Raises:
        StoreError: no or unreadable trial parts.
        AnalysisError: fewer than MIN_TASKS tasks with scored trials after filtering.
    """
    opt = options or AnalysisOptions()
    lf = with_features(scan_trials(root, sweeps=opt.sweeps, tasks=opt.tasks, statuses=opt.statuses))
    full = collect(lf.select(GROUP, "input_dim", "output_dim", "log_budget", "log_seq_len", "log_n_train",
                             "log10_lr", "epochs"), root)
    n_tasks = full[GROUP].n_unique()
    if n_tasks < MIN_TASKS:
        raise AnalysisError(
            f"the results under {root} hold scored trials of {n_tasks} task(s) after filtering; "
            f"the meta-models need at least {MIN_TASKS} tasks to hold one out: sweep more tasks or relax --sweep/--task/--status")
    df = collect(per_task_sample(lf, opt.max_rows_per_task, opt.seed), root)
    y, groups = df[TARGET].to_numpy(), df[GROUP].to_numpy()

    def X_of(features):
        return df.select(features).to_numpy()

    models, per_task, bands, preds, fitted = {}, [], {}, {}, {}
    for spec in META_MODELS:
        pred = held_out_predictions(spec, X_of(spec.features), y, groups, max_fit_rows=opt.max_fit_rows, seed=opt.seed)
        tasks = per_task_metrics(y, pred, groups)
        models[spec.name] = summary(y, pred, tasks)
        per_task.append(tasks.select(pl.lit(spec.name).alias("model"), pl.all()))
        bands[spec.name] = residual_band(y, pred)
        preds[spec.name] = pred
        fit_rows = np.random.default_rng(opt.seed).permutation(len(y))[: opt.max_fit_rows]
        fitted[spec.name] = spec.build(random_state=opt.seed).fit(X_of(spec.features)[fit_rows], y[fit_rows])
    if with_ranking:
        ranking, ranking_per_task = rank_balance_metrics(X_of, y, groups, max_fit_rows=opt.max_fit_rows, seed=opt.seed)
    else:
        ranking = ranking_per_task = pl.DataFrame()
    # recommend picks configs, so the model that picks best on held-out tasks is the one it uses
    chosen = min(("paper", "gbt"), key=lambda m: (models[m]["regret_mean"], -models[m]["spearman_mean"]))
    paper = spec_named("paper")
    return AnalysisResult(
        n_rows=full.height, n_rows_used=df.height, tasks=sorted(set(groups.tolist())), models=models,
        per_task=pl.concat(per_task), ranking=ranking, ranking_per_task=ranking_per_task,
        paper_coefficients=coefficients(fitted["paper"], paper.features), chosen=chosen, bands=bands,
        swept=_swept(df, full),
        data=df.with_columns(**{f"pred_{k}": v for k, v in preds.items()}), fitted=fitted,
    )
