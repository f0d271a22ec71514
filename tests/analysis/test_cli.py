"""`hpsweep analyze` and `hpsweep recommend` through the real entry point."""

import json

import pytest

from hpsweep.sweep.cli import main


def test_analyze_json_and_report(synth_root, tmp_path, capsys):
    main(["analyze", str(synth_root), "--out", str(tmp_path / "rep"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["n_tasks"] == 10 and out["n_rows"] == 3000 and out["warnings"] == []
    assert set(out["models"]) == {"paper", "gbt", "baseline"}
    assert out["balance_ranking"][0]["metric"] == "hidden_proportion"
    html = (tmp_path / "rep" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<script" not in html
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text())["chosen_model"] == out["chosen_model"]


def test_analyze_prints_the_tables(synth_root, tmp_path, capsys):
    main(["analyze", str(synth_root), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "spearman" in out and "hidden_proportion" in out and "Report:" in out


def test_recommend_json_reuses_saved_models(synth_root, capsys):
    main(["analyze", str(synth_root), "--out", str(synth_root / "report"), "--json"])
    capsys.readouterr()
    main(["recommend", "-x", "200", "-y", "8", "--budget", "50000", "--from", str(synth_root), "--top", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["refitted"] is False and len(out["configs"]) == 2
    assert {"d_hx", "d_hh", "hidden", "hidden_proportion", "predicted", "low", "high"} <= set(out["configs"][0])
    main(["recommend", "-x", "200", "-y", "8", "--budget", "50000", "--from", str(synth_root)])
    assert "band" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["recommend", "-x", "1000000", "-y", "8", "--budget", "5e4"], "input_dim 1e+06 is far outside the swept range"),
    (["analyze"], None),
])
def test_user_errors_are_one_line(synth_root, tmp_path, capsys, args, message):
    if message is None:  # an empty results root
        args = ["analyze", str(tmp_path)]
        message = "no trial parts under"
    else:
        args = args + ["--from", str(synth_root)]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and message in err
