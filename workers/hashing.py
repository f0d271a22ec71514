"""Short content hashes: the one place ids and cache keys are derived from data.

A trial id, a pack id, a spec hash, the saved meta-models' folder and their freshness key are all
the leading hex digits of a sha256, over canonical JSON (keys sorted, json's default separators)
or over text built to equal it; changing either changes every id, so both live here."""

from __future__ import annotations

import hashlib
import json


def canonical_json(obj) -> str:
    """The text that is hashed for an object: json.dumps with sorted keys."""
    return json.dumps(obj, sort_keys=True)


def text_hash(text: str, length: int = 16) -> str:
    """The first `length` hex digits of the sha256 of `text` (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def short_hash(obj, length: int = 16) -> str:
    """text_hash of the canonical JSON of `obj`."""
    return text_hash(canonical_json(obj), length)
