"""Hints that work (issue 25, item 5).

A stage that lacks what an earlier stage writes names one command line that will succeed: every stage from retrieve
up to it (`dreamrunner retrieve WS && dreamrunner adapt WS && dreamrunner render WS`), or `dreamrunner run WS` when
that is all of them. It used to name only the stage just before ("train them with `dreamrunner adapt WS …`"), which
then failed for want of retrieve. Imported workspaces are no longer called "ready for render": `import` says what
they need.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app

# One scene in the authors' text format (METHOD.md A.3): one character-less entity with one motion.
AUTHORS_PLAN = "Background: A sunny kitchen.\n" + "\n".join(
    f'Frame_{k}: [["teddy", "walking", "A brown teddy bear is walking into the kitchen"], '
    f"[{0.1 + 0.05 * k:.2f}, 0.2, {0.5 + 0.05 * k:.2f}, 1.0]]" for k in range(1, 7)) + "\n"


def invoke(*args, code: int = 0):
    res = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def hint_of(res) -> str:
    """The command a hint names (the first `…` of its hint line)."""
    line = next(ln for ln in res.stderr.splitlines() if ln.startswith("hint: "))
    return re.search(r"`([^`]+)`", line).group(1)


def chain(ws: Path, *stages: str) -> str:
    return " && ".join(f"dreamrunner {s} {shlex.quote(str(ws))}" for s in stages)


def test_render_without_its_loras_names_the_whole_chain(ws):
    res = invoke("render", ws, "--set", "render.require_adapters=true", code=3)
    assert "never trained" in res.stderr
    assert hint_of(res) == chain(ws, "retrieve", "adapt", "render")  # was: `dreamrunner adapt WS --motion …`
    assert "--set render.require_adapters=false" in res.stderr  # the other way out


def test_adapt_without_retrieved_clips_names_retrieve_then_adapt(ws):
    res = invoke("adapt", ws, code=3)
    assert "no training clips" in res.stderr
    assert hint_of(res) == chain(ws, "retrieve", "adapt")


def test_evaluate_without_renders_names_what_render_needs(ws):
    res = invoke("evaluate", ws, code=3)  # the planned workspace renders without LoRAs
    assert hint_of(res) == chain(ws, "render", "evaluate")
    res = invoke("evaluate", ws, "--set", "render.require_adapters=true", "--no-save", code=3)
    assert hint_of(res) == f"dreamrunner run {ws}"  # every stage: run says it in one command


def test_without_a_configured_database_the_chain_passes_one(ws):
    res = invoke("adapt", ws, "--set", "retrieve.db=null", "--no-save", code=3)
    assert hint_of(res) == f"dreamrunner retrieve {ws} --db INDEX && dreamrunner adapt {ws}"
    res = invoke("evaluate", ws, "--set", "retrieve.db=null", "--set", "render.require_adapters=true", "--no-save",
                 code=3)
    assert hint_of(res) == f"dreamrunner run {ws} --db INDEX"


def imported(tmp_path: Path) -> Path:
    (tmp_path / "kitchen.txt").write_text(AUTHORS_PLAN)
    out = invoke("import", tmp_path / "kitchen.txt", "--out", tmp_path / "ws", "--preset", "tiny").stdout
    ws = tmp_path / "ws" / "kitchen"
    assert f"`dreamrunner run {ws}` retrieves clips, trains the LoRAs, renders and scores" in out, out
    assert f"`dreamrunner render {ws} --set render.require_adapters=false`" in out
    return ws


def test_an_imported_workspace_is_told_what_it_needs(tmp_path):
    ws = imported(tmp_path)
    res = invoke("render", ws, code=3)  # what "ready for render" led to
    assert hint_of(res) == chain(ws, "retrieve", "adapt", "render")
    help_text = invoke("import", "--help").stdout
    assert "ready for" not in help_text and "dreamrunner run" in help_text
    docs = (Path(__file__).resolve().parents[1] / "docs" / "planning.md").read_text()
    assert "Run `render` (and" not in docs and "dreamrunner run ws/motion_binding/0001" in docs


@pytest.mark.slow
def test_the_hinted_command_succeeds(tmp_path):
    """The hint, run as written in a shell, renders the imported workspace (retrieve, adapt, render: ~1 min)."""
    ws = imported(tmp_path)
    command = hint_of(invoke("render", ws, code=3))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert shutil.which("dreamrunner", path=env["PATH"]), "dreamrunner is not installed next to this Python"
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (ws / "renders" / "s01.mp4").is_file() and (ws / "story.mp4").is_file()
