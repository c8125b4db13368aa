"""Fast in-process tests of the evaluate stage (stages/evaluate.py): what it decides per item and why, the exact
fingerprint of each item, what it writes, records and logs, its messages and errors. Short synthetic videos and the
deterministic fake encoders of evaluate_fixtures.py: milliseconds per run. ``tools/mutate.py`` runs these tests
against mutants of the module, so each test pins exact values."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from evaluate_fixtures import ColourClip, ColourVideoText, PixelEncoder, make_plan, make_workspace, solid
from test_evaluate import tiny_cfg

from dreamrunner_cli.errors import InputInvalid, MissingUpstream
from dreamrunner_cli.evaluation import orchestrate
from dreamrunner_cli.stages import evaluate as stage
from dreamrunner_cli.video import write_video
from dreamrunner_cli.workspace import StageRun

CONFIGURED_TINY = {"clip": "tiny/None", "dino": "tiny (dinov2)", "video_text": "tiny"}
FAKE_MODELS = {"clip": "fake-pixels", "dino": "fake-pixels", "video_text": "fake-colour-vt"}


def fakes() -> stage.Encoders:
    return stage.Encoders(clip=PixelEncoder(), dino=PixelEncoder(), video_text=ColourVideoText())


def short_ws(tmp_path, name: str = "ws"):
    """Two scenes (teddy, a rock), 8-frame 32×32 clips: s01 red, s02 green."""
    plan = make_plan([[("red", 4), ("blue", 2)], [("green", 3), ("yellow", 3)]])
    ws = make_workspace(tmp_path / name, plan, {"s01": solid("red", 8), "s02": solid("green", 8)})
    return ws, plan


@pytest.fixture
def decided(monkeypatch):
    """Every decision the stage makes: item → (deps, outs)."""
    seen: dict = {}
    real = StageRun.decide

    def spy(self, item, deps, outs, force=None, info=None):
        seen[item] = (deps, outs)
        return real(self, item, deps, outs, force=force, info=info)

    monkeypatch.setattr(StageRun, "decide", spy)
    return seen


def actions(res) -> dict[str, str]:
    return {it["item"]: it["action"] for it in res["items"]}


def test_evaluation_device_is_evaluate_device_or_the_models():
    assert stage.evaluation_device(tiny_cfg("evaluate.device=cuda:1")) == "cuda:1"
    cfg = tiny_cfg("model.device=cuda:2")
    cfg.evaluate.device = None
    assert stage.evaluation_device(cfg) == "cuda:2"
    assert stage.STORY_ITEM == "story"


def test_first_run_scores_every_scene_then_the_story_with_exact_fingerprints_and_records(tmp_path, decided):
    ws, plan = short_ws(tmp_path)
    # What the report shows beside the scores is part of the story's fingerprint: retrieved clips, adapters.
    (ws.retrieval_dir / "walking").mkdir(parents=True)
    (ws.retrieval_dir / "walking" / "manifest.json").write_text("{}")
    (ws.adapters_dir / "motion" / "walking").mkdir(parents=True)
    (ws.adapters_dir / "motion" / "walking" / "adapter.json").write_text("{}")
    cfg = tiny_cfg()
    res = stage.run(ws, cfg, encoders=fakes(), progress=False)

    assert [{k: it[k] for k in ("stage", "item", "run", "reason", "action")} for it in res["items"]] == [
        {"stage": "evaluate", "item": i, "run": True, "reason": "never ran", "action": "ran"}
        for i in ("renders/s01", "renders/s02", "story")]
    ecfg = cfg.section("evaluate")["evaluate"]
    scene = plan.scenes[0]
    deps, outs = decided["renders/s01"]
    assert deps == {
        "plan.scenes[s01]": scene.model_dump(mode="json", include={"narration", "characters", "keyframes"}),
        "plan.tokens": ["[v1]"],
        "plan.characters[teddy].reference_images": ["refs/teddy/1.png"],
        "reference refs/teddy/1.png": ws.root / "refs/teddy/1.png",
        "video": ws.scene_video("s01"),
        "config.evaluate": ecfg,
        "device": "cpu",
    }
    assert "narration" in deps["plan.scenes[s01]"] and "background" not in deps["plan.scenes[s01]"]
    assert outs == [ws.eval_dir / "renders" / "s01.json", ws.eval_dir / "renders" / "s01.png"]
    story_deps, story_outs = decided["story"]
    assert story_deps == {
        "plan": plan.model_dump(mode="json"),
        "sources": [["renders", str(ws.renders_dir)]],
        "eval/renders/s01.json": ws.eval_dir / "renders" / "s01.json",
        "eval/renders/s02.json": ws.eval_dir / "renders" / "s02.json",
        "eval/renders/s01.png": ws.eval_dir / "renders" / "s01.png",
        "eval/renders/s02.png": ws.eval_dir / "renders" / "s02.png",
        "video renders/s01": ws.scene_video("s01"),
        "video renders/s02": ws.scene_video("s02"),
        "storyboard.png": ws.storyboard,
        "reference teddy/0": ws.root / "refs/teddy/1.png",
        "story.mp4": ws.story_video,
        "retrieval/walking/manifest.json": ws.retrieval_dir / "walking" / "manifest.json",
        "adapters/motion/walking/adapter.json": ws.adapters_dir / "motion" / "walking" / "adapter.json",
        "config.evaluate": ecfg,
        "device": "cpu",
    }
    assert story_outs == [ws.eval_dir / "metrics.json", ws.eval_dir / "report.html"]

    # Files and records: outputs of each scene, the story's two files, the video each scene was scored from.
    for sid in ("s01", "s02"):
        data = json.loads((ws.eval_dir / "renders" / f"{sid}.json").read_text())
        assert data["scene"] == sid and data["source"] == "renders" and data["video"] == f"renders/{sid}.mp4"
        assert data["frames"] == 8 and (ws.eval_dir / "renders" / f"{sid}.png").read_bytes()[:4] == b"\x89PNG"
    records = json.loads(ws.records_file.read_text())["stages"]["evaluate"]
    assert records["renders/s01"]["video"] == "renders/s01.mp4"
    assert records["renders/s02"]["video"] == "renders/s02.mp4"
    assert sorted(records["story"]["outs"]) == ["eval/metrics.json", "eval/report.html"]
    assert "video" not in records["story"]
    assert [it["fingerprint"] for it in res["items"]] == [records[i]["fingerprint"]
                                                           for i in ("renders/s01", "renders/s02", "story")]
    assert "<html" in (ws.eval_dir / "report.html").read_text().lower()

    # The result: the story tables read back from metrics.json, headline keys only.
    metrics = json.loads((ws.eval_dir / "metrics.json").read_text())
    assert res["metrics_file"] == str(ws.eval_dir / "metrics.json")
    assert res["report"] == str(ws.eval_dir / "report.html")
    assert res["models"] == metrics["models"] == FAKE_MODELS
    assert res["warnings"] == metrics["warnings"] == []
    assert res["device"] == "cpu" and res["notes"] == [] and res["dry_run"] is False
    assert res["stage"] == "evaluate" and res["workspace"] == str(ws.root)
    src = metrics["sources"][0]
    assert res["sources"] == [{"name": "renders", "path": src["path"], "story": src["story"],
                               "scenes": {m["scene"]: {k: m[k] for k in stage._HEADLINE_KEYS}
                                          for m in src["scenes"]}}]
    assert set(res["sources"][0]["scenes"]) == {"s01", "s02"}
    assert stage._HEADLINE_KEYS == ("char_clip", "char_dino", "fg_clip", "fg_vt", "full_clip", "full_vt",
                                    "trans_dino", "fg_clip_midpoint", "fg_vt_midpoint", "fg_clip_plan",
                                    "fg_vt_plan")

    # runs.jsonl: one line, with the models, the device and the sources.
    run = ws.read_runs()[-1]
    assert run["stage"] == "evaluate" and run["outcome"] == "ok"
    assert run["models"] == FAKE_MODELS and run["device"] == "cpu"
    assert run["sources"] == [{"name": "renders", "folder": str(ws.renders_dir), "matched_by": "scene id"}]
    assert [i["item"] for i in run["items"]] == ["renders/s01", "renders/s02", "story"]


def test_what_the_scorers_are_given(tmp_path, monkeypatch):
    ws, plan = short_ws(tmp_path)
    ramp = np.stack([solid("red", 1)[0] // 8 * (i + 1) for i in range(8)])  # every frame differs
    write_video(ws.scene_video("s01"), ramp, 8)
    write_video(ws.scene_video("s02"), ramp[::-1].copy(), 8)
    calls: list = []
    real_score, real_story = orchestrate.SceneScorer.score, orchestrate.story_metrics

    def score(self, video, scene, plan_, refs, *, source, video_label):
        metrics, frames = real_score(self, video, scene, plan_, refs, source=source, video_label=video_label)
        calls.append(("score", video, scene.id, refs, source, video_label, self.settings, frames))
        return metrics, frames

    def story_metrics(plan_, sources, scene_files, dino, *, device, settings, rel, edge_frames=None):
        calls.append(("story", [s.name for s in sources], scene_files, dino, device, settings, edge_frames))
        return real_story(plan_, sources, scene_files, dino, device=device, settings=settings, rel=rel,
                          edge_frames=edge_frames)

    monkeypatch.setattr(orchestrate.SceneScorer, "score", score)
    monkeypatch.setattr(orchestrate, "story_metrics", story_metrics)
    cfg = tiny_cfg("evaluate.alignment_frames=4", "evaluate.fg_split=plan")
    enc = fakes()
    stage.run(ws, cfg, encoders=enc, progress=False)
    settings = orchestrate.settings_from(cfg.evaluate)
    assert settings.alignment_frames == 4 and settings.fg_split == "plan"
    scored = [c for c in calls if c[0] == "score"]
    refs = {"teddy": [("characters[0].reference_images[0]", ws.root / "refs/teddy/1.png")]}
    assert [c[1:7] for c in scored] == [
        (ws.scene_video("s01"), "s01", refs, "renders", "renders/s01.mp4", settings),
        (ws.scene_video("s02"), "s02", refs, "renders", "renders/s02.mp4", settings)]
    (story,) = [c for c in calls if c[0] == "story"]
    assert story[1] == ["renders"] and story[3] is enc._dino and story[4] == "cpu" and story[5] == settings
    assert story[2] == {("renders", s): ws.eval_dir / "renders" / f"{s}.json" for s in ("s01", "s02")}
    edges = story[6]
    assert list(edges) == [("renders", "s01"), ("renders", "s02")]
    for c in scored:
        first, last = edges[("renders", c[2])]
        assert np.array_equal(first, c[7][0]) and np.array_equal(last, c[7][-1])
        assert not np.array_equal(first, c[7][1]) and not np.array_equal(last, c[7][-2])
    # An up-to-date scene is not scored again: the story step reads its first and last frames from the video (as a
    # counted sub-step, issue 25).
    calls.clear()
    data = json.loads(ws.plan.read_text())
    data["scenes"][1]["narration"] = "Teddy is green, then yellow."
    ws.plan.write_text(json.dumps(data))
    res = stage.run(ws, cfg, encoders=fakes(), progress=False)
    assert actions(res) == {"renders/s01": "skipped", "renders/s02": "ran", "story": "ran"}
    assert res["items"][1]["reason"] == "plan.scenes[s02].narration changed"
    (story,) = [c for c in calls if c[0] == "story"]
    assert list(story[6]) == [("renders", "s02"), ("renders", "s01")]
    from dreamrunner_cli.video import read_video

    frames, _ = read_video(ws.scene_video("s01"))
    assert np.array_equal(story[6][("renders", "s01")][0], frames[0])
    assert np.array_equal(story[6][("renders", "s01")][1], frames[-1])


def test_rerun_skips_everything_and_loads_no_model_then_edits_rescore_only_what_they_touch(tmp_path, capsys):
    ws, plan = short_ws(tmp_path)
    stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    enc = stage.Encoders(tiny_cfg().evaluate, "cpu")  # would load the tiny scorers if anything had to run
    res = stage.run(ws, tiny_cfg(), encoders=enc, progress=True)
    assert actions(res) == {"renders/s01": "skipped", "renders/s02": "skipped", "story": "skipped"}
    assert {it["reason"] for it in res["items"]} == {"up to date"}
    assert enc.loaded == [] and capsys.readouterr().err == ""
    assert res["models"] == FAKE_MODELS and res["metrics_file"] == str(ws.eval_dir / "metrics.json")
    assert ws.read_runs()[-1]["models"] == FAKE_MODELS
    # A key of another stage: nothing; an evaluate key: everything, saying which key changed.
    assert set(actions(stage.run(ws, tiny_cfg("render.steps=1"), encoders=fakes(), progress=False)).values()) \
        == {"skipped"}
    res = stage.run(ws, tiny_cfg("evaluate.smoothness_frames=2"), encoders=fakes(), progress=False)
    assert [(it["item"], it["reason"]) for it in res["items"]] == [
        ("renders/s01", "config.evaluate.smoothness_frames 4 → 2"),
        ("renders/s02", "config.evaluate.smoothness_frames 4 → 2"),
        ("story", "eval/renders/s01.json changed, eval/renders/s02.json changed, "
                  "config.evaluate.smoothness_frames 4 → 2")]
    # A new video for one scene: that scene and the story.
    write_video(ws.scene_video("s02"), solid("yellow", 8), 8)
    res = stage.run(ws, tiny_cfg("evaluate.smoothness_frames=2"), encoders=fakes(), progress=False)
    assert [(it["item"], it["reason"]) for it in res["items"]] == [
        ("renders/s01", "up to date"), ("renders/s02", "video changed"),
        ("story", "eval/renders/s02.json changed, eval/renders/s02.png changed, video renders/s02 changed")]
    # A missing output re-runs its item.
    (ws.eval_dir / "renders" / "s01.png").unlink()
    res = stage.run(ws, tiny_cfg("evaluate.smoothness_frames=2"), encoders=fakes(), progress=False)
    assert res["items"][0]["reason"] == "output eval/renders/s01.png missing"
    # --force: every item.
    res = stage.run(ws, tiny_cfg("evaluate.smoothness_frames=2"), encoders=fakes(), force=True, progress=False)
    assert {it["reason"] for it in res["items"]} == {"forced (--force)"}


def test_tokens_and_references_in_the_fingerprint(tmp_path, decided):
    plan = make_plan([[("red", 6)], [("blue", 6)]])
    plan.scenes[1].characters = []
    for kf in plan.scenes[1].keyframes:
        kf.regions = [kf.regions[1]]  # only the rock: no character, no references
    plan.characters[0].reference_images = ["refs/teddy/1.png", "refs/teddy/2.png"]
    from evaluate_fixtures import pattern

    ws = make_workspace(tmp_path / "ws", plan, {"s01": solid("red", 8), "s02": solid("blue", 8)},
                        {"refs/teddy/1.png": pattern(0), "refs/teddy/2.png": pattern(1)})
    stage.run(ws, tiny_cfg("evaluate.strip_tokens=false"), encoders=fakes(), dry_run=True, progress=False)
    s01, _ = decided["renders/s01"]
    assert s01["plan.tokens"] == []
    assert s01["plan.characters[teddy].reference_images"] == ["refs/teddy/1.png", "refs/teddy/2.png"]
    assert s01["reference refs/teddy/2.png"] == ws.root / "refs/teddy/2.png"
    s02, _ = decided["renders/s02"]
    assert [k for k in s02 if k.startswith(("plan.characters", "reference"))] == []
    story, _ = decided["story"]
    assert story["reference teddy/1"] == ws.root / "refs/teddy/2.png"


def test_dry_run_decides_without_scoring_or_writing(tmp_path, capsys):
    ws, plan = short_ws(tmp_path)
    ws.scene_video("s02").unlink()  # a dry run does not need every render
    enc = fakes()
    res = stage.run(ws, tiny_cfg(), encoders=enc, dry_run=True, progress=True)
    assert [(it["item"], it["run"], it["action"], it["reason"]) for it in res["items"]] == [
        ("renders/s01", True, "would run", "never ran"), ("renders/s02", True, "would run", "never ran"),
        ("story", True, "would run", "never ran")]
    assert res["dry_run"] is True and "metrics_file" not in res and "report" not in res
    assert res["sources"] == [{"name": "renders", "folder": str(ws.renders_dir), "matched_by": "scene id"}]
    assert res["models"] == CONFIGURED_TINY and res["device"] == "cpu"
    assert enc._clip.calls == enc._dino.calls == enc._video_text.calls == 0
    assert not ws.eval_dir.exists() and not ws.runs_log.exists() and not ws.records_file.exists()
    assert capsys.readouterr().err == ""
    with pytest.raises(MissingUpstream) as err:
        stage.run(ws, tiny_cfg(), encoders=enc, progress=False)
    assert err.value.message == "scene video(s) not rendered yet: renders/s02.mp4"


def test_one_scene_leaves_the_story_and_report_alone(tmp_path):
    ws, _ = short_ws(tmp_path)
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), only=["s02"], progress=False)
    assert [(it["item"], it["action"]) for it in res["items"]] == [("renders/s02", "ran")]
    assert res["notes"] == ["story metrics and the report were not updated (--scene); run without --scene to "
                            "update them"]
    assert "metrics_file" not in res and "warnings" not in res
    assert res["sources"] == [{"name": "renders", "folder": str(ws.renders_dir), "matched_by": "scene id"}]
    assert not (ws.eval_dir / "metrics.json").exists() and not (ws.eval_dir / "renders" / "s01.json").exists()
    assert (ws.eval_dir / "renders" / "s02.json").exists()
    # No story: the models are the configured ones, and the run is logged with them.
    assert res["models"] == CONFIGURED_TINY and ws.read_runs()[-1]["models"] == CONFIGURED_TINY
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), only=["s01", "s02"], progress=False)
    assert actions(res) == {"renders/s01": "ran", "renders/s02": "skipped"}
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, tiny_cfg(), encoders=fakes(), only=["s01", "s09", "s08"], progress=False)
    assert err.value.message == "unknown scene id(s) s08, s09"
    assert err.value.hint == "scene ids: s01, s02" and err.value.exit_code == 5


def test_scorers_load_lazily_from_the_config_once_and_progress_says_so(tmp_path, monkeypatch, capsys):
    from dreamrunner_cli.models import dino, scorers

    loads: list = []

    def fake(kind, made):
        def load(*args, **kwargs):
            loads.append((kind, args, kwargs))
            return made

        return load

    monkeypatch.setattr(scorers, "load_clip_scorer", fake("clip", ColourClip()))
    monkeypatch.setattr(dino, "load_dino", fake("dino", PixelEncoder()))
    monkeypatch.setattr(scorers, "load_video_text_scorer", fake("video_text", ColourVideoText()))
    ws, _ = short_ws(tmp_path)
    res = stage.run(ws, tiny_cfg("evaluate.dino_arch=dino"), progress=True)
    assert loads == [("clip", ("tiny", None, "cpu"), {}), ("dino", ("tiny", "cpu"), {"arch": "dino"}),
                     ("video_text", ("tiny", "cpu"), {})]
    assert res["models"] == {"clip": "fake-colour-clip", "dino": "fake-pixels", "video_text": "fake-colour-vt"}
    err = re.sub(r"\d+\.\d s", "T", capsys.readouterr().err).splitlines()
    assert err[0] == "evaluate: load scorers clip, dino, video_text … T"
    assert err[1] == "evaluate: score 0/2 (T)"
    assert "evaluate: score renders/s02 2/2 (T)" in err
    # The story in sub-steps (here every frame was decoded while scoring, and DINO is loaded): no frames to read.
    assert err[-2:] == ["evaluate: story: metrics and cuts between scenes … T", "evaluate: story: report.html … T"]
    # Injected scorers: nothing to load, no phase for it.
    write_video(ws.scene_video("s01"), solid("blue", 8), 8)
    stage.run(ws, tiny_cfg("evaluate.dino_arch=dino"), encoders=fakes(), progress=True)
    err = capsys.readouterr().err
    assert "load scorers" not in err and "score renders/s01 1/1" in err
    assert not any("s02" in line for line in err.splitlines())


def test_other_folders_are_sources_with_their_notes(tmp_path, decided):
    ws, plan = short_ws(tmp_path)
    ordered = tmp_path / "baseline"
    write_video(ordered / "clip_1.mp4", solid("blue", 8), 8)
    write_video(ordered / "clip_2.mp4", solid("red", 8), 8)
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), videos=[f"other={ordered}", str(ws.renders_dir)],
                    progress=False)
    assert [it["item"] for it in res["items"]] == ["other/s01", "other/s02", "renders/s01", "renders/s02", "story"]
    assert res["notes"] == ["other: matched by sorted order: s01=clip_1.mp4, s02=clip_2.mp4"]
    assert decided["other/s02"][0]["video"] == ordered / "clip_2.mp4"
    assert decided["story"][0]["sources"] == [["other", str(ordered)], ["renders", str(ws.renders_dir)]]
    assert "video other/s01" in decided["story"][0] and "eval/other/s02.png" in decided["story"][0]
    assert [s["name"] for s in res["sources"]] == ["other", "renders"]
    assert ws.read_runs()[-1]["sources"] == [
        {"name": "other", "folder": str(ordered), "matched_by": "sorted order"},
        {"name": "renders", "folder": str(ws.renders_dir), "matched_by": "scene id"}]
    records = json.loads(ws.records_file.read_text())["stages"]["evaluate"]
    assert records["other/s01"]["video"] == str(ordered / "clip_1.mp4")  # outside the workspace: absolute


def test_story_refuses_when_a_scene_file_is_missing(tmp_path, monkeypatch):
    ws, _ = short_ws(tmp_path)
    real = stage.write_json_atomic

    def lose_scene_files(path, data):
        if path.parent.name != "renders":
            real(path, data)

    monkeypatch.setattr(stage, "write_json_atomic", lose_scene_files)
    with pytest.raises(MissingUpstream) as err:
        stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    assert err.value.message == "scene metrics missing for ['renders/s01', 'renders/s02']"
    assert err.value.hint == "run `dreamrunner evaluate` again"
    assert not (ws.eval_dir / "metrics.json").exists()


def test_result_reads_whatever_metrics_json_holds(tmp_path):
    """A hand-edited metrics.json is kept (the story is up to date) and read as it is: missing keys are empty."""
    ws, _ = short_ws(tmp_path)
    stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    path = ws.eval_dir / "metrics.json"
    data = json.loads(path.read_text())
    del data["warnings"], data["models"]
    for m in data["sources"][0]["scenes"]:
        del m["fg_vt_plan"]
    path.write_text(json.dumps(data))
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    assert actions(res)["story"] == "skipped"
    assert res["warnings"] == [] and res["models"] is None
    assert ws.read_runs()[-1]["models"] == CONFIGURED_TINY  # the run log falls back to the configured ones
    assert res["sources"][0]["scenes"]["s01"]["fg_vt_plan"] is None
    del data["sources"]
    data["warnings"] = ["w"]
    path.write_text(json.dumps(data))
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    assert res["sources"] == [] and res["warnings"] == ["w"]


def test_configured_models_and_scene_paths():
    ecfg = tiny_cfg("evaluate.clip_model=ViT-B-32", "evaluate.clip_pretrained=openai",
                    "evaluate.dino_model=facebook/dino-vitb16", "evaluate.dino_arch=dino",
                    "evaluate.video_text_model=viclip:x").evaluate
    assert stage._configured_models(ecfg) == {"clip": "ViT-B-32/openai", "dino": "facebook/dino-vitb16 (dino)",
                                              "video_text": "viclip:x"}


def test_progress_is_on_by_default_and_scorers_load_on_the_evaluation_device(tmp_path, monkeypatch, capsys):
    import torch

    from dreamrunner_cli.models import dino, scorers

    devices: list = []

    def fake(made):
        def load(*args, **kwargs):
            devices.append(args[-1])
            return made

        return load

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)  # cuda:3 exists (the stage checks before loading)
    monkeypatch.setattr(scorers, "load_clip_scorer", fake(ColourClip()))
    monkeypatch.setattr(dino, "load_dino", fake(PixelEncoder()))
    monkeypatch.setattr(scorers, "load_video_text_scorer", fake(ColourVideoText()))
    ws, _ = short_ws(tmp_path)
    res = stage.run(ws, tiny_cfg("evaluate.device=cuda:3"), only=["s01"])
    assert devices == ["cuda:3", "cuda:3", "cuda:3"] and res["device"] == "cuda:3"
    assert "evaluate: score renders/s01 1/1" in capsys.readouterr().err
