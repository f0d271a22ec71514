"""The synthetic generator writes what a sweep would: schema types, layout, descriptors that agree
with workers.descriptors.describe() row by row."""

from urllib.parse import quote

import numpy as np
import pyarrow.parquet as pq
import pytest

from hpsweep.analysis.synthetic import SyntheticTask, default_tasks, hp_opt, make_table, true_score, write_results
from hpsweep.workers.descriptors import BLOCKS, Densities, describe
from hpsweep.workers.schema import TRIALS_SCHEMA


def test_rows_agree_with_describe():
    table = make_table(SyntheticTask("t", 300, 7), 200, seed=1).to_pylist()
    for row in table[::9]:
        d = Densities(*(row[f"d_{b}"] for b in BLOCKS))
        m = describe(row["input_dim"], row["output_dim"], d, budget=row["budget"])
        assert m.hidden == row["hidden"]
        assert m.total_weights == pytest.approx(row["total_weights"])
        assert m.hidden_proportion == pytest.approx(row["hidden_proportion"])
        assert m.hp_recurrent == pytest.approx(row["hp_recurrent"])
        assert m.overall_density == pytest.approx(row["overall_density"])


def test_files_have_the_schema_and_layout(tmp_path):
    tasks = [SyntheticTask("teacher(x=64,y=8,t=20)", 64, 8)]
    assert write_results(tmp_path, tasks, 50, sweep_id="s1", parts_per_task=2) == 50
    parts = sorted((tmp_path / "trials" / "sweep=s1" / f"task={quote(tasks[0].name, safe='')}").glob("part-*.parquet"))
    assert len(parts) == 2
    assert pq.read_schema(parts[0]).equals(TRIALS_SCHEMA, check_metadata=False)
    assert sum(pq.read_metadata(p).num_rows for p in parts) == 50


def test_known_optimum_moves_with_dims():
    assert hp_opt(2500, 10) < hp_opt(46, 26)
    best = true_score(hp_opt(300, 5), 300, 5, 1e5)
    assert best > true_score(hp_opt(300, 5) + 0.2, 300, 5, 1e5)
    assert len({t.name for t in default_tasks(12)}) == 12
    assert np.all(hp_opt([8, 3000], [40, 2]) > 0.02)
