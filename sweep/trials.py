"""What a plan is made of: trials with their deterministic ids, packs, the plan itself, and the
largest pack that fits a memory budget. plan.py builds these from a spec; halving_plan.py cuts
halving packs from them; neither imports the other's building code through this module.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class TaskShape(Protocol):
    """What planning needs to know about a task (workers.tasks' TaskInfo has these)."""

    name: str
    input_dim: int
    output_dim: int
    seq_len: int
    n_train: int


MemoryEstimator = Callable[..., int]  # (input_dim, output_dim, seq_len, hidden, batch_size, k, n_train) -> bytes


@dataclass(frozen=True)
class Trial:
    """One model to train."""

    trial_id: str
    task: str
    data_seed: int
    hidden: int
    budget: float | None  # null when |h| was given directly
    densities: tuple[float, ...]  # BLOCKS order
    lr: float
    epochs: int
    batch_size: int
    init_std: float
    seed: int
    source_sha256: str = ""  # content of a file: task's source; "" for generated tasks
    schedule: str = ""  # the training schedule's text (Schedule.describe()); "" when it trains every epoch

    def key(self) -> dict:
        return trial_key(
            self.task,
            self.data_seed,
            self.hidden,
            self.budget,
            self.densities,
            self.lr,
            self.epochs,
            self.batch_size,
            self.init_std,
            self.seed,
            self.source_sha256,
            self.schedule,
        )


def trial_key(
    task, data_seed, hidden, budget, densities, lr, epochs, batch_size, init_std, seed, source_sha256="", schedule=""
) -> dict:
    """What determines a trial's result (the fields of Trial); its trial_id is the hash of this."""
    head, tail = trial_key_text(
        task, data_seed, hidden, budget, densities, lr, epochs, batch_size, init_std, source_sha256, schedule
    )
    return json.loads(f"{head}{seed}{tail}")


def trial_key_text(
    task, data_seed, hidden, budget, densities, lr, epochs, batch_size, init_std, source_sha256="", schedule=""
) -> tuple[str, str]:
    """The canonical JSON of a trial's key, as the text before and after its seed: the key's one writer.

    Written out rather than built with json.dumps because hashing a million trials through json.dumps
    took most of the planning time; a test checks the text is canonical_json of the parsed key."""
    # a model a schedule may stop early is another trial than the one trained fully
    sched = f'"schedule": {json.dumps(schedule)}, ' if schedule else ""
    head = (
        f'{{"batch_size": {batch_size}, "budget": {"null" if budget is None else repr(budget)}, '
        f'"data_seed": {data_seed}, "densities": [{", ".join(map(repr, densities))}], "epochs": {epochs}, '
        f'"hidden": {hidden}, "init_std": {init_std!r}, "lr": {lr!r}, {sched}"seed": '
    )
    # a regenerated file under the same name must not resume from old rows
    sha = f', "source_sha256": {json.dumps(source_sha256)}' if source_sha256 else ""
    return head, f'{sha}, "task": {json.dumps(task)}}}'


@dataclass(frozen=True)
class Pack:
    """Trials that train together: same task, data seed, epochs and batch size.

    With a halving schedule (eta, min_epochs) the trials are a queue of whole groups (halving_groups)
    and at most `slots` of them train at once; without one, all of them train together."""

    pack_id: str
    task: str
    data_seed: int
    epochs: int
    batch_size: int
    trials: tuple[Trial, ...]
    schedule: tuple[int, int] | None = None  # (eta, min_epochs) of in-pack successive halving
    slots: int = 0  # models training at once under a schedule (0: every trial)

    @property
    def hidden_max(self) -> int:
        return max(t.hidden for t in self.trials)


@dataclass(frozen=True)
class Plan:
    """Everything a sweep will train, before anything runs."""

    sweep_id: str
    spec_hash: str
    trials: tuple[Trial, ...]
    packs: tuple[Pack, ...]  # packs of the pending trials only
    shapes: dict  # task -> TaskShape
    max_models: int  # pack.max_models of the spec
    memory_bytes: float  # memory budget of one pack


def max_pack_size(
    shape: TaskShape, hidden: int, batch_size: int, cap: int, memory_bytes: float, estimate: MemoryEstimator | None
) -> int:
    """Largest k <= cap whose estimated memory fits (at least 1: one model always runs)."""
    if estimate is None:
        return cap
    lo, hi = 1, cap
    while lo < hi:  # memory grows with k: binary search the largest k that fits
        mid = (lo + hi + 1) // 2
        if (
            estimate(shape.input_dim, shape.output_dim, shape.seq_len, hidden, batch_size, mid, shape.n_train)
            <= memory_bytes
        ):
            lo = mid
        else:
            hi = mid - 1
    return lo
