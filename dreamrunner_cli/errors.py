"""A small error hierarchy. The CLI maps each class to a message and a stable exit code.

``EXIT_CODES`` below is the one table of exit codes: the README's "Exit codes" table is checked against it by
tests/test_reliability.py, and every class takes its code from it. The CLI boundary (``cli.common.guarded``) also
maps the expected failures that are not ours (OS errors, decode errors, validation errors) onto these codes.
"""

from __future__ import annotations

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


def on_signal(signum, frame) -> None:
    """SIGTERM (timeout, schedulers, ``docker stop``, Ray) is handled like Ctrl-C inside a command; both exit at once
    outside one (143 or 130), with a message instead of dying by the signal (-15, -2) or Typer's silent 130."""
    import signal

    if in_command:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise TerminateSignal(signum)
    import os
    import sys

    what = "interrupted" if signum == signal.SIGINT else "terminated"
    sys.stderr.write(f"error: {what} (signal {signum}) before the command started or after it ended; "
                     "nothing is half-written\n")
    sys.stderr.flush()
    os._exit(130 if signum == signal.SIGINT else 143)


def install_signals() -> None:
    """Called first thing by the entry point, before the CLI's imports (0.1-0.3 s), so the default actions (die
    with no message: exit -15 or -2) cover only the interpreter's own start-up."""
    import signal

    signal.signal(signal.SIGINT, on_signal)  # first: a caught SIGTERM (visible in /proc) then implies both are ours
    signal.signal(signal.SIGTERM, on_signal)
