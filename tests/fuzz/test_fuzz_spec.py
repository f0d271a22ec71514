"""Bad specs, `describe` arguments and `--scale` factors: each is one line `Error: ...`,
a non-zero exit, no traceback and nothing written (tests/fuzz/harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.fuzz.harness import Case, check_case

GOOD = {"name": "s", "tasks": [{"task": "teacher(x=8,y=4,t=10)", "budgets": [400], "densities": {"uniform": [1.0]}}]}
TASK = "teacher(x=8,y=4,t=10)"


def _doc(**changes) -> dict:
    """GOOD with top-level or first-task fields changed: key 'task.<field>' reaches into tasks[0]."""
    doc = yaml.safe_load(yaml.safe_dump(GOOD))
    for key, value in changes.items():
        section, _, field = key.partition("__")
        node = doc["tasks"][0] if section == "task" else doc.setdefault(section, {}) if field else doc
        node[field or section] = value
    return doc


def spec_text(text: str | bytes, name: str = "spec.yaml"):
    """A setup that writes the spec file as given (text or raw bytes)."""

    def setup(work: Path) -> None:
        (work / name).write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def spec_doc(**changes):
    return spec_text(yaml.safe_dump(_doc(**changes)))


def run_case(id_: str, setup, expect: str, dry: bool = True) -> Case:
    args = ["run", "spec.yaml", "--results", "r"] + (["--dry-run"] if dry else [])
    return Case(id_, args, expect, setup=setup)


def describe_case(id_: str, extra: list[str], expect: str) -> Case:
    return Case(id_, ["describe", "-x", "4", "-y", "2", *extra], expect)


def scale_case(id_: str, factor: str, expect: str) -> Case:
    return Case(id_, ["run", "spec.yaml", "--dry-run", "--results", "r", "--scale", factor], expect, setup=spec_doc())


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)
NESTED = "name: s\ntasks: " + "[" * 20_000 + "]" * 20_000 + "\n"

CASES = [
    # the file itself
    run_case("binary-file", spec_text(bytes(range(256)) * 4), "is not UTF-8 text"),
    run_case("latin-1-file", spec_text("name: s\n# caf\xe9\n".encode("latin-1")), "is not UTF-8 text (byte 13"),
    run_case("nul-bytes", spec_text("name: s\x00\n"), "holds NUL bytes"),
    run_case("nested-20000", spec_text(NESTED), "nests deeper than 50 levels"),
    run_case("alias-bomb", spec_text(ALIAS_BOMB), "expands to"),
    run_case("duplicate-key", spec_text("name: s\nname: t\ntasks: []\n"), "key 'name' is given twice (lines 1 and 2)"),
    run_case(
        "duplicate-nested-key",
        spec_text(
            f"name: s\ntasks:\n  - task: {TASK}\n    budgets: [400]\n"
            f"    budgets: [800]\n    densities: {{uniform: 1}}\n"
        ),
        "key 'budgets' is given twice",
    ),
    run_case("too-large-file", spec_text("# " + "x" * 1_100_000 + "\nname: s\n"), "a spec holds at most 1,000,000"),
    run_case("not-yaml", spec_text("name: s\ntasks: [\n  - oops: : :\n"), "not valid YAML at line 3"),
    run_case("top-level-list", spec_text("- name: s\n"), "the spec must be a mapping of fields"),
    run_case("empty-file", spec_text(""), "spec.yaml: name is required"),
    run_case("missing-file", None, "is neither a file nor a shipped spec"),
    # numbers: finite, in range
    run_case(
        "budget-inf", spec_doc(task__budgets=[float("inf")]), "tasks[0].budgets[0] must be a finite number; got inf"
    ),
    run_case("budget-huge", spec_doc(task__budgets=[1e300]), "tasks[0].budgets[0] must be at most 1e+12"),
    run_case(
        "budget-400-digits",
        spec_text(f"name: s\ntasks: [{{task: '{TASK}', budgets: [{'9' * 400}], densities: {{uniform: 1}}}}]\n"),
        "tasks[0].budgets[0] must be at most 1e+12",
    ),
    run_case(
        "sample-bound-400-digits",
        spec_doc(
            task__task=None,
            task__sample={"family": "teacher", "count": 2, "params": {"noise": {"uniform": [0, 10**400]}}},
        ),
        "must be a finite number",
    ),
    run_case("budget-nan", spec_doc(task__budgets=[float("nan")]), "tasks[0].budgets[0] must be a number > 0; got nan"),
    run_case("density-1e-300", spec_doc(task__densities={"uniform": [1e-300]}), "at least 1e-06"),
    run_case("grid-density-tiny", spec_doc(task__densities={"grid": {"hh": [1e-9]}}), "grid.hh[0] must be a density"),
    run_case("base-density-tiny", spec_doc(task__densities={"codes": ["011001"], "base": [1e-300]}), "base[0]"),
    run_case(
        "density-string", spec_doc(task__densities={"uniform": ["half"]}), "must be a density in (0, 1]; got 'half'"
    ),
    run_case("cpus-zero", spec_doc(resources__cpus=0), "resources.cpus must be a number > 0; got 0"),
    run_case("cpus-huge", spec_doc(resources__cpus=1e9), "resources.cpus must be at most 4096"),
    run_case("gpus-nan", spec_doc(resources__gpus=float("nan")), "resources.gpus must be a number >= 0"),
    run_case(
        "seeds-1e23",
        spec_text(yaml.safe_dump(_doc()) + "training: {seeds: [1e23]}\n"),
        "training.seeds[0] must be at most 4294967295 (seeds must fit the RNG: 32 bits)",
    ),
    run_case("seeds-big-int", spec_doc(training__seeds=[10**23]), "must be at most 4294967295"),
    run_case("seeds-negative", spec_doc(training__seeds=[-1]), "training.seeds[0] must be an integer >= 0; got -1"),
    run_case("data-seed-big", spec_doc(task__data_seed=2**40), "tasks[0].data_seed must be at most 4294967295"),
    run_case(
        "lr-inf", spec_text(yaml.safe_dump(_doc()) + "training: {lr: .inf}\n"), "training.lr must be a finite number"
    ),
    run_case("task-lr-nan", spec_doc(task__lr=[float("nan")]), "tasks[0].lr[0] must be a number > 0; got nan"),
    run_case("lr-huge", spec_doc(training__lr=[1000.0]), "training.lr[0] must be at most 10"),
    run_case("epochs-huge", spec_doc(training__epochs=10**9), "training.epochs must be at most 1000000"),
    run_case("epochs-float", spec_doc(training__epochs=2.5), "training.epochs must be an integer >= 1; got 2.5"),
    run_case("batch-size-zero", spec_doc(task__batch_size=0), "tasks[0].batch_size must be an integer >= 1"),
    run_case("init-std-inf", spec_doc(training__init_std=float("inf")), "training.init_std must be a finite number"),
    run_case("max-models-huge", spec_doc(pack__max_models=10**9), "pack.max_models must be at most 100000"),
    run_case("memory-negative", spec_doc(pack__memory_gb=-1), "pack.memory_gb must be a number > 0"),
    run_case("threads-zero", spec_doc(pack__threads=0), "pack.threads must be an integer >= 1"),
    run_case("max-failures-huge", spec_doc(resources__max_failures=1000), "resources.max_failures must be at most 100"),
    run_case(
        "max-concurrent-zero", spec_doc(resources__max_concurrent=0), "resources.max_concurrent must be an integer >= 1"
    ),
    run_case(
        "hidden-zero", spec_doc(task__budgets=None, task__hidden=[0]), "tasks[0].hidden[0] must be an integer >= 1"
    ),
    run_case(
        "hidden-huge", spec_doc(task__budgets=None, task__hidden=[10**7]), "tasks[0].hidden[0] must be at most 1000000"
    ),
    run_case("round-densities-yes", spec_doc(task__round_densities="yes"), "must be true or false; got 'yes'"),
    run_case("min-dense-hidden-zero", spec_doc(task__min_dense_hidden=0), "min_dense_hidden must be an integer >= 1"),
    # counts and plan size
    run_case(
        "random-count-1e7",
        spec_text(
            f"name: s\ntasks:\n  - task: {TASK}\n    budgets: [400]\n    densities: {{random: {{count: 1e7}}}}\n"
        ),
        "tasks[0].densities.random.count must be at most 1000000; got '1e7'",
    ),
    run_case(
        "plan-over-max-trials",
        spec_doc(task__densities={"random": {"count": 200_000}}),
        "the plan would hold up to 200,000 trials, more than max_trials (100,000); if that is meant, set max_trials",
    ),
    run_case(
        "sample-count-huge",
        spec_doc(task__task=None, task__sample={"family": "teacher", "count": 10**6}),
        "tasks[0].sample.count must be at most 10000",
    ),
    run_case(
        "sample-too-narrow",
        spec_doc(task__task=None, task__sample={"family": "teacher", "count": 9, "params": {"x": {"choice": [4, 8]}}}),
        "more distinct tasks than the ranges hold",
    ),
    run_case(
        "sample-unknown-family",
        spec_doc(task__task=None, task__sample={"family": "file", "count": 2}),
        "tasks[0].sample.family must be one of rad, teacher, prototype, lorenz",
    ),
    run_case(
        "sample-range-outside",
        spec_doc(
            task__task=None, task__sample={"family": "teacher", "count": 2, "params": {"noise": {"uniform": [0, 1e9]}}}
        ),
        "must lie within the parameter's range",
    ),
    run_case(
        "sampled-budget-unfit",
        spec_doc(
            task__task=None,
            task__budgets=[300],
            task__sample={"family": "teacher", "count": 3, "params": {"x": {"choice": [8, 64, 512]}, "y": 4}},
        ),
        "tasks[0].budgets has 300, which does not fit task teacher(x=512,y=4)",
    ),
    run_case(
        "task-and-sample",
        spec_doc(task__sample={"family": "teacher", "count": 2}),
        "must give exactly one of task and sample",
    ),
    # names, shapes, words
    run_case("name-path", spec_doc(name="../../victim"), "name must be a name of letters"),
    run_case("name-long-quoted-short", spec_doc(name="x" * 100_000), "got 'xxxx"),
    run_case("tasks-not-list", spec_doc(tasks=5), "tasks must be a non-empty list of task entries; got 5"),
    run_case("sparsity-top", spec_doc(sparsity=0.5), "sparsity is not accepted"),
    run_case("unknown-task", spec_doc(task__task="mnist"), "tasks[0].task is not a known task"),
    run_case("unknown-task-huge-name", spec_doc(task__task="mnist" * 190), "tasks[0].task is not a known task"),
    run_case("task-param-inf", spec_doc(task__task="teacher(x=8,noise=inf)"), "parameter 'noise' must be a number"),
    run_case(
        "known-task-bad-param",
        spec_doc(task__task="teacher(x=8,t=100000)"),
        "tasks[0].task cannot be used (task teacher: parameter 't' must be an int in [1, 10000]",
    ),
    run_case(
        "code-as-int", spec_doc(task__densities={"codes": [11001]}), "must be a structure code of six quoted bits"
    ),
    run_case("lr-empty", spec_doc(training__lr=[]), "training.lr must list at least one value"),
    Case(
        "validate-before-writing",
        ["run", "spec.yaml", "--results", "r"],
        "resources.cpus must be a number > 0",
        setup=spec_doc(resources__cpus=0),
    ),
    # describe
    describe_case("describe-budget-inf", ["--budget", "inf"], "budget must be a finite number of weights"),
    describe_case("describe-budget-nan", ["--budget", "nan"], "budget must be a positive number of weights; got nan"),
    describe_case("describe-budget-huge", ["--budget", "1e300"], "at most 1e+12"),
    describe_case("describe-density-1e-300", ["--hidden", "8", "--densities", "1e-300,1,1,1,1,1"], "at least 1e-06"),
    describe_case("describe-base-1e-300", ["--hidden", "8", "--code", "011001", "--base", "1e-300"], "at least 1e-06"),
    describe_case("describe-densities-five", ["--hidden", "8", "--densities", "1,1,1,1,1"], "six numbers"),
    describe_case("describe-densities-nan", ["--hidden", "8", "--densities", "nan,1,1,1,1,1"], "must be in (0, 1]"),
    describe_case("describe-hidden-zero", ["--hidden", "0"], "hidden must be a positive integer; got 0"),
    describe_case("describe-hidden-huge", ["--hidden", "100000000"], "hidden must be at most 10,000,000"),
    Case("describe-x-huge", ["describe", "-x", "1000000000", "-y", "2", "--hidden", "4"], "input_dim must be at most"),
    Case(
        "describe-y-zero", ["describe", "-x", "4", "-y", "0", "--hidden", "4"], "output_dim must be a positive integer"
    ),
    # --scale
    scale_case("scale-1e300", "1e300", "--scale: the factor must be at most 1000; got '1e300'"),
    scale_case("scale-inf", "inf", "--scale: the factor must be a number > 0; got 'inf'"),
    scale_case("scale-zero-data", "data=0", "--scale: data must be a number > 0; got '0'"),
    scale_case("scale-unknown", "speed=2", "--scale: unknown quantity 'speed'"),
    scale_case("scale-empty", ",", "--scale: give a number > 0 or quantity=factor pairs"),
    scale_case("scale-budget-too-small", "budget=0.01", "tasks[0].budgets has 4, which does not fit"),
    Case(
        "scale-data-over-range",
        ["run", "spec.yaml", "--dry-run", "--results", "r", "--scale", "data=1000"],
        "tasks[0].task teacher(x=8,y=4,n_train=100000) cannot be scaled: task teacher: parameter 'n_train'",
        setup=spec_doc(task__task="teacher(x=8,y=4,n_train=100000)"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path, capfd):
    line = check_case(case, tmp_path, capfd)
    assert len(line) < 600, line  # a value is quoted in at most ~100 characters


def test_ids_are_unique_and_the_table_is_big_enough():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
