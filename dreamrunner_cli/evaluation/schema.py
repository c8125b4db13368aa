"""Pydantic models of the evaluate stage's files: ``eval/<source>/<scene>.json`` and ``eval/metrics.json``.

Every score is a cosine similarity × 100 (the paper's convention, METHOD.md E). ``None`` means "not applicable"
(for example character consistency in a scene without reference images); the reason is in ``notes``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

METRICS_SCHEMA_VERSION = 2

# Headline metrics, in the column order of the paper's Table 1 (METHOD.md G), then the story-only one.
# VT = the video-text model (ViCLIP by default, as in the paper; X-CLIP as an option).
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
# Fine-grained alignment with both cuts (evaluate.fg_split picks which one the headline fg_clip / fg_vt use).
FG_VARIANTS: dict[str, str] = {
    "fg_clip_midpoint": "FG CLIP (midpoint)",
    "fg_vt_midpoint": "FG VT (midpoint)",
    "fg_clip_plan": "FG CLIP (plan)",
    "fg_vt_plan": "FG VT (plan)",
}

DESCRIPTIONS: dict[str, str] = {
    "char_clip": "Character consistency (CLIP image encoder): mean cosine of every frame × every reference image of "
                 "the characters in the scene.",
    "char_dino": "Character consistency (DINOv2 CLS): mean cosine of every frame × every reference image of the "
                 "characters in the scene.",
    "fg_clip": "Fine-grained alignment (CLIP), with the cut chosen by evaluate.fg_split: each event of the plan (a "
               "run of key frames where a character's motion holds) is scored on its segment of the video, mean "
               "over sampled frames vs the event's caption; averaged over events.",
    "fg_vt": "Fine-grained alignment (video-text model): each event segment vs its caption; averaged over events.",
    "fg_clip_midpoint": "Fine-grained CLIP with the paper's cut: a character's n events split the clip into n equal "
                        "parts (the temporal midpoint for two); fair across systems.",
    "fg_vt_midpoint": "Fine-grained video-text score with the paper's (midpoint) cut.",
    "fg_clip_plan": "Fine-grained CLIP with each event cut at the plan's own key-frame boundaries.",
    "fg_vt_plan": "Fine-grained video-text score with the plan's key-frame cut.",
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
    fg_split: str = Field("midpoint", description="Which cut fg_clip / fg_vt use (evaluate.fg_split).")
    fg_clip_midpoint: float | None = None
    fg_vt_midpoint: float | None = None
    fg_clip_plan: float | None = None
    fg_vt_plan: float | None = None
    full_clip: float
    full_vt: float
    trans_dino: float
    smoothness_frames: list[int] = Field(default_factory=list, description="Frame indices sampled for smoothness.")
    smoothness_pairs: list[float] = Field(default_factory=list, description="Cosine × 100 of each adjacent pair.")
    characters: list[CharacterScore] = Field(default_factory=list)
    events: list[EventScore] = Field(default_factory=list, description="Events cut at the plan's key frames.")
    segments: list[EventScore] = Field(default_factory=list, description="The same events on equal parts of the "
                                       "clip (the paper's midpoint cut).")
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
    fg_clip_midpoint: float | None = None
    fg_vt_midpoint: float | None = None
    fg_clip_plan: float | None = None
    fg_vt_plan: float | None = None
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
