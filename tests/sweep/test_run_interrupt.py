"""`hpsweep run` stopped by Ctrl-C or by a closed pipe, and a device that is not there.

Ctrl-C is a real SIGINT sent to a real `hpsweep run` subprocess once its output shows a pack
done (no sleep): it must exit 130, print the command that resumes, and that command must finish
the sweep with every trial exactly once. A closed pipe (`hpsweep run | head`) is the reader of
the subprocess's stdout closing it: the run stops the same way, exit 141, no traceback.
"""

import os
import shlex
import signal
import subprocess
import sys

import pytest
import torch

from hpsweep.sweep.cli import interrupted_message, main
from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import TINY, exactly_once, spec_file


def test_the_interrupted_message_names_the_same_command():
    assert interrupted_message(["run", "my spec.yaml", "-r", "out"]) == (
        "Interrupted: every pack that finished is saved; resume with: hpsweep run 'my spec.yaml' -r out"
    )
    assert interrupted_message(["status", "out"]) == "Interrupted."


def _start_six_pack_sweep(tmp_path, name: str) -> tuple[subprocess.Popen, str, dict]:
    """A real `hpsweep run` of 12 models in 6 packs of a few seconds each (interrupted in flight),
    its progress as lines on a pipe; returns the process, the results root and the environment."""
    task = "teacher(x=8,y=4,t=10,n_train=1500,n_val=50,n_test=50)"
    doc = {
        **TINY,
        "name": name,
        "tasks": [{**TINY["tasks"][0], "task": task, "hidden": [8, 12, 16]}],
        "training": {**TINY["training"], "epochs": 15},
        "pack": {"max_models": 2},
    }
    spec_file(tmp_path, doc)  # spec.yaml, run by its relative name from tmp_path
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    results = str(tmp_path / "r")  # absolute: relative roots under Tune's trial dirs are test_run.py's
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpsweep.sweep.cli", "run", "spec.yaml", "--results", results, "--progress", "lines"],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    return proc, results, env


@pytest.mark.slow
def test_a_closed_pipe_stops_the_run_like_ctrl_c_and_names_the_resume_command(tmp_path):
    proc, results, _ = _start_six_pack_sweep(tmp_path, "piped")
    try:
        for line in proc.stdout:  # `| head`: the reader takes what it wants and goes away
            if "packs 1/6" in line:
                proc.stdout.close()
                break
        err = proc.stderr.read()
        proc.wait(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 141, err
    resume = f"hpsweep run spec.yaml --results {results} --progress lines"
    assert err.strip().splitlines()[-1] == f"Output closed: every pack that finished is saved; resume with: {resume}"
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert 0 < ResultsStore(results).sweep("piped").status()["ok"] < 12


@pytest.mark.slow
def test_ctrl_c_exits_130_and_the_printed_command_resumes(tmp_path):
    proc, results, env = _start_six_pack_sweep(tmp_path, "sigint")
    try:
        for line in proc.stdout:  # wait on the output: the first pack is done, others are running
            if "packs 1/6" in line:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    resume = f"hpsweep run spec.yaml --results {results} --progress lines"
    assert err.strip().splitlines()[-1] == f"Interrupted: every pack that finished is saved; resume with: {resume}"
    assert "Traceback" not in err
    store = ResultsStore(results)
    assert 0 < store.sweep("sigint").status()["ok"] < 12
    argv = shlex.split(resume)[1:]
    done = subprocess.run(
        [sys.executable, "-m", "hpsweep.sweep.cli", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.sweep("sigint").status() == {
        "sweep": "sigint",
        "planned": 12,
        "ok": 12,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    exactly_once(store, "sigint")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
def test_device_cuda_without_a_gpu_is_refused_before_ray_starts(tmp_path, capsys):
    import ray

    spec = spec_file(tmp_path, {**TINY, "pack": {**TINY["pack"], "device": "cuda"}})
    was_up = ray.is_initialized()
    with pytest.raises(SystemExit) as stop:
        main(["run", spec, "--results", str(tmp_path / "r")])
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    where = "the connected Ray cluster" if was_up else "this machine"  # the session's Ray, when a test started it
    assert err == [
        f"Error: spec.yaml: pack.device is cuda, but {where} has no GPU; set pack.device: auto "
        f"(or cpu), or run on a cluster with GPUs with --address"
    ]
    assert not (tmp_path / "r").exists() and ray.is_initialized() == was_up
