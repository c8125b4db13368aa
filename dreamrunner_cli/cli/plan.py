"""`dreamrunner plan`: story → workspace with plan.json and storyboard.png."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputInvalid, MissingUpstream, UsageError
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
    WorkspaceOpt,
    check_selection,
    emit,
    guarded,
    open_workspace,
    print_decisions,
    session,
)

LlmOpt = Annotated[str | None, typer.Option("--llm", help="Planner backend: builtin, openai, transformers.")]
LlmModelOpt = Annotated[str | None, typer.Option("--llm-model", help="LLM model name (openai / transformers).")]
LlmUrlOpt = Annotated[str | None, typer.Option("--llm-base-url", help="Base URL of an OpenAI-compatible server.")]
OutsideRefsOpt = Annotated[bool, typer.Option("--allow-outside-refs",
                                              help="Accept reference images outside the story file's folder "
                                                   "(absolute paths, ../): refused by default.")]


def resolve_target(source: Path, workspace: Path | None) -> tuple[Path, Path | None]:
    """STORY.txt or an existing workspace folder → (workspace, story file or None)."""
    if source.is_dir():
        if workspace is not None and workspace.resolve() != source.resolve():
            raise UsageError("give either a workspace folder or --workspace, not two different folders")
        return source, None
    if not source.exists():
        raise InputInvalid(f"story file {source} does not exist",
                           hint="give a story .txt file or an existing workspace folder")
    return (workspace or Path.cwd() / source.stem), source


def llm_overrides(llm: str | None, llm_model: str | None, llm_base_url: str | None) -> list[str]:
    out = []
    for key, value in (("plan.llm", llm), ("plan.llm_model", llm_model), ("plan.llm_base_url", llm_base_url)):
        if value is not None:
            out.append(f"{key}={value}")
    return out


@guarded
def plan(
    source: Annotated[Path, typer.Argument(help="A story .txt file, or an existing workspace to re-plan.")],
    workspace: WorkspaceOpt = None,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    no_save: NoSaveOpt = False,
    scene: SceneOpt = None,
    llm: LlmOpt = None,
    llm_model: LlmModelOpt = None,
    llm_base_url: LlmUrlOpt = None,
    allow_outside_refs: OutsideRefsOpt = False,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Plan a story: scenes, then 6 key frames per scene with a box and caption per character.

    Writes WS/plan.json (edit it by hand freely; `dreamrunner schema plan` shows the schema) and WS/storyboard.png.

    Examples:

        dreamrunner plan examples/stories/teddy.txt --workspace ws/teddy

        dreamrunner plan ws/teddy --scene s02 --force     # re-plan one scene

        dreamrunner plan story.txt --llm openai --llm-base-url http://localhost:8000/v1 --llm-model qwen2.5-7b
    """
    from ..stages import plan as stage

    ws_path, story_file = resolve_target(source, workspace)
    ws, cfg = open_workspace(ws_path, preset, (overrides or []) + llm_overrides(llm, llm_model, llm_base_url),
                             save=not no_save)
    if story_file is None and not ws.story.exists() and not ws.plan.exists():  # refused before anything is written
        raise MissingUpstream(f"no story.txt or plan.json in {ws.root}",
                              hint="run `dreamrunner plan STORY.txt --workspace WS`")
    if scene and story_file is None and stage.outline_path(ws).exists():  # unknown ids: exit 2, nothing written
        from ..schema import Outline

        outline = Outline.model_validate_json(stage.outline_path(ws).read_text(encoding="utf-8"))
        check_selection("--scene", scene, [s.id for s in outline.scenes])
    with session(ws, wait=wait, dry_run=dry_run):
        result = stage.run(ws, cfg, story_file=story_file, force=force, dry_run=dry_run, only=scene,
                           progress=not quiet and not as_json, allow_outside_refs=allow_outside_refs)
    emit(result, as_json, quiet, _human)


def _human(result: dict) -> None:
    print_decisions(result)
    from .common import console

    if not result.get("dry_run"):
        console().print(f"plan: {result['plan']}\nstoryboard: {result['storyboard']}")
