"""A sweep on a multi-node Ray cluster on this machine (ray.cluster_utils.Cluster), run by
tests/sweep/test_cluster.py in a subprocess: a Cluster cannot share a process with the test
session's embedded Ray.

    python tests/sweep/cluster_scenario.py SCENARIO SPEC RESULTS

SCENARIO: `spread` runs the sweep on a head with no CPUs and two 1-CPU worker nodes;
`remove-node` also removes one worker node while both are training a pack. RESULTS is a local
directory (the nodes share this machine's file system). Prints one line "RESULT " + JSON:
{"head": node id, "workers": [node ids], "removed": node id or null, "pack_nodes": {pack_id: node id},
"failed_packs": [...], "seconds": float}.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time


def _remove_when_both_train(cluster, nodes, store, sweep_id, removed, stop):
    """Remove the second worker node while two packs are in flight (started, not committed: one
    on each 1-CPU node): the pack on that node dies mid-training and Tune must retry it on the other."""
    attempts = os.path.join(store.root, "_attempts", sweep_id)
    while not stop.is_set():
        started = set(os.listdir(attempts)) if os.path.isdir(attempts) else set()
        committed = {os.path.basename(p).split("-")[1] for p in store.list_parts("trials", sweep_id)}
        if len(started - committed) >= 2:
            time.sleep(0.5)  # into training, past loading the data; a pack takes seconds
            removed.append(nodes[1].node_id)
            cluster.remove_node(nodes[1])  # raylet stopped; its workers die with it
            return
        time.sleep(0.05)


def main(scenario: str, spec_path: str, results: str) -> None:
    import faulthandler

    faulthandler.dump_traceback_later(100, exit=True)  # a hang shows where, before the test's timeout
    import ray
    from ray.cluster_utils import Cluster

    from hpsweep.sweep.coordinator import run_sweep
    from hpsweep.sweep.spec import load_spec
    from hpsweep.sweep.store import ResultsStore

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [cluster.add_node(num_cpus=1, resources={f"worker_{i}": 1}) for i in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
    ids = {"head": cluster.head_node.node_id, "workers": [n.node_id for n in nodes]}
    removed: list[str] = []
    stop = threading.Event()
    spec = load_spec(spec_path)
    try:
        if scenario == "remove-node":
            threading.Thread(target=_remove_when_both_train, daemon=True,
                             args=(cluster, nodes, ResultsStore(results), spec.name, removed, stop)).start()
        report = run_sweep(spec, results, live=False, echo=lambda *a: None)
    finally:
        stop.set()
        ray.shutdown()
        cluster.shutdown()
    print("RESULT " + json.dumps({**ids, "removed": removed[0] if removed else None, "pack_nodes": report.pack_nodes,
                                  "failed_packs": report.failed_packs, "seconds": report.seconds}))

if __name__ == "__main__":
    main(*sys.argv[1:])
