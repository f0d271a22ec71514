"""Kept models (spec `keep:`): written in the pack's commit, loaded back as the reference block RNN
whose test-split outputs give the stored test score, listed, exported; bad input is one line."""

import json
import subprocess
import sys

import polars as pl
import pytest
import torch

import hpsweep as hs
from hpsweep.sweep.coordinator import make_plan
from hpsweep.sweep.pack_runner import PackJob, run_pack
from hpsweep.workers.errors import HpsweepError
from hpsweep.workers.kept_models import KeepRule
from hpsweep.workers.model import BlockRNN
from hpsweep.workers.results import ResultsStore
from hpsweep.workers.tasks import load_task_data, score_predictions

TASK = "teacher(x=3,y=2,t=6,n_train=64,n_val=32,n_test=32)"


def _spec(name="keep", keep=None, lr=(0.01,), hidden=(3, 5, 8), task=TASK, init_std=0.05):
    doc = {
        "name": name,
        "tasks": [
            {"task": task, "hidden": list(hidden), "densities": {"uniform": [1.0], "codes": ["101101"], "base": 0.5}}
        ],
        "training": {"epochs": 3, "seeds": [0], "batch_size": 16, "lr": list(lr), "init_std": init_std},
        "pack": {"max_models": 64, "device": "cpu"},
    }
    if keep is not None:
        doc["keep"] = keep
    return hs.load_spec(doc)


def _run(root, spec, rule):
    """What the driver and its workers do, in this process: plan, freeze, run every pack."""
    import pyarrow as pa

    sweep = ResultsStore(root).sweep(spec.name)
    plan, _ = make_plan(spec, sweep)
    sweep.save(
        spec.text,
        spec.spec_hash,
        pa.table({"trial_id": [t.trial_id for t in plan.trials], "task": [t.task for t in plan.trials]}),
    )
    for pack in plan.packs:
        run_pack(PackJob(root, spec.name, pack, 0, "cpu", 1, rule), in_ray=False)
    return sweep


def test_a_packed_model_loads_as_the_reference_rnn_and_reproduces_its_test_score(tmp_path):
    root = str(tmp_path / "r")
    sweep = _run(root, _spec(keep={"models": "all"}), KeepRule("all"))
    rows = sweep.scan("trials").collect()
    assert rows.height == 6 and rows["pack_size"].to_list() == [6] * 6  # six models trained as one pack
    data = load_task_data(TASK, seed=0)
    for r in rows.iter_rows(named=True):
        model = hs.load_model(root, r["trial_id"])
        assert isinstance(model, BlockRNN) and model.cfg.hidden == r["hidden"]
        with torch.no_grad():
            score = score_predictions(data, "test", model(data.x_test))
        assert score == pytest.approx(r["test_score"], rel=1e-4, abs=1e-5)
        realised = model.realised_weights()
        assert [realised[b] for b in ("hx", "hh", "hy", "yx", "yh", "yy")] == [
            r[f"realised_{b}"] for b in ("hx", "hh", "hy", "yx", "yh", "yy")
        ]


def test_best_keeps_the_top_k_per_group_and_models_lists_them(tmp_path):
    root = str(tmp_path / "r")
    spec = _spec(keep={"models": "best", "per": ["task", "hidden"], "top": 1})
    sweep = _run(root, spec, KeepRule("best", ("task", "hidden"), 1))
    rows = sweep.scan("trials").collect()
    best = rows.sort("val_score", descending=True).group_by("hidden", maintain_order=True).first()
    listed = subprocess.run(
        [sys.executable, "-m", "hpsweep.sweep.cli", "models", root], capture_output=True, text=True, cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == TASK and lines[1].split()[:2] == ["trial_id", "h"] and max(map(len, lines[1:-1])) <= 80
    assert sorted(line.split()[0] for line in lines[2:-1]) == sorted(best["trial_id"].to_list())
    assert lines[-1].startswith("3 kept model(s); load one with hpsweep.load_model(")
    not_kept = rows.filter(~pl.col("trial_id").is_in(best["trial_id"].to_list()))["trial_id"][0]
    with pytest.raises(HpsweepError, match=r"model was not kept \(the sweep's spec keeps other models of its pack"):
        hs.load_model(root, not_kept)
    out = tmp_path / "one.safetensors"
    done = subprocess.run(
        [sys.executable, "-m", "hpsweep.sweep.cli", "export", root, best["trial_id"][0], str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and done.stdout.startswith(f"wrote {out}"), done.stderr
    from safetensors import safe_open

    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
        assert sorted(f.keys()) == sorted(
            f"{best['trial_id'][0]}/{k}"
            for k in [
                *(f"w_{b}" for b in ("hx", "hh", "hy", "yx", "yh", "yy")),
                *(f"mask_{b}" for b in ("hx", "hh", "hy", "yx", "yh", "yy")),
                "b_h",
                "b_y",
            ]
        )
    info = json.loads(meta["models"])[best["trial_id"][0]]
    assert (info["hidden"], info["input_dim"], info["output_dim"]) == (best["hidden"][0], 3, 2)


def test_no_keep_writes_no_weights(tmp_path):
    root = str(tmp_path / "r")
    sweep = _run(root, _spec(), None)
    assert not (tmp_path / "r" / "models").exists()
    with pytest.raises(HpsweepError, match="model was not kept .*none of its pack's models"):
        hs.load_model(root, sweep.scan("trials").collect()["trial_id"][0])


def test_a_diverged_model_is_refused_with_one_line(tmp_path):
    root = str(tmp_path / "r")
    long_task = "teacher(x=3,y=2,t=30,n_train=64,n_val=32,n_test=32)"  # init_std 10: states overflow to inf
    sweep = _run(root, _spec(keep={"models": "all"}, hidden=(64,), task=long_task, init_std=10.0), KeepRule("all"))
    rows = sweep.scan("trials").collect()
    assert set(rows["status"]) == {"diverged"}
    assert not (tmp_path / "r" / "models").exists()  # nothing of a diverged model is kept
    with pytest.raises(HpsweepError, match=r"diverged in epoch \d+: its weights are not a trained model"):
        hs.load_model(root, rows["trial_id"][0])


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    root = str(tmp_path / "r")
    sweep = _run(root, _spec(keep={"models": "all"}), KeepRule("all"))
    trial = sweep.scan("trials").collect()["trial_id"][0]

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "hpsweep.sweep.cli", *args], capture_output=True, text=True, cwd=tmp_path
        )

    cases = [
        (("export", root, "nosuch", str(tmp_path / "a.st")), "trial 'nosuch' is not in results"),
        (("export", root, trial, str(tmp_path / "no" / "a.st")), "the folder"),
        (("export", root, trial, str(tmp_path / "r" / "sweeps" / "keep" / "spec.yaml")), "exists"),
        (("models", str(tmp_path / "none")), "do not exist"),
        (("export", root, trial, str(tmp_path / "a.st"), "--sweep", "../x"), "must be letters"),
    ]
    for args, message in cases:
        done = cli(*args)
        assert done.returncode == 1 and done.stdout == "", (args, done.stdout)
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error: ") and message in done.stderr, (
            done.stderr
        )
    assert not (tmp_path / "a.st").exists()
    models_file = next((tmp_path / "r" / "models").rglob("*.safetensors"))
    models_file.write_bytes(models_file.read_bytes()[:200])  # truncated
    done = cli("export", root, trial, str(tmp_path / "a.st"))
    assert (
        done.returncode == 1
        and "is not a readable safetensors file" in done.stderr
        and not (tmp_path / "a.st").exists()
    )
    from safetensors.torch import save

    models_file.write_bytes(save({"w": torch.zeros(2)}, metadata={"format": "someone-else"}))  # foreign
    with pytest.raises(HpsweepError, match="is not a weights file hpsweep wrote"):
        hs.load_model(root, trial)


def test_a_commit_whose_weights_went_missing_is_incomplete(tmp_path):
    root = str(tmp_path / "r")
    sweep = _run(root, _spec(keep={"models": "all"}), KeepRule("all"))
    pack = sweep.scan("trials").collect()["pack_id"][0]
    assert sweep.committed(TASK, pack)
    next((tmp_path / "r" / "models").rglob("*.safetensors")).unlink()
    assert not sweep.committed(TASK, pack)  # a re-run commits the pack again, with its weights


def test_compact_keeps_the_weights_loadable(tmp_path):
    root = str(tmp_path / "r")
    sweep = _run(root, _spec(keep={"models": "all"}, hidden=(3,)), KeepRule("all"))
    trial = sweep.scan("trials").collect()["trial_id"][0]
    before = hs.load_model(root, trial).state_dict()
    ResultsStore(root).compact()
    after = hs.load_model(root, trial).state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
