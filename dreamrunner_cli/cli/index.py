"""`dreamrunner index`: build, inspect and query a video database index; make the demo database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, QuietOpt, console, emit, guarded

app = typer.Typer(help="Build and inspect a video database index for retrieval.", no_args_is_help=True)

DbDirArg = Annotated[Path, typer.Argument(file_okay=False, exists=True, resolve_path=True,
                                          help="Database folder; video paths in the caption file are relative to it.")]
IndexArg = Annotated[Path, typer.Argument(resolve_path=True, help="Index folder, or a database folder holding index/.")]


@app.command("build")
@guarded
def build(
    db_dir: DbDirArg,
    captions: Annotated[Path | None, typer.Option(
        "--captions", "-c", help="Caption file: JSONL, CSV or Parquet (path relative to DB_DIR or the current "
        "folder). Leave it out for a folder of clips with .json/.txt sidecars or .tar shards (video2dataset).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", resolve_path=True,
                                             help="Index folder to write (default DB_DIR/index).")] = None,
    path_column: Annotated[str | None, typer.Option("--path-column", help="Column holding the video path.")] = None,
    path_template: Annotated[str | None, typer.Option(
        "--path-template", help="Build each video path from columns, relative to DB_DIR: "
        "'{page_dir}/{videoid}.mp4' (WebVid). Any column of the caption file, in braces.")] = None,
    caption_column: Annotated[str | None, typer.Option("--caption-column", help="Column holding the caption.")] = None,
    video_ext: Annotated[str, typer.Option("--video-ext", help="Extension added to paths without one "
                                           "(YouTube-id columns).")] = ".mp4",
    check_files: Annotated[bool, typer.Option("--check-files", help="Count rows whose video file is missing as "
                                              "unreadable (one stat per row).")] = False,
    stemmer: Annotated[str, typer.Option("--stemmer", help="Snowball stemmer for captions and queries (PyStemmer "
                                         "language, e.g. english), or none. Stored in the index.")] = "english",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Index a video database's captions (streaming: multi-million-row files are fine).

    Columns are recognised by their usual names (path/video/videoID, caption/text/name, start/end or timestamp,
    duration, fps, frames, width/height); Panda-70M list cells expand to one row per clip. --path-template builds
    paths from any columns. Without --captions, DB_DIR is read as pre-cut clips: KEY.mp4 with KEY.json / KEY.txt
    beside it, in folders or .tar shards (video2dataset's output). Unreadable rows are counted and reported, never
    fatal. An existing index is replaced only once the new one is complete. docs/retrieval.md has the command for
    WebVid-10M, Panda-70M and InternVid.

    Examples:

        dreamrunner index build /data/webvid/videos -c results_10M_train.csv --path-template '{page_dir}/{videoid}.mp4'

        dreamrunner index build /data/panda70m --captions panda70m_training_2m.csv

        dreamrunner index build /data/panda70m-clips

        dreamrunner index build /data/internvid --captions InternVid-10M-FLT.jsonl --check-files
    """
    from ..progress import reporter
    from ..retrieval.index import build_index

    with reporter(not quiet and not as_json, "index build") as rep:
        result = build_index(db_dir, captions, out, path_column=path_column, caption_column=caption_column,
                             default_ext=video_ext, check_files=check_files, progress=rep, stemmer=stemmer,
                             path_template=path_template)
    emit(result, as_json, quiet, _print_build)


@app.command("demo")
@guarded
def demo(
    out_dir: Annotated[Path, typer.Argument(file_okay=False, resolve_path=True,
                                            help="Folder for the demo database (videos/, captions.jsonl, index/).")],
    clips_per_motion: Annotated[int, typer.Option("--clips-per-motion", min=1, help="Clips per motion.")] = 4,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate the demo database (stick figures performing ~60 motions, 4 clips each, 2 s at 64x64) and its index.

    Offline; it takes from a few seconds to a minute (progress on stderr). The tiny preset's `retrieve.db: demo`
    builds the same database in the cache folder. Use it with `dreamrunner retrieve WS --db OUT_DIR`.

    Examples:

        dreamrunner index demo demo-db

        dreamrunner retrieve ws/teddy --db demo-db --preset tiny
    """
    from ..progress import reporter
    from ..retrieval.demo import build_demo_database

    with reporter(not quiet and not as_json, "index demo") as rep:
        result = build_demo_database(out_dir, clips_per_motion=clips_per_motion, progress=rep)
    emit(result, as_json, quiet, _print_build)


@app.command("info")
@guarded
def info(index: IndexArg, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Show an index's size, source file, unreadable rows and fingerprint.

    Examples:

        dreamrunner index info /data/panda70m/index
    """
    from ..retrieval.index import VideoIndex

    ix = VideoIndex(index)
    result = {**ix.summary(), "unreadable_examples": ix.info.get("unreadable_examples", [])}
    emit(result, as_json, quiet, _print_info)


@app.command("search")
@guarded
def search(
    index: IndexArg,
    query: Annotated[str, typer.Argument(help="Query text, e.g. 'person is walking'.")],
    k: Annotated[int, typer.Option("-k", min=1, help="Number of results.")] = 10,
    backend: Annotated[str, typer.Option("--backend", help="bm25s or rank_bm25.")] = "bm25s",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Rank the database's captions by BM25 for a query (what retrieve's first step sees).

    Examples:

        dreamrunner index search demo-db "person is waving" -k 5

        dreamrunner index search /data/panda70m/index "person is stretching arms" --json
    """
    import time

    from ..retrieval.index import VideoIndex

    ix = VideoIndex(index, backend=backend)
    t0 = time.perf_counter()
    hits = ix.search(query, k)
    ms = (time.perf_counter() - t0) * 1000
    result = {"index": str(ix.root), "query": query, "backend": backend, "ms": round(ms, 2),
              "hits": [{"row": r, "score": round(s, 4), "caption": ix.caption(r), "path": ix.path(r)} for r, s in hits]}
    emit(result, as_json, quiet, _print_hits)


def _print_build(r: dict) -> None:
    from rich.markup import escape  # captions and reasons are data: "[youtube] Video unavailable" is no markup

    con = console()
    con.print(f"index {r['index']}: {r['rows']:,} rows ({r['rows_per_s']:,.0f} rows/s, {r['bytes'] / 2**20:.1f} MiB, "
              f"vocabulary {r['vocabulary']:,}), fingerprint {r['fingerprint']}")
    if r.get("unreadable"):
        con.print(f"[yellow]{r['unreadable']:,} unreadable rows skipped[/], e.g.:")
        for ex in r.get("unreadable_examples", [])[:5]:
            con.print(f"  - {escape(ex)}")


def _print_info(r: dict) -> None:
    con = console()
    for key in ("index", "db_dir", "source", "rows", "unreadable", "vocabulary", "postings", "scoring", "stemmer",
                "bytes", "fingerprint"):
        con.print(f"{key:12} {r.get(key)}", markup=False)


def _print_hits(r: dict) -> None:
    from rich.markup import escape

    con = console()
    con.print(f"{len(r['hits'])} hits in {r['ms']} ms")
    for h in r["hits"]:
        con.print(f"{h['score']:8.3f}  row {h['row']:<8} {escape(h['caption'])}  [dim]{escape(h['path'])}[/]")
