"""Fast in-process tests of the plan stage's decisions, guards, records and messages (stages/plan.py).

Most tests swap the planner for a small fake (``PLANNERS`` entry), so a run takes milliseconds and every call to it is
counted; one test plans examples/stories/teddy.txt with the real built-in planner.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from dreamrunner_cli import planning
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid, MissingUpstream, PlanInvalid, UsageError
from dreamrunner_cli.schema import Character, Keyframe, Motion, Outline, Region, SceneOutline, load_plan
from dreamrunner_cli.stages import plan as stage
from dreamrunner_cli.story import parse_story
from dreamrunner_cli.workspace import Records, Workspace, digest, file_digest

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT / "examples" / "stories"
PNG = STORIES / "refs" / "teddy" / "1.png"
PNG2 = STORIES / "refs" / "teddy" / "2.png"
BOX = (0.2, 0.0, 0.8, 1.0)

STORY = """---
title: Two walks
characters:
  - id: teddy
    name: Teddy
    description: a brown teddy bear
    images: [refs/a.png, refs/b.png]
---
Teddy walks in the park.

Teddy walks home.
"""


def cfg(*overrides: str):
    return resolve_config(preset="tiny", overrides=list(overrides))


class FakePlanner:
    """Scenes from the story's paragraphs, one character (teddy, unless ``chars`` says otherwise), one motion;
    ``fail`` maps a step ('outline' or a scene id) to an exception raised there, after ``replies`` were "received"."""

    name = "fake"

    def __init__(self, plan_cfg, log):
        self.cfg = plan_cfg
        self.model = "fake-model"
        self.calls: list[dict] = []
        self.log = log
        self.exchange: dict | None = None
        self.fail: dict = log.fail
        self.replies: list[str] = log.replies
        self.box = log.box

    def report_to(self, say):
        self.log.append(("report_to", say))

    def scrub(self, text: str) -> str:
        return text.replace("SECRET", "***")

    def _step(self, step: str):
        self.calls.append({"step": step})
        self.exchange = {"step": step, "replies": list(self.replies)}
        if step in self.fail:
            raise self.fail[step]
        self.exchange["done"] = True

    def outline(self, story):
        self.log.append(("outline", story.title))
        self._step("outline")
        paragraphs = [p.strip() for p in story.text.split("\n\n") if p.strip()]
        return Outline(
            title=story.title, story=story.text,
            characters=[Character(id="teddy", name="Teddy", description="a brown teddy bear", token="[v1]"),
                        Character(id="other", description="someone else", token="[v2]")],
            motions=[Motion(id="walking", description="walking")],
            scenes=[SceneOutline(id=f"s{i + 1:02d}", narration=p, background="a park", characters=["teddy"],
                                 motions=["walking"]) for i, p in enumerate(paragraphs)])

    def layout(self, outline, scene):
        self.log.append(("layout", scene.id))
        self._step(scene.id)
        region = Region(entity="teddy", motion="walking", caption="A [v1] teddy bear is walking", box=self.box)
        return [Keyframe(regions=[region]) for _ in range(2)]


class Log(list):
    """What the fake planners did (planners made, outlines, layouts), and how they should behave."""

    def __init__(self):
        super().__init__()
        self.fail: dict = {}
        self.replies: list[str] = []
        self.box = BOX


@pytest.fixture
def fake(monkeypatch) -> Log:
    log = Log()

    def make(plan_cfg):
        log.append(("planner", plan_cfg.llm))
        return FakePlanner(plan_cfg, log)

    monkeypatch.setitem(planning.PLANNERS, "builtin", make)
    monkeypatch.setitem(planning.PLANNERS, "openai", make)
    return log


@pytest.fixture
def story(tmp_path) -> Path:
    d = tmp_path / "src"
    (d / "refs").mkdir(parents=True)
    shutil.copy(PNG, d / "refs" / "a.png")
    shutil.copy(PNG2, d / "refs" / "b.png")
    (d / "story.txt").write_text(STORY)
    return d / "story.txt"


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace(tmp_path / "ws")


def actions(result) -> list[tuple[str, str, str]]:
    return [(i["item"], i["reason"], i["action"]) for i in result["items"]]


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


# Paths and small helpers ---------------------------------------------------------------------------------------------


def test_paths_and_the_planner_settings_subset(ws):
    assert stage.outline_path(ws) == ws.root / "planning" / "outline.json"
    assert stage.layout_path(ws, "s03") == ws.root / "planning" / "scenes" / "s03.json"
    assert stage.replies_dir(ws) == ws.root / "planning" / "replies"
    plan_cfg = cfg().plan.model_dump()
    assert stage._subset(plan_cfg, stage.PLANNER_KEYS) == {k: plan_cfg[k] for k in stage.PLANNER_KEYS}
    assert stage._subset(plan_cfg, ("keyframes", "nope")) == {"keyframes": 6}
    llm = {**plan_cfg, "llm": "openai", "prompts": {"outline": "abc"}}
    assert stage._subset(llm, ("keyframes",)) == {"keyframes": 6, "repetition_penalty": 1.05, "stop": [],
                                                  "stop_at_json_end": True, "prompts": {"outline": "abc"}}
    assert stage._subset({"keyframes": 6, "stop": []}, ("keyframes",)) == {"keyframes": 6}  # no llm key: builtin
    assert stage.LLM_REPLY_KEYS == ("repetition_penalty", "stop", "stop_at_json_end")
    assert stage.LAYOUT_KEYS == stage.PLANNER_KEYS + ("keyframes", "merge_overlaps", "min_box_side")
    assert stage.PLANNER_KEYS == ("llm", "llm_model", "llm_base_url", "min_scenes", "max_scenes",
                                  "max_motions_per_scene", "max_motions_per_scene_multi", "temperature", "seed",
                                  "max_tokens", "structured_output")


def test_story_copy_and_import_story(ws, story):
    parsed = parse_story(story)
    text, copies = stage.story_copy(ws, parsed)
    assert text == ("---\ntitle: Two walks\ncharacters:\n- id: teddy\n  name: Teddy\n"
                    "  description: a brown teddy bear\n  token: '[v1]'\n  images:\n  - refs/teddy/01-a.png\n"
                    "  - refs/teddy/02-b.png\n---\n"
                    "Teddy walks in the park.\n\nTeddy walks home.\n")
    assert copies == [(story.parent / "refs" / "a.png", ws.refs_dir / "teddy" / "01-a.png"),
                      (story.parent / "refs" / "b.png", ws.refs_dir / "teddy" / "02-b.png")]
    assert not ws.root.exists()  # story_copy writes nothing
    got = stage.import_story(ws, story)  # a path: parsed first
    assert ws.story.read_text() == text
    assert got.path == ws.story and [c.images for c in got.characters] == [[ws.refs_dir / "teddy" / "01-a.png",
                                                                            ws.refs_dir / "teddy" / "02-b.png"]]
    assert (ws.refs_dir / "teddy" / "01-a.png").read_bytes() == PNG.read_bytes()
    # A changed copy is restored; story.txt edited by hand is put back.
    (ws.refs_dir / "teddy" / "02-b.png").write_bytes(b"x")
    ws.story.write_text("changed")
    stage.import_story(ws, parsed)
    assert (ws.refs_dir / "teddy" / "02-b.png").read_bytes() == PNG2.read_bytes() and ws.story.read_text() == text
    plain = story.parent / "plain.txt"
    plain.write_text("---\ntitle: Café\n---\nJust a line.\n")
    assert stage.story_copy(ws, parse_story(plain)) == ("---\ntitle: Café\n---\nJust a line.\n", [])
    deep = Workspace(story.parent / "a" / "b" / "ws")  # folders made as needed, even with no image to copy
    assert stage.import_story(deep, plain).title == "Café" and deep.story.exists()


def test_import_story_passes_allow_outside_refs(tmp_path, ws):
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "s.txt").write_text(f"---\ncharacters:\n  - id: teddy\n    description: a bear\n    images: [{PNG}]\n---\n"
                             "Hi.\n")
    with pytest.raises(InputInvalid):
        stage.import_story(ws, d / "s.txt")
    assert stage.import_story(ws, d / "s.txt", allow_outside_refs=True).characters[0].images == [
        ws.refs_dir / "teddy" / "01-1.png"]


def test_attach_reference_images_only_to_story_characters(ws, story, fake):
    parsed = stage.import_story(ws, story)
    outline = FakePlanner(cfg().plan, fake).outline(parsed)
    out = stage._attach_reference_images(outline, parsed, ws)
    assert [c.reference_images for c in out.characters] == [["refs/teddy/01-a.png", "refs/teddy/02-b.png"], []]
    assert out.scenes == outline.scenes and outline.characters[0].reference_images == []


# run(): the main path ------------------------------------------------------------------------------------------------


def test_plan_runs_every_item_then_skips_them(ws, story, fake, caplog):
    r = stage.run(ws, cfg(), story_file=story, progress=False)
    assert actions(r) == [("outline", "never ran", "ran"), ("s01", "never ran", "ran"), ("s02", "never ran", "ran"),
                          ("plan.json", "never ran", "ran"), ("storyboard", "never ran", "ran")]
    assert fake == [("planner", "builtin"), ("report_to", None), ("outline", "Two walks"), ("layout", "s01"),
                    ("layout", "s02")]
    fps = [i.pop("fingerprint") for i in r["items"]]
    assert r == {"stage": "plan", "workspace": str(ws.root), "dry_run": False, "items": r["items"], "notes": [],
                 "planner": {"backend": "builtin", "model": "fake-model"},
                 "llm_calls": [{"step": "outline"}, {"step": "s01"}, {"step": "s02"}],
                 "plan": str(ws.plan), "storyboard": str(ws.storyboard), "vanishing_regions": []}
    outline = json.loads(stage.outline_path(ws).read_text())
    assert [c["reference_images"] for c in outline["characters"]] == [["refs/teddy/01-a.png", "refs/teddy/02-b.png"],
                                                                      []]
    assert json.loads(stage.layout_path(ws, "s02").read_text()) == [
        {"regions": [{"entity": "teddy", "motion": "walking", "caption": "A [v1] teddy bear is walking",
                      "box": list(BOX)}], "merged": []}] * 2
    plan = load_plan(ws.plan)
    assert [s.id for s in plan.scenes] == ["s01", "s02"] and plan.title == "Two walks"
    assert plan.characters[0].reference_images == ["refs/teddy/01-a.png", "refs/teddy/02-b.png"]
    assert ws.storyboard.exists()
    rec = Records.load(ws)
    assert [rec.get("plan", i)["fingerprint"] for i in ("outline", "s01", "s02", "plan.json", "storyboard")] == fps
    assert set(rec.get("plan", "outline")["deps"]) == {"story", "config.plan"}
    assert rec.get("plan", "outline")["deps"]["story"] == file_digest(ws.story)
    assert set(rec.get("plan", "s01")["deps"]) == {"outline.scenes[s01]", "outline.entities", "config.plan"}
    assert set(rec.get("plan", "plan.json")["deps"]) == {"planning/outline.json", "planning/scenes"}
    assert set(rec.get("plan", "storyboard")["deps"]) == {"plan.json", "version"}
    assert list(rec.get("plan", "storyboard")["outs"]) == ["storyboard.png"]
    run = ws.read_runs()[-1]
    assert (run["stage"], run["outcome"], run["planner"], run["llm_calls"]) == (
        "plan", "ok", {"backend": "builtin", "model": "fake-model"}, r["llm_calls"])

    # Again, from the workspace's own story: nothing runs and no planner is made.
    del fake[:]
    again = stage.run(ws, cfg(), progress=False)
    assert [a[1:] for a in actions(again)] == [("up to date", "skipped")] * 5
    assert fake == [] and again["llm_calls"] == [] and again["planner"] == {"backend": "builtin", "model": None}
    # The story file given again (the same text) changes nothing either; story_file = story.txt itself is no copy.
    assert [a[2] for a in actions(stage.run(ws, cfg(), story_file=story, progress=False))] == ["skipped"] * 5
    assert [a[2] for a in actions(stage.run(ws, cfg(), story_file=ws.story, progress=False))] == ["skipped"] * 5
    assert fake == []


def test_progress_reaches_the_planner_when_enabled(ws, story, fake, capsys):
    stage.run(ws, cfg(), story_file=story)
    say = fake[1][1]
    assert isinstance(say, stage._Reporter) and say.enabled
    say("a finished reply")
    say("working", transient=True)
    assert capsys.readouterr().err.splitlines() == ["a finished reply", "working"]
    say.close()


def test_reporter_is_silent_when_disabled(capsys):
    say = stage._Reporter(False)
    say("x")
    say("y", transient=True)
    say.close()
    assert capsys.readouterr().err == "" and say.enabled is False


def test_an_llm_planner_hashes_its_prompts_and_reply_keys(ws, story, fake, monkeypatch):
    import dreamrunner_cli.planning.llm as llm

    monkeypatch.setattr(llm, "prompt_versions", lambda: {"outline": "v1"})
    stage.run(ws, cfg("plan.llm=openai", "plan.llm_model=m"), story_file=story, progress=False)
    assert fake[0] == ("planner", "openai")
    rec = Records.load(ws).get("plan", "outline")
    conf = cfg("plan.llm=openai", "plan.llm_model=m").plan.model_dump()
    conf["prompts"] = {"outline": "v1"}
    assert rec["deps"]["config.plan"] == digest(stage._subset(conf, stage.PLANNER_KEYS))
    # A prompt file edited: everything re-plans (a dry run says so).
    monkeypatch.setattr(llm, "prompt_versions", lambda: {"outline": "v2"})
    r = stage.run(ws, cfg("plan.llm=openai", "plan.llm_model=m"), dry_run=True, progress=False)
    assert [a[1] for a in actions(r)] == ["config.plan.prompts.outline v1 → v2"] * 3


def test_reply_keys_do_not_touch_a_builtin_plan(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    r = stage.run(ws, cfg("plan.stop=[\"END\"]", "plan.repetition_penalty=1.5"), dry_run=True, progress=False)
    assert [a[2] for a in actions(r)] == ["skipped"] * 3
    r = stage.run(ws, cfg("plan.keyframes=3"), dry_run=True, progress=False)
    assert actions(r)[:3] == [("outline", "up to date", "skipped"),
                              ("s01", "config.plan.keyframes 6 → 3", "would run"),
                              ("s02", "config.plan.keyframes 6 → 3", "would run")]


def test_dry_run_on_a_fresh_workspace_writes_nothing(ws, story, fake, tmp_path):
    r = stage.run(ws, cfg(), story_file=story, dry_run=True)
    assert r == {"stage": "plan", "workspace": str(ws.root), "dry_run": True,
                 "items": [{"stage": "plan", "item": "outline", "run": True, "reason": "never ran",
                            "action": "would run"}], "notes": [],
                 "planner": {"backend": "builtin", "model": None}, "llm_calls": [], "plan": str(ws.plan),
                 "storyboard": str(ws.storyboard), "vanishing_regions": []}  # the fields of every plan result
    assert not ws.root.exists() and fake == []


def test_dry_run_after_a_story_change_lists_the_scenes(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    before = snapshot(ws.root)
    r = stage.run(ws, cfg(), story_file=story, dry_run=True)  # the same story: nothing would run
    assert [a[1:] for a in actions(r)] == [("up to date", "skipped")] * 3
    story.write_text(STORY + "\nTeddy sleeps.\n")
    r = stage.run(ws, cfg(), story_file=story, dry_run=True)
    assert actions(r) == [("outline", "story changed", "would run"), ("s01", "up to date", "skipped"),
                          ("s02", "up to date", "skipped")]
    assert r["vanishing_regions"] == [] and "planner" in r
    assert snapshot(ws.root) == before


# Hand-written and hand-edited plans -----------------------------------------------------------------------------------


def write_hand_plan(ws: Workspace, box=BOX, scenes: int = 1) -> dict:
    region = {"entity": "teddy", "motion": "walking", "caption": "A [v1] teddy bear is walking", "box": list(box)}
    plan = {"schema_version": 1, "title": "t", "story": "s",
            "characters": [{"id": "teddy", "description": "a brown teddy bear", "token": "[v1]"}],
            "motions": [{"id": "walking", "description": "walking"}],
            "scenes": [{"id": f"s{i + 1:02d}", "narration": "Teddy walks.", "background": "a park",
                        "characters": ["teddy"], "motions": ["walking"], "keyframes": [{"regions": [region]}] * 2}
                       for i in range(scenes)]}
    ws.root.mkdir(parents=True, exist_ok=True)
    ws.plan.write_text(json.dumps(plan))
    return plan


def test_a_hand_written_plan_is_kept_and_its_storyboard_drawn(ws, fake):
    write_hand_plan(ws)
    before = ws.plan.read_bytes()
    r = stage.run(ws, cfg(), progress=False)
    assert actions(r) == [("storyboard", "never ran", "ran")]
    assert r["notes"] == ["no story.txt: plan.json was written by hand or imported; kept as it is"]
    assert (r["plan"], r["storyboard"], r["vanishing_regions"]) == (str(ws.plan), str(ws.storyboard), [])
    assert ws.plan.read_bytes() == before and ws.storyboard.exists() and fake == []
    assert ws.read_runs()[-1]["outcome"] == "ok"
    ws.storyboard.unlink()
    r = stage.run(ws, cfg(), dry_run=True, progress=False)  # says the storyboard would be drawn, draws nothing
    assert actions(r) == [("storyboard", "output storyboard.png missing", "would run")] and not ws.storyboard.exists()
    assert r["notes"] == ["no story.txt: plan.json was written by hand or imported; kept as it is"]


def test_nothing_to_plan_from(ws, fake):
    with pytest.raises(MissingUpstream) as err:
        stage.run(ws, cfg(), progress=False)
    assert err.value.message == f"no story.txt or plan.json in {ws.root}"
    assert err.value.hint == "run `dreamrunner plan STORY.txt --workspace WS`"
    run = ws.read_runs()[-1]  # past the guards: a failed run, logged
    assert (run["outcome"], run["error"]["type"], run["items"]) == ("failed", "MissingUpstream", [])


def test_hand_edits_survive_a_replanned_scene(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    plan = json.loads(ws.plan.read_text())
    plan["scenes"][0]["narration"] = "EDITED BY HAND"
    plan["scenes"][1]["keyframes"][0]["regions"][0]["box"] = [0.1, 0.1, 0.9, 0.9]
    ws.plan.write_text(json.dumps(plan))
    # The same story again: plan.json is kept (edits are not overwritten); the storyboard follows it.
    r = stage.run(ws, cfg(), story_file=story, progress=False)
    assert actions(r)[3:] == [("plan.json", "kept (hand-edited)", "skipped"),
                              ("storyboard", "plan.json changed", "ran")]
    del fake[:]
    fake.box = (0.0, 0.0, 0.5, 1.0)
    r = stage.run(ws, cfg(), only=["s02"], force=True, progress=False)
    assert actions(r) == [("outline", "up to date", "skipped"), ("s02", "forced (--force)", "ran"),
                          ("plan.json", "forced (--force)", "ran"), ("storyboard", "forced (--force)", "ran")]
    assert r["notes"] == ["plan.json has hand edits: kept them; re-planned ['s02']"]
    assert fake == [("planner", "builtin"), ("report_to", None), ("layout", "s02")]
    after = json.loads(ws.plan.read_text())
    assert after["scenes"][0]["narration"] == "EDITED BY HAND"
    assert after["scenes"][1]["keyframes"][0]["regions"][0]["box"] == [0.0, 0.0, 0.5, 1.0]
    assert after["scenes"][0]["keyframes"][0]["regions"][0]["box"] == list(BOX)
    # A hand edit again, then a layout file changed by hand: plan.json is re-assembled, the edits are kept.
    ws.plan.write_text(ws.plan.read_text().replace("EDITED BY HAND", "EDITED AGAIN"))
    layout = json.loads(stage.layout_path(ws, "s01").read_text())
    layout[0]["regions"][0]["box"] = [0.3, 0.0, 0.7, 1.0]
    stage.layout_path(ws, "s01").write_text(json.dumps(layout))
    r = stage.run(ws, cfg(), progress=False)
    assert actions(r)[3] == ("plan.json", "planning/scenes changed", "ran")
    assert r["notes"] == ["plan.json has hand edits: kept them"]
    assert json.loads(ws.plan.read_text())["scenes"][0]["keyframes"][0]["regions"][0]["box"] == list(BOX)
    assert json.loads(ws.plan.read_text())["scenes"][0]["narration"] == "EDITED AGAIN"
    # --force (whole plan) re-plans from scratch: the edits go.
    r = stage.run(ws, cfg(), force=True, progress=False)
    assert r["notes"] == [] and json.loads(ws.plan.read_text())["scenes"][0]["narration"] == "Teddy walks in the park."


def test_hand_edits_patched_by_a_partial_replan_stay_hand_edits(ws, story, fake):
    """After `--scene s02 --force` over hand edits, plan.json is the stage's own output again, but it still holds
    the edits: the record says so, a later full re-plan (new layout settings) keeps them, a new story is refused."""
    stage.run(ws, cfg(), story_file=story, progress=False)
    assert "hand_edited" not in Records.load(ws).get("plan", "plan.json")
    ws.plan.write_text(ws.plan.read_text().replace("Teddy walks in the park.", "EDITED BY HAND"))
    stage.run(ws, cfg(), only=["s02"], force=True, progress=False)
    assert Records.load(ws).get("plan", "plan.json")["hand_edited"] is True
    assert stage._hand_edited(ws, stage.StageRun(ws, "plan", dry_run=True))
    r = stage.run(ws, cfg("plan.keyframes=2"), progress=False)
    assert [a[0] for a in actions(r) if a[2] == "ran"] == ["s01", "s02", "plan.json"]
    assert r["notes"] == ["plan.json has hand edits: kept them; re-planned ['s01', 's02']"]
    assert json.loads(ws.plan.read_text())["scenes"][0]["narration"] == "EDITED BY HAND"
    assert Records.load(ws).get("plan", "plan.json")["hand_edited"] is True  # still: the file still holds them
    story.write_text(STORY + "\nTeddy sleeps.\n")
    with pytest.raises(InputInvalid, match="edited by hand"):
        stage.run(ws, cfg("plan.keyframes=2"), story_file=story, progress=False)
    # --force re-plans from scratch: the edits and the flag go.
    stage.run(ws, cfg("plan.keyframes=2"), story_file=story, force=True, progress=False)
    assert "hand_edited" not in Records.load(ws).get("plan", "plan.json")
    assert not stage._hand_edited(ws, stage.StageRun(ws, "plan", dry_run=True))


def test_a_replanned_scene_without_hand_edits_reassembles_the_plan(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    fake.box = (0.0, 0.0, 0.5, 1.0)
    r = stage.run(ws, cfg(), only=["s02"], force=True, progress=False)
    assert [a[0] for a in actions(r) if a[2] == "ran"] == ["s02", "plan.json", "storyboard"] and r["notes"] == []
    assert load_plan(ws.plan).scenes[1].keyframes[0].regions[0].box == (0.0, 0.0, 0.5, 1.0)


def test_a_patched_plan_that_no_longer_validates_names_plan_json(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    plan = json.loads(ws.plan.read_text())
    plan["characters"][0]["id"] = "bob"  # the re-planned layout still names teddy
    for scene in plan["scenes"]:
        scene["characters"] = ["bob"]
        for kf in scene["keyframes"]:
            kf["regions"][0]["entity"] = "bob"
    ws.plan.write_text(json.dumps(plan))
    with pytest.raises(PlanInvalid) as err:
        stage.run(ws, cfg(), only=["s02"], force=True, progress=False)
    assert err.value.message == f"{ws.plan} is not a valid plan (2 errors)"


def test_an_outline_entity_edited_by_hand_replans_the_scenes(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    outline = json.loads(stage.outline_path(ws).read_text())
    outline["characters"][0]["description"] = "a small grey teddy bear"
    stage.outline_path(ws).write_text(json.dumps(outline))
    r = stage.run(ws, cfg(), dry_run=True, progress=False)
    assert actions(r) == [("outline", "up to date", "skipped"), ("s01", "outline.entities changed", "would run"),
                          ("s02", "outline.entities changed", "would run")]


def test_llm_prompt_files_do_not_touch_a_builtin_plan(ws, story, fake, monkeypatch):
    import dreamrunner_cli.planning.llm as llm

    stage.run(ws, cfg(), story_file=story, progress=False)
    monkeypatch.setattr(llm, "prompt_versions", lambda: {"outline": "edited"})
    r = stage.run(ws, cfg(), dry_run=True, progress=False)
    assert [a[2] for a in actions(r)] == ["skipped"] * 3


def test_a_dry_run_without_plan_json(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    ws.plan.unlink()
    r = stage.run(ws, cfg(), dry_run=True, progress=False)
    assert r["vanishing_regions"] == [] and [a[2] for a in actions(r)] == ["skipped"] * 3


def test_record_failure_of_a_stage_run_without_the_started_flag(ws, fake):
    from dreamrunner_cli.workspace import StageRun

    ws.root.mkdir()
    sr = StageRun(ws, "plan")
    stage._record_failure(ws, sr, stage._PlannerSlot(cfg().plan, stage._Reporter(False)), InputInvalid("late"))
    assert ws.read_runs()[-1]["error"] == {"type": "InputInvalid", "message": "late", "exit_code": 5, "details": []}


def test_a_new_story_over_a_hand_edited_plan_is_refused(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    plan = json.loads(ws.plan.read_text())
    plan["title"] = "MINE"
    ws.plan.write_text(json.dumps(plan))
    story.write_text(STORY + "\nTeddy sleeps.\n")
    before = snapshot(ws.root)
    for _ in range(2):
        with pytest.raises(InputInvalid) as err:
            stage.run(ws, cfg(), story_file=story, progress=False)
        assert err.value.message == (f"plan.json in {ws.root} was edited by hand, and re-planning would replace it: "
                                     f"the story ({story}) changed")
        assert err.value.hint == (f"re-plan from scratch with `dreamrunner plan {ws.root} --force` (your hand edits "
                                  "are lost; copy plan.json first), or keep editing plan.json and run the previous "
                                  "story and settings")
        assert snapshot(ws.root) == before
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, cfg("plan.max_scenes=3"), story_file=story, progress=False)
    assert err.value.message.endswith(f"the story ({story}) changed; the planner settings (config.plan) changed")
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, cfg("plan.max_scenes=3"), progress=False)
    assert err.value.message.endswith("replace it: the planner settings (config.plan) changed")
    # --force with --scene still refuses (it would not re-plan the outline); a dry run refuses too.
    with pytest.raises(InputInvalid):
        stage.run(ws, cfg(), story_file=story, force=True, only=["s01"], progress=False)
    with pytest.raises(InputInvalid):
        stage.run(ws, cfg(), story_file=story, dry_run=True, progress=False)
    assert snapshot(ws.root) == before
    r = stage.run(ws, cfg(), story_file=story, force=True, progress=False)
    assert load_plan(ws.plan).title == "Two walks" and len(load_plan(ws.plan).scenes) == 3
    assert [a[2] for a in actions(r)] == ["ran"] * 6


def test_the_story_txt_edited_in_place_is_refused_over_hand_edits(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    ws.plan.write_text(ws.plan.read_text().replace('"Two walks"', '"MINE"'))
    ws.story.write_text(ws.story.read_text() + "\nMore.\n")
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, cfg(), progress=False)
    assert err.value.message.endswith("replace it: the story (story.txt) changed")


def test_no_outline_record_means_no_guard(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    ws.plan.write_text(ws.plan.read_text().replace('"Two walks"', '"MINE"'))
    rec = Records.load(ws)
    del rec.data["stages"]["plan"]["outline"]
    rec.save()
    story.write_text(STORY + "\nTeddy sleeps.\n")
    r = stage.run(ws, cfg(), story_file=story, progress=False)
    assert actions(r)[0] == ("outline", "never ran", "ran")


def test_unknown_scene_and_unknown_backend(ws, story, fake):
    stage.run(ws, cfg(), story_file=story, progress=False)
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, cfg(), only=["s09", "s01", "a"], progress=False)
    assert err.value.message == "unknown scene id(s) a, s09"
    assert err.value.hint == "scene ids: s01, s02"
    before = snapshot(ws.root)
    with pytest.raises(UsageError, match="unknown planner backend 'nonsense'"):
        stage.run(ws, cfg("plan.llm=nonsense"), progress=False)
    assert snapshot(ws.root) == before


def test_unknown_backend_copies_nothing(tmp_path, story, fake):
    ws = Workspace(tmp_path / "new")
    with pytest.raises(UsageError):
        stage.run(ws, cfg("plan.llm=nonsense"), story_file=story, progress=False)
    assert not ws.root.exists()


def test_reference_images_are_checked_against_the_pixel_budget(ws, story, fake):
    with pytest.raises(InputInvalid, match="pixels"):
        stage.run(ws, cfg("adapt.max_image_pixels=10"), story_file=story, progress=False)
    assert not ws.root.exists()
    stage.run(ws, cfg(), story_file=story, progress=False)
    with pytest.raises(InputInvalid, match="pixels"):
        stage.run(ws, cfg("adapt.max_image_pixels=10"), progress=False)


def test_allow_outside_refs_reaches_the_story_parser(tmp_path, ws, fake):
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "s.txt").write_text(f"---\ncharacters:\n  - id: teddy\n    description: a bear\n    images: [{PNG}]\n---\n"
                             "Teddy walks.\n")
    with pytest.raises(InputInvalid):
        stage.run(ws, cfg(), story_file=d / "s.txt", progress=False)
    assert not ws.root.exists()
    stage.run(ws, cfg(), story_file=d / "s.txt", allow_outside_refs=True, progress=False)
    assert (ws.refs_dir / "teddy" / "01-1.png").exists()


# Failures: replies saved, the run logged ----------------------------------------------------------------------------


def test_a_failed_layout_saves_the_replies_and_logs_the_run(ws, story, fake):
    fake.fail["s02"] = PlanInvalid("bad layout SECRET", details=["a SECRET detail"])
    fake.replies[:] = ["first SECRET", "second", "third"]
    with pytest.raises(PlanInvalid) as err:
        stage.run(ws, cfg(), story_file=story, progress=False)
    saved = [stage.replies_dir(ws) / f"s02-{n}.txt" for n in (1, 2, 3)]
    assert err.value.message == f"bad layout SECRET; the model's replies are saved in {saved[0]} … s02-3.txt"
    assert err.value.args == (err.value.message,)
    assert [p.read_text() for p in saved] == ["first ***", "second", "third"]
    run = ws.read_runs()[-1]
    assert run["outcome"] == "failed" and run["replies"] == [f"planning/replies/s02-{n}.txt" for n in (1, 2, 3)]
    assert run["error"] == {"type": "PlanInvalid", "message": err.value.message.replace("SECRET", "***"),
                            "exit_code": err.value.exit_code, "details": ["a *** detail"]}
    assert run["planner"] == {"backend": "builtin", "model": "fake-model"}
    assert run["llm_calls"] == [{"step": "outline"}, {"step": "s01"}, {"step": "s02"}]
    assert [i["action"] for i in run["items"]] == ["ran", "ran", "pending"]
    # One reply; an old reply of the step is cleared first; a later success clears them all.
    fake.replies[:] = ["only"]
    with pytest.raises(PlanInvalid) as err:
        stage.run(ws, cfg(), progress=False)
    assert err.value.message.endswith(f"; the model's reply is saved in {saved[0]}")
    assert sorted(p.name for p in stage.replies_dir(ws).iterdir()) == ["s02-1.txt"]
    (stage.replies_dir(ws) / "s02-merge-1.txt").write_text("merge")
    (stage.replies_dir(ws) / "s01-1.txt").write_text("keep")
    del fake.fail["s02"]
    stage.run(ws, cfg(), progress=False)
    assert sorted(p.name for p in stage.replies_dir(ws).iterdir()) == ["s01-1.txt"]


def test_a_failed_outline_and_other_failures(ws, story, fake):
    fake.fail["outline"] = RuntimeError("boom SECRET")
    fake.replies[:] = ["r"]
    with pytest.raises(RuntimeError) as err:
        stage.run(ws, cfg(), story_file=story, progress=False)
    assert str(err.value) == "boom SECRET"  # not a DreamrunnerError: its message is left alone
    run = ws.read_runs()[-1]
    assert run["error"] == {"type": "RuntimeError", "message": "boom ***"}
    assert run["replies"] == ["planning/replies/outline-1.txt"]
    fake.fail["outline"] = KeyboardInterrupt()
    fake.replies[:] = []
    with pytest.raises(KeyboardInterrupt):
        stage.run(ws, cfg(), progress=False)
    run = ws.read_runs()[-1]
    assert run["outcome"] == "interrupted" and run["replies"] == [] and run["error"]["type"] == "KeyboardInterrupt"
    # A success clears the outline's replies.
    del fake.fail["outline"]
    stage.run(ws, cfg(), progress=False)
    assert list(stage.replies_dir(ws).iterdir()) == []


def test_a_finished_exchange_saves_no_replies(ws, story, fake, monkeypatch):
    fake.replies[:] = ["fine"]
    fake.fail["s01"] = PlanInvalid("bad")

    def done_then_fail(self, outline, scene):
        self.exchange = {"step": scene.id, "replies": ["fine"], "done": True}
        raise PlanInvalid("after the exchange")

    monkeypatch.setattr(FakePlanner, "layout", done_then_fail)
    with pytest.raises(PlanInvalid) as err:
        stage.run(ws, cfg(), story_file=story, progress=False)
    assert err.value.message == "after the exchange" and not stage.replies_dir(ws).exists()
    assert ws.read_runs()[-1]["replies"] == []


def test_a_failure_before_any_planner_and_in_a_dry_run(ws, story, fake, monkeypatch):
    stage.run(ws, cfg(), story_file=story, progress=False)
    stage.layout_path(ws, "s02").unlink()
    rec = Records.load(ws)
    del rec.data["stages"]["plan"]["s02"]
    rec.save()
    n = len(ws.read_runs())
    with pytest.raises(MissingUpstream) as err:
        stage._layouts(ws, load_plan_outline(ws))
    assert err.value.message == "scene s02 has no layout yet"
    assert err.value.hint == f"run `dreamrunner plan {ws.root}`"
    # A failing dry run logs nothing.
    with pytest.raises(InputInvalid):
        stage.run(ws, cfg(), dry_run=True, progress=False, only=["s09"])
    assert len(ws.read_runs()) == n
    stage.run(ws, cfg(), progress=False)
    assert stage.layout_path(ws, "s02").exists()
    # A failure with no planner made: no replies, provenance from the config.
    monkeypatch.setattr(stage, "refresh_storyboard", lambda *a, **k: (_ for _ in ()).throw(InputInvalid("x")))
    with pytest.raises(InputInvalid):
        stage.run(ws, cfg(), only=["s01"], progress=False)
    run = ws.read_runs()[-1]
    assert run["planner"] == {"backend": "builtin", "model": None} and run["llm_calls"] == []
    assert run["error"] == {"type": "InputInvalid", "message": "x", "exit_code": 5, "details": []}


def load_plan_outline(ws: Workspace) -> Outline:
    return Outline.model_validate_json(stage.outline_path(ws).read_text())


def test_a_failure_to_record_never_hides_the_error(ws, story, fake, monkeypatch, caplog):
    fake.fail["outline"] = PlanInvalid("the real error")

    def broken(self, entry):
        raise OSError("disk full")

    monkeypatch.setattr(Workspace, "log_run", broken)
    with caplog.at_level(logging.WARNING, logger="dreamrunner.plan"), pytest.raises(PlanInvalid, match="real error"):
        stage.run(ws, cfg(), story_file=story, progress=False)
    assert caplog.messages == [f"plan: could not record the failed run in {ws.runs_log}: disk full"]


# Boxes that cover no token, the storyboard's pages ------------------------------------------------------------------


def test_vanishing_boxes_are_noted(ws, fake, caplog, monkeypatch):
    from dreamrunner_cli.errors import ModelUnavailable
    from dreamrunner_cli.sr3ai import geometry_source

    write_hand_plan(ws, box=(0.1, 0.1, 0.12, 0.9), scenes=7)
    r = stage.run(ws, cfg(), progress=False)
    assert len(r["vanishing_regions"]) == 14
    first = ("scene s01, key frame 1, entity teddy: box [0.1, 0.1, 0.12, 0.9] covers no token at 4×4 tokens per "
             "frame, so SR3AI ignores it (widen it to at least one token, 0.250 wide and 0.250 tall)")
    assert r["vanishing_regions"][0] == first
    assert r["notes"][1:] == [f"warning: {x}" for x in r["vanishing_regions"][:12]] + [
        "warning: ... and 2 more regions that cover no token (all of them: `dreamrunner plan WS --json`, key "
        "vanishing_regions)"]
    write_hand_plan(ws, box=(0.1, 0.1, 0.12, 0.9), scenes=6)
    r = stage.run(ws, cfg(), progress=False)
    assert len(r["notes"]) == 13 and r["notes"][-1].startswith("warning: scene s06, key frame 2")
    # A model whose geometry cannot be read offline: no notes, one log line.
    def no_geometry(model_id, *a):
        raise ModelUnavailable(f"no config for {model_id}")

    monkeypatch.setattr(geometry_source, "geometry_for", no_geometry)
    with caplog.at_level(logging.INFO, logger="dreamrunner.plan"):
        r = stage.run(ws, cfg("model.id=/no/such/model"), progress=False)
    assert r["vanishing_regions"] == [] and r["notes"] == [
        "no story.txt: plan.json was written by hand or imported; kept as it is"]
    assert caplog.messages == ["plan: box sizes not checked against model '/no/such/model': no config for "
                               "/no/such/model"]


def test_vanishing_boxes_of_a_planned_story(ws, story, fake):
    fake.box = (0.1, 0.1, 0.12, 0.9)
    r = stage.run(ws, cfg(), story_file=story, progress=False)
    assert len(r["vanishing_regions"]) == 4 and r["notes"] == [f"warning: {x}" for x in r["vanishing_regions"]]


def test_storyboard_pages_follow_the_plan(ws, fake, monkeypatch):
    import dreamrunner_cli.storyboard as sb

    monkeypatch.setattr(sb, "SCENES_PER_PAGE", 2)
    write_hand_plan(ws, scenes=5)
    (ws.root / "storyboard-9.png").write_text("not ours")
    stage.run(ws, cfg(), progress=False)
    pages = ["storyboard.png", "storyboard-2.png", "storyboard-3.png"]
    assert all((ws.root / p).exists() for p in pages)
    assert list(Records.load(ws).get("plan", "storyboard")["outs"]) == pages
    (ws.root / "storyboard-3.png").unlink()  # deleted by hand: nothing to remove
    write_hand_plan(ws, scenes=2)
    r = stage.run(ws, cfg(), progress=False)
    assert actions(r) == [("storyboard", "plan.json changed", "ran")]
    assert sorted(p.name for p in ws.root.glob("storyboard*.png")) == ["storyboard-9.png", "storyboard.png"]


def test_refresh_storyboard_reads_the_plan_and_honours_dry_run(ws, fake):
    from dreamrunner_cli.workspace import StageRun

    write_hand_plan(ws)
    sr = StageRun(ws, "plan", dry_run=True)
    stage.refresh_storyboard(ws, sr)
    assert not ws.storyboard.exists() and sr.items[0]["action"] == "would run"
    sr = StageRun(ws, "plan")
    stage.refresh_storyboard(ws, sr)
    assert ws.storyboard.exists() and sr.items[0]["action"] == "ran"
    assert Records.load(ws).get("plan", "storyboard")["deps"]["version"] == digest(stage.__version__)


# The slot -------------------------------------------------------------------------------------------------------------


def test_planner_slot_makes_the_planner_once(fake):
    say = stage._Reporter(True)
    slot = stage._PlannerSlot(cfg("plan.llm_model=abc").plan, say)
    assert slot.calls() == [] and slot.provenance() == {"backend": "builtin", "model": "abc"}
    p = slot.get()
    assert slot.get() is p and fake == [("planner", "builtin"), ("report_to", say)]
    p.calls.append({"x": 1})
    calls = slot.calls()
    assert calls == [{"x": 1}] and calls is not p.calls
    assert slot.provenance() == {"backend": "builtin", "model": "fake-model"}


def test_a_planner_without_report_to(monkeypatch):
    class Bare:
        pass

    monkeypatch.setitem(planning.PLANNERS, "builtin", lambda c: Bare())
    slot = stage._PlannerSlot(cfg().plan, stage._Reporter(False))
    assert isinstance(slot.get(), Bare) and slot.calls() == []
    assert slot.provenance() == {"backend": "builtin", "model": None}


# The real planner, once ---------------------------------------------------------------------------------------------


def test_real_builtin_planner_on_teddy(ws):
    r = stage.run(ws, cfg(), story_file=STORIES / "teddy.txt", progress=False)
    assert [i["action"] for i in r["items"]] == ["ran"] * 9
    plan = load_plan(ws.plan)
    assert len(plan.scenes) == 6 and plan.characters[0].reference_images == ["refs/teddy/01-1.png",
                                                                             "refs/teddy/02-2.png"]
    assert r["planner"] == {"backend": "builtin", "model": None} and r["llm_calls"] == []
    assert (ws.refs_dir / "teddy" / "01-1.png").read_bytes() == PNG.read_bytes()
