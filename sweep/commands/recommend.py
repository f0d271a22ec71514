"""`hpsweep recommend`: densities for a new data set's dims and a weight budget, before training."""

from __future__ import annotations

import json

import click

from hpsweep.sweep.locations import DEFAULT_RESULTS


@click.command("recommend")
@click.option("--input-dim", "-x", type=int, required=True, help="|x| of the new data set.")
@click.option("--output-dim", "-y", type=int, required=True, help="|y| of the new data set.")
@click.option("--budget", "-P", type=float, required=True, help="Trainable-weight budget; |h| is solved from it.")
@click.option(
    "--from",
    "results",
    default=DEFAULT_RESULTS,
    show_default=True,
    help="Results root to learn from (a path or URI such as s3://...).",
)
@click.option("--sweep", "sweeps", multiple=True, help="Learn only from this sweep id (repeatable).")
@click.option("--task", "tasks", multiple=True, help="Learn only from this task (repeatable).")
@click.option("--top", type=int, default=5, show_default=True, help="How many configs.")
@click.option("--seq-len", type=int, help="Steps per sequence (default: median of the swept tasks).")
@click.option("--n-train", type=int, help="Training sequences (default: median of the swept tasks).")
@click.option(
    "--lr", type=float, help="Learning rate you will train with (checked; configs are compared at their best lr)."
)
@click.option("--epochs", type=int, help="Epochs you will train (checked; not a meta-model feature).")
@click.option(
    "--kind",
    type=click.Choice(["classification", "regression"]),
    help="What the new data set asks: classification (scored by accuracy) or regression (r2). "
    "Default: averaged over the kinds the results hold.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def recommend(input_dim, output_dim, budget, results, sweeps, tasks, top, seq_len, n_train, lr, epochs, kind, as_json):
    """Top configs (six densities, |h| from the budget, HP) with predicted standing and a 90% band;
    under them the verdict against dense and how the order held up on held-out tasks like this one.

    Example: hpsweep recommend -x 300 -y 12 --budget 80000 --kind classification --from hpsweep-results
    """
    from hpsweep.analysis.pipeline import options, recommend_for
    from hpsweep.analysis.recommend import quality_line

    # the same filters as an earlier `analyze` find its saved models; other filters fit their own
    table, bundle, refitted, verdict, near = recommend_for(
        results,
        options(sweeps, tasks, filters_hint="--sweep/--task"),
        input_dim,
        output_dim,
        budget,
        top=top,
        seq_len=seq_len,
        n_train=n_train,
        lr=lr,
        epochs=epochs,
        kind=kind,
    )
    standing = bundle["band"]["kind"] == "standing"
    quality = quality_line(bundle)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "input_dim": input_dim,
                    "output_dim": output_dim,
                    "budget": budget,
                    "kind": kind,
                    "model": bundle["chosen"],
                    "predicts": "standing" if standing else "score",
                    "quality": quality,
                    "held_out": bundle["models"][bundle["chosen"]]["loto"],
                    "refitted": refitted,
                    "configs": table.to_dicts(),
                    "verdict": verdict,
                    "nearby": near,
                }
            )
        )
        return
    from hpsweep.analysis.text import paragraph, text_table

    rows = [[str(r["rank"]), config_cell(r), *numbers_cells(r)] for r in table.iter_rows(named=True)]
    click.echo(
        text_table(
            ["#", "config: hx,hh,hy,yx,yh,yy", "|h|", "HP", "standing", "band"],
            rows,
            f"x={input_dim}  y={output_dim}  budget {budget:,.0f}: ranked by {bundle['chosen']}"
            f"{' (refitted)' if refitted else ''}",
            left=2,
        )
    )
    click.echo(paragraph(f"verdict: {verdict['sentence']}"))
    if near is not None:
        click.echo(paragraph(near["sentence"]))
    click.echo(
        paragraph(
            "hx..yy: the six blocks' densities (2 decimals; --json has them exact); standing: where the "
            "model places the config among these candidates (1 = first, 0 = last); band: 5%..95% of the "
            "standing that configs placed this high reached on held-out tasks."
        )
    )
    if not standing:
        click.echo(
            paragraph(
                f"{bundle['chosen']} orders by predicted test score; --json gives it with its held-out band "
                "(score, score_low, score_high)."
            )
        )
    both = kind is None and len(set(bundle["swept"].get("score_names") or [])) > 1
    if both:
        click.echo(
            paragraph(
                "note: ranked as the average of a classification and a regression; --kind says which this "
                "data set is, and the ranking learns from that kind's tasks most."
            )
        )
    if lr is not None or epochs is not None:
        click.echo(
            paragraph("note: --lr and --epochs do not change the ranking: configs were compared each at its best lr.")
        )
    click.echo(paragraph(quality))


def _density(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def config_cell(row: dict) -> str:
    """The six densities (2 decimals), then the config's name unless it is a random draw: the cell
    a user builds from, and the whole table within 80 columns."""
    densities = ",".join(_density(row[f"d_{b}"]) for b in ("hx", "hh", "hy", "yx", "yh", "yy"))
    return densities if row["config"] == "draw" else f"{densities} ({row['config']})"


def numbers_cells(row: dict) -> list[str]:
    return [
        str(row["hidden"]),
        f"{row['hidden_proportion']:.3f}",
        f"{row['predicted']:.2f}",
        f"{row['low']:.2f}..{row['high']:.2f}",
    ]
