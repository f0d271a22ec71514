"""The storage engine under the results store: atomic put, list, open, delete over one pyarrow
filesystem. A new backend is one small `Storage` subclass; everything above it (exactly-once
commits, leases, readers) only calls these methods.

`atomic_write` is the one helper that makes a file appear whole or not at all; the results parts,
the task-data cache (workers/tasks/_cache.py) and the saved meta-models (analysis/saved.py) all
write through it:
- local or shared POSIX disks: a hidden temporary name in the final directory, flush, fsync,
  rename, fsync of the directory; the temporary is removed when anything fails.
- object stores (S3, GCS): one PUT under the final name (objects appear whole when the upload
  completes, multipart or not).
- any other filesystem: refused with a StoreError, never assumed atomic.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable

import pyarrow as pa
import pyarrow.fs as pafs

from hpsweep.workers.errors import StoreError

Writer = Callable[[object], None]
"""Writes the file's content to the binary stream it is given."""


def _os_error(e: OSError, path: str, doing: str) -> StoreError:
    """One line for a filesystem refusal, with the next step for the usual causes."""
    hint = {
        errno.ENOSPC: "the disk is full; free space and run the same command again",
        errno.EDQUOT: "the disk quota is exhausted; free space and run the same command again",
        errno.EROFS: "the filesystem is read-only; give a writable results root",
        errno.EACCES: "permission denied; give a results root you can write",
        errno.EPERM: "permission denied; give a results root you can write",
    }.get(e.errno)
    return StoreError(f"cannot {doing} {path}: {hint or e.strerror or e}")


def _local_atomic_write(path: str, write: Writer) -> None:
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.makedirs(directory, exist_ok=True)
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(directory, os.O_RDONLY)  # make the rename itself durable
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise _os_error(e, path, "write") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class Storage:
    """Atomic put, list, open, delete under one root of a pyarrow filesystem.

    Subclasses say how a file is published (`put`); the rest is pyarrow's filesystem API.
    """

    def __init__(self, fs: pafs.FileSystem, root: str, base: str = ""):
        self.fs, self.root, self.base = fs, root, base  # root: as the user gave it; base: as fs names it

    @property
    def local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def put(self, path: str, write: Writer) -> None:
        """Publish `path` whole or not at all. Raises StoreError when the filesystem refuses."""
        raise NotImplementedError

    def put_bytes(self, path: str, data: bytes) -> None:
        self.put(path, lambda f: f.write(data))

    def touch(self, path: str, durable: bool = True) -> None:
        """Create an empty file (a marker: its name is its content, so it cannot be seen half-written).

        durable: fsync the directory so the name survives a power cut; markers whose loss is
        harmless skip it. Object stores: one empty PUT.
        """
        self.put_bytes(path, b"")

    def list(self, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
        """Entries under `path` ([] when it does not exist)."""
        try:
            return self.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True, recursive=recursive))
        except (pa.ArrowException, OSError) as e:
            raise StoreError(
                f"results {self.root!r} cannot be listed at {path}: {str(e).splitlines()[0][:200]}"
            ) from None

    def info(self, path: str) -> pafs.FileInfo:
        try:
            return self.fs.get_file_info(path)
        except (pa.ArrowException, OSError) as e:
            raise StoreError(
                f"results {self.root!r} cannot be read at {path}: {str(e).splitlines()[0][:200]}"
            ) from None

    def open(self, path: str):
        """A random-access input file. Raises FileNotFoundError when absent."""
        return self.fs.open_input_file(path)

    def read_bytes(self, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        try:
            with self.fs.open_input_stream(path) as f:
                return f.read()
        except FileNotFoundError:
            return None
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"results {self.root!r}: cannot read {path}: {str(e).splitlines()[0][:200]}") from None

    def delete(self, path: str) -> None:
        """Delete a file; absent is fine (another cleaner got there first)."""
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise _os_error(e, path, "delete") from None
        except pa.ArrowException as e:
            raise StoreError(f"cannot delete {path}: {str(e).splitlines()[0][:200]}") from None

    def delete_dir_if_empty(self, path: str) -> None:
        if self.local:
            try:
                os.rmdir(path)
            except OSError:
                pass  # not empty, or gone: both fine


class LocalStorage(Storage):
    """Local or shared POSIX disks: temporary name, fsync, rename, fsync of the directory."""

    def put(self, path: str, write: Writer) -> None:
        _local_atomic_write(path, write)

    def touch(self, path: str, durable: bool = True) -> None:
        directory = os.path.dirname(path)
        try:
            os.makedirs(directory, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
            if durable:  # an empty file has no data to flush: only its directory entry
                fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as e:
            raise _os_error(e, path, "write") from None


class ObjectStorage(Storage):
    """S3, GCS: one PUT under the final name; the object appears when the upload completes."""

    def put(self, path: str, write: Writer) -> None:
        try:
            with self.fs.open_output_stream(path) as f:
                write(f)
        except (pa.ArrowException, OSError) as e:
            raise StoreError(f"cannot write {path}: {str(e).splitlines()[0][:200]}") from None


BACKENDS: dict[str, type[Storage]] = {"local": LocalStorage, "s3": ObjectStorage, "gcs": ObjectStorage}
"""pyarrow filesystem type_name -> the Storage that publishes atomically on it."""


def storage_for(fs: pafs.FileSystem, root: str = "", base: str = "") -> Storage:
    """The Storage of a pyarrow filesystem.

    Raises:
        StoreError: no backend here publishes files atomically on this filesystem.
    """
    backend = BACKENDS.get(fs.type_name)
    if backend is None:
        raise StoreError(
            f"results {root!r:.100}: the {fs.type_name} filesystem cannot publish a file atomically "
            f"(no rename and no whole-object PUT that hpsweep knows of); use a local path, s3:// or gs://"
        )
    return backend(fs, root, base)


def atomic_write(fs: pafs.FileSystem, path: str, write: Writer) -> None:
    """Make `path` on `fs` appear whole or not at all (see the module docstring).

    Raises:
        StoreError: the filesystem refuses the write, or cannot publish a file atomically.
    """
    storage_for(fs, path).put(path, write)


def open_storage(root: str) -> tuple[Storage, str]:
    """(storage, base path) of a results root: a local directory or a filesystem URI.

    Raises:
        StoreError: the URI cannot be opened, or its filesystem cannot publish files atomically.
    """
    root = str(root)
    try:
        if "://" in root:
            fs, base = pafs.FileSystem.from_uri(root)
        else:
            fs, base = pafs.LocalFileSystem(), os.path.abspath(root)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise StoreError(
            f"results {root!r:.100} cannot be opened: {str(e).splitlines()[0][:150]}; give a local path "
            f"or a URI such as s3://bucket/prefix"
        ) from None
    base = base.rstrip("/") or "/"
    return storage_for(fs, root, base), base
