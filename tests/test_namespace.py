"""One installed namespace: hpsweep installs sweep/, workers/ and analysis/ beneath
`hpsweep`, so nothing imports a top-level `sweep`, `workers` or `analysis`, and a lab repository
with folders of those names (shipped to every node by `ray job submit --working-dir .`) cannot
shadow ours: not in the driver, not in a Ray worker, not in the sweep's packs."""

import json
import subprocess
import sys

import pytest

from tests.sweep.sweep_helpers import TINY

TOP = ("sweep", "workers", "analysis")

# Runs in a directory that holds the lab's own sweep/, workers/ and analysis/ packages, each of
# which raises when imported: the directory is the driver's sys.path[0] and, through a
# working_dir runtime env (what `ray job submit --working-dir .` ships), every Ray worker's cwd.
SCRIPT = """
import json, logging, os, sys
import ray
ray.init(address="local", num_cpus=1, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
         runtime_env={"working_dir": "."})
import hpsweep as hs

TOP = ("sweep", "workers", "analysis")
report = hs.run(json.loads(sys.argv[1]), results=sys.argv[2], echo=None)

def shadow_hit():
    try:  # proves the lab's folder WOULD be found by a top-level import here
        import workers  # noqa: F401
    except RuntimeError as e:
        return str(e)
    return None

@ray.remote
def probe():
    import hpsweep.sweep.pack_runner  # what a pack imports
    top = sorted(m for m in sys.modules if m.split(".")[0] in TOP)
    return {"top": top, "shadow": shadow_hit()}

driver_top = sorted(m for m in sys.modules if m.split(".")[0] in TOP)
print("RESULT " + json.dumps({"driver_top": driver_top, "driver_shadow": shadow_hit(),
                              "worker": ray.get(probe.remote()), "failed_packs": report.failed_packs,
                              "planned": report.planned}))
"""


def test_importing_hpsweep_loads_no_top_level_module():
    code = f"import sys, hpsweep; print([m for m in sys.modules if m.split('.')[0] in {TOP!r}])"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


@pytest.mark.slow
def test_a_lab_folder_named_workers_or_analysis_changes_nothing_a_sweep_imports(tmp_path):
    lab = tmp_path / "lab"
    for name in TOP:
        (lab / name).mkdir(parents=True)
        (lab / name / "__init__.py").write_text(
            f"raise RuntimeError('the lab repository\\'s own {name}/ was imported')\n"
        )
    (lab / "run.py").write_text(SCRIPT)
    spec = {**TINY, "name": "shadow"}
    done = subprocess.run(
        [sys.executable, "run.py", json.dumps(spec), str(tmp_path / "r")],
        cwd=lab,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads([ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1].removeprefix("RESULT "))
    hit = "the lab repository's own workers/ was imported"
    assert out["driver_top"] == [] and out["driver_shadow"] == hit  # nothing loaded, though it was there
    assert out["worker"] == {"top": [], "shadow": hit}
    assert out["planned"] == 8 and out["failed_packs"] == []  # every pack ran beside the lab's folders

    import hpsweep as hs

    trials = hs.results(str(tmp_path / "r")).trials.collect()
    assert trials.height == 8 and set(trials["status"]) == {"ok"}
