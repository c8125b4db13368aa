"""Pictures whose text never runs together (issue 25, item 12), measured rather than looked at: the mask pictures'
panel titles (tiny geometries have 64-pixel panels), the token grid that docs/sr3ai.md promises ("each cell is one
token"), and the report's character-strip captions, laid out by a real browser."""

from __future__ import annotations

import html
import json
import re
import subprocess
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_evaluate_cli import CHROMIUM_FLAGS, _report_workspace, chromium  # noqa: F401 - chromium is a fixture
from test_sr3ai_unit import overlap_scene, tiny_geometry
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.sr3ai.export import GRID, draw_regions, panel_layout
from dreamrunner_cli.sr3ai.regions import scene_regions

Box = tuple[float, float, float, float]  # left, top, right, bottom


def apart(a: Box, b: Box, gap: float = 0.0) -> bool:
    """The boxes do not intersect, with at least ``gap`` between them."""
    return a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]


def check_mask_picture(png: Path, regions) -> None:
    lay = panel_layout(regions)
    a = np.asarray(Image.open(png).convert("RGB"))
    g = regions.geometry
    pw, ph = g.cols * lay.cell, g.rows * lay.cell
    per_panel = lay.title_boxes()
    titles = [t for lines in per_panel for t in lines]
    panels = [(x, y, x + pw, y + ph) for x, y in lay.panels]
    # 1. Titles: lines apart, each panel's title 4 px at least from the others' and from every panel, all inside
    #    the picture.
    assert all(apart(t, u) for t, u in combinations(titles, 2)), titles
    assert all(apart(t, u, 4) for a, b in combinations(per_panel, 2) for t in a for u in b), per_panel
    assert all(apart(t, p) for t in titles for p in panels)
    assert all(0 <= t[0] and t[2] <= a.shape[1] for t in titles)
    # 2. What is drawn matches the measured boxes: each holds ink, and every dark pixel above the grid's rows is in
    #    one of them (nothing drawn where the boxes say there is nothing).
    dark = a.sum(-1) < 3 * 128
    for t in titles:
        assert dark[int(t[1]):int(t[3]), int(t[0]):int(t[2])].any(), t
    inside = np.zeros_like(dark)
    for t in titles:
        inside[int(t[1]):int(t[3]), int(t[0]):int(t[2])] = True
    for p in panels:
        inside[p[1]:p[3], p[0]:p[2]] = True
    grid_bottom = 12 + lay.grid_h
    assert not (dark[:grid_bottom] & ~inside[:grid_bottom]).any()
    # 3. The token grid: a white line between every two cells, across the whole panel.
    if lay.cell >= 6:
        for x, y in lay.panels:
            for r in range(1, g.rows):
                assert (a[y + r * lay.cell, x + 1:x + pw - 1] == GRID).all()
            for c in range(1, g.cols):
                assert (a[y + 1:y + ph - 1, x + c * lay.cell] == GRID).all()
            assert not (a[y + 1:y + lay.cell - 1, x + 1:x + lay.cell - 1] == GRID).all(-1).any()  # not in a cell


def test_masks_of_the_tiny_preset_have_titles_apart_and_a_token_grid(ws):
    """What `dreamrunner masks` draws for the tiny preset's 4 × 4-token panels (the titles used to overlap)."""
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.schema import load_plan
    from dreamrunner_cli.sr3ai.geometry_source import geometry_for

    res = CliRunner().invoke(app, ["masks", str(ws), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    cfg = resolve_config(saved=ws / "config.json")
    geom = geometry_for(cfg.model.id, cfg.render.height, cfg.render.width, cfg.render.num_frames)
    assert (geom.rows, geom.cols) == (4, 4)
    plan = load_plan(ws / "plan.json")
    for png in out["pictures"]:
        regions = scene_regions(plan.scene(Path(png).stem), geom, cfg.render.keyframe_policy, cfg.render.overlap)
        assert panel_layout(regions).head > 22  # two-line titles: "key frame 1" over "latent frame 0"
        check_mask_picture(Path(png), regions)


@pytest.mark.parametrize("frames,height,width", [(9, 64, 64), (9, 96, 48), (48, 64, 480), (9, 160, 160)],
                         ids=["4x4", "6x3", "4x30", "10x10"])
def test_mask_titles_and_grid_at_other_geometries(tmp_path, frames, height, width):
    regions = scene_regions(overlap_scene(), tiny_geometry(frames, height, width))
    check_mask_picture(draw_regions(regions, tmp_path / "p.png"), regions)


def test_cells_too_small_for_lines_get_none(tmp_path):
    regions = scene_regions(overlap_scene(), tiny_geometry(9, 64, 480))  # 4 × 30 tokens
    a = np.asarray(Image.open(draw_regions(regions, tmp_path / "p.png", cell=5)).convert("RGB"))
    x, y = panel_layout(regions, cell=5).panels[0]
    assert not (a[y + 1:y + 4 * 5 - 1, x + 1:x + 30 * 5 - 1] == GRID).all(-1).any()


# The report's character strips, in a real browser -----------------------------------------------------------------

MEASURE = """<script>window.addEventListener('load', () => {
  const out = [...document.querySelectorAll('.strip')].map(strip => [...strip.querySelectorAll('figure')].map(f => {
    const r = document.createRange(); const cap = f.querySelector('figcaption'); r.selectNodeContents(cap);
    const box = e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
    return {figure: box(f), img: box(f.querySelector('img')), text: [...r.getClientRects()].map(
      b => [b.left, b.top, b.right, b.bottom]), caption: cap.textContent};
  }));
  document.body.setAttribute('data-strips', JSON.stringify(out));
});</script>"""


@pytest.mark.browser
def test_character_strip_captions_stay_under_their_own_crop(tmp_path, chromium):  # noqa: F811
    ws = _report_workspace(tmp_path)
    page = (ws.eval_dir / "report.html").read_text(encoding="utf-8")
    # A copy that also runs the measuring script (the report's policy allows only its own script).
    probe = ws.eval_dir / "probe.html"
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
                     .replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    res = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--window-size=1280,2000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    strips = json.loads(html.unescape(re.search(r'data-strips="([^"]*)"', res.stdout).group(1)))
    figures = [f for strip in strips for f in strip if f["caption"]]
    assert len(figures) == 6  # teddy's crops: 3 scenes × 2 sources
    for strip in strips:
        for f in strip:
            fig, text = f["figure"], f["text"]
            assert text and all(fig[0] - 0.5 <= t[0] and t[2] <= fig[2] + 0.5 for t in text), f  # in its figure
            assert all(t[1] >= f["img"][3] - 0.5 for t in text), f  # under its crop
        for f, g in combinations(strip, 2):
            assert apart(f["figure"], g["figure"], 8), (f, g)  # never run into the next one
            assert all(apart(t, u, 8) for t in f["text"] for u in g["text"] + [g["img"]]), (f, g)
