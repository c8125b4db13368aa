"""Messages name items as text (``s01, s02``), never as Python lists (``['s01', 's02']``): issue 25, doctor item."""

from __future__ import annotations

import pytest

from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import DreamrunnerError, listing
from dreamrunner_cli.workspace import Workspace


def test_listing():
    assert listing(["s01", "s02"]) == "s01, s02"
    assert listing(x for x in ()) == "none"


@pytest.mark.parametrize("stage", ["render", "evaluate"])
def test_an_unknown_scene_is_named_as_text(ws, stage):
    import importlib

    run = importlib.import_module(f"dreamrunner_cli.stages.{stage}").run
    with pytest.raises(DreamrunnerError) as raised:
        run(Workspace(ws), resolve_config(preset="tiny"), only=["s99"], dry_run=True, progress=False)
    text = f"{raised.value.message} {raised.value.hint}"
    assert "s99" in text and "s01, s02" in text
    assert "[" not in text and "'" not in text
