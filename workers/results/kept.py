"""Kept models in a results root: find a trial's weights file, list what is kept, read one back.

The weights files are written by the packs (workers/kept_models.py) in the same commit as their
rows; which model of a pack is kept is in the file's metadata. A model counts as kept only when its
trial's winning row is the commit that wrote the file (a losing attempt's file is ignored).
"""

from __future__ import annotations

from hpsweep.workers.errors import HpsweepError
from hpsweep.workers.results.layout import MODELS, MODELS_SUFFIX
from hpsweep.workers.results.store import ResultsStore

ROW_COLUMNS = [
    "sweep_id",
    "trial_id",
    "task",
    "pack_id",
    "attempt",
    "status",
    "hidden",
    "val_score",
    "test_score",
    "diverged_epoch",
    "d_hx",
    "d_hh",
    "d_hy",
    "d_yx",
    "d_yh",
    "d_yy",
]


class KeptModelError(HpsweepError):
    """A trial whose model cannot be given: unknown, not kept, diverged or failed."""


def winning_row(store: ResultsStore, trial_id: str, sweep_id: str | None = None) -> dict:
    """The winning trials row of a trial id (of one sweep, or the only sweep that has it).

    Raises:
        KeptModelError: no such trial, or several sweeps have it and none was named.
    """
    import polars as pl

    if sweep_id is not None:
        store.sweep(sweep_id)  # a bad sweep id is one line
    rows = store.collect(lambda r: r.trials.filter(pl.col("trial_id") == trial_id).select(ROW_COLUMNS), sweep_id)
    if rows.height == 0:
        raise KeptModelError(
            f"trial {trial_id!r:.80} is not in results {store.root!r:.100}; list the kept models "
            f"with: hpsweep models {store.root}"
        )
    if rows.height > 1:
        raise KeptModelError(
            f"trial {trial_id!r:.80} is in several sweeps ({', '.join(rows['sweep_id'].to_list())}); "
            f"name one (sweep=...)"
        )
    return rows.row(0, named=True)


def kept_file(store: ResultsStore, row: dict) -> tuple[dict, dict, str]:
    """(metadata, tensors, shown path) of the weights file holding the row's model.

    Raises:
        KeptModelError: the trial diverged or failed, or its model was not kept.
        ModelFileError: the file is damaged or foreign.
    """
    from hpsweep.workers.kept_models import read_file

    trial = row["trial_id"]
    if row["status"] == "diverged":
        raise KeptModelError(
            f"trial {trial!r} diverged in epoch {row['diverged_epoch']}: its weights are not a "
            f"trained model, so none were kept; pick an ok trial (hpsweep models {store.root})"
        )
    if row["status"] != "ok":
        raise KeptModelError(f"trial {trial!r} is {row['status']}: it has no trained model; pick an ok trial")
    path = store.sweep(row["sweep_id"]).models_file(row["task"], row["pack_id"], row["attempt"])

    def not_kept(which: str) -> KeptModelError:
        return KeptModelError(
            f"trial {trial!r}'s model was not kept (the sweep's spec keeps {which}); set keep: "
            f"{{models: all}} or {{models: best, top: k}} in a new sweep to keep models"
        )

    if path is None:
        raise not_kept("none of its pack's models")
    shown = path[len(store.base) + 1 :]
    raw = store.storage.read_bytes(path)
    meta, tensors = read_file(raw or b"", shown)
    if trial not in meta["models"]:
        raise not_kept("other models of its pack (keep: best)")
    return meta, tensors, shown


def list_kept(store: ResultsStore, task: str | None = None, top: int | None = None, sweep_id: str | None = None):
    """The kept models (a Polars DataFrame of their winning rows), best validation score first;
    with `top`, the best k per (sweep, task)."""
    import polars as pl

    from hpsweep.workers.kept_models import read_file

    found = []  # (sweep, pack_id, attempt, trial_id) of every model in a weights file
    folder = store.layout.join(MODELS)
    for f in store.storage.list(folder, recursive=True):
        if not (f.is_file and f.base_name.endswith(MODELS_SUFFIX) and store.layout.inside(f.path)):
            continue
        meta, _ = read_file(store.storage.read_bytes(f.path) or b"", f.path[len(store.base) + 1 :])
        if sweep_id is None or meta["sweep_id"] == sweep_id:
            found += [(meta["sweep_id"], meta["pack_id"], int(meta["attempt"]), t) for t in meta["models"]]
    schema = {"sweep_id": pl.String, "pack_id": pl.String, "attempt": pl.Int64, "trial_id": pl.String}
    kept = pl.DataFrame(found, schema=schema, orient="row").lazy()

    def query(r):
        rows = r.trials.join(kept, on=list(schema), how="semi").filter(pl.col("status") == "ok")
        if task is not None:
            rows = rows.filter(pl.col("task") == task)
        rows = rows.sort("val_score", descending=True, nulls_last=True)
        if top is not None:
            rows = rows.group_by(["sweep_id", "task"], maintain_order=True).head(top)
        return rows.select(ROW_COLUMNS)

    return store.collect(query, sweep_id)
