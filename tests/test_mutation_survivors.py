"""Tests written for mutants that `make mutate` (mutmut, tools/mutate.py) found alive: each pins a behaviour the rest
of the suite reached but never checked. Fast: fakes instead of models and videos (docs/reliability.md, issue 16)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dreamrunner_cli.retrieval import media, scoring
from dreamrunner_cli.retrieval.scoring import WindowScore, WindowScorer, select
from dreamrunner_cli.retrieval.segment import Window


# retrieval/scoring.py -------------------------------------------------------------------------------------------


class _Visual:
    def __init__(self, size):
        self.image_size = size


class _ClipModel:
    def __init__(self, size):
        self.visual = _Visual(size)


class FakeClip:
    """CLIP stand-in: an image embeds to [mean pixel / 255, 1]; a text to [1, 0]."""

    model_id = "fake-clip"

    def __init__(self, size=224):
        self.model = _ClipModel(size)
        self.images_seen: list[np.ndarray] = []

    def encode_texts(self, texts):
        self.texts_seen = getattr(self, "texts_seen", 0) + len(texts)
        return torch.tensor([[1.0, 0.0]] * len(texts))

    def encode_images(self, images):
        self.images_seen.extend(images)
        return torch.tensor([[float(im.mean()) / 255.0, 1.0] for im in images])


class FakeVideoText:
    model_id = "fake-vt"

    def __init__(self, image_size=224):
        self.image_size = image_size

    def text_features(self, texts):
        return {"t": torch.tensor([[2.0, 0.0]] * len(texts))}

    def video_features(self, frames):
        return {"v": torch.tensor([[float(len(frames)), 0.0]])}

    def similarity(self, video, text):
        return (video["v"] * text["t"]).sum(-1) / 100.0  # (1,)


class DictCache(dict):
    def set(self, key, value):
        self[key] = value


@pytest.fixture
def frames_read(monkeypatch):
    """media.read_window replaced: frame i of a window is filled with the value i; records each call."""
    calls: list[dict] = []

    def read_window(path, start, duration, fps, *, short_side=None, crop=None, max_side=None):
        calls.append({"path": path, "start": start, "duration": duration, "fps": fps, "short_side": short_side,
                      "crop": crop})
        n = 16
        return np.stack([np.full((4, 4, 3), i, dtype=np.uint8) for i in range(n)])

    monkeypatch.setattr(media, "read_window", read_window)
    return calls


def test_window_scorer_defaults_are_the_papers_8_frames_at_8_fps_and_decode_at_the_larger_model_size():
    s = WindowScorer(FakeClip(224), FakeVideoText(224))
    assert (s.clip_frames, s.fps, s.cache, s.decoded) == (8, 8.0, None, 0)
    assert s.short_side == 224
    assert WindowScorer(FakeClip((336, 336)), FakeVideoText(224)).short_side == 336  # CLIP's size as a pair
    assert WindowScorer(FakeClip(224), FakeVideoText(320)).short_side == 320  # the video-text model's is larger
    assert WindowScorer(FakeClip(224), object()).short_side == 224  # a video-text model without a size: 224
    assert scoring._image_size(object()) == 224


def test_window_score_is_the_mean_of_the_two_scores():
    assert WindowScore(0.3, 0.1, False).score == pytest.approx(0.2)
    assert WindowScore(0.3, 0.1, True).cached is True


def test_scoring_a_window_samples_frames_uniformly_and_caches_everything(tmp_path, frames_read):
    video = tmp_path / "a.mp4"
    video.write_bytes(b"x" * 10)
    cache = DictCache()
    clip, vt = FakeClip(224), FakeVideoText(256)
    s = WindowScorer(clip, vt, clip_frames=4, fps=5.0, cache=cache)
    text = s.text_embeddings("a dog runs")
    assert torch.equal(text[0], torch.tensor([1.0, 0.0])) and set(text[1]) == {"t"}
    result = s.score(video, Window(1.0, 3.5), text)
    # read_window got the window, the scorer's fps and the short side of the larger model
    assert frames_read == [{"path": video.resolve(), "start": 1.0, "duration": 2.5, "fps": 5.0, "short_side": 256,
                            "crop": None}]
    # 4 frames out of 16, uniformly: 0, 5, 10, 15 → CLIP score = mean of those / 255
    assert [int(im[0, 0, 0]) for im in clip.images_seen] == [0, 5, 10, 15]
    assert result.clip_score == pytest.approx(np.mean([0, 5, 10, 15]) / 255.0)
    assert result.video_text_score == pytest.approx(16 * 2.0 / 100.0)
    assert result.score == pytest.approx(0.5 * (result.clip_score + result.video_text_score))
    assert result.cached is False and s.decoded == 1

    # the cache holds the text and the window as safetensors bytes under versioned JSON keys
    keys = [json.loads(k) for k in cache]
    assert {k["kind"] for k in keys} == {"text", "window"} and all(k["v"] == scoring.KEY_VERSION for k in keys)
    window_key = next(k for k in keys if k["kind"] == "window")
    assert window_key["video"] == str(video.resolve()) and window_key["size"] == 10
    assert window_key["mtime_ns"] == video.stat().st_mtime_ns  # a file replaced in place gets a new key
    assert (window_key["start"], window_key["end"], window_key["fps"], window_key["clip_frames"],
            window_key["short_side"]) == (1.0, 3.5, 5.0, 4, 256)
    assert window_key["clip"] == "fake-clip" and window_key["video_text"] == "fake-vt" and "crop" not in window_key
    text_key = next(k for k in keys if k["kind"] == "text")
    assert text_key["text"] == "a dog runs" and text_key["clip"] == "fake-clip" and text_key["video_text"] == "fake-vt"

    # a second scorer on the same cache decodes and encodes nothing and gets the same numbers
    clip2 = FakeClip(224)
    s2 = WindowScorer(clip2, vt, clip_frames=4, fps=5.0, cache=cache)
    text2 = s2.text_embeddings("a dog runs")
    again = s2.score(video, Window(1.0, 3.5), text2)
    assert again.cached is True and s2.decoded == 0 and clip2.images_seen == [] and len(frames_read) == 1
    assert getattr(clip2, "texts_seen", 0) == 0 and clip.texts_seen == 1  # the text came from the cache too
    assert again.clip_score == pytest.approx(result.clip_score)
    assert again.video_text_score == pytest.approx(result.video_text_score)

    # a crop is passed on and is part of the key
    s2.score(video, Window(1.0, 3.5, crop=(0, 0, 2, 2)), text2)
    assert frames_read[-1]["crop"] == (0, 0, 2, 2) and s2.decoded == 1
    s2.score(video, Window(4.0, 6.0), text2)
    assert s2.decoded == 2  # counts every decode
    assert any(json.loads(k).get("crop") == [0, 0, 2, 2] for k in cache)


def test_a_failed_decode_is_remembered_and_a_corrupt_entry_is_a_miss(tmp_path, monkeypatch):
    video = tmp_path / "bad.mp4"
    video.write_bytes(b"y")
    calls = []

    def broken(*a, **k):
        calls.append(1)
        raise media.MediaError("no video stream")

    monkeypatch.setattr(media, "read_window", broken)
    cache = DictCache()
    s = WindowScorer(FakeClip(), FakeVideoText(), cache=cache)
    with pytest.raises(media.MediaError, match="no video stream"):
        s.window_embeddings(video, Window(0.0, 2.0))
    assert list(cache.values()) == [b"FAILED:no video stream"]
    with pytest.raises(media.MediaError, match="^no video stream$"):  # from the cache, without decoding again
        s.window_embeddings(video, Window(0.0, 2.0))
    assert len(calls) == 1 and s.decoded == 0
    with pytest.raises(media.MediaError, match="^video file not found$"):
        s.window_embeddings(tmp_path / "missing.mp4", Window(0.0, 2.0))
    # a remembered failure whose text is not UTF-8 still reads back as a MediaError
    cache[next(iter(cache))] = b"FAILED:bad \xff byte"
    with pytest.raises(media.MediaError, match="^bad \ufffd byte$"):
        s.window_embeddings(video, Window(0.0, 2.0))

    # a damaged entry is read as a miss, never as features
    key = next(iter(cache))
    cache[key] = b"\x00garbage"
    assert s._get(key) is None
    cache[key] = "not bytes"
    assert s._get(key) is None
    assert WindowScorer(FakeClip(), FakeVideoText())._get(key) is None  # no cache at all


def test_unprefix_keeps_only_the_prefixed_entries_without_the_prefix():
    assert scoring._unprefix({"vt.a": 1, "vt.b": 2, "frames": 3, "xvt.c": 4}, "vt.") == {"a": 1, "b": 2}


def test_a_score_equal_to_the_threshold_is_not_kept():
    scored = [(0, 0.5), (1, 0.2), (2, 0.2), (3, 0.1)]
    assert select(scored, threshold=0.2, max_clips=20, min_clips=1) == [0]  # "exceeds": 0.2 itself is out
    assert select(scored, threshold=0.2, max_clips=20, min_clips=2) == [0, 1]  # too few pass: the top 2 by rank
    # ties keep the earlier entry first; exactly min_clips passing is enough
    assert select([(0, 0.3), (1, 0.3), (2, 0.1)], threshold=0.2, max_clips=20, min_clips=2) == [0, 1]
    assert select([(0, 0.3), (1, 0.3), (2, 0.1)], threshold=0.2, max_clips=1, min_clips=1) == [0]
    # a group cap of 2 counts each group separately
    scored = [(i, 0.9 - 0.1 * i) for i in range(5)]
    assert select(scored, threshold=0.0, max_clips=20, min_clips=1, groups=["a", "a", "a", "b", "b"],
                  max_per_group=2) == [0, 1, 3, 4]
    assert select(scored, threshold=0.0, max_clips=20, min_clips=1, groups=["a"] * 5) == [0, 1, 2, 3, 4]


def test_the_gate_threshold_names_its_source_and_the_fix():
    from dreamrunner_cli.errors import UsageError

    value, source = scoring.gate_threshold(None, "ViT-L-14-quickgelu", "openai", "viclip:OpenGVLab/ViCLIP")
    assert value == 0.2 and source == "calibrated for ViT-L-14-quickgelu/openai + viclip"
    assert scoring.gate_threshold(0, "x", None, "viclip:OpenGVLab/ViCLIP") == (0.0, "retrieve.threshold")
    with pytest.raises(UsageError) as exc:
        scoring.gate_threshold(None, "ViT-B-32", "laion", "xclip:microsoft/xclip-base-patch32")
    assert "ViT-B-32/laion" in str(exc.value) and "xclip" in str(exc.value)
    assert "retrieve.threshold" in (exc.value.hint or "")


# schema.py --------------------------------------------------------------------------------------------------------

from dreamrunner_cli import schema  # noqa: E402
from dreamrunner_cli.errors import PlanInvalid  # noqa: E402


def _plan_dict(**over):
    data = {
        "title": "T", "story": "S",
        "characters": [{"id": "mia", "description": "a girl", "token": "[v1]"}],
        "motions": [{"id": "walk", "description": "walking"}, {"id": "run", "description": "running",
                                                              "query": "a person runs fast"}],
        "scenes": [{"id": "s1", "narration": "n1", "background": "a park", "characters": ["mia"], "motions": ["walk"],
                    "keyframes": [{"regions": [{"entity": "mia", "motion": "walk", "caption": "[v1] walking",
                                                "box": [0.1, 0.1, 0.5, 0.9]}]}]},
                   {"id": "s2", "narration": "n2", "background": "a road", "keyframes": [{}]}],
    }
    data.update(over)
    return data


def test_plan_lookups_find_by_id_and_name_what_is_missing():
    plan = schema.validate_plan(_plan_dict())
    assert plan.character("mia").description == "a girl" and plan.character("rex") is None
    assert plan.motion("run").id == "run" and plan.motion("walk").id == "walk" and plan.motion("jump") is None
    assert plan.scene("s2").narration == "n2"
    assert plan.scene_index("s1") == 0 and plan.scene_index("s2") == 1
    with pytest.raises(PlanInvalid) as exc:
        plan.scene("s9")
    assert "'s9'" in str(exc.value) and exc.value.hint == "scene ids: s1, s2"


def test_a_motions_retrieval_query_is_its_own_or_the_template():
    plan = schema.validate_plan(_plan_dict())
    assert plan.motion("walk").retrieval_query() == "person is walking"
    assert plan.motion("walk").retrieval_query("a {motion} dog") == "a walking dog"
    assert plan.motion("run").retrieval_query() == "a person runs fast"


def test_load_plan_names_the_file_in_every_refusal(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(PlanInvalid, match="nope.json not found"):
        schema.load_plan(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"scenes": [1,]}', encoding="utf-8")
    with pytest.raises(PlanInvalid) as exc:
        schema.load_plan(broken)
    assert str(exc.value).startswith(f"{broken} is not valid JSON: ") and "line 1, column" in str(exc.value)
    assert "trailing comma" in exc.value.hint
    invalid = tmp_path / "plán.json"  # a non-ASCII name and content: read as UTF-8 whatever the locale
    invalid.write_text(json.dumps(_plan_dict(title="Mías Weg", scenes=[])), encoding="utf-8")
    with pytest.raises(PlanInvalid) as exc:
        schema.load_plan(invalid)
    assert str(exc.value).startswith(f"{invalid} is not a valid plan (1 error)")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_plan_dict(title="Mías Weg"), ensure_ascii=False), encoding="utf-8")
    assert schema.load_plan(good).title == "Mías Weg"


def test_json_path_of_the_root_and_of_nested_fields():
    assert schema.json_path(()) == "(root)"
    assert schema.json_path(("scenes", 1, "keyframes", 0, "box")) == "scenes[1].keyframes[0].box"


def test_assemble_plan_keeps_the_outlines_title_and_story():
    data = _plan_dict()
    outline = schema.Outline.model_validate(
        {**{k: v for k, v in data.items()},
         "scenes": [{k: v for k, v in s.items() if k != "keyframes"} for s in data["scenes"]]})
    layouts = {s["id"]: [schema.Keyframe.model_validate(k) for k in s["keyframes"]] for s in data["scenes"]}
    plan = schema.assemble_plan(outline, layouts)
    assert (plan.title, plan.story) == ("T", "S")
    assert plan.scenes[0].keyframes[0].regions[0].box == (0.1, 0.1, 0.5, 0.9)


def test_visible_part_of_a_box_with_no_height_or_width_is_none():
    assert schema.visible_part((0.1, 0.5, 0.4, 0.5)) is None  # zero height
    assert schema.visible_part((0.5, 0.1, 0.5, 0.4)) is None  # zero width
    assert schema.visible_part((-0.5, 0.2, 0.5, 1.5)) == (0.0, 0.2, 0.5, 1.0)


def test_slug_lowercases_joins_with_dashes_and_falls_back_to_item():
    assert schema.slug("  Mia & Rex!  ") == "mia-rex"
    assert schema.slug("--Hello--") == "hello"
    assert schema.slug("!!!") == "item" and schema.slug("", "scene") == "scene"
    assert schema.slug("a" * 47 + " b") == "a" * 47  # cut to 48, then the trailing dash removed


def test_a_planner_output_that_is_not_a_valid_plan_says_so():
    data = _plan_dict()
    outline = schema.Outline.model_validate(
        {**data, "scenes": [{k: v for k, v in s.items() if k != "keyframes"} for s in data["scenes"]]})
    bad = {"s1": [schema.Keyframe.model_validate(
        {"regions": [{"entity": "ghost", "caption": "a ghost", "box": [0.1, 0.1, 0.5, 0.5]}]})], "s2": [schema.Keyframe()]}
    with pytest.raises(PlanInvalid) as exc:
        schema.assemble_plan(outline, bad)
    assert str(exc.value).startswith("the planner's output is not a valid plan (1 error)")
    assert "unknown entity 'ghost'" in exc.value.details[0]


def test_reference_errors_name_each_problem_with_its_json_path():
    data = _plan_dict(
        characters=[{"id": "mia", "description": "a girl", "token": "[v1]"},
                    {"id": "mia", "description": "a twin", "token": "[v1]"}],
        objects=[{"id": "rock"}, {"id": "rock"}, {"id": "mia"}],
        motions=[{"id": "walk", "description": "walking"}, {"id": "walk", "description": "strolling"},
                 {"id": "none", "description": "nothing"}],
    )
    data["scenes"].append(dict(data["scenes"][1]))  # a duplicate scene id
    data["scenes"][1] = {**data["scenes"][1], "characters": ["rex"], "motions": ["fly"], "keyframes": [
        {"regions": [{"entity": "ghost", "motion": "fly", "caption": "x", "box": [0.1, 0.1, 0.5, 0.5]}],
         "merged": [{"entity": "ufo", "caption": "y", "box": [0.1, 0.1, 0.5, 0.5]}]}]}
    with pytest.raises(PlanInvalid) as exc:
        schema.validate_plan(data)
    details = exc.value.details
    assert details[:6] == [
        "characters[1].id: duplicate id 'mia' (also characters[0])",
        "characters[1].token: duplicate token '[v1]' (also characters[0])",
        "objects[1].id: duplicate id 'rock' (also objects[0])",
        "motions[1].id: duplicate id 'walk' (also motions[0])",
        "scenes[2].id: duplicate id 's2' (also scenes[1])",
        "objects[2].id: 'mia' is also a character id",
    ]
    assert details[6] == "motions: the id 'none' is reserved for static entities"
    assert details[7] == "scenes[1].characters[0]: unknown character 'rex' (known: mia)"
    assert details[8] == "scenes[1].motions[0]: unknown motion 'fly' (known: none, walk)"
    assert details[9].startswith("scenes[1].keyframes[0].regions[0].entity: unknown entity 'ghost'; declare it")
    assert "(known: mia, rock)" in details[9]
    assert details[10].startswith("scenes[1].keyframes[0].regions[0].motion: unknown motion 'fly'; declare it")
    assert details[11].startswith("scenes[1].keyframes[0].merged[0].entity: unknown entity 'ufo'")
    assert len(details) == 12
    assert str(exc.value) == "plan.json is not a valid plan (12 errors)"
    assert "declared" in exc.value.hint
    # three occurrences of one id point back at the last one seen
    three = _plan_dict(motions=[{"id": "walk", "description": "a"}, {"id": "walk", "description": "b"},
                                {"id": "walk", "description": "c"}])
    with pytest.raises(PlanInvalid) as exc:
        schema.validate_plan(three)
    assert exc.value.details == ["motions[1].id: duplicate id 'walk' (also motions[0])",
                                 "motions[2].id: duplicate id 'walk' (also motions[1])"]


def test_a_plan_pydantic_refuses_lists_every_error_with_the_fix():
    with pytest.raises(PlanInvalid) as exc:
        schema.validate_plan({"scenes": []})
    assert str(exc.value) == "plan.json is not a valid plan (1 error)"
    assert exc.value.hint == "fix the fields listed (the schema: `dreamrunner schema plan`), then run the command again"
    assert exc.value.details[0].startswith("scenes: ")
    with pytest.raises(PlanInvalid) as exc:
        schema.validate_plan({"scenes": [], "title": 3}, source="my.json")
    assert str(exc.value) == "my.json is not a valid plan (2 errors)" and len(exc.value.details) == 2
    with pytest.raises(PlanInvalid) as exc:
        schema.validate_plan(_plan_dict(motions=[{"id": "walk", "description": "a"}] * 2))
    assert str(exc.value) == "plan.json is not a valid plan (1 error)"
    assert exc.value.hint == "every region's entity and motion must be declared; ids must be unique"


@pytest.mark.parametrize("box, ok", [
    ((0.2, 0.2, 0.2, 0.5), False), ((0.2, 0.3, 0.5, 0.3), False),  # zero width, zero height
    ((-2.0, -2.0, 0.5, 0.5), True), ((0.1, 0.1, 3.0, 3.0), True),  # exactly 2 frames past the edges
    ((-2.01, 0.1, 0.5, 0.5), False), ((0.1, -2.01, 0.5, 0.5), False),
    ((0.1, 0.1, 3.01, 0.5), False), ((0.1, 0.1, 0.5, 3.01), False),
    ((0.2, 1.2, 0.5, 1.5), True), ((1.2, 0.2, 1.5, 0.5), True),  # off-screen on one axis only
    ((-0.5, 0.2, -0.1, 0.5), True), ((0.2, -0.5, 0.5, -0.1), True),
    ((-0.5, -0.5, 0.0, 0.0), False), ((1.0, 1.0, 1.5, 1.5), False),  # touching the frame at a corner only
    ((-0.5, 1.0, 0.0, 1.5), False), ((1.0, -0.5, 1.5, 0.0), False),
    ((0.0, 0.0, 0.0, 0.0), True), ((float("nan"), 0.1, 0.5, 0.5), False), ((0.1, 0.1, float("inf"), 0.5), False),
])
def test_box_limits_are_exact(box, ok):
    assert (schema.box_problem(box) is None) is ok


# sr3ai/regions.py -------------------------------------------------------------------------------------------------

from dreamrunner_cli.sr3ai import regions as sr3ai_regions  # noqa: E402
from dreamrunner_cli.sr3ai.geometry_source import geometry_for  # noqa: E402
from dreamrunner_cli.schema import Keyframe, Region, Scene  # noqa: E402


def test_interpolation_position_of_each_latent_frame_is_exact():
    """Key frame k sits at the centre of its second: 48 frames, 6 key frames → u = l/2 - 1/4, clamped to [0, 5]."""
    g48 = geometry_for("THUDM/CogVideoX-2b", 480, 720, 48)
    assert [sr3ai_regions.keyframe_position(g48, 6, lat) for lat in range(12)] == pytest.approx(
        [0.0] + [lat / 2 - 0.25 for lat in range(1, 11)] + [5.0])
    g49 = geometry_for("THUDM/CogVideoX-2b", 480, 720, 49)
    assert sr3ai_regions.keyframe_position(g49, 6, 0) == 0.0
    assert sr3ai_regions.keyframe_position(g49, 6, 6) == pytest.approx((21 + 25) / 2 * 6 / 49 - 0.5)
    assert sr3ai_regions.keyframe_position(g49, 6, 12) == 5.0


def test_a_token_mask_holds_only_the_prompts_asked_for():
    box = Region(entity="a", caption="a", box=(0.0, 0.0, 0.5, 1.0))
    other = Region(entity="b", caption="b", box=(0.5, 0.0, 1.0, 1.0))
    sc = Scene(id="s01", narration="n", background="bg", keyframes=[Keyframe(regions=[box, other])] * 6)
    g = geometry_for("THUDM/CogVideoX-2b", 480, 720, 48)
    r = sr3ai_regions.scene_regions(sc, g)
    L = g.text_len
    m = r.token_mask_for_prompts([1])
    assert not m[:L].any() and m[L:2 * L].all() and not m[2 * L:3 * L].any()
    assert not sr3ai_regions.scene_regions(sc, g).token_mask_for_prompts([]).any()


def test_a_box_too_thin_for_one_token_is_reported_and_an_off_screen_one_is_not():
    g = geometry_for("THUDM/CogVideoX-2b", 480, 720, 48)  # 30 × 45 tokens per frame
    thin = Region(entity="a", caption="a", box=(0.2, 0.5, 0.5, 0.51))  # rows 15 → 15: no token
    below = Region(entity="b", caption="b", box=(0.2, 1.2, 0.5, 1.5))  # entirely below the frame
    touching = Region(entity="c", caption="c", box=(0.2, 1.0, 0.5, 1.5))  # starts at the bottom edge
    sc = Scene(id="s01", narration="n", background="bg", keyframes=[Keyframe(regions=[thin, below, touching])])
    assert sr3ai_regions.vanishing_regions(sc, g) == [
        "scene s01, key frame 1, entity a: box [0.2, 0.5, 0.5, 0.51] covers no token at 30×45 tokens per frame, so "
        "SR3AI ignores it (widen it to at least one token, 0.022 wide and 0.033 tall)"]


def _small_geometry():
    return geometry_for("THUDM/CogVideoX-2b", 160, 160, 9)  # 10 × 10 tokens, 3 latent frames


def test_at_most_61_distinct_captions_per_scene():
    def scene(n):
        regions = [Region(entity="a", caption=f"c{i}", box=(0.0, 0.0, 0.5, 0.5)) for i in range(n)]
        return Scene(id="s07", narration="n", background="bg", keyframes=[Keyframe(regions=regions)])

    assert sr3ai_regions.scene_regions(scene(61), _small_geometry()).num_prompts == 62  # 61 + the background
    with pytest.raises(PlanInvalid) as exc:
        sr3ai_regions.scene_regions(scene(62), _small_geometry())
    assert str(exc.value) == "scene s07 has 62 distinct captions; at most 61 are supported"
    assert exc.value.hint == "reuse captions across key frames"


def test_prompts_collect_entities_and_motions_and_merged_boxes_take_over_their_tokens():
    a = Region(entity="a", motion="walk", caption="a walks", box=(0.0, 0.0, 0.6, 1.0))
    a2 = Region(entity="a", motion="walk", caption="a walks", box=(0.0, 0.0, 0.6, 1.0))
    b = Region(entity="b", motion="none", caption="b stands", box=(0.4, 0.0, 1.0, 1.0))
    m = Region(entity="a", motion="wave", caption="a and b meet", box=(0.3, 0.0, 0.7, 1.0))
    sc = Scene(id="s03", narration="n", background="bg", keyframes=[Keyframe(regions=[a, b], merged=[m]),
                                                                    Keyframe(regions=[a2, b], merged=[m])])
    g = _small_geometry()
    plain = sr3ai_regions.scene_regions(sc, g)
    assert plain.scene_id == "s03"
    assert [(p.text, p.entities, p.motions, p.merged, p.background) for p in plain.prompts] == [
        ("a walks", ["a"], ["walk"], False, False), ("b stands", ["b"], [], False, False),
        ("bg", [], [], False, True)]
    # 'all': a covers columns 0-5, b 4-9; they overlap at 4-5; nothing is left for the background
    assert plain.membership[0, :, :, :6].all() and not plain.membership[0, :, :, 6:].any()
    assert plain.membership[1, :, :, 4:].all() and not plain.membership[2].any()

    merged = sr3ai_regions.scene_regions(sc, g, overlap="merged")
    assert [(p.text, p.merged) for p in merged.prompts] == [("a walks", False), ("b stands", False),
                                                            ("a and b meet", True), ("bg", False)]
    assert merged.prompts[2].motions == ["wave"]
    mem = merged.membership
    # inside the merged box (columns 3-6) only the merged caption; outside it a and b keep theirs
    assert mem[2, :, :, 3:7].all() and not mem[2, :, :, :3].any() and not mem[2, :, :, 7:].any()
    assert not mem[0, :, :, 3:].any() and mem[0, :, :, :3].all()
    assert not mem[1, :, :, :7].any() and mem[1, :, :, 7:].all()
    assert not mem[3].any()
