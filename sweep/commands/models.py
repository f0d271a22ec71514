"""`hpsweep models RESULTS` lists the kept models; `hpsweep export RESULTS TRIAL_ID OUT` writes one."""

from __future__ import annotations

import os

import click

from hpsweep.sweep.commands._types import results_argument


@click.command("models")
@results_argument
@click.option("--task", default=None, help="Only this task.")
@click.option("--top", type=click.IntRange(1, 1_000_000), default=None, help="The best K per sweep and task.")
@click.option("--sweep", "sweep_id", default=None, help="Only this sweep.")
def models(results, task, top, sweep_id):
    """List the models whose weights RESULTS kept (spec `keep:`), best validation score first.

    Load one in Python with hpsweep.load_model(RESULTS, TRIAL_ID); write one to a file with
    hpsweep export RESULTS TRIAL_ID OUT.
    """
    from hpsweep.workers.results import ResultsStore
    from hpsweep.workers.results.kept import list_kept

    store = ResultsStore(results)
    store.require_root()
    rows = list_kept(store, task, top, sweep_id)
    if rows.height == 0:
        click.echo(
            f"no kept models in {results}{f' for task {task}' if task else ''}; a sweep keeps models "
            f"when its spec says keep: {{models: best}} or {{models: all}}"
        )
        return
    header = f"  {'trial_id':<18} {'h':>5}  {'densities hx,hh,hy,yx,yh,yy':<28} {'val':>8} {'test':>8}"
    for (task_name,), group in rows.group_by("task", maintain_order=True):  # a task's name whole on its own line
        click.echo(task_name)
        click.echo(header)
        for r in group.iter_rows(named=True):
            dens = ",".join(f"{r[f'd_{b}']:.2g}" for b in ("hx", "hh", "hy", "yx", "yh", "yy"))
            click.echo(
                f"  {r['trial_id']:<18} {r['hidden']:>5}  {dens:<28} {_num(r['val_score'])} {_num(r['test_score'])}"
            )
    click.echo(f"{rows.height} kept model(s); load one with hpsweep.load_model({results!r}, TRIAL_ID)")


def _num(v) -> str:
    return f"{v:8.4f}" if v is not None else f"{'-':>8}"


@click.command("export")
@click.argument("results")
@click.argument("trial_id")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--sweep", "sweep_id", default=None, help="The sweep, when several have this trial id.")
def export(results, trial_id, out, sweep_id):
    """Write the kept model TRIAL_ID of RESULTS to OUT: one safetensors file with its weights, masks,
    biases and metadata (trial id, |h|, densities, task dims). An existing OUT is not overwritten."""
    import pyarrow.fs as pafs

    from hpsweep.workers.errors import StoreError
    from hpsweep.workers.kept_models import single_file
    from hpsweep.workers.results import ResultsStore
    from hpsweep.workers.results.kept import kept_file, winning_row
    from hpsweep.workers.results.storage import atomic_write

    target = os.path.abspath(out)
    if not os.path.isdir(os.path.dirname(target)):
        raise StoreError(
            f"OUT {out!r:.100}: the folder {os.path.dirname(target)!r:.100} does not exist; create it first"
        )
    if os.path.exists(target):
        raise StoreError(f"OUT {out!r:.100} exists; give a new file name (nothing was overwritten)")
    store = ResultsStore(results)
    store.require_root()
    meta, tensors, _ = kept_file(store, winning_row(store, trial_id, sweep_id))
    data = single_file(meta, tensors, trial_id)
    atomic_write(pafs.LocalFileSystem(), target, lambda f: f.write(data))
    click.echo(
        f"wrote {out} ({len(data):,} bytes): trial {trial_id}, |h| {meta['models'][trial_id]['hidden']}, "
        f"task {meta['task'][:60]}"
    )
