"""Reuse of trained adapters across stories: a diskcache keyed by the adapter's full recipe.

The recipe is everything the weights depend on: the kind, the base model's *resolved* identity
(``identity.model_identity``: snapshot commit or content digest, block count, dtype), the geometry the data was
decoded to, the hyper-parameters, the data (content hash and caption of every clip or image, in order) and
``ADAPT_CODE_VERSION`` (bumped whenever the training math changes). Not in it: the motion or character id, the
workspace, the checkpoint interval, the export steps, gradient checkpointing (they do not change the result).

Entries (``$DREAMRUNNER_CACHE/adapters``) are plain values per recipe: the safetensors file's bytes, one per
exported intermediate step (``<key>/step-NNNNNN``), and the adapter.json text, written last. Nothing is pickled; an
entry missing a part, or unreadable, is a miss. A hit is still checked against the model before use
(``identity.fits``, in the stage).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..bounds import BoundExceeded, loads_json

ADAPT_CODE_VERSION = "2"  # 2: spatial LoRAs off on skipped steps; preprocessing v2


def recipe(kind: str, base_model: dict[str, Any], geometry: dict[str, Any], hyperparameters: dict[str, Any],
           data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "base_model": base_model, "geometry": geometry, "hyperparameters": hyperparameters,
            "data": data, "code_version": ADAPT_CODE_VERSION}


def recipe_key(rec: dict[str, Any]) -> str:
    """Full sha256 of the recipe's canonical JSON."""
    return hashlib.sha256(json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def cache_get(key: str) -> tuple[bytes, str, dict[int, bytes]] | None:
    """(weights bytes, adapter.json text, {step: snapshot bytes}) for a recipe key, or None."""
    from ..cache import open_cache

    with open_cache("adapters") as cache:
        weights = cache.get(f"{key}/weights")
        meta = cache.get(f"{key}/adapter.json")
        if not isinstance(weights, bytes) or not isinstance(meta, str):
            return None
        try:  # bounded JSON (depth, number size): the adapt stage parses this text again, unbounded
            steps = [int(s["step"]) for s in loads_json(meta, "adapter cache entry").get("snapshots", [])]
            snapshots = {n: cache.get(f"{key}/step-{n:06d}") for n in steps}
            _check_safetensors(weights)
            for blob in snapshots.values():
                _check_safetensors(blob if isinstance(blob, bytes) else b"")
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, BoundExceeded):
            return None  # a damaged entry is a miss: the adapter is trained again
    return weights, meta, snapshots  # type: ignore[return-value]


def cache_put(key: str, weights: bytes, meta: str, snapshots: dict[int, bytes] | None = None) -> None:
    from ..cache import open_cache

    with open_cache("adapters") as cache:
        cache.delete(f"{key}/adapter.json")  # an entry being replaced is incomplete until the end
        cache.set(f"{key}/weights", weights)
        for step, blob in (snapshots or {}).items():
            cache.set(f"{key}/step-{step:06d}", blob)
        cache.set(f"{key}/adapter.json", meta)  # written last: its presence means the entry is complete


def _check_safetensors(blob: bytes) -> None:
    """Raise ValueError unless ``blob`` parses as safetensors (header only: cheap)."""
    if len(blob) < 8:
        raise ValueError("too short")
    n = int.from_bytes(blob[:8], "little")
    if n <= 0 or 8 + n > len(blob):
        raise ValueError("bad header length")
    loads_json(blob[8 : 8 + n], "safetensors header")
