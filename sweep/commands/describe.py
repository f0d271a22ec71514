"""`hpsweep describe`: a model's hidden size, weights per block and balance metrics."""

from __future__ import annotations

import json

import click

from hpsweep.workers.descriptors import BLOCKS
from hpsweep.workers.errors import DescriptorError


def parse_densities(text: str | None) -> list[float] | None:
    """`--densities hx,hh,hy,yx,yh,yy` as six numbers (None when not given)."""
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise DescriptorError(
            f"--densities must be six numbers separated by commas ({','.join(BLOCKS)}); got {text!r}"
        ) from None


@click.command("describe")
@click.option("--input-dim", "-x", type=int, required=True, help="|x|, the data set's input dimension.")
@click.option("--output-dim", "-y", type=int, required=True, help="|y|, the data set's output dimension.")
@click.option("--budget", "-P", type=float, help="Trainable-weight budget; |h| is solved from it.")
@click.option("--hidden", "-H", type=int, help="|h| directly (instead of --budget).")
@click.option("--densities", help="Six densities hx,hh,hy,yx,yh,yy in (0, 1]. Default: dense.")
@click.option("--code", help="Structure code: six bits hx,hh,hy,yx,yh,yy; 1 = dense, 0 = --base.")
@click.option("--base", type=float, help="Base density for the 0 bits of --code (default 0.2).")
@click.option(
    "--round-densities", is_flag=True, help="Round densities to 2 decimals before solving, as the original configs did."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def describe(input_dim, output_dim, budget, hidden, densities, code, base, round_densities, as_json):
    """Describe a block RNN before building it (docs/method.md §2-3).

    Example: hpsweep describe -x 2500 -y 10 --budget 100000 --code 011001 --base 0.2
    """
    from hpsweep.workers.descriptors import Densities
    from hpsweep.workers.descriptors import describe as describe_model

    if (budget is None) == (hidden is None):
        raise DescriptorError("give exactly one of --budget and --hidden")
    if densities is not None and code is not None:
        raise DescriptorError("give --densities or --code, not both")
    if base is not None and code is None:
        raise DescriptorError("--base only goes with --code")
    m = describe_model(
        input_dim,
        output_dim,
        Densities.parse(parse_densities(densities), code, base),
        hidden=hidden,
        budget=budget,
        round_densities=round_densities,
    )
    if as_json:
        click.echo(json.dumps(m.to_dict()))
        return
    from rich.console import Console
    from rich.table import Table

    head = f"x={m.input_dim}  h={m.hidden}  y={m.output_dim}"
    if m.budget is not None:
        head += f"  (from budget {m.budget:,.0f})"
    table = Table(title=head, title_justify="left")
    for col in ("block", "shape", "density", "expected weights", "share"):
        table.add_column(col, justify="right" if col != "block" else "left")
    dims = {"h": m.hidden, "x": m.input_dim, "y": m.output_dim}
    for b in BLOCKS:
        n = getattr(m, f"n_{b}")
        table.add_row(
            f"W_{b}",
            f"{dims[b[0]]}x{dims[b[1]]}",
            f"{getattr(m, f'd_{b}'):g}",
            f"{n:,.1f}",
            f"{n / m.total_weights:.4f}",
        )
    table.add_row("total", "", "", f"{m.total_weights:,.1f}", "1.0000", end_section=True)
    Console().print(table)
    click.echo(f"hidden proportion HP = n_hh/total      {m.hidden_proportion:.4f}")
    click.echo(f"HP' = n_hh/(n_hx+n_hh)                 {m.hp_recurrent:.4f}")
    click.echo(f"input share n_hx/total                 {m.input_share:.4f}")
    click.echo(f"output share (n_yx+n_yh+n_yy)/total    {m.output_share:.4f}")
    click.echo(f"overall density                        {m.overall_density:.4f}")
    click.echo(f"biases (dense, not in the budget)      {m.bias_count}")
