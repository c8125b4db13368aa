"""The video index: caption parsing, streaming build, BM25 against rank_bm25, filter, windows, selection rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dreamrunner_cli.errors import InputInvalid, UsageError
from dreamrunner_cli.retrieval.captions import ReadStats, read_captions
from dreamrunner_cli.retrieval.index import VideoIndex, build_index, find_index, top_k
from dreamrunner_cli.retrieval.scoring import select
from dreamrunner_cli.retrieval.segment import Attributes, FixedWindows, Window, WholeSpan, filter_reason
from dreamrunner_cli.retrieval.text import tokenize

WORDS = ("person man woman child dog walking running waving jumping sitting park street beach happy slowly fast "
         "red blue hands arms stretching dancing reading book water").split()


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    caps = []
    for _ in range(n):
        k = int(rng.integers(2, 12))
        caps.append("a " + " ".join(rng.choice(WORDS, size=k)) + " in the park")
    caps[3] = "a person is walking walking walking"  # repeated terms: tf > 1
    caps[4] = "the of and"  # only stop words: a document with no tokens
    return caps


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("db")
    caps = corpus(300)
    write_jsonl(root / "caps.jsonl", [{"path": f"v{i}.mp4", "caption": c} for i, c in enumerate(caps)])
    build_index(root, root / "caps.jsonl", chunk_rows=37)  # many chunks: exercises the streaming merge
    return root / "index", caps


def test_tokenize_lowercases_and_drops_stop_words():
    assert tokenize("A Man IS walking, then running. x") == ["man", "walking", "running"]
    assert tokenize("A Man IS walking, then running. x", "english") == ["man", "walk", "run"]


def lucene_oracle(docs: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """Lucene BM25 written out plainly from its definition, one document at a time (the reference formula)."""
    import math

    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    out = np.zeros(n)
    for i, d in enumerate(docs):
        for t in query:
            if t in df:
                tf = d.count(t)
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                out[i] += idf * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
    return out


@pytest.mark.parametrize("query", ["person is walking", "dog running fast", "stretching arms", "walking walking",
                                   "unknownword", "park"])
def test_bm25s_scores_equal_the_lucene_oracles(small_index, query):
    """Two independent oracles: the formula written out above, and bm25s's own in-memory Lucene BM25 over the same
    tokens (stemmed, the index's default). Every document's score agrees, and so does the ranking."""
    import bm25s

    index, caps = small_index
    docs = [tokenize(c, "english") for c in caps]
    expected = lucene_oracle(docs, tokenize(query, "english"))
    ix = VideoIndex(index)
    assert ix.stemmer == "english"
    got = ix.scores(query)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    ref = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    ref.index(docs, show_progress=False)
    q = [t for t in tokenize(query, "english") if t in ref.vocab_dict]
    if q:
        np.testing.assert_allclose(got, ref.get_scores(q), rtol=1e-5, atol=1e-6)
    # Same ranking: the top 50 by the oracle (ties broken by row) equal ours.
    assert [r for r, _ in ix.search(query, 50)] == [r for r, _ in top_k(np.asarray(expected), 50)]
    # The in-memory backend agrees too.
    rb = VideoIndex(index, backend="rank_bm25")
    np.testing.assert_allclose(rb.scores(query), expected, rtol=1e-9)


def test_lucene_idf_is_monotone_so_a_common_word_never_outweighs_a_rarer_one(tmp_path):
    """Issue 12: with Okapi's floored idf, "person" (in most captions) weighed more than "man", and "A person is
    cooking" outranked "A man is walking" for "person is walking"."""
    # "person" in 71% of the captions, "walking" in 31%, plus rare words (as in real caption sets).
    caps = (["A person is cooking", "A man is walking"] + [f"A person is walking by the thing{i}" for i in range(30)]
            + [f"A person is playing with item{i}" for i in range(40)]
            + [f"A dog is running past object{i}" for i in range(30)])
    write_jsonl(tmp_path / "c.jsonl", [{"path": f"v{i}.mp4", "caption": c} for i, c in enumerate(caps)])
    build_index(tmp_path, tmp_path / "c.jsonl", stemmer=None)
    ix = VideoIndex(tmp_path)
    s = ix.scores("person is walking")
    assert s[1] > s[0] > 0  # "a man is walking" beats "a person is cooking" (Okapi: 0.99 < 1.21)
    assert 1 in [r for r, _ in ix.search("person is walking", 31)] and 0 not in [
        r for r, _ in ix.search("person is walking", 31)]
    from dreamrunner_cli.retrieval.index import lucene_idf

    idf = lucene_idf(np.arange(0, 11), 10)
    assert np.all(np.diff(idf) < 0) and np.all(idf > 0)


def test_stemming_finds_every_inflection_and_is_stored_in_the_index(tmp_path):
    caps = ["a woman waves her hand", "a man is waving hands", "a boy waved at the camera", "a man is walking"]
    write_jsonl(tmp_path / "c.jsonl", [{"path": f"v{i}.mp4", "caption": c} for i, c in enumerate(caps)])
    build_index(tmp_path, tmp_path / "c.jsonl", tmp_path / "stem")
    build_index(tmp_path, tmp_path / "c.jsonl", tmp_path / "plain", stemmer="none")
    stem, plain = VideoIndex(tmp_path / "stem"), VideoIndex(tmp_path / "plain")
    assert {r for r, _ in stem.search("person is waving hand", 10)} == {0, 1, 2}
    assert {r for r, _ in plain.search("person is waving hand", 10)} == {0, 1}  # "waves"/"waved" missed
    assert stem.fingerprint != plain.fingerprint
    info = json.loads((tmp_path / "stem" / "index.json").read_text())
    assert info["stemmer"] == "english" and info["format_version"] == 2
    assert info["bm25"]["scoring"] == "lucene" and "epsilon" not in info["bm25"]
    params = json.loads((tmp_path / "stem" / "bm25" / "params.index.json").read_text())
    assert params["method"] == "lucene" and params["idf_method"] == "lucene"  # never "robertson"
    assert stem.summary()["stemmer"] == "english" and plain.summary()["stemmer"] == "none"


def test_an_index_of_the_old_format_must_be_rebuilt(tmp_path, small_index):
    import shutil

    shutil.copytree(small_index[0], tmp_path / "old")
    info = json.loads((tmp_path / "old" / "index.json").read_text())
    info["format_version"] = 1
    (tmp_path / "old" / "index.json").write_text(json.dumps(info))
    with pytest.raises(InputInvalid, match="version-2"):
        VideoIndex(tmp_path / "old")


def _damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage, not an npy file" * 4)


def _damage_shape(path: Path) -> None:
    arr = np.load(path)
    np.save(path, arr[:-1])  # a valid .npy, one row short


def _damage_dtype(path: Path) -> None:
    np.save(path, np.zeros(np.load(path).shape, dtype=np.float64))


@pytest.mark.parametrize("rel, damage", [
    ("meta/captions.bin", _damage_truncate),  # used to be read silently: wrong captions, then empty ones
    ("meta/paths.bin", _damage_truncate),  # used to be read silently: wrong or empty video paths
    ("meta/rows.npy", _damage_shape),
    ("meta/rows.npy", _damage_truncate),
    ("meta/rows.npy", _damage_dtype),
    ("meta/paths.offsets.npy", _damage_shape),
    ("bm25/data.csc.index.npy", _damage_garbage),
    ("bm25/indices.csc.index.npy", _damage_truncate),
    ("bm25/indptr.csc.index.npy", _damage_shape),
    ("bm25/data.csc.index.npy", lambda p: p.unlink()),
])
def test_a_damaged_index_is_refused_on_opening_naming_the_file_and_the_rebuild(tmp_path, small_index, rel, damage):
    import shutil

    idx = tmp_path / "db" / "index"
    shutil.copytree(small_index[0], idx)
    damage(idx / rel)
    with pytest.raises(InputInvalid) as exc:
        VideoIndex(idx).search("walking", 5)
    assert rel in exc.value.message and "damaged" in exc.value.message
    assert "dreamrunner index build" in exc.value.hint and "--captions" in exc.value.hint


def test_an_intact_index_opens_and_damage_to_unused_files_is_caught_by_bm25s_load(tmp_path, small_index):
    import shutil

    shutil.copytree(small_index[0], tmp_path / "ix")
    assert VideoIndex(tmp_path / "ix").search("walking", 3)  # the checks accept an intact index
    (tmp_path / "ix" / "bm25" / "vocab.index.json").write_text("{ broken")
    with pytest.raises(InputInvalid, match="bm25 cannot be loaded"):
        VideoIndex(tmp_path / "ix").search("walking", 3)


def test_chunk_size_does_not_change_the_index(tmp_path, small_index):
    _, caps = small_index
    write_jsonl(tmp_path / "c.jsonl", [{"path": f"v{i}.mp4", "caption": c} for i, c in enumerate(caps)])
    build_index(tmp_path, tmp_path / "c.jsonl", tmp_path / "a", chunk_rows=5)
    build_index(tmp_path, tmp_path / "c.jsonl", tmp_path / "b", chunk_rows=100_000)
    for name in ("data", "indices", "indptr"):
        a = np.load(tmp_path / "a" / "bm25" / f"{name}.csc.index.npy")
        b = np.load(tmp_path / "b" / "bm25" / f"{name}.csc.index.npy")
        np.testing.assert_array_equal(a, b)
    # Postings of each token are sorted by document (a valid CSC matrix for bm25s).
    indptr = np.load(tmp_path / "a" / "bm25" / "indptr.csc.index.npy")
    indices = np.load(tmp_path / "a" / "bm25" / "indices.csc.index.npy")
    for t in range(len(indptr) - 1):
        assert np.all(np.diff(indices[indptr[t]:indptr[t + 1]]) > 0)
    assert VideoIndex(tmp_path / "a").fingerprint == VideoIndex(tmp_path / "b").fingerprint


def test_index_is_memory_mapped_bm25s(small_index):
    ix = VideoIndex(small_index[0])
    ix.search("walking", 5)
    data = ix._bm25s().scores["data"]
    assert isinstance(data, np.memmap) or isinstance(getattr(data, "base", None), np.memmap)


def test_metadata_table_and_columns(tmp_path):
    rows = [
        {"video": "a.mp4", "text": "a man walking", "start": "0:00:01.500", "end": "00:04", "fps": "30000/1001",
         "resolution": "1280x720"},
        {"path": "/abs/b.mp4", "caption": "dog running", "duration": "PT00H00M11S", "frames": 330, "width": 640,
         "height": 480},
        {"path": "c", "caption": "no extension", "timestamp": [" 2.0", "5"]},
    ]
    write_jsonl(tmp_path / "c.jsonl", rows)
    build_index(tmp_path, tmp_path / "c.jsonl")
    ix = VideoIndex(tmp_path)  # the db folder holding index/ works too
    a, b, c = ix.clip(0), ix.clip(1), ix.clip(2)
    assert (a.video, a.start, a.end, a.width, a.height) == (tmp_path / "a.mp4", 1.5, 4.0, 1280, 720)
    assert a.fps == pytest.approx(29.97, abs=1e-2) and a.duration is None
    assert (b.video, b.duration, b.frames, b.start) == (Path("/abs/b.mp4"), 11.0, 330, None)
    assert (c.path, c.start, c.end) == ("c.mp4", 2.0, 5.0)


def test_panda70m_csv_lists_expand_and_bad_rows_are_counted(tmp_path):
    csv_text = (
        "videoID,url,timestamp,caption,matching_score\n"
        "vid1,u,\"[['0:00:00.000', '0:00:03.000'], ['0:00:03.000', '0:00:09.500']]\","
        "\"['a man is walking', 'a man is waving']\",\"[0.4, 0.5]\"\n"
        "vid2,u,\"[['0:00:01.000', '0:00:00.500']]\",\"['end before start']\",\"[0.1]\"\n"
        "vid3,u,\"[['0:00:00', '0:00:02']]\",\"['one', 'two']\",\"[0.1]\"\n"
        "vid4,u,too,few\n"
        "vid5,u,\"[['0:00:00', '0:00:02']]\",\"['a child is jumping']\",\"[0.3]\"\n"
    )
    (tmp_path / "panda.csv").write_text(csv_text, encoding="utf-8")
    stats = ReadStats()
    rows = list(read_captions(tmp_path / "panda.csv", stats))
    assert [(r.path, r.caption, r.start, r.end) for r in rows] == [
        ("vid1.mp4", "a man is walking", 0.0, 3.0), ("vid1.mp4", "a man is waving", 3.0, 9.5),
        ("vid5.mp4", "a child is jumping", 0.0, 2.0)]
    assert stats.unreadable == 3 and stats.expanded == 1
    assert any("line 3" in e and "end" in e for e in stats.examples)
    assert any("line 5" in e and "cells" in e for e in stats.examples)
    assert len(stats.sha256) == 64


def test_unreadable_rows_are_counted_not_fatal(tmp_path):
    (tmp_path / "c.jsonl").write_text(
        '{"path": "a.mp4", "caption": "a person is walking"}\n'
        "not json\n"
        '["a list"]\n'
        '{"path": "b.mp4"}\n'
        '{"path": "", "caption": "x"}\n'
        '{"path": "c.mp4", "caption": "ok", "fps": "fast"}\n'
        "\n"
        '{"path": "d.mp4", "caption": "a dog is running"}\n'
        '{"path": "e.mp4", "caption": "a cat is sleeping"}\n', encoding="utf-8")
    r = build_index(tmp_path, tmp_path / "c.jsonl")
    assert r["rows"] == 3 and r["unreadable"] == 5
    assert [e.split(":")[0] for e in r["unreadable_examples"]] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert VideoIndex(tmp_path).search("person walking", 5)[0][0] == 0


def test_check_files_counts_missing_videos(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    write_jsonl(tmp_path / "c.jsonl", [{"path": "a.mp4", "caption": "walking"}, {"path": "b.mp4", "caption": "x"}])
    r = build_index(tmp_path, tmp_path / "c.jsonl", check_files=True)
    assert (r["rows"], r["unreadable"]) == (1, 1)
    assert "not found" in r["unreadable_examples"][0]


def test_bad_inputs_raise_domain_errors(tmp_path):
    write_jsonl(tmp_path / "bad.jsonl", [{"path": "a.mp4"}])
    with pytest.raises(InputInvalid, match="no readable rows"):
        build_index(tmp_path, tmp_path / "bad.jsonl")
    (tmp_path / "x.csv").write_text("file_url,words\nu,w\n", encoding="utf-8")
    with pytest.raises(InputInvalid, match="no path or caption column"):
        build_index(tmp_path, tmp_path / "x.csv")
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(InputInvalid, match="unknown caption file type"):
        build_index(tmp_path, tmp_path / "x.xlsx")
    with pytest.raises(InputInvalid, match="no video index"):
        find_index(tmp_path / "nowhere")
    assert not any(p.name.startswith(".tmp-index") for p in tmp_path.iterdir())  # failed builds leave nothing


def test_explicit_columns_and_rebuild_replaces(tmp_path):
    (tmp_path / "x.csv").write_text("file_url,words\nu1,a man walking\nu2,a dog running\n", encoding="utf-8")
    r1 = build_index(tmp_path, tmp_path / "x.csv", path_column="file_url", caption_column="words")
    assert r1["rows"] == 2 and VideoIndex(tmp_path).path(1) == "u2.mp4"
    (tmp_path / "x.csv").write_text("file_url,words\nu1,a man walking\n", encoding="utf-8")
    r2 = build_index(tmp_path, tmp_path / "x.csv", path_column="file_url", caption_column="words")
    assert r2["rows"] == 1 and r2["fingerprint"] != r1["fingerprint"]
    assert VideoIndex(tmp_path).n == 1


def test_rank_bm25_backend_refuses_huge_and_unknown_backend(small_index, monkeypatch):
    import dreamrunner_cli.retrieval.index as index_mod

    monkeypatch.setattr(index_mod, "RANK_BM25_MAX_ROWS", 10)
    with pytest.raises(UsageError, match="rank_bm25"):
        VideoIndex(small_index[0], backend="rank_bm25").search("walking", 3)
    with pytest.raises(UsageError, match="unknown BM25 backend"):
        VideoIndex(small_index[0], backend="bm26")


def test_top_k_on_large_arrays_equals_a_full_sort():
    """The sampled-threshold shortcut is exact: same rows as sorting everything, ties and zeros included."""
    rng = np.random.default_rng(0)
    for scores in (rng.random(200_000).astype(np.float32),
                   np.round(rng.random(200_000), 2).astype(np.float32),  # many ties at the boundary
                   np.where(rng.random(200_000) < 0.001, rng.random(200_000), 0).astype(np.float32)):  # few > 0
        pos = np.flatnonzero(scores > 0)
        full = sorted(pos.tolist(), key=lambda i: (-scores[i], i))[:400]
        assert [r for r, _ in top_k(scores, 400)] == full


def test_top_k_is_deterministic_with_ties():
    scores = np.array([0.0, 2.0, 1.0, 2.0, 1.0, 1.0, -1.0])
    assert top_k(scores, 3) == [(1, 2.0), (3, 2.0), (2, 1.0)]
    assert top_k(scores, 10) == [(1, 2.0), (3, 2.0), (2, 1.0), (4, 1.0), (5, 1.0)]  # only positive scores


# Attribute filter and windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize("attrs,reason", [
    (Attributes(duration=3.0, frames=90, width=640, height=480), None),
    (Attributes(duration=1.9, frames=57, width=640, height=480), "duration 1.90s < 2s"),
    (Attributes(duration=2.0, frames=39, width=640, height=480), "39 frames < 40"),
    (Attributes(duration=2.0, frames=40, width=480, height=640), "aspect 480x640 = 0.75 < 0.9"),
    (Attributes(duration=2.0, frames=40, width=90, height=100), None),  # exactly 0.9 passes
])
def test_attribute_filter(attrs, reason):
    assert filter_reason(attrs, min_duration_s=2.0, min_frames=40, min_aspect=0.9) == reason


def test_fixed_windows():
    seg = FixedWindows(window_s=6.0, max_windows=3)
    assert seg(0.0, 4.0) == [Window(0.0, 4.0)]  # shorter than a window: kept whole
    assert seg(0.0, 6.0) == [Window(0.0, 6.0)]
    assert seg(10.0, 22.0) == [Window(10.0, 16.0), Window(16.0, 22.0)]  # exactly two windows fit
    ws = seg(0.0, 60.0)
    assert len(ws) == 3 and ws[0].start == 0.0 and ws[-1].end == 60.0
    assert all(w.duration == pytest.approx(6.0) for w in ws)
    assert all(a.end <= b.start for a, b in zip(ws, ws[1:]))  # non-overlapping
    assert FixedWindows(6.0, 1)(0.0, 60.0) == [Window(0.0, 6.0)]
    assert seg(5.0, 5.0) == []


# Selection rules (METHOD.md B.1 step 4) -------------------------------------------------------------------------


def test_select_top_max_above_threshold():
    scored = [(i, 0.3 + 0.001 * i) for i in range(30)]  # all above 0.2
    keep = select(scored, threshold=0.2, max_clips=20, min_clips=4)
    assert len(keep) == 20 and keep[0] == 29 and keep == sorted(keep, reverse=True)


def test_select_only_those_above_threshold_when_enough():
    scored = [(i, s) for i, s in enumerate([0.1, 0.25, 0.3, 0.05, 0.21, 0.22, 0.19, 0.5])]
    assert select(scored, threshold=0.2, max_clips=20, min_clips=4) == [7, 2, 1, 5, 4]


def test_select_at_least_min_by_rank():
    scored = [(i, s) for i, s in enumerate([0.1, 0.25, 0.15, 0.05, 0.19, 0.0])]
    assert select(scored, threshold=0.2, max_clips=20, min_clips=4) == [1, 4, 2, 0]  # only one passes: best 4
    assert select(scored[:2], threshold=0.2, max_clips=20, min_clips=4) == [1, 0]  # fewer than 4 exist
    assert select([], threshold=0.2, max_clips=20, min_clips=4) == []


def test_select_keeps_at_most_n_windows_per_source_video():
    """Issue 12: the top 20 could hold several near-identical windows of one source video."""
    scored = [(i, s) for i, s in enumerate([0.50, 0.49, 0.48, 0.30, 0.25, 0.21])]
    videos = ["a.mp4", "a.mp4", "a.mp4", "b.mp4", "c.mp4", "a.mp4"]
    assert select(scored, threshold=0.2, max_clips=20, min_clips=2) == [0, 1, 2, 3, 4, 5]  # uncapped
    assert select(scored, threshold=0.2, max_clips=20, min_clips=2, groups=videos, max_per_group=1) == [0, 3, 4]
    assert select(scored, threshold=0.2, max_clips=2, min_clips=2, groups=videos, max_per_group=2) == [0, 1]
    # The at-least rule also counts only allowed windows.
    assert select(scored, threshold=0.9, max_clips=20, min_clips=4, groups=videos, max_per_group=1) == [0, 3, 4]


def test_segmenter_is_chosen_by_config():
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.errors import UsageError
    from dreamrunner_cli.stages.retrieve import make_segmenter

    rc = resolve_config(preset="cogvideox-2b").retrieve
    assert rc.segmenter == "fixed" and rc.max_windows == 1 and rc.max_per_video == 1
    assert make_segmenter(rc) == FixedWindows(6.0, 1)
    whole = make_segmenter(rc.model_copy(update={"segmenter": "whole"}))
    assert isinstance(whole, WholeSpan) and whole(2.0, 30.0) == [Window(2.0, 30.0)]
    with pytest.raises(UsageError, match="unknown segmenter"):
        make_segmenter(rc.model_copy(update={"segmenter": "yolo"}))


def test_gate_threshold_is_per_model_pair():
    from dreamrunner_cli.errors import UsageError
    from dreamrunner_cli.retrieval.scoring import gate_threshold

    paper = "ViT-L-14-336-quickgelu"  # OpenAI's weights are QuickGELU ones (issue 20)
    assert gate_threshold(None, paper, "openai", "viclip:OpenGVLab/ViCLIP")[0] == 0.2  # the paper's pair
    assert gate_threshold(0.27, paper, "openai", "xclip:microsoft/xclip-base-patch32") == (
        0.27, "retrieve.threshold")
    with pytest.raises(UsageError, match="no calibrated retrieval threshold"):
        gate_threshold(None, paper, "openai", "xclip:microsoft/xclip-base-patch32")
    with pytest.raises(UsageError):
        gate_threshold(None, "ViT-B-32-quickgelu", "openai", "viclip:OpenGVLab/ViCLIP")
