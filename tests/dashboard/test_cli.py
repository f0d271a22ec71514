"""`hpsweep dashboard` refuses what it cannot serve with one line and a non-zero exit, before serving."""

import socket

import pytest

from hpsweep.sweep.cli import main
from tests.dashboard.conftest import write_store


def error_of(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code != 0 and "Traceback" not in err
    return err


def test_missing_results(tmp_path, capsys):
    root = str(tmp_path / "nope")
    assert error_of(capsys, ["dashboard", root]) == (
        f"Error: results {root!r} do not exist; give the folder that "
        f"`hpsweep run --results` wrote (default hpsweep-results)"
    )


def test_results_without_sweeps(tmp_path, capsys):
    root = str(tmp_path)
    assert error_of(capsys, ["dashboard", root]) == (
        f"Error: results {root!r} hold no sweeps; run one with: hpsweep run --results {root}"
    )


def test_unreadable_results(tmp_path, capsys):
    store, held, _ = write_store(tmp_path / "r", hold_back=1)
    path = store.sweep(held[0][0]).write_part("trials", held[0][1], "p999-a1", held[0][4])
    open(path, "wb").write(b"garbage")
    err = error_of(capsys, ["dashboard", str(tmp_path / "r"), "--port", "0"])
    assert err.startswith("Error: trials/sweep=synthetic/") and "is not a readable Parquet file" in err
    assert len(err.splitlines()) == 1


def test_port_in_use(tmp_path, capsys):
    write_store(tmp_path / "r")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        err = error_of(capsys, ["dashboard", str(tmp_path / "r"), "--port", str(port)])
    assert err == (
        f"Error: port {port} on 127.0.0.1 is in use; pick another with --port (e.g. --port {port + 1}), "
        f"or --port 0 for any free port"
    )


def test_bad_port_and_host(tmp_path, capsys):
    write_store(tmp_path / "r")
    assert "Invalid value for '--port'" in error_of(capsys, ["dashboard", str(tmp_path / "r"), "--port", "70000"])
    assert error_of(capsys, ["dashboard", str(tmp_path / "r"), "--host", "192.0.2.1", "--port", "0"]) == (
        "Error: --host '192.0.2.1' is not an address of this machine; use 127.0.0.1 (the default) or one of its own "
        "addresses"
    )


def test_loopback_by_default_and_a_warning_for_any_other_host(tmp_path):
    from hpsweep.sweep.dashboard.server import serve

    write_store(tmp_path / "r")
    said = []
    server = serve(str(tmp_path / "r"), port=0, block=False, echo=said.append)
    try:
        assert server.sock.getsockname()[0] == "127.0.0.1"
        assert said == [
            f"dashboard of {tmp_path / 'r'} at http://127.0.0.1:{server.port}/  (live: refreshes every 2 s; "
            f"Ctrl-C stops it)"
        ]
    finally:
        server.stop()
    said.clear()
    server = serve(str(tmp_path / "r"), host="0.0.0.0", port=0, block=False, echo=said.append)
    try:
        assert said[0].startswith("warning: --host 0.0.0.0 serves the results to every machine that can reach this one")
    finally:
        server.stop()


def test_python_api(tmp_path):
    import urllib.request

    import hpsweep as hs

    write_store(tmp_path / "r")
    server = hs.dashboard(str(tmp_path / "r"), port=0, block=False, echo=None)
    try:
        with urllib.request.urlopen(server.url + "api/overview", timeout=30) as r:
            assert b'"planned":120' in r.read()
    finally:
        server.stop()
