"""The verdict of an analysis, in the words the HTML report and the dashboard both lead with.

Which meta-model recommend uses, how well it orders configs on held-out tasks (Kendall tau with
its 90% interval) against the noise ceiling (how well two seeds of the same configs agree), and
its top pick's regret against always building the dense model, and how often the interval of
recommend's verdict against dense (analysis/dense_gain.py) held on held-out tasks. Works on an AnalysisResult and
on the bundle `analyze` saves (both carry chosen, models, baselines and ceiling).
"""

from __future__ import annotations

import math
from typing import Any


def _get(summary: Any, name: str, default=None):
    return summary.get(name, default) if isinstance(summary, dict) else getattr(summary, name, default)


def _fmt(v, digits: int = 2) -> str:
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) and math.isfinite(v) else "n/a"


def verdict(summary: Any) -> dict:
    """{model, n_tasks, headline, items: [{label, value, note}]} of an AnalysisResult or saved bundle."""
    chosen = _get(summary, "chosen")
    loto = _get(summary, "models")[chosen]["loto"]
    tau = loto.get("kendall") or {}
    regret = loto.get("regret1") or {}
    ge_dense = loto.get("ge_dense") or {}
    dense = (_get(summary, "baselines") or {}).get("always-dense", {}).get("regret1") or {}
    ceiling = (_get(summary, "ceiling") or {}).get("mean", float("nan"))
    tasks = _get(summary, "n_tasks")
    n_tasks = len(_get(summary, "tasks")) if tasks is None else tasks
    ci = tau.get("ci90") or [float("nan")] * 2
    t_mean = tau.get("mean", float("nan"))
    share = t_mean / ceiling if math.isfinite(ceiling) and ceiling > 0 and math.isfinite(t_mean) else None
    r_med, d_med = regret.get("median", float("nan")), dense.get("median", float("nan"))
    if math.isfinite(r_med) and math.isfinite(d_med):
        than_dense = (
            "lower than" if r_med < d_med - 1e-12 else "the same as" if abs(r_med - d_med) <= 1e-12 else "higher than"
        )
        against_dense = f"its top pick's median regret {_fmt(r_med, 3)} is {than_dense} always-dense's {_fmt(d_med, 3)}"
    else:
        against_dense = f"its top pick's median regret is {_fmt(r_med, 3)}"
    against_ceiling = (
        "no noise ceiling (one seed)"
        if share is None
        else f"at or above the noise ceiling ({_fmt(ceiling)}, how well two seeds agree)"
        if share >= 1
        else f"{share:.0%} of the noise ceiling ({_fmt(ceiling)}, how well two seeds agree)"
    )
    headline = (
        f"recommend uses {chosen}: on {loto.get('n_tasks', n_tasks)} held-out tasks it orders configs with "
        f"Kendall tau {_fmt(t_mean)} (90% CI {_fmt(ci[0])}..{_fmt(ci[1])}), {against_ceiling}; "
        f"{against_dense}."
    )
    items = [
        {"label": "meta-model", "value": chosen, "note": f"learned from {n_tasks} tasks"},
        {"label": "held-out Kendall tau", "value": _fmt(t_mean), "note": f"90% CI {_fmt(ci[0])}..{_fmt(ci[1])}"},
        {"label": "noise ceiling", "value": _fmt(ceiling), "note": "seed-vs-seed tau of the same configs"},
        *_seed_mean_item(_get(summary, "ceiling") or {}),
        {
            "label": "top-pick regret (median)",
            "value": _fmt(r_med, 3),
            "note": f"always-dense {_fmt(d_med, 3)}; lower is better",
        },
        {
            "label": "top pick at least as good as dense",
            "value": _fmt(100 * ge_dense.get("mean", float("nan")), 0) + "%",
            "note": "share of held-out tasks",
        },
    ]
    items += _warning_item(_get(summary, "warning_split"))
    items.append(_gain_item(_get(summary, "gain")))
    return {"model": chosen, "n_tasks": n_tasks, "headline": headline, "items": items}


def _warning_item(split: dict | None) -> list[dict]:
    """Held-out tau where recommend would not tell the user to train the top five (analysis/nearby.py);
    none in a bundle saved before it, or with too few tasks."""
    if not split:
        return []
    calm, warned = split["not_warned"], split["warned"]
    tau = calm.get("kendall", {}).get("mean", float("nan"))
    other = (
        f"; {_fmt(warned['kendall']['mean'])} on the {warned['n_tasks']} it warns about" if warned["n_tasks"] else ""
    )
    return [
        {
            "label": "tau where recommend does not warn",
            "value": _fmt(tau),
            "note": f"{calm['n_tasks']} of {calm['n_tasks'] + warned['n_tasks']} held-out tasks{other}",
        }
    ]


def _gain_item(gain: dict | None) -> dict:
    label = "gain over dense: 90% interval coverage"
    if not gain:
        return {"label": label, "value": "n/a", "note": "saved before the verdict against dense: re-run analyze"}
    if "coverage" not in gain:
        return {"label": label, "value": "n/a", "note": gain.get("reason", "")}
    claims = gain.get("claims")  # none in a bundle saved before the held-out claims were counted
    said = f"; {_claims_note(claims)}" if claims else ""
    return {
        "label": label,
        "value": _fmt(100 * gain["coverage"], 0) + "%",
        "note": f"on {gain['n_tasks']} held-out tasks ({gain['n_groups']} groups); "
        f"mean width {_fmt(gain['mean_width'], 3)}{said}",
    }


def _claims_note(claims: dict) -> str:
    """How often the held-out sentence claimed something, and was right (dense_gain.claim_right)."""
    pays, dense = claims["pays"], claims["dense"]
    return f"said sparsity pays on {pays[0]} groups ({pays[1]} right), build dense on {dense[0]} ({dense[1]} right)"


def _seed_mean_item(ceiling: dict) -> list[dict]:
    """The estimated ceiling against the seed means (analysis.noise); none in a bundle saved before it."""
    mean = ceiling.get("seed_mean") or {}
    if not mean:
        return []
    return [
        {
            "label": f"ceiling against the {mean['n_seeds']}-seed mean",
            "value": _fmt(mean["mean"]),
            "note": f"estimated from the seed noise; {_fmt(mean['next_seed'])} with one seed more",
        }
    ]
