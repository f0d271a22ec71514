"""How well any meta-model could rank a group's configs, given the seed noise of its targets.

The noise ceiling `analyze` has always shown is the Kendall tau between two single seeds of the
same configs. The meta-models are judged against the mean over the group's n seeds, which is less
noisy than one seed, so an order that knew every config's expected score would beat that ceiling.
This module estimates what such an order would reach against the n-seed mean, from the
seed-vs-seed tau alone, under Gaussian noise around each config's expected score:

1. tau -> Pearson correlation: r = sin(pi * tau / 2) (Greiner's relation for a bivariate normal);
   the correlation between two seeds is the reliability of one seed.
2. Reliability of the mean of n seeds (Spearman-Brown): r_n = n r / (1 + (n - 1) r).
3. The expected order correlates with a measure of reliability r_n by sqrt(r_n); back to tau
   with tau = (2 / pi) asin(sqrt(r_n)).

Checked where a third seed allows it (docs/analysis.md, "Evaluation"): on two draws of 3-seed
tasks (12 and 11 groups), the same steps predicted the tau between a 2-seed mean and the third
seed at 0.691 and 0.788 (means over groups) against 0.696 and 0.788 measured.
"""

from __future__ import annotations

import math


def tau_to_correlation(tau: float) -> float:
    return math.sin(math.pi * tau / 2)


def correlation_to_tau(r: float) -> float:
    return 2 / math.pi * math.asin(max(-1.0, min(1.0, r)))


def mean_reliability(seed_tau: float, n_seeds: int) -> float:
    """Reliability (correlation with the expected scores, squared) of the mean of n seeds."""
    r = max(tau_to_correlation(seed_tau), 0.0)
    return n_seeds * r / (1 + (n_seeds - 1) * r)


def seed_mean_ceiling(seed_tau: float, n_seeds: int) -> float:
    """Estimated Kendall tau of the expected order against the mean of n seeds; NaN without a
    seed-vs-seed tau (one seed). A seed-vs-seed tau at or below 0 gives 0: nothing to rank."""
    if not math.isfinite(seed_tau) or n_seeds < 1:
        return float("nan")
    return correlation_to_tau(math.sqrt(mean_reliability(seed_tau, n_seeds)))
