"""Tables and plots of docs/findings.md, regenerated from a results root (research/reproduce.sh runs it).

    python -m research.findings RESULTS --rad SWEEP --dims SWEEP --verify SWEEP [--analysis METRICS.json]
        [--recommend RECOMMEND.json] [--png-dir docs/findings]

Prints Markdown tables on stdout and writes small PNGs. Reads only the winning rows of the results
store (hpsweep.workers.results.ResultsStore.scan), status ok.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl

from hpsweep.workers.results import ResultsStore
from research.findings_meta import analysis_section
from research.markdown import markdown_table, short_task

DENS = ["d_hx", "d_hh", "d_hy", "d_yx", "d_yh", "d_yy"]


def _family() -> pl.Expr:
    """dense / uniform / balanced (paper-rad's grid: W_hh dense, W_yx 0.1) / code."""
    same = pl.all_horizontal([pl.col(c) == pl.col("d_hx") for c in DENS])
    return (
        pl.when(same & (pl.col("d_hx") == 1.0))
        .then(pl.lit("dense"))
        .when(same)
        .then(pl.lit("uniform"))
        .when((pl.col("d_hh") == 1.0) & (pl.col("d_yx") == 0.1))
        .then(pl.lit("balanced"))
        .otherwise(pl.lit("code"))
    )


def _config() -> pl.Expr:
    return pl.concat_str([pl.col(c).round(2).cast(pl.String) for c in DENS], separator=",")


def trials(root: str, sweep: str) -> pl.DataFrame:
    return (
        ResultsStore(root)
        .scan("trials", sweep)
        .filter(pl.col("status") == "ok")
        .with_columns(family=_family(), config=_config())
        .collect()
    )


def rad_section(df: pl.DataFrame, png: Path) -> str:
    per_config = (
        df.group_by("family", "config")
        .agg(
            pl.len().alias("seeds"),
            pl.col("hidden").first(),
            pl.col("hidden_proportion").first().alias("HP"),
            pl.col("val_score").mean().alias("val_mean"),
            pl.col("test_score").mean().alias("test_mean"),
            pl.col("test_score").std().alias("test_std"),
            pl.col("test_score").min().alias("test_min"),
            pl.col("test_score").max().alias("test_max"),
        )
        .sort("val_mean", descending=True)
    )
    out = [f"{df.height} models ok, {per_config.height} configs.\n"]
    fam = (
        per_config.group_by("family")
        .agg(
            pl.len().alias("configs"),
            pl.col("HP").min().alias("HP_min"),
            pl.col("HP").max().alias("HP_max"),
            pl.col("test_mean").mean().alias("mean_test"),
            pl.col("test_mean").max().alias("max_config_test (optimistic)"),
        )
        .sort("mean_test", descending=True)
    )
    out.append("Per family (a config's score is its mean over seeds):\n\n" + markdown_table(fam))
    edges = [0.02, 0.05, 0.15, 0.3, 0.5]
    label = pl.lit(f"> {edges[-1]}")
    for lo, hi in reversed(list(zip([0.0, *edges[:-1]], edges))):
        label = pl.when(pl.col("HP") <= hi).then(pl.lit(f"{lo:g}-{hi:g}")).otherwise(label)
    bins = (
        per_config.with_columns(label.alias("HP_bin"), pl.col("HP").alias("_order"))
        .group_by("HP_bin")
        .agg(
            pl.len().alias("configs"),
            pl.col("test_mean").mean().alias("mean_test"),
            pl.col("test_mean").min().alias("worst_config"),
            pl.col("test_mean").max().alias("best_config"),
            pl.col("_order").min(),
        )
        .sort("_order")
        .drop("_order")
    )
    out.append("By HP (all families; a config's test score is its mean over seeds):\n\n" + markdown_table(bins))
    top = per_config.head(8).select(
        "family", "config", "hidden", "HP", "val_mean", "test_mean", "test_std", "test_min", "test_max"
    )
    refs = per_config.filter(pl.col("family").is_in(["dense", "uniform"]))
    out.append(
        "Top 8 configs by mean validation score, and the dense and uniform references "
        "(test over seeds: mean, std, min, max):\n\n" + markdown_table(pl.concat([top, refs.select(top.columns)]))
    )
    # the varied pick (best mean val among non-dense, non-uniform) against dense, seed by seed
    pick = per_config.filter(pl.col("family").is_in(["code", "balanced"])).row(0, named=True)
    by_seed = df.pivot(on="config", index="seed", values="test_score", aggregate_function="first").sort("seed")
    lines = []
    for ref_name, ref in (("dense", "1.0,1.0,1.0,1.0,1.0,1.0"), ("uniform 0.2", "0.2,0.2,0.2,0.2,0.2,0.2")):
        diff = (by_seed[pick["config"]] - by_seed[ref]).to_numpy()
        lines.append(f"| {ref_name} | {np.mean(diff):+.4f} | {', '.join(f'{d:+.3f}' for d in diff)} |")
    out.append(
        f"The varied pick by validation ({pick['family']} {pick['config']}, HP {pick['HP']:.3f}) minus the "
        "reference, test accuracy, same seed:\n\n| reference | mean difference | per seed |\n|---|---|---|\n"
        + "\n".join(lines)
        + "\n"
    )
    _rad_plot(df, per_config, png / "rad_score_vs_hp.png")
    return "\n".join(out)


def _rad_plot(df: pl.DataFrame, per_config: pl.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=90)
    colors = {"code": "tab:gray", "balanced": "tab:green", "uniform": "tab:orange", "dense": "tab:red"}
    for fam, color in colors.items():
        d = df.filter(pl.col("family") == fam)
        c = per_config.filter(pl.col("family") == fam)
        ax.scatter(d["hidden_proportion"], d["test_score"], s=8, alpha=0.35, color=color)
        ax.scatter(
            c["HP"], c["test_mean"], s=30, color=color, edgecolor="black", linewidth=0.4, label=f"{fam} ({c.height})"
        )
    ax.axhline(0.1, color="black", linestyle=":", linewidth=0.8)
    ax.set_xlabel("hidden proportion HP = n_hh / total weights")
    ax.set_ylabel("test accuracy (chance 0.1)")
    ax.set_title("RAD: score vs HP (small: one seed; large: mean of seeds)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def hp_explains(frames: list[pl.DataFrame], png: Path) -> str:
    """Per task: R² of the test score on a quadratic in HP (in-sample), and the rank correlation."""
    rows = []
    for df in frames:
        for (task,), d in df.group_by("task"):
            hp, s = d["hidden_proportion"].to_numpy(), d["test_score"].to_numpy()
            fit = np.polyval(np.polyfit(hp, s, 2), hp)
            r2 = 1 - np.sum((s - fit) ** 2) / np.sum((s - s.mean()) ** 2)
            rho = pl.DataFrame({"a": hp, "b": s}).select(pl.corr("a", "b", method="spearman")).item()
            # HP and the budget move together (a bigger budget buys a bigger |h|): fit a line in HP
            # inside each budget, pool the errors. With ~10 models per budget, chance alone gives ~0.1.
            sse = sst = 0.0
            for (_,), g in d.group_by("budget"):
                gh, gs = g["hidden_proportion"].to_numpy(), g["test_score"].to_numpy()
                if len(gs) > 2:
                    sse += float(np.sum((gs - np.polyval(np.polyfit(gh, gs, 1), gh)) ** 2))
                    sst += float(np.sum((gs - gs.mean()) ** 2))
            rows.append(
                {
                    "task": short_task(task),
                    "x": int(d["input_dim"][0]),
                    "y": int(d["output_dim"][0]),
                    "models": d.height,
                    "score": d["score_name"][0],
                    "score_range": f"{s.min():.3f}..{s.max():.3f}",
                    "r2_hp_quadratic": float(r2),
                    "r2_hp_within_budget": 1 - sse / sst if sst else float("nan"),
                    "spearman_hp": float(rho),
                }
            )
    table = pl.DataFrame(rows).sort("x", "y", "task")  # ties in dims: by name, so reruns print alike
    _dims_plot(frames, table, png / "score_vs_hp_per_task.png")
    return markdown_table(table, "{:.3f}")


def _dims_plot(frames: list[pl.DataFrame], table: pl.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pl.concat([f.select("task", "hidden_proportion", "test_score", "budget") for f in frames])
    df = df.with_columns(pl.col("task").replace_strict({t: short_task(t) for t in df["task"].unique()}))
    tasks = table["task"].to_list()
    cols = 5
    fig, axes = plt.subplots(
        (len(tasks) + cols - 1) // cols,
        cols,
        figsize=(11, 2.1 * ((len(tasks) + cols - 1) // cols)),
        dpi=72,
        squeeze=False,
    )
    for ax, task in zip(axes.flat, tasks):
        d = df.filter(pl.col("task") == task)
        ax.scatter(d["hidden_proportion"], d["test_score"], s=6, c=np.log10(d["budget"].to_numpy()), cmap="viridis")
        ax.set_title(task.replace("(", "\n(", 1), fontsize=6.5)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    fig.supxlabel("HP", fontsize=8)
    fig.supylabel("test score (colour: log10 budget)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def verify_section(df: pl.DataFrame, rec_path: str) -> str:
    rec = json.loads(Path(rec_path).read_text())
    top = rec["configs"][0]
    want = ",".join(f"{round(top[c], 2)}" for c in DENS)
    per_config = (
        df.with_columns(config=_config())
        .group_by("config", "lr")
        .agg(
            pl.len().alias("seeds"),
            pl.col("hidden").first(),
            pl.col("hidden_proportion").first().alias("HP"),
            pl.col("val_score").mean().alias("val_mean"),
            pl.col("test_score").mean().alias("test_mean"),
            pl.col("test_score").std().alias("test_std"),
        )
        .sort("val_mean", descending=True)
        .with_row_index("rank_by_val", offset=1)
    )
    picked = per_config.filter(pl.col("config") == pl.lit(_norm(want)))
    best_val = per_config.head(1)
    best_test = per_config.sort("test_mean", descending=True).head(1)
    rank_test = (
        per_config.sort("test_mean", descending=True)
        .with_row_index("rank_by_test", offset=1)
        .filter(pl.col("config") == pl.lit(_norm(want)))
    )
    out = [
        f"Recommended for x={rec['input_dim']}, y={rec['output_dim']}, budget {rec['budget']:,.0f} by "
        f"`{rec['model']}`: densities {want}, |h| {top['hidden']}, HP {top['hidden_proportion']:.3f}, predicted "
        f"{top['predicted']:.3f} (band {top['low']:.3f}..{top['high']:.3f}).\n",
        f"Sweep at those dims: {per_config.height} configs, {df.height} models.\n",
        markdown_table(
            pl.concat(
                [
                    picked.with_columns(pl.lit("recommended").alias("which")),
                    best_val.with_columns(pl.lit("best by val").alias("which")),
                    best_test.with_columns(pl.lit("best by test").alias("which")),
                ]
            ).select(
                "which", "config", "lr", "seeds", "hidden", "HP", "val_mean", "test_mean", "test_std", "rank_by_val"
            )
        ),
        f"The recommended config ranks {rank_test['rank_by_test'].item() if rank_test.height else '?'} of "
        f"{per_config.height} by mean test score.\n",
    ]
    return "\n".join(out)


def _norm(config: str) -> str:
    return ",".join(str(round(float(v), 2)) for v in config.split(","))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--rad")
    ap.add_argument("--dims")
    ap.add_argument("--verify")
    ap.add_argument("--analysis")
    ap.add_argument("--recommend")
    ap.add_argument("--png-dir", default="docs/findings")
    a = ap.parse_args()
    png = Path(a.png_dir)
    png.mkdir(parents=True, exist_ok=True)
    frames = []
    if a.rad:
        rad = trials(a.results, a.rad)
        frames.append(rad)
        print("## RAD\n\n" + rad_section(rad, png))
    if a.dims:
        frames.append(trials(a.results, a.dims))
    if frames:
        print("## Variance of the score that HP explains, per task\n\n" + hp_explains(frames, png))
    if a.analysis:
        print("## Meta-models (hpsweep analyze)\n\n" + analysis_section(a.analysis, png))
    if a.verify and a.recommend:
        print("## Recommendation checked\n\n" + verify_section(trials(a.results, a.verify), a.recommend))


if __name__ == "__main__":
    main()
