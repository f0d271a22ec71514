"""hpsweep: sweep varied-sparsity block RNNs on Ray Tune and learn which model to build before
training it.

The Python API (the CLI is a thin layer over the same functions)::

    import hpsweep as hs
    report = hs.run("my-spec.yaml", results="runs")      # or a dict, or a shipped spec name
    trials, curves = hs.results("runs")                  # Polars LazyFrames, winning rows
    hs.describe(300, 12, budget=80_000, code="011001")   # |h|, weights per block, HP
    result = hs.analyze("runs")                          # meta-models, held out task by task
    hs.recommend("runs", 300, 12, 80_000)                # densities to build, before training
    hs.dashboard("runs")                                 # a live page in the browser (read-only)

`import hpsweep` imports none of Ray, torch or Polars; each function imports what it needs.

This folder installs as the `hpsweep` package; the repository's sweep/, workers/ and analysis/
folders install beneath it as `hpsweep.sweep`, `hpsweep.workers` and `hpsweep.analysis`
(pyproject.toml's package-dir mapping).
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from hpsweep._api import DEFAULT_RESULTS, analyze, dashboard, describe, load_model, load_spec, recommend, results, run
from hpsweep.workers.errors import HpsweepError

try:
    __version__ = _version("hpsweep")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name):
    if name == "Results":  # the results layer's NamedTuple; imported on use (it brings Polars)
        from hpsweep.workers.results import Results

        return Results
    raise AttributeError(f"module 'hpsweep' has no attribute {name!r}")


__all__ = [
    "run",
    "results",
    "describe",
    "analyze",
    "recommend",
    "dashboard",
    "load_spec",
    "load_model",
    "Results",
    "HpsweepError",
    "DEFAULT_RESULTS",
    "__version__",
]
