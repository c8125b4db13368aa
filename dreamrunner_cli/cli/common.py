"""Shared CLI options (defined once, as Annotated aliases) and the error boundary.

Every command: parse options → build config → call ``stages.<x>.run(...)`` → print a rich summary, or the result as
JSON with ``--json``. Domain errors become a message (what, where, what to run next) and a stable exit code;
tracebacks only with DREAMRUNNER_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from ..errors import (
    BackendUnavailable,
    DreamrunnerError,
    FileAccessError,
    InputInvalid,
    Interrupted,
    Terminated,
    TerminateSignal,
    UnknownItem,
)

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
    """The one error boundary: every failure becomes a message and an exit code from ``errors.EXIT_CODES``.

    Domain errors keep their own code; expected failures that are not ours (OS errors, decode errors, pydantic
    validation, a damaged safetensors file, SIGINT/SIGTERM) are translated by ``translate_error``; anything else is
    exit 1 with a one-line message. The message always goes to stderr; with ``--json`` the error object is also
    printed on stdout. ``DREAMRUNNER_DEBUG=1`` re-raises the original exception (with its traceback).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except (SystemExit, GeneratorExit, click.exceptions.Exit, typer.Exit, click.exceptions.ClickException,
                click.exceptions.Abort):
            raise  # a command's own exit code (typer.Exit is not click's Exit in typer ≥ 0.29)
        except BaseException as exc:  # noqa: BLE001 - the boundary: everything becomes a message and a code
            if os.environ.get("DREAMRUNNER_DEBUG") == "1":
                raise
            err = translate_error(exc)
        report_error(err, as_json)
        raise typer.Exit(err.exit_code)

    return wrapper


def report_error(err: DreamrunnerError, as_json: bool) -> None:
    """The message on stderr (always); with ``--json`` also the error object on stdout."""
    from rich.markup import escape

    if as_json:
        sys.stdout.write(json.dumps(err.to_dict(), indent=2, default=str) + "\n")
        sys.stdout.flush()
    con = console(stderr=True)
    con.print(f"[bold red]error:[/] {escape(err.message)}", soft_wrap=True)
    for d in err.details:
        con.print(f"  - {escape(d)}", soft_wrap=True)
    if err.hint:
        con.print(f"[bold]hint:[/] {escape(err.hint)}", soft_wrap=True)


RESUME = "finished items are kept; run the same command again to resume"


def translate_error(exc: BaseException) -> DreamrunnerError:
    """Map any exception to a DreamrunnerError that names the file or item and what to do."""
    if isinstance(exc, DreamrunnerError):
        return exc
    if isinstance(exc, TerminateSignal):
        return Terminated(f"terminated (signal {exc.signum}); {RESUME}")
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted(f"interrupted; {RESUME}")
    name = type(exc).__name__
    if name == "DecompressionBombError" or name == "UnidentifiedImageError":
        where = _path_of(exc)
        what = "is too large to decode safely" if name == "DecompressionBombError" else "is not an image Pillow can read"
        return InputInvalid(f"{where or 'an image'} {what}: {exc}",
                            hint="replace it with a PNG or JPEG of ordinary size (a few megapixels)")
    if isinstance(exc, ConnectionError) or isinstance(exc, TimeoutError):
        return BackendUnavailable(f"a backend could not be reached: {exc}",
                                  hint="check that the server (LLM endpoint) is running and reachable")
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, UnicodeError):
        where = _path_of(exc)
        return InputInvalid(f"{where or 'a file'} is not valid UTF-8 text ({exc.reason}"
                            + (f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else "") + ")",
                            hint="save it as UTF-8, or restore it from a copy")
    if isinstance(exc, json.JSONDecodeError):
        where = _path_of(exc)
        return InputInvalid(f"{where or 'a file'} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                            hint="fix it, or delete it and run the stage that writes it again")
    if _is_instance(exc, "pydantic_core", "ValidationError"):
        from ..schema import json_path

        where = _path_of(exc)
        details = [f"{json_path(e['loc'])}: {e['msg']}" for e in exc.errors()]  # type: ignore[attr-defined]
        return InputInvalid(f"invalid {exc.title}" + (f" in {where}" if where else ""),  # type: ignore[attr-defined]
                            details=details, hint="fix the fields named above (`dreamrunner schema plan` shows the "
                                                  "plan's schema)")
    if _is_instance(exc, "safetensors", "SafetensorError") or name == "SafetensorError":
        where = _path_of(exc)
        return InputInvalid(f"{where or 'a .safetensors file'} is damaged or not a safetensors file: {exc}",
                            hint="delete it and run the stage that wrote it again (e.g. `dreamrunner adapt WS --force"
                                 " --motion ID`)")
    if isinstance(exc, (EOFError,)) or name in ("BadZipFile", "UnpicklingError"):
        where = _path_of(exc)
        return InputInvalid(f"{where or 'a file'} is truncated or damaged ({name}: {exc})",
                            hint="delete it and run the command that wrote it again")
    where = _path_of(exc)
    return DreamrunnerError(f"unexpected failure: {name}: {exc}" + (f" (while handling {where})" if where else ""),
                            hint="this is a bug: run again with DREAMRUNNER_DEBUG=1 for the traceback, and report it")


def _is_instance(exc: BaseException, module: str, cls: str) -> bool:
    mod = sys.modules.get(module)
    typ = getattr(mod, cls, None) if mod is not None else None
    return isinstance(typ, type) and isinstance(exc, typ)


_OS_HINTS = {
    errno.ENOSPC: ("no space left on the device", "free some space (`df -h`) and run the command again; " + RESUME),
    errno.EDQUOT: ("disk quota exceeded", "free some space and run the command again; " + RESUME),
    errno.EROFS: ("the file system is read-only", "use a workspace on a writable disk (copy the folder there)"),
    errno.EACCES: ("permission denied", "check the owner and permissions (`ls -l`), or use a folder you can write"),
    errno.EPERM: ("operation not permitted", "check the owner and permissions (`ls -l`)"),
    errno.ENOTDIR: ("a file is in the way where a folder is needed", "move that file away, or choose another path"),
    errno.EEXIST: ("a file is in the way where a folder is needed", "move that file away, or choose another path"),
    errno.EISDIR: ("a folder is in the way where a file is needed", "move that folder away, or choose another path"),
    errno.ENOENT: ("no such file or folder", "check the path; if a stage's output is gone, run that stage again"),
    errno.EIO: ("input/output error (failing disk or network mount)", "check the disk, then run again; " + RESUME),
    errno.ENAMETOOLONG: ("file name too long", "use shorter ids or a shorter workspace path"),
}


def _os_error(exc: OSError) -> DreamrunnerError:
    path = exc.filename if exc.filename is not None else _path_of(exc)
    what, hint = _OS_HINTS.get(exc.errno or -1, (exc.strerror or str(exc), "check the path and run again"))
    cache = _cache_problem(path)
    if cache is not None:
        return FileAccessError(f"DREAMRUNNER_CACHE={cache} is not a usable folder ({what})",
                               hint="point DREAMRUNNER_CACHE at a folder you can write (or unset it to use "
                                    "~/.cache/dreamrunner)")
    target = f"{path}" + (f" -> {exc.filename2}" if exc.filename2 else "") if path is not None else "(unknown path)"
    return FileAccessError(f"cannot read or write {target}: {what}", hint=hint)


def _cache_problem(path: Any) -> str | None:
    """The cache folder, when the failing path is in it and it is not a usable folder (e.g. a file)."""
    root = os.environ.get("DREAMRUNNER_CACHE")
    if not root or path is None:
        return None
    try:
        p, r = Path(os.fspath(path)).absolute(), Path(root).absolute()
    except TypeError:
        return None
    if p != r and r not in p.parents:
        return None
    return root if (r.exists() and not r.is_dir()) or not os.access(r if r.exists() else r.parent, os.W_OK) else None


_PATH_NAMES = ("path", "file", "filename", "target", "src", "source", "dest", "fp", "p", "self")


def _path_of(exc: BaseException) -> str | None:
    """The file an exception was about: its ``filename``, else the innermost frame's path-like local (a decode error
    in ``Path.read_text`` has the path as ``self``). Best effort; None when no frame holds one."""
    if getattr(exc, "filename", None):
        return str(exc.filename)  # type: ignore[attr-defined]
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name in _PATH_NAMES:
            value = frame.f_locals.get(name)
            if isinstance(value, os.PathLike):
                return os.fspath(value)  # type: ignore[return-value]
            if name != "self" and isinstance(value, str) and 0 < len(value) < 4096 and os.path.exists(value):
                return value
            if name != "self" and hasattr(value, "name") and hasattr(value, "read") and isinstance(value.name, str):
                return value.name
    return None


def check_selection(option: str, wanted: list[str] | None, known: list[str]) -> None:
    """``--scene``/``--motion``/``--character`` values must name items of the plan (else exit 2, listing them)."""
    unknown = [w for w in wanted or [] if w not in known]
    if unknown:
        raise UnknownItem(f"{option} {', '.join(map(repr, unknown))}: no such id in the plan",
                          hint=f"ids: {', '.join(known) or '(none)'}")


def plan_scene_ids(ws) -> list[str]:
    """The scene ids of the workspace's plan.json (validating it: a bad plan is reported as usual, exit 5)."""
    from ..schema import load_plan

    return [s.id for s in load_plan(ws.require_plan()).scenes]


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
    """Hold the workspace lock; then save the resolved config (unless it is a dry run).

    A refused run changes nothing: when the command fails before any item finished (the records are unchanged), the
    previous config.json is put back, and a workspace folder this command created, holding nothing but the lock
    file, the config and the run log, is removed again. A run that finished items keeps the config that made them,
    so the next run resumes with it.
    """
    from ..workspace import write_bytes_atomic, write_json_atomic

    created = not ws.root.exists()
    with ws.locked(wait=wait):
        pending = ws.pending_config
        if dry_run:
            yield ws
            return
        old_config = ws.config.read_bytes() if ws.config.exists() else None
        old_records = ws.records_file.read_bytes() if ws.records_file.exists() else None
        if pending is not None:
            write_json_atomic(ws.config, pending.model_dump(mode="json"))
        try:
            yield ws
        except BaseException:
            records = ws.records_file.read_bytes() if ws.records_file.exists() else None
            if records == old_records:
                _undo(ws, pending is not None, old_config, created, write_bytes_atomic)
            raise


_OWN_FILES = {".dreamrunner.pid", "config.json", "runs.jsonl"}


def _undo(ws, config_written: bool, old_config: bytes | None, created: bool, write_bytes_atomic) -> None:
    """Put back what a refused run changed (see ``session``); never touches anything else."""
    with contextlib.suppress(OSError):
        if config_written:
            if old_config is None:
                ws.config.unlink(missing_ok=True)
            else:
                write_bytes_atomic(ws.config, old_config)
        if created and {p.name for p in ws.root.iterdir()} <= _OWN_FILES:
            for name in _OWN_FILES:
                (ws.root / name).unlink(missing_ok=True)
            ws.root.rmdir()
