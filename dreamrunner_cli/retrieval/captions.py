"""Streaming reader of video caption files: JSONL, CSV or Parquet, with the column names public metadata files use.

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
files). A path template (``--path-template '{page_dir}/{videoid}.mp4'``, WebVid's layout) builds the path from any
columns instead. Parquet files are read batch by batch with pyarrow (the ``parquet`` extra), only the columns used.
Rows that cannot be read (bad JSON, no path, no caption, a bad number, end ≤ start) are counted and the first few are
reported with their line numbers; they never stop the build. The file is hashed while it is read, so the index
fingerprint costs no second pass (Parquet: hashed after reading).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import io
import json
import math
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bounds import BoundExceeded, loads_json
from ..errors import BackendUnavailable, InputInvalid, UsageError

MAX_EXAMPLES = 10
PARQUET_BATCH_ROWS = 10_000

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
    where: str = ""  # "line 12" / "row 12" / a sidecar's path: where the row came from, for messages


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
    shards_done: int = 0  # clip folders: top-level shards (folders, tars) read so far (progress)
    columns: dict[str, str] = field(default_factory=dict)
    missing_files: int = 0  # rows dropped by --check-files
    missing_example: str = ""  # the first of them: "line 2: /db/videos/001/1066.mp4"

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
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputInvalid(f"{path}: unknown caption file type {suffix!r}",
                       hint="give a .jsonl (one JSON object per line), .csv/.tsv (with a header row) or .parquet file")


def template_fields(template: str) -> list[str]:
    """The column names a path template uses: '{page_dir}/{videoid}.mp4' → ['page_dir', 'videoid'].

    Only plain ``{column}`` fields: no format specs, conversions, attributes or indexes (a template is data, not
    code). Raises UsageError (exit 2) naming the bad field."""
    how = "write each column as {column}, e.g. --path-template '{page_dir}/{videoid}.mp4'"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UsageError(f"--path-template {template!r} is not a valid template: {exc}", hint=how) from None
    fields = []
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if not name.strip() or spec or conv or any(c in name for c in ".[]"):
            shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise UsageError(f"--path-template {template!r}: {shown} is not a plain column name", hint=how)
        fields.append(name)
    if not fields:
        raise UsageError(f"--path-template {template!r} names no column", hint=how)
    return fields


def read_captions(path: Path, stats: ReadStats, *, path_column: str | None = None,
                  caption_column: str | None = None, default_ext: str = ".mp4",
                  path_template: str | None = None) -> Iterator[CaptionRow]:
    """Yield the rows of a JSONL, CSV or Parquet caption file, streaming; ``stats`` is filled in as it goes.

    Args:
        path: the caption file.
        stats: updated in place (counts, examples of unreadable rows, sha256 once the file is exhausted).
        path_column, caption_column: explicit column names, when the aliases above do not find them.
        default_ext: extension added to paths that have none.
        path_template: build each video path from columns ('{page_dir}/{videoid}.mp4'); replaces the path column.
    """
    path = Path(path)
    fmt = detect_format(path)
    cols = _Wanted(path_column, caption_column, path_template, template_fields(path_template) if path_template else [])
    if path_column and path_template:
        raise UsageError("--path-column and --path-template both say where the video is",
                         hint="give one of them (a template can use any column: '{videoid}.mp4')")
    if fmt == "parquet":
        yield from _read_parquet(path, stats, cols, default_ext)
        return
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
            yield from _read_jsonl(text, path, stats, cols, default_ext)
        else:
            yield from _read_csv(text, path, stats, cols, default_ext)
        # Drain whatever the parser did not consume (trailing bytes) so the digest covers the whole file.
        while text.read(1 << 20):
            pass
        stats.sha256 = hasher.hash.hexdigest()
    finally:
        text.close()


@dataclass(frozen=True)
class _Wanted:
    """The columns the user named: explicit path / caption columns, or a path template and its fields."""

    path: str | None = None
    caption: str | None = None
    template: str | None = None
    fields: list[str] = field(default_factory=list)


def _read_jsonl(text: io.TextIOBase, path: Path, stats: ReadStats, cols: _Wanted, ext: str) -> Iterator[CaptionRow]:
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
            if not stats.columns:  # the first object names the columns: a named column it lacks is an error
                mapping = _map_columns(list(obj), cols, path)
                stats.columns = _shown(mapping)
            else:  # a later object without a named column is one bad row, not a failed build
                try:
                    mapping = _map_columns(list(obj), cols, None, owner="this row")
                except InputInvalid as exc:
                    stats.bad(f"line {lineno}", exc.message)
                    continue
            mapping_cache[keys] = mapping
        yield from _rows(obj, mapping, f"line {lineno}", stats, ext)


def _read_csv(text: io.TextIOBase, path: Path, stats: ReadStats, cols: _Wanted, ext: str) -> Iterator[CaptionRow]:
    csv.field_size_limit(1 << 30)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputInvalid(f"{path}: cannot read the CSV header: {exc}") from None
    mapping = _map_columns(header, cols, path)
    stats.columns = _shown(mapping)
    _require_path_and_caption(mapping, header, path)
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


def _read_parquet(path: Path, stats: ReadStats, cols: _Wanted, ext: str) -> Iterator[CaptionRow]:
    """Parquet, batch by batch (only the columns used are read); the file is hashed in a separate pass."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BackendUnavailable(f"reading the Parquet caption file {path} needs pyarrow, which is not installed",
                                 hint="pip install 'dreamrunner[parquet]' (or: pip install pyarrow), or convert the "
                                      "file to CSV or JSONL") from None
    if path.exists() and not path.is_file():
        raise InputInvalid(f"caption file {path} is not a regular file", hint="give the path of a Parquet file")
    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
        total = pf.metadata.num_rows
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputInvalid(f"{path}: not a readable Parquet file ({_first_line(exc)})",
                           hint="check the file (a partial download?), or give a CSV or JSONL file") from None
    mapping = _map_columns(names, cols, path)
    stats.columns = _shown(mapping)
    _require_path_and_caption(mapping, names, path)
    used = [n for n in names if n in set(mapping.values())]
    size = path.stat().st_size
    done = 0
    try:
        for batch in pf.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=used):
            for obj in batch.to_pylist():
                done += 1
                stats.lines += 1
                yield from _rows(obj, mapping, f"row {done}", stats, ext)
            stats.bytes_read = size * done // max(total, 1)
    except (pa.ArrowException, OSError, ValueError) as exc:  # a damaged row group: the rest cannot be read
        stats.bad(f"rows {done + 1}-{total}", f"cannot be read ({_first_line(exc)})")
        stats.unreadable += max(total - done - 1, 0)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    stats.sha256 = digest.hexdigest()
    stats.bytes_read = size


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _require_path_and_caption(mapping: dict[str, str], names: list[str], path: Path) -> None:
    if "path" not in mapping or "caption" not in mapping:
        missing = [k for k in ("path", "caption") if k not in mapping]
        raise InputInvalid(
            f"{path}: no {' or '.join(missing)} column among {names}",
            hint="name the columns with --path-column (or --path-template) / --caption-column (recognised names: "
                 f"{', '.join(ALIASES['path'][:4])} … / {', '.join(ALIASES['caption'][:4])} …)")


def _shown(mapping: dict[str, str]) -> dict[str, str]:
    """The mapping as recorded in index.json (and the fingerprint): without the template's internal entries."""
    return {k: v for k, v in mapping.items() if not k.startswith("tpl:")}


def _map_columns(names: list[str], cols: _Wanted, source: Path | None = None, owner: str = "the file"
                 ) -> dict[str, str]:
    """Logical field → the file's column name. With a path template, "path" is the template and "tpl:<field>" the
    column each field reads."""
    lower = {n.lower().strip(): n for n in names}
    out: dict[str, str] = {}
    for key, aliases in ALIASES.items():
        for alias in aliases:
            if alias in lower:
                out[key] = lower[alias]
                break
    where = f"{source}: " if source else ""
    for key, explicit in (("path", cols.path), ("caption", cols.caption)):
        if explicit:
            if explicit not in names:
                raise InputInvalid(f"{where}column {explicit!r} (--{key}-column) not found in {owner}",
                                   hint=f"the columns are: {', '.join(map(str, names))}")
            out[key] = explicit
    if cols.template:
        for name in cols.fields:
            column = name if name in names else lower.get(name.lower().strip())
            if column is None:
                raise InputInvalid(f"{where}--path-template {cols.template!r} uses column {name!r}, which {owner} "
                                   "does not have", hint=f"the columns are: {', '.join(map(str, names))}")
            out[f"tpl:{name}"] = column
        out["path"] = out["path_template"] = cols.template
    return out


def _rows(obj: dict[str, Any], m: dict[str, str], where: str, stats: ReadStats, ext: str) -> Iterator[CaptionRow]:
    try:
        rows = list(_parse(obj, m, ext))
    except _RowError as exc:
        stats.bad(where, str(exc))
        return
    for r in rows:
        r.where = where
    if len(rows) > 1:
        stats.expanded += len(rows) - 1
    stats.rows += len(rows)
    yield from rows


def _parse(obj: dict[str, Any], m: dict[str, str], ext: str) -> Iterator[CaptionRow]:
    if "path" not in m:
        raise _RowError("no video path (columns: path, video, video_id, …)")
    if "caption" not in m:
        raise _RowError("no caption (columns: caption, text, …)")
    if "path_template" in m:
        vpath = _fill_template(obj, m)
    else:
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


def _fill_template(obj: dict[str, Any], m: dict[str, str]) -> str:
    values = {}
    for key, column in m.items():
        if key.startswith("tpl:"):
            value = _text(obj.get(column))
            if value is None or not value.strip():
                raise _RowError(f"empty {column!r}, which --path-template uses")
            values[key[4:]] = value.strip()
    return m["path_template"].format_map(values)


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
    if isinstance(value, float) and value.is_integer():  # an id read as a number (Parquet, JSON): 1066.0 → "1066"
        return str(int(value))
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
