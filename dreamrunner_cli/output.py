"""Output for people and programs: rich consoles, quiet third-party logs, and streams kept clean.

- Consoles (used by the CLI and by progress.py): not a terminal (a pipe, a file, ``2>log``), lines are never wrapped
  and have no width limit, so grep sees whole lines; ``$COLUMNS`` still wins when set. A terminal: rich's usual
  behaviour.
- ``setup_output``: one log handler on stderr for dreamrunner and the libraries it uses; their warnings and logs
  below ERROR hidden unless verbose. Called by the CLI's error boundary before each command and by batch workers.
- ``third_party_streams``: while a library that writes to the process's file descriptors runs (Ray's core and its
  child processes), descriptors 1 and 2 go to a log file, so stdout holds only what dreamrunner prints.

This module sits below both the CLI and the executors (neither imports the other for output).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

PIPE_WIDTH = 4096  # lines are never wrapped when the output is not a terminal (grep, less, files)


def console(stderr: bool = False, file: TextIO | None = None):
    """A rich console on stdout (or stderr, or ``file``). Not a terminal: no wrapping, no width limit (unless
    $COLUMNS says)."""
    from rich.console import Console

    stream = file if file is not None else sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty and not os.environ.get("COLUMNS"):
        return Console(file=stream, highlight=False, soft_wrap=True, width=PIPE_WIDTH)
    if file is not None:
        return Console(file=file, highlight=False)
    return Console(stderr=stderr, highlight=False)


# Quiet third-party libraries, one log handler -----------------------------------------------------------------

# Third-party messages nobody can act on (each seen in `make demo` or a real render); shown with -v/--verbose.
KNOWN_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    (r"Already found a `peft_config` attribute", UserWarning),  # peft: several adapters on one model, on purpose
    (r"Adapter .* was active which is now deleted", UserWarning),  # peft: delete_adapters per scene, on purpose
    (r".*`torch_dtype` is deprecated", FutureWarning),  # diffusers/transformers rename of torch_dtype → dtype
    (r".*torch_dtype.*deprecated", UserWarning),
    (r".*modules that should be kept in float32", UserWarning),  # diffusers: _keep_in_fp32_modules note
    (r".*is deprecated and will be removed", FutureWarning),  # diffusers/transformers deprecation notices
    (r".*`resume_download` is deprecated", FutureWarning),  # huggingface_hub
    (r"TypedStorage is deprecated", UserWarning),  # torch
    (r".*upsample_bicubic2d.*", UserWarning),
    (r".*The default value of the antialias parameter", UserWarning),  # torchvision
    (r"No pretrained weights loaded", UserWarning),  # open_clip with random (tiny) weights
    (r".*pretrained weights", UserWarning),
    (r".*flash attention", UserWarning),  # torch sdpa: "... was not compiled with flash attention"
)
THIRD_PARTY_LOGGERS = ("transformers", "diffusers", "huggingface_hub", "peft", "open_clip", "accelerate", "timm",
                       "torch", "urllib3", "httpx", "imageio_ffmpeg", "filelock")
_VERBOSITY_ENV = ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY", "HF_HUB_VERBOSITY")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (a test runner swaps it per command)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_HANDLER: logging.Handler | None = None


def setup_output(verbose: bool = False) -> None:
    """One log handler (stderr) shared by dreamrunner's loggers and the libraries it uses that bring none of their
    own (transformers and diffusers keep theirs, at the same level). Known third-party warnings and library logs
    below ERROR are hidden unless ``verbose``. Called by the error boundary before each command."""
    import warnings

    global _HANDLER
    if _HANDLER is None:
        _HANDLER = _StderrHandler()
    _HANDLER.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s"))
    ours = logging.getLogger("dreamrunner")
    if _HANDLER not in ours.handlers:
        ours.addHandler(_HANDLER)
    ours.setLevel(logging.INFO if verbose else logging.WARNING)
    for name in _VERBOSITY_ENV:  # read by those libraries when they first configure their own loggers
        os.environ[name] = "warning" if verbose else "error"
    for name in THIRD_PARTY_LOGGERS:
        lib = logging.getLogger(name)
        lib.setLevel(logging.WARNING if verbose else logging.ERROR)  # their INFO (torch's exit stats) is never useful
        if name not in ("transformers", "diffusers"):  # those two bring their own handler (same level, set here)
            if _HANDLER not in lib.handlers:
                lib.addHandler(_HANDLER)
            lib.propagate = False
    for message, category in KNOWN_WARNINGS:
        warnings.filterwarnings("default" if verbose else "ignore", message=message, category=category)
    root = logging.getLogger()
    if _ROOT_HANDLER not in root.handlers:
        root.addHandler(_ROOT_HANDLER)
    _ROOT_HANDLER.verbose = verbose
    _progress_bars(verbose)
    from .models.loading import forget_warnings, hub_timeouts

    hub_timeouts()  # short huggingface_hub timeouts unless set (an unreachable Hub is probed before any download)
    forget_warnings()  # once-per-command warnings (a 16-bit model on the CPU) are given again by a new command


class _RootHandler(logging.Handler):
    """On the root logger. A library that logs through it (open_clip's ``logging.error(...)`` when a weight download
    fails) would otherwise make Python call ``basicConfig``, which prints ``ERROR:root:…`` on stderr just before
    dreamrunner's own error saying the same; records of other libraries' unconfigured loggers would reach stderr
    through logging's last resort. What arrives here is shown only with -v (dreamrunner's own records, which
    propagate here too, are printed by ``_HANDLER`` already)."""

    verbose = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.verbose and _HANDLER is not None and not record.name.startswith("dreamrunner"):
            _HANDLER.handle(record)


_ROOT_HANDLER = _RootHandler()
_BARS_ENV = "HF_HUB_DISABLE_PROGRESS_BARS"
_BARS_USER = os.environ.get(_BARS_ENV)  # the user's own setting, kept for -v


def _progress_bars(verbose: bool) -> None:
    """The tqdm bars of huggingface_hub (downloads) and transformers ("Loading weights", at every
    ``from_pretrained``) while models load: hidden unless ``verbose`` (the stage's own progress says "load model …
    N s"). huggingface_hub reads the variable once, at import, and transformers copies hub's setting at its own
    import; modules already imported (a batch worker, tests) are switched directly. diffusers' loading bars are
    switched off around each pipeline load (``models.loading.quiet_progress_bars``)."""
    if not verbose:
        os.environ[_BARS_ENV] = "1"
    elif _BARS_USER is None:
        os.environ.pop(_BARS_ENV, None)
    else:
        os.environ[_BARS_ENV] = _BARS_USER
    hub_value = True if not verbose else None if _BARS_USER is None else _BARS_USER.upper() in ("1", "ON", "YES",
                                                                                               "TRUE")
    for name in ("huggingface_hub.constants", "huggingface_hub.utils.tqdm"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, _BARS_ENV):
            setattr(module, _BARS_ENV, hub_value)
    for name in ("transformers.utils.logging", "diffusers.utils.logging"):
        module = sys.modules.get(name)
        if module is not None:
            (module.enable_progress_bar if verbose else module.disable_progress_bar)()


# Streams kept clean while a noisy library runs ------------------------------------------------------------------


@dataclass
class RealStreams:
    """The process's real stdout and stderr while ``third_party_streams`` points the descriptors elsewhere."""

    stdout: TextIO
    stderr: TextIO


@contextlib.contextmanager
def third_party_streams(log_file: Path, verbose: bool = False, loggers: tuple[str, ...] = ()
                        ) -> Iterator[RealStreams]:
    """Point file descriptors 1 and 2, and ``sys.stdout`` and ``sys.stderr``, at ``log_file`` for the block (with
    ``verbose``: at the real stderr); yield the real streams, for what dreamrunner itself shows meanwhile.

    Libraries such as Ray write from C++ threads, from the child processes they start (which inherit the
    descriptors) and from Python threads that print to ``sys.stdout`` (a dead worker's "(raylet) Task … failed"): with
    ``--json`` that used to land on stdout before the summary. ``loggers`` (e.g. ``"ray"``) get a handler on the log
    file (on stderr with ``verbose``) instead of their own. Everything is put back on exit, so the summary printed
    after the block is alone on stdout.
    """
    log_file = Path(log_file)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    log_fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    old = {"stdout": sys.stdout, "stderr": sys.stderr}
    real = {}
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = old[name]
        try:
            on_fd = stream.fileno() == fd
        except (AttributeError, ValueError, OSError):  # a test runner's stream: not on the descriptor
            on_fd = False
        real[name] = open(saved[fd], "w", buffering=1, encoding=getattr(stream, "encoding", None) or "utf-8",
                          errors="backslashreplace", closefd=False) if on_fd else stream
    sink = open(log_fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False)
    target = real["stderr"] if verbose else sink
    handler = logging.StreamHandler(target)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    kept = {}
    for name in loggers:
        lib = logging.getLogger(name)
        kept[name] = (list(lib.handlers), lib.propagate)
        for h in list(lib.handlers):
            lib.removeHandler(h)
        lib.addHandler(handler)
        lib.propagate = False
    try:
        os.dup2(saved[2] if verbose else log_fd, 1)
        if not verbose:
            os.dup2(log_fd, 2)
        sys.stdout = sys.stderr = target
        yield RealStreams(real["stdout"], real["stderr"])
    finally:
        sys.stdout, sys.stderr = old["stdout"], old["stderr"]
        for name, (handlers, propagate) in kept.items():
            lib = logging.getLogger(name)
            lib.removeHandler(handler)
            for h in handlers:
                lib.addHandler(h)
            lib.propagate = propagate
        for stream in (sink, *(real[n] for n in real if real[n] is not old[n])):
            with contextlib.suppress(Exception):
                stream.flush()
                stream.close()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(log_fd)
