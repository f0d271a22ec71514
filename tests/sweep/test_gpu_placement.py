"""GPU placement, tested without a GPU: a CPU-only head and two worker nodes that
declare one GPU each (tests/sweep/gpu_placement_scenario.py, in its own process). With
`resources.gpus: 0.25` packs land only on the GPU nodes, four at once per declared GPU, never on
the head; on those nodes torch finds no CUDA device, so under `device: auto` the packs train on
the CPU and say so (device column, a warning line), and under `device: cuda` each pack fails
with one clear line. The packs themselves report when they are in flight (the fault seam's hold
point): nothing waits on a clock."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import torch
import yaml

from hpsweep.workers.results import ResultsStore

SCENARIO = Path(__file__).with_name("gpu_placement_scenario.py")
SPEC = {
    "name": "gpu",
    "tasks": [
        {
            "task": "teacher(x=4,y=2,t=4,n_train=32,n_val=8,n_test=8)",
            "hidden": [4, 5, 6],
            "densities": {"uniform": [1.0, 0.5]},
        }
    ],
    "training": {"epochs": 1, "seeds": [0, 1], "batch_size": 16},
    "pack": {"max_models": 1},  # 12 packs: more than the 8 the two declared GPUs take at once
    "resources": {"cpus": 0.5, "gpus": 0.25, "max_failures": 0},
}


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the nodes must have no CUDA device behind their GPUs")
def test_packs_land_only_on_gpu_nodes_four_per_gpu_and_say_when_cuda_is_missing(tmp_path):
    spec = tmp_path / "gpu.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    results = str(tmp_path / "r")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, str(SCENARIO), str(spec), results], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads([ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1].removeprefix("RESULT "))
    workers, head = out["workers"], out["head"]
    assert "error" not in out, out["error"]
    # at the moment both declared GPUs were handed out: four packs in flight on each GPU node, none elsewhere
    assert out["at_full"] == {workers[0]: 4, workers[1]: 4} and out["held_when_full"] == 8
    # every pack ran on a GPU node, never on the head (which has CPUs to spare)
    assert out["packs"] == 12 and len(out["all_held"]) == 12 and set(out["all_held"].values()) == set(workers)
    assert set(out["pack_nodes"].values()) <= set(workers) and head not in out["pack_nodes"].values()
    assert out["failed_packs"] == []

    trials = ResultsStore(results).scan("trials").collect()
    assert trials.height == 12 and set(trials["status"]) == {"ok"} and set(trials["device"]) == {"cpu"}
    warnings = [ln for ln in done.stdout.splitlines() if "Warning: pack " in ln]
    assert len(warnings) == 12
    pid = trials["pack_id"][0]
    node = out["pack_nodes"][pid][:12]
    assert any(
        ln.endswith(
            f"Warning: pack {pid}: Ray reserved GPU [0] on node {node}, but torch sees no CUDA "
            f"device; trained on the CPU (device column 'cpu')"
        )
        for ln in warnings
    )

    # device: cuda on the same nodes: every pack fails, each with one line saying why
    assert len(out["cuda_failed_packs"]) == 2  # the scenario runs two packs of it
    failed = ResultsStore(results + "-cuda").scan("trials").collect()
    assert failed.height == 2 and set(failed["status"]) == {"failed"}
    line = re.compile(
        r"RuntimeError: pack [0-9a-f]+: pack\.device is cuda, but node [0-9a-f]{12} sees no CUDA "
        r"device \(Ray GPU ids \[0\]\); check the node's driver, or set pack\.device: auto"
    )
    assert failed.filter(~pl.col("error").str.contains(line.pattern)).height == 0, failed["error"][0]
    assert all("\n" not in e for e in failed["error"])
