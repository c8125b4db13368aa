"""The spine: CLI, workspace, stage records, resumability, locking, errors (tiny preset, CPU)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.workspace import Records, Workspace

ROOT = Path(__file__).resolve().parents[1]
TEDDY = ROOT / "examples" / "stories" / "teddy.txt"
runner = CliRunner()


def invoke(*args: str, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


# `planned` and `ws` (a copy of the planned teddy workspace) come from conftest.py.


@pytest.fixture
def render_spy(monkeypatch):
    """Counts scene renders (the expensive call) while still rendering for real."""
    import dreamrunner_cli.sr3ai.pipeline as pipeline

    calls: list[str] = []
    real = pipeline.render_scene

    def spy(pipe, scene, *args, **kwargs):
        calls.append(scene.id)
        return real(pipe, scene, *args, **kwargs)

    monkeypatch.setattr(pipeline, "render_scene", spy)
    return calls


def scene_ids(ws: Path) -> list[str]:
    return [s["id"] for s in json.loads((ws / "plan.json").read_text())["scenes"]]


# Plan ----------------------------------------------------------------------------------------------------------------

def test_plan_writes_a_valid_plan_storyboard_config_and_copies_reference_images(planned):
    from dreamrunner_cli.schema import load_plan

    plan = load_plan(planned / "plan.json")
    assert 5 <= len(plan.scenes) <= 8
    assert (planned / "storyboard.png").stat().st_size > 1000
    assert json.loads((planned / "config.json").read_text())["preset"] == "tiny"
    for c in plan.characters:
        for img in c.reference_images:
            assert (planned / img).is_file()
    runs = [json.loads(x) for x in (planned / "runs.jsonl").read_text().splitlines()]
    assert runs[-1]["stage"] == "plan" and runs[-1]["outcome"] == "ok"


def test_plan_again_skips_everything_and_json_output_says_so(ws):
    out = json.loads(invoke("plan", ws, "--json").stdout)
    assert out["items"] and all(it["action"] == "skipped" for it in out["items"])


def test_hand_edited_plan_is_kept_and_one_scene_can_be_replanned(ws):
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][0]["narration"] = "EDITED BY HAND"
    plan["scenes"][1]["keyframes"][0]["regions"][0]["box"] = [0.1, 0.1, 0.9, 0.9]
    (ws / "plan.json").write_text(json.dumps(plan))
    out = json.loads(invoke("plan", ws, "--scene", "s02", "--force", "--json").stdout)
    assert [it["item"] for it in out["items"] if it["action"] == "ran"] == ["s02", "plan.json", "storyboard"]
    after = json.loads((ws / "plan.json").read_text())
    assert after["scenes"][0]["narration"] == "EDITED BY HAND"  # the hand edit of s01 survives
    assert after["scenes"][1]["keyframes"][0]["regions"][0]["box"] != [0.1, 0.1, 0.9, 0.9]  # s02 was re-planned


def test_hand_edits_survive_a_partial_replan_and_then_a_full_one(ws):
    """A partial re-plan records the patched plan.json as the stage's own output; it must still know the file holds
    hand edits. Before: the next full re-plan (here new layout settings) rebuilt plan.json from the planning files
    and dropped the edit without a word, and a new story was no longer refused."""
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][0]["narration"] = "EDITED BY HAND"
    (ws / "plan.json").write_text(json.dumps(plan))
    invoke("plan", ws, "--scene", "s02", "--force")
    out = json.loads(invoke("plan", ws, "--set", "plan.keyframes=4", "--json").stdout)
    assert {it["item"] for it in out["items"] if it["action"] == "ran"} >= {"s01", "s02", "plan.json"}
    assert any("hand edits: kept them" in n for n in out["notes"])
    after = json.loads((ws / "plan.json").read_text())
    assert after["scenes"][0]["narration"] == "EDITED BY HAND"
    assert all(len(s["keyframes"]) == 4 for s in after["scenes"])  # the new layouts did reach plan.json
    story = ws / "story.txt"
    story.write_text(story.read_text() + "\nTeddy waves goodbye to the moon.\n")
    res = invoke("plan", ws, code=5)  # a new story would replace the edited plan: refused, as on the first edit
    assert "edited by hand" in res.stderr


def test_bad_plan_is_rejected_with_json_paths_and_exit_code_5(ws):
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][1]["keyframes"][2]["regions"][0]["box"] = [0.8, 0.0, 0.2, 1.0]
    plan["scenes"][0]["keyframes"][0]["regions"][0]["entity"] = "ghost"
    plan["bogus"] = 1
    (ws / "plan.json").write_text(json.dumps(plan))
    res = invoke("render", ws, "--json", code=5)
    err = json.loads(res.stdout)
    joined = "\n".join(err["details"])
    assert "scenes[1].keyframes[2].regions[0].box" in joined and "x0 < x1" in joined
    assert "bogus" in joined
    (ws / "plan.json").write_text("{ not json")
    res = invoke("render", ws, code=5)
    assert "not valid JSON" in res.output and "line 1" in res.output


def test_unknown_entity_is_named_by_its_path(ws):
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][0]["keyframes"][0]["regions"][0]["entity"] = "ghost"
    (ws / "plan.json").write_text(json.dumps(plan))
    err = json.loads(invoke("render", ws, "--json", code=5).stdout)
    assert any(d.startswith("scenes[0].keyframes[0].regions[0].entity: unknown entity 'ghost'")
               for d in err["details"])


def test_render_without_a_plan_says_what_to_run(tmp_path):
    (tmp_path / "empty").mkdir()
    res = invoke("render", tmp_path / "empty", code=3)
    assert "dreamrunner plan" in res.output


# Render and the stage records ------------------------------------------------------------------------------------------

def test_render_writes_every_scene_and_the_story_then_skips_everything(ws, render_spy):
    from dreamrunner_cli.video import probe_video

    invoke("render", ws, "--quiet")
    ids = scene_ids(ws)
    assert render_spy == ids
    for sid in ids:
        info = probe_video(ws / "renders" / f"{sid}.mp4")
        assert (info.frames, info.width, info.height) == (9, 64, 64)
    assert probe_video(ws / "story.mp4").frames == 9 * len(ids)
    rec = Records.load(Workspace(ws))
    assert set(rec.items("render")) == set(ids) | {"story"}
    assert all("seed" in rec.get("render", sid) for sid in ids)

    render_spy.clear()
    out = json.loads(invoke("render", ws, "--json").stdout)
    assert render_spy == []  # nothing changed: no renderer call
    assert all(it["action"] == "skipped" for it in out["items"])

    # 2. Editing scene 2's key frames re-renders scene 2 only, and re-stitches the story.
    plan = json.loads((ws / "plan.json").read_text())
    plan["scenes"][1]["keyframes"][0]["regions"][0]["box"] = [0.5, 0.5, 1.0, 1.0]  # other tokens at 4×4
    (ws / "plan.json").write_text(json.dumps(plan))
    out = json.loads(invoke("render", ws, "--json").stdout)
    assert render_spy == [ids[1]]
    reasons = {it["item"]: it for it in out["items"]}
    entity = plan["scenes"][1]["keyframes"][0]["regions"][0]["entity"]
    assert reasons[ids[1]]["reason"] == f"plan.scenes[{ids[1]}].keyframes[0].regions[{entity}].box changed"
    assert reasons["story"]["action"] == "ran"

    # 3. A config key render does not read re-renders nothing; one it reads re-renders every scene.
    render_spy.clear()
    invoke("render", ws, "--set", "evaluate.alignment_frames=4", "--quiet")
    assert render_spy == []
    out = json.loads(invoke("render", ws, "--set", "render.guidance_scale=5.0", "--dry-run", "--json").stdout)
    assert render_spy == [] and {it["item"] for it in out["items"] if it["run"]} == set(ids) | {"story"}
    assert next(it for it in out["items"] if it["item"] == "story")["reason"].startswith("renders would change")
    assert all(re.fullmatch(r"config\.render\.guidance_scale \S+ → 5\.0", it["reason"])  # names key and values
               for it in out["items"] if it["item"] in ids)


def test_render_one_scene_and_force(ws, render_spy):
    ids = scene_ids(ws)
    invoke("render", ws, "--scene", ids[0], "--quiet")
    assert render_spy == [ids[0]] and not (ws / "story.mp4").exists()
    invoke("render", ws, "--scene", ids[0], "--force", "--quiet")
    assert render_spy == [ids[0], ids[0]]


@pytest.mark.slow  # 17 s; killed-and-resumed renders are also in test_kill_resume (make test stays near 5 minutes; .ci/run runs it: make test-ci-slow)
def test_killed_render_leaves_nothing_finished_looking_and_resumes(ws):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "dreamrunner_cli.cli", "render", str(ws), "--quiet", "--set", "render.steps=6"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = ws / "renders" / f"{scene_ids(ws)[0]}.mp4"
    deadline = time.monotonic() + 120
    while not first.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rec = Records.load(Workspace(ws))
    done = set(rec.items("render"))
    finished = {p.stem for p in (ws / "renders").glob("*.mp4") if not p.name.startswith(".tmp")}
    assert done <= finished  # every recorded scene has its clip …
    assert len(done) < len(scene_ids(ws))  # … and the run really was cut short
    assert not (ws / "story.mp4").exists()
    out = json.loads(invoke("render", ws, "--set", "render.steps=6", "--json").stdout)
    ran = {it["item"] for it in out["items"] if it["action"] == "ran"}
    assert ran == (set(scene_ids(ws)) - done) | {"story"}
    assert (ws / "story.mp4").exists()


def test_a_second_process_fails_at_once_or_waits(ws):
    workspace = Workspace(ws)
    with workspace.locked():
        res = invoke("render", ws, "--dry-run", code=6)
        assert "in use" in res.output and "--wait" in res.output

    release = threading.Event()

    def hold():
        with workspace.locked():
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.2)
    threading.Timer(0.5, release.set).start()
    invoke("render", ws, "--dry-run", "--wait", "--quiet")  # waits for the holder, then runs
    t.join()


# Misc commands --------------------------------------------------------------------------------------------------------

def test_status_lists_items_and_recent_runs_without_importing_torch(ws):
    code = ("import sys, json; from typer.testing import CliRunner; from dreamrunner_cli.cli import app; "
            f"r = CliRunner().invoke(app, ['status', '{ws}', '--json']); "
            "d = json.loads(r.stdout); assert r.exit_code == 0, r.output; "
            "print(json.dumps({'torch': 'torch' in sys.modules, 'stages': [s['stage'] for s in d['stages']], "
            "'render_items': [i['reason'] for s in d['stages'] if s['stage'] == 'render' for i in s['items']]}))")
    out = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    assert out["torch"] is False
    assert out["stages"] == ["plan", "retrieve", "adapt", "render", "evaluate"]
    assert out["render_items"] and all(r == "never ran" for r in out["render_items"])


def test_help_does_not_import_torch():
    out = subprocess.check_output([sys.executable, "-c", "import sys; from dreamrunner_cli.cli import app; "
                                   "print('torch' in sys.modules, 'diffusers' in sys.modules)"], text=True)
    assert out.split() == ["False", "False"]


def test_schema_plan_prints_the_json_schema():
    schema = json.loads(invoke("schema", "plan").stdout)
    assert schema["title"] == "Plan" and "scenes" in schema["properties"]


def test_bad_override_and_unknown_preset_are_usage_errors(ws):
    assert "key=value" in invoke("render", ws, "--set", "nonsense", code=2).output
    assert "unknown preset" in invoke("render", ws, "--preset", "nope", code=2).output
    assert "render.steps" in invoke("render", ws, "--set", "render.steps=-1", code=2).output  # README: bad --set is 2


def test_masks_command_writes_npz_and_pictures(ws):
    import numpy as np

    out = json.loads(invoke("masks", ws, "--height", "480", "--width", "720", "--frames", "48", "--text-len", "226",
                            "--json").stdout)
    data = np.load(out["npz"])
    sid = scene_ids(ws)[0]
    membership = data[f"{sid}/membership"]
    assert membership.shape[1:] == (12, 30, 45) and membership.dtype == bool
    assert str(data[f"{sid}/prompts"][-1]) == json.loads((ws / "plan.json").read_text())["scenes"][0]["background"]
    # the background is exactly the complement of the union of the boxes
    assert (membership[-1] == ~membership[:-1].any(0)).all()
    assert all(Path(p).stat().st_size > 500 for p in out["pictures"])


def test_dry_run_changes_nothing_on_disk(ws):
    before = {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    invoke("render", ws, "--attention", "flex", "--set", "render.steps=9", "--dry-run", "--quiet")
    invoke("plan", ws, "--preset", "cogvideox-2b", "--dry-run", "--quiet")
    after = {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    assert after == before
    invoke("render", ws, "--attention", "flex", "--scene", scene_ids(ws)[0], "--quiet")  # a real run saves it
    assert json.loads((ws / "config.json").read_text())["render"]["attention"] == "flex"
