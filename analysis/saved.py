"""Fitted meta-models saved beside the results and reloaded while the results are unchanged.

    <root>/models/<key>/models.joblib   fitted Pipelines, bands, swept ranges, metrics
    <root>/models/<key>/manifest.json   options, data fingerprint, library versions

<key> hashes the analysis options (filters, sample sizes, seed). The fingerprint lists every
trials part with its size and mtime: a new part, a compacted or rewritten one changes it, and
the models are refitted. Files are written through the results layer's atomic put (local
disks and object stores alike), so a reader never sees half a model.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import joblib
import sklearn

from hpsweep.analysis.analyze import AnalysisOptions, AnalysisResult, analyze
from hpsweep.analysis.load import fingerprint
from hpsweep.workers.errors import StoreError
from hpsweep.workers.hashing import short_hash
from hpsweep.workers.results.storage import open_storage

FORMAT = 6
"""Bump when what is saved changes shape; an older format is refitted, never misread."""


def models_dir(root, options: AnalysisOptions) -> Path:
    """root/models/<key> of a local root (see _models_path for any root)."""
    return Path(root) / "models" / _key(options)


def _key(options: AnalysisOptions) -> str:
    return short_hash(options.key(), 12)


def _models_path(root, options: AnalysisOptions):
    """(storage, folder as its filesystem names it, folder as the user reads it) of a local path or URI."""
    storage, base = open_storage(str(root))
    shown = (
        models_dir(root, options) if storage.local else f"{str(root).split('?')[0].rstrip('/')}/models/{_key(options)}"
    )
    return storage, f"{base}/models/{_key(options)}", shown


def bundle_of(result: AnalysisResult) -> dict:
    """What recommend needs from an analysis."""
    return {
        "fitted": {result.chosen: result.fitted[result.chosen]},
        "chosen": result.chosen,
        "band": result.band,
        "swept": result.swept,
        "n_tasks": len(result.tasks),
        "models": result.models,
        "baselines": result.baselines,
        "ceiling": result.ceiling,
        "gain": result.gain,  # the verdict against dense; a bundle saved before format 4 lacks it
        "held_out_groups": result.held_out_groups,  # recommend's reliability near a request (format 6)
        "warning_split": result.warning_split,
    }


def save(root, options: AnalysisOptions, result: AnalysisResult, fp: dict | None = None) -> Path:
    """Save the fitted meta-models of `result` under root/models/<key>/; returns the folder."""
    storage, folder, shown = _models_path(root, options)
    manifest = {
        "format": FORMAT,
        "options": options.key(),
        "fingerprint": fp or fingerprint(root),
        "created_at": datetime.now(timezone.utc).isoformat(),
        "sklearn_version": sklearn.__version__,
        "chosen": result.chosen,
        "n_tasks": len(result.tasks),
        "n_rows": result.n_rows,
    }
    storage.put(f"{folder}/models.joblib", lambda f: joblib.dump(bundle_of(result), f))
    storage.put_bytes(f"{folder}/manifest.json", json.dumps(manifest, indent=1).encode())
    return shown


def load_if_current(root, options: AnalysisOptions) -> dict | None:
    """The saved bundle when its manifest matches the results as they are now, else None."""
    storage, folder, _ = _models_path(root, options)
    try:
        manifest = json.loads(storage.read_bytes(f"{folder}/manifest.json") or b"null") or {}
    except (StoreError, ValueError):
        return None
    if (
        manifest.get("format") != FORMAT
        or manifest.get("sklearn_version") != sklearn.__version__
        or manifest.get("fingerprint") != fingerprint(root)
    ):
        return None
    try:
        return joblib.load(io.BytesIO(storage.read_bytes(f"{folder}/models.joblib") or b""))
    except (StoreError, OSError, EOFError, ValueError, KeyError):
        return None


def load_or_fit(root, options: AnalysisOptions | None = None) -> tuple[dict, bool]:
    """(bundle, refitted): the saved meta-models, refitted and saved first if stale or missing.

    Raises:
        StoreError, AnalysisError: as analyze().
    """
    options = options or AnalysisOptions()
    bundle = load_if_current(root, options)
    if bundle is not None:
        return bundle, False
    fp = fingerprint(root)
    from dataclasses import replace

    # recommend needs the chosen model and its held-out numbers, not the learning curve
    result = analyze(root, replace(options, curve=False), with_ranking=False)
    save(root, options, result, fp)
    return bundle_of(result), True
