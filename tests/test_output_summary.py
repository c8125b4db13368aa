"""What a stage command prints (issue 25, items 2 and 6).

- Only the items that ran, would run or failed are listed, then one summary line (``ran 2, skipped 5, failed 0``,
  ``would run 2, skipped 5`` for a dry run, or ``Everything is up to date.``); ``-v`` lists the skipped ones too.
- ``status`` starts with a headline and filters with ``--only changed``.
- Tables fit the terminal, or 100 columns off one (the recent-runs table was 330 wide in a pipe).
- ``render --dry-run`` predicts the story's re-stitch; a first plan says "never ran" for plan.json.

The CLI runs in-process on the tiny preset (render without LoRAs: the ``planned`` fixture), and as a subprocess on a
pseudo-terminal where the window's width matters.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app

TEDDY = Path(__file__).resolve().parents[1] / "examples" / "stories" / "teddy.txt"
ONLY_RENDER = ["--skip", "retrieve", "--skip", "adapt", "--skip", "evaluate"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


def invoke(*args, code: int = 0):
    res = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


STORY = "---\ntitle: Two scenes\n---\nTeddy walks into the sunny kitchen.\n\nTeddy waves his hand at the ducks.\n"
PLAN_ITEMS, RENDER_ITEMS = 5, 3  # outline, s01, s02, plan.json, storyboard; s01, s02, story


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A two-scene story planned and rendered on the tiny preset, without LoRAs, 1 step (once for the module)."""
    root = tmp_path_factory.mktemp("rendered")
    (root / "two.txt").write_text(STORY)
    with pytest.MonkeyPatch.context() as mp:  # module scope: the autouse cache isolation has not run yet
        mp.setenv("DREAMRUNNER_CACHE", str(tmp_path_factory.mktemp("cache")))
        invoke("run", root / "two.txt", "--workspace", root / "two", "--preset", "tiny", "--set", "render.steps=1",
               "--set", "render.require_adapters=false", *ONLY_RENDER, "--quiet")
    return root / "two"


@pytest.fixture
def ws(rendered, tmp_path) -> Path:
    dest = tmp_path / "teddy"
    shutil.copytree(rendered, dest)
    return dest


def edit_a_caption(ws: Path, scene: int = 1) -> None:
    """A hand edit: the caption of the first region of the scene's first key frame (the rendered clip changes)."""
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][scene]["keyframes"][0]["regions"][0]["caption"] += ", smiling"
    (ws / "plan.json").write_text(json.dumps(plan, indent=2))


def test_a_first_plan_says_never_ran_and_ends_with_a_summary(tmp_path):
    out = lines(invoke("plan", TEDDY, "--workspace", tmp_path / "ws", "--preset", "tiny").stdout)
    decisions = [ln for ln in out if ln.startswith("ran       plan ")]
    assert "ran       plan plan.json: never ran" in decisions  # not "forced (--force)"
    assert all(ln.endswith(": never ran") for ln in decisions) and len(decisions) == 9, out
    assert out[-1] == "ran 9, skipped 0, failed 0"
    again = lines(invoke("plan", tmp_path / "ws").stdout)
    assert again[-1] == "Everything is up to date."
    assert not any(ln.startswith("skipped") for ln in again), again  # nothing to list
    verbose = lines(invoke("plan", tmp_path / "ws", "-v").stdout)
    assert sum(ln.startswith("skipped   plan ") for ln in verbose) == 9 and verbose[-1] == "Everything is up to date."


def test_a_cached_run_prints_a_short_summary(ws):
    out = lines(invoke("run", ws, *ONLY_RENDER).stdout)
    assert out[-1] == "Everything is up to date."
    assert not any(ln.startswith(("skipped", "ran")) for ln in out), out  # notes and warnings only, then the line
    listed = lines(invoke("-v", "run", ws, *ONLY_RENDER).stdout)  # `dreamrunner -v run …` lists everything
    assert sum(ln.startswith("skipped   ") for ln in listed) == PLAN_ITEMS + RENDER_ITEMS
    assert listed[-1] == "Everything is up to date."


def test_after_a_hand_edit_only_what_runs_is_listed_and_the_dry_run_predicts_the_stitch(ws):
    edit_a_caption(ws)
    dry = lines(invoke("render", ws, "--dry-run").stdout)
    listed = [ln for ln in dry[:-1] if ln.startswith(("would run ", "skipped "))]
    assert len(listed) == 2
    assert listed[0].startswith("would run render s02: plan.scenes[s02].keyframes[0].regions[teddy].caption changed")
    assert listed[1] == "would run render story: renders would change (s02)"  # it said "skipped … up to date"
    assert dry[-1] == "would run 2, skipped 1"
    out = lines(invoke("render", ws).stdout)
    listed = [ln for ln in out[:-1] if ln.startswith(("ran ", "skipped "))]
    assert len(listed) == 2
    assert listed[0].startswith("ran       render s02: plan.scenes[s02].keyframes[0].regions[teddy].caption changed")
    assert listed[1] == "ran       render story: renders changed"
    assert out[-1] == "ran 2, skipped 1, failed 0"


def test_status_starts_with_a_headline_and_lists_only_what_changed(ws):
    edit_a_caption(ws)
    full = invoke("status", ws).stdout
    head = full.splitlines()[0]
    m = re.fullmatch(r"(\S+): (\d+) items — (\d+) done, (\d+) would run \((.*)\)(, storyboard stale)?"
                     r"(, blocked: .*)?", head)
    assert m, head
    assert m.group(1) == os.path.relpath(ws) or m.group(1) == str(ws)
    assert m.group(5).startswith("never ran, plan.json changed")  # retrieve never ran (skipped), then s02's edit
    total, done, would = int(m.group(2)), int(m.group(3)), int(m.group(4))
    assert done + would + (1 if m.group(6) else 0) == total and "│ done" in full
    changed = invoke("status", ws, "--only", "changed").stdout
    assert changed.splitlines()[0] == head  # the headline still counts every item
    assert "│ done" not in changed and "│ render   │ s02 " in changed and "│ render   │ story " in changed
    stages = json.loads(invoke("status", ws, "--only", "changed", "--json").stdout)["stages"]
    assert all(it["run"] for s in stages for it in s["items"])
    assert sum(len(s["items"]) for s in stages) == would + (1 if m.group(6) else 0)
    assert "--only" in invoke("status", ws, "--only", "done", code=2).output


def long_runs(ws: Path, n: int = 10) -> None:
    """runs.jsonl as stages write it: runs that each ran many items (a full retrieve or adapt, say)."""
    with open(ws / "runs.jsonl", "a", encoding="utf-8") as f:
        for i in range(n):
            items = [{"item": f"motion/some-long-motion-name-{k}", "action": "ran", "reason": "never ran"}
                     for k in range(12)]
            f.write(json.dumps({"time": f"2026-01-0{i % 9 + 1}T10:00:00+00:00", "stage": "adapt", "outcome": "ok",
                                "seconds": 12.5, "items": items}) + "\n")


def test_tables_fit_100_columns_off_a_terminal(ws, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.chdir(ws.parent)  # the headline names the workspace as the user does: relative to where they are
    long_runs(ws)
    out = invoke("status", ws).stdout
    assert "motion/some-long-motion-name-0" in out and "+9 more" in out  # runs.jsonl holds them all
    assert max(len(ln) for ln in out.splitlines()) <= 100, max(out.splitlines(), key=len)


def on_terminal(argv: list[str], columns: int, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``argv`` with stdout and stderr on a fresh pseudo-terminal ``columns`` wide; what it showed (no colour
    codes, no carriage returns)."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                pytest.fail(f"no output for {timeout} s: {out[-2000:]!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        proc.wait(timeout=30)
    return ANSI.sub("", out.decode("utf-8", "replace")).replace("\r", "")


def test_on_a_terminal_nothing_is_wider_than_the_window(ws):
    pytest.importorskip("fcntl")
    long_runs(ws)
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    shown = on_terminal([sys.executable, "-m", "dreamrunner_cli", "status", str(ws), "--set", "render.steps=4"],
                        80, env)
    rows = [ln for ln in shown.splitlines() if ln.strip()]
    assert any("would run" in ln or "done" in ln for ln in rows), shown
    assert max(len(ln) for ln in rows) <= 80, max(rows, key=len)
    # The first line is the unsaved --set, lower case as written (rich never capitalises it: issue 25 item 7).
    assert rows[0].startswith("config.json (not saved, status never saves): render.steps 1 → 4"), rows[0]


def test_adapt_lists_each_adapter_once(tmp_path):
    """Where each adapter went is on its own decision line, not in a second list of the same adapters."""
    from adapt_fixtures import clips_folder, make_workspace

    ws = make_workspace(tmp_path / "ws")
    clips = clips_folder(tmp_path / "clips")
    out = lines(invoke("adapt", ws.root, "--preset", "tiny", "--set", "adapt.steps=1", "--motion", "walking",
                       "--clips", f"walking={clips}").stdout)
    walking = [ln for ln in out if "walking" in ln]
    assert len(walking) == 1, out  # it was listed twice: its decision, then "motion walking: adapters/…"
    assert re.fullmatch(r"ran       adapt motion/walking: never ran → \S*adapters/motion/walking "
                        r"\(trained 1 steps, final loss [\d.]+\)", walking[0]), walking[0]
    assert out[-1] == "ran 1, skipped 0, failed 0"
