#!/usr/bin/env bash
# Regenerates docs/findings.md §6 (the wide meta-dataset): about 85 minutes on 2 CPU cores.
#
#   bash research/reproduce_wide.sh [OUT]        # default: hpsweep-results/wide (git-ignored)
#
# Order matters: the held-out tasks are drawn and trained before the meta results are read, so no
# choice about them can follow from those results. Each step resumes when run again.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-hpsweep-results/wide}
mkdir -p "$OUT"
python -m research.verify_wide train --out "$OUT/verify" --seed 11         # 13 unseen tasks, ~7 min
python -m research.verify_wide train --out "$OUT/verify13" --seed 13       # 13 more, ~15 min
hpsweep run meta-wide --results "$OUT/meta" --progress lines --retry-failed  # 6,222 models, ~63 min
hpsweep analyze "$OUT/meta" --json > "$OUT/analysis.json"
python -m research.verify_wide score --out "$OUT/verify" --from "$OUT/meta" | tee "$OUT/verify.md"
python -m research.verify_wide score --out "$OUT/verify13" --from "$OUT/meta" | tee "$OUT/verify13.md"
python -m research.rad_wide "$OUT/verify" | tee "$OUT/rad.md"
python -m research.rad_wide "$OUT/meta" | tee -a "$OUT/rad.md"
