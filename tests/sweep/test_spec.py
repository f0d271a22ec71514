"""Spec validation: each mistake is one line naming the file, the field and the value, raised
before anything is planned, trained or written."""

import pytest
import yaml

from hpsweep.sweep import spec as spec_module
from hpsweep.sweep.cli import main
from hpsweep.sweep.spec import load_spec, parse_spec, shipped_specs
from hpsweep.workers.errors import SpecError

GOOD = {
    "name": "s",
    "tasks": [{"task": "teacher(x=8,y=4,t=10)", "budgets": [400], "densities": {"uniform": [1.0]}}],
}


def _with(path: str, value):
    """GOOD with one field set (path like 'tasks.0.densities.uniform'); value None deletes it."""
    doc = yaml.safe_load(yaml.safe_dump(GOOD))
    *head, last = path.split(".")
    node = doc
    for key in head:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    if value is None:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


BAD = [
    (
        "tasks.0.densities.uniform",
        [0.5, 1.5],
        "spec.yaml: tasks[0].densities.uniform[1] must be a density in (0, 1]; got 1.5",
    ),
    (
        "tasks.0.densities",
        {"grid": {"hh": [0, 1]}},
        "spec.yaml: tasks[0].densities.grid.hh[0] must be a density in (0, 1]; got 0",
    ),
    (
        "tasks.0.densities",
        {"sparsity": 0.8},
        "spec.yaml: tasks[0].densities.sparsity is not accepted: hpsweep speaks of density",
    ),
    ("tasks.0.sparsity", 0.8, "spec.yaml: tasks[0].sparsity is not accepted: hpsweep speaks of density"),
    (
        "learning_rate",
        0.1,
        "spec.yaml: learning_rate is not a field here; valid fields: name, tasks, training, pack, resources",
    ),
    ("name", None, "spec.yaml: name is required"),
    (
        "name",
        "my sweep",
        "spec.yaml: name must be a name of letters, digits, '_', '.', '-' (at most 64 characters); got 'my sweep'",
    ),
    ("tasks", [], "spec.yaml: tasks must be a non-empty list of task entries; got []"),
    (
        "tasks.0.hidden",
        [16],
        "spec.yaml: tasks[0] must give exactly one of budgets and hidden; got {'budgets': [400], 'hidden': [16]}",
    ),
    (
        "tasks.0.task",
        "mnist",
        "spec.yaml: tasks[0].task is not a known task (unknown task 'mnist'; valid tasks: rad, teacher",
    ),
    ("training.epochs", 0, "spec.yaml: training.epochs must be an integer >= 1; got 0"),
    ("training.batch_size", "32", "spec.yaml: training.batch_size must be an integer >= 1; got '32'"),
    ("training.lr", [1e-3, -1e-3], "spec.yaml: training.lr[1] must be a number > 0; got -0.001"),
    ("training.seeds", [0, 1.5], "spec.yaml: training.seeds[1] must be an integer >= 0; got 1.5"),
    (
        "tasks.0.densities",
        {"codes": ["01101"]},
        "spec.yaml: tasks[0].densities.codes[0] must be a structure code of six quoted bits",
    ),
    (
        "tasks.0.densities",
        {"codes": [11001]},
        "spec.yaml: tasks[0].densities.codes[0] must be a structure code of six quoted bits",
    ),
    (
        "tasks.0.densities",
        {"base": [0.2], "uniform": [1]},
        "spec.yaml: tasks[0].densities.base only applies to codes; add codes or remove base",
    ),
    (
        "tasks.0.densities",
        {"random": {"count": 4, "method": "sobol"}},
        "spec.yaml: tasks[0].densities.random.method must be one of paper, paper-densities; got 'sobol'",
    ),
    ("tasks.0.densities", {"random": {"method": "paper"}}, "spec.yaml: tasks[0].densities.random.count is required"),
    (
        "tasks.0.densities",
        {},
        "spec.yaml: tasks[0].densities must give at least one of uniform, codes, grid, random; got {}",
    ),
    (
        "tasks.0.budgets",
        [10],
        "spec.yaml: tasks[0].budgets has 10, which does not fit task teacher(x=8,y=4,t=10): budget 10 is too small",
    ),
    ("resources.gpus", -1, "spec.yaml: resources.gpus must be a number >= 0; got -1"),
    ("pack.max_models", 0, "spec.yaml: pack.max_models must be an integer >= 1; got 0"),
    ("pack.device", "tpu", "spec.yaml: pack.device must be one of auto, cpu, cuda; got 'tpu'"),
    ("resources.gpus", 0.5, "spec.yaml: resources.gpus is 0.5 per pack, but "),  # no GPU here
    ("resources.cpus", 4096, "spec.yaml: resources.cpus is 4096 per pack, but "),
]


@pytest.mark.parametrize("path, value, message", BAD, ids=[b[0] + "=" + repr(b[1])[:20] for b in BAD])
def test_bad_spec_gives_its_message_and_writes_nothing(tmp_path, capsys, path, value, message):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_with(path, value)))
    results = tmp_path / "results"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(spec), "--results", str(results)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 1
    assert err.startswith("Error: " + message), err
    assert len(err.splitlines()) == 1
    assert not results.exists()


def test_not_yaml_names_the_line(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: s\ntasks: [\n  - oops: : :\n")
    with pytest.raises(SystemExit):
        main(["run", str(spec), "--dry-run"])
    assert capsys.readouterr().err.startswith("Error: spec.yaml: not valid YAML at line 3")


def test_unknown_spec_lists_the_shipped_ones(capsys):
    with pytest.raises(SystemExit):
        main(["run", "no-such-spec", "--dry-run"])
    assert capsys.readouterr().err.strip() == (
        "Error: spec 'no-such-spec' is neither a file nor a shipped spec; shipped specs: " + ", ".join(shipped_specs())
    )


def test_every_spec_field_has_a_rule():
    """Like sklearn's check_param_validation: a field without a rule would never be checked."""
    import typing

    from pydantic import BeforeValidator, PlainValidator

    from hpsweep.sweep.spec.models import Section

    def is_section(annotation):
        return any(isinstance(a, type) and issubclass(a, Section) for a in (annotation, *typing.get_args(annotation)))

    models = [
        spec_module.SpecDocument,
        spec_module.TaskEntry,
        spec_module.Sample,
        spec_module.DensityChoices,
        spec_module.Grid,
        spec_module.RandomDraws,
        spec_module.Training,
        spec_module.PackSettings,
        spec_module.Resources,
    ]
    unchecked = [
        f"{m.__name__}.{name}"
        for m in models
        for name, f in m.model_fields.items()
        if not is_section(f.annotation)
        and not any(isinstance(v, (PlainValidator, BeforeValidator)) for v in f.metadata)
    ]
    assert unchecked == ["Sample.params"]  # checked against the family's own table when drawn (sampling.py)
    for m in models:
        assert m.model_config["frozen"] and m.model_config["extra"] == "forbid", m.__name__


def test_defaults_overrides_and_canonical_task_names():
    doc = _with("training", {"epochs": 3, "lr": 0.01, "seeds": [0, 1]})
    doc["tasks"].append({"task": "teacher( x=8, y=4 )", "hidden": [8], "epochs": 7, "densities": {"uniform": 1}})
    s = parse_spec(doc, "spec.yaml")
    assert [t.task for t in s.tasks] == ["teacher(x=8,y=4,t=10)", "teacher(x=8,y=4)"]
    assert (s.tasks[0].epochs, s.tasks[1].epochs, s.tasks[1].lr) == (3, 7, (0.01,))
    assert s.training.seeds == (0, 1) and s.pack.max_models == 64 and s.resources.max_failures == 2
    assert s.spec_hash == parse_spec(doc, "other.yaml").spec_hash
    assert s.spec_hash != parse_spec(_with("training.epochs", 4), "spec.yaml").spec_hash
    assert yaml.safe_load(s.text)["spec_hash"] == s.spec_hash


def test_exponent_numbers_without_a_dot_are_numbers():
    """YAML 1.1 reads `1e-3` as a string; a spec means the number."""
    s = parse_spec(
        yaml.safe_load(
            "name: s\ntraining: {lr: [1e-3, 3E-4]}\ntasks:\n  - {task: a, budgets: 1e5, densities: {uniform: 1}}\n"
        ),
        "spec.yaml",
        check_task=None,
    )
    assert s.training.lr == (1e-3, 3e-4) and s.tasks[0].budgets == (1e5,)
    with pytest.raises(SpecError, match=r"training.lr\[0\] must be a number > 0; got 'fast'"):
        parse_spec(_with("training.lr", ["fast"]), "spec.yaml", check_task=None)


def test_quickstart_ships_and_validates():
    assert "quickstart" in shipped_specs()
    s = load_spec("quickstart")
    assert s.name == "quickstart" and len(s.tasks) >= 3
    forms = s.tasks[0].densities
    assert forms.uniform and forms.codes and forms.random is not None


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    results = tmp_path / "results"
    main(["run", "--dry-run", "--results", str(results)])
    out = capsys.readouterr().out
    assert "sweep quickstart (spec " in out and "prototype" in out and "HP" in out
    assert "120 trials, 120 to run in 6 packs of at most 20 models" in out
    assert out.rstrip().endswith("Dry run: nothing trained, nothing written.")
    assert not results.exists()


def test_spec_hashes_of_existing_specs_do_not_move():
    """Resume keys on the spec hash: these were computed before later fields were added."""
    from hpsweep.sweep.scale import parse_scale, scale_spec
    from tests.sweep.test_scale import DOC

    # paper-hammer's own task changed on purpose (rollout scoring and ref_return were added), so its hash moved
    pinned = {
        "dims": "8512486cebdacab6",
        "paper-hammer": "4f64ff7594e6df07",
        "paper-rad": "ced4e3320c2574d7",
        "quickstart": "31b008a288a2b50b",
    }
    assert {n: load_spec(n, check_task=None).spec_hash for n in pinned} == pinned
    assert parse_spec(GOOD, "s.yaml").spec_hash == "1b86049e3778949a"
    doc = parse_spec(DOC, "s.yaml", check_task=None)
    assert doc.spec_hash == "711190633d2f06dd"
    # DOC holds a minari: task, whose rollouts now shrink with --scale: that scaled hash moved
    assert scale_spec(doc, parse_scale("0.5,input=0.5,budget=0.5")).spec_hash == "20616523a1163ba8"
    dims_local = scale_spec(load_spec("dims"), parse_scale("data=0.1,epochs=0.4,seeds=0.5,draws=0.2"))
    assert dims_local.spec_hash == "45cc0255e92307ab"


def test_the_examples_in_docs_sweep_md_validate():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "sweep.md").read_text()
    examples = [m for m in re.findall(r"```yaml\n(.*?)```", text, re.S) if m.startswith("name:")]
    assert len(examples) >= 2
    for example in examples:
        spec = parse_spec(yaml.safe_load(example), "sweep.md")
        assert spec.tasks and spec.spec_hash
