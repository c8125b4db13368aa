"""Stage 4, render: every scene → renders/<scene>.mp4 with SR3AI, then story.mp4 (METHOD.md C, D).

Items:
- one per scene. Its fingerprint covers everything that changes its pixels: the scene's plan fields, the model and
  render config sections, the seed, the content of the adapters it uses, and the SR3AI code version. Editing one
  scene's key frames re-renders that scene only.
- ``story``: story.mp4, plain concatenation of the scene clips in plan order (re-stitched when any clip changes).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InputInvalid
from ..schema import NO_MOTION, Plan, Scene, load_plan
from ..workspace import StageRun, Workspace, tree_digest

SR3AI_VERSION = 1  # bump when the mask rule or the render path changes pixels


def scene_seed(base: int, scene_id: str) -> int:
    """A stable per-scene seed: independent of scene order, so inserting a scene re-renders nothing else."""
    return int(hashlib.sha256(f"{base}:{scene_id}".encode()).hexdigest()[:8], 16) % (2**31 - 1)


def scene_adapters(ws: Workspace, plan: Plan, scene: Scene) -> list[tuple[str, str, Path]]:
    """[(kind, id, folder)] of trained adapters that this scene's regions are bound to, by id."""
    entities, motions = [], []
    for kf in scene.keyframes:
        for r in kf.regions + kf.merged:
            if plan.character(r.entity) and r.entity not in entities:
                entities.append(r.entity)
            if r.motion != NO_MOTION and r.motion not in motions:
                motions.append(r.motion)
    found = []
    for kind, ids in (("character", entities), ("motion", motions)):
        for item_id in ids:
            folder = ws.adapters_dir / kind / item_id
            if (folder / "adapter.json").exists():
                found.append((kind, item_id, folder))
    return found


def run(
    ws: Workspace,
    cfg: Config,
    *,
    force: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    from .plan import refresh_storyboard

    sr = StageRun(ws, "render", force=force, dry_run=dry_run)

    # 1. The plan (hand edits included) and its storyboard.
    plan = load_plan(ws.require_plan())
    if not dry_run:
        refresh_storyboard(ws, StageRun(ws, "plan"), plan)
    wanted = set(only or [])
    unknown = wanted - {s.id for s in plan.scenes}
    if unknown:
        raise InputInvalid(f"unknown scene id(s) {sorted(unknown)}", hint=f"scene ids: {[s.id for s in plan.scenes]}")

    # 2. Decide per scene, before loading any model.
    todo: list[tuple[Scene, dict, Any, int, list]] = []
    for scene in plan.scenes:
        if wanted and scene.id not in wanted:
            continue
        seed = scene_seed(cfg.render.seed, scene.id)
        adapters = scene_adapters(ws, plan, scene) if cfg.render.use_adapters and cfg.render.attention != "none" \
            else []
        deps = {
            f"plan.scenes[{scene.id}]": scene.model_dump(mode="json"),
            "config.model": cfg.model.model_dump(),
            "config.render": cfg.render.model_dump(),
            "seed": seed,
            "adapters": {f"{k}/{i}": tree_digest(folder) for k, i, folder in adapters},
            "sr3ai_version": SR3AI_VERSION,
        }
        d = sr.decide(scene.id, deps, [ws.scene_video(scene.id)])
        if d.run:
            todo.append((scene, deps, d, seed, adapters))

    # 3. Render what changed (the model is loaded only if something must run).
    seeds: dict[str, int] = {}
    if todo and not dry_run:
        seeds = _render_scenes(ws, cfg, sr, todo, progress)

    # 4. Stitch the story from every scene clip, in plan order.
    clips = [ws.scene_video(s.id) for s in plan.scenes]
    if all(c.exists() for c in clips):
        deps = {"renders": {ws.rel(c): tree_digest(c) for c in clips}, "fps": cfg.render.fps}
        d = sr.decide("story", deps, [ws.story_video])
        if d.run and not dry_run:
            from ..video import concat_videos

            concat_videos(clips, ws.story_video, cfg.render.fps)
            sr.finish(d, deps, [ws.story_video])
    else:
        missing = [s.id for s, c in zip(plan.scenes, clips) if not c.exists()]
        sr.notes.append(f"story.mp4 not stitched: scenes {missing} not rendered yet")

    from ..models.loading import model_ids

    sr.close(outcome="ok", seeds=seeds, models=model_ids(cfg.model), attention=cfg.render.attention)
    return sr.result(story=str(ws.story_video) if ws.story_video.exists() else None)


def _render_scenes(ws: Workspace, cfg: Config, sr: StageRun, todo: list, progress: bool) -> dict[str, int]:
    import torch

    from ..models.loading import load_pipeline
    from ..sr3ai.lora import adapter_name
    from ..sr3ai.pipeline import geometry_of, render_scene
    from ..sr3ai.regions import scene_regions
    from ..video import write_video

    pipe = load_pipeline(cfg.model, place=cfg.render.cpu_offload == "none")
    _memory_options(pipe, cfg)
    geom = geometry_of(pipe, cfg.render.height, cfg.render.width, cfg.render.num_frames)
    loaded: set[str] = set()
    seeds: dict[str, int] = {}
    bar = _progress(progress)
    with bar:
        task = bar.add_task("render", total=len(todo) * cfg.render.steps)
        for scene, deps, d, seed, adapters in todo:
            bar.update(task, description=f"render {scene.id}")
            # 1. Only this scene's adapters stay loaded (region-masked LoRA needs them in peft, disabled).
            needed = {adapter_name(k, i): folder for k, i, folder in adapters}
            stale = sorted(loaded - set(needed))
            if stale:
                pipe.delete_adapters(stale)
                loaded -= set(stale)
            for name, folder in needed.items():
                if name not in loaded:
                    _load_adapter(pipe, name, folder)
                    loaded.add(name)
            # 2. Regions from the plan at the model's geometry, then the SR3AI render.
            regions = None if cfg.render.attention == "none" else scene_regions(
                scene, geom, cfg.render.keyframe_policy, cfg.render.overlap)
            with torch.inference_mode():
                result = render_scene(pipe, scene, cfg.render, seed, regions, [(k, i) for k, i, _ in adapters],
                                      on_step=lambda: bar.advance(task))
            # 3. Outputs first, then the record.
            write_video(ws.scene_video(scene.id), result.frames, cfg.render.fps)
            sr.finish(d, deps, [ws.scene_video(scene.id)],
                      extra={"seed": seed, "prompts": result.prompts, "adapters": result.adapters})
            seeds[scene.id] = seed
    return seeds


def _load_adapter(pipe, name: str, folder: Path) -> None:
    """A LoRA written by the adapt stage (diffusers format, safetensors) → peft adapter ``name``."""
    meta = json.loads((folder / "adapter.json").read_text(encoding="utf-8"))
    weights = sorted(folder.glob("*.safetensors"))
    if not weights:
        raise InputInvalid(f"adapter folder {folder} has no .safetensors file",
                           hint=f"re-run `dreamrunner adapt` for {meta.get('kind')} {meta.get('id')}")
    pipe.load_lora_weights(str(folder), weight_name=weights[0].name, adapter_name=name)


def _memory_options(pipe, cfg: Config) -> None:
    r = cfg.render
    if r.cpu_offload == "model":
        pipe.enable_model_cpu_offload(device=cfg.model.device)
    elif r.cpu_offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=cfg.model.device)
    if r.vae_tiling:
        pipe.vae.enable_tiling()
    if r.vae_slicing:
        pipe.vae.enable_slicing()


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=not enabled, transient=False)
