"""The video database index: a BM25 index over captions plus a compact, memory-mapped metadata table.

Layout of an index folder (``dreamrunner index build DB_DIR --captions FILE`` → ``DB_DIR/index``; without
``--captions``, DB_DIR is read as a folder of pre-cut clips with sidecars or tar shards, retrieval/sidecars.py)::

    index.json               format, counts, columns found, tokenizer + stemmer, BM25 parameters, fingerprint, db
    bm25/                    bm25s's on-disk format (loaded with ``bm25s.BM25.load(..., mmap=True)``)
      data.csc.index.npy     float32 (nnz,)   BM25 weight of each (token, doc) posting, column-major
      indices.csc.index.npy  int32   (nnz,)   doc id of each posting
      indptr.csc.index.npy   int64   (V+1,)   postings of token t are [indptr[t], indptr[t+1])
      vocab.index.json, params.index.json
    meta/rows.npy            structured (N,): start, end, duration, fps (float32, NaN = unknown),
                             frames, width, height (int32, -1 = unknown)
    meta/paths.bin + paths.offsets.npy        UTF-8 video paths, int64 offsets (N+1,)
    meta/captions.bin + captions.offsets.npy  UTF-8 captions, int64 offsets (N+1,)

Building streams (METHOD.md B.1 at InternVid / Panda-70M scale): pass 1 reads the caption file chunk by chunk and
appends each document's (token id, term frequency) pairs and its metadata to flat binary files; pass 2 turns the
postings into the column-major (CSC) matrix with a chunked counting sort written straight into memory-mapped
``.npy`` files. Only the vocabulary (a dict) and per-token counts live in Python; memory does not grow with the
number of captions.

Scoring is Lucene's BM25 (bm25s's ``method="lucene"``): for each query token t in document d,
    idf(t) · tf / (tf + k1 · (1 − b + b · |d| / avgdl)),   idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5)),
with k1 = 1.5, b = 0.75. Lucene's idf is positive and strictly decreasing in df, so a rarer word always weighs more.
(rank_bm25's Okapi idf, ln((N − df + 0.5)/(df + 0.5)) with negative values floored at 0.25 × the mean idf, is not
monotone: a word in most captions — "person" in "person is walking" — got the floor, which can exceed the idf of a
moderately common word, so "a person is cooking" outranked "a man is walking".) Weights are precomputed per
posting, so the two backends give the same scores: ``bm25s`` (memory-mapped, any size; the default) and
``rank_bm25`` (in memory, small databases: rank_bm25's BM25Okapi with Lucene's idf, divided by k1 + 1).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputInvalid, UsageError
from ..progress import Reporter, reporter
from ..workspace import digest
from .captions import CaptionRow, ReadStats, read_captions, template_fields
from .text import TOKENIZER_NAME, tokenize

FORMAT = "dreamrunner-video-index"
FORMAT_VERSION = 2  # 2: Lucene idf and scoring, optional stemmer
INDEX_FILE = "index.json"
K1, B = 1.5, 0.75
SCORING = "lucene"
DEFAULT_STEMMER = "english"
RANK_BM25_MAX_ROWS = 200_000
BACKENDS = ("bm25s", "rank_bm25")
ROW_DTYPE = np.dtype([("start", "<f4"), ("end", "<f4"), ("duration", "<f4"), ("fps", "<f4"),
                      ("frames", "<i4"), ("width", "<i4"), ("height", "<i4")])


# Building ----------------------------------------------------------------------------------------------------------


class _Appender:
    """Append numpy chunks (or bytes) to a flat binary file."""

    def __init__(self, path: Path):
        self.path = path
        self.f = open(path, "wb")  # noqa: SIM115 (closed in close())
        self.count = 0

    def add(self, arr: np.ndarray) -> None:
        self.f.write(np.ascontiguousarray(arr).tobytes())
        self.count += len(arr)

    def add_bytes(self, data: bytes) -> None:
        self.f.write(data)
        self.count += len(data)

    def close(self) -> None:
        self.f.close()


@dataclass
class _Pass1:
    """Flat files written by pass 1 and the counts pass 2 needs."""

    tmp: Path
    vocab: dict[str, int]
    df: np.ndarray  # (V,) int64 documents per token
    rows: int
    total_len: int
    nnz: int


def build_index(db_dir: Path, captions: Path | None, out: Path | None = None, *, path_column: str | None = None,
                caption_column: str | None = None, default_ext: str = ".mp4", check_files: bool = False,
                chunk_rows: int = 50_000, progress: Reporter | None = None,
                stemmer: str | None = DEFAULT_STEMMER, path_template: str | None = None) -> dict[str, Any]:
    """Index a caption file, or a folder of pre-cut clips, (streaming) into ``out`` (default ``DB_DIR/index``),
    atomically.

    Args:
        db_dir: the database folder; video paths in the caption file are relative to it (or absolute).
        captions: JSONL, CSV or Parquet caption file (see ``captions.py`` for the recognised columns); None: read
            ``db_dir`` as a folder of clips with ``.json`` / ``.txt`` sidecars or tar shards (``sidecars.py``).
        out: index folder to write; an existing index there is replaced only once the new one is complete.
        check_files: count rows whose video file does not exist as unreadable (one ``stat`` per row).
        path_template: build each video path from the file's columns, e.g. ``'{page_dir}/{videoid}.mp4'``.
        chunk_rows: rows per processing chunk in every pass (memory vs. speed; 50k rows ≈ tens of MB).
        progress: where to show progress (``progress.reporter``): a bar over the caption file's bytes with the rows
            indexed so far, then the BM25 pass and writing as phases. None: silent.
        stemmer: PyStemmer language for the tokens ('english', the default), or None for no stemming.

    Returns:
        A summary: rows, unreadable rows (count and first examples), vocabulary size, postings, bytes on disk,
        seconds, rows per second, fingerprint.

    Raises:
        InputInvalid: the file cannot be read at all, or no row is readable.
    """
    t0 = time.perf_counter()
    db_dir = Path(db_dir).resolve()
    if not db_dir.is_dir():
        raise InputInvalid(f"database folder {db_dir} does not exist", hint="give the folder holding the videos")
    if captions is not None:
        captions = Path(captions)
        if not captions.is_absolute() and not captions.exists() and (db_dir / captions).exists():
            captions = db_dir / captions
        captions = captions.resolve()
        if not captions.is_file():
            raise InputInvalid(f"caption file {captions} not found",
                               hint="pass --captions PATH (JSONL, CSV or Parquet), or leave --captions out to index "
                                    "a folder of clips with .json/.txt sidecars or .tar shards")
    else:
        used = [flag for flag, v in (("--path-column", path_column), ("--caption-column", caption_column),
                                     ("--path-template", path_template)) if v]
        if used:
            raise UsageError(f"{', '.join(used)} read a caption file's columns, but no --captions file was given",
                             hint="pass --captions FILE, or leave those options out to index the clips and sidecars "
                                  f"in {db_dir}")
    if path_template:
        template_fields(path_template)  # a malformed template is exit 2 before anything is read
    stemmer = None if stemmer in (None, "", "none") else stemmer
    if stemmer:
        from .text import stem_words

        stem_words(stemmer)  # fail before reading anything when PyStemmer or the language is missing
    out = Path(out).resolve() if out is not None else db_dir / "index"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _mkdtemp(out.parent, ".tmp-index-")
    try:
        stats = ReadStats()
        rep = progress or reporter(False)
        if captions is not None:
            rows = read_captions(captions, stats, path_column=path_column, caption_column=caption_column,
                                 default_ext=default_ext, path_template=path_template)
            if check_files:
                rows = _existing(rows, db_dir, stats)
            # The rows stream in: the file's size is the one total known in advance.
            size = captions.stat().st_size
            scale, unit = (2**20, "MiB") if size >= 2**20 else (2**10, "KiB")
            label, total, done = "read captions", size / scale, lambda: stats.bytes_read / scale
        else:
            from .sidecars import count_shards, read_clip_folder

            rows = read_clip_folder(db_dir, stats, exclude=(out, tmp))
            label, total, unit, done = "read clips", count_shards(db_dir, exclude=(out, tmp)), "shards", \
                lambda: stats.shards_done
        with rep.bar(label, total=total, unit=unit) as bar:
            p1 = _pass1(rows, tmp, chunk_rows, lambda n: bar.update(done(), note=f"{n:,} rows"), stemmer)
        if p1.rows == 0:
            raise _nothing_readable(captions, db_dir, stats, path_template)
        with rep.phase("BM25 weights", f"({p1.rows:,} rows, vocabulary {len(p1.vocab):,})"):
            bm25_info = _pass2(p1, tmp, chunk_docs=chunk_rows)
            _finish_meta(tmp, p1.rows, chunk=chunk_rows)
        info = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "rows": p1.rows, "unreadable": stats.unreadable,
            "unreadable_examples": stats.examples, "expanded_rows": stats.expanded, "lines": stats.lines,
            "source": {"path": str(captions or db_dir), "kind": "captions" if captions else "clips",
                       "sha256": stats.sha256, "columns": stats.columns},
            "db_dir": _rel_or_abs(db_dir, out), "default_ext": default_ext, "check_files": check_files,
            "path_template": path_template,
            "tokenizer": TOKENIZER_NAME, "stemmer": stemmer, "bm25": bm25_info,
        }
        info["fingerprint"] = digest({k: info[k] for k in ("format", "format_version", "rows", "tokenizer", "stemmer",
                                                           "bm25",
                                                           "default_ext", "check_files")}
                                     | {"source_sha256": stats.sha256, "columns": stats.columns})
        (tmp / INDEX_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        for scratch in tmp.glob("*.raw"):
            scratch.unlink()
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - t0
    return {"index": str(out), "rows": info["rows"], "unreadable": info["unreadable"],
            "unreadable_examples": info["unreadable_examples"], "expanded_rows": info["expanded_rows"],
            "vocabulary": bm25_info["vocabulary"], "postings": bm25_info["postings"], "bytes": dir_bytes(out),
            "seconds": round(seconds, 3), "rows_per_s": round(info["rows"] / max(seconds, 1e-9), 1),
            "fingerprint": info["fingerprint"], "columns": stats.columns}


def _existing(rows: Any, db_dir: Path, stats: ReadStats) -> Any:
    last: tuple[str, bool] = ("", False)
    for row in rows:
        if row.path != last[0]:  # consecutive rows of one video (Panda-70M) cost one stat
            last = (row.path, (db_dir / row.path).is_file())
        if last[1]:
            yield row
        else:
            stats.rows -= 1
            stats.missing_files += 1
            where = row.where or f"row {row.path}"
            if not stats.missing_example:
                stats.missing_example = f"{where}: {db_dir / row.path}"
            stats.bad(where, f"video file not found: {db_dir / row.path} (--check-files)")


def _nothing_readable(captions: Path | None, db_dir: Path, stats: ReadStats, template: str | None) -> InputInvalid:
    """No row survived: say why (missing video files, or the columns), with a hint that fits the cause."""
    if captions is None:
        return InputInvalid(f"no clips found in {db_dir} ({stats.unreadable} unreadable)", details=stats.examples,
                            hint="without --captions, DB_DIR must hold clips with a .json or .txt caption beside each "
                                 "video (KEY.mp4 + KEY.json / KEY.txt, video2dataset's layout), in folders or .tar "
                                 "shards; otherwise pass --captions FILE")
    if stats.missing_files and stats.missing_files == stats.unreadable:
        how = (f"the path template {template!r}" if template else
               f"the path column ({stats.columns.get('path', '?')!r}) and --video-ext")
        return InputInvalid(
            f"none of the {stats.missing_files:,} rows of {captions} names a video file that exists under {db_dir} "
            "(--check-files)", details=stats.examples,
            hint=f"e.g. {stats.missing_example} does not exist. Video paths are relative to DB_DIR ({db_dir}): give "
                 f"the folder that holds them, or fix {how}; use --path-template to build paths from columns, e.g. "
                 "'{page_dir}/{videoid}.mp4'")
    return InputInvalid(f"no readable rows in {captions} ({stats.unreadable} unreadable)", details=stats.examples,
                        hint="check the columns (a video path and a caption per row are required)")


def _pass1(rows: Any, tmp: Path, chunk_rows: int, progress: Callable[[int], None] | None,
           stemmer: str | None = None) -> _Pass1:
    """Stream rows → per-doc unique (token, tf) postings, doc lengths, metadata; returns the counts."""
    files = {name: _Appender(tmp / f"{name}.raw") for name in
             ("post_tok", "post_tf", "doc_nnz", "doc_len", "rows", "paths_len", "captions_len")}
    paths_blob = _Appender(tmp / "paths.bin")
    caps_blob = _Appender(tmp / "captions.bin")
    vocab: dict[str, int] = {}
    df = np.zeros(1024, dtype=np.int64)
    n_rows = total_len = nnz = 0
    buf: list[CaptionRow] = []

    def flush() -> None:
        nonlocal df, n_rows, total_len, nnz
        if not buf:
            return
        # Token ids per document (the vocabulary grows as new words appear).
        ids: list[int] = []
        lens = np.empty(len(buf), dtype=np.int64)
        for i, row in enumerate(buf):
            toks = tokenize(row.caption, stemmer)
            lens[i] = len(toks)
            for t in toks:
                tid = vocab.get(t)
                if tid is None:
                    tid = vocab[t] = len(vocab)
                ids.append(tid)
        flat = np.asarray(ids, dtype=np.int64)  # (sum lens,)
        doc = np.repeat(np.arange(len(buf), dtype=np.int64), lens)
        # Unique (doc, token) pairs with their counts = term frequencies; sorted by doc, then token.
        keys, tf = np.unique((doc << 32) | flat, return_counts=True)
        tok = (keys & 0xFFFFFFFF).astype(np.int32)
        per_doc = np.bincount(keys >> 32, minlength=len(buf)).astype(np.int32)
        if len(vocab) > len(df):
            df = np.concatenate([df, np.zeros(max(len(vocab), 2 * len(df)) - len(df), dtype=np.int64)])
        df += np.bincount(tok, minlength=len(df))[: len(df)]
        files["post_tok"].add(tok)
        files["post_tf"].add(tf.astype(np.int32))
        files["doc_nnz"].add(per_doc)
        files["doc_len"].add(lens.astype(np.int32))
        files["rows"].add(_meta_array(buf))
        p = [r.path.encode("utf-8") for r in buf]
        c = [r.caption.encode("utf-8") for r in buf]
        files["paths_len"].add(np.fromiter((len(x) for x in p), dtype=np.int64, count=len(p)))
        files["captions_len"].add(np.fromiter((len(x) for x in c), dtype=np.int64, count=len(c)))
        paths_blob.add_bytes(b"".join(p))
        caps_blob.add_bytes(b"".join(c))
        n_rows += len(buf)
        total_len += int(lens.sum())
        nnz += len(tok)
        buf.clear()
        if progress:
            progress(n_rows)

    for row in rows:
        buf.append(row)
        if len(buf) >= chunk_rows:
            flush()
    flush()
    for f in [*files.values(), paths_blob, caps_blob]:
        f.close()
    return _Pass1(tmp=tmp, vocab=vocab, df=df[: len(vocab)], rows=n_rows, total_len=total_len, nnz=nnz)


def _meta_array(buf: list[CaptionRow]) -> np.ndarray:
    out = np.empty(len(buf), dtype=ROW_DTYPE)
    nan = float("nan")
    for i, r in enumerate(buf):
        out[i] = (nan if r.start is None else r.start, nan if r.end is None else r.end,
                  nan if r.duration is None else r.duration, nan if r.fps is None else r.fps,
                  -1 if r.frames is None else r.frames, -1 if r.width is None else r.width,
                  -1 if r.height is None else r.height)
    return out


def lucene_idf(df: np.ndarray | float, n_docs: int) -> np.ndarray:
    """Lucene's idf: ln(1 + (N − df + 0.5) / (df + 0.5)); positive and strictly decreasing in df."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))  # float64 (V,)


def _pass2(p1: _Pass1, tmp: Path, chunk_docs: int = 100_000) -> dict[str, Any]:
    """Postings (doc-major) → CSC matrix (token-major) in memory-mapped .npy files, in bm25s's layout.

    Works on ``chunk_docs`` documents at a time (≈ 1–2 M postings): memory is bounded by the chunk, not by N.
    """
    V, N = len(p1.vocab), p1.rows
    avgdl = p1.total_len / N
    idf = lucene_idf(p1.df, N)
    bm25_dir = tmp / "bm25"
    bm25_dir.mkdir()
    indptr = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(p1.df, out=indptr[1:])
    assert indptr[-1] == p1.nnz, "postings and document frequencies disagree"
    open_memmap = np.lib.format.open_memmap
    data = open_memmap(bm25_dir / "data.csc.index.npy", mode="w+", dtype=np.float32, shape=(max(p1.nnz, 1),))
    indices = open_memmap(bm25_dir / "indices.csc.index.npy", mode="w+", dtype=np.int32, shape=(max(p1.nnz, 1),))
    heads = indptr[:-1].copy()  # next free slot of each column
    if p1.nnz:
        doc_nnz = np.memmap(tmp / "doc_nnz.raw", dtype=np.int32, mode="r")  # (N,)
        doc_len = np.memmap(tmp / "doc_len.raw", dtype=np.int32, mode="r")  # (N,)
        tok_mm = np.memmap(tmp / "post_tok.raw", dtype=np.int32, mode="r")  # (nnz,)
        tf_mm = np.memmap(tmp / "post_tf.raw", dtype=np.int32, mode="r")  # (nnz,)
        o0 = 0
        for d0 in range(0, N, chunk_docs):
            d1 = min(d0 + chunk_docs, N)
            per_doc = np.asarray(doc_nnz[d0:d1], dtype=np.int64)
            o1 = o0 + int(per_doc.sum())
            tok = np.asarray(tok_mm[o0:o1], dtype=np.int64)  # (P,)
            tf = np.asarray(tf_mm[o0:o1], dtype=np.float64)  # (P,)
            docs = np.repeat(np.arange(d0, d1, dtype=np.int64), per_doc)  # (P,) doc id of each posting
            # Lucene BM25 weight of each posting (bm25s method="lucene", METHOD.md B.1 step 1).
            norm = K1 * (1 - B + B * np.repeat(np.asarray(doc_len[d0:d1], dtype=np.float64), per_doc) / avgdl)
            weight = idf[tok] * tf / (tf + norm)
            # Counting sort by token, stable in doc order: each column's docs stay ascending.
            order = np.argsort(tok, kind="stable")
            ts = tok[order]
            starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]])
            rank = np.arange(len(ts)) - np.repeat(starts, np.diff(np.r_[starts, len(ts)]))
            pos = heads[ts] + rank
            data[pos] = weight[order]
            indices[pos] = docs[order]
            heads += np.bincount(tok, minlength=V)
            o0 = o1
        del doc_nnz, doc_len, tok_mm, tf_mm
    data.flush()
    indices.flush()
    del data, indices
    np.save(bm25_dir / "indptr.csc.index.npy", indptr)
    (bm25_dir / "vocab.index.json").write_text(json.dumps(p1.vocab, ensure_ascii=False), encoding="utf-8")
    # bm25s only sums the stored weights at query time; these parameters describe the files for bm25s.load.
    params = {"k1": K1, "b": B, "delta": 0.5, "method": SCORING, "idf_method": SCORING, "dtype": "float32",
              "int_dtype": "int32", "num_docs": N, "version": _bm25s_version(), "backend": "numpy"}
    (bm25_dir / "params.index.json").write_text(json.dumps(params, indent=2), encoding="utf-8")
    return {"scoring": SCORING, "idf": "ln(1 + (N - df + 0.5) / (df + 0.5))",
            "term": "tf / (tf + k1 * (1 - b + b * dl / avgdl))", "k1": K1, "b": B, "avgdl": avgdl,
            "vocabulary": V, "postings": int(p1.nnz)}


def _bm25s_version() -> str:
    try:
        from importlib.metadata import version

        return version("bm25s")
    except Exception:
        return "unknown"


def _finish_meta(tmp: Path, n: int, chunk: int = 1_000_000) -> None:
    """Raw scratch files → self-describing .npy (rows table, string offsets), copied chunk by chunk."""
    meta = tmp / "meta"
    meta.mkdir()
    open_memmap = np.lib.format.open_memmap
    rows_raw = np.memmap(tmp / "rows.raw", dtype=ROW_DTYPE, mode="r")
    assert len(rows_raw) == n
    rows = open_memmap(meta / "rows.npy", mode="w+", dtype=ROW_DTYPE, shape=(n,))
    for i in range(0, n, chunk):
        rows[i:i + chunk] = rows_raw[i:i + chunk]
    rows.flush()
    del rows, rows_raw
    for name in ("paths", "captions"):
        lens = np.memmap(tmp / f"{name}_len.raw", dtype=np.int64, mode="r")
        offsets = open_memmap(meta / f"{name}.offsets.npy", mode="w+", dtype=np.int64, shape=(n + 1,))
        offsets[0] = total = 0
        for i in range(0, n, chunk):
            part = np.cumsum(lens[i:i + chunk]) + total  # running sum across chunks
            offsets[i + 1:i + 1 + len(part)] = part
            total = int(part[-1])
        offsets.flush()
        del offsets, lens
        os.replace(tmp / f"{name}.bin", meta / f"{name}.bin")


def _mkdtemp(parent: Path, prefix: str) -> Path:
    """mkdtemp, with the usual umask-based permissions instead of 0700 (the index is shared data)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


def _replace_dir(new: Path, target: Path) -> None:
    """Swap a finished folder into place; an old index is removed only after the new one is there."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _rel_or_abs(path: Path, index_dir: Path) -> str:
    try:
        return os.path.relpath(path, index_dir)
    except ValueError:  # another drive (Windows)
        return str(path)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# Opening and querying -------------------------------------------------------------------------------------------


@dataclass
class IndexedClip:
    """One row of the index: where the clip is and what is known about it (None = unknown)."""

    row: int
    video: Path
    path: str
    caption: str
    start: float | None
    end: float | None
    duration: float | None
    fps: float | None
    frames: int | None
    width: int | None
    height: int | None


def find_index(path: Path) -> Path:
    """An index folder, or a database folder holding ``index/`` → the index folder."""
    path = Path(path).expanduser().resolve()
    for cand in (path, path / "index"):
        if (cand / INDEX_FILE).is_file():
            return cand
    raise InputInvalid(f"no video index at {path} ({INDEX_FILE} not found)",
                       hint="build one with `dreamrunner index build DB_DIR --captions FILE`, or try the demo "
                            "database: `dreamrunner index demo DEMO_DIR`")


class VideoIndex:
    """An opened index. ``search`` ranks rows by BM25; ``clip`` reads one row's metadata (memory-mapped)."""

    def __init__(self, path: Path, backend: str = "bm25s"):
        if backend not in BACKENDS:
            raise UsageError(f"unknown BM25 backend {backend!r}", hint=f"choose one of: {', '.join(BACKENDS)}")
        self.root = find_index(path)
        from ..bounds import read_json

        try:  # bounded: a FIFO, a huge or a 100,000-level index.json is refused (exit 5), never read whole
            info = read_json(self.root / INDEX_FILE, what="index file")
        except json.JSONDecodeError as exc:
            raise InputInvalid(f"{self.root / INDEX_FILE} is not valid JSON ({exc.msg})",
                               hint="rebuild the index with `dreamrunner index build`") from None
        if not isinstance(info, dict):
            raise InputInvalid(f"{self.root / INDEX_FILE} is not a JSON object",
                               hint="rebuild the index with `dreamrunner index build`")
        self.info: dict[str, Any] = info
        if self.info.get("format") != FORMAT or self.info.get("format_version") != FORMAT_VERSION:
            raise InputInvalid(f"{self.root} is not a version-{FORMAT_VERSION} dreamrunner video index",
                               hint="rebuild it with `dreamrunner index build`")
        if self.info.get("tokenizer") != TOKENIZER_NAME:
            raise InputInvalid(f"{self.root} was built with tokenizer {self.info.get('tokenizer')!r}; this version "
                               f"uses {TOKENIZER_NAME!r}", hint="rebuild it with `dreamrunner index build`")
        self.backend = backend
        try:  # a hand-edited or damaged index.json: a missing or mistyped field is exit 5, not a crash
            self.stemmer: str | None = self.info.get("stemmer")
            self.n: int = int(self.info["rows"])
            self.fingerprint: str = str(self.info["fingerprint"])
            db = Path(self.info["db_dir"])
            postings, vocab = int(self.info["bm25"]["postings"]), int(self.info["bm25"]["vocabulary"])  # summary()
            if not isinstance(self.info.get("source", {}), dict):
                raise TypeError("source is not an object")
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InputInvalid(f"{self.root / INDEX_FILE} is damaged: {type(exc).__name__}: {exc}",
                               hint="rebuild the index with `dreamrunner index build`") from None
        self.db_dir = db if db.is_absolute() else (self.root / db).resolve()
        # Every file is checked against index.json's counts on opening: a damaged index is refused, never used.
        meta = self.root / "meta"
        self._rows = self._array(meta / "rows.npy", ROW_DTYPE, self.n)  # (N,)
        self._paths = self._blob(meta / "paths.bin", meta / "paths.offsets.npy")
        self._caps = self._blob(meta / "captions.bin", meta / "captions.offsets.npy")
        if backend == "bm25s":
            bm25 = self.root / "bm25"
            self._array(bm25 / "data.csc.index.npy", np.dtype(np.float32), max(postings, 1))  # (nnz,)
            self._array(bm25 / "indices.csc.index.npy", np.dtype(np.int32), max(postings, 1))  # (nnz,)
            indptr = self._array(bm25 / "indptr.csc.index.npy", np.dtype(np.int64), vocab + 1)  # (V+1,)
            if int(indptr[0]) != 0 or int(indptr[-1]) != postings:
                raise self._damaged(bm25 / "indptr.csc.index.npy", f"its postings end at {int(indptr[-1])}, "
                                                                   f"index.json says {postings}")
        self._retriever: Any = None
        self._rank: Any = None

    # Opening, with every file checked ------------------------------------------------------------------------
    def _damaged(self, path: Path, what: str) -> InputInvalid:
        """Exit 5, naming the file and the command that rebuilds the index."""
        db = self.db_dir
        source = self.info.get("source", {})
        src = "" if source.get("kind") == "clips" else f" --captions {source.get('path') or 'CAPTIONS'}"
        template = self.info.get("path_template")
        src += f" --path-template '{template}'" if template else ""
        out = "" if self.root == db / "index" else f" --out {self.root}"
        return InputInvalid(f"video index {self.root} is damaged: {path.relative_to(self.root)} {what}",
                            hint=f"rebuild it with `dreamrunner index build {db}{src}{out}`")

    def _array(self, path: Path, dtype: np.dtype, length: int) -> np.ndarray:
        """A memory-mapped 1-D .npy of ``length`` items of ``dtype``, or InputInvalid (missing, not .npy, truncated,
        wrong shape or dtype)."""
        try:
            arr = np.load(path, mmap_mode="r")
        except FileNotFoundError:
            raise self._damaged(path, "is missing") from None
        except (ValueError, OSError, EOFError) as exc:  # not an .npy, or shorter than its header says
            raise self._damaged(path, f"cannot be read ({type(exc).__name__}: {exc})") from None
        if arr.dtype != dtype or arr.shape != (length,):
            raise self._damaged(path, f"holds {arr.dtype} {arr.shape}, index.json says {dtype} ({length},)")
        return arr

    def _blob(self, blob: Path, offsets: Path) -> tuple[np.ndarray, np.ndarray]:
        """UTF-8 strings and their (N+1,) offsets; the offsets must start at 0 and end at the blob's size."""
        off = self._array(offsets, np.dtype(np.int64), self.n + 1)
        try:
            size = blob.stat().st_size
        except FileNotFoundError:
            raise self._damaged(blob, "is missing") from None
        if int(off[0]) != 0 or int(off[-1]) != size:
            raise self._damaged(blob, f"is {size} bytes, its offsets ({offsets.name}) say {int(off[-1])} "
                                      "(truncated or replaced?)")
        return (np.memmap(blob, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)), off

    # BM25 ------------------------------------------------------------------------------------------------------
    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for a query → float (N,)."""
        tokens = tokenize(query, self.stemmer)
        if self.backend == "rank_bm25":
            return np.asarray(self._rank_bm25().get_scores(tokens), dtype=np.float64)
        retriever = self._bm25s()
        ids = [retriever.vocab_dict[t] for t in tokens if t in retriever.vocab_dict]
        scores = np.zeros(self.n, dtype=np.float32)  # (N,)
        data, indices, indptr = (retriever.scores[k] for k in ("data", "indices", "indptr"))
        for t in ids:  # the memory-mapped postings of each query token, summed in query order (as bm25s does)
            a, b = int(indptr[t]), int(indptr[t + 1])
            # A token's postings name each document once, so a plain fancy-index add is exact (and several times
            # faster than bm25s's np.add.at on a word in most captions).
            scores[indices[a:b]] += data[a:b]
        return scores

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top ``k`` rows with a positive score, best first; ties broken by row number (deterministic)."""
        return top_k(self.scores(query), k)

    def _bm25s(self) -> Any:
        if self._retriever is None:
            import bm25s

            try:
                self._retriever = bm25s.BM25.load(str(self.root / "bm25"), mmap=True, load_corpus=False,
                                                  show_progress=False)
            except (ValueError, OSError, EOFError, KeyError) as exc:  # JSONDecodeError is a ValueError
                raise self._damaged(self.root / "bm25", f"cannot be loaded ({type(exc).__name__}: {exc})") from None
        return self._retriever

    def _rank_bm25(self) -> Any:
        if self._rank is None:
            if self.n > RANK_BM25_MAX_ROWS:
                raise UsageError(f"the rank_bm25 backend keeps every caption in memory; {self.n} rows is more "
                                 f"than its limit of {RANK_BM25_MAX_ROWS}", hint="use retrieve.backend=bm25s")
            self._rank = lucene_rank_bm25([tokenize(self.caption(i), self.stemmer) for i in range(self.n)])
        return self._rank

    # Rows ------------------------------------------------------------------------------------------------------
    def caption(self, i: int) -> str:
        blob, off = self._caps
        return bytes(blob[off[i]:off[i + 1]]).decode("utf-8", errors="replace")

    def path(self, i: int) -> str:
        blob, off = self._paths
        return bytes(blob[off[i]:off[i + 1]]).decode("utf-8", errors="replace")

    def clip(self, i: int) -> IndexedClip:
        if not 0 <= i < self.n:
            raise IndexError(f"row {i} out of range (index has {self.n} rows)")
        r = self._rows[i]
        rel = self.path(i)
        video = Path(rel) if Path(rel).is_absolute() else self.db_dir / rel

        def f(x: Any) -> float | None:
            return None if math.isnan(float(x)) else float(x)

        def n(x: Any) -> int | None:
            return None if int(x) < 0 else int(x)

        return IndexedClip(row=i, video=video, path=rel, caption=self.caption(i), start=f(r["start"]),
                           end=f(r["end"]), duration=f(r["duration"]), fps=f(r["fps"]), frames=n(r["frames"]),
                           width=n(r["width"]), height=n(r["height"]))

    def summary(self) -> dict[str, Any]:
        return {"index": str(self.root), "db_dir": str(self.db_dir), "rows": self.n,
                "unreadable": self.info.get("unreadable", 0), "vocabulary": self.info["bm25"]["vocabulary"],
                "postings": self.info["bm25"]["postings"], "scoring": self.info["bm25"].get("scoring"),
                "stemmer": self.stemmer or "none", "fingerprint": self.fingerprint,
                "source": self.info.get("source", {}).get("path"), "bytes": dir_bytes(self.root)}


def lucene_rank_bm25(corpus: list[list[str]]) -> Any:
    """rank_bm25's BM25Okapi with Lucene's idf; ``get_scores`` divided by k1 + 1 (Lucene drops that constant)."""
    from rank_bm25 import BM25Okapi

    class LuceneBM25(BM25Okapi):
        def _calc_idf(self, nd: dict[str, int]) -> None:
            self.idf = {word: float(lucene_idf(freq, self.corpus_size)) for word, freq in nd.items()}

        def get_scores(self, query: list[str]) -> np.ndarray:
            return super().get_scores(query) / (self.k1 + 1)

    return LuceneBM25(corpus, k1=K1, b=B)


def top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Indices of the ``k`` highest positive scores, sorted by (−score, index).

    Exact. On large arrays a strided sample first gives a threshold t that about 2k scores reach; when at least k
    scores are ≥ t (checked), the k-th largest score is ≥ t too, so only those candidates need sorting.
    """
    cand = None
    if k > 0 and len(scores) > 100 * k:
        step = len(scores) // (50 * k)
        sample = scores[::step]
        ks = min(len(sample), -(-2 * k // step))  # ≈ 2k scores of the whole array reach the sample's ks-th largest
        t = np.partition(sample, len(sample) - ks)[len(sample) - ks]
        if t > 0:
            above = np.flatnonzero(scores >= t)
            cand = above if len(above) >= k else None
    if cand is None:
        cand = np.flatnonzero(scores > 0)
    s = scores[cand]
    if len(cand) > k:
        kth = np.partition(s, len(s) - k)[len(s) - k]  # the k-th largest score
        keep = s >= kth  # every tie at the boundary, so the cut below is deterministic
        cand, s = cand[keep], s[keep]
    order = np.lexsort((cand, -s))[:k]
    return [(int(cand[j]), float(s[j])) for j in order]
