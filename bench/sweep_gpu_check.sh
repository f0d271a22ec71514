#!/usr/bin/env bash
# `hpsweep run` on a GPU machine: fractional GPUs per pack (0.25: four packs share the card), packs
# trained on CUDA, rows that say so. Where ray is not installed (the lent H100/H200 boxes have torch
# and pyarrow only) it checks the worker side alone: plan, run_pack on CUDA, rows in the store.
# Usage (repo root): bash bench/sweep_gpu_check.sh
set -u
. bench/source_tree.sh  # hpsweep importable from this checkout, installed or not
export PYTHONUNBUFFERED=1 HPSWEEP_CACHE=${HPSWEEP_CACHE:-/tmp/hpsweep-cache}
RESULTS=${RESULTS:-/tmp/hpsweep-gpu-check}
rm -rf "$RESULTS"
nvidia-smi -L
if python3 -c "import ray, polars" 2>/dev/null; then
  time python3 -m hpsweep.sweep.cli run bench/sweep_gpu_check.yaml --results "$RESULTS" --progress lines
  python3 -m hpsweep.sweep.cli query "$RESULTS" "SELECT device, pack_id, count(*) AS models, min(started_at) AS started, max(finished_at) AS finished, max(train_seconds) AS train_s FROM trials GROUP BY device, pack_id ORDER BY started"
  python3 -m hpsweep.sweep.cli status "$RESULTS"
  exit
fi
echo "ray/polars not installed: checking the worker side only"
RESULTS="$RESULTS" python3 - <<'PY'
import os, time
from hpsweep.sweep.coordinator import task_shapes
from hpsweep.sweep.pack_runner import PackJob, run_pack
from hpsweep.sweep.plan import plan_sweep
from hpsweep.sweep.spec import load_spec
from hpsweep.workers.results import ResultsStore
from hpsweep.workers.pack_memory import pack_memory_bytes

spec = load_spec("bench/sweep_gpu_check.yaml")
plan = plan_sweep(spec, task_shapes(spec), estimate=pack_memory_bytes)
print("packs", [len(p.trials) for p in plan.packs], "memory per pack GB", round(plan.memory_bytes / 2**30, 1))
for p in plan.packs:
    t = time.perf_counter()
    print(p.pack_id, run_pack(PackJob(os.environ["RESULTS"], spec.name, p, device="auto"), in_ray=False),
          round(time.perf_counter() - t, 2))
rows = ResultsStore(os.environ["RESULTS"]).read("trials")
print("devices", set(rows["device"].to_pylist()), "rows", rows.num_rows, "statuses", set(rows["status"].to_pylist()))
PY
