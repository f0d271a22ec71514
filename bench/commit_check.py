"""The cost of one commit check as packs accumulate in a sweep (what the driver pays per finished
pack, and a worker before it trains and before it commits).

    python bench/commit_check.py                 # checks at 64, 1,024 and 4,096 committed packs

Commits N tiny packs (2 failed rows and their curves each) into a temporary local root through
the results layer, then times `committed()` over the last 50 packs. Each pack's commit is found
through its own `_attempts/<sweep>/<pack>/` folder, so the cost should not grow with N. Prints
one line per N with the load average.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' row builders

from hpsweep.workers.results import ResultsStore  # noqa: E402
from tests.sweep.test_store import _curves, _failed, _pack  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hpsweep-commits-") as root:
        sweep = ResultsStore(root).sweep("s1")
        done = 0
        for target in (64, 1024, 4096):
            while done < target:
                p = _pack(f"p{done}", n=2)
                a = sweep.begin_attempt(p.pack_id)
                sweep.commit(p.task, p.pack_id, a.number, _failed(p, 1), _curves(p), token=a.token)
                done += 1
            t0 = time.perf_counter()
            for j in range(50):
                p = _pack(f"p{done - 1 - j}", n=2)
                assert sweep.committed(p.task, p.pack_id)
            ms = 1e3 * (time.perf_counter() - t0) / 50
            print(f"packs {target:>5}  one commit check {ms:.2f} ms  loadavg {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
