"""Packs run as chunks of Tune trials, one Tuner per chunk (so the driver's memory is
bounded by one chunk's Tune state): every planned trial still ends up exactly once."""

from hpsweep.sweep import tune_adapter
from hpsweep.sweep.cli import main
from hpsweep.workers.results import ResultsStore
from tests.sweep.sweep_helpers import TINY, exactly_once, pack_ids, spec_file


def test_packs_run_in_chunks_of_tune_trials_every_trial_once(ray_local, tmp_path, monkeypatch, capsys):
    doc = {**TINY, "name": "chunks", "pack": {"max_models": 2}}
    spec = spec_file(tmp_path, doc)
    chunks = []
    run_chunk = tune_adapter._run_chunk

    def spy(jobs, **kwargs):
        chunks.append(sorted(j.pack.pack_id for j in jobs))
        return run_chunk(jobs, **kwargs)

    monkeypatch.setattr(tune_adapter, "TUNE_CHUNK", 3)
    monkeypatch.setattr(tune_adapter, "_run_chunk", spy)
    results = str(tmp_path / "r")
    main(["run", spec, "--results", results, "--progress", "lines"])
    packs = sorted(pack_ids(spec))
    assert len(packs) == 4
    assert [len(c) for c in chunks] == [3, 1] and sorted(sum(chunks, [])) == packs
    store = ResultsStore(results)
    assert store.sweep("chunks").status() == {
        "sweep": "chunks",
        "planned": 8,
        "ok": 8,
        "diverged": 0,
        "failed": 0,
        "stopped": 0,
        "missing": 0,
        "curves_missing": 0,
    }
    exactly_once(store, "chunks")
    assert "packs 4/4" in capsys.readouterr().out  # progress spans the chunks
