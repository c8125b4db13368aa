"""`dreamrunner config`: show, get, set, unset and diff a workspace's config.json (never imports torch).

The same resolution as every command (docs/config.md): the workspace's config.json, else the default preset. ``set``
and ``unset`` validate the whole config before writing it (atomically, under the workspace lock), and print each
change as ``config.json: render.steps 8 → 40``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import JsonOpt, PresetOpt, QuietOpt, WaitOpt, WorkspaceArg, console, emit, guarded

app = typer.Typer(help="Show or change a workspace's config.json: show, get, set, unset, diff.", no_args_is_help=True,
                  rich_markup_mode="rich")

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="A dotted key (render.steps) or a section (render).")]
KeysArg = Annotated[list[str], typer.Argument(metavar="KEY", help="Dotted keys or sections (render.steps, render).")]
PairsArg = Annotated[list[str] | None, typer.Argument(metavar="KEY=VALUE", help="Values are JSON when they parse "
                                                                         "(30, false, null, [1,2]), else text.")]


def _open(workspace: Path):
    """(Workspace, its config as JSON data, where it came from). A folder that does not exist is not a workspace."""
    from ..config import resolve_config
    from ..errors import MissingUpstream
    from ..workspace import Workspace

    ws = Workspace(workspace)
    if not ws.exists():
        raise MissingUpstream(f"{ws.root} is not a workspace",
                              hint="create one with `dreamrunner plan STORY.txt --workspace WS`")
    cfg = resolve_config(saved=ws.config)
    source = "config.json" if ws.config.exists() else f"preset {cfg.preset} (no config.json yet)"
    return ws, cfg.model_dump(mode="json"), source


def _lookup(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted key; an unknown key is a usage error (exit 2) naming the nearest known ones."""
    from ..config import flatten
    from ..errors import UsageError

    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            known = list(flatten(data)) + list(data)
            near = difflib.get_close_matches(key, known, n=3)
            raise UsageError(f"unknown config key {key!r}",
                             hint=(f"did you mean {', '.join(near)}? " if near else "")
                             + "`dreamrunner config show WS` lists every key")
        node = node[part]
    return node


def _lines(value: Any, key: str) -> list[str]:
    from ..config import flatten, show_value

    if isinstance(value, dict):
        return [f"{k} = {show_value(v)}" for k, v in flatten(value, key).items()]
    return [f"{key} = {show_value(value)}"]


def _print_lines(lines: list[str]) -> None:
    from rich.markup import escape

    con = console()
    for line in lines:
        con.print(escape(line), soft_wrap=True)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    from ..config import config_diff

    return [{"key": k, "old": a, "new": b} for k, a, b in config_diff(old, new)]


def _print_changes(changes: list[dict[str, Any]], label: str = "config.json") -> None:
    from rich.markup import escape

    from ..config import show_value

    con = console(stderr=True)
    if not changes:
        con.print(f"{label}: no change")
    for c in changes:
        con.print(escape(f"{label}: {c['key']} {show_value(c['old'])} → {show_value(c['new'])}"), soft_wrap=True)


def _save(ws, old: dict[str, Any], new_cfg, wait: bool, as_json: bool, quiet: bool) -> None:
    from ..workspace import write_json_atomic

    new = new_cfg.model_dump(mode="json")
    changes = _changes(old, new)
    with ws.locked(wait=wait):
        if changes or not ws.config.exists():
            write_json_atomic(ws.config, new)
    result = {"workspace": str(ws.root), "config_changes": changes}
    if not as_json and not quiet:
        _print_changes(changes)
    emit(result, as_json, True, lambda r: None)


@app.command("show")
@guarded
def show(workspace: WorkspaceArg, as_json: JsonOpt = False) -> None:
    """Print the workspace's config, one [bold]key = value[/] per line (greppable), or as JSON.

    Examples:

        dreamrunner config show ws/teddy
        dreamrunner config show ws/teddy | grep steps
        dreamrunner config show ws/teddy --json | jq .config.render
    """
    ws, data, source = _open(workspace)
    emit({"workspace": str(ws.root), "source": source, "config": data}, as_json, False,
         lambda r: _print_lines(_lines(r["config"], "")))


@app.command("get")
@guarded
def get(workspace: WorkspaceArg, key: KeyArg, as_json: JsonOpt = False) -> None:
    """Print one key's value (a section: every key in it).

    Examples:

        dreamrunner config get ws/teddy render.steps
        dreamrunner config get ws/teddy render
    """
    from ..config import show_value

    ws, data, source = _open(workspace)
    value = _lookup(data, key)
    emit({"workspace": str(ws.root), "source": source, "key": key, "value": value}, as_json, False,
         lambda r: _print_lines(_lines(value, key) if isinstance(value, dict) else [show_value(value)]))


@app.command("set")
@guarded
def set_(workspace: WorkspaceArg, pairs: PairsArg = None, preset: PresetOpt = None, wait: WaitOpt = False,
         as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Change keys in config.json (validated first: a bad key or value exits 2 and changes nothing).

    Examples:

        dreamrunner config set ws/teddy render.steps=40
        dreamrunner config set ws/teddy model.id=/models/CogVideoX-2b model.dtype=bfloat16
        dreamrunner config set ws/teddy --preset cogvideox-5b
    """
    from ..config import resolve_config

    ws, old, _ = _open(workspace)
    new = resolve_config(preset=preset, overrides=list(pairs or []), saved=ws.config)
    _save(ws, old, new, wait, as_json, quiet)


@app.command("unset")
@guarded
def unset(workspace: WorkspaceArg, keys: KeysArg, wait: WaitOpt = False, as_json: JsonOpt = False,
          quiet: QuietOpt = False) -> None:
    """Put keys (or whole sections) back to their value in the workspace's preset.

    Examples:

        dreamrunner config unset ws/teddy render.steps
        dreamrunner config unset ws/teddy render adapt.rank
    """
    import copy

    from ..config import build_config, resolve_config

    ws, old, _ = _open(workspace)
    base = resolve_config(preset=old.get("preset")).model_dump(mode="json")
    data = copy.deepcopy(old)
    for key in keys:
        _lookup(old, key)  # unknown keys: exit 2
        parts = key.split(".")
        node = data
        for p in parts[:-1]:
            node = node[p]
        node[parts[-1]] = copy.deepcopy(_lookup(base, key))
    new = build_config(data, f"{ws.config} with unset {' '.join(keys)}")
    _save(ws, old, new, wait, as_json, quiet)


@app.command("diff")
@guarded
def diff(workspace: WorkspaceArg, preset: PresetOpt = None, as_json: JsonOpt = False) -> None:
    """What the workspace's config changes from a preset (default: the preset it started from).

    Examples:

        dreamrunner config diff ws/teddy
        dreamrunner config diff ws/teddy --preset cogvideox-5b
    """
    from ..config import resolve_config, show_value

    ws, data, source = _open(workspace)
    name = preset or data.get("preset")
    base = resolve_config(preset=name).model_dump(mode="json")
    base.pop("preset", None)
    mine = {k: v for k, v in data.items() if k != "preset"}
    changes = [{"key": c["key"], "preset": c["old"], "workspace": c["new"]} for c in _changes(base, mine)]
    emit({"workspace": str(ws.root), "source": source, "preset": name, "changes": changes}, as_json, False,
         lambda r: _print_lines([f"{c['key']} {show_value(c['preset'])} → {show_value(c['workspace'])}"
                                 for c in changes] or [f"same as preset {name}"]))
