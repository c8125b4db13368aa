"""The cross-workspace memo cache (diskcache) for pure, expensive sub-computations.

LLM replies, caption/clip embeddings, VAE latents of training clips, trained adapters keyed by their full recipe.
It never says whether a stage is done (the workspace's records do).

Location, the first that applies: ``$DREAMRUNNER_CACHE`` (as given); ``$XDG_CACHE_HOME/dreamrunner`` when
XDG_CACHE_HOME is an absolute path (a relative one is ignored, as the XDG spec says); ``$HOME/.cache/dreamrunner``
when HOME is an absolute path, or the user's home from the password database when HOME is unset. Anything else
(``HOME=''``, ``HOME=relative``) is refused with exit 8: the cache would land in ``/.cache`` or wherever the command
happens to run.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FileAccessError


def cache_dir() -> Path:
    if os.environ.get("DREAMRUNNER_CACHE"):
        return Path(os.environ["DREAMRUNNER_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "dreamrunner"
    home = os.environ["HOME"] if "HOME" in os.environ else os.path.expanduser("~")  # unset: the password database
    if not os.path.isabs(home):
        raise FileAccessError(
            f"no folder for the cache: HOME is {home!r}, not an absolute path, and DREAMRUNNER_CACHE and "
            "XDG_CACHE_HOME are not set (the cache would land in "
            f"{os.path.join(home, '.cache') if home else '/.cache'})",
            hint="set DREAMRUNNER_CACHE=/path/to/a/folder (or XDG_CACHE_HOME, or HOME) and run the command again")
    return Path(home) / ".cache" / "dreamrunner"


def open_cache(name: str):
    """A diskcache.Cache for one kind of entry (e.g. 'llm', 'embeddings', 'latents', 'adapters')."""
    import diskcache

    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return diskcache.Cache(str(path), size_limit=int(os.environ.get("DREAMRUNNER_CACHE_LIMIT", 20 * 2**30)))
