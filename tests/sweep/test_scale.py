"""`--scale`: the same spec, smaller or larger, by documented rules (sweep/scale.py)."""

import pytest
import yaml

from hpsweep.sweep.cli import main
from hpsweep.sweep.scale import ScaleFactors, parse_scale, scale_spec, scale_task_name
from hpsweep.sweep.spec import parse_spec
from hpsweep.workers.errors import SpecError

DOC = {
    "name": "s",
    "tasks": [
        {
            "task": "rad(side=40,n_train=3000,n_val=300,n_test=300)",
            "budgets": [60000],
            "densities": {"uniform": [1.0], "codes": ["011001"], "random": {"count": 20, "seed": 3}},
            "epochs": 30,
        },
        {"task": "teacher(x=64,y=8,t=10)", "hidden": [16], "densities": {"grid": {"hx": [0.1, 0.5]}}},
        {"task": "minari:D4RL/hammer/expert-v2", "budgets": [10000], "densities": {"uniform": [1.0]}},
    ],
    "training": {"lr": [0.001], "epochs": 25, "batch_size": 16, "seeds": [0, 1, 2, 3]},
    "pack": {"max_models": 8},
    "resources": {"cpus": 1, "max_failures": 1},
}


@pytest.fixture(scope="module")
def spec():
    return parse_spec(DOC, "s.yaml", check_task=None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.1", ScaleFactors(data=0.1, epochs=0.1, seeds=0.1, draws=0.1, tasks=0.1)),
        ("data=0.05,epochs=0.4", ScaleFactors(data=0.05, epochs=0.4)),
        ("0.5,epochs=2", ScaleFactors(data=0.5, epochs=2.0, seeds=0.5, draws=0.5, tasks=0.5)),
        (
            "epochs=2, 0.5",
            ScaleFactors(data=0.5, epochs=2.0, seeds=0.5, draws=0.5, tasks=0.5),
        ),  # named wins in any order
        ("input=0.25,budget=0.3", ScaleFactors(input=0.25, budget=0.3)),
    ],
)
def test_parse_scale(text, expected):
    assert parse_scale(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "speed=2",
            "--scale: unknown quantity 'speed'; valid quantities: data, epochs, seeds, draws, input, budget, "
            "tasks (or a bare number for data, epochs, seeds, draws, tasks)",
        ),
        ("1e300", "--scale: the factor must be at most 1000; got '1e300'"),
        ("data=inf", "--scale: data must be a number > 0; got 'inf'"),
        ("0", "--scale: the factor must be a number > 0; got '0'"),
        ("epochs=fast", "--scale: epochs must be a number > 0; got 'fast'"),
        ("data=-1", "--scale: data must be a number > 0; got '-1'"),
        (
            "",
            "--scale: give a number > 0 or quantity=factor pairs (data, epochs, seeds, draws, input, budget, tasks); "
            "got ''",
        ),
    ],
)
def test_bad_scale_is_one_message(text, message):
    with pytest.raises(SpecError) as e:
        parse_scale(text)
    assert str(e.value) == message


def test_bare_factor_scales_the_sweep_not_the_models(spec):
    out = scale_spec(spec, parse_scale("0.1"))
    rad, teacher, hammer = out.tasks
    assert out.name == "s-scale-d0.1e0.1s0.1r0.1"
    assert rad.task == "rad(side=40,n_train=300,n_val=30,n_test=30)"  # side (|x|) unchanged
    assert rad.epochs == 3 and teacher.epochs == 3 and out.training.epochs == 3  # 30 * 0.1; 25 * 0.1 rounds half up
    assert rad.budgets == (60000.0,) and teacher.hidden == (16,)
    assert rad.densities.random.count == 2 and rad.densities.codes == ("011001",)
    assert teacher.task == "teacher(x=64,t=10,n_train=100,n_val=25,n_test=25)"
    assert hammer.task == "minari:D4RL/hammer/expert-v2(rollouts=10,rollout_steps=20)"  # data not cut; rollouts are
    assert out.training.seeds == (0,)
    assert out.training.lr == (0.001,) and out.training.batch_size == 16
    assert out.pack == spec.pack and out.resources == spec.resources


def test_named_factors_scale_the_models(spec):
    out = scale_spec(spec, parse_scale("input=0.25,budget=0.3"))
    rad, teacher, hammer = out.tasks
    assert rad.task == "rad(side=20,n_train=3000,n_val=300,n_test=300)"  # |x| 1600 -> 400: side * sqrt(0.25)
    assert teacher.task == "teacher(x=16,t=10)"
    assert rad.budgets == (18000.0,) and hammer.budgets == (3000.0,)
    assert teacher.hidden == (16,)  # a given |h| is kept
    assert out.training.epochs == 25 and out.training.seeds == (0, 1, 2, 3)


def test_floors_and_growth(spec):
    small = scale_spec(spec, parse_scale("0.001"))
    assert small.training.epochs == 1 and small.training.seeds == (0,)
    assert small.tasks[0].densities.random.count == 1
    assert small.tasks[0].task == "rad(side=40,n_train=10,n_val=10,n_test=10)"  # floor: min(n, 10)
    big = scale_spec(spec, parse_scale("seeds=1.5,epochs=2,data=2"))
    assert big.training.seeds == (0, 1, 2, 3, 4, 5) and big.training.epochs == 50
    assert big.tasks[1].task == "teacher(x=64,t=10,n_train=2000,n_val=500,n_test=500)"


def test_input_stays_in_the_task_range():
    assert scale_task_name("rad(side=50)", ScaleFactors(input=100.0)) == "rad(side=256)"
    assert scale_task_name("rad(side=8)", ScaleFactors(input=0.01)) == "rad(side=4)"
    assert scale_task_name("lorenz(n=16)", ScaleFactors(input=0.5)) == "lorenz(n=16)"  # |x| = |y|: left alone


def test_identity_is_the_spec_itself_and_hashes_differ(spec):
    assert scale_spec(spec, parse_scale("1")) is spec
    half = scale_spec(spec, parse_scale("0.5"))
    assert half.spec_hash != spec.spec_hash and half.name != spec.name
    assert scale_spec(spec, parse_scale("0.5")).spec_hash == half.spec_hash  # deterministic
    assert yaml.safe_load(half.text)["spec"]["name"] == "s-scale-d0.5e0.5s0.5r0.5"


def test_long_names_stay_valid():
    doc = {**DOC, "name": "a" * 60}
    out = scale_spec(parse_spec(doc, "s.yaml", check_task=None), parse_scale("0.5,input=0.5,budget=0.5"))
    assert len(out.name) <= 64 and out.name.startswith("a" * 40 + "-scale-")


def test_a_scaled_budget_too_small_is_a_spec_error(tmp_path, capsys):
    path = tmp_path / "small.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "small",
                "tasks": [{"task": "teacher(x=8,y=4,t=10)", "budgets": [400], "densities": {"uniform": [1.0]}}],
            }
        )
    )
    with pytest.raises(SystemExit) as e:
        main(["run", str(path), "--scale", "budget=0.01", "--dry-run"])
    assert e.value.code == 1
    assert (
        capsys.readouterr()
        .err.strip()
        .startswith(
            "Error: small.yaml scaled (budget x0.01): tasks[0].budgets has 4, which does not fit task teacher(x=8,y=4,t=10)"
        )
    )


def test_cli_dry_run_shows_the_scaled_plan(tmp_path, capsys):
    path = tmp_path / "q.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "q",
                "tasks": [
                    {
                        "task": "teacher(x=8,y=4,t=10,n_train=400)",
                        "budgets": [400, 800],
                        "densities": {"uniform": [1.0, 0.5], "random": {"count": 10}},
                    }
                ],
                "training": {"seeds": [0, 1], "epochs": 4},
            }
        )
    )
    main(["run", str(path), "--scale", "0.5", "--dry-run", "--results", str(tmp_path / "r")])
    out = capsys.readouterr().out
    # tasks x0.5 applies to sample: entries only; this spec has none, so the name keeps no t0.5
    assert "scaled (data x0.5, epochs x0.5, seeds x0.5, draws x0.5, tasks x0.5): sweep q-scale-d0.5e0.5s0.5r0.5" in out
    # the task column wraps at 80 columns: teacher(x=8,y=4,t=10,n_train=200,n_val=125,n_test=125) in pieces
    assert all(part in out for part in ("teacher(x=8,y=4,t=10,", "n_train=200", "n_val=125", "n_test=125)"))
    # (2 uniform + 5 draws) x 2 budgets x 1 seed
    assert "14 trials, 14 to run" in out
    assert not (tmp_path / "r").exists()  # dry run writes nothing


def test_cli_bad_scale_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "quickstart", "--scale", "fast", "--dry-run"])
    assert e.value.code == 1
    assert capsys.readouterr().err.strip() == "Error: --scale: the factor must be a number > 0; got 'fast'"


def test_sampled_entries_scale_their_count_and_parameter_ranges():
    doc = {
        "name": "m",
        "tasks": [
            {
                "sample": {
                    "family": "teacher",
                    "count": 6,
                    "seed": 1,
                    "params": {
                        "x": {"log_uniform": [8, 512]},
                        "y": {"choice": [2, 4]},
                        "n_train": 400,
                        "t": {"choice": [10, 20]},
                    },
                },
                "budgets": [20000],
                "densities": {"random": {"count": 4, "shared": True}},
            }
        ],
    }
    spec = parse_spec(doc, "m.yaml")
    assert len(spec.tasks) == 6
    big = scale_spec(spec, parse_scale("2"))
    assert big.name == "m-scale-d2e2s2r2t2" and len(big.tasks) == 12
    assert all("n_train=800" in t.task for t in big.tasks) and big.tasks[0].densities.random.count == 8
    small_x = scale_spec(spec, parse_scale("input=0.25"))
    (entry,) = small_x.document.tasks
    assert entry.sample.params["x"] == {"log_uniform": [2, 128]} and entry.sample.params["y"] == {"choice": [2, 4]}
    assert entry.sample.params["t"] == {"choice": [10, 20]}  # t has no scaling: unchanged


def test_families_declare_how_their_parameters_scale():
    from hpsweep.workers.tasks import FAMILIES

    scaled = {f: sorted(p.name for p in cls.PARAMS if p.scaling is not None) for f, cls in FAMILIES.items()}
    assert scaled == {
        "rad": ["n_test", "n_train", "n_val", "side"],
        "teacher": ["n_test", "n_train", "n_val", "x"],
        "prototype": ["n_test", "n_train", "n_val", "x"],
        "lorenz": ["n_test", "n_train", "n_val"],
    }
