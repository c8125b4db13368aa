"""Shared test setup: offline, isolated cache, quiet tokenizers."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own DREAMRUNNER_CACHE; no test ever touches the user's cache."""
    monkeypatch.setenv("DREAMRUNNER_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("DREAMRUNNER_DB", raising=False)
