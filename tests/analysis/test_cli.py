"""`hpsweep analyze` and `hpsweep recommend` through the real entry point."""

import json

import pytest

from hpsweep.sweep.cli import main


def test_analyze_json_and_report(synth_root, tmp_path, capsys):
    main(["analyze", str(synth_root), "--out", str(tmp_path / "rep"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["n_tasks"] == 10 and out["n_rows"] == 640 and out["n_groups"] == 20 and out["n_configs"] == 16
    assert out["warnings"] == [] and out["excluded_tasks"] == []
    assert set(out["baselines"]) == {"always-dense", "always-uniform-0.2", "random"}
    chosen = out["models"][out["chosen_model"]]
    assert chosen["loto_fit_rows"] == [288, 288] and chosen["loto"]["n_tasks"] == 10
    assert set(chosen["loto"]["kendall"]) == {"mean", "median", "ci90"}
    assert {r["n_train_tasks"] for r in out["learning_curve"]} == {5, 8}
    # two seeds: the expected order beats a single seed against their mean, and a third seed helps more
    ceiling = out["ceiling"]
    assert ceiling["seed_mean"]["n_seeds"] == 2
    assert ceiling["mean"] < ceiling["seed_mean"]["mean"] < ceiling["seed_mean"]["next_seed"]
    html = (tmp_path / "rep" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "<script" not in html and "Learning curve" in html
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text())["chosen_model"] == out["chosen_model"]


def test_analyze_prints_whole_cells_when_piped(synth_root, tmp_path, capsys):
    main(["analyze", str(synth_root), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "…" not in out and "each fold fitted on 288..288 rows" in out and "seed vs seed" in out
    assert "expected vs 2-seed mean" in out
    assert "always-dense" in out and "Learning curve" in out and "Report:" in out
    prose = [line for line in out.splitlines() if not line.startswith(("Models: ", "Report: "))]  # paths stay whole
    assert max(len(line) for line in prose) <= 80, out  # prose folded, tables narrow


def test_recommend_json_reuses_saved_models(synth_root, capsys):
    main(["analyze", str(synth_root), "--out", str(synth_root / "report"), "--json"])
    capsys.readouterr()
    main(["recommend", "-x", "200", "-y", "8", "--budget", "50000", "--from", str(synth_root), "--top", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["refitted"] is False and len(out["configs"]) == 2
    assert {"d_hx", "d_hh", "hidden", "hidden_proportion", "predicted", "low", "high"} <= set(out["configs"][0])
    assert out["quality"].startswith(f"model {out['model']}: on 10 held-out tasks")
    assert out["nearby"]["k"] == 5 and len(set(out["nearby"]["groups"])) == 5
    main(["recommend", "-x", "200", "-y", "8", "--budget", "50000", "--from", str(synth_root)])
    text = capsys.readouterr().out
    assert "band" in text and "…" not in text and "held-out tasks Kendall tau" in text
    assert "near this request: on the 5 held-out task x budget groups nearest it (" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    first = text.splitlines()[3]  # title, header, rule, then the first config: densities, then its name
    assert first.startswith("1  ") and first.split("  ")[1].strip().endswith(")"), text


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["recommend", "-x", "1000000", "-y", "8", "--budget", "5e4"],
            "input_dim 1000000 is outside what the results can answer for (swept ",
        ),
        (["analyze"], None),
    ],
)
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
