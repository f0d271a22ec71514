"""How well recommend's order held up on held-out tasks like the one asked about.

The held-out Kendall tau that `quality_line` reports is a mean over very different tasks. On
meta-wide the chosen model ordered held-out regressions at tau 0.85 and input-heavy classifications
(|x| >= 500) at 0.82, but classifications with |x| < 500 at 0.23: one number overstates the order
for the last and understates it for the rest. So recommend also reports the held-out metrics of the
NEARBY_GROUPS task x budget groups nearest the request, in the space the `nearest` meta-model uses
(ln|x|, ln|y|, ln budget, ln sequence length, kind; standardised over the groups). A request without
a kind is compared on the other four.

Checked (docs/findings.md §6): leave one task out on meta-wide, from the other tasks' groups, it
tracked each task's own tau with Spearman 0.80 (split_by_warning; `analyze` prints it), and on the 13 unseen tasks
of research.verify_wide also 0.80, missing by 0.17 on average where the overall mean missed by
0.28. The unseen tasks it did not warn about (9) were ordered at tau 0.87, those it warned about (4)
at 0.21.

Data: the chosen model's leave-one-task-out metrics per group (analysis.evaluate.unit_metrics),
near-chance tasks left out as from every other mean. Saved in the bundle as plain rows.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import polars as pl
from scipy.stats import ConstantInputWarning, spearmanr

from hpsweep.analysis.evaluate import bootstrap_interval
from hpsweep.analysis.features import CLASSIFICATION, GROUP
from hpsweep.analysis.metamodels import NEAREST_FEATURES
from hpsweep.analysis.metatable import UNIT

NEARBY_GROUPS = 5
"""How many held-out groups describe a request's neighbourhood; set before the unseen check (3 and 8
tracked the unseen tau about as well: Spearman 0.83 and 0.79)."""
METRICS = ("kendall", "regret1", "regret5")


def held_out_groups(table: pl.DataFrame, units: pl.DataFrame, excluded: set[str]) -> list[dict]:
    """Per group of the non-excluded tasks: task, unit, NEAREST_FEATURES and the held-out METRICS
    (units: the chosen model's analysis.evaluate.unit_metrics, leave one task out)."""
    metrics = units.filter(~pl.col("task").is_in(sorted(excluded)))
    features = table.group_by(UNIT).agg(*[pl.col(f).first().cast(pl.Float64) for f in NEAREST_FEATURES])
    return metrics.select("task", "unit", *METRICS).join(features, on=UNIT).sort(GROUP, UNIT).to_dicts()


def request_features(bundle: dict, input_dim: int, output_dim: int, budget: float, seq_len, kind) -> dict:
    """A request in NEAREST_FEATURES terms; the median swept length without one, no kind without one."""
    log_seq = math.log(seq_len) if seq_len else bundle["swept"]["medians"]["log_seq_len"]
    out = {
        "log_input_dim": math.log(input_dim),
        "log_output_dim": math.log(output_dim),
        "log_budget": math.log(budget),
        "log_seq_len": log_seq,
    }
    if kind is not None:
        out[CLASSIFICATION] = float(kind == "classification")
    return out


def _nearest(groups: list[dict], request: dict) -> dict:
    """{k, kendall, kendall_range, regret1, regret5, families, groups} of the NEARBY_GROUPS groups nearest
    the request (its keys: the features compared, standardised over these groups)."""
    names = list(request)
    X = np.array([[g[f] for f in names] for g in groups], dtype=float)
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1.0
    q = (np.array([request[f] for f in names]) - mean) / std
    order = np.argsort(np.linalg.norm((X - mean) / std - q, axis=1), kind="stable")
    near = [groups[i] for i in order[:NEARBY_GROUPS]]
    values = {m: np.array([g[m] for g in near], dtype=float) for m in METRICS}
    return {
        "k": len(near),
        "kendall": float(np.nanmean(values["kendall"])),
        "kendall_range": [float(np.nanmin(values["kendall"])), float(np.nanmax(values["kendall"]))],
        "regret1": float(np.nanmean(values["regret1"])),
        "regret5": float(np.nanmean(values["regret5"])),
        "families": _families(g["task"] for g in near),
        "groups": [g["unit"] for g in near],
    }


def warns(kendall: float, overall: dict) -> bool:
    """Whether recommend tells the user to train the top five: the nearby tau is below the lower end of
    the model's overall held-out interval."""
    return bool(kendall < (overall.get("ci90") or [math.nan])[0])


def nearby(bundle: dict, input_dim: int, output_dim: int, budget: float, *, seq_len=None, kind=None) -> dict | None:
    """{k, kendall, kendall_range, regret1, regret5, families, groups, warned, sentence} over the held-out
    groups nearest the request; None from a bundle saved without them. warned: see warns()."""
    groups = bundle.get("held_out_groups")
    if not groups:
        return None
    out = _nearest(groups, request_features(bundle, input_dim, output_dim, budget, seq_len, kind))
    overall = bundle["models"][bundle["chosen"]]["loto"].get("kendall", {})
    out["warned"] = warns(out["kendall"], overall)
    return out | {"sentence": sentence(out, overall)}


def split_by_warning(groups: list[dict], overall: dict, seed: int = 0) -> dict:
    """What the warning tells apart, held out: each task asked about as if new (its groups' features
    and kind as the request; the neighbours from the other tasks' groups only). warned: the tasks
    recommend would warn about at any of their budgets. Returns {spearman, error, overall_error,
    warned, not_warned} (each part: {n_tasks} and, per METRIC, {mean, ci90} over tasks; spearman None
    where either side is constant); {} with too few tasks to judge one by the others."""
    tasks = sorted({g["task"] for g in groups})
    if len(tasks) < 3 or not overall:
        return {}
    rows = []
    for task in tasks:
        mine = [g for g in groups if g["task"] == task]
        others = [g for g in groups if g["task"] != task]
        near = [_nearest(others, {f: g[f] for f in NEAREST_FEATURES})["kendall"] for g in mine]
        own = {m: float(np.nanmean([g[m] for g in mine])) for m in METRICS}
        rows.append({"near": float(np.mean(near)), "warned": any(warns(k, overall) for k in near), **own})
    tau, near = np.array([r["kendall"] for r in rows]), np.array([r["near"] for r in rows])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)  # every tau alike: no order to track
        rho = float(spearmanr(near, tau)[0])
    return {
        "spearman": rho if math.isfinite(rho) else None,
        "error": float(np.abs(near - tau).mean()),
        "overall_error": float(np.abs(overall["mean"] - tau).mean()),
        "warned": _part([r for r in rows if r["warned"]], seed),
        "not_warned": _part([r for r in rows if not r["warned"]], seed),
    }


def _part(rows: list[dict], seed: int) -> dict:
    out: dict = {"n_tasks": len(rows)}
    for m in METRICS:
        values = np.array([r[m] for r in rows], dtype=float)
        if len(values):
            out[m] = {"mean": float(values.mean()), "ci90": list(bootstrap_interval(values, seed=seed))}
    return out


def _families(tasks) -> dict[str, int]:
    """Task family (the name before its parameters) -> how many of the groups."""
    counts: dict[str, int] = {}
    for t in tasks:
        family = re.match(r"[^(]*", t).group(0) or t
        counts[family] = counts.get(family, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def sentence(near: dict, overall: dict) -> str:
    """One plain paragraph: the local tau and regrets, and what to do where the order is weak (warned)."""
    families = ", ".join(f"{n} {f}" for f, n in near["families"].items())
    lo, hi = near["kendall_range"]
    text = (
        f"near this request: on the {near['k']} held-out task x budget groups nearest it ({families}) the "
        f"order agreed with the measured one at Kendall tau {near['kendall']:.2f} ({lo:.2f}..{hi:.2f}); "
        f"the top pick's regret was {near['regret1']:.2f} and the best of the top five's {near['regret5']:.2f} "
        "(0 = the best config, 1 = the worst)."
    )
    if near["warned"]:
        text += (
            f" That is below the model's held-out tau overall ({overall['mean']:.2f}): here, train the top "
            "five and keep the best rather than trusting the order."
        )
    return text
