"""analyze and recommend on a halving sweep: the meta-dataset of tests/analysis/conftest.py with
the configs outside each group's top third stopped early (status stopped, epochs_run 2, a worse
partial test score): the default status keeps them, and the analysis and its held-out metrics run
and stay close to the full sweep's."""

import polars as pl
import pyarrow.parquet as pq
import pytest

from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.load import scan_trials
from hpsweep.analysis.synthetic import default_tasks, write_meta_results
from tests.analysis.conftest import N_TASKS, ROWS


def _halve(root):
    """Rewrite every trials part: per task, budget and config (seeds together) the configs outside
    the top third by mean validation score become stopped at epoch 2 with a worse test score."""
    for part in root.rglob("trials/**/*.parquet"):
        t = pl.read_parquet(part)
        group = ["task", "budget"]
        config = [f"d_{b}" for b in ("hx", "hh", "hy", "yx", "yh", "yy")]
        t = t.with_columns(pl.col("val_score").mean().over([*group, *config]).alias("_v"))
        t = t.with_columns(
            (pl.col("_v").rank("dense", descending=True).over(group) > pl.col("_v").n_unique().over(group) // 3).alias(
                "_stop"
            )
        )
        t = t.with_columns(
            pl.when(pl.col("_stop")).then(pl.lit("stopped")).otherwise(pl.col("status")).alias("status"),
            pl.when(pl.col("_stop")).then(2).otherwise(pl.col("epochs_run")).alias("epochs_run"),
            pl.when(pl.col("_stop"))
            .then(pl.col("test_score") - 0.05)
            .otherwise(pl.col("test_score"))
            .alias("test_score"),
        ).drop("_v", "_stop")
        pq.write_table(t.to_arrow().cast(pq.read_schema(part)), part)


@pytest.fixture(scope="module")
def halving_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("halving")
    write_meta_results(root, default_tasks(N_TASKS, seed=3), seed=3)
    _halve(root)
    return root


def test_ok_keeps_the_stopped_trials_and_stopped_alone_can_be_asked(halving_root):
    statuses = scan_trials(halving_root).collect()["status"].value_counts().sort("status")
    # 20 groups (10 tasks x 2 budgets): 5 of 16 configs go on, with 2 seeds each
    assert dict(statuses.iter_rows()) == {"ok": 200, "stopped": ROWS - 200}
    assert scan_trials(halving_root, statuses=("stopped",)).collect().height == ROWS - 200


def test_analyze_on_a_halving_sweep_ranks_stopped_configs_last_and_stays_close(halving_root, synth_result):
    result = analyze(halving_root, AnalysisOptions())
    assert result.n_rows == ROWS
    table = result.table
    for _, g in table.group_by("unit"):
        went_on = g.filter(pl.col("reached") > 2)  # trained every epoch
        stopped = g.filter(pl.col("reached") == 2)
        assert went_on.height == 5 and stopped.height == 11
        assert stopped["standing"].max() < went_on["standing"].min()
        assert stopped["score"].max() <= went_on["score"].min()
    full = synth_result.models[synth_result.chosen]["loto"]["kendall"]["mean"]
    halved = result.models[result.chosen]["loto"]["kendall"]["mean"]
    assert abs(halved - full) < 0.05, (halved, full)  # measured: 0.708 against 0.723
    assert result.warnings()[-1].startswith("69% of the configs were stopped by successive halving")  # 11 of 16
    assert synth_result.stopped_share() == 0.0 and synth_result.warnings() == []


def test_recommend_learns_from_a_halving_sweep(halving_root):
    import hpsweep

    table = hpsweep.recommend(str(halving_root), 16, 4, 5000, top=3)
    assert table.height == 3 and table["rank"].to_list() == [1, 2, 3]
