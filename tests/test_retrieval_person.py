"""Person-centred segmentation (retrieve.segmenter: person): the detector's checked loading (tiny random YOLOS saved
and reloaded through the real loader; mismatched checkpoints refused), spans / windows / crops computed exactly
from a stub detector on a synthetic video, and the retrieve stage end to end on the demo database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from retrieval_fixtures import build_small_demo, write_plan
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import ModelUnavailable
from dreamrunner_cli.models import detector as det
from dreamrunner_cli.models.detector import Detection, build_tiny_detector, load_person_detector
from dreamrunner_cli.retrieval import media
from dreamrunner_cli.retrieval.manifest import load_manifest
from dreamrunner_cli.retrieval.person import (PersonWindows, Span, crop_rect, person_spans, span_windows, track,
                                              union_box)
from dreamrunner_cli.retrieval.segment import FixedWindows, Window
from dreamrunner_cli.stages import retrieve as stage
from dreamrunner_cli.stages.retrieve import make_segmenter
from dreamrunner_cli.video import read_video, write_video
from dreamrunner_cli.workspace import Workspace

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_detectors():
    load_person_detector.cache_clear()
    yield
    load_person_detector.cache_clear()


# Synthetic video: a white "person" on black, present in two time ranges --------------------------------------------

W, H, FPS, SECONDS = 128, 96, 8, 10
BOX_A = (20, 20, 40, 80)  # x0, y0, x1, y1 (pixels; x1/y1 exclusive) while 0 ≤ t < 2.75 s
BOX_B = (96, 8, 124, 88)  # while 5.25 s ≤ t < 10 s (near the right edge: its crop must be clamped)


def synthetic_frames() -> np.ndarray:
    frames = np.zeros((SECONDS * FPS, H, W, 3), dtype=np.uint8)
    for i in range(len(frames)):
        t = i / FPS
        box = BOX_A if t < 2.75 else BOX_B if t >= 5.25 else None
        if box:
            x0, y0, x1, y1 = box
            frames[i, y0:y1, x0:x1] = 255
    return frames


class StubDetector:
    """Finds the white rectangle (score 0.9) and always adds two distractors that must be ignored: a big
    low-score box and a tiny high-score one. Boxes are fractions of the frame, as the real detector returns."""

    model_id = "stub"
    min_score = 0.0

    def __init__(self):
        self.calls = 0

    def detect(self, frames: np.ndarray) -> list[list[Detection]]:
        self.calls += 1
        out = []
        for f in frames:
            h, w = f.shape[:2]
            dets = [Detection(0.2, (0.0, 0.0, 0.9, 0.9)), Detection(0.95, (0.5, 0.5, 0.52, 0.52))]
            ys, xs = np.nonzero(f[..., 0] > 128)
            if len(xs):
                dets.append(Detection(0.9, (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)))
            out.append(dets)
        return out


@pytest.fixture(scope="module")
def person_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("person") / "person.mp4"
    write_video(path, synthetic_frames(), FPS)
    return path


def segmenter(**kw) -> PersonWindows:
    args = dict(detector=StubDetector(), window_s=2.0, max_windows=3, threshold=0.5, min_area=0.05, fps=2.0,
                aspect=1.5, min_span_s=1.0)
    return PersonWindows(**{**args, **kw})


def contains(crop, box, tol=1):
    x, y, w, h = crop
    return x <= box[0] + tol and y <= box[1] + tol and x + w >= box[2] - tol and y + h >= box[3] - tol


def test_person_segmenter_spans_windows_and_crops_on_a_synthetic_video(person_video):
    seg = segmenter()
    windows = seg(0.0, float(SECONDS), video=person_video, size=(W, H))
    # Samples at 2 fps: person A at 0.0–2.5 s, nobody at 3.0–5.0 s, person B at 5.5–9.5 s.
    assert [(s.start, s.end) for s in seg.last_spans] == [(0.0, 3.0), (5.5, 10.0)]
    # Three windows: the long span gets two (evenly spread), the short one one; the empty gap none.
    assert [(w.start, w.end) for w in windows] == [(0.0, 2.0), (5.5, 7.5), (8.0, 10.0)]
    a, b1, b2 = (w.crop for w in windows)
    # Person A: crop around the box plus margin, aspect 1.5 (even sizes), inside the frame.
    assert contains(a, BOX_A) and a == crop_rect((20 / W, 20 / H, 40 / W, 80 / H), W, H, aspect=1.5)
    assert a[2] % 2 == 0 and a[3] % 2 == 0 and abs(a[2] / a[3] - 1.5) < 0.05
    assert a[0] >= 0 and a[1] >= 0 and a[0] + a[2] <= W and a[1] + a[3] <= H
    assert a[2] < W  # really a crop, not the whole frame
    # Person B near the right edge: the crop is as wide as the frame, moved and clamped inside it, still 1.5.
    assert b1 == b2 and contains(b1, BOX_B)
    assert b1[0] == 0 and b1[2] == W and abs(b1[2] / b1[3] - 1.5) < 0.05 and b1[1] + b1[3] <= H

    # The crop reaches the pixels: the cropped window holds the whole person, centred.
    frames = media.read_window(person_video, 0.0, 2.0, 8, crop=a)
    assert frames.shape[1:3] == (a[3], a[2])
    ys, xs = np.nonzero(frames[0, ..., 0] > 128)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == pytest.approx(
        (BOX_A[0] - a[0], BOX_A[1] - a[1], BOX_A[2] - a[0], BOX_A[3] - a[1]), abs=1)


def test_person_segmenter_respects_max_windows_and_skips_videos_without_a_person(person_video, tmp_path):
    seg = segmenter(max_windows=1)
    assert [(w.start, w.end) for w in seg(0.0, float(SECONDS), video=person_video, size=(W, H))] == [(5.5, 7.5)]
    # Inside the gap (3–5 s) nobody is clearly visible: no window at all.
    assert segmenter()(3.0, 5.0, video=person_video, size=(W, H)) == []
    empty = tmp_path / "empty.mp4"
    write_video(empty, np.zeros((24, H, W, 3), dtype=np.uint8), FPS)
    assert segmenter()(0.0, 3.0, video=empty, size=(W, H)) == []
    # A threshold above the person's score, or a minimum area above its box, finds nobody either.
    assert segmenter(threshold=0.99)(0.0, float(SECONDS), video=person_video, size=(W, H)) == []
    assert segmenter(min_area=0.5)(0.0, float(SECONDS), video=person_video, size=(W, H)) == []


def test_person_segmenter_caches_detections_and_checks_the_video_size(person_video):
    from dreamrunner_cli.cache import open_cache

    cache = open_cache("embeddings")
    seg = segmenter(cache=cache)
    first = seg(0.0, float(SECONDS), video=person_video, size=(W, H))
    second = seg(0.0, float(SECONDS), video=person_video, size=(W, H))
    assert first == second and seg.detector.calls == 1
    with pytest.raises(media.MediaError, match="index says"):
        segmenter()(0.0, 2.0, video=person_video, size=(W, W * 2))


def test_track_follows_one_person_and_starts_a_new_span_when_another_one_appears():
    p = Detection(0.9, (0.1, 0.1, 0.4, 0.9))
    p_moved = Detection(0.9, (0.15, 0.1, 0.45, 0.9))
    q = Detection(0.9, (0.6, 0.1, 0.95, 0.9))
    small = Detection(0.99, (0.0, 0.0, 0.05, 0.05))
    samples = [[p], [p_moved, q], [q], [small], [q]]
    tracked = track(samples, threshold=0.5, min_area=0.05)
    # Sample 1 keeps following p (overlap) although q is larger; sample 2 has only q: a new track.
    assert tracked == [(0, p.box), (0, p_moved.box), (1, q.box), None, (2, q.box)]
    spans = person_spans(tracked, span_start=10.0, span_end=12.2, fps=2.0)
    assert [(s.start, s.end, len(s.boxes)) for s in spans] == [(10.0, 11.0, 2), (11.0, 11.5, 1), (12.0, 12.2, 1)]
    assert union_box(spans[0], 10.0, 11.0, 2.0) == (0.1, 0.1, 0.45, 0.9)
    assert union_box(spans[0], 10.5, 11.0, 2.0) == p_moved.box


def test_span_windows_spread_max_windows_over_spans_longest_first():
    long, short, tiny = Span(0.0, 7.0, (), ()), Span(10.0, 12.5, (), ()), Span(20.0, 20.5, (), ())
    got = span_windows([long, short, tiny], window_s=2.0, max_windows=2, min_span_s=1.0)
    assert [(w.start, w.end, s.start) for w, s in got] == [(0.0, 2.0, 0.0), (10.0, 12.0, 10.0)]
    got = span_windows([long, short, tiny], window_s=2.0, max_windows=10, min_span_s=1.0)
    assert [w.start for w, _ in got] == [0.0, 2.5, 5.0, 10.0]  # 3 fit in 7 s, 1 in 2.5 s; 0.5 s < min_span_s
    short_only = span_windows([Span(3.0, 4.5, (), ())], window_s=2.0, max_windows=1, min_span_s=1.0)
    assert [(w.start, w.end) for w, _ in short_only] == [(3.0, 4.5)]  # shorter than a window: kept whole


def test_crop_rect_contains_the_person_stays_in_the_frame_and_keeps_the_aspect():
    rng = np.random.default_rng(0)
    for _ in range(300):
        width, height = (int(v) * 2 for v in rng.integers(16, 500, size=2))
        aspect = float(rng.choice([1.0, 1.5, 16 / 9, 0.75]))
        x0, y0 = rng.uniform(0, 0.9, size=2)
        x1, y1 = x0 + rng.uniform(0.02, 1 - x0), y0 + rng.uniform(0.02, 1 - y0)
        x, y, w, h = crop_rect((x0, y0, x1, y1), width, height, aspect=aspect)
        px = (int(np.floor(x0 * width)), int(np.floor(y0 * height)), int(np.ceil(x1 * width)),
              int(np.ceil(y1 * height)))
        assert contains((x, y, w, h), px, tol=0), (width, height, aspect, (x0, y0, x1, y1))
        assert 0 <= x and 0 <= y and x + w <= width and y + h <= height
        assert w % 2 == 0 and h % 2 == 0
        # The aspect is exact (up to even rounding) unless the person forces a side to the frame's full size.
        if w < width and h < height:
            assert abs(w / h - aspect) <= 2.5 / min(w, h) * max(aspect, 1), (w, h, aspect)
    assert crop_rect((0.45, 0.0, 0.55, 1.0), 200, 400, aspect=1.5) == (0, 0, 200, 400)  # tall person, narrow frame


# The detector: checked loading -----------------------------------------------------------------------------------


def save_tiny(folder: Path, **kw) -> Path:
    model, processor = build_tiny_detector()
    model.save_pretrained(folder, **kw)
    processor.save_pretrained(folder)
    return folder


def test_tiny_detector_saved_and_loaded_through_the_real_loader_is_the_same_model(tmp_path):
    folder = save_tiny(tmp_path / "tiny-yolos")
    assert (folder / "model.safetensors").exists()
    loaded = load_person_detector(str(folder), "cpu")
    ref, processor = build_tiny_detector()
    assert loaded.model_id == str(folder) and loaded.person_id == 1
    assert type(loaded.model).__name__ == "YolosForObjectDetection"
    pixels = processor(images=[np.full((48, 64, 3), 100, dtype=np.uint8)], return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        a, b = loaded.model(pixel_values=pixels), ref(pixel_values=pixels)
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.pred_boxes, b.pred_boxes)
    for key, value in ref.state_dict().items():  # every weight came from the file
        torch.testing.assert_close(loaded.model.state_dict()[key], value)
    dets = loaded.detect(np.random.default_rng(0).integers(0, 255, (3, 48, 64, 3), dtype=np.uint8))
    assert len(dets) == 3 and dets[0]
    assert all(0 <= v <= 1 for d in dets[0] for v in d.box)
    assert load_person_detector("tiny", "cpu").model_id == "tiny (random)"


def test_a_tiny_rt_detr_loads_too_with_its_person_id_read_from_the_config(tmp_path):
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrImageProcessor, RTDetrResNetConfig

    backbone = RTDetrResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 16, 16], depths=[1, 1, 1, 1],
                                  layer_type="basic", out_features=["stage2", "stage3", "stage4"])
    labels = {0: "bicycle", 1: "car", 2: "Person"}  # not COCO's order: the id must come from id2label
    config = RTDetrConfig(backbone_config=backbone, encoder_hidden_dim=16, encoder_in_channels=[16, 16, 16],
                          d_model=16, encoder_ffn_dim=32, encoder_attention_heads=2, decoder_ffn_dim=32,
                          decoder_attention_heads=2, decoder_layers=1, encoder_layers=1, num_queries=10,
                          decoder_in_channels=[16, 16, 16], decoder_n_points=2, hidden_expansion=0.5,
                          num_denoising=0, anchor_image_size=None, id2label=labels,
                          label2id={v: k for k, v in labels.items()})
    folder = tmp_path / "tiny-rtdetr"
    torch.manual_seed(0)
    RTDetrForObjectDetection(config).save_pretrained(folder)
    RTDetrImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    loaded = load_person_detector(str(folder), "cpu")
    assert type(loaded.model).__name__ == "RTDetrForObjectDetection" and loaded.person_id == 2
    dets = loaded.detect(np.random.default_rng(0).integers(0, 255, (2, 48, 64, 3), dtype=np.uint8))
    assert len(dets) == 2 and all(0 <= v <= 1 for d in dets[0] for v in d.box)


def test_detector_missing_weights_are_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = save_tiny(tmp_path / "partial")
    state = load_file(folder / "model.safetensors")
    dropped = [k for k in state if "class_labels_classifier" in k]
    assert dropped
    save_file({k: v for k, v in state.items() if k not in dropped}, folder / "model.safetensors",
              metadata={"format": "pt"})
    with pytest.raises(ModelUnavailable, match="did not load fully") as exc:
        load_person_detector(str(folder), "cpu")
    assert exc.value.exit_code == 4 and any("class_labels_classifier" in d for d in exc.value.details)


def test_detector_of_another_shape_or_architecture_or_without_safetensors_is_refused(tmp_path):
    # Weights of another size: the config says hidden size 64, the file holds 32.
    folder = save_tiny(tmp_path / "shape")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "hidden_size": 64, "intermediate_size": 74}))
    with pytest.raises(ModelUnavailable, match="wrong shape|did not load fully"):
        load_person_detector(str(folder), "cpu")
    # Not a detector at all (a ViT image encoder).
    from transformers import ViTConfig, ViTModel

    vit = tmp_path / "vit"
    ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
                       image_size=32, patch_size=8)).save_pretrained(vit)
    with pytest.raises(ModelUnavailable, match="not a supported object detector"):
        load_person_detector(str(vit), "cpu")
    # Pickle weights only (pytorch_model.bin): never read.
    pickled = save_tiny(tmp_path / "pickled")
    from safetensors.torch import load_file

    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailable, match="cannot load person detector") as exc:
        load_person_detector(str(pickled), "cpu")
    assert "never a pickled" in exc.value.hint
    # No person class.
    nolabel = save_tiny(tmp_path / "nolabel")
    cfg = json.loads((nolabel / "config.json").read_text())
    cfg["id2label"] = {"0": "N/A", "1": "cat", "2": "dog"}
    cfg["label2id"] = {"N/A": 0, "cat": 1, "dog": 2}
    (nolabel / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelUnavailable, match="no 'person' class"):
        load_person_detector(str(nolabel), "cpu")
    # A missing folder / an unknown id offline.
    with pytest.raises(ModelUnavailable):
        load_person_detector(str(tmp_path / "nowhere"), "cpu")


def test_person_segmenter_is_chosen_by_config_and_loads_the_configured_detector(tmp_path):
    rc = resolve_config(preset="tiny", overrides=["retrieve.segmenter=person", "retrieve.detector=tiny"]).retrieve
    seg = make_segmenter(rc)
    assert isinstance(seg, PersonWindows) and seg.detector.model_id == "tiny (random)"
    assert (seg.window_s, seg.max_windows, seg.threshold, seg.min_area, seg.fps, seg.aspect) == (
        rc.window_s, rc.max_windows, 0.5, 0.05, 2.0, 1.5)
    assert make_segmenter(rc.model_copy(update={"segmenter": "fixed"})) == FixedWindows(rc.window_s, rc.max_windows)
    assert FixedWindows(2.0, 1)(0.0, 5.0, video=Path("x"), size=(4, 4)) == [Window(0.0, 2.0)]  # extra keywords


# The retrieve stage end to end --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return build_small_demo(tmp_path_factory.mktemp("demo") / "db")


def test_retrieve_with_the_person_segmenter_writes_cropped_clips(tmp_path, demo_db):
    write_plan(tmp_path / "ws", {"walking": "walking"})
    ws = Workspace(tmp_path / "ws")
    cfg = resolve_config(preset="tiny", overrides=["retrieve.segmenter=person", "retrieve.detector=tiny"])
    stage.run(ws, cfg, db=str(demo_db), progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert m.params["segmenter"] == "person" and m.params["detector"] == "tiny" and m.kept
    assert m.models["person_detector"] == "tiny (random)"
    # The tiny random detector puts its box on about the frame's centre quarter: every window is cropped to it.
    assert all(w.crop is not None for w in m.windows)
    for k in m.kept:
        assert k.crop is not None and contains(k.crop, (16, 16, 48, 48)), k.crop
        assert abs(k.crop[2] / k.crop[3] - 1.5) < 0.1 and k.crop[3] < 64, k.crop
        frames, _ = read_video(ws.retrieval_dir / "walking" / k.file)
        assert frames.shape[1:3] == (k.crop[3], k.crop[2]) == (k.height, k.width)
        assert k.width < 64  # cropped, not the whole 64×64 frame
    # A detector threshold nobody reaches: every candidate is skipped as "no person", no clip is kept.
    strict = resolve_config(preset="tiny", overrides=[
        "retrieve.segmenter=person", "retrieve.detector=tiny", "retrieve.detector_threshold=0.9"])
    stage.run(ws, strict, db=str(demo_db), progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert not m.kept and m.counts.windows_scored == 0
    assert any(c.reason and "no person" in c.reason for c in m.candidates)


def test_cli_refuses_a_broken_detector_with_exit_4(tmp_path, demo_db):
    from safetensors.torch import load_file, save_file

    folder = save_tiny(tmp_path / "broken")
    state = load_file(folder / "model.safetensors")
    save_file({k: v for k, v in state.items() if "bbox_predictor" not in k}, folder / "model.safetensors",
              metadata={"format": "pt"})
    write_plan(tmp_path / "ws", {"walking": "walking"})
    result = runner.invoke(app, ["retrieve", str(tmp_path / "ws"), "--db", str(demo_db), "--preset", "tiny",
                                 "--set", "retrieve.segmenter=person", "--set", f"retrieve.detector={folder}",
                                 "--quiet"], catch_exceptions=False)
    assert result.exit_code == 4, result.output
    assert "bbox_predictor" in result.output or "did not load fully" in result.output
    assert not (tmp_path / "ws" / "retrieval" / "walking" / "manifest.json").exists()


def test_person_keys_enter_the_fingerprint_only_with_the_person_segmenter():
    from dreamrunner_cli.schema import Motion

    motion = Motion(id="walking", description="walking")
    rc = resolve_config(preset="tiny").retrieve
    deps = stage.motion_deps(motion, rc, "fp")
    assert deps == stage.motion_deps(motion, rc.model_copy(update={"detector_threshold": 0.3}), "fp")
    person = rc.model_copy(update={"segmenter": "person"})
    assert stage.motion_deps(motion, person, "fp") != stage.motion_deps(
        motion, person.model_copy(update={"detector_threshold": 0.3}), "fp")


def test_detector_config_keys_are_documented():
    from dreamrunner_cli.config import RetrieveConfig

    fields = RetrieveConfig.model_fields
    for key in ("detector", "detector_threshold", "person_min_area", "person_fps", "person_crop_aspect"):
        assert fields[key].description
    assert fields["detector"].default == det.DEFAULT_DETECTOR
