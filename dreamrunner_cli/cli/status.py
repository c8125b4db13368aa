"""`dreamrunner status`: every item of every stage, with its state and the reason (never imports torch)."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    JsonOpt,
    PresetOpt,
    SetOpt,
    WaitOpt,
    WorkspaceArg,
    announce_unsaved,
    console,
    emit,
    guarded,
    open_workspace,
)

RebuildOpt = Annotated[bool, typer.Option(
    "--rebuild-records", help="dreamrunner.lock is damaged: set it aside (kept as dreamrunner.lock.damaged-<time>) "
                              "and start empty records; every item then re-runs on its next command.")]
VerifyOpt = Annotated[bool, typer.Option(
    "--verify", help="Also hash every recorded output and list those missing or changed since their record.")]


@guarded
def status(
    workspace: WorkspaceArg,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    verify: VerifyOpt = False,
    rebuild_records: RebuildOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Show what is done, what would re-run and why, and the last runs (from runs.jsonl).

    The records (dreamrunner.lock) are verified first: a damaged file is reported (exit 5), never read as empty.

    Examples:

        dreamrunner status ws/teddy

        dreamrunner status ws/teddy --json | jq '.stages[] | select(.items[].run)'

        dreamrunner status ws/teddy --verify          # outputs changed or missing since their record
    """
    from ..errors import MissingUpstream, RecordsDamaged
    from ..stages import status_all
    from ..workspace import Records
    from ..workspace import rebuild_records as set_records_aside

    ws, cfg = open_workspace(workspace, preset, overrides, save=False)
    if not ws.exists():
        raise MissingUpstream(f"{ws.root} is not a workspace", hint="create one with `dreamrunner plan STORY.txt`")
    announce_unsaved(ws, "status never saves")
    notes: list[str] = []
    if rebuild_records:
        with ws.locked(wait=wait):
            try:
                Records.load(ws)
                notes.append("dreamrunner.lock is intact: nothing to rebuild")
            except RecordsDamaged:
                aside = set_records_aside(ws)
                notes.append(f"damaged records set aside as {ws.rel(aside)}; started empty records: every item "
                             "re-runs on its next command (see below)")
    records = Records.load(ws)  # raises RecordsDamaged (exit 5) naming the file and the fix
    runs, problems = ws.read_runs_checked()
    result = {"workspace": str(ws.root), "stages": status_all(ws, cfg), "runs": runs[-10:],
              "problems": problems, "notes": notes}
    if verify:
        result["outputs"] = records.verify_outputs()
    emit(result, as_json, False, _human)
    if problems and as_json:  # stdout carries the JSON; the warnings still reach a person
        con = console(stderr=True)
        for p in problems:
            con.print(f"warning: {p}", soft_wrap=True, markup=False)


def _human(result: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .common import lora_summary

    table = Table(title=f"dreamrunner status: {escape(result['workspace'])}")
    for col in ("stage", "item", "state", "reason"):
        table.add_column(col)
    for stage in result["stages"]:
        if stage.get("error"):
            table.add_row(stage["stage"], "-", "[red]blocked[/]", escape(stage["error"]))
            continue
        for it in stage.get("items", []):
            state = "[yellow]would run[/]" if it["run"] else "[green]done[/]"
            table.add_row(escape(it["stage"]), escape(it["item"]), state, escape(it["reason"] + lora_summary(it)))
    con = console()
    for note in result.get("notes", []):
        con.print(escape(note))
    con.print(table)
    for stage in result["stages"]:
        for note in stage.get("notes", []):
            con.print(f"{stage['stage']}: {escape(note)}")
    if "outputs" in result:
        if result["outputs"]:
            for o in result["outputs"]:
                con.print(f"[yellow]{o['state']}[/] {escape(o['output'])} ({escape(o['stage'])} {escape(o['item'])}): "
                          + ("edited or replaced since it was recorded" if o["state"] == "changed"
                             else "recorded but gone; the item re-runs"))
        else:
            con.print("every recorded output matches its record")
    runs = result.get("runs") or []
    if runs:
        recent = Table(title="recent runs (runs.jsonl)")
        for col in ("time", "stage", "outcome", "seconds", "ran"):
            recent.add_column(col)
        for r in runs:
            items = r.get("items") if isinstance(r.get("items"), list) else []
            ran = [str(i.get("item")) for i in items if isinstance(i, dict) and i.get("action") == "ran"]
            recent.add_row(escape(str(r.get("time", ""))), escape(str(r.get("stage", ""))),
                           escape(str(r.get("outcome", ""))), str(r.get("seconds", "")), escape(", ".join(ran) or "-"))
        con.print(recent)
    err = console(stderr=True)
    for p in result.get("problems", []):
        err.print(f"warning: {p}", soft_wrap=True, markup=False)
