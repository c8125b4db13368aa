"""The scripting contract (issue 15): every --json result has schema_version, and the real outputs of the commands
validate against the published schema (`dreamrunner schema result`)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.results import RESULT_SCHEMA_VERSION, ErrorResult, RunResult, StageResult, StatusResult

runner = CliRunner()
TEDDY = Path(__file__).resolve().parents[1] / "examples" / "stories" / "teddy.txt"


def invoke_json(*args: str, code: int = 0) -> dict:
    res = runner.invoke(app, [str(a) for a in args] + ["--json"], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def published() -> dict:
    res = runner.invoke(app, ["schema", "result"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    schema = json.loads(res.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def check(schema: dict, data: dict, model) -> None:
    """Valid against the published schema, and as the specific kind of result (not just any branch of it)."""
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    model.model_validate(data)
    assert data["schema_version"] == RESULT_SCHEMA_VERSION


def test_real_json_outputs_validate_against_the_published_schema(tmp_path, published):
    ws = tmp_path / "ws"
    plan = invoke_json("plan", TEDDY, "--workspace", ws, "--preset", "tiny")
    check(published, plan, StageResult)
    assert plan["stage"] == "plan" and plan["items"] and plan["config_changes"]  # a new config.json was saved

    render = invoke_json("render", ws, "--dry-run", "--set", "render.steps=5")
    check(published, render, StageResult)
    assert render["dry_run"] is True and {it["action"] for it in render["items"]} == {"would run"}
    assert render["config_unsaved"][0]["key"] == "render.steps"  # --dry-run: used, not saved

    status = invoke_json("status", ws)
    check(published, status, StatusResult)
    assert [s["stage"] for s in status["stages"]] == ["plan", "retrieve", "adapt", "render", "evaluate"]
    assert any("error" in s for s in status["stages"])  # adapt is blocked (no clips): a BlockedStage entry

    run = invoke_json("run", ws, "--dry-run", "--skip", "retrieve", "--skip", "adapt")
    check(published, run, RunResult)
    assert [s.get("skipped_stage") for s in run["stages"]][1:3] == ["--skip", "--skip"]

    error = invoke_json("render", tmp_path / "nothing-here", code=3)
    check(published, error, ErrorResult)
    assert error["error"] == "MissingUpstream" and error["exit_code"] == 3


def test_the_schema_rejects_what_breaks_the_contract(published):
    good = {"schema_version": 1, "command": "render", "stage": "render", "workspace": "/w", "dry_run": True,
            "notes": [], "seeds": {"s01": 1}, "attention": "sdpa", "story": None,
            "models": {"video_model": "tiny", "revision": None, "dtype": "float32"},
            "items": [{"stage": "render", "item": "s01", "run": True, "reason": "never ran", "action": "would run"}]}
    jsonschema.validate(good, published)
    for broken in ({k: v for k, v in good.items() if k != "schema_version"},  # no version
                   {**good, "schema_version": 2},
                   {**good, "items": [{"stage": "render", "item": "s01", "run": True}]},  # an item without a reason
                   {"schema_version": 1, "workspace": "/w", "stages": [{"stage": "plan"}]},  # a stage without items
                   {"schema_version": 1, "error": "X", "message": "m"}):  # an error without exit_code
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, published)


def test_other_commands_get_schema_version_too(tmp_path):
    """emit adds it centrally: also commands outside the envelope (config, doctor, index…)."""
    ws = tmp_path / "ws"
    invoke_json("plan", TEDDY, "--workspace", ws, "--preset", "tiny")
    shown = invoke_json("config", "show", ws)
    assert shown["schema_version"] == RESULT_SCHEMA_VERSION and "config" in shown


# No wrapping in pipes inside the stages: their own progress and messages on stderr --------------------------------

LONG = "scene s01 " + "walking-through-the-sunny-kitchen " * 8 + "END"  # ~290 characters, one line


@pytest.fixture
def piped_stderr(monkeypatch, capsys):
    """stderr is a pipe (not a terminal) and $COLUMNS is unset, as under `2>log` or `| grep`; returns a function
    giving what was written to stderr."""
    monkeypatch.delenv("COLUMNS", raising=False)
    return lambda: capsys.readouterr().err


@pytest.mark.parametrize("stage", ["render", "adapt", "retrieve", "evaluate"])
def test_a_stage_progress_bar_in_a_pipe_keeps_long_lines_whole(piped_stderr, stage):
    from dreamrunner_cli.progress import reporter

    with reporter(True, stage) as rep, rep.bar(LONG, total=2) as bar:
        bar.advance(2)
    lines = piped_stderr().splitlines()
    assert lines and all(LONG in line for line in lines), lines  # at 80 columns it is cut or wrapped


@pytest.mark.parametrize("stage", ["plan", "retrieve", "adapt", "evaluate", "render"])
def test_every_stage_console_has_no_width_limit_in_a_pipe(piped_stderr, monkeypatch, stage):
    """Each console a stage makes itself comes from output.console (the plan reporter, retrieve's messages, the
    progress bars of adapt, evaluate and render)."""
    import importlib

    import rich.console

    from dreamrunner_cli.output import PIPE_WIDTH

    made = []
    real = rich.console.Console.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(rich.console.Console, "__init__", spy)
    module = importlib.import_module(f"dreamrunner_cli.stages.{stage}")
    if stage == "plan":
        reporter = module._Reporter(True)
        reporter("planning")
        reporter.close()
    else:  # every other stage reports through the shared helper
        from dreamrunner_cli.progress import reporter

        assert module.reporter is reporter
        with reporter(True, stage) as rep, rep.phase("x"):
            pass
    assert made and all(c.width == PIPE_WIDTH and not c.is_terminal for c in made)
