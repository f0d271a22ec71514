"""recommend asks what kind of data set it answers for: classifications and regressions of the same
dims can want opposite configs, and the results say which is which by their score."""

import dataclasses

import pytest

import hpsweep as hs
from hpsweep.analysis.analyze import AnalysisOptions, analyze
from hpsweep.analysis.recommend import recommend_with_verdict
from hpsweep.analysis.saved import bundle_of
from hpsweep.analysis.synthetic import default_tasks, write_meta_results
from hpsweep.sweep.cli import main
from hpsweep.workers.errors import AnalysisError


@pytest.fixture(scope="module")
def mixed_root(tmp_path_factory):
    """Classifications where dense wins and regressions where sparse configs do, over the same spread
    of dims: only the kind tells them apart."""
    root = tmp_path_factory.mktemp("mixed")
    write_meta_results(root, default_tasks(6, seed=5), sweep_id="clf", seed=5, dense_bonus=0.3, score_name="accuracy")
    write_meta_results(root, default_tasks(6, seed=6), sweep_id="reg", seed=6, dense_bonus=-0.3)
    return str(root)


@pytest.mark.parametrize("model", ["gbt/score", "nearest/score"])
def test_the_kind_decides_the_ranking_where_dims_cannot(mixed_root, model):
    # the models that see the kind (every one but the paper's polynomial), whichever analyze chose here
    result = analyze(mixed_root, AnalysisOptions(curve=False), with_ranking=False)
    bundle = bundle_of(dataclasses.replace(result, chosen=model))
    ask = dict(input_dim=300, output_dim=10, budget=60_000, top=3)
    clf, clf_verdict = recommend_with_verdict(bundle, **ask, kind="classification")
    reg, reg_verdict = recommend_with_verdict(bundle, **ask, kind="regression")
    assert clf["config"][0] == "dense" and "dense" not in reg["config"].to_list()
    assert clf_verdict["score_name"] == "accuracy" and reg_verdict["score_name"] == "r2"
    assert recommend_with_verdict(bundle, **ask)[1]["score_name"] == "score (accuracy or r2)"


def test_without_a_kind_the_text_says_the_ranking_averages_both(mixed_root, capsys):
    main(["recommend", "-x", "300", "-y", "10", "--budget", "60000", "--from", mixed_root])
    out = " ".join(capsys.readouterr().out.split())
    assert "note: ranked as the average of a classification and a regression; --kind says which" in out
    main(["recommend", "-x", "300", "-y", "10", "--budget", "60000", "--kind", "regression", "--from", mixed_root])
    assert "note: ranked as the average" not in capsys.readouterr().out


def test_a_kind_the_results_never_swept_is_refused(synth_root):
    with pytest.raises(AnalysisError) as e:
        hs.recommend(str(synth_root), 300, 12, 80_000, kind="classification")
    assert str(e.value) == (
        "the results hold no classification task (their scores: r2): recommend cannot answer for one; "
        "leave out the kind, or sweep classification tasks"
    )
    with pytest.raises(AnalysisError, match=r"^kind must be one of classification, regression; got 'clf'$"):
        hs.recommend(str(synth_root), 300, 12, 80_000, kind="clf")
