"""Pydantic models of the evaluate stage's files: ``eval/<source>/<scene>.json`` and ``eval/metrics.json``.

Every score is a cosine similarity × 100 (the paper's convention, METHOD.md E). ``None`` means "not applicable"
(for example character consistency in a scene without reference images); the reason is in ``notes``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

METRICS_SCHEMA_VERSION = 1

# Headline metrics, in the column order of the paper's Table 1 (METHOD.md G), then the story-only one.
# VT = the video-text model (X-CLIP by default; the paper used ViCLIP).
HEADLINE: dict[str, str] = {
    "char_clip": "Char CLIP",
    "char_dino": "Char DINO",
    "fg_clip": "FG CLIP",
    "fg_vt": "FG VT",
    "full_clip": "Full CLIP",
    "full_vt": "Full VT",
    "trans_dino": "Trans DINO",
}
STORY_ONLY: dict[str, str] = {"cross_dino": "Cross DINO"}

DESCRIPTIONS: dict[str, str] = {
    "char_clip": "Character consistency (CLIP image encoder): mean cosine of every frame × every reference image of "
                 "the characters in the scene.",
    "char_dino": "Character consistency (DINOv2 CLS): mean cosine of every frame × every reference image of the "
                 "characters in the scene.",
    "fg_clip": "Fine-grained alignment (CLIP): each event of the plan (a run of key frames where a character's motion "
               "holds) is cut from the video at its own key-frame boundaries; mean over sampled frames of the "
               "segment vs the event's caption; averaged over events.",
    "fg_vt": "Fine-grained alignment (video-text model): each event segment vs its caption; averaged over events.",
    "full_clip": "Full-narration alignment (CLIP): uniformly sampled frames vs the scene narration, averaged.",
    "full_vt": "Full-narration alignment (video-text model): the whole scene clip vs the narration.",
    "trans_dino": "Transition smoothness (DINOv2): mean cosine of adjacent pairs among uniformly sampled frames of "
                  "the scene.",
    "cross_dino": "Cross-scene similarity (DINOv2): cosine of the last frame of each scene and the first frame of the "
                  "next one, i.e. at the cuts of the stitched story; averaged over the cuts.",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CharacterScore(_Strict):
    id: str
    references: int = Field(..., description="Number of reference images used.")
    clip: float
    dino: float


class EventScore(_Strict):
    entity: str
    motion: str
    text: str = Field(..., description="The caption scored against the segment (identifier tokens removed).")
    keyframes: tuple[int, int] = Field(..., description="Key-frame span [start, end), 0-based, end exclusive.")
    frames: tuple[int, int] = Field(..., description="Pixel-frame span [start, end) of the cut segment.")
    clip: float
    video_text: float


class SceneMetrics(_Strict):
    scene: str
    source: str
    video: str
    frames: int
    fps: float
    width: int
    height: int
    char_clip: float | None = None
    char_dino: float | None = None
    fg_clip: float | None = None
    fg_vt: float | None = None
    full_clip: float
    full_vt: float
    trans_dino: float
    smoothness_frames: list[int] = Field(default_factory=list, description="Frame indices sampled for smoothness.")
    smoothness_pairs: list[float] = Field(default_factory=list, description="Cosine × 100 of each adjacent pair.")
    characters: list[CharacterScore] = Field(default_factory=list)
    events: list[EventScore] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    models: dict[str, str] = Field(default_factory=dict, description="Model ids that produced these scores.")


class Boundary(_Strict):
    before: str
    after: str
    dino: float


class StoryMetrics(_Strict):
    scenes: int
    char_clip: float | None = None
    char_dino: float | None = None
    fg_clip: float | None = None
    fg_vt: float | None = None
    full_clip: float | None = None
    full_vt: float | None = None
    trans_dino: float | None = None
    cross_dino: float | None = None
    boundaries: list[Boundary] = Field(default_factory=list)
    characters: dict[str, dict[str, float | int]] = Field(
        default_factory=dict, description="Per character: mean CLIP and DINO consistency over its scenes.")


class SourceMetrics(_Strict):
    name: str
    path: str
    story: StoryMetrics
    scenes: list[SceneMetrics]


class MetricsFile(_Strict):
    schema_version: int = METRICS_SCHEMA_VERSION
    title: str = ""
    scale: str = "cosine similarity x 100"
    models: dict[str, str] = Field(..., description="clip, dino and video_text model ids.")
    device: str
    settings: dict[str, object] = Field(default_factory=dict)
    descriptions: dict[str, str] = Field(default_factory=lambda: dict(DESCRIPTIONS))
    sources: list[SourceMetrics]
    warnings: list[str] = Field(default_factory=list)
