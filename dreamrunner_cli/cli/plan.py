"""`dreamrunner plan`: story → workspace with plan.json and storyboard.png."""

from __future__ import annotations

import logging

import re
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
    print_summary,
    session,
)

LlmOpt = Annotated[str | None, typer.Option("--llm", help="Planner backend: builtin, openai, transformers.")]
LlmModelOpt = Annotated[str | None, typer.Option("--llm-model", help="LLM model name (openai / transformers).")]
LlmUrlOpt = Annotated[str | None, typer.Option("--llm-base-url", help="Base URL of an OpenAI-compatible server.")]
OutsideRefsOpt = Annotated[bool, typer.Option("--allow-outside-refs",
                                              help="Accept reference images outside the story file's folder "
                                                   "(absolute paths, ../): refused by default.")]


def resolve_target(source: Path, workspace: Path | None, force: bool = False) -> tuple[Path, Path | None]:
    """STORY.txt or an existing workspace folder → (workspace, story file or None). A folder that is not a
    workspace is refused before anything is written there (``check_folder``); ``force`` is ``--force``."""
    if source.is_dir():
        if workspace is not None and workspace.resolve() != source.resolve():
            raise UsageError("give either a workspace folder or --workspace, not two different folders")
        check_folder(source, story_given=False, force=force)
        return source, None
    if not source.exists():
        raise InputInvalid(f"story file {source} does not exist",
                           hint="give a story .txt file or an existing workspace folder")
    target = workspace or Path.cwd() / source.stem
    check_folder(target, story_given=source.resolve() != (target / "story.txt").resolve(), force=force)
    return target, source


# Users' folders (docs/workspace.md, "Your own folders"). A folder is a workspace when it holds the lock file that
# every dreamrunner command takes before it writes anything, or the stage records: files only dreamrunner writes.
WORKSPACE_MARKERS = (".dreamrunner.pid", "dreamrunner.lock")
# Everything a workspace's stages write directly in its folder (storyboard-2.png … too: STORYBOARD_PAGE).
WORKSPACE_ENTRIES = frozenset({"story.txt", "plan.json", "config.json", "storyboard.png", "runs.jsonl", "story.mp4",
                               "refs", "planning", "retrieval", "adapters", "renders", "masks", "eval"})
STORYBOARD_PAGE = re.compile(r"storyboard-\d+\.png")


def is_workspace(folder: Path) -> bool:
    return any((folder / name).exists() for name in WORKSPACE_MARKERS)


def check_folder(folder: Path, story_given: bool, force: bool) -> None:
    """Refuse (exit 5) to use an existing folder that is not a workspace, before anything is written to it.

    A new or empty folder, or a workspace, is used as it is. Another folder:

    * given a story (``plan STORY --workspace DIR``): refused unless ``force``, since the story and every stage's
      outputs would be written among the user's files;
    * with or without ``force``, and also for ``plan DIR`` (the user names it as a workspace they made by hand):
      refused when a file or folder of the workspace's layout is already there and is not one of its inputs (for
      ``plan DIR``: story.txt, config.json, refs/, and plan.json unless story.txt would re-plan it), since
      dreamrunner did not write it and would overwrite it.
    """
    if not folder.is_dir() or is_workspace(folder):
        return
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return
    shown = ", ".join(names[:6]) + (f", … ({len(names)} entries)" if len(names) > 6 else "")
    if story_given and not force:
        raise InputInvalid(f"{folder} is not a dreamrunner workspace and is not empty (it holds {shown}): the story "
                           "and every stage's outputs would be written among your files",
                           hint="give a new or empty folder with --workspace, or pass --force to add the "
                                "workspace's files next to yours (files of yours are never overwritten)")
    inputs = set() if story_given else {"story.txt", "config.json", "refs"} | (
        set() if "story.txt" in names else {"plan.json"})
    clashes = [n for n in names if (n in WORKSPACE_ENTRIES or STORYBOARD_PAGE.fullmatch(n)) and n not in inputs]
    if clashes:
        why = "planning its story.txt would replace plan.json" if not story_given and "plan.json" in clashes else \
            "dreamrunner would overwrite them"
        raise InputInvalid(f"{folder} is not a dreamrunner workspace, and it already holds {', '.join(clashes)}, "
                           f"which dreamrunner did not write: {why}",
                           hint="move them away first, or give a new or empty folder with --workspace (--force "
                                "never overwrites files dreamrunner did not write)")


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

    A folder that is not a workspace is refused unless --force, which never overwrites your files there.

    Examples:

        dreamrunner plan examples/stories/teddy.txt --workspace ws/teddy

        dreamrunner plan ws/teddy --scene s02 --force     # re-plan one scene

        dreamrunner plan story.txt --llm openai --llm-base-url http://localhost:8000/v1 --llm-model qwen2.5-7b
    """
    from ..stages import plan as stage

    ws_path, story_file = resolve_target(source, workspace, force=force)
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
    if not dry_run:
        warn_missing_devices(cfg, ws.root)
    warn_unattributed(result)
    emit(result, as_json, quiet, _human)


def warn_unattributed(result: dict) -> None:
    """One warning line on stderr per sentence the built-in planner left out, with its scene (also with --json,
    whose result lists them as ``unattributed``), so the user knows what to fix in plan.json."""
    for u in result.get("unattributed") or []:
        logging.getLogger("dreamrunner").warning(
            'warning: scene %s: nothing planned for "%s" (%s); edit plan.json by hand or plan with an LLM (--llm)',
            u["scene"], u["sentence"], u["reason"])


def warn_missing_devices(cfg, ws_root: Path) -> None:
    """One warning when the stages after plan are configured for a CUDA device this machine lacks (the default
    preset on a laptop): said now, not after `retrieve` has loaded its scorers. Plan itself ran fine."""
    from ..models.loading import device_error

    err = device_error(cfg, ["retrieve", "adapt", "render", "evaluate"])
    if err is not None:
        logging.getLogger("dreamrunner").warning(
            "warning: %s, so retrieve, adapt, render and evaluate will stop there. To try the whole pipeline on "
            "this machine's CPU (tiny random models: the video is noise, it shows the plumbing): "
            "`dreamrunner run %s --preset tiny`", err.message, ws_root)


def _human(result: dict) -> None:
    print_decisions(result)
    from .common import console

    if not result.get("dry_run"):
        console().print(f"plan: {result['plan']}\nstoryboard: {result['storyboard']}")
    print_summary(result)
