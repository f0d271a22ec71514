#!/usr/bin/env bash
# One GPU session's checks, in order: the card, packed-vs-reference equivalence on CUDA, the fusion
# anchor at its four flag settings (when ANCHOR names it: the anchor is an independent fused-bmm
# baseline kept outside this repository), then `hpsweep bench` at the GPU target configuration.
# Usage (repo root, torch installed, ray/polars not needed):
#   [ANCHOR=path/to/fusion_anchor.py] bash bench/gpu_check.sh 2>&1 | tee gpu.log
set -u
. bench/source_tree.sh  # hpsweep importable from this checkout, installed or not
export PYTHONUNBUFFERED=1
ANCHOR=${ANCHOR:-}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
echo "== equivalence on CUDA"
python3 -m pytest -q --noconftest -p no:cacheprovider tests/workers/test_packed.py
if [ -n "$ANCHOR" ] && [ -f "$ANCHOR" ]; then
  echo "== fusion anchor (M models fused; take the best of the four settings at M=256)"
  IFS=',' read -r -a ANCHOR_SETS <<< "${ANCHOR_SETS:- ,--tf32,--graph,--graph --tf32}"  # comma-separated flag sets
  for flags in "${ANCHOR_SETS[@]}"; do
    echo "-- anchor $flags"
    python3 "$ANCHOR" --ms 1,256,1024 --steps 30 $flags | grep -v '^\[{'
  done
else
  echo "== fusion anchor skipped (set ANCHOR=path/to/fusion_anchor.py to compare against it)"
fi
GPU_TARGET="--device cuda -K 256 --input-dim 16 --hidden 128 --output-dim 8 --batch 256 --steps 20 --iters 30 --sample 4"
echo "== hpsweep bench, GPU target config (TF32, CUDA graph)"
python3 -m hpsweep.sweep.cli bench $GPU_TARGET
echo "== hpsweep bench, no TF32"
python3 -m hpsweep.sweep.cli bench $GPU_TARGET --no-tf32
if [ -z "${QUICK:-}" ]; then
  echo "== hpsweep bench, eager (no CUDA graph)"
  python3 -m hpsweep.sweep.cli bench $GPU_TARGET --no-graph
fi
echo "== hpsweep bench, 1024 models"
python3 -m hpsweep.sweep.cli bench --device cuda -K 1024 --input-dim 16 --hidden 128 --output-dim 8 --batch 256 --steps 20 --iters 20 --sample 2
echo "== hpsweep bench, CPU target config on this card (64 tiny models)"
python3 -m hpsweep.sweep.cli bench --device cuda -K 64 --iters 30 --sample 4
