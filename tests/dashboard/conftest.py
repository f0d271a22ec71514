"""Dashboard fixtures: small real stores written through the results store, and a served dashboard."""

import numpy as np
import pyarrow as pa
import pytest

from hpsweep.analysis.synthetic import default_tasks, make_table
from hpsweep.workers.schema import CURVES_SCHEMA, SCHEMA_VERSION

SWEEP = "synthetic"


def curves_of(trials: pa.Table, epochs: int = 3) -> pa.Table:
    """Curve rows for every trial of a trials table (epochs 1..epochs)."""
    n = trials.num_rows
    final = np.asarray(trials["val_score"].to_numpy(zero_copy_only=False), dtype=float)
    epoch = np.tile(np.arange(1, epochs + 1), n)
    val = np.repeat(final, epochs) * epoch / epochs
    cols = {
        "schema_version": np.full(n * epochs, SCHEMA_VERSION),
        "sweep_id": np.repeat(trials["sweep_id"].to_pylist(), epochs),
        "trial_id": np.repeat(trials["trial_id"].to_pylist(), epochs),
        "task": np.repeat(trials["task"].to_pylist(), epochs),
        "epoch": epoch,
        "train_loss": 1.0 - val,
        "val_loss": 1.0 - val,
        "val_score": val,
    }
    return pa.Table.from_arrays([pa.array(cols[f.name], type=f.type) for f in CURVES_SCHEMA], schema=CURVES_SCHEMA)


def with_column(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


def write_store(root, n_tasks: int = 3, per_task: int = 40, pack: int = 10, hold_back: int = 0, planned_extra: int = 0):
    """A sweep of synthetic trials committed pack by pack; returns (store, held-back packs, tables by task).

    planned_extra trials are planned but never written (they stay missing)."""
    from hpsweep.workers.results import ResultsStore

    store = ResultsStore(str(root))
    tables = {
        t.name: make_table(t, per_task, sweep_id=SWEEP, seed=i) for i, t in enumerate(default_tasks(n_tasks, seed=1))
    }
    ids = [i for t in tables.values() for i in t["trial_id"].to_pylist()] + [f"never-{i}" for i in range(planned_extra)]
    tasks = [n for n, t in tables.items() for _ in range(t.num_rows)] + [next(iter(tables))] * planned_extra
    store.sweep(SWEEP).save(
        f"name: {SWEEP}\nspec_hash: test0001\n", "test0001", pa.table({"trial_id": ids, "task": tasks})
    )
    packs = []
    for name, table in tables.items():
        for start in range(0, table.num_rows, pack):
            part = with_column(
                table.slice(start, pack), "pack_id", [f"p{len(packs):03d}"] * min(pack, table.num_rows - start)
            )
            packs.append((SWEEP, name, f"p{len(packs):03d}", 1, part, curves_of(part)))
    for args in packs[: len(packs) - hold_back]:
        store.sweep(args[0]).commit(*args[1:])
    return store, packs[len(packs) - hold_back :], tables


@pytest.fixture
def served(tmp_path):
    """start(root) -> a DashboardServer serving root on a free loopback port, stopped after the test."""
    from hpsweep.sweep.dashboard.server import serve

    servers = []

    def start(root, **kw):
        server = serve(str(root), port=0, block=False, echo=None, **kw)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


from tests.sweep.conftest import monkeypatch_module, s3_server  # noqa: E402,F401  the moto S3 server on loopback
