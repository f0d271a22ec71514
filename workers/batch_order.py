"""The order in which a model sees its training rows: from its own seed, one permutation per
epoch, the same whether it trains alone, packed, or joins a halving pack late (so packed training
stays equal to training alone, batch for batch)."""

from __future__ import annotations

import torch


class Permutations:
    """Each seed's sequence of row permutations, one per epoch, shared by every model of that seed:
    model m's e-th epoch uses permutation e of its seed wherever and whenever it trains (a model
    that joins a pack late starts at permutation 0, as it would alone). Permutations no model needs
    any more are dropped (`retain`)."""

    def __init__(self, n_rows: int):
        self.n_rows = n_rows
        self.generators: dict[int, torch.Generator] = {}
        self.cache: dict[int, dict[int, torch.Tensor]] = {}  # seed -> epoch index -> permutation
        self.drawn: dict[int, int] = {}  # seed -> permutations drawn so far

    def get(self, seed: int, epoch: int) -> torch.Tensor:
        if seed not in self.generators:
            self.generators[seed] = torch.Generator().manual_seed(seed + 1_000_003)
            self.cache[seed], self.drawn[seed] = {}, 0
        assert epoch in self.cache[seed] or epoch >= self.drawn[seed], f"permutation {epoch} of seed {seed} was dropped"
        while self.drawn[seed] <= epoch:
            self.cache[seed][self.drawn[seed]] = torch.randperm(self.n_rows, generator=self.generators[seed])
            self.drawn[seed] += 1
        return self.cache[seed][epoch]

    def retain(self, seed: int, needed: set[int]) -> None:
        """Drop the seed's cached permutations except the epochs in `needed`."""
        for e in [e for e in self.cache.get(seed, {}) if e not in needed]:
            del self.cache[seed][e]


class BatchOrder:
    """Each model's batches come from its own seed: per epoch a permutation of the training rows,
    cut into max(1, N // B) batches of min(B, N) rows (the last partial batch is dropped).

    When every model of the chunk has the same seed and has trained the same number of epochs, one
    batch serves them all (shape (B,)); otherwise each model gathers its own (K, B)."""

    def __init__(
        self,
        seeds: list[int],
        n_rows: int,
        batch_size: int,
        epochs_done: list[int] | None = None,
        permutations: Permutations | None = None,
    ):
        self.seeds, self.n_rows = list(seeds), n_rows
        self.epochs_done = list(epochs_done) if epochs_done is not None else [0] * len(self.seeds)
        self.owned = permutations is None  # a private cache: this order drops what it has used
        self.permutations = permutations or Permutations(n_rows)
        self.batch = min(batch_size, n_rows)
        self.steps_per_epoch = max(1, n_rows // batch_size)
        self.shared = len(set(zip(self.seeds, self.epochs_done))) == 1
        self.batch_shape = (self.batch,) if self.shared else (len(self.seeds), self.batch)

    def epoch(self) -> list[torch.Tensor]:
        perms = [self.permutations.get(s, e) for s, e in zip(self.seeds, self.epochs_done)]
        self.epochs_done = [e + 1 for e in self.epochs_done]
        if self.owned:
            for seed, e in zip(self.seeds, self.epochs_done):
                self.permutations.retain(seed, {e})
        order = perms[0] if self.shared else torch.stack(perms)
        b = self.batch
        return [order[..., i * b : (i + 1) * b] for i in range(self.steps_per_epoch)]
