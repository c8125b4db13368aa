"""`dreamrunner render`: every scene → renders/<scene>.mp4 with SR3AI, then story.mp4."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    PresetOpt,
    NoSaveOpt,
    QuietOpt,
    SceneOpt,
    SetOpt,
    VerboseOpt,
    WaitOpt,
    WorkspaceArg,
    check_selection,
    emit,
    guarded,
    open_workspace,
    plan_scene_ids,
    print_decisions,
    print_summary,
    session,
)


@guarded
def render(
    workspace: WorkspaceArg,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    no_save: NoSaveOpt = False,
    scene: SceneOpt = None,
    attention: Annotated[str | None, typer.Option(help="SR3AI backend: sdpa, flex, or none (stock model, one "
                                                       "prompt). Same as --set render.attention=…")] = None,
    offload: Annotated[str | None, typer.Option(help="CPU offload for small GPUs: none, model, sequential.")] = None,
    dtype: Annotated[str | None, typer.Option(help="float16, bfloat16 or float32 (model.dtype).")] = None,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Render each scene with SR3AI (region-masked attention + region-masked LoRA) and stitch story.mp4.

    Only scenes whose inputs changed are rendered again (their plan fields, the model/render config, their adapters).

    Examples:

        dreamrunner render ws/teddy

        dreamrunner render ws/teddy --scene s02 --set render.steps=30

        dreamrunner render ws/teddy --attention flex --offload model --dtype bfloat16
    """
    from ..stages import render as stage

    flags = [f"{k}={v}" for k, v in (("render.attention", attention), ("render.cpu_offload", offload),
                                      ("model.dtype", dtype)) if v is not None]
    ws, cfg = open_workspace(workspace, preset, (overrides or []) + flags, save=not no_save)
    ws.require_plan()
    if scene:  # unknown ids are a usage error (exit 2), found before anything is written
        check_selection("--scene", scene, plan_scene_ids(ws))
    with session(ws, wait=wait, dry_run=dry_run):
        result = stage.run(ws, cfg, force=force, dry_run=dry_run, only=scene, progress=not quiet and not as_json)
    emit(result, as_json, quiet, _human)


def _human(result: dict) -> None:
    print_decisions(result)
    from .common import console

    if result.get("story"):
        console().print(f"story: {result['story']}")
    print_summary(result)
