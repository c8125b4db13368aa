"""Shared CLI options (defined once, as Annotated aliases) and the error boundary.

Every command: parse options → build config → call ``stages.<x>.run(...)`` → print a rich summary, or the result as
JSON with ``--json``. Domain errors become a message (what, where, what to run next) and a stable exit code;
tracebacks only with DREAMRUNNER_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperCommand, TyperGroup

from .. import errors
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
from ..output import PIPE_WIDTH, console  # noqa: F401 - re-exported (`from .common import console`)
from .completion import complete_character, complete_motion, complete_preset, complete_scene, complete_set

WorkspaceArg = Annotated[Path, typer.Argument(file_okay=False, resolve_path=True, metavar="WS",
                                              help="Workspace folder.")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", file_okay=False, resolve_path=True, metavar="DIR",
                 help="Workspace folder (default: ./<story name> next to where you run the command)."),
]
PresetOpt = Annotated[
    str | None,
    typer.Option("--preset", "-p", metavar="NAME", autocompletion=complete_preset,
                 help="Start from a preset: tiny, cogvideox-2b, cogvideox-5b (default: the workspace's saved config, "
                      "else cogvideox-2b)."),
]
# --set KEY=VALUE: one option, three truths about what the command does with it.
_SET = "Override a config key, e.g. --set render.steps=20. Repeatable; "
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", "-s", metavar="KEY=VALUE", autocompletion=complete_set,
    help=_SET + "saved in the workspace's config.json when the command succeeds (not with --no-save).")]
SetReadOpt = Annotated[list[str] | None, typer.Option(  # status, masks, doctor: they only read the config
    "--set", "-s", metavar="KEY=VALUE", autocompletion=complete_set,
    help=_SET + "for this command only: config.json is never changed (`dreamrunner config set` saves a key).")]
SetEachOpt = Annotated[list[str] | None, typer.Option(  # import and batch: every workspace they write or run
    "--set", "-s", metavar="KEY=VALUE", autocompletion=complete_set,
    help=_SET + "saved in the config.json of each workspace the command writes or runs.")]
NoSaveOpt = Annotated[bool, typer.Option("--no-save", help="Use --preset/--set for this run only: config.json is "
                                                           "left as it is.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Re-run items even when nothing changed.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would run, and why; run nothing.")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait for another process using the workspace to finish.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", envvar="DREAMRUNNER_VERBOSE", show_envvar=False,
                                          help="Also show third-party warnings and library logs (hidden by "
                                               "default).")]
SceneOpt = Annotated[list[str] | None, typer.Option("--scene", metavar="ID", autocompletion=complete_scene,
                                                    help="Only this scene id (repeatable).")]
MotionOpt = Annotated[list[str] | None, typer.Option("--motion", metavar="ID", autocompletion=complete_motion,
                                                     help="Only this motion id (repeatable).")]
CharacterOpt = Annotated[list[str] | None, typer.Option("--character", metavar="ID", autocompletion=complete_character,
                                                        help="Only this character id (repeatable).")]


# Help: plain metavars ----------------------------------------------------------------------------------------------


def _plain_metavars(params: list) -> list:
    """Flags show no type (not ``<bool>``); other options without a metavar show their name in capitals (``--db DB``,
    not ``<str>`` or ``<list[str]>``); arguments show their name in capitals (``SOURCE``, not ``{source}``)."""
    for p in params:
        if getattr(p, "_plain", False):
            continue
        p._plain = True
        if getattr(p, "param_type_name", "") == "argument":
            if p.metavar is None:
                p.metavar = (p.name or "arg").upper()
            if p.nargs != 1:
                p.display_type_rich = lambda ctx: None  # the name says it: KEY=VALUE..., not <list[str]>
        elif p.metavar is not None:
            continue
        elif getattr(p, "is_flag", False) or getattr(p, "count", False):
            p.metavar = ""
        elif not getattr(getattr(p, "type_descriptor", None), "is_choice", False):
            p.metavar = (p.name or "value").upper()
    return params


def _plain_usage(pieces: list[str]) -> list[str]:
    """``{WS}`` → ``WS`` in the usage line (required arguments are simply named, as in every other CLI)."""
    return [p[1:].replace("}", "", 1) if p.startswith("{") else p for p in pieces]


EXAMPLE_WIDTH = 74  # an example line longer than this (indent included) is continued with " \\" (80 columns)
_EXAMPLE = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:dreamrunner|for)\s|#")  # see _is_example


def _break_points(line: str) -> list[int]:
    """Offsets of the spaces outside quotes in a shell line (where a continuation may go)."""
    points, quote = [], ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == " " and i and line[i - 1] != " ":
            points.append(i)
    return points


def _continue_line(line: str, width: int = EXAMPLE_WIDTH) -> list[str]:
    """One long shell line → lines of at most ``width`` joined by `` \\``, still copy-pasteable."""
    indent = line[: len(line) - len(line.lstrip())]
    out, rest, lead = [], line.strip(), indent
    while len(lead) + len(rest) > width:
        cut = [p for p in _break_points(rest) if len(lead) + p + 2 <= width]
        if not cut:
            break
        before_option = [p for p in cut if rest[p + 1:p + 2] in ("-", "|")]  # keep an option with its value
        at = (before_option or cut)[-1]
        out.append(f"{lead}{rest[:at].rstrip()} \\")
        rest, lead = rest[at:].strip(), indent + "    "
    out.append(f"{lead}{rest}")
    return out


def _is_example(line: str) -> bool:
    """An indented shell line of a help's examples: ``dreamrunner …``, ``VAR=x dreamrunner …``, ``for …``, ``# …``."""
    return line.startswith(" ") and _EXAMPLE.match(line.strip()) is not None


def _reflow(par: str) -> str:
    """A prose paragraph as one line: rich keeps every newline of a help paragraph after the first, so a docstring
    wrapped at 120 columns in the source would break mid-sentence on the screen. Lists, indented blocks and ``\\b``
    paragraphs keep their lines."""
    lines = par.split("\n")
    if par.startswith("\b") or any(ln.startswith((" ", "- ", "* ")) for ln in lines):
        return par
    return " ".join(ln.strip() for ln in lines)


def plain_examples(help_text: str | None, rich: bool = True) -> str | None:
    """Keep each example of a command's help on its own line(s), copy-pasteable at 80 columns; reflow the prose.

    Rich re-wraps help paragraphs to the terminal, which splits a long example mid-command. Every indented line that
    starts with ``dreamrunner``, ``VAR=value dreamrunner``, ``for`` or ``#`` is kept as written, long ones continued
    with `` \\`` (a trailing ``# comment`` moves to the line above), one example a line. Prose paragraphs become
    one line each (``_reflow``), wrapped to the terminal by rich.

    ``rich``: typer renders the help with rich (its default). There a ``\\b`` line shows as the one blank line
    between a heading and its examples, and keeps their indentation (rich dedents the help text). Without rich
    (``TYPER_USE_RICH=0``), click's formatter needs the examples as a ``\\b`` paragraph of their own.
    """
    if not help_text:
        return help_text
    paragraphs = inspect.cleandoc(help_text).split("\n\n")
    out: list[str] = []
    examples = False  # the previous paragraph was examples: this one joins it (one example a line)
    for par in paragraphs:
        lines = par.split("\n")
        body = [ln for ln in lines if ln.strip() and ln.strip() != "\b"]
        if body and all(_is_example(ln) for ln in body):
            new = []
            for ln in body:
                code, sep, comment = ln.partition("  #")
                if sep and len(ln) > EXAMPLE_WIDTH and code.strip():
                    indent = ln[: len(ln) - len(ln.lstrip())]
                    new.append(f"{indent}# {comment.strip()}")
                    ln = code.rstrip()
                new.extend(_continue_line(ln))
            if examples:
                out[-1] += "\n" + "\n".join(new)
            elif rich and out:
                out[-1] += "\n\b\n" + "\n".join(new)  # "Examples:", one blank line, the examples
            else:
                out.append("\b\n" + "\n".join(new))
            examples = True
        else:
            out.append(_reflow(par) if rich else par)
            examples = False
    return "\n\n".join(out)


class PlainCommand(TyperCommand):
    """A command whose help shows plain metavars (see ``_plain_metavars``) and examples that stay copy-pasteable
    (``plain_examples``); set as each command's ``cls`` by ``plain_help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = plain_examples(self.help, rich=_rich_help(self))

    def get_params(self, ctx):  # type: ignore[no-untyped-def]
        return _plain_metavars(super().get_params(ctx))

    def collect_usage_pieces(self, ctx):  # type: ignore[no-untyped-def]
        return _plain_usage(super().collect_usage_pieces(ctx))


def _rich_help(cmd: Any) -> bool:
    """Whether typer renders this command's help with rich (its default; ``TYPER_USE_RICH=0`` turns it off)."""
    import typer.core

    return bool(typer.core.HAS_RICH) and getattr(cmd, "rich_markup_mode", None) is not None


class PlainGroup(TyperGroup):
    """The same for groups (``dreamrunner``, ``dreamrunner index``, ``dreamrunner config``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = plain_examples(self.help, rich=_rich_help(self))

    def get_params(self, ctx):  # type: ignore[no-untyped-def]
        return _plain_metavars(super().get_params(ctx))

    def collect_usage_pieces(self, ctx):  # type: ignore[no-untyped-def]
        return _plain_usage(super().collect_usage_pieces(ctx))


def plain_help(app: typer.Typer) -> typer.Typer:
    """Give every command and group registered on ``app`` (and on its sub-apps) plain metavars in its help."""

    def plain(cls: Any, kind: type) -> bool:
        return isinstance(cls, type) and issubclass(cls, kind)

    for info in app.registered_commands:
        if not plain(info.cls, PlainCommand):
            info.cls = PlainCommand
    for group in app.registered_groups:
        if not plain(group.cls, PlainGroup):
            group.cls = PlainGroup
        if group.typer_instance is not None:
            if not plain(group.typer_instance.info.cls, PlainGroup):
                group.typer_instance.info.cls = PlainGroup
            plain_help(group.typer_instance)
    return app


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"dreamrunner {__version__}")
        raise typer.Exit()


def root_options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    global GLOBAL_VERBOSE
    GLOBAL_VERBOSE = verbose  # `dreamrunner -v render WS` = `dreamrunner render WS -v`


# Output set-up lives in output.py (below the CLI and the executors); re-exported here for the commands.
from ..output import KNOWN_WARNINGS, THIRD_PARTY_LOGGERS, setup_output  # noqa: E402,F401


# Per-command state (one command per process; reset by the boundary for each call, tests run many) ----------------


@dataclasses.dataclass
class _Call:
    as_json: bool = False
    quiet: bool = False
    verbose: bool = False
    config_changes: list[dict[str, Any]] | None = None  # saved by this command (``session``)
    config_unsaved: list[dict[str, Any]] | None = None  # used by this command, not saved (--dry-run, --no-save)


_call = _Call()
GLOBAL_VERBOSE = False  # `dreamrunner -v COMMAND`: set by the app's callback


def emit(result: dict[str, Any], as_json: bool, quiet: bool, human: Callable[[dict[str, Any]], None]) -> None:
    """Print the result: JSON on stdout with ``--json`` (with ``schema_version`` first, and ``config_changes``/
    ``config_unsaved`` when this command saved or used config changes), else the human summary unless ``--quiet``.
    The shapes are published as ``dreamrunner schema result`` (``results.py``)."""
    from ..results import RESULT_SCHEMA_VERSION

    if "schema_version" not in result:
        result = {"schema_version": RESULT_SCHEMA_VERSION, **result}
    if "command" not in result and command_name():  # a constant per command: each has its own exact schema
        result = {"schema_version": result["schema_version"], "command": command_name(), **result}
    if _call.config_changes:
        result = {**result, "config_changes": _call.config_changes}
    if _call.config_unsaved:
        result = {**result, "config_unsaved": _call.config_unsaved}
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    elif not quiet:
        human(result)


def command_name() -> str | None:
    """The command running, as its result names it: ``render``, ``config show`` (None outside a command)."""
    import importlib

    ctx = None
    for where in ("typer._click.globals", "click.globals"):  # typer ≥ 0.29 runs commands on its own copy of click
        with contextlib.suppress(ImportError):
            ctx = ctx or importlib.import_module(where).get_current_context(silent=True)
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or None


def lora_summary(item: dict[str, Any]) -> str:
    """' (LoRAs: motion/walking, character/teddy; missing: motion/jumping)' for render items, else ''."""
    if "loras" not in item:
        return ""
    text = f"LoRAs: {', '.join(item['loras']) or 'none'}"
    if item.get("missing_loras"):
        text += f"; missing: {', '.join(item['missing_loras'])}"
    return f" ({text})"


def print_decisions(result: dict[str, Any], extra: dict[str, str] | None = None) -> None:
    """The standard human summary: one line per item that ran, would run or failed, with why (with ``-v`` the
    skipped ones too: a cached run would otherwise list every item of the workspace), then the notes. ``extra``
    adds text to an item's line, by item id (adapt: where its adapter went). ``print_summary`` ends the output."""
    from rich.markup import escape

    con = console()
    for d in result.get("items", []):
        verb = d.get("action", "would run" if d.get("run") else "skipped")
        if verb == "skipped" and not _call.verbose:
            continue  # counted in the summary line
        style = {"ran": "green", "would run": "yellow", "skipped": "dim"}.get(verb, "red")
        con.print(f"[{style}]{verb:9}[/] {escape(d['stage'])} {escape(d['item'])}: {escape(d['reason'])}"
                  + escape(lora_summary(d)) + escape((extra or {}).get(d["item"], "")))
    for line in result.get("notes", []):
        con.print(escape(line))


def is_verbose() -> bool:
    """Whether the command running was given ``-v`` (its human printers then list everything)."""
    return _call.verbose


def summary_line(results: list[dict[str, Any]]) -> str:
    """One line for a command's stage results: ``ran 4, skipped 41, failed 0`` (a dry run: ``would run 4, skipped
    41``), or ``Everything is up to date.`` when nothing ran, would run or failed. An item decided to run that never
    finished (its action still "pending") counts as failed."""
    counts = {"ran": 0, "would run": 0, "skipped": 0, "failed": 0}
    for r in results:
        for it in r.get("items", []):
            action = it.get("action")
            counts[action if action in counts else "failed"] += 1
    if not (counts["ran"] or counts["would run"] or counts["failed"]):
        return "Everything is up to date."
    if any(r.get("dry_run") for r in results):
        return f"would run {counts['would run']}, skipped {counts['skipped']}"
    return f"ran {counts['ran']}, skipped {counts['skipped']}, failed {counts['failed']}"


def print_summary(*results: dict[str, Any]) -> None:
    """The last line of a stage command's human output (``summary_line``)."""
    console().print(summary_line(list(results)), markup=False, highlight=False)


TABLE_WIDTH = 100  # a table off a terminal (a pipe, a file, CI) is laid out for this many columns


def table_console():
    """The console for rich tables: on a terminal (or with $COLUMNS) the usual one, which fits the window; anywhere
    else one 100 columns wide, so long cells wrap inside the table instead of stretching it to the longest one
    (plain lines stay unwrapped for grep: ``console``)."""
    from rich.console import Console

    con = console()
    if con.is_terminal or os.environ.get("COLUMNS"):
        return con
    return Console(file=sys.stdout, highlight=False, width=TABLE_WIDTH)


def guarded(fn: Callable) -> Callable:
    """The one error boundary: every failure becomes a message and an exit code from ``errors.EXIT_CODES``.

    Domain errors keep their own code; expected failures that are not ours (OS errors, decode errors, pydantic
    validation, a damaged safetensors file, SIGINT/SIGTERM) are translated by ``translate_error``; anything else is
    exit 1 with a one-line message. The message always goes to stderr; with ``--json`` the error object is also
    printed on stdout. ``DREAMRUNNER_DEBUG=1`` re-raises the original exception (with its traceback).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global _call, GLOBAL_VERBOSE
        as_json = bool(kwargs.get("as_json"))
        _call = _Call(as_json=as_json, quiet=bool(kwargs.get("quiet")),
                      verbose=bool(kwargs.get("verbose")) or GLOBAL_VERBOSE)
        GLOBAL_VERBOSE = False  # for this command only
        setup_output(_call.verbose)
        outer = errors.in_command  # a command may call another guarded one
        code = 1  # the exit code it ends with; a signal after the end leaves it as it is (errors.on_signal)
        if not outer:
            errors.finished_code = None
        try:
            errors.in_command = True  # SIGTERM from here on unwinds through the stage's clean-up (exit 143)
            result = fn(*args, **kwargs)
            code = 0
            return result
        except (SystemExit, GeneratorExit, click.exceptions.Exit, typer.Exit, click.exceptions.ClickException,
                click.exceptions.Abort) as exc:
            code = _exit_code_of(exc)
            raise  # a command's own exit code (typer.Exit is not click's Exit in typer ≥ 0.29)
        except BaseException as exc:  # noqa: BLE001 - the boundary: everything becomes a message and a code
            if os.environ.get("DREAMRUNNER_DEBUG") == "1":
                raise
            err = translate_error(exc)
            code = err.exit_code
        finally:
            errors.in_command = outer
            if not outer:
                errors.finished_code = code
        report_error(err, as_json)
        raise typer.Exit(err.exit_code)

    return wrapper


def _exit_code_of(exc: BaseException) -> int:
    """The exit code a SystemExit, typer/click Exit, ClickException or Abort ends the process with."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    code = getattr(exc, "exit_code", 1)
    return code if isinstance(code, int) else 1


def report_error(err: DreamrunnerError, as_json: bool) -> None:
    """The message on stderr (always); with ``--json`` also the error object on stdout."""
    from rich.markup import escape

    if as_json:
        from ..results import RESULT_SCHEMA_VERSION

        data = err.to_dict()
        data.setdefault("schema_version", RESULT_SCHEMA_VERSION)
        if command_name():
            data.setdefault("command", command_name())
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
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
    embedded = _embedded_os_error(exc)
    if embedded is not None:  # e.g. safetensors' SafetensorError on a full disk: exit 8, not "damaged" (5)
        return _os_error(embedded)
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


def _embedded_os_error(exc: BaseException) -> OSError | None:
    """An OS error that a library reports inside its own exception's message: Rust-based ones (safetensors,
    tokenizers) end it with ``(os error 28)``, e.g. "I/O error: No space left on device (os error 28)"."""
    import re

    match = re.search(r"\(os error (\d+)\)", str(exc))
    if match is None:
        return None
    code = int(match.group(1))
    return OSError(code, os.strerror(code), _path_of(exc))


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
    held, and only for a real run that succeeds (a ``--dry-run`` changes nothing on disk). ``save=False``
    (``--no-save``, or a command that only reads) never saves: the run uses the config, config.json stays as it is.
    """
    from ..config import resolve_config
    from ..workspace import Workspace

    ws = Workspace(path)
    cfg = resolve_config(preset=preset, overrides=overrides or [], saved=ws.config)
    asked = preset is not None or bool(overrides)
    ws.pending_config = cfg if save and (asked or not ws.config.exists()) else None
    ws.unsaved_config = cfg if not save and asked else None
    return ws, cfg


@contextlib.contextmanager
def session(ws, wait: bool, dry_run: bool = False):
    """Hold the workspace lock; save the resolved config for the run; keep it only if the command succeeds.

    The new config.json is written when the lock is taken (so everything the run reads agrees with it) and put back
    as it was when the command fails, whatever stage it reached: a failed ``--set`` never sticks. (Items that
    finished keep their records, which hold the config values that made them, so the next run says what differs.)
    The one exception: a workspace that had no config.json keeps its first one once any item finished, so its
    outputs are never left without a config. A workspace folder this command created, holding nothing but the lock
    file, the config and the run log, is removed again. On success each saved change is printed on stderr
    (``config.json: render.steps 8 → 40``) unless --quiet or --json (then the result has ``config_changes``).
    """
    from ..workspace import write_bytes_atomic, write_json_atomic

    created = not ws.root.exists()
    with ws.locked(wait=wait):
        if not dry_run:
            _redraw_storyboard(ws)
        pending = ws.pending_config
        old_config = ws.config.read_bytes() if ws.config.exists() else None
        if dry_run or pending is None:
            one_off = pending if dry_run else ws.unsaved_config
            if one_off is not None:
                _announce(_changes(old_config, one_off), saved=False, why="--dry-run" if dry_run else "--no-save")
            yield ws
            return
        old_records = ws.records_file.read_bytes() if ws.records_file.exists() else None
        write_json_atomic(ws.config, pending.model_dump(mode="json"))
        try:
            yield ws
        except BaseException:
            records = ws.records_file.read_bytes() if ws.records_file.exists() else None
            keep_first = old_config is None and records != old_records
            _undo(ws, not keep_first, old_config, created and records == old_records, write_bytes_atomic)
            raise
        _announce(_changes(old_config, pending), saved=True)


def _redraw_storyboard(ws) -> None:
    """A storyboard older than a hand edit of plan.json is redrawn by any command that reads the plan (``plan``
    redraws it itself, as one of its items). A bad plan.json or config is left to the stage to report."""
    if command_name() == "plan" or not ws.plan.exists():
        return
    from ..config import resolve_config
    from ..stages.plan import redraw_stale_storyboard

    try:
        cfg = ws.pending_config or ws.unsaved_config or resolve_config(saved=ws.config)
        redrawn = redraw_stale_storyboard(ws, cfg)
    except DreamrunnerError:
        return
    if redrawn and not (_call.quiet or _call.as_json):
        console(stderr=True).print(f"{ws.rel(ws.storyboard)} redrawn: plan.json changed since it was drawn",
                                   soft_wrap=True, markup=False)


def announce_unsaved(ws, why: str) -> None:
    """For a command that only reads the config (``status``, ``masks``): the ``--preset``/``--set`` changes it used
    go in the result as ``config_unsaved`` (and on stderr), as ``--no-save`` reports them."""
    if ws.unsaved_config is not None:
        old_config = ws.config.read_bytes() if ws.config.exists() else None
        _announce(_changes(old_config, ws.unsaved_config), saved=False, why=why)


def _changes(old_config: bytes | None, new) -> list[dict[str, Any]]:
    """``[{"key", "old", "new"}]`` from the saved config.json (or, for a new one, the preset it starts from) to
    ``new``; a new config.json starts with ``{"key": "(created)", "new": <preset>}``."""
    from ..config import config_diff, resolve_config

    new_data = new.model_dump(mode="json")
    head: list[dict[str, Any]] = []
    old: Any = None
    if old_config is not None:
        with contextlib.suppress(ValueError):
            old = json.loads(old_config.decode("utf-8"))
    if not isinstance(old, dict):
        head = [{"key": "(created)", "old": None, "new": f"preset {new.preset}"}]
        try:
            old = resolve_config(preset=new.preset).model_dump(mode="json")
        except DreamrunnerError:
            old = {}
    return head + [{"key": k, "old": a, "new": b} for k, a, b in config_diff(old, new_data)]


def _announce(changes: list[dict[str, Any]], saved: bool, why: str = "") -> None:
    """Put the config changes in the result (``emit``) and, for people, on stderr."""
    from rich.markup import escape

    from ..config import show_value

    if not changes:
        return
    if saved:
        _call.config_changes = changes
    else:
        _call.config_unsaved = changes
    if _call.quiet or _call.as_json:
        return
    con = console(stderr=True)
    label = "config.json" if saved else f"config.json (not saved, {why})"
    for c in changes:
        if c["key"] == "(created)":
            con.print(escape(f"config.json: created from {c['new']}" if saved
                             else f"{label}: would be created from {c['new']}"), soft_wrap=True)
        else:
            con.print(escape(f"{label}: {c['key']} {show_value(c['old'])} → {show_value(c['new'])}"), soft_wrap=True)


_OWN_FILES = {".dreamrunner.pid", "config.json", "runs.jsonl"}


def _undo(ws, config_written: bool, old_config: bytes | None, created: bool, write_bytes_atomic) -> None:
    """Put back what a failed run changed (see ``session``); never touches anything else."""
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
