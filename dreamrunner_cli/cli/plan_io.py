"""`dreamrunner import` and `dreamrunner export`: the DreamRunner authors' text plan format (METHOD.md A.3)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    PresetOpt,
    QuietOpt,
    SceneOpt,
    SetEachOpt,
    WaitOpt,
    WorkspaceArg,
    console,
    emit,
    guarded,
    print_decisions,
    print_summary,
)


@guarded
def import_plan(
    file: Annotated[Path, typer.Argument(dir_okay=False, resolve_path=True,
                                         help="A benchmark file (one JSON array [video_name, plan_string] per "
                                              "line) or a text file holding one plan string.")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, resolve_path=True,
                                      help="Folder that receives one workspace per plan: OUT/<video name>/.")],
    preset: PresetOpt = None,
    overrides: SetEachOpt = None,
    storyboard: Annotated[bool, typer.Option("--storyboard/--no-storyboard",
                                             help="Draw storyboard.png in each workspace.")] = True,
    lenient: Annotated[bool, typer.Option("--lenient", help="Read an inverted box (top > bottom or left > right) "
                                                            "as an empty region, as the authors' code does, "
                                                            "instead of refusing its plan.")] = False,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Import plans written in the DreamRunner authors' format into workspaces (plan.json, config.json,
    storyboard.png). Their motions still need LoRAs before render: `dreamrunner run WS` retrieves clips, trains
    them, renders and scores (render alone exits 3 without them, unless --set render.require_adapters=false).

    Entities become plan objects, motions become plan motions (ids are slugs; "none" stays none); overlapping
    boxes and caption changes are kept. Boxes past the frame are kept (the region is the part inside it), and
    [0, 0, 0, 0] marks an entity absent from a key frame. A bad plan is reported by its line and not imported; every
    other plan is (exit code 5 at the end). A workspace already holding a different plan is replaced only with
    --force.

    Examples:

        dreamrunner import t2v-combench/plan/4_motion_binding.jsonl --out ws/motion_binding --preset cogvideox-2b

        dreamrunner import my_plan.txt --out ws --json

        dreamrunner run ws/0001 --db /data/videos/index
    """
    from ..planning.authors_format import import_to_workspaces, read_plans, to_plan, workspace_names

    if dry_run:
        parsed = read_plans(file, lenient=lenient)
        for p in parsed:
            to_plan(p)  # validates
        names = workspace_names(parsed)
        result = {"stage": "import", "dry_run": True, "source": str(file), "out": str(out),
                  "items": [{"stage": "import", "item": n, "run": True, "action": "would run",
                             "reason": "valid plan", "workspace": str(out / n)} for n in names],
                  "notes": [f"{len(names)} valid plan(s) in {file}; nothing written (--dry-run)"]}
    else:
        result = import_to_workspaces(file, out, preset=preset, overrides=overrides, force=force, wait=wait,
                                      storyboard=storyboard, lenient=lenient)
        result = {"stage": result.pop("stage"), "dry_run": False, **result}  # the same fields as --dry-run's
        if result["items"]:
            result["notes"].append(_next_step(Path(result["items"][0]["workspace"])))
    emit(result, as_json, quiet, _import_human)


def _import_human(result: dict) -> None:
    print_decisions(result)
    print_summary(result)


def _next_step(first: Path) -> str:
    """What an imported workspace needs next, as a command that works on it (issue 25: they were called "ready for
    render", but render stops at the motions' missing LoRAs)."""
    from ..config import resolve_config
    from ..stages import upstream_command
    from ..workspace import Workspace

    ws = Workspace(first)
    cfg = resolve_config(saved=ws.config)
    return (f"next, for each workspace (here the first): `{upstream_command(ws, cfg, 'evaluate')}` retrieves clips, "
            "trains the LoRAs, renders and scores; or render without LoRAs: "
            f"`dreamrunner render {ws.root} --set render.require_adapters=false`")


@guarded
def export_plan(
    workspace: WorkspaceArg,
    scene: SceneOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", dir_okay=False, resolve_path=True,
                                             help="Write to this file (default: standard output).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f",
                                            help="text: one plan string (one scene); jsonl: one line "
                                                 "[\"<scene>.mp4\", plan_string] per scene. Default: text for one "
                                                 "scene, jsonl for several.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export a workspace's plan.json to the DreamRunner authors' text format (Background + Frame_k lines).

    Characters become plain entities (the format has no tokens or reference images).
    Merged captions are dropped. Notes on standard error say when either happens.

    Examples:

        dreamrunner export teddy --scene s02

        dreamrunner export teddy --out teddy_plans.jsonl

        dreamrunner export teddy --scene s01 --format jsonl --json
    """
    from ..errors import UsageError
    from ..planning.authors_format import export_jsonl, export_scene, select_scenes
    from ..schema import load_plan
    from ..workspace import Workspace, write_text_atomic

    ws = Workspace(workspace)
    plan = load_plan(ws.require_plan())
    scene_ids = select_scenes(plan, scene)  # unknown ids: exit 2, listing the known ones
    fmt = fmt or ("text" if len(scene_ids) == 1 else "jsonl")
    if fmt not in ("text", "jsonl"):
        raise UsageError(f"--format {fmt!r} is not one of: text, jsonl")
    if fmt == "text":
        if len(scene_ids) != 1:
            raise UsageError(f"the text format holds one scene, and {len(scene_ids)} are selected",
                             hint="pass --scene ID, or --format jsonl for one line per scene")
        text, notes = export_scene(plan, scene_ids[0])
        text += "\n"
    else:
        text, notes = export_jsonl(plan, scene_ids)
    if out is not None:
        write_text_atomic(out, text)
    result = {"stage": "export", "workspace": str(ws.root), "scenes": scene_ids, "format": fmt,
              "out": str(out) if out else None, "notes": notes}
    if as_json:
        emit({**result, "text": text} if out is None else result, True, quiet, print_decisions)
        return
    if out is None:
        sys.stdout.write(text)
    elif not quiet:
        console().print(f"wrote {len(scene_ids)} scene(s) in the {fmt} format to {out}", markup=False)
    if not quiet:
        for note in notes:
            console(stderr=True).print(f"note: {note}", soft_wrap=True, markup=False)
