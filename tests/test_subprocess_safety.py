"""Every subprocess is safe (issue 22): no terminal as its stdin, its exit status and stderr checked, its output
checked before it replaces anything, and a bounded time.

Was: ffmpeg joined story.mp4 with the terminal as its stdin and without ``-nostdin``, so ``dreamrunner render WS &``
stopped at the stitch (tests/test_pty.py shows it on a real terminal); imageio's writer ignored ffmpeg's exit
status, so a clip that ffmpeg failed to finish replaced a good one.
"""

from __future__ import annotations

import ast
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from dreamrunner_cli import video
from dreamrunner_cli.errors import DreamrunnerError, FileAccessError, InputInvalid

ROOT = Path(__file__).resolve().parents[1]
SPAWNERS = {"run", "Popen", "call", "check_call", "check_output"}


def frames(n: int = 6, seed: int = 0) -> np.ndarray:
    return (np.random.RandomState(seed).rand(n, 32, 48, 3) * 255).astype(np.uint8)


def test_every_subprocess_call_in_the_package_says_what_its_stdin_is():
    """A static rule, so the next subprocess call cannot forget: each ``subprocess.<spawn>(...)`` in dreamrunner_cli/
    passes ``stdin=`` (or ``input=``). Inherited, stdin is the user's terminal, and a background job stops on it."""
    missing = []
    for path in sorted((ROOT / "dreamrunner_cli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SPAWNERS
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"
                    and not {k.arg for k in node.keywords} & {"stdin", "input"}):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not missing, f"subprocess calls that inherit the terminal as stdin: {missing}"


def test_no_ffmpeg_this_package_starts_gets_the_terminal(tmp_path, monkeypatch):
    """Every spawn made by the video paths (encode, both stitch methods, probe, read, stream parameters, frame count,
    the report's sampler, doctor) has stdin set to /dev/null or a pipe, and every ffmpeg gets ``-nostdin``. The one
    exception is imageio-ffmpeg's own ``ffmpeg -version`` check (once per process, in ``get_ffmpeg_exe``): ffmpeg
    prints its version and exits while parsing options, never touching the terminal (the pty tests run it first in
    every command)."""
    from dreamrunner_cli.doctor import check_ffmpeg
    from dreamrunner_cli.evaluation.report import _sample_video

    spawned: list[tuple[list[str], object]] = []
    real = subprocess.Popen.__init__

    def recording(self, args, *a, **k):
        spawned.append(([str(x) for x in args], k.get("stdin", a[2] if len(a) > 2 else None)))
        return real(self, args, *a, **k)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    video.write_video(a, frames(), 8)
    video.write_video(b, frames(4, seed=1), 8)
    assert video.concat_videos([a, b], tmp_path / "copy.mp4", 8) == "copy"
    video.write_video(b, frames(4, seed=1), 12)  # another frame rate: joined by decoding and encoding again
    assert video.concat_videos([a, b], tmp_path / "again.mp4", 8) == "reencode"
    assert video.probe_video(a).frames == 6 and video.read_video(a)[0].shape == (6, 32, 48, 3)
    assert video.stream_params(a)[2] == (48, 32) and _sample_video(a)["frames"] == 6
    assert check_ffmpeg().status == "ok"
    assert getattr(video, "count_frames", lambda p: 10)(tmp_path / "copy.mp4") == 10  # (new in issue 22)
    version_check = [args for args, _ in spawned if args[1:] == ["-version"]]
    rest = [(args, stdin) for args, stdin in spawned if args[1:] != ["-version"]]
    assert len(version_check) <= 1 and len(rest) >= 12
    inherited = [args for args, stdin in rest if stdin not in (subprocess.DEVNULL, subprocess.PIPE)]
    assert not inherited, f"spawned with the terminal as stdin: {inherited}"
    no_flag = [args for args, _ in rest if "ffmpeg" in Path(args[0]).name and "-nostdin" not in args]
    assert not no_flag, f"ffmpeg without -nostdin: {no_flag}"


def fake_ffmpeg(tmp_path: Path, monkeypatch, body: str) -> Path:
    """Make a shell script the ffmpeg of this process (``$REAL`` is the real ffmpeg, ``$OUT`` its last argument),
    through imageio-ffmpeg's own setting, which every ffmpeg user here reads on each call."""
    import imageio_ffmpeg

    script = tmp_path / "ffmpeg-fake"
    script.write_text(f'#!/bin/sh\nREAL="{imageio_ffmpeg.get_ffmpeg_exe()}"\nfor OUT; do :; done\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(script))
    return script


def test_a_failing_ffmpeg_is_an_error_quoting_it_and_the_old_clip_stays(tmp_path, monkeypatch):
    """ffmpeg exits 1: an error with its last stderr line; the previous clip is untouched and no temp file is left.
    (Was: imageio's writer ignored the exit status and the half-written file replaced the clip.)"""
    clip = tmp_path / "renders" / "s01.mp4"
    video.write_video(clip, frames(), 8)
    before = clip.read_bytes()
    fake_ffmpeg(tmp_path, monkeypatch, 'echo "[libx264 @ 0x1] something went wrong" >&2\nexit 1')
    with pytest.raises(DreamrunnerError, match="something went wrong") as err:
        video.write_video(clip, frames(seed=3), 8)
    assert f"encode {clip}" in err.value.message
    assert clip.read_bytes() == before and sorted(p.name for p in clip.parent.iterdir()) == ["s01.mp4"]


@pytest.mark.parametrize("what", ["encode", "stitch"])
def test_a_video_ffmpeg_says_it_wrote_but_cut_short_never_replaces_a_good_one(tmp_path, monkeypatch, what):
    """ffmpeg exits 0 but its output is cut to 4 KB (what a full disk did to imageio's writer): the new file is
    decoded and its frames counted before the rename, so it is refused (exit 8) and the old file stays."""
    clips = [tmp_path / "renders" / "s01.mp4", tmp_path / "renders" / "s02.mp4"]
    for i, c in enumerate(clips):
        video.write_video(c, frames(8, seed=i), 8)
    story = tmp_path / "story.mp4"
    video.concat_videos(clips, story, 8)
    target = clips[1] if what == "encode" else story
    before = target.read_bytes()
    fake_ffmpeg(tmp_path, monkeypatch, '"$REAL" "$@" || exit $?\ncase "$OUT" in *.mp4) truncate -s 4096 "$OUT";; esac')
    with pytest.raises(FileAccessError, match="incomplete video") as err:
        if what == "encode":
            video.write_video(target, frames(8, seed=5), 8)
        else:
            video.concat_videos(clips, story, 8)
    assert str(target) in err.value.message and err.value.exit_code == 8
    assert target.read_bytes() == before
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_stuck_ffmpeg_is_stopped_after_the_time_limit(tmp_path, monkeypatch):
    """ffmpeg never ends (here: sleeps): after FFMPEG_TIMEOUT_S it is killed, the run gets an error, and neither
    the process nor a temp file is left."""
    fake_ffmpeg(tmp_path, monkeypatch, "exec sleep 60")
    monkeypatch.setattr(video, "FFMPEG_TIMEOUT_S", 1.0, raising=False)
    procs = spawned_processes(monkeypatch)
    start = time.monotonic()
    with pytest.raises(DreamrunnerError, match="did not finish within 1 s"):
        video.write_video(tmp_path / "s01.mp4", frames(), 8)
    assert time.monotonic() - start < 10
    assert procs and all(p.poll() is not None for p in procs)
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".tmp-*"))


def spawned_processes(monkeypatch) -> list[subprocess.Popen]:
    procs: list[subprocess.Popen] = []
    real = subprocess.Popen.__init__

    def keeping(self, *a, **k):
        procs.append(self)
        return real(self, *a, **k)

    monkeypatch.setattr(subprocess.Popen, "__init__", keeping)
    return procs


def test_a_missing_ffmpeg_is_a_backend_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg-here"))
    with pytest.raises(DreamrunnerError, match="cannot start ffmpeg") as err:
        video.write_video(tmp_path / "s01.mp4", frames(), 8)
    assert err.value.exit_code == 4


def test_frames_are_counted_by_decoding_and_damage_is_invalid_input(tmp_path):
    clip = tmp_path / "c.mp4"
    video.write_video(clip, frames(9), 8)
    assert video.count_frames(clip) == 9 and video.count_frames(clip, decode=False) == 9
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:3000])
    with pytest.raises(InputInvalid, match="cut.mp4"):
        video.count_frames(cut)


def test_the_encoder_output_is_byte_stable(tmp_path):
    """The encode command is imageio's, argument for argument (crf 10, yuv420p, or yuv444p for odd sizes): a clip
    rendered before this change is the same bytes as one rendered after (the kill-and-resume byte checks rely on
    the encoder being deterministic). Encoding twice gives the same bytes, for both pixel formats."""
    for shape in ((5, 32, 48, 3), (5, 31, 47, 3)):
        f = (np.random.RandomState(1).rand(*shape) * 255).astype(np.uint8)
        video.write_video(tmp_path / "x.mp4", f, 8)
        video.write_video(tmp_path / "y.mp4", f, 8)
        assert (tmp_path / "x.mp4").read_bytes() == (tmp_path / "y.mp4").read_bytes()
        back, fps = video.read_video(tmp_path / "x.mp4")
        assert back.shape == shape and fps == 8.0


def test_an_interrupted_encode_leaves_no_ffmpeg_running(tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt) while ffmpeg encodes: ffmpeg, in its own process group so that Ctrl-C reaches only
    dreamrunner, is killed by run_ffmpeg on the way out, and the temp file is removed."""
    procs = spawned_processes(monkeypatch)

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        video.write_video(tmp_path / "s01.mp4", frames(), 8)
    assert procs and all(p.poll() is not None for p in procs)
    assert not list(tmp_path.iterdir())


def test_counting_packets_falls_back_to_decoding_when_ffmpeg_reports_no_count(tmp_path, monkeypatch):
    """ffmpeg < 8 (imageio-ffmpeg <= 0.7, which pyproject allows, and the one the GPU wheels carry) prints no
    `frame=` line for a stream copy: the fast count must decode rather than say 0 and refuse a good story.mp4."""
    clip = tmp_path / "a.mp4"
    video.write_video(clip, frames(), 8)
    real = video.run_ffmpeg

    def old_ffmpeg(args, **kw):
        out = real(args, **kw)
        return "\n".join(line for line in out.splitlines() if "copy" not in args or not line.startswith("frame="))

    monkeypatch.setattr(video, "run_ffmpeg", old_ffmpeg)
    assert video.count_frames(clip, decode=False) == 6
    video.check_video(clip, 6, tmp_path / "story.mp4")  # does not raise
