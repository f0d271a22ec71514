"""Planning for in-pack successive halving: who competes (groups and candidates), halving packs
(queues of whole groups with a slot count), the model-epochs a schedule plans, and the check that
a schedule has something to compare. docs/sweep.md, "Successive halving", has the rules in prose.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from hpsweep.sweep.spec import SweepSpec
from hpsweep.sweep.trials import MemoryEstimator, Pack, Plan, TaskShape, Trial, max_pack_size
from hpsweep.workers.errors import SpecError
from hpsweep.workers.hashing import short_hash
from hpsweep.workers.schedule import Halving

QUEUE_SLOTS = 8
"""A halving pack's queue holds whole groups, up to this many times its slots (at least one group):
long enough that freed slots are refilled for most of the pack's life, short enough that a task
with thousands of models still spreads over several packs (workers)."""


def group_key(t: Trial) -> tuple:
    """The models a schedule compares: same task, data seed, epochs and batch size (the pack's key),
    same budget (or |h| when given directly) and same lr."""
    size = ("budget", t.budget) if t.budget is not None else ("hidden", float(t.hidden))
    return (*size, t.lr)


def halving_groups(trials: Iterable[Trial]) -> list[list[list[Trial]]]:
    """Trials of one pack key as groups of candidates (a candidate: one config with all its seeds),
    in a stable order: groups by (budget or |h|, lr); candidates by (|h|, densities); seeds ascending."""
    groups: dict[tuple, dict[tuple, list[Trial]]] = defaultdict(lambda: defaultdict(list))
    for t in trials:
        groups[group_key(t)][(t.hidden, t.densities)].append(t)
    return [
        [sorted(groups[g][c], key=lambda t: (t.seed, t.trial_id)) for c in sorted(groups[g])]
        for g in sorted(groups, key=lambda k: (k[0], k[1], k[2]))
    ]


def pack_candidates(pack: Pack) -> list[tuple[int, tuple[int, ...]]]:
    """(group number, trial indices of one candidate) in queue order, for a halving pack's trials."""
    index = {t.trial_id: i for i, t in enumerate(pack.trials)}
    return [
        (g, tuple(index[t.trial_id] for t in cand))
        for g, group in enumerate(halving_groups(pack.trials))
        for cand in group
    ]


def halving_packs(
    members: list[Trial],
    shape: TaskShape,
    max_models: int,
    memory_bytes: float,
    estimate: MemoryEstimator | None,
    schedule: tuple[int, int],
) -> list[Pack]:
    """One pack key's trials as halving packs: queues of whole groups."""
    t0 = members[0]
    slots = max_pack_size(shape, max(t.hidden for t in members), t0.batch_size, max_models, memory_bytes, estimate)
    slots = max(slots, max(len(c) for g in halving_groups(members) for c in g))  # a candidate's seeds train together
    packs, queue = [], []
    for group in halving_groups(members):
        size = sum(len(c) for c in group)
        if queue and len(queue) + size > QUEUE_SLOTS * slots:
            packs.append(queue)
            queue = []
        queue += [t for c in group for t in c]
    packs.append(queue)
    return [
        Pack(
            short_hash(sorted(t.trial_id for t in q)),
            t0.task,
            t0.data_seed,
            t0.epochs,
            t0.batch_size,
            tuple(q),
            schedule,
            min(slots, len(q)),
        )
        for q in packs
    ]


def planned_model_epochs(plan: Plan, schedule: tuple[int, int] | None) -> tuple[int, int]:
    """(model-epochs of the pending trials trained fully, model-epochs under the schedule when every
    group starts together); equal without a schedule. A refilled pack judges late arrivals against
    the early ones (ASHA), so it can keep a few more models going than this."""
    full = sum(len(p.trials) * p.epochs for p in plan.packs)
    if schedule is None:
        return full, full
    halving = Halving(*schedule)
    scheduled = 0
    for p in plan.packs:
        for group in halving_groups(p.trials):
            seeds = sum(len(c) for c in group) / len(group)
            scheduled += round(seeds * halving.model_epochs(len(group), p.epochs))
    return full, scheduled


def check_schedule(spec: SweepSpec, trials: list[Trial]) -> None:
    """SpecError when a schedule has nothing to compare: every group holds a single config."""
    by_key: dict[tuple, set] = defaultdict(set)
    for t in trials:
        by_key[(t.task, t.data_seed, t.epochs, t.batch_size, *group_key(t))].add((t.hidden, t.densities))
    if by_key and max(len(v) for v in by_key.values()) < 2:
        task, _, _, _, kind, size, lr = next(iter(by_key))
        raise SpecError(
            f"{spec.source}: training.schedule has nothing to compare: every group of competing models "
            f"(same task, {kind} and lr; e.g. {task[:60]} at {kind} {size:g}, lr {lr:g}) holds one density "
            f"config; sweep several configs per task, {kind} and lr, or remove training.schedule"
        )
