"""The static report of `analyze`, opened in headless Chromium at 1400 px: nothing runs off the right
edge, the verdict comes first, no cell reads "None", and the task labels of the regret plot are
one per row (a horizontal chart) rather than rotated under the bars."""

import json

import pytest

from tests.analysis.conftest import synth_result, synth_root  # noqa: F401  the session's analysis
from tests.dashboard.test_browser import CHROMIUM, browser_or_skip


@pytest.fixture(scope="module")
def report(synth_root, synth_result, tmp_path_factory):
    """The report of the analysis tests' session analysis (10 synthetic tasks), written as `analyze` writes it."""
    from hpsweep.analysis.report import write_report

    out = tmp_path_factory.mktemp("report")
    write_report(synth_result, out, synth_root)
    return out


def test_report_reads_at_1400_px(report, capsys):
    sync = browser_or_skip()
    capsys.readouterr()
    metrics = json.loads((report / "metrics.json").read_text())
    html = (report / "report.html").read_text()
    assert "None" not in html and "<script" not in html and html.count("data:image/png;base64,") == 4
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto((report / "report.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400
        first = page.locator("section").first
        assert first.locator("h2").inner_text() == "Verdict"
        headline = first.locator(".headline").inner_text()
        chosen = metrics["chosen_model"]
        tau = metrics["models"][chosen]["loto"]["kendall"]["mean"]
        assert headline.startswith(
            f"recommend uses {chosen}: on 10 held-out tasks it orders configs with Kendall tau {tau:.2f}"
        )
        assert "noise ceiling" in headline and "always-dense" in headline
        # the verdict is on the first screen
        assert first.bounding_box()["y"] + first.bounding_box()["height"] < 900
        cells = page.locator("td").all_inner_texts()
        assert cells and all(c.strip() not in ("None", "nan", "null") for c in cells)
        for table in page.locator("table").all():  # each table fits inside its section
            assert table.bounding_box()["width"] <= 1400 - 2 * 24
        page.screenshot(path=str(report / "report.png"), full_page=True)
        browser.close()
