"""`dreamrunner evaluate` through the CLI with the tiny preset's real (random) scorers, and the report in a real
headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from evaluate_fixtures import (
    ColourClip,
    ColourVideoText,
    PixelEncoder,
    make_plan,
    make_workspace,
    pattern,
    solid,
    two_color_video,
)
from typer.testing import CliRunner

from dreamrunner_cli.cli import app

runner = CliRunner()


def moving(seed: int, n: int = 17) -> np.ndarray:
    return np.stack([np.roll(pattern(seed), i, axis=1) for i in range(n)])


def test_cli_evaluates_renders_with_the_tiny_preset_then_skips(tmp_path):
    ws = make_workspace(tmp_path / "ws", make_plan(), {"s01": moving(0), "s02": moving(2)})
    r = runner.invoke(app, ["evaluate", str(ws.root), "--preset", "tiny", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [it["action"] for it in out["items"]] == ["ran", "ran", "ran"]
    data = json.loads((ws.eval_dir / "metrics.json").read_text())
    assert data["models"] == {"clip": "open_clip:tiny (random)", "dino": "tiny-random-dinov2",
                              "video_text": "viclip:tiny (random)"}
    assert data["warnings"] and "tiny" in data["warnings"][0]
    story = data["sources"][0]["story"]
    for key in ("char_clip", "char_dino", "fg_clip", "fg_vt", "full_clip", "full_vt", "trans_dino", "cross_dino"):
        assert isinstance(story[key], float) and -100.0 <= story[key] <= 100.0
    assert (ws.eval_dir / "report.html").stat().st_size > 1000
    # Second run: nothing to do; the human output still shows the score tables.
    r = runner.invoke(app, ["evaluate", str(ws.root)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "skipped   evaluate story: up to date" in r.output and "Story scores" in r.output
    assert "Per scene" in r.output and "report:" in r.output


def test_cli_compares_folders_and_reports_bad_input_with_exit_codes(tmp_path):
    ws = make_workspace(tmp_path / "ws", make_plan(), {"s01": moving(0), "s02": moving(2)})
    other = tmp_path / "other"
    other.mkdir()
    for i in range(3):
        shutil.copy(ws.scene_video("s01"), other / f"take{i}.mp4")
    r = runner.invoke(app, ["evaluate", str(ws.root), "--preset", "tiny", "--videos", str(other)])
    assert r.exit_code == 5
    assert "has 3 video(s) but the plan has 2 scenes" in r.output and "hint:" in r.output
    (other / "take2.mp4").unlink()
    r = runner.invoke(app, ["evaluate", str(ws.root), "--videos", str(ws.renders_dir), "--videos",
                            f"takes={other}"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "renders" in r.output and "takes" in r.output and "matched by sorted order" in r.output
    data = json.loads((ws.eval_dir / "metrics.json").read_text())
    assert [s["name"] for s in data["sources"]] == ["renders", "takes"]
    # No renders at all → "missing upstream" (3), naming the command to run.
    ws2 = make_workspace(tmp_path / "ws2", make_plan(), {})
    r = runner.invoke(app, ["evaluate", str(ws2.root), "--preset", "tiny"])
    assert r.exit_code == 3 and "dreamrunner render" in r.output


def test_evaluate_help_does_not_import_torch():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom dreamrunner_cli.cli import app\n"
            "r = CliRunner().invoke(app, ['evaluate', '--help'])\nassert r.exit_code == 0, r.output\n"
            "assert '--videos' in r.output\nprint(sorted(m for m in ('torch', 'open_clip', 'transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# The report in a real headless browser --------------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Chromium from Debian's packages: found, else installed with apt-get when running as root, else skipped."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)  # type: ignore[return-value]
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("Chromium is not installed and the tests do not run as root, so it cannot be installed; "
                    "install the Debian package `chromium` to run this test")
    if not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and there is no apt-get to install it (not a Debian system)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        try:
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"could not install Chromium with apt-get ({' '.join(cmd)}): {exc}")
        if res.returncode != 0:
            pytest.skip(f"could not install Chromium with apt-get ({' '.join(cmd)}): "
                        f"{(res.stderr or res.stdout).strip()[-300:]}")
    path = shutil.which("chromium")
    if not path:
        pytest.skip("apt-get installed the chromium package but no `chromium` binary is on PATH")
    return path


def _report_workspace(tmp_path: Path):
    """Two sources (renders + a worse baseline) scored with fake encoders, plus the real storyboard."""
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.stages import evaluate as stage

    plan = make_plan([[("red", 4), ("blue", 2)], [("green", 3), ("yellow", 3)], [("blue", 2), ("red", 4)]])
    videos = {"s01": two_color_video("red", "blue", 32), "s02": two_color_video("green", "yellow", 24),
              "s03": two_color_video("blue", "red", 16)}
    ws = make_workspace(tmp_path / "ws", plan, videos)
    try:
        from dreamrunner_cli.storyboard import draw_storyboard

        draw_storyboard(plan, ws.storyboard)
    except ImportError:  # the storyboard module is written elsewhere; the report works without it
        pass
    base = tmp_path / "baseline"
    for i, c in enumerate(["yellow", "red", "green"]):
        from dreamrunner_cli.video import write_video

        write_video(base / f"s{i + 1:02d}.mp4", solid(c, 48), 8)
    enc = stage.Encoders(clip=ColourClip(), dino=PixelEncoder(), video_text=ColourVideoText())
    stage.run(ws, resolve_config(preset="tiny"), encoders=enc, progress=False,
              videos=[f"dreamrunner={ws.renders_dir}", f"baseline={base}"])
    return ws


@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path, chromium):
    from PIL import Image

    ws = _report_workspace(tmp_path)
    report = ws.eval_dir / "report.html"
    html = report.read_text()
    n_img = html.count("<img ")
    assert n_img >= 7  # storyboard (if drawn) + 1 reference + 3 scenes × 2 sources
    url = report.resolve().as_uri()
    # 1. Every inlined image decodes in the browser (the page's own check, read back from the DOM).
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p1'}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f'data-images="{n_img}/{n_img}"' in dom.stdout
    assert "<title>Teddy test · dreamrunner evaluation</title>" in dom.stdout
    # 2. A screenshot with real content: the plot's and the boxes' colours are on the page.
    shot = tmp_path / "report.png"
    res = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'p2'}", "--hide-scrollbars",
                          "--window-size=1280,3000", f"--screenshot={shot}", url],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (3000, 1280)
    colours = {tuple(c) for c in img.reshape(-1, 3)[::7]}
    assert len(colours) > 200  # text, tables, pictures: not a blank page
    for hex_colour in ("#1f6feb", "#d55e00", "#1f77b4"):  # source 1 line, source 2 line, teddy's boxes
        rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img.astype(int) - rgb).sum(-1) < 12).sum() > 50, hex_colour
    if os.environ.get("DREAMRUNNER_SCREENSHOT_DIR"):  # to look at it: keep a copy
        shutil.copy(shot, Path(os.environ["DREAMRUNNER_SCREENSHOT_DIR"]) / "evaluate_report.png")
