"""`dreamrunner masks`: not built yet."""

from __future__ import annotations

from ..errors import StageNotImplemented
from .common import JsonOpt, guarded


@guarded
def masks(as_json: JsonOpt = False) -> None:
    """(not built yet)"""
    raise StageNotImplemented("`dreamrunner masks` is not built yet", hint="see the README's roadmap")
