"""The results layer: layout, storage engine, lease and the one reader of a results root.

Both `sweep` (writing, resume, status, query, compact) and `analysis` (analyze, recommend) use it;
it imports nothing from either. The Python API's entry point:

    from hpsweep.workers.results import results
    trials, curves = results("hpsweep-results")          # or "s3://bucket/prefix?..."
    trials.filter(pl.col("status") == "ok").collect()
"""

from hpsweep.workers.results.read import Results, results

__all__ = ["Results", "results"]
