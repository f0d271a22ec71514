"""Full training vs in-pack successive halving vs plain Ray Tune + ASHAScheduler, side by side in one run.

    python bench/halving.py                    # 512 models: 8 meta-like tasks x 2 budgets x 16 configs x 2 seeds
    python bench/halving.py --tasks 2          # a quick look (128 models)
    python bench/halving.py --compaction       # per-epoch CPU time against live models (a few seconds)

The same models three ways, on one machine and one Ray:
  full     `run_sweep` (the path of `hpsweep run`), every model trains every epoch;
  halving  the same spec with `training.schedule: {kind: halving, eta, min_epochs}` (in-pack ASHA,
           a config's seeds judged together, groups = task x budget x lr);
  asha     one Tune trial per model (actor reuse, loggers off), Tune's own ASHAScheduler with the same
           eta and rungs (grace_period = min_epochs, reduction_factor = eta, max_t = epochs, one bracket),
           run once per group so that only a group's models compete, as in the halving arm.
Task data is built once before any arm (all arms read the disk cache). Quality per group, measured
against the full run's test scores (mean over seeds): the arm's winner is the config with the best
mean validation score among those it trained to the last epoch; regret = (best - winner) /
(best - worst); "same winner" when the winner's full-run test score is within the group's seed
noise (median over configs of the std between seeds) of the full run's own winner; "vs full pick"
is (full winner - winner) / (best - worst), at least 0: what the arm loses against training fully.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict

FAMILIES = [  # meta's families and parameter ranges, smaller counts (sweep/specs/meta.yaml)
    {
        "family": "teacher",
        "seed": 101,
        "params": {
            "x": {"log_uniform": [4, 32]},
            "y": {"log_uniform": [2, 32]},
            "t": {"uniform": [5, 20]},
            "noise": {"uniform": [0, 0.2]},
        },
    },
    {
        "family": "prototype",
        "seed": 201,
        "params": {"x": {"log_uniform": [4, 32]}, "frames": {"log_uniform": [2, 16]}, "noise": {"uniform": [0.5, 1.5]}},
    },
    {
        "family": "lorenz",
        "seed": 301,
        "params": {"n": {"log_uniform": [4, 16]}, "t": {"uniform": [5, 20]}, "noise": {"uniform": [0, 0.2]}},
    },
]
SIZES = {"n_train": 500, "n_val": 250, "n_test": 500}


def bench_doc(name: str, tasks: int, epochs: int, schedule: dict | None) -> dict:
    counts = [tasks // 3 + (1 if i < tasks % 3 else 0) for i in range(3)]
    entries = [
        {
            "sample": {"family": f["family"], "count": n, "seed": f["seed"], "params": {**f["params"], **SIZES}},
            "budgets": [1500, 5000],
            "min_dense_hidden": 8,
        }
        for f, n in zip(FAMILIES, counts)
        if n
    ]
    training = {"lr": [0.01], "epochs": epochs, "batch_size": 32, "seeds": [0, 1]}
    if schedule:
        training["schedule"] = schedule
    return {
        "name": name,
        "tasks": entries,
        "training": training,
        "pack": {"max_models": 32},
        "resources": {"cpus": 1, "max_failures": 0},
        "densities": {
            "uniform": [1.0, 0.5, 0.2],
            "codes": ["010111", "011001", "110110", "100011", "111000", "000111", "101101"],
            "base": [0.2],
            "random": {"count": 6, "method": "paper-densities", "seed": 3, "shared": True},
        },
    }


def config_of(t) -> tuple:
    return tuple(round(d, 4) for d in t.densities)


_DATA: dict = {}


def one_model_trainable(config, trials=None):
    """ASHA arm: one Tune trial trains one model, reporting its validation score every epoch."""
    from ray import tune

    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.packed import ModelSpec
    from hpsweep.workers.tasks import load_task_data
    from hpsweep.workers.trainer import TrainSettings, train_pack

    t = trials[config["i"]]
    if t.task not in _DATA:
        _DATA.clear()
        _DATA[t.task] = load_task_data(t.task, seed=t.data_seed)
    data = _DATA[t.task]
    spec = ModelSpec(data.input_dim, data.output_dim, t.hidden, Densities(*t.densities), t.seed, t.lr, t.init_std)

    def report(e):
        tune.report({"val_score": e.val_score[0] if e.val_score[0] == e.val_score[0] else -1e9})

    train_pack(data, [spec], TrainSettings(t.epochs, t.batch_size, "cpu", 1), on_epoch=report)


def run_asha(trials, eta: int, min_epochs: int, epochs: int) -> tuple[float, dict]:
    """One Tuner per group; returns (seconds, trial_id -> (epochs trained, last val score))."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from hpsweep.sweep.halving_plan import group_key

    groups = defaultdict(list)
    for t in trials:
        groups[(t.task, *group_key(t))].append(t)
    reached, t0 = {}, time.perf_counter()
    for members in groups.values():
        scheduler = ASHAScheduler(
            time_attr="training_iteration",
            metric="val_score",
            mode="max",
            max_t=epochs,
            grace_period=min_epochs,
            reduction_factor=eta,
            brackets=1,
        )
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(one_model_trainable, trials=members), {"cpu": 1}),
            param_space={"i": tune.grid_search(list(range(len(members))))},
            tune_config=tune.TuneConfig(scheduler=scheduler, reuse_actors=True),
            run_config=tune.RunConfig(name="asha", storage_path=tempfile.mkdtemp(prefix="bench-asha-"), verbose=0),
        )
        grid = tuner.fit()
        assert not grid.errors, grid.errors
        for r in grid:
            t = members[r.config["i"]]
            reached[t.trial_id] = (int(r.metrics["training_iteration"]), float(r.metrics["val_score"]))
    return time.perf_counter() - t0, reached


def quality(trials, full_rows, arm_reached, epochs) -> list[dict]:
    """Per group: the arm's winner against the full run's test scores (module docstring)."""
    from hpsweep.sweep.halving_plan import group_key

    by_group = defaultdict(lambda: defaultdict(list))
    for t in trials:
        by_group[(t.task, *group_key(t))][config_of(t)].append(t.trial_id)
    out = []
    for g, configs in sorted(by_group.items()):
        test = {c: statistics.mean(full_rows[i][1] for i in ids) for c, ids in configs.items()}
        full_val = {c: statistics.mean(full_rows[i][0] for i in ids) for c, ids in configs.items()}
        noise = statistics.median(statistics.stdev([full_rows[i][1] for i in ids]) for ids in configs.values())
        finished = {c: [arm_reached[i][1] for i in ids if arm_reached[i][0] == epochs] for c, ids in configs.items()}
        arm_val = {c: statistics.mean(v) for c, v in finished.items() if v}
        best, worst = max(test.values()), min(test.values())
        full_pick = max(full_val, key=lambda c: (full_val[c], c))
        pick = max(arm_val, key=lambda c: (arm_val[c], c))
        span = best - worst
        out.append(
            {
                "group": g,
                "regret": (best - test[pick]) / span if span > 0 else 0.0,
                "full_regret": (best - test[full_pick]) / span if span > 0 else 0.0,
                "regret_vs_full_pick": max(0.0, test[full_pick] - test[pick]) / span if span > 0 else 0.0,
                "same_winner": pick == full_pick or test[pick] >= test[full_pick] - noise,
                "exact_winner": pick == full_pick,
            }
        )
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=8, help="tasks (x 2 budgets x 16 configs x 2 seeds models)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--eta", type=int, default=3)
    ap.add_argument("--min-epochs", type=int, default=2)
    ap.add_argument("--arms", default="full,halving,asha")
    args = ap.parse_args()
    arms = args.arms.split(",")
    load = [os.getloadavg()]

    import ray

    from hpsweep.sweep import tune_adapter  # Tune's env (loggers off) before any Tuner
    from hpsweep.sweep.coordinator import run_sweep, task_shapes
    from hpsweep.sweep.cost import estimate_from_history, estimate_wall_seconds, history_rate, packs_at_once
    from hpsweep.sweep.plan import plan_sweep
    from hpsweep.sweep.spec import parse_spec
    from hpsweep.workers.pack_memory import pack_memory_bytes
    from hpsweep.workers.results import ResultsStore
    from hpsweep.workers.tasks import load_task_data

    schedule = {"kind": "halving", "eta": args.eta, "min_epochs": args.min_epochs}
    full_spec = parse_spec(bench_doc("full", args.tasks, args.epochs, None), "bench.yaml")
    halving_spec = parse_spec(bench_doc("halving", args.tasks, args.epochs, schedule), "bench.yaml")
    shapes = task_shapes(full_spec)
    t0 = time.perf_counter()
    for task in shapes:
        load_task_data(task, seed=0)  # the disk cache, so no arm pays for generating data
    data_s = time.perf_counter() - t0
    full_trials = plan_sweep(full_spec, shapes).trials
    print(
        f"{len(full_trials)} models, {len(shapes)} tasks; eta {args.eta}, min_epochs {args.min_epochs}, "
        f"{args.epochs} epochs; task data built in {data_s:.0f} s; load {load[0][0]:.2f}",
        flush=True,
    )

    ray.init(
        address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="ERROR"
    )
    root = tempfile.mkdtemp(prefix="bench-halving-")
    store = ResultsStore(root)
    quiet = lambda *a, **k: None  # noqa: E731
    out = {
        "models": len(full_trials),
        "tasks": len(shapes),
        "epochs": args.epochs,
        "eta": args.eta,
        "min_epochs": args.min_epochs,
        "cpus": os.cpu_count(),
    }
    rows = {}
    for name, spec in (("full", full_spec), ("halving", halving_spec)):
        if name not in arms:
            continue
        plan = plan_sweep(spec, shapes, estimate=pack_memory_bytes)
        estimate, _ = estimate_wall_seconds(plan, packs_at_once(1, None))
        history = history_rate(store)  # the arms before this one, as `run --dry-run` would read them
        if history is not None:
            out[f"{name}_estimate_history_s"] = round(
                estimate_from_history(plan, packs_at_once(1, None), history[0]), 1
            )
        t0 = time.perf_counter()
        report = run_sweep(spec, root, live=False, echo=quiet)
        wall = time.perf_counter() - t0
        load.append(os.getloadavg())
        assert not report.failed_packs, report.failed_packs
        trials = store.scan("trials", spec.name).collect()
        rows[name] = {r["trial_id"]: r for r in trials.iter_rows(named=True)}
        out[f"{name}_wall_s"] = round(wall, 1)
        out[f"{name}_model_epochs"] = int(trials["epochs_run"].sum())
        out[f"{name}_estimate_s"] = round(estimate, 1)
        out[f"{name}_packs"] = report.packs
        from_history = (
            f", from the earlier arm's cost columns {out[f'{name}_estimate_history_s']:.0f} s"
            if f"{name}_estimate_history_s" in out
            else ""
        )
        print(
            f"{name}: {wall:.1f} s wall (dry-run estimate {estimate:.0f} s{from_history}), {out[f'{name}_model_epochs']} "
            f"model-epochs, {report.packs} packs; load {load[-1][0]:.2f}",
            flush=True,
        )
    if "asha" in arms:
        wall, reached = run_asha(full_trials, args.eta, args.min_epochs, args.epochs)
        load.append(os.getloadavg())
        out["asha_wall_s"] = round(wall, 1)
        out["asha_model_epochs"] = sum(e for e, _ in reached.values())
        print(f"asha: {wall:.1f} s wall, {out['asha_model_epochs']} model-epochs; load {load[-1][0]:.2f}", flush=True)

    if "full" in rows:
        full_rows = {i: (r["val_score"], r["test_score"]) for i, r in rows["full"].items()}
        by_id = {t.trial_id: t for t in full_trials}
        arm_results = {}
        if "halving" in rows:  # halving trial ids differ (the schedule is in the key): match by model
            key = lambda t: (t.task, t.budget, t.lr, t.seed, t.densities, t.hidden)  # noqa: E731
            full_of = {key(t): t.trial_id for t in full_trials}
            halving_trials = plan_sweep(halving_spec, shapes).trials
            arm_results["halving"] = {
                full_of[key(t)]: (rows["halving"][t.trial_id]["epochs_run"], rows["halving"][t.trial_id]["val_score"])
                for t in halving_trials
            }
        if "asha" in arms:
            arm_results["asha"] = reached
        print(
            f"\n{'arm':8} {'wall s':>8} {'model-epochs':>13} {'mean regret':>12} {'max regret':>11} "
            f"{'same winner':>12} {'exact':>6} {'vs full pick':>13}"
        )
        full_q = quality(full_trials, full_rows, {i: (args.epochs, v) for i, (v, _) in full_rows.items()}, args.epochs)
        out["full_mean_regret"] = round(statistics.mean(q["full_regret"] for q in full_q), 4)
        print(
            f"{'full':8} {out['full_wall_s']:8.1f} {out['full_model_epochs']:13d} {out['full_mean_regret']:12.4f} "
            f"{max(q['full_regret'] for q in full_q):11.4f} {'1.00':>12} {'1.00':>6} {0:13.4f}"
        )
        for name, reached_by in arm_results.items():
            q = quality(list(by_id.values()), full_rows, reached_by, args.epochs)
            out[f"{name}_mean_regret"] = round(statistics.mean(x["regret"] for x in q), 4)
            out[f"{name}_mean_regret_vs_full_pick"] = round(statistics.mean(x["regret_vs_full_pick"] for x in q), 4)
            out[f"{name}_same_winner"] = round(sum(x["same_winner"] for x in q) / len(q), 3)
            out[f"{name}_exact_winner"] = round(sum(x["exact_winner"] for x in q) / len(q), 3)
            print(
                f"{name:8} {out[f'{name}_wall_s']:8.1f} {out[f'{name}_model_epochs']:13d} "
                f"{out[f'{name}_mean_regret']:12.4f} {max(x['regret'] for x in q):11.4f} "
                f"{out[f'{name}_same_winner']:12.2f} {out[f'{name}_exact_winner']:6.2f} "
                f"{out[f'{name}_mean_regret_vs_full_pick']:13.4f}"
            )
        out["groups"] = len(full_q)
    if "halving" in arms:
        out["refill"] = refill_log(halving_spec, shapes, root)
    out["loadavg"] = [round(x, 2) for x in load[0]]
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    ray.shutdown()
    del tune_adapter
    print(json.dumps(out))


def refill_log(spec, shapes, root) -> dict:
    """One halving pack of the bench, trained again here (same pack, same decisions): its live and
    waiting models and seconds per epoch, to show that the slots stay full while models wait."""
    from hpsweep.sweep.pack_runner import PackJob, run_pack
    from hpsweep.sweep.plan import plan_sweep
    from hpsweep.workers.pack_memory import pack_memory_bytes

    pack = max(plan_sweep(spec, shapes, estimate=pack_memory_bytes).packs, key=lambda p: (len(p.trials), p.pack_id))
    summary = run_pack(PackJob(tempfile.mkdtemp(prefix="bench-refill-"), "refill", pack, threads=1), in_ray=False)
    log = summary["epoch_log"]
    print(f"\nrefill: pack {pack.pack_id[:8]} ({len(pack.trials)} models, {pack.slots} slots)")
    print(f"{'epoch':>5} {'live':>5} {'waiting':>8} {'s':>7} {'ms/model':>9}")
    for epoch, live, waiting, seconds in log:
        print(f"{epoch:5d} {live:5d} {waiting:8d} {seconds:7.3f} {1000 * seconds / max(live, 1):9.1f}")
    full_while_waiting = all(live == pack.slots for _, live, waiting, _ in log if waiting)
    print(f"slots full while models waited: {full_while_waiting}")
    return {
        "pack_models": len(pack.trials),
        "slots": pack.slots,
        "full_while_waiting": full_while_waiting,
        "live": [live for _, live, _, _ in log],
        "seconds": [round(s, 3) for *_, s in log],
    }


def compaction_table(models: int = 32, epochs: int = 6) -> list[dict]:
    """Per-epoch CPU time of one halving pack (eta 2, one shape) against its live models, beside a
    fresh pack of that many models: after compaction an epoch costs what a pack of the survivors
    costs. One thread, thread CPU time (robust to a busy machine)."""
    import torch

    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.halving import train_halving
    from hpsweep.workers.packed import ModelSpec
    from hpsweep.workers.schedule import Candidate, Halving
    from hpsweep.workers.tasks import load_task_data
    from hpsweep.workers.trainer import TrainSettings, train_pack

    torch.set_num_threads(1)
    data = load_task_data("teacher(x=16,y=4,t=20,n_train=1000,n_val=250,n_test=250)", seed=0)
    specs = [
        ModelSpec(data.input_dim, data.output_dim, 48, Densities(*([0.2 + 0.8 * i / models] * 6)), i, 0.01)
        for i in range(models)
    ]
    settings = TrainSettings(epochs, 32, "cpu", 1)
    clock = time.thread_time
    epoch_cpu, last = [], [clock()]

    def tick(e):
        now = clock()
        epoch_cpu.append((e.live, now - last[0]))
        last[0] = now

    last[0] = clock()
    train_halving(
        data, specs, settings, Halving(2, 1), [Candidate(0, (i,)) for i in range(models)], models, on_epoch=tick
    )
    rows = []
    for live, seconds in epoch_cpu:
        fresh = []
        t0 = clock()
        train_pack(data, specs[:live], TrainSettings(1, 32, "cpu", 1), on_epoch=lambda e: fresh.append(clock() - t0))
        rows.append({"live": live, "halving_epoch_s": round(seconds, 3), "fresh_pack_epoch_s": round(fresh[0], 3)})
    return rows


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--compaction"]:
        print(f"load {os.getloadavg()[0]:.2f}")
        print(f"{'live':>5} {'halving epoch s':>16} {'fresh pack of live s':>21}")
        for r in compaction_table():
            print(f"{r['live']:5d} {r['halving_epoch_s']:16.3f} {r['fresh_pack_epoch_s']:21.3f}")
        print(f"load {os.getloadavg()[0]:.2f}")
    else:
        main()
