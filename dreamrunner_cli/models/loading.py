"""Loading the video model: a CogVideoX pipeline from a Hugging Face id or a local folder, or the tiny random one.

Offline-aware: with HF_HUB_OFFLINE=1 (or when the hub cannot be reached) only local files are used, and missing
weights raise ModelUnavailable naming the id, where we looked and how to get them. Never a silent fallback to a
different model, dtype or device.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BackendUnavailable, ModelUnavailable

if TYPE_CHECKING:
    from ..config import ModelConfig


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def check_device(device: str) -> None:
    """Raise if the requested device is not usable (never fall back to CPU quietly)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(
            f"model.device is {device!r} but CUDA is not available on this machine",
            hint="run on a GPU machine, or use the tiny preset on CPU (`--preset tiny`); "
            "`--set model.device=cpu` runs a real model on CPU (very slow)",
        )


def load_pipeline(cfg: ModelConfig, place: bool = True):
    """Return a CogVideoXPipeline in cfg.dtype, moved to cfg.device unless ``place`` is False (CPU offload places
    modules itself). Tiny: random weights built in code."""
    check_device(cfg.device)
    if cfg.id in ("tiny", "tiny-rope"):
        from .tiny import build_tiny_pipeline

        pipe = build_tiny_pipeline(rope=cfg.id == "tiny-rope")
    else:
        pipe = _from_pretrained(cfg)
    if pipe.transformer.dtype != torch_dtype(cfg.dtype):  # from_pretrained already loaded it in cfg.dtype
        pipe.to(dtype=torch_dtype(cfg.dtype))
    if place:
        pipe.to(device=cfg.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _from_pretrained(cfg: ModelConfig):
    from diffusers import CogVideoXPipeline

    local = Path(cfg.id).expanduser()
    source = str(local) if local.exists() else cfg.id
    if not local.exists() and (cfg.id.startswith((".", "/", "~")) or cfg.id.count("/") != 1):
        raise ModelUnavailable(f"model folder {cfg.id!r} does not exist",
                               hint="set model.id to a Hugging Face id (e.g. THUDM/CogVideoX-2b) or an existing folder")
    try:
        return CogVideoXPipeline.from_pretrained(
            source, revision=cfg.revision, torch_dtype=torch_dtype(cfg.dtype),
            local_files_only=offline() or local.exists(), use_safetensors=True,
        )
    except (OSError, ValueError, EnvironmentError) as exc:
        where = f"the folder {local}" if local.exists() else (
            "the Hugging Face cache (offline: HF_HUB_OFFLINE=1)" if offline() else "the Hugging Face Hub and cache")
        raise ModelUnavailable(
            f"cannot load CogVideoX weights {cfg.id!r} from {where}: {str(exc).splitlines()[0] if str(exc) else exc}",
            hint=f"download them on a machine with internet (`hf download {cfg.id}`) and copy the cache, or set "
            "model.id to a local folder holding the pipeline (`--set model.id=/path/to/CogVideoX-2b`)",
        ) from None


def model_geometry_config(model_id: str) -> dict:
    """The transformer config of a checkpoint (its config.json only, no weights)."""
    from diffusers import CogVideoXTransformer3DModel

    local = Path(model_id).expanduser()
    try:
        return dict(CogVideoXTransformer3DModel.load_config(
            str(local) if local.exists() else model_id, subfolder="transformer",
            local_files_only=offline() or local.exists()))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot read the transformer config of {model_id!r}: {str(exc).splitlines()[0]}",
                               hint="set model.id to a local pipeline folder, or pass the geometry explicitly")


def model_ids(cfg: ModelConfig) -> dict:
    return {"video_model": cfg.id, "revision": cfg.revision, "dtype": cfg.dtype}
