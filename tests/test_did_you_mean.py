"""Issue 25, item 3: a misspelt config key or plan.json field gets "did you mean", and a malformed box says what a box
is, each naming the file and the JSON path (not pydantic's "Extra inputs are not permitted" / "Field required")."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid, PlanInvalid, UsageError
from dreamrunner_cli.schema import BOX_FORMAT, validate_plan

runner = CliRunner()


@pytest.mark.parametrize("given, meant", [("render.stepz=3", "render.steps"), ("model.dtyp=float32", "model.dtype"),
                                          ("rendr.steps=3", "render.steps"), ("prest=tiny", "preset")])
def test_a_misspelt_set_key_names_the_nearest_known_key(given, meant):
    with pytest.raises(UsageError) as err:
        resolve_config(preset="tiny", overrides=[given])
    key = given.split("=")[0].split(".")[0] if given.startswith("rendr") else given.split("=")[0]
    assert err.value.details == [f"{key}: unknown key; did you mean {meant}?"]
    assert "Extra inputs" not in " ".join(err.value.details)


def test_a_misspelt_key_in_config_json_names_the_file_and_the_key(tmp_path):
    saved = tmp_path / "config.json"
    data = resolve_config(preset="tiny").model_dump(mode="json")
    data["render"]["guidance_scal"] = data["render"].pop("guidance_scale")
    saved.write_text(json.dumps(data))
    with pytest.raises(InputInvalid) as err:
        resolve_config(saved=saved)
    assert str(saved) in err.value.message
    assert err.value.details == ["render.guidance_scal: unknown key; did you mean render.guidance_scale?"]


def test_the_cli_prints_the_suggestion_for_set(ws):
    res = runner.invoke(app, ["render", str(ws), "--dry-run", "--set", "render.stepz=3"])
    assert res.exit_code == 2
    assert "render.stepz: unknown key; did you mean render.steps?" in res.stderr


def _plan(planned) -> dict:
    return json.loads((planned / "plan.json").read_text())


def test_a_misspelt_plan_field_gets_did_you_mean_not_field_required(planned):
    data = _plan(planned)
    region = data["scenes"][0]["keyframes"][1]["regions"][0]
    region["captoin"] = region.pop("caption")
    data["scenes"][1]["narattion"] = data["scenes"][1].pop("narration")
    data["scenes"][2]["mood"] = "sunny"  # nothing near it: the line says to remove it
    with pytest.raises(PlanInvalid) as err:
        validate_plan(data, source="ws/plan.json")
    assert err.value.message == "ws/plan.json is not a valid plan (3 errors)"
    assert err.value.details == [
        "scenes[0].keyframes[1].regions[0].captoin: unknown field 'captoin'; did you mean 'caption'?",
        "scenes[1].narattion: unknown field 'narattion'; did you mean 'narration'?",
        "scenes[2].mood: unknown field 'mood'; remove it (`dreamrunner schema plan` lists the fields)",
    ]


@pytest.mark.parametrize("box", ["0.1 0.2 0.5 0.9", [0.1, "left", 0.5, 0.9], [0.1, 0.5, 0.9], {"x0": 0.1}])
def test_a_malformed_box_says_what_a_box_is(planned, box):
    data = _plan(planned)
    data["scenes"][3]["keyframes"][2]["regions"][0]["box"] = box
    with pytest.raises(PlanInvalid) as err:
        validate_plan(data)
    assert err.value.details == [f"scenes[3].keyframes[2].regions[0].box: {BOX_FORMAT} (got {json.dumps(box)})"]
    assert BOX_FORMAT == "expected [left, top, right, bottom], 4 numbers in 0..1"


def test_an_inverted_box_keeps_its_own_message(planned):
    data = _plan(planned)
    data["scenes"][0]["keyframes"][0]["regions"][0]["box"] = [0.8, 0.0, 0.2, 1.0]
    with pytest.raises(PlanInvalid) as err:
        validate_plan(data)
    assert len(err.value.details) == 1 and "needs x0 < x1" in err.value.details[0]


def test_a_command_reading_the_plan_names_the_file_and_the_path(ws):
    data = json.loads((ws / "plan.json").read_text())
    region = data["scenes"][0]["keyframes"][0]["regions"][0]
    region["captoin"] = region.pop("caption")
    (ws / "plan.json").write_text(json.dumps(data))
    res = runner.invoke(app, ["render", str(ws), "--dry-run"])
    assert res.exit_code == 5
    assert f"{ws / 'plan.json'} is not a valid plan (1 error)" in res.stderr
    assert "scenes[0].keyframes[0].regions[0].captoin: unknown field 'captoin'; did you mean 'caption'?" in res.stderr
    assert "Field required" not in res.stderr and "Extra inputs" not in res.stderr
