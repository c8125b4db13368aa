"""`dreamrunner status`: every item of every stage, with its state and the reason (never imports torch)."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    JsonOpt,
    PresetOpt,
    SetReadOpt,
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
OnlyOpt = Annotated[str | None, typer.Option(
    "--only", metavar="changed", help="--only changed: list only the items that would run, stale or blocked stages "
                                      "(with --json too). The headline still counts every item.")]


@guarded
def status(
    workspace: WorkspaceArg,
    preset: PresetOpt = None,
    overrides: SetReadOpt = None,
    verify: VerifyOpt = False,
    rebuild_records: RebuildOpt = False,
    only: OnlyOpt = None,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Show what is done, what would re-run and why, and the last runs (from runs.jsonl).

    The records (dreamrunner.lock) are verified first: a damaged file is reported (exit 5), never read as empty.

    Examples:

        dreamrunner status ws/teddy

        dreamrunner status ws/teddy --json | jq '.stages[] | select(.items[].run)'

        dreamrunner status ws/teddy --verify          # outputs changed or missing since their record

        dreamrunner status ws/teddy --only changed    # what the next run would do, and why
    """
    from ..errors import MissingUpstream, RecordsDamaged
    from ..stages import status_all
    from ..workspace import Records
    from ..workspace import rebuild_records as set_records_aside

    if only not in (None, "changed"):
        from ..errors import UsageError

        raise UsageError(f"--only {only!r} is not a filter status knows", hint="use --only changed")
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
    head = headline(result)  # counts every item, before --only filters them
    if only == "changed":
        result["stages"] = [{**s, "items": [it for it in s.get("items", []) if it["run"]]} for s in result["stages"]]
    emit(result, as_json, False, lambda r: _human(r, head))
    if problems and as_json:  # stdout carries the JSON; the warnings still reach a person
        con = console(stderr=True)
        for p in problems:
            con.print(f"warning: {p}", soft_wrap=True, markup=False)


def stage_runs(result: dict, stage: str) -> bool:
    """Whether any item of ``stage`` other than its storyboard would run."""
    return any(it["run"] and it["item"] != "storyboard" for s in result["stages"] if s["stage"] == stage
               for it in s.get("items", []))


def headline(result: dict) -> str:
    """The first line of ``status``: ``ws/teddy: 46 items — 42 done, 3 would run (plan.json changed), storyboard
    stale``. The causes are those of the items that would run, earliest stage first (at most two)."""
    import os

    items = [it for s in result["stages"] for it in s.get("items", [])]
    stale = [it for it in items if it["run"] and it["stage"] == "plan" and it["item"] == "storyboard"
             and not stage_runs(result, "plan")]
    would = [it for it in items if it["run"] and it not in stale]
    causes = list(dict.fromkeys("plan.json changed" if part.startswith(("plan.", "plan ")) else part
                                for it in would for part in [it["reason"].split(", ")[0]]))
    parts = [f"{len(items) - len(would) - len(stale)} done"]
    if would:
        parts.append(f"{len(would)} would run ({', '.join(causes[:2])}{', …' if len(causes) > 2 else ''})")
    if stale:
        parts.append("storyboard stale")
    blocked = [s["stage"] for s in result["stages"] if s.get("error")]
    if blocked:
        parts.append(f"blocked: {', '.join(blocked)}")
    root = result["workspace"]
    rel = os.path.relpath(root)
    shown = rel if not rel.startswith("..") else root
    return f"{shown}: {len(items)} items — " + (", ".join(parts) if would or stale or blocked else "all done")


def _human(result: dict, head: str = "") -> None:
    from rich.markup import escape
    from rich.table import Table

    from .common import lora_summary, table_console

    con = console()
    if head:
        con.print(head, markup=False)
    table = Table()
    for col in ("stage", "item", "state", "reason"):
        table.add_column(col, overflow="fold")  # a long JSON path breaks across lines, never cut to "…"
    for stage in result["stages"]:
        if stage.get("error"):
            table.add_row(stage["stage"], "-", "[red]blocked[/]", escape(stage["error"]))
            continue
        for it in stage.get("items", []):
            state = "[yellow]would run[/]" if it["run"] else "[green]done[/]"
            if it["run"] and it["stage"] == "plan" and it["item"] == "storyboard" and not stage_runs(result, "plan"):
                state = "[yellow]stale[/]"  # only the picture: the next command that reads plan.json redraws it
            table.add_row(escape(it["stage"]), escape(it["item"]), state, escape(it["reason"] + lora_summary(it)))
    for note in result.get("notes", []):
        con.print(escape(note))
    if table.row_count:
        table_console().print(table)
    for stage in result["stages"]:
        for note in stage.get("notes", []):  # a report: wrapped like the tables (status --json has them whole)
            table_console().print(f"{stage['stage']}: {escape(note)}")
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
            shown = ", ".join(ran[:3]) + (f" +{len(ran) - 3} more" if len(ran) > 3 else "")  # runs.jsonl has all
            recent.add_row(escape(str(r.get("time", ""))), escape(str(r.get("stage", ""))),
                           escape(str(r.get("outcome", ""))), str(r.get("seconds", "")), escape(shown or "-"))
        table_console().print(recent)
    err = console(stderr=True)
    for p in result.get("problems", []):
        err.print(f"warning: {p}", soft_wrap=True, markup=False)
