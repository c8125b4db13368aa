"""Retrieval of motion reference videos from a video database (METHOD.md B.1).

Modules, in the order the retrieve stage uses them:
  * ``text``     — the caption/query tokenizer shared by every BM25 backend.
  * ``captions`` — streaming reader of caption files (JSONL, CSV or Parquet, common public metadata layouts).
  * ``sidecars`` — pre-cut clip folders and tar shards with .json/.txt captions (video2dataset's output).
  * ``index``    — building the index (streaming, bm25s on-disk format + a compact metadata table) and querying it
                   (bm25s memory-mapped, or rank_bm25 in memory for small databases).
  * ``media``    — probing videos and decoding time windows (imageio-ffmpeg).
  * ``segment``  — the attribute filter and the segmentation of a candidate into model-length windows.
  * ``scoring``  — CLIP + video–text scores of windows, with embeddings memoised in the cross-workspace cache.
  * ``manifest`` — the ``retrieval/<motion>/manifest.json`` model read by the adapt stage.
  * ``demo``     — a small database of moving shapes generated in code (tiny preset, tests, ``make demo``).
  * ``bench``    — the index benchmark (``python -m dreamrunner_cli.retrieval.bench``).

Nothing here is imported by the CLI at start-up; heavy imports stay inside functions.
"""
