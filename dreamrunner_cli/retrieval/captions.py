"""Streaming reader of video caption files: JSONL or CSV, with the column names public metadata files use.

One row = one clip: a video path (relative to the database folder, or absolute), a caption, and optionally a time
range inside the video and its duration / fps / frame count / size. Recognised columns (case-insensitive):

  path      path, video, video_path, file, filename, clip, clip_path, video_id, videoid, youtubeid, vid
  caption   caption, text, description, name, title, prompt
  start/end start, start_time, start_timestamp, start_sec / end, end_time, end_timestamp, end_sec
            (seconds, or "H:MM:SS.mmm", or "MM:SS")
  timestamp [start, end] as a pair, e.g. Panda-70M's ``timestamp`` column
  duration  duration, duration_s, length (seconds, "H:MM:SS" or ISO-8601 "PT00H00M11S" as in WebVid)
  fps, frames (num_frames, nframes, frame_count), width, height, resolution ("1280x720")

Panda-70M style rows, where ``caption`` and ``timestamp`` are lists (one entry per clip of the video), expand into
one row per clip. A path without a file extension gets ``.mp4`` (YouTube-id columns name downloaded ``<id>.mp4``
files). Rows that cannot be read (bad JSON, no path, no caption, a bad number, end ≤ start) are counted and the first
few are reported with their line numbers; they never stop the build. The file is hashed while it is read, so the
index fingerprint costs no second pass.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bounds import BoundExceeded, loads_json
from ..errors import InputInvalid

MAX_EXAMPLES = 10

ALIASES: dict[str, tuple[str, ...]] = {
    "path": ("path", "video", "video_path", "videopath", "file", "filename", "file_name", "clip", "clip_path",
             "video_id", "videoid", "youtubeid", "youtube_id", "vid"),
    "caption": ("caption", "text", "description", "name", "title", "prompt"),
    "start": ("start", "start_s", "start_sec", "start_time", "start_timestamp", "begin"),
    "end": ("end", "end_s", "end_sec", "end_time", "end_timestamp"),
    "timestamp": ("timestamp", "timestamps", "span"),
    "duration": ("duration", "duration_s", "duration_sec", "length", "seconds"),
    "fps": ("fps", "frame_rate", "framerate"),
    "frames": ("frames", "num_frames", "nframes", "frame_count", "n_frames"),
    "width": ("width",),
    "height": ("height",),
    "resolution": ("resolution", "size"),
}


@dataclass
class CaptionRow:
    """One clip of the database. Unknown numbers are None (the retrieve stage probes the video for them)."""

    path: str
    caption: str
    start: float | None = None
    end: float | None = None
    duration: float | None = None
    fps: float | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class ReadStats:
    """What reading a caption file found: good rows, unreadable rows (with examples), the file's sha256."""

    lines: int = 0
    rows: int = 0
    unreadable: int = 0
    expanded: int = 0
    examples: list[str] = field(default_factory=list)
    sha256: str = ""
    bytes_read: int = 0  # of the caption file so far (progress: a bar over the file's size)
    columns: dict[str, str] = field(default_factory=dict)

    def bad(self, where: str, why: str) -> None:
        self.unreadable += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {why}")


class _RowError(ValueError):
    pass


class _HashingReader(io.RawIOBase):
    """A raw binary reader that feeds every byte it returns into sha256 and counts them in ``stats``."""

    def __init__(self, f: Any, stats: ReadStats):
        self._f = f
        self.stats = stats
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        if n:
            self.hash.update(memoryview(b)[:n])
            self.stats.bytes_read += n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    raise InputInvalid(f"{path}: unknown caption file type {suffix!r}",
                       hint="give a .jsonl (one JSON object per line) or .csv/.tsv file with a header row")


def read_captions(path: Path, stats: ReadStats, *, path_column: str | None = None,
                  caption_column: str | None = None, default_ext: str = ".mp4") -> Iterator[CaptionRow]:
    """Yield the rows of a JSONL or CSV caption file, streaming; ``stats`` is filled in as it goes.

    Args:
        path: the caption file.
        stats: updated in place (counts, examples of unreadable rows, sha256 once the file is exhausted).
        path_column, caption_column: explicit column names, when the aliases above do not find them.
        default_ext: extension added to paths that have none.
    """
    path = Path(path)
    fmt = detect_format(path)
    try:
        if path.exists() and not path.is_file():  # a FIFO would block the open for ever, a folder fail oddly
            raise InputInvalid(f"caption file {path} is not a regular file",
                               hint="give the path of a JSONL or CSV file (copy a pipe's output to a file first)")
        raw = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise InputInvalid(f"cannot open caption file {path}: {exc.strerror}") from None
    hasher = _HashingReader(raw, stats)
    text = io.TextIOWrapper(io.BufferedReader(hasher, 1 << 20), encoding="utf-8", errors="replace", newline="")
    try:
        if fmt == "jsonl":
            yield from _read_jsonl(text, stats, path_column, caption_column, default_ext)
        else:
            yield from _read_csv(text, path, stats, path_column, caption_column, default_ext)
        # Drain whatever the parser did not consume (trailing bytes) so the digest covers the whole file.
        while text.read(1 << 20):
            pass
        stats.sha256 = hasher.hash.hexdigest()
    finally:
        text.close()


def _read_jsonl(text: io.TextIOBase, stats: ReadStats, path_col: str | None, caption_col: str | None,
                ext: str) -> Iterator[CaptionRow]:
    mapping_cache: dict[frozenset[str], dict[str, str]] = {}
    for lineno, line in enumerate(text, start=1):
        stats.lines += 1
        if not line.strip():
            continue
        try:
            obj = loads_json(line, f"line {lineno}")
        except json.JSONDecodeError as exc:
            stats.bad(f"line {lineno}", f"not JSON ({exc.msg})")
            continue
        except BoundExceeded as exc:  # 100,000 levels deep or a 5,000-digit number: one bad line, never a crash
            stats.bad(f"line {lineno}", exc.message.removeprefix(f"line {lineno}: "))
            continue
        if not isinstance(obj, dict):
            stats.bad(f"line {lineno}", "not a JSON object")
            continue
        keys = frozenset(obj)
        mapping = mapping_cache.get(keys)
        if mapping is None:
            mapping = mapping_cache[keys] = _map_columns(list(obj), path_col, caption_col)
            if not stats.columns:
                stats.columns = dict(mapping)
        yield from _rows(obj, mapping, f"line {lineno}", stats, ext)


def _read_csv(text: io.TextIOBase, path: Path, stats: ReadStats, path_col: str | None, caption_col: str | None,
              ext: str) -> Iterator[CaptionRow]:
    csv.field_size_limit(1 << 30)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputInvalid(f"{path}: cannot read the CSV header: {exc}") from None
    mapping = _map_columns(header, path_col, caption_col)
    stats.columns = dict(mapping)
    if "path" not in mapping or "caption" not in mapping:
        missing = [k for k in ("path", "caption") if k not in mapping]
        raise InputInvalid(
            f"{path}: no {' or '.join(missing)} column among {header}",
            hint="name the columns with --path-column / --caption-column (recognised names: "
                 f"{', '.join(ALIASES['path'][:4])} … / {', '.join(ALIASES['caption'][:4])} …)")
    width = len(header)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            stats.lines += 1
            stats.bad(f"line {reader.line_num}", f"bad CSV ({exc})")
            continue
        stats.lines += 1
        if not cells:
            continue
        if len(cells) != width:
            stats.bad(f"line {reader.line_num}", f"{len(cells)} cells, the header has {width}")
            continue
        yield from _rows(dict(zip(header, cells)), mapping, f"line {reader.line_num}", stats, ext)


def _map_columns(names: list[str], path_col: str | None, caption_col: str | None) -> dict[str, str]:
    """Logical field → the file's column name."""
    lower = {n.lower().strip(): n for n in names}
    out: dict[str, str] = {}
    for key, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lower:
                out[key] = lower[alias]
                break
    for key, explicit in (("path", path_col), ("caption", caption_col)):
        if explicit:
            if explicit not in names:
                raise InputInvalid(f"column {explicit!r} not found (columns: {names})",
                                   hint=f"check --{key}-column")
            out[key] = explicit
    return out


def _rows(obj: dict[str, Any], m: dict[str, str], where: str, stats: ReadStats, ext: str) -> Iterator[CaptionRow]:
    try:
        rows = list(_parse(obj, m, ext))
    except _RowError as exc:
        stats.bad(where, str(exc))
        return
    if len(rows) > 1:
        stats.expanded += len(rows) - 1
    stats.rows += len(rows)
    yield from rows


def _parse(obj: dict[str, Any], m: dict[str, str], ext: str) -> Iterator[CaptionRow]:
    if "path" not in m:
        raise _RowError("no video path (columns: path, video, video_id, …)")
    if "caption" not in m:
        raise _RowError("no caption (columns: caption, text, …)")
    vpath = _text(obj.get(m["path"]))
    if not vpath:
        raise _RowError(f"empty video path in column {m['path']!r}")
    if not Path(vpath).suffix and ext:
        vpath += ext
    captions = _maybe_list(obj.get(m["caption"]))
    common = {
        "duration": _seconds(obj.get(m["duration"])) if "duration" in m else None,
        "fps": _number(obj.get(m["fps"]), "fps") if "fps" in m else None,
        "frames": _int(obj.get(m["frames"]), "frames") if "frames" in m else None,
        "width": _int(obj.get(m["width"]), "width") if "width" in m else None,
        "height": _int(obj.get(m["height"]), "height") if "height" in m else None,
    }
    if "resolution" in m and common["width"] is None:
        res = _text(obj.get(m["resolution"]))
        found = re.fullmatch(r"\s*(\d+)\s*[x×*, ]\s*(\d+)\s*", res or "")
        if res and not found:
            raise _RowError(f"resolution {res!r} is not WIDTHxHEIGHT")
        if found:
            common["width"], common["height"] = int(found[1]), int(found[2])

    if isinstance(captions, list):  # Panda-70M: one row per (caption, timestamp) pair
        spans = _maybe_list(obj.get(m["timestamp"])) if "timestamp" in m else None
        if not isinstance(spans, list) or len(spans) != len(captions):
            raise _RowError("a list of captions needs a timestamp list of the same length")
        for cap, span in zip(captions, spans):
            start, end = _span(span)
            yield _row(vpath, cap, start, end, common)
        return
    start = _seconds(obj.get(m["start"])) if "start" in m else None
    end = _seconds(obj.get(m["end"])) if "end" in m else None
    if "timestamp" in m and start is None and obj.get(m["timestamp"]) not in (None, ""):
        start, end = _span(_maybe_list(obj.get(m["timestamp"])))
    yield _row(vpath, captions, start, end, common)


def _row(vpath: str, caption: Any, start: float | None, end: float | None, common: dict[str, Any]) -> CaptionRow:
    text = _text(caption)
    if not text or not text.strip():
        raise _RowError("empty caption")
    if start is not None and end is not None and end <= start:
        raise _RowError(f"end {end} ≤ start {start}")
    return CaptionRow(path=vpath, caption=" ".join(text.split()), start=start, end=end, **common)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _maybe_list(value: Any) -> Any:
    """CSV cells hold lists as Python/JSON literals ("['a', 'b']"); literal_eval evaluates literals only."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
    return value


def _span(span: Any) -> tuple[float, float]:
    if not isinstance(span, (list, tuple)) or len(span) != 2:
        raise _RowError(f"timestamp {span!r} is not a [start, end] pair")
    start, end = _seconds(span[0]), _seconds(span[1])
    if start is None or end is None:
        raise _RowError(f"timestamp {span!r} has an empty value")
    return start, end


_ISO = re.compile(r"P(?:(\d+)D)?T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", re.I)


def _seconds(value: Any) -> float | None:
    """12.5, "12.5", "0:00:12.500", "00:12", "PT00H00M12S" → seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out = float(value)
    else:
        s = str(value).strip()
        try:
            out = float(s)
        except ValueError:
            if ":" in s:
                try:
                    parts = [float(p) for p in s.split(":")]
                except ValueError:
                    raise _RowError(f"time {s!r} is not seconds or H:MM:SS") from None
                out = 0.0
                for p in parts:
                    out = out * 60 + p
            else:
                iso = _ISO.fullmatch(s)
                if not iso or not any(iso.groups()):
                    raise _RowError(f"time {s!r} is not seconds, H:MM:SS or ISO-8601") from None
                d, h, mi, se = (float(g) if g else 0.0 for g in iso.groups())
                out = d * 86400 + h * 3600 + mi * 60 + se
    if not math.isfinite(out) or out < 0:
        raise _RowError(f"time {value!r} is not a non-negative number")
    return out


def _number(value: Any, what: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and "/" in value:  # ffprobe-style "30000/1001"
            num, _, den = value.partition("/")
            try:
                out = float(num) / float(den)
            except (ValueError, ZeroDivisionError):
                raise _RowError(f"{what} {value!r} is not a number") from None
        else:
            raise _RowError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(out) or out <= 0:
        raise _RowError(f"{what} {value!r} must be positive")
    return out


def _int(value: Any, what: str) -> int | None:
    out = _number(value, what)
    return None if out is None else int(round(out))
