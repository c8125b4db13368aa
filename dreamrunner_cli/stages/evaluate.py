"""Stage 5, evaluate: the paper's story metrics for the workspace's renders, or for any folder(s) of scene videos.

Items:
- ``<source>/<scene>`` per video source and scene: ``eval/<source>/<scene>.json`` (every per-scene metric of
  METHOD.md E, see evaluation/metrics.py) and ``eval/<source>/<scene>.png`` (its contact sheet). The fingerprint
  covers the scene's plan fields, the reference images of its characters, the video file and ``config.evaluate``.
- ``story``: the story aggregate and the cuts between scenes for every source, ``eval/metrics.json`` and the
  self-contained ``eval/report.html``.

A *source* is a folder of per-scene videos. By default it is the workspace's ``renders/`` (``renders/<scene>.mp4``);
``videos=["DIR", "LABEL=DIR", ...]`` scores other folders against the same plan, to compare systems side by side.
In a folder, videos are matched to scenes by file name (``<scene id>.<ext>``) or, when there are exactly as many
videos as scenes, by sorted (natural) order; anything else is an InputInvalid error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, EvaluateConfig
from ..errors import BackendUnavailable, InputInvalid, MissingUpstream
from ..schema import Plan, load_plan, slug
from ..workspace import StageRun, Workspace, atomic_path, file_digest, write_json_atomic, write_text_atomic

VIDEO_EXTS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".gif")
RENDERS = "renders"
STORY_ITEM = "story"


# Video sources ----------------------------------------------------------------------------------------------------


@dataclass
class VideoSource:
    """A folder of per-scene videos and how its files map to the plan's scenes."""

    name: str
    folder: Path
    videos: dict[str, Path]  # scene id → video file
    matched_by: str  # "scene id" or "sorted order"
    notes: list[str] = field(default_factory=list)


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _parse_spec(spec: str | Path) -> tuple[str | None, Path]:
    """"DIR" or "LABEL=DIR" → (label or None, folder)."""
    text = str(spec)
    label, sep, rest = text.partition("=")
    if sep and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", label) and not Path(text).exists():
        return label, Path(rest).expanduser()
    return None, Path(text).expanduser()


def folder_source(name: str, folder: Path, scene_ids: Sequence[str]) -> VideoSource:
    """Match the videos in ``folder`` to scenes: by file name, else by sorted order when the counts agree."""
    if not folder.exists():
        raise InputInvalid(f"video folder {folder} does not exist", hint="pass --videos DIR (or LABEL=DIR) with one "
                           "video per scene")
    if not folder.is_dir():
        raise InputInvalid(f"{folder} is not a folder", hint="--videos takes a folder of per-scene videos "
                           "(s01.mp4, s02.mp4, ...), not a single file")
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS
                    and not p.name.startswith(".")), key=lambda p: _natural_key(p.name))
    by_stem: dict[str, list[Path]] = {}
    for p in files:
        by_stem.setdefault(p.stem, []).append(p)
    dupes = [s for s in scene_ids if len(by_stem.get(s, [])) > 1]
    if dupes:
        raise InputInvalid(f"{folder} has several videos for scene(s) {dupes}: "
                           f"{[p.name for s in dupes for p in by_stem[s]]}", hint="keep one video per scene id")
    if all(s in by_stem for s in scene_ids):
        extra = [p.name for p in files if p.stem not in scene_ids]
        notes = [f"{name}: ignored files not named after a scene: {extra}"] if extra else []
        return VideoSource(name, folder, {s: by_stem[s][0] for s in scene_ids}, "scene id", notes)
    if len(files) == len(scene_ids):
        mapping = dict(zip(scene_ids, files, strict=True))
        # A file named after one scene must not land on another scene by sorting.
        wrong = [f"{p.name} → {s}" for s, p in mapping.items() if p.stem in scene_ids and p.stem != s]
        if wrong:
            raise InputInvalid(f"{folder}: sorted order would give files named after a scene to another scene "
                               f"({', '.join(wrong)})", hint="name every video after its scene id (s01.mp4, ...)")
        note = f"{name}: matched by sorted order: " + ", ".join(f"{s}={p.name}" for s, p in mapping.items())
        return VideoSource(name, folder, mapping, "sorted order", [note])
    missing = [s for s in scene_ids if s not in by_stem]
    shown = ", ".join(p.name for p in files[:8]) + (" ..." if len(files) > 8 else "")
    raise InputInvalid(
        f"{folder} has {len(files)} video(s) but the plan has {len(scene_ids)} scenes, and no video is named after "
        f"scene(s) {missing}",
        details=[f"videos found: {shown or '(none)'}", f"scenes in the plan: {', '.join(scene_ids)}",
                 f"video extensions looked for: {' '.join(VIDEO_EXTS)}"],
        hint=f"name the videos after the scene ids ({scene_ids[0]}.mp4, ...) or put exactly {len(scene_ids)} "
             "videos in the folder, in story order when sorted by name",
    )


def resolve_sources(ws: Workspace, plan: Plan, videos: Sequence[str | Path] | None,
                    dry_run: bool = False) -> list[VideoSource]:
    """The workspace's renders (default) or the folders given with ``--videos``, with unique slug names."""
    scene_ids = [s.id for s in plan.scenes]
    if not videos:
        mapping = {s: ws.scene_video(s) for s in scene_ids}
        missing = [s for s, p in mapping.items() if not p.exists()]
        if missing and not dry_run:
            raise MissingUpstream(f"scene video(s) not rendered yet: {', '.join(ws.rel(mapping[s]) for s in missing)}",
                                  hint=f"run `dreamrunner render {ws.root}` first, or score other videos with "
                                       "--videos DIR")
        return [VideoSource(RENDERS, ws.renders_dir, mapping, "scene id")]
    sources: list[VideoSource] = []
    used: set[str] = set()
    for spec in videos:
        label, folder = _parse_spec(spec)
        folder = folder.resolve()
        base = RENDERS if label is None and folder == ws.renders_dir else slug(label or folder.name, "videos")
        name, i = base, 2
        while name in used:
            name, i = f"{base}-{i}", i + 1
        used.add(name)
        if folder == ws.renders_dir and not dry_run:
            missing = [s for s in scene_ids if not ws.scene_video(s).exists()]
            if missing:
                raise MissingUpstream(f"scene video(s) not rendered yet: {missing}",
                                      hint=f"run `dreamrunner render {ws.root}` first")
        sources.append(folder_source(name, folder, scene_ids))
    return sources


# Models (loaded lazily: nothing is loaded when every item is up to date) ---------------------------------------------


class Encoders:
    """CLIP, DINOv2 and the video-text model for the evaluation, loaded on first use.

    Tests pass instances (``Encoders(clip=..., dino=..., video_text=...)``); the stage otherwise loads them from
    ``config.evaluate`` with ``models/scorers.py`` and ``models/dino.py``.
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
            self._dino = load_dino(self.cfg.dino_model, self.device)
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


def evaluation_device(cfg: Config) -> str:
    """``evaluate.device``, or the model's device when it is null."""
    return cfg.evaluate.device or cfg.model.device


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


# The stage -------------------------------------------------------------------------------------------------------


def run(
    ws: Workspace,
    cfg: Config,
    *,
    force: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
    progress: bool = True,
    videos: Sequence[str | Path] | None = None,
    encoders: Encoders | None = None,
) -> dict[str, Any]:
    """Score every scene of every video source, then aggregate the story and write metrics.json and report.html.

    Args:
        only: scene ids to (re)score; the story aggregate and report are then left as they are.
        videos: folders (``DIR`` or ``LABEL=DIR``) to score instead of the workspace's renders.
        encoders: injected scorers (tests); by default loaded lazily from ``config.evaluate``.
    """
    from ..evaluation.metrics import MetricSettings, ReferenceEmbeddings, scene_character_ids, score_scene
    from ..evaluation.schema import SceneMetrics

    sr = StageRun(ws, "evaluate", force=force, dry_run=dry_run)
    ecfg = cfg.evaluate
    device = evaluation_device(cfg)
    enc = encoders or Encoders(ecfg, device)
    settings = MetricSettings(consistency_frames=ecfg.consistency_frames, alignment_frames=ecfg.alignment_frames,
                              video_text_frames=ecfg.video_text_frames, smoothness_frames=ecfg.smoothness_frames,
                              event_key=ecfg.event_key, strip_tokens=ecfg.strip_tokens)

    # 1. The plan and the video sources.
    plan = load_plan(ws.require_plan())
    wanted = set(only or [])
    unknown = wanted - {s.id for s in plan.scenes}
    if unknown:
        raise InputInvalid(f"unknown scene id(s) {sorted(unknown)}", hint=f"scene ids: {[s.id for s in plan.scenes]}")
    sources = resolve_sources(ws, plan, videos, dry_run=dry_run)
    for src in sources:
        sr.notes.extend(src.notes)

    # 2. Decide per (source, scene) before loading any model.
    todo = []
    for src in sources:
        for scene in plan.scenes:
            if wanted and scene.id not in wanted:
                continue
            chars = scene_character_ids(scene, plan)
            refs = reference_files(ws, plan, chars)
            deps: dict[str, Any] = {
                f"plan.scenes[{scene.id}]": scene.model_dump(mode="json", include={"narration", "characters",
                                                                                  "keyframes"}),
                # Identifier tokens of every character are stripped from the texts; references only of this scene's.
                "plan.tokens": [c.token for c in plan.characters] if ecfg.strip_tokens else [],
                **{f"plan.characters[{cid}].reference_images": [ws.rel(p) for _, p in files]
                   for cid, files in refs.items()},
                **{f"reference {ws.rel(p)}": p for files in refs.values() for _, p in files},
                "video": src.videos[scene.id],
                "config.evaluate": cfg.section("evaluate")["evaluate"],
                "device": device,
            }
            outs = [_scene_json(ws, src.name, scene.id), _scene_sheet(ws, src.name, scene.id)]
            d = sr.decide(f"{src.name}/{scene.id}", deps, outs)
            if d.run:
                todo.append((src, scene, refs, deps, outs, d))

    # 3. Score what changed (models load on first use; reference and text embeddings are shared across items).
    edge_frames: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}  # first/last frames for the cuts
    if todo and not dry_run:
        from ..evaluation.pictures import contact_sheet
        from ..video import read_video

        ref_cache: dict[tuple[str, str], Any] = {}
        text_cache: dict[tuple[str, str], Any] = {}

        def embed_refs(files: list[tuple[str, Path]]) -> ReferenceEmbeddings:
            keys = [file_digest(p) if p.exists() else "" for _, p in files]
            for kind, model in (("clip", enc.clip), ("dino", enc.dino)):
                need = [(k, (w, p)) for k, (w, p) in zip(keys, files, strict=True)
                        if (model.model_id + kind, k) not in ref_cache]
                if need:
                    emb = model.encode_images([read_image(p, w) for _, (w, p) in need])  # (R, D)
                    for (k, _), row in zip(need, emb, strict=True):
                        ref_cache[(model.model_id + kind, k)] = row
            stack = [np.stack([np.asarray(_np(ref_cache[(m.model_id + kind, k)])) for k in keys])
                     for kind, m in (("clip", enc.clip), ("dino", enc.dino))]
            return ReferenceEmbeddings(clip=stack[0], dino=stack[1], count=len(files))

        bar = _progress(progress)
        with bar:
            task = bar.add_task("evaluate", total=len(todo))
            for src, scene, refs, deps, outs, d in todo:
                bar.update(task, description=f"evaluate {src.name}/{scene.id}")
                frames, fps = read_video(src.videos[scene.id])  # (T, H, W, 3) uint8
                ref_emb = {cid: embed_refs(files) for cid, files in refs.items() if files}
                metrics = score_scene(frames, fps, scene, plan, ref_emb, enc.clip, enc.dino, enc.video_text, settings,
                                      source=src.name, video=ws.rel(src.videos[scene.id]), text_cache=text_cache)
                metrics.models = {"clip": enc.clip.model_id, "dino": enc.dino.model_id,
                                  "video_text": enc.video_text.model_id}
                edge_frames[(src.name, scene.id)] = (frames[0], frames[-1])
                # Outputs first (atomically), then the record.
                with atomic_path(outs[1]) as tmp:
                    contact_sheet(frames, scene, plan).save(tmp, format="PNG")
                write_json_atomic(outs[0], metrics.model_dump(mode="json"))
                sr.finish(d, deps, outs, extra={"video": ws.rel(src.videos[scene.id])})
                bar.advance(task)

    # 4. The story: aggregate, cuts between scenes, metrics.json and the report (needs every scene scored).
    story_info: dict[str, Any] = {}
    if wanted:
        sr.notes.append("story metrics and the report were not updated (--scene); run without --scene to update them")
    else:
        story_info = _story(ws, cfg, plan, sources, sr, enc, settings, device, edge_frames, SceneMetrics)

    sr.close(outcome="ok", models=story_info.get("models") or _configured_models(ecfg), device=device,
             sources=[{"name": s.name, "folder": str(s.folder), "matched_by": s.matched_by} for s in sources])
    return sr.result(**story_info)


def _story(ws: Workspace, cfg: Config, plan: Plan, sources: list[VideoSource], sr: StageRun, enc: Encoders,
           settings: Any, device: str, edge_frames: dict, scene_model: Any) -> dict[str, Any]:
    from ..evaluation.metrics import aggregate_story, boundary_similarity
    from ..evaluation.report import build_report
    from ..evaluation.schema import Boundary, MetricsFile, SourceMetrics

    metrics_path, report_path = ws.eval_dir / "metrics.json", ws.eval_dir / "report.html"
    scene_files = {(s.name, sc.id): _scene_json(ws, s.name, sc.id) for s in sources for sc in plan.scenes}
    sheet_files = {(s.name, sc.id): _scene_sheet(ws, s.name, sc.id) for s in sources for sc in plan.scenes}
    deps: dict[str, Any] = {
        "plan": plan.model_dump(mode="json"),
        "sources": [[s.name, str(s.folder)] for s in sources],
        **{f"eval/{n}/{sid}.json": p for (n, sid), p in scene_files.items()},
        **{f"eval/{n}/{sid}.png": p for (n, sid), p in sheet_files.items()},
        **{f"video {s.name}/{sid}": p for s in sources for sid, p in s.videos.items()},
        "storyboard.png": ws.storyboard,
        **{f"reference {c.id}/{i}": ws.root / rel for c in plan.characters for i, rel in enumerate(c.reference_images)},
        "config.evaluate": cfg.section("evaluate")["evaluate"],
        "device": device,
    }
    d = sr.decide(STORY_ITEM, deps, [metrics_path, report_path])
    if d.run and not sr.dry_run:
        missing = [f"{n}/{sid}" for (n, sid), p in scene_files.items() if not p.exists()]
        if missing:  # only possible when scene items failed earlier in this run
            raise MissingUpstream(f"scene metrics missing for {missing}", hint="run `dreamrunner evaluate` again")
        from ..video import read_video

        source_metrics, models = [], {}
        for src in sources:
            scenes = [scene_model.model_validate_json(scene_files[(src.name, sc.id)].read_text(encoding="utf-8"))
                      for sc in plan.scenes]
            models = models or dict(scenes[0].models)
            # The cuts of the stitched story: last frame of scene i vs first frame of scene i+1 (story.mp4 is the
            # plain concatenation of the scene clips, METHOD.md D).
            edges = []
            for sc in plan.scenes:
                if (src.name, sc.id) not in edge_frames:
                    frames, _ = read_video(src.videos[sc.id])
                    edge_frames[(src.name, sc.id)] = (frames[0], frames[-1])
                edges.append(edge_frames[(src.name, sc.id)])
            boundaries = [Boundary(before=a.id, after=b.id,
                                   dino=round(boundary_similarity(edges[i][1], edges[i + 1][0], enc.dino), 4))
                          for i, (a, b) in enumerate(zip(plan.scenes, plan.scenes[1:]))]
            source_metrics.append(SourceMetrics(name=src.name, path=ws.rel(src.folder),
                                                story=aggregate_story(scenes, boundaries), scenes=scenes))
        warnings = []
        if any("tiny" in m for m in models.values()):
            warnings.append("Random tiny scorer models (the tiny preset): these numbers only prove that the "
                            "pipeline runs; they say nothing about the videos.")
        mf = MetricsFile(title=plan.title, models=models, device=device,
                         settings={k: getattr(settings, k) for k in settings.__dataclass_fields__},
                         sources=source_metrics, warnings=warnings)
        write_json_atomic(metrics_path, mf.model_dump(mode="json"))
        references = {c.id: [ws.root / rel for rel in c.reference_images] for c in plan.characters}
        html_text = build_report(mf, plan, sheet_files, ws.storyboard if ws.storyboard.exists() else None,
                                 references)
        write_text_atomic(report_path, html_text)
        sr.finish(d, deps, [metrics_path, report_path])
    if not metrics_path.exists():
        return {}
    import json

    data = json.loads(metrics_path.read_text(encoding="utf-8"))
    return {"metrics_file": str(metrics_path), "report": str(report_path), "models": data.get("models"),
            "warnings": data.get("warnings", []),
            "sources": [{"name": s["name"], "path": s["path"], "story": s["story"],
                         "scenes": {m["scene"]: {k: m.get(k) for k in _HEADLINE_KEYS} for m in s["scenes"]}}
                        for s in data.get("sources", [])]}


_HEADLINE_KEYS = ("char_clip", "char_dino", "fg_clip", "fg_vt", "full_clip", "full_vt", "trans_dino")


def _scene_json(ws: Workspace, source: str, scene_id: str) -> Path:
    return ws.eval_dir / source / f"{scene_id}.json"


def _scene_sheet(ws: Workspace, source: str, scene_id: str) -> Path:
    return ws.eval_dir / source / f"{scene_id}.png"


def _configured_models(ecfg: EvaluateConfig) -> dict[str, str]:
    return {"clip": f"{ecfg.clip_model}/{ecfg.clip_pretrained}", "dino": ecfg.dino_model,
            "video_text": ecfg.video_text_model}


def _np(x: Any) -> np.ndarray:
    return x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=True)
