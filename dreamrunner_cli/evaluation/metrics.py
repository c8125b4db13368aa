"""The paper's story-video metrics (METHOD.md E), computed with encoders passed in as arguments.

All scores are cosine similarities × 100. Encoders are duck-typed (see the Protocols below) so tests can pass
deterministic fakes; the stage passes open_clip CLIP, DINO(v2) and the video-text model shared with retrieval
(ViCLIP by default, as in the paper), each scoring with its own similarity.

Fine-grained alignment is computed with two cuts, both reported (``evaluate.fg_split`` picks the headline):
- ``midpoint`` (default, the paper's): each character's events split the clip into that many equal parts in time,
  part j ↔ event j; with the paper's two motions per scene this is the temporal midpoint. It does not depend on
  where a system put the motion change, so it is the fair cut for comparing systems (``--videos``).
- ``plan``: each event is cut at the plan's own key-frame boundaries, mapped proportionally to pixel frames. It
  asks whether the video follows *this plan's* timing, which only a plan-driven system can be expected to do.
The text of an event is its caption (identifier tokens such as ``[v1]`` removed), not a GPT-4o rewrite of the
narration as in the paper.

Cross-scene similarity (the cuts of the stitched story) is an addition; the paper reports only within-scene
smoothness.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from ..schema import NO_MOTION, Plan, Scene
from .schema import FG_VARIANTS, HEADLINE, Boundary, CharacterScore, EventScore, SceneMetrics, StoryMetrics

SCALE = 100.0


# Encoders (duck-typed) -----------------------------------------------------------------------------------------------


class ImageEncoder(Protocol):
    model_id: str

    def encode_images(self, images: Sequence[np.ndarray]) -> Any:
        """uint8 HWC RGB images → (N, D) L2-normalised embeddings (tensor or array)."""


class TextImageEncoder(ImageEncoder, Protocol):
    def encode_texts(self, texts: Sequence[str]) -> Any:
        """texts → (N, D) L2-normalised embeddings in the image space."""


class VideoTextEncoder(Protocol):
    """models/scorers.py's video-text interface: features cached separately, scored by the model's own similarity."""

    model_id: str

    def video_features(self, frames: np.ndarray) -> Any:
        """uint8 (T, H, W, 3) → the model's video features (a dict of tensors)."""

    def text_features(self, texts: Sequence[str]) -> Any:
        """texts → the model's text features for N texts."""

    def similarity(self, video: Any, text: Any) -> Any:
        """→ (N,) the model's score of the video with each text (a cosine in [-1, 1])."""


def as_unit(x: Any) -> np.ndarray:
    """Tensor or array → float64 numpy, rows L2-normalised (encoders promise it; we do not rely on it)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(norms, 1e-12)


def cosine(a: Any, b: Any) -> np.ndarray:
    """(N, D) × (M, D) → (N, M) cosine similarities."""
    return as_unit(a) @ as_unit(b).T


# Frame sampling and events ------------------------------------------------------------------------------------------


def uniform_indices(start: int, end: int, k: int) -> list[int]:
    """k frame indices spread uniformly over [start, end) (first and last included; repeats when end-start < k)."""
    n = end - start
    if n <= 0 or k <= 0:
        raise ValueError(f"cannot sample {k} frames from the empty span [{start}, {end})")
    if k == 1:
        return [start + (n - 1) // 2]
    return [start + int(round(i * (n - 1) / (k - 1))) for i in range(k)]


def keyframe_span_to_frames(k0: int, k1: int, keyframes: int, frames: int) -> tuple[int, int]:
    """Key-frame span [k0, k1) of ``keyframes`` key frames → pixel-frame span [f0, f1) of ``frames`` frames.

    Proportional: key frame k covers pixel frames [floor(k·T/K), floor((k+1)·T/K)). With T=48 and K=6 that is 8
    frames per key frame, as in the paper (1 key frame = 1 s = 8 frames); with T=49 the last span gets the extra
    frame. Never empty: a span shorter than one frame still gets its first frame.
    """
    f0 = (k0 * frames) // keyframes
    f1 = frames if k1 >= keyframes else (k1 * frames) // keyframes
    f0 = min(f0, frames - 1)
    return f0, max(f1, f0 + 1)


@dataclass
class Event:
    """A run of key frames [start, end) in which one entity keeps the same motion (or caption)."""

    entity: str
    motion: str
    caption: str
    start: int
    end: int


def scene_events(scene: Scene, plan: Plan, key: Literal["motion", "caption"] = "motion") -> list[Event]:
    """The plan's events in a scene, in time order.

    An event is a maximal run of consecutive key frames in which a character's region keeps the same motion id
    (``key="motion"``; static regions, motion ``none``, are split by caption) or the same caption
    (``key="caption"``). Only character regions count; a scene without character regions uses every region that
    has a motion. The event's text is the caption at its first key frame.
    """
    char_ids = {c.id for c in plan.characters}
    regions = [(k, r) for k, kf in enumerate(scene.keyframes) for r in kf.regions]
    entities = list(dict.fromkeys(r.entity for _, r in regions if r.entity in char_ids))
    if not entities:
        entities = list(dict.fromkeys(r.entity for _, r in regions if r.motion != NO_MOTION))
    events: list[Event] = []
    for entity in entities:
        current: Event | None = None
        current_key: str | None = None
        for k, kf in enumerate(scene.keyframes):
            region = next((r for r in kf.regions if r.entity == entity), None)
            if region is None:  # the entity is absent from this key frame: the run ends
                current = None
                continue
            rkey = region.motion if key == "motion" and region.motion != NO_MOTION else "caption:" + region.caption
            if current is not None and current_key == rkey and current.end == k:
                current.end = k + 1
            else:
                current = Event(entity, region.motion, region.caption, k, k + 1)
                current_key = rkey
                events.append(current)
    return sorted(events, key=lambda e: (e.start, entities.index(e.entity)))


def midpoint_spans(events: Sequence[Event], frames: int) -> list[tuple[Event, tuple[int, int]]]:
    """The paper's cut, generalised: each entity's events, in time order, split the clip into that many equal parts
    [floor(j·T/n), floor((j+1)·T/n)); part j is scored against event j. Two events → the temporal midpoint.

    The cut ignores where the plan (or the video) changes motion, so every system is judged on the same frames.
    """
    out: list[tuple[Event, tuple[int, int]]] = []
    for entity in dict.fromkeys(e.entity for e in events):
        lane = sorted((e for e in events if e.entity == entity), key=lambda e: e.start)
        n = len(lane)
        for j, ev in enumerate(lane):
            f0, f1 = (j * frames) // n, ((j + 1) * frames) // n
            f0 = min(f0, frames - 1)
            out.append((ev, (f0, max(f1, f0 + 1))))
    return sorted(out, key=lambda x: (x[1][0], list(dict.fromkeys(e.entity for e in events)).index(x[0].entity)))


def clean_text(text: str, tokens: Sequence[str]) -> str:
    """Remove identifier tokens (``[v1]``) that mean nothing to CLIP, and tidy the spaces."""
    for tok in tokens:
        if tok:
            text = text.replace(tok, " ")
    return re.sub(r"\s+", " ", text).strip()


def scene_character_ids(scene: Scene, plan: Plan) -> list[str]:
    """Characters in a scene: ``scene.characters`` plus any character that owns a region, in order."""
    char_ids = {c.id for c in plan.characters}
    from_regions = [r.entity for kf in scene.keyframes for r in kf.regions if r.entity in char_ids]
    return list(dict.fromkeys([c for c in scene.characters if c in char_ids] + from_regions))


# The metrics ----------------------------------------------------------------------------------------------------------


def consistency(frame_emb: Any, ref_emb: Any) -> float:
    """Mean cosine × 100 over every frame × every reference image (METHOD.md E, character consistency)."""
    return float(cosine(frame_emb, ref_emb).mean() * SCALE)


def clip_alignment(frames: np.ndarray, text: str, clip: TextImageEncoder, k: int,
                   span: tuple[int, int] | None = None, text_emb: Any = None) -> float:
    """CLIP: k uniformly sampled frames of ``frames[span]`` vs one text, mean cosine × 100."""
    f0, f1 = span or (0, len(frames))
    idx = uniform_indices(f0, f1, k)
    t = text_emb if text_emb is not None else clip.encode_texts([text])
    return float(cosine(clip.encode_images([frames[i] for i in idx]), t).mean() * SCALE)


def video_text_alignment(frames: np.ndarray, text: str, vt: VideoTextEncoder, k: int,
                         span: tuple[int, int] | None = None, text_emb: Any = None) -> float:
    """Video-text model: the clip ``frames[span]`` (k frames sampled uniformly) vs one text, the model's own
    similarity × 100 (ViCLIP: cosine; X-CLIP: cosine with the video-conditioned text)."""
    f0, f1 = span or (0, len(frames))
    clip_frames = frames[uniform_indices(f0, f1, k)]  # (k, H, W, 3)
    t = text_emb if text_emb is not None else vt.text_features([text])
    sim = vt.similarity(vt.video_features(clip_frames), t)
    sim = sim.detach().float().cpu().numpy() if hasattr(sim, "detach") else np.asarray(sim, dtype=np.float64)
    return float(sim.reshape(-1)[0] * SCALE)


def smoothness(frames: np.ndarray, dino: ImageEncoder, k: int) -> tuple[float, list[int], list[float]]:
    """Transition smoothness: DINO cosine × 100 of adjacent pairs among k uniformly sampled frames, averaged.

    Returns (score, sampled frame indices, per-pair scores).
    """
    idx = uniform_indices(0, len(frames), k)
    emb = as_unit(dino.encode_images([frames[i] for i in idx]))  # (k, D)
    pairs = [float(emb[i] @ emb[i + 1] * SCALE) for i in range(len(idx) - 1)]
    return float(np.mean(pairs)), idx, pairs


def boundary_similarity(last_frame: np.ndarray, first_frame: np.ndarray, dino: ImageEncoder) -> float:
    """DINO cosine × 100 of the last frame of a scene and the first frame of the next one."""
    emb = as_unit(dino.encode_images([last_frame, first_frame]))
    return float(emb[0] @ emb[1] * SCALE)


def mean_or_none(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


@dataclass
class MetricSettings:
    """The knobs the metrics read (from ``evaluate.*`` in the config)."""

    consistency_frames: int = 0  # 0 = every frame (the paper)
    alignment_frames: int = 8
    video_text_frames: int = 8
    smoothness_frames: int = 4
    event_key: Literal["motion", "caption"] = "motion"
    strip_tokens: bool = True
    fg_split: Literal["midpoint", "plan"] = "midpoint"  # the headline fine-grained cut (both are computed)


@dataclass
class ReferenceEmbeddings:
    """One character's reference images, embedded: (R, D_clip) and (R, D_dino)."""

    clip: Any
    dino: Any
    count: int


def score_scene(frames: np.ndarray, fps: float, scene: Scene, plan: Plan, refs: dict[str, ReferenceEmbeddings],
                clip: TextImageEncoder, dino: ImageEncoder, video_text: VideoTextEncoder,
                settings: MetricSettings, source: str, video: str,
                text_cache: dict[tuple[str, str], Any] | None = None) -> SceneMetrics:
    """Every per-scene metric of METHOD.md E for one scene video.

    Args:
        frames: uint8 (T, H, W, 3), the whole scene clip.
        fps: its frame rate (recorded only).
        refs: reference embeddings of the characters in the scene that have reference images.
        text_cache: optional memo of text embeddings keyed by (model id, text), shared across scenes and sources.
    """
    T = len(frames)
    notes: list[str] = []
    tokens = [c.token for c in plan.characters] if settings.strip_tokens else []
    cache = text_cache if text_cache is not None else {}

    def text_emb(encoder: Any, text: str, kind: str) -> Any:
        key = (encoder.model_id + "|" + type(encoder).__name__ + "|" + kind, text)
        if key not in cache:
            cache[key] = encoder.encode_texts([text]) if kind == "clip" else encoder.text_features([text])
        return cache[key]

    # 1. Character consistency: every (sampled) frame × every reference image of the scene's characters.
    characters: list[CharacterScore] = []
    char_ids = scene_character_ids(scene, plan)
    present = [c for c in char_ids if c in refs and refs[c].count > 0]
    if present:
        idx = (list(range(T)) if settings.consistency_frames <= 0 or settings.consistency_frames >= T
               else uniform_indices(0, T, settings.consistency_frames))
        sel = [frames[i] for i in idx]
        f_clip, f_dino = clip.encode_images(sel), dino.encode_images(sel)  # (N, D_clip), (N, D_dino)
        for cid in present:
            characters.append(CharacterScore(id=cid, references=refs[cid].count,
                                             clip=consistency(f_clip, refs[cid].clip),
                                             dino=consistency(f_dino, refs[cid].dino)))
        # Pool every reference image of every character in the scene, as the paper averages frame × reference.
        all_clip = np.concatenate([as_unit(refs[c].clip) for c in present])
        all_dino = np.concatenate([as_unit(refs[c].dino) for c in present])
        char_clip, char_dino = consistency(f_clip, all_clip), consistency(f_dino, all_dino)
    else:
        char_clip = char_dino = None
        notes.append("no reference images for the characters in this scene: character consistency not scored"
                     if char_ids else "no characters in this scene: character consistency not scored")
    missing = [c for c in char_ids if c not in present]
    if present and missing:
        notes.append(f"characters without reference images (not scored): {', '.join(missing)}")

    # 2. Full-narration alignment: CLIP over sampled frames, and the video-text model on the whole clip.
    narration = clean_text(scene.narration, tokens)
    full_clip = clip_alignment(frames, narration, clip, settings.alignment_frames,
                               text_emb=text_emb(clip, narration, "clip"))
    full_vt = video_text_alignment(frames, narration, video_text, settings.video_text_frames,
                                   text_emb=text_emb(video_text, narration, "vt"))

    # 3. Fine-grained alignment, both cuts: the plan's event boundaries, and equal parts in time (the paper's
    #    temporal midpoint for two events). Texts are the events' captions.
    K = len(scene.keyframes)
    plan_events = scene_events(scene, plan, settings.event_key)

    def score_event(ev: Event, span: tuple[int, int]) -> EventScore:
        text = clean_text(ev.caption, tokens)
        return EventScore(
            entity=ev.entity, motion=ev.motion, text=text, keyframes=(ev.start, ev.end), frames=span,
            clip=clip_alignment(frames, text, clip, settings.alignment_frames, span, text_emb(clip, text, "clip")),
            video_text=video_text_alignment(frames, text, video_text, settings.video_text_frames, span,
                                            text_emb(video_text, text, "vt")),
        )

    events = [score_event(ev, keyframe_span_to_frames(ev.start, ev.end, K, T)) for ev in plan_events]
    segments = [score_event(ev, span) for ev, span in midpoint_spans(plan_events, T)]
    fg = {"plan": (mean_or_none([e.clip for e in events]), mean_or_none([e.video_text for e in events])),
          "midpoint": (mean_or_none([e.clip for e in segments]), mean_or_none([e.video_text for e in segments]))}
    if not plan_events:
        notes.append("the plan has no events (no character or moving regions) in this scene: fine-grained "
                     "alignment not scored")

    # 4. Transition smoothness: adjacent pairs among uniformly sampled frames.
    trans, s_idx, s_pairs = smoothness(frames, dino, settings.smoothness_frames)

    h, w = frames.shape[1:3]
    return SceneMetrics(
        scene=scene.id, source=source, video=video, frames=T, fps=round(float(fps), 3), width=int(w), height=int(h),
        char_clip=_r(char_clip), char_dino=_r(char_dino),
        fg_clip=_r(fg[settings.fg_split][0]), fg_vt=_r(fg[settings.fg_split][1]), fg_split=settings.fg_split,
        fg_clip_midpoint=_r(fg["midpoint"][0]), fg_vt_midpoint=_r(fg["midpoint"][1]),
        fg_clip_plan=_r(fg["plan"][0]), fg_vt_plan=_r(fg["plan"][1]),
        full_clip=_r(full_clip), full_vt=_r(full_vt), trans_dino=_r(trans),
        smoothness_frames=s_idx, smoothness_pairs=[_r(p) for p in s_pairs],
        characters=[c.model_copy(update={"clip": _r(c.clip), "dino": _r(c.dino)}) for c in characters],
        events=[e.model_copy(update={"clip": _r(e.clip), "video_text": _r(e.video_text)}) for e in events],
        segments=[e.model_copy(update={"clip": _r(e.clip), "video_text": _r(e.video_text)}) for e in segments],
        notes=notes,
    )


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)


def aggregate_story(scenes: Sequence[SceneMetrics], boundaries: Sequence[Boundary]) -> StoryMetrics:
    """Story scores: each headline metric averaged over the scenes where it applies (as the paper averages over
    scenes), plus the mean similarity at the cuts between scenes and per-character consistency."""
    per_char: dict[str, dict[str, list[float]]] = {}
    for s in scenes:
        for c in s.characters:
            d = per_char.setdefault(c.id, {"clip": [], "dino": []})
            d["clip"].append(c.clip)
            d["dino"].append(c.dino)
    values = {k: _r(mean_or_none([getattr(s, k) for s in scenes])) for k in [*HEADLINE, *FG_VARIANTS]}
    return StoryMetrics(
        scenes=len(scenes), **values,
        cross_dino=_r(mean_or_none([b.dino for b in boundaries])), boundaries=list(boundaries),
        characters={cid: {"clip": _r(float(np.mean(d["clip"]))), "dino": _r(float(np.mean(d["dino"]))),
                          "scenes": len(d["clip"])} for cid, d in per_char.items()},
    )
