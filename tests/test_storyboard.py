"""storyboard.png: one row per scene, a panel per key frame, boxes in their entity's colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from dreamrunner_cli import storyboard as sb
from dreamrunner_cli.schema import validate_plan


def region(entity: str, motion: str, box: list[float]) -> dict:
    return {"entity": entity, "motion": motion, "caption": f"A [v1] {entity} is {motion}", "box": box}


def make_plan(frames_per_scene: tuple[int, ...] = (6, 6)):
    scenes = []
    for n, k in enumerate(frames_per_scene, start=1):
        kfs = [{"regions": [region("teddy", "walking", [0.1 + 0.05 * f, 0.0, 0.6 + 0.05 * f, 1.0]),
                            region("rock", "none", [0.5, 0.6, 0.9, 0.95])]} for f in range(k)]
        scenes.append({"id": f"s{n:02d}", "location": "garden", "background": "A sunny garden.",
                       "narration": "Teddy walks through the garden towards a big grey rock and then keeps walking "
                                    "around it for a long while, because the narration must wrap over lines. " * 2,
                       "characters": ["teddy"], "motions": ["walking"], "keyframes": kfs})
    return validate_plan({"title": "Teddy", "characters": [{"id": "teddy", "description": "a teddy bear"}],
                          "objects": [{"id": "rock"}], "motions": [{"id": "walking", "description": "walking"}],
                          "scenes": scenes})


def test_storyboard_png_size_and_boxes(tmp_path):
    plan = make_plan()
    out = sb.draw_storyboard(plan, tmp_path / "storyboard.png")
    assert out == tmp_path / "storyboard.png"
    img = Image.open(out).convert("RGB")
    width, height = img.size
    assert width == 2 * sb.MARGIN + 6 * sb.PANEL_W + 5 * sb.GAP
    # Two rows of panels plus at least two lines of text each (the narration wraps).
    assert height >= 2 * (sb.MARK_H + sb.PANEL_H + 3 * sb.LINE_H)
    assert [p.name for p in tmp_path.iterdir()] == ["storyboard.png"]  # atomic: no temp file left behind
    colours = sb.entity_colours(plan)
    assert colours["teddy"] != colours["rock"]
    # The left edge of teddy's box in the first panel of the first row is drawn in teddy's colour.
    top = sb.MARGIN + sb.TITLE_H + sb.LEGEND_H + sb.MARK_H
    x0 = sb.MARGIN + round(0.1 * (sb.PANEL_W - 1))
    assert img.getpixel((x0, top + sb.PANEL_H // 2)) == colours["teddy"]
    # In the third panel it has moved right by 2 × 0.05 of the panel width.
    x2 = sb.MARGIN + 2 * (sb.PANEL_W + sb.GAP) + round(0.2 * (sb.PANEL_W - 1))
    assert img.getpixel((x2, top + sb.PANEL_H // 2)) == colours["teddy"]
    # The rock's bottom edge.
    rock_bottom = top + round(0.95 * (sb.PANEL_H - 1))
    assert img.getpixel((sb.MARGIN + round(0.7 * (sb.PANEL_W - 1)), rock_bottom)) == colours["rock"]


def test_rows_of_different_lengths_and_overwrite(tmp_path):
    plan = make_plan((4, 2, 6))
    out = tmp_path / "sb.png"
    sb.draw_storyboard(make_plan((2,)), out)
    small = Image.open(out).size
    sb.draw_storyboard(plan, out)
    width, height = Image.open(out).size
    assert width == 2 * sb.MARGIN + 6 * sb.PANEL_W + 5 * sb.GAP  # the widest row decides
    assert width > small[0] and height > small[1]


def test_storyboard_of_an_example_story(tmp_path):
    from dreamrunner_cli.config import PlanConfig
    from dreamrunner_cli.planning.heuristic import HeuristicPlanner
    from dreamrunner_cli.schema import assemble_plan
    from dreamrunner_cli.story import parse_story

    story = Path(__file__).resolve().parents[1] / "examples" / "stories" / "mia_and_rex.txt"
    planner = HeuristicPlanner(PlanConfig())
    outline = planner.outline(parse_story(story))
    plan = assemble_plan(outline, {s.id: planner.layout(outline, s) for s in outline.scenes})
    out = sb.draw_storyboard(plan, tmp_path / "storyboard.png")
    img = Image.open(out).convert("RGB")
    assert img.size[0] == sb.picture_width(plan)
    packed = np.unique(np.asarray(img, dtype=np.uint32).reshape(-1, 3) @ np.array([1 << 16, 1 << 8, 1], np.uint32))
    colours = {(int(v) >> 16, (int(v) >> 8) & 255, int(v) & 255) for v in packed}
    assert {sb.entity_colours(plan)[c] for c in ("mia", "rex")} <= colours  # both characters' boxes are drawn
    assert len(colours) > 20  # not a blank picture


def test_storyboard_lists_the_sr3ai_captions_and_shows_the_reference_images(tmp_path):
    plan = make_plan((6,))
    data = plan.model_dump(mode="json")
    for f, kf in enumerate(data["scenes"][0]["keyframes"]):  # key frames 4-6: a new event (caption) for teddy
        if f >= 3:
            kf["regions"][0]["caption"] = "A [v1] teddy is waving at the rock"
    data["characters"][0]["reference_images"] = ["refs/teddy/1.png"]
    plan = validate_plan(data)
    (tmp_path / "refs" / "teddy").mkdir(parents=True)
    magenta = (201, 7, 199)
    Image.new("RGB", (40, 60), magenta).save(tmp_path / "refs" / "teddy" / "1.png")
    assert sb.scene_captions(plan.scenes[0]) == [
        ("teddy", 1, 3, "A [v1] teddy is walking"), ("rock", 1, 6, "A [v1] rock is none"),
        ("teddy", 4, 6, "A [v1] teddy is waving at the rock")]
    out = sb.draw_storyboard(plan, tmp_path / "storyboard.png")  # references resolve next to the picture
    img = np.asarray(Image.open(out).convert("RGB"))
    assert (np.abs(img.astype(int) - magenta).sum(-1) == 0).sum() >= 40 * 60 * 0.9  # the reference image
    without = sb.draw_storyboard(validate_plan({**data, "characters": [{**data["characters"][0],
                                                                      "reference_images": []}]}),
                                 tmp_path / "no-refs.png")
    assert Image.open(without).size[1] < img.shape[0]
    # Each caption line is drawn: the rows of text under the panels grow with the number of caption runs.
    f = sb._font(12)
    for _entity, label, lines in sb._caption_lines(plan.scenes[0], f, sb.picture_width(plan) - 2 * sb.MARGIN):
        assert all(sb.MARGIN + 14 + f.getlength(label) + f.getlength(line) <= sb.picture_width(plan) - sb.MARGIN
                   for line in lines)


def test_many_scenes_make_pages_of_bounded_height_and_the_first_keeps_its_name(tmp_path):
    plan = make_plan((1,) * 110)  # one picture grew without bound (115k px at 500 scenes; Pillow refused past ~520)
    out = sb.draw_storyboard(plan, tmp_path / "storyboard.png")
    assert out == tmp_path / "storyboard.png"
    pages = sb.page_paths(out, 110)
    assert len(pages) == -(-110 // sb.SCENES_PER_PAGE) and pages[1].name == "storyboard-2.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in pages)  # no temp file, no extra
    heights = [Image.open(p).size[1] for p in pages]
    # page k holds SCENES_PER_PAGE rows (the last one the rest): bounded by that many one-scene pictures
    one_row = Image.open(sb.draw_storyboard(make_plan((1,)), tmp_path / "one" / "s.png")).size[1]
    header = 2 * sb.MARGIN + sb.TITLE_H + sb.LEGEND_H
    assert max(heights) <= sb.SCENES_PER_PAGE * one_row < 115_000 // 8
    assert heights[0] >= sb.SCENES_PER_PAGE * (one_row - header) and heights[-1] < heights[0]


def test_pages_hold_the_scenes_in_order(tmp_path):
    plan = make_plan((6, 6, 6, 6, 6))  # same width alone as together
    sb.draw_storyboard(plan, tmp_path / "sb.png", scenes_per_page=2)
    pages = sb.page_paths(tmp_path / "sb.png", 5, 2)
    assert [p.name for p in pages] == ["sb.png", "sb-2.png", "sb-3.png"]
    for page, scenes in zip(pages, [(0, 1), (2, 3), (4,)]):
        alone = sb.draw_storyboard(validate_plan({**plan.model_dump(mode="json"),
                                                  "scenes": [plan.model_dump(mode="json")["scenes"][i]
                                                             for i in scenes]}), tmp_path / "alone.png")
        assert Image.open(page).size[1] == Image.open(alone).size[1]  # the same rows as drawing those scenes alone


def test_plan_stage_records_every_page_and_removes_pages_a_shorter_plan_no_longer_needs(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app
    from dreamrunner_cli.workspace import Records, Workspace

    monkeypatch.setattr(sb, "SCENES_PER_PAGE", 2)
    story = Path(__file__).resolve().parents[1] / "examples" / "stories" / "teddy.txt"
    ws = tmp_path / "ws"
    run = CliRunner().invoke(app, ["plan", str(story), "-w", str(ws), "--preset", "tiny", "--set",
                                   "plan.min_scenes=5", "--set", "plan.max_scenes=5", "--quiet"],
                             catch_exceptions=False)
    assert run.exit_code == 0, run.output
    n = len(json.loads((ws / "plan.json").read_text())["scenes"])
    pages = sb.page_paths(ws / "storyboard.png", n, 2)
    assert len(pages) >= 3 and all(p.exists() for p in pages)
    assert set(Records.load(Workspace(ws)).get("plan", "storyboard")["outs"]) == {p.name for p in pages}
    (ws / "storyboard-9.png").write_bytes(b"mine")  # not a page the stage made: never touched
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"] = plan["scenes"][:2]
    (ws / "plan.json").write_text(json.dumps(plan))
    run = CliRunner().invoke(app, ["plan", str(ws), "--quiet"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in ws.glob("storyboard*.png")) == ["storyboard-9.png", "storyboard.png"]
