"""`hpsweep bench` runs on a bare GPU box: torch only, no ray, no polars."""

import json
import subprocess
import sys

CHECK = """
import json, sys
from hpsweep.sweep.cli import main
sys.argv = ["hpsweep", "bench", "--device", "cpu", "-K", "3", "--iters", "2", "--batch", "8", "--steps", "4", "--json"]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(sorted(m for m in ("ray", "polars") if m in sys.modules)))
"""


def test_bench_json_without_ray_or_polars():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True)
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[0])
    assert set(result) >= {"one_at_a_time", "packed", "ratio", "device"}
    assert abs(result["ratio"] - result["packed"] / result["one_at_a_time"]) <= 1e-9 * result["ratio"]
    assert result["device"].startswith("cpu")
    assert json.loads(lines[1]) == []  # neither ray nor polars was imported


def test_bench_rejects_nonsense(capsys):
    from hpsweep.sweep.cli import main
    try:
        main(["bench", "-K", "0"])
    except SystemExit as e:
        assert e.code == 2
    assert "--models, dims, --steps, --batch and --iters must be >= 1" in capsys.readouterr().err
