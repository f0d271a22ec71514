"""A sweep on a multi-node Ray cluster on this machine (ray.cluster_utils.Cluster), run by
tests/sweep/test_cluster.py in a subprocess: a Cluster cannot share a process with the test
session's embedded Ray.

    python tests/sweep/cluster_scenario.py SCENARIO SPEC RESULTS

SCENARIO: `spread` runs the sweep on a head with no CPUs and two 1-CPU worker nodes;
`remove-node` also removes one worker node while both hold a pack in flight (sweep/faults.py's
hold point: the packs say when they are there, nothing waits on a clock). RESULTS is a local
directory (the nodes share this machine's file system). Prints one line "RESULT " + JSON:
{"head": node id, "workers": [node ids], "removed": node id or null, "pack_nodes": {pack_id: node id},
"failed_packs": [...], "seconds": float}.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading

from hpsweep.sweep import faults
from hpsweep.sweep.faults import PackFault


def _remove_when_both_train(cluster, nodes, hold, removed, stop):
    """Remove the second worker node while both nodes hold a pack in flight (started, data loaded,
    not committed: each pack waits at the fault seam's hold point until released), then release.
    The pack on the removed node dies with it and Tune must retry it on the other node."""
    while not stop.is_set():
        where = faults.held(hold)
        if len(where) >= 2:  # one pack per 1-CPU node is waiting: the cluster is in the state we need
            assert nodes[1].node_id in where.values(), where
            removed.append(nodes[1].node_id)
            cluster.remove_node(nodes[1])  # raylet stopped; its workers die with it
            faults.release(hold)
            return
        stop.wait(0.02)  # polls the hold directory: the packs say when they are there


def _pack_ids(spec):
    from hpsweep.sweep.coordinator import make_plan
    from hpsweep.workers.results import ResultsStore

    with tempfile.TemporaryDirectory() as empty:
        return [p.pack_id for p in make_plan(spec, ResultsStore(empty).sweep(spec.name))[0].packs]


def main(scenario: str, spec_path: str, results: str) -> None:
    import faulthandler

    faulthandler.dump_traceback_later(100, exit=True)  # a hang shows where, before the test's timeout
    import ray
    from ray.cluster_utils import Cluster

    from hpsweep.sweep.coordinator import run_sweep
    from hpsweep.sweep.spec import load_spec

    spec = load_spec(spec_path)
    work = tempfile.mkdtemp(prefix="hpsweep-cluster-")
    os.environ[faults.FAULTS_ENV] = os.path.join(work, "faults.json")  # before the nodes start: they inherit it
    hold = os.path.join(work, "hold")
    if scenario == "remove-node":  # every pack's first attempt waits at the hold point until released
        os.mkdir(hold)
        faults.install({p: PackFault(hold=hold) for p in _pack_ids(spec)})
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [cluster.add_node(num_cpus=1, resources={f"worker_{i}": 1}) for i in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
    ids = {"head": cluster.head_node.node_id, "workers": [n.node_id for n in nodes]}
    removed: list[str] = []
    stop = threading.Event()
    try:
        if scenario == "remove-node":
            threading.Thread(
                target=_remove_when_both_train, daemon=True, args=(cluster, nodes, hold, removed, stop)
            ).start()
        report = run_sweep(spec, results, live=False, echo=lambda *a: None)
    finally:
        stop.set()
        ray.shutdown()
        cluster.shutdown()
    print(
        "RESULT "
        + json.dumps(
            {
                **ids,
                "removed": removed[0] if removed else None,
                "pack_nodes": report.pack_nodes,
                "failed_packs": report.failed_packs,
                "seconds": report.seconds,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
