"""Fast in-process tests of the retrieve stage's decisions, manifest, records and messages (stages/retrieve.py).

Most tests stub the expensive parts (the index, the scorers, decoding and mp4 writing) with small fakes, so they take
milliseconds and pin exact values; one test runs the real path on the small demo database with tiny random scorers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from retrieval_fixtures import build_small_demo, write_plan

from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid, MissingUpstream, ModelUnavailable, UsageError
from dreamrunner_cli.progress import Reporter, reporter
from dreamrunner_cli.retrieval import media
from dreamrunner_cli.retrieval.index import IndexedClip
from dreamrunner_cli.retrieval.scoring import WindowScore
from dreamrunner_cli.retrieval.segment import Attributes, Window
from dreamrunner_cli.schema import Motion
from dreamrunner_cli.stages import retrieve as stage
from dreamrunner_cli.workspace import Records, Workspace

DB = Path("/db")


def tiny_cfg(*overrides: str):
    return resolve_config(preset="tiny", overrides=list(overrides))


def tiny_rc(*overrides: str):
    return tiny_cfg(*(f"retrieve.{o}" for o in overrides)).retrieve


def stderr_lines(capsys) -> list[str]:
    """The progress lines, with their timings replaced by T."""
    err = capsys.readouterr().err
    err = re.sub(r"\(\d+\.\d s(, ETA \d+\.\d s)?\)", "(T)", err)
    return [re.sub(r"… \d+\.\d s$", "… T", line) for line in err.splitlines()]


# Fakes --------------------------------------------------------------------------------------------------------------


def row(n: int, path: str, caption: str, **kw) -> IndexedClip:
    meta = {"start": None, "end": None, "duration": 2.0, "fps": 8.0, "frames": 16, "width": 64, "height": 48}
    meta.update(kw)
    return IndexedClip(row=n, video=DB / path, path=path, caption=caption, **meta)


class FakeIndex:
    def __init__(self, clips: list[IndexedClip], hits: list[tuple[int, float]] | None = None, fingerprint="fp-1"):
        self.clips = {c.row: c for c in clips}
        self.hits = hits if hits is not None else [(c.row, 10.0 - c.row) for c in clips]
        self.root = Path("/idx")
        self.n = 100
        self.fingerprint = fingerprint
        self.queries: list[tuple[str, int]] = []

    def search(self, query: str, k: int):
        self.queries.append((query, k))
        return self.hits[:k]

    def clip(self, i: int) -> IndexedClip:
        return self.clips[i]


class FakeScorer:
    """Scores by (video file name, window start) → (clip score, video-text score), or raises a MediaError."""

    def __init__(self, scores: dict):
        self.scores = scores
        self.clip = SimpleNamespace(model_id="clip-x")
        self.video_text = SimpleNamespace(model_id="vt-x")
        self.texts: list[str] = []
        self.calls: list[tuple[str, float, float, tuple | None]] = []

    def text_embeddings(self, text: str):
        self.texts.append(text)
        return ("emb", text)

    def score(self, video, window, text_emb):
        assert text_emb == ("emb", self.texts[-1])
        self.calls.append((Path(video).name, window.start, window.end, window.crop))
        v = self.scores[(Path(video).name, window.start)]
        if isinstance(v, Exception):
            raise v
        return WindowScore(v[0], v[1], False)


@pytest.fixture
def fake_media(monkeypatch):
    """probe / read_window / the mp4 writer replaced: reads are recorded; a file name in ``fail_probe`` or
    ``fail_read`` raises MediaError; probe answers from ``probes``; clips are written as small text files."""
    state = SimpleNamespace(probes={}, fail_probe=set(), fail_read=set(), reads=[], probed=[], written=[])

    def probe(path):
        state.probed.append(Path(path).name)
        if Path(path).name in state.fail_probe:
            raise media.MediaError("not a readable video")
        return state.probes[Path(path).name]

    def read_window(path, start, duration, fps, *, max_side=None, short_side=None, crop=None):
        state.reads.append((Path(path).name, start, duration, fps, max_side, crop))
        if Path(path).name in state.fail_read:
            raise media.MediaError("file changed")
        return np.zeros((int(round(duration * fps)), 24, 32, 3), np.uint8)

    def write_clip(path, frames, fps):
        state.written.append((Path(path).name, frames.shape, fps))
        Path(path).write_text(f"{frames.shape} {fps}")

    monkeypatch.setattr(media, "probe", probe)
    monkeypatch.setattr(media, "read_window", read_window)
    monkeypatch.setattr(stage, "_write_clip", write_clip)
    return state


DATABASE = {"db": "/db", "index": "/idx", "fingerprint": "fp-1", "rows": 100, "backend": "bm25s"}
WALK = Motion(id="walking", description="walking")


def mixed_index() -> FakeIndex:
    return FakeIndex([
        row(0, "a.mp4", "A man walking fast"),
        row(1, "b.mp4", "dog walking"),
        row(2, "c.mp4", "short walk", frames=4),
        row(3, "d.mp4", "broken walk", fps=None),
        row(4, "e.mp4", "walking, cannot decode"),
        row(5, "f.mp4", "tall walk", width=30, height=64),
    ], hits=[(0, 3.14159265), (1, 2.5), (2, 2.0), (3, 1.5), (4, 1.0), (5, 0.5)])


def mixed_scorer() -> FakeScorer:
    return FakeScorer({("a.mp4", 0.0): (0.31234567, 0.1234567), ("b.mp4", 0.0): (0.1, -0.3),
                       ("e.mp4", 0.0): media.MediaError("decode failed")})


# retrieve_motion: the manifest ---------------------------------------------------------------------------------------


def test_retrieve_motion_writes_the_whole_manifest(tmp_path, fake_media):
    fake_media.fail_probe.add("d.mp4")
    index, scorer = mixed_index(), mixed_scorer()
    out = tmp_path / "walking"
    (out / "clips").mkdir(parents=True)
    (out / "clips" / "old.mp4").write_text("stale")
    (out / ".tmp-clips").mkdir()
    (out / ".tmp-clips" / "half.mp4").write_text("half")
    m = stage.retrieve_motion(index, WALK, tiny_rc("min_clips=3"), scorer, out, DATABASE)
    assert index.queries == [("person is walking", 400)]
    assert scorer.texts == ["the person is walking"]
    assert scorer.calls == [("a.mp4", 0.0, 2.0, None), ("b.mp4", 0.0, 2.0, None), ("e.mp4", 0.0, 2.0, None)]
    assert fake_media.probed == ["d.mp4"]
    assert fake_media.reads == [("a.mp4", 0.0, 2.0, 8.0, 720, None), ("b.mp4", 0.0, 2.0, 8.0, 720, None)]
    assert fake_media.written == [("00-a-man-walking-fast.mp4", (16, 24, 32, 3), 8.0),
                                  ("01-dog-walking.mp4", (16, 24, 32, 3), 8.0)]
    assert m == {
        "schema_version": 1, "motion": "walking", "description": "walking", "query": "person is walking",
        "score_text": "the person is walking", "database": DATABASE,
        "models": {"clip": "clip-x", "video_text": "vt-x"},
        "params": {"bm25_top_k": 400, "min_duration_s": 1.0, "min_frames": 9, "min_aspect": 0.9,
                   "segmenter": "fixed", "window_s": 2.0, "max_windows": 1, "max_per_video": 1, "clip_fps": 8.0,
                   "clip_max_side": 720, "clip_frames": 8, "max_clips": 8, "min_clips": 3, "backend": "bm25s",
                   "threshold": 0.0, "threshold_source": "retrieve.threshold"},
        "counts": {"bm25_candidates": 6, "filtered_out": 2, "unreadable": 2, "windows_scored": 2,
                   "above_threshold": 1, "kept": 2},
        "kept": [
            {"file": "clips/00-a-man-walking-fast.mp4", "caption": "A man walking fast", "rank": 1, "row": 0,
             "source": "a.mp4", "start": 0.0, "end": 2.0, "frames": 16, "fps": 8.0, "width": 32, "height": 24,
             "clip_score": 0.312346, "video_text_score": 0.123457, "score": 0.217901, "above_threshold": True,
             "crop": None},
            {"file": "clips/01-dog-walking.mp4", "caption": "dog walking", "rank": 2, "row": 1, "source": "b.mp4",
             "start": 0.0, "end": 2.0, "frames": 16, "fps": 8.0, "width": 32, "height": 24, "clip_score": 0.1,
             "video_text_score": -0.3, "score": -0.1, "above_threshold": False, "crop": None},
        ],
        "candidates": [
            {"row": 0, "source": "a.mp4", "caption": "A man walking fast", "bm25": 3.141593, "status": "scored",
             "reason": None, "duration": 2.0, "frames": 16, "width": 64, "height": 48, "windows": 1},
            {"row": 1, "source": "b.mp4", "caption": "dog walking", "bm25": 2.5, "status": "scored",
             "reason": None, "duration": 2.0, "frames": 16, "width": 64, "height": 48, "windows": 1},
            {"row": 2, "source": "c.mp4", "caption": "short walk", "bm25": 2.0, "status": "filtered",
             "reason": "4 frames < 9", "duration": 2.0, "frames": 4, "width": 64, "height": 48, "windows": 0},
            {"row": 3, "source": "d.mp4", "caption": "broken walk", "bm25": 1.5, "status": "unreadable",
             "reason": "not a readable video", "duration": None, "frames": None, "width": None, "height": None,
             "windows": 0},
            {"row": 4, "source": "e.mp4", "caption": "walking, cannot decode", "bm25": 1.0, "status": "unreadable",
             "reason": "decode failed", "duration": 2.0, "frames": 16, "width": 64, "height": 48, "windows": 0},
            {"row": 5, "source": "f.mp4", "caption": "tall walk", "bm25": 0.5, "status": "filtered",
             "reason": "aspect 30x64 = 0.47 < 0.9", "duration": 2.0, "frames": 16, "width": 30, "height": 64,
             "windows": 0},
        ],
        "windows": [
            {"row": 0, "start": 0.0, "end": 2.0, "clip_score": 0.312346, "video_text_score": 0.123457,
             "score": 0.217901, "kept": True, "crop": None},
            {"row": 1, "start": 0.0, "end": 2.0, "clip_score": 0.1, "video_text_score": -0.3, "score": -0.1,
             "kept": True, "crop": None},
        ],
        "notes": ["only 2 clip(s) available (min_clips is 3); a larger database helps"],
    }
    # The manifest on disk is the one returned; the old clips and the leftover temporary folder are gone.
    assert json.loads((out / "manifest.json").read_text()) == m
    assert sorted(p.name for p in (out / "clips").iterdir()) == ["00-a-man-walking-fast.mp4", "01-dog-walking.mp4"]
    assert sorted(p.name for p in out.iterdir()) == ["clips", "manifest.json"]


def test_no_hits_writes_an_empty_manifest_and_scores_nothing(tmp_path, fake_media):
    scorer = FakeScorer({})
    m = stage.retrieve_motion(FakeIndex([], hits=[]), Motion(id="fly", description="flying high"),
                              tiny_rc("min_clips=1"), scorer, tmp_path / "fly", DATABASE)
    assert scorer.texts == [] and scorer.calls == []
    assert m["counts"] == {"bm25_candidates": 0, "filtered_out": 0, "unreadable": 0, "windows_scored": 0,
                           "above_threshold": 0, "kept": 0}
    assert m["notes"] == ["no caption matches the query 'person is flying high'; no clips",
                          "only 0 clip(s) available (min_clips is 1); a larger database helps"]
    assert m["kept"] == m["candidates"] == m["windows"] == []
    assert list((tmp_path / "fly" / "clips").iterdir()) == []


def test_templates_top_k_threshold_edge_and_max_clips(tmp_path, fake_media):
    index = FakeIndex([row(i, f"v{i}.mp4", f"walk {i}") for i in range(4)])
    scorer = FakeScorer({("v0.mp4", 0.0): (0.5, 0.0), ("v1.mp4", 0.0): (0.6, 0.0), ("v2.mp4", 0.0): (0.9, 0.1)})
    rc = tiny_rc("bm25_top_k=3", "threshold=0.25", "max_clips=2", "min_clips=1", "query_template=q {motion}",
                 "score_template=s {motion}", "clip_max_side=32", "clip_fps=4")
    m = stage.retrieve_motion(index, WALK, rc, scorer, tmp_path / "w", DATABASE)
    assert index.queries == [("q walking", 3)] and scorer.texts == ["s walking"]
    assert (m["query"], m["score_text"]) == ("q walking", "s walking")
    # 0.25 is not above a 0.25 threshold: two windows pass, both kept (max_clips 2), the best first.
    assert m["counts"]["above_threshold"] == 2 and m["notes"] == []
    assert [(k["row"], k["rank"], k["score"], k["above_threshold"]) for k in m["kept"]] == [
        (2, 1, 0.5, True), (1, 2, 0.3, True)]
    assert [w["kept"] for w in m["windows"]] == [False, True, True]
    assert [k["fps"] for k in m["kept"]] == [4.0, 4.0]
    assert fake_media.reads == [("v2.mp4", 0.0, 2.0, 4.0, 32, None), ("v1.mp4", 0.0, 2.0, 4.0, 32, None)]
    assert [w[2] for w in fake_media.written] == [4.0, 4.0]
    assert m["params"]["threshold"] == 0.25


def test_equal_scores_rank_by_position_and_one_clip_per_video(tmp_path, fake_media):
    # rows 0 and 1 are the same video: only its best window is kept (max_per_video 1); ties rank by order.
    index = FakeIndex([row(0, "same.mp4", "walk one"), row(1, "same.mp4", "walk two", start=0.0, end=2.0),
                       row(2, "other.mp4", "walk three")])
    scorer = FakeScorer({("same.mp4", 0.0): (0.2, 0.2), ("other.mp4", 0.0): (0.2, 0.2)})
    m = stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), scorer, tmp_path / "w", DATABASE)
    assert [(k["row"], k["rank"]) for k in m["kept"]] == [(0, 1), (2, 3)]
    assert [(w["row"], w["kept"]) for w in m["windows"]] == [(0, True), (1, False), (2, True)]
    m = stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1", "max_per_video=2"), scorer, tmp_path / "w",
                              DATABASE)
    assert [(k["row"], k["rank"]) for k in m["kept"]] == [(0, 1), (1, 2), (2, 3)]


def test_windows_of_one_video_and_a_decode_failure_drop_the_whole_video(tmp_path, fake_media):
    # Two windows per 5 s video: a failure on the second window of a.mp4 drops its first one too; a failure on the
    # first window of b.mp4 means its second window is never scored.
    index = FakeIndex([row(0, "a.mp4", "walk a", duration=5.0, frames=40), row(1, "b.mp4", "walk b", duration=5.0,
                                                                              frames=40),
                       row(2, "c.mp4", "walk c", duration=5.0, frames=40)])
    scorer = FakeScorer({("a.mp4", 0.0): (0.9, 0.9), ("a.mp4", 3.0): media.MediaError("bad tail"),
                         ("b.mp4", 0.0): media.MediaError("bad head"), ("b.mp4", 3.0): (0.9, 0.9),
                         ("c.mp4", 0.0): (0.3, 0.3), ("c.mp4", 3.0): (0.1, 0.1)})
    m = stage.retrieve_motion(index, WALK, tiny_rc("max_windows=2", "min_clips=1", "max_per_video=2"), scorer,
                              tmp_path / "w", DATABASE)
    assert [c[:2] for c in scorer.calls] == [("a.mp4", 0.0), ("a.mp4", 3.0), ("b.mp4", 0.0), ("c.mp4", 0.0),
                                             ("c.mp4", 3.0)]
    assert [(c["status"], c["reason"], c["windows"]) for c in m["candidates"]] == [
        ("unreadable", "bad tail", 1), ("unreadable", "bad head", 0), ("scored", None, 2)]
    assert [(w["row"], w["start"], w["end"], w["kept"]) for w in m["windows"]] == [(2, 0.0, 2.0, True),
                                                                                  (2, 3.0, 5.0, True)]
    assert m["counts"]["unreadable"] == 2 and m["counts"]["windows_scored"] == 2
    assert [(k["rank"], k["start"]) for k in m["kept"]] == [(1, 0.0), (2, 3.0)]


def test_a_kept_window_that_cannot_be_cut_is_noted(tmp_path, fake_media):
    fake_media.fail_read.add("a.mp4")
    index = FakeIndex([row(0, "a.mp4", "walk a"), row(1, "b.mp4", "walk b")])
    scorer = FakeScorer({("a.mp4", 0.0): (0.9, 0.9), ("b.mp4", 0.0): (0.5, 0.5)})
    m = stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), scorer, tmp_path / "w", DATABASE)
    assert m["notes"] == ["row 0: could not cut the kept window (file changed)"]
    assert [(k["file"], k["row"], k["rank"]) for k in m["kept"]] == [("clips/01-walk-b.mp4", 1, 2)]
    assert m["counts"]["kept"] == 1
    assert [w["kept"] for w in m["windows"]] == [True, True]


def test_clip_file_names(tmp_path, fake_media):
    long = "A person is walking in the park on a ab cd"  # slug[:40] ends with a dash
    index = FakeIndex([row(0, "a.mp4", long), row(1, "b.mp4", "!!!")])
    scorer = FakeScorer({("a.mp4", 0.0): (0.9, 0.9), ("b.mp4", 0.0): (0.5, 0.5)})
    m = stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), scorer, tmp_path / "w", DATABASE)
    assert [k["file"] for k in m["kept"]] == ["clips/00-a-person-is-walking-in-the-park-on-a-ab.mp4",
                                              "clips/01-clip.mp4"]


def test_person_segmenter_crops_filters_and_records_its_settings(tmp_path, fake_media, monkeypatch):
    calls = []

    class PersonSeg:
        detector = SimpleNamespace(model_id="det-x")

        def __call__(self, start, end, *, video=None, size=None):
            calls.append((start, end, Path(video).name, size))
            if video.name == "none.mp4":
                return []
            if video.name == "bad.mp4":
                raise media.MediaError("cannot decode for detection")
            return [Window(start, end, (1, 2, 30, 20))]

    monkeypatch.setitem(stage.SEGMENTERS, "person", lambda rc: PersonSeg())
    index = FakeIndex([row(0, "bad.mp4", "walk bad"), row(1, "none.mp4", "walk none"),
                       row(2, "p.mp4", "walk p", start=0.5, end=2.5)])
    scorer = FakeScorer({("p.mp4", 0.5): (0.5, 0.5)})
    lines = []
    rep = reporter(True, "retrieve")
    monkeypatch.setattr(rep, "_print", lines.append)
    m = stage.retrieve_motion(index, WALK, tiny_rc("segmenter=person", "min_clips=1"), scorer, tmp_path / "w",
                              DATABASE, rep=rep, label="motion 1/1 walking")
    assert calls == [(0.0, 2.0, "bad.mp4", (64, 48)), (0.0, 2.0, "none.mp4", (64, 48)), (0.5, 2.5, "p.mp4", (64, 48))]
    assert [(c["status"], c["reason"]) for c in m["candidates"]] == [
        ("unreadable", "cannot decode for detection"), ("filtered", "no person clearly visible (person segmenter)"),
        ("scored", None)]
    assert m["models"] == {"clip": "clip-x", "video_text": "vt-x", "person_detector": "det-x"}
    assert {k: m["params"][k] for k in stage.PERSON_KEYS} == {
        "detector": "hustvl/yolos-tiny", "detector_threshold": 0.5, "person_min_area": 0.05, "person_fps": 2.0,
        "person_crop_aspect": 1.5}
    assert m["kept"][0]["crop"] == [1, 2, 30, 20] and m["windows"][0]["crop"] == [1, 2, 30, 20]
    assert (m["kept"][0]["start"], m["kept"][0]["end"]) == (0.5, 2.5)
    assert scorer.calls == [("p.mp4", 0.5, 2.5, (1, 2, 30, 20))]
    assert fake_media.reads == [("p.mp4", 0.5, 2.0, 8.0, 720, (1, 2, 30, 20))]
    times = [re.sub(r"\(\d+\.\d s(, ETA \d+\.\d s)?\)|… \d+\.\d s$", "T", x) for x in lines]
    assert times == ["retrieve: motion 1/1 walking find persons 0/3 T",
                     "retrieve: motion 1/1 walking find persons 3/3 T",
                     "retrieve: motion 1/1 walking score windows 0/1 T",
                     "retrieve: motion 1/1 walking score windows 1/1 T",
                     "retrieve: motion 1/1 walking cut 1 clips T"]


def test_fixed_segmenter_progress_lines_default_label(tmp_path, fake_media, monkeypatch):
    lines = []
    rep = reporter(True, "retrieve")
    monkeypatch.setattr(rep, "_print", lines.append)
    index = FakeIndex([row(0, "a.mp4", "walk a", duration=2.61234), row(1, "b.mp4", "walk b", frames=2)])
    m = stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), FakeScorer({("a.mp4", 0.0): (0.5, 0.5)}),
                              tmp_path / "w", DATABASE, rep=rep)
    assert m["notes"] == [] and len(m["kept"]) == 1  # exactly min_clips: nothing to say
    assert m["candidates"][0]["duration"] == 2.612
    times = [re.sub(r"\(\d+\.\d s(, ETA \d+\.\d s)?\)|… \d+\.\d s$", "T", x) for x in lines]
    assert times == ["retrieve: walking score windows 0/1 T", "retrieve: walking score windows 1/1 T",
                     "retrieve: walking cut 1 clips T"]
    assert "params" in json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert "detector" not in json.loads((tmp_path / "w" / "manifest.json").read_text())["params"]


def test_no_reporter_means_no_progress(tmp_path, fake_media, capsys):
    index = FakeIndex([row(0, "a.mp4", "walk a")])
    stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), FakeScorer({("a.mp4", 0.0): (0.5, 0.5)}),
                          tmp_path / "w", DATABASE)
    assert capsys.readouterr().err == ""


def test_kept_at_the_threshold_is_not_above_it(tmp_path, fake_media):
    index = FakeIndex([row(0, "a.mp4", "walk a"), row(1, "b.mp4", "walk b")])
    scorer = FakeScorer({("a.mp4", 0.0): (0.5, 0.0), ("b.mp4", 0.0): (0.1, 0.0)})
    m = stage.retrieve_motion(index, WALK, tiny_rc("threshold=0.25", "min_clips=2"), scorer, tmp_path / "w",
                              DATABASE)
    assert [(k["score"], k["above_threshold"]) for k in m["kept"]] == [(0.25, False), (0.05, False)]
    assert m["counts"]["above_threshold"] == 0


def test_the_calibrated_gate_of_the_paper_models(tmp_path, fake_media):
    rc = tiny_rc("threshold=null", "clip_model=ViT-L-14-quickgelu", "clip_pretrained=openai",
                 "video_text_model=viclip:OpenGVLab/ViCLIP", "min_clips=1")
    m = stage.retrieve_motion(FakeIndex([]), WALK, rc, FakeScorer({}), tmp_path / "w", DATABASE)
    assert (m["params"]["threshold"], m["params"]["threshold_source"]) == (
        0.2, "calibrated for ViT-L-14-quickgelu/openai + viclip")


def test_a_crash_before_the_manifest_leaves_none(tmp_path, fake_media, monkeypatch):
    index = FakeIndex([row(0, "a.mp4", "walk a")])
    scorer = FakeScorer({("a.mp4", 0.0): (0.5, 0.5)})
    out = tmp_path / "w"
    stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), scorer, out, DATABASE)
    assert (out / "manifest.json").exists()

    def crash(path, data):
        raise OSError("disk full")

    monkeypatch.setattr(stage, "write_json_atomic", crash)
    with pytest.raises(OSError):
        stage.retrieve_motion(index, WALK, tiny_rc("min_clips=1"), scorer, out, DATABASE)
    assert not (out / "manifest.json").exists() and [p.name for p in (out / "clips").iterdir()] == ["00-walk-a.mp4"]


def test_a_motion_query_in_the_plan_wins(tmp_path, fake_media):
    index = FakeIndex([])
    m = stage.retrieve_motion(index, Motion(id="w", description="walking", query="my own query"), tiny_rc(),
                              FakeScorer({}), tmp_path / "w", DATABASE)
    assert index.queries == [("my own query", 400)] and m["score_text"] == "the person is walking"


# _attributes ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("meta", "probed", "expected"), [
    ({}, False, (0.0, 2.0, Attributes(2.0, 16, 64, 48))),
    ({"start": 1.0, "end": 3.5}, False, (1.0, 3.5, Attributes(2.5, 20, 64, 48))),  # frames from the span
    ({"start": 1.0, "duration": 3.0, "end": None}, False, (1.0, 3.0, Attributes(2.0, 16, 64, 48))),
    ({"start": 4.0, "duration": 3.0}, False, (4.0, 4.0, Attributes(0.0, 0, 64, 48))),
    ({"end": 1.5}, False, (0.0, 1.5, Attributes(1.5, 12, 64, 48))),
    ({"duration": 3.0, "frames": None}, False, (0.0, 3.0, Attributes(3.0, 24, 64, 48))),
    ({"start": 2.0, "end": 1.0}, False, (2.0, 1.0, Attributes(0.0, 0, 64, 48))),
    ({"duration": -1.0}, False, (0.0, -1.0, Attributes(0.0, 16, 64, 48))),
    ({"fps": None}, True, (0.0, 2.0, Attributes(2.0, 16, 64, 48))),
    ({"fps": None, "frames": None}, True, (0.0, 2.0, Attributes(2.0, 20, 64, 48))),  # the probed fps: 10
    ({"width": None}, True, (0.0, 2.0, Attributes(2.0, 16, 100, 48))),
    ({"height": None}, True, (0.0, 2.0, Attributes(2.0, 16, 64, 50))),
    ({"duration": None}, True, (0.0, 7.0, Attributes(7.0, 16, 64, 48))),
    ({"duration": None, "start": 1.5, "frames": 99}, True, (1.5, 7.0, Attributes(5.5, 44, 64, 48))),
])
def test_attributes_from_the_index_else_probed(fake_media, meta, probed, expected):
    fake_media.probes["v.mp4"] = media.Probe(fps=10.0, duration=7.0, width=100, height=50)
    assert stage._attributes(row(0, "v.mp4", "c", **meta), media) == expected
    assert fake_media.probed == (["v.mp4"] if probed else [])


def test_write_clip_writes_a_playable_mp4(tmp_path):
    from dreamrunner_cli.video import read_video

    frames = np.full((4, 16, 16, 3), 120, np.uint8)
    stage._write_clip(tmp_path / "c.mp4", frames, 4.0)
    back, fps = read_video(tmp_path / "c.mp4")
    assert back.shape == (4, 16, 16, 3) and fps == pytest.approx(4.0)


# Small helpers -------------------------------------------------------------------------------------------------------


def test_resolve_db_precedence_and_the_error(monkeypatch):
    rc = tiny_rc("db=null")
    with pytest.raises(MissingUpstream) as err:
        stage.resolve_db(None, rc)
    assert err.value.message == "no video database given for retrieval"
    assert err.value.hint == ("pass --db INDEX, set DREAMRUNNER_DB=INDEX or --set retrieve.db=INDEX; build an index "
                              "with `dreamrunner index build DB_DIR --captions FILE`, or make the demo one with "
                              "`dreamrunner index demo DEMO_DIR`")
    assert err.value.exit_code == 3
    assert stage.resolve_db(None, tiny_rc("db=/from/config")) == "/from/config"
    monkeypatch.setenv("DREAMRUNNER_DB", "/from/env")
    assert stage.resolve_db(None, tiny_rc("db=/from/config")) == "/from/env"
    assert stage.resolve_db(Path("/from/flag"), rc) == "/from/flag"
    assert stage.DB_ENV == "DREAMRUNNER_DB"


def test_motion_deps_leave_out_the_db_and_unused_person_keys():
    rc = tiny_rc("db=/somewhere")
    deps = stage.motion_deps(WALK, rc, "fp-9")
    conf = rc.model_dump(mode="json")
    for k in ("db",) + stage.PERSON_KEYS:
        conf.pop(k)
    assert deps == {"plan.motions[walking]": {"id": "walking", "description": "walking", "query": None},
                    "config.retrieve": conf, "database": "fp-9"}
    person = tiny_rc("segmenter=person")
    conf = person.model_dump(mode="json")
    conf.pop("db")
    assert stage.motion_deps(WALK, person, "fp-9")["config.retrieve"] == conf
    assert set(stage.PERSON_KEYS) <= set(conf)


def test_open_index_builds_the_demo_database_only_when_asked(monkeypatch, tmp_path):
    from dreamrunner_cli.retrieval import demo, index

    opened = []

    class VI:
        def __init__(self, path, backend="bm25s"):
            opened.append((Path(path), backend))

    monkeypatch.setattr(index, "VideoIndex", VI)
    monkeypatch.setattr(demo, "ensure_demo_index", lambda: tmp_path / "built")
    monkeypatch.setattr(demo, "demo_index_dir", lambda: tmp_path / "unbuilt")
    stage.open_index("demo", tiny_rc())
    stage.open_index("demo", tiny_rc("backend=rank_bm25"), build_demo=False)
    stage.open_index(str(tmp_path / "db"), tiny_rc())
    stage.open_index(str(tmp_path / "db2"), tiny_rc("backend=rank_bm25"))
    assert opened == [(tmp_path / "built", "bm25s"), (tmp_path / "unbuilt", "rank_bm25"), (tmp_path / "db", "bm25s"),
                      (tmp_path / "db2", "rank_bm25")]


def test_window_scorer_is_built_from_the_config(monkeypatch):
    from dreamrunner_cli import cache
    from dreamrunner_cli.models import scorers

    loaded = []
    monkeypatch.setattr(scorers, "load_clip_scorer", lambda *a: loaded.append(("clip", *a)) or SimpleNamespace())
    monkeypatch.setattr(scorers, "load_video_text_scorer",
                        lambda *a: loaded.append(("vt", *a)) or SimpleNamespace(image_size=99))
    monkeypatch.setattr(cache, "open_cache", lambda name: f"cache:{name}")
    rc = tiny_rc("clip_model=cm", "clip_pretrained=cp", "video_text_model=vm", "device=dev", "clip_frames=3",
                 "clip_fps=5")
    ws = stage._window_scorer(rc)
    assert loaded == [("clip", "cm", "cp", "dev"), ("vt", "vm", "dev")]
    assert (ws.clip_frames, ws.fps, ws.cache, ws.short_side) == (3, 5.0, "cache:embeddings", 224)


# run(): decisions, records, results, messages ------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path) -> Workspace:
    write_plan(tmp_path / "ws", {"walking": "walking", "waving": "waving"})
    return Workspace(tmp_path / "ws")


@pytest.fixture
def fake_stage(monkeypatch):
    """open_index, the scorer and retrieve_motion replaced: calls are recorded; retrieve_motion writes a small
    manifest and one clip file."""
    state = SimpleNamespace(opened=[], scorers=0, retrieved=[], reps=[], index=FakeIndex([], fingerprint="fp-A"),
                            open_error=None)

    def open_index(db, rc, *, build_demo=True):
        state.opened.append((db, build_demo))
        if state.open_error:
            raise state.open_error
        return state.index

    def window_scorer(rc):
        state.scorers += 1
        return SimpleNamespace(clip=SimpleNamespace(model_id="clip-m"), video_text=SimpleNamespace(model_id="vt-m"))

    def retrieve_motion(index, motion, rc, scorer, out_dir, database, rep=None, label=""):
        state.retrieved.append((motion.id, out_dir, database, label))
        state.reps.append(rep)
        assert index is state.index and scorer.clip.model_id == "clip-m"
        (out_dir / "clips").mkdir(parents=True, exist_ok=True)
        (out_dir / "clips" / "00-x.mp4").write_text(motion.id)
        manifest = {"counts": {"bm25_candidates": 7, "windows_scored": 5, "unreadable": 2},
                    "kept": [{}, {}, {}], "notes": [f"note about {motion.id}"]}
        (out_dir / "manifest.json").write_text(json.dumps(manifest))
        return manifest

    monkeypatch.setattr(stage, "open_index", open_index)
    monkeypatch.setattr(stage, "_window_scorer", window_scorer)
    monkeypatch.setattr(stage, "retrieve_motion", retrieve_motion)
    return state


def test_run_retrieves_each_motion_records_and_reports(ws, fake_stage, capsys):
    result = stage.run(ws, tiny_cfg(), db="/my/db")
    database = {"db": "/my/db", "index": "/idx", "fingerprint": "fp-A", "rows": 100, "backend": "bm25s"}
    assert fake_stage.opened == [("/my/db", True)] and fake_stage.scorers == 1
    assert len(fake_stage.reps) == 2 and all(isinstance(r, Reporter) and r.prefix == "retrieve: "
                                             for r in fake_stage.reps)
    assert fake_stage.retrieved == [("walking", ws.retrieval_dir / "walking", database, "motion 1/2 walking"),
                                    ("waving", ws.retrieval_dir / "waving", database, "motion 2/2 waving")]
    fps = {it["item"]: it.pop("fingerprint") for it in result["items"]}
    assert result == {
        "stage": "retrieve", "workspace": str(ws.root), "dry_run": False,
        "items": [{"stage": "retrieve", "item": "walking", "run": True, "reason": "never ran", "action": "ran"},
                  {"stage": "retrieve", "item": "waving", "run": True, "reason": "never ran", "action": "ran"}],
        "notes": ["walking: note about walking", "waving: note about waving"],
        "models": {"clip": "clip-m", "video_text": "vt-m"}, "database": database}
    records = Records.load(ws)
    rec = records.get("retrieve", "walking")
    assert rec["fingerprint"] == fps["walking"]
    assert (rec["clips"], rec["unreadable"]) == (3, 2)
    assert set(rec["outs"]) == {"retrieval/walking/manifest.json", "retrieval/walking/clips"}
    assert set(rec["deps"]) == {"plan.motions[walking]", "config.retrieve", "database"}
    run = ws.read_runs()[-1]
    assert (run["stage"], run["outcome"], run["database"], run["models"]) == (
        "retrieve", "ok", database, {"clip": "clip-m", "video_text": "vt-m"})
    assert stderr_lines(capsys) == [
        "retrieve: open index /my/db … T", "retrieve: load scorers tiny … T", "retrieve: motions 0/2 (T)",
        "retrieve walking: 7 candidates, 5 windows scored, 3 clips kept",
        "retrieve waving: 7 candidates, 5 windows scored, 3 clips kept", "retrieve: motions 2/2 (T)"]

    # Again: nothing runs, no scorer is loaded, the models named are the configured ones; the index is opened (its
    # fingerprint is a dependency).
    again = stage.run(ws, tiny_cfg(), db="/my/db")
    assert [(i["item"], i["run"], i["reason"], i["action"]) for i in again["items"]] == [
        ("walking", False, "up to date", "skipped"), ("waving", False, "up to date", "skipped")]
    assert fake_stage.scorers == 1 and len(fake_stage.retrieved) == 2 and len(fake_stage.opened) == 2
    assert again["models"] == {"clip": "tiny", "video_text": "tiny"} and again["notes"] == []
    assert stderr_lines(capsys) == ["retrieve: open index /my/db … T"]


def test_run_reruns_on_a_new_database_and_only_the_motions_asked(ws, fake_stage, capsys):
    stage.run(ws, tiny_cfg(), db="/my/db", progress=False)
    fake_stage.index.fingerprint = "fp-B"
    r = stage.run(ws, tiny_cfg("retrieve.clip_model=other"), db="/my/db", dry_run=True)
    assert [(i["item"], i["reason"], i["action"]) for i in r["items"]] == [
        ("walking", "config.retrieve.clip_model tiny → other, database changed", "would run"),
        ("waving", "config.retrieve.clip_model tiny → other, database changed", "would run")]
    assert r["models"] == {"clip": "other", "video_text": "tiny"} and r["dry_run"] is True
    assert fake_stage.opened[-1] == ("/my/db", False) and len(fake_stage.retrieved) == 2
    r = stage.run(ws, tiny_cfg(), db="/my/db", only=["waving"], progress=False)
    assert [(i["item"], i["action"]) for i in r["items"]] == [("waving", "ran")]
    assert fake_stage.retrieved[-1][3] == "motion 1/1 waving"
    assert stderr_lines(capsys) == []
    # --force re-runs what is up to date.
    r = stage.run(ws, tiny_cfg(), db="/my/db", only=["waving"], progress=False, force=True)
    assert [(i["reason"], i["action"]) for i in r["items"]] == [("forced (--force)", "ran")]


def test_run_refuses_an_unknown_motion(ws, fake_stage, tmp_path):
    with pytest.raises(UsageError) as err:
        stage.run(ws, tiny_cfg(), db="/my/db", only=["flying", "waving", "x"], progress=False)
    assert err.value.message == "no motion 'flying', 'x' in plan.json"
    assert err.value.hint == "motion ids: walking, waving"
    assert fake_stage.opened == []
    empty = Workspace(tmp_path / "empty")
    empty.root.mkdir()
    plan = json.loads(ws.plan.read_text())
    plan["motions"], plan["scenes"][0]["motions"] = [], []
    plan["scenes"][0]["keyframes"] = [{"regions": [{"entity": "teddy", "caption": "A [v1] teddy bear",
                                                    "box": [0.2, 0.0, 0.8, 1.0]}]}] * 6
    empty.plan.write_text(json.dumps(plan))
    with pytest.raises(UsageError) as err:
        stage.run(empty, tiny_cfg(), db="/my/db", only=["a"], progress=False)
    assert err.value.hint == "motion ids: (none)"
    r = stage.run(empty, tiny_cfg(), db="/my/db", progress=False)
    assert r["items"] == [] and r["notes"] == ["plan.json has no motions: nothing to retrieve"]
    assert fake_stage.opened == [] and fake_stage.scorers == 0
    assert r["database"] == {"db": "/my/db", "index": None, "fingerprint": "demo (not built yet)", "rows": None,
                             "backend": "bm25s"}


def test_run_without_plan_or_database(tmp_path, fake_stage):
    bare = Workspace(tmp_path / "bare")
    with pytest.raises(MissingUpstream, match="plan.json not found"):
        stage.run(bare, tiny_cfg(), db="/my/db", progress=False)
    write_plan(bare.root, {"walking": "walking"})
    with pytest.raises(MissingUpstream, match="no video database given"):
        stage.run(bare, tiny_cfg("retrieve.db=null"), progress=False)
    stage.run(bare, tiny_cfg(), progress=False, dry_run=True)
    assert fake_stage.opened == [("demo", False)]


def test_dry_run_over_an_unbuilt_demo_database(ws, fake_stage):
    fake_stage.open_error = InputInvalid("no video index at /cache/demo")
    r = stage.run(ws, tiny_cfg(), dry_run=True)
    assert [(i["item"], i["reason"], i["action"]) for i in r["items"]] == [("walking", "never ran", "would run"),
                                                                          ("waving", "never ran", "would run")]
    assert r["database"] == {"db": "demo", "index": None, "fingerprint": "demo (not built yet)", "rows": None,
                             "backend": "bm25s"}
    assert not ws.runs_log.exists() and not ws.records_file.exists()
    # Not a dry run, or not the demo database: the error stands.
    with pytest.raises(InputInvalid):
        stage.run(ws, tiny_cfg(), progress=False)
    with pytest.raises(InputInvalid):
        stage.run(ws, tiny_cfg(), db="/my/db", dry_run=True)


def test_scorers_load_only_after_the_gate_and_the_segmenter(ws, fake_stage, monkeypatch):
    with pytest.raises(UsageError, match="no calibrated retrieval threshold"):
        stage.run(ws, tiny_cfg("retrieve.threshold=null"), db="/my/db", progress=False)
    assert fake_stage.scorers == 0

    def no_detector(rc):
        raise ModelUnavailable("no detector")

    monkeypatch.setitem(stage.SEGMENTERS, "person", no_detector)
    with pytest.raises(ModelUnavailable):
        stage.run(ws, tiny_cfg("retrieve.segmenter=person"), db="/my/db", progress=False)
    assert fake_stage.scorers == 0


def test_run_checks_the_calibrated_gate_of_the_paper_models(ws, fake_stage):
    r = stage.run(ws, tiny_cfg("retrieve.threshold=null", "retrieve.clip_model=ViT-L-14-quickgelu",
                               "retrieve.clip_pretrained=openai", "retrieve.video_text_model=viclip:OpenGVLab/ViCLIP"),
                  db="/my/db", progress=False)
    assert [i["action"] for i in r["items"]] == ["ran", "ran"]


def test_load_scorers_phase_names_both_models(ws, fake_stage, capsys, monkeypatch):
    monkeypatch.setattr("dreamrunner_cli.retrieval.scoring.gate_threshold", lambda *a: (0.1, "x"))
    stage.run(ws, tiny_cfg("retrieve.video_text_model=vt2"), db="/my/db", only=["walking"])
    assert "retrieve: load scorers tiny, vt2 … T" in stderr_lines(capsys)


# The real thing, once: a small demo database, tiny random CLIP / ViCLIP --------------------------------------------


def test_real_retrieval_on_the_small_demo_database(tmp_path):
    from dreamrunner_cli.retrieval.manifest import load_manifest
    from dreamrunner_cli.video import read_video

    db = build_small_demo(tmp_path / "db")
    ws = Workspace(tmp_path / "ws")
    write_plan(ws.root, {"waving": "waving"})
    r = stage.run(ws, tiny_cfg("retrieve.max_clips=2", "retrieve.min_clips=1", "retrieve.threshold=-2"),
                  db=str(db), progress=False)
    assert [(i["item"], i["action"]) for i in r["items"]] == [("waving", "ran")]
    assert r["models"] == {"clip": "open_clip:tiny (random)", "video_text": "viclip:tiny (random)"}
    assert r["database"]["index"] == str(db / "index") and r["database"]["rows"] > 0
    m = load_manifest(ws.retrieval_dir / "waving" / "manifest.json")
    assert len(m.kept) == 2 and all("waving" in k.caption for k in m.kept)
    for k in m.kept:
        frames, fps = read_video(ws.retrieval_dir / "waving" / k.file)
        assert frames.shape == (16, 64, 64, 3) and fps == pytest.approx(8.0)
    assert Records.load(ws).get("retrieve", "waving")["clips"] == 2
