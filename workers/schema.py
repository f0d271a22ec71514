"""The results-dataset contract: the columns of `trials` and `curves`.

Add columns freely; never rename or drop one, and bump SCHEMA_VERSION when adding. Readers
(analysis/, `hpsweep query`) rely on these names. Pure pyarrow, no torch.

Version 2 adds the rollout columns. When a trial's task has rollouts (minari: tasks
whose data set names an environment), `test_score` is the normalised return (score_name
"normalized_return"), or the mean return when no positive reference return is known (score_name
"return"); the r2 on held-out episodes stays beside it in `test_offline_score`.

Version 3 adds in-pack successive halving (docs/sweep.md, "Successive halving"): the status
`stopped` (a final status: the schedule stopped the model at a rung; `epochs_run` is that rung,
its val and test scores are the ones at that epoch, its curve rows end there) and the column
`schedule` (the sweep's schedule, e.g. "halving eta=3 min_epochs=1"; null without one).
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 3

_f64, _i64, _str, _ts = pa.float64(), pa.int64(), pa.string(), pa.timestamp("us", tz="UTC")

# (name, type, meaning). One row per trained model.
TRIAL_COLUMNS = [
    # identity
    ("schema_version", _i64, "version of this contract the row was written with"),
    ("sweep_id", _str, "sweep the trial belongs to"),
    ("trial_id", _str, "deterministic hash of task, model config, training config and seed"),
    ("pack_id", _str, "pack the trial was trained in"),
    ("attempt", _i64, "1 for the first try of the pack, then 2, 3, ..."),
    ("seed", _i64, "seed of masks, initial weights and batch order"),
    # task descriptors
    ("task", _str, "canonical task name with its parameters, e.g. teacher(x=64,y=8,t=20)"),
    ("input_dim", _i64, "|x|"),
    ("output_dim", _i64, "|y|"),
    ("seq_len", _i64, "steps per sequence"),
    ("n_train", _i64, "training sequences"),
    # model (a priori)
    ("hidden", _i64, "|h|"),
    ("budget", _f64, "trainable-weight budget P, null when |h| was given directly"),
    *[(f"d_{b}", _f64, f"density of W_{b}") for b in ("hx", "hh", "hy", "yx", "yh", "yy")],
    *[(f"n_{b}", _f64, f"expected weights of W_{b}") for b in ("hx", "hh", "hy", "yx", "yh", "yy")],
    *[(f"realised_{b}", _i64, f"kept mask entries of W_{b}") for b in ("hx", "hh", "hy", "yx", "yh", "yy")],
    ("total_weights", _f64, "expected trainable weights (biases excluded)"),
    ("realised_weights", _i64, "kept mask entries over all blocks"),
    ("bias_count", _i64, "|h| + |y| dense biases"),
    ("hidden_proportion", _f64, "HP = n_hh / total"),
    ("hp_recurrent", _f64, "HP' = n_hh / (n_hx + n_hh)"),
    ("input_share", _f64, "n_hx / total"),
    ("output_share", _f64, "(n_yx + n_yh + n_yy) / total"),
    ("overall_density", _f64, "total / weights of the dense model of the same dims"),
    ("realised_hidden_proportion", _f64, "HP from the realised mask counts"),
    # training
    ("lr", _f64, "Adam learning rate"),
    ("epochs", _i64, "epochs asked for"),
    ("batch_size", _i64, "sequences per step"),
    ("init_std", _f64, "std of the kept entries' initial values"),
    # outcome
    ("status", _str, "ok / diverged / failed / stopped (halving stopped it at a rung)"),
    ("error", _str, "why a trial failed or diverged, else null"),
    ("diverged_epoch", _i64, "epoch (1-based) whose loss turned NaN/inf, else null"),
    ("epochs_run", _i64, "epochs completed (for a stopped model: the rung it stopped at)"),
    ("train_loss", _f64, "mean training loss of the last epoch run"),
    ("val_loss", _f64, "validation loss after the last epoch run"),
    ("test_loss", _f64, "test loss with the final weights"),
    ("val_score", _f64, "validation score (higher is better)"),
    ("test_score", _f64, "test score (higher is better)"),
    ("score_name", _str, "accuracy, r2 (1 - MSE/Var), normalized_return or return (rollouts)"),
    # cost
    ("train_seconds", _f64, "wall time of the pack's training, shared by its models"),
    ("pack_size", _i64, "models trained together in the pack"),
    ("device", _str, "cpu, cuda:0, ..."),
    ("host", _str, "hostname of the worker"),
    ("started_at", _ts, "when the pack started"),
    ("finished_at", _ts, "when the pack finished"),
    # provenance
    ("hpsweep_version", _str, "hpsweep version"),
    ("torch_version", _str, "torch version"),
    ("ray_version", _str, "ray version, null outside Ray"),
    # version 2: rollouts (policy tasks; null elsewhere)
    ("test_offline_score", _f64, "test accuracy or r2 on held-out sequences, kept when test_score is a rollout's"),
    ("rollout_return_mean", _f64, "mean return of the model's rollouts in the task's environment"),
    ("rollout_return_std", _f64, "standard deviation of those returns (population)"),
    ("rollout_normalized", _f64, "rollout_return_mean / rollout_ref_return"),
    (
        "rollout_ref_return",
        _f64,
        "reference return: the task's ref_return, the data set's ref_max_score or mean return",
    ),
    ("rollout_episodes", _i64, "rollout episodes per model"),
    ("rollout_steps", _i64, "steps per rollout episode (at most)"),
    ("rollout_seconds", _f64, "wall time of the pack's rollouts, shared by its models"),
    # version 3: in-pack successive halving
    ("schedule", _str, "the training schedule, e.g. 'halving eta=3 min_epochs=1'; null when every model trains fully"),
]

# One row per model per epoch.
CURVE_COLUMNS = [
    ("schema_version", _i64, "version of this contract"),
    ("sweep_id", _str, "sweep"),
    ("trial_id", _str, "trial"),
    ("task", _str, "canonical task name"),
    ("epoch", _i64, "1-based epoch"),
    ("train_loss", _f64, "mean training loss over the epoch"),
    ("val_loss", _f64, "validation loss after the epoch"),
    ("val_score", _f64, "validation score after the epoch"),
]

TRIALS_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in TRIAL_COLUMNS])
CURVES_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in CURVE_COLUMNS])
FINAL_STATUSES = ("ok", "diverged", "failed", "stopped")
"""A trial with one of these has finished: resume skips it, status counts it."""
