"""Issue 25, item 8: each command's --json result has an exact schema. ``command`` (and a stage's ``stage``) is a
constant, a stage's own fields are described and required, and the output of one command never validates against
another command's schema (while it does validate against its own)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.results import COMMAND_RESULTS

runner = CliRunner()
V = jsonschema.Draft202012Validator


def invoke_json(*args: str | Path) -> dict:
    res = runner.invoke(app, [str(a) for a in args] + ["--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@functools.cache
def success_schema(command: str) -> dict:
    """The command's own definition (its result, not the error object it may also print)."""
    published = json.loads(runner.invoke(app, ["schema", "result"], catch_exceptions=False).stdout)
    return {"$ref": published["x-dreamrunner-commands"][command], "$defs": published["$defs"]}


def test_outputs_validate_against_their_own_schema_and_no_other(ws):
    outputs = {
        "plan": invoke_json("plan", ws),
        "render": invoke_json("render", ws, "--dry-run"),
        "evaluate": invoke_json("evaluate", ws, "--dry-run"),
        "run": invoke_json("run", ws, "--dry-run", "--skip", "retrieve", "--skip", "adapt"),
        "status": invoke_json("status", ws),
        "config show": invoke_json("config", "show", ws),
        "config get": invoke_json("config", "get", ws, "render.steps"),
        "config set": invoke_json("config", "set", ws, "render.fps=9"),
        "config unset": invoke_json("config", "unset", ws, "render.fps"),
        "config diff": invoke_json("config", "diff", ws),
        "export": invoke_json("export", ws, "--scene", "s01"),
    }
    for command, data in outputs.items():
        assert data["command"] == command
        V(success_schema(command)).validate(data)
        for other in COMMAND_RESULTS:
            if other != command:
                assert not V(success_schema(other)).is_valid(data), f"{command}'s output passes as {other}'s"


def test_each_stage_describes_and_requires_its_own_fields():
    published = json.loads(runner.invoke(app, ["schema", "result"], catch_exceptions=False).stdout)
    defs = published["$defs"]
    own = {"PlanResult": {"planner", "llm_calls", "plan", "storyboard", "vanishing_regions"},
           "RetrieveResult": {"models", "database"},
           "AdaptResult": {"adapters", "models", "seeds"},
           "RenderResult": {"seeds", "models", "attention", "story"},
           "EvaluateResult": {"device", "models", "sources"}}
    for name, fields in own.items():
        stage = name.removesuffix("Result").lower()
        assert defs[name]["properties"]["stage"]["const"] == stage
        assert defs[name]["properties"]["command"]["const"] == stage
        assert fields <= set(defs[name]["required"])
        assert all(defs[name]["properties"][f].get("description") or "$ref" in defs[name]["properties"][f]
                   or "anyOf" in defs[name]["properties"][f] for f in fields)
    unattributed = defs["PlanResult"]["properties"]["unattributed"]
    assert "unattributed" not in defs["PlanResult"]["required"]  # only the built-in planner gives it
    assert {"scene", "sentence", "reason"} <= set(defs["Unattributed"]["required"])
    assert unattributed["description"]
    # run and status carry the stages' own definitions
    run_stages = defs["RunResult"]["properties"]["stages"]["items"]["anyOf"]
    assert {"#/$defs/PlanOutcome", "#/$defs/RenderOutcome"} <= {b.get("$ref") for b in run_stages}


def test_a_plan_result_is_not_a_render_result():
    """The issue's example: before, a plan result validated against the render schema."""
    plan = {"schema_version": 1, "command": "plan", "stage": "plan", "workspace": "/w", "dry_run": False,
            "items": [], "notes": [], "planner": {"backend": "builtin", "model": None}, "llm_calls": [],
            "plan": "/w/plan.json", "storyboard": "/w/storyboard.png", "vanishing_regions": []}
    V(success_schema("plan")).validate(plan)
    assert not V(success_schema("render")).is_valid(plan)
    assert not V(success_schema("render")).is_valid({**plan, "stage": "render", "command": "render"})  # no seeds…
