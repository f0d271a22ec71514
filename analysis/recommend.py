"""Recommend densities for a data set's dims and a weight budget, before training (issues 5, 11).

Candidates: the shared candidate set the results swept (configs evaluated on at least half the
tasks), or, for results without one, every structure code at bases 0.05 / 0.1 / 0.2 / 0.5, uniform
densities 0.05 ... 0.8, dense and 500 random draws (docs/method.md §5). Each gets |h| from the budget
through workers.descriptors.describe(); the meta-model analyze chose (best held-out Kendall tau)
orders them.

What is shown, whatever the model: the predicted standing (where the model places the config among
these candidates: 0 = the last, 1 = the first) and a band: the 5%..95% of the actual standing that
configs placed this high by the model reached on held-out tasks. A score model also gives its
predicted score (`score`) with the 5%..95% of its held-out residuals added (`score_low`,
`score_high`), clipped to the score's possible range (accuracy in [0, 1], r2 <= 1): a new task's
score level is what meta-models predict worst, so the standing leads.

Refusals (AnalysisError): fewer than MIN_TASKS tasks; a non-positive setting; a value of a feature
(|x|, |y|, budget, sequence length, training size) that the results cannot answer for. Inside the
swept range of every feature the meta-models interpolate; each feature is also answered up to
FAR_FACTOR beyond it (from min / FAR_FACTOR to max x FAR_FACTOR, whole numbers for the integer
features). A refusal names the feature, the value, the swept range and the nearest value answered.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from hpsweep.analysis.analyze import MIN_TASKS
from hpsweep.analysis.dense_gain import DENSE, dense_verdict
from hpsweep.analysis.features import feature_exprs
from hpsweep.analysis.metatable import CONFIG, RELATIVE, config_key
from hpsweep.workers.descriptors import BLOCKS, Densities, describe
from hpsweep.workers.errors import AnalysisError, DescriptorError

FAR_FACTOR = 2
"""How far beyond the swept range (as a ratio) recommend still answers: min / 2 .. max x 2."""
INTEGER_FEATURES = ("input_dim", "output_dim", "seq_len", "n_train")
"""Compared as integers: a swept bound saved as exp(ln n) (older bundles) is a hair off n, and
n_train 1000 against a swept 500 was refused as 'more than 2x beyond' 499.99999999999983."""
BASES = (0.05, 0.1, 0.2, 0.5)
UNIFORM = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
MIN_SHARED = 5
"""Fewer shared configs than this and the results have no candidate set: recommend generates one."""


class Recommendation(pl.DataFrame):
    """recommend's table, a Polars DataFrame, with the verdict against dense beside it in `.verdict` and
    how the order held up near the request in `.nearby` (a frame derived from it has None there)."""

    verdict: dict | None = None
    nearby: dict | None = None


def label_of(d: tuple[float, ...]) -> str:
    """dense, uniform 0.2, code 011001 base 0.05, or the six densities."""
    if all(v == 1.0 for v in d):
        return "dense"
    if len(set(d)) == 1:
        return f"uniform {d[0]:g}"
    low = {v for v in d if v != 1.0}
    if len(low) == 1:
        return f"code {''.join('1' if v == 1.0 else '0' for v in d)} base {low.pop():g}"
    return "draw"  # a random draw: its densities are shown beside it


def candidates(n_random: int = 500, seed: int = 0) -> list[tuple[str, Densities]]:
    """(label, densities) of every generated candidate config, duplicates removed."""
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


def candidate_set(bundle: dict) -> list[tuple[str, Densities]]:
    shared = bundle["swept"].get("configs", [])
    if len(shared) < MIN_SHARED:
        return candidates()
    return [(label_of(d), Densities(*d)) for d in (tuple(float(v) for v in c.split(",")) for c in shared)]


def check_settings(**settings) -> None:
    """Refuse a non-positive (or non-finite) planned setting: it would make NaN features."""
    for name, value in settings.items():
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise AnalysisError(
                f"--{name.replace('_', '-')} must be a positive number; got {value!r}: "
                f"give the value you will train with, or leave it out"
            )


def check_request(input_dim, output_dim, budget, *, top=5, kind=None, **settings) -> None:
    """Refuse what no results could answer (bad dims, budget, top, kind or settings), before any fitting.

    Raises:
        DescriptorError: bad dims or budget. AnalysisError: bad top or setting.
    """
    describe(input_dim, output_dim, Densities.uniform(1.0), hidden=1)  # validates the dims
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0 or not math.isfinite(budget):
        raise DescriptorError(f"budget must be a positive number of weights; got {budget!r}")
    if top < 1:
        raise AnalysisError(f"--top must be at least 1; got {top}")
    if kind is not None and kind not in KINDS:
        raise AnalysisError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    check_settings(**settings)


def _exact(name: str, value: float) -> float:
    """A swept bound as compared: an integer feature as an int, a budget to 12 significant digits
    (both undo the drift of a bound saved as exp(ln v))."""
    return int(round(value)) if name in INTEGER_FEATURES else float(f"{value:.12g}")


def _num(value: float) -> str:
    """A value as a user typed it: 1000, 62500.5, never 1e+03."""
    return str(int(value)) if float(value).is_integer() else f"{value:.12g}"


def answered_range(name: str, lo: float, hi: float) -> tuple[float, float]:
    """The values of a feature swept over lo..hi that recommend answers for (exact at both edges)."""
    lo, hi = _exact(name, lo), _exact(name, hi)
    if name in INTEGER_FEATURES:
        return -(-lo // FAR_FACTOR), hi * FAR_FACTOR  # the whole numbers n with n x 2 >= lo and n <= hi x 2
    return lo / FAR_FACTOR, hi * FAR_FACTOR  # halving and doubling are exact in binary floating point


def check_support(bundle: dict, **values) -> None:
    """Raise AnalysisError when the saved results cannot support a recommendation here."""
    if bundle["n_tasks"] < MIN_TASKS:
        raise AnalysisError(
            f"the results hold {bundle['n_tasks']} task(s); recommend needs at least {MIN_TASKS}: sweep more tasks"
        )
    swept = bundle["swept"]
    for name, value in values.items():
        if value is None or name not in swept:
            continue
        low, high = answered_range(name, *swept[name])
        if low <= value <= high:
            continue
        edge, side = (low, "down to") if value < low else (high, "up to")
        lo, hi = (_exact(name, v) for v in swept[name])
        raise AnalysisError(
            f"{name} {_num(value)} is outside what the results can answer for (swept {_num(lo)}..{_num(hi)}; "
            f"answers {side} {_num(edge)}): the nearest it answers for is {name}={_num(edge)}; "
            f"sweep tasks nearer to {_num(value)} to go further"
        )


KINDS = ("classification", "regression")


def score_names_for(bundle: dict, kind: str | None) -> list[str]:
    """The score names a request of this kind is predicted under: accuracy for a classification, the
    other scores the results hold (r2, returns) for a regression, every one of them without a kind.
    A kind the results never swept is outside what they can answer for."""
    held = list(bundle["swept"].get("score_names") or []) or ["r2"]
    if kind is None:
        return held
    names = [n for n in held if (n == "accuracy") == (kind == "classification")]
    if not names:
        raise AnalysisError(
            f"the results hold no {kind} task (their scores: {', '.join(held)}): recommend cannot answer for one; "
            f"leave out the kind, or sweep {kind} tasks"
        )
    return names


def _bounds(score_names: list[str]) -> tuple[float, float]:
    """The score's possible range: r2 <= 1 (no floor), accuracy in [0, 1]."""
    return (0.0 if set(score_names) == {"accuracy"} else -math.inf), 1.0


def recommend(
    bundle: dict,
    input_dim: int,
    output_dim: int,
    budget: float,
    *,
    top: int = 5,
    seq_len: int | None = None,
    n_train: int | None = None,
    lr: float | None = None,
    epochs: int | None = None,
    kind: str | None = None,
) -> pl.DataFrame:
    """The `top` candidate configs, best first (recommend_with_verdict's table).

    Returns:
        One row per config: rank, config, d_hx..d_yy, hidden, total_weights, hidden_proportion,
        predicted, low, high (predicted standing and its band) and, from a score model, score,
        score_low, score_high (see the module doc).

    Raises:
        AnalysisError: too few tasks, a non-positive setting, values far outside the swept range,
        or no candidate fits the budget.
        DescriptorError: bad dims or budget.
    """
    return recommend_with_verdict(
        bundle,
        input_dim,
        output_dim,
        budget,
        top=top,
        seq_len=seq_len,
        n_train=n_train,
        lr=lr,
        epochs=epochs,
        kind=kind,
    )[0]


def recommend_with_verdict(
    bundle: dict,
    input_dim: int,
    output_dim: int,
    budget: float,
    *,
    top: int = 5,
    seq_len: int | None = None,
    n_train: int | None = None,
    lr: float | None = None,
    epochs: int | None = None,
    kind: str | None = None,
) -> tuple[pl.DataFrame, dict]:
    """(recommend's table, the verdict against dense: {gain, low, high, score_name, sentence, config},
    analysis/dense_gain.py; the numbers are None and the sentence says why when there is none).
    kind: "classification" or "regression" (score_names_for); None: the kinds the results hold, the
    predictions averaged over them."""
    check_request(
        input_dim, output_dim, budget, top=top, kind=kind, seq_len=seq_len, n_train=n_train, lr=lr, epochs=epochs
    )
    check_support(bundle, input_dim=input_dim, output_dim=output_dim, budget=budget, seq_len=seq_len, n_train=n_train)
    med = bundle["swept"]["medians"]
    setting = {
        "seq_len": seq_len or round(float(np.exp(med["log_seq_len"]))),
        "n_train": n_train or round(float(np.exp(med["log_n_train"]))),
        "lr": lr or float(10 ** med["log10_lr"]),
        "epochs": epochs or round(med["epochs"]),
    }
    score_names = score_names_for(bundle, kind)
    rows = []
    for label, d in candidate_set(bundle):
        try:
            m = describe(input_dim, output_dim, d, budget=budget)
        except DescriptorError:
            continue  # this config cannot fit the budget at these dims
        rows.append({"label": label, **m.to_dict(), **setting, "score_name": score_names[0]})
    if not rows:
        raise AnalysisError(
            f"no candidate config fits budget {budget:g} at input_dim={input_dim}, "
            f"output_dim={output_dim}; raise the budget"
        )
    df = pl.DataFrame(rows).with_columns(config_key())
    model = bundle["fitted"][bundle["chosen"]]
    with threadpool_limits(limits=1):  # one prediction per kind asked about, averaged
        raw = np.mean(
            [model.predict(df.with_columns(pl.lit(n).alias("score_name"), *feature_exprs())) for n in score_names],
            axis=0,
        )
    df = df.with_columns(*feature_exprs())
    # where the model places each candidate among these candidates: 0 = last, 1 = first
    order = pl.Series(raw).rank("average").to_numpy()
    predicted = (order - 1) / max(len(raw) - 1, 1)
    bins = bundle["band"]["bins"]
    which = np.minimum((predicted * len(bins)).astype(int), len(bins) - 1)
    shown = {"predicted": predicted, "low": [bins[i][0] for i in which], "high": [bins[i][1] for i in which]}
    if model.target != RELATIVE:
        lo, hi = _bounds(score_names)
        r_lo, r_hi = bundle["band"]["residual"]
        shown |= {
            "score": np.clip(raw, lo, hi),
            "score_low": np.clip(raw + r_lo, lo, hi),
            "score_high": np.clip(raw + r_hi, lo, hi),
        }
    ranked = df.with_columns(_raw=pl.Series(raw), **{k: pl.Series(v, dtype=pl.Float64) for k, v in shown.items()}).sort(
        ["_raw", "label"], descending=[True, False]
    )
    sparse = ranked.filter(pl.col(CONFIG) != DENSE)
    has_dense = any(d.as_tuple() == (1.0,) * 6 for _, d in candidate_set(bundle))
    verdict = dense_verdict(
        bundle,
        ranked.row(0, named=True),
        sparse["label"][0] if sparse.height else None,
        None
        if ranked.height > sparse.height
        else "the dense model does not fit this budget at these dims"
        if has_dense
        else "the candidate set has no dense model",
        score_names,
    )
    table = (
        ranked.head(top)
        .with_row_index("rank", offset=1)
        .select(
            "rank",
            pl.col("label").alias("config"),
            *[f"d_{b}" for b in BLOCKS],
            "hidden",
            "total_weights",
            "hidden_proportion",
            *shown,
        )
    )
    return table, verdict


def quality_line(bundle: dict) -> str:
    """One line: how the model recommend uses did on held-out tasks, and what it learned from."""
    key = bundle["chosen"]
    loto = bundle["models"][key]["loto"]
    tau, regret = loto.get("kendall", {}), loto.get("regret1", {})
    dense = bundle.get("baselines", {}).get("always-dense", {}).get("regret1", {})
    ceiling = bundle.get("ceiling", {}).get("mean", float("nan"))
    ci = tau.get("ci90", [float("nan")] * 2)
    agree = f"seeds agree to {ceiling:.2f}" if math.isfinite(ceiling) else "one seed: no noise ceiling"
    return (
        f"model {key}: on {loto.get('n_tasks', 0)} held-out tasks Kendall tau {tau.get('mean', float('nan')):.2f} "
        f"(90% CI {ci[0]:.2f}..{ci[1]:.2f}; {agree}), median top-pick regret "
        f"{regret.get('median', float('nan')):.2f} (always-dense {dense.get('median', float('nan')):.2f}); "
        f"learned from {bundle['n_tasks']} tasks"
    )
