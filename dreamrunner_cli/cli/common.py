"""Shared CLI options (defined once, as Annotated aliases) and the error boundary.

Every command: parse options → build config → call ``stages.<x>.run(...)`` → print a rich summary, or the result as
JSON with ``--json``. Domain errors become a message (what, where, what to run next) and a stable exit code;
tracebacks only with DREAMRUNNER_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import DreamrunnerError, Interrupted

WorkspaceArg = Annotated[Path, typer.Argument(file_okay=False, resolve_path=True, help="Workspace folder.")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", file_okay=False, resolve_path=True,
                 help="Workspace folder (default: ./<story name> next to where you run the command)."),
]
PresetOpt = Annotated[
    str | None,
    typer.Option("--preset", "-p", help="Start from a preset: tiny, cogvideox-2b, cogvideox-5b "
                                        "(default: the workspace's saved config, else cogvideox-2b)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE", help="Override a config key, e.g. --set render.steps=20. "
                                                          "Repeatable; saved in the workspace's config.json."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Re-run items even when nothing changed.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would run, and why; run nothing.")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait for another process using the workspace to finish.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
SceneOpt = Annotated[list[str] | None, typer.Option("--scene", help="Only this scene id (repeatable).")]
MotionOpt = Annotated[list[str] | None, typer.Option("--motion", help="Only this motion id (repeatable).")]
CharacterOpt = Annotated[list[str] | None, typer.Option("--character", help="Only this character id (repeatable).")]


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def emit(result: dict[str, Any], as_json: bool, quiet: bool, human: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    elif not quiet:
        human(result)


def lora_summary(item: dict[str, Any]) -> str:
    """' (LoRAs: motion/walking, character/teddy; missing: motion/jumping)' for render items, else ''."""
    if "loras" not in item:
        return ""
    text = f"LoRAs: {', '.join(item['loras']) or 'none'}"
    if item.get("missing_loras"):
        text += f"; missing: {', '.join(item['missing_loras'])}"
    return f" ({text})"


def print_decisions(result: dict[str, Any]) -> None:
    """The standard human summary: one line per item with what happened and why."""
    from rich.markup import escape

    con = console()
    for d in result.get("items", []):
        verb = d.get("action", "run" if d.get("run") else "skip")
        style = {"ran": "green", "would run": "yellow", "skipped": "dim"}.get(verb, "default")
        con.print(f"[{style}]{verb:9}[/] {escape(d['stage'])} {escape(d['item'])}: {escape(d['reason'])}"
                  + escape(lora_summary(d)))
    for line in result.get("notes", []):
        con.print(escape(line))


def guarded(fn: Callable) -> Callable:
    """Translate domain errors into messages and exit codes at the CLI boundary."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            err: DreamrunnerError = Interrupted("interrupted; finished items are kept, run the command again to "
                                                "resume")
        except DreamrunnerError as exc:
            err = exc
        if os.environ.get("DREAMRUNNER_DEBUG") == "1":
            raise err
        if as_json:
            sys.stdout.write(json.dumps(err.to_dict(), indent=2) + "\n")
        else:
            from rich.markup import escape

            con = console(stderr=True)
            con.print(f"[bold red]error:[/] {escape(err.message)}", soft_wrap=True)
            for d in err.details:
                con.print(f"  - {escape(d)}", soft_wrap=True)
            if err.hint:
                con.print(f"[bold]hint:[/] {escape(err.hint)}", soft_wrap=True)
        raise typer.Exit(err.exit_code)

    return wrapper


def open_workspace(path: Path, preset: str | None, overrides: list[str] | None, save: bool = True):
    """Resolve the config for a workspace: its saved config.json, or the preset, then --set.

    Returns (Workspace, Config). Nothing is written here: ``session`` saves the config once the workspace lock is
    held, and only for a real run (a ``--dry-run`` changes nothing on disk). ``save=False`` never saves.
    """
    from ..config import resolve_config
    from ..workspace import Workspace

    ws = Workspace(path)
    cfg = resolve_config(preset=preset, overrides=overrides or [], saved=ws.config)
    ws.pending_config = cfg if save and (preset is not None or overrides or not ws.config.exists()) else None
    return ws, cfg


@contextlib.contextmanager
def session(ws, wait: bool, dry_run: bool = False):
    """Hold the workspace lock; then save the resolved config (unless it is a dry run)."""
    from ..workspace import write_json_atomic

    with ws.locked(wait=wait):
        pending = ws.pending_config
        if pending is not None and not dry_run:
            write_json_atomic(ws.config, pending.model_dump(mode="json"))
        yield ws
