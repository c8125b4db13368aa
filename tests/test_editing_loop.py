"""Issue 25, items 4 and 14: the loop of editing plan.json by hand. A "$schema" key (how editors attach a schema) is
accepted and kept; the schema has an $id; the storyboard is redrawn by any command that reads a newer plan.json, and
`status` calls it stale until then; `plan WS` says "kept (hand-edited)"; a caption without its character's token and
a character without reference images are warned about when planning; re-run reasons name the key frame, field and
entity; entity colours do not move when entities are added."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.schema import Character, ObjectEntity, load_plan, plan_json_schema, validate_plan
from dreamrunner_cli.workspace import Records, Workspace

runner = CliRunner()


def invoke(*args: str | Path, code: int = 0):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def edit(ws: Path, change) -> dict:
    data = json.loads((ws / "plan.json").read_text())
    change(data)
    (ws / "plan.json").write_text(json.dumps(data, indent=2))
    return data


def items(result: dict) -> dict[str, dict]:
    return {it["item"]: it for it in result["items"]}


# "$schema" and "$id" ------------------------------------------------------------------------------------------------


def test_a_schema_key_is_accepted_ignored_and_kept(ws):
    edit(ws, lambda d: d.update({"$schema": "./plan.schema.json"}))
    assert load_plan(ws / "plan.json").schema_uri == "./plan.schema.json"
    # a re-plan of one scene patches plan.json over the hand edit: the key is written back, first
    invoke("plan", ws, "--scene", "s02", "--force", "--quiet")
    assert next(iter(json.loads((ws / "plan.json").read_text()))) == "$schema"
    # plans the planner writes have no such key
    assert "$schema" not in validate_plan({k: v for k, v in json.loads((ws / "plan.json").read_text()).items()
                                           if k != "$schema"}).model_dump(mode="json")


def test_the_plan_schema_has_an_id_and_accepts_the_schema_key(ws):
    schema = json.loads(invoke("schema", "plan").stdout)
    assert schema["$id"] == "urn:dreamrunner:schema:plan:1"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema == plan_json_schema()
    data = edit(ws, lambda d: d.update({"$schema": "./plan.schema.json"}))
    jsonschema.Draft202012Validator(schema).validate(data)  # what VS Code checks: "$schema" is not flagged
    for kind in ("config", "metrics", "result"):
        assert json.loads(invoke("schema", kind).stdout)["$id"].startswith("urn:dreamrunner:schema:" + kind)


# The storyboard after a hand edit -----------------------------------------------------------------------------------


def move_box(d: dict) -> None:
    d["scenes"][3]["keyframes"][2]["regions"][0]["box"] = [0.05, 0.0, 0.45, 1.0]


def test_status_calls_the_storyboard_stale_and_plan_says_kept_hand_edited(ws):
    before = (ws / "storyboard.png").read_bytes()
    edit(ws, move_box)
    status = json.loads(invoke("status", ws, "--json").stdout)
    plan = next(s for s in status["stages"] if s["stage"] == "plan")
    assert items(plan)["storyboard"]["run"] is True
    assert items(plan)["storyboard"]["reason"] == "plan.json changed since it was drawn"
    assert "stale" in invoke("status", ws).stdout
    result = json.loads(invoke("plan", ws, "--json").stdout)
    assert items(result)["plan.json"]["reason"] == "kept (hand-edited)"  # not "up to date"
    assert items(result)["storyboard"]["action"] == "ran"
    assert (ws / "storyboard.png").read_bytes() != before
    status = json.loads(invoke("status", ws, "--json").stdout)
    assert not any(it["run"] for s in status["stages"] if s["stage"] == "plan" for it in s["items"])


def test_any_command_that_reads_a_newer_plan_redraws_the_storyboard(ws):
    """Every stage command holds the workspace through ``cli.common.session``, which redraws a stale storyboard
    first (a hand edit, then `dreamrunner render WS`); a dry run changes nothing."""
    from dreamrunner_cli.cli.common import open_workspace, session

    before = (ws / "storyboard.png").read_bytes()
    edit(ws, move_box)
    workspace, _ = open_workspace(ws, None, None)
    with session(workspace, wait=False, dry_run=True):
        pass
    assert (ws / "storyboard.png").read_bytes() == before
    with session(workspace, wait=False):
        pass
    assert (ws / "storyboard.png").read_bytes() != before
    rec = Records.load(Workspace(ws)).get("plan", "storyboard")
    assert rec is not None and json.loads(invoke("plan", ws, "--json").stdout)["items"][-1]["reason"] == "up to date"
    runs = [json.loads(line) for line in (ws / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 2  # the first plan and the last: a redraw is not logged as a plan run


# Warnings at plan time ----------------------------------------------------------------------------------------------


def test_a_caption_without_its_token_is_warned_about(ws):
    edit(ws, lambda d: d["scenes"][1]["keyframes"][3]["regions"][0].update(caption="A teddy bear is eating"))
    notes = json.loads(invoke("plan", ws, "--json").stdout)["notes"]
    assert [n for n in notes if "token" in n] == [
        "warning: plan.scenes[s02].keyframes[3].regions[teddy].caption has no [v1] (teddy's token): 'A teddy bear "
        "is eating'; write it before the character's description, e.g. 'A [v1] ...'"]


def test_a_character_without_reference_images_is_warned_about_at_plan_time(tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("---\ncharacters:\n  - id: mia\n    name: Mia\n    description: a girl in a red coat\n---\n"
                     "Mia walks in the park.\n\nMia waves at a dog.\n")
    result = json.loads(invoke("plan", story, "--workspace", tmp_path / "ws", "--preset", "tiny", "--json").stdout)
    warned = [n for n in result["notes"] if "reference images" in n]
    assert len(warned) == 1
    assert warned[0].startswith("warning: character 'mia' has no reference images, so adapt trains no character LoRA")
    assert f"add `images: [refs/mia/1.png]` (paths relative to the story file) to characters[0] in the front " \
           f"matter of {story}" in warned[0]
    res = invoke("plan", tmp_path / "ws")  # every plan run says it again, also when nothing ran
    assert "'mia' has no reference images" in res.stdout


def test_characters_with_images_get_no_warning(ws):
    notes = json.loads(invoke("plan", ws, "--json").stdout)["notes"]
    assert not [n for n in notes if "reference images" in n or "token" in n]


# Reasons that say what changed --------------------------------------------------------------------------------------


def test_a_rerun_reason_names_the_key_frame_field_and_entity(tmp_path):
    ws = Workspace(tmp_path)
    scene = {"id": "s04", "narration": "n", "keyframes": [
        {"regions": [{"entity": "dog", "motion": "running", "caption": "A dog is running", "box": [0, 0, 0.5, 1]},
                     {"entity": "teddy", "motion": "none", "caption": "A [v1] bear", "box": [0.5, 0, 1, 1]}]}] * 3}
    records = Records.load(ws)
    records.record("render", "s04", {"plan.scenes[s04]": scene, "config.render": {"steps": 8}}, [])
    moved = json.loads(json.dumps(scene))
    moved["keyframes"][2]["regions"][0]["box"] = [0.1, 0, 0.6, 1]
    moved["keyframes"][0]["regions"][1]["caption"] = "A [v1] bear, sitting"
    d = records.decide("render", "s04", {"plan.scenes[s04]": moved, "config.render": {"steps": 8}}, [])
    assert d.run and d.reason == ("plan.scenes[s04].keyframes[0].regions[teddy].caption changed, "
                                  "plan.scenes[s04].keyframes[2].regions[dog].box changed")
    moved["keyframes"][1]["regions"].reverse()  # the same regions in another order
    moved["keyframes"][0] = scene["keyframes"][0]
    moved["keyframes"][2] = scene["keyframes"][2]
    d = records.decide("render", "s04", {"plan.scenes[s04]": moved, "config.render": {"steps": 8}}, [])
    assert d.reason == "plan.scenes[s04].keyframes[1].regions reordered"


# Colours ------------------------------------------------------------------------------------------------------------


def test_entity_colours_stay_when_entities_are_added(planned):
    from dreamrunner_cli.storyboard import PALETTE, entity_colours

    plan = load_plan(planned / "plan.json")
    before = entity_colours(plan)
    more = plan.model_copy(update={
        "characters": [Character(id="amy", description="a girl"), *plan.characters],
        "objects": [ObjectEntity(id="kite"), ObjectEntity(id="rock")]})
    after = entity_colours(more)
    assert {k: after[k] for k in before} == before
    assert set(after.values()) <= set(PALETTE)
