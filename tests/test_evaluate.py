"""Evaluate: metric math with known answers, events cut at the plan's boundaries, the stage's records and sources."""

from __future__ import annotations

import json

import numpy as np
import pytest
from evaluate_fixtures import (
    ColourClip,
    ColourVideoText,
    PixelEncoder,
    make_plan,
    make_workspace,
    pattern,
    region,
    solid,
    two_color_video,
)

from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid, MissingUpstream
from dreamrunner_cli.evaluation import metrics as M
from dreamrunner_cli.schema import Keyframe
from dreamrunner_cli.stages import evaluate as stage
from dreamrunner_cli.video import write_video


def tiny_cfg(*overrides: str):
    return resolve_config(preset="tiny", overrides=list(overrides))


# 1. Sampling and key frame → frame mapping --------------------------------------------------------------------------


def test_uniform_indices_cover_span_and_repeat_when_short():
    assert M.uniform_indices(0, 48, 4) == [0, 16, 31, 47]
    assert M.uniform_indices(0, 48, 8)[0] == 0 and M.uniform_indices(0, 48, 8)[-1] == 47
    assert M.uniform_indices(10, 13, 5) == [10, 10, 11, 12, 12]  # short span: repeats, stays inside
    with pytest.raises(ValueError):
        M.uniform_indices(5, 5, 2)


def test_keyframe_spans_are_proportional():
    # The paper: 48 frames, 6 key frames → 8 frames per key frame.
    assert [M.keyframe_span_to_frames(k, k + 1, 6, 48) for k in range(6)] == [(8 * k, 8 * k + 8) for k in range(6)]
    assert M.keyframe_span_to_frames(0, 4, 6, 48) == (0, 32)
    assert M.keyframe_span_to_frames(4, 6, 6, 49) == (32, 49)  # 49 frames: the last span takes the extra one
    # Tiny videos: never an empty span.
    spans = [M.keyframe_span_to_frames(k, k + 1, 6, 4) for k in range(6)]
    assert all(f1 > f0 for f0, f1 in spans) and spans[-1][1] == 4


# 2. Events from the plan -------------------------------------------------------------------------------------------


def test_events_follow_motion_runs_and_ignore_static_objects():
    plan = make_plan([[("red", 4), ("blue", 2)]])
    ev = M.scene_events(plan.scenes[0], plan)
    assert [(e.entity, e.motion, e.start, e.end) for e in ev] == [("teddy", "walking", 0, 4), ("teddy", "waving", 4, 6)]
    assert ev[0].caption == "A [v1] teddy bear is walking, all red"


def test_event_key_motion_vs_caption_and_absent_entity_breaks_runs():
    plan = make_plan([[("red", 6)]])
    kfs = plan.scenes[0].keyframes
    # Same motion, caption changes at key frame 2; teddy absent at key frame 4.
    for k in (2, 3, 5):
        kfs[k].regions[0] = region("teddy", "walking", "A [v1] teddy bear is walking, all blue")
    kfs[4] = Keyframe(regions=[kfs[4].regions[1]])
    by_motion = M.scene_events(plan.scenes[0], plan, "motion")
    assert [(e.start, e.end) for e in by_motion] == [(0, 4), (5, 6)]
    by_caption = M.scene_events(plan.scenes[0], plan, "caption")
    assert [(e.start, e.end) for e in by_caption] == [(0, 2), (2, 4), (5, 6)]


def test_events_of_two_characters_and_scenes_without_characters():
    plan = make_plan([[("red", 6)]])
    plan.characters.append(plan.characters[0].model_copy(update={"id": "cat", "token": "[v2]"}))
    for k, kf in enumerate(plan.scenes[0].keyframes):
        kf.regions.append(region("cat", "jumping" if k < 3 else "sitting", "A [v2] cat", (0.5, 0.5, 1.0, 1.0)))
    ev = M.scene_events(plan.scenes[0], plan)
    assert [(e.entity, e.motion, e.start, e.end) for e in ev] == [
        ("teddy", "walking", 0, 6), ("cat", "jumping", 0, 3), ("cat", "sitting", 3, 6)]
    # Only objects: moving regions make the events; static ones do not.
    plan2 = make_plan([[("red", 2)]])
    plan2.scenes[0].keyframes = [Keyframe(regions=[region("rock", "none", "a rock"), region("rock", "none", "x")])]
    assert M.scene_events(plan2.scenes[0], plan2) == []


def test_clean_text_removes_identifier_tokens():
    assert M.clean_text("A [v1] teddy  bear is walking", ["[v1]"]) == "A teddy bear is walking"


# 3. Metric math with known answers ----------------------------------------------------------------------------------


def test_consistency_is_100_for_frames_equal_to_the_reference_and_lower_otherwise():
    enc = PixelEncoder()
    ref = pattern(0)
    frames = np.stack([ref] * 5)
    assert M.consistency(enc.encode_images(list(frames)), enc.encode_images([ref])) == pytest.approx(100.0)
    other = np.stack([pattern(3)] * 5)
    assert M.consistency(enc.encode_images(list(other)), enc.encode_images([ref])) < 90.0
    # Every frame × every reference: half the frames equal ref A, half equal ref B, A ⟂-ish B.
    a, b = pattern(0), pattern(3)
    mixed = [a, a, b, b]
    expected = np.mean(M.cosine(enc.encode_images(mixed), enc.encode_images([a, b]))) * 100
    assert M.consistency(enc.encode_images(mixed), enc.encode_images([a, b])) == pytest.approx(expected)


def test_smoothness_is_100_for_identical_frames_and_drops_at_a_cut():
    enc = PixelEncoder()
    score, idx, pairs = M.smoothness(np.stack([pattern(1)] * 48), enc, 4)
    assert score == pytest.approx(100.0) and idx == [0, 16, 31, 47] and len(pairs) == 3
    cut = np.concatenate([np.stack([pattern(1)] * 24), np.stack([pattern(4)] * 24)])
    score2, _, pairs2 = M.smoothness(cut, enc, 4)
    assert pairs2[0] == pytest.approx(100.0) and pairs2[2] == pytest.approx(100.0) and pairs2[1] < 90
    assert score2 < 97


def test_fine_grained_default_is_the_papers_midpoint_cut_and_plan_cut_is_reported_too():
    # Events: red for key frames 0-3 (frames 0-31), blue for 4-5 (frames 32-47): a 4+2 plan.
    plan = make_plan([[("red", 4), ("blue", 2)]])
    frames = two_color_video("red", "blue", 32)
    clip, vt, dino = ColourClip(), ColourVideoText(), PixelEncoder()
    m = M.score_scene(frames, 8, plan.scenes[0], plan, {}, clip, dino, vt, M.MetricSettings(), "renders", "v.mp4")
    # Default: the paper's cut at the temporal midpoint (frame 24), the same frames whatever the plan says.
    assert m.fg_split == "midpoint"
    assert [e.frames for e in m.segments] == [(0, 24), (24, 48)]
    assert [e.text for e in m.segments] == ["A teddy bear is walking, all red", "A teddy bear is waving, all blue"]
    # The second half holds 8 red frames (24-31) of 24: the midpoint score is lower than a perfect 100.
    assert m.fg_clip == m.fg_clip_midpoint and m.fg_clip < 100.0 - 1.0
    assert m.fg_vt == m.fg_vt_midpoint and m.fg_vt < 100.0 - 1.0
    # The plan's own key-frame cut is computed and reported next to it.
    assert [e.frames for e in m.events] == [(0, 32), (32, 48)]
    assert m.fg_clip_plan == pytest.approx(100.0, abs=1e-6) and m.fg_vt_plan == pytest.approx(100.0, abs=1e-6)
    # fg_split=plan makes the plan cut the headline; the midpoint numbers do not change.
    p = M.score_scene(frames, 8, plan.scenes[0], plan, {}, clip, dino, vt, M.MetricSettings(fg_split="plan"),
                      "renders", "v.mp4")
    assert p.fg_clip == pytest.approx(100.0, abs=1e-6) and p.fg_vt == pytest.approx(100.0, abs=1e-6)
    assert p.fg_clip_midpoint == m.fg_clip_midpoint
    # A baseline that switches motion exactly at the midpoint is not penalised by the default cut ...
    baseline = M.score_scene(two_color_video("red", "blue", 24), 8, plan.scenes[0], plan, {}, clip, dino, vt,
                             M.MetricSettings(), "renders", "v.mp4")
    assert baseline.fg_clip == pytest.approx(100.0, abs=1e-6)
    # ... but the plan cut judges a quarter of its first event on the wrong motion (METHOD.md E, issue 12).
    assert baseline.fg_clip_plan < 100.0 - 1.0
    # A video whose colours do not follow the plan scores lower either way.
    swapped = M.score_scene(two_color_video("blue", "red", 32), 8, plan.scenes[0], plan, {}, clip, dino, vt,
                            M.MetricSettings(), "renders", "v.mp4")
    assert swapped.fg_clip < 0 and swapped.fg_vt < 0 and swapped.fg_clip_plan < 0
    # The video-text model always receives video_text_frames frames.
    assert set(vt.video_lengths) == {8}


def test_midpoint_spans_split_each_characters_events_into_equal_parts():
    ev = [M.Event("a", "walk", "x", 0, 4), M.Event("a", "wave", "y", 4, 6), M.Event("b", "sit", "z", 0, 6)]
    spans = M.midpoint_spans(ev, 49)
    assert [(e.caption, s) for e, s in spans] == [("x", (0, 24)), ("z", (0, 49)), ("y", (24, 49))]
    three = M.midpoint_spans([M.Event("a", str(i), str(i), i * 2, i * 2 + 2) for i in range(3)], 48)
    assert [s for _, s in three] == [(0, 16), (16, 32), (32, 48)]


def test_full_narration_alignment_and_missing_references():
    plan = make_plan([[("red", 6)]])
    frames = solid("red", 16)
    m = M.score_scene(frames, 8, plan.scenes[0], plan, {}, ColourClip(), PixelEncoder(), ColourVideoText(),
                      M.MetricSettings(), "renders", "v.mp4")
    assert m.full_clip == pytest.approx(100.0) and m.full_vt == pytest.approx(100.0)
    assert m.char_clip is None and m.char_dino is None and "no reference images" in m.notes[0]
    assert m.trans_dino == pytest.approx(100.0)


def test_aggregate_story_means_over_scenes_and_skips_not_applicable():
    from dreamrunner_cli.evaluation.schema import Boundary, CharacterScore

    plan = make_plan([[("red", 6)], [("blue", 6)]])
    s1 = M.score_scene(solid("red", 8), 8, plan.scenes[0], plan, {}, ColourClip(), PixelEncoder(), ColourVideoText(),
                       M.MetricSettings(), "r", "a")
    s2 = s1.model_copy(update={"scene": "s02", "full_clip": 50.0, "char_clip": 60.0, "char_dino": 40.0,
                               "characters": [CharacterScore(id="teddy", references=1, clip=60.0, dino=40.0)]})
    story = M.aggregate_story([s1, s2], [Boundary(before="s01", after="s02", dino=30.0)])
    assert story.full_clip == pytest.approx(75.0)
    assert story.char_clip == pytest.approx(60.0)  # s01 has no references: not averaged in as 0
    assert story.cross_dino == pytest.approx(30.0) and story.characters["teddy"]["clip"] == pytest.approx(60.0)


# 4. The stage: files, records, skipping, sources --------------------------------------------------------------------


def fakes():
    return stage.Encoders(clip=PixelEncoder(), dino=PixelEncoder(), video_text=ColourVideoText())


def colour_ws(tmp_path, name="ws"):
    plan = make_plan()
    videos = {"s01": two_color_video("red", "blue", 32), "s02": two_color_video("green", "yellow", 24)}
    return make_workspace(tmp_path / name, plan, videos), plan, videos


def test_stage_writes_scene_files_metrics_and_report(tmp_path):
    plan = make_plan([[("red", 4), ("blue", 2)], [("green", 3), ("yellow", 3)]])
    ref = pattern(0)
    ws = make_workspace(tmp_path / "ws", plan, {"s01": np.stack([ref] * 16), "s02": np.stack([pattern(5)] * 16)},
                        {"refs/teddy/1.png": ref})
    enc = fakes()
    res = stage.run(ws, tiny_cfg(), encoders=enc, progress=False)
    assert [it["action"] for it in res["items"]] == ["ran", "ran", "ran"]
    data = json.loads((ws.eval_dir / "metrics.json").read_text())
    assert data["models"] == {"clip": "fake-pixels", "dino": "fake-pixels", "video_text": "fake-colour-vt"}
    src = data["sources"][0]
    assert src["name"] == "renders" and [s["scene"] for s in src["scenes"]] == ["s01", "s02"]
    s01, s02 = src["scenes"]
    # Frames equal to the reference (up to H.264) → ~100; another picture → clearly lower.
    assert s01["char_clip"] > 99.0 and s01["char_dino"] > 99.0 and s02["char_dino"] < 90.0
    assert s01["trans_dino"] == pytest.approx(100.0, abs=1e-3)  # a static clip is perfectly smooth
    assert s01["characters"][0]["references"] == 1
    assert [e["keyframes"] for e in s01["events"]] == [[0, 4], [4, 6]]
    assert src["story"]["char_dino"] == pytest.approx((s01["char_dino"] + s02["char_dino"]) / 2, abs=1e-3)
    assert len(src["story"]["boundaries"]) == 1 and src["story"]["cross_dino"] < 90.0
    assert (ws.eval_dir / "renders" / "s01.png").exists() and (ws.eval_dir / "renders" / "s02.json").exists()
    html = (ws.eval_dir / "report.html").read_text()
    assert html.count('alt="contact sheet') == 2 and 'alt="teddy reference 1"' in html and "<svg" in html
    assert html.count('src="data:image/png;base64,') == 3
    assert not any(s in html for s in ('src="http', "href=\"http", "@import", "url(http"))
    assert res["sources"][0]["story"]["char_dino"] == data["sources"][0]["story"]["char_dino"]


def test_rerun_skips_and_loads_nothing_then_config_and_plan_edits_rescore_only_what_they_touch(tmp_path):
    ws, plan, _ = colour_ws(tmp_path)
    stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    # Same inputs: every item skipped, no encoder called.
    enc = fakes()
    res = stage.run(ws, tiny_cfg(), encoders=enc, progress=False)
    assert {it["action"] for it in res["items"]} == {"skipped"}
    assert enc._clip.calls == enc._dino.calls == enc._video_text.calls == 0
    assert res["sources"][0]["name"] == "renders"  # the tables still come from metrics.json
    # A render key the evaluation does not read: nothing re-runs.
    res = stage.run(ws, tiny_cfg("render.steps=5"), encoders=fakes(), progress=False)
    assert {it["action"] for it in res["items"]} == {"skipped"}
    # An evaluate key: every scene is scored again.
    res = stage.run(ws, tiny_cfg("evaluate.alignment_frames=4"), encoders=fakes(), progress=False)
    assert {it["item"]: it["action"] for it in res["items"]} == {"renders/s01": "ran", "renders/s02": "ran",
                                                                   "story": "ran"}
    assert "config.evaluate.alignment_frames 8 → 4" in res["items"][0]["reason"]
    # Editing one scene's narration re-scores that scene (and the story) only.
    data = json.loads(ws.plan.read_text())
    data["scenes"][1]["narration"] = "Teddy is green then yellow, happily."
    ws.plan.write_text(json.dumps(data))
    res = stage.run(ws, tiny_cfg("evaluate.alignment_frames=4"), encoders=fakes(), progress=False)
    acts = {it["item"]: it["action"] for it in res["items"]}
    assert acts == {"renders/s01": "skipped", "renders/s02": "ran", "story": "ran"}
    # Replacing a reference image re-scores the scenes with that character.
    from PIL import Image

    Image.fromarray(pattern(7)).save(ws.root / "refs/teddy/1.png")
    res = stage.run(ws, tiny_cfg("evaluate.alignment_frames=4"), encoders=fakes(), progress=False)
    assert [it["action"] for it in res["items"]] == ["ran", "ran", "ran"]
    assert "reference refs/teddy/1.png changed" in res["items"][0]["reason"]


def test_dry_run_writes_nothing_and_missing_renders_name_the_next_command(tmp_path):
    plan = make_plan()
    ws = make_workspace(tmp_path / "ws", plan, {"s01": solid("red", 8)})
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), dry_run=True, progress=False)
    assert {it["action"] for it in res["items"]} == {"would run"} and not ws.eval_dir.exists()
    with pytest.raises(MissingUpstream) as exc:
        stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    assert "renders/s02.mp4" in exc.value.message and f"dreamrunner run {ws.root}" in exc.value.hint  # all stages


def test_only_scene_leaves_the_story_alone(tmp_path):
    ws, _, _ = colour_ws(tmp_path)
    res = stage.run(ws, tiny_cfg(), encoders=fakes(), only=["s02"], progress=False)
    assert [it["item"] for it in res["items"]] == ["renders/s02"]
    assert not (ws.eval_dir / "metrics.json").exists() and any("--scene" in n for n in res["notes"])
    with pytest.raises(InputInvalid):
        stage.run(ws, tiny_cfg(), encoders=fakes(), only=["s09"], progress=False)


def test_missing_reference_image_is_named(tmp_path):
    ws, _, _ = colour_ws(tmp_path)
    (ws.root / "refs/teddy/1.png").unlink()
    with pytest.raises(InputInvalid) as exc:
        stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    assert "characters[0].reference_images[0]" in exc.value.message


def test_outside_folders_by_name_by_order_and_compared(tmp_path):
    ws, plan, videos = colour_ws(tmp_path)
    named = tmp_path / "named"
    for sid, frames in videos.items():
        write_video(named / f"{sid}.mp4", frames, 8)
    (named / "notes.txt").write_text("not a video")
    ordered = tmp_path / "baseline"
    write_video(ordered / "clip_1.mp4", solid("blue", 16), 8)  # deliberately wrong colours
    write_video(ordered / "clip_2.mp4", solid("red", 16), 8)
    res = stage.run(ws, tiny_cfg(), encoders=stage.Encoders(clip=ColourClip(), dino=PixelEncoder(),
                                                            video_text=ColourVideoText()),
                    videos=[str(named), f"other={ordered}"], progress=False)
    names = [s["name"] for s in res["sources"]]
    assert names == ["named", "other"]
    assert any("matched by sorted order: s01=clip_1.mp4, s02=clip_2.mp4" in n for n in res["notes"])
    by = {s["name"]: s for s in res["sources"]}
    # The folder that follows the plan's colours wins fine-grained alignment, with both cuts.
    assert by["named"]["story"]["fg_clip_plan"] > 99.0 > by["other"]["story"]["fg_clip_plan"]
    assert by["named"]["story"]["fg_clip"] == by["named"]["story"]["fg_clip_midpoint"]
    assert by["named"]["story"]["fg_clip_midpoint"] > 50.0 > by["other"]["story"]["fg_clip_midpoint"]
    assert (ws.eval_dir / "other" / "s02.json").exists()
    html = (ws.eval_dir / "report.html").read_text()
    assert html.count('alt="contact sheet') == 4 and "other" in html and 'class="best"' in html
    assert "FG CLIP (midpoint)" in html and "FG VT (plan)" in html  # both cuts in the report


def test_mismatched_video_count_is_a_clear_error(tmp_path):
    ws, _, _ = colour_ws(tmp_path)
    folder = tmp_path / "three"
    for i in range(3):
        write_video(folder / f"v{i}.mp4", solid("red", 8), 8)
    with pytest.raises(InputInvalid) as exc:
        stage.run(ws, tiny_cfg(), encoders=fakes(), videos=[str(folder)], progress=False)
    assert "has 3 video(s) but the plan has 2 scenes" in exc.value.message
    assert "s01.mp4" in exc.value.hint
    with pytest.raises(InputInvalid, match="does not exist"):
        stage.run(ws, tiny_cfg(), encoders=fakes(), videos=[str(tmp_path / "nope")], progress=False)


# 5. Pictures ----------------------------------------------------------------------------------------------------------


def test_contact_sheet_draws_each_keyframes_boxes_on_the_matching_frame():
    from dreamrunner_cli.evaluation.pictures import THUMB_WIDTH, contact_sheet, entity_colors, keyframe_sample_indices

    plan = make_plan([[("red", 6)]])
    scene = plan.scenes[0]
    scene.keyframes[5].regions[0] = region("teddy", "waving", "A [v1] teddy", (0.5, 0.5, 1.0, 1.0))
    frames = np.zeros((48, 32, 32, 3), np.uint8)
    frames[43] = 255  # the frame shown for key frame 6 (middle of frames 40-47) is white
    assert keyframe_sample_indices(6, 48) == [3, 11, 19, 27, 35, 43]
    sheet = np.asarray(contact_sheet(frames, scene, plan))
    pad, tw = 6, THUMB_WIDTH
    teddy = np.array([int(entity_colors(plan)["teddy"][i:i + 2], 16) for i in (1, 3, 5)])
    x5 = pad + 5 * (tw + pad)
    assert (sheet[pad + tw - 10, x5 + 10] == 255).all()  # key frame 6 shows frame 43
    assert (sheet[pad + tw - 10, pad + 10] == 0).all()  # key frame 1 shows a black frame
    # Key frame 6: teddy's box starts at (0.5, 0.5) of the thumbnail; key frame 1's at x = 0.2.
    assert (sheet[pad + tw - 20, x5 + tw // 2] == teddy).all()
    assert (sheet[pad + tw // 2, pad + round(0.2 * tw)] == teddy).all()
    assert not (sheet[pad + tw // 2, pad + round(0.2 * tw) - 3] == teddy).all()  # outside the box: the frame


def test_scores_svg_has_a_chart_per_metric_and_a_line_per_source():
    from dreamrunner_cli.evaluation.pictures import scores_svg

    svg = scores_svg(["s01", "s02", "s03"], {"full_clip": {"a": [20.0, 25.0, 30.0], "b": [10.0, None, 12.0]},
                                             "char_clip": {"a": [None, None, None]}}, {"full_clip": "Full CLIP"})
    assert svg.count('class="chart"') == 1 and 'data-metric="full_clip"' in svg  # all-None metric is left out
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 5 and "Full CLIP" in svg
