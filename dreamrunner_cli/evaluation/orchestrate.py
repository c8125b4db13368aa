"""Metric orchestration for the evaluate stage: which models, which inputs, and how one item is scored.

The stage (stages/evaluate.py) decides per item what must run and writes outputs and records; everything between
"this scene video must be scored" and "here are its metrics" lives here:

- :class:`Encoders`: CLIP, DINO and the video-text model, loaded lazily from ``config.evaluate`` (tests inject fakes).
- :class:`SceneScorer`: one scene video → :class:`SceneMetrics` and its contact sheet, with reference-image and text
  embeddings shared across scenes and sources.
- :func:`story_metrics`: every source's scene files → the story aggregate, the cuts between scenes and the
  :class:`MetricsFile`, plus the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EvaluateConfig
from ..errors import BackendUnavailable, InputInvalid
from ..schema import Plan, Scene
from ..workspace import Workspace, file_digest
from .metrics import MetricSettings, ReferenceEmbeddings, aggregate_story, boundary_similarity, score_scene
from .schema import Boundary, MetricsFile, SceneMetrics, SourceMetrics
from .sources import VideoSource

TINY_WARNING = ("Random tiny scorer models (the tiny preset): these numbers only prove that the pipeline runs; they "
                "say nothing about the videos.")


def settings_from(ecfg: EvaluateConfig) -> MetricSettings:
    """The metric knobs of ``config.evaluate``."""
    return MetricSettings(consistency_frames=ecfg.consistency_frames, alignment_frames=ecfg.alignment_frames,
                          video_text_frames=ecfg.video_text_frames, smoothness_frames=ecfg.smoothness_frames,
                          event_key=ecfg.event_key, strip_tokens=ecfg.strip_tokens, fg_split=ecfg.fg_split)


# Models (loaded lazily: nothing is loaded when every item is up to date) ---------------------------------------------


class Encoders:
    """CLIP, DINO(v2) and the video-text model for the evaluation, loaded on first use.

    Tests pass instances (``Encoders(clip=..., dino=..., video_text=...)``); otherwise they are loaded from
    ``config.evaluate`` with ``models/scorers.py`` and ``models/dino.py`` (checked loading: exit 4 when weights are
    missing or do not fully load).
    """

    def __init__(self, cfg: EvaluateConfig | None = None, device: str = "cpu", *, clip: Any = None,
                 dino: Any = None, video_text: Any = None):
        self.cfg = cfg
        self.device = device
        self._clip, self._dino, self._video_text = clip, dino, video_text
        self.loaded: list[str] = []  # which models this object loaded itself (tests check laziness)

    def _check(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise BackendUnavailable(
                    f"evaluation device {self.device!r} requested, but CUDA is not available",
                    hint="run on a GPU machine, or `--set evaluate.device=cpu` (slow with the real models)")

    @property
    def clip(self) -> Any:
        if self._clip is None:
            from ..models.scorers import load_clip_scorer

            self._check()
            assert self.cfg is not None
            self._clip = load_clip_scorer(self.cfg.clip_model, self.cfg.clip_pretrained, self.device)
            self.loaded.append("clip")
        return self._clip

    @property
    def dino(self) -> Any:
        if self._dino is None:
            from ..models.dino import load_dino

            self._check()
            assert self.cfg is not None
            self._dino = load_dino(self.cfg.dino_model, self.device, arch=self.cfg.dino_arch)
            self.loaded.append("dino")
        return self._dino

    @property
    def video_text(self) -> Any:
        if self._video_text is None:
            from ..models.scorers import load_video_text_scorer

            self._check()
            assert self.cfg is not None
            self._video_text = load_video_text_scorer(self.cfg.video_text_model, self.device)
            self.loaded.append("video_text")
        return self._video_text

    def model_ids(self) -> dict[str, str]:
        return {"clip": self.clip.model_id, "dino": self.dino.model_id, "video_text": self.video_text.model_id}

    def unloaded(self) -> list[str]:
        """The models not loaded yet (scoring a scene needs all three)."""
        return [name for name, m in (("clip", self._clip), ("dino", self._dino), ("video_text", self._video_text))
                if m is None]

    def load(self) -> None:
        """Load every model now (the stage shows it as one phase rather than inside the first scene)."""
        self.model_ids()


# Inputs --------------------------------------------------------------------------------------------------------------


def reference_files(ws: Workspace, plan: Plan, character_ids: Sequence[str]) -> dict[str, list[tuple[str, Path]]]:
    """character id → [(JSON path, file)] of its reference images (relative paths are under the workspace)."""
    out: dict[str, list[tuple[str, Path]]] = {}
    for ci, ch in enumerate(plan.characters):
        if ch.id not in character_ids:
            continue
        out[ch.id] = [(f"characters[{ci}].reference_images[{j}]", ws.root / rel)
                      for j, rel in enumerate(ch.reference_images)]
    return out


def read_image(path: Path, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
    except FileNotFoundError:
        raise InputInvalid(f"reference image {path} not found (plan.json {where})",
                           hint="fix the path in plan.json (relative to the workspace) or add the image") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InputInvalid(f"reference image {path} cannot be read (plan.json {where}): {exc}",
                           hint="replace it with a PNG or JPEG image") from None


# Scoring one scene video ---------------------------------------------------------------------------------------------


class SceneScorer:
    """Scores scene videos; reference-image and text embeddings are shared across scenes and sources."""

    def __init__(self, enc: Encoders, settings: MetricSettings):
        self.enc = enc
        self.settings = settings
        self._refs: dict[tuple[str, str], Any] = {}  # (model id + kind, file digest) → (D,) embedding
        self._texts: dict[tuple[str, str], Any] = {}  # (model id, text) → text embedding / features

    def references(self, files: list[tuple[str, Path]]) -> ReferenceEmbeddings:
        """One character's reference images → CLIP and DINO embeddings (R, D) each."""
        keys = [file_digest(p) if p.exists() else "" for _, p in files]
        models = (("clip", self.enc.clip), ("dino", self.enc.dino))
        for kind, model in models:
            need = [(k, (w, p)) for k, (w, p) in zip(keys, files, strict=True)
                    if (model.model_id + kind, k) not in self._refs]
            if need:
                emb = model.encode_images([read_image(p, w) for _, (w, p) in need])  # (R, D)
                for (k, _), row in zip(need, emb, strict=True):
                    self._refs[(model.model_id + kind, k)] = row
        stack = [np.stack([_np(self._refs[(m.model_id + kind, k)]) for k in keys]) for kind, m in models]
        return ReferenceEmbeddings(clip=stack[0], dino=stack[1], count=len(files))

    def score(self, video: Path, scene: Scene, plan: Plan, refs: dict[str, list[tuple[str, Path]]], *,
              source: str, video_label: str) -> tuple[SceneMetrics, np.ndarray]:
        """Every per-scene metric (METHOD.md E) of one video → (metrics with model ids, the decoded frames)."""
        from ..video import read_video

        frames, fps = read_video(video)  # (T, H, W, 3) uint8
        ref_emb = {cid: self.references(files) for cid, files in refs.items() if files}
        metrics = score_scene(frames, fps, scene, plan, ref_emb, self.enc.clip, self.enc.dino, self.enc.video_text,
                              self.settings, source=source, video=video_label, text_cache=self._texts)
        metrics.models = self.enc.model_ids()
        return metrics, frames


def contact_sheet_png(frames: np.ndarray, scene: Scene, plan: Plan, out: Path) -> None:
    """The scene's contact sheet (frames with the plan's boxes) as a PNG at ``out`` (the caller makes it atomic)."""
    from .pictures import contact_sheet

    contact_sheet(frames, scene, plan).save(out, format="PNG")


# The story ----------------------------------------------------------------------------------------------------------


def read_scene_metrics(path: Path) -> SceneMetrics:
    """One ``eval/<source>/<scene>.json``, read within the JSON file bounds (``bounds.read_text``: a regular file of
    at most 64 MiB; pydantic's parser limits the depth); a damaged one is exit 5 naming it."""
    from pydantic import ValidationError

    from ..bounds import MAX_JSON_FILE_BYTES, read_text

    try:
        return SceneMetrics.model_validate_json(read_text(path, MAX_JSON_FILE_BYTES, what="scene metrics file"))
    except ValidationError as exc:
        raise InputInvalid(f"scene metrics file {path} is damaged: {str(exc).splitlines()[0]}",
                           hint="run `dreamrunner evaluate WS --force` to score the scenes again") from None


def read_metrics_json(path: Path) -> dict[str, Any]:
    """``eval/metrics.json`` as a JSON object, within the bounds of ``bounds.read_json``; exit 5 naming it when it is
    not one (a FIFO, past the size or depth bound, not JSON, not an object)."""
    import json

    from ..bounds import read_json

    hint = "run `dreamrunner evaluate WS --force` to write it again"
    try:
        data = read_json(path, what="metrics file")
    except json.JSONDecodeError as exc:
        raise InputInvalid(f"metrics file {path} is not valid JSON ({exc.msg}, line {exc.lineno})", hint=hint) from None
    if not isinstance(data, dict):
        raise InputInvalid(f"metrics file {path} is not a JSON object", hint=hint)
    return data


def story_metrics(plan: Plan, sources: Sequence[VideoSource], scene_files: dict[tuple[str, str], Path],
                  dino: Any, *, device: str, settings: MetricSettings, rel: Any,
                  edge_frames: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] | None = None) -> MetricsFile:
    """Every source's scene files → the story aggregate and the cuts between scenes (METHOD.md E; cuts added here).

    Args:
        scene_files: (source, scene id) → its ``eval/<source>/<scene>.json``.
        dino: the image encoder for the cuts (loaded only when a cut has to be scored).
        rel: path → the string stored in the file (the workspace-relative path).
        edge_frames: first / last frames already decoded this run; others are read from the videos.
    """
    from ..video import read_video

    edge_frames = dict(edge_frames or {})
    source_metrics, models = [], {}
    for src in sources:
        scenes = [read_scene_metrics(scene_files[(src.name, sc.id)]) for sc in plan.scenes]
        models = models or dict(scenes[0].models)
        # The cuts of the stitched story: last frame of scene i vs first frame of scene i+1 (story.mp4 is the
        # plain concatenation of the scene clips, METHOD.md D).
        edges = []
        for sc in plan.scenes:
            if (src.name, sc.id) not in edge_frames:
                frames, _ = read_video(src.videos[sc.id])
                edge_frames[(src.name, sc.id)] = (frames[0], frames[-1])
            edges.append(edge_frames[(src.name, sc.id)])
        boundaries = [Boundary(before=a.id, after=b.id, dino=round(boundary_similarity(edges[i][1], edges[i + 1][0],
                                                                                        dino), 4))
                      for i, (a, b) in enumerate(zip(plan.scenes, plan.scenes[1:]))]
        source_metrics.append(SourceMetrics(name=src.name, path=rel(src.folder),
                                            story=aggregate_story(scenes, boundaries), scenes=scenes))
    warnings = []
    if any("tiny" in m for m in models.values()):
        warnings.append(TINY_WARNING)
    if len(sources) > 1 and settings.fg_split == "plan":
        warnings.append("Systems are compared with fg_split=plan: the fine-grained columns cut each video at this "
                        "plan's key frames, which favours a system rendered from this plan. The paper's midpoint cut "
                        "(fg_*_midpoint, also in the table) is the fair one.")
    return MetricsFile(title=plan.title, models=models, device=device,
                       settings={k: getattr(settings, k) for k in settings.__dataclass_fields__},
                       sources=source_metrics, warnings=warnings)


def report_html(mf: MetricsFile, ws: Workspace, plan: Plan, sheet_files: dict[tuple[str, str], Path]) -> str:
    from .report import build_report

    references = {c.id: [ws.root / rel for rel in c.reference_images] for c in plan.characters}
    return build_report(mf, plan, sheet_files, ws.storyboard if ws.storyboard.exists() else None, references, ws=ws)


def _np(x: Any) -> np.ndarray:
    return x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
