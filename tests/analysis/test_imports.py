"""analysis/ runs where the results are, without torch, ray or the coordinator."""

import subprocess
import sys
from pathlib import Path


def test_analysis_imports_neither_torch_nor_ray_nor_sweep():
    code = ("import sys, analysis.saved, analysis.recommend, analysis.report, analysis.synthetic; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'ray', 'sweep')]; "
            "assert not bad, bad")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
