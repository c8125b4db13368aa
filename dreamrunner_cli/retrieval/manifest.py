"""``retrieval/<motion>/manifest.json``: what the retrieve stage found for one motion (documented in docs/retrieval.md).

The adapt stage reads ``kept`` (file, caption, time range) and trains one motion LoRA on them; every clip file is a
model-length window already cut and re-encoded as mp4 (``clips/NN-<caption-slug>.mp4``), and its caption is the
database caption of its source row (METHOD.md B.1: per-video prompts, not one shared prompt).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..bounds import read_json
from ..errors import InputInvalid

MANIFEST_SCHEMA_VERSION = 1


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeptClip(_M):
    file: str = Field(..., description="Path of the mp4, relative to the motion folder (clips/NN-….mp4).")
    caption: str = Field(..., description="The source row's database caption: the clip's training prompt.")
    rank: int = Field(..., description="1-based rank by score among all scored windows.")
    row: int = Field(..., description="Row of the source clip in the index.")
    source: str = Field(..., description="Source video path as written in the caption file (relative to the db).")
    start: float = Field(..., description="Start of the window in the source video, seconds.")
    end: float = Field(..., description="End of the window in the source video, seconds.")
    frames: int = Field(..., description="Frames in the mp4.")
    fps: float = Field(..., description="Frame rate of the mp4.")
    width: int
    height: int
    clip_score: float = Field(..., description="Mean CLIP cosine similarity of 8 frames with the score text.")
    video_text_score: float = Field(..., description="Video-text (X-CLIP) cosine similarity with the score text.")
    score: float = Field(..., description="Mean of clip_score and video_text_score.")
    above_threshold: bool = Field(..., description="False when kept only by the at-least-min_clips rule.")
    crop: list[int] | None = Field(None, description="(x, y, w, h) in the source's pixels the clip was cut from "
                                   "(person segmenter); null = the whole frame.")


class Candidate(_M):
    row: int
    source: str
    caption: str
    bm25: float
    status: Literal["scored", "filtered", "unreadable"] = Field(
        ..., description="scored: its windows were scored; filtered: failed the attribute filter; unreadable: the "
        "video could not be opened or decoded (reason says why).")
    reason: str | None = None
    duration: float | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None
    windows: int = 0


class ScoredWindow(_M):
    row: int
    start: float
    end: float
    clip_score: float
    video_text_score: float
    score: float
    kept: bool
    crop: list[int] | None = None


class Counts(_M):
    bm25_candidates: int
    filtered_out: int
    unreadable: int
    windows_scored: int
    above_threshold: int
    kept: int


class Manifest(_M):
    schema_version: Literal[1] = MANIFEST_SCHEMA_VERSION
    motion: str = Field(..., description="Motion id (plan.json motions[].id).")
    description: str
    query: str = Field(..., description="The BM25 query.")
    score_text: str = Field(..., description="The text the clips were scored against.")
    database: dict = Field(..., description="index path, fingerprint, rows, backend.")
    models: dict = Field(..., description="clip and video_text model ids.")
    params: dict = Field(..., description="The retrieve.* settings that shaped this result.")
    counts: Counts
    kept: list[KeptClip] = Field(..., description="The kept clips, best first: what adapt trains on.")
    candidates: list[Candidate]
    windows: list[ScoredWindow]
    notes: list[str] = Field(default_factory=list)


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; errors name the file and what to run."""
    path = Path(path)
    if not path.exists():
        raise InputInvalid(f"{path} not found", hint="run `dreamrunner retrieve WS` first")
    try:  # bounded: a FIFO, a huge or a 100,000-level file is refused (exit 5), never read whole or recursed
        return Manifest.model_validate(read_json(path, what="retrieval manifest"))
    except json.JSONDecodeError as exc:
        raise InputInvalid(f"{path} is not valid JSON ({exc.msg})",
                           hint="re-run `dreamrunner retrieve WS --force --motion ID`") from None
    except ValidationError as exc:
        raise InputInvalid(f"{path} is not a valid retrieval manifest",
                           details=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()][:20],
                           hint="re-run `dreamrunner retrieve WS --force --motion ID`") from None
