"""Fault injection for tests: packs that raise, or run out of memory, on purpose.

The production path carries nothing for this: the driver and the pack jobs know no test field.
A test writes a fault plan with `install` into the file named by HPSWEEP_FAULTS (tests/conftest.py
sets it for the whole session before Ray starts, so every Ray worker inherits it; a subprocess
gets it in its environment). The pack runner asks `for_pack(pack_id)` at the start of each
attempt; without the variable that is one environment lookup and nothing is read.

The plan is JSON, by pack id:

    {"<pack_id>": {"raise_times": 1, "oom_above": 2}, ...}

`raise_times` n: the pack raises RuntimeError on its attempts 1..n (retries, failed packs).
`oom_above` m: the pack raises torch.OutOfMemoryError whenever it trains more than m models at
once (0: even one), so out-of-memory splitting is tested on a CPU.
`hold` DIR: on its first attempt the pack writes DIR/<pack_id>@<node id> just before training and
waits there until DIR/release exists, so a test can act while packs are known to be in flight
(remove a node, kill a driver) and synchronise on that file instead of sleeping.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

FAULTS_ENV = "HPSWEEP_FAULTS"


@dataclass(frozen=True)
class PackFault:
    """What one pack is made to do wrong."""

    raise_times: int = 0
    oom_above: int | None = None
    hold: str | None = None

    def before_attempt(self, pack_id: str, attempt: int) -> None:
        """Raises RuntimeError on the pack's attempts 1..raise_times."""
        if attempt <= self.raise_times:
            raise RuntimeError(f"injected failure ({FAULTS_ENV}) in pack {pack_id}, attempt {attempt}")

    def before_training(self, pack_id: str, models: int) -> None:
        """Raises torch.OutOfMemoryError when more than oom_above models train at once."""
        if self.oom_above is not None and models > self.oom_above:
            import torch

            raise torch.OutOfMemoryError(
                f"injected out of memory ({FAULTS_ENV}): {models} models at once in pack "
                f"{pack_id}, at most {self.oom_above} fit"
            )

    def hold_point(self, pack_id: str, attempt: int, timeout_s: float = 120.0) -> None:
        """On attempt 1 with `hold` set: say where this pack is, then wait for DIR/release.

        Raises:
            TimeoutError: no release within timeout_s (a test that forgot to release).
        """
        if self.hold is None or attempt != 1:
            return
        import time

        node = "local"
        try:
            import ray

            if ray.is_initialized():
                node = ray.get_runtime_context().get_node_id()
        except ImportError:
            pass
        Path(self.hold, f"{pack_id}@{node}").touch()
        deadline = time.monotonic() + timeout_s
        release = Path(self.hold, "release")
        while not release.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"pack {pack_id} held for {timeout_s:g} s without release ({FAULTS_ENV})")
            time.sleep(0.02)


def held(hold: str) -> dict[str, str]:
    """pack_id -> node id of the packs waiting at the hold point now (or that waited there)."""
    return dict(p.name.split("@", 1) for p in Path(hold).glob("*@*"))


def release(hold: str) -> None:
    """Let every held pack go on (and later packs pass the hold point without stopping)."""
    Path(hold, "release").touch()


NO_FAULT = PackFault()


def for_pack(pack_id: str) -> PackFault:
    """The fault planned for this pack (NO_FAULT when none, or when no plan is installed)."""
    path = os.environ.get(FAULTS_ENV)
    if not path or not os.path.exists(path):
        return NO_FAULT
    plan = json.loads(Path(path).read_text() or "{}")
    return PackFault(**plan[pack_id]) if pack_id in plan else NO_FAULT


def install(faults: dict[str, PackFault], path: str | None = None) -> str:
    """Write the fault plan (replacing any earlier one) where workers read it; returns the path.

    Args:
        faults: pack_id -> PackFault.
        path: the plan file; default: the one HPSWEEP_FAULTS names.

    Raises:
        RuntimeError: no path given and HPSWEEP_FAULTS unset.
    """
    path = path or os.environ.get(FAULTS_ENV)
    if not path:
        raise RuntimeError(f"{FAULTS_ENV} is not set: set it before Ray starts (tests/conftest.py does)")
    import pyarrow.fs as pafs

    from hpsweep.workers.results.storage import atomic_write

    plan = json.dumps({pid: vars(f) for pid, f in faults.items()}).encode()
    # a worker reading mid-write sees the old plan or the new one, never half
    atomic_write(pafs.LocalFileSystem(), os.path.abspath(path), lambda f: f.write(plan))
    return path


def clear(path: str | None = None) -> None:
    """Remove the fault plan: every pack runs normally again."""
    path = path or os.environ.get(FAULTS_ENV)
    if path and os.path.exists(path):
        os.remove(path)
