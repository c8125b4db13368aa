"""The cross-workspace memo cache (diskcache) for pure, expensive sub-computations.

LLM replies, caption/clip embeddings, VAE latents of training clips, trained adapters keyed by their full recipe.
It never says whether a stage is done (the workspace's records do). Location: $DREAMRUNNER_CACHE, default
~/.cache/dreamrunner.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("DREAMRUNNER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dreamrunner")
    return Path(root)


def open_cache(name: str):
    """A diskcache.Cache for one kind of entry (e.g. 'llm', 'embeddings', 'latents', 'adapters')."""
    import diskcache

    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return diskcache.Cache(str(path), size_limit=int(os.environ.get("DREAMRUNNER_CACHE_LIMIT", 20 * 2**30)))
