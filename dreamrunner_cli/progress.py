"""Progress on stderr, one helper for every stage: phases, counted bars, elapsed time and ETA.

    with progress.reporter(enabled, "render") as rep:
        with rep.phase("load model", "THUDM/CogVideoX-2b"):  # untimed work: a spinner, then how long it took
            pipe = load_pipeline(...)
        with rep.bar("scene 1/6 s01 denoise", total=50) as bar:  # counted work: k/N, elapsed, ETA
            ...
            bar.advance()

Where it goes: always stderr (stdout is for results and ``--json``); nothing at all when ``enabled`` is False (what
``--quiet`` and ``--json`` pass). How it looks:

- stderr is a terminal: rich's live display, a spinner and the elapsed time per running phase (work without a
  count draws no bar), a bar per count, and one line printed above it when each one ends, so the scroll-back keeps
  a record.
- anything else (a pipe, ``2>log``, CI, Ray workers): plain lines, no ANSI codes, no carriage returns, never
  wrapped. A phase prints one line when it ends (``render: load model tiny … 3.2 s``); a bar prints a line when it
  starts, at most every ``THROTTLE_S`` seconds while it runs (``every=True``: at each step, for a count of a few
  long steps such as scenes), and when it ends (``render: scene 2/6 s02 denoise 25/50 (12.3 s, ETA 12.0 s)``). A
  status line is throttled the same way, but the last one is never lost: it is printed before the next line.
"""

from __future__ import annotations

import time
from typing import Any

THROTTLE_S = 10.0  # not a terminal: a running bar or status line is printed at most this often
_clock = time.monotonic  # tests replace it


def reporter(enabled: bool, stage: str = "") -> Reporter:
    """A reporter for one stage run; ``stage`` prefixes its phase and bar lines (``render: …``)."""
    return Reporter(enabled, stage)


def duration(seconds: float) -> str:
    """3.2 s, 4 min 05 s, 1 h 02 min."""
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _times(elapsed: float, completed: float, total: float | None, done: bool) -> str:
    """(elapsed, ETA …) of a bar; the ETA assumes the rate so far holds, and is left out until there is one."""
    if done or not total or completed <= 0 or elapsed <= 0:
        return f"({duration(elapsed)})"
    eta = (total - completed) * elapsed / completed
    return f"({duration(elapsed)}, ETA {duration(max(eta, 0.0))})"


class Reporter:
    """Phases, bars and plain lines on stderr (see the module docstring). Use it as a context manager, so a
    terminal's live display is stopped however the stage ends."""

    def __init__(self, enabled: bool, stage: str = ""):
        self.enabled = enabled
        self.prefix = f"{stage}: " if stage else ""
        self._console: Any = None
        self._live: Any = None  # rich Progress, started on first use (a run with nothing to do shows nothing)
        self._status: Any = None  # the terminal's status task (``status()``)
        self._status_last = float("-inf")  # not a terminal: when the last status line was printed
        self._status_held: str | None = None  # not a terminal: the last status line, not printed yet (throttled)

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (lines already printed stay); not on a terminal, print a status line the throttle
        held back."""
        if self._status_held is not None:
            self._print(self._status_held)
            self._status_held = None
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._status = None

    # What stages call ---------------------------------------------------------------------------------------------

    def phase(self, name: str, detail: str = "") -> Phase:
        """Untimed work (load model, VAE decode, encode mp4): a context manager, or call ``.end()`` yourself when
        the phase ends somewhere else than where it starts."""
        return Phase(self, f"{name} {detail}".strip())

    def bar(self, description: str, total: float | None, note: str = "", unit: str = "", every: bool = False) -> Bar:
        """Counted work (denoise steps, training steps, motions, MiB read): ``advance()`` / ``update(...)``, then
        ``end()`` or leave the ``with`` block. ``total`` None: a count without ETA (and without a bar). Float
        counts show one decimal; ``unit`` follows the count (``12.5/40.0 MiB``). ``every``: not on a terminal, a
        line at every update instead of at most every THROTTLE_S (a few long steps: render's scenes)."""
        return Bar(self, description, total, note, unit, every)

    def line(self, text: str) -> None:
        """One line as it is (no stage prefix): a result worth keeping in the log, e.g. retrieve's per-motion
        counts. Clears the status line (not on a terminal: prints it first if it was held back by the throttle)."""
        if self._status_held is not None:
            self._print(self._status_held)
        self._clear_status()
        self._print(text)

    def status(self, text: str) -> None:
        """A transient line (no stage prefix), replaced by the next one: in place on a terminal, else printed at
        most every THROTTLE_S seconds (the LLM planner's token counts); one held back by the throttle is printed
        before the next ``line()``, so a log always has the last state."""
        if not self.enabled:
            return
        if self._tty():
            live = self._progress()
            if self._status is None:
                self._status = live.add_task(text, total=None, info="")
            else:
                live.update(self._status, description=text)
        elif _clock() - self._status_last >= THROTTLE_S:
            self._status_last = _clock()
            self._status_held = None
            self._print(text)
        else:
            self._status_held = text

    # Internals ----------------------------------------------------------------------------------------------------

    def _con(self) -> Any:
        if self._console is None:
            from .output import console

            self._console = console(stderr=True)  # not a terminal: lines are never wrapped
        return self._console

    def _tty(self) -> bool:
        # The stream itself, not rich's is_terminal: FORCE_COLOR (set by some CI) must not animate a log file.
        con = self._con()
        try:
            return bool(con.file.isatty()) and not con.is_dumb_terminal
        except (AttributeError, ValueError):
            return False

    def _progress(self) -> Any:
        """The terminal's live display: spinner, what, bar, then our own k/N, note and times."""
        if self._live is None:
            from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn
            from rich.table import Column
            from rich.text import Text

            class Info(ProgressColumn):  # k/N, note, then elapsed and ETA as the plain lines write them
                def render(self, task: Any) -> Text:
                    times = _times(task.elapsed or 0.0, task.completed, task.total, False)
                    return Text(f"{task.fields['info']} {times}".strip(), no_wrap=True)

            class CountBar(BarColumn):
                """A bar only for counted work: rich draws a task without a total as a pulse, which a terminal
                without colours shows as a full bar. A phase has its spinner and elapsed time instead."""

                def render(self, task: Any) -> Any:
                    return super().render(task) if task.total is not None else Text(" " * (self.bar_width or 0))

            # One row per task, never wrapped: a long description is cut (its full text is in the line printed
            # when it ends). transient: the live area goes at the end. stdout is never redirected into it:
            # whatever goes to stdout stays there (results, --json, `> file`).
            what = TextColumn("{task.description}", markup=False,
                              table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"))
            self._live = Progress(SpinnerColumn(), what, CountBar(bar_width=24), Info(), console=self._con(),
                                  transient=True, redirect_stdout=False, expand=True)
            self._live.start()
        return self._live

    def _print(self, text: str) -> None:
        if not self.enabled:
            return
        con = self._live.console if self._live is not None else self._con()
        con.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)

    def _end_task(self, task: Phase | Bar) -> bool:
        """Mark a phase or bar ended and take it off the live display; False if it had ended already."""
        if task._ended:
            return False
        task._ended = True
        if task._task is not None and self._live is not None:
            self._live.remove_task(task._task)
        return True

    def _clear_status(self) -> None:
        if self._status is not None and self._live is not None:
            self._live.remove_task(self._status)
        self._status = None
        self._status_last = float("-inf")
        self._status_held = None


class Phase:
    """One untimed phase; see ``Reporter.phase``. Ending it twice is harmless."""

    def __init__(self, rep: Reporter, label: str):
        self.rep, self.label = rep, label
        self.t0 = _clock()
        self._task = None
        self._ended = not rep.enabled
        if not self._ended and rep._tty():
            self._task = rep._progress().add_task(rep.prefix + label, total=None, info="")

    def __enter__(self) -> Phase:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.end(failed=exc_type is not None)

    def end(self, failed: bool = False) -> None:
        if not self.rep._end_task(self):
            return
        took = duration(_clock() - self.t0)
        self.rep._print(f"{self.rep.prefix}{self.label} … {'stopped after ' + took if failed else took}")


class Bar:
    """One counted piece of work; see ``Reporter.bar``."""

    def __init__(self, rep: Reporter, description: str, total: float | None, note: str = "", unit: str = "",
                 every: bool = False):
        self.rep, self.description, self.total, self.note, self.unit = rep, description, total, note, unit
        self.every = every
        self.completed: float = 0
        self.t0 = _clock()
        self._task = None
        self._ended = not rep.enabled
        self._last = self.t0
        if self._ended:
            return
        if rep._tty():
            self._task = rep._progress().add_task(rep.prefix + description, total=total, info=self._count())
        else:
            self.rep._print(self._line(False))  # a line at the start: the log shows what is running

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.end(failed=exc_type is not None)

    def advance(self, n: float = 1) -> None:
        self.update(completed=self.completed + n)

    def update(self, completed: float | None = None, description: str | None = None,
               note: str | None = None) -> None:
        if completed is not None:
            self.completed = completed
        if description is not None:
            self.description = description
        if note is not None:
            self.note = note
        if self._ended:
            return
        if self._task is not None:
            self.rep._progress().update(self._task, completed=self.completed,
                                        description=self.rep.prefix + self.description, info=self._count())
            return
        now = _clock()
        # Throttled (unless every step is worth a line); the last count is left to end(), which prints it with the
        # total time.
        if (self.every or now - self._last >= THROTTLE_S) and self.completed != self.total:
            self._last = now
            self.rep._print(self._line(False))

    def end(self, failed: bool = False) -> None:
        if not self.rep._end_task(self):
            return
        self.rep._print(self._line(True) + (" stopped" if failed else ""))

    def _count(self) -> str:
        decimals = isinstance(self.total, float) or isinstance(self.completed, float)

        def num(x: float) -> str:
            return f"{x:.1f}" if decimals else str(x)

        count = num(self.completed) + (f"/{num(self.total)}" if self.total is not None else "")
        return " ".join(part for part in (count, self.unit, self.note) if part)

    def _line(self, done: bool) -> str:
        times = _times(_clock() - self.t0, self.completed, self.total, done)
        return f"{self.rep.prefix}{self.description} {self._count()} {times}"
