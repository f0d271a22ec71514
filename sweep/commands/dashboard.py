"""`hpsweep dashboard RESULTS`: a live page over a results store, in the browser."""

from __future__ import annotations

import click

from hpsweep.sweep.commands._types import results_argument
from hpsweep.sweep.dashboard.server import DEFAULT_PORT


@click.command("dashboard")
@results_argument
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to serve on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback serves the page to the network.",
)
def dashboard(results, port, host):
    """Serve a live, read-only dashboard of RESULTS (a directory or URI) at http://HOST:PORT/.

    It shows every sweep's progress (planned / ok / diverged / failed / missing, models per second,
    ETA, best score), per task the score against hidden proportion and each block's density,
    learning curves, the top configs and a parallel-coordinates view; with a saved analysis, its
    verdict and a recommend form. The page refreshes itself while `hpsweep run` writes.

    Example: hpsweep dashboard hpsweep-results
    """
    from hpsweep.sweep.dashboard.server import serve

    serve(results, host=host, port=port, echo=click.echo)
