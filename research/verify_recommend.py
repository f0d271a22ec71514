"""Check `hpsweep recommend` on data sets nobody swept.

    python -m research.verify_recommend --from META_RESULTS --out VERIFY_RESULTS [--seed 2026] [--random 20] [--rounds 1]

How the held-out tasks are chosen (never tuned to the results): with numpy's PCG64 seeded by --seed
alone, six tasks are drawn from the same parameter ranges the `meta` spec samples (|x| 4..256,
|y| 2..32, 5..20 steps, the same noise ranges and split sizes): two teacher, one prototype, one
lorenz, and two of `rad` (digit images, a family the meta-models never saw: |x| = side^2 with side
4..16, |y| = frames 2..16); --rounds N draws that six N times from the same stream, so the first six
are the same whatever N is. A draw whose name the meta results already hold is drawn again. Each
task gets one budget, drawn among the meta spec's budgets for its |x| half (1,500 / 5,000 below
|x| = 32, 5,000 / 20,000 above) that give the dense model at least 8 hidden units.

For each task, `hpsweep recommend --json --top 5` (told the task's sequence length and training
size) names five configs; they are trained with dense, uniform 0.2 and --random docs/method.md §5
density draws (seeded by --seed, the same on every task), each at the --lr grid (default 0.003
and 0.01, the meta spec's) and 3 seeds, the meta protocol: a config's score is its mean test score over seeds at its best lr on
validation. The table gives each pick's rank among the trained configs and its normalised regret
(best - picked) / (best - worst); the summary puts dense and uniform 0.2 beside the pick, with
bootstrap 90% intervals over tasks. Prints Markdown; writes OUT/verify.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from hpsweep.analysis.evaluate import bootstrap_interval
from hpsweep.analysis.features import with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metatable import build, config_key
from hpsweep.workers.descriptors import BLOCKS, Densities, describe
from hpsweep.workers.tasks import get_task

META_BUDGETS = {"small": (1500, 5000), "large": (5000, 20000)}
SPLITS = "n_train=500,n_val=250,n_test=500"
HPSWEEP = str(Path(sys.executable).with_name("hpsweep"))
"""The CLI beside this interpreter: recommend and run exactly as a user types them."""
SEEN = {"teacher": True, "prototype": True, "lorenz": True, "rad": False}
FAMILIES = ("teacher", "teacher", "prototype", "lorenz", "rad", "rad")


def _log_uniform(rng, lo, hi) -> int:
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def draw_task(rng, family: str) -> tuple[str, int, int, int]:
    """(name, |x|, |y|, sequence length) of one task drawn from the meta spec's ranges."""
    if family == "teacher":
        x, y, t = _log_uniform(rng, 4, 256), _log_uniform(rng, 2, 32), int(round(rng.uniform(5, 20)))
        return f"teacher(x={x},y={y},t={t},noise={rng.uniform(0, 0.2):.4g},{SPLITS})", x, y, t
    if family == "prototype":
        x, f = _log_uniform(rng, 4, 256), _log_uniform(rng, 2, 16)
        return f"prototype(x={x},frames={f},noise={rng.uniform(0.5, 1.5):.4g},{SPLITS})", x, f, f + 1
    if family == "lorenz":
        n, t = _log_uniform(rng, 4, 48), int(round(rng.uniform(5, 20)))
        return f"lorenz(n={n},t={t},noise={rng.uniform(0, 0.2):.4g},{SPLITS})", n, n, t
    side, f = int(round(rng.uniform(4, 16))), _log_uniform(rng, 2, 16)
    return f"rad(side={side},frames={f},{SPLITS})", side * side, f, f + 1


def draw_tasks(seed: int, known: set[str], rounds: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for family in FAMILIES * rounds:
        while True:
            name, x, y, t = draw_task(rng, family)
            name = get_task(name).name  # canonical, as the results store it
            budgets = [
                b
                for b in META_BUDGETS["small" if x < 32 else "large"]
                if describe(x, y, Densities.uniform(1.0), budget=b).hidden >= 8
            ]
            if name not in known and budgets and name not in {o["task"] for o in out}:
                break
        out.append(
            {
                "task": name,
                "family": family,
                "x": x,
                "y": y,
                "seq_len": t,
                "budget": float(budgets[int(rng.integers(len(budgets)))]),
            }
        )
    return out


def random_draws(n: int, seed: int) -> list[tuple[float, ...]]:
    rng = np.random.default_rng([seed, 1])
    return [tuple(round(float(v), 2) for v in row) for row in np.clip(np.abs(rng.normal(0.5, 0.25, (n, 6))), 0.02, 1.0)]


def recommend(meta: str, task: dict) -> dict:
    cmd = [
        HPSWEEP,
        "recommend",
        "-x",
        str(task["x"]),
        "-y",
        str(task["y"]),
        "--budget",
        str(task["budget"]),
        "--seq-len",
        str(task["seq_len"]),
        "--n-train",
        "500",
        "--from",
        meta,
        "--top",
        "5",
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout)


def spec_for(tasks: list[dict], seed: int, lrs: list[float]) -> dict:
    entries = []
    for t in tasks:
        for d in t["configs"]:
            entries.append(
                {
                    "task": t["task"],
                    "budgets": [t["budget"]],
                    "densities": {"grid": {b: [v] for b, v in zip(BLOCKS, d)}},
                }
            )
    # the picks name the sweep: other models' picks are another sweep in the same results root
    picks = hashlib.sha256(json.dumps([t["picks"] for t in tasks]).encode()).hexdigest()[:8]
    return {
        "name": f"verify-{seed}-{picks}",
        "tasks": entries,
        "training": {"lr": lrs, "epochs": 10, "batch_size": 32, "seeds": [0, 1, 2]},
        "pack": {"max_models": 32},
        "resources": {"cpus": 1, "max_failures": 2},
    }


def train_spec(spec: Path, out: Path) -> float:
    """Run `hpsweep run SPEC` into OUT as a user would, on a Ray of its own (never another's); its seconds."""
    start = time.time()
    cmd = [HPSWEEP, "run", str(spec), "--results", str(out), "--progress", "lines", "--address", "local"]
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    return time.time() - start


def key_of(d) -> str:
    return pl.DataFrame({f"d_{b}": [float(v)] for b, v in zip(BLOCKS, d)}).select(config_key()).item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="meta", help="The meta results recommend learns from (not needed with --report).")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1, help="Draw the six families this many times (6 x N tasks).")
    ap.add_argument(
        "--lr",
        type=float,
        nargs="+",
        default=[0.003, 0.01],
        help="lr grid, as the meta results were trained (the calibration set: 0.003 alone).",
    )
    ap.add_argument("--plan-only", action="store_true", help="Draw, recommend, write the spec; train nothing.")
    ap.add_argument(
        "--report",
        action="store_true",
        help="Train nothing: print the table and summary of OUT/verify.json (with --first N: its first N tasks).",
    )
    ap.add_argument("--first", type=int, help="With --report: only the first N tasks (the first round is 6).")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    if args.report:
        if not (out / "verify.json").is_file():
            ap.error(f"no {out / 'verify.json'}: run without --report first")
        done = json.loads((out / "verify.json").read_text())
        report(done["rows"][: args.first], done["train_seconds"])
        return
    if not args.meta:
        ap.error("--from META_RESULTS is required unless --report")
    out.mkdir(parents=True, exist_ok=True)
    meta = str(Path(args.meta).resolve())
    known = set(collect(scan_trials(meta).select("task").unique(), meta)["task"].to_list())
    tasks = draw_tasks(args.seed, known, args.rounds)
    draws = random_draws(args.random, args.seed)
    for t in tasks:
        t["recommend"] = recommend(meta, t)
        picks = [tuple(c[f"d_{b}"] for b in BLOCKS) for c in t["recommend"].get("configs", [])]
        t["picks"] = [key_of(p) for p in picks]
        t["configs"] = list(dict.fromkeys([*picks, (1.0,) * 6, (0.2,) * 6, *draws]))
    (out / "verify.yaml").write_text(yaml.safe_dump(spec_for(tasks, args.seed, args.lr), sort_keys=False))
    if args.plan_only:
        for t in tasks:
            print(t["task"], t["budget"], t["recommend"].get("model", t["recommend"].get("error")), t["picks"])
        return
    train_s = train_spec(out / "verify.yaml", out)
    table = build(collect(with_features(scan_trials(out)), out))
    rows = []
    for t in tasks:
        mine = [key_of(d) for d in t["configs"]]  # this run's candidates only, not an earlier run's picks
        g = (
            table.filter((pl.col("task") == t["task"]) & pl.col("config").is_in(mine))
            .sort("score", descending=True)
            .with_row_index("rank", offset=1)
        )
        rank = dict(zip(g["config"], g["rank"]))
        lo, hi = g["score"].min(), g["score"].max()
        norm = dict(zip(g["config"], ((g["score"] - lo) / (hi - lo)) if hi > lo else [1.0] * g.height))
        picks = [p for p in t["picks"] if p in rank]
        top = picks[0] if picks else None
        rows.append(
            {
                "task": t["task"].split(",n_train")[0].rstrip(")") + ")",
                "family": t["family"] + ("" if SEEN[t["family"]] else " (unseen)"),
                "x": t["x"],
                "y": t["y"],
                "budget": int(t["budget"]),
                "configs": g.height,
                "pick_rank": rank.get(top),
                "pick_regret": round(1 - norm[top], 3) if top else None,
                "top5_ranks": ",".join(str(rank[p]) for p in picks),
                "top5_regret": round(1 - max(norm[p] for p in picks), 3) if picks else None,
                "dense_rank": rank.get(key_of((1.0,) * 6)),
                "dense_regret": round(1 - norm[key_of((1.0,) * 6)], 3),
                "uniform02_rank": rank.get(key_of((0.2,) * 6)),
                "uniform02_regret": round(1 - norm[key_of((0.2,) * 6)], 3),
                "pick_top20": bool(top and rank[top] <= math.ceil(0.2 * g.height)),
                "model": t["recommend"].get("model", t["recommend"].get("error")),
            }
        )
    (out / "verify.json").write_text(
        json.dumps(
            {"seed": args.seed, "train_seconds": round(train_s, 1), "tasks": tasks, "rows": rows}, indent=1, default=str
        )
    )
    report(rows, train_s)


def report(rows: list[dict], train_s: float) -> None:
    """The per-task table and the summary, in Markdown."""
    result = pl.DataFrame(rows)
    cols = [c for c in result.columns if c != "model"]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in result.select(cols).iter_rows():
        print("| " + " | ".join("" if v is None else str(v) for v in r) + " |")
    print("\n" + summary(result, train_s))


def summary(result: pl.DataFrame, train_s: float) -> str:
    """The pick beside dense and uniform 0.2: how often each lands in the top 20%, and its regret."""
    top = math.ceil(0.2 * result["configs"].max())
    lines = [
        f"{result.height} unseen tasks, model {result['model'][0]}, {train_s:.0f} s of training. "
        f"Top 20% = rank <= {top} of {result['configs'].max()}; intervals: bootstrap 90% over tasks.",
        "| choice | in the top 20% | regret: median | regret: mean (90% CI) |",
        "|---|---|---|---|",
    ]
    for name, rank, regret in (
        ("top pick", "pick_rank", "pick_regret"),
        ("always dense", "dense_rank", "dense_regret"),
        ("always uniform 0.2", "uniform02_rank", "uniform02_regret"),
    ):
        hit = (result[rank] <= top).fill_null(False).to_numpy().astype(float)
        r = result[regret].drop_nulls().to_numpy().astype(float)
        hit_lo, hit_hi = bootstrap_interval(hit)
        r_lo, r_hi = bootstrap_interval(r)
        lines.append(
            f"| {name} | {int(hit.sum())} of {len(hit)} ({hit_lo:.0%}..{hit_hi:.0%}) | {np.median(r):.3f} "
            f"| {r.mean():.3f} ({r_lo:.3f}..{r_hi:.3f}) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
