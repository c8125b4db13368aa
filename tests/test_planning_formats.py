"""Plan formats (issue 13): boxes past the frame, absent entities, nonsense refused, --lenient, partial imports."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.errors import PlanInvalid
from dreamrunner_cli.schema import Region, load_plan, validate_plan
from dreamrunner_cli.storyboard import draw_storyboard, hidden_notes

runner = CliRunner()


def plan_with(box) -> dict:
    return {"objects": [{"id": "cat", "description": "a cat"}],
            "scenes": [{"id": "s01", "narration": "x", "background": "x",
                        "keyframes": [{"regions": [{"entity": "cat", "caption": "A cat", "box": box}]}]}]}


@pytest.mark.parametrize("box,region", [
    ([0.8, 0.4, 1.1, 0.7], (0.8, 0.4, 1.0, 0.7)),  # the three off-frame boxes of the authors' plans
    ([1.0, 0.4, 1.3, 0.7], None),
    ([-0.2, 0.3, 0.1, 0.6], (0.0, 0.3, 0.1, 0.6)),
    ([0, 0, 0, 0], None),  # absent
])
def test_boxes_past_the_frame_and_absent_entities_are_accepted(box, region):
    plan = validate_plan(plan_with(box))
    r = plan.scenes[0].keyframes[0].regions[0]
    assert r.region == region and r.absent == (box == [0, 0, 0, 0])


@pytest.mark.parametrize("box,why", [
    ([math.nan, 0.1, 0.5, 0.9], "not a number"),
    ([1.1, 1.2, 1.5, 1.6], "outside the frame on both axes"),
    ([0.2, 0.7, 0.6, 0.3], "x0 < x1 and y0 < y1"),
])
def test_nonsense_boxes_are_refused_with_their_json_path(box, why):
    with pytest.raises(PlanInvalid) as exc:
        validate_plan(plan_with(box))
    assert any(d.startswith("scenes[0].keyframes[0].regions[0].box") and why in d for d in exc.value.details)


def test_storyboard_says_absent_and_off_screen(tmp_path):
    kf = validate_plan(plan_with([0, 0, 0, 0])).scenes[0].keyframes[0]
    assert hidden_notes(kf) == ["cat absent"]
    kf = validate_plan(plan_with([1.0, 0.4, 1.3, 0.7])).scenes[0].keyframes[0]
    assert hidden_notes(kf) == ["cat off-screen →"]
    assert hidden_notes(validate_plan(plan_with([0.8, 0.4, 1.1, 0.7])).scenes[0].keyframes[0]) == []
    draw_storyboard(validate_plan(plan_with([1.0, 0.4, 1.3, 0.7])), tmp_path / "sb.png")  # draws, no crash


def frames(box_in_frame_3) -> str:
    lines = ["Background: the background of the event: a cat"]
    for f in range(1, 7):
        box = box_in_frame_3 if f == 3 else [0.2, 0.2, 0.6, 0.8]
        lines.append(f"Frame_{f}: " + json.dumps([["cat", "walking", "A cat is walking"], box]))
    return '"' + "\n".join(lines) + '"'


def test_import_keeps_going_past_a_bad_plan_and_lenient_reads_inverted_boxes(tmp_path):
    f = tmp_path / "bench.jsonl"
    rows = [["0001.mp4", frames([0.8, 0.4, 1.1, 0.7])], ["0002.mp4", frames([0, 0, 0, 0])],
            ["0003.mp4", frames([0.2, 0.7, 0.6, 0.3])],  # top > bottom
            ["0004.mp4", frames([-0.2, 0.3, 0.1, 0.6])]]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    r = runner.invoke(app, ["import", str(f), "--out", str(tmp_path / "ws"), "--json"], catch_exceptions=False)
    assert r.exit_code == 5
    err = json.loads(r.stdout)
    assert "line 3 (0003.mp4)" in err["message"] and "--lenient" in " ".join(err["details"])
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["0001", "0002", "0004"]
    r = runner.invoke(app, ["import", str(f), "--out", str(tmp_path / "ws"), "--lenient", "--json"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.stdout
    plan = load_plan(tmp_path / "ws" / "0003" / "plan.json")
    assert plan.scenes[0].keyframes[2].regions[0].region is None  # an empty region, like the authors' slicing
    assert any("read as an empty region" in n for n in json.loads(r.stdout)["notes"])
    assert load_plan(tmp_path / "ws" / "0001" / "plan.json").scenes[0].keyframes[2].regions[0].box[2] == 1.1


def test_region_property_clips():
    r = Region(entity="a", caption="c", box=(-0.5, -0.1, 0.4, 1.4))
    assert r.region == (0.0, 0.0, 0.4, 1.0)
