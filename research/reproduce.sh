#!/usr/bin/env bash
# Regenerates every number and plot in docs/findings.md (about 17 minutes on 2 CPU cores).
#
#   bash research/reproduce.sh [RESULTS]         # default: hpsweep-results/paper (git-ignored)
#   RAD_SCALE=1 DIMS_SCALE=1 VERIFY_SCALE=1 OUT=paper-out bash research/reproduce.sh /shared/paper  # full size
#                                             # on a cluster: add RAY_ADDRESS=auto (docs/cluster.md)
#
# Each step resumes: re-running skips trials already in RESULTS and retries failed packs (on a
# shared machine, where other programs may stop the embedded Ray mid-run, just run it again).
# Stages: the RAD sweep, the dims sweep, `hpsweep analyze` over both, `hpsweep recommend` for
# dims nobody swept (x=300, y=12), a small sweep at those dims with the recommended config in it,
# then research/findings.py (tables on stdout, PNGs in docs/findings/). OUT (default RESULTS; must be
# a local folder) receives analysis.json, recommend.json, verify.yaml, the report and the tables.
set -euo pipefail
cd "$(dirname "$0")/.."

RESULTS=${1:-hpsweep-results/paper}
OUT=${OUT:-$RESULTS}
mkdir -p "$OUT"
# what docs/findings.md ran: RAD at 25x25 images, budget 30K, 6,000 sequences, 4 epochs, 3 seeds;
# dims at 500 sequences, 10 epochs, 1 seed, 10 random draws per budget
RAD_SCALE=${RAD_SCALE:-data=0.2,epochs=0.16,input=0.25,budget=0.3}
DIMS_SCALE=${DIMS_SCALE:-data=0.1,epochs=0.4,seeds=0.5,draws=0.2}
VERIFY_SCALE=${VERIFY_SCALE:-data=0.1,epochs=0.4,draws=0.2}   # the dims scale, 3 seeds kept
NEW_X=300 NEW_Y=12 NEW_BUDGET=20000                                # dims that no sweep holds

name_of() {  # the sweep id a spec gets at a scale (printed by --dry-run)
    hpsweep run "$1" --scale "$2" --dry-run --results "$RESULTS" | sed -n 's/^scaled (.*): sweep //p'
}

hpsweep run paper-rad --scale "$RAD_SCALE" --results "$RESULTS" --progress lines --retry-failed
hpsweep run dims --scale "$DIMS_SCALE" --results "$RESULTS" --progress lines --retry-failed
RAD=$(name_of paper-rad "$RAD_SCALE")
DIMS=$(name_of dims "$DIMS_SCALE")

hpsweep analyze "$RESULTS" --sweep "$RAD" --sweep "$DIMS" --out "$OUT/report" --json > "$OUT/analysis.json"

# the verification task is built like dims' teacher tasks; recommend is told its training settings
N_TRAIN=$(python -c "from sweep.scale import parse_scale; print(max(10, int(5000 * parse_scale('$VERIFY_SCALE').data + 0.5)))")
EPOCHS=$(python -c "from sweep.scale import parse_scale; print(max(1, int(25 * parse_scale('$VERIFY_SCALE').epochs + 0.5)))")
hpsweep recommend -x $NEW_X -y $NEW_Y --budget $NEW_BUDGET --from "$RESULTS" --sweep "$RAD" --sweep "$DIMS" \
    --seq-len 10 --n-train "$N_TRAIN" --epochs "$EPOCHS" --lr 0.001 --top 5 --json > "$OUT/recommend.json"
hpsweep recommend -x $NEW_X -y $NEW_Y --budget $NEW_BUDGET --from "$RESULTS" --sweep "$RAD" --sweep "$DIMS" \
    --seq-len 10 --n-train "$N_TRAIN" --epochs "$EPOCHS" --lr 0.001 --top 5

# a small sweep at the new dims: dense, uniform, a few codes, random draws, and the recommended pick
python - "$OUT" $NEW_X $NEW_Y $NEW_BUDGET <<'EOF'
import json, sys, yaml
results, x, y, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
top = json.load(open(f"{results}/recommend.json"))["configs"][0]
spec = {
    "name": f"verify-x{x}-y{y}",
    "tasks": [{"task": f"teacher(x={x},y={y},t=10,n_train=5000,n_val=1000,n_test=1000)", "budgets": [budget],
               "densities": {"uniform": [1.0, 0.5, 0.2], "codes": ["011001", "010111", "110110", "010000"],
                             "base": [0.2], "random": {"count": 48, "method": "paper-densities", "seed": 2},
                             "grid": {b: [top[f"d_{b}"]] for b in ("hx", "hh", "hy", "yx", "yh", "yy")}}}],
    "training": {"lr": [0.001], "epochs": 25, "batch_size": 32, "seeds": [0, 1, 2]},
    "pack": {"max_models": 32}, "resources": {"cpus": 1, "max_failures": 2},
}
open(f"{results}/verify.yaml", "w").write(yaml.safe_dump(spec, sort_keys=False))
EOF
hpsweep run "$OUT/verify.yaml" --scale "$VERIFY_SCALE" --results "$RESULTS" --progress lines --retry-failed
VERIFY=$(name_of "$OUT/verify.yaml" "$VERIFY_SCALE")

python -m research.findings "$RESULTS" --rad "$RAD" --dims "$DIMS" --verify "$VERIFY" \
    --analysis "$OUT/analysis.json" --recommend "$OUT/recommend.json" --png-dir docs/findings \
    | tee "$OUT/findings-tables.md"
