"""Bad command lines: click's own usage errors (an unknown option or command, a value of the wrong type, a
bad choice, a missing argument) print the same one line as every other user error, exit 2, and write
nothing. The command list comes from the click group itself, so a new command without a row here fails."""

import click
import pytest

from hpsweep.sweep.cli import USAGE_EXIT, cli
from tests.fuzz.harness import Case, check_case


def _commands() -> list[str]:
    with click.Context(cli) as ctx:
        return cli.list_commands(ctx)


# One bad value of one of its own options per command (the test below checks every command has one).
BAD_OPTION = {
    "run": Case(
        "run-results-without-value",
        ["run", "--dry-run", "--results"],
        "Option '--results' requires an argument. (see: hpsweep run --help)",
        exit_code=USAGE_EXIT,
    ),
    "status": Case(
        "status-json-with-value",
        ["status", "res", "--json=yes"],
        "Option '--json' does not take a value. (see: hpsweep status --help)",
        exit_code=USAGE_EXIT,
    ),
    "query": Case(
        "query-bad-format",
        ["query", "res", "SELECT 1", "--format", "xml"],
        "Invalid value for '--format': 'xml' is not one of 'table', 'csv', 'json', 'parquet'. "
        "(see: hpsweep query --help)",
        exit_code=USAGE_EXIT,
    ),
    "compact": Case(
        "compact-sweep-without-value",
        ["compact", "res", "--sweep"],
        "Option '--sweep' requires an argument. (see: hpsweep compact --help)",
        exit_code=USAGE_EXIT,
    ),
    "analyze": Case(
        "analyze-bad-status",
        ["analyze", "res", "--status", "weird"],
        "Invalid value for '--status': 'weird' is not one of 'ok', 'stopped', 'diverged', 'failed'. "
        "(see: hpsweep analyze --help)",
        exit_code=USAGE_EXIT,
    ),
    "recommend": Case(
        "recommend-budget-not-a-number",
        ["recommend", "-x", "4", "-y", "2", "-P", "lots", "--from", "res"],
        "Invalid value for '--budget' / '-P': 'lots' is not a valid float.",
        exit_code=USAGE_EXIT,
    ),
    "tasks": Case("tasks-unknown-task", ["tasks", "nosuchtask(x=1)"], "nosuchtask", exit_code=1),
    "describe": Case(
        "describe-x-not-an-int",
        ["describe", "-x", "abc", "-y", "2"],
        "Invalid value for '--input-dim' / '-x': 'abc' is not a valid integer.",
        exit_code=USAGE_EXIT,
    ),
    "dashboard": Case(
        "dashboard-port-out-of-range",
        ["dashboard", "res", "--port", "70000"],
        "Invalid value for '--port': 70000 is not in the range 0<=x<=65535. (see: hpsweep dashboard --help)",
        exit_code=USAGE_EXIT,
    ),
    "models": Case(
        "models-top-zero",
        ["models", "res", "--top", "0"],
        "Invalid value for '--top': 0 is not in the range 1<=x<=1000000. (see: hpsweep models --help)",
        exit_code=USAGE_EXIT,
    ),
    "export": Case(
        "export-without-out",
        ["export", "res", "abc123"],
        "Missing argument 'OUT'. (see: hpsweep export --help)",
        exit_code=USAGE_EXIT,
    ),
    "bench": Case(
        "bench-models-not-an-int",
        ["bench", "--models", "abc"],
        "Invalid value for '--models' / '-K': 'abc' is not a valid integer. (see: hpsweep bench --help)",
        exit_code=USAGE_EXIT,
    ),
}

CASES = [
    *BAD_OPTION.values(),
    Case(
        "bench-models-zero",
        ["bench", "--models", "0"],
        "'--models' / '-K': 0 is not in the range x>=1.",
        exit_code=USAGE_EXIT,
    ),
    Case(
        "bench-iters-negative",
        ["bench", "--iters", "-2"],
        "'--iters': -2 is not in the range x>=1.",
        exit_code=USAGE_EXIT,
    ),
    Case(
        "bench-device-unknown",
        ["bench", "--device", "tpu"],
        "Invalid value for '--device': 'tpu' is not a torch device; give cpu, cuda, cuda:N or auto",
        exit_code=USAGE_EXIT,
    ),
    Case(
        "analyze-rows-below-range",
        ["analyze", "res", "--max-rows-per-task", "10"],
        "'--max-rows-per-task': 10 is not in the range x>=50.",
        exit_code=USAGE_EXIT,
    ),
    Case(
        "analyze-rows-not-an-int",
        ["analyze", "res", "--max-rows-per-task", "abc"],
        "Invalid value for '--max-rows-per-task': 'abc' is not a valid integer. (see: hpsweep analyze --help)",
        exit_code=USAGE_EXIT,
    ),
    Case("describe-missing-y", ["describe", "-x", "3"], "Missing option '--output-dim' / '-y'.", exit_code=USAGE_EXIT),
    Case(  # RESULTS defaults to where `hpsweep run` writes; here nothing ran yet
        "status-default-results-absent",
        ["status"],
        "results 'hpsweep-results' do not exist; give the folder that `hpsweep run --results` wrote",
    ),
    Case("unknown-command", ["trian"], "No such command 'trian'. (see: hpsweep --help)", exit_code=USAGE_EXIT),
    Case(
        "unknown-top-level-option", ["--bogus"], "No such option '--bogus'. (see: hpsweep --help)", exit_code=USAGE_EXIT
    ),
    Case(
        "close-option-is-suggested",
        ["run", "--dryrun"],
        "No such option '--dryrun'. Did you mean '--dry-run'?",
        exit_code=USAGE_EXIT,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_command_line(case, tmp_path, capfd):
    line = check_case(case, tmp_path, capfd)
    assert line.startswith("Error: ") and "Usage:" not in line and "Try '" not in line  # click's block is gone


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_a_bad_option_row(command):
    assert command in BAD_OPTION, f"hpsweep {command} has no bad-option row in tests/fuzz/test_fuzz_cli.py"


@pytest.mark.parametrize("command", _commands())
def test_an_unknown_option_of_every_command_is_one_line(command, tmp_path, capfd):
    case = Case(
        f"{command}-unknown-option",
        [command, "--no-such-option"],
        "No such option '--no-such-option'",
        exit_code=USAGE_EXIT,
    )
    assert check_case(case, tmp_path, capfd).endswith(f"(see: hpsweep {command} --help)")


def test_hpsweep_alone_still_prints_the_help(capfd):
    from hpsweep.sweep.cli import main

    with pytest.raises(SystemExit):
        main([])
    out, err = capfd.readouterr()
    assert "Usage: hpsweep [OPTIONS] COMMAND" in out + err and "Error:" not in out + err
