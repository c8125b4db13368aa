"""`dreamrunner retrieve`: motion reference clips from a video database (METHOD.md B.1)."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    MotionOpt,
    PresetOpt,
    NoSaveOpt,
    QuietOpt,
    SetOpt,
    VerboseOpt,
    WaitOpt,
    WorkspaceArg,
    emit,
    guarded,
    open_workspace,
    print_decisions,
    print_summary,
    session,
)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", metavar="INDEX",
                 help="Video index folder (from `dreamrunner index build`), a database folder holding index/, or "
                      "'demo'. Default: $DREAMRUNNER_DB, then the config's retrieve.db."),
]


@guarded
def retrieve(
    workspace: WorkspaceArg,
    db: DbOpt = None,
    motion: MotionOpt = None,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    no_save: NoSaveOpt = False,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Retrieve reference clips for each motion of plan.json: BM25 top 400, attribute filter, model-length windows,
    CLIP and video-text scores (ViCLIP in the presets), top 20 above the threshold (at least 4).

    Writes WS/retrieval/<motion>/manifest.json and clips/*.mp4. Up-to-date motions are skipped; a motion re-runs
    when its plan fields, the retrieve.* config or the database change. Embeddings are cached across stories.

    Examples:

        dreamrunner retrieve ws/teddy --db /data/panda70m/index

        DREAMRUNNER_DB=/data/panda70m dreamrunner retrieve ws/teddy --motion walking --force

        dreamrunner retrieve ws/teddy --db demo --preset tiny --json
    """
    from ..stages import retrieve as stage

    ws, cfg = open_workspace(workspace, preset, overrides, save=not no_save)
    ws.require_plan()
    with session(ws, wait=wait, dry_run=dry_run):
        result = stage.run(ws, cfg, force=force, dry_run=dry_run, only=motion, progress=not quiet and not as_json,
                           db=db)
    emit(result, as_json, quiet, _human)


def _human(result: dict) -> None:
    print_decisions(result)
    from .common import console

    db = result.get("database") or {}
    if db.get("index"):
        console().print(f"database: {db['index']} ({db.get('rows')} rows, fingerprint {db.get('fingerprint')})")
    print_summary(result)
