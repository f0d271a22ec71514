"""`hpsweep bench`: runs on a bare GPU box (torch only, no ray, no polars), and its answer is the
median of interleaved repeats, so one slow spell of a busy machine does not move it."""

import json
import subprocess
import sys

import pytest

from hpsweep.workers import bench

CHECK = """
import json, sys
from hpsweep.sweep.cli import main
sys.argv = ["hpsweep", "bench", "--device", "cpu", "-K", "3", "--iters", "2", "--batch", "8", "--steps", "4",
            "--repeats", "3", "--json"]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(sorted(m for m in ("ray", "polars") if m in sys.modules)))
"""


def test_bench_json_without_ray_or_polars():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True)
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[0])
    assert result["repeats"] == 3 and len(result["ratios"]) == 3
    assert result["ratio"] == sorted(result["ratios"])[1]
    assert result["ratio_spread"] == [min(result["ratios"]), max(result["ratios"])]
    assert result["device"] == "cpu (1 threads)" and result["config"]["threads"] == 1  # one thread unless asked
    assert result["clock"] == "thread cpu time"  # other processes' load does not count against either side
    assert result["cpu"] == min(result["cpus_allowed"])  # one CPU thread: pinned to the lowest allowed CPU
    assert json.loads(lines[1]) == []  # neither ray nor polars was imported


def test_one_slow_spell_does_not_move_the_answer(monkeypatch):
    """Scripted timings: the third repeat of the one-at-a-time side hits a busy spell (10x slower).
    A mean, or the last repeat alone, would report 4x more; the median of the per-repeat ratios does
    not move. The calls alternate sides, starting with one-at-a-time."""
    calls = []
    single = iter([1.0, 1.0, 1.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # per model, 2 models per repeat
    packed = iter([0.5, 0.5, 0.5, 0.5, 0.5])

    def fake_time_steps(data, specs, settings, device, iters):
        calls.append(len(specs))
        return next(packed) if len(specs) == 2 else next(single)

    monkeypatch.setattr(bench, "time_steps", fake_time_steps)
    cfg = bench.BenchConfig(models=2, input_dim=2, hidden=2, output_dim=2, seq_len=2, batch=2, iters=4, device="cpu")
    result = bench.run_bench(cfg, repeats=5)
    assert calls == [1, 1, 2, 2, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 2]
    assert result["ratios"] == [4.0, 4.0, 22.0, 4.0, 4.0]
    assert result["ratio"] == 4.0 and result["ratio_spread"] == [4.0, 22.0]
    assert result["one_at_a_time"] == pytest.approx(2 * 4 / 2.0) and result["packed"] == pytest.approx(2 * 4 / 0.5)


def test_the_clock_is_cpu_time_for_one_cpu_thread_and_wall_time_otherwise():
    import time

    assert bench.clock_for("cpu", 1) is time.thread_time
    assert bench.clock_for("cpu", 2) is time.perf_counter and bench.clock_for("cuda", 1) is time.perf_counter


def test_bench_rejects_nonsense(capsys):
    from hpsweep.sweep.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bench", "-K", "0"])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        "Error: Invalid value for '--models' / '-K': 0 is not in the range x>=1. (see: hpsweep bench --help)\n"
    )


def test_pinned_while_timing_and_released_after(monkeypatch):
    """The timed steps run on the one CPU asked for; afterwards the process may run anywhere again."""
    import os

    allowed = bench.allowed_cpus()
    seen = []

    def fake_time_steps(data, specs, settings, device, iters):
        seen.append(os.sched_getaffinity(0))
        return 1.0

    monkeypatch.setattr(bench, "time_steps", fake_time_steps)
    cfg = bench.BenchConfig(
        models=2, input_dim=2, hidden=2, output_dim=2, seq_len=2, batch=2, iters=1, device="cpu", cpu=allowed[-1]
    )
    result = bench.run_bench(cfg, repeats=1)
    assert seen == [{allowed[-1]}] * 3 and result["cpu"] == allowed[-1]
    assert sorted(os.sched_getaffinity(0)) == allowed == result["cpus_allowed"]


def test_which_cpu_by_default():
    cpu = bench.BenchConfig(device="cpu")
    assert bench.cpu_to_pin(cpu, "cpu") == min(bench.allowed_cpus())  # one thread: the same core every run
    assert bench.cpu_to_pin(bench.BenchConfig(threads=2), "cpu") is None  # several threads: the OS places them
    assert bench.cpu_to_pin(cpu, "cuda") is None
    assert bench.cpu_to_pin(bench.BenchConfig(pin=False), "cpu") is None


def test_a_cpu_this_process_may_not_use_is_one_error_line(capsys):
    from hpsweep.sweep.cli import main

    allowed = bench.allowed_cpus()
    with pytest.raises(SystemExit) as e:
        main(["bench", "--cpu", str(max(allowed) + 1)])
    assert e.value.code == 2
    shown = ", ".join(map(str, allowed))
    assert (
        f"Error: Invalid value for '--cpu': {max(allowed) + 1}: this process may run on CPUs {shown}; pick one of them"
    ) in capsys.readouterr().err
