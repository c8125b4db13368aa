"""CLIP + video–text scores of candidate windows (METHOD.md B.1 step 4), memoised across workspaces.

score(window, text) = ½ · (CLIP + video-text), where
  * CLIP = mean over ``clip_frames`` (8) uniformly sampled frames of cos(image embedding, text embedding);
  * video-text = the video-text model's own similarity (models/scorers.py): ViCLIP's cosine (the paper's), or
    X-CLIP's cosine with its video-conditioned text embedding.

The gate (keep windows whose score exceeds a threshold) is calibrated per model pair: ``GATE_THRESHOLDS`` holds the
known values (0.2 for CLIP ViT-L/14 + ViCLIP, the paper's; open_clip ``ViT-L-14-336-quickgelu`` + ``openai``);
``retrieve.threshold`` overrides it, and a model pair without a calibrated value needs an explicit one
(``gate_threshold``).

Features go to the ``embeddings`` diskcache (safetensors bytes, never pickles): a window's CLIP frame embeddings and
video-text video features are keyed by the models, the video file (absolute path, size, mtime), the window and the
decoding settings; a text's features by the models and the text. A second story retrieving from the same database
decodes and encodes nothing it has seen before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import media
from .segment import Window

if TYPE_CHECKING:
    import torch

    from ..models.scorers import ClipScorer

CACHE_NAME = "embeddings"
# 2: video-text features per model family (ViCLIP, X-CLIP with its prompt-generator inputs); 3: X-CLIP frames go
# through the checkpoint's own image processor (bilinear for xclip-base-patch32, was bicubic).
KEY_VERSION = 3
_FAILED = b"FAILED:"  # a cached decoding failure (safetensors blobs never start with this)


@dataclass
class WindowScore:
    clip_score: float
    video_text_score: float
    cached: bool

    @property
    def score(self) -> float:
        return 0.5 * (self.clip_score + self.video_text_score)


class WindowScorer:
    """Scores windows of videos against one text, reading and filling the embedding cache.

    Args:
        clip, video_text: the two scorers (models/scorers.py).
        clip_frames: frames averaged for the CLIP score.
        fps: frame rate the window is decoded at before sampling.
        cache: a diskcache.Cache or None (no memoisation).
    """

    def __init__(self, clip: ClipScorer, video_text: Any, *, clip_frames: int = 8, fps: float = 8.0,
                 cache: Any = None):
        self.clip = clip
        self.video_text = video_text
        self.clip_frames = clip_frames
        self.fps = fps
        self.cache = cache
        self.short_side = max(_image_size(clip), int(getattr(video_text, "image_size", 224)))
        self.decoded = 0  # windows decoded (cache misses), for the manifest notes and tests

    # Text ------------------------------------------------------------------------------------------------------
    def text_embeddings(self, text: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(CLIP text embedding (D1,), the video-text model's text features for [text]), cached."""
        key = _key({"kind": "text", "clip": self.clip.model_id, "video_text": self.video_text.model_id, "text": text})
        hit = self._get(key)
        if hit is not None:
            return hit["clip"], _unprefix(hit, "vt.")
        c = self.clip.encode_texts([text])[0]  # (D1,)
        v = self.video_text.text_features([text])
        self._put(key, {"clip": c, **{f"vt.{k}": t for k, t in v.items()}})
        return c, v

    # Windows ---------------------------------------------------------------------------------------------------
    def score(self, video: Path, window: Window, text_emb: tuple[torch.Tensor, dict[str, torch.Tensor]]
              ) -> WindowScore:
        """Score one window; raises media.MediaError when the video cannot be decoded."""
        emb, cached = self.window_embeddings(video, window)
        t_clip, t_vt = text_emb
        clip_score = float((emb["frames"] @ t_clip).mean())  # (F, D1) @ (D1,) → (F,) → mean over frames
        vt_score = float(self.video_text.similarity(_unprefix(emb, "vt."), t_vt)[0])  # the model's own score
        return WindowScore(clip_score, vt_score, cached)

    def window_embeddings(self, video: Path, window: Window) -> tuple[dict[str, torch.Tensor], bool]:
        """{'frames': (F, D1) CLIP image embeddings, 'vt.<name>': video-text video features}, and whether it was
        cached."""
        video = Path(video).resolve()
        ident = media.file_identity(video)  # the file's, or its tar shard's, size and mtime
        key = _key({"kind": "window", "clip": self.clip.model_id, "video_text": self.video_text.model_id,
                    "video": str(video), **ident, "start": window.start, "end": window.end, "fps": self.fps,
                    "clip_frames": self.clip_frames, "short_side": self.short_side,
                    **({"crop": list(window.crop)} if getattr(window, "crop", None) else {})})
        if self.cache is not None:
            blob = self.cache.get(key)
            if isinstance(blob, bytes) and blob.startswith(_FAILED):  # this exact file failed before
                raise media.MediaError(blob[len(_FAILED):].decode("utf-8", "replace"))
        hit = self._get(key)
        if hit is not None:
            return hit, True
        try:
            frames = media.read_window(video, window.start, window.duration, self.fps, short_side=self.short_side,
                                       crop=getattr(window, "crop", None))
        except media.MediaError as exc:
            if self.cache is not None:  # keyed by size and mtime: a repaired file gets a new key
                self.cache.set(key, _FAILED + str(exc).encode("utf-8"))
            raise
        self.decoded += 1
        idx = np.linspace(0, len(frames) - 1, self.clip_frames).round().astype(int)  # uniform frame sample
        emb = {"frames": self.clip.encode_images([frames[i] for i in idx]),  # (F, D1)
               **{f"vt.{k}": v for k, v in self.video_text.video_features(frames).items()}}
        self._put(key, emb)
        return emb, False

    # Cache (safetensors bytes; a corrupt entry is a miss) ------------------------------------------------------
    def _get(self, key: str) -> dict[str, torch.Tensor] | None:
        if self.cache is None:
            return None
        blob = self.cache.get(key)
        if not isinstance(blob, bytes) or blob.startswith(_FAILED):
            return None
        try:
            from safetensors.torch import load

            return load(blob)
        except Exception:
            return None

    def _put(self, key: str, tensors: dict[str, torch.Tensor]) -> None:
        if self.cache is None:
            return
        from safetensors.torch import save

        self.cache.set(key, save({k: v.contiguous().float().cpu() for k, v in tensors.items()}))


def _unprefix(d: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in d.items() if k.startswith(prefix)}


def _key(obj: dict[str, Any]) -> str:
    return json.dumps({"v": KEY_VERSION, **obj}, sort_keys=True)


def _image_size(clip: Any) -> int:
    size = getattr(getattr(getattr(clip, "model", None), "visual", None), "image_size", 224)
    return int(max(size) if isinstance(size, (tuple, list)) else size)


def select(scored: list[tuple[Any, float]], *, threshold: float, max_clips: int, min_clips: int,
           groups: list[Any] | None = None, max_per_group: int | None = None) -> list[int]:
    """METHOD.md B.1: the top ``max_clips`` whose score exceeds ``threshold``; if fewer than ``min_clips`` pass,
    the top ``min_clips`` by rank. ``scored`` is [(anything, score)]; returns positions into it, best first.

    ``groups`` (one key per entry, e.g. the source video) with ``max_per_group`` keep at most that many entries of
    one group: the rest of a group is skipped as if it were not there, so near-identical windows of one source video
    never crowd out other videos.
    """
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
    if groups is not None and max_per_group is not None:
        seen: dict[Any, int] = {}
        capped = []
        for i in order:
            if seen.get(groups[i], 0) < max_per_group:
                seen[groups[i]] = seen.get(groups[i], 0) + 1
                capped.append(i)
        order = capped
    above = [i for i in order if scored[i][1] > threshold]
    if len(above) >= min_clips:
        return above[:max_clips]
    return order[:min_clips]


# The gate's threshold is calibrated for a pair of models: (CLIP model, CLIP weights, video-text family) → value.
GATE_THRESHOLDS: dict[tuple[str, str | None, str], float] = {
    # The paper (METHOD.md B.1): CLIP ViT-L/14 and ViCLIP-L/14, mean of the two cosines > 0.2. OpenAI's weights
    # are QuickGELU ones: open_clip's names without -quickgelu build GELU and are refused (models/scorers.py).
    ("ViT-L-14-336-quickgelu", "openai", "viclip"): 0.2,
    ("ViT-L-14-quickgelu", "openai", "viclip"): 0.2,
    # The same weights by their Hub repo (open_clip's hf_hub for the two names above; its config says QuickGELU).
    ("hf-hub:timm/vit_large_patch14_clip_336.openai", None, "viclip"): 0.2,
}


def gate_threshold(threshold: float | None, clip_model: str, clip_pretrained: str | None,
                   video_text_model: str) -> tuple[float, str]:
    """(the threshold to apply, where it comes from). An explicit ``retrieve.threshold`` wins; otherwise the
    calibrated value for the models; none known → UsageError (an uncalibrated gate would keep or drop clips at
    random)."""
    from ..errors import UsageError
    from ..models.scorers import clip_activation_error, video_text_family

    if threshold is not None:
        return float(threshold), "retrieve.threshold"
    family = video_text_family(video_text_model)
    key = (clip_model, clip_pretrained, family)
    if key in GATE_THRESHOLDS:
        return GATE_THRESHOLDS[key], f"calibrated for {clip_model}/{clip_pretrained} + {family}"
    # A config written before the QuickGELU fix names ViT-L-14-336 + openai: say what to set, not "uncalibrated".
    mismatch = clip_activation_error(clip_model, clip_pretrained) if clip_pretrained else None
    if mismatch is not None:
        raise mismatch
    raise UsageError(
        f"no calibrated retrieval threshold for CLIP {clip_model}/{clip_pretrained} with the {family} video-text "
        "model", hint="set --set retrieve.threshold=VALUE (look at counts.above_threshold and the windows' scores "
                      "in a manifest to choose it); the paper's 0.2 holds for CLIP ViT-L/14 + ViCLIP only")
