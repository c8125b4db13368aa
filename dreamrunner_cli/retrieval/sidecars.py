"""Pre-cut clip folders: one video file per clip with its caption beside it, as folders or as tar shards.

This is what video2dataset writes (Panda-70M's and InternVid's clips are cut by it; WebVid is downloaded by it):
each sample is ``KEY.mp4`` + ``KEY.json`` (its metadata: ``caption``, ``key``, ``url``, ``status``, the clip's span in
its source video as ``clips``, and any ``--save_additional_columns``) + ``KEY.txt`` (the caption), either

  * in shard folders (``--output_format files``, the default): ``DB/00000/0000000_00000.mp4``, ``.json``, ``.txt``, or
  * in tar shards (``--output_format webdataset``): ``DB/00000.tar`` holding the same members,

next to ``00000.parquet`` and ``00000_stats.json`` (ignored here). A sample whose download failed has a ``.json``
with ``"status": "failed_to_download"`` and no video: it is counted as unreadable, with the reason.

``read_clip_folder(db_dir, stats)`` walks the folder (sorted, streaming: memory does not grow with the number of
clips) and yields one ``CaptionRow`` per clip: the video's path relative to ``db_dir`` (for a tar member
``00000.tar#0000000_00000.mp4``), the caption (the ``.json``'s ``caption``, else the ``.txt``), and what the
``.json`` says of the file itself (duration, fps, frames, size). Never the ``clips`` / ``timestamp`` span: it is the
clip's place in its *source* video, and the clip file starts at 0.

Tar shards are read without extracting anything: headers are read and the video data is skipped (seeked over); only
the small ``.json`` / ``.txt`` members are read, each at most ``MAX_SIDECAR_BYTES``. Members that are links,
devices, absolute paths or climb out with ``..`` are refused; a damaged member or a corrupt shard is reported as an
unreadable row and the build goes on. The retrieve stage extracts a kept or scored tar member on demand, once, into
the cache (``media.local_file``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from ..bounds import BoundExceeded, loads_json
from .captions import ALIASES, CaptionRow, ReadStats, _int, _number, _RowError, _seconds

VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v")
SIDECAR_EXTS = (".json", ".txt")
MAX_SIDECAR_BYTES = 1 << 20  # a .json / .txt sidecar larger than this is refused (they are a few KB)
TAR_SEP = "#"  # "00000.tar#0000000_00000.mp4": a member of a tar shard, relative to the database folder
META_FIELDS = ("duration", "fps", "frames", "width", "height")  # what a sidecar may say of the clip file itself


def read_clip_folder(db_dir: Path, stats: ReadStats, *, exclude: tuple[Path, ...] = ()) -> Iterator[CaptionRow]:
    """Yield a row per clip under ``db_dir`` (folders of clips with sidecars, tar shards); fills ``stats``.

    ``exclude``: folders to skip (the index being written). ``stats.sha256`` hashes every sidecar's name and bytes
    and every video's name and size, in walking order: the index fingerprint changes when a clip is added, removed,
    replaced by one of another size, or recaptioned.
    """
    db_dir = Path(db_dir).resolve()
    digest = hashlib.sha256()
    skip = {Path(p).resolve() for p in exclude}
    for entry in _entries(db_dir, skip):  # top level: each folder or tar is one shard for the progress bar
        if entry.is_dir(follow_symlinks=False):
            yield from _read_dir(Path(entry.path), db_dir, stats, digest, skip)
        elif entry.name.endswith(".tar"):
            yield from _read_tar(Path(entry.path), db_dir, stats, digest)
        else:
            continue
        stats.shards_done += 1
    yield from _read_loose(db_dir, db_dir, stats, digest)  # clips lying in db_dir itself
    stats.sha256 = digest.hexdigest()


def count_shards(db_dir: Path, *, exclude: tuple[Path, ...] = ()) -> int:
    """Top-level folders and tar shards: the progress bar's total (one listing of ``db_dir``)."""
    skip = {Path(p).resolve() for p in exclude}
    return sum(1 for e in _entries(Path(db_dir).resolve(), skip)
               if e.is_dir(follow_symlinks=False) or e.name.endswith(".tar"))


def _entries(folder: Path, skip: set[Path]) -> list[os.DirEntry]:
    """Sorted entries, without hidden ones, the excluded folders and symlinked folders (no loops)."""
    try:
        with os.scandir(folder) as it:
            entries = [e for e in it if not e.name.startswith(".")
                       and not (skip and e.is_dir(follow_symlinks=False) and Path(e.path).resolve() in skip)]
    except OSError:
        return []
    return sorted(entries, key=lambda e: e.name)


def _read_dir(folder: Path, db_dir: Path, stats: ReadStats, digest: Any, skip: set[Path]) -> Iterator[CaptionRow]:
    yield from _read_loose(folder, db_dir, stats, digest)
    for entry in _entries(folder, skip):
        if entry.is_dir(follow_symlinks=False):
            yield from _read_dir(Path(entry.path), db_dir, stats, digest, skip)
        elif entry.name.endswith(".tar") and entry.is_file():
            yield from _read_tar(Path(entry.path), db_dir, stats, digest)


def _read_loose(folder: Path, db_dir: Path, stats: ReadStats, digest: Any) -> Iterator[CaptionRow]:
    """The clips lying directly in ``folder``: files grouped by key (the name without its extension)."""
    groups: dict[str, dict[str, Path]] = {}
    for entry in _entries(folder, set()):
        if not entry.is_file():
            continue
        key, ext = _split(entry.name)
        if ext in VIDEO_EXTS or ext in SIDECAR_EXTS:
            groups.setdefault(key, {})[ext] = Path(entry.path)
    for key in sorted(groups):
        files = groups[key]
        video = next((files[e] for e in VIDEO_EXTS if e in files), None)
        where = (video or files.get(".json") or files.get(".txt")).relative_to(db_dir).as_posix()
        try:
            sidecars = {ext: _read_bounded(files[ext]) for ext in SIDECAR_EXTS if ext in files}
            size = video.stat().st_size if video else 0
        except (OSError, _RowError) as exc:
            stats.lines += 1
            stats.bad(where, exc.strerror if isinstance(exc, OSError) else str(exc))
            continue
        rel = video.relative_to(db_dir).as_posix() if video else None
        yield from _sample(rel, sidecars, size, where, stats, digest)


def _read_bounded(path: Path) -> bytes:
    if path.stat().st_size > MAX_SIDECAR_BYTES:
        raise _RowError(f"{path.name} is larger than {MAX_SIDECAR_BYTES // 1024} KiB (not a sidecar)")
    return path.read_bytes()


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be read or extracted, or None. Links, devices and paths that leave the shard
    (absolute, '..') are refused: a tar is data from elsewhere."""
    if member.issym() or member.islnk():
        return f"is a link (to {member.linkname!r}); links in tar shards are refused"
    if not member.isfile():
        return "is not a regular file"
    parts = PurePosixPath(member.name).parts
    if member.name.startswith(("/", "\\")) or ".." in parts or "\\" in member.name or ":" in (parts[0] if parts
                                                                                               else ""):
        return "has an unsafe path (absolute, or climbing out with '..'); refused"
    return None


def _read_tar(path: Path, db_dir: Path, stats: ReadStats, digest: Any) -> Iterator[CaptionRow]:
    """A webdataset tar shard: samples are consecutive members sharing a key. Only sidecars are read."""
    rel = path.relative_to(db_dir).as_posix()
    try:
        tar = tarfile.open(path, mode="r:")  # plain tar: members' data is seeked over, never read
    except (tarfile.TarError, OSError) as exc:
        stats.lines += 1
        stats.bad(rel, f"not a readable tar shard ({_first_line(exc)}); skipped")
        return
    key: str | None = None
    files: dict[str, Any] = {}
    last = ""
    with tar:
        while True:
            try:
                member = tar.next()
            except (tarfile.TarError, OSError, EOFError) as exc:
                stats.lines += 1
                stats.bad(rel, f"corrupt after member {last!r} ({_first_line(exc)}); the rest of the shard is skipped")
                break
            if member is None:
                if _garbage_after(path, tar.offset):  # tarfile stops quietly at a damaged header
                    stats.lines += 1
                    stats.bad(rel, f"damaged header after member {last!r} (byte {tar.offset}); the rest of the "
                                   "shard is skipped")
                break
            last = member.name
            if member.isdir():
                continue
            problem = member_problem(member)
            if problem:
                stats.lines += 1
                stats.bad(f"{rel}{TAR_SEP}{member.name}", problem)
                continue
            k, ext = _split(member.name)
            if ext not in VIDEO_EXTS and ext not in SIDECAR_EXTS:
                continue
            if k != key:
                yield from _tar_sample(rel, key, files, tar, stats, digest)
                key, files = k, {}
            files[ext] = member
        yield from _tar_sample(rel, key, files, tar, stats, digest)


def _tar_sample(rel: str, key: str | None, files: dict[str, Any], tar: tarfile.TarFile, stats: ReadStats,
                digest: Any) -> Iterator[CaptionRow]:
    if key is None or not files:
        return
    video = next((files[e] for e in VIDEO_EXTS if e in files), None)
    first = video or files.get(".json") or files.get(".txt")
    where = f"{rel}{TAR_SEP}{first.name}"
    sidecars: dict[str, bytes] = {}
    for ext in SIDECAR_EXTS:
        member = files.get(ext)
        if member is None:
            continue
        if member.size > MAX_SIDECAR_BYTES:
            stats.lines += 1
            stats.bad(where, f"{member.name} is larger than {MAX_SIDECAR_BYTES // 1024} KiB (not a sidecar)")
            return
        try:
            f = tar.extractfile(member)
            data = f.read(MAX_SIDECAR_BYTES + 1) if f is not None else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            stats.lines += 1
            stats.bad(where, f"{member.name} cannot be read ({_first_line(exc)})")
            return
        if len(data) != member.size:
            stats.lines += 1
            stats.bad(where, f"{member.name} is truncated ({len(data)} of {member.size} bytes)")
            return
        sidecars[ext] = data
    yield from _sample(f"{rel}{TAR_SEP}{video.name}" if video else None, sidecars, video.size if video else 0,
                       where, stats, digest)


def _sample(video: str | None, sidecars: dict[str, bytes], size: int, where: str, stats: ReadStats,
            digest: Any) -> Iterator[CaptionRow]:
    """One clip's row from its video path (None: no video) and its sidecars' bytes."""
    meta: Any = None
    if ".json" in sidecars:
        try:
            meta = loads_json(sidecars[".json"].decode("utf-8", errors="replace"), where)
        except (json.JSONDecodeError, BoundExceeded) as exc:
            meta = exc
    if video is None:
        # A failed download leaves its .json (status failed_to_download); other lone files (a shard's
        # 00000_stats.json, notes) are not samples.
        if isinstance(meta, dict) and "status" in meta and meta.get("status") != "success":
            stats.lines += 1
            error = str(meta.get("error_message") or "")[:120]
            stats.bad(where, f"no video: status {meta.get('status')!r}" + (f" ({error})" if error else ""))
        return
    stats.lines += 1
    digest.update(f"{video}\0{size}\0".encode())
    for ext in SIDECAR_EXTS:
        digest.update(sidecars.get(ext, b"") + b"\0")
    if isinstance(meta, Exception):
        why = meta.msg if isinstance(meta, json.JSONDecodeError) else meta.message
        stats.bad(where, f"its .json is not valid JSON ({why})")
        return
    if meta is not None and not isinstance(meta, dict):
        stats.bad(where, "its .json is not a JSON object")
        return
    meta = meta or {}
    caption = _caption(meta) or sidecars.get(".txt", b"").decode("utf-8", errors="replace").strip()
    if not caption:
        stats.bad(where, "no caption: neither a caption in its .json nor a non-empty .txt")
        return
    try:
        row = CaptionRow(path=video, caption=" ".join(caption.split()), where=where, **_file_meta(meta))
    except _RowError as exc:
        stats.bad(where, str(exc))
        return
    stats.rows += 1
    yield row


def _caption(meta: dict[str, Any]) -> str:
    lower = {str(k).lower(): k for k in meta}
    for alias in ALIASES["caption"]:
        value = meta.get(lower.get(alias, ""))
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _file_meta(meta: dict[str, Any]) -> dict[str, Any]:
    lower = {str(k).lower(): k for k in meta}

    def get(field: str) -> Any:
        for alias in ALIASES[field]:
            if alias in lower:
                return meta[lower[alias]]
        return None

    return {"duration": _seconds(get("duration")), "fps": _number(get("fps"), "fps"),
            "frames": _int(get("frames"), "frames"), "width": _int(get("width"), "width"),
            "height": _int(get("height"), "height")}


def _split(name: str) -> tuple[str, str]:
    """'00000/0000000_00000.mp4' → ('00000/0000000_00000', '.mp4'); the extension in lower case."""
    base, dot, ext = name.rpartition(".")
    return (base, f".{ext.lower()}") if dot and "/" not in ext else (name, "")


def _garbage_after(path: Path, offset: int) -> bool:
    """True when the block where tarfile stopped is not the end-of-archive zeros (a damaged header)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            block = f.read(512)
    except OSError:
        return False
    return bool(block.strip(b"\0"))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
