"""The results layer: one home for everything that reads or writes a results root.

    from hpsweep.workers.results import ResultsStore, results
    trials, curves = results("hpsweep-results")          # or "s3://bucket/prefix?..."
    trials.filter(pl.col("status") == "ok").collect()
    ResultsStore("hpsweep-results").sweep("quickstart").status()

`ResultsStore` (store.py) is the one interface the coordinator, the pack runner, the commands,
analysis and the Python API call; it imports nothing from analysis, sweep or the API. Names are
imported on first use, so the pack runner's commits do not import Polars.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ResultsStore": "store",
    "SweepStore": "store",
    "Results": "store",
    "results": "store",
    "Attempt": "commits",
    "CompactStats": "compact",
    "PartsReplaced": "read",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
