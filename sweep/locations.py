"""Where things are, decided once in the driver before anything reaches Ray.

Ray Tune runs each trainable in a working directory of its own (and a Ray job runs its driver in
a temporary copy of the user's folder), so a relative path means something else on a worker than
it meant to the user. Every local location the user gave (the results root, HPSWEEP_CACHE,
MINARI_DATASETS_PATH; task source files are made absolute by the tasks themselves) is resolved
against the user's working directory here; URIs (s3://…, gs://…, file://…) stay as given.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from hpsweep.workers.errors import StoreError

DEFAULT_RESULTS = "hpsweep-results"
"""The results root when none is given, relative to where the user runs hpsweep (CLI and API)."""

PATH_ENV_VARS = ("HPSWEEP_CACHE", "MINARI_DATASETS_PATH")
"""Environment variables holding local directories that workers read (they inherit the driver's
environment on an embedded local Ray)."""

_RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"  # set by Ray's job supervisor for a submitted job's driver


def is_uri(location: str) -> bool:
    return "://" in location


def in_ray_job() -> bool:
    """Whether this process is the driver of a job submitted with `ray job submit`."""
    return _RAY_JOB_ENV in os.environ


def on_this_machine(host: str) -> bool:
    """Whether `host` names this machine: it resolves to an address a socket here can bind to."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False  # a name that does not resolve here is no local address
    for family, _, _, _, sockaddr in infos:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((sockaddr[0], 0))
                return True
            except OSError:
                continue
    return False


def names_a_cluster(address: str | None) -> bool:
    """Whether a Ray address (--address or RAY_ADDRESS) joins a cluster whose workers may run on other
    machines: 'auto' (the running cluster this machine is part of) and any head on another host. An
    embedded local Ray ('local' or no address) and a head on this machine share this disk."""
    if not address or address == "local":
        return False
    if address == "auto":
        return True
    host = urlsplit(address if "://" in address else f"ray://{address}").hostname
    return not host or not on_this_machine(host)


def check_results_for_cluster(results: str, address: str | None) -> None:
    """Refuse a relative local --results for a run on a cluster, before anything is planned or written.

    Workers on the cluster's other nodes write their packs' rows themselves: a path made absolute
    against this directory names a folder on this machine's disk that they cannot see (their rows
    would be missing). An absolute path is taken as a shared one (an NFS mount), a URI as it is.

    Raises:
        StoreError: a relative local path with an address (or, without one, RAY_ADDRESS) that names
            a cluster.
    """
    address = address or os.environ.get("RAY_ADDRESS")
    if is_uri(results) or os.path.isabs(os.path.expanduser(results)) or not names_a_cluster(address):
        return
    raise StoreError(
        f"--results {results[:100]!r} is a relative path, but Ray address {address[:100]!r} joins a "
        f"cluster whose other machines cannot see this machine's folders; give an object store "
        f"(s3://bucket/prefix) or a path every node shares (/mnt/shared/hpsweep)"
    )


def resolve_results(results: str) -> str:
    """The results root as workers must see it: a URI unchanged, a local path made absolute.

    Raises:
        StoreError: a relative local path inside a Ray job (it would live in the job's temporary
            working directory and vanish with it), or a local path that is an existing file.
    """
    if is_uri(results):
        return results
    expanded = os.path.expanduser(results)
    if in_ray_job() and not os.path.isabs(expanded):
        raise StoreError(
            f"--results {results[:100]!r} is a relative path inside a Ray job, where it would live "
            f"in the job's temporary working directory and vanish with it; give a shared path "
            f"(/mnt/shared/hpsweep) or an object store (s3://bucket/prefix)"
        )
    path = os.path.abspath(expanded)
    existing = path
    while not os.path.exists(existing):  # the part that exists decides: the rest is created on first write
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        where = "is a file" if existing == path else f"is under a file ({existing[-100:]})"
        raise StoreError(
            f"--results {results[:100]!r} {where}, not a directory; give a directory (it is created "
            f"if missing) or a URI such as s3://bucket/prefix"
        )
    return path


def resolve_path_env(environ=os.environ) -> dict[str, str]:
    """Make the relative directories in PATH_ENV_VARS absolute, in place; returns what changed."""
    changed = {}
    for name in PATH_ENV_VARS:
        value = environ.get(name)
        if value and not is_uri(value) and not os.path.isabs(os.path.expanduser(value)):
            changed[name] = environ[name] = os.path.abspath(os.path.expanduser(value))
    return changed
