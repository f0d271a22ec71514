"""Does recommend's "near this request" tau tell apart the held-out tasks it orders well from those it
does not? A check on the meta results themselves, leave one task out.

    python -m research.nearby_check RESULTS

Reads the models `analyze` saved under RESULTS (fitting them first if needed). For each task, its
groups' "nearby" tau is computed from the other tasks' held-out groups only (the task's own are
dropped from the bundle first, as if it were new), at the task's dims, budget, length and kind. A
task is "warned" where that tau falls below the lower end of the model's overall held-out interval,
as recommend's sentence does. Prints the held-out tau, top-pick regret and best-of-five regret of
the warned tasks and of the others, with bootstrap 90% intervals over tasks, and how well the
nearby tau tracked each task's own (Spearman, mean absolute error; the overall mean's beside it).
The unseen-task version of the same reading is `research.verify_wide score`.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy.stats import spearmanr

from hpsweep.analysis.evaluate import bootstrap_interval
from hpsweep.analysis.nearby import nearby
from hpsweep.analysis.saved import load_or_fit


def per_task_rows(bundle: dict) -> list[dict]:
    """One row per task: its held-out metrics (mean of its groups) and the nearby tau without it."""
    groups = bundle["held_out_groups"]
    rows = []
    for task in sorted({g["task"] for g in groups}):
        mine = [g for g in groups if g["task"] == task]
        others = bundle | {"held_out_groups": [g for g in groups if g["task"] != task]}
        near, warned = [], []
        for g in mine:
            kind = "classification" if g["is_classification"] else "regression"
            x, y, budget, seq = (
                math.exp(g[f]) for f in ("log_input_dim", "log_output_dim", "log_budget", "log_seq_len")
            )
            said = nearby(others, round(x), round(y), budget, seq_len=round(seq), kind=kind)
            near.append(said["kendall"])
            warned.append(said["warned"])
        rows.append(
            {
                "task": task,
                "near_tau": float(np.mean(near)),
                "warned": any(warned),
                **{m: float(np.mean([g[m] for g in mine])) for m in ("kendall", "regret1", "regret5")},
            }
        )
    return rows


def _mean_ci(values) -> str:
    v = np.asarray(values, float)
    if not len(v):
        return "n/a"
    lo, hi = bootstrap_interval(v)
    return f"{v.mean():.3f} [{lo:.3f}, {hi:.3f}]"


def report(rows: list[dict], overall: dict) -> str:
    low = overall["ci90"][0]
    tau, near = np.array([r["kendall"] for r in rows]), np.array([r["near_tau"] for r in rows])
    lines = [
        f"{len(rows)} held-out tasks; the model's overall held-out tau {overall['mean']:.2f} "
        f"(90% CI from {low:.2f}): a task is warned where its nearby tau is below {low:.2f} at any budget.",
        f"- nearby tau vs the task's own: Spearman {spearmanr(near, tau)[0]:.2f}, mean |error| "
        f"{np.abs(near - tau).mean():.3f} (the overall mean's: {np.abs(overall['mean'] - tau).mean():.3f})",
    ]
    warned = np.array([r["warned"] for r in rows])
    for label, keep in (("warned", warned), ("not warned", ~warned)):
        part = [r for r, k in zip(rows, keep) if k]
        lines.append(
            f"- {label}: {len(part)} tasks; tau {_mean_ci([r['kendall'] for r in part])}, top pick's regret "
            f"{_mean_ci([r['regret1'] for r in part])}, best of five {_mean_ci([r['regret5'] for r in part])}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    args = ap.parse_args()
    bundle, _ = load_or_fit(args.results)
    print(report(per_task_rows(bundle), bundle["models"][bundle["chosen"]]["loto"]["kendall"]))


if __name__ == "__main__":
    main()
