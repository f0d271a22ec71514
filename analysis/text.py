"""Plain-text tables for analyze and recommend: every cell whole, whatever the terminal width.

A rich table squeezes cells to `0.…` when the output is piped or 80 columns wide; these tables
never cut a value (a wide table wraps at the terminal instead, readable either way).
"""

from __future__ import annotations


def text_table(header: list[str], rows: list[list[str]], title: str | None = None) -> str:
    """Columns separated by two spaces; the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [title] if title else []
    out += [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    return "\n".join(s.rstrip() for s in out)
