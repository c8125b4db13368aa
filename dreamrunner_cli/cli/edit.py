"""`dreamrunner edit`: a local web editor for a workspace's plan.json (docs/editor.md)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from .common import VerboseOpt, WorkspaceArg, console, guarded, open_workspace


@guarded
def edit(
    workspace: WorkspaceArg,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (default: a free one).")] = 0,
    no_open: Annotated[bool, typer.Option("--no-open", help="Print the URL only; do not open a browser.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Edit plan.json in your browser: move and resize boxes, edit captions, see the SR3AI masks, then save.

    The URL (127.0.0.1 only, with a random token) is printed on stdout. Saving validates the plan like every
    command, writes plan.json atomically, redraws storyboard.png and shows what `dreamrunner render` would re-render.
    The workspace is locked only while it saves, so stages can run while the page is open. Ctrl-C stops the editor;
    edits not saved in the page are not written.

    Examples:

        dreamrunner edit ws/teddy

        dreamrunner edit ws/teddy --port 8765 --no-open
    """
    from ..editor.server import EditorServer
    from ..editor.session import EditorSession
    from ..errors import UsageError

    ws, _cfg = open_workspace(workspace, None, None, save=False)  # a bad config.json: the usual error (exit 5)
    ws.require_plan()  # no plan.json: exit 3, naming `dreamrunner plan`
    session = EditorSession(ws)
    session.read()  # a plan.json that does not validate: exit 5 with every error, before any server starts
    try:
        server = EditorServer(session, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                         hint="pick another --port, or leave it out for a free one") from None
    err = console(stderr=True)
    try:
        print(server.url, flush=True)
        err.print(f"edit: {ws.rel(ws.plan)} of {ws.root} at {server.url} (Ctrl-C stops; edits not saved in the page "
                  "are not written)", soft_wrap=True, markup=False, highlight=False)
        if not no_open and _can_open_browser():
            import webbrowser

            if not webbrowser.open(server.url):
                err.print("edit: no browser could be opened: open the URL above", markup=False)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (errors.TerminateSignal): a normal way to stop, exit 0
        pass
    finally:
        server.server_close()  # waits for a request in flight (a save finishes whole)
    err.print("edit: stopped", markup=False)


def _can_open_browser() -> bool:
    """Only from a terminal, and (on Linux and the BSDs) only with a display: without one, ``webbrowser`` would
    start a text browser (lynx, w3m) in this very terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
