"""`dreamrunner masks`: export the SR3AI region masks of a workspace's scenes (no model, no GPU)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    JsonOpt,
    PresetOpt,
    QuietOpt,
    SceneOpt,
    SetReadOpt,
    WorkspaceArg,
    announce_unsaved,
    console,
    emit,
    guarded,
    open_workspace,
)


@guarded
def masks(
    workspace: WorkspaceArg,
    scene: SceneOpt = None,
    height: Annotated[int | None, typer.Option(help="Pixels (default: render.height).")] = None,
    width: Annotated[int | None, typer.Option(help="Pixels (default: render.width).")] = None,
    frames: Annotated[int | None, typer.Option(help="Pixel frames (default: render.num_frames).")] = None,
    text_len: Annotated[int | None, typer.Option(help="Tokens per prompt (default: the model's, 226).")] = None,
    out: Annotated[Path | None, typer.Option(help="The .npz to write (default WS/masks/masks.npz); pictures go "
                                                  "beside it as <scene>.png.")] = None,
    preset: PresetOpt = None,
    overrides: SetReadOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write each scene's region prompts and the region membership of every video token, plus a picture per scene.

    How to read them: docs/sr3ai.md. Nothing is loaded but plan.json; the geometry comes from the options or the
    workspace config (model config known for CogVideoX-2b/5b and tiny).

    Examples:

        dreamrunner masks ws/teddy

        dreamrunner masks ws/teddy --scene s01 --height 480 --width 720 --frames 48 --out s01.npz
    """
    from ..schema import load_plan
    from ..sr3ai.export import export_masks
    from ..sr3ai.geometry_source import geometry_for
    from ..sr3ai.regions import vanishing_regions

    ws, cfg = open_workspace(workspace, preset, overrides, save=False)
    plan = load_plan(ws.require_plan())
    geom = geometry_for(cfg.model.id, height or cfg.render.height, width or cfg.render.width,
                        frames or cfg.render.num_frames, text_len)
    scene_ids = scene or [s.id for s in plan.scenes]
    unknown = [sid for sid in scene_ids if sid not in {s.id for s in plan.scenes}]
    if unknown:  # before writing anything
        from ..errors import UnknownItem, listing

        raise UnknownItem(f"unknown scene id(s) {listing(unknown)}", hint=f"scene ids: {listing(s.id for s in plan.scenes)}")
    out_npz = out or ws.masks_dir / "masks.npz"
    announce_unsaved(ws, "masks never saves")
    result = {"workspace": str(ws.root), "scenes": scene_ids,
              **export_masks(plan, geom, scene_ids, out_npz, out_npz.parent, cfg.render.keyframe_policy,
                             cfg.render.overlap)}
    result["warnings"] = [w for sid in scene_ids for w in vanishing_regions(plan.scene(sid), geom)]
    for w in result["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    emit(result, as_json, quiet, lambda r: console().print(
        f"masks: {r['npz']}\npictures: {', '.join(r['pictures'])}\n"
        f"geometry: {r['geometry']['latent_frames']} latent frames × {r['geometry']['rows']}×{r['geometry']['cols']} "
        f"tokens, {r['geometry']['text_len']} text tokens per prompt"))
