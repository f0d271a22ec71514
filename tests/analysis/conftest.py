"""Shared synthetic results: real Parquet in the results layout, analysed once per session.

The session data is a meta-dataset like the `meta` spec's: one shared candidate set on every
task at two budgets, two seeds, one lr."""

import pytest

from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.synthetic import default_tasks, shared_configs, write_meta_results

N_TASKS = 10
N_CONFIGS = len(shared_configs())  # 16
ROWS = N_TASKS * N_CONFIGS * 2 * 2  # tasks x configs x budgets x seeds


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_meta_results(root, default_tasks(N_TASKS, seed=3), seed=3)
    return root


@pytest.fixture(scope="session")
def synth_result(synth_root):
    return analyze(synth_root, AnalysisOptions())
