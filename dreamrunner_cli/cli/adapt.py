"""`dreamrunner adapt`: not built yet (its own issue). Says so plainly and exits with code 7."""

from __future__ import annotations

from ..errors import StageNotImplemented
from .common import JsonOpt, WorkspaceArg, guarded


@guarded
def adapt(workspace: WorkspaceArg, as_json: JsonOpt = False) -> None:
    """(not built yet) The adapt stage."""
    raise StageNotImplemented("the adapt stage is not built yet in this version of dreamrunner",
                              hint="see the README's roadmap")
