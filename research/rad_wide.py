"""The paper's RAD claim at the wide scale: does a varied config beat dense and uniform 0.2?

    python -m research.rad_wide RESULTS [RESULTS ...]

Reads every RAD task of the results (models trained to the last epoch, status ok; a halving sweep's
stopped models are left out, and so is a task whose dense or uniform 0.2 model stopped early). Per
task and budget, every config is scored at its best lr on validation (mean over seeds); the varied
pick is the config with the best validation mean among those neither dense nor uniform. Its test
score minus dense's and minus uniform 0.2's, seed by seed (same seed, same data order), gives a
per-task mean; the summary is the mean over tasks with a bootstrap 90% interval over tasks. HP is
each model's hidden proportion: at |x| = 2,500 and a 100K budget uniform 0.2 sits at the paper's
HP (0.06); on smaller images it sits higher, where the paper credits the varied configs.
"""

from __future__ import annotations

import argparse

import polars as pl

from hpsweep.analysis.evaluate import bootstrap_interval
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.workers.descriptors import BLOCKS

DENSE = ",".join(["1.0"] * 6)
UNIFORM_02 = ",".join(["0.2"] * 6)


def _config() -> pl.Expr:
    return pl.concat_str([pl.col(f"d_{b}").round(2).cast(pl.String) for b in BLOCKS], separator=",")


def rad_trials(roots: list[str]) -> pl.DataFrame:
    frames = []
    for root in roots:
        lf = scan_trials(root, statuses=("ok",)).filter(pl.col("task").str.starts_with("rad"))
        frames.append(
            collect(
                lf.select(
                    "task",
                    "budget",
                    *[f"d_{b}" for b in BLOCKS],
                    "lr",
                    "seed",
                    "hidden",
                    "hidden_proportion",
                    "val_score",
                    "test_score",
                    "epochs_run",
                    "epochs",
                ),
                root,
            )
        )
    return (
        pl.concat(frames)
        .filter(pl.col("epochs_run") == pl.col("epochs"))
        .with_columns(config=_config(), uniform=pl.all_horizontal([pl.col(f"d_{b}") == pl.col("d_hx") for b in BLOCKS]))
    )


def per_task(df: pl.DataFrame) -> pl.DataFrame:
    """One row per RAD task x budget: the varied pick, its HP, and its seed-paired gains."""
    rows = []
    for (task, budget), g in df.group_by("task", "budget", maintain_order=True):
        by_lr = g.group_by("config", "lr").agg(pl.col("val_score").mean().alias("val"), pl.len().alias("n"))
        best = by_lr.sort(["config", "val", "lr"], descending=[False, True, False]).unique("config", keep="first")
        g = g.join(best.select("config", "lr"), on=["config", "lr"])
        configs = g.group_by("config").agg(
            pl.col("val_score").mean().alias("val"), pl.col("hidden_proportion").first(), pl.col("uniform").first()
        )
        if not {DENSE, UNIFORM_02} <= set(configs["config"]):
            continue  # a reference stopped early or was not swept here
        varied = configs.filter(~pl.col("uniform")).sort(["val", "config"], descending=[True, False])
        pick = varied.row(0, named=True)
        seeds = g.pivot(on="config", index="seed", values="test_score", aggregate_function="first").sort("seed")
        seeds = seeds.drop_nulls([pick["config"], DENSE, UNIFORM_02])
        hp = dict(zip(configs["config"], configs["hidden_proportion"]))
        rows.append(
            {
                "task": task,
                "budget": int(budget),
                "pick": pick["config"],
                "HP_pick": round(hp[pick["config"]], 3),
                "HP_dense": round(hp[DENSE], 3),
                "HP_uniform02": round(hp[UNIFORM_02], 3),
                "seeds": seeds.height,
                "vs_dense": float((seeds[pick["config"]] - seeds[DENSE]).mean()),
                "vs_uniform02": float((seeds[pick["config"]] - seeds[UNIFORM_02]).mean()),
            }
        )
    return pl.DataFrame(rows)


def summary(table: pl.DataFrame) -> str:
    lines = []
    for ref in ("dense", "uniform02"):
        v = table[f"vs_{ref}"].to_numpy()
        lo, hi = bootstrap_interval(v)
        wins = int((v > 0).sum())
        lines.append(
            f"- varied pick minus {ref.replace('02', ' 0.2')}: {v.mean():+.4f} accuracy, 90% CI [{lo:+.4f}, {hi:+.4f}] "
            f"over {len(v)} RAD task x budget groups; ahead on {wins} of {len(v)}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("roots", nargs="+")
    args = ap.parse_args()
    table = per_task(rad_trials(args.roots)).sort("budget", "task")
    cols = table.columns
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in table.iter_rows(named=True):
        print("| " + " | ".join(f"{v:+.4f}" if c.startswith("vs_") else str(v) for c, v in r.items()) + " |")
    print("\n" + summary(table))


if __name__ == "__main__":
    main()
