"""Where things are, decided once in the driver before anything reaches Ray.

Ray Tune runs each trainable in a working directory of its own (and a Ray job runs its driver in
a temporary copy of the user's folder), so a relative path means something else on a worker than
it meant to the user. Every local location the user gave (the results root, HPSWEEP_CACHE,
MINARI_DATASETS_PATH; task source files are made absolute by the tasks themselves) is resolved
against the user's working directory here; URIs (s3://…, gs://…, file://…) stay as given.
"""

from __future__ import annotations

import os

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
        raise StoreError(f"--results {results[:100]!r} is a relative path inside a Ray job, where it would live "
                         f"in the job's temporary working directory and vanish with it; give a shared path "
                         f"(/mnt/shared/hpsweep) or an object store (s3://bucket/prefix)")
    path = os.path.abspath(expanded)
    existing = path
    while not os.path.exists(existing):  # the part that exists decides: the rest is created on first write
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        where = "is a file" if existing == path else f"is under a file ({existing[-100:]})"
        raise StoreError(f"--results {results[:100]!r} {where}, not a directory; give a directory (it is created "
                         f"if missing) or a URI such as s3://bucket/prefix")
    return path


def resolve_path_env(environ=os.environ) -> dict[str, str]:
    """Make the relative directories in PATH_ENV_VARS absolute, in place; returns what changed."""
    changed = {}
    for name in PATH_ENV_VARS:
        value = environ.get(name)
        if value and not is_uri(value) and not os.path.isabs(os.path.expanduser(value)):
            changed[name] = environ[name] = os.path.abspath(os.path.expanduser(value))
    return changed

