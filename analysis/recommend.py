"""Recommend densities for a data set's dims and a weight budget, before training (issue 5, item 6).

Candidates: every structure code (64) at base densities 0.05, 0.1, 0.2 and 0.5, uniform
densities 0.05 ... 0.8, the dense model, and random draws as a random-search sweep makes them
(PAPER.md §5). Each gets |h| from the budget through workers.descriptors.describe(); the saved
meta-model chosen by analyze (lowest held-out regret) predicts its score; the band is that
prediction plus the 5% / 95% quantiles of the model's residuals on held-out tasks.

Refusals (AnalysisError): results with fewer than MIN_TASKS tasks, and dims or a budget "far"
outside what was swept: below min / FAR_FACTOR or above max x FAR_FACTOR of the swept values,
per coordinate (|x|, |y|, budget), i.e. more than ln(FAR_FACTOR) beyond the swept box in log space.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from hpsweep.analysis.analyze import MIN_TASKS
from hpsweep.analysis.features import feature_exprs
from hpsweep.workers.descriptors import BLOCKS, Densities, describe
from hpsweep.workers.errors import AnalysisError, DescriptorError

FAR_FACTOR = 2.0
"""How far beyond the swept range (as a ratio) recommend still answers."""
BASES = (0.05, 0.1, 0.2, 0.5)
UNIFORM = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)


def candidates(n_random: int = 500, seed: int = 0) -> list[tuple[str, Densities]]:
    """(label, densities) of every candidate config, duplicates removed."""
    # named families first, so a code that equals the dense or a uniform model keeps that name
    out = [("dense", (1.0,) * 6)]
    out += [(f"uniform {d:g}", (d,) * 6) for d in UNIFORM]
    for base in BASES:
        for i in range(64):
            code = format(i, "06b")
            out.append((f"code {code} base {base:g}", Densities.from_code(code, base).as_tuple()))
    rng = np.random.default_rng(seed)
    for i, row in enumerate(np.clip(np.abs(rng.normal(0.5, 0.25, size=(n_random, 6))), 0.02, 1.0)):
        out.append((f"random {i}", tuple(float(round(v, 2)) for v in row)))
    seen, unique = set(), []
    for label, d in out:
        if d not in seen:
            seen.add(d)
            unique.append((label, Densities(*d)))
    return unique


def check_support(bundle: dict, input_dim: int, output_dim: int, budget: float) -> None:
    """Raise AnalysisError when the saved results cannot support a recommendation here."""
    if bundle["n_tasks"] < MIN_TASKS:
        raise AnalysisError(f"the results hold {bundle['n_tasks']} task(s); recommend needs at least {MIN_TASKS}: "
                            f"sweep more tasks")
    swept = bundle["swept"]
    for name, value in (("input_dim", input_dim), ("output_dim", output_dim), ("budget", budget)):
        lo, hi = swept[name]
        if value < lo / FAR_FACTOR or value > hi * FAR_FACTOR:
            raise AnalysisError(
                f"{name} {value:g} is far outside the swept range {lo:g}..{hi:g} (more than {FAR_FACTOR:g}x "
                f"beyond it); the meta-models would extrapolate: sweep tasks nearer to it first")


def _design(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows).with_columns(*feature_exprs())


def recommend(bundle: dict, input_dim: int, output_dim: int, budget: float, *, top: int = 5,
              seq_len: int | None = None, n_train: int | None = None, lr: float | None = None,
              epochs: int | None = None, n_random: int = 500, seed: int = 0) -> pl.DataFrame:
    """The `top` candidate configs by predicted score, best first.

    Args:
        bundle: saved meta-models (analysis.saved.load_or_fit).
        input_dim, output_dim, budget: the new data set's dims and the trainable-weight budget.
        top: how many configs to return.
        seq_len, n_train, lr, epochs: the planned setting; None = the median of the swept trials.

    Returns:
        One row per config: rank, config, d_hx..d_yy, hidden, total_weights, hidden_proportion,
        predicted, low, high.

    Raises:
        AnalysisError: too few tasks, dims or budget far outside the swept range, or no candidate
        fits the budget.
        DescriptorError: bad dims or budget.
    """
    describe(input_dim, output_dim, Densities.uniform(1.0), hidden=1)  # validates the dims
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
        raise DescriptorError(f"budget must be a positive number of weights; got {budget!r}")
    if top < 1:
        raise AnalysisError(f"top must be at least 1; got {top}")
    check_support(bundle, input_dim, output_dim, budget)
    med = bundle["swept"]["medians"]
    setting = {
        "seq_len": seq_len or round(float(np.exp(med["log_seq_len"]))),
        "n_train": n_train or round(float(np.exp(med["log_n_train"]))),
        "lr": lr or float(10 ** med["log10_lr"]),
        "epochs": epochs or round(med["epochs"]),
    }
    rows = []
    for label, d in candidates(n_random, seed):
        try:
            m = describe(input_dim, output_dim, d, budget=budget)
        except DescriptorError:
            continue  # this config cannot fit the budget at these dims
        rows.append({"config": label, **m.to_dict(), **setting})
    if not rows:
        raise AnalysisError(f"no candidate config fits budget {budget:g} at input_dim={input_dim}, "
                            f"output_dim={output_dim}; raise the budget")
    df = _design(rows)
    name = bundle["chosen"]
    with threadpool_limits(limits=1):
        predicted = bundle["fitted"][name].predict(df.select(bundle["features"][name]).to_numpy())
    low, high = bundle["bands"][name]
    return (
        df.with_columns(predicted=pl.Series(predicted), low=pl.Series(predicted + low), high=pl.Series(predicted + high))
        .sort("predicted", descending=True)
        .head(top)
        .with_row_index("rank", offset=1)
        .select("rank", "config", *[f"d_{b}" for b in BLOCKS], "hidden", "total_weights", "hidden_proportion",
                "predicted", "low", "high")
    )
