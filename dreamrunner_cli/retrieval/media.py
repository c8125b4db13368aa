"""Probing database videos and decoding time windows of them (imageio-ffmpeg's bundled ffmpeg).

Database videos can be long (a Panda-70M / InternVid row is a few seconds inside a YouTube video) and large
(1080p), so a window is decoded by ffmpeg itself: seek to the start (``-ss`` before ``-i``), stop after the
window's length (``-t``), resample to the wanted frame rate (``fps`` filter) and scale down (``scale`` filter,
aspect kept, even sizes). Only the window's frames, at the wanted size, ever reach Python.

A clip inside a tar shard (video2dataset's webdataset output) has the path ``SHARD.tar#MEMBER``: ``local_file``
extracts that one member, once, into the cache (``$DREAMRUNNER_CACHE/tar-members/``), so ffmpeg can seek in it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_MEMBER_BYTES = 4 << 30  # a tar member larger than this is not extracted (a clip is a few MB)
_TAR_MEMBER = re.compile(r"^(?P<tar>.+\.tar)#(?P<member>[^#]+)$")


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


def tar_member(path: Path) -> tuple[Path, str] | None:
    """(shard, member) when ``path`` names a member of an existing tar shard ('/db/00000.tar#0000001.mp4')."""
    found = _TAR_MEMBER.match(str(path))
    if found and not Path(path).exists() and Path(found["tar"]).is_file():
        return Path(found["tar"]), found["member"]
    return None


def file_identity(path: Path) -> dict[str, int]:
    """Size and mtime of the video, or of its tar shard (cache keys). Raises MediaError when neither exists."""
    src = tar_member(path)
    try:
        st = (src[0] if src else Path(path)).stat()
    except OSError:
        raise MediaError("video file not found") from None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def local_file(path: Path) -> Path:
    """The file ffmpeg reads: ``path`` itself, or its tar member extracted once into the cache."""
    path = Path(path)
    if path.is_file():
        return path
    src = tar_member(path)
    if src is None:
        raise MediaError("video file not found")
    return extract_member(*src)


def extract_member(tar: Path, member: str) -> Path:
    """Extract one member of a plain tar to ``$DREAMRUNNER_CACHE/tar-members/<shard id>/<member>`` (atomic; kept,
    keyed by the shard's path, size and mtime). Links, unsafe paths and members over MAX_MEMBER_BYTES are refused."""
    import tarfile

    from ..cache import cache_dir
    from .sidecars import member_problem

    st = tar.stat()
    shard = hashlib.sha256(f"{tar.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
    try:
        with tarfile.open(tar, mode="r:") as tf:
            try:
                info = tf.getmember(member)
            except KeyError:
                raise MediaError(f"{tar.name} has no member {member!r}") from None
            problem = member_problem(info)
            if problem:
                raise MediaError(f"{tar.name}#{member} {problem}")
            if info.size > MAX_MEMBER_BYTES:
                raise MediaError(f"{tar.name}#{member} is {info.size / 2**30:.1f} GiB, over the "
                                 f"{MAX_MEMBER_BYTES >> 30} GiB limit for a clip")
            out = cache_dir() / "tar-members" / shard / member  # member_problem: no '..', not absolute
            if out.is_file() and out.stat().st_size == info.size:
                return out
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            src = tf.extractfile(info)
            if src is None:
                raise MediaError(f"{tar.name}#{member} cannot be read")
            try:
                with open(tmp, "wb") as f:
                    while chunk := src.read(1 << 20):
                        f.write(chunk)
                if tmp.stat().st_size != info.size:
                    raise MediaError(f"{tar.name}#{member} is truncated")
                os.replace(tmp, out)
            finally:
                tmp.unlink(missing_ok=True)
            return out
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise MediaError(f"cannot read {member!r} from {tar.name}: {_first_line(exc)}") from None


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

    path = local_file(path)
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
