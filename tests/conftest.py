"""Shared fixtures. `ray_local`: ONE embedded local Ray for the whole session (ray.init costs ~5 s
here), used by every test that runs a sweep; the sweep runner finds it initialised and leaves it up."""

import logging
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def task_cache(tmp_path_factory):
    """Task data cached in a session temp dir (workers inherit it: set before Ray starts)."""
    path = tmp_path_factory.mktemp("task-cache")
    old = os.environ.get("HPSWEEP_CACHE")
    os.environ["HPSWEEP_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HPSWEEP_CACHE", None)
    else:
        os.environ["HPSWEEP_CACHE"] = old


@pytest.fixture(scope="session", autouse=True)
def faults_file(tmp_path_factory):
    """Where tests plan injected faults (hpsweep.sweep.faults); set before Ray starts so workers see it."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HPSWEEP_FAULTS", str(tmp_path_factory.mktemp("faults") / "faults.json"))
    yield os.environ["HPSWEEP_FAULTS"]
    mp.undo()


@pytest.fixture
def inject(faults_file):
    """inject({pack_id: PackFault(...)}): packs fail as planned until the test ends."""
    from hpsweep.sweep import faults

    yield faults.install
    faults.clear()


@pytest.fixture(scope="session")
def ray_local(task_cache, faults_file):
    ray = pytest.importorskip("ray")
    started = False
    if not ray.is_initialized():
        ray.init(
            address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
        )
        started = True
    yield ray
    if started:
        ray.shutdown()
