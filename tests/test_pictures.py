"""Pictures: the bundled font, mask pictures as a grid of key frames with a legend that fits, report pictures."""

from __future__ import annotations

import json

import numpy as np
from evaluate_fixtures import make_plan, make_workspace
from PIL import Image, ImageFont
from typer.testing import CliRunner

from dreamrunner_cli.assets import font, font_path, wrap
from dreamrunner_cli.cli import app
from dreamrunner_cli.schema import Plan

LONG = ("A [v1] teddy bear is walking, all red, along a very long and winding garden path lined with tall "
        "sunflowers, past the old greenhouse and the pond with its three ducks, until it reaches the gate")


def test_bundled_font_is_a_small_truetype_file_with_its_licence():
    path = font_path()
    assert path.is_file() and path.stat().st_size < 1_000_000
    assert (path.parent / "LICENSE-DejaVu.txt").read_text().count("Bitstream") >= 2
    f = font(13)
    assert isinstance(f, ImageFont.FreeTypeFont) and f.path == str(path)
    assert f.getlength("a b") > f.getlength("ab")  # spaces have a width (Pillow's bitmap font loses them)
    # The pictures use it (storyboard, report pictures).
    from dreamrunner_cli import storyboard
    from dreamrunner_cli.evaluation import pictures

    assert storyboard._font(13).path == str(path) and pictures._font(12).path == str(path)


def test_wrap_never_exceeds_the_width_and_keeps_every_word():
    f = font(13)
    lines = wrap(LONG + " " + "x" * 120, f, 300)
    assert all(f.getlength(line) <= 300 for line in lines)
    assert "".join(lines).replace(" ", "") == (LONG + " " + "x" * 120).replace(" ", "")


def test_masks_at_the_real_2b_geometry_are_a_grid_with_a_legend_that_fits(tmp_path):
    from dreamrunner_cli.sr3ai import export

    plan = make_plan()
    data = plan.model_dump(mode="json")
    for kf in data["scenes"][0]["keyframes"]:
        kf["regions"][0]["caption"] = LONG
    ws = make_workspace(tmp_path / "ws", Plan.model_validate(data))
    r = CliRunner().invoke(app, ["masks", str(ws.root), "--height", "480", "--width", "720", "--frames", "48",
                                 "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["geometry"]["latent_frames"] == 12 and (out["geometry"]["rows"], out["geometry"]["cols"]) == (30, 45)
    img = Image.open(out["pictures"][0])
    width, height = img.size
    # 6 key frames (2 identical latent frames each) → a 2 × 3 grid, not a 12-panel strip (was 4792 × 324).
    from dreamrunner_cli.sr3ai.geometry_source import geometry_for
    from dreamrunner_cli.sr3ai.regions import scene_regions

    regions = scene_regions(Plan.model_validate(data).scene("s01"),
                            geometry_for("THUDM/CogVideoX-2b", 480, 720, 48, None), "repeat", "all")
    assert export.panel_groups(regions) == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)]
    assert export.grid_shape(6) == (2, 3)
    assert width <= 1200 and width / height < 2.5
    # The legend: every prompt in full (wrapped, not cut at 160 characters), every line inside the picture.
    f = font(13)
    texts = export.legend_entries(regions)
    assert any(LONG in t for t in texts)
    for text in texts:
        lines = wrap(text, f, width - 2 * 12 - 12 - 8)
        assert " ".join(lines) == " ".join(text.split())
        assert all(12 + 12 + 8 + f.getlength(line) <= width for line in lines)
    # The legend is drawn: its bottom rows hold dark text pixels below the grid.
    a = np.asarray(img.convert("L"))
    grid_bottom = 12 + 2 * (22 + 30 * 8 + 12)
    assert (a[grid_bottom:] < 80).sum() > 500


def test_report_pictures_crop_and_preview():
    import base64
    import io

    from dreamrunner_cli.evaluation import pictures

    frames = np.zeros((16, 40, 60, 3), np.uint8)
    frames[:, :20, :30] = (255, 0, 0)  # top-left quarter red
    uri = pictures.crop_uri(frames[0], [0.0, 0.0, 0.5, 0.5])
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
        px = np.asarray(im.convert("RGB")).reshape(-1, 3).mean(0)
        assert px[0] > 200 and px[1] < 40  # only the red quarter
    assert pictures.crop_uri(frames[0], [1.1, 0.0, 1.5, 1.0]) is None  # off-screen: no crop
    moving = np.stack([np.roll(frames[0], 3 * i, axis=1) for i in range(16)])  # identical frames would merge
    uri = pictures.animated_preview_uri(moving, 8.0)
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
        assert im.format == "WEBP" and im.n_frames == 16 and max(im.size) <= 240
