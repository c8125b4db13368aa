"""`dreamrunner run` end to end on the tiny preset: every stage, one pipeline load for adapt and render, and a second
run that skips everything."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app

SETTINGS = ["plan.min_scenes=2", "plan.max_scenes=2", "adapt.steps=2", "adapt.character_steps=2",
            "adapt.checkpoint_every=1", "render.steps=2", "retrieve.max_clips=4"]


@pytest.mark.slow  # 18 s (make test stays near 5 minutes; .ci/run runs it: make test-ci-slow)
def test_run_does_every_stage_with_one_pipeline_load_then_skips_everything(tmp_path, monkeypatch):
    from dreamrunner_cli.models import loading

    loads: list[str] = []
    real = loading.load_pipeline

    def counting(cfg, *a, **k):
        loads.append(cfg.id)
        return real(cfg, *a, **k)

    monkeypatch.setattr(loading, "load_pipeline", counting)
    story = tmp_path / "ana.txt"
    story.write_text("Ana walks through the quiet park.\n\nIn the garden Ana waves at her neighbour.\n")
    ws = tmp_path / "ws"
    args = ["run", str(story), "--workspace", str(ws), "--preset", "tiny", "--json"]
    for s in SETTINGS:
        args += ["--set", s]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    stages = {s["stage"]: s for s in json.loads(res.stdout)["stages"]}
    assert set(stages) == {"plan", "retrieve", "adapt", "render", "evaluate"}
    ran = {s: [i["item"] for i in r["items"] if i["action"] == "ran"] for s, r in stages.items()}
    assert {"motion/walking", "motion/waving"} <= set(ran["adapt"]) and "story" in ran["render"]
    assert loads == ["tiny"]  # adapt and render shared one pipeline
    assert (ws / "story.mp4").exists() and (ws / "eval" / "metrics.json").exists()

    again = CliRunner().invoke(app, ["run", str(ws), "--json"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    actions = {i["action"] for s in json.loads(again.stdout)["stages"] for i in s["items"]}
    assert actions == {"skipped"} and loads == ["tiny"]


def test_run_dry_run_on_a_fresh_plan_shows_every_stage(tmp_path):
    story = tmp_path / "ana.txt"
    story.write_text("Ana walks through the quiet park.\n\nIn the garden Ana waves at her neighbour.\n")
    ws = tmp_path / "ws"
    runner = CliRunner()
    res = runner.invoke(app, ["plan", str(story), "--workspace", str(ws), "--preset", "tiny", "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["run", str(ws), "--dry-run", "--json"])
    assert res.exit_code == 0, res.output
    stages = {s["stage"]: s for s in json.loads(res.stdout)["stages"]}
    assert set(stages) == {"plan", "retrieve", "adapt", "render", "evaluate"}
    assert any("waits for an earlier stage" in n for n in stages["adapt"]["notes"])
    assert not (ws / "retrieval").exists()  # a dry run writes nothing
