"""Where the LoRAs sit, how they are added to the transformer, switched per path, and saved (METHOD.md B.3, C.3).

Per selected block the targets are the six linears of the attention and the feed-forward:
``attn1.to_q``, ``attn1.to_k``, ``attn1.to_v``, ``attn1.to_out.0``, ``ff.net.0.proj``, ``ff.net.2`` (the AdaLN
``norm1``/``norm2`` linears are left alone). peft gets the *full* module names, so nothing else can match.
Saved files are diffusers' LoRA format (``CogVideoXPipeline.save_lora_weights``), loadable by plain diffusers with
``pipe.load_lora_weights(folder, adapter_name=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

TARGET_LINEARS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ff.net.0.proj", "ff.net.2")
WEIGHTS_NAME = "pytorch_lora_weights.safetensors"


def select_blocks(num_layers: int, parity: Literal["even", "odd"]) -> list[int]:
    """0-based block indices of one parity: even → 0, 2, …; odd → 1, 3, … (METHOD.md B.3)."""
    return list(range(0 if parity == "even" else 1, num_layers, 2))


def other_parity(parity: Literal["even", "odd"]) -> Literal["even", "odd"]:
    return "odd" if parity == "even" else "even"


def target_modules(blocks: list[int]) -> list[str]:
    """Full module names of the LoRA targets in the given blocks."""
    return [f"transformer_blocks.{b}.{lin}" for b in blocks for lin in TARGET_LINEARS]


def add_lora(transformer, name: str, blocks: list[int], rank: int, dropout: float) -> list[torch.nn.Parameter]:
    """Add one LoRA adapter on the given blocks; return its parameters (float32, trainable).

    A is initialised N(0, 1/r) and B to zero (peft's "gaussian" init), alpha = rank so the scale is 1. The trainer
    also freezes the base model itself (``requires_grad_(False)``) rather than rely on peft's injection doing so
    (peft 0.21 freezes non-LoRA parameters when it injects; earlier versions did not).
    """
    import warnings

    from peft import LoraConfig

    config = LoraConfig(r=rank, lora_alpha=rank, lora_dropout=dropout, init_lora_weights="gaussian",
                        target_modules=target_modules(blocks))
    with warnings.catch_warnings():  # several adapters on one model is exactly what we want here
        warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
        transformer.add_adapter(config, adapter_name=name)
    params = adapter_parameters(transformer, name)
    for p in params:
        p.data = p.data.float()  # LoRA weights train in float32 even when the base model is fp16/bf16
        p.requires_grad_(True)
    return params


def adapter_parameters(transformer, name: str) -> list[torch.nn.Parameter]:
    """The parameters of one adapter, in a fixed (module) order."""
    suffix = f".{name}.weight"
    return [p for n, p in transformer.named_parameters() if ".lora_" in n and n.endswith(suffix)]


def activate(transformer, active: list[str], trainable: list[str]) -> None:
    """Make exactly ``active`` adapters compute, and only ``trainable`` ones receive gradients.

    peft's ``set_adapter`` marks every active adapter trainable; a spatial LoRA that is active in the temporal pass
    must stay frozen there, hence the second step.
    """
    transformer.set_adapter(active)
    for name in active:
        grad = name in trainable
        for p in adapter_parameters(transformer, name):
            p.requires_grad_(grad)


def lora_state_dict(transformer, name: str) -> dict[str, torch.Tensor]:
    """One adapter's weights keyed as diffusers expects (``transformer_blocks.0.attn1.to_q.lora_A.weight``)."""
    from peft.utils import get_peft_model_state_dict

    sd = get_peft_model_state_dict(transformer, adapter_name=name)
    return {k: v.detach().float().cpu().clone() for k, v in sd.items()}  # a copy: training goes on after exports


def lora_metadata(rank: int, blocks: list[int]) -> dict:
    """The LoraConfig diffusers stores beside the weights (so loading reproduces rank and alpha exactly).

    ``lora_dropout`` is always 0.0 here, whatever dropout trained the LoRA: the file is for inference, and peft
    builds a ``Dropout(p)`` module *in training mode* for any p > 0 it reads, even when the model is in ``eval()``,
    so a file saying 0.1 makes every render with the same seed differ (STACK.md). The training dropout is recorded
    in adapter.json's ``hyperparameters`` instead.
    """
    return {"r": rank, "lora_alpha": rank, "lora_dropout": 0.0, "target_modules": target_modules(blocks),
            "init_lora_weights": "gaussian", "bias": "none", "use_dora": False}


def save_lora(folder: Path, state_dict: dict[str, torch.Tensor], metadata: dict) -> Path:
    """Write ``folder/pytorch_lora_weights.safetensors`` in diffusers' CogVideoX LoRA format, with its header keys
    sorted (safetensors writes the metadata in a different order in each process), so the same adapter is the same
    bytes on every run."""
    from diffusers import CogVideoXPipeline

    from ..workspace import canonicalize_safetensors

    CogVideoXPipeline.save_lora_weights(str(folder), transformer_lora_layers=state_dict,
                                        transformer_lora_adapter_metadata=metadata, weight_name=WEIGHTS_NAME)
    canonicalize_safetensors(Path(folder) / WEIGHTS_NAME)
    return Path(folder) / WEIGHTS_NAME
