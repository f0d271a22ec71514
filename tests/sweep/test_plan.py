"""Planning: deterministic trial ids, every configuration form expanded, packs that respect
task, training settings, size and memory caps, and resume skipping finished trials."""

from types import SimpleNamespace

import pytest

from hpsweep.sweep.plan import density_configs, make_packs, plan_sweep
from hpsweep.sweep.spec import parse_spec
from hpsweep.workers.descriptors import Densities

SHAPES = {"a(x=1)": SimpleNamespace(input_dim=8, output_dim=4, seq_len=10, n_train=100),
          "b(x=2)": SimpleNamespace(input_dim=32, output_dim=2, seq_len=5, n_train=100)}


def _spec(**training):
    doc = {"name": "p", "training": {"seeds": [0, 1], **training}, "pack": {"max_models": 8}, "tasks": [
        {"task": "a(x=1)", "budgets": [300, 900], "densities": {"uniform": [1.0, 0.2], "codes": ["011001"]}},
        {"task": "b(x=2)", "hidden": [4, 12], "epochs": 3, "densities": {"grid": {"hx": [0.5, 1], "hh": [0.25, 1]}}},
    ]}
    return parse_spec(doc, "spec.yaml", check_task=None)


def test_trials_expand_every_form_with_stable_unique_ids():
    plan = plan_sweep(_spec(), SHAPES)
    a = [t for t in plan.trials if t.task == "a(x=1)"]
    b = [t for t in plan.trials if t.task == "b(x=2)"]
    assert len(a) == 3 * 2 * 2 and len(b) == 4 * 2 * 2  # configs x sizes x seeds
    assert len({t.trial_id for t in plan.trials}) == len(plan.trials)
    assert [t.trial_id for t in plan_sweep(_spec(), SHAPES).trials] == [t.trial_id for t in plan.trials]
    assert {t.densities for t in a} == {(1.0,) * 6, (0.2,) * 6, (0.2, 1.0, 1.0, 0.2, 0.2, 1.0)}
    assert {t.budget for t in a} == {300.0, 900.0} and {t.budget for t in b} == {None}
    assert {t.epochs for t in b} == {3}
    changed = {t.trial_id for t in plan_sweep(_spec(lr=0.01), SHAPES).trials}
    assert changed.isdisjoint(t.trial_id for t in plan.trials)


def test_packs_group_compatible_trials_sorted_by_hidden():
    plan = plan_sweep(_spec(), SHAPES)
    assert sorted(t.trial_id for p in plan.packs for t in p.trials) == sorted(t.trial_id for t in plan.trials)
    for p in plan.packs:
        assert 1 <= len(p.trials) <= 8
        assert {(t.task, t.data_seed, t.epochs, t.batch_size) for t in p.trials} == {(p.task, p.data_seed, p.epochs, p.batch_size)}
        assert [t.hidden for t in p.trials] == sorted(t.hidden for t in p.trials)
    ids = [p.pack_id for p in plan.packs]
    assert len(set(ids)) == len(ids) and ids == [p.pack_id for p in plan_sweep(_spec(), SHAPES).packs]


def test_memory_estimate_caps_pack_size():
    trials = plan_sweep(_spec(), SHAPES).trials
    per_model = lambda x, y, t, h, bs, k, n: k * h * 1000  # noqa: E731
    packs = make_packs(trials, SHAPES, max_models=8, memory_bytes=40_000, estimate=per_model)
    for p in packs:
        assert len(p.trials) == 1 or len(p.trials) * p.hidden_max * 1000 <= 40_000
    assert max(len(p.trials) for p in packs if p.hidden_max <= 12) > 1


def test_finished_trials_are_not_packed_again():
    plan = plan_sweep(_spec(), SHAPES)
    done = {t.trial_id for t in plan.trials[::2]}
    again = plan_sweep(_spec(), SHAPES, finished=done)
    assert len(again.trials) == len(plan.trials)
    assert {t.trial_id for p in again.packs for t in p.trials} == {t.trial_id for t in plan.trials} - done


def test_paper_random_draws_are_seeded_and_in_range():
    doc = {"name": "r", "tasks": [{"task": "a(x=1)", "hidden": [8], "densities": {"random": {"count": 200, "seed": 3}}}]}
    spec = parse_spec(doc, "spec.yaml", check_task=None)
    draws = density_configs(spec.tasks[0].densities, "a(x=1)")
    assert len(draws) == 200 and draws == density_configs(spec.tasks[0].densities, "a(x=1)")
    assert draws != density_configs(spec.tasks[0].densities, "other task")
    values = [v for d, _ in draws for v in d.as_tuple()]
    assert min(values) >= 0.02 and max(values) <= 1.0
    assert sum(values) / len(values) == pytest.approx(0.5 * 1.0, abs=0.06)  # mean of |N(0.5, .25)| clipped
    lrs = [lr for _, lr in draws]
    assert min(lrs) >= 1e-6 and sum(lrs) / len(lrs) == pytest.approx(1e-3, rel=0.1)
    plan = plan_sweep(spec, SHAPES)
    assert sorted(t.lr for t in plan.trials) == sorted(lrs)  # method paper: the drawn lr, not training.lr


def test_paper_densities_method_keeps_the_lr_list():
    doc = {"name": "r", "training": {"lr": [1e-3, 1e-2]},
           "tasks": [{"task": "a(x=1)", "hidden": [8], "densities": {"random": {"count": 5, "method": "paper-densities"}}}]}
    plan = plan_sweep(parse_spec(doc, "spec.yaml", check_task=None), SHAPES)
    assert len(plan.trials) == 10 and {t.lr for t in plan.trials} == {1e-3, 1e-2}


def test_codes_with_several_bases_and_duplicates_collapse():
    doc = {"name": "c", "tasks": [{"task": "a(x=1)", "hidden": [8],
                                   "densities": {"uniform": [1.0], "codes": ["111111", "010000"], "base": [0.2, 0.5]}}]}
    configs = [d for d, _ in density_configs(parse_spec(doc, "spec.yaml", check_task=None).tasks[0].densities)]
    assert configs == [Densities.uniform(1.0), Densities(0.2, 1, 0.2, 0.2, 0.2, 0.2), Densities(0.5, 1, 0.5, 0.5, 0.5, 0.5)]
