"""The console script's entry point (``dreamrunner``; ``python -m dreamrunner_cli`` calls it too).

It installs the SIGTERM handler before importing the CLI: Typer, rich and the command modules take 0.1-0.3 s to
import, and a SIGTERM in that window used to kill the process with no message (exit -15) or be turned by Typer into
a silent exit 130 (issue 16).
"""

from __future__ import annotations


def main() -> None:
    from .errors import install_sigterm  # stdlib only

    install_sigterm()
    from .cli import main as cli_main

    cli_main()
