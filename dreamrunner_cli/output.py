"""Rich consoles for people: one place that decides wrapping (used by the CLI and by progress.py).

Not a terminal (a pipe, a file, ``2>log``): lines are never wrapped and have no width limit, so grep sees whole
lines; ``$COLUMNS`` still wins when set. A terminal: rich's usual behaviour.
"""

from __future__ import annotations

import os
import sys

PIPE_WIDTH = 4096  # lines are never wrapped when the output is not a terminal (grep, less, files)


def console(stderr: bool = False):
    """A rich console on stdout (or stderr). Not a terminal: no wrapping, no width limit (unless $COLUMNS says)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty and not os.environ.get("COLUMNS"):
        return Console(file=stream, highlight=False, soft_wrap=True, width=PIPE_WIDTH)
    return Console(stderr=stderr, highlight=False)
