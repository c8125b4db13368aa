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
    assert r.stdout.splitlines()[-1] == "Everything is up to date." and "Story scores" in r.output
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
    # (--preset again: a failed command does not save its preset in config.json)
    r = runner.invoke(app, ["evaluate", str(ws.root), "--preset", "tiny", "--videos", str(ws.renders_dir),
                            "--videos", f"takes={other}"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "renders" in r.output and "takes" in r.output and "matched by sorted order" in r.output
    data = json.loads((ws.eval_dir / "metrics.json").read_text())
    assert [s["name"] for s in data["sources"]] == ["renders", "takes"]
    # No renders at all → "missing upstream" (3), naming the command to run.
    ws2 = make_workspace(tmp_path / "ws2", make_plan(), {})
    r = runner.invoke(app, ["evaluate", str(ws2.root), "--preset", "tiny"])
    assert r.exit_code == 3 and "dreamrunner run" in r.output  # the chain render needs (issue 25 item 5)


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


INJECTION = '<script>window.__pwned=1</script>'
ATTR_INJECTION = '"><img src=x onerror="window.__pwned=2">'


def _report_workspace(tmp_path: Path):
    """Two sources (renders + a worse baseline) scored with fake encoders, plus the real storyboard, story.mp4, a
    retrieval manifest with one clip, two adapter records with loss curves, config.json and runs.jsonl. A caption
    and the narration carry HTML that must be shown as text, never run."""
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.schema import Plan
    from dreamrunner_cli.stages import evaluate as stage
    from dreamrunner_cli.video import write_video
    from dreamrunner_cli.workspace import write_json_atomic

    plan = make_plan([[("red", 4), ("blue", 2)], [("green", 3), ("yellow", 3)], [("blue", 2), ("red", 4)]])
    data = plan.model_dump(mode="json")
    region = data["scenes"][0]["keyframes"][0]["regions"][0]
    region["caption"] = region["caption"] + " " + INJECTION
    data["scenes"][1]["narration"] += " " + ATTR_INJECTION
    plan = Plan.model_validate(data)
    videos = {"s01": two_color_video("red", "blue", 32), "s02": two_color_video("green", "yellow", 24),
              "s03": two_color_video("blue", "red", 16)}
    ws = make_workspace(tmp_path / "ws", plan, videos)
    try:
        from dreamrunner_cli.storyboard import draw_storyboard

        draw_storyboard(plan, ws.storyboard)
    except ImportError:  # the storyboard module is written elsewhere; the report works without it
        pass
    write_video(ws.story_video, np.concatenate([videos[s] for s in ("s01", "s02", "s03")]), 8)
    base = tmp_path / "baseline"
    for i, c in enumerate(["yellow", "red", "green"]):
        write_video(base / f"s{i + 1:02d}.mp4", solid(c, 48), 8)
    # Upstream stages' files, as retrieve and adapt write them (only the fields the report reads).
    clip_dir = ws.retrieval_dir / "walking"
    write_video(clip_dir / "clips" / "00-a-man-walks.mp4", solid("green", 16), 8)
    write_json_atomic(clip_dir / "manifest.json", {
        "motion": "walking", "query": "person is walking", "counts": {"kept": 1},
        "kept": [{"file": "clips/00-a-man-walks.mp4", "caption": "a man walks <b>fast</b>", "rank": 1, "row": 0,
                  "source": "v/1.mp4", "start": 0.0, "end": 2.0, "frames": 16, "fps": 8.0, "width": 32,
                  "height": 32, "clip_score": 0.3, "video_text_score": 0.2, "score": 0.25,
                  "above_threshold": True}]})
    for kind, ident in (("motion", "walking"), ("character", "teddy")):
        write_json_atomic(ws.adapters_dir / kind / ident / "adapter.json", {
            "kind": kind, "id": ident, "steps": 40, "rank": 4, "final_loss": 0.1, "source": "trained",
            "data": [{}], "loss_curve": [1.0 / (1 + 0.2 * i) for i in range(40)],
            "spatial_loss_curve": [None if i % 5 == 0 else 0.8 / (1 + 0.1 * i) for i in range(40)]
            if kind == "motion" else []})
    cfg = resolve_config(preset="tiny")
    write_json_atomic(ws.config, cfg.model_dump(mode="json"))
    ws.log_run({"stage": "render", "outcome": "ok", "seconds": 1.5, "seeds": {"s01": 123},
                "items": [{"item": "s01", "action": "ran", "reason": "never ran"}]})
    enc = stage.Encoders(clip=ColourClip(), dino=PixelEncoder(), video_text=ColourVideoText())
    stage.run(ws, cfg, encoders=enc, progress=False, videos=[f"dreamrunner={ws.renders_dir}", f"baseline={base}"])
    return ws


def test_report_shows_videos_crops_clips_losses_and_provenance(tmp_path):
    """The report's content, without a browser: players with posters and animated previews, sources side by side,
    character crops, retrieved clips, loss curves, a table of contents, provenance, and escaped plan text."""
    import base64
    import io
    import re
    from urllib.parse import unquote

    from PIL import Image

    ws = _report_workspace(tmp_path)
    html = (ws.eval_dir / "report.html").read_text()
    # 1. Table of contents: every link points at a section of the page.
    anchors = re.findall(r'<a href="#([^"]+)"', html)
    assert {"summary", "per-scene", "story-video", "storyboard", "characters", "scenes", "scene-s01", "retrieval",
            "adapters", "cuts", "metrics", "provenance"} <= set(anchors)
    for a in anchors:
        assert f'id="{a}"' in html, a
    # 2. Videos: story.mp4 + 3 scenes × 2 sources, each linked relative to eval/ (so it plays in place), with a
    #    JPEG poster and an animated WebP preview inlined in the page.
    srcs = re.findall(r'<source src="([^"]+)" type="video/mp4">', html)
    assert len(srcs) == 7
    assert {(ws.eval_dir / unquote(s)).resolve() for s in srcs} >= {ws.story_video.resolve(),
                                                                   ws.scene_video("s01").resolve(),
                                                                   (tmp_path / "baseline" / "s02.mp4").resolve()}
    assert html.count('poster="data:image/jpeg;base64,') == 7
    previews = re.findall(r'class="preview" alt="[^"]*" src="data:image/webp;base64,([^"]+)"', html)
    assert len(previews) == 7
    with Image.open(io.BytesIO(base64.b64decode(previews[0]))) as im:
        assert getattr(im, "is_animated", False) and im.n_frames > 1
    # 3. Sources side by side: one grid column per source in every scene card.
    assert html.count('grid-template-columns:repeat(2,minmax(0,1fr))') == 3
    # 4. Character crops (one per scene and source) next to the reference images.
    for src in ("dreamrunner", "baseline"):
        for sid in ("s01", "s02", "s03"):
            assert f'alt="teddy in {src} {sid}"' in html
    assert 'alt="teddy reference 1"' in html
    # 5. Retrieved clip thumbnail and LoRA loss curves (the motion one with its spatial loss).
    assert 'alt="retrieved clip walking 1" src="data:image/jpeg' in html
    assert "a man walks &lt;b&gt;fast&lt;/b&gt;" in html
    assert 'aria-label="loss curve motion walking"' in html and 'aria-label="loss curve character teddy"' in html
    assert html.count('stroke-dasharray="4 3"') == 1  # the spatial loss: motion LoRAs only
    # 6. Provenance: versions, seeds, config and the runs.
    assert "render.seed=0" in html and "adapt.seed=0" in html
    assert "config.json (the resolved configuration)" in html and "&#34;preset&#34;: &#34;tiny&#34;" in html
    assert '<td class="l">render</td><td class="l">ok</td>' in html
    assert '<td class="l">jinja2</td>' in html
    # 7. Plan text is escaped: the caption's script and the narration's attribute break-out are shown as text.
    assert INJECTION not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert ATTR_INJECTION not in html and "onerror=&#34;window.__pwned=2&#34;" in html
    # Only the page's own script may run (Content-Security-Policy with its hash).
    assert "script-src 'sha256-" in html and html.count("<script>") == 1


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr",
                           "--v=0", "--virtual-time-budget=5000", *args], capture_output=True, text=True, timeout=120)


def _console_lines(stderr: str) -> list[str]:
    """What the page wrote to the console (Chromium logs each message as ``INFO:CONSOLE…``): errors, CSP
    violations, warnings. The page writes nothing when it is healthy."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.slow  # 14 s (make test stays near 5 minutes; .ci/run runs it: make test-ci-slow)
@pytest.mark.browser
def test_report_renders_in_headless_chromium(tmp_path, chromium):
    from PIL import Image

    ws = _report_workspace(tmp_path)
    report = ws.eval_dir / "report.html"
    html = report.read_text()
    n_img = html.count("<img ")
    assert n_img >= 7  # storyboard (if drawn) + 1 reference + 3 scenes × 2 sources
    url = report.resolve().as_uri()
    # 1. Every inlined image decodes in the browser, every video is playable (metadata loaded), no script or
    #    resource error, nothing on the console (the page's own checks, read back from the DOM).
    dom = _chromium(chromium, tmp_path / "p1", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f'data-images="{n_img}/{n_img}"' in dom.stdout
    assert 'data-videos="7/7"' in dom.stdout
    assert 'data-errors="0"' in dom.stdout
    assert _console_lines(dom.stderr) == []
    assert "<title>Teddy test · dreamrunner evaluation</title>" in dom.stdout
    assert "__pwned" not in dom.stdout.split("<body>")[0]  # the injected scripts did not run (they would not
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in dom.stdout  # set attributes, but stay text)
    # 2. A screenshot with real content: the plot's and the boxes' colours are on the page.
    shot = tmp_path / "report.png"
    res = _chromium(chromium, tmp_path / "p2", "--hide-scrollbars", "--window-size=1280,3000",
                    f"--screenshot={shot}", url)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    assert _console_lines(res.stderr) == []
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (3000, 1280)
    colours = {tuple(c) for c in img.reshape(-1, 3)[::7]}
    assert len(colours) > 200  # text, tables, pictures: not a blank page
    from dreamrunner_cli.storyboard import entity_colour

    teddy = "#%02x%02x%02x" % entity_colour("teddy")  # the storyboard's colour for teddy (a hash of its id)
    for hex_colour in ("#1f6feb", "#d55e00", teddy):  # source 1 line, source 2 line, teddy's boxes
        rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(img.astype(int) - rgb).sum(-1) < 12).sum() > 50, hex_colour
    # 3. The page moved alone (without the mp4s): still every picture, and each player falls back to its preview.
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(report, moved / "report.html")
    dom2 = _chromium(chromium, tmp_path / "p3", "--dump-dom", (moved / "report.html").resolve().as_uri())
    assert dom2.returncode == 0, dom2.stderr[-2000:]
    assert f'data-images="{n_img}/{n_img}"' in dom2.stdout
    assert 'data-videos="0/7"' in dom2.stdout and dom2.stdout.count('class="player novideo"') == 7
    assert _console_lines(dom2.stderr) == []
    if os.environ.get("DREAMRUNNER_SCREENSHOT_DIR"):  # to look at it: keep a copy
        shutil.copy(shot, Path(os.environ["DREAMRUNNER_SCREENSHOT_DIR"]) / "evaluate_report.png")
