"""`dreamrunner evaluate`: not built yet (its own issue). Says so plainly and exits with code 7."""

from __future__ import annotations

from ..errors import StageNotImplemented
from .common import JsonOpt, WorkspaceArg, guarded


@guarded
def evaluate(workspace: WorkspaceArg, as_json: JsonOpt = False) -> None:
    """(not built yet) The evaluate stage."""
    raise StageNotImplemented("the evaluate stage is not built yet in this version of dreamrunner",
                              hint="see the README's roadmap")
