"""The verdict against dense: its interval is calibrated on held-out tasks, its sentence follows the sign
of the interval, it travels in --json and the API, and older or dense-less results say why there is none."""

import json
import re

import numpy as np
import polars as pl
import pytest

from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.dense_gain import (
    DENSE,
    GAIN_FEATURES,
    conformal_band,
    fit_dense_gain,
    score_label,
    sentence,
)
from hpsweep.analysis.recommend import recommend_with_verdict
from hpsweep.analysis.saved import FORMAT, bundle_of, load_or_fit, models_dir, save
from hpsweep.analysis.synthetic import default_tasks, shared_configs, write_meta_results
from hpsweep.analysis.verdict import verdict as verdict_of
from hpsweep.sweep.cli import main

VERDICT_KEYS = {"gain", "low", "high", "score_name", "sentence", "config"}


def test_conformal_band_takes_the_finite_sample_ranks():
    r = np.arange(1.0, 40.0)  # 39 residuals: ceil(40 x 0.95) = 38th smallest, and its mirror the 2nd
    assert conformal_band(r[::-1]) == (2.0, 38.0)
    assert conformal_band(np.arange(1.0, 20.0)) == (1.0, 19.0)  # 19: rank 19 of 19, the extremes
    assert conformal_band([0.5, -0.5]) == (-0.5, 0.5)  # too few for the rank: the extremes


def _gain_table(n_tasks: int, noise: float, seed: int = 0) -> pl.DataFrame:
    """Two configs per group (dense and one sparse) whose gain is 0.1 x ln|x| - 0.3 plus known noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        x, y = rng.uniform(np.log(4), np.log(2500)), rng.uniform(np.log(2), np.log(40))
        for b in (np.log(2000.0), np.log(20000.0)):
            feats = dict(zip(GAIN_FEATURES, (x, y, b, np.log(1000.0), np.log(20.0), 0.0)))
            gain = 0.1 * x - 0.3 + rng.normal(0, noise)
            base = {"task": f"t{t}", "unit": f"t{t} @ {b:.0f}", **feats}
            rows.append(base | {"config": DENSE, "score": 0.5})
            rows.append(base | {"config": "0.5,0.5,0.5,0.5,0.5,0.5", "score": 0.5 + gain})
    return pl.DataFrame(rows)


def test_the_interval_covers_about_90_percent_of_held_out_tasks_at_known_noise():
    noise = 0.02
    table = _gain_table(80, noise)
    gain = fit_dense_gain(table, np.zeros(table.height))
    assert gain["n_tasks"] == 80 and gain["n_groups"] == 160 and gain["level"] == 0.9
    assert 0.82 <= gain["coverage"] <= 0.97  # calibrated: neither the 50% of a quartile band nor ~100%
    # the width is that of the noise (plus the nearest-groups model's own error), not of the gains' spread
    assert 2 * 1.645 * noise * 0.8 <= gain["mean_width"] <= 2 * 1.645 * noise * 2.0
    assert gain["mae"] < gain["mae_mean_only"] / 3  # the gain depends on ln|x|, and the model learned it
    # every held-out group gets one answer; a narrow interval makes claims, and they hold
    (pays, pays_right), (dense, dense_right) = gain["claims"]["pays"], gain["claims"]["dense"]
    assert pays + dense + gain["claims"]["unclear"][0] == 160 and pays > 100 and dense > 10
    assert pays_right / pays > 0.95 and dense_right / dense > 0.8


@pytest.mark.parametrize(
    "bonus, pattern",
    [
        (-0.3, r"sparsity pays here: \+0\.\d\d \[\+0\.\d\d, \+0\.\d\d\] r2 over dense"),
        (
            0.3,
            r"build dense: the top sparse pick is expected to score below it here "
            r"\(-0\.\d\d \[-0\.\d\d, -0\.\d\d\] r2\)",
        ),
    ],
)
def test_the_sentence_follows_whether_sparsity_or_dense_clearly_wins(tmp_path, bonus, pattern):
    write_meta_results(tmp_path, default_tasks(6, seed=4), seed=4, dense_bonus=bonus)
    result = analyze(tmp_path, AnalysisOptions(curve=False), with_ranking=False)
    gain = result.metrics()["dense_gain"]
    assert gain["n_tasks"] == 6 and 0 <= gain["coverage"] <= 1 and "model" not in gain
    item = verdict_of(result)["items"][-1]  # the report's and the dashboard's card
    assert item == {
        "label": "gain over dense: 90% interval coverage",
        "value": f"{100 * gain['coverage']:.0f}%",
        "note": f"on 6 held-out tasks (12 groups); mean width {gain['mean_width']:.3f}; said sparsity pays "
        f"on {gain['claims']['pays'][0]} groups ({gain['claims']['pays'][1]} right), build dense on "
        f"{gain['claims']['dense'][0]} ({gain['claims']['dense'][1]} right)",
    }
    x, y = result.swept["dims"][0]
    table, verdict = recommend_with_verdict(bundle_of(result), x, y, result.swept["budget"][0], top=3)
    assert set(verdict) == VERDICT_KEYS and verdict["score_name"] == "r2"
    assert re.fullmatch(pattern, verdict["sentence"]), verdict["sentence"]
    assert (verdict["low"] > 0) if bonus < 0 else (verdict["high"] < 0)
    assert verdict["low"] <= verdict["gain"] <= verdict["high"]
    assert verdict["config"] != "dense" and (table["config"][0] == "dense") == (bonus > 0)


def test_the_four_sentences():
    assert sentence(0.03, 0.01, 0.05, "accuracy") == "sparsity pays here: +0.03 [+0.01, +0.05] accuracy over dense"
    assert sentence(0.0, -0.02, 0.02, "accuracy") == (
        "build dense: no candidate beats it beyond noise here (+0.00 [-0.02, +0.02] accuracy)"
    )
    assert sentence(-0.004, -0.008, -0.001, "r2") == (  # a narrow interval keeps a third decimal
        "build dense: the top sparse pick is expected to score below it here (-0.004 [-0.008, -0.001] r2)"
    )
    # spanning zero but wider than 0.2: no evidence for dense either (on the wide meta-dataset the
    # interval at RAD |x| = 2,500 was [-0.30, +0.48] where sparsity gained +0.44 when trained)
    assert sentence(0.11, -0.30, 0.48, "accuracy") == (
        "no clear answer here: the top sparse pick's gain over dense is +0.11 [-0.30, +0.48] accuracy; train both"
    )
    assert sentence(0.0, -0.1, 0.1, "accuracy").startswith("build dense: no candidate")  # 0.2 wide: still narrow


def test_the_unit_names_both_scores_when_tasks_mix_them():
    assert score_label(["accuracy", "accuracy"]) == "accuracy"
    assert score_label(["r2", "accuracy"]) == "score (accuracy or r2)"  # never r2 read as accuracy
    assert score_label(None) == "score"


def test_json_carries_the_verdict_and_the_text_prints_it_within_80_columns(synth_root, capsys):
    args = ["recommend", "-x", "200", "-y", "8", "--budget", "50000", "--from", str(synth_root)]
    main([*args, "--json"])
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert set(verdict) == VERDICT_KEYS and verdict["sentence"] == sentence(
        verdict["gain"], verdict["low"], verdict["high"], "r2"
    )
    assert verdict["low"] <= verdict["gain"] <= verdict["high"]
    main(args)
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("verdict: "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
    assert " ".join(line.strip() for line in lines[start:end]) == f"verdict: {verdict['sentence']}"
    assert all(len(line) <= 80 for line in lines[start:end])
    assert lines[start - 1].startswith("5 ")  # right under the table's last row


def test_a_bundle_saved_before_the_verdict_is_refitted_or_says_to_rerun_analyze(tmp_path):
    write_meta_results(tmp_path, default_tasks(4, seed=5), seed=5)
    options = AnalysisOptions()
    result = analyze(tmp_path, options)
    old = bundle_of(result)
    del old["gain"]  # what format 3 saved
    table, verdict = recommend_with_verdict(old, 100, 5, 30_000)
    assert table.height == 5 and verdict["gain"] is None
    assert verdict["sentence"] == "no verdict against dense: these saved models predate it; re-run `hpsweep analyze`"
    save(tmp_path, options, result)
    manifest = models_dir(tmp_path, options) / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"format": FORMAT - 1}))
    bundle, refitted = load_or_fit(tmp_path, options)  # an older format is refitted, with the verdict
    assert refitted and "model" in bundle["gain"]


def test_results_without_dense_say_so_in_one_line(tmp_path):
    write_meta_results(tmp_path, default_tasks(4, seed=6), configs=shared_configs()[1:], seed=6)
    result = analyze(tmp_path, AnalysisOptions(curve=False), with_ranking=False)
    assert result.metrics()["dense_gain"] == {"reason": "the results hold no dense model to compare with"}
    x, y = result.swept["dims"][0]
    table, verdict = recommend_with_verdict(bundle_of(result), x, y, result.swept["budget"][0])
    assert "dense" not in table["config"].to_list()
    assert verdict["sentence"] == "no verdict against dense: the candidate set has no dense model"
    assert verdict["gain"] is None and verdict["config"] is not None
