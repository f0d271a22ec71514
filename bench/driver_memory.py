"""The driver's memory over a sweep of many tiny packs: peak RSS and growth per pack.

    python bench/driver_memory.py --packs 1024            # 8,192 tiny models in 1,024 packs
    python bench/driver_memory.py --packs 4096 --cpus 8

The driver is this process: it runs `hpsweep.run` on a new local Ray (address="local": never a
cluster another process started) and records its own
resident memory (/proc/self/status: VmRSS) and the time each time a pack is reported done, plus
the peak (VmHWM) and the RSS after the run returned. Growth per pack is the least-squares slope of RSS
over packs done, from 10% of the packs on (Ray's and Tune's start-up allocations excluded).
Models are tiny (|x| = |y| = 2, 2 steps, 16 sequences, 1 epoch) so the driver's bookkeeping,
not training, is what is measured. Prints one JSON line at the end, with the load average.

Per-pack overhead: models/s over the first and the last quarter of the packs (by the time each
pack was reported done) and their ratio; a commit check whose cost grows with the packs already
committed shows as a last quarter slower than the first.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return float("nan")
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else float("nan")


def quarter_rates(times: list[float], models_per_pack: int) -> dict:
    """models/s over the first and the last quarter of the packs done, and last / first."""
    q = len(times) // 4
    if q < 2:
        return {}
    first = (q - 1) * models_per_pack / (times[q - 1] - times[0])
    last = (q - 1) * models_per_pack / (times[-1] - times[-q])
    return {
        "models_per_s_first_quarter": round(first, 1),
        "models_per_s_last_quarter": round(last, 1),
        "last_over_first": round(last / first, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=1024)
    ap.add_argument("--models-per-pack", type=int, default=8)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the embedded Ray")
    ap.add_argument("--results", default=None, help="results root (default: a temporary directory)")
    args = ap.parse_args()

    import logging

    import ray

    import hpsweep as hs
    from hpsweep.sweep.progress import SweepProgress

    k = args.models_per_pack
    spec = {
        "name": f"mem{args.packs}",
        "tasks": [
            {
                "task": "teacher(x=2,y=2,t=2,n_train=16,n_val=8,n_test=8)",
                "hidden": list(range(2, 2 + k)),
                "densities": {"uniform": [1.0]},
            }
        ],
        "training": {"epochs": 1, "seeds": list(range(args.packs)), "batch_size": 16},
        "pack": {"max_models": k, "threads": 1},
        "resources": {"cpus": 1, "max_failures": 0},
    }
    samples: list[tuple[int, int]] = []  # (packs done, RSS KiB)
    times: list[float] = []  # monotonic time at each pack done
    done = [0]
    original = SweepProgress.on_pack_done

    def on_pack_done(self, pack_id, summary):  # the driver's own hook: record RSS as packs finish
        original(self, pack_id, summary)
        done[0] += 1
        samples.append((done[0], rss_kib()))
        times.append(time.monotonic())

    SweepProgress.on_pack_done = on_pack_done
    ray.init(
        address="local", num_cpus=args.cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
    )
    before = rss_kib()
    root = args.results or tempfile.mkdtemp(prefix="hpsweep-mem-")
    t0 = time.monotonic()
    report = hs.run(spec, results=root, progress=False, echo=None)
    seconds = time.monotonic() - t0
    after = rss_kib()
    ray.shutdown()
    tail = [(p, r) for p, r in samples if p >= max(1, args.packs // 10)]
    growth = slope([p for p, _ in tail], [r for _, r in tail])
    out = {
        "packs": args.packs,
        "models": report.planned,
        "failed_packs": len(report.failed_packs),
        "seconds": round(seconds, 1),
        "rss_before_mb": round(before / 1024, 1),
        "rss_at_10pct_mb": round(tail[0][1] / 1024, 1) if tail else None,
        "rss_last_pack_mb": round(samples[-1][1] / 1024, 1) if samples else None,
        "rss_after_run_mb": round(after / 1024, 1),
        "peak_rss_mb": round(rss_kib("VmHWM") / 1024, 1),
        "growth_kb_per_pack": round(growth, 2),
        **quarter_rates(times, k),
        "to_first_pack_s": round(times[0] - t0, 1) if times else None,
        "after_last_pack_s": round(t0 + seconds - times[-1], 1) if times else None,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
