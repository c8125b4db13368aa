"""Pipelines loaded once and shared by every item that needs the same model (adapt and render in `dreamrunner run`,
all the items a batch worker serves).

A stage borrows a pipeline and leaves it as it found it (no LoRA adapters loaded, the checkpoint's scheduler, VAE
tiling and slicing off), so what one item did never changes another's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import ModelConfig


def model_key(cfg: ModelConfig) -> tuple:
    """What identifies a loaded pipeline: the same key, the same weights on the same device."""
    return (cfg.id, cfg.revision, cfg.dtype, cfg.device)


class ModelPool:
    def __init__(self) -> None:
        self._pipes: dict[tuple, Any] = {}
        self.loads = 0  # how many pipelines were loaded (tests: one for adapt + render)

    def pipeline(self, cfg: ModelConfig):
        key = model_key(cfg)
        if key not in self._pipes:
            from .loading import load_pipeline

            self._pipes[key] = load_pipeline(cfg)
            self.loads += 1
        return self._pipes[key]

    def holds(self, cfg: ModelConfig) -> bool:
        """Whether this model is loaded already (then borrowing it takes no time, and progress shows no load)."""
        return model_key(cfg) in self._pipes

    def clear(self) -> None:
        self._pipes.clear()
