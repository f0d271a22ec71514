"""Out-of-memory splitting with a real CUDA out-of-memory (run by hand on a GPU machine; needs torch
and pyarrow only, no Ray):

    PYTHONPATH=. python tests/sweep/gpu_oom_check.py

The card is capped (torch.cuda.set_per_process_memory_fraction) just above what a pack of 2 models
needs, then a pack of 8 is run: it must split and commit every model once. With a cap below one
model, every model must end `failed` with CUDA's out-of-memory error.

H200, 2026-11-26: peak reserved K=1 184 MiB, K=2 328 MiB, K=8 790 MiB; capped at 509 MiB the pack
of 8 trained as pieces of 4, 2, 1 and 1 (rows with pack sizes [4, 4, 4, 4, 2, 2, 1, 1]), all ok, one part
(the second half of 4 ran out where the first fitted: memory held from the first piece). With a
cap below what is already held, all 8 ended failed, error "OutOfMemoryError: CUDA out of memory.
Tried to allocate 26.00 MiB. ...", pack_size 1, one part.
"""

import os
import tempfile
import warnings
from dataclasses import replace

import pyarrow.compute as pc
import torch
import yaml

from hpsweep.sweep.coordinator import task_shapes
from hpsweep.sweep.pack_runner import PackJob, run_pack
from hpsweep.sweep.plan import plan_sweep
from hpsweep.sweep.spec import load_spec
from hpsweep.workers.results import ResultsStore

SPEC = {
    "name": "oom",
    "tasks": [{"task": "teacher(x=64,y=8,t=50)", "hidden": [256], "densities": {"uniform": [1.0, 0.5]}}],
    "training": {"epochs": 1, "seeds": [0, 1, 2, 3], "batch_size": 256},
    "pack": {"max_models": 8, "device": "cuda"},
}


def peak(root, pack):
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    run_pack(PackJob(root, "probe", pack, device="cuda"), in_ray=False)
    return torch.cuda.max_memory_reserved()


def main():
    warnings.filterwarnings("ignore", message="CUDA graph capture failed")
    work = tempfile.mkdtemp()
    os.environ.setdefault("HPSWEEP_CACHE", os.path.join(work, "cache"))
    path = os.path.join(work, "spec.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(SPEC, f)
    spec = load_spec(path)
    pack = plan_sweep(spec, task_shapes(spec)).packs[0]
    assert len(pack.trials) == 8, len(pack.trials)
    probe = os.path.join(work, "probe")
    p1 = peak(probe, replace(pack, pack_id="p1", trials=pack.trials[:1]))
    p2 = peak(probe, replace(pack, pack_id="p2", trials=pack.trials[:2]))
    p8 = peak(probe, replace(pack, pack_id="p8", trials=pack.trials))
    total = torch.cuda.get_device_properties(0).total_memory
    print(
        f"{torch.cuda.get_device_name(0)}: peak reserved K=1 {p1 / 2**20:.0f} MiB, K=2 {p2 / 2**20:.0f} MiB, "
        f"K=8 {p8 / 2**20:.0f} MiB"
    )
    for name, need in (("fits-2", p2 * 1.15), ("fits-none", p1 * 0.3)):
        torch.cuda.empty_cache()
        held = torch.cuda.memory_reserved()  # what earlier runs still hold (the cap is on the process)
        cap = held + need
        print(
            f"held before {name}: allocated {torch.cuda.memory_allocated() / 2**20:.0f} MiB, "
            f"reserved {held / 2**20:.0f} MiB"
        )
        torch.cuda.set_per_process_memory_fraction(cap / total)
        root = os.path.join(work, name)
        summary = run_pack(PackJob(root, "oom", pack, device="cuda"), in_ray=False)
        rows = ResultsStore(root).read("trials", "oom")
        sizes = rows["pack_size"].to_pylist()
        statuses = rows["status"].to_pylist()
        errors = set(rows.filter(pc.equal(rows["status"], "failed"))["error"].to_pylist())
        print(
            f"cap {cap / 2**20:.0f} MiB ({name}): splits {summary['splits']}, pack sizes {sizes}, "
            f"statuses {statuses}, rows {rows.num_rows}, parts {len(ResultsStore(root).parts('trials', 'oom'))}"
        )
        print("  errors:", [e[:160] for e in errors])
        assert rows.num_rows == 8 and len(set(rows["trial_id"].to_pylist())) == 8
        if name == "fits-2":
            # later halves may need to split further: the first ones leave some memory held
            assert summary["splits"] >= 1 and max(sizes) < 8 and set(statuses) == {"ok"}, (sizes, statuses)
        else:
            assert set(statuses) == {"failed"} and all(
                e.startswith("OutOfMemoryError: CUDA out of memory") for e in errors
            )
    torch.cuda.set_per_process_memory_fraction(1.0)
    print("OK: real CUDA out-of-memory splits the pack; a single model that does not fit ends failed")


if __name__ == "__main__":
    main()
