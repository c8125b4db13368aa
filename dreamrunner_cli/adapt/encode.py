"""VAE latents and prompt embeddings of the training data, computed once and memoised across workspaces.

Entries live in diskcache (``$DREAMRUNNER_CACHE/latents`` and ``.../embeddings``) as safetensors bytes, never
pickles. A latent's key covers the file's content hash, the resolved model identity (``identity.model_identity``:
snapshot commit or content digest, block count, dtype), the geometry and the preprocessing version; an
embedding's key covers the caption, the model identity and the text length. Training reads them from memory every
step: no VAE or T5 call inside the training loop.

Decoding (``decode_example``) is separate from encoding so that the stage can decode and check every input of a
run before it loads a model or trains anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..workspace import digest
from .data import Example, Limits, load_clip_pixels, load_image_pixels

if TYPE_CHECKING:
    import torch

PREPROCESS_VERSION = 2  # bump when decoding, sampling or resizing changes (2: ffmpeg resize, EXIF, alpha, 16-bit)


@dataclass
class Encoded:
    """One training example ready for the transformer (CPU tensors, float32)."""

    example: Example
    latents: torch.Tensor  # (1, F, C, h, w), already multiplied by the VAE scaling factor
    prompt_embeds: torch.Tensor  # (1, L, D)


@dataclass(frozen=True)
class Geometry:
    """Pixel size and frame count the examples are decoded to (the render config's)."""

    height: int
    width: int
    num_frames: int
    max_seconds: float = 6.0

    def to_dict(self) -> dict[str, Any]:
        return {"height": self.height, "width": self.width, "num_frames": self.num_frames,
                "max_seconds": self.max_seconds}


def latent_key(ex: Example, geometry: Geometry, model_key: dict[str, Any]) -> str:
    return "clip-latents:" + digest({"file": ex.digest, "kind": ex.kind, "model": model_key,
                                     "geometry": geometry.to_dict(), "preprocess": PREPROCESS_VERSION})


def cached_latents(examples: list[Example], geometry: Geometry, model_key: dict[str, Any]) -> set[str]:
    """Digests of the examples whose latents are already cached for this model and geometry."""
    from ..cache import open_cache

    with open_cache("latents") as cache:
        return {ex.digest for ex in examples if latent_key(ex, geometry, model_key) in cache}


def decode_example(ex: Example, geometry: Geometry, limits: Limits | None = None) -> torch.Tensor:
    """The example's pixels (1, 3, T, H, W) in [-1, 1]; raises InputInvalid naming the file if it is unusable."""
    lim = limits or Limits()
    if ex.kind == "image":
        return load_image_pixels(ex.path, geometry.height, geometry.width, geometry.num_frames, lim.max_image_pixels)
    return load_clip_pixels(ex.path, geometry.height, geometry.width, geometry.num_frames, geometry.max_seconds,
                            lim.min_clip_frames)


def encode_examples(pipe, examples: list[Example], geometry: Geometry, model_key: dict[str, Any],
                    stats: dict[str, int] | None = None, pixels: dict[str, torch.Tensor] | None = None,
                    limits: Limits | None = None, on_example: Callable[[], None] | None = None) -> list[Encoded]:
    """Latents and prompt embeddings of every example, from the cache when present.

    Args:
        pipe: a CogVideoXPipeline (its vae, text_encoder and tokenizer are used on their current device).
        examples: clips or images with captions.
        geometry: pixel size and frames to decode to (images become static videos of ``num_frames``).
        model_key: the resolved model identity (``identity.model_identity``).
        stats: optional counters ``latents_computed`` / ``embeds_computed`` (for tests and logs).
        pixels: already decoded pixels by example digest (decoded again when missing).
        limits: input limits for decoding.
        on_example: called after each example is encoded (or found in the cache), for progress.
    """
    from ..cache import open_cache

    stats = stats if stats is not None else {}
    stats.setdefault("latents_computed", 0)
    stats.setdefault("embeds_computed", 0)
    text_len = int(pipe.transformer.config.max_text_seq_length)
    out = []
    with open_cache("latents") as lat_cache, open_cache("embeddings") as emb_cache:
        for ex in examples:
            lkey = latent_key(ex, geometry, model_key)
            latents = _get(lat_cache, lkey, "latents")
            if latents is None:
                px = (pixels or {}).get(ex.digest)
                latents = vae_latents(pipe, px if px is not None else decode_example(ex, geometry, limits))
                _put(lat_cache, lkey, {"latents": latents})
                stats["latents_computed"] += 1
            ekey = "prompt-embeds:" + digest({"caption": ex.caption, "model": model_key, "text_len": text_len})
            embeds = _get(emb_cache, ekey, "prompt_embeds")
            if embeds is None:
                embeds = prompt_embeddings(pipe, ex.caption, text_len)
                _put(emb_cache, ekey, {"prompt_embeds": embeds})
                stats["embeds_computed"] += 1
            out.append(Encoded(ex, latents, embeds))
            if on_example is not None:
                on_example()
    return out


def vae_latents(pipe, pixels: torch.Tensor) -> torch.Tensor:
    """(1, 3, T, H, W) in [-1, 1] → scaled latents (1, F, C, h, w) float32 on CPU (the posterior's mode)."""
    import torch

    vae = pipe.vae
    param = next(vae.parameters())
    with torch.no_grad():
        dist = vae.encode(pixels.to(device=param.device, dtype=param.dtype)).latent_dist
        latents = dist.mode() * vae.config.scaling_factor  # (1, C, F, h, w)
    return latents.permute(0, 2, 1, 3, 4).float().cpu().contiguous()  # (1, F, C, h, w)


def prompt_embeddings(pipe, caption: str, text_len: int) -> torch.Tensor:
    """T5 embedding of one caption padded to the model's text length → (1, L, D) float32 on CPU."""
    import torch

    device = next(pipe.text_encoder.parameters()).device
    with torch.no_grad():
        embeds, _ = pipe.encode_prompt(caption, do_classifier_free_guidance=False, num_videos_per_prompt=1,
                                       max_sequence_length=text_len, device=device)
    return embeds.float().cpu().contiguous()


def _get(cache, key: str, name: str) -> torch.Tensor | None:
    from safetensors import SafetensorError
    from safetensors.torch import load

    blob = cache.get(key)
    if not isinstance(blob, bytes):
        return None
    try:
        return load(blob)[name]
    except (SafetensorError, KeyError, ValueError):
        return None  # a corrupt entry is a miss (recomputed and overwritten)


def _put(cache, key: str, tensors: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save

    cache.set(key, save(tensors))
