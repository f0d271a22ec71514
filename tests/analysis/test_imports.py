"""analysis/ runs where the results are: without torch, ray or the coordinator (hpsweep.sweep).

`import hpsweep` itself (the API) loads a few light modules first; what analysis adds on top of
that must hold no torch, no ray and nothing of hpsweep.sweep."""

import subprocess
import sys

MODULES = ("saved", "recommend", "report", "synthetic", "pipeline", "analyze")

CHECK = f"""
import importlib, sys
import hpsweep
before = set(sys.modules)
for name in {MODULES!r}:
    importlib.import_module("hpsweep.analysis." + name)
added = set(sys.modules) - before
assert "hpsweep.analysis.pipeline" in added
bad = sorted(m for m in added if m.split(".")[0] in ("torch", "ray") or m.startswith("hpsweep.sweep"))
assert not bad, bad
"""


def test_analysis_imports_neither_torch_nor_ray_nor_the_coordinator():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
