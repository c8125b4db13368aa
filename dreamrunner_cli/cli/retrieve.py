"""`dreamrunner retrieve`: not built yet (its own issue). Says so plainly and exits with code 7."""

from __future__ import annotations

from ..errors import StageNotImplemented
from .common import JsonOpt, WorkspaceArg, guarded


@guarded
def retrieve(workspace: WorkspaceArg, as_json: JsonOpt = False) -> None:
    """(not built yet) The retrieve stage."""
    raise StageNotImplemented("the retrieve stage is not built yet in this version of dreamrunner",
                              hint="see the README's roadmap")
