"""Multi-node sweeps on one machine: a head with no CPUs and two 1-CPU worker nodes
(ray.cluster_utils.Cluster), each scenario in its own process (tests/sweep/cluster_scenario.py)
because a Cluster cannot share a process with the session's embedded Ray. Results go to a local
directory that every node sees, as a shared file system would be on a real cluster."""

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import exactly_once

SCENARIO = Path(__file__).with_name("cluster_scenario.py")


def _run_scenario(tmp_path, scenario, doc):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(doc))
    results = tmp_path / "r"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # HPSWEEP_CACHE: the session's task cache
    done = subprocess.run(
        [sys.executable, str(SCENARIO), scenario, str(spec), str(results)],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line.removeprefix("RESULT ")), ResultsStore(str(results)), done.stdout


def _spec(name, n_train, epochs):
    return {
        "name": name,
        "tasks": [
            {
                "task": f"teacher(x=8,y=4,t=10,n_train={n_train},n_val=50,n_test=50)",
                "hidden": [8, 16],
                "densities": {"uniform": [1.0, 0.5]},
            }
        ],
        "training": {"epochs": epochs, "seeds": [0, 1]},
        "pack": {"max_models": 2},  # 8 trials in 4 packs of 2
        "resources": {"max_failures": 2},
    }


@pytest.mark.slow
def test_packs_spread_across_worker_nodes_and_each_result_lands_once(tmp_path):
    out, store, _ = _run_scenario(tmp_path, "spread", _spec("spread", 2000, 10))  # ~1 s packs: one node cannot take all
    nodes = out["pack_nodes"]
    assert len(nodes) == 4 and out["failed_packs"] == []
    assert set(nodes.values()) == set(out["workers"])  # both worker nodes trained packs ...
    assert out["head"] not in nodes.values()  # ... and the CPU-less head none
    assert store.sweep("spread").status() == {
        "sweep": "spread",
        "planned": 8,
        "ok": 8,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    assert len(exactly_once(store, "spread")) == 8
    assert store.scan("trials").select(pl.col("attempt").max()).collect().item() == 1
    assert store.read("curves", "spread", dedupe=False).num_rows == 8 * 10


@pytest.mark.slow
def test_a_worker_node_removed_mid_sweep_has_its_pack_retried_on_the_other(tmp_path):
    out, store, log = _run_scenario(tmp_path, "remove-node", _spec("remove", 500, 5))  # held in flight: any length
    survivor = [w for w in out["workers"] if w != out["removed"]]
    assert out["removed"] in out["workers"] and len(survivor) == 1
    assert out["failed_packs"] == [] and "; retrying" in log  # Tune saw the lost actor and retried
    assert len(out["pack_nodes"]) == 4 and set(out["pack_nodes"].values()) <= set(out["workers"])
    assert store.sweep("remove").status() == {
        "sweep": "remove",
        "planned": 8,
        "ok": 8,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    assert len(exactly_once(store, "remove")) == 8
    attempts = store.scan("trials").group_by("pack_id").agg(pl.col("attempt").max()).collect()
    assert sorted(attempts["attempt"]) == [1, 1, 1, 2]  # exactly one pack was lost and retried ...
    retried = attempts.filter(pl.col("attempt") == 2)["pack_id"].item()
    assert out["pack_nodes"][retried] == survivor[0]  # ... on the node that was left
    assert store.read("curves", "remove", dedupe=False).num_rows == 8 * 5  # the lost attempt left no curves
