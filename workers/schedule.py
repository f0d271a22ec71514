"""The successive-halving schedule and its decision rule, without torch: the planner counts
model-epochs with it, the halving trainer (workers/halving.py) decides with it."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Halving:
    """The schedule: reduction factor eta and the first rung."""

    eta: int
    min_epochs: int

    def rungs(self, epochs: int) -> tuple[int, ...]:
        """Epochs at which candidates are compared: min_epochs * eta^k < epochs."""
        out, r = [], self.min_epochs
        while r < epochs:
            out.append(r)
            r *= self.eta
        return tuple(out)

    def model_epochs(self, candidates: int, epochs: int) -> int:
        """Epochs a group of `candidates` (one model each) trains when they start together: the
        planner's estimate (a refilled pack keeps a few more going: see the module docstring)."""
        total, alive, last = 0, candidates, 0
        for r in self.rungs(epochs):
            total += alive * (r - last)
            alive, last = max(1, alive // self.eta), r
        return total + alive * (epochs - last)


@dataclass(frozen=True)
class Candidate:
    """One configuration of a group with all its seeds: indices into the pack's models."""

    group: int
    models: tuple[int, ...]


class RungBoard:
    """The scores each (group, rung) has seen, and ASHA's decision for new arrivals."""

    def __init__(self, eta: int):
        self.eta = eta
        self.seen: dict[tuple[int, int], list[tuple[float, int]]] = {}  # (group, rung) -> (score, queue index)

    def decide(self, group: int, rung: int, arrivals: list[tuple[int, float]]) -> dict[int, bool]:
        """{queue index: goes on} for candidates arriving together at a rung of their group."""
        seen = self.seen.setdefault((group, rung), [])
        seen += [(score if math.isfinite(score) else -math.inf, index) for index, score in arrivals]
        keep = max(1, len(seen) // self.eta)
        order = sorted(seen, key=lambda e: (-e[0], e[1]))  # best first; earlier in the queue wins ties
        place = {index: p for p, (_, index) in enumerate(order)}
        return {index: place[index] < keep for index, _ in arrivals}
