"""Shared synthetic results: real Parquet in the results layout, analysed once per session."""

import pytest

from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.synthetic import default_tasks, write_results

N_TASKS, ROWS = 10, 300


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_results(root, default_tasks(N_TASKS, seed=3), ROWS, seed=3, parts_per_task=2)
    return root


@pytest.fixture(scope="session")
def synth_result(synth_root):
    return analyze(synth_root, AnalysisOptions())
