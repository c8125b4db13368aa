"""Render one scene with SR3AI on a stock diffusers CogVideoXPipeline (METHOD.md C, D).

The stock pipeline does the denoising loop; SR3AI reaches it only through its own seams: ``prompt_embeds`` of P
concatenated region prompts, ``negative_prompt_embeds`` of P empty prompts (CFG under the same mask),
``attention_kwargs={"region_mask": ...}`` for the processor, and forward hooks for region-masked LoRA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from ..config import RenderConfig
    from ..schema import Scene
    from .geometry import Geometry
    from .regions import SceneRegions


@dataclass
class SceneRender:
    frames: np.ndarray  # uint8 (T, H, W, 3)
    seed: int
    prompts: list[str]
    adapters: list[str]
    mask_calls: int  # attention calls that used the region mask (0 for 'none')


SCHEDULERS = {"dpm": "CogVideoXDPMScheduler", "ddim": "CogVideoXDDIMScheduler"}


def use_scheduler(pipe, name: str) -> dict:
    """Swap the pipeline's sampler for render.scheduler, built from the checkpoint's own scheduler config (its betas,
    v-prediction, trailing spacing, snr_shift_scale). CogVideoX-2b ships DDIM; the authors sample with DPM.
    Returns what is used, for the render record."""
    import diffusers

    cls = getattr(diffusers, SCHEDULERS[name])
    if type(pipe.scheduler) is not cls:
        pipe.scheduler = cls.from_config(pipe.scheduler.config)
    conf = pipe.scheduler.config
    return {"class": cls.__name__, "prediction_type": conf.prediction_type,
            "snr_shift_scale": conf.get("snr_shift_scale"), "timestep_spacing": conf.timestep_spacing}


def geometry_of(pipe, height: int, width: int, num_frames: int) -> Geometry:
    from .geometry import Geometry

    return Geometry.from_config(dict(pipe.transformer.config), height, width, num_frames)


def encode_prompts(pipe, texts: list[str], text_len: int) -> torch.Tensor:
    """Each prompt encoded separately to text_len tokens, concatenated on the token axis → (1, P·L, D)."""
    import torch

    with torch.no_grad():
        embeds, _ = pipe.encode_prompt(prompt=texts, do_classifier_free_guidance=False, num_videos_per_prompt=1,
                                       max_sequence_length=text_len, device=pipe._execution_device,
                                       dtype=pipe.transformer.dtype)
    return embeds.reshape(1, len(texts) * text_len, embeds.shape[-1])  # (P, L, D) → (1, P·L, D)


def render_scene(
    pipe,
    scene: Scene,
    cfg: RenderConfig,
    seed: int,
    regions: SceneRegions | None = None,
    adapters: list[tuple[str, str]] | None = None,
    on_step: Callable[[], None] | None = None,
    on_latents: Callable[[int, torch.Tensor], None] | None = None,
) -> SceneRender:
    """Render a scene. ``regions`` None (attention 'none') renders one prompt, background + narration.

    ``on_step()`` is called after every denoising step; ``on_latents(step, latents)`` too, with the current latents
    (1, F, C, h, w) (for preview pictures)."""
    import torch

    from .attention import RegionMask, install_region_attention, multi_prompt_positions
    from .lora import RegionLoRA, adapter_name, token_masks

    device = pipe._execution_device
    generator = torch.Generator(device="cpu" if device.type == "mps" else device).manual_seed(seed)
    common = dict(height=cfg.height, width=cfg.width, num_frames=cfg.num_frames, num_inference_steps=cfg.steps,
                  guidance_scale=cfg.guidance_scale, use_dynamic_cfg=False, generator=generator, output_type="np")
    if on_step is not None or on_latents is not None:
        def _callback(pipe_, step, timestep, kwargs):
            if on_step is not None:
                on_step()
            if on_latents is not None:
                on_latents(step + 1, kwargs["latents"])
            return {}

        common["callback_on_step_end_tensor_inputs"] = ["latents"]

        common["callback_on_step_end"] = _callback
    text_len = int(pipe.transformer.config.max_text_seq_length)

    # 1. Stock model, one prompt (the baseline; also the spine's first render).
    if regions is None or cfg.attention == "none":
        prompt = f"{scene.background} {scene.narration}".strip()
        out = pipe(prompt=prompt, negative_prompt="", max_sequence_length=text_len, **common)
        return SceneRender(_to_uint8(out.frames[0]), seed, [prompt], [], 0)

    # 2. Region prompts, each encoded separately; P empty prompts for the unconditional branch.
    texts = [p.text for p in regions.prompts]
    prompt_embeds = encode_prompts(pipe, texts, text_len)  # (1, P·L, D)
    negative_embeds = encode_prompts(pipe, [""] * len(texts), text_len)  # (1, P·L, D)

    # 3. The scene's mask, built once, shared by every block, step and CFG half.
    mask = RegionMask.from_regions(regions, cfg.attention, device)

    # 4. Region-masked LoRA for the adapters this scene uses (already loaded into the transformer).
    kind_scale = {"character": cfg.character_lora_scale, "motion": cfg.motion_lora_scale}
    region_lora = RegionLoRA(pipe.transformer, scales={adapter_name(k, i): kind_scale[k] for k, i in adapters or []})
    region_lora.set_masks(token_masks(regions, adapters or [], device, pipe.transformer.dtype))

    with install_region_attention(pipe.transformer), \
            multi_prompt_positions(pipe.transformer, len(texts) * text_len), region_lora.installed():
        out = pipe(prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds,
                   attention_kwargs={"region_mask": mask}, **common)
    names = list(region_lora.masks)
    return SceneRender(_to_uint8(out.frames[0]), seed, texts, names, mask.calls)


def _to_uint8(frames) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255).round().astype(np.uint8)
    return arr


def preview_frames(pipe, latents: torch.Tensor) -> np.ndarray:
    """A quick look at a render in progress: the VAE decodes the first, middle and last latent frames of the current
    (still noisy) latents (1, F, C, h, w) on their own → uint8 (3, H, W, 3). Not the final video: a way to stop a bad
    render early."""
    import torch

    picks = sorted({0, latents.shape[1] // 2, latents.shape[1] - 1})
    frames = []
    with torch.no_grad():
        for i in picks:
            z = latents[:, i:i + 1].permute(0, 2, 1, 3, 4) / pipe.vae.config.scaling_factor  # (1, C, 1, h, w)
            video = pipe.vae.decode(z.to(pipe.vae.dtype)).sample  # (1, 3, 1, H, W) in [-1, 1]
            frames.append(((video[0, :, 0].float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0))
    return torch.stack(frames).cpu().numpy()
