"""Markdown for the research scripts' printed findings: a frame as a table, a task's short name."""

from __future__ import annotations

import re

import polars as pl


def markdown_table(df: pl.DataFrame, floats: str = "{:.4f}") -> str:
    """Header, rule and one row per frame row; floats formatted with `floats`."""
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    rows = [
        "| " + " | ".join(floats.format(v) if isinstance(v, float) else str(v) for v in r) + " |"
        for r in df.iter_rows()
    ]
    return head + "\n".join(rows) + "\n"


def short_task(task: str) -> str:
    """The task name without its split sizes (they are in the text), for narrow tables."""
    short = re.sub(r",?n_(train|val|test)=\d+", "", task).replace("(,", "(")
    return short[:-2] if short.endswith("()") else short
