"""Benchmark (not a test): `hpsweep dashboard` over 100,000 trial rows and 1,000,000 curve rows.

Writes a synthetic sweep through the results store (20 tasks, packs of 500 models, 10 epochs of
curves each, real Parquet in the real layout, the last pack held back), starts the real CLI
(`hpsweep dashboard ROOT --port 0`) as a child process, then times what the page asks for:

- first page: GET /, app.js, style.css, plotly.min.js, /api/overview and the biggest task's view
  (a cold server: nothing cached beyond what start-up read);
- live update: the held-back pack is committed, then the page's next /api/overview (which sees
  the new pack) and the reload of that task's view;
- the server's peak resident memory (VmHWM), read from /proc.

With --browser (needs Chromium and Playwright), it also times the real page in headless Chromium:
from navigation to the sweep counts shown; after a click on a task (5,000 trials), until its HP plot is
drawn, and until the parallel coordinates (WebGL, drawn last) are.

    python bench/dashboard_bench.py [--trials 100000] [--epochs 10] [--keep DIR] [--browser]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpsweep.analysis.synthetic import default_tasks, make_table  # noqa: E402
from hpsweep.workers.results import ResultsStore  # noqa: E402
from hpsweep.workers.schema import CURVES_SCHEMA, SCHEMA_VERSION  # noqa: E402

SWEEP = "bench"
PACK = 500


def curves_of(trials: pa.Table, epochs: int, rng: np.random.Generator) -> pa.Table:
    n = trials.num_rows
    final = np.asarray(trials["val_score"].to_numpy(zero_copy_only=False), dtype=float)
    epoch = np.tile(np.arange(1, epochs + 1), n)
    frac = epoch / epochs
    val = np.repeat(final, epochs) * (0.4 + 0.6 * frac) + rng.normal(0, 0.01, n * epochs)
    cols = {
        "schema_version": np.full(n * epochs, SCHEMA_VERSION),
        "sweep_id": [SWEEP] * (n * epochs),
        "trial_id": np.repeat(np.asarray(trials["trial_id"].to_pylist(), dtype=object), epochs),
        "task": np.repeat(np.asarray(trials["task"].to_pylist(), dtype=object), epochs),
        "epoch": epoch,
        "train_loss": 1.0 - val + 0.05,
        "val_loss": 1.0 - val,
        "val_score": val,
    }
    return pa.Table.from_arrays([pa.array(cols[f.name], type=f.type) for f in CURVES_SCHEMA], schema=CURVES_SCHEMA)


def build(root: Path, n_trials: int, epochs: int) -> tuple[ResultsStore, list]:
    """Write the sweep minus its last pack; returns the store and the held-back pack's arguments."""
    tasks = default_tasks(20, seed=1)
    per_task = n_trials // len(tasks)
    store = ResultsStore(str(root))
    tables = [make_table(t, per_task, sweep_id=SWEEP, seed=i) for i, t in enumerate(tasks)]
    plan = pa.table(
        {
            "trial_id": pa.concat_arrays([t["trial_id"].combine_chunks() for t in tables]),
            "task": pa.concat_arrays([t["task"].combine_chunks() for t in tables]),
        }
    )
    store.sweep(SWEEP).save(f"name: {SWEEP}\nspec_hash: bench0001\n", "bench0001", plan)
    rng = np.random.default_rng(0)
    packs = []
    for task, table in zip(tasks, tables):
        for start in range(0, table.num_rows, PACK):
            part = table.slice(start, PACK)
            pack_id = f"p{len(packs):05d}"
            part = part.set_column(
                part.schema.get_field_index("pack_id"), "pack_id", pa.array([pack_id] * part.num_rows, pa.string())
            )
            packs.append((SWEEP, task.name, pack_id, 1, part, curves_of(part, epochs, rng)))
    for args in packs[:-1]:
        store.sweep(args[0]).commit(*args[1:])
    return store, packs[-1]


def get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - start, body


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser_times(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("HPSWEEP_CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--enable-unsafe-swiftshader"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector("td[data-col=ok]")
        counts = time.perf_counter() - start
        page.wait_for_function("window.Plotly !== undefined")
        start = time.perf_counter()
        page.locator(".task-link").first.click()
        page.wait_for_function("document.getElementById('hp-plot').dataset.points > 0")
        task = time.perf_counter() - start
        page.wait_for_function("document.getElementById('parcoords-plot').dataset.drawn === '1'", timeout=120_000)
        parcoords = time.perf_counter() - start
        browser.close()
    return {
        "browser_counts_s": round(counts, 3),
        "browser_task_s": round(task, 3),
        "browser_parcoords_s": round(parcoords, 3),
    }


def run(root: Path, n_trials: int, epochs: int, browser: bool) -> dict:
    start = time.perf_counter()
    store, held_back = build(root, n_trials, epochs)
    generate = time.perf_counter() - start
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpsweep.sweep.cli", "dashboard", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        ready = time.perf_counter() - start
        if "http://" not in line:
            raise SystemExit(f"the dashboard did not start: {line}{proc.stdout.read()}")
        url = line.split(" at ", 1)[1].split()[0]
        page = {}
        for path in ("", "static/app.js", "static/style.css", "static/plotly.min.js", "api/overview"):
            page[path or "/"] = get(url + path)
        overview = json.loads(page["api/overview"][1])
        task = held_back[1]
        task_url = f"{url}api/task?" + urllib.parse.urlencode({"sweep": SWEEP, "task": task})
        page["task"] = get(task_url)
        first_page = sum(t for t, _ in page.values())
        ok_before = overview["sweeps"][0]["ok"]
        store.sweep(held_back[0]).commit(*held_back[1:])
        t_overview, body = get(url + "api/overview")
        ok_after = json.loads(body)["sweeps"][0]["ok"]
        t_task, _ = get(task_url)
        result = {
            "trial_rows": ok_after,
            "curve_rows": ok_after * epochs,
            "generate_s": round(generate, 1),
            "server_ready_s": round(ready, 2),
            "first_page_s": round(first_page, 3),
            "first_page_parts_s": {k: round(t, 3) for k, (t, _) in page.items()},
            "live_update_s": round(t_overview + t_task, 3),
            "live_overview_s": round(t_overview, 3),
            "live_task_s": round(t_task, 3),
            "ok_before": ok_before,
            "ok_after": ok_after,
            "task_json_kb": round(len(page["task"][1]) / 1024, 1),
        }
        if browser:
            result.update(browser_times(url))
        result["server_peak_rss_mb"] = round(peak_rss_mb(proc.pid), 1)
        result["loadavg"] = [round(v, 2) for v in os.getloadavg()]
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="write the results here and keep them")
    parser.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    args = parser.parse_args()
    if args.keep:
        out = run(args.keep, args.trials, args.epochs, args.browser)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = run(Path(tmp) / "results", args.trials, args.epochs, args.browser)
    print(json.dumps(out))
    print(
        f"{out['trial_rows']:,} trial rows, {out['curve_rows']:,} curve rows: first page {out['first_page_s']:.2f} s, "
        f"live update {out['live_update_s']:.2f} s, server peak {out['server_peak_rss_mb']:.0f} MB "
        f"(load average {out['loadavg'][0]})"
    )
