"""Sweep progress: a live bar on a terminal, plain log lines otherwise (CI, files, pipes).

Both show packs and models done / total, models/s, ETA and the best validation score so far.

The ETA counts work, not models. Packs run biggest first, and a pack of 32 models with |h| near 300
costs over a hundred times one with |h| near 20, so "models left / models per second so far" said
over an hour for a ten-minute sweep. Each pack is weighed a priori by what its training computes
(pack_work: its matmuls, and a fixed cost per batch step), the rate is work per second measured from the first epoch any pack reports (Ray's
start and the first task data are behind it by then), and in-flight packs count by their epochs.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

from hpsweep.sweep.tune_adapter import Events
from hpsweep.workers.errors import OutputClosed

SLOT_OVERHEAD = 100
"""Per-step cost of one model slot beyond its matmuls, in multiply-adds: fitted on the packed trainer on a
CPU (K=32, x=30, y=8, batch 64: 3.2 ms per step at |h|=8 up to 139 ms at |h|=256; this weight is within 15%
of each of |h| = 8, 32, 64, 128, 256)."""

STEP_OVERHEAD = 2e7
"""Cost of one (batch, time step) of a pack whatever its size, in the same units: Python, kernel launches,
the optimizer step and the epoch's evaluation. Fitted on the 118 packs of `hpsweep run meta` (2-core
machine, load 10 to 35): train_seconds = c * steps + b * work explains R^2 0.74 of the per-pack times, the
work alone 0.51; c / b was 3.2e7, and 1e7 to 3e7 all kept the ETA within 35% of the truth there."""

ESTIMATING_SECONDS = 10.0
"""The ETA says "estimating" until a pack has finished and training has run this long."""


def pack_work(
    models: int,
    hidden_max: int,
    input_dim: int,
    output_dim: int,
    seq_len: int,
    n_train: int,
    epochs: int,
    batch_size: int,
) -> float:
    """A pack's training work in multiply-adds (up to a constant): the packed step computes each model in
    S = hidden_max + output_dim slots, with an input projection of input_dim and a recurrence of S per
    slot, for every time step of every training sequence in every epoch; plus STEP_OVERHEAD for every
    (batch, time step), which dominates small packs."""
    slots = hidden_max + output_dim
    steps = epochs * math.ceil(n_train / batch_size) * seq_len
    return (
        float(epochs) * n_train * seq_len * models * slots * (slots + input_dim + SLOT_OVERHEAD) + STEP_OVERHEAD * steps
    )


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class SweepProgress(Events):
    """Counts packs and models as Tune reports them and shows the totals.

    Args:
        packs, models: totals of this run (pending work only).
        pack_sizes: pack_id -> number of models.
        live: a live bar (True), plain lines (False), or None to decide by whether stdout is a TTY.
        visible: pack_id -> whether the pack's rows are in the results store (checked in the driver
            when a pack reports done); a pack whose rows are not is never counted or shown as ok.
        where: the results root, named in the line about a pack whose rows are not visible.
        work: pack_id -> the pack's work (pack_work), what the ETA weighs packs by; None: its models.
        clock: seconds, monotonic (tests give their own).
    """

    def __init__(
        self,
        packs: int,
        models: int,
        pack_sizes: dict[str, int],
        live: bool | None = None,
        stream=None,
        visible: Callable[[str], bool] | None = None,
        where: str = "the results store",
        work: dict[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream or sys.stdout
        self.total_packs, self.total_models, self.sizes = packs, models, pack_sizes
        self.work = work if work is not None else {pid: float(n) for pid, n in pack_sizes.items()}
        self.total_work = sum(self.work.values())
        self.work_done = 0.0  # of finished packs (failed ones included: their work is no longer ahead)
        self.clock = clock
        self._rate_from: tuple[float, float] | None = None  # (time, work) at the first epoch report
        self.packs_done = self.models_done = self.failed_packs = 0
        self.visible, self.where = visible, where
        self.unseen: list[str] = []  # packs that said done but whose rows a reader cannot see
        self.training: dict[str, float] = {}  # pack_id -> share of its epochs done so far (the bar moves per epoch)
        self.best: float | None = None
        self.started = clock()
        self.live = self.stream.isatty() if live is None else live
        self._bar = None
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("packs {task.fields[packs]}  models {task.fields[models]}/{task.total:.0f}"),
                TextColumn("{task.fields[rate]} models/s  best {task.fields[best]}"),
                TextColumn("ETA {task.fields[eta]}"),
                transient=False,
                console=Console(file=self.stream, force_terminal=live is True or None),
            )
            self._task = self._bar.add_task(
                "sweep", total=max(models, 1), packs=f"0/{packs}", models=0, rate="-", best="-", eta=_eta(None)
            )
            self._bar.start()

    # -- numbers ---------------------------------------------------------------------------------
    @property
    def rate(self) -> float:
        return self.models_done / max(self.clock() - self.started, 1e-9)

    def _work_so_far(self) -> float:
        """Work of finished packs plus the trained epochs of packs in flight."""
        return self.work_done + sum(self.work.get(pid, 0.0) * share for pid, share in self.training.items())

    @property
    def eta(self) -> float | None:
        """Seconds left: work left over work per second since the first epoch report; None (estimating)
        until a pack has finished and training has run ESTIMATING_SECONDS."""
        if self._rate_from is None or not self.packs_done:
            return None
        since, work_then = self._rate_from
        seconds, work = self.clock() - since, self._work_so_far() - work_then
        if seconds < ESTIMATING_SECONDS or work <= 0:
            return None
        return max(self.total_work - self._work_so_far(), 0.0) / (work / seconds)

    def _best(self) -> str:
        return "-" if self.best is None else f"{self.best:.4f}"

    def _update(self):
        if self._bar is not None:
            completed = self.models_done + sum(self.sizes.get(pid, 0) * share for pid, share in self.training.items())
            # the bar fills per epoch; the count says only models whose rows are in the store
            self._bar.update(
                self._task,
                completed=completed,
                packs=f"{self.packs_done}/{self.total_packs}",
                models=self.models_done,
                rate=f"{self.rate:.1f}",
                best=self._best(),
                eta=_eta(self.eta),
            )

    def _line(self, text: str):
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            try:
                print(f"[{time.strftime('%H:%M:%S')}] {text}", file=self.stream, flush=True)
            except BrokenPipeError:
                raise OutputClosed from None

    # -- events ----------------------------------------------------------------------------------
    def on_epoch(self, pack_id, report):
        score = report.get("best_val_score")
        if score is not None and (self.best is None or score > self.best):
            self.best = score
        epoch, epochs = report.get("epoch"), report.get("epochs")
        if epoch and epochs:  # a fraction of the pack: the bar moves while it trains, not only when it ends
            self.training[pack_id] = min(epoch / epochs, 1.0)
            if self._rate_from is None:  # the rate is measured from here: Ray's start-up and this epoch are behind
                self._rate_from = (self.clock(), self._work_so_far())
        self._update()

    def on_pack_done(self, pack_id, summary):
        self.training.pop(pack_id, None)
        self.packs_done += 1
        self.work_done += self.work.get(pack_id, 0.0)
        size = self.sizes.get(pack_id, summary.get("models") or 0)
        if self.visible is not None and not self.visible(pack_id):
            self.unseen.append(pack_id)
            self._update()
            self._line(
                f"pack {pack_id} trained {size} models but its rows are not in {self.where}; they count as missing"
            )
            return
        self.models_done += size
        score = summary.get("best_val_score")
        if score is not None and (self.best is None or score > self.best):
            self.best = score
        self._update()
        if summary.get("warning"):
            self._line(f"Warning: {summary['warning']}")
        if not self.live:
            # one line within 100 columns: the pack id is shortened (its first 8 characters find it in the rows)
            self._line(
                f"packs {self.packs_done}/{self.total_packs}  models {self.models_done}/{self.total_models}  "
                f"{self.rate:.1f}/s  ETA {_eta(self.eta)}  best {self._best()}  "
                f"({pack_id[:8]}: {summary.get('ok')} ok, {summary.get('diverged')} diverged)"
            )

    def on_pack_retry(self, pack_id, error):
        self._line(f"pack {pack_id} failed ({error}); retrying")

    def on_pack_failed(self, pack_id, error):
        self.training.pop(pack_id, None)
        self.failed_packs += 1
        self.packs_done += 1
        self.work_done += self.work.get(pack_id, 0.0)
        self.models_done += self.sizes.get(pack_id, 0)
        self._update()
        self._line(
            f"pack {pack_id} failed after all retries ({error}); its {self.sizes.get(pack_id, 0)} trials "
            "are marked failed"
        )

    def close(self):
        if self._bar is not None:
            self._bar.stop()
