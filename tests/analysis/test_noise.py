"""The estimated ceiling against a seed mean (analysis.noise), checked on simulated groups whose
expected scores are known: configs spread around a truth, each seed adding Gaussian noise."""

import itertools
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from hpsweep.analysis.noise import seed_mean_ceiling


def _groups(noise: float, n_seeds: int, n_groups: int = 400, n_configs: int = 17, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(n_groups):
        truth = rng.normal(size=n_configs)
        yield truth, truth[:, None] + noise * rng.normal(size=(n_configs, n_seeds))


@pytest.mark.parametrize("noise, n_seeds", [(0.3, 2), (0.6, 2), (0.6, 3)])
def test_the_estimate_matches_the_expected_order_against_the_seed_mean(noise, n_seeds):
    estimated, actual, seed_vs_seed = [], [], []
    for truth, seeds in _groups(noise, n_seeds):
        pairs = [kendalltau(seeds[:, a], seeds[:, b])[0] for a, b in itertools.combinations(range(n_seeds), 2)]
        seed_vs_seed.append(float(np.mean(pairs)))
        estimated.append(seed_mean_ceiling(seed_vs_seed[-1], n_seeds))
        actual.append(kendalltau(truth, seeds.mean(axis=1))[0])
    assert np.mean(estimated) == pytest.approx(np.mean(actual), abs=0.015)
    # and it is the point of it: above what two single seeds agree to
    assert np.mean(estimated) > np.mean(seed_vs_seed) + 0.05


def test_more_seeds_raise_it_and_one_seed_gives_none():
    assert seed_mean_ceiling(0.7, 3) > seed_mean_ceiling(0.7, 2) > seed_mean_ceiling(0.7, 1) > 0.7
    assert seed_mean_ceiling(1.0, 2) == pytest.approx(1.0)
    assert seed_mean_ceiling(-0.2, 2) == 0.0  # seeds that disagree: nothing to rank
    assert math.isnan(seed_mean_ceiling(float("nan"), 1))
