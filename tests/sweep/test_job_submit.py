"""The README's cluster command, as written: `ray job submit --working-dir . -- hpsweep run …` to a
Ray head this test starts (`ray start --head`, dashboard on loopback, Ray's token authentication
as Ray sets it up), with the token step docs/cluster.md describes. Every row must land once in
the results root; a relative --results is refused inside the job with one line.

The head runs as `ray start --block` in a session of its own, so the teardown stops exactly the
processes it started (never `ray stop`, which would stop every Ray on the machine).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import exactly_once, spec_file

pytest.importorskip("ray.dashboard.modules.job.sdk", reason="ray[default] is in the test extra")

BIN = Path(sys.executable).parent
RAY = str(BIN / "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM to the head's process group (`ray start --block` then stops its processes), SIGKILL after a minute."""
    if head.poll() is None:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(head.pid, signal.SIGKILL)  # whatever of the group is left
    except ProcessLookupError:
        pass
    head.wait()


@pytest.fixture
def ray_head(tmp_path):
    """A Ray head on loopback; yields (dashboard address, environment for job commands)."""
    temp_dir = tempfile.mkdtemp(prefix="hpj", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    dashboard = f"http://127.0.0.1:{(dash_port := _free_port())}"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    log = open(tmp_path / "head.log", "wb")
    head = subprocess.Popen(
        [
            RAY,
            "start",
            "--head",
            "--block",
            f"--port={_free_port()}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dash_port}",
            f"--ray-client-server-port={_free_port()}",
            f"--dashboard-agent-listen-port={_free_port()}",
            "--include-dashboard=true",
            "--num-cpus=2",
            f"--temp-dir={temp_dir}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # the token step of docs/cluster.md: the client names Ray's token (from the head's machine)
        token = subprocess.run([RAY, "get-auth-token"], env=env, capture_output=True, text=True, timeout=120)
        env = {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token.stdout.strip()}
        deadline = time.monotonic() + 180
        while True:  # the dashboard answers once the head is up
            ready = subprocess.run(
                [RAY, "job", "list", "--address", dashboard], env=env, capture_output=True, text=True, timeout=120
            )
            if ready.returncode == 0:
                break
            assert head.poll() is None, (tmp_path / "head.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"the head did not come up:\n{ready.stderr[-2000:]}"
            time.sleep(1)
        yield dashboard, env
    finally:
        _stop(head)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_ray_job_submit_with_working_dir_writes_every_row_once(ray_head, tmp_path):
    dashboard, env = ray_head
    work = tmp_path / "checkout"
    work.mkdir()
    spec_file(work)  # spec.yaml, at its relative path in the uploaded working dir
    results = tmp_path / "shared-results"  # one path the head's workers and this test both see

    def submit(*args):
        return subprocess.run(
            [
                RAY,
                "job",
                "submit",
                "--address",
                dashboard,
                "--working-dir",
                ".",
                "--",
                "hpsweep",
                "run",
                "spec.yaml",
                "--progress",
                "lines",
                *args,
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )

    done = submit("--results", str(results))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "sweep tiny: 8 planned, 8 ok, 0 diverged, 0 failed, 0 missing" in done.stdout
    exactly_once(ResultsStore(str(results)), "tiny")
    # a relative --results would live in the job's temporary working directory: refused, one line
    refused = submit()
    assert refused.returncode != 0
    assert (
        "Error: --results 'hpsweep-results' is a relative path inside a Ray job, where it would live in the "
        "job's temporary working directory and vanish with it"
    ) in refused.stdout
    assert not (work / "hpsweep-results").exists()
