"""The dashboard's reads over real Parquet stores, through a real server on loopback: counts equal to
`hpsweep status`, `stopped` counted, live updates, one point per scored trial, errors as one line."""

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from tests.dashboard.conftest import SWEEP, with_column, write_store

COUNTS = ("planned", "ok", "diverged", "failed", "missing", "curves_missing")


def get(url):
    """(status code, JSON body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def files(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in Path(root).rglob("*"))


def test_counts_are_status_counts_and_follow_new_packs(tmp_path, served):
    store, held, _ = write_store(tmp_path / "r", hold_back=2, planned_extra=3)
    # a damaged commit: a trained pack whose curves part is gone counts as missing (curves_missing)
    curves_part = sorted((tmp_path / "r" / "curves").rglob("part-p000-*.parquet"))[0]
    curves_part.unlink()
    server = served(tmp_path / "r")
    code, o = get(server.url + "api/overview")
    assert code == 200
    row = o["sweeps"][0]
    expected = store.sweep(SWEEP).status()
    assert {k: row[k] for k in COUNTS} == {k: expected[k] for k in COUNTS}
    assert (row["planned"], row["ok"], row["missing"], row["curves_missing"]) == (123, 90, 33, 10)
    assert row["stopped"] == 0 and row["running"] is None
    version = o["version"]

    store.sweep(held[0][0]).commit(*held[0][1:])  # a pack lands while the page polls
    code, o = get(server.url + "api/overview")
    assert o["sweeps"][0]["ok"] == 100 and o["sweeps"][0]["missing"] == 23
    assert o["version"] != version
    assert {k: o["sweeps"][0][k] for k in COUNTS} == {k: store.sweep(SWEEP).status()[k] for k in COUNTS}


def test_stopped_trials_are_final_not_missing(tmp_path, served):
    store, held, _ = write_store(tmp_path / "r", hold_back=1)
    sweep, task, pack_id, attempt, trials, curves = held[0]
    stopped = with_column(trials, "status", ["stopped"] * 4 + ["ok"] * 6)
    stopped = with_column(stopped, "epochs_run", [1] * 4 + [25] * 6)
    store.sweep(sweep).commit(task, pack_id, attempt, stopped, curves)
    server = served(tmp_path / "r")
    row = get(server.url + "api/overview")[1]["sweeps"][0]
    assert (row["planned"], row["ok"], row["stopped"], row["missing"]) == (120, 116, 4, 0)
    view = get(server.url + "api/task?" + urllib.parse.urlencode({"sweep": SWEEP, "task": task}))[1]
    assert view["counts"]["stopped"] == 4
    assert view["hp"]["status"].count("stopped") == 4


def test_task_view_has_one_point_per_scored_trial_row(tmp_path, served):
    write_store(tmp_path / "r")
    import hpsweep as hs

    trials = hs.results(str(tmp_path / "r")).trials.collect()
    task = sorted(trials["task"].unique())[1]
    want = trials.filter(pl.col("task") == task)
    server = served(tmp_path / "r")
    code, v = get(server.url + "api/task?" + urllib.parse.urlencode({"sweep": SWEEP, "task": task}))
    assert code == 200
    assert v["hp"]["kind"] == "points" and v["hp"]["n"] == want.height == 40
    assert sorted(v["hp"]["trial_id"]) == sorted(want["trial_id"])
    by_id = dict(zip(want["trial_id"], want["hidden_proportion"]))
    assert all(abs(by_id[t] - x) < 1e-4 for t, x in zip(v["hp"]["trial_id"], v["hp"]["x"]))
    assert [r[10] for r in v["top"]["rows"]] == sorted((r[10] for r in v["top"]["rows"]), reverse=True)
    assert len(v["curves"]["lines"]) == 10 and v["curves"]["band"]["epoch"] == [1, 2, 3]
    assert v["curves"]["band"]["n"] == [40, 40, 40]


def test_big_scatter_is_binned_on_the_server():
    from hpsweep.sweep.dashboard.views import MAX_POINTS, hp_plot

    n = MAX_POINTS + 1
    rows = pl.DataFrame(
        {
            "hidden_proportion": [i / n for i in range(n)],
            "test_score": [(i % 97) / 97 for i in range(n)],
            "status": ["ok"] * n,
            "trial_id": [str(i) for i in range(n)],
            "hidden": [8] * n,
            "lr": [1e-3] * n,
            "seed": [0] * n,
        }
    )
    binned = hp_plot(rows)
    assert binned["kind"] == "histogram" and sum(map(sum, binned["z"])) == n
    assert hp_plot(rows.head(MAX_POINTS))["kind"] == "points"


def test_a_damaged_part_and_a_vanished_store_are_one_line_on_the_page(tmp_path, served):
    store, held, _ = write_store(tmp_path / "r", hold_back=1)
    server = served(tmp_path / "r")
    assert get(server.url + "api/overview")[0] == 200
    bad = Path(store.sweep(held[0][0]).write_part("trials", held[0][1], "p999-a1", held[0][4]))
    bad.write_bytes(b"not parquet at all")
    code, o = get(server.url + "api/overview")
    assert code == 400 and o["error"].startswith("Error: ") and "\n" not in o["error"]
    assert "is not a readable Parquet file" in o["error"] and "move it out of the results root" in o["error"]
    bad.unlink()  # repaired: the same server reads again
    assert get(server.url + "api/overview")[1]["sweeps"][0]["ok"] == 110

    shutil.rmtree(tmp_path / "r")
    code, o = get(server.url + "api/overview")
    assert code == 400 and o["error"] == (
        f"Error: results {str(tmp_path / 'r')!r} do not exist; give the folder that "
        f"`hpsweep run --results` wrote (default hpsweep-results)"
    )
    with urllib.request.urlopen(server.url, timeout=30) as r:  # the server keeps serving the page
        assert r.status == 200 and b"hpsweep" in r.read()


def test_nothing_is_written_and_nothing_but_known_names_is_read(tmp_path, served):
    write_store(tmp_path / "r")
    before = files(tmp_path / "r")
    server = served(tmp_path / "r")
    get(server.url + "api/overview")
    task_of = lambda t: server.url + "api/task?" + urllib.parse.urlencode({"sweep": SWEEP, "task": t})  # noqa: E731
    assert get(task_of("../../etc/passwd")) == (
        400,
        {"error": f"Error: sweep {SWEEP} has no trials of task '../../etc/passwd' yet"},
    )
    code, body = get(server.url + "api/task?" + urllib.parse.urlencode({"sweep": "../x", "task": "t"}))
    assert code == 400 and body["error"].startswith("Error: results ") and "hold no sweep '../x'" in body["error"]
    get(server.url + "api/recommend?x=8&y=4&budget=1000")
    request = urllib.request.Request(server.url + "api/overview", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=30)
    assert e.value.code == 405
    assert files(tmp_path / "r") == before


@pytest.mark.parametrize(
    "form, line",
    [
        (
            {"x": "abc", "y": "4", "budget": "1000"},
            "Error: Invalid value for '--input-dim' / '-x': 'abc' is not a valid integer.",
        ),
        ({"x": "8", "y": "", "budget": "1000"}, "Error: Missing option '--output-dim' / '-y'."),
        (
            {"x": "8", "y": "4", "budget": "lots"},
            "Error: Invalid value for '--budget' / '-P': 'lots' is not a valid float.",
        ),
        ({"x": "0", "y": "4", "budget": "1000"}, None),  # the CLI's own line for a bad dim, compared below
        ({"x": "8", "y": "4", "budget": "-5"}, "Error: budget must be a positive number of weights; got -5.0"),
        (
            {"x": "8", "y": "4", "budget": "1000", "kind": "clf"},
            "Error: Invalid value for '--kind': 'clf' is not one of 'classification', 'regression'.",
        ),
    ],
)
def test_recommend_form_errors_are_the_cli_lines(tmp_path, served, capsys, form, line):
    from hpsweep.sweep.cli import main

    write_store(tmp_path / "r")
    server = served(tmp_path / "r")
    code, body = get(server.url + "api/recommend?" + urllib.parse.urlencode(form))
    args = ["recommend", "-x", form["x"], "--budget", form["budget"], "--from", str(tmp_path / "r")]
    args += ["-y", form["y"]] if form["y"] else []
    args += ["--kind", form["kind"]] if "kind" in form else []
    with pytest.raises(SystemExit):
        main(args)
    cli_line = capsys.readouterr().err.strip().splitlines()[-1]
    # the page's line is the CLI's, less the pointer to `--help` that the CLI adds to usage errors
    assert code == 400 and cli_line in (body["error"], f"{body['error']} (see: hpsweep recommend --help)")
    if line is not None:
        assert body["error"] == line


def test_recommend_without_an_analysis_says_how_to_get_one(tmp_path, served):
    write_store(tmp_path / "r")
    server = served(tmp_path / "r")
    code, body = get(server.url + "api/recommend?x=8&y=4&budget=1000")
    root = str(tmp_path / "r")
    assert (code, body["error"]) == (
        400,
        f"Error: results {root!r} hold no analysis of the results as they are now; run: hpsweep analyze {root}",
    )
    assert not (tmp_path / "r" / "models").exists()


def test_with_a_saved_analysis_the_verdict_and_recommend_match_the_cli(tmp_path, served):
    import hpsweep as hs

    write_store(tmp_path / "r", n_tasks=4, per_task=60)
    result = hs.analyze(str(tmp_path / "r"))
    server = served(tmp_path / "r")
    analysis = get(server.url + "api/overview")[1]["analysis"]
    assert analysis["model"] == result.chosen
    tau = result.models[result.chosen]["loto"]["kendall"]["mean"]
    assert f"Kendall tau {tau:.2f}" in analysis["headline"]
    x, y, budget = result.swept["input_dim"][0], result.swept["output_dim"][0], round(result.swept["budget"][0] * 1.5)
    code, body = get(server.url + "api/recommend?" + urllib.parse.urlencode({"x": x, "y": y, "budget": budget}))
    assert code == 200, body
    want = hs.recommend(str(tmp_path / "r"), x, y, budget)
    assert [r[body["columns"].index("config")] for r in body["rows"]] == want["config"].to_list()
    assert len(body["rows"]) == 5
    assert body["verdict"] == want.verdict["sentence"]  # the CLI's sentence under the table
    assert body["nearby"] == want.nearby["sentence"]


def test_an_s3_store_is_served_like_a_local_one(tmp_path, served, s3_server):
    from tests.dashboard.conftest import write_store as write

    uri = f"s3://results/dash?endpoint_override=127.0.0.1:{s3_server}&scheme=http"
    store, held, tables = write(uri, hold_back=1)
    server = served(uri)
    row = get(server.url + "api/overview")[1]["sweeps"][0]
    assert (row["planned"], row["ok"], row["missing"]) == (120, 110, 10)
    store.sweep(held[0][0]).commit(*held[0][1:])
    assert get(server.url + "api/overview")[1]["sweeps"][0]["ok"] == 120
    task = held[0][1]
    view = get(server.url + "api/task?" + urllib.parse.urlencode({"sweep": SWEEP, "task": task}))[1]
    assert view["hp"]["n"] == tables[task].num_rows and view["curves"]["band"]["n"] == [40, 40, 40]
