"""What the end-to-end sweep tests share: a tiny spec and the exactly-once check."""

import yaml

TINY = {
    "name": "tiny",
    "tasks": [
        {
            "task": "teacher(x=8,y=4,t=10,n_train=200,n_val=50,n_test=50)",
            "hidden": [8, 16],
            "densities": {"uniform": [1.0, 0.5]},
        }
    ],
    "training": {"epochs": 2, "seeds": [0, 1]},
    "pack": {"max_models": 4},
    "resources": {"max_failures": 1},
}


def spec_file(tmp_path, doc=TINY, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def exactly_once(store, sweep_id):
    """Every planned trial is in the trial files exactly once (raw rows, before any dedupe)."""
    planned = sorted(store.sweep(sweep_id).planned()["trial_id"].to_pylist())
    raw = sorted(store.read("trials", sweep_id, dedupe=False)["trial_id"].to_pylist())
    assert raw == planned, "every planned trial must be in the files exactly once"
    return planned


def pack_ids(spec_path):
    """The spec's pack ids in plan order (what an empty results root would run)."""
    import tempfile

    from hpsweep.sweep.coordinator import make_plan
    from hpsweep.sweep.spec import load_spec
    from hpsweep.workers.results import ResultsStore

    with tempfile.TemporaryDirectory() as empty:
        spec = load_spec(spec_path)
        return [p.pack_id for p in make_plan(spec, ResultsStore(empty).sweep(spec.name))[0].packs]
