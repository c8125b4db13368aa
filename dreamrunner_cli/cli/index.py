"""`dreamrunner index build`: not built yet (its own issue)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import StageNotImplemented
from .common import JsonOpt, guarded

app = typer.Typer(help="Build and inspect a video database index for retrieval.", no_args_is_help=True)


@app.command("build")
@guarded
def build(db_dir: Path, as_json: JsonOpt = False) -> None:
    """(not built yet) Index a video database."""
    raise StageNotImplemented("`dreamrunner index build` is not built yet", hint="see the README's roadmap")
