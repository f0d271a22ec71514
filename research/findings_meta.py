"""The meta-model sections of docs/findings.md, from an `hpsweep analyze --json` output: the held-out
table, the paired regret against dense, the learning curve and the balance-metric ranking
(research/findings.py prints them with the sections read from trials)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from research.markdown import markdown_table, short_task


def _stat(summary: dict, metric: str, stat: str = "mean") -> float | None:
    v = summary.get(metric)
    return None if v is None else v[stat]


def _ci(summary: dict, metric: str) -> str:
    v = summary.get(metric)
    return "" if v is None else f"{v['ci90'][0]:.2f}..{v['ci90'][1]:.2f}"


def analysis_section(path: str, png: Path | None = None) -> str:
    """The held-out table (leave one task out and region), baselines, ceiling and learning curve of
    an `hpsweep analyze --json` output."""
    m = json.loads(Path(path).read_text())
    rows = []
    for key, v in m["models"].items():
        lo = v["loto"]
        rows.append(
            {
                "model": key + (" *" if key == m["chosen_model"] else ""),
                "tau": _stat(lo, "kendall"),
                "tau_ci90": _ci(lo, "kendall"),
                "ndcg5": _stat(lo, "ndcg5"),
                "regret_median": _stat(lo, "regret1", "median"),
                "regret_mean": _stat(lo, "regret1"),
                "regret_mean_ci90": _ci(lo, "regret1"),
                "top5_regret_median": _stat(lo, "regret5", "median"),
                "ge_dense": _stat(lo, "ge_dense"),
                "beats_uniform": _stat(lo, "beats_uniform"),
                "region_tau": _stat(v["region"], "kendall"),
                "region_regret_median": _stat(v["region"], "regret1", "median"),
            }
        )
    for key, v in m["baselines"].items():
        rows.append(
            {
                "model": key,
                "tau": _stat(v, "kendall"),
                "tau_ci90": "",
                "ndcg5": None,
                "regret_median": _stat(v, "regret1", "median"),
                "regret_mean": _stat(v, "regret1"),
                "regret_mean_ci90": _ci(v, "regret1"),
                "top5_regret_median": _stat(v, "regret5", "median"),
                "ge_dense": _stat(v, "ge_dense"),
                "beats_uniform": _stat(v, "beats_uniform"),
                "region_tau": None,
                "region_regret_median": None,
            }
        )
    c = m["ceiling"]
    rows.append(
        {
            "model": "seed vs seed",
            "tau": c.get("mean"),
            "tau_ci90": f"{c['ci90'][0]:.2f}..{c['ci90'][1]:.2f}",
            "regret_mean_ci90": "",
        }
    )
    table = pl.DataFrame(rows, infer_schema_length=None).fill_null(float("nan"))
    fit = next(iter(m["models"].values()))["loto_fit_rows"]
    out = [
        f"{m['n_tasks']} tasks ({len(m['excluded_tasks'])} near chance, left out: {', '.join(map(short_task, m['excluded_tasks'])) or 'none'}), "
        f"{m['n_groups']} {m['group_kind']} groups, {m['n_configs']} configs, {m['n_rows']} trials; each "
        f"leave-one-task-out fold fitted on {fit[0]}..{fit[1]} rows; recommend uses `{m['chosen_model']}`.\n",
        markdown_table(table, "{:.2f}").replace("nan", ""),
    ]
    out.append("\n" + paired_with_dense(m))
    curve = pl.DataFrame(m["learning_curve"])
    if curve.height:
        wide = curve.pivot(on="model", index="n_train_tasks", values="kendall_mean").sort("n_train_tasks")
        out.append(
            "\nLearning curve, mean held-out Kendall tau by number of training tasks:\n\n"
            + markdown_table(wide, "{:.2f}")
        )
        wide = curve.pivot(on="model", index="n_train_tasks", values="regret1_median").sort("n_train_tasks")
        out.append("\nLearning curve, median top-pick regret:\n\n" + markdown_table(wide, "{:.3f}"))
        if png is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(5.5, 3.4))
            for (model,), d in curve.group_by(["model"], maintain_order=True):
                ax.plot(d["n_train_tasks"], d["kendall_mean"], marker="o", label=model)
            ax.axhline(c.get("mean"), color="grey", ls="--", lw=1, label="seed vs seed")
            ax.set_xscale("log")  # the sizes double: 5, 10, 20, 40, ...
            ax.set_xlabel("training tasks")
            ax.set_ylabel("mean Kendall tau, held-out tasks")
            ax.legend(fontsize=7)
            fig.savefig(png / "learning_curve.png", dpi=90, bbox_inches="tight")
            plt.close(fig)
    coef = m["paper_coefficients"]
    terms = [t for t in coef["standing"] if "hidden_proportion" in t]
    out.append(
        "\n`paper` polynomial, HP terms (inputs standardised): "
        + "; ".join(f"{t} {coef['standing'][t]:+.3f} (standing) / {coef['score'][t]:+.3f} (score)" for t in terms)
    )
    out.append(
        "\nBalance metrics, held-out R² gain over the baseline (standing target):\n\n"
        + markdown_table(pl.DataFrame(m["balance_ranking"]), "{:.4f}")
    )
    return "\n".join(out)


def paired_with_dense(m: dict) -> str:
    """The chosen model's top-pick regret minus always-dense's on the same held-out tasks: paired per
    task, so the tasks' own difficulty cancels (the two unpaired intervals overlap far more)."""
    from hpsweep.analysis.evaluate import bootstrap_interval

    per = pl.DataFrame(m["per_task"]).filter(~pl.col("task").is_in(m["excluded_tasks"]))
    wide = (
        per.filter(pl.col("model").is_in([m["chosen_model"], "always-dense"]))
        .pivot(on="model", index="task", values="regret1")
        .drop_nulls()
    )
    diff = (wide[m["chosen_model"]] - wide["always-dense"]).to_numpy()
    lo, hi = bootstrap_interval(diff)
    return (
        f"Top-pick regret of `{m['chosen_model']}` minus always-dense's, paired over {len(diff)} held-out "
        f"tasks: mean {diff.mean():+.3f} (90% CI {lo:+.3f}..{hi:+.3f}); the pick is better on "
        f"{int((diff < 0).sum())}, worse on {int((diff > 0).sum())}, equal on {int((diff == 0).sum())}."
    )
