"""Before/after on the same data: the analysis as it was at a git ref (default
4ffb31b, main before the meta-dataset rework) against today's, on the same meta results and the same verification.

    python -m research.before_after --from META_RESULTS --verify VERIFY_RESULTS [--sweep ID] [--ref 4ffb31b]

"Before" is that ref's analysis/ package, extracted with `git archive` into a temporary folder and
imported under another name: its own leave-one-task-out metrics (Kendall tau over a task's trial
rows, regret in score units), and its recommend model (absolute score, trial rows, lr a feature)
used to rank the configs research/verify_recommend.py trained on each unseen task: the rank of its top
pick among them (by seed-mean test score at the best validation lr, as verify_recommend ranks).
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import polars as pl

from hpsweep.analysis.features import with_features
from hpsweep.analysis.load import collect, scan_trials
from hpsweep.analysis.metatable import build


def old_package(ref: str, into: Path):
    """That ref's analysis/ as the importable package `before_analysis`."""
    tar = subprocess.run(["git", "archive", ref, "analysis"], capture_output=True, check=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(into, filter="data")
    pkg = into / "before_analysis"
    (into / "analysis").rename(pkg)
    for f in pkg.glob("*.py"):
        f.write_text(re.sub(r"hpsweep\.analysis", "before_analysis", f.read_text()))
    sys.path.insert(0, str(into))
    return importlib.import_module("before_analysis.analyze"), importlib.import_module("before_analysis.features")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="meta", required=True)
    ap.add_argument("--verify", required=True)
    ap.add_argument("--ref", default="4ffb31b")
    ap.add_argument("--sweep", help="the verify sweep id (verify-SEED-PICKS) when the root holds several")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        analyze_mod, features_mod = old_package(args.ref, Path(tmp))
        old = analyze_mod.analyze(args.meta, analyze_mod.AnalysisOptions(), with_ranking=False)
        print(f"before ({args.ref}): recommend used `{old.chosen}`; its own held-out metrics:")
        print(json.dumps({k: {m: round(v, 3) for m, v in s.items()} for k, s in old.models.items()}))
        sweeps = [args.sweep] if args.sweep else None
        trials = collect(with_features(scan_trials(args.verify, sweeps=sweeps)), args.verify)
        table = build(trials).sort("task", "config")
        model = old.fitted[old.chosen]
        names = {"paper": features_mod.PAPER_FEATURES, "gbt": features_mod.ALL_FEATURES}[old.chosen]
        # the old model reads log10_lr and epochs too: the configs were trained at the table's lr and epochs
        pred = model.predict(table.select(names).to_numpy())
        ranked = table.with_columns(pl.Series("old_pred", pred)).with_columns(
            pl.col("score").rank("ordinal", descending=True).over("task").alias("rank")
        )
        rows = []
        for (task,), g in ranked.group_by(["task"], maintain_order=True):
            top = g.sort("old_pred", descending=True).row(0, named=True)
            rows.append(
                {
                    "task": task.split(",n_train")[0].rstrip(")") + ")",
                    "configs": g.height,
                    "before_pick_rank": top["rank"],
                    "before_pick_regret": round(1 - top["normalised"], 3),
                    "before_pick": top["config"],
                }
            )
        out = pl.DataFrame(rows)
        print("| " + " | ".join(out.columns) + " |\n|" + "---|" * len(out.columns))
        for r in out.iter_rows():
            print("| " + " | ".join(str(v) for v in r) + " |")
        n = sum(r["before_pick_rank"] <= -(-r["configs"] // 5) for r in rows)
        print(
            f"\nBefore: top pick in the top 20% on {n} of {len(rows)} tasks; "
            f"median regret {out['before_pick_regret'].median():.3f}"
        )


if __name__ == "__main__":
    main()
