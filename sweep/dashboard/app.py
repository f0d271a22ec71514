"""The dashboard's web app (Starlette): one page, its own script and style, plotly.js, three JSON reads.

Every route is a GET and none writes. The page passes only a sweep id, a task name (both looked
up among what the store holds, never used as a path) and the recommend form's three numbers.
Whatever goes wrong while reading (a store that disappeared, a damaged part, a bug) comes back as
{"error": one line} and the page shows it; the server keeps serving.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from hpsweep.sweep.dashboard import views
from hpsweep.sweep.dashboard.source import StoreSource
from hpsweep.workers.errors import HpsweepError

STATIC = Path(__file__).with_name("static")
log = logging.getLogger("hpsweep.dashboard")


def plotly_js() -> Path:
    """plotly.min.js as the installed plotly package ships it (never a CDN)."""
    import plotly

    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


@functools.lru_cache(maxsize=1)
def compressed_plotly() -> bytes:
    return gzip.compress(plotly_js().read_bytes(), compresslevel=6)


def _error_line(e: BaseException) -> str:
    if isinstance(e, HpsweepError):
        return f"Error: {e}"
    log.exception("dashboard: unexpected error while reading the results")
    first = (str(e).strip().splitlines() or [""])[0][:200]
    return f"Error: could not read the results ({type(e).__name__}{': ' + first if first else ''}); the page retries"


def _json(data: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


class Dashboard:
    """The app's state: one StoreSource and the keys of what each sweep's last listing was."""

    def __init__(self, results: str, refresh_s: float = 2.0):
        self.results = str(results)
        self.source = StoreSource(self.results)
        self.refresh_s = refresh_s
        self._rows: dict[str, tuple] = {}  # sweep -> ((listing key, running), its overview row)

    def overview(self) -> dict:
        started = time.perf_counter()
        self.source.store.require_root()
        sweeps = self.source.sweeps()
        rows, keys = [], []
        for sweep in sweeps:
            listing = self.source.listing(sweep)
            keys.append((sweep, self.source.key(listing)))
            running = self.source.running(sweep)
            cache_key = (keys[-1][1], running)
            if self._rows.get(sweep, (None,))[0] != cache_key:  # an idle sweep costs one listing per poll
                status = self.source.status(sweep, listing)
                self._rows[sweep] = (cache_key, views.sweep_row(status, self.source.trials(sweep, listing), running))
            rows.append(self._rows[sweep][1])
        version = hashlib.sha256(repr(keys).encode()).hexdigest()[:16]
        analysis = None
        try:
            bundle = self.source.analysis()
        except HpsweepError:
            bundle = None
        if bundle is not None:
            from hpsweep.analysis.verdict import verdict

            analysis = verdict(bundle)
        return {
            "results": self.results,
            "version": version,
            "sweeps": rows,
            "analysis": analysis,
            "refresh_s": self.refresh_s,
            "seconds": round(time.perf_counter() - started, 3),
        }

    def task(self, sweep: str, task: str) -> dict:
        if sweep not in self.source.sweeps():
            return {"error": f"Error: results {self.results!r:.100} hold no sweep {sweep!r:.100}"}
        listing = self.source.listing(sweep)
        trials = self.source.trials(sweep, listing)
        if task not in set(trials["task"].unique().to_list()):
            return {"error": f"Error: sweep {sweep} has no trials of task {task!r:.100} yet"}
        view, best = views.task_view(trials, task)
        curves = self.source.curves(sweep, task, best["trial_id"].to_list(), listing)
        view["curves"] = views.curves_view(self.source.curve_band(sweep, task, listing), best, curves)
        view["sweep"] = sweep
        return view

    def recommend(self, raw: dict) -> dict:
        from hpsweep.sweep.dashboard.form import parse_recommend

        x, y, budget, kind = parse_recommend(raw)
        table, bundle, verdict, near = self.source.recommend(x, y, budget, top=5, kind=kind)
        cols = [
            c
            for c in (
                "rank",
                "config",
                *views.DENSITY_COLUMNS,
                "hidden",
                "hidden_proportion",
                "predicted",
                "low",
                "high",
                "score",
                "score_low",
                "score_high",
            )
            if c in table.columns
        ]
        return {
            "model": bundle["chosen"],
            "columns": cols,
            "rows": [[views.number(r[c]) for c in cols] for r in table.iter_rows(named=True)],
            "request": {"input_dim": x, "output_dim": y, "budget": budget, "kind": kind},
            "verdict": verdict["sentence"],
            "nearby": near["sentence"] if near else None,
        }


def create_app(results: str, refresh_s: float = 2.0) -> Starlette:
    """The ASGI app over a results root (checked by the caller; see commands/dashboard.py)."""
    state = Dashboard(results, refresh_s)

    def guarded(fn):
        def endpoint(request: Request):
            try:
                data = fn(request)
            except Exception as e:  # noqa: BLE001 - shown on the page as one line; the server keeps running
                return _json({"error": _error_line(e)}, 400 if isinstance(e, HpsweepError) else 500)
            return _json(data, 400 if "error" in data else 200)

        return endpoint

    def index(request: Request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def asset(name: str, media: str):
        def serve(request: Request):
            return FileResponse(STATIC / name, media_type=media, headers={"Cache-Control": "no-cache"})

        return serve

    plotly_gz = threading.Thread(target=compressed_plotly, daemon=True)
    plotly_gz.start()  # gzip it once, off the request path: the middleware would redo it per request

    def plotly(request: Request):
        headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(
                compressed_plotly(), media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"}
            )
        return FileResponse(plotly_js(), media_type="text/javascript", headers=headers)

    routes = [
        Route("/", index),
        Route("/static/app.js", asset("app.js", "text/javascript")),
        Route("/static/style.css", asset("style.css", "text/css")),
        Route("/static/plotly.min.js", plotly),
        Route("/api/overview", guarded(lambda r: state.overview())),
        Route(
            "/api/task", guarded(lambda r: state.task(r.query_params.get("sweep", ""), r.query_params.get("task", "")))
        ),
        Route("/api/recommend", guarded(lambda r: state.recommend(dict(r.query_params)))),
        Route("/favicon.ico", lambda r: Response(status_code=204)),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)])
    app.state.dashboard = state
    return app
