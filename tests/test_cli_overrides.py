"""Overrides people can trust (issue 15): --set saved only on success and printed, --no-save, re-run reasons that
name the keys and values, and `dreamrunner config show|get|set|unset|diff` (tiny preset, CPU, no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.workspace import Records, Workspace

ROOT = Path(__file__).resolve().parents[1]
TEDDY = ROOT / "examples" / "stories" / "teddy.txt"
runner = CliRunner()


def invoke(*args, code: int = 0):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def steps(ws: Path) -> int:
    return json.loads((ws / "config.json").read_text())["render"]["steps"]


# `planned` and `ws` (a copy of the planned teddy workspace) come from conftest.py.


# Saved only when the command succeeds, and said -----------------------------------------------------------------------


def test_a_saved_change_is_printed_on_stderr_and_listed_in_the_json_result(ws):
    res = invoke("plan", ws, "--set", "render.steps=40")  # plan does not read render.*: nothing re-runs
    assert "config.json: render.steps 3 → 40" in res.stderr
    assert steps(ws) == 40
    out = json.loads(invoke("plan", ws, "--set", "render.steps=41", "--json").stdout)
    assert out["config_changes"] == [{"key": "render.steps", "old": 40, "new": 41}]
    assert "render.steps" not in invoke("plan", ws, "--set", "render.steps=42", "--quiet").stderr
    assert "config.json" not in invoke("plan", ws).stderr  # nothing changed: nothing said


def test_a_command_that_fails_after_items_finished_does_not_save_its_set(ws, monkeypatch):
    """Was: a run that finished one scene kept the --set, so the next plain run re-rendered with it."""
    import dreamrunner_cli.sr3ai.pipeline as pipeline

    real, calls = pipeline.render_scene, []

    def second_scene_fails(pipe, scene, *args, **kwargs):
        calls.append(scene.id)
        if len(calls) == 2:
            raise RuntimeError("out of memory (simulated)")
        return real(pipe, scene, *args, **kwargs)

    monkeypatch.setattr(pipeline, "render_scene", second_scene_fails)
    before = (ws / "config.json").read_bytes()
    invoke("render", ws, "--scene", "s01", "--scene", "s02", "--set", "render.steps=2", code=1)
    assert Records.load(Workspace(ws)).get("render", "s01") is not None  # s01 finished and is recorded
    assert (ws / "config.json").read_bytes() == before  # but the failed command saved nothing
    # ... and the record remembers what made s01, so a plain run says exactly why it renders s01 again
    out = json.loads(invoke("render", ws, "--scene", "s01", "--dry-run", "--json").stdout)
    assert out["items"][0]["reason"].startswith("config.render.steps 2 → 3")


def test_no_save_uses_the_override_for_this_run_only(ws):
    before = (ws / "config.json").read_bytes()
    res = invoke("plan", ws, "--set", "render.steps=9", "--no-save")
    assert (ws / "config.json").read_bytes() == before
    assert "config.json (not saved, --no-save): render.steps 3 → 9" in res.stderr
    out = json.loads(invoke("plan", ws, "--set", "render.steps=9", "--no-save", "--json").stdout)
    assert out["config_unsaved"] == [{"key": "render.steps", "old": 3, "new": 9}] and "config_changes" not in out


def test_a_one_off_scene_render_does_not_leak_into_the_next_run(ws):
    """The issue's case: `render --scene s01 --set render.steps=2 --no-save` re-renders s01 only, and the next plain
    run re-renders only s01 (back to the saved steps), saying why."""
    invoke("render", ws, "--scene", "s01", "--quiet")
    invoke("render", ws, "--scene", "s01", "--set", "render.steps=2", "--no-save", "--quiet")
    assert steps(ws) == 3
    out = json.loads(invoke("render", ws, "--dry-run", "--json").stdout)
    reasons = {it["item"]: it["reason"] for it in out["items"]}
    assert reasons["s01"].startswith("config.render.steps 2 → 3")
    assert all(r.startswith("never ran") for item, r in reasons.items() if item != "s01")


# Re-run reasons name keys and values ----------------------------------------------------------------------------------


def _records(tmp_path: Path) -> Records:
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    return Records.load(ws)


def test_reasons_name_each_changed_key_with_its_old_and_new_value(tmp_path):
    rec = _records(tmp_path)
    rec.record("render", "s01", {"config.render": {"steps": 8, "fps": 8}, "config.adapt (motion)": {"rank": 32},
                                 "plan.scenes[s01]": {"x": 1}}, [])
    d = rec.decide("render", "s01", {"config.render": {"steps": 40, "fps": 8}, "config.adapt (motion)": {"rank": 16},
                                     "plan.scenes[s01]": {"x": 2}}, [])
    assert d.run and d.reason == ("config.render.steps 8 → 40, config.adapt.rank 32 → 16 (motion), "
                                  "plan.scenes[s01].x changed")
    reloaded = Records.load(rec.ws)  # the values live in the checksummed records file and read back
    assert reloaded.get("render", "s01")["values"]["config.render"] == {"steps": 8, "fps": 8}


def test_records_written_before_values_were_kept_still_give_todays_reason(tmp_path):
    rec = _records(tmp_path)
    rec.record("render", "s01", {"config.render": {"steps": 8}}, [])
    rec.data["stages"]["render"]["s01"].pop("values")
    rec.save()
    assert Records.load(rec.ws).decide("render", "s01", {"config.render": {"steps": 40}}, []).reason == \
        "config.render changed"


# `dreamrunner config` ------------------------------------------------------------------------------------------------


def test_config_show_get_set_unset_diff(ws):
    shown = invoke("config", "show", ws).stdout
    assert "render.steps = 3" in shown.splitlines() and "preset = tiny" in shown.splitlines()
    assert invoke("config", "get", ws, "render.steps").stdout.strip() == "3"
    assert "render.fps = " in invoke("config", "get", ws, "render").stdout
    res = invoke("config", "set", ws, "render.steps=40", "render.seed=7")
    assert "config.json: render.seed 0 → 7" in res.stderr and "config.json: render.steps 3 → 40" in res.stderr
    assert steps(ws) == 40
    diff = json.loads(invoke("config", "diff", ws, "--json").stdout)
    assert {c["key"] for c in diff["changes"]} == {"render.steps", "render.seed", "render.require_adapters"}
    invoke("config", "unset", ws, "render.steps", "render.seed")
    assert steps(ws) == 3
    assert [c["key"] for c in json.loads(invoke("config", "diff", ws, "--json").stdout)["changes"]] == \
        ["render.require_adapters"]


def test_config_set_refuses_bad_keys_and_values_and_changes_nothing(ws):
    before = (ws / "config.json").read_bytes()
    assert "render.steps" in invoke("config", "set", ws, "render.steps=-1", code=2).stderr
    assert "did you mean render.steps" in invoke("config", "get", ws, "render.step", code=2).stderr
    invoke("config", "unset", ws, "render.nope", code=2)
    assert (ws / "config.json").read_bytes() == before
    invoke("config", "show", ws.parent / "nothing-here", code=3)


# README: which commands take which flags ------------------------------------------------------------------------------


def _readme_flag_table() -> dict[str, set[str]]:
    """The README's 'Flags by command' table: {command: {flags}}."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.split("### Flags by command", 1)[1].splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    header = [c.strip().strip("`") for c in lines[start].strip("|").split("|")]
    rows = lines[start + 2:end]
    table = {}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        table[cells[0].strip("`")] = {header[i] for i, c in enumerate(cells) if i and c == "✓"}
    return table


def _options(command: str) -> set[str]:
    import typer

    cmd = typer.main.get_command(app)
    for part in command.split():
        cmd = cmd.commands[part]
    return {o for p in cmd.params for o in getattr(p, "opts", []) if o.startswith("--")}


def test_readme_says_which_commands_take_which_flags():
    table = _readme_flag_table()
    assert {"render", "run", "plan", "batch", "status"} <= set(table)
    flags = {f for fs in table.values() for f in fs}
    assert {"--set", "--no-save", "--json", "-v"} <= flags
    for command, has in table.items():
        opts = _options(command)
        for flag in flags:
            name = "--verbose" if flag == "-v" else flag
            assert (name in opts) == (flag in has), f"README: `{command}` {'takes' if flag in has else 'lacks'} {flag}"


def test_every_command_that_saves_a_set_offers_no_save():
    """--no-save wherever --set would be saved (status, masks and doctor never save; import and batch make the
    workspaces' config.json, so their --set is the point)."""
    import typer

    never_saved = {"status", "masks", "doctor", "import", "batch"}
    group = typer.main.get_command(app)
    for name in group.commands:
        opts = _options(name) if not hasattr(group.commands[name], "commands") else set()
        if "--set" in opts and name not in never_saved:
            assert "--no-save" in opts, name


def test_set_help_says_when_it_is_saved():
    out = invoke("render", "--help", code=0).stdout
    words = " ".join(out.replace("│", " ").split())
    assert "--no-save" in words and "saved in the workspace's config.json when the command succeeds" in words
