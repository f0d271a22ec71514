"""Exactly-once commits of packs, and the index that finds a pack's commit without listing its sweep.

Protocol (what resume and exactly-once are built on):
- A part appears whole or not at all (the storage engine's atomic put).
- A pack writes its curves part, then its trials part; the trials part is the commit (readers see
  nothing else). Both parts of one commit carry one token: `part-<pack_id>-a<attempt>-<token>.parquet`.
- A new attempt at a pack whose complete commit exists writes nothing; one whose commit does not
  exist first deletes earlier curves parts of that pack. A commit whose curves part went missing
  is incomplete: its trials are not finished, and the next run commits them again under a higher
  attempt (`status` reports them meanwhile).
- If two attempts of a pack ever both commit, readers keep the winning row (read.py), and
  `compact` drops the losers for good.

The index. Finding a pack's commit by listing its task's partition costs time in proportion to
the packs already there, so a sweep of thousands of packs slowed as it went (the driver checks
every pack it is told is done; the worker checks before it trains and before it commits). Each
pack has its own folder `_attempts/<sweep>/<pack_id>/` holding one empty marker per attempt (named
by the attempt's token) and, once an attempt has committed, an empty record
`commit-a<attempt>-<token>[.curves]` that names its parts. A check lists that folder only and
looks the named parts up by path: the same cost for the first pack and the ten-thousandth.
Records are hints and the parts stay the truth: a record whose parts are gone counts for nothing,
and when another attempt left a marker but no record (it died between publishing its trials part
and writing the record, or an older hpsweep wrote it) the check falls back to listing the
partition. A record lost in a power cut is therefore harmless, so records are not fsynced.

Pure pyarrow (no Polars): the pack runner commits from GPU boxes that have only torch and pyarrow.
"""

from __future__ import annotations

import re
import uuid
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from hpsweep.workers.results.layout import MODELS_SUFFIX, SCHEMAS, Layout, check_id, is_part
from hpsweep.workers.results.storage import Storage

UNTRAINED_STATUS = "failed"
"""The one final status whose models never trained, so they have no curves; every other final
status (FINAL_STATUSES in workers/schema.py: ok, diverged, and any added later) trained when
epochs_run > 0, and its curves part must be there for the commit to be complete."""
RECORD_RE = re.compile(r"commit-a(\d+)-([0-9a-f]{8,64})(\.curves)?(\.models)?")


class Attempt(NamedTuple):
    """One attempt at a pack, as begin_attempt recorded it."""

    number: int  # attempts at this pack so far, this one included
    token: str  # names this attempt's marker and, when it commits, its parts and record


class _Record(NamedTuple):
    attempt: int
    token: str
    curves: bool  # the commit wrote a curves part
    models: bool = False  # ... and a kept-models file (workers/kept_models.py)


class PackCommits:
    """Commits of the packs of one sweep (the sweep id is checked by the caller, once)."""

    def __init__(self, storage: Storage, layout: Layout, sweep_id: str):
        self.storage, self.layout, self.sweep_id = storage, layout, sweep_id

    # -- attempts ------------------------------------------------------------------------------
    def begin_attempt(self, pack_id: str) -> Attempt:
        """Record one more attempt at a pack (a durable marker: attempt numbers must not repeat)."""
        token = uuid.uuid4().hex
        self.storage.touch(f"{self.layout.attempts(self.sweep_id, pack_id)}/{token}")
        return Attempt(self.attempts(pack_id), token)

    def attempts(self, pack_id: str) -> int:
        return len(self._folder(pack_id)[1])

    def _folder(self, pack_id: str) -> tuple[list[_Record], set[str]]:
        """(commit records, marker tokens) in the pack's folder."""
        records, markers = [], set()
        for f in self.storage.list(self.layout.attempts(self.sweep_id, pack_id)):
            if not f.is_file:
                continue
            if (m := RECORD_RE.fullmatch(f.base_name)) is not None:
                records.append(_Record(int(m[1]), m[2], m[3] is not None, m[4] is not None))
            elif not f.base_name.startswith("commit-"):
                markers.add(f.base_name)
        return records, markers

    # -- commits -------------------------------------------------------------------------------
    def _part(self, table: str, task: str, pack_id: str, attempt: int, token: str) -> str:
        return self.layout.part(table, self.sweep_id, task, f"{pack_id}-a{attempt}", token)

    def committed(self, task: str, pack_id: str, after_attempt: int = 0, own_token: str | None = None) -> bool:
        """Whether a complete commit of this pack with an attempt > after_attempt exists.

        after_attempt lets a deliberate re-run (of failed trials) write over an old commit. A
        commit whose trained trials lost their curves part is not complete (a re-run repairs it).
        own_token: the caller's own attempt, which cannot have committed yet.
        """
        records, markers = self._folder(pack_id)
        return self._complete(task, pack_id, after_attempt, records, markers - {own_token})

    def _complete(self, task, pack_id, after_attempt, records, other_markers) -> bool:
        for r in records:
            if (
                r.attempt > after_attempt
                and self._exists(self._part("trials", task, pack_id, r.attempt, r.token))
                and (not r.curves or self._exists(self._part("curves", task, pack_id, r.attempt, r.token)))
                and (not r.models or self._exists(self._models(task, pack_id, r.attempt, r.token)))
            ):
                return True
        if other_markers - {r.token for r in records}:  # an attempt that may have committed without a record
            return self._complete_by_listing(task, pack_id, after_attempt)
        return False

    def _models(self, task: str, pack_id: str, attempt: int, token: str) -> str:
        return self.layout.models_file(self.sweep_id, task, f"{pack_id}-a{attempt}", token)

    def _exists(self, path: str) -> bool:
        return self.storage.info(path).is_file

    def commit(
        self,
        task: str,
        pack_id: str,
        attempt: int,
        trials: pa.Table,
        curves: pa.Table | None,
        after_attempt: int = 0,
        token: str | None = None,
        models: bytes | None = None,
    ) -> bool:
        """Commit one pack's rows exactly once: kept models and curves first, then the trials part
        (the commit), so a kept model exists exactly when its row does.

        token: the Attempt's token (the driver, committing a failed pack's rows, has none).
        models: the kept models' safetensors file (workers/kept_models.py), if any.

        Returns:
            True if written; False if an earlier attempt of the pack had already committed.

        Raises:
            StoreError: the filesystem refuses a write (the curves part written first is removed).
        """
        records, markers = self._folder(pack_id)
        others = markers - {token}
        if self._complete(task, pack_id, after_attempt, records, others):
            return False
        # curves of earlier attempts: one that died between its two writes, or a commit being replaced
        stale = {self._part("curves", task, pack_id, r.attempt, r.token) for r in records if r.curves}
        stale |= {self._models(task, pack_id, r.attempt, r.token) for r in records if r.models}
        if others - {r.token for r in records}:
            stale |= set(self._listed(("curves",), task, pack_id)["curves"]) | set(self._listed_models(task, pack_id))
        for path in sorted(stale):
            self.storage.delete(path)
        token = token or uuid.uuid4().hex
        name = f"{pack_id}-a{attempt}"
        written = []
        try:
            if models is not None:
                path = self._models(task, pack_id, attempt, token)
                self.storage.put_bytes(path, models)
                written.append(path)
            if curves is not None and curves.num_rows:
                written.append(self.write_part("curves", task, name, curves, token))
            self.write_part("trials", task, name, trials, token)
        except BaseException:
            for path in written:  # no orphan curves or models without their commit
                self.storage.delete(path)
            raise
        has_curves = curves is not None and curves.num_rows > 0
        record = f"commit-a{attempt}-{token}{'.curves' if has_curves else ''}{'.models' if models is not None else ''}"
        self.storage.touch(f"{self.layout.attempts(self.sweep_id, pack_id)}/{record}", durable=False)
        return True

    def write_part(self, table: str, task: str, name: str, data: pa.Table, token: str | None = None) -> str:
        """Write one part atomically as `part-<name>-<token>.parquet`; returns its path.

        Raises:
            StoreError: the filesystem refuses the write, or a name is not a safe path component.
        """
        if not data.schema.equals(SCHEMAS[table]):
            raise AssertionError(f"{table} part does not match the schema: {data.schema}")
        path = self.layout.part(table, self.sweep_id, task, name, token or uuid.uuid4().hex[:8])
        self.storage.put(path, lambda f: pq.write_table(data, f, compression="zstd"))
        return path

    # -- the slow path: the partition's own listing ----------------------------------------------
    def _listed(self, tables, task: str, pack_id: str) -> dict[str, dict[str, int]]:
        """table -> {path: attempt} of the parts named after this pack (one listing per table)."""
        prefix = f"part-{check_id('pack id', pack_id)}-a"
        found: dict[str, dict[str, int]] = {}
        for table in tables:
            found[table] = {}
            for f in self.storage.list(self.layout.partition(table, self.sweep_id, task)):
                name = f.base_name
                if f.is_file and is_part(name) and name.startswith(prefix):
                    number = name[len(prefix) :].split("-", 1)[0]
                    if number.isdigit():
                        found[table][f.path] = int(number)
        return found

    def _listed_models(self, task: str, pack_id: str) -> list[str]:
        """Kept-models files named after this pack (one listing of the models partition)."""
        folder = self.layout.models_file(self.sweep_id, task, f"{pack_id}-a0", "0" * 8).rsplit("/", 1)[0]
        prefix = f"part-{check_id('pack id', pack_id)}-a"
        return [
            f.path
            for f in self.storage.list(folder)
            if f.is_file and f.base_name.startswith(prefix) and f.base_name.endswith(MODELS_SUFFIX)
        ]

    def models_file(self, task: str, pack_id: str, attempt: int) -> str | None:
        """The kept-models file of the pack's commit with this attempt, or None."""
        prefix = f"part-{check_id('pack id', pack_id)}-a{attempt}-"
        found = [p for p in self._listed_models(task, pack_id) if p.rsplit("/", 1)[1].startswith(prefix)]
        return sorted(found)[-1] if found else None

    def _complete_by_listing(self, task: str, pack_id: str, after_attempt: int) -> bool:
        parts = self._listed(("trials", "curves"), task, pack_id)
        curves = set(parts["curves"].values())
        for path, attempt in parts["trials"].items():
            if attempt > after_attempt and (attempt in curves or not self._needs_curves(path)):
                return True
        return False

    def _needs_curves(self, trials_part: str) -> bool:
        with self.storage.open(trials_part) as f:
            t = pq.ParquetFile(f).read(columns=["status", "epochs_run"])
        return any(
            s != UNTRAINED_STATUS and (e or 0) > 0 for s, e in zip(t["status"].to_pylist(), t["epochs_run"].to_pylist())
        )
