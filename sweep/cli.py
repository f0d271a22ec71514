"""The `hpsweep` command line. Each command lives in its own module under sweep/commands/ and is
imported only when it runs, so `hpsweep bench` and `hpsweep describe` work on a machine that has
torch but neither ray nor polars (a bare GPU box)."""

from __future__ import annotations

import importlib
import os
import shlex
import sys

import click

from hpsweep.workers.errors import HpsweepError, OutputClosed

COMMANDS = {
    # name: (module under sweep.commands, one-line help shown by `hpsweep --help`)
    "run": ("run", "Run a sweep spec (or the built-in quickstart) on Ray Tune."),
    "status": ("status", "Planned / ok / diverged / failed / missing trials per sweep."),
    "query": ("query", "Polars SQL over the trials and curves tables."),
    "compact": ("compact", "Merge small Parquet parts without changing what readers see."),
    "models": ("models", "List the kept models (spec keep:), best validation score first."),
    "export": ("models", "Write one kept model's weights and masks to a safetensors file."),
    "analyze": ("analyze", "Fit meta-models on results; print metrics, write an HTML report."),
    "recommend": ("recommend", "Recommend densities for new dims and a budget, before training."),
    "tasks": ("tasks", "List the tasks with their parameters, dims and sizes."),
    "describe": ("describe", "Hidden size, weights per block and hidden proportion of a model."),
    "dashboard": ("dashboard", "Serve a live, read-only page over a results store in the browser."),
    "bench": ("bench", "Train K models one at a time and packed; print model-steps/s and the ratio."),
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command is invoked."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[name]
        module = importlib.import_module(f"hpsweep.sweep.commands.{module_name}")
        return getattr(module, name)

    def format_commands(self, ctx, formatter):
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hpsweep")
def cli():
    """hpsweep: sweep varied-sparsity RNNs on Ray and learn which model to build before training it."""


def interrupted_message(argv: list[str], why: str = "Interrupted") -> str:
    """What Ctrl-C prints: for `run`, the command that resumes the sweep (the same command)."""
    if argv and argv[0] == "run":
        return f"{why}: every pack that finished is saved; resume with: " + shlex.join(["hpsweep", *argv])
    return f"{why}."


OUTPUT_CLOSED_EXIT = 141
"""Exit code when the reader of standard output went away (128 + SIGPIPE, what a shell reports for
a program that a closed pipe ended)."""


def _output_closed(argv: list[str]) -> None:
    """`hpsweep ... | head`: the reader has what it wanted. Point stdout at /dev/null so that
    nothing else fails writing to it (Python's own flush at exit included); a stopped sweep says on
    stderr how to resume it, any other command ends quietly, as `yes | head` does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    if argv and argv[0] == "run":
        click.echo(interrupted_message(argv, "Output closed"), err=True)
    sys.exit(OUTPUT_CLOSED_EXIT)


USER_ERROR_EXIT = 1
"""Exit code of a user error found while the command runs (an HpsweepError)."""
USAGE_EXIT = 2
"""Exit code of a command line click cannot parse: an unknown option or command, a bad value or choice."""


def error_line(error: Exception, argv: list[str] = ()) -> str:
    """The one line every user error prints, click's own usage errors included.

    click would print a usage block, a hint and the error on three lines; this says the same on one,
    with the help command that lists what the command accepts as the next step. A message that spans
    lines (a library's, quoted inside ours) is folded onto one.
    """
    if isinstance(error, click.ClickException):
        message = error.format_message()
        if isinstance(error, click.UsageError):
            ctx = getattr(error, "ctx", None)  # click leaves it unset for some parse errors (a missing value)
            command = (
                ctx.command_path
                if ctx is not None
                else shlex.join(["hpsweep", *argv[:1]] if argv[:1] and argv[0] in COMMANDS else ["hpsweep"])
            )
            message = f"{message.rstrip()} (see: {command} --help)"
    else:
        message = str(error)
    return "Error: " + " ".join(line.strip() for line in message.splitlines() if line.strip())


def main(argv=None):
    """Console entry point. Every user error -- an HpsweepError, or click's own (an unknown option, a
    bad value) -- is one line on stderr from error_line, without a traceback: exit 2 for a command
    line that cannot be parsed, 1 for anything else. Ctrl-C exits 130 (128 + SIGINT), naming the
    command that resumes a sweep; a closed output (`| head`) stops the same way and exits 141."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        cli.main(args=argv, prog_name="hpsweep", standalone_mode=False)
    except (OutputClosed, BrokenPipeError):
        _output_closed(argv)
    except (click.exceptions.Abort, KeyboardInterrupt) as e:
        if isinstance(e.__cause__, OutputClosed):  # click turns any KeyboardInterrupt into Abort
            _output_closed(argv)
        click.echo(interrupted_message(argv), err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as e:  # `hpsweep` alone: the help, not an error
        e.show()
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(error_line(e, argv), err=True)
        sys.exit(USAGE_EXIT if isinstance(e, click.UsageError) else e.exit_code)
    except HpsweepError as e:
        click.echo(error_line(e), err=True)
        sys.exit(USER_ERROR_EXIT)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
