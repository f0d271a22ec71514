"""`hpsweep tasks`: the task families with their parameters, dims, sequence length and sizes."""

from __future__ import annotations

import json

import click

from hpsweep.workers.tasks import FAMILIES, PREFIXED, get_task, list_tasks
from hpsweep.workers.tasks._params import format_value

PLACEHOLDERS = {"minari": "minari:<dataset_id>", "file": "file:<path>"}


def _param_rows(cls) -> list[dict]:
    return [{"name": p.name, "default": p.default, "rule": p.rule(), "doc": p.doc} for p in cls.PARAMS]


@click.command("tasks")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per task, one per line.")
def tasks(names, as_json):
    """List the tasks (at their defaults), or describe the named ones without generating data.

    Examples: hpsweep tasks;  hpsweep tasks 'teacher(x=64,y=8,t=20)' minari:D4RL/hammer/expert-v2
    """
    infos = [get_task(n).info() for n in names] if names else list_tasks()
    if as_json:
        for info in infos:
            family = info.name.split(":")[0].split("(")[0]
            cls = FAMILIES.get(family) or PREFIXED.get(family)
            click.echo(json.dumps({**info.to_dict(), "parameters": _param_rows(cls)}, default=str))
        if not names:
            for prefix, cls in PREFIXED.items():
                click.echo(
                    json.dumps(
                        {
                            "name": PLACEHOLDERS[prefix],
                            "example": cls.example,
                            "description": _doc_line(cls),
                            "parameters": _param_rows(cls),
                        },
                        default=str,
                    )
                )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tasks (hpsweep tasks --json for every parameter's rule and meaning)", title_justify="left")
    for col in ("name", "|x|", "|y|", "T", "train/val/test", "loss", "score"):
        table.add_column(col, justify="right" if col in ("|x|", "|y|", "T") else "left", overflow="fold")
    for i in infos:
        table.add_row(
            i.name,
            str(i.input_dim),
            str(i.output_dim),
            str(i.seq_len),
            f"{i.n_train}/{i.n_val}/{i.n_test}",
            i.loss,
            i.score_name,
        )
    if not names:
        for prefix in PREFIXED:
            table.add_row(PLACEHOLDERS[prefix], "", "", "", "from the source", "", "")
    console = Console()
    console.print(table)
    if names:
        for i in infos:
            console.print(f"{i.name}: {i.description}", highlight=False)
        return
    for family, cls in {**FAMILIES, **PREFIXED}.items():
        head = PLACEHOLDERS.get(family, family)
        params = ", ".join(f"{p.name}={format_value(p.default)}" for p in cls.PARAMS)
        console.print(f"[bold]{head}[/bold]({params})", highlight=False)
        console.print(f"    {_doc_line(cls)}", highlight=False)
    console.print("Each task's guide, what makes it easy or hard, and the file: layout: docs/tasks.md", highlight=False)


def _doc_line(cls) -> str:
    import sys

    doc = sys.modules[cls.__module__].__doc__ or ""
    return doc.strip().splitlines()[0]
