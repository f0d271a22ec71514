"""Start the dashboard: check the store and the port first (one line on failure), then serve with uvicorn.

The socket is bound here, before uvicorn starts, so a port in use is the caller's one-line error
rather than a log message of a server that already said it started.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable

from hpsweep.workers.errors import HpsweepError

DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DashboardError(HpsweepError):
    """The dashboard cannot start: a port in use, an address that cannot be bound."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one).

    Raises:
        DashboardError: the port is in use, or the address is not one of this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise DashboardError(
                f"port {port} on {host} is in use; pick another with --port (e.g. --port "
                f"{port + 1}), or --port 0 for any free port"
            ) from None
        if isinstance(e, socket.gaierror) or e.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise DashboardError(
                f"--host {host!r:.60} is not an address of this machine; use 127.0.0.1 (the "
                f"default) or one of its own addresses"
            ) from None
        if e.errno == errno.EACCES:
            raise DashboardError(
                f"port {port} needs privileges on this machine; use a port above 1023 (default {DEFAULT_PORT})"
            ) from None
        raise DashboardError(f"cannot listen on {host}:{port} ({e.strerror or e}); try another --port") from None
    return sock


class DashboardServer:
    """A checked store and a bound socket, ready to serve. `url` is where the page is.

    Raises (on construction):
        StoreError: the results do not exist, hold no sweeps, or cannot be read.
        DashboardError: the port is in use or the host cannot be bound.
    """

    def __init__(self, results: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT, refresh_s: float = 2.0):
        import uvicorn

        from hpsweep.sweep.dashboard.app import create_app

        app = create_app(results, refresh_s)
        dashboard = app.state.dashboard
        dashboard.source.check()
        dashboard.overview()  # reads every sweep once: an unreadable store fails here, and the cache is warm
        self.sock = bind(host, port)
        self.host, self.port = host, self.sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until Ctrl-C (uvicorn's own signal handling stops it cleanly)."""
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def start(self) -> DashboardServer:
        """Serve in a background thread (notebooks, tests); stop() ends it. (uvicorn takes the signals only
        in the main thread, so Ctrl-C stays the notebook's.)"""
        self._thread = threading.Thread(target=self.run, name="hpsweep-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve(
    results: str,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    block: bool = True,
    echo: Callable[[str], None] | None = print,
    refresh_s: float = 2.0,
) -> DashboardServer:
    """Check, bind, say where, then serve (block) or start in the background (block=False)."""
    server = DashboardServer(results, host, port, refresh_s)
    say = echo or (lambda *_: None)
    if not is_loopback(host):
        say(
            f"warning: --host {host} serves the results to every machine that can reach this one; the page has no "
            f"login (the default 127.0.0.1 serves this machine only)"
        )
    say(f"dashboard of {results} at {server.url}  (live: refreshes every {refresh_s:g} s; Ctrl-C stops it)")
    if not block:
        return server.start()
    server.run()
    return server
