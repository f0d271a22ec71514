"""Planning: a validated spec becomes trials with deterministic ids, grouped into packs.

A trial is one model to train. Its `trial_id` is a short hash of the canonical JSON of what
determines its result (task, data seed, model config, training config, model seed), so the same
spec always plans the same ids and a re-run can skip what is already in the store.

A pack is a group of trials that train together as one batched computation: same task, data seed,
epochs and batch size; sorted by hidden size so that padding within a pack is small; at most
`pack.max_models` models and what `pack_memory_bytes` says fits in the memory budget.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from hpsweep.sweep.spec import DensityChoices, SweepSpec
from hpsweep.sweep.trials import MemoryEstimator, Pack, Plan, TaskShape, Trial, max_pack_size, trial_key, trial_key_text  # noqa: F401
from hpsweep.workers.descriptors import (
    BLOCKS,
    Densities,
    balance_metrics,
    block_weights,
    describe,
    hidden_from_budget,
    hidden_from_budget_exact,
)
from hpsweep.workers.errors import DescriptorError, SpecError
from hpsweep.workers.hashing import short_hash, text_hash


def density_configs(choices: DensityChoices, draw_seed_salt: str = "") -> list[tuple[Densities, float | None]]:
    """Expand density choices into (densities, drawn lr or None), in a stable order, without duplicates."""
    out: list[tuple[Densities, float | None]] = []
    out += [(Densities.uniform(u), None) for u in choices.uniform]
    out += [(Densities.from_code(c, b), None) for b in choices.base for c in choices.codes]
    if choices.grid is not None:
        out += [(Densities(*combo), None) for combo in itertools.product(*choices.grid.axes())]
    if choices.random is not None:
        r = choices.random
        # the salt (the task) keeps two tasks with the same seed from drawing identical configs,
        # unless the draws are shared: then every task gets the same candidate configs
        salt = int.from_bytes(hashlib.sha256(draw_seed_salt.encode()).digest()[:4], "little")
        rng = np.random.default_rng([r.seed] if r.shared else [r.seed, salt])
        for _ in range(r.count):
            d = np.clip(np.abs(rng.normal(0.5, 0.25, size=6)), 0.02, 1.0)
            lr = float(max(rng.normal(1e-3, 4e-4), 1e-6))
            out.append((Densities(*(round(float(x), 6) for x in d)), lr if r.method == "paper" else None))
    seen, unique = set(), []
    for dens, lr in out:
        key = (dens.as_tuple(), lr)
        if key not in seen:
            seen.add(key)
            unique.append((dens, lr))
    return unique


def fitting_budgets(ts, shape: TaskShape) -> tuple[float, ...]:
    """The task's budgets, less those whose dense model gets |h| < min_dense_hidden (when set).

    Any sparser config needs fewer weights for the same |h|, so a budget kept here fits every config.
    """
    if ts.min_dense_hidden is None:
        return ts.budgets
    dense = Densities.uniform(1.0)
    return tuple(
        b
        for b in ts.budgets
        if hidden_from_budget_exact(shape.input_dim, shape.output_dim, b, dense) + 0.5 >= ts.min_dense_hidden
    )


PLAN_SECONDS_PER_MILLION = 60  # measured bound (docs/sweep.md): what the max_trials message promises


def plan_size_bound(spec: SweepSpec) -> int:
    """Trials the spec can plan at most (before duplicates and unfit budgets drop out), counted
    without expanding anything, so an oversized spec is refused at once."""
    total = 0
    for ts in spec.tasks:
        d = ts.densities
        fixed = len(d.uniform) + len(d.codes) * len(d.base) + (math.prod(map(len, d.grid.axes())) if d.grid else 0)
        drawn = d.random.count if d.random is not None else 0
        lrs_of_drawn = 1 if d.random is not None and d.random.method == "paper" else len(ts.lr)
        sizes = len(ts.budgets) + len(ts.hidden)
        total += (fixed * len(ts.lr) + drawn * lrs_of_drawn) * sizes * len(spec.training.seeds)
    return total


def check_plan_size(spec: SweepSpec) -> None:
    """SpecError when the spec plans more than its max_trials (a typo in a count, or a scale too big)."""
    bound = plan_size_bound(spec)
    if bound > spec.max_trials:
        raise SpecError(
            f"{spec.source}: the plan would hold up to {bound:,} trials, more than max_trials "
            f"({spec.max_trials:,}); if that is meant, set max_trials: {bound} in the spec "
            f"(planning takes up to {PLAN_SECONDS_PER_MILLION} s per million trials)"
        )


def expand_trials(spec: SweepSpec, shapes: dict) -> list[Trial]:
    """All trials of a spec, in a stable order, without duplicates.

    Raises:
        SpecError: a budget that cannot give |h| >= 1 for a task's dims (names the task entry), or
            a plan larger than the spec's max_trials.
    """
    check_plan_size(spec)
    schedule = spec.training.schedule.describe() if spec.training.schedule is not None else ""
    trials: dict[str, Trial] = {}
    for i, ts in enumerate(spec.tasks):
        shape = shapes[ts.task]
        source_sha = (getattr(shape, "params", None) or {}).get("content_sha256", "")
        budgets = fitting_budgets(ts, shape)
        for dens, drawn_lr in density_configs(ts.densities, draw_seed_salt=ts.task):
            sizes: list[tuple[int, float | None]] = [(h, None) for h in ts.hidden]
            for budget in budgets:
                try:
                    hidden = hidden_from_budget(shape.input_dim, shape.output_dim, budget, dens, ts.round_densities)
                except DescriptorError as e:
                    entry = spec.entries[i] if spec.entries else i
                    sampled = spec.document is not None and spec.document.tasks[entry].sample is not None
                    hint = (
                        "; min_dense_hidden: N leaves such budgets out of the tasks they do not fit" if sampled else ""
                    )
                    raise SpecError(
                        f"{spec.source}: tasks[{entry}].budgets has {budget:g}, which does not fit "
                        f"task {ts.task}: {e}{hint}"
                    ) from None
                sizes.append((hidden, float(budget)))
            densities = dens.as_tuple()
            for hidden, budget in sizes:
                for lr in [drawn_lr] if drawn_lr is not None else ts.lr:
                    head, tail = trial_key_text(
                        ts.task,
                        ts.data_seed,
                        hidden,
                        budget,
                        densities,
                        float(lr),
                        ts.epochs,
                        ts.batch_size,
                        spec.training.init_std,
                        source_sha,
                        schedule,
                    )
                    for seed in spec.training.seeds:
                        tid = text_hash(f"{head}{seed}{tail}")
                        if tid not in trials:
                            trials[tid] = Trial(
                                tid,
                                ts.task,
                                ts.data_seed,
                                hidden,
                                budget,
                                densities,
                                float(lr),
                                ts.epochs,
                                ts.batch_size,
                                spec.training.init_std,
                                seed,
                                source_sha,
                                schedule,
                            )
    return list(trials.values())


def make_packs(
    trials: Iterable[Trial],
    shapes: dict,
    max_models: int,
    memory_bytes: float,
    estimate: MemoryEstimator | None = None,
    schedule: tuple[int, int] | None = None,
    pending: set[str] | None = None,
) -> list[Pack]:
    """Group trials into packs: same task/data seed/epochs/batch size, sorted by hidden size, capped.

    With a schedule (eta, min_epochs): halving packs, each a queue of whole groups (halving_groups)
    with `slots` = max_models or what fits in memory at the largest |h| of its pack key. Halving
    packs are cut from *every* trial of the spec and those holding a `pending` trial are returned
    whole, so a resumed sweep trains exactly the packs (and takes the decisions) of the first run."""
    groups: dict[tuple, list[Trial]] = defaultdict(list)
    for t in trials:
        groups[(t.task, t.data_seed, t.epochs, t.batch_size)].append(t)
    packs = []
    for (task, data_seed, epochs, batch_size), members in sorted(groups.items()):
        if schedule is not None:
            from hpsweep.sweep.halving_plan import halving_packs  # it builds on this module's Pack and Trial

            packs += [
                p
                for p in halving_packs(members, shapes[task], max_models, memory_bytes, estimate, schedule)
                if pending is None or any(t.trial_id in pending for t in p.trials)
            ]
            continue
        members.sort(key=lambda t: (t.hidden, t.trial_id))
        i = 0
        while i < len(members):
            # the largest hidden in the chunk sets its memory; members are sorted, so grow greedily
            k = max_pack_size(
                shapes[task],
                members[min(i + max_models, len(members)) - 1].hidden,
                batch_size,
                max_models,
                memory_bytes,
                estimate,
            )
            chunk = tuple(members[i : i + k])
            pid = short_hash(sorted(t.trial_id for t in chunk))
            packs.append(Pack(pid, task, data_seed, epochs, batch_size, chunk))
            i += k
    # biggest packs first (longest-processing-time first): the last packs to finish are small ones
    return sorted(packs, key=lambda p: (-p.hidden_max * len(p.trials), p.pack_id))


def default_memory_bytes(spec: SweepSpec) -> float:
    """Memory one pack may use: pack.memory_gb, else the GPU share of this machine's GPU, else 2 GB."""
    if spec.pack.memory_gb is not None:
        return spec.pack.memory_gb * 2**30
    if spec.resources.gpus > 0:
        try:
            import torch

            if torch.cuda.is_available():
                total = torch.cuda.get_device_properties(0).total_memory
                return 0.8 * total * min(spec.resources.gpus, 1.0)
        except ImportError:
            pass
        return 16 * 2**30 * min(spec.resources.gpus, 1.0)  # driver without a GPU: assume a 16 GB card
    return 2 * 2**30


def plan_sweep(
    spec: SweepSpec,
    shapes: dict,
    *,
    finished: Iterable[str] = (),
    estimate: MemoryEstimator | None = None,
    memory_bytes: float | None = None,
) -> Plan:
    """Expand a spec into trials and pack the ones not yet finished.

    Args:
        spec: a validated spec.
        shapes: task name -> TaskShape for every task of the spec.
        finished: trial ids already in the store with a final status (skipped).
        estimate: pack memory estimator (workers.pack_memory.pack_memory_bytes); None: no memory cap.
        memory_bytes: memory budget of one pack; None: default_memory_bytes(spec).

    Returns:
        The Plan; `packs` holds only pending trials.

    Raises:
        SpecError: a budget too small for a task; a schedule whose groups hold one config each.
    """
    trials = expand_trials(spec, shapes)
    sched = spec.training.schedule
    if sched is not None:
        from hpsweep.sweep.halving_plan import check_schedule

        check_schedule(spec, trials)
    done = set(finished)
    pending = [t for t in trials if t.trial_id not in done]
    mem = default_memory_bytes(spec) if memory_bytes is None else memory_bytes
    if sched is None:
        packs = make_packs(pending, shapes, spec.pack.max_models, mem, estimate)
    else:
        packs = make_packs(
            trials,
            shapes,
            spec.pack.max_models,
            mem,
            estimate,
            (sched.eta, sched.min_epochs),
            pending={t.trial_id for t in pending},
        )
    return Plan(spec.name, spec.spec_hash, tuple(trials), tuple(packs), dict(shapes), spec.pack.max_models, mem)


def describe_trial(t: Trial, shape: TaskShape):
    """The a-priori ModelDescriptor of a trial (budget recorded as planned)."""
    return describe(shape.input_dim, shape.output_dim, Densities(*t.densities), hidden=t.hidden)


def plan_summary(plan: Plan) -> list[dict]:
    """Per task: trials, packs, hidden, weights and HP ranges (for --dry-run and the log).

    The expected weights are describe()'s (docs/method.md §2), computed for all trials of a task at once:
    a million-trial plan summarises in seconds.
    """
    rows = []
    by_task: dict[str, list[Trial]] = defaultdict(list)
    for t in plan.trials:
        by_task[t.task].append(t)
    packs_of: dict[str, list[Pack]] = defaultdict(list)
    for p in plan.packs:
        packs_of[p.task].append(p)
    for task, trials in by_task.items():
        shape = plan.shapes[task]
        x, y = shape.input_dim, shape.output_dim
        d = np.array([t.densities for t in trials], dtype=float)
        h = np.array([t.hidden for t in trials], dtype=float)
        n = block_weights(x, h, y, {b: d[:, i] for i, b in enumerate(BLOCKS)})
        total = sum(n.values())
        hp = balance_metrics(n, x, h, y)["hidden_proportion"]
        packs = packs_of[task]
        rows.append(
            {
                "task": task,
                "x": x,
                "y": y,
                "trials": len(trials),
                "pending": sum(len(p.trials) for p in packs),
                "packs": len(packs),
                "hidden": (int(h.min()), int(h.max())),
                "weights": (float(total.min()), float(total.max())),
                "hp": (float(hp.min()), float(hp.max())),
            }
        )
    return rows
