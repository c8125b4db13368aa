"""Value completion for the shell (`dreamrunner --install-completion`): option values, not only command names.

Typer calls these as ``autocompletion=`` callbacks while the shell asks for candidates (``_DREAMRUNNER_COMPLETE``
in the environment). They see the command line parsed so far (``ctx.params``) and the word being typed. A
completion must never print an error or hang the shell: anything that goes wrong (no workspace yet, a damaged or
huge plan.json) means no suggestions.

- ``--preset``: the shipped presets;
- ``--set``: every dotted config key, as ``key=`` (the value is yours to type);
- ``--scene`` / ``--motion`` / ``--character``: the ids in plan.json of the workspace named on the command line;
- ``dreamrunner schema KIND``: the schema kinds (``choices``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

PLAN_MAX_BYTES = 20 * 1024 * 1024  # a plan.json larger than this is not read while the user waits for a <Tab>


def complete_preset(incomplete: str) -> list[str]:
    try:
        from ..config import preset_names

        return [n for n in preset_names() if n.startswith(incomplete)]
    except (OSError, ImportError, ValueError):  # a completion shows nothing rather than an error
        return []


def complete_set(incomplete: str) -> list[str]:
    """``render.st`` → ``render.steps=``; once ``=`` is typed there is nothing to suggest."""
    if "=" in incomplete:
        return []
    try:
        from ..config import Config, flatten

        keys = [k for k in flatten(Config().model_dump(mode="json")) if "." in k]  # not `preset`: --preset sets it
    except (ImportError, ValueError):
        return []
    return [f"{k}=" for k in sorted(keys) if k.startswith(incomplete)]


def choices(values: tuple[str, ...] | list[str]) -> Callable[[str], list[str]]:
    """A completion over fixed values (e.g. the schema kinds)."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


def _plan_json(ctx: click.Context, args: list[str]) -> dict[str, Any] | None:
    """plan.json of the workspace given so far: ``WS``, ``--workspace DIR``, or ``plan``'s SOURCE when it is a
    workspace (or a story whose default workspace, ./<story name>, exists).

    The shell's words are read too: while an option still waits for its value (``--scene <Tab>``), click stops
    parsing there and ``ctx.params`` holds no workspace (and typer passes no ``args``). The first folder named that
    holds a plan.json wins.
    """
    words = [*(str(v) for k, v in (ctx.params or {}).items() if k in ("workspace", "source") and v),
             *(w for w in [*args, *_shell_words()] if not w.startswith("-"))]
    candidates: list[Path] = []
    for word in words:
        path = Path(word).expanduser()
        candidates.append(path)
        if path.suffix == ".txt":  # a story: its default workspace
            candidates.append(Path.cwd() / path.stem)
    for folder in candidates:
        plan = folder / "plan.json"
        try:
            if plan.is_file() and plan.stat().st_size <= PLAN_MAX_BYTES:
                data = json.loads(plan.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    return data
        except (OSError, ValueError):
            continue
    return None


def _shell_words() -> list[str]:
    """The command line being completed, as the shell gave it: ``COMP_WORDS`` (bash) or ``_TYPER_COMPLETE_ARGS``
    (zsh, fish, PowerShell), without the program name."""
    from click.shell_completion import split_arg_string

    for var in ("COMP_WORDS", "_TYPER_COMPLETE_ARGS"):
        if os.environ.get(var):
            try:
                return split_arg_string(os.environ[var])[1:]
            except ValueError:
                return []
    return []


def _ids(ctx: click.Context, args: list[str], incomplete: str, section: str) -> list[str]:
    data = _plan_json(ctx, args)
    items = data.get(section) if data else None
    if not isinstance(items, list):
        return []
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    return [i for i in ids if isinstance(i, str) and i.startswith(incomplete)]


def complete_scene(ctx: click.Context, args: list[str], incomplete: str) -> list[str]:
    return _ids(ctx, args, incomplete, "scenes")


def complete_motion(ctx: click.Context, args: list[str], incomplete: str) -> list[str]:
    return _ids(ctx, args, incomplete, "motions")


def complete_character(ctx: click.Context, args: list[str], incomplete: str) -> list[str]:
    return _ids(ctx, args, incomplete, "characters")
