"""Region-masked LoRA (METHOD.md C.3 with F.4's fixes): W·x + Σ_j s · m_j ⊙ B_j A_j x, with 0/1 token masks.

peft has no per-token adapter scaling, so (STACK.md, measured exact): adapters are loaded through diffusers'
``load_lora_weights(..., adapter_name=...)`` and kept loaded but disabled in peft; a forward hook on each LoRA layer
adds each scene adapter's delta multiplied by its (1, S, 1) token mask. m_j covers the text tokens of the prompts
bound to adapter j (by the plan's entity / motion ids, never caption substrings) and the video tokens of their
regions, OR-ed and clamped to {0, 1}. Mask 1 everywhere reproduces the plain adapter; mask 0 the base model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    import torch

    from .regions import SceneRegions


def adapter_name(kind: str, item_id: str) -> str:
    """peft adapter name for a motion or character LoRA ('motion-walking', 'character-teddy')."""
    return f"{kind}-{item_id}"


def prompts_for_adapter(regions: SceneRegions, kind: str, item_id: str) -> list[int]:
    """Indices of the region prompts an adapter is bound to, by id."""
    if kind == "character":
        return [i for i, p in enumerate(regions.prompts) if item_id in p.entities]
    if kind == "motion":
        return [i for i, p in enumerate(regions.prompts) if item_id in p.motions]
    raise UsageError(f"unknown adapter kind {kind!r}")


def lora_layers(module) -> list:
    from peft.tuners.lora.layer import LoraLayer

    return [m for m in module.modules() if isinstance(m, LoraLayer)]


class RegionLoRA:
    """Forward hooks that add masked LoRA deltas. ``masks`` maps adapter name → float (1, S, 1) token mask;
    ``scales`` adapter name → its scale (``scale`` for adapters not named: character and motion LoRAs have their
    own, render.character_lora_scale and render.motion_lora_scale)."""

    def __init__(self, transformer, scale: float = 1.0, scales: dict[str, float] | None = None):
        self.transformer = transformer
        self.scale = scale
        self.scales = dict(scales or {})
        self.masks: dict[str, torch.Tensor] = {}
        self._handles: list = []
        self.applied = 0  # number of (layer, adapter) deltas added, for tests

    def _hook(self, module, inputs, output):
        if not self.masks:
            return output
        x = inputs[0]  # (B, S, C_in): the joint [text ; video] sequence for attn1 and ff linears
        for name, mask in self.masks.items():
            if name not in module.lora_A:
                continue
            if mask.shape[1] != x.shape[1]:
                raise UsageError(f"LoRA token mask has {mask.shape[1]} tokens but the layer sees {x.shape[1]}")
            lora_a, lora_b = module.lora_A[name], module.lora_B[name]
            # No dropout here: this is inference, whatever lora_dropout the file's metadata asked peft to build.
            delta = lora_b(lora_a(x.to(lora_a.weight.dtype))) * module.scaling[name]
            scale = self.scales.get(name, self.scale)
            output = output + (scale * mask.to(output.dtype)) * delta.to(output.dtype)
            self.applied += 1
        return output

    @contextlib.contextmanager
    def installed(self) -> Iterator[RegionLoRA]:
        """Disable peft's own (unmasked) application and hook every LoRA layer; undo both afterwards."""
        layers = lora_layers(self.transformer)
        for layer in layers:
            layer.enable_adapters(False)
            self._handles.append(layer.register_forward_hook(self._hook))
        try:
            yield self
        finally:
            for h in self._handles:
                h.remove()
            self._handles.clear()
            for layer in layers:
                layer.enable_adapters(True)

    def set_masks(self, masks: dict[str, torch.Tensor]) -> None:
        self.masks = dict(masks)


def token_masks(regions: SceneRegions, adapters: list[tuple[str, str]], device, dtype) -> dict[str, torch.Tensor]:
    """{adapter name: (1, S, 1) 0/1 mask} for the scene's adapters [(kind, id)]."""
    import torch

    out = {}
    for kind, item_id in adapters:
        m = regions.token_mask_for_prompts(prompts_for_adapter(regions, kind, item_id))
        out[adapter_name(kind, item_id)] = torch.from_numpy(m).to(device=device, dtype=dtype)[None, :, None]
    return out
