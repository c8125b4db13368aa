"""The retrieve stage end to end on a small demo database with tiny random CLIP / ViCLIP (CPU, offline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from retrieval_fixtures import build_small_demo, write_plan
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import MissingUpstream, UsageError
from dreamrunner_cli.retrieval import media
from dreamrunner_cli.retrieval.manifest import load_manifest
from dreamrunner_cli.stages import retrieve as stage
from dreamrunner_cli.video import probe_video, read_video
from dreamrunner_cli.workspace import Records, Workspace

runner = CliRunner()
MOTIONS = {"walking": "walking", "waving": "waving"}


def invoke(*args, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return build_small_demo(tmp_path_factory.mktemp("demo") / "db")


@pytest.fixture
def ws(tmp_path) -> Workspace:
    write_plan(tmp_path / "ws", MOTIONS)
    return Workspace(tmp_path / "ws")


def tiny_cfg(*overrides: str):
    return resolve_config(preset="tiny", overrides=list(overrides))


@pytest.fixture
def spies(monkeypatch):
    """Count the expensive calls (decoding a window, encoding images / videos) while still doing them."""
    from dreamrunner_cli.models.scorers import ClipScorer
    from dreamrunner_cli.models.viclip import ViCLIPScorer
    from dreamrunner_cli.retrieval import scoring

    calls = {"decode": 0, "images": 0, "video": 0}
    real_read, real_img, real_vid = media.read_window, ClipScorer.encode_images, ViCLIPScorer.video_features

    def read(*a, **k):
        calls["decode"] += 1
        return real_read(*a, **k)

    def img(self, *a, **k):
        calls["images"] += 1
        return real_img(self, *a, **k)

    def vid(self, *a, **k):
        calls["video"] += 1
        return real_vid(self, *a, **k)

    monkeypatch.setattr(scoring.media, "read_window", read)
    monkeypatch.setattr(ClipScorer, "encode_images", img)
    monkeypatch.setattr(ViCLIPScorer, "video_features", vid)
    return calls


def test_retrieve_writes_manifest_and_model_length_clips(ws, demo_db):
    result = stage.run(ws, tiny_cfg(), db=str(demo_db), progress=False)
    assert [(i["item"], i["action"]) for i in result["items"]] == [("walking", "ran"), ("waving", "ran")]
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert m.query == "person is walking" and m.score_text == "the person is walking"
    assert m.database["fingerprint"] and m.models["clip"] == "open_clip:tiny (random)"
    # Candidates: BM25 hits, the check rows are filtered / unreadable with a reason; the rest scored.
    by_source = {c.source: c for c in m.candidates}
    assert by_source["videos/x-short.mp4"].status == "filtered" and "frames" in by_source["videos/x-short.mp4"].reason
    assert by_source["videos/x-portrait.mp4"].status == "filtered"
    assert "aspect" in by_source["videos/x-portrait.mp4"].reason
    corrupt = by_source["videos/x-corrupt.mp4"]
    assert corrupt.status == "unreadable" and "not a readable video" in corrupt.reason
    assert m.counts.unreadable == 1 and m.counts.filtered_out == 2
    walking_rows = [c for c in m.candidates if "walking" in c.caption]
    assert len(walking_rows) >= 3 and m.candidates[0].bm25 >= m.candidates[-1].bm25
    # Kept: 4..8 clips (tiny preset: max 8, threshold 0), each a 2 s window at 8 fps saved as mp4 with its caption.
    assert 4 <= len(m.kept) <= 8 and m.counts.kept == len(m.kept)
    assert all("walking" in k.caption for k in m.kept)  # demo captions never say "person": BM25 finds the motion
    assert [k.rank for k in m.kept] == sorted(k.rank for k in m.kept)
    assert all(k.score == pytest.approx((k.clip_score + k.video_text_score) / 2, abs=1e-5) for k in m.kept)
    files = sorted((ws.retrieval_dir / "walking" / "clips").iterdir())
    assert [f"clips/{f.name}" for f in files] == sorted(k.file for k in m.kept)
    for k in m.kept:
        frames, fps = read_video(ws.retrieval_dir / "walking" / k.file)
        assert frames.shape == (16, 64, 64, 3) and fps == pytest.approx(8.0)
        assert (k.start, k.end, k.frames) == (0.0, 2.0, 16)
        assert k.caption in {c.caption for c in m.candidates if c.status == "scored"}
    kept_windows = [w for w in m.windows if w.kept]
    assert len(kept_windows) == len(m.kept)
    # Stage records: one item per motion with the database fingerprint among its deps.
    rec = Records.load(ws).get("retrieve", "walking")
    assert set(rec["deps"]) == {"plan.motions[walking]", "config.retrieve", "database"}
    assert ws.runs_log.exists()


def test_second_run_skips_and_cache_is_hit_across_workspaces(ws, demo_db, spies, tmp_path):
    stage.run(ws, tiny_cfg(), db=str(demo_db), progress=False)
    first = dict(spies)
    assert first["images"] > 0 and first["video"] > 0
    # Same workspace: nothing runs.
    again = stage.run(ws, tiny_cfg(), db=str(demo_db), progress=False)
    assert [i["action"] for i in again["items"]] == ["skipped", "skipped"]
    assert spies == first
    # Another story with the same motions: every embedding comes from the cache; only kept clips are decoded.
    other = Workspace(tmp_path / "other")
    write_plan(other.root, MOTIONS)
    stage.run(other, tiny_cfg(), db=str(demo_db), progress=False)
    assert spies["images"] == first["images"] and spies["video"] == first["video"]
    kept = sum(len(load_manifest(other.retrieval_dir / m / "manifest.json").kept) for m in MOTIONS)
    assert spies["decode"] == first["decode"] + kept
    a = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    b = load_manifest(other.retrieval_dir / "walking" / "manifest.json")
    assert [k.model_dump() for k in a.kept] == [k.model_dump() for k in b.kept]


def test_only_what_changed_reruns(ws, demo_db):
    stage.run(ws, tiny_cfg(), db=str(demo_db), progress=False)
    # A key of another section: nothing re-runs.
    r = stage.run(ws, tiny_cfg("render.steps=5"), db=str(demo_db), progress=False)
    assert all(i["action"] == "skipped" for i in r["items"])
    # A retrieve key: every motion re-runs and says why.
    r = stage.run(ws, tiny_cfg("retrieve.max_clips=5"), db=str(demo_db), dry_run=True, progress=False)
    assert {i["reason"] for i in r["items"]} == {"config.retrieve.max_clips 8 → 5"}
    # Editing one motion in plan.json re-runs only that motion.
    plan = json.loads(ws.plan.read_text())
    plan["motions"][1]["description"] = "waving hand"
    ws.plan.write_text(json.dumps(plan))
    r = stage.run(ws, tiny_cfg(), db=str(demo_db), progress=False)
    assert [(i["item"], i["action"], i["reason"]) for i in r["items"]] == [
        ("walking", "skipped", "up to date"), ("waving", "ran", "plan.motions[waving].description changed")]
    assert load_manifest(ws.retrieval_dir / "waving" / "manifest.json").query == "person is waving hand"
    # Moving the database (same content) does not re-run; a missing clips folder does.
    moved = ws.root.parent / "moved-db"
    shutil.copytree(demo_db, moved)
    shutil.rmtree(ws.retrieval_dir / "walking" / "clips")
    r = stage.run(ws, tiny_cfg(), db=str(moved), progress=False)
    assert [(i["item"], i["action"]) for i in r["items"]] == [("walking", "ran"), ("waving", "skipped")]


def test_threshold_and_min_max_rules_in_the_stage(ws, demo_db):
    # Nothing passes an impossible threshold: the best min_clips are kept anyway, flagged.
    stage.run(ws, tiny_cfg("retrieve.threshold=2.0", "retrieve.min_clips=3"), db=str(demo_db), only=["walking"],
              progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert len(m.kept) == 3 and not any(k.above_threshold for k in m.kept) and m.counts.above_threshold == 0
    assert [k.rank for k in m.kept] == [1, 2, 3]
    # Everything passes: at most max_clips, the best ones.
    stage.run(ws, tiny_cfg("retrieve.threshold=-2.0", "retrieve.max_clips=2", "retrieve.min_clips=1"),
              db=str(demo_db), only=["walking"], progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert m.counts.windows_scored >= 4 and len(m.kept) == 2 and all(k.above_threshold for k in m.kept)
    scores = sorted((w.score for w in m.windows), reverse=True)
    assert [k.score for k in m.kept] == pytest.approx(scores[:2])
    assert len(list((ws.retrieval_dir / "walking" / "clips").iterdir())) == 2  # old clips replaced


def test_attribute_filter_uses_probe_when_metadata_is_missing(ws, demo_db):
    stage.run(ws, tiny_cfg(), db=str(demo_db), only=["walking"], progress=False)
    # The dancing clip without metadata is not a walking candidate; query it through a custom motion query.
    plan = json.loads(ws.plan.read_text())
    plan["motions"][0]["query"] = "person dancing party"
    ws.plan.write_text(json.dumps(plan))
    stage.run(ws, tiny_cfg(), db=str(demo_db), only=["walking"], progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    nometa = next(c for c in m.candidates if c.source == "videos/x-nometa.mp4")
    info = probe_video(demo_db / "videos" / "x-nometa.mp4")
    assert nometa.status == "scored" and (nometa.width, nometa.height) == (info.width, info.height)
    assert nometa.frames == info.frames and nometa.duration == pytest.approx(info.duration)


def test_long_candidates_are_cut_into_windows(tmp_path):
    """A 7 s source video with a 2 s window and max 3 windows → 3 scored windows, kept clips are 2 s long, at most
    max_per_video of them per source video."""
    from dreamrunner_cli.retrieval.demo import render_clip
    from dreamrunner_cli.retrieval.index import build_index
    from dreamrunner_cli.video import write_video

    db = tmp_path / "db"
    (db / "v").mkdir(parents=True)
    rows = []
    for i in range(4):
        write_video(db / "v" / f"{i}.mp4", render_clip("walking", i, frames=56), 8)
        rows.append({"path": f"v/{i}.mp4", "caption": f"a person is walking {i}", "start": 0.5, "end": 7.0})
    rows.append({"path": "v/0.mp4", "caption": "a cat sleeping"})  # a non-matching row keeps idf positive
    rows.append({"path": "v/1.mp4", "caption": "a dog barking"})
    (db / "c.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_index(db, db / "c.jsonl")
    ws = Workspace(tmp_path / "ws")
    write_plan(ws.root, {"walking": "walking"})
    stage.run(ws, tiny_cfg("retrieve.max_windows=3", "retrieve.threshold=-2", "retrieve.max_clips=20"), db=str(db),
              progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert m.counts.windows_scored == 12 and m.params["max_per_video"] == 1
    assert sorted({(w.start, w.end) for w in m.windows}) == [(0.5, 2.5), (2.75, 4.75), (5.0, 7.0)]
    # At most one window per source video is kept (default max_per_video=1): no near-duplicates of one video.
    assert len(m.kept) == 4 and len({k.source for k in m.kept}) == 4
    stage.run(ws, tiny_cfg("retrieve.max_windows=3", "retrieve.threshold=-2", "retrieve.max_clips=20",
                           "retrieve.max_per_video=3"), db=str(db), progress=False)
    m = load_manifest(ws.retrieval_dir / "walking" / "manifest.json")
    assert len(m.kept) == 12
    frames, _ = read_video(ws.retrieval_dir / "walking" / m.kept[0].file)
    assert len(frames) == 16
    # The saved window starts where the manifest says: compare with the source decoded at that time.
    k = m.kept[0]
    src = media.read_window(db / k.source, k.start, 2.0, 8)
    assert np.abs(src.astype(int) - frames.astype(int)).mean() < 8


def test_db_resolution_and_errors(ws, demo_db, monkeypatch):
    rc = tiny_cfg("retrieve.db=null").retrieve
    with pytest.raises(MissingUpstream, match="no video database"):
        stage.resolve_db(None, rc)
    monkeypatch.setenv("DREAMRUNNER_DB", "/from/env")
    assert stage.resolve_db(None, rc) == "/from/env"
    assert stage.resolve_db("/from/flag", rc) == "/from/flag"
    monkeypatch.delenv("DREAMRUNNER_DB")
    assert stage.resolve_db(None, tiny_cfg().retrieve) == "demo"
    with pytest.raises(UsageError, match="no motion 'flying'"):
        stage.run(ws, tiny_cfg(), db=str(demo_db), only=["flying"], progress=False)


def test_cli_retrieve_json_env_db_and_errors(ws, demo_db, monkeypatch):
    invoke("retrieve", ws.root, "--db", demo_db / "nowhere", "--preset", "tiny", code=5)
    assert not ws.config.exists()  # a refused command saves no preset
    out = invoke("retrieve", ws.root, "--preset", "tiny", "--set", "retrieve.db=null", code=3).output
    assert "no video database" in out and "dreamrunner index build" in out
    monkeypatch.setenv("DREAMRUNNER_DB", str(demo_db))
    res = json.loads(invoke("retrieve", ws.root, "--preset", "tiny", "--motion", "waving", "--json").output)
    assert [(i["item"], i["action"]) for i in res["items"]] == [("waving", "ran")]
    assert res["database"]["index"] == str(demo_db / "index")
    assert not (ws.retrieval_dir / "walking").exists()
    out = invoke("retrieve", ws.root, "--dry-run").output
    assert "would run" in out and "walking" in out and "skipped" in out
    invoke("retrieve", ws.root, "--motion", "nope", code=2)


def test_cli_index_build_demo_info_search(tmp_path):
    demo = tmp_path / "demo"
    res = json.loads(invoke("index", "demo", demo, "--clips-per-motion", "1", "--json").output)
    assert "person" not in (demo / "captions.jsonl").read_text()
    assert res["rows"] >= 60 and (demo / "index" / "index.json").exists()
    hits = json.loads(invoke("index", "search", demo, "person is stretching arms", "-k", "3", "--json").output)
    assert "stretching arms" in hits["hits"][0]["caption"]
    same = json.loads(invoke("index", "search", demo, "person is stretching arms", "-k", "3", "--backend",
                             "rank_bm25", "--json").output)
    assert [h["row"] for h in same["hits"]] == [h["row"] for h in hits["hits"]]
    info = json.loads(invoke("index", "info", demo / "index", "--json").output)
    assert info["rows"] == res["rows"] and info["fingerprint"] == res["fingerprint"]
    # build from a CSV with an unreadable row: reported, exit 0.
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "c.csv").write_text("video,caption\na.mp4,a man walking\nb.mp4,\nc.mp4,a dog running\n"
                                           "d.mp4,a cat sleeping\n")
    out = invoke("index", "build", tmp_path / "db", "--captions", "c.csv").output
    assert "3 rows" in out and "1 unreadable" in out and "line 3" in out
    invoke("index", "build", tmp_path / "db", "--captions", "missing.csv", code=5)


def test_demo_database_covers_the_example_stories_motions(tmp_path):
    """For every motion the built-in planner produces for the example stories, the demo database's best BM25 hit
    names that motion's verb (the captions-only index: no videos needed for this check)."""
    from dreamrunner_cli.retrieval.demo import demo_rows
    from dreamrunner_cli.retrieval.index import VideoIndex, build_index
    from dreamrunner_cli.retrieval.text import tokenize

    root = Path(__file__).resolve().parents[1] / "examples" / "stories"
    if not (root / "teddy.txt").exists():
        pytest.skip("example stories not present")
    from dreamrunner_cli.config import PlanConfig
    from dreamrunner_cli.planning import get_planner
    from dreamrunner_cli.story import parse_story

    rows = demo_rows()
    (tmp_path / "c.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if not k.startswith("_")})
                                              + "\n" for r in rows))
    built = build_index(tmp_path, tmp_path / "c.jsonl")
    assert built["rows"] == len(rows)
    ix = VideoIndex(tmp_path)
    planner = get_planner(PlanConfig())
    misses = []
    for story_file in sorted(root.glob("*.txt")):
        for m in planner.outline(parse_story(story_file)).motions:
            verb = tokenize(m.description)[0]
            hits = ix.search(m.retrieval_query(), 4)
            if not hits or verb not in tokenize(ix.caption(hits[0][0])):
                misses.append(f"{story_file.name}: {m.description!r}")
    assert not misses, misses


def test_demo_db_in_cache_is_built_once_and_never_by_a_dry_run(ws, monkeypatch):
    """`retrieve.db: demo` (the tiny preset): a dry run reports without building; a real run builds it once."""
    from dreamrunner_cli.retrieval import demo

    builds = []
    real = demo.build_demo_database

    def small(out_dir, **kw):  # the same code path, fewer motions (fast)
        builds.append(out_dir)
        return real(out_dir, motions=("walking", "waving", "jumping"), clips_per_motion=3)

    monkeypatch.setattr(demo, "build_demo_database", small)
    monkeypatch.delenv("DREAMRUNNER_DEMO_DIR", raising=False)
    r = stage.run(ws, tiny_cfg(), dry_run=True, progress=False)
    assert r["database"]["fingerprint"] == "demo (not built yet)" and not builds
    assert [i["action"] for i in r["items"]] == ["would run", "would run"]
    assert not demo.demo_index_dir().exists()
    r = stage.run(ws, tiny_cfg(), only=["waving"], progress=False)
    assert len(builds) == 1 and r["database"]["index"] == str(demo.demo_index_dir())
    stage.run(ws, tiny_cfg(), only=["walking"], progress=False)
    assert len(builds) == 1
    assert load_manifest(ws.retrieval_dir / "walking" / "manifest.json").database["db"] == "demo"


def test_uncalibrated_gate_is_an_error_before_any_model_loads(ws, demo_db, monkeypatch):
    from dreamrunner_cli.models import scorers

    monkeypatch.setattr(scorers, "load_clip_scorer", lambda *a, **k: pytest.fail("a model was loaded"))
    with pytest.raises(UsageError, match="no calibrated retrieval threshold"):
        stage.run(ws, tiny_cfg("retrieve.threshold=null"), db=str(demo_db), progress=False)
