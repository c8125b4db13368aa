"""Planners: story → Outline (scenes) → key-frame layouts per scene (METHOD.md A).

Backends are an explicit map of lazy factories (no import-time registries). Each returns an object with the
``Planner`` protocol. ``builtin`` is the offline, deterministic default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..errors import UsageError

if TYPE_CHECKING:
    from ..config import PlanConfig
    from ..schema import Keyframe, Outline, SceneOutline
    from ..story import StoryInput


class Planner(Protocol):
    name: str
    model: str | None  # the LLM model id, or None for the built-in planner

    def outline(self, story: StoryInput) -> Outline:
        """Level 1: the story → characters, motions and 5–8 scenes."""
        ...

    def layout(self, outline: Outline, scene: SceneOutline) -> list[Keyframe]:
        """Level 2: one scene → its key frames of regions (entity, motion, caption, box)."""
        ...


def _builtin(cfg: PlanConfig) -> Planner:
    from .heuristic import HeuristicPlanner

    return HeuristicPlanner(cfg)


def _openai(cfg: PlanConfig) -> Planner:
    from .llm import make_openai_planner

    return make_openai_planner(cfg)


def _transformers(cfg: PlanConfig) -> Planner:
    from .llm import make_transformers_planner

    return make_transformers_planner(cfg)


PLANNERS: dict[str, Callable[[PlanConfig], Planner]] = {
    "builtin": _builtin,
    "openai": _openai,
    "transformers": _transformers,
}


def get_planner(cfg: PlanConfig) -> Planner:
    try:
        factory = PLANNERS[cfg.llm]
    except KeyError:
        raise UsageError(f"unknown planner backend {cfg.llm!r}", hint=f"choose one of: {', '.join(PLANNERS)}") from None
    return factory(cfg)
