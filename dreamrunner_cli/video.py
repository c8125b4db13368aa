"""Video I/O with imageio + imageio-ffmpeg (a static ffmpeg ships in the wheel; no system ffmpeg needed).

Frames are uint8 arrays shaped (T, H, W, 3). Writes are atomic: a killed process never leaves a finished-looking mp4.
Unreadable videos raise InputInvalid naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputInvalid
from .workspace import atomic_path


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


def probe_video(path: Path) -> VideoInfo:
    """Metadata without decoding every frame (frame count from ffmpeg's estimate, else by counting)."""
    import imageio.v3 as iio

    path = Path(path)
    try:
        meta = iio.immeta(path, plugin="FFMPEG")
        fps = float(meta.get("fps") or 0.0)
        w, h = meta.get("size") or (0, 0)
        n = meta.get("nframes")
        if not isinstance(n, int) or n <= 0 or n == float("inf"):
            n = sum(1 for _ in iio.imiter(path, plugin="FFMPEG"))
        if not w or not h or not n:
            raise ValueError("no video stream")
        return VideoInfo(path=path, fps=fps, frames=int(n), width=int(w), height=int(h))
    except Exception as exc:  # imageio raises many types for broken files; all mean the same to a user
        raise InputInvalid(f"cannot read video {path}: {_first_line(exc)}",
                           hint="the file is missing, corrupt or not a video") from None


def read_video(path: Path, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video → (frames uint8 (T, H, W, 3), fps)."""
    import imageio.v3 as iio

    path = Path(path)
    try:
        fps = float(iio.immeta(path, plugin="FFMPEG").get("fps") or 0.0)
        frames = []
        for i, frame in enumerate(iio.imiter(path, plugin="FFMPEG")):
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
    """Write (T, H, W, 3) uint8 frames to an mp4 atomically (H.264, exact size: macro_block_size=1)."""
    import imageio.v2 as imageio

    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
    with atomic_path(Path(path)) as tmp:
        with imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
                                macro_block_size=1, pixelformat="yuv420p" if frames.shape[1] % 2 == 0
                                and frames.shape[2] % 2 == 0 else "yuv444p",
                                ffmpeg_log_level="error") as writer:
            for frame in frames:
                writer.append_data(frame)
    return Path(path)


def stream_params(path: Path) -> tuple:
    """What must match for clips to be joined by stream copy: codec, pixel format, size and frame rate (from the
    container header; nothing is decoded)."""
    import imageio_ffmpeg

    gen = imageio_ffmpeg.read_frames(str(path))
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
    import subprocess
    import tempfile

    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="dreamrunner-concat-") as tmpdir:
        listing = Path(tmpdir) / "clips.txt"
        # The concat demuxer's list syntax: one `file '<path>'` per line, a quote written as '\''.
        listing.write_text("".join("file '" + str(Path(p).resolve()).replace("'", "'\\''") + "'\n"
                                   for p in paths), encoding="utf-8")
        with atomic_path(Path(out)) as tmp:
            cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0",
                   "-i", str(listing), "-c", "copy", "-map", "0:v", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise InputInvalid(f"ffmpeg could not join the scene clips into {out}: "
                                   f"{(proc.stderr.strip().splitlines() or ['no message'])[-1]}",
                                   hint="re-render the scenes (`dreamrunner render WS --force`)")
