"""A small error hierarchy. The CLI maps each class to a message and a stable exit code.

``EXIT_CODES`` below is the one table of exit codes: the README's "Exit codes" table is checked against it by
tests/test_reliability.py, and every class takes its code from it. The CLI boundary (``cli.common.guarded``) also
maps the expected failures that are not ours (OS errors, decode errors, validation errors) onto these codes.
"""

from __future__ import annotations

def listing(items) -> str:
    """Items for a message, as text (``s01, s02``), never a Python list (``['s01', 's02']``)."""
    return ", ".join(map(str, items)) or "none"


# code → meaning, in the words the README uses (tests/test_reliability.py compares the two).
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "unexpected failure (set `DREAMRUNNER_DEBUG=1` for a traceback)",
    2: "usage error (bad option, unknown preset, bad `--set` key or value, a `--scene`/`--motion`/`--character` "
       "the plan does not have)",
    3: "missing upstream stage (e.g. `render` before `plan`); the message names the command to run",
    4: "backend or model unavailable (weights missing, no CUDA, LLM server down)",
    5: "invalid input: story, plan, image, video, LLM reply, or a damaged file (`dreamrunner.lock`, an adapter, an "
       "index); the message names the file, JSON path or item, and how to rebuild it",
    6: "workspace busy (another process holds its lock; use `--wait`)",
    7: "not built yet",
    8: "a file or folder cannot be read or written (disk full, read-only, permission denied, a file where a folder "
       "is needed, e.g. `DREAMRUNNER_CACHE`); the message names the path",
    130: "interrupted (Ctrl-C, SIGINT); finished items are kept, run again to resume",
    143: "terminated (SIGTERM, e.g. `timeout`, a scheduler, `docker stop`); finished items are kept, run again to "
         "resume",
}


class DreamrunnerError(Exception):
    """Base class. ``message`` says what went wrong and where; ``hint`` says what to run next."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or []

    def to_dict(self) -> dict:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class UsageError(DreamrunnerError):
    exit_code = 2


class UnknownItem(UsageError):
    """``--scene``/``--motion``/``--character`` names an item the plan does not have."""


class MissingUpstream(DreamrunnerError):
    """An earlier stage has not run (or its outputs are gone)."""

    exit_code = 3


class BackendUnavailable(DreamrunnerError):
    """A model, weights, device, LLM server or other backend cannot be used."""

    exit_code = 4


class ModelUnavailable(BackendUnavailable):
    pass


class InputInvalid(DreamrunnerError):
    """Bad input: names the file, the JSON path or the item, and what to do."""

    exit_code = 5


class PlanInvalid(InputInvalid):
    pass


class RecordsDamaged(InputInvalid):
    """``dreamrunner.lock`` (or another record) cannot be trusted: never read as empty, always reported."""


class WorkspaceBusy(DreamrunnerError):
    exit_code = 6


class StageNotImplemented(DreamrunnerError):
    exit_code = 7


class FileAccessError(DreamrunnerError):
    """An OS error on a path (ENOSPC, EROFS, EACCES, ENOTDIR, …), with the path and what to do."""

    exit_code = 8


class Interrupted(DreamrunnerError):
    exit_code = 130


class Terminated(Interrupted):
    exit_code = 143


class TerminateSignal(KeyboardInterrupt):
    """Raised by the CLI's SIGTERM handler. A KeyboardInterrupt, so every ``except KeyboardInterrupt`` and
    ``finally`` that cleans up after Ctrl-C does the same after SIGTERM."""

    def __init__(self, signum: int = 15):
        super().__init__(f"signal {signum}")
        self.signum = signum


# True while a command runs inside the CLI's error boundary (cli.common.guarded), which turns TerminateSignal into
# exit 143 after the stage's clean-up. Outside it (imports, argument parsing, printing the result) there is nothing
# half-written to clean up, and Typer would turn a KeyboardInterrupt into a silent exit 130.
in_command = False
# The exit code of the command once it has ended (set by cli.common.guarded; None before and during it). A signal
# after that point changes nothing: the command's results are written and its code stands (see on_signal).
finished_code: int | None = None


def on_signal(signum, frame) -> None:
    """SIGTERM (timeout, schedulers, ``docker stop``, Ray) is handled like Ctrl-C inside a command; both exit at once
    outside one, with a message instead of dying by the signal (-15, -2) or Typer's silent 130: 143 or 130 before the
    command started, the command's own exit code once it has finished (``finished_code``: 0 when it succeeded)."""
    import signal

    if in_command:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise TerminateSignal(signum)
    what = "interrupted" if signum == signal.SIGINT else "terminated"
    if finished_code is not None:  # the command has ended: its records and result are written, its code stands
        _flush_and_exit(f"note: signal {signum} arrived after the command had finished; its result stands "
                        f"(exit code {finished_code})", finished_code)
    _flush_and_exit(f"error: {what} (signal {signum}) before the command started; nothing is half-written",
                    130 if signum == signal.SIGINT else 143)


def _flush_and_exit(line: str, code: int) -> None:
    """Print ``line`` on stderr and end the process now, keeping what the command already printed (a JSON result
    still in stdout's buffer is flushed first)."""
    import contextlib
    import os
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe, or a write this signal interrupted
            stream.flush()
    with contextlib.suppress(Exception):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    os._exit(code)


def _ignore_late_signals() -> None:
    """The last exit handler: from here the interpreter tears itself down, and it puts SIGTERM and SIGINT back to
    their default action (die by the signal, -15 or -2, with no message) before freeing the modules, which takes
    a while once torch is loaded. Ignored instead, a signal in that window leaves the exit code already decided."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def install_signals() -> None:
    """Called first thing by the entry point, before the CLI's imports (0.1-0.3 s), so the default actions (die
    with no message: exit -15 or -2) cover only the interpreter's own start-up."""
    import atexit
    import signal

    signal.signal(signal.SIGINT, on_signal)  # first: a caught SIGTERM (visible in /proc) then implies both are ours
    signal.signal(signal.SIGTERM, on_signal)
    global _late_registered
    if not _late_registered:  # once, as early as possible, so that it runs last (exit handlers run in reverse)
        atexit.register(_ignore_late_signals)
        _late_registered = True


_late_registered = False
