"""hpsweep vs plain Ray Tune on the same models, in one run (one Ray, same machine, same trainer).

    python bench/sweep_vs_tune.py                 # 512 tiny models: |x|=8, |h|=32, |y|=4, 5 epochs
    python bench/sweep_vs_tune.py --models 64     # a quick look

hpsweep: `run_sweep` (the code path of `hpsweep run`): packs of up to 64 models, one Tune trial
per pack, results written to a Parquet store. Baselines: one Tune trial per model with actor
reuse on (its best setting; measured on 2 cores: 11-16 trivial trials/s with reuse vs 0.46
without), each trial training its model with the same fused trainer at K=1 on data loaded once
per worker; `plain` keeps Tune's default per-trial loggers, `quiet` turns them off as hpsweep
does (the fairer comparison of scheduling alone). Also reported: the driver's resident memory
during the hpsweep sweep, sampled every 0.1 s, against its value after a warm-up sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time

TASK = "teacher(x=8,y=4)"  # |x|=8, |y|=4, 20 steps, 1000 training sequences (the task's defaults)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakRSS:
    """Samples this process's RSS in a thread; `.peak` after `stop()`."""

    def __init__(self):
        self.peak, self._stop = rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, rss_mb())


def spec_for(models: int, epochs: int, name: str, task: str = TASK, max_models: int = 64):
    from hpsweep.sweep.spec import parse_spec

    doc = {
        "name": name,
        "tasks": [
            {"task": task, "hidden": [32], "densities": {"random": {"count": models, "method": "paper", "seed": 1}}}
        ],
        "training": {"epochs": epochs, "batch_size": 32, "seeds": [0]},
        "pack": {"max_models": max_models},
        "resources": {"cpus": 1, "max_failures": 0},
    }
    return parse_spec(doc, "bench.yaml")


_DATA = {}


def one_model_trainable(config, trials=None, task=TASK):
    """Baseline: one Tune trial trains one model."""
    from ray import tune

    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.packed import ModelSpec
    from hpsweep.workers.tasks import load_task_data
    from hpsweep.workers.trainer import TrainSettings, train_pack

    t = trials[config["i"]]
    if task not in _DATA:
        _DATA[task] = load_task_data(task, seed=0)
    data = _DATA[task]
    spec = ModelSpec(data.input_dim, data.output_dim, t.hidden, Densities(*t.densities), t.seed, t.lr, t.init_std)
    result = train_pack(data, [spec], TrainSettings(t.epochs, t.batch_size, "cpu", 1))
    m = result.models[0]
    tune.report({"val_score": m.val_score[-1] if m.val_score else None, "test_score": m.test_score})


def run_baseline(trials, task: str, loggers: bool) -> float:
    from ray import tune

    # read by Tune when it builds a run's callbacks: "0" keeps its JSON/CSV/TensorBoard loggers
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "0" if loggers else "1"
    storage = tempfile.mkdtemp(prefix="bench-tune-")
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(one_model_trainable, trials=list(trials), task=task), {"cpu": 1}),
        param_space={"i": tune.grid_search(list(range(len(trials))))},
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(name="baseline", storage_path=storage, verbose=0),
    )
    t0 = time.perf_counter()
    grid = tuner.fit()
    seconds = time.perf_counter() - t0
    assert not grid.errors, grid.errors
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--task", default=TASK, help="any task name; |h| stays 32")
    ap.add_argument("--max-models", type=int, default=64, help="pack.max_models of the hpsweep spec")
    ap.add_argument(
        "--baselines",
        default="plain,quiet",
        help="comma list of plain (Tune's default loggers on) and quiet (loggers off); empty: none",
    )
    args = ap.parse_args()

    import ray

    from hpsweep.sweep import tune_adapter  # sets Tune's env (loggers off) before any Tuner
    from hpsweep.sweep.coordinator import run_sweep, task_shapes
    from hpsweep.sweep.plan import plan_sweep

    ray.init(
        address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="ERROR"
    )
    root = tempfile.mkdtemp(prefix="bench-results-")
    quiet = lambda *a, **k: None  # noqa: E731
    run_sweep(spec_for(8, 1, "warmup", args.task), root, live=False, echo=quiet)  # imports, data cache, worker start

    spec = spec_for(args.models, args.epochs, "bench", args.task, args.max_models)
    rss_before = rss_mb()
    sampler = PeakRSS()
    t0 = time.perf_counter()
    report = run_sweep(spec, root, live=False, echo=quiet)
    hpsweep_s = time.perf_counter() - t0
    rss_peak = sampler.stop()
    rss_after = rss_mb()
    assert not report.failed_packs and report.planned == args.models

    out = {
        "models": args.models,
        "epochs": args.epochs,
        "task": args.task,
        "hidden": 32,
        "cpus": os.cpu_count(),
        "packs": report.packs,
        "hpsweep_s": round(hpsweep_s, 2),
        "hpsweep_models_per_s": round(args.models / hpsweep_s, 1),
        "driver_rss_before_mb": round(rss_before, 1),
        "driver_rss_peak_mb": round(rss_peak, 1),
        "driver_rss_after_mb": round(rss_after, 1),
        "driver_rss_growth_mb": round(rss_peak - rss_before, 1),
    }
    trials = plan_sweep(spec, task_shapes(spec)).trials
    kinds = [k for k in args.baselines.split(",") if k]
    for kind in kinds:
        assert kind in ("plain", "quiet"), f"unknown baseline {kind!r}"
        seconds = run_baseline(trials, args.task, loggers=kind == "plain")
        out[f"{kind}_tune_s"] = round(seconds, 2)
        out[f"speedup_vs_{kind}"] = round(seconds / hpsweep_s, 2)
    print(json.dumps(out))
    print(
        f"hpsweep: {args.models} models in {hpsweep_s:.1f} s ({out['hpsweep_models_per_s']} models/s, "
        f"{report.packs} packs); driver RSS {rss_before:.0f} -> peak {rss_peak:.0f} MB "
        f"(+{rss_peak - rss_before:.1f} MB)"
    )
    for kind in kinds:
        what = "Tune's default loggers on" if kind == "plain" else "loggers off"
        print(
            f"Ray Tune, one trial per model, actor reuse, {what}: {out[f'{kind}_tune_s']:.1f} s "
            f"({args.models / out[f'{kind}_tune_s']:.2f} models/s) -> hpsweep is {out[f'speedup_vs_{kind}']:.1f}x faster"
        )
    ray.shutdown()
    del tune_adapter


if __name__ == "__main__":
    main()
