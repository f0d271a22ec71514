"""What keeping models costs: bytes per kept model, the time a pack spends writing them, and the
results store's size with `keep: {models: all}` against without, on one spec.

    python bench/kept_models.py                         # the meta spec at --scale data=0.1,epochs=0.2
    python bench/kept_models.py --spec meta --scale 1   # the full meta spec (~10 min per side on 2 cores)

Runs the spec's packs one after another in this process (the pack runner as a Ray worker runs
it, without Ray), once keeping nothing and once keeping all, each into a fresh results root.
Weights do not depend on data size or epochs (only |h|, |x|, |y|), so a run scaled down in
those keeps every model of the full spec at its real size; its trials and curves are smaller
(curves have one row per epoch). Prints one JSON line with the load average.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time


def tree_bytes(path: str, sub: str | None = None) -> int:
    top = os.path.join(path, sub) if sub else path
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(top) for f in files)


def run(spec, root: str, keep) -> dict:
    """Run every pack of `spec` into `root`; seconds spent building and writing the weights files."""
    import pyarrow as pa

    from hpsweep.sweep.coordinator import make_plan
    from hpsweep.sweep.pack_runner import PackJob, run_pack
    from hpsweep.workers import kept_models
    from hpsweep.workers.results import ResultsStore
    from hpsweep.workers.results.storage import LocalStorage

    spent = {"build": 0.0, "write": 0.0}
    build, put = kept_models.pack_file, LocalStorage.put_bytes

    def timed_build(*a, **k):
        t0 = time.perf_counter()
        try:
            return build(*a, **k)
        finally:
            spent["build"] += time.perf_counter() - t0

    def timed_put(self, path, data):
        t0 = time.perf_counter()
        try:
            return put(self, path, data)
        finally:
            if path.endswith(".safetensors"):
                spent["write"] += time.perf_counter() - t0

    kept_models.pack_file, LocalStorage.put_bytes = timed_build, timed_put
    try:
        sweep = ResultsStore(root).sweep(spec.name)
        plan, _ = make_plan(spec, sweep)
        sweep.save(
            spec.text,
            spec.spec_hash,
            pa.table({"trial_id": [t.trial_id for t in plan.trials], "task": [t.task for t in plan.trials]}),
        )
        t0 = time.perf_counter()
        for pack in plan.packs:
            run_pack(PackJob(root, spec.name, pack, 0, "cpu", 1, keep), in_ray=False)
        seconds = time.perf_counter() - t0
    finally:
        kept_models.pack_file, LocalStorage.put_bytes = build, put
    ok = sweep.status()["ok"]  # `all` keeps the ok models
    return {"packs": len(plan.packs), "models": len(plan.trials), "ok": ok, "seconds": round(seconds, 1), **spent}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="meta")
    ap.add_argument("--scale", default="data=0.1,epochs=0.2")
    args = ap.parse_args()

    import hpsweep as hs
    from hpsweep.sweep.spec.models import Keep
    from hpsweep.workers.kept_models import KeepRule

    spec = hs.load_spec(args.spec, args.scale if args.scale != "1" else None)
    out = {"spec": args.spec, "scale": args.scale}
    with tempfile.TemporaryDirectory() as tmp:
        for name, keep in (("none", None), ("all", KeepRule("all"))):
            root = os.path.join(tmp, name)
            s = dataclasses.replace(spec, keep=Keep(models=name))
            r = run(s, root, keep)
            out[name] = {
                **r,
                "store_bytes": tree_bytes(root),
                "models_bytes": tree_bytes(root, "models") if os.path.isdir(os.path.join(root, "models")) else 0,
            }
        kept = out["all"]
        n_files = kept["packs"]
        out["bytes_per_model"] = round(kept["models_bytes"] / max(kept["ok"], 1))
        out["weights_ms_per_pack"] = {
            "build": round(1e3 * kept["build"] / n_files, 1),
            "write": round(1e3 * kept["write"] / n_files, 1),
        }
        out["store_all_over_none"] = round(kept["store_bytes"] / out["none"]["store_bytes"], 2)
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
