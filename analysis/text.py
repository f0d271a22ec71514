"""Plain-text tables for analyze and recommend: every cell whole, whatever the terminal width.

A rich table squeezes cells to `0.…` when the output is piped or 80 columns wide; these tables
never cut a value (a wide table wraps at the terminal instead, readable either way).
"""

from __future__ import annotations


def text_table(header: list[str], rows: list[list[str]], title: str | None = None, left: int = 1) -> str:
    """Columns separated by two spaces; the first `left` columns left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    out = [title] if title else []
    out += [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    return "\n".join(s.rstrip() for s in out)


def paragraph(text: str, width: int = 80) -> str:
    """Prose folded at `width` columns, continuation lines indented; an interval such as
    "[-0.03, +0.17]" and a word longer than a line (a sampled task's name) are never broken."""
    import textwrap

    kept = text.replace(", +", ",\xa0+").replace(", -", ",\xa0-")  # a no-break space while wrapping
    return textwrap.fill(kept, width, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False).replace(
        "\xa0", " "
    )
