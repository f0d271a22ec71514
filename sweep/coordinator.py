"""The driver of `hpsweep run`: spec -> plan -> Ray Tune -> results store -> summary.

Everything a user can get wrong is checked before Ray starts (spec, tasks, budgets, a results
store holding another spec under the same name). A re-run of a spec resumes it: trials already
in the store with a final status are skipped. Packs that fail after all their retries are
written by the driver as failed trials with the error text, so every planned trial ends with a
final status.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pyarrow as pa

from hpsweep.sweep.locations import resolve_path_env, resolve_results
from hpsweep.sweep.plan import Plan, plan_sweep
from hpsweep.sweep.spec import SweepSpec
from hpsweep.workers.errors import SpecError
from hpsweep.workers.pack_memory import pack_memory_bytes
from hpsweep.workers.results import ResultsStore, SweepStore


@dataclass
class RunReport:
    sweep_id: str
    planned: int
    skipped: int  # already finished before this run
    packs: int  # packs run now
    failed_packs: list[str] = field(default_factory=list)
    unseen_packs: list[str] = field(default_factory=list)  # reported done, but their rows are not in the store
    pack_nodes: dict[str, str] = field(default_factory=dict)  # pack_id -> Ray node id that finished it
    seconds: float = 0.0


def task_shapes(spec: SweepSpec) -> dict:
    """TaskInfo per task of the spec (no data is built)."""
    from hpsweep.workers.tasks import get_task

    return {ts.task: get_task(ts.task).info() for ts in spec.tasks}


def make_plan(spec: SweepSpec, sweep: SweepStore, retry_failed: bool = False) -> tuple[Plan, dict]:
    """Plan the pending work of a spec against what its sweep in the store already holds.

    Returns:
        (plan, finished) where finished maps trial_id -> (status, attempt) already in the store.

    Raises:
        SpecError: a budget too small for a task. StoreError: another spec under this name.
    """
    known = sweep.check_spec(spec.spec_hash)
    if spec.training.schedule is not None:
        check_store_schema(spec, sweep.store)
    finished = sweep.finished() if known is not None else {}
    done = {t for t, (s, _) in finished.items() if s != "failed" or not retry_failed}
    plan = plan_sweep(spec, task_shapes(spec), finished=done, estimate=pack_memory_bytes)
    return plan, finished


HALVING_SCHEMA = 3
"""The results schema that knows the status `stopped` (workers/schema.py)."""


def check_store_schema(spec: SweepSpec, store: ResultsStore) -> None:
    """A halving sweep writes `stopped` rows; a root that older hpsweep versions wrote (and may read)
    does not know that status, so the two are never mixed silently.

    Raises:
        SpecError: the root holds rows of a schema before HALVING_SCHEMA.
    """
    import polars as pl

    oldest = store.scan("trials").select(pl.col("schema_version").min()).collect().item()
    if oldest is not None and oldest < HALVING_SCHEMA:
        raise SpecError(
            f"{spec.source}: training.schedule writes trials with status 'stopped', but results "
            f"{store.root!r:.100} hold rows of results schema {oldest} (an hpsweep before version "
            f"{HALVING_SCHEMA} of the schema), whose readers do not know that status; run the halving "
            f"sweep with a fresh --results"
        )


def local_resources() -> dict:
    """CPUs and GPUs an embedded local Ray would get."""
    try:
        import torch

        gpus = torch.cuda.device_count()
    except ImportError:
        gpus = 0
    return {"CPU": os.cpu_count() or 1, "GPU": gpus}


def check_resources(spec: SweepSpec, available: dict, where: str) -> None:
    """A pack that asks for more than the cluster has would wait forever: refuse it up front.

    Raises:
        SpecError: resources.cpus or resources.gpus beyond what `available` holds; pack.device cuda without GPUs.
    """
    res = spec.resources
    cpus, gpus = available.get("CPU", 0), available.get("GPU", 0)
    if spec.pack.device == "cuda" and not gpus:  # else every pack would fail on its workers, one by one
        raise SpecError(
            f"{spec.source}: pack.device is cuda, but {where} has no GPU; set pack.device: auto "
            f"(or cpu), or run on a cluster with GPUs with --address"
        )
    if res.cpus > cpus:
        raise SpecError(
            f"{spec.source}: resources.cpus is {res.cpus:g} per pack, but {where} has {cpus:g} CPUs; "
            f"lower it or run on a bigger cluster with --address"
        )
    if res.gpus > gpus:
        raise SpecError(
            f"{spec.source}: resources.gpus is {res.gpus:g} per pack, but {where} has "
            f"{f'{gpus:g}' if gpus else 'no'} GPUs; set resources.gpus: 0 or run on a cluster with "
            f"GPUs with --address"
        )


def run_sweep(
    spec: SweepSpec,
    results: str,
    *,
    address: str | None = None,
    retry_failed: bool = False,
    live: bool | None = None,
    echo=print,
    verbose: bool = False,
) -> RunReport:
    """Run (or resume) a sweep. Uses an already-connected Ray as is; otherwise connects to
    `address` (or RAY_ADDRESS) or starts an embedded local Ray, and stops only what it started.

    Raises:
        SpecError, TaskError, StoreError: user errors, all raised before Ray starts.
    """
    import time

    from hpsweep.sweep import tune_adapter

    started = time.monotonic()
    results = resolve_results(results)  # workers run in other directories: only absolute paths or URIs
    resolve_path_env()
    if tune_adapter.ray_connected():  # a Ray this process already runs: its resources are what there is
        check_resources(spec, tune_adapter.cluster_resources(), "the connected Ray cluster")
    elif address is None and not os.environ.get("RAY_ADDRESS"):  # an autoscaling cluster may grow: no check
        check_resources(spec, local_resources(), "this machine")
    sweep = ResultsStore(results).sweep(spec.name)
    plan, finished = make_plan(spec, sweep, retry_failed)
    with sweep.lease(echo=echo):  # one driver per sweep: a second one refuses here
        return _run_plan(spec, results, sweep, plan, finished, address, live, echo, started, verbose)


def _run_plan(spec, results, sweep, plan, finished, address, live, echo, started, verbose) -> RunReport:
    """run_sweep's work once the sweep's lease is held."""
    import time

    from hpsweep.sweep import tune_adapter
    from hpsweep.sweep.pack_runner import PackJob
    from hpsweep.sweep.progress import SweepProgress, pack_work
    from hpsweep.sweep.rows import trial_rows
    from hpsweep.workers.kept_models import KeepRule

    sweep.save(
        spec.text,
        spec.spec_hash,
        pa.table({"trial_id": [t.trial_id for t in plan.trials], "task": [t.task for t in plan.trials]}),
    )
    pending = sum(len(p.trials) for p in plan.packs)
    report = RunReport(spec.name, len(plan.trials), len(plan.trials) - pending, len(plan.packs))
    if not plan.packs:
        echo(f"sweep {spec.name}: all {len(plan.trials)} planned trials are already in {results}; nothing to run")
        return report
    res = spec.resources
    threads = spec.pack.threads or max(1, int(res.cpus))
    keep = None if spec.keep.models == "none" else KeepRule(spec.keep.models, spec.keep.per, spec.keep.top)
    jobs = [
        PackJob(
            results,
            spec.name,
            p,
            max([finished.get(t.trial_id, ("", 0))[1] for t in p.trials]),
            spec.pack.device,
            threads,
            keep,
        )
        for p in plan.packs
    ]
    echo(
        f"sweep {spec.name}: {len(plan.trials)} trials planned, {report.skipped} already done; running {pending} "
        f"models in {len(plan.packs)} packs -> {results}"
    )
    by_id = {j.pack.pack_id: j for j in jobs}
    started_ray = tune_adapter.ensure_ray(address, verbose=verbose)
    try:

        def visible(pack_id: str) -> bool:  # what a reader of `results` sees, not what the worker said
            job = by_id[pack_id]  # the pack's own commit index: the same cost for every pack (commits.py)
            return sweep.committed(job.pack.task, pack_id, job.base_attempt)

        shapes = plan.shapes
        work = {
            p.pack_id: pack_work(
                len(p.trials),
                p.hidden_max,
                shapes[p.task].input_dim,
                shapes[p.task].output_dim,
                shapes[p.task].seq_len,
                shapes[p.task].n_train,
                p.epochs,
                p.batch_size,
            )
            for p in plan.packs
        }
        progress = SweepProgress(
            len(jobs),
            pending,
            {p.pack_id: len(p.trials) for p in plan.packs},
            live=live,
            visible=visible,
            where=results,
            work=work,
        )
        try:
            outcomes = tune_adapter.run_packs(
                jobs,
                cpus=res.cpus,
                gpus=res.gpus,
                max_concurrent=res.max_concurrent,
                max_failures=res.max_failures,
                events=progress,
            )
        finally:
            progress.close()
    finally:
        if started_ray:
            tune_adapter.shutdown_ray()
    report.unseen_packs = list(progress.unseen)
    for outcome in outcomes:
        if outcome.summary and outcome.summary.get("node_id"):
            report.pack_nodes[outcome.pack_id] = outcome.summary["node_id"]
        if outcome.error is None:
            continue
        job = by_id[outcome.pack_id]
        attempt = job.base_attempt + max(sweep.attempts(outcome.pack_id), 1)
        rows = trial_rows(
            spec.name,
            job.pack,
            attempt,
            plan.shapes[job.pack.task],
            error=outcome.error,
            score=plan.shapes[job.pack.task].score_name,
        )
        # False when the pack had committed before Tune saw it fail (e.g. lost while reporting): then it is done
        if sweep.commit(job.pack.task, job.pack.pack_id, attempt, rows, None, after_attempt=job.base_attempt):
            report.failed_packs.append(outcome.pack_id)
    report.seconds = time.monotonic() - started
    return report
