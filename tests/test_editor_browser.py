"""`dreamrunner edit` in a real browser: Chromium from the system packages (/usr/bin/chromium), driven by Playwright
for Python. On the planned teddy workspace (rendered, with stand-in clips), a person's session: open the URL the
command prints, drag a box with the mouse, undo and redo it, edit a caption, save; plan.json changes exactly there,
and `dreamrunner render WS --dry-run --json` re-renders that scene alone. A screenshot is kept under the test's tmp
folder (and copied to $DREAMRUNNER_EDITOR_SCREENSHOT when set: docs/editor.png is made so).

Skipped, with the reason, where there is no Chromium or no Playwright; `.ci/run` installs both and sets
DREAMRUNNER_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest
from test_editor_api import changed_paths, render_dry_run, render_with_stand_in_clips, start_editor

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _chromium() -> str:
    """The system Chromium, or skip (fail when DREAMRUNNER_REQUIRE_BROWSER=1) naming what is missing."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright for Python is not installed (it is in the dev extra: pip install -e '.[dev]')"
    path = os.environ.get("DREAMRUNNER_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if problem is None and not path:
        problem = "no Chromium found (apt-get install chromium, or set DREAMRUNNER_CHROMIUM to its path)"
    if problem:
        if os.environ.get("DREAMRUNNER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here (DREAMRUNNER_REQUIRE_BROWSER=1), but {problem}")
        pytest.skip(problem)
    return path


def test_move_a_box_and_edit_a_caption_in_the_browser_then_only_that_scene_rerenders(ws, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    chromium = _chromium()
    render_with_stand_in_clips(ws)
    before = json.loads((ws / "plan.json").read_text())
    old_box = before["scenes"][1]["keyframes"][0]["regions"][0]["box"]
    assert before["scenes"][1]["keyframes"][0]["regions"][0]["entity"] == "teddy"
    proc, url = start_editor(ws)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])  # root in CI
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(url)

            # 1. Scene s02, its first key frame: drag teddy's box a quarter of the frame to the right.
            page.click("#scene-list > li[data-scene=s02]")
            expect(page.locator("#scene-title")).to_contain_text("s02")
            frame = page.locator('.frame[data-kf="0"]')
            box = frame.locator(".box[data-entity=teddy]")
            f, b = frame.bounding_box(), box.bounding_box()
            x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + f["width"] * 0.125, y, steps=4)
            page.mouse.move(x + f["width"] * 0.25, y, steps=4)
            page.mouse.up()
            moved = [float(page.input_value(f"#box-{i}")) for i in range(4)]
            assert moved[0] == pytest.approx(old_box[0] + 0.25, abs=0.02)
            assert moved[2] - moved[0] == pytest.approx(old_box[2] - old_box[0], abs=0.0015)
            assert moved[1] == old_box[1] and moved[3] == old_box[3]  # a horizontal drag moves it sideways only

            # 2. Undo and redo with the keyboard.
            page.keyboard.press("Control+z")
            expect(page.locator("#box-0")).to_have_value(str(old_box[0]))
            page.keyboard.press("Control+Shift+z")
            expect(page.locator("#box-0")).to_have_value(str(moved[0]))

            # 3. The caption of that region in that key frame.
            caption = "A [v1] brown teddy bear is walking into the sunny kitchen, waving"
            page.fill("#caption", caption)
            page.keyboard.press("Tab")
            expect(page.locator("#status")).to_contain_text("valid", timeout=10_000)
            expect(page.locator("#status")).to_contain_text("unsaved edits")

            # 4. Save: the page shows what render would do now.
            page.click("#save")
            expect(page.locator("#render-items li.run")).to_have_count(2, timeout=20_000)
            expect(page.locator("#render-items li.run").first).to_contain_text("would run render s02")
            expect(page.locator("#status")).to_contain_text("saved plan.json")
            page.wait_for_timeout(300)  # the mask preview of the saved plan
            page.screenshot(path=str(tmp_path / "editor.png"), full_page=True)
            browser.close()
        assert problems == []
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err

    # plan.json changed exactly there: the box's left and right, and the caption.
    after = json.loads((ws / "plan.json").read_text())
    assert changed_paths(before, after) == ["scenes[1].keyframes[0].regions[0].caption",
                                            "scenes[1].keyframes[0].regions[0].box[0]",
                                            "scenes[1].keyframes[0].regions[0].box[2]"]
    region = after["scenes"][1]["keyframes"][0]["regions"][0]
    assert region["caption"] == caption and region["box"] == moved
    # `dreamrunner render WS --dry-run --json`: s02 alone, then the story stitched from it.
    would = {it["item"]: it["reason"] for it in render_dry_run(ws) if it["run"]}
    assert set(would) == {"s02", "story"} and would["s02"].startswith("plan.scenes[s02]")
    print(f"screenshot: {tmp_path / 'editor.png'}")
    if os.environ.get("DREAMRUNNER_EDITOR_SCREENSHOT"):
        shutil.copyfile(tmp_path / "editor.png", Path(os.environ["DREAMRUNNER_EDITOR_SCREENSHOT"]))
