"""Stage 5, evaluate: the paper's story metrics for the workspace's renders, or for any folder(s) of scene videos.

Items:
- ``<source>/<scene>`` per video source and scene: ``eval/<source>/<scene>.json`` (every per-scene metric of
  METHOD.md E, see evaluation/metrics.py) and ``eval/<source>/<scene>.png`` (its contact sheet). The fingerprint
  covers the scene's plan fields, the reference images of its characters, the video file and ``config.evaluate``.
- ``story``: the story aggregate and the cuts between scenes for every source, ``eval/metrics.json`` and the
  self-contained ``eval/report.html``.

This module only decides, per item, what must run, and writes outputs then records. Video sources are resolved by
evaluation/sources.py; models, scoring and the story aggregate are evaluation/orchestrate.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import Config, EvaluateConfig
from ..errors import InputInvalid, MissingUpstream, listing
from ..evaluation.orchestrate import Encoders, reference_files
from ..evaluation.sources import RENDERS, VideoSource, folder_source, resolve_sources
from ..progress import Reporter, reporter
from ..schema import Plan, load_plan
from ..workspace import StageRun, Workspace, atomic_path, write_json_atomic, write_text_atomic

__all__ = ["Encoders", "RENDERS", "VideoSource", "evaluation_device", "folder_source", "resolve_sources", "run"]
STORY_ITEM = "story"


def evaluation_device(cfg: Config) -> str:
    """``evaluate.device``, or the model's device when it is null."""
    return cfg.evaluate.device or cfg.model.device


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
    from ..evaluation.metrics import scene_character_ids
    from ..evaluation.orchestrate import SceneScorer, contact_sheet_png, settings_from

    sr = StageRun(ws, "evaluate", force=force, dry_run=dry_run)
    rep = reporter(progress and not dry_run, "evaluate")
    ecfg = cfg.evaluate
    device = evaluation_device(cfg)
    enc = encoders or Encoders(ecfg, device)
    settings = settings_from(ecfg)

    # 1. The plan and the video sources.
    plan = load_plan(ws.require_plan())
    wanted = set(only or [])
    unknown = wanted - {s.id for s in plan.scenes}
    if unknown:
        raise InputInvalid(f"unknown scene id(s) {listing(sorted(unknown))}",
                           hint=f"scene ids: {listing(s.id for s in plan.scenes)}")
    try:
        sources = resolve_sources(ws, plan, videos, dry_run=dry_run)
    except MissingUpstream as exc:  # renders missing: render may lack its own upstream (LoRAs), so name the chain
        from . import upstream_command

        exc.hint = f"run `{upstream_command(ws, cfg, 'evaluate')}` (finished items are skipped)" + (
            "" if videos else ", or score other videos with --videos DIR")
        raise
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

    # 3. Score what changed (the scorers load once, before the first item; reference and text embeddings are
    #    shared across items).
    edge_frames: dict[tuple[str, str], Any] = {}  # first/last frames for the cuts between scenes
    with rep:
        if todo and not dry_run:
            if encoders is None:  # injected scorers are already on their device
                from ..models.loading import check_stage_device
                check_stage_device(cfg, "evaluate")
            scorer = SceneScorer(enc, settings)
            if enc.unloaded():
                with rep.phase("load scorers", ", ".join(enc.unloaded())):
                    enc.load()
            with rep.bar("score", total=len(todo)) as bar:
                for src, scene, refs, deps, outs, d in todo:
                    bar.update(description=f"score {src.name}/{scene.id}")
                    metrics, frames = scorer.score(src.videos[scene.id], scene, plan, refs, source=src.name,
                                                   video_label=ws.rel(src.videos[scene.id]))
                    edge_frames[(src.name, scene.id)] = (frames[0], frames[-1])
                    # Outputs first (atomically), then the record.
                    with atomic_path(outs[1]) as tmp:
                        contact_sheet_png(frames, scene, plan, tmp)
                    write_json_atomic(outs[0], metrics.model_dump(mode="json"))
                    sr.finish(d, deps, outs, extra={"video": ws.rel(src.videos[scene.id])})
                    bar.advance()

        # 4. The story: aggregate, cuts between scenes, metrics.json and the report (needs every scene scored).
        story_info: dict[str, Any] = {}
        if wanted:
            sr.notes.append("story metrics and the report were not updated (--scene); run without --scene to "
                            "update them")
        else:
            story_info = _story(ws, cfg, plan, sources, sr, enc, settings, device, edge_frames, rep)

    sr.close(outcome="ok", models=story_info.get("models") or _configured_models(ecfg), device=device,
             sources=[{"name": s.name, "folder": str(s.folder), "matched_by": s.matched_by} for s in sources])
    return sr.result(**story_info)


def _story(ws: Workspace, cfg: Config, plan: Plan, sources: list[VideoSource], sr: StageRun, enc: Encoders,
           settings: Any, device: str, edge_frames: dict, rep: Reporter) -> dict[str, Any]:
    """The ``story`` item: decide, then aggregate (evaluation/orchestrate.py), write metrics.json and the report."""
    from ..evaluation.orchestrate import report_html, story_metrics

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
        # what the report shows beside the scores: the story video, retrieved clips, the adapters' loss curves
        "story.mp4": ws.story_video,
        **{ws.rel(p): p for p in sorted(ws.retrieval_dir.glob("*/manifest.json"))},
        **{ws.rel(p): p for p in sorted(ws.adapters_dir.glob("*/*/adapter.json"))},
        "config.evaluate": cfg.section("evaluate")["evaluate"],
        "device": device,
    }
    d = sr.decide(STORY_ITEM, deps, [metrics_path, report_path])
    if d.run and not sr.dry_run:
        missing = [f"{n}/{sid}" for (n, sid), p in scene_files.items() if not p.exists()]
        if missing:  # only possible when scene items failed earlier in this run
            raise MissingUpstream(f"scene metrics missing for {missing}", hint="run `dreamrunner evaluate` again")
        # The story in steps (tens of seconds with the real models): the first and last frames of the scenes not
        # decoded in this run, DINO (when only the story re-runs), the cuts and the aggregate, then the report.
        need = [(s, sc.id) for s in sources for sc in plan.scenes if (s.name, sc.id) not in edge_frames]
        if need:
            from ..video import read_video

            with rep.bar("story: first and last frames", total=len(need)) as bar:
                for src, sid in need:
                    frames, _ = read_video(src.videos[sid])
                    edge_frames[(src.name, sid)] = (frames[0], frames[-1])
                    bar.advance()
        if "dino" in enc.unloaded():
            with rep.phase("story: load DINO", enc.cfg.dino_model if enc.cfg else ""):
                enc.dino  # noqa: B018 - loads it
        with rep.phase("story: metrics and cuts between scenes"):
            mf = story_metrics(plan, sources, scene_files, enc.dino, device=device, settings=settings, rel=ws.rel,
                               edge_frames=edge_frames)
            write_json_atomic(metrics_path, mf.model_dump(mode="json"))
        with rep.phase("story: report.html"):
            write_text_atomic(report_path, report_html(mf, ws, plan, sheet_files))
        sr.finish(d, deps, [metrics_path, report_path])
    if not metrics_path.exists():
        return {}
    from ..evaluation.orchestrate import read_metrics_json

    data = read_metrics_json(metrics_path)  # bounded, exit 5 naming it when damaged
    return {"metrics_file": str(metrics_path), "report": str(report_path), "models": data.get("models"),
            "warnings": data.get("warnings", []),
            "sources": [{"name": s["name"], "path": s["path"], "story": s["story"],
                         "scenes": {m["scene"]: {k: m.get(k) for k in _HEADLINE_KEYS} for m in s["scenes"]}}
                        for s in data.get("sources", [])]}


_HEADLINE_KEYS = ("char_clip", "char_dino", "fg_clip", "fg_vt", "full_clip", "full_vt", "trans_dino",
                  "fg_clip_midpoint", "fg_vt_midpoint", "fg_clip_plan", "fg_vt_plan")


def _scene_json(ws: Workspace, source: str, scene_id: str) -> Path:
    return ws.eval_dir / source / f"{scene_id}.json"


def _scene_sheet(ws: Workspace, source: str, scene_id: str) -> Path:
    return ws.eval_dir / source / f"{scene_id}.png"


def _configured_models(ecfg: EvaluateConfig) -> dict[str, str]:
    return {"clip": f"{ecfg.clip_model}/{ecfg.clip_pretrained}", "dino": f"{ecfg.dino_model} ({ecfg.dino_arch})",
            "video_text": ecfg.video_text_model}
