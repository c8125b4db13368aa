"""The video databases people have (issue 25, item 15): WebVid-10M, Panda-70M and InternVid in their published
layouts, path templates, Parquet caption files, pre-cut clip folders and video2dataset tar shards.

The commands documented in docs/retrieval.md ("The databases people have") are read from the page and run exactly as
written, with ``/data`` moved into a temporary folder, on a small generated sample in each layout (tiny mp4s, the
published column names). Then every indexed row's video is opened the way retrieve opens it.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.errors import BackendUnavailable, InputInvalid, UsageError
from dreamrunner_cli.retrieval import media
from dreamrunner_cli.retrieval.captions import ReadStats, read_captions
from dreamrunner_cli.retrieval.index import VideoIndex, build_index

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "retrieval.md"
runner = CliRunner()


def documented_commands() -> list[str]:
    """The `dreamrunner index build` lines of docs/retrieval.md's section on published databases."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### The databases people have", 1)[1].split("\n## ", 1)[0]
    return [ln.strip() for ln in section.splitlines() if ln.strip().startswith("dreamrunner index build")]


# Small samples in each published layout ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> dict[str, bytes]:
    """Two tiny real videos, made once: a 2-s clip and a 4-s "source video" (32x32, 8 fps)."""
    import numpy as np

    from dreamrunner_cli.video import write_video

    d = tmp_path_factory.mktemp("mp4")
    rng = np.random.default_rng(0)
    out = {}
    for name, frames in (("clip", 16), ("source", 32)):
        write_video(d / f"{name}.mp4", rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8), 8)
        out[name] = (d / f"{name}.mp4").read_bytes()
    return out


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _write_parquet(path: Path, columns: dict[str, list]) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _v2d_meta(key: str, caption: str, status: str = "success", **extra: object) -> bytes:
    """A video2dataset sample's .json: the renamed url/caption/clips columns, key, status, saved columns."""
    meta = {"url": f"https://example.com/{key}", "caption": caption, "key": key, "status": status,
            "error_message": None if status == "success" else "[youtube] Video unavailable", "yt_meta_dict": {},
            **extra}
    return json.dumps(meta, indent=4).encode()


WEBVID = [  # videoid, contentUrl, duration, page_dir, name
    ("1066674", "https://ak.picdn.net/shutterstock/videos/1066674/preview/stock-footage.mp4", "PT00H00M02S",
     "001001_001050", "A man is walking along the beach at sunset"),
    ("21179416", "https://ak.picdn.net/shutterstock/videos/21179416/preview/stock-footage.mp4", "PT00H00M02S",
     "001001_001050", "Woman waving her hand in a park"),
    ("5629184", "https://ak.picdn.net/shutterstock/videos/5629184/preview/stock-footage.mp4", "PT00H00M02S",
     "002501_002550", "Child jumping on a trampoline"),
    ("999", "https://ak.picdn.net/shutterstock/videos/999/preview/stock-footage.mp4", "PT00H00M02S",
     "002501_002550", "This one was never downloaded"),
]
PANDA = [  # videoID, url, timestamp, caption, matching_score (lists: one entry per clip)
    ("--0K7HVZ0MU", [["0:00:00.000", "0:00:02.000"], ["0:00:02.000", "0:00:04.000"]],
     ["A man is dancing in a studio.", "A man is bowing to the audience."], [0.46, 0.44]),
    ("_PzQ8x-mHfE", [["0:00:00.500", "0:00:03.500"]], ["A dog is running on the grass."], [0.51]),
    ("missingVID1", [["0:00:00.000", "0:00:02.000"]], ["Its video was never downloaded."], [0.45]),
]
INTERNVID = [  # YoutubeID, Start_timestamp, End_timestamp, Caption, Aesthetic_Score, UMT_Score
    ("HdYoyzCSWyw", "00:00:00.567", "00:00:02.200", "woman using a computer mouse and keyboard", 4.589844, 0.397949),
    ("HdYoyzCSWyw", "00:00:02.200", "00:00:03.900", "a woman is waving at the camera", 5.1, 0.41),
    ("mG08XO_MagE", "00:00:01.000", "00:00:03.000", "a man in a suit is dancing on stage", 6.863281, 0.411377),
]


def make_samples(data: Path, mp4: dict[str, bytes]) -> None:
    """Every layout the documented commands read, under ``data`` (the docs' /data)."""
    # WebVid-10M, its download.py layout: DATA/videos/<page_dir>/<videoid>.mp4 (the last row not downloaded).
    _write_csv(data / "webvid" / "results_10M_train.csv", ["videoid", "contentUrl", "duration", "page_dir", "name"],
               [list(r) for r in WEBVID])
    for videoid, _, _, page_dir, _ in WEBVID[:3]:
        (data / "webvid" / "videos" / page_dir).mkdir(parents=True, exist_ok=True)
        (data / "webvid" / "videos" / page_dir / f"{videoid}.mp4").write_bytes(mp4["clip"])
    # WebVid by video2dataset (webdataset): 00000.tar with KEY.mp4/.txt/.json, one failed sample (no .mp4).
    shard = data / "webvid" / "dataset"
    shard.mkdir(parents=True)
    with tarfile.open(shard / "00000.tar", "w") as tar:
        for i, (videoid, url, duration, page_dir, name) in enumerate(WEBVID):
            key = f"{i:09d}"
            if i < 3:
                _add(tar, f"{key}.mp4", mp4["clip"])
            _add(tar, f"{key}.txt", name.encode())
            _add(tar, f"{key}.json", _v2d_meta(key, name, "success" if i < 3 else "failed_to_download",
                                                videoid=videoid, page_idx=1, page_dir=page_dir, duration=duration))
    (shard / "00000.parquet").write_bytes(b"PAR1 not read")
    (shard / "00000_stats.json").write_text(json.dumps({"count": 4, "successes": 3, "failed_to_download": 1}))

    # Panda-70M: the CSV (list cells) and the same table as Parquet; whole source videos as <videoID>.mp4.
    panda = data / "panda70m"
    _write_csv(panda / "panda70m_training_2m.csv", ["videoID", "url", "timestamp", "caption", "matching_score"],
               [[v, f"https://www.youtube.com/watch?v={v}", str(ts), str(caps), str(sc)] for v, ts, caps, sc in PANDA])
    (panda / "videos").mkdir()
    for v, *_ in PANDA[:2]:
        (panda / "videos" / f"{v}.mp4").write_bytes(mp4["source"])
    if _has_pyarrow():
        _write_parquet(panda / "panda70m_training_2m.parquet", {
            "videoID": [r[0] for r in PANDA], "url": [f"https://www.youtube.com/watch?v={r[0]}" for r in PANDA],
            "timestamp": [r[1] for r in PANDA], "caption": [r[2] for r in PANDA],
            "matching_score": [r[3] for r in PANDA]})
    # Panda-70M's clips as its video2dataset cuts them: shard folders of KEY.mp4/.txt/.json (files output).
    clips = panda / "clips" / "00000"
    clips.mkdir(parents=True)
    n = 0
    for vi, (v, spans, caps, scores) in enumerate(PANDA[:2]):
        for ci, (span, cap, score) in enumerate(zip(spans, caps, scores)):
            key = f"{vi:07d}_{ci:05d}"
            (clips / f"{key}.mp4").write_bytes(mp4["clip"])
            (clips / f"{key}.txt").write_text(cap)
            (clips / f"{key}.json").write_bytes(_v2d_meta(key, cap, clips=str([tuple(span)]),
                                                          matching_score=str(score)))
            n += 1
    (clips / "0000002.json").write_bytes(_v2d_meta("0000002", PANDA[2][2][0], "failed_to_download"))
    (panda / "clips" / "00000.parquet").write_bytes(b"PAR1 not read")
    (panda / "clips" / "00000_stats.json").write_text(json.dumps({"count": 3, "successes": 2}))

    # InternVid-10M-FLT: JSONL and Parquet of time ranges in <YoutubeID>.mp4.
    iv = data / "internvid"
    (iv / "videos").mkdir(parents=True)
    cols = ("YoutubeID", "Start_timestamp", "End_timestamp", "Caption", "Aesthetic_Score", "UMT_Score")
    (iv / "InternVid-10M-flt.jsonl").write_text("".join(json.dumps(dict(zip(cols, r))) + "\n" for r in INTERNVID))
    for yid in {r[0] for r in INTERNVID}:
        (iv / "videos" / f"{yid}.mp4").write_bytes(mp4["source"])
    if _has_pyarrow():
        _write_parquet(iv / "InternVid-10M-flt.parquet", {c: [r[i] for r in INTERNVID] for i, c in enumerate(cols)})
    # InternVid's clips cut by video2dataset into tar shards (webdataset output).
    (iv / "clips").mkdir()
    with tarfile.open(iv / "clips" / "00000.tar", "w") as tar:
        for i, (yid, start, end, caption, aes, umt) in enumerate(INTERNVID):
            key = f"{i:09d}"
            _add(tar, f"{key}.mp4", mp4["clip"])
            _add(tar, f"{key}.txt", caption.encode())
            _add(tar, f"{key}.json", _v2d_meta(key, caption, clips=str([(start, end)]), YoutubeID=yid,
                                                Aesthetic_Score=aes, UMT_Score=umt))


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


# What each documented command must index: (rows, unreadable, {caption: (video relative to DB_DIR, start, end)}).
EXPECTED: dict[str, tuple[int, int, dict[str, tuple[str, float | None, float | None]]]] = {
    "webvid/videos": (3, 1, {"A man is walking along the beach at sunset": ("001001_001050/1066674.mp4", None, None),
                             "Child jumping on a trampoline": ("002501_002550/5629184.mp4", None, None)}),
    "webvid/dataset": (3, 1, {"Woman waving her hand in a park": ("00000.tar#000000001.mp4", None, None)}),
    "panda70m/videos": (3, 1, {"A man is bowing to the audience.": ("--0K7HVZ0MU.mp4", 2.0, 4.0),
                               "A dog is running on the grass.": ("_PzQ8x-mHfE.mp4", 0.5, 3.5)}),
    "panda70m/clips": (3, 1, {"A man is bowing to the audience.": ("00000/0000000_00001.mp4", None, None)}),
    "internvid/videos": (3, 0, {"a woman is waving at the camera": ("HdYoyzCSWyw.mp4", 2.2, 3.9)}),
    "internvid/clips": (3, 0, {"a man in a suit is dancing on stage": ("00000.tar#000000002.mp4", None, None)}),
}


def test_the_docs_document_a_command_for_each_database_layout():
    cmds = documented_commands()
    assert len(cmds) == 8
    dbs = {shlex.split(c)[3].removeprefix("/data/") for c in cmds}
    assert dbs == set(EXPECTED)
    assert any("--path-template '{page_dir}/{videoid}.mp4'" in c for c in cmds)
    assert sum(".parquet" in c for c in cmds) == 2


@pytest.mark.parametrize("command", documented_commands())
def test_documented_command_indexes_its_layout(command, mp4, tmp_path):
    if ".parquet" in command:
        pytest.importorskip("pyarrow")
    data = tmp_path / "data"
    make_samples(data, mp4)
    args = shlex.split(command.replace("/data/", f"{data}/"))
    assert args[:3] == ["dreamrunner", "index", "build"]
    r = runner.invoke(app, args[1:])
    assert r.exit_code == 0, r.output
    db = Path(args[3])
    rows, unreadable, expected = EXPECTED[str(db.relative_to(data))]
    ix = VideoIndex(db / "index")
    assert (ix.n, ix.info["unreadable"]) == (rows, unreadable), ix.info["unreadable_examples"]
    clips = {ix.caption(i): ix.clip(i) for i in range(ix.n)}
    for caption, (path, start, end) in expected.items():
        c = clips[caption]
        assert (c.path, c.start, c.end) == (path, pytest.approx(start) if start else None,
                                            pytest.approx(end) if end else None)
    for c in clips.values():  # every row's video opens the way retrieve opens it (tar members: extracted once)
        p = media.probe(c.video)
        assert (p.width, p.height) == (32, 32) and p.duration == pytest.approx(4.0 if c.start is not None else 2.0,
                                                                               abs=0.2)
    if "--check-files" in command and unreadable:  # the missing video is named by the path looked for
        assert any("video file not found: " + str(db) in e for e in ix.info["unreadable_examples"])
    assert "unreadable rows skipped" in r.output if unreadable else "unreadable" not in r.output
    if unreadable and "--captions" not in command:  # a failed download, its reason printed as text, not markup
        assert "no video: status 'failed_to_download' ([youtube] Video unavailable)" in r.output


# --path-template ------------------------------------------------------------------------------------------------


def test_path_template_errors_name_the_column_and_the_available_ones(tmp_path, mp4):
    make_samples(tmp_path / "data", mp4)
    wv = tmp_path / "data" / "webvid"
    args = ["index", "build", str(wv / "videos"), "--captions", str(wv / "results_10M_train.csv")]
    r = runner.invoke(app, [*args, "--path-template", "{page}/{videoid}.mp4"])
    assert r.exit_code == 5
    assert "uses column 'page', which the file does not have" in r.output
    assert "videoid, contentUrl, duration, page_dir, name" in r.output
    for bad in ("{page_dir!r}/{videoid}.mp4", "{videoid.__class__}.mp4", "{videoid[0]}.mp4", "{videoid", "x.mp4"):
        r = runner.invoke(app, [*args, "--path-template", bad])
        assert r.exit_code == 2, (bad, r.output)
    r = runner.invoke(app, [*args, "--path-template", "{videoid}.mp4", "--path-column", "videoid"])
    assert r.exit_code == 2 and "both say where the video is" in r.output
    # Column names match case-insensitively when not exact; a later JSONL row without the column is one bad row.
    (tmp_path / "c.jsonl").write_text(json.dumps({"Dir": "a", "ID": 7, "caption": "x walks"}) + "\n"
                                      + json.dumps({"ID": 8, "caption": "y runs"}) + "\n"
                                      + json.dumps({"Dir": "b", "ID": 9.0, "caption": "z"}) + "\n")
    stats = ReadStats()
    got = list(read_captions(tmp_path / "c.jsonl", stats, path_template="{dir}/{id}.mp4"))
    assert [r.path for r in got] == ["a/7.mp4", "b/9.mp4"]  # 9.0 read as a number is still the id 9
    assert stats.examples == ["line 2: --path-template '{dir}/{id}.mp4' uses column 'dir', which this row does not "
                              "have"]
    assert stats.columns["path_template"] == "{dir}/{id}.mp4"


def test_the_template_is_part_of_the_fingerprint_and_the_rebuild_hint(tmp_path, mp4):
    make_samples(tmp_path / "data", mp4)
    wv = tmp_path / "data" / "webvid"
    a = build_index(wv / "videos", wv / "results_10M_train.csv", tmp_path / "a",
                    path_template="{page_dir}/{videoid}.mp4")
    b = build_index(wv / "videos", wv / "results_10M_train.csv", tmp_path / "b", path_template="{videoid}.mp4")
    assert a["fingerprint"] != b["fingerprint"]
    (tmp_path / "a" / "meta" / "rows.npy").unlink()
    with pytest.raises(InputInvalid) as exc:
        VideoIndex(tmp_path / "a")
    assert "--path-template '{page_dir}/{videoid}.mp4'" in exc.value.hint


def test_check_files_with_no_video_found_names_the_path_tried_not_the_columns(tmp_path, mp4):
    """Issue 25: WebVid's layout without a template exited 5 with "check the columns"."""
    make_samples(tmp_path / "data", mp4)
    wv = tmp_path / "data" / "webvid"
    r = runner.invoke(app, ["index", "build", str(wv / "videos"), "--captions", str(wv / "results_10M_train.csv"),
                            "--check-files"])
    assert r.exit_code == 5
    out = " ".join(r.output.split())
    assert "none of the 4 rows" in out and "names a video file that exists" in out
    assert f"line 2: {wv / 'videos' / '1066674.mp4'} does not exist" in out  # the path tried, and the row
    assert "--path-template" in out and "check the columns" not in out


# Pre-cut clips: folders and tar shards ----------------------------------------------------------------------------


def test_a_clip_folder_reads_json_captions_else_txt_and_file_metadata_not_source_spans(tmp_path, mp4):
    d = tmp_path / "db" / "00000"
    d.mkdir(parents=True)
    (d / "a.mp4").write_bytes(mp4["clip"])
    (d / "a.json").write_bytes(_v2d_meta("a", "from the json", clips="[('0:01:00.000', '0:01:02.000')]",
                                         duration="PT00H00M02S"))
    (d / "a.txt").write_text("from the txt")
    (d / "b.mp4").write_bytes(mp4["clip"])
    (d / "b.txt").write_text("  only a txt caption \n")
    (d / "c.mp4").write_bytes(mp4["clip"])  # no caption at all
    (d / "d.mp4").write_bytes(mp4["clip"])
    (d / "d.json").write_text("{ not json")
    (d / "e.mp4").write_bytes(mp4["clip"])
    (d / "e.json").write_bytes(b"{" + b" " * (1 << 20) + b"}")  # not a sidecar: over the 1 MiB bound
    r = build_index(tmp_path / "db", None)
    ix = VideoIndex(tmp_path / "db")
    got = {ix.path(i): ix.clip(i) for i in range(ix.n)}
    assert set(got) == {"00000/a.mp4", "00000/b.mp4"}
    assert got["00000/a.mp4"].caption == "from the json" and got["00000/a.mp4"].start is None
    assert got["00000/a.mp4"].duration == 2.0 and got["00000/b.mp4"].caption == "only a txt caption"
    reasons = dict(e.split(": ", 1) for e in r["unreadable_examples"])
    assert set(reasons) == {"00000/c.mp4", "00000/d.mp4", "00000/e.mp4"}
    assert "no caption" in reasons["00000/c.mp4"] and "not valid JSON" in reasons["00000/d.mp4"]
    assert "larger than 1024 KiB" in reasons["00000/e.mp4"]
    assert ix.info["source"]["kind"] == "clips"
    # Recaptioning a clip changes the fingerprint; rebuilding the same folder does not.
    assert build_index(tmp_path / "db", None)["fingerprint"] == r["fingerprint"]
    (d / "b.txt").write_text("another caption")
    assert build_index(tmp_path / "db", None)["fingerprint"] != r["fingerprint"]


def test_no_clips_and_column_options_without_captions_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputInvalid, match="no clips found") as exc:
        build_index(tmp_path / "empty", None)
    assert "--captions" in exc.value.hint and "KEY.json" in exc.value.hint
    with pytest.raises(UsageError, match="--path-template read a caption file's columns"):
        build_index(tmp_path / "empty", None, path_template="{a}.mp4")


def _evil_tar(path: Path, mp4: bytes) -> None:
    """A shard with good samples around links, escaping paths, a device, a bad .json and a huge .json."""
    with tarfile.open(path, "w") as tar:
        _add(tar, "000.mp4", mp4)
        _add(tar, "000.txt", b"a good clip before the trouble")
        for name, kind, link in (("001.mp4", tarfile.SYMTYPE, "/etc/passwd"), ("002.mp4", tarfile.LNKTYPE, "000.mp4"),
                                 ("003.mp4", tarfile.CHRTYPE, "")):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info)
            _add(tar, name.replace(".mp4", ".txt"), b"caption of a refused member")
        _add(tar, "../escape.mp4", mp4)
        _add(tar, "/abs/olute.mp4", mp4)
        _add(tar, "004.mp4", mp4)
        _add(tar, "004.json", b'{"caption": "broken')
        _add(tar, "005.mp4", mp4)
        _add(tar, "005.json", b"[" + b" " * (1 << 20) + b"]")
        _add(tar, "006.mp4", mp4)
        _add(tar, "006.txt", b"a good clip after the trouble")


def test_tar_shards_refuse_links_and_escaping_paths_and_skip_bad_members(tmp_path, mp4):
    db = tmp_path / "db"
    db.mkdir()
    _evil_tar(db / "00000.tar", mp4["clip"])
    (db / "00001.tar").write_bytes(b"this is not a tar file at all" * 40)  # a corrupt shard
    r = build_index(db, None)
    ix = VideoIndex(db)
    assert sorted(ix.path(i) for i in range(ix.n)) == ["00000.tar#000.mp4", "00000.tar#006.mp4"]
    ex = "\n".join(r["unreadable_examples"])
    assert "00000.tar#001.mp4: is a link (to '/etc/passwd')" in ex and "00000.tar#002.mp4: is a link" in ex
    assert "00000.tar#003.mp4: is not a regular file" in ex
    assert "00000.tar#../escape.mp4: has an unsafe path" in ex and "#/abs/olute.mp4: has an unsafe path" in ex
    assert "00000.tar#004.mp4: its .json is not valid JSON" in ex and "005.json is larger than 1024 KiB" in ex
    assert "00001.tar: not a readable tar shard" in ex
    # Nothing was extracted while indexing; retrieve extracts one member on demand, once.
    from dreamrunner_cli.cache import cache_dir

    assert not (cache_dir() / "tar-members").exists()
    clip = ix.clip(0)
    first = media.local_file(clip.video)
    assert first.read_bytes() == mp4["clip"] and first.is_relative_to(cache_dir() / "tar-members")
    assert media.local_file(clip.video) == first and len(list((cache_dir() / "tar-members").rglob("*.mp4"))) == 1
    # Extraction refuses what indexing refused, even when asked directly.
    for member, why in (("001.mp4", "is a link"), ("../escape.mp4", "unsafe path"), ("nope.mp4", "no member")):
        with pytest.raises(media.MediaError, match=re.escape(why)):
            media.local_file(Path(f"{db}/00000.tar#{member}"))
    assert not (tmp_path / "escape.mp4").exists() and not Path("/abs/olute.mp4").exists()


def test_a_tar_shard_damaged_midway_keeps_the_samples_before_the_damage(tmp_path, mp4):
    db = tmp_path / "db"
    db.mkdir()
    with tarfile.open(db / "00000.tar", "w") as tar:
        for i in range(4):
            _add(tar, f"{i:03d}.mp4", mp4["clip"])
            _add(tar, f"{i:03d}.txt", f"clip number {i}".encode())
    data = bytearray((db / "00000.tar").read_bytes())
    with tarfile.open(db / "00000.tar") as tar:
        third = tar.getmember("002.mp4").offset
        cut = tar.getmember("001.txt").offset_data + 5
    (db / "truncated.tar").write_bytes(bytes(data[:cut]))  # a download cut inside 001.txt's data
    data[third:third + 512] = b"\x07" * 512  # a garbage header: tarfile would stop there without a word
    (db / "00000.tar").write_bytes(bytes(data))
    r = build_index(db, None)
    ix = VideoIndex(db)
    assert sorted(ix.caption(i) for i in range(ix.n)) == ["clip number 0", "clip number 0", "clip number 1"]
    ex = "\n".join(r["unreadable_examples"])
    assert "00000.tar: damaged header after member '001.txt'" in ex
    assert "truncated.tar: corrupt after member '001.txt'" in ex
    assert "truncated.tar#001.mp4: 001.txt cannot be read (unexpected end of data)" in ex


class _StubEncoder:
    """Stands in for CLIP and the video-text model (the real ones cost seconds to build): features from pixels."""

    model_id = "stub"
    image_size = 32

    def encode_texts(self, texts):
        import torch

        return torch.ones(len(texts), 4)

    def encode_images(self, images):
        import torch

        return torch.stack([torch.full((4,), float(im.mean()) / 255) for im in images])

    def text_features(self, texts):
        return {"t": self.encode_texts(texts)}

    def video_features(self, frames):
        return {"v": self.encode_images([frames.mean(axis=0)])}

    def similarity(self, video, text):
        return (video["v"] * text["t"]).sum(-1)


def test_retrieve_scores_and_cuts_clips_straight_from_tar_shards(tmp_path, mp4):
    """Retrieve on InternVid-style tar shards: windows are decoded from the shard members (extracted once), scored
    through the embedding cache, and the kept clips are cut from them."""
    from dreamrunner_cli.cache import open_cache
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.retrieval.scoring import CACHE_NAME, WindowScorer
    from dreamrunner_cli.schema import Motion
    from dreamrunner_cli.stages import retrieve as stage

    make_samples(tmp_path / "data", mp4)
    clips = tmp_path / "data" / "internvid" / "clips"
    build_index(clips, None)
    ix = VideoIndex(clips)
    rc = resolve_config(preset="tiny", overrides=["retrieve.min_clips=1", "retrieve.threshold=-2"]).retrieve
    database = {"db": str(clips), "index": str(ix.root), "fingerprint": ix.fingerprint, "rows": ix.n,
                "backend": "bm25s"}
    scorer = WindowScorer(_StubEncoder(), _StubEncoder(), clip_frames=2, fps=8, cache=open_cache(CACHE_NAME))
    m = stage.retrieve_motion(ix, Motion(id="dancing", description="dancing"), rc, scorer, tmp_path / "dancing",
                              database)
    assert m["counts"]["unreadable"] == 0 and m["counts"]["windows_scored"] == 1 and scorer.decoded == 1
    kept = m["kept"][0]
    assert kept["source"] == "00000.tar#000000002.mp4" and "dancing" in kept["caption"]
    assert media.probe(tmp_path / "dancing" / kept["file"]).frames == 16
    # A second story scoring the same member reads the cache (keyed by the shard's size and mtime): no decoding.
    again = WindowScorer(_StubEncoder(), _StubEncoder(), clip_frames=2, fps=8, cache=open_cache(CACHE_NAME))
    stage.retrieve_motion(ix, Motion(id="dancing", description="dancing"), rc, again, tmp_path / "again", database)
    assert again.decoded == 0


# Parquet ---------------------------------------------------------------------------------------------------------


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "c.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow → ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(BackendUnavailable) as exc:
        build_index(tmp_path, tmp_path / "c.parquet")
    assert exc.value.exit_code == 4 and "dreamrunner[parquet]" in exc.value.hint
    r = runner.invoke(app, ["index", "build", str(tmp_path), "--captions", str(tmp_path / "c.parquet")])
    assert r.exit_code == 4 and "pyarrow" in r.output


def test_parquet_reads_only_the_columns_used_and_reports_a_damaged_file(tmp_path):
    pytest.importorskip("pyarrow")
    _write_parquet(tmp_path / "c.parquet", {"video": ["a.mp4", "b.mp4", ""], "text": ["a walks", "b runs", "c"],
                                            "blob": [b"x" * 10, b"y", b"z"]})
    stats = ReadStats()
    rows = list(read_captions(tmp_path / "c.parquet", stats))
    assert [(r.path, r.caption, r.where) for r in rows] == [("a.mp4", "a walks", "row 1"), ("b.mp4", "b runs", "row 2")]
    assert stats.unreadable == 1 and stats.examples[0].startswith("row 3: empty video path")
    assert len(stats.sha256) == 64 and "blob" not in stats.columns.values()
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")
    with pytest.raises(InputInvalid, match="not a readable Parquet file"):
        build_index(tmp_path, tmp_path / "bad.parquet")


# Layout: no import cycle among the retrieval modules ---------------------------------------------------------------


def _imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that a module imports anywhere (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:  # from .x import y / from . import x
            out |= {node.module} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"dreamrunner_cli.{package}."):
            out.add(node.module.rsplit(".", 1)[1])
    return out


def test_the_retrieval_modules_import_each_other_without_a_cycle():
    """Issue 25: person → scoring → segment → person (segment built the person segmenter). Lazy imports count."""
    pkg = ROOT / "dreamrunner_cli" / "retrieval"
    graph = {p.stem: _imports(p, "retrieval") & {q.stem for q in pkg.glob("*.py")} for p in pkg.glob("*.py")}
    assert "person" not in graph["segment"] and "scoring" not in graph["person"]
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, f"import cycle: {' → '.join([*path, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("module", ["person", "segment", "scoring"])
def test_each_segmentation_module_imports_alone_in_a_fresh_interpreter(module):
    code = f"import dreamrunner_cli.retrieval.{module} as m; print(m.__name__)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
