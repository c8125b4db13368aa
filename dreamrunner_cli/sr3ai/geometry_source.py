"""Geometry without weights: from the known public configs, the tiny model, or a local checkpoint's config.json."""

from __future__ import annotations

from ..models.known_configs import KNOWN_TRANSFORMER_CONFIGS
from .geometry import Geometry

TINY_CONFIG = {"patch_size": 2, "max_text_seq_length": 16, "num_layers": 2, "num_attention_heads": 2,
               "attention_head_dim": 16, "use_rotary_positional_embeddings": False}


def transformer_config(model_id: str) -> dict:
    if model_id in KNOWN_TRANSFORMER_CONFIGS:
        return dict(KNOWN_TRANSFORMER_CONFIGS[model_id])
    if model_id.startswith("tiny"):
        return {**TINY_CONFIG, "use_rotary_positional_embeddings": model_id.startswith("tiny-rope")}
    from ..models.loading import model_geometry_config

    return model_geometry_config(model_id)


def geometry_for(model_id: str, height: int, width: int, num_frames: int, text_len: int | None = None) -> Geometry:
    config = transformer_config(model_id)
    if text_len is not None:
        config["max_text_seq_length"] = text_len
    return Geometry.from_config(config, height, width, num_frames)
