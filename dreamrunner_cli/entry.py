"""The console script's entry point (``dreamrunner``; ``python -m dreamrunner_cli`` calls it too).

It installs the SIGTERM and SIGINT handlers before importing the CLI: Typer, rich and the command modules take
0.1-0.3 s to import, and a SIGTERM or Ctrl-C in that window used to kill the process with no message (exit -15 or
-2), or be turned by Typer into a silent exit 130 (issue 16).
"""

from __future__ import annotations


def main() -> None:
    from .errors import install_signals  # stdlib only

    install_signals()
    from .cli import main as cli_main

    cli_main()
