"""`dreamrunner run`: every stage in order (plan → retrieve → adapt → render → evaluate)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    PresetOpt,
    NoSaveOpt,
    QuietOpt,
    SetOpt,
    VerboseOpt,
    WaitOpt,
    WorkspaceOpt,
    console,
    emit,
    guarded,
    is_verbose,
    open_workspace,
    print_decisions,
    print_summary,
    session,
)
from .plan import OutsideRefsOpt, resolve_target

STAGES = ("plan", "retrieve", "adapt", "render", "evaluate")
DbOpt = Annotated[str | None, typer.Option("--db", help="Retrieval index folder (else retrieve.db or "
                                                         "$DREAMRUNNER_DB).")]
SkipOpt = Annotated[list[str] | None, typer.Option("--skip", help="Skip a stage (repeatable): retrieve, adapt, "
                                                                  "evaluate. Without retrieve+adapt, scenes render "
                                                                  "without LoRAs.")]


@guarded
def run(
    source: Annotated[Path, typer.Argument(help="A story .txt file, or an existing workspace.")],
    workspace: WorkspaceOpt = None,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    no_save: NoSaveOpt = False,
    db: DbOpt = None,
    skip: SkipOpt = None,
    allow_outside_refs: OutsideRefsOpt = False,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run the whole pipeline; finished items are skipped, so re-running is cheap and resumes after a crash.

    Examples:

        dreamrunner run examples/stories/teddy.txt --workspace ws/teddy --preset tiny       # demo database

        dreamrunner run story.txt --workspace ws/story --db /data/videos/index

        dreamrunner run ws/teddy --skip retrieve --skip adapt      # SR3AI without LoRAs

        for s in stories/*.txt; do dreamrunner run "$s" --json --preset cogvideox-2b || echo "$s" >> failed; done
    """
    from ..stages import run_all

    skip = list(skip or [])
    bad = [s for s in skip if s not in STAGES[1:]]
    if bad:
        raise UsageError(f"cannot skip {bad}", hint="skippable stages: retrieve, adapt, evaluate")
    ws_path, story_file = resolve_target(source, workspace, force=force)
    ws, cfg = open_workspace(ws_path, preset, overrides, save=not no_save)
    if not dry_run:
        from ..models.loading import check_devices

        # Every device the stages will use, before the first one starts (nothing is written yet): a CPU-only
        # machine finds out in a second, not after planning, retrieval and clip decoding.
        check_devices(cfg, [s for s in STAGES if s not in skip])
    with session(ws, wait=wait, dry_run=dry_run):
        results = run_all(ws, cfg, story_file=story_file, skip=skip, force=force, dry_run=dry_run,
                          progress=not quiet and not as_json, db=db,
                          allow_outside_refs=allow_outside_refs)
    emit({"workspace": str(ws.root), "stages": results}, as_json, quiet, _human)


def _human(result: dict) -> None:
    for stage in result["stages"]:
        if stage.get("skipped_stage"):
            console().print(f"[dim]skip stage {stage['stage']}: {stage['skipped_stage']}[/]")
            continue
        print_decisions(stage)
        if stage.get("stage") == "evaluate" and not stage.get("dry_run"):
            from .evaluate import print_metrics

            if is_verbose() or any(it.get("action") == "ran" for it in stage.get("items", [])):
                print_metrics(stage)
            elif stage.get("report"):  # nothing scored again: the tables of a cached run would bury the summary
                console().print(f"scores unchanged: {stage['report']}", markup=False)
    print_summary(*result["stages"])
