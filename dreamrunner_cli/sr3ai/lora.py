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

from ..errors import InputInvalid, UsageError

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


class LoraNotApplied(InputInvalid):
    """An adapter asked for by name changes nothing in the transformer: no LoRA layer holds it (its file's tensors
    matched no module, so loading silently dropped them), or all its weights or scalings are zero. The render stage
    names the file (exit 5); rendering on without it would list a LoRA that was never used."""

    def __init__(self, adapter: str, reason: str):
        super().__init__(f"LoRA adapter {adapter!r} {reason}")
        self.adapter, self.reason = adapter, reason


def check_applies(transformer, name: str) -> int:
    """Raise LoraNotApplied unless adapter ``name`` changes ``transformer``: some LoRA layer holds it with a
    non-zero A, a non-zero B and a non-zero scaling (B·A·s ≠ 0 in at least one layer). Returns the number of
    layers that hold it."""
    layers = [m for m in lora_layers(transformer) if name in m.lora_A and name in m.lora_B]
    if not layers:
        raise LoraNotApplied(name, "is in no layer of the transformer: none of its tensors matched the model's "
                                   "modules")
    if not any(m.scaling.get(name, 0) != 0 and bool(m.lora_A[name].weight.any()) and bool(m.lora_B[name].weight.any())
               for m in layers):
        raise LoraNotApplied(name, f"changes nothing: its weights (or scalings) are zero in all {len(layers)} layers "
                                   "that hold it")
    return len(layers)


def unloaded_tensors(transformer, name: str, file_keys: list[str]) -> tuple[list[str], list[str]]:
    """What of an adapter file did not land in ``transformer`` after diffusers loaded it as adapter ``name``:
    (the file's tensors that no LoRA layer holds, the LoRA layers' tensors the file had none for), both sorted.

    diffusers keeps only the ``transformer.``-prefixed tensors whose module exists and drops the others with a
    log line (a LoRA for a model with more blocks, or renamed modules, loads in part); a layer built from the
    file's ``target_modules`` metadata without a tensor for it keeps its initial weights. Either way the render
    would use part of the LoRA, so both lists must be empty. Names are the file's: ``transformer.<module>.lora_A
    .weight``."""
    from peft.tuners.lora.layer import LoraLayer

    landed = set()
    for module_name, module in transformer.named_modules():
        if not isinstance(module, LoraLayer):
            continue
        for part in ("lora_A", "lora_B"):
            if name not in getattr(module, part):
                continue
            landed.add(f"transformer.{module_name}.{part}.weight")
            if getattr(module, part)[name].bias is not None:
                landed.add(f"transformer.{module_name}.{part}.bias")
    keys = set(file_keys)
    return sorted(keys - landed), sorted(landed - keys)


class RegionLoRA:
    """Forward hooks that add masked LoRA deltas. ``masks`` maps adapter name → float (1, S, 1) token mask;
    ``scales`` adapter name → its scale (``scale`` for adapters not named: character and motion LoRAs have their
    own, render.character_lora_scale and render.motion_lora_scale). Every adapter given a mask must change the
    transformer (``check_applies``, once per adapter), else LoraNotApplied: a LoRA that does not apply is an error,
    never a silently skipped item."""

    def __init__(self, transformer, scale: float = 1.0, scales: dict[str, float] | None = None):
        self.transformer = transformer
        self.scale = scale
        self.scales = dict(scales or {})
        self.masks: dict[str, torch.Tensor] = {}
        self._handles: list = []
        self._checked: set[str] = set()
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
        for name in masks:
            if name not in self._checked:
                check_applies(self.transformer, name)
                self._checked.add(name)
        self.masks = dict(masks)


def token_masks(regions: SceneRegions, adapters: list[tuple[str, str]], device, dtype) -> dict[str, torch.Tensor]:
    """{adapter name: (1, S, 1) 0/1 mask} for the scene's adapters [(kind, id)]."""
    import torch

    out = {}
    for kind, item_id in adapters:
        m = regions.token_mask_for_prompts(prompts_for_adapter(regions, kind, item_id))
        out[adapter_name(kind, item_id)] = torch.from_numpy(m).to(device=device, dtype=dtype)[None, :, None]
    return out
