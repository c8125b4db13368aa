"""SR3AI region-based 3D attention as a diffusers attention processor (METHOD.md C.2), not a fork of diffusers.

Install with ``install_region_attention(transformer, backend)`` (a context manager that restores the original
processors) and pass the scene's ``RegionMask`` through ``attention_kwargs={"region_mask": mask}``; the processor
names ``region_mask`` explicitly because ``Attention.forward`` drops kwargs the processor does not name.

Backends:
- ``sdpa``: one dense boolean mask (1, 1, S, S) per scene, built once on the device and shared by every block, step
  and CFG half (broadcast over batch and heads). Memory O(S²) once, not once per block.
- ``flex``: ``torch.nn.attention.flex_attention`` with a BlockMask from per-token region bits; fully-allowed tiles
  (video ↔ video) run unmasked, so the cost stays close to dense attention. Compiled on CUDA, eager on CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from ..errors import UsageError

if TYPE_CHECKING:
    import torch

    from .regions import SceneRegions

Backend = Literal["none", "sdpa", "flex"]
_COMPILED_FLEX = None


def _flex_attention(device_type: str):
    """flex_attention, compiled once per process on CUDA (eager elsewhere)."""
    global _COMPILED_FLEX
    from torch.nn.attention.flex_attention import flex_attention

    if device_type != "cuda":
        return flex_attention
    if _COMPILED_FLEX is None:
        import torch

        _COMPILED_FLEX = torch.compile(flex_attention, dynamic=False)
    return _COMPILED_FLEX


class RegionMask:
    """The SR3AI mask of one scene, in the form its backend needs; built lazily once and then reused.

    Args:
        token_bits: int64 (S,) region bit set of every token of ``[T_1 | … | T_P | video]``.
        is_video: bool (S,).
        backend: 'sdpa' or 'flex'.
    """

    def __init__(self, token_bits: torch.Tensor, is_video: torch.Tensor, backend: Backend = "sdpa"):
        if backend not in ("sdpa", "flex"):
            raise UsageError(f"unknown attention backend {backend!r}", hint="choose none, sdpa or flex")
        self.bits = token_bits
        self.is_video = is_video
        self.backend = backend
        self.seq_len = int(token_bits.shape[0])
        self._dense: torch.Tensor | None = None
        self._additive: torch.Tensor | None = None
        # CUDA: hand SDPA a ready additive mask (see ``additive``); CPU: the boolean mask, converted by the kernel.
        self.use_additive = token_bits.device.type == "cuda"
        self._block_mask = None
        self.calls = 0  # how many attention calls used this mask (tests check that it arrived)
        self.builds = 0  # how many times the backend's mask was materialised (once per scene, whatever the blocks)

    @classmethod
    def from_regions(cls, regions: SceneRegions, backend: Backend, device) -> RegionMask:
        from .regions import to_torch_bits

        bits, vid = to_torch_bits(regions, device)
        return cls(bits, vid, backend)

    def dense(self) -> torch.Tensor:
        """bool (1, 1, S, S), True = may attend."""
        if self._dense is None:
            b, v = self.bits, self.is_video
            self.builds += 1
            self._dense = ((v[:, None] & v[None, :]) | ((b[:, None] & b[None, :]) != 0))[None, None]
        return self._dense

    def additive(self, dtype: torch.dtype) -> torch.Tensor:
        """float (1, 1, S, S) in the attention dtype: 0 where allowed, -inf where blocked.

        On CUDA, SDPA's memory-efficient kernel converts a boolean mask to this form, and pads its last dimension to
        a multiple of 16, on every call. We do both once per scene: the storage is (1, 1, S, S_pad) and the mask is a
        view of its first S columns, so the kernel takes it as it is.
        """
        import torch

        if self._additive is None or self._additive.dtype != dtype:
            S = self.seq_len
            pad = -(-S // 16) * 16
            storage = torch.zeros(1, 1, S, pad, dtype=dtype, device=self.bits.device)
            view = storage[..., :S]
            view.masked_fill_(~self.dense(), float("-inf"))
            self._dense = None  # the boolean form is no longer needed
            self._additive = view
        return self._additive

    def mask_mod(self):
        bits, vid = self.bits, self.is_video

        def mod(b, h, q_idx, kv_idx):
            return (vid[q_idx] & vid[kv_idx]) | ((bits[q_idx] & bits[kv_idx]) != 0)

        return mod

    def block_mask(self):
        if self._block_mask is None:
            from torch.nn.attention.flex_attention import create_block_mask

            self.builds += 1
            self._block_mask = create_block_mask(self.mask_mod(), B=None, H=None, Q_LEN=self.seq_len,
                                                 KV_LEN=self.seq_len, device=self.bits.device)
        return self._block_mask

    def attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """(B, heads, S, head_dim) ×3 → (B, heads, S, head_dim)."""
        import torch.nn.functional as F

        self.calls += 1
        if self.backend == "sdpa":
            mask = self.additive(query.dtype) if self.use_additive else self.dense()
            return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0)
        return _flex_attention(query.device.type)(query, key, value, block_mask=self.block_mask())


class RegionMaskedCogVideoXAttnProcessor:
    """CogVideoX joint attention with an optional SR3AI region mask.

    Adapted from diffusers@0.42.1:src/diffusers/models/attention_processor.py (CogVideoXAttnProcessor2_0); the only
    change is the attention call, which takes the scene's ``RegionMask`` when one is given.
    """

    def __call__(
        self,
        attn,
        hidden_states: torch.Tensor,  # (B, N_video, C)
        encoder_hidden_states: torch.Tensor,  # (B, P·L, C)
        attention_mask: torch.Tensor | None = None,
        image_rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None,
        region_mask: RegionMask | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import torch
        import torch.nn.functional as F

        text_seq_length = encoder_hidden_states.size(1)
        hidden_states = torch.cat([encoder_hidden_states, hidden_states], dim=1)  # (B, S, C)
        batch_size, sequence_length, _ = hidden_states.shape
        if region_mask is not None and attention_mask is not None:
            raise UsageError("an attention_mask and a region_mask cannot be combined")
        if region_mask is not None and region_mask.seq_len != sequence_length:
            raise UsageError(f"region mask is for {region_mask.seq_len} tokens but the joint sequence has "
                             f"{sequence_length}; was it built for another geometry or prompt count?")
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])

        query = attn.to_q(hidden_states)
        key = attn.to_k(hidden_states)
        value = attn.to_v(hidden_states)
        head_dim = key.shape[-1] // attn.heads
        query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)  # (B, heads, S, head_dim)
        key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        if image_rotary_emb is not None:  # RoPE on the video part only (5B)
            from diffusers.models.embeddings import apply_rotary_emb

            query[:, :, text_seq_length:] = apply_rotary_emb(query[:, :, text_seq_length:], image_rotary_emb)
            if not attn.is_cross_attention:
                key[:, :, text_seq_length:] = apply_rotary_emb(key[:, :, text_seq_length:], image_rotary_emb)

        if region_mask is None:
            hidden_states = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                                           dropout_p=0.0, is_causal=False)
        else:
            hidden_states = region_mask.attend(query, key, value)

        hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)
        encoder_hidden_states, hidden_states = hidden_states.split(
            [text_seq_length, hidden_states.size(1) - text_seq_length], dim=1)
        return hidden_states, encoder_hidden_states


@contextlib.contextmanager
def install_region_attention(transformer) -> Iterator[None]:
    """Swap every block's processor for the region-masked one; restore the originals afterwards."""
    original = transformer.attn_processors
    transformer.set_attn_processor(RegionMaskedCogVideoXAttnProcessor())
    try:
        yield
    finally:
        transformer.set_attn_processor(original)


@contextlib.contextmanager
def multi_prompt_positions(transformer, text_len_total: int) -> Iterator[None]:
    """Let a sin-cos CogVideoX (2B) take P prompts (METHOD.md F.2).

    Its joint positional embedding is sized for one prompt (``max_text_seq_length`` zeros, then the video positions).
    Text positions are zero, so P prompts need ``P·L`` zeros before the same video positions: we resize the text part
    for the duration of the call and restore it. RoPE models (5B) have no such buffer and need nothing.
    """
    pe = transformer.patch_embed
    uses_buffer = getattr(pe, "use_positional_embeddings", False) and hasattr(pe, "pos_embedding")
    if not uses_buffer or pe.max_text_seq_length == text_len_total:
        yield
        return
    old_len, old_buf = pe.max_text_seq_length, pe.pos_embedding
    try:
        pe.max_text_seq_length = text_len_total
        new = pe._get_positional_embeddings(pe.sample_height, pe.sample_width, pe.sample_frames,
                                            device=old_buf.device)
        pe.pos_embedding = new.to(old_buf.dtype)
        yield
    finally:
        pe.max_text_seq_length = old_len
        pe.pos_embedding = old_buf
