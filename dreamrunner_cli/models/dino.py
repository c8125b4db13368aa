"""DINO image encoders for the evaluation metrics (character consistency, transition smoothness; METHOD.md E).

``load_dino(name, device, arch)`` returns a :class:`DinoEncoder` whose ``encode_images`` gives one L2-normalised CLS
embedding per image: the CLS token after the final layer norm (``last_hidden_state[:, 0]``).

- ``arch="dinov2"`` (default): ``transformers.Dinov2Model``, e.g. ``facebook/dinov2-base``. The paper names
  "DINOv2-B16"; DINOv2 base has patch 14, so the paper's model is most likely dinov2-base (the default).
- ``arch="dino"``: DINO v1, a plain ViT (``transformers.ViTModel``, no pooler), e.g. ``facebook/dino-vitb16`` — what
  the "B16" in the paper's name would suggest. Its CLS token after the final layer norm is the DINO v1 feature.
- ``name`` is a Hugging Face id or a local folder with ``config.json``, ``model.safetensors`` and
  ``preprocessor_config.json``. With ``HF_HUB_OFFLINE=1`` only the local cache is consulted. Loading is checked: the
  checkpoint's ``model_type`` must be the architecture's (``dinov2`` / ``vit``) and every weight must load (no
  missing, unexpected or re-shaped keys, except ViT's unused pooler). A DINO v1 checkpoint loaded as DINOv2 (or the
  reverse) raises :class:`ModelUnavailable` naming the missing keys; so do missing weights. There is never a silent
  fallback to random weights.
- ``name == "tiny"`` builds a random 2-layer model of the chosen architecture from a config in code (tests and the
  ``tiny`` preset). Its embeddings are deterministic but meaningless.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ModelUnavailable
from .checked import check_loading, checkpoint_model_type, hub_offline  # hub_offline stays importable from here

TINY_DINO = "tiny"
TINY_DINO_ID = "tiny-random-dinov2"
ARCHES = {"dinov2": "dinov2", "dino": "vit"}  # arch → the checkpoint's model_type
# ImageNet statistics, the normalisation DINOv2 was trained with (also in its preprocessor_config.json).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DinoEncoder:
    """A frozen DINO / DINOv2 backbone plus its preprocessing.

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
                cls = self.model(pixel_values=pixels).last_hidden_state[:, 0]  # (B, D): CLS after the final norm
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


def build_tiny_dino(seed: int = 0, arch: str = "dinov2"):
    """A random tiny ``Dinov2Model`` or DINO v1 ``ViTModel`` (2 layers, width 32, 32×32 input, patch 8)."""
    import torch
    from transformers import Dinov2Config, Dinov2Model, ViTConfig, ViTModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if arch == "dino":
            return ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=64, image_size=32, patch_size=8), add_pooling_layer=False)
        config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2,
                              image_size=32, patch_size=8, layerscale_value=1.0)
        return Dinov2Model(config)


def load_dino(name: str, device: str = "cpu", arch: str = "dinov2") -> DinoEncoder:
    """Load a DINOv2 or DINO v1 encoder by Hugging Face id or local folder, or build the random tiny one.

    Args:
        name: ``facebook/dinov2-base`` (default in the config), ``facebook/dino-vitb16`` (with ``arch="dino"``),
            another id, a local folder, or ``tiny``.
        device: torch device, e.g. ``cuda`` or ``cpu``.
        arch: ``dinov2`` (``Dinov2Model``) or ``dino`` (DINO v1, ``ViTModel``); ``evaluate.dino_arch``.

    Raises:
        ModelUnavailable: the weights are not in the local cache / folder (or cannot be downloaded), or they are
            another architecture's / do not fully load (the message names the missing keys).
        UsageError: unknown ``arch``.
    """
    if arch not in ARCHES:
        from ..errors import UsageError

        raise UsageError(f"unknown DINO architecture {arch!r}", hint=f"choose one of: {', '.join(ARCHES)}")
    if name == TINY_DINO:
        model = build_tiny_dino(arch=arch)
        return DinoEncoder(model, _resize_normalise(model.config.image_size),
                           TINY_DINO_ID if arch == "dinov2" else "tiny-random-dino-v1", device)

    from transformers import AutoImageProcessor, Dinov2Model, ViTModel

    local = os.path.isdir(os.path.expanduser(name))
    offline = not local and hub_offline()
    path = os.path.expanduser(name) if local else name
    found_type = checkpoint_model_type(path)
    kwargs: dict[str, Any] = {"add_pooling_layer": False} if arch == "dino" else {}
    try:
        # safetensors only: never unpickle weights (pytorch_model.bin) from a cache or a folder.
        model, info = (ViTModel if arch == "dino" else Dinov2Model).from_pretrained(
            path, local_files_only=offline or local, use_safetensors=True, output_loading_info=True,
            ignore_mismatched_sizes=True, **kwargs)  # mismatches are reported in info and refused below
        processor = AutoImageProcessor.from_pretrained(path, local_files_only=offline or local)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        where = f"the folder {path}" if local else ("the local Hugging Face cache (HF_HUB_OFFLINE=1)" if offline
                                                     else "the Hugging Face hub")
        raise ModelUnavailable(
            f"DINO model {name!r} could not be loaded from {where}: {first}",
            hint=(f"download it where there is internet (`hf download {name}`) and copy the cache, or set "
                  "evaluate.dino_model to a local folder with config.json, model.safetensors and "
                  "preprocessor_config.json; for a test run use --preset tiny (random weights)") if not local else
                 "the folder needs config.json, model.safetensors and preprocessor_config.json of a DINO model",
        ) from None
    other = next((a for a, t in ARCHES.items() if t == found_type and a != arch), None)
    check_loading("DINOv2 model" if arch == "dinov2" else "DINO v1 (ViT) model", name, expected_type=ARCHES[arch],
                  found_type=found_type, info=info, allow_unexpected=("pooler.",) if arch == "dino" else (),
                  hint=(f"this looks like a {other} checkpoint: set evaluate.dino_arch={other}" if other else
                        "evaluate.dino_model must be a checkpoint of evaluate.dino_arch (dinov2: facebook/dinov2-base;"
                        " dino: facebook/dino-vitb16)"))

    def preprocess(images: list[np.ndarray]):
        return processor(images=images, return_tensors="pt")["pixel_values"].float()

    return DinoEncoder(model, preprocess, name, device)
