"""sweep/specs/meta-wide.yaml plans the ranges its comments and docs/analysis.md promise: the
sizes recommend can answer for are the sizes this plan holds."""

import pytest

from hpsweep.sweep.plan import fitting_budgets
from hpsweep.sweep.spec import load_spec
from hpsweep.workers.descriptors import Densities, describe
from hpsweep.workers.tasks import get_task


@pytest.fixture(scope="module")
def wide():
    spec = load_spec("meta-wide")
    infos = {t.task: get_task(t.task).info() for t in spec.tasks}
    return spec, infos


def test_it_spans_the_sizes_people_have(wide):
    spec, infos = wide
    n_train = [i.n_train for i in infos.values()]
    seq = [i.seq_len for i in infos.values()]
    assert min(n_train) <= 260 and max(n_train) == 8000
    assert max(i.input_dim for i in infos.values()) == 2500
    assert max(b for t in spec.tasks for b in t.budgets) == 100_000
    assert min(seq) <= 6 and max(seq) >= 45 and all(5 <= s <= 50 for s in seq)
    assert {i.name.split("(")[0] for i in infos.values()} == {"teacher", "prototype", "lorenz", "rad"}
    assert all(i.n_test == 2000 for i in infos.values())
    # three seeds: with two, seed noise capped the held-out tau any meta-model could show (0.83)
    assert spec.training.seeds == (0, 1, 2)


def test_input_heavy_tasks_keep_the_dense_model_far_smaller_than_x(wide):
    spec, infos = wide
    dense = Densities.uniform(1.0)
    heavy = [
        (info, describe(info.input_dim, info.output_dim, dense, budget=b).hidden)
        for t in spec.tasks
        if (info := infos[t.task]).input_dim >= 1000
        for b in fitting_budgets(t, info)
    ]
    assert len(heavy) >= 4 and any(info.input_dim == 2500 for info, _ in heavy)
    assert all(8 <= hidden and info.input_dim >= 20 * hidden for info, hidden in heavy)


def test_every_model_trains_to_the_last_epoch(wide):
    # recommend learns rankings from it; halving ranks stopped configs by partial training
    spec, _ = wide
    assert (spec.training.schedule, spec.training.epochs) == (None, 9)
