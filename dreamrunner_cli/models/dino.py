"""DINOv2 image encoder for the evaluation metrics (character consistency, transition smoothness; METHOD.md E).

``load_dino(name, device)`` returns a :class:`DinoEncoder` whose ``encode_images`` gives one L2-normalised CLS
embedding per image (the ``pooler_output`` of ``transformers.Dinov2Model``: the CLS token after the final layer norm).

- ``name`` is a Hugging Face id (default ``facebook/dinov2-base``; the paper's "DINOv2-B16" is most likely the base
  model, whose patch size is 14) or a local folder with ``config.json``, ``model.safetensors`` and
  ``preprocessor_config.json``. With ``HF_HUB_OFFLINE=1`` only the local cache is consulted. Missing weights raise
  :class:`ModelUnavailable` naming the model and how to get it; there is never a silent fallback to random weights.
- ``name == "tiny"`` builds a random 2-layer DINOv2 from a config in code (tests and the ``tiny`` preset). Its
  embeddings are deterministic but meaningless.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ModelUnavailable

TINY_DINO = "tiny"
TINY_DINO_ID = "tiny-random-dinov2"
# ImageNet statistics, the normalisation DINOv2 was trained with (also in its preprocessor_config.json).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def hub_offline() -> bool:
    """True when the Hugging Face hub must not be contacted (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    return any(os.environ.get(k, "").strip().lower() in {"1", "true", "yes", "on"}
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


class DinoEncoder:
    """A frozen DINOv2 backbone plus its preprocessing.

    Attributes:
        model_id: the name it was loaded from (HF id, local path or ``tiny-random-dinov2``).
        device: torch device string.
    """

    def __init__(self, model: Any, preprocess: Callable[[list[np.ndarray]], Any], model_id: str, device: str,
                 batch_size: int = 16):
        self.model = model.eval().requires_grad_(False).to(device)
        self.preprocess = preprocess
        self.model_id = model_id
        self.device = device
        self.batch_size = batch_size

    def encode_images(self, images: Sequence[np.ndarray]):
        """Images (uint8 HWC RGB, any size) → L2-normalised CLS embeddings, a float32 CPU tensor (N, D)."""
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                batch = [np.ascontiguousarray(im[..., :3]) for im in images[i:i + self.batch_size]]
                pixels = self.preprocess(batch).to(self.device)  # (B, 3, S, S)
                cls = self.model(pixel_values=pixels).pooler_output  # (B, D): CLS after the final layer norm
                out.append(torch.nn.functional.normalize(cls.float(), dim=-1).cpu())
        if not out:
            return torch.zeros(0, self.model.config.hidden_size)
        return torch.cat(out)  # (N, D)


def _resize_normalise(size: int) -> Callable[[list[np.ndarray]], Any]:
    """Square bicubic resize + ImageNet normalisation (the tiny model's preprocessing)."""

    def run(images: list[np.ndarray]):
        import torch
        from PIL import Image

        arrs = [np.asarray(Image.fromarray(im).convert("RGB").resize((size, size), Image.BICUBIC), np.float32)
                for im in images]
        x = torch.from_numpy(np.stack(arrs) / 255.0).permute(0, 3, 1, 2)  # (B, 3, size, size)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return ((x - mean) / std).float()

    return run


def build_tiny_dino(seed: int = 0):
    """A random tiny ``Dinov2Model`` (2 layers, width 32, 32×32 input, patch 8), deterministic for a seed."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2, image_size=32,
                          patch_size=8, layerscale_value=1.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Dinov2Model(config)
    return model


def load_dino(name: str, device: str = "cpu") -> DinoEncoder:
    """Load a DINOv2 encoder by Hugging Face id or local folder, or build the random tiny one.

    Args:
        name: ``facebook/dinov2-base`` (default in the config), another DINOv2 id, a local folder, or ``tiny``.
        device: torch device, e.g. ``cuda`` or ``cpu``.

    Raises:
        ModelUnavailable: the weights are not in the local cache / folder (or cannot be downloaded).
    """
    if name == TINY_DINO:
        model = build_tiny_dino()
        return DinoEncoder(model, _resize_normalise(model.config.image_size), TINY_DINO_ID, device)

    from transformers import AutoImageProcessor, Dinov2Model

    offline = hub_offline()
    local = os.path.isdir(os.path.expanduser(name))
    path = os.path.expanduser(name) if local else name
    try:
        # safetensors only: never unpickle weights (pytorch_model.bin) from a cache or a folder.
        model = Dinov2Model.from_pretrained(path, local_files_only=offline or local, use_safetensors=True)
        processor = AutoImageProcessor.from_pretrained(path, local_files_only=offline or local)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        where = f"the folder {path}" if local else ("the local Hugging Face cache (HF_HUB_OFFLINE=1)" if offline
                                                     else "the Hugging Face hub")
        raise ModelUnavailable(
            f"DINOv2 model {name!r} could not be loaded from {where}: {first}",
            hint=(f"download it where there is internet (`hf download {name}`) and copy the cache, or set "
                  "evaluate.dino_model to a local folder with config.json, model.safetensors and "
                  "preprocessor_config.json; for a test run use --preset tiny (random weights)") if not local else
                 "the folder needs config.json, model.safetensors and preprocessor_config.json of a DINOv2 model",
        ) from None

    def preprocess(images: list[np.ndarray]):
        return processor(images=images, return_tensors="pt")["pixel_values"].float()

    return DinoEncoder(model, preprocess, name, device)
