"""Planning: deterministic trial ids, every configuration form expanded, packs that respect
task, training settings, size and memory caps, and resume skipping finished trials."""

from types import SimpleNamespace

import pytest

from hpsweep.sweep.plan import density_configs, make_packs, plan_sweep
from hpsweep.sweep.spec import parse_spec
from hpsweep.workers.descriptors import Densities
from hpsweep.workers.errors import SpecError

SHAPES = {
    "a(x=1)": SimpleNamespace(input_dim=8, output_dim=4, seq_len=10, n_train=100),
    "b(x=2)": SimpleNamespace(input_dim=32, output_dim=2, seq_len=5, n_train=100),
}


def _spec(**training):
    doc = {
        "name": "p",
        "training": {"seeds": [0, 1], **training},
        "pack": {"max_models": 8},
        "tasks": [
            {"task": "a(x=1)", "budgets": [300, 900], "densities": {"uniform": [1.0, 0.2], "codes": ["011001"]}},
            {
                "task": "b(x=2)",
                "hidden": [4, 12],
                "epochs": 3,
                "densities": {"grid": {"hx": [0.5, 1], "hh": [0.25, 1]}},
            },
        ],
    }
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
        assert {(t.task, t.data_seed, t.epochs, t.batch_size) for t in p.trials} == {
            (p.task, p.data_seed, p.epochs, p.batch_size)
        }
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
    doc = {
        "name": "r",
        "tasks": [{"task": "a(x=1)", "hidden": [8], "densities": {"random": {"count": 200, "seed": 3}}}],
    }
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
    doc = {
        "name": "r",
        "training": {"lr": [1e-3, 1e-2]},
        "tasks": [
            {"task": "a(x=1)", "hidden": [8], "densities": {"random": {"count": 5, "method": "paper-densities"}}}
        ],
    }
    plan = plan_sweep(parse_spec(doc, "spec.yaml", check_task=None), SHAPES)
    assert len(plan.trials) == 10 and {t.lr for t in plan.trials} == {1e-3, 1e-2}


def test_codes_with_several_bases_and_duplicates_collapse():
    doc = {
        "name": "c",
        "tasks": [
            {
                "task": "a(x=1)",
                "hidden": [8],
                "densities": {"uniform": [1.0], "codes": ["111111", "010000"], "base": [0.2, 0.5]},
            }
        ],
    }
    configs = [d for d, _ in density_configs(parse_spec(doc, "spec.yaml", check_task=None).tasks[0].densities)]
    assert configs == [
        Densities.uniform(1.0),
        Densities(0.2, 1, 0.2, 0.2, 0.2, 0.2),
        Densities(0.5, 1, 0.5, 0.5, 0.5, 0.5),
    ]


# -- sampled tasks, shared draws, one candidate set for every task ------------------

SAMPLED = {
    "name": "m",
    "densities": {
        "uniform": [1.0, 0.2],
        "random": {"count": 3, "seed": 5, "shared": True, "method": "paper-densities"},
    },
    "training": {"lr": [0.001, 0.01]},
    "tasks": [
        {
            "sample": {
                "family": "teacher",
                "count": 12,
                "seed": 7,
                "params": {
                    "x": {"log_uniform": [4, 512]},
                    "y": {"log_uniform": [2, 16]},
                    "t": {"choice": [5, 10]},
                    "noise": {"uniform": [0, 0.3]},
                    "n_train": 50,
                },
            },
            "budgets": [2000, 20000],
            "min_dense_hidden": 4,
        },
        {"task": "lorenz(n=8)", "budgets": [2000], "densities": {"uniform": [0.5]}},
    ],
}


def _sampled(doc=SAMPLED):
    from hpsweep.sweep.coordinator import task_shapes

    spec = parse_spec(doc, "m.yaml")
    return spec, plan_sweep(spec, task_shapes(spec))


def test_sampled_tasks_expand_deterministically_into_plain_names():
    import re

    spec, plan = _sampled()
    names = [t.task for t in spec.tasks[:-1]]
    assert len(names) == len(set(names)) == 12 and spec.tasks[-1].task == "lorenz"
    for name in names:
        m = re.fullmatch(r"teacher\(x=(\d+),y=(\d+),t=(5|10)(,noise=[\d.e-]+)?,n_train=50\)", name)
        assert m, name
        assert 4 <= int(m[1]) <= 512 and 2 <= int(m[2]) <= 16
    again = parse_spec(SAMPLED, "again.yaml")
    assert [t.task for t in again.tasks] == [t.task for t in spec.tasks] and again.spec_hash == spec.spec_hash
    reseeded = {**SAMPLED, "tasks": [{**SAMPLED["tasks"][0], "sample": {**SAMPLED["tasks"][0]["sample"], "seed": 8}}]}
    assert [t.task for t in parse_spec(reseeded, "m.yaml").tasks] != names


def test_shared_candidate_set_is_the_same_on_every_task():
    spec, plan = _sampled()
    configs = {}
    for t in plan.trials:
        configs.setdefault(t.task, set()).add((t.densities, t.lr))
    teacher = [c for task, c in configs.items() if task.startswith("teacher")]
    assert all(c == teacher[0] for c in teacher)  # the same 5 configs x 2 lr everywhere
    assert len(teacher[0]) == (2 + 3) * 2
    assert configs["lorenz"] == {((0.5,) * 6, 0.001), ((0.5,) * 6, 0.01)}  # its own densities win
    unshared = {**SAMPLED, "densities": {"random": {"count": 3, "seed": 5}}}
    _, plan2 = _sampled(unshared)
    per_task = {}
    for t in plan2.trials:
        per_task.setdefault(t.task, set()).add(t.densities)
    draws = [c for task, c in per_task.items() if task.startswith("teacher")]
    assert draws[0] != draws[1]  # seeded by the task too: the old behaviour, kept by default


def test_min_dense_hidden_leaves_out_budgets_a_task_cannot_fill():
    from hpsweep.workers.descriptors import describe
    from hpsweep.workers.errors import DescriptorError

    spec, plan = _sampled()
    for ts in spec.tasks[:-1]:
        s = plan.shapes[ts.task]
        kept = {tr.budget for tr in plan.trials if tr.task == ts.task}
        for b in (2000.0, 20000.0):
            try:
                hidden = describe(s.input_dim, s.output_dim, Densities.uniform(1.0), budget=b).hidden
            except DescriptorError:
                hidden = 0
            assert (b in kept) == (hidden >= 4), (ts.task, b, hidden)
    sizes = {len({tr.budget for tr in plan.trials if tr.task == ts.task}) for ts in spec.tasks[:-1]}
    assert sizes == {1, 2}  # the sample spans tasks that fill both budgets and tasks that fill one


@pytest.mark.parametrize(
    "sample, message",
    [
        ({"family": "mnist", "count": 2}, "tasks[0].sample.family must be one of rad, teacher, prototype, lorenz"),
        (
            {"family": "teacher", "count": 2, "params": {"z": 1}},
            "tasks[0].sample.params.z is not a parameter of teacher",
        ),
        (
            {"family": "teacher", "count": 2, "params": {"x": {"normal": [1, 2]}}},
            "tasks[0].sample.params.x must be a value or one of {uniform: [low, high]}",
        ),
        (
            {"family": "teacher", "count": 2, "params": {"x": {"log_uniform": [0, 8]}}},
            "tasks[0].sample.params.x.log_uniform must lie within the parameter's range (an int in [1, 100000])",
        ),
        (
            {"family": "teacher", "count": 2, "params": {"x": {"uniform": [8, 4]}}},
            "tasks[0].sample.params.x.uniform must be [low, high] with low <= high; got [8, 4]",
        ),
        (
            {"family": "teacher", "count": 5, "params": {"x": {"uniform": [4, 5]}}},
            "tasks[0].sample.count asks for more distinct tasks than the ranges hold (2 found)",
        ),
        (
            {"family": "teacher", "count": 2, "params": {"noise": {"choice": [-1]}}},
            "tasks[0].sample.params gives a task that does not exist (task teacher: parameter 'noise' must be",
        ),
        ({"family": "teacher"}, "tasks[0].sample.count is required"),
    ],
)
def test_bad_sample_blocks_are_one_message(sample, message):
    doc = {"name": "m", "tasks": [{"sample": sample, "budgets": [5000], "densities": {"uniform": 1}}]}
    with pytest.raises(SpecError) as e:
        parse_spec(doc, "m.yaml")
    assert str(e.value).startswith("m.yaml: " + message), str(e.value)


def test_an_entry_needs_a_task_or_a_sample():
    with pytest.raises(SpecError, match=r"^m.yaml: tasks\[0\].task is required \(or a sample: block"):
        parse_spec({"name": "m", "tasks": [{"budgets": [5000], "densities": {"uniform": 1}}]}, "m.yaml")


def test_a_changed_file_task_gets_new_trial_ids(tmp_path):
    """Resume must not reuse rows of an older file under the same name."""
    import numpy as np

    from hpsweep.sweep.coordinator import task_shapes

    path = tmp_path / "seqs.npz"
    doc = {"name": "f", "tasks": [{"task": f"file:{path}", "hidden": [4], "densities": {"uniform": [1.0]}}]}

    def ids(x_scale: float) -> set[str]:
        rng = np.random.default_rng(0)
        np.savez(path, x=rng.normal(size=(20, 5, 3)) * x_scale, y=rng.normal(size=(20, 5, 2)))
        spec = parse_spec(doc, "f.yaml")
        return {t.trial_id for t in plan_sweep(spec, task_shapes(spec)).trials}

    first, same, changed = ids(1.0), ids(1.0), ids(2.0)
    assert first == same and len(first) == 1
    assert changed.isdisjoint(first)


def test_oversized_plans_are_refused_before_expanding():
    from hpsweep.sweep.plan import check_plan_size, plan_size_bound

    doc = {
        "name": "big",
        "training": {"seeds": [0, 1], "lr": [0.001, 0.01]},
        "tasks": [
            {
                "task": "a(x=1)",
                "budgets": [300, 900],
                "densities": {"uniform": [1.0, 0.5], "random": {"count": 30_000}},
            },
            {
                "task": "b(x=2)",
                "hidden": [4],
                "densities": {
                    "grid": {"hx": [0.5, 1], "hh": [0.25, 0.5, 1]},
                    "random": {"count": 5, "method": "paper-densities"},
                },
            },
        ],
    }
    spec = parse_spec(doc, "big.yaml", check_task=None)
    # a: (2 uniform x 2 lr + 30,000 paper draws x 1 drawn lr) x 2 budgets x 2 seeds; b: (6 + 5) x 2 lr x 1 x 2
    assert plan_size_bound(spec) == (4 + 30_000) * 2 * 2 + 11 * 2 * 2 == 120_060
    with pytest.raises(
        SpecError,
        match=r"^big.yaml: the plan would hold up to 120,060 trials, more than max_trials "
        r"\(100,000\); if that is meant, set max_trials: 120060 in the spec",
    ):
        plan_sweep(spec, SHAPES)
    check_plan_size(parse_spec({**doc, "max_trials": 120_060}, "big.yaml", check_task=None))  # lifted: no error


@pytest.mark.parametrize("name", ["quickstart", "dims", "paper-rad"])
def test_trial_ids_are_the_hash_of_the_trial_key(name):
    """The planner writes the key's JSON out by hand for speed; it must be canonical JSON (resume)."""
    from hpsweep.sweep.coordinator import task_shapes
    from hpsweep.sweep.spec import load_spec
    from hpsweep.workers.hashing import short_hash

    spec = load_spec(name)
    trials = plan_sweep(spec, task_shapes(spec)).trials
    assert all(short_hash(t.key()) == t.trial_id for t in trials)
    assert (
        short_hash([t.trial_id for t in trials])
        == {"quickstart": "02167a0af41da271", "dims": "7cb2f278f103e24f", "paper-rad": "a90a7ae569bbb70a"}[name]
    )  # as before


def test_planning_with_the_memory_model_does_not_import_torch():
    """Planning runs where no training does (a laptop planning a GPU sweep; `run --dry-run`): the
    spec, the planner, the coordinator's module and the memory model never import torch."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from types import SimpleNamespace\n"
        "import hpsweep.sweep.coordinator\n"
        "from hpsweep.sweep.plan import plan_sweep\n"
        "from hpsweep.sweep.spec import parse_spec\n"
        "from hpsweep.workers.pack_memory import pack_memory_bytes\n"
        "shapes = {'a(x=1)': SimpleNamespace(input_dim=8, output_dim=4, seq_len=10, n_train=100)}\n"
        "doc = {'name': 'p', 'pack': {'max_models': 8}, 'tasks': [{'task': 'a(x=1)', 'budgets': [300, 900],"
        " 'densities': {'uniform': [1.0, 0.2]}}]}\n"
        "plan = plan_sweep(parse_spec(doc, 'spec.yaml', check_task=None), shapes, estimate=pack_memory_bytes,"
        " memory_bytes=2_000_000)\n"
        "assert [len(p.trials) for p in plan.packs] == [3, 1], plan.packs\n"  # the estimate capped the packs
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
