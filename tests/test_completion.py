"""Shell completion of option values (issue 25, item 10): presets, schema kinds, the plan's scene / motion /
character ids, and config keys. The callbacks directly, then the installed console script the way bash's completion
function calls it (``_DREAMRUNNER_COMPLETE=complete_bash`` with ``COMP_WORDS`` / ``COMP_CWORD``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dreamrunner_cli.cli.completion import (
    choices,
    complete_character,
    complete_motion,
    complete_preset,
    complete_scene,
    complete_set,
)
from dreamrunner_cli.cli.schema import KINDS
from dreamrunner_cli.config import preset_names


def ctx_with(**params) -> click.Context:
    ctx = click.Context(click.Command("render"))
    ctx.params = params
    return ctx


@pytest.fixture
def no_shell_words(monkeypatch):
    for var in ("COMP_WORDS", "COMP_CWORD", "_TYPER_COMPLETE_ARGS"):
        monkeypatch.delenv(var, raising=False)


def test_presets_schema_kinds_and_config_keys():
    assert complete_preset("") == preset_names() and "tiny" in preset_names()
    assert complete_preset("cog") == ["cogvideox-2b", "cogvideox-5b"]
    assert choices(KINDS)("") == ["plan", "config", "metrics", "result"] and choices(KINDS)("me") == ["metrics"]
    keys = complete_set("render.st")
    assert "render.steps=" in keys and all(k.startswith("render.st") and k.endswith("=") for k in keys)
    assert "retrieve.video_text_model=" in complete_set("retrieve.")
    assert complete_set("render.steps=4") == []  # the value is the user's
    assert "preset=" not in complete_set("")  # --preset sets that


def test_plan_ids_come_from_the_workspace_on_the_command_line(ws, no_shell_words):
    plan = json.loads((ws / "plan.json").read_text(encoding="utf-8"))
    scenes = [s["id"] for s in plan["scenes"]]
    assert complete_scene(ctx_with(workspace=ws), [], "") == scenes
    assert complete_scene(ctx_with(workspace=ws), [], "s0") == [s for s in scenes if s.startswith("s0")]
    assert complete_motion(ctx_with(workspace=ws), [], "") == [m["id"] for m in plan["motions"]]
    assert complete_character(ctx_with(workspace=ws), [], "") == ["teddy"]
    assert complete_scene(ctx_with(source=ws), [], "") == scenes  # `plan WS --scene`


def test_plan_ids_fail_silently(tmp_path, ws, no_shell_words):
    assert complete_scene(ctx_with(), [], "") == []  # no workspace given yet
    assert complete_scene(ctx_with(workspace=tmp_path / "nowhere"), [], "") == []
    (ws / "plan.json").write_text('{"scenes": [', encoding="utf-8")  # damaged
    assert complete_scene(ctx_with(workspace=ws), [], "") == []
    (ws / "plan.json").write_text('{"scenes": "s01", "motions": [1, {"id": 2}, {"x": 1}]}', encoding="utf-8")
    assert complete_scene(ctx_with(workspace=ws), [], "") == [] and complete_motion(ctx_with(workspace=ws), [], "") == []


# Through the installed shell completion ------------------------------------------------------------------------------


def complete(words: str, cwd: Path) -> list[str]:
    """What bash's completion function gets for the command line ``words`` (the cursor at its end)."""
    script = Path(sys.executable).with_name("dreamrunner")  # the console script pip installed
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {**os.environ, "_DREAMRUNNER_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    res = subprocess.run([str(script)], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    return res.stdout.split()


def test_the_installed_completion_offers_values(ws, tmp_path):
    """Three calls (each starts the CLI, ~1 s): a preset, the plan's scene ids, a config key."""
    rel = os.path.relpath(ws, tmp_path)
    assert complete("dreamrunner render ws --preset ", ws.parent) == preset_names()
    scenes = [s["id"] for s in json.loads((ws / "plan.json").read_text(encoding="utf-8"))["scenes"]]
    assert complete(f"dreamrunner render {rel} --scene ", tmp_path) == scenes and len(scenes) > 1
    assert complete(f"dreamrunner render {rel} --set render.ste", tmp_path) == ["render.steps="]
