"""Successive halving inside one pack: models compete at rungs, losers leave the batched computation,
and freed slots take waiting models (asynchronous successive halving, ASHA's stopping rule).

Who competes: a *candidate* is one configuration with all its seeds (trained side by side, judged
by the mean validation score of its seeds that have not diverged); candidates of one *group* (the
planner's: same task, budget or |h|, and lr) compete. Rungs sit at min_epochs * eta^k epochs below
the last epoch. When a candidate reaches a rung, its score joins the scores that rung has seen so
far in its group, and it goes on only when fewer than max(1, floor(n / eta)) of those n scores
rank above it (higher score; an equal score ranks above when its candidate came earlier in the
queue). Candidates that reach a rung in the same epoch are judged together, so a group that starts
together is halved exactly as synchronous successive halving would; a candidate that starts later
(refill) is judged against every score recorded before it, as ASHA does. Stopping is final.

Every decision depends only on validation scores, the queue order and the rule above, and a pack
computes the same numbers each time it runs, so a pack trained again (after a lost worker or a
killed driver) takes the same decisions.

Compute: whenever a model leaves or joins, the pack's stacked tensors are rebuilt from the models
still training (PackTrainer.assemble; CPU chunks re-cut, a CUDA graph captured again), so an epoch
costs what its live models cost. Refill: at the start of every epoch, waiting candidates (queue
order) take the free slots, one whole candidate at a time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from hpsweep.workers.batch_order import BatchOrder, Permutations
from hpsweep.workers.data import TaskData
from hpsweep.workers.pack_memory import cpu_chunk_width
from hpsweep.workers.packed import ModelSpec
from hpsweep.workers.schedule import Candidate, Halving, RungBoard
from hpsweep.workers.trainer import (
    EpochReport,
    ModelResult,
    PackResult,
    PackTrainer,
    TrainSettings,
    apply_backend_settings,
    check_pack,
    finite_or_none,
    record_epoch,
    resolve_device,
    train_epoch,
)


def train_halving(
    data: TaskData,
    specs: list[ModelSpec],
    settings: TrainSettings,
    schedule: Halving,
    candidates: list[Candidate],
    slots: int,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> PackResult:
    """Train a queue of candidates, at most `slots` models at once; results in `specs` order.

    A model ends "ok" (trained every epoch), "diverged", or "stopped" (a rung stopped its candidate:
    epochs_run is that rung and its test scores are taken there). `epoch_log` of the result holds,
    per pack epoch, (epoch, models trained, models waiting, seconds).

    Raises:
        ValueError: dims that do not match the task, impossible settings, or a candidate with more
            seeds than the pack has slots.
    """
    check_pack(data, specs, settings)
    if any(len(c.models) > slots for c in candidates):
        raise ValueError(f"a candidate has more models than the pack's {slots} slots")
    device = resolve_device(settings.device)
    apply_backend_settings(settings, device)
    run = _Run(data, specs, settings, device, schedule, candidates)
    bound = _pack_epochs(schedule, candidates, settings.epochs, slots)
    started = time.perf_counter()
    while run.waiting or run.live:
        t0 = time.perf_counter()
        run.admit(slots)
        run.rebuild()
        run.pack_epoch += 1
        n_live = run.train_one_epoch()
        run.decide()
        run.drop_used_batches()
        waiting = sum(len(candidates[c].models) for c in run.waiting)
        run.log.append((run.pack_epoch, n_live, waiting, time.perf_counter() - t0))
        if on_epoch is not None:
            on_epoch(
                EpochReport(
                    run.pack_epoch,
                    max(bound, run.pack_epoch),
                    run.val_scores,
                    time.perf_counter() - t0,
                    n_live,
                    waiting,
                )
            )
    train_seconds = time.perf_counter() - started
    return PackResult(
        run.results,
        train_seconds,
        device,
        run.model_steps / max(train_seconds, 1e-9),
        lanes=run.finished,
        epoch_log=run.log,
    )


def _pack_epochs(schedule: Halving, candidates: list[Candidate], epochs: int, slots: int) -> int:
    """About how many epochs the pack runs (its progress reports' total): the schedule's model-epochs
    for groups that start together, over the slots; never below `epochs`."""
    groups: dict[int, list[int]] = {}
    for c in candidates:
        groups.setdefault(c.group, []).append(len(c.models))
    model_epochs = sum(sum(g) / len(g) * schedule.model_epochs(len(g), epochs) for g in groups.values())
    return max(epochs, math.ceil(model_epochs / slots))


HIDDEN_SPREAD = 1.5  # most |h| in one CPU lane, as a multiple of its smallest


class _Run:
    """The state of one halving pack: queue, live candidates, lanes (chunks), results."""

    def __init__(self, data, specs, settings, device, schedule, candidates):
        self.data, self.specs, self.settings, self.device = data, specs, settings, device
        self.candidates, self.rungs = candidates, set(schedule.rungs(settings.epochs))
        self.board = RungBoard(schedule.eta)
        self.results = [ModelResult(status="ok", error=None, diverged_epoch=None, epochs_run=0) for _ in specs]
        self.permutations = Permutations(data.n_train)
        self.waiting = list(range(len(candidates)))  # queue order
        self.live: list[int] = []
        self.done = [0] * len(candidates)  # epochs each candidate has trained
        self.owner = {m: c for c, cand in enumerate(candidates) for m in cand.models}
        self.lanes: list = []  # (trainer, order, step, model indices) per chunk
        self.fresh: dict[int, tuple[PackTrainer, int]] = {}  # models admitted since the last rebuild
        self.finished: list = []  # (PackedBlockRNN, model indices) of models that trained every epoch
        self.log, self.val_scores, self.model_steps, self.pack_epoch = [], [], 0, 0
        self.device_data = None  # the training set on the device, shared by every trainer of the pack

    def admit(self, slots: int) -> None:
        """Waiting candidates take free slots in queue order (a whole candidate or none; the next
        one waits for more room, so the queue order is kept)."""
        used = sum(len(self.training_models(c)) for c in self.live)
        joined = []
        while self.waiting and used + len(self.candidates[self.waiting[0]].models) <= slots:
            c = self.waiting.pop(0)
            self.live.append(c)
            joined.append(c)
            used += len(self.candidates[c].models)
        models = [m for c in joined for m in self.candidates[c].models]
        if models:
            trainer = PackTrainer(self.data, [self.specs[m] for m in models], self.device, device_data=self.device_data)
            self.device_data = (trainer.x_train, trainer.y_train)  # copied to the device once per pack
            for j, m in enumerate(models):
                self.fresh[m] = (trainer, j)
                self.results[m].realised = trainer.model.realised[j]

    def training_models(self, c: int) -> list[int]:
        return [m for m in self.candidates[c].models if self.results[m].status == "ok"]

    def rebuild(self) -> None:
        """Re-stack the lanes when the set of training models changed (a model left or joined)."""
        wanted = sorted(
            (m for c in self.live for m in self.training_models(c)), key=lambda m: (self.specs[m].hidden, m)
        )  # ragged |h| side by side: less padding
        if (
            wanted == sorted((m for *_, chunk in self.lanes for m in chunk), key=lambda m: (self.specs[m].hidden, m))
            and not self.fresh
        ):
            return
        where = {m: (t, j) for t, _, _, chunk in self.lanes for j, m in enumerate(chunk)} | self.fresh
        self.fresh = {}
        lanes = []
        for chunk in self._chunks(wanted):
            trainer = PackTrainer.assemble(self.data, [where[m] for m in chunk], self.device)
            order = BatchOrder(
                [self.specs[m].seed for m in chunk],
                self.data.n_train,
                self.settings.batch_size,
                [self.done[self.owner[m]] for m in chunk],
                self.permutations,
            )
            step = trainer.compiled_step(order.batch_shape) if self.settings.cuda_graph else trainer.step
            lanes.append((trainer, order, step, chunk))
        self.lanes = lanes

    def _chunks(self, wanted: list[int]) -> list[list[int]]:
        """The lanes' models. On a CPU: chunks of cpu_chunk_width, and a new chunk where |h| grows past
        HIDDEN_SPREAD times the chunk's smallest (a halving pack holds several budgets; padding small
        models to the largest |h| would cost S^2 each, while lanes on a CPU run one after another
        anyway). On a GPU: one lane, one CUDA graph."""
        if self.device != "cpu":
            return [wanted]
        chunks: list[list[int]] = []
        for m in wanted:  # sorted by |h|
            if chunks:
                chunk = chunks[-1]
                specs = [self.specs[i] for i in chunk + [m]]
                if self.specs[m].hidden <= HIDDEN_SPREAD * self.specs[chunk[0]].hidden and len(
                    specs
                ) <= cpu_chunk_width(self.data, specs, self.settings.batch_size):
                    chunk.append(m)
                    continue
            chunks.append([m])
        return chunks

    def train_one_epoch(self) -> int:
        """One epoch of every live model; returns how many models trained."""
        for trainer, order, step, _ in self.lanes:
            self.model_steps += train_epoch(trainer, order, step)
        for c in self.live:
            self.done[c] += 1
        self.val_scores = []
        for trainer, order, _, chunk in self.lanes:
            epochs = [self.done[self.owner[m]] for m in chunk]
            self.val_scores += record_epoch(trainer, order, [self.results[m] for m in chunk], epochs)
        return sum(len(chunk) for *_, chunk in self.lanes)

    def decide(self) -> None:
        """Candidates at a rung are judged; finished, stopped and wholly diverged ones leave."""
        arrivals: dict[tuple[int, int], list[tuple[int, float]]] = {}
        leaving, stopped = [], set()
        for c in self.live:
            models = self.training_models(c)
            if not models or self.done[c] == self.settings.epochs:
                leaving.append(c)
            elif self.done[c] in self.rungs:
                score = sum(self.results[m].val_score[-1] for m in models) / len(models)
                arrivals.setdefault((self.candidates[c].group, self.done[c]), []).append((c, score))
        for (group, rung), entrants in sorted(arrivals.items()):
            for c, goes_on in self.board.decide(group, rung, entrants).items():
                if not goes_on:
                    stopped.add(c)
                    leaving.append(c)
        if leaving:
            self._leave(leaving, stopped)

    def _leave(self, leaving: list[int], stopped: set[int]) -> None:
        self._take_test([m for c in leaving for m in self.training_models(c)], stopped)
        self.live = [c for c in self.live if c not in set(leaving)]

    def drop_used_batches(self) -> None:
        """Keep the batch permutations a live or waiting model will still use: each seed's from the
        earliest epoch one of its models is at (0 while one waits: it will walk through them all)."""
        earliest: dict[int, int] = {}
        for c in self.live + self.waiting:
            for m in self.candidates[c].models:
                seed = self.specs[m].seed
                earliest[seed] = min(earliest.get(seed, self.done[c]), self.done[c])
        for seed in {s.seed for s in self.specs}:
            first = earliest.get(seed)
            self.permutations.retain(seed, set() if first is None else set(range(first, self.settings.epochs)))

    def _take_test(self, models: list[int], stopped: set[int]) -> None:
        """Test scores of leaving models with their weights now; the finished ones are kept for rollouts."""
        leaving = set(models)
        for trainer, _, _, chunk in self.lanes:
            rows = [j for j, m in enumerate(chunk) if m in leaving]
            if not rows:
                continue
            test_loss, test_score = trainer.evaluate("test")
            finished = []
            for j in rows:
                m = chunk[j]
                r = self.results[m]
                r.test_loss, r.test_score = finite_or_none(float(test_loss[j])), finite_or_none(float(test_score[j]))
                if self.owner[m] in stopped:
                    r.status = "stopped"
                else:
                    finished.append(j)
            if finished:
                kept = PackTrainer.assemble(self.data, [(trainer, j) for j in finished], self.device)
                self.finished.append((kept.model, [chunk[j] for j in finished]))
