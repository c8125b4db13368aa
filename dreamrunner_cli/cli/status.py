"""`dreamrunner status`: every item of every stage, with its state and the reason (never imports torch)."""

from __future__ import annotations

from .common import JsonOpt, PresetOpt, SetOpt, WorkspaceArg, console, emit, guarded, open_workspace


@guarded
def status(
    workspace: WorkspaceArg,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what is done, what would re-run and why, and the last runs (from runs.jsonl).

    Examples:

        dreamrunner status ws/teddy

        dreamrunner status ws/teddy --json | jq '.stages[] | select(.items[].run)'
    """
    from ..errors import MissingUpstream
    from ..stages import status_all

    ws, cfg = open_workspace(workspace, preset, overrides, save=False)
    if not ws.exists():
        raise MissingUpstream(f"{ws.root} is not a workspace", hint="create one with `dreamrunner plan STORY.txt`")
    result = {"workspace": str(ws.root), "stages": status_all(ws, cfg), "runs": ws.read_runs()[-10:]}
    emit(result, as_json, False, _human)


def _human(result: dict) -> None:
    from rich.table import Table

    from .common import lora_summary

    table = Table(title=f"dreamrunner status: {result['workspace']}")
    for col in ("stage", "item", "state", "reason"):
        table.add_column(col)
    for stage in result["stages"]:
        if stage.get("error"):
            table.add_row(stage["stage"], "-", "[red]blocked[/]", stage["error"])
            continue
        for it in stage.get("items", []):
            state = "[yellow]would run[/]" if it["run"] else "[green]done[/]"
            table.add_row(it["stage"], it["item"], state, it["reason"] + lora_summary(it))
    con = console()
    con.print(table)
    from rich.markup import escape

    for stage in result["stages"]:
        for note in stage.get("notes", []):
            con.print(f"{stage['stage']}: {escape(note)}")
    runs = result.get("runs") or []
    if runs:
        recent = Table(title="recent runs (runs.jsonl)")
        for col in ("time", "stage", "outcome", "seconds", "ran"):
            recent.add_column(col)
        for r in runs:
            ran = [i["item"] for i in r.get("items", []) if i.get("action") == "ran"]
            recent.add_row(r.get("time", ""), r.get("stage", ""), r.get("outcome", ""), str(r.get("seconds", "")),
                           ", ".join(ran) or "-")
        con.print(recent)
