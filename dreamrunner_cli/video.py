"""Video I/O with imageio + imageio-ffmpeg (a static ffmpeg ships in the wheel; no system ffmpeg needed).

Frames are uint8 arrays shaped (T, H, W, 3). Writes are atomic: a killed process never leaves a finished-looking mp4.
Unreadable videos raise InputInvalid naming the file.

Every ffmpeg this module starts goes through ``run_ffmpeg``: no terminal (``-nostdin``, stdin from /dev/null or the
frame pipe), so a run in a background job is never stopped by SIGTTIN/SIGTTOU; its exit status and stderr are
checked (a full disk is the OSError it is: exit 8 naming the file); and a bounded time. Every video it writes is
decoded and its frames counted before it replaces anything (``check_video``).
"""

from __future__ import annotations

import errno
import os
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import BackendUnavailable, DreamrunnerError, FileAccessError, InputInvalid
from .workspace import atomic_path

# No encode, join or check of one story's clips takes minutes (a 49-frame 720x480 clip encodes in ~2 s on one core):
# past this, ffmpeg is stuck and is killed rather than hanging the run.
FFMPEG_TIMEOUT_S = 300.0
# Given to every ffmpeg reader (imageio's and imageio-ffmpeg's): never read keys from stdin (they pass a pipe).
READ_PARAMS = ["-nostdin"]
# OS errors ffmpeg reports in words (libc's strerror) while writing: raised as that OSError, naming our file.
_OS_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO)
_OS_WORDS = {errno.EDQUOT: ("Quota exceeded",)}  # musl's words, where they differ from glibc's


@dataclass
class VideoInfo:
    path: Path
    fps: float
    frames: int
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frames / self.fps if self.fps else 0.0


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], *, what: str, target: Path | None = None, feed: bytes | memoryview | None = None,
               timeout: float | None = None) -> str:
    """Run the bundled ffmpeg with ``args``; return its stdout. ``what`` says what it does, for messages.

    * no terminal: ``-nostdin``, stdin is /dev/null (or a pipe carrying ``feed``), stdout and stderr are pipes, and
      ffmpeg has its own process group (Ctrl-C reaches only dreamrunner, which then stops ffmpeg);
    * its exit status and stderr are checked: an OS error while writing ``target`` (disk full, quota, read-only,
      permission) raises that OSError naming ``target`` (exit 8); any other failure raises a DreamrunnerError
      quoting ffmpeg's last line;
    * at most ``timeout`` seconds (default FFMPEG_TIMEOUT_S), then it is killed.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    limit = FFMPEG_TIMEOUT_S if timeout is None else timeout
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if feed is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0)
    except OSError as exc:
        raise BackendUnavailable(f"cannot start ffmpeg ({cmd[0]}) to {what}: {exc.strerror or exc}",
                                 hint="reinstall imageio-ffmpeg (`pip install --force-reinstall imageio-ffmpeg`), "
                                      "then `dreamrunner doctor`") from None
    try:
        out, err = proc.communicate(feed, timeout=limit)
    except subprocess.TimeoutExpired:
        raise DreamrunnerError(f"ffmpeg did not finish within {limit:.0f} s while trying to {what}; it was stopped",
                               hint="run the command again; if it happens again, check the disk and the load "
                                    "(`top`), then report it") from None
    finally:  # an exception (Ctrl-C, SIGTERM, timeout) must not leave ffmpeg running in its own process group
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        if target is not None:
            for code in _OS_ERRORS:
                if any(w in text for w in (os.strerror(code), *_OS_WORDS.get(code, ()))):
                    raise OSError(code, os.strerror(code), str(target))
        last = text.splitlines()[-1] if text else f"exit status {proc.returncode}, no message"
        raise DreamrunnerError(f"ffmpeg failed to {what}: {last}",
                               hint="run the command again; if it fails again, run `dreamrunner doctor` and report "
                                    "the message")
    return out.decode("utf-8", "replace")


def count_frames(path: Path, decode: bool = True) -> int:
    """Frames in ``path``'s first video stream: every frame decoded (any decoding error raises InputInvalid), or,
    with ``decode=False``, its packets counted (fast; for clips already checked)."""
    path = Path(path)
    try:
        out = run_ffmpeg(["-xerror", "-i", str(path), "-map", "0:v:0", *([] if decode else ["-c", "copy"]),
                          "-f", "null", "-progress", "pipe:1", "-nostats", "-"], what=f"read {path}")
    except DreamrunnerError as exc:
        if isinstance(exc, BackendUnavailable):
            raise
        raise InputInvalid(f"cannot read video {path}: {exc.message.removeprefix(f'ffmpeg failed to read {path}: ')}",
                           hint="the file is missing, corrupt or not a video") from None
    counts = [int(line[6:]) for line in out.splitlines() if line.startswith("frame=") and line[6:].strip().isdigit()]
    if not counts and not decode:  # ffmpeg < 8 (imageio-ffmpeg <= 0.7) reports no frame count for a stream copy
        return count_frames(path, decode=True)
    return counts[-1] if counts else 0


def check_video(written: Path, frames: int, target: Path) -> None:
    """Raise FileAccessError unless ``written`` (a temporary file about to become ``target``) decodes to exactly
    ``frames`` frames: ffmpeg exiting 0 is not enough to replace a good file."""
    try:
        got = count_frames(written)
        problem = None if got == frames else f"{got} of {frames} frames"
    except InputInvalid as exc:
        problem = f"it does not decode ({exc.message.split(': ', 1)[-1]})"
    if problem:
        raise FileAccessError(f"cannot write {target}: ffmpeg wrote an incomplete video ({problem}); the previous "
                              "file, if any, is kept",
                              hint="check the free space (`df -h`) and the disk, then run the command again; "
                                   "finished items are kept")


def _reader(path: Path):
    """imageio's ffmpeg reader (frames as (H, W, 3) uint8), its ffmpeg started with READ_PARAMS."""
    import imageio.v2 as imageio

    return imageio.get_reader(path, format="FFMPEG", input_params=READ_PARAMS)


def probe_video(path: Path) -> VideoInfo:
    """Metadata without decoding every frame (frame count from ffmpeg's estimate, else by counting)."""
    path = Path(path)
    try:
        with _reader(path) as reader:
            meta = reader.get_meta_data()
            fps = float(meta.get("fps") or 0.0)
            w, h = meta.get("size") or (0, 0)
            n = meta.get("nframes")
            if not isinstance(n, int) or n <= 0 or n == float("inf"):
                n = sum(1 for _ in reader)
        if not w or not h or not n:
            raise ValueError("no video stream")
        return VideoInfo(path=path, fps=fps, frames=int(n), width=int(w), height=int(h))
    except Exception as exc:  # imageio raises many types for broken files; all mean the same to a user
        raise InputInvalid(f"cannot read video {path}: {_first_line(exc)}",
                           hint="the file is missing, corrupt or not a video") from None


def read_video(path: Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video → (frames uint8 (T, H, W, 3), fps)."""
    path = Path(path)
    try:
        with _reader(path) as reader:
            fps = float(reader.get_meta_data().get("fps") or 0.0)
            frames = []
            for i, frame in enumerate(reader):
                if max_frames is not None and i >= max_frames:
                    break
                frames.append(np.asarray(frame)[..., :3])
        if not frames:
            raise ValueError("no frames")
        return np.stack(frames), fps
    except Exception as exc:
        raise InputInvalid(f"cannot read video {path}: {_first_line(exc)}",
                           hint="the file is missing, corrupt or not a video") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def write_video(path: Path, frames: np.ndarray, fps: float) -> Path:
    """Write (T, H, W, 3) uint8 frames to an mp4 atomically (H.264 at crf 10, exact size, yuv420p when both sides
    are even). The new file replaces ``path`` only once it decodes to all T frames."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
        raise ValueError(f"write_video needs (T, H, W, 3) frames with T ≥ 1, got shape {frames.shape}")
    t, h, w = frames.shape[:3]
    raw = memoryview(np.ascontiguousarray(frames).reshape(-1))
    pixfmt = "yuv420p" if h % 2 == 0 and w % 2 == 0 else "yuv444p"
    rate = str(Fraction(fps).limit_denominator())
    path = Path(path)
    with atomic_path(path) as tmp:
        run_ffmpeg(["-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}", "-pix_fmt", "rgb24",
                    "-r", rate, "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", pixfmt, "-crf", "10",
                    "-f", "mp4", str(tmp)], what=f"encode {path}", target=path, feed=raw)
        check_video(tmp, t, path)
    return path


def stream_params(path: Path) -> tuple:
    """What must match for clips to be joined by stream copy: codec, pixel format, size and frame rate (from the
    container header; nothing is decoded)."""
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path), input_params=READ_PARAMS)
    try:
        meta = next(gen)
    except Exception as exc:
        raise InputInvalid(f"cannot read video {path}: {_first_line(exc)}",
                           hint="the file is missing, corrupt or not a video") from None
    finally:
        gen.close()
    return (meta.get("codec"), meta.get("pix_fmt"), tuple(meta.get("size") or ()), meta.get("fps"))


def concat_videos(paths: list[Path], out: Path, fps: float) -> str:
    """Plain concatenation of scene clips (METHOD.md D: scenes are generated independently) into ``out``.

    Clips that share codec parameters (every render of one config does) are joined without re-encoding: ffmpeg's
    concat demuxer with stream copy, so story.mp4 holds exactly the scene clips' frames (no second lossy pass).
    Clips that differ (e.g. one scene re-rendered at another fps) are decoded and re-encoded once.
    Either way the new file replaces ``out`` only once it decodes to the clips' frame total.
    Returns the method used: ``copy`` or ``reencode``.
    """
    params = {stream_params(p) for p in paths}
    if len(params) == 1:
        _concat_copy(paths, out)
        return "copy"
    clips = [read_video(p)[0] for p in paths]
    shapes = {c.shape[1:] for c in clips}
    if len(shapes) != 1:
        raise InputInvalid(f"cannot stitch scene videos of different sizes {sorted(shapes)}",
                           hint="re-render every scene with the same height and width")
    write_video(out, np.concatenate(clips), fps)
    return "reencode"


def _concat_copy(paths: list[Path], out: Path) -> None:
    import tempfile

    total = sum(count_frames(p, decode=False) for p in paths)
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="dreamrunner-concat-") as tmpdir:
        listing = Path(tmpdir) / "clips.txt"
        # The concat demuxer's list syntax: one `file '<path>'` per line, a quote written as '\''.
        listing.write_text("".join("file '" + str(Path(p).resolve()).replace("'", "'\\''") + "'\n"
                                   for p in paths), encoding="utf-8")
        with atomic_path(out) as tmp:
            try:
                run_ffmpeg(["-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-map", "0:v",
                            "-movflags", "+faststart", "-f", "mp4", str(tmp)],
                           what=f"join the scene clips into {out}", target=out)
            except OSError:
                raise
            except DreamrunnerError as exc:
                if isinstance(exc, BackendUnavailable):
                    raise
                raise InputInvalid(exc.message.replace("ffmpeg failed to join", "ffmpeg could not join"),
                                   hint="re-render the scenes (`dreamrunner render WS --force`)") from None
            check_video(tmp, total, out)
