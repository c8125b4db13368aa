"""A full disk never loses a good output (issue 22, item 1).

Was: ffmpeg's "No space left on device" was ignored. A truncated 4 KB s02.mp4 replaced a good render, the command
exited 5 (the stitch could not read it), and every later run exited 5 too (the truncated clip was recorded as
done) until the user thought of ``--force``.

Now: ENOSPC and EDQUOT while writing a clip, story.mp4 or any file exit 8 naming the file; the previous file is
untouched, no temp file is left, the item is not recorded, so the next run does it again without ``--force``.

Two ways to fill the disk:

* an ENOSPC injected at the write layer (every platform, ``make test``): the temporary file a write goes to is
  replaced by a link to ``/dev/full``, whose every ``write(2)`` fails with ENOSPC, so the real writer (ffmpeg,
  Pillow, Python) meets the real error;
* a disk that really fills (``make reliability``): a small tmpfs, mounted where that is allowed (root), filled to a
  few KB; skipped with the reason elsewhere.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import dreamrunner_cli.storyboard
import dreamrunner_cli.video
import dreamrunner_cli.workspace as workspace
from dreamrunner_cli import video
from dreamrunner_cli.cli import app
from dreamrunner_cli.cli.common import translate_error
from dreamrunner_cli.workspace import StageRun, Workspace, write_json_atomic

FULL = os.environ.get("DREAMRUNNER_RELIABILITY") == "1"
STORY = "Ana walks through the quiet park.\n\nIn the garden Ana waves at her neighbour.\n"
SETTINGS = ["plan.min_scenes=2", "plan.max_scenes=2", "render.steps=2", "render.require_adapters=false"]
RERENDER_S02 = ["--scene", "s02", "--set", "render.seed=7"]  # only s02 must run again (and then the stitch)
runner = CliRunner()
needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")


def invoke(*args: object, code: int = 0):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, (res.exit_code, res.output)
    return res


@contextlib.contextmanager
def full_disk_for(monkeypatch, *names: str):
    """Writes of files called ``names`` meet ENOSPC: their temporary file becomes a link to /dev/full (every
    module that took ``atomic_path`` by name is patched). Yields the list of targets that were hit."""
    real = workspace.atomic_path
    hit: list[Path] = []

    @contextlib.contextmanager
    def injected(target):
        with real(target) as tmp:
            if Path(target).name in names:
                hit.append(Path(target))
                tmp.unlink()
                tmp.symlink_to("/dev/full")
            yield tmp

    with monkeypatch.context() as m:
        for module in (workspace, dreamrunner_cli.video, dreamrunner_cli.storyboard):
            m.setattr(module, "atomic_path", injected)
        yield hit


def leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(".tmp-*"))


def record(ws: Path, stage: str, item: str) -> dict:
    return json.loads((ws / "dreamrunner.lock").read_text())["stages"][stage][item]


def items(res) -> dict[str, tuple[str, str]]:
    return {i["item"]: (i["action"], i["reason"]) for i in json.loads(res.stdout)["items"]}


def frames(n: int, seed: int = 0) -> np.ndarray:
    return (np.random.RandomState(seed).rand(n, 32, 48, 3) * 255).astype(np.uint8)


def replace_clip_by_hand(ws: Path, scene: str) -> None:
    """A user's own edit of a clip (kept by render), so that only the stitch must run: its frames reversed."""
    clip = ws / "renders" / f"{scene}.mp4"
    f, fps = video.read_video(clip)
    video.write_video(clip, f[::-1], fps)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """A two-scene story planned and rendered on the tiny preset (clips and story.mp4)."""
    root = tmp_path_factory.mktemp("disk-full")
    (root / "ana.txt").write_text(STORY)
    args = ["plan", root / "ana.txt", "--workspace", root / "ws", "--preset", "tiny", "--quiet"]
    for s in SETTINGS:
        args += ["--set", s]
    with pytest.MonkeyPatch.context() as m:  # runs before the per-test cache isolation (conftest.py) applies
        m.setenv("DREAMRUNNER_CACHE", str(root / "cache"))
        invoke(*args)
        invoke("render", root / "ws", "--quiet")
    assert (root / "ws" / "story.mp4").exists()
    return root / "ws"


@pytest.fixture
def ws(rendered, tmp_path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(rendered, dest)
    return dest


# ENOSPC injected at the write layer ----------------------------------------------------------------------------


@needs_dev_full
def test_a_clip_write_on_a_full_disk_exits_8_keeps_the_clip_and_the_next_run_redoes_it(ws, monkeypatch):
    good, rec = (ws / "renders" / "s02.mp4").read_bytes(), record(ws, "render", "s02")
    story = (ws / "story.mp4").read_bytes()
    with full_disk_for(monkeypatch, "s02.mp4") as hit:
        res = invoke("render", ws, *RERENDER_S02, "--json", code=8)
    assert hit == [ws / "renders" / "s02.mp4"]
    assert f"{ws / 'renders' / 's02.mp4'}: no space left on the device" in res.stderr, res.stderr
    assert json.loads(res.stdout)["exit_code"] == 8 and "Traceback" not in res.output
    assert (ws / "renders" / "s02.mp4").read_bytes() == good and (ws / "story.mp4").read_bytes() == story
    assert record(ws, "render", "s02") == rec and leftovers(ws) == []
    # Space is back: the same command again, without --force, renders s02 and stitches.
    again = invoke("render", ws, *RERENDER_S02, "--json")
    ran = items(again)
    assert ran["s02"][0] == "ran" and "config.render.seed 0 → 7" in ran["s02"][1], ran
    assert ran["story"][0] == "ran" and (ws / "renders" / "s02.mp4").read_bytes() != good
    assert video.count_frames(ws / "story.mp4") == sum(video.count_frames(ws / "renders" / f"s0{i}.mp4")
                                                       for i in (1, 2))


@needs_dev_full
def test_a_stitch_on_a_full_disk_exits_8_keeps_story_mp4_and_the_next_run_stitches(ws, monkeypatch):
    replace_clip_by_hand(ws, "s01")
    story, rec = (ws / "story.mp4").read_bytes(), record(ws, "render", "story")
    with full_disk_for(monkeypatch, "story.mp4"):
        res = invoke("render", ws, code=8)
    assert f"{ws / 'story.mp4'}: no space left on the device" in res.stderr, res.stderr
    assert (ws / "story.mp4").read_bytes() == story and record(ws, "render", "story") == rec
    assert leftovers(ws) == []
    ran = items(invoke("render", ws, "--json"))
    assert ran["story"] == ("ran", "renders changed") and ran["s01"][0] == "skipped", ran
    joined, _ = video.read_video(ws / "story.mp4")
    assert (ws / "story.mp4").read_bytes() != story and len(joined) == video.count_frames(ws / "story.mp4")


def test_a_clip_cut_short_by_an_older_version_names_the_command_that_renders_it_again(ws):
    """A workspace damaged before this fix: s02.mp4 cut to 4 KB and recorded as done. The stitch cannot read it;
    the message says which scene to render again and how (it was "re-render the scenes ... --force", every scene),
    and that command repairs it."""
    clip = ws / "renders" / "s02.mp4"
    clip.write_bytes(clip.read_bytes()[:4096])
    (ws / "story.mp4").unlink()
    res = invoke("render", ws, code=5)
    assert f"render that scene again: `dreamrunner render {ws} --scene s02 --force`" in res.stderr, res.stderr
    invoke("render", ws, "--scene", "s02", "--force", "--quiet")
    assert video.count_frames(ws / "story.mp4") == 2 * video.count_frames(clip)


@needs_dev_full
@pytest.mark.parametrize("name", ["config.json", "dreamrunner.lock"])
def test_a_full_disk_while_saving_json_names_the_file_and_keeps_it(tmp_path, monkeypatch, name):
    """Python's own writes (records, config) name the file the user knows, not the temporary one."""
    target = tmp_path / name
    write_json_atomic(target, {"good": True})
    with full_disk_for(monkeypatch, name), pytest.raises(OSError) as err:
        write_json_atomic(target, {"good": False, "pad": "x" * 10000})
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(target)
    assert json.loads(target.read_text()) == {"good": True} and leftovers(tmp_path) == []
    mapped = translate_error(err.value)
    assert mapped.exit_code == 8 and mapped.message == f"cannot read or write {target}: no space left on the device"


def test_a_short_write_to_runs_jsonl_is_an_error_not_a_torn_line(tmp_path, monkeypatch):
    """os.write may write part of the line and return its length (the disk filling up); the rest must be retried,
    so the ENOSPC that follows is raised, naming runs.jsonl. (Was: the short count was ignored, exit 0.)"""
    ws = Workspace(tmp_path)
    ws.log_run({"stage": "plan", "outcome": "ok"})
    real_write = os.write
    calls = []

    def filling(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, data[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(workspace.os, "write", filling)
    with pytest.raises(OSError) as err:
        ws.log_run({"stage": "render", "outcome": "ok"})
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(ws.runs_log) and len(calls) == 2


def test_logging_a_failed_run_on_a_full_disk_does_not_hide_why_it_failed(tmp_path, monkeypatch):
    """A stage that fails on a full disk logs its failure to runs.jsonl, which fails too: the error the user sees
    must stay the first one (the clip), not the log line's."""
    ws = Workspace(tmp_path)

    def full(entry):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(ws.runs_log))

    monkeypatch.setattr(ws, "log_run", full)
    StageRun(ws, "render").close(outcome="error", error="OSError: no space")  # does not raise
    with pytest.raises(OSError):
        StageRun(ws, "render").close(outcome="ok")  # a finished run whose log line is lost is an error


def test_a_full_quota_reported_by_ffmpeg_is_exit_8_naming_the_clip(tmp_path, monkeypatch):
    """EDQUOT as ffmpeg reports it (in words, on stderr, exit 1): the same OSError as Python's own writes get."""
    import stat

    clip = tmp_path / "s01.mp4"
    script = tmp_path / "ffmpeg-fake"
    script.write_text('#!/bin/sh\necho "[out#0/mp4 @ 0x1] Error writing trailer: Disk quota exceeded" >&2\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(script))
    with pytest.raises(OSError) as err:
        video.write_video(clip, frames(4), 8)
    assert err.value.errno == errno.EDQUOT and err.value.filename == str(clip)
    assert translate_error(err.value).message == f"cannot read or write {clip}: disk quota exceeded"
    assert list(tmp_path.iterdir()) == [script]


def test_a_safetensors_write_on_a_full_disk_is_exit_8_not_a_damaged_file():
    """safetensors reports the OS error inside its own exception ("... (os error 28)", the message it gives on a
    full tmpfs); it was mapped to "damaged or not a safetensors file" (exit 5)."""
    from safetensors import SafetensorError

    exc = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    mapped = translate_error(exc)
    assert mapped.exit_code == 8 and "no space left on the device" in mapped.message


# A disk that really fills --------------------------------------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(where: Path, size_kb: int):
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}; needs root): the "
                    "injected-ENOSPC tests above cover the same paths")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], stdin=subprocess.DEVNULL, capture_output=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` until ``leave`` bytes are free."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as f:
        f.truncate(0)
        f.write(b"\0" * max(0, free - leave))
    return filler


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dreamrunner_cli", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # ~4 CLI runs with model loads: `make reliability`, `make test-slow`
def test_a_disk_that_really_fills_during_render(rendered, tmp_path, capsys):
    """The reported case on a real file system: a small tmpfs, filled to 8 KB free, a scene re-rendered, then
    story.mp4 re-stitched. Each fails with exit 8 naming the file, loses nothing, leaves nothing, and the same
    command succeeds once there is space again."""
    figures = {}
    with small_tmpfs(tmp_path / "disk", 4096) as disk:
        ws = disk / "ws"
        shutil.copytree(rendered, ws)
        clip = ws / "renders" / "s02.mp4"
        good, story = clip.read_bytes(), (ws / "story.mp4").read_bytes()
        filler = fill(disk, 8 << 10)
        t0 = time.monotonic()
        res = cli("render", ws, *RERENDER_S02)
        figures["clip"] = {"exit": res.returncode, "clip kept": clip.read_bytes() == good,
                           "story kept": (ws / "story.mp4").read_bytes() == story, "leftovers": leftovers(ws)}
        assert res.returncode == 8 and f"{clip}: no space left on the device" in res.stderr, res.stderr
        assert figures["clip"]["clip kept"] and figures["clip"]["story kept"] and not figures["clip"]["leftovers"]
        filler.unlink()
        res = cli("render", ws, *RERENDER_S02)
        figures["clip"]["next run"] = res.returncode
        assert res.returncode == 0 and clip.read_bytes() != good, res.stderr
        assert "ran       render s02: config.render.seed 0 → 7" in res.stdout, res.stdout

        replace_clip_by_hand(ws, "s01")  # only the stitch must run (s01 is kept as edited, s02 is up to date)
        story = (ws / "story.mp4").read_bytes()
        filler = fill(disk, 8 << 10)
        res = cli("render", ws, "--scene", "s02")
        figures["stitch"] = {"exit": res.returncode, "story kept": (ws / "story.mp4").read_bytes() == story,
                             "leftovers": leftovers(ws)}
        assert res.returncode == 8 and f"{ws / 'story.mp4'}: no space left on the device" in res.stderr, res.stderr
        assert figures["stitch"]["story kept"] and not figures["stitch"]["leftovers"]
        filler.unlink()
        res = cli("render", ws, "--scene", "s02")
        figures["stitch"]["next run"] = res.returncode
        assert res.returncode == 0 and "ran       render story: renders changed" in res.stdout, res.stdout
        assert video.count_frames(ws / "story.mp4") == 2 * video.count_frames(clip)
        figures["seconds"] = round(time.monotonic() - t0, 1)
    with capsys.disabled():  # printed by `make reliability`
        print(f"\ndisk-full trial (tmpfs): {json.dumps(figures)}")
