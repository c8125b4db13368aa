"""Geometry without weights: from the known public configs, the tiny model, or a local checkpoint's config.json."""

from __future__ import annotations

from ..models.known_configs import KNOWN_TRANSFORMER_CONFIGS
from .geometry import Geometry


def transformer_config(model_id: str) -> dict:
    if model_id in KNOWN_TRANSFORMER_CONFIGS:
        return dict(KNOWN_TRANSFORMER_CONFIGS[model_id])
    if model_id in ("tiny", "tiny-rope"):
        from ..models.tiny import tiny_transformer_config

        return tiny_transformer_config(rope=model_id == "tiny-rope")
    from ..models.loading import model_geometry_config

    return model_geometry_config(model_id)


def geometry_for(model_id: str, height: int, width: int, num_frames: int, text_len: int | None = None) -> Geometry:
    config = transformer_config(model_id)
    if text_len is not None:
        config["max_text_seq_length"] = text_len
    return Geometry.from_config(config, height, width, num_frames)
