"""Check `hpsweep recommend` and its verdict against dense on data sets no meta-model was fitted on.

    python -m research.verify_wide train --out VERIFY [--spec meta-wide] [--seed 11] [--per-block 2]
    python -m research.verify_wide score --out VERIFY --from META_RESULTS

Two steps, so that the held-out tasks are drawn and trained before any meta result exists:

- train: from each `sample:` block of the spec, --per-block tasks are drawn with the block's own
  parameter ranges but the seed --seed + block index (names the spec itself holds are skipped), each
  with one of the block's budgets (drawn with the same seed, among those that give the dense model
  min_dense_hidden units); one more task is RAD at the paper's |x| = 2,500 (side 50) with a budget of
  100,000, its frames and n_train drawn from the spec's large-RAD ranges. Every task trains the
  spec's whole shared candidate set (so any five recommend names are already trained) at the spec's
  lr grid with 3 seeds, every model to the last epoch (no schedule: the truth, not an estimate).
- score: for each task, `hpsweep recommend --json` with the task's dims, budget, sequence length,
  n_train and kind (classification where the task is scored by accuracy: rad, prototype), every
  candidate listed best first. A config's score is its seed-mean test score at its best lr on
  validation (the meta protocol). Per task: the top pick's and always-dense's normalised regret
  (best - score) / (best - worst) among the trained configs, their paired difference, the best of
  the top five; the Kendall tau of recommend's whole order against the scores, beside the tau it
  said held near the request (`nearby`); the verdict's gain interval against the actual gain of the
  pick over dense (does it cover it; did sparsity pay where the verdict said it would, beyond the
  pair's seed noise).
  Bootstrap 90% intervals over tasks. Prints Markdown; writes OUT/verify.json.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from scipy.stats import kendalltau, spearmanr

from hpsweep.analysis.dense_gain import claim, claim_right
from hpsweep.analysis.evaluate import bootstrap_interval
from hpsweep.analysis.features import with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metatable import build
from hpsweep.sweep.spec import load_spec
from hpsweep.sweep.spec.loading import read_spec_file
from hpsweep.sweep.spec.sampling import sample_tasks
from hpsweep.workers.descriptors import BLOCKS, Densities, describe
from hpsweep.workers.errors import DescriptorError
from hpsweep.workers.tasks import get_task
from research.verify_recommend import HPSWEEP, key_of, train_spec

SEEDS = [0, 1, 2]
PAPER_RAD = {"side": 50, "budget": 100_000}


def _fits(task: str, budget: float, min_hidden: int) -> bool:
    info = get_task(task).info()
    try:
        return describe(info.input_dim, info.output_dim, Densities.uniform(1.0), budget=budget).hidden >= min_hidden
    except DescriptorError:  # not even one hidden unit
        return False


def _large_rad_block(blocks: list[dict]) -> dict:
    """The RAD block with the widest images: its frames and n_train ranges serve the |x| = 2,500 task."""
    rad = [b for b in blocks if b["sample"]["family"] == "rad"]
    side = lambda b: b["sample"]["params"]["side"]["log_uniform"][1]  # noqa: E731
    return max(rad, key=side)


def draw_tasks(spec_name: str, seed: int, per_block: int) -> list[dict]:
    """The held-out tasks: [{task, family, budget, block}], from the spec's sample blocks and seed."""
    raw, _ = read_spec_file(spec_name)
    known = {t.task for t in load_spec(spec_name).tasks}
    blocks = [e for e in raw["tasks"] if "sample" in e]
    out = []
    for i, block in enumerate(blocks):
        s = block["sample"]
        names = [n for n in sample_tasks(s["family"], s["params"], per_block + 8, seed + i) if n not in known]
        rng = np.random.default_rng([seed, i])
        names = [n for n in names if any(_fits(n, b, block.get("min_dense_hidden", 1)) for b in block["budgets"])]
        for name in names[:per_block]:
            budgets = [b for b in block["budgets"] if _fits(name, b, block.get("min_dense_hidden", 1))]
            out.append({"task": name, "family": s["family"], "budget": float(rng.choice(budgets)), "block": i})
    big = _large_rad_block(blocks)["sample"]["params"]
    params = {**big, "side": PAPER_RAD["side"]}
    name = next(n for n in sample_tasks("rad", params, 4, seed + len(blocks)) if n not in known)
    out.append({"task": name, "family": "rad", "budget": float(PAPER_RAD["budget"]), "block": len(blocks)})
    for t in out:
        info = get_task(t["task"]).info()
        t |= {"x": info.input_dim, "y": info.output_dim, "seq_len": info.seq_len, "n_train": info.n_train}
    return out


def training_spec(spec_name: str, tasks: list[dict], seed: int) -> dict:
    raw, _ = read_spec_file(spec_name)
    training = {k: v for k, v in raw["training"].items() if k != "schedule"} | {"seeds": SEEDS}
    return {
        "name": f"verify-{raw['name']}-{seed}",
        "densities": raw["densities"],
        "tasks": [{"task": t["task"], "budgets": [t["budget"]]} for t in tasks],
        "training": training,
        "pack": raw.get("pack", {"max_models": 32}),
        "resources": {"cpus": 1, "max_failures": 2},
    }


def train(args) -> None:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tasks = draw_tasks(args.spec, args.seed, args.per_block)
    (out / "tasks.json").write_text(json.dumps({"spec": args.spec, "seed": args.seed, "tasks": tasks}, indent=1))
    (out / "verify.yaml").write_text(yaml.safe_dump(training_spec(args.spec, tasks, args.seed), sort_keys=False))
    for t in tasks:
        print(t["task"], int(t["budget"]), file=sys.stderr)
    if args.plan_only:
        return
    seconds = train_spec(out / "verify.yaml", out)
    (out / "train_seconds.txt").write_text(f"{seconds:.1f}\n")


def recommend(meta: str, t: dict) -> dict:
    cmd = [HPSWEEP, "recommend", "-x", str(t["x"]), "-y", str(t["y"]), "--budget", str(t["budget"])]
    # every candidate, best first: the first five are the shortlist, the whole order gives the task's tau
    cmd += ["--seq-len", str(t["seq_len"]), "--n-train", str(t["n_train"]), "--from", meta, "--top", "1000", "--json"]
    # what the task's user would say: a task scored by accuracy is a classification
    cmd += ["--kind", "classification" if get_task(t["task"]).info().score_name == "accuracy" else "regression"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout)


def _seed_noise(row_a: dict, row_b: dict) -> float:
    """Standard error of the difference of two seed means (each config's seeds' spread)."""
    var = [np.var(r["seed_scores"], ddof=1) / len(r["seed_scores"]) for r in (row_a, row_b)]
    return float(math.sqrt(sum(var)))


def score_task(table: pl.DataFrame, t: dict, rec: dict) -> dict:
    g = table.filter(pl.col("task") == t["task"]).sort("score", descending=True).with_row_index("rank", offset=1)
    rows = {r["config"]: r for r in g.to_dicts()}
    lo, hi = g["score"].min(), g["score"].max()
    regret = {c: (hi - r["score"]) / (hi - lo) if hi > lo else 0.0 for c, r in rows.items()}
    picks = [key_of(tuple(c[f"d_{b}"] for b in BLOCKS)) for c in rec.get("configs", [])]
    picks = [p for p in picks if p in rows]
    # recommend lists best first: the position is its order; tau against the measured scores
    tau = kendalltau(range(len(picks), 0, -1), [rows[p]["score"] for p in picks])[0] if len(picks) > 1 else None
    near = rec.get("nearby") or {}
    dense = key_of((1.0,) * 6)
    top = picks[0] if picks else None
    verdict = rec.get("verdict") or {}
    gain = rows[top]["score"] - rows[dense]["score"] if top else None
    noise = _seed_noise(rows[top], rows[dense]) if top else None
    row = {
        "task": t["task"],
        "x": t["x"],
        "y": t["y"],
        "n_train": t["n_train"],
        "budget": int(t["budget"]),
        "configs": g.height,
        "pick": rows[top]["config"] if top else rec.get("error"),
        "pick_rank": rows[top]["rank"] if top else None,
        "pick_regret": round(regret[top], 4) if top else None,
        "dense_rank": rows[dense]["rank"],
        "dense_regret": round(regret[dense], 4),
        "top5_regret": round(min(regret[p] for p in picks[:5]), 4) if picks else None,
        "tau": round(float(tau), 4) if tau is not None and math.isfinite(tau) else None,
        "near_tau": round(near["kendall"], 4) if near else None,
        "warned": near.get("warned"),
        "overall_tau": round(rec["held_out"]["kendall"]["mean"], 4) if rec.get("held_out") else None,
        "gain": round(gain, 4) if top else None,
        "noise": round(noise, 4) if top else None,
    }
    if verdict and verdict.get("low") is not None and top:
        low, high = verdict["low"], verdict["high"]
        kind = claim(low, high)
        row |= {
            "v_gain": round(verdict["gain"], 4),
            "v_low": round(low, 4),
            "v_high": round(high, 4),
            "v_claim": kind,
            "v_covered": bool(low <= gain <= high),
            "v_hit": claim_right(kind, gain, noise),
        }
    return row


def score(args) -> None:
    out = Path(args.out).resolve()
    drawn = json.loads((out / "tasks.json").read_text())
    meta = str(Path(args.meta).resolve())
    table = build(collect(with_features(scan_trials(out)), out))
    rows = [score_task(table, t, recommend(meta, t)) for t in drawn["tasks"]]
    train_s = float((out / "train_seconds.txt").read_text()) if (out / "train_seconds.txt").is_file() else math.nan
    (out / "verify.json").write_text(json.dumps({**drawn, "train_seconds": train_s, "rows": rows}, indent=1))
    print(report(rows, train_s))


def _mean_ci(values) -> str:
    v = np.asarray([x for x in values if x is not None], float)
    lo, hi = bootstrap_interval(v)
    return f"{v.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]" if len(v) else "n/a"


def _paired_reading(paired) -> str:
    """What the paired interval says: below zero the pick is better, above it dense, else no difference shown."""
    v = np.asarray([x for x in paired if x is not None], float)
    lo, hi = bootstrap_interval(v)
    if hi < 0:
        return "the interval lies below zero: the pick is better"
    if lo > 0:
        return "the interval lies above zero: dense is better"
    return "the interval spans zero: no difference shown"


def _nearby_reading(df: pl.DataFrame) -> list[str]:
    """How well recommend's "near this request" tau foretold each task's actual tau, beside the overall
    one; and the tasks where its sentence said to train the top five (warned) apart from the others."""
    if df.height < 3:
        return ["- too few tasks with a nearby estimate to check it"]
    tau, near, overall = (df[c].to_numpy() for c in ("tau", "near_tau", "overall_tau"))
    lines = [
        f"- Kendall tau of recommend's order over the trained configs: {_mean_ci(tau.tolist())}; the "
        f"'near this request' tau tracked it with Spearman {spearmanr(near, tau)[0]:.2f} and missed it by "
        f"{np.abs(near - tau).mean():.3f} on average (the overall held-out tau {overall.mean():.2f} by "
        f"{np.abs(overall - tau).mean():.3f})"
    ]
    for label, part in (("warned", df.filter(pl.col("warned"))), ("not warned", df.filter(~pl.col("warned")))):
        lines.append(
            f"- {label} (train the top five): {part.height} tasks"
            if label == "warned"
            else f"- {label}: {part.height} tasks"
        )
        if part.height:
            lines[-1] += (
                f"; tau {_mean_ci(part['tau'].to_list())}, top pick's regret {_mean_ci(part['pick_regret'].to_list())}, "
                f"best of five {_mean_ci(part['top5_regret'].to_list())}"
            )
    return lines


def report(rows: list[dict], train_s: float) -> str:
    df = pl.DataFrame(rows)
    cols = [c for c in df.columns if c not in ("task",)]
    lines = ["| task | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in df.iter_rows(named=True):
        lines.append(f"| {r['task'][:60]} | " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |")
    scored = df.filter(pl.col("pick_regret").is_not_null())
    paired = (scored["pick_regret"] - scored["dense_regret"]).to_list()
    lines += [
        "",
        f"{df.height} held-out tasks, {scored.height} answered; {train_s:.0f} s of training. "
        "Means with bootstrap 90% intervals over tasks.",
        f"- top pick's normalised regret: {_mean_ci(scored['pick_regret'].to_list())}",
        f"- always-dense's: {_mean_ci(scored['dense_regret'].to_list())}",
        f"- pick minus dense, paired per task: {_mean_ci(paired)} ({_paired_reading(paired)})",
        f"- best of the top five: {_mean_ci(scored['top5_regret'].to_list())}",
    ]
    if "near_tau" in df.columns:
        lines += _nearby_reading(df.filter(pl.col("tau").is_not_null() & pl.col("near_tau").is_not_null()))
    if "v_covered" in df.columns:
        v = df.filter(pl.col("v_covered").is_not_null())
        claims = {c: int((v["v_claim"] == c).sum()) for c in ("pays", "dense", "unclear")}
        hits = v.filter(pl.col("v_hit").is_not_null())
        lines += [
            f"- verdict's 90% interval covers the pick's actual gain over dense on {v['v_covered'].sum()} of "
            f"{v.height} tasks (mean width {(v['v_high'] - v['v_low']).mean():.2f}); it said sparsity pays on "
            f"{claims['pays']}, build dense on {claims['dense']}, no clear answer on {claims['unclear']}; "
            f"right on {int(hits['v_hit'].sum() or 0)} of the {hits.height} it answered",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    t = sub.add_parser("train", help="Draw the held-out tasks and train every candidate on them.")
    t.add_argument("--out", required=True)
    t.add_argument("--spec", default="meta-wide")
    t.add_argument("--seed", type=int, default=11)
    t.add_argument("--per-block", type=int, default=2)
    t.add_argument("--plan-only", action="store_true", help="Draw and write the spec; train nothing.")
    s = sub.add_parser("score", help="Ask recommend about each task and score its answers.")
    s.add_argument("--out", required=True)
    s.add_argument("--from", dest="meta", required=True, help="The meta results recommend learns from.")
    args = ap.parse_args()
    train(args) if args.step == "train" else score(args)


if __name__ == "__main__":
    main()
