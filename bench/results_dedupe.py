"""Resume's de-duplication on 1M trial rows: the vectorised winning-row rule (workers/results/read.py,
through SweepStore.finished) against the Python loop over rows it replaced, side by side.

    python bench/results_dedupe.py [--rows 1000000] [--parts 100]

Writes a throwaway results root under a temporary folder: `rows` trials in `parts` parts, 10% of
them retried (a second row with attempt 2), and times finished() (what resume reads) and
status() (planned / ok / ... counts). CPU seconds (process time) are the figure to compare on a
shared machine: wall time there mostly measures the other tenants.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hpsweep.workers.results import ResultsStore
from hpsweep.workers.results.read import winners
from hpsweep.workers.schema import TRIALS_SCHEMA


def make_root(root: str, rows: int, parts: int) -> ResultsStore:
    rng = np.random.default_rng(0)
    store = ResultsStore(root)
    ids = np.array([f"t{i:08d}" for i in range(rows)], dtype=object)
    retried = rng.choice(rows, rows // 10, replace=False)
    store.sweep("s").save("spec_hash: h\n", "h", pa.table({"trial_id": ids, "task": ["task"] * rows}))
    all_ids = np.concatenate([ids, ids[retried]])
    attempts = np.concatenate([np.ones(rows, np.int64), np.full(len(retried), 2, np.int64)])
    status = rng.choice(np.array(["ok", "diverged", "failed"], dtype=object), len(all_ids), p=[0.8, 0.1, 0.1])
    for k, chunk in enumerate(np.array_split(rng.permutation(len(all_ids)), parts)):
        cols = {f.name: pa.nulls(len(chunk), f.type) for f in TRIALS_SCHEMA}
        cols.update(
            sweep_id=pa.array(["s"] * len(chunk)),
            task=pa.array(["task"] * len(chunk)),
            trial_id=pa.array(all_ids[chunk], pa.string()),
            attempt=pa.array(attempts[chunk]),
            status=pa.array(status[chunk], pa.string()),
            epochs_run=pa.array(np.zeros(len(chunk), np.int64)),
        )
        table = pa.table(cols, schema=TRIALS_SCHEMA)
        store.storage.put(
            store.layout.part("trials", "s", "task", f"p{k}-a1", "bench"), lambda f: pq.write_table(table, f)
        )
    return store


def python_loop(store: ResultsStore) -> dict:
    """What resume did before: read three columns, keep the highest attempt per trial in a Python loop."""
    data = store.read("trials", "s", columns=["trial_id", "status", "attempt"], dedupe=False)
    keys, attempts, statuses = (data[c].to_pylist() for c in ("trial_id", "attempt", "status"))
    best: dict[str, int] = {}
    for i, (k, a) in enumerate(zip(keys, attempts)):
        if k not in best or a > attempts[best[k]]:
            best[k] = i
    return {keys[i]: (statuses[i], attempts[i]) for i in best.values()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--parts", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = make_root(tmp, args.rows, args.parts)
        timings = {}
        for name, fn in (
            ("finished (vectorised)", store.sweep("s").finished),
            ("python loop (before)", python_loop),
            ("status", store.sweep("s").status),
        ):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn(store) if fn == python_loop else fn()
            timings[name] = time.process_time() - c0
            print(
                f"{name:<24} {time.perf_counter() - t0:7.2f} s wall {timings[name]:7.2f} s CPU  ({len(out):,} entries)"
            )
        data = store.read(
            "trials", "s", columns=["sweep_id", "trial_id", "status", "attempt", "finished_at"], dedupe=False
        )
        c0 = time.process_time()
        keys, attempts = data["trial_id"].to_pylist(), data["attempt"].to_pylist()
        best: dict[str, int] = {}
        for i, (k, a) in enumerate(zip(keys, attempts)):
            if k not in best or a > attempts[best[k]]:
                best[k] = i
        loop = time.process_time() - c0
        frame = pl.from_arrow(data).lazy()
        c0 = time.process_time()
        n = winners(frame, "trials").select(pl.len()).collect().item()
        vectorised = time.process_time() - c0
        print(
            f"the de-duplication alone, rows in memory: python loop {loop:.2f} s CPU, winners() {vectorised:.2f} s "
            f"CPU ({len(best):,} = {n:,} winners)"
        )
        same = store.sweep("s").finished() == python_loop(store)
        print(
            f"same answer: {same}; rows {int(args.rows * 1.1):,} in {args.parts} parts; "
            f"CPU loop / vectorised = {timings['python loop (before)'] / timings['finished (vectorised)']:.1f}x"
        )


if __name__ == "__main__":
    main()
