"""Reuse of trained adapters across stories: a diskcache keyed by the adapter's full recipe.

The recipe is everything the weights depend on: the kind, the base model (id, revision, dtype), the geometry the
data was decoded to, the hyper-parameters, the data (content hash and caption of every clip or image, in order)
and ``ADAPT_CODE_VERSION`` (bumped whenever the training math changes). Not in it: the motion or character id, the
workspace, the checkpoint interval, gradient checkpointing (they do not change the result).

Entries (``$DREAMRUNNER_CACHE/adapters``) are two plain values per recipe: the safetensors file's bytes and the
adapter.json text. Nothing is pickled; an entry missing either half, or unreadable, is a miss.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ADAPT_CODE_VERSION = "1"


def recipe(kind: str, base_model: dict[str, Any], geometry: dict[str, Any], hyperparameters: dict[str, Any],
           data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "base_model": base_model, "geometry": geometry, "hyperparameters": hyperparameters,
            "data": data, "code_version": ADAPT_CODE_VERSION}


def recipe_key(rec: dict[str, Any]) -> str:
    """Full sha256 of the recipe's canonical JSON."""
    return hashlib.sha256(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def cache_get(key: str) -> tuple[bytes, str] | None:
    """(weights bytes, adapter.json text) for a recipe key, or None."""
    from ..cache import open_cache

    with open_cache("adapters") as cache:
        weights = cache.get(f"{key}/weights")
        meta = cache.get(f"{key}/adapter.json")
    if not isinstance(weights, bytes) or not isinstance(meta, str):
        return None
    try:
        json.loads(meta)
        _check_safetensors(weights)
    except (ValueError, json.JSONDecodeError):
        return None
    return weights, meta


def cache_put(key: str, weights: bytes, meta: str) -> None:
    from ..cache import open_cache

    with open_cache("adapters") as cache:
        cache.set(f"{key}/weights", weights)
        cache.set(f"{key}/adapter.json", meta)  # written last: its presence means the entry is complete


def _check_safetensors(blob: bytes) -> None:
    """Raise ValueError unless ``blob`` parses as safetensors (header only: cheap)."""
    if len(blob) < 8:
        raise ValueError("too short")
    n = int.from_bytes(blob[:8], "little")
    if n <= 0 or 8 + n > len(blob):
        raise ValueError("bad header length")
    json.loads(blob[8 : 8 + n])
