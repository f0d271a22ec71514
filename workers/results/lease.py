"""One writer per sweep: a lease in the results root that works on local disks and object stores.

Protocol (only atomic put, list, read and delete, so it runs on every Storage backend):
1. a contender puts its own candidate `_leases/<sweep>/<token>.json` (unique name: no overwrite);
2. it lists the folder. A candidate whose heartbeat is older than `ttl` seconds, or whose driver
   ran on this host under a pid that is gone, is stale: it is deleted, with a message (take-over);
3. if any other live candidate remains, the contender deletes its own and refuses, naming the
   holder; otherwise it holds the lease and rewrites its candidate every ttl/4 (heartbeat).
Two contenders cannot both hold: with linearizable put/list (local POSIX, S3, GCS), if neither
saw the other, each one's list preceded the other's put, which contradicts put-before-list.
Two that see each other both refuse (rare; running again settles it).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

from hpsweep.workers.errors import StoreError
from hpsweep.workers.results.layout import Layout
from hpsweep.workers.results.storage import Storage

TTL_S = float(os.environ.get("HPSWEEP_LEASE_TTL", "120"))
"""A lease not refreshed for this long belongs to a dead driver (another host, or a hung one)."""


class LeaseHeld(StoreError):
    """Another live driver (or compact) holds the sweep."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Lease:
    """Context manager holding `_leases/<sweep_id>/` for one driver or compact.

    Args:
        purpose: what the holder does ("run", "compact"), shown to whoever is refused.
        echo: where take-over messages go.
    """

    def __init__(
        self, storage: Storage, layout: Layout, sweep_id: str, purpose: str = "run", echo=print, ttl: float = TTL_S
    ):
        self.storage, self.sweep_id, self.purpose, self.echo, self.ttl = storage, sweep_id, purpose, echo, ttl
        self.folder = layout.leases(sweep_id)
        self.token = uuid.uuid4().hex
        self.path = f"{self.folder}/{self.token}.json"
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _record(self) -> bytes:
        return json.dumps(
            {
                "holder": f"{self.purpose} on {self.host} pid {self.pid}",
                "host": self.host,
                "pid": self.pid,
                "purpose": self.purpose,
                "started": self.started,
                "heartbeat": time.time(),
            }
        ).encode()

    def _stale(self, record: dict | None) -> str | None:
        """Why a candidate is stale, or None when it is live."""
        if record is None:
            return "unreadable"
        age = time.time() - float(record.get("heartbeat", 0))
        if age > self.ttl:
            return f"last heartbeat {age:.0f} s ago"
        if record.get("host") == self.host and not _pid_alive(int(record.get("pid", -1))):
            return f"pid {record.get('pid')} on this host is gone"
        return None

    def _others(self) -> list[tuple[str, dict | None]]:
        found = []
        for f in self.storage.list(self.folder):
            if f.is_file and f.path != self.path and f.base_name.endswith(".json"):
                raw = self.storage.read_bytes(f.path)
                try:
                    found.append((f.path, json.loads(raw) if raw is not None else None))
                except ValueError:
                    found.append((f.path, None))
        return found

    def acquire(self) -> Lease:
        """Hold the lease or refuse.

        Raises:
            LeaseHeld: another live driver holds it (the message names it).
            StoreError: the root cannot be written (read-only, full disk, ...).
        """
        self.storage.put_bytes(self.path, self._record())
        live = []
        for path, record in self._others():
            why = self._stale(record)
            if why is None:
                live.append(record)
                continue
            self.storage.delete(path)
            holder = (record or {}).get("holder", os.path.basename(path))
            self.echo(f"sweep {self.sweep_id}: taking over the lease of {holder} ({why}; its driver is gone)")
        if live:
            self.storage.delete(self.path)
            first = min(live, key=lambda r: r.get("started", ""))
            raise LeaseHeld(
                f"sweep {self.sweep_id!r} is held by {first.get('holder')} since {first.get('started')}; "
                f"wait for it to end (a dead driver's lease is taken over after {self.ttl:.0f} s)"
            )
        self._beat = threading.Thread(target=self._heartbeat, name=f"lease-{self.sweep_id}", daemon=True)
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.storage.put_bytes(self.path, self._record())
            except StoreError:
                pass  # a full disk for a moment: the next beat tries again; a lease goes stale only after ttl

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
            self._beat = None
        self.storage.delete(self.path)
        self.storage.delete_dir_if_empty(self.folder)
        self.storage.delete_dir_if_empty(self.folder.rsplit("/", 1)[0])

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
