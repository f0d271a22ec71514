"""The dashboard in a real browser (Debian's headless Chromium driven by Playwright) while a real
`hpsweep run` writes the store: the counts move to planned without a reload, a task opens with one
drawn point per trial row, and a bad recommend input shows the CLI's line. Screenshots go to the
test's temp folder."""

import os
import shutil
import subprocess
import sys
import time

import polars as pl
import pytest

from hpsweep.sweep.faults import PackFault
from tests.sweep.sweep_helpers import pack_ids, spec_file

CHROMIUM = os.environ.get("HPSWEEP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SPEC = {
    "name": "live",
    "tasks": [
        {
            "task": "teacher(x=8,y=4,t=10,n_train=200,n_val=50,n_test=50)",
            "hidden": [8, 16],
            "densities": {"uniform": [1.0, 0.5, 0.25]},
        }
    ],
    "training": {"epochs": 2, "seeds": [0]},
    "pack": {"max_models": 2},
}
TIMEOUT_MS = 120_000


def browser_or_skip():
    playwright = pytest.importorskip("playwright.sync_api")  # a test extra: installed with .[test]
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return playwright


def wait_for(predicate, what, timeout_s=120.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_live_sweep_in_the_browser(tmp_path, inject, capsys, ray_local):
    sync = browser_or_skip()
    spec = spec_file(tmp_path, SPEC)
    hold = tmp_path / "hold"
    hold.mkdir()
    last = pack_ids(spec)[-1]
    inject({last: PackFault(hold=str(hold))})  # the last pack waits at its start until the test releases it
    results = tmp_path / "results"
    # the sweep joins the session's Ray (as `hpsweep run` does under RAY_ADDRESS) instead of starting its own
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_ADDRESS": ray_local.get_runtime_context().gcs_address}
    run = subprocess.Popen(
        [sys.executable, "-m", "hpsweep.sweep.cli", "run", spec, "--results", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    dash = None
    try:
        wait_for(
            lambda: (results / "sweeps" / "live" / "spec.yaml").exists() or run.poll() is not None, "the sweep to start"
        )
        dash = subprocess.Popen(
            [sys.executable, "-m", "hpsweep.sweep.cli", "dashboard", str(results), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        line = dash.stdout.readline()
        assert " at http://127.0.0.1:" in line, line + dash.stdout.read()
        url = line.split(" at ", 1)[1].split()[0]
        with sync.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            ok = page.locator('td[data-sweep="live"][data-col="ok"]')
            planned = page.locator('td[data-sweep="live"][data-col="planned"]')
            sync.expect(planned).to_have_text("6")
            page.evaluate("window.loadedOnce = true")  # gone if the page reloads
            # every pack but the held one commits; the page shows it while the sweep still runs
            wait_for(lambda: last in {h.split("@")[0] for h in os.listdir(hold)}, "the last pack to reach its hold")
            sync.expect(ok).to_have_text("4")
            sync.expect(page.locator('td[data-sweep="live"][data-col="missing"]')).to_have_text("2")
            page.screenshot(path=str(tmp_path / "running.png"), full_page=True)
            (hold / "release").touch()
            sync.expect(ok).to_have_text("6")
            sync.expect(page.locator('td[data-sweep="live"][data-col="missing"]')).to_have_text("0")
            assert page.evaluate("window.loadedOnce") is True, "the page reloaded"
            assert run.wait(timeout=120) == 0

            # open the task: the HP plot draws one point per trial row of that task
            import hpsweep as hs

            trials = hs.results(str(results)).trials.collect()
            task = trials["task"][0]
            page.locator(f'.task-link[data-task="{task}"]').click()
            points = page.locator("#hp-plot .scatterlayer .point")
            sync.expect(points).to_have_count(trials.filter(pl.col("task") == task).height)
            assert trials.filter(pl.col("task") == task).height == 6
            sync.expect(page.locator("#top-configs tbody tr")).to_have_count(6)
            sync.expect(page.locator("#curves-plot .scatterlayer .trace")).not_to_have_count(0)

            # a bad recommend input: the line `hpsweep recommend` prints
            page.fill("#rec-x", "abc")
            page.fill("#rec-y", "4")
            page.fill("#rec-budget", "1000")
            page.click("#recommend-form button")
            error = page.locator("#recommend-error")
            sync.expect(error).to_be_visible()
            from hpsweep.sweep.cli import main

            with pytest.raises(SystemExit):
                main(["recommend", "-x", "abc", "-y", "4", "--budget", "1000", "--from", str(results)])
            cli_line = capsys.readouterr().err.strip().splitlines()[-1]
            # the page says what the CLI says, less the CLI's pointer to its --help
            assert error.inner_text() == (
                "Error: Invalid value for '--input-dim' / '-x': 'abc' is not a valid integer."
            )
            assert cli_line == f"{error.inner_text()} (see: hpsweep recommend --help)"
            page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
            assert errors == []
            browser.close()
    finally:
        for proc in (run, dash):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
