"""How far the progress ETA is off, replayed from a finished run's own pack times.

    hpsweep run meta --results meta-results --progress lines    # once: ~10 min quiet, longer under load
    python bench/eta_replay.py meta-results

Each pack's start and finish (the trials table's started_at / finished_at) become progress events
-- its epochs spread evenly over its training, then its end -- fed to the real SweepProgress on a fake
clock. At the pack ends nearest 10% and 50% of the run it prints the ETA against the true time left
(the last pack's end minus now), for three weightings: models (the old ETA), the matmul work alone,
and pack_work as shipped (matmul work plus a fixed cost per batch step).
"""

from __future__ import annotations

import io
import sys

import polars as pl

from hpsweep.sweep import progress as P

t = pl.scan_parquet(sys.argv[1] + "/trials/**/*.parquet", hive_partitioning=False).collect()
p = t.group_by("pack_id").agg(
    pl.len().alias("n"),
    pl.col("hidden").max().alias("hmax"),
    *(
        pl.col(c).first()
        for c in ("input_dim", "output_dim", "seq_len", "n_train", "epochs", "batch_size", "train_seconds")
    ),
    pl.col("started_at").min(),
    pl.col("finished_at").max(),
)
t0 = p["started_at"].min()
p = p.with_columns(
    ((pl.col("started_at") - t0).dt.total_milliseconds() / 1000).alias("s"),
    ((pl.col("finished_at") - t0).dt.total_milliseconds() / 1000).alias("f"),
)
rows = list(p.iter_rows(named=True))
end = max(r["f"] for r in rows)
events = []  # (time, kind, row, epoch)
for r in rows:
    for e in range(1, r["epochs"]):  # epochs evenly spread over the pack's training (its last ends at f)
        events.append((r["s"] + (r["f"] - r["s"]) * e / r["epochs"], "epoch", r, e))
    events.append((r["f"], "done", r, r["epochs"]))
events.sort(key=lambda e: e[0])


def run(weigh):
    class Clock:
        now = 0.0

        def __call__(self):
            return self.now

    clock = Clock()
    work = {r["pack_id"]: weigh(r) for r in rows}
    prog = P.SweepProgress(
        len(rows),
        sum(r["n"] for r in rows),
        {r["pack_id"]: r["n"] for r in rows},
        stream=io.StringIO(),
        work=work,
        clock=clock,
    )
    out = []
    for now, kind, r, e in events:
        clock.now = now
        if kind == "epoch":
            prog.on_epoch(r["pack_id"], {"epoch": e, "epochs": r["epochs"], "best_val_score": None})
        else:
            prog.on_pack_done(r["pack_id"], {"models": r["n"], "ok": r["n"], "diverged": 0, "best_val_score": 0.5})
            out.append((now, prog.eta, end - now))
    return out


def show(label, out):
    cells = []
    for frac in (0.1, 0.5):
        now, eta, left = min(out, key=lambda o: abs(o[0] - frac * end))
        cells.append(
            f"{frac:.0%} (+{now:.0f} s): ETA {'estimating' if eta is None else f'{eta:.0f}'} s vs "
            f"{left:.0f} s left ({'' if eta is None else f'{(eta - left) / left:+.0%}'})"
        )
    worst = max(abs(eta - left) / left for now, eta, left in out if eta is not None and now <= 0.9 * end)
    print(f"{label:<34} " + "; ".join(cells) + f"; worst to 90%: {worst:.0%}")


def args(r):
    return r["n"], r["hmax"], r["input_dim"], r["output_dim"], r["seq_len"], r["n_train"], r["epochs"], r["batch_size"]


show("models (the old ETA's weights)", run(lambda r: float(r["n"])))
SHIPPED = P.STEP_OVERHEAD
P.STEP_OVERHEAD = 0.0
show("matmul work only", run(lambda r: P.pack_work(*args(r))))
P.STEP_OVERHEAD = SHIPPED
show("pack_work as shipped", run(lambda r: P.pack_work(*args(r))))
