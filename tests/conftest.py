"""Shared test setup: offline, isolated cache, quiet tokenizers."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
# No terminal size from outside: pytest-xdist's workers (execnet) export COLUMNS=80 and LINES=24, a developer's shell
# may export its own, and a serial run in a pipe has neither. Output is then laid out as in a user's pipe or log
# (the CLI's rule: no $COLUMNS, not a terminal → no wrapping); a test that needs a width sets it.
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


@pytest.fixture(scope="session")
def _demo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-db")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch, _demo_dir):
    """Every test gets its own DREAMRUNNER_CACHE; no test ever touches the user's cache. The generated demo video
    database (retrieve.db: demo, ~10 s to build) is shared by the whole session: it is data, not a cache under test."""
    monkeypatch.setenv("DREAMRUNNER_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("DREAMRUNNER_DEMO_DIR", str(_demo_dir))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("DREAMRUNNER_DB", raising=False)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models train fastest single-threaded, and other test processes share the 2 cores (adapt tests use it:
    ``pytestmark = pytest.mark.usefixtures("one_thread")``)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def planned(tmp_path_factory):
    """examples/stories/teddy.txt planned once with the tiny preset, for tests that read it or copy it (``ws``).
    These tests render straight after planning (no retrieve/adapt), so render.require_adapters is off."""
    from pathlib import Path

    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app

    teddy = Path(__file__).resolve().parents[1] / "examples" / "stories" / "teddy.txt"
    ws = tmp_path_factory.mktemp("planned") / "teddy"
    res = CliRunner().invoke(app, ["plan", str(teddy), "--workspace", str(ws), "--preset", "tiny", "--set",
                                   "render.require_adapters=false", "--quiet"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return ws


@pytest.fixture
def ws(planned, tmp_path):
    """A fresh copy of the planned teddy workspace (modules that need another workspace define their own ``ws``)."""
    import shutil

    dest = tmp_path / "ws"
    shutil.copytree(planned, dest)
    return dest
