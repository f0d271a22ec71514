"""Task names: canonical forms and one exact message for every bad name or parameter."""

import json

import pytest

from hpsweep.sweep.cli import main
from hpsweep.workers.errors import TaskError
from hpsweep.workers.tasks import get_task

VALID = "rad, teacher, prototype, lorenz, minari:<dataset_id>, file:<path.parquet|path.npz>"


@pytest.mark.parametrize(
    "given, canonical",
    [
        ("rad", "rad"),
        ("rad()", "rad"),
        (" rad(side=50, frames=10) ", "rad"),
        ("rad(n_train=500,side=28)", "rad(side=28,n_train=500)"),
        ("teacher(t=20,x=64,y=8)", "teacher(x=64)"),
        ("teacher(density=0.50,rho=1)", "teacher(density=0.5,rho=1)"),
        ("lorenz(forcing=8.0,dt=0.1)", "lorenz(dt=0.1)"),
        ("prototype(noise=2.5,x=2500)", "prototype(x=2500,noise=2.5)"),
        ("minari:D4RL/hammer/expert-v2", "minari:D4RL/hammer/expert-v2"),
        ("minari:hammer-expert-v1(split=90/5/5,normalize=false)", "minari:hammer-expert-v1(normalize=false)"),
    ],
)
def test_canonical_names(given, canonical):
    assert get_task(given).name == canonical
    assert get_task(canonical).name == canonical


@pytest.mark.parametrize(
    "name, message",
    [
        ("foo", f"unknown task 'foo'; valid tasks: {VALID}"),
        ("radd(side=3)", f"unknown task 'radd(side=3)'; valid tasks: {VALID}"),
        ("", f"a task name must be a non-empty string; got ''; valid tasks: {VALID}"),
        (
            "rad(sid=3)",
            "task rad has no parameter 'sid'; valid parameters: side, frames, n_train, n_val, n_test, source, path",
        ),
        ("rad(side=2)", "task rad: parameter 'side' must be an int in [4, 256]; got '2'"),
        ("rad(side=2.5)", "task rad: parameter 'side' must be an int in [4, 256]; got '2.5'"),
        ("rad(side=big)", "task rad: parameter 'side' must be an int in [4, 256]; got 'big'"),
        ("rad(source=cifar)", "task rad: parameter 'source' must be one of digits, mnist; got 'cifar'"),
        ("rad(side)", "task rad: parameters are written key=value separated by commas; got 'side'"),
        ("rad(side=8,side=9)", "task rad: parameter 'side' is given twice"),
        ("rad(side=8", "task rad: parameters go in one pair of parentheses, e.g. rad(key=value,...); got 'rad(side=8'"),
        ("teacher(density=0)", "task teacher: parameter 'density' must be a number in [0.001, 1]; got '0'"),
        ("teacher(noise=nan)", "task teacher: parameter 'noise' must be a number in [0, 100]; got 'nan'"),
        ("lorenz(n=3)", "task lorenz: parameter 'n' must be an int in [4, 10000]; got '3'"),
        ("prototype(protos=1)", "task prototype: parameter 'protos' must be an int in [2, 100000]; got '1'"),
        ("minari:", "task minari: give a source after the colon, e.g. minari:D4RL/hammer/expert-v2"),
        ("minari:x(normalize=maybe)", "task minari: parameter 'normalize' must be a bool (true/false); got 'maybe'"),
        (
            "minari:x(split=1/0/1)",
            "task minari: parameter 'split' must be three positive numbers train/val/test like 90/5/5; got '1/0/1'",
        ),
    ],
)
def test_bad_names_say_what_is_valid(name, message):
    with pytest.raises(TaskError) as e:
        get_task(name)
    assert str(e.value) == message


def test_cli_lists_tasks_and_reports_bad_names_on_one_line(capsys):
    main(["tasks", "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["rad", "teacher", "prototype", "lorenz", "minari:<dataset_id>", "file:<path>"]
    assert rows[1]["input_dim"] == 32 and rows[1]["seq_len"] == 20 and rows[1]["n_train"] == 1000
    assert [p["name"] for p in rows[3]["parameters"]][:3] == ["n", "t", "forcing"]
    main(["tasks", "teacher(x=64,y=8,t=20)"])
    assert "teacher(x=64)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["tasks", "rad(sid=3)"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err == (
        "Error: task rad has no parameter 'sid'; valid parameters: side, frames, n_train, n_val, n_test, source, path\n"
    )
