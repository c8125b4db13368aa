"""Probing database videos and decoding time windows of them (imageio-ffmpeg's bundled ffmpeg).

Database videos can be long (a Panda-70M / InternVid row is a few seconds inside a YouTube video) and large
(1080p), so a window is decoded by ffmpeg itself: seek to the start (``-ss`` before ``-i``), stop after the
window's length (``-t``), resample to the wanted frame rate (``fps`` filter) and scale down (``scale`` filter,
aspect kept, even sizes). Only the window's frames, at the wanted size, ever reach Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


class MediaError(Exception):
    """A video that cannot be opened or decoded; the message is a short reason for the manifest."""


@dataclass
class Probe:
    fps: float
    duration: float
    width: int
    height: int

    @property
    def frames(self) -> int:
        return int(round(self.duration * self.fps))


def probe(path: Path) -> Probe:
    """Container metadata (fps, duration, size) without decoding frames."""
    meta, gen = _open(path, [], [])
    gen.close()
    w, h = meta.get("source_size") or meta.get("size") or (0, 0)
    fps, duration = float(meta.get("fps") or 0.0), float(meta.get("duration") or 0.0)
    if not w or not h:
        raise MediaError("no video stream")
    if fps <= 0 or duration <= 0:
        raise MediaError("unknown frame rate or duration")
    return Probe(fps=fps, duration=duration, width=int(w), height=int(h))


def read_window(path: Path, start: float, duration: float, fps: float, *, max_side: int | None = None,
                short_side: int | None = None, crop: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Decode ``duration`` seconds from ``start`` at ``fps`` → uint8 (T, H, W, 3).

    Args:
        crop: (x, y, w, h) in the source's pixels, applied before any scaling (the person segmenter's box).
        max_side: scale down so the longer side is at most this (never up).
        short_side: scale so the shorter side is exactly this (for scoring; overrides ``max_side``).

    Raises:
        MediaError: the file is missing, corrupt, or yields no frames in the window.
    """
    vf = [f"fps={fps:g}"]
    if crop is not None:
        x, y, w, h = (int(v) for v in crop)
        vf.append(f"crop={w}:{h}:{x}:{y}")
    if short_side:
        s = int(short_side)
        vf.append(f"scale='if(lt(iw,ih),{s},-2)':'if(lt(iw,ih),-2,{s})'")
    elif max_side:
        m = int(max_side)
        vf.append(f"scale='if(gte(iw,ih),min({m},iw),-2)':'if(gte(iw,ih),-2,min({m},ih))'")
    input_params = ["-ss", f"{max(start, 0.0):.3f}"] if start > 0 else []
    output_params = ["-t", f"{duration:.3f}", "-vf", ",".join(vf)]
    meta, gen = _open(path, input_params, output_params)
    w, h = meta["size"]
    frames = []
    try:
        for buf in gen:
            frames.append(np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3))
    except (RuntimeError, OSError, ValueError) as exc:
        raise MediaError(f"decoding failed: {_first_line(exc)}") from None
    finally:
        gen.close()
    if not frames:
        raise MediaError(f"no frames between {start:.2f}s and {start + duration:.2f}s")
    return np.stack(frames)


def _open(path: Path, input_params: list[str], output_params: list[str]):
    import logging

    import imageio_ffmpeg

    # imageio-ffmpeg warns whenever the output size differs from the source; scaling is the point here.
    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)

    path = Path(path)
    if not path.is_file():
        raise MediaError("video file not found")
    gen = imageio_ffmpeg.read_frames(str(path), input_params=input_params, output_params=output_params)
    try:
        meta = next(gen)
    except (RuntimeError, OSError, StopIteration, ValueError, IndexError) as exc:
        gen.close()
        raise MediaError(f"not a readable video: {_first_line(exc)}") from None
    return meta, gen


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    # ffmpeg's own complaint is usually the last line of imageio-ffmpeg's message.
    return (lines[-1] if lines else type(exc).__name__)[:200]
