"""The authors' text plan format (METHOD.md A.3): import, errors, export round trip, and the import/export CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.errors import InputInvalid
from dreamrunner_cli.planning.authors_format import (
    export_jsonl,
    export_scene,
    import_text,
    parse_plan_text,
    read_plans,
    to_plan,
)
from dreamrunner_cli.schema import NO_MOTION, load_plan

runner = CliRunner()

# A story scene in the style of the authors' inference.sh: the witch's caption changes at Frame_4 (walking → waving),
# and the witch's box overlaps the flowers and the cat (overlaps are kept, never merged).
WITCH_FRAMES = [
    ("walking", "A [v4] girl witch is walking to the counter", [0.0, 0.0, 0.5, 1.0]),
    ("walking", "A [v4] girl witch is walking to the counter", [0.1, 0.0, 0.6, 1.0]),
    ("walking", "A [v4] girl witch is walking to the counter", [0.2, 0.0, 0.7, 1.0]),
    ("waving hands", "A [v4] girl witch is waving hands", [0.3, 0.0, 0.8, 1.0]),
    ("waving hands", "A [v4] girl witch is waving hands", [0.3, 0.0, 0.8, 1.0]),
    ("waving hands", "A [v4] girl witch is waving hands", [0.3, 0.0, 0.8, 1.0]),
]


def witch_plan(stray_quote: bool = False) -> str:
    lines = ["Background: A cozy flower shop with wooden shelves"]
    for k, (motion, caption, box) in enumerate(WITCH_FRAMES, start=1):
        lines.append(f'Frame_{k}: [["girl witch", "{motion}", "{caption}"], {box}], '
                     f'[["flowers", "arranging flowers", "Colorful flowers being arranged"], [0.55, 0.5, 0.95, 0.95]], '
                     f"[['Cat', 'none', 'A [v6] cat sleeping on a chair'], [0.6, 0.3, 0.95, 0.8]]")
    text = "\n".join(lines)
    return f'"{text}"' if stray_quote else text


CAT_PLAN = ('"Background:the background of the event: A cat slinking to the left side of a cozy living room\n'
            + "\n".join(f'Frame_{k}: [["big cat","slinking to the left","A big cat is slinking to the left side"],'
                        f'[{0.6 - 0.1 * (k - 1):.1f},0.4,{1.0 - 0.1 * (k - 1):.1f},0.7]]' for k in range(1, 7)) + '"')


# Import --------------------------------------------------------------------------------------------------------


def test_import_keeps_overlaps_and_caption_changes():
    plan = import_text(witch_plan(), "witch.mp4")
    assert [o.id for o in plan.objects] == ["girl-witch", "flowers", "cat"]
    assert plan.objects[2].description == "Cat"
    assert [(m.id, m.description) for m in plan.motions] == [("walking", "walking"), ("arranging-flowers",
                                                                                      "arranging flowers"),
                                                             ("waving-hands", "waving hands")]
    (scene,) = plan.scenes
    assert scene.id == "s01" and scene.background == scene.narration == "A cozy flower shop with wooden shelves"
    assert scene.motions == ["walking", "arranging-flowers", "waving-hands"]
    assert len(scene.keyframes) == 6 and all(len(kf.regions) == 3 for kf in scene.keyframes)
    witch = [kf.regions[0] for kf in scene.keyframes]
    assert [r.caption for r in witch] == [c for _, c, _ in WITCH_FRAMES]  # the switch at Frame_4 is kept
    assert [r.motion for r in witch] == ["walking"] * 3 + ["waving-hands"] * 3
    assert [list(r.box) for r in witch] == [b for _, _, b in WITCH_FRAMES]
    cat = scene.keyframes[0].regions[2]
    assert (cat.entity, cat.motion) == ("cat", NO_MOTION)
    # Overlapping boxes stay overlapping, and nothing is merged.
    w, f = scene.keyframes[3].regions[0].box, scene.keyframes[3].regions[1].box
    assert w[0] < f[2] and f[0] < w[2] and w[1] < f[3] and f[1] < w[3]
    assert all(kf.merged == [] for kf in scene.keyframes)


def test_stray_quotes_and_single_region_frames():
    plan = import_text(CAT_PLAN, "0001.mp4")
    (scene,) = plan.scenes
    assert scene.background.startswith("the background of the event: A cat slinking")
    assert [kf.regions[0].box[0] for kf in scene.keyframes] == pytest.approx([0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    assert {kf.regions[0].caption for kf in scene.keyframes} == {"A big cat is slinking to the left side"}
    assert import_text(witch_plan(stray_quote=True)) == import_text(witch_plan())


def test_frames_written_as_one_list_and_reasoning_before_background():
    text = ("*Reasoning* the witch walks then waves.\n*Plan*\nBackground: a shop\n"
            'Frame_1: [[["witch", "walking", "A witch is walking"], [0.1, 0, 0.6, 1]], '
            '[["cat", "none", "A cat"], [0.6, 0.5, 0.9, 0.9]]]\n'
            'Frame_2: [["witch", "walking", "A witch is walking"], [0.2, 0, 0.7, 1]]')
    plan = import_text(text)
    assert [len(kf.regions) for kf in plan.scenes[0].keyframes] == [2, 1]


def test_benchmark_jsonl(tmp_path):
    f = tmp_path / "4_motion_binding.jsonl"
    f.write_text(json.dumps(["0001.mp4", CAT_PLAN]) + "\n\n" + json.dumps(["0002.mp4", witch_plan(True)]) + "\n")
    plans = read_plans(f)
    assert [p.name for p in plans] == ["0001.mp4", "0002.mp4"]
    assert [len(p.frames) for p in plans] == [6, 6]
    assert to_plan(plans[1]).objects[0].id == "girl-witch"


BAD_CASES = [
    ('Background: x\nFrame_1: [["a", "b", "c"], [0.5, 0.1, 0.2, 0.9]]', "line 2: Frame_1, item 1: box",
     "left < right"),
    ('Background: x\nFrame_1: [["a", "b", "c"], [1.1, 1.2, 1.4, 1.6]]', "line 2", "outside the frame on both axes"),
    ('Background: x\nFrame_1: [["a", "b", "c"], [0.1, 0.1, 9, 0.9]]', "line 2", "too far outside the frame"),
    ('Background: x\nFrame_2: [["a", "b", "c"], [0, 0, 1, 1]]', "line 2", "expected Frame_1, found Frame_2"),
    ('Background: x\nFrame_1: [["a", "b"], [0, 0, 1, 1]]', "line 2", "three strings"),
    ('Background: x\nFrame_1: [["a", "b", "c"], [0, 0, 1]]', "line 2", "four numbers"),
    ('Background: x\nFrame_1: [["a", "b", "c"], [0, 0, 1, 1]', "line 2", "not a list literal"),
    ('Background: x\nFrame_1: __import__("os").system("touch PWNED")', "line 2", "not a list literal"),
    ('Frame_1: [["a", "b", "c"], [0, 0, 1, 1]]', "line 1", "no 'Background:' line"),
    ('Background: x\nFrame_1: [["a", "b", ""], [0, 0, 1, 1]]', "line 2", "caption is empty"),
    ('Background: x\nFrame_1: [["a", "b", "c"], [0, 0, 1, 1]]\nsome stray text', "line 3", "not a 'Frame_k:' line"),
    ("Background: x", "line 1", "no 'Frame_1:'"),
]


@pytest.mark.parametrize("text,where,what", BAD_CASES, ids=[c[2] for c in BAD_CASES])
def test_bad_plan_strings_name_the_line_and_the_problem(text, where, what, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputInvalid) as exc:
        parse_plan_text(text)
    assert any(d.startswith(where) and what in d for d in exc.value.details), exc.value.details
    assert not (tmp_path / "PWNED").exists()  # literal_eval, never eval


def test_bad_benchmark_lines_name_file_and_line(tmp_path):
    f = tmp_path / "bench.jsonl"
    f.write_text("\n".join([json.dumps(["0001.mp4", CAT_PLAN]),
                            "[not json",
                            json.dumps({"video": "0003.mp4"}),
                            json.dumps(["0004.mp4", 'Background: x\nFrame_1: [["a", "b", "c"], [0.9, 0, 0.1, 1]]'])]))
    with pytest.raises(InputInvalid) as exc:
        read_plans(f)
    assert str(f) in exc.value.message
    details = exc.value.details
    assert details[0].startswith("line 2: not valid JSON")
    assert details[1].startswith("line 3: expected a JSON array [video_name, plan_string]")
    assert details[2].startswith("line 4 (0004.mp4), plan line 2: Frame_1, item 1: box")
    assert len(details) == 3


# Export ----------------------------------------------------------------------------------------------------------


def test_export_round_trip():
    for text in (witch_plan(), CAT_PLAN):
        first = import_text(text, "x.mp4")
        exported, notes = export_scene(first, "s01")
        assert exported.startswith("Background: ") and exported.count("\nFrame_") == 6
        second = import_text(exported, "x.mp4")
        assert second == first
        assert import_text(export_scene(second, "s01")[0], "x.mp4") == first


def test_export_of_a_planned_story_keeps_boxes_and_captions():
    from dreamrunner_cli.config import PlanConfig
    from dreamrunner_cli.planning.heuristic import HeuristicPlanner
    from dreamrunner_cli.schema import assemble_plan
    from dreamrunner_cli.story import parse_story

    planner = HeuristicPlanner(PlanConfig())
    root = Path(__file__).resolve().parents[1]
    outline = planner.outline(parse_story(root / "examples" / "stories" / "mia_and_rex.txt"))
    plan = assemble_plan(outline, {s.id: planner.layout(outline, s) for s in outline.scenes})
    text, notes = export_jsonl(plan)
    assert any("characters are written as plain entities" in n for n in notes)
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r[0] for r in rows] == [f"{s.id}.mp4" for s in plan.scenes]
    for (name, plan_string), scene in zip(rows, plan.scenes):
        back = import_text(plan_string, name).scenes[0]
        assert back.background == scene.background
        for a, b in zip(back.keyframes, scene.keyframes):
            assert [(r.entity, r.motion, r.caption, r.box) for r in a.regions] == \
                   [(r.entity, r.motion, r.caption, r.box) for r in b.regions]


# CLI -------------------------------------------------------------------------------------------------------------


def test_cli_import_then_export(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps(["0001.mp4", CAT_PLAN]) + "\n" + json.dumps(["0002.mp4", witch_plan(True)]) + "\n")
    out = tmp_path / "ws"
    r = runner.invoke(app, ["import", str(bench), "--out", str(out), "--preset", "tiny", "--json"],
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert [(i["item"], i["action"]) for i in result["items"]] == [("0001", "ran"), ("0002", "ran")]
    for name in ("0001", "0002"):
        ws = out / name
        load_plan(ws / "plan.json")  # a valid plan
        assert (ws / "storyboard.png").stat().st_size > 0
        assert json.loads((ws / "config.json").read_text())["preset"] == "tiny"
        assert json.loads((ws / "dreamrunner.lock").read_text())["stages"]["import"]["plan"]["outs"]
    assert load_plan(out / "0002" / "plan.json") == import_text(witch_plan(), "0002.mp4")
    stamp = (out / "0001" / "plan.json").stat().st_mtime_ns

    # Again: nothing to do.
    r = runner.invoke(app, ["import", str(bench), "--out", str(out), "--json"], catch_exceptions=False)
    assert [i["action"] for i in json.loads(r.stdout)["items"]] == ["skipped", "skipped"]
    assert (out / "0001" / "plan.json").stat().st_mtime_ns == stamp

    # A different plan under the same name is refused without --force, and nothing is written.
    bench.write_text(json.dumps(["0001.mp4", witch_plan()]) + "\n")
    r = runner.invoke(app, ["import", str(bench), "--out", str(out), "--json"], catch_exceptions=False)
    assert r.exit_code == 2 and "--force" in json.loads(r.stdout)["hint"]
    assert (out / "0001" / "plan.json").stat().st_mtime_ns == stamp
    r = runner.invoke(app, ["import", str(bench), "--out", str(out), "--force", "--json"], catch_exceptions=False)
    assert r.exit_code == 0 and load_plan(out / "0001" / "plan.json").objects[0].id == "girl-witch"

    # Export: text to stdout, to a file, and JSON lines.
    r = runner.invoke(app, ["export", str(out / "0002")], catch_exceptions=False)
    assert r.exit_code == 0 and r.stdout.startswith("Background: A cozy flower shop")
    assert import_text(r.stdout, "0002.mp4") == load_plan(out / "0002" / "plan.json")
    target = tmp_path / "exported.jsonl"
    r = runner.invoke(app, ["export", str(out / "0002"), "--format", "jsonl", "--out", str(target)],
                      catch_exceptions=False)
    assert r.exit_code == 0
    assert [p.name for p in read_plans(target)] == ["s01.mp4"]


def test_cli_import_errors_and_dry_run(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(["0001.mp4", CAT_PLAN]) + "\n" + "oops\n")
    r = runner.invoke(app, ["import", str(bad), "--out", str(tmp_path / "ws"), "--json"], catch_exceptions=False)
    assert r.exit_code == 5
    err = json.loads(r.stdout)
    assert err["error"] == "InputInvalid" and err["details"] == ["line 2: not valid JSON (Expecting value at column 1)"]
    assert "imported 1 plan(s); 1 bad plan(s) were not imported: line 2" in err["message"]
    assert (tmp_path / "ws" / "0001" / "plan.json").exists()  # a bad line does not stop the other plans
    import shutil

    shutil.rmtree(tmp_path / "ws")
    good = tmp_path / "good.txt"
    good.write_text(witch_plan())
    r = runner.invoke(app, ["import", str(good), "--out", str(tmp_path / "ws"), "--dry-run", "--json"],
                      catch_exceptions=False)
    assert r.exit_code == 0 and json.loads(r.stdout)["items"][0]["item"] == "good"
    assert not (tmp_path / "ws").exists()
    r = runner.invoke(app, ["import", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "ws"), "--json"])
    assert r.exit_code == 5


def test_cli_export_errors(tmp_path):
    two = tmp_path / "bench.jsonl"
    two.write_text(json.dumps(["a.mp4", CAT_PLAN]) + "\n")
    runner.invoke(app, ["import", str(two), "--out", str(tmp_path / "ws")], catch_exceptions=False)
    ws = tmp_path / "ws" / "a"
    r = runner.invoke(app, ["export", str(ws), "--scene", "s09", "--json"])
    err = json.loads(r.stdout)  # an unknown --scene is a usage error (2), as in every other command
    assert r.exit_code == 2 and err["error"] == "UnknownItem" and "s09" in err["message"] and "s01" in err["hint"]
    r = runner.invoke(app, ["export", str(ws), "--format", "yaml", "--json"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["export", str(tmp_path / "nowhere"), "--json"])
    assert r.exit_code == 3  # no plan.json: run `dreamrunner plan` first
