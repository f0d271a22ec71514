"""Benchmark (not a test): `hpsweep analyze` end to end over 1,000,000 synthetic trial rows.

Generates the rows once into a temporary folder (20 tasks x 50,000 trials, 4 parts per task,
real Parquet in the results layout), then times the real CLI entry point: scan, final row per
trial, features, the meta-dataset, held-out evaluation of every meta-model, learning curve, balance ranking,
saving the models and writing the HTML report. Prints the seconds, with the load average before and
after and the CPUs the held-out folds were spread over (compare runs taken under the same load).

    python bench/analyze_bench.py [--rows 1000000] [--tasks 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpsweep.analysis.synthetic import default_tasks, write_results  # noqa: E402
from hpsweep.sweep.cli import main  # noqa: E402


def run(rows: int, n_tasks: int, folder: Path) -> dict:
    start = time.perf_counter()
    written = write_results(folder, default_tasks(n_tasks, seed=1), rows // n_tasks, seed=1, parts_per_task=4)
    generate = time.perf_counter() - start
    buffer = StringIO()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    with redirect_stdout(buffer):
        main(["analyze", str(folder), "--json"])
    seconds = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    metrics = json.loads(buffer.getvalue())
    return {
        "rows": written,
        "tasks": n_tasks,
        "generate_s": round(generate, 2),
        "analyze_s": round(seconds, 2),
        "rows_used": metrics["n_rows_used"],
        "chosen": metrics["chosen_model"],
        "chosen_tau": round(metrics["models"][metrics["chosen_model"]]["loto"]["kendall"]["mean"], 4),
        "top_metric": metrics["balance_ranking"][0]["metric"],
        "cpus": len(os.sched_getaffinity(0)),
        "load_average": [round(load_before, 2), round(load_after, 2)],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="write the results here and keep them")
    args = parser.parse_args()
    if args.keep:
        result = run(args.rows, args.tasks, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(args.rows, args.tasks, Path(tmp))
    print(json.dumps(result))
    print(
        f"analyze over {result['rows']:,} trial rows: {result['analyze_s']:.1f} s on {result['cpus']} CPUs "
        f"(load average {result['load_average'][0]:.2f} before, {result['load_average'][1]:.2f} after)"
    )
