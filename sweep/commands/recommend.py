"""`hpsweep recommend`: densities for a new data set's dims and a weight budget, before training."""

from __future__ import annotations

import json

import click


@click.command("recommend")
@click.option("--input-dim", "-x", type=int, required=True, help="|x| of the new data set.")
@click.option("--output-dim", "-y", type=int, required=True, help="|y| of the new data set.")
@click.option("--budget", "-P", type=float, required=True, help="Trainable-weight budget; |h| is solved from it.")
@click.option("--from", "results", required=True, help="Results root to learn from (a path or URI such as s3://...).")
@click.option("--sweep", "sweeps", multiple=True, help="Learn only from this sweep id (repeatable).")
@click.option("--task", "tasks", multiple=True, help="Learn only from this task (repeatable).")
@click.option("--top", type=int, default=5, show_default=True, help="How many configs.")
@click.option("--seq-len", type=int, help="Steps per sequence (default: median of the swept trials).")
@click.option("--n-train", type=int, help="Training sequences (default: median of the swept trials).")
@click.option("--lr", type=float, help="Learning rate (default: median of the swept trials).")
@click.option("--epochs", type=int, help="Epochs (default: median of the swept trials).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def recommend(input_dim, output_dim, budget, results, sweeps, tasks, top, seq_len, n_train, lr, epochs, as_json):
    """Top configs (six densities, |h| from the budget, HP) with predicted score and a 90% band.

    Example: hpsweep recommend -x 300 -y 12 --budget 80000 --from hpsweep-results
    """
    from hpsweep.analysis.analyze import AnalysisOptions
    from hpsweep.analysis.recommend import recommend as run_recommend
    from hpsweep.analysis.saved import load_or_fit

    # the same filters as an earlier `analyze` find its saved models; other filters fit their own
    bundle, refitted = load_or_fit(results, AnalysisOptions(sweeps=tuple(sweeps), tasks=tuple(tasks)))
    table = run_recommend(bundle, input_dim, output_dim, budget, top=top, seq_len=seq_len, n_train=n_train,
                          lr=lr, epochs=epochs)
    if as_json:
        click.echo(json.dumps({"input_dim": input_dim, "output_dim": output_dim, "budget": budget,
                               "model": bundle["chosen"], "refitted": refitted, "configs": table.to_dicts()}))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"x={input_dim}  y={output_dim}  budget {budget:,.0f}: predicted by '{bundle['chosen']}'"
                      f"{' (refitted)' if refitted else ''}; band = 5%..95% of held-out-task residuals",
                title_justify="left")
    for c in ("rank", "config", "hx", "hh", "hy", "yx", "yh", "yy", "hidden", "HP", "predicted", "band"):
        out.add_column(c, justify="left" if c == "config" else "right")
    for r in table.iter_rows(named=True):
        out.add_row(str(r["rank"]), r["config"], *(f"{r[f'd_{b}']:g}" for b in ("hx", "hh", "hy", "yx", "yh", "yy")),
                    str(r["hidden"]), f"{r['hidden_proportion']:.3f}", f"{r['predicted']:.4f}",
                    f"{r['low']:.4f}..{r['high']:.4f}")
    Console().print(out)
