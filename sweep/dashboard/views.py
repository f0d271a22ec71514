"""What each panel of the dashboard draws, aggregated on the server with Polars.

The page gets only what it draws: counts and rates per sweep, one point per trial for the score
vs hidden proportion plot (or a 2-D histogram past MAX_POINTS), medians per density bin, the
curves of the best trials and a per-epoch band, the top configs. Values are plain JSON (floats
rounded to what a person reads; NaN and inf become null).
"""

from __future__ import annotations

import math

import polars as pl

from hpsweep.sweep.dashboard.source import DENSITY_COLUMNS, STATUSES

MAX_POINTS = 20_000
"""Points per scatter at most; above it the plot is a 2-D histogram of every row (binned here)."""
SVG_POINTS = 3_000
"""Up to this many points the page draws SVG; above it WebGL (scattergl)."""
TOP_CURVES = 10
"""Learning curves of this many best trials, drawn over the band of every trial."""
TOP_CONFIGS = 50
PARCOORDS_LINES = 1_500
"""Lines of the parallel-coordinates view at most: the best configs first, then a seeded sample."""
RATE_WINDOW_S = 300.0
"""Models per second are counted over the last five minutes of commits (the current run's pace)."""
CONFIG = [*DENSITY_COLUMNS, "hidden"]


def number(v, digits: int = 4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return round(float(v), digits) if isinstance(v, float) else v


def _col(df: pl.DataFrame, name: str, digits: int = 4) -> list:
    s = df[name]
    if s.dtype.is_float():
        s = s.round(digits)
        return [None if v is None or not math.isfinite(v) else v for v in s.to_list()]
    return s.to_list()


def scored(trials: pl.DataFrame) -> pl.DataFrame:
    """Rows that have a finite test score (diverged and failed models usually have none)."""
    return trials.filter(pl.col("test_score").is_not_null() & pl.col("test_score").is_finite())


def pace(trials: pl.DataFrame, missing: int, running: str | None) -> dict:
    """Models per second over the recent commits, and the seconds left while the sweep runs."""
    done = trials.filter(pl.col("finished_at").is_not_null())
    if done.height == 0:
        return {"rate": None, "eta_s": None, "last_commit": None}
    last = done["finished_at"].max()
    recent = done.filter(pl.col("finished_at") >= last - pl.duration(seconds=RATE_WINDOW_S))
    first = recent["started_at"].drop_nulls().min() or recent["finished_at"].min()
    span = (last - first).total_seconds()
    rate = recent.height / span if span > 0 else None
    eta = missing / rate if (running and rate and missing) else None
    return {"rate": number(rate, 3), "eta_s": number(eta, 0), "last_commit": last.isoformat(timespec="seconds")}


def sweep_row(status: dict, trials: pl.DataFrame, running: str | None) -> dict:
    """One sweep of the overview: the status counts, pace, best score so far, its tasks."""
    ok = scored(trials)
    best = None
    if ok.height:
        top = ok.sort("test_score", descending=True).row(0, named=True)
        best = {
            "score": number(top["test_score"]),
            "task": top["task"],
            "score_name": top["score_name"],
            "trial_id": top["trial_id"],
        }
    tasks = (
        trials.group_by("task")
        .agg(
            pl.len().alias("rows"),
            *[(pl.col("status") == s).sum().alias(s) for s in STATUSES],
            pl.col("test_score").filter(pl.col("test_score").is_finite()).max().alias("best"),
            pl.col("score_name").drop_nulls().first().alias("score_name"),
        )
        .sort("task")
    )
    return {
        **status,
        "running": running,
        **pace(trials, status["missing"], running),
        "best": best,
        "tasks": [{k: number(v) for k, v in r.items()} for r in tasks.iter_rows(named=True)],
    }


def hp_plot(rows: pl.DataFrame) -> dict:
    """Score against hidden proportion: every scored trial as a point, or a 2-D histogram past MAX_POINTS."""
    if rows.height <= MAX_POINTS:
        return {
            "kind": "points",
            "webgl": rows.height > SVG_POINTS,
            "n": rows.height,
            "x": _col(rows, "hidden_proportion"),
            "y": _col(rows, "test_score"),
            "status": rows["status"].to_list(),
            "trial_id": rows["trial_id"].to_list(),
            "hidden": rows["hidden"].to_list(),
            "lr": _col(rows, "lr", 6),
            "seed": rows["seed"].to_list(),
        }
    nx, ny = 80, 60
    lo, hi = rows["test_score"].min(), rows["test_score"].max()
    hi = hi if hi > lo else lo + 1e-9
    binned = (
        rows.select(
            (pl.col("hidden_proportion").clip(0, 1) * nx).floor().clip(0, nx - 1).cast(pl.Int32).alias("i"),
            ((pl.col("test_score") - lo) / (hi - lo) * ny).floor().clip(0, ny - 1).cast(pl.Int32).alias("j"),
        )
        .group_by("i", "j")
        .len()
    )
    grid = [[0] * nx for _ in range(ny)]
    for i, j, n in binned.iter_rows():
        grid[j][i] = n
    return {
        "kind": "histogram",
        "n": rows.height,
        "x": [round((i + 0.5) / nx, 4) for i in range(nx)],
        "y": [round(lo + (j + 0.5) * (hi - lo) / ny, 5) for j in range(ny)],
        "z": grid,
    }


def density_plots(rows: pl.DataFrame, bins: int = 10) -> dict:
    """Per block: the median and 10%..90% of the score in each density bin, with the rows in it."""
    out = {}
    for col in DENSITY_COLUMNS:
        g = (
            rows.select(pl.col(col).alias("d"), "test_score")
            .drop_nulls()
            .with_columns(((pl.col("d") * bins).ceil().clip(1, bins) / bins).alias("bin"))
            .group_by("bin")
            .agg(
                pl.len().alias("n"),
                pl.col("d").mean().alias("d"),
                pl.col("test_score").median().alias("median"),
                pl.col("test_score").quantile(0.1).alias("p10"),
                pl.col("test_score").quantile(0.9).alias("p90"),
            )
            .sort("bin")
        )
        out[col] = {k: _col(g, k) for k in ("d", "n", "median", "p10", "p90")}
    return out


def top_configs(rows: pl.DataFrame, n: int = TOP_CONFIGS) -> dict:
    """The best configs (six densities and |h|), seeds averaged at each config's best lr."""
    per_lr = rows.group_by([*CONFIG, "lr"]).agg(
        pl.col("test_score").mean().alias("score"),
        pl.col("test_score").std().alias("sd"),
        pl.col("seed").sort().alias("seeds"),
        pl.col("hidden_proportion").mean().alias("hp"),
        pl.col("total_weights").mean().alias("weights"),
    )
    best = per_lr.sort("score", descending=True).unique(CONFIG, keep="first").sort("score", descending=True).head(n)
    cols = [*CONFIG, "hp", "weights", "lr", "score", "sd"]
    return {
        "columns": [*cols, "seeds"],
        "rows": [
            [number(r[c], 4 if c != "lr" else 6) for c in cols] + [", ".join(map(str, r["seeds"]))]
            for r in best.iter_rows(named=True)
        ],
    }


def parcoords(rows: pl.DataFrame, n: int = PARCOORDS_LINES) -> dict:
    """Six densities and the score of up to n trials: the best half, then a seeded sample of the rest."""
    best = rows.sort("test_score", descending=True).head(n // 2)
    rest = rows.join(best.select("trial_id"), on="trial_id", how="anti")
    sample = rest.sample(min(rest.height, n - best.height), seed=0) if rest.height else rest
    picked = pl.concat([best, sample])
    return {"n": picked.height, "of": rows.height, **{c: _col(picked, c, 3) for c in (*DENSITY_COLUMNS, "test_score")}}


def curves_view(band: pl.DataFrame, best: pl.DataFrame, curves: pl.DataFrame) -> dict:
    """The per-epoch band of every trial and the curves of the best trials (named by config)."""
    lines = []
    for r in best.iter_rows(named=True):
        c = curves.filter(pl.col("trial_id") == r["trial_id"])
        label = f"|h| {r['hidden']} d " + ",".join(f"{r[d]:g}" for d in DENSITY_COLUMNS) + f" seed {r['seed']}"
        lines.append(
            {
                "trial_id": r["trial_id"],
                "label": label,
                "epoch": c["epoch"].to_list(),
                "val_score": _col(c, "val_score"),
            }
        )
    return {"band": {k: _col(band, k) for k in ("epoch", "n", "median", "p10", "p90")}, "lines": lines}


def task_view(trials: pl.DataFrame, task: str) -> tuple[dict, pl.DataFrame]:
    """Everything of one task's panels except the curves; returns it with the best trials (for curves)."""
    all_rows = trials.filter(pl.col("task") == task)
    rows = scored(all_rows)
    counts = {s: int((all_rows["status"] == s).sum()) for s in STATUSES}
    best = rows.sort("test_score", descending=True).head(TOP_CURVES)
    score_name = rows["score_name"].drop_nulls().first() if rows.height else None
    view = {
        "task": task,
        "rows": all_rows.height,
        "scored": rows.height,
        "counts": counts,
        "score_name": score_name or "score",
        "unscored": all_rows.height - rows.height,
        "hp": hp_plot(rows),
        "density": density_plots(rows),
        "top": top_configs(rows),
        "parcoords": parcoords(rows),
    }
    return view, best
