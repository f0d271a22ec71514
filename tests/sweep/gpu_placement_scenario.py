"""GPU placement without a GPU, run by tests/sweep/test_gpu_placement.py in a subprocess (a
ray.cluster_utils.Cluster cannot share a process with the test session's Ray):

    python tests/sweep/gpu_placement_scenario.py SPEC RESULTS

A head with CPUs and no GPU, and two worker nodes that *declare* one GPU each (Ray accepts
declared resources; there is no CUDA device behind them). The spec asks `resources.gpus: 0.25`.
Every pack's first attempt waits at the fault seam's hold point (sweep/faults.py), so the
scenario sees which packs are in flight at once, on which node, before it releases them: it
waits until the cluster's GPUs are all handed out and no further pack arrives at the hold point
while they are. Then the same spec with `pack.device: cuda` runs into RESULTS-cuda. Prints one
line "RESULT " + JSON.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time

from hpsweep.sweep import faults
from hpsweep.sweep.faults import PackFault


def _wait_until_gpus_are_taken(hold: str, want: int, timeout_s: float = 300.0) -> dict:
    """Wait for `want` packs at the hold point and no GPU left; returns {node: packs held}."""
    import ray

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        held = faults.held(hold)
        if len(held) >= want and ray.available_resources().get("GPU", 0) < 1e-9:
            counts: dict[str, int] = {}
            for node in held.values():
                counts[node] = counts.get(node, 0) + 1
            return counts
        time.sleep(0.05)  # polls for the packs' own markers: waits on them, not on a guess of time
    raise TimeoutError(f"held {faults.held(hold)}, available {ray.available_resources()}")


def main(spec_path: str, results: str) -> None:
    import faulthandler

    faulthandler.dump_traceback_later(540, exit=True)  # a hang shows where, before the test's timeout
    import ray
    import yaml
    from ray.cluster_utils import Cluster

    from hpsweep.sweep.coordinator import make_plan, run_sweep
    from hpsweep.sweep.spec import parse_spec
    from hpsweep.workers.results import ResultsStore

    doc = yaml.safe_load(open(spec_path))
    spec = parse_spec(doc, "gpu.yaml")
    # two packs are enough to see each fail (a failed pack's actor is replaced: seconds each on a busy machine)
    one_hidden = [{**doc["tasks"][0], "hidden": doc["tasks"][0]["hidden"][:1]}]
    cuda = parse_spec(
        {
            **doc,
            "name": f"{doc['name']}-cuda",
            "tasks": one_hidden,
            "training": {**doc["training"], "seeds": doc["training"]["seeds"][:1]},
            "pack": {**doc.get("pack", {}), "device": "cuda"},
        },
        "gpu-cuda.yaml",
    )
    work = tempfile.mkdtemp(prefix="hpsweep-gpu-")
    os.environ[faults.FAULTS_ENV] = os.path.join(work, "faults.json")  # before the nodes start: they inherit it
    hold = os.path.join(work, "hold")
    os.mkdir(hold)
    with tempfile.TemporaryDirectory() as empty:
        packs = [p.pack_id for p in make_plan(spec, ResultsStore(empty).sweep(spec.name))[0].packs]
    faults.install({p: PackFault(hold=hold) for p in packs})

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 0})
    nodes = [cluster.add_node(num_cpus=4, num_gpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
    out = {"head": cluster.head_node.node_id, "workers": [n.node_id for n in nodes], "packs": len(packs)}
    import threading

    seen: dict = {}

    def watch():
        try:
            seen["at_full"] = _wait_until_gpus_are_taken(hold, want=8)
            seen["held_when_full"] = len(faults.held(hold))
        except Exception as e:  # noqa: BLE001 - reported in the RESULT line
            seen["error"] = repr(e)
        finally:
            faults.release(hold)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        report = run_sweep(spec, results, live=False, echo=lambda *a: None)
        watcher.join()
        faults.clear()
        failed = run_sweep(cuda, f"{results}-cuda", live=False, echo=lambda *a: None)
    finally:
        ray.shutdown()
        cluster.shutdown()
    out.update(
        seen,
        pack_nodes=report.pack_nodes,
        failed_packs=report.failed_packs,
        all_held=faults.held(hold),
        cuda_failed_packs=failed.failed_packs,
    )
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
