"""Synthetic results with a known structure, for tests and the benchmark.

Configs are drawn the way a random-search sweep draws them (docs/method.md §5): per-block densities
clip(|N(0.5, 0.25)|, 0.02, 1), learning rate clip(N(1e-3, 4e-4), >= 1e-6), |h| from the budget.
The score is a known function of hidden proportion (HP) and the task's dims plus noise:

    hp_opt(x, y) = clip(0.55 - 0.06 * ln(x / y), 0.02, 0.95)
    score        = level(x, y) - 1.5 * (HP - hp_opt)^2 + 0.02 * ln(P / 1e4) + noise

so the best HP falls as |x| grows relative to |y| (the paper's anomaly-vs-hammer story), and
the truth is a degree-2 polynomial of HP, ln x, ln y and ln P: the paper-style regression can
recover it exactly. Rows are written as real Parquet in the results layout with the schema's
types. |h| is solved in numpy with the same formula as workers.descriptors (a test checks the
two agree row by row) because a million describe() calls would dominate the benchmark.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hpsweep.workers.descriptors import BLOCKS
from hpsweep.workers.schema import SCHEMA_VERSION, TRIALS_SCHEMA


@dataclass(frozen=True)
class SyntheticTask:
    """One synthetic task: its name and dims."""

    name: str
    input_dim: int
    output_dim: int
    seq_len: int = 20
    n_train: int = 1000


def hp_opt(input_dim, output_dim):
    """The HP that maximises the known score for these dims."""
    return np.clip(0.55 - 0.06 * np.log(np.asarray(input_dim, float) / np.asarray(output_dim, float)), 0.02, 0.95)


def level(input_dim, output_dim):
    """Task-level offset of the known score (how easy the task is)."""
    return 0.6 + 0.05 * np.log(np.asarray(output_dim, float)) - 0.02 * np.log(np.asarray(input_dim, float))


def true_score(hidden_proportion, input_dim, output_dim, budget):
    """The known noise-free score."""
    hp = np.asarray(hidden_proportion, float)
    return (
        level(input_dim, output_dim)
        - 1.5 * (hp - hp_opt(input_dim, output_dim)) ** 2
        + 0.02 * np.log(np.asarray(budget, float) / 1e4)
    )


def default_tasks(n: int = 8, seed: int = 0) -> list[SyntheticTask]:
    """n tasks with log-spread dims: x in [8, 3000], y in [2, 40]."""
    rng = np.random.default_rng(seed)
    tasks = []
    for i in range(n):
        x = int(round(math.exp(rng.uniform(math.log(8), math.log(3000)))))
        y = int(round(math.exp(rng.uniform(math.log(2), math.log(40)))))
        tasks.append(SyntheticTask(f"teacher(x={x},y={y},t=20,i={i})", x, y))
    return tasks


def _dense_weights(x, h, y):
    return h * x + h * h + 2 * h * y + y * x + y * y


def paper_draws(n: int, rng: np.random.Generator) -> np.ndarray:
    """n density configs (n x 6) drawn like a random sweep."""
    d = np.clip(np.abs(rng.normal(0.5, 0.25, size=(n, 6))), 0.02, 1.0)
    # A third of the draws thin W_hx and keep W_hh dense, so high HP is represented as in
    # the paper's varied configs; the rest are the plain random-search draws.
    varied = rng.random(n) < 0.33
    d[varied, 0] = rng.uniform(0.02, 0.3, varied.sum())
    d[varied, 1] = 1.0
    return d


def draw_trials(task: SyntheticTask, n: int, rng: np.random.Generator, noise: float = 0.02) -> dict:
    """Columns (numpy arrays / lists) of n trials on one task, drawn like a random sweep."""
    d = paper_draws(n, rng)
    budget = _dense_weights(task.input_dim, 32, task.output_dim) * rng.choice([1.0, 2.0, 4.0], size=n)
    return trial_columns(task, d, budget, rng, noise, np.clip(rng.normal(1e-3, 4e-4, n), 1e-6, None))


def trial_columns(
    task: SyntheticTask,
    d: np.ndarray,
    budget: np.ndarray | None,
    rng: np.random.Generator,
    noise: float,
    lr: np.ndarray,
    hidden: np.ndarray | None = None,
    dense_bonus: float = 0.0,
) -> dict:
    """Columns of one trial per row of d (densities) and budget, scored with the known function plus noise.
    With `hidden` instead of a budget the trials are a sweep given by |h|: budget is null, as such a
    sweep writes it, and the score's budget term uses the dense model's weights at |h|. dense_bonus
    is added to the dense model's score (positive: dense wins; negative: sparsity pays)."""
    x, y, n = task.input_dim, task.output_dim, len(d)
    dhx, dhh, dhy, dyx, dyh, dyy = d.T
    if hidden is None:
        a, b, c = dhh, dhx * x + dhy * y + dyh * y, dyx * x * y + dyy * y * y - budget
        hidden = np.floor((-b + np.sqrt(b * b - 4 * a * c)) / (2 * a) + 0.5).astype(np.int64)
    hidden = np.asarray(hidden, np.int64)
    h = hidden.astype(float)
    nw = {
        "hx": dhx * h * x,
        "hh": dhh * h * h,
        "hy": dhy * h * y,
        "yx": dyx * y * x,
        "yh": dyh * y * h,
        "yy": dyy * y * y,
    }
    total = sum(nw.values())
    hp = nw["hh"] / total
    score = (
        true_score(hp, x, y, _dense_weights(x, h, y) if budget is None else budget)
        + dense_bonus * (d == 1.0).all(axis=1)
        + rng.normal(0.0, noise, n)
    )
    cols = {
        "input_dim": np.full(n, x),
        "output_dim": np.full(n, y),
        "seq_len": np.full(n, task.seq_len),
        "n_train": np.full(n, task.n_train),
        "hidden": hidden,
        "budget": budget,
        **{f"d_{k}": d[:, i] for i, k in enumerate(BLOCKS)},
        **{f"n_{k}": nw[k] for k in BLOCKS},
        **{f"realised_{k}": np.round(nw[k]).astype(np.int64) for k in BLOCKS},
        "total_weights": total,
        "realised_weights": sum(np.round(nw[k]).astype(np.int64) for k in BLOCKS),
        "bias_count": hidden + y,
        "hidden_proportion": hp,
        "hp_recurrent": nw["hh"] / (nw["hx"] + nw["hh"]),
        "input_share": nw["hx"] / total,
        "output_share": (nw["yx"] + nw["yh"] + nw["yy"]) / total,
        "overall_density": total / _dense_weights(x, h, y),
        "realised_hidden_proportion": hp,
        "lr": lr,
        "epochs": np.full(n, 25),
        "batch_size": np.full(n, 16),
        "init_std": np.full(n, 0.05),
        "test_score": score,
        "val_score": score + rng.normal(0.0, noise, n),
    }
    return cols


def _table(task: SyntheticTask, sweep_id: str, cols: dict, attempt: int = 1, score_name: str = "r2") -> pa.Table:
    n = len(cols["hidden"])
    now = datetime.now(timezone.utc)
    ids = [f"{task.name}-{sweep_id}-{i:08d}" for i in range(n)]
    full = {
        "schema_version": np.full(n, SCHEMA_VERSION),
        "sweep_id": [sweep_id] * n,
        "trial_id": ids,
        "pack_id": [f"pack-{i // 64}" for i in range(n)],
        "attempt": np.full(n, attempt),
        "seed": np.arange(n),
        "task": [task.name] * n,
        **cols,
        "status": ["ok"] * n,
        "epochs_run": cols["epochs"],
        "score_name": [score_name] * n,
        "train_loss": 1.0 - cols["test_score"],
        "val_loss": 1.0 - cols["val_score"],
        "test_loss": 1.0 - cols["test_score"],
        "train_seconds": np.full(n, 1.0),
        "pack_size": np.full(n, 64),
        "device": ["cpu"] * n,
        "host": ["synthetic"] * n,
        "started_at": [now] * n,
        "finished_at": [now] * n,
        "hpsweep_version": ["synthetic"] * n,
    }
    arrays = []
    for field in TRIALS_SCHEMA:
        value = full.get(field.name)
        arrays.append(pa.nulls(n, field.type) if value is None else pa.array(value, type=field.type))
    return pa.Table.from_arrays(arrays, schema=TRIALS_SCHEMA)


def write_part(root, table: pa.Table, sweep_id: str, task_name: str) -> Path:
    """Write one trials part in the results layout; returns its path."""
    folder = Path(root) / "trials" / f"sweep={sweep_id}" / f"task={quote(task_name, safe='')}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{uuid.uuid4().hex[:12]}.parquet"
    pq.write_table(table, path)
    return path


def write_results(
    root,
    tasks: list[SyntheticTask],
    trials_per_task: int,
    *,
    sweep_id: str = "synth",
    seed: int = 0,
    noise: float = 0.02,
    parts_per_task: int = 1,
) -> int:
    """Write a synthetic sweep under root; returns the number of trial rows written."""
    rng = np.random.default_rng(seed)
    written = 0
    for task in tasks:
        cols = draw_trials(task, trials_per_task, rng, noise)
        table = _table(task, sweep_id, cols)
        for chunk in np.array_split(np.arange(table.num_rows), parts_per_task):
            write_part(root, table.slice(int(chunk[0]), len(chunk)), sweep_id, task.name)
        written += table.num_rows
    return written


def make_table(task: SyntheticTask, n: int, *, sweep_id: str = "synth", seed: int = 0, attempt: int = 1) -> pa.Table:
    """One task's synthetic trials as an Arrow table (tests edit it to fake retries, old schemas)."""
    return _table(task, sweep_id, draw_trials(task, n, np.random.default_rng(seed)), attempt)


def shared_configs(n_random: int = 12, seed: int = 0) -> np.ndarray:
    """A shared candidate set like the `meta` spec's: dense, uniform 0.5 / 0.2 / 0.1 and random draws."""
    named = np.array([[1.0] * 6, [0.5] * 6, [0.2] * 6, [0.1] * 6])
    return np.vstack([named, np.round(paper_draws(n_random, np.random.default_rng(seed)), 2)])


def write_meta_results(
    root,
    tasks: list[SyntheticTask],
    *,
    configs: np.ndarray | None = None,
    budget_factors=(1.0, 3.0),
    seeds=(0, 1),
    lrs=(1e-3,),
    noise: float = 0.02,
    sweep_id: str = "meta",
    seed: int = 0,
    hidden=(),
    dense_bonus: float = 0.0,
    score_name: str = "r2",
) -> int:
    """A meta-dataset: the same configs on every task at every budget, lr and seed; returns rows written.
    A seed's noise is drawn per trial, so seeds disagree the way real seeds do. Given `hidden` (|h|
    values), a sweep by hidden size instead: every config at each |h|, budget null. score_name: what
    the rows say they are scored by (accuracy marks the tasks as classifications)."""
    configs = shared_configs() if configs is None else configs
    rng = np.random.default_rng(seed)
    written = 0
    sizes = hidden or budget_factors
    for task in tasks:
        grid = [(c, f, lr, s) for f in sizes for lr in lrs for s in seeds for c in range(len(configs))]
        d = configs[[g[0] for g in grid]]
        lr = np.array([g[2] for g in grid])
        if hidden:
            cols = trial_columns(
                task, d, None, rng, noise, lr, hidden=np.array([g[1] for g in grid]), dense_bonus=dense_bonus
            )
        else:
            budget = np.array([_dense_weights(task.input_dim, 32, task.output_dim) * g[1] for g in grid])
            cols = trial_columns(task, d, budget, rng, noise, lr, dense_bonus=dense_bonus)
        table = _table(task, sweep_id, cols, score_name=score_name)
        table = table.set_column(
            table.schema.get_field_index("seed"), "seed", pa.array([g[3] for g in grid], pa.int64())
        )
        write_part(root, table, sweep_id, task.name)
        written += table.num_rows
    return written
