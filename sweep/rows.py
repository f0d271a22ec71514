"""Rows of the results tables (workers/schema.py) for one pack: trained, or failed after retries.

Pure pyarrow + descriptors, no torch: the driver also writes rows (for packs that failed).
"""

from __future__ import annotations

import functools
import socket
from datetime import datetime, timezone
from importlib import metadata

import pyarrow as pa

from hpsweep.sweep.plan import Pack, describe_trial
from hpsweep.workers.descriptors import BLOCKS
from hpsweep.workers.schema import CURVES_SCHEMA, SCHEMA_VERSION, TRIALS_SCHEMA


@functools.cache  # parsing a package's metadata costs ~5 ms, paid per row batch before (twice per pack)
def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def provenance(in_ray: bool) -> dict:
    """Versions recorded on every row; ray_version is null outside Ray."""
    return {
        "hpsweep_version": _version("hpsweep"),
        "torch_version": _version("torch"),
        "ray_version": _version("ray") if in_ray else None,
    }


def now() -> datetime:
    return datetime.now(timezone.utc)


def _last(values):
    return values[-1] if values else None


def trial_rows(
    sweep_id: str,
    pack: Pack,
    attempt: int,
    shape,
    *,
    results=None,
    error: str | None = None,
    train_seconds: float | None = None,
    device: str | None = None,
    score: str | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    in_ray: bool = True,
    rollouts=None,
    rollout_seconds: float | None = None,
) -> pa.Table:
    """One row per trial of the pack, in TRIALS_SCHEMA.

    Args:
        shape: the task's info (input_dim, output_dim, seq_len, n_train).
        results: ModelResult per trial (trained pack), or None for a failed pack (then `error` is required).
        rollouts: per trial a ModelRollout (workers/rollout.py) or None, when the task has rollouts;
            then test_score is the rollout's score and the offline score moves to test_offline_score
            (a model that diverged or that halving stopped is not rolled out: its test_score is null).
    """
    assert results is not None or error is not None, "a pack row needs results or an error"
    common = {
        "schema_version": SCHEMA_VERSION,
        "sweep_id": sweep_id,
        "pack_id": pack.pack_id,
        "attempt": attempt,
        "task": pack.task,
        "input_dim": shape.input_dim,
        "output_dim": shape.output_dim,
        "seq_len": shape.seq_len,
        "n_train": shape.n_train,
        "score_name": score,
        "train_seconds": train_seconds,
        "pack_size": len(pack.trials),
        "device": device,
        "host": socket.gethostname(),
        "started_at": started_at,
        "finished_at": finished_at or now(),
        **provenance(in_ray),
    }
    rows = []
    for i, t in enumerate(pack.trials):
        d = describe_trial(t, shape).to_dict()
        row = {
            **common,
            "trial_id": t.trial_id,
            "seed": t.seed,
            "lr": t.lr,
            "epochs": t.epochs,
            "batch_size": t.batch_size,
            "init_std": t.init_std,
            "schedule": t.schedule or None,
            **{k: d[k] for k in d if k not in ("input_dim", "output_dim", "budget")},
            "budget": t.budget,
        }
        if results is None:
            row.update(status="failed", error=error)
        else:
            r = results[i]
            realised = {b: int(r.realised.get(b, 0)) for b in BLOCKS} if r.realised else None
            row.update(
                status=r.status,
                error=r.error,
                diverged_epoch=r.diverged_epoch,
                epochs_run=r.epochs_run,
                train_loss=_last(r.train_loss),
                val_loss=_last(r.val_loss),
                val_score=_last(r.val_score),
                test_loss=r.test_loss,
                test_score=r.test_score,
                test_offline_score=r.test_score,
            )
            if rollouts is not None:
                row.update(rollout_columns(rollouts[i], rollout_seconds))
            if realised:
                total = sum(realised.values())
                row.update(
                    {f"realised_{b}": realised[b] for b in BLOCKS},
                    realised_weights=total,
                    realised_hidden_proportion=realised["hh"] / total if total else None,
                )
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=TRIALS_SCHEMA)


def rollout_columns(rollout, seconds: float | None) -> dict:
    """A trial's rollout columns; test_score becomes the normalised return (or the mean return when
    there is no positive reference), null for a model that was not rolled out (diverged)."""
    if rollout is None:
        return {"rollout_seconds": seconds, "test_score": None}
    normalized = rollout.normalized
    return {
        "rollout_return_mean": rollout.return_mean,
        "rollout_return_std": rollout.return_std,
        "rollout_normalized": normalized,
        "rollout_ref_return": rollout.ref_return,
        "rollout_episodes": rollout.episodes,
        "rollout_steps": rollout.steps,
        "rollout_seconds": seconds,
        "test_score": rollout.return_mean if normalized is None else normalized,
        "score_name": ROLLOUT_SCORE_NAMES[normalized is not None],
    }


ROLLOUT_SCORE_NAMES = {True: "normalized_return", False: "return"}


def curve_rows(sweep_id: str, pack: Pack, results) -> pa.Table:
    """One row per trial per epoch run (epochs before a divergence; up to its rung for a stopped
    model), in CURVES_SCHEMA."""
    rows = []
    for t, r in zip(pack.trials, results):
        for e, (tl, vl, vs) in enumerate(zip(r.train_loss, r.val_loss, r.val_score), start=1):
            rows.append(
                {
                    "schema_version": SCHEMA_VERSION,
                    "sweep_id": sweep_id,
                    "trial_id": t.trial_id,
                    "task": pack.task,
                    "epoch": e,
                    "train_loss": tl,
                    "val_loss": vl,
                    "val_score": vs,
                }
            )
    return pa.Table.from_pylist(rows, schema=CURVES_SCHEMA)
