"""SR3AI region-based 3D attention as a diffusers attention processor (METHOD.md C.2), not a fork of diffusers.

Install with ``install_region_attention(transformer, backend)`` (a context manager that restores the original
processors) and pass the scene's ``RegionMask`` through ``attention_kwargs={"region_mask": mask}``; the processor
names ``region_mask`` explicitly because ``Attention.forward`` drops kwargs the processor does not name.

Backends:
- ``sdpa``: one dense boolean mask (1, 1, S, S) per scene, built once on the device and shared by every block, step
  and CFG half (broadcast over batch and heads). Memory O(S²) once, not once per block.
- ``flex``: ``torch.nn.attention.flex_attention`` with a BlockMask from per-token region bits; fully-allowed tiles
  (video ↔ video) run unmasked, so the cost stays close to dense attention. Compiled on CUDA, eager on CPU.

Memory: no mask is ever built through an S×S intermediate wider than the mask itself. Rows are computed in chunks
of about ``CHUNK_ELEMENTS`` entries (the int64 bit test of one chunk is about 8 MB at the 2B geometry, against a
0.3–0.7 GB mask), written straight into the final boolean / additive tensor; the flex BlockMask is summarised
per 128×128 tile from the same chunks, so it never holds a dense S×S tensor at all.
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
CHUNK_ELEMENTS = 1 << 20  # entries of one row chunk of the mask computation (1 Mi → ≤ 12 MB of temporaries)
FLEX_BLOCK = 128  # FlexAttention's default tile


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

    def allowed_rows(self, start: int, stop: int) -> torch.Tensor:
        """bool (stop - start, S): the C.2 rule for one chunk of query rows."""
        b, v = self.bits, self.is_video
        return (v[start:stop, None] & v[None, :]) | ((b[start:stop, None] & b[None, :]) != 0)

    def _row_chunks(self, multiple: int = 1) -> Iterator[tuple[int, int]]:
        rows = max(multiple, CHUNK_ELEMENTS // max(self.seq_len, 1) // multiple * multiple)
        for start in range(0, self.seq_len, rows):
            yield start, min(start + rows, self.seq_len)

    def dense(self) -> torch.Tensor:
        """bool (1, 1, S, S), True = may attend; filled row chunk by row chunk."""
        import torch

        if self._dense is None:
            self.builds += 1
            S = self.seq_len
            out = torch.empty(S, S, dtype=torch.bool, device=self.bits.device)
            for start, stop in self._row_chunks():
                out[start:stop] = self.allowed_rows(start, stop)
            self._dense = out[None, None]
        return self._dense

    def additive(self, dtype: torch.dtype) -> torch.Tensor:
        """float (1, 1, S, S) in the attention dtype: 0 where allowed, -inf where blocked.

        On CUDA, SDPA's memory-efficient kernel converts a boolean mask to this form, and pads its last dimension to
        a multiple of 16, on every call. We do both once per scene: the storage is (1, 1, S, S_pad) and the mask is a
        view of its first S columns, so the kernel takes it as it is. Filled row chunk by row chunk, never through
        the boolean form.
        """
        import torch

        if self._additive is None or self._additive.dtype != dtype:
            self._additive = None  # free a mask of another dtype before building this one
            self.builds += 1
            S = self.seq_len
            pad = -(-S // 16) * 16
            storage = torch.zeros(1, 1, S, pad, dtype=dtype, device=self.bits.device)
            view = storage[..., :S]
            for start, stop in self._row_chunks():
                view[0, 0, start:stop].masked_fill_(~self.allowed_rows(start, stop), float("-inf"))
            self._additive = view
        return self._additive

    def mask_mod(self):
        bits, vid = self.bits, self.is_video

        def mod(b, h, q_idx, kv_idx):
            return (vid[q_idx] & vid[kv_idx]) | ((bits[q_idx] & bits[kv_idx]) != 0)

        return mod

    def block_mask(self):
        """The FlexAttention BlockMask, from per-tile summaries of row chunks (no dense S×S evaluation).

        A tile where every (q, k) is allowed is 'full' (runs unmasked); one where some are is 'partial' (the kernel
        applies ``mask_mod``); tiles cut by the end of the sequence are always partial, so padding never counts as
        allowed. Built once per scene, shared by every block and step.
        """
        if self._block_mask is None:
            import torch
            from torch.nn.attention.flex_attention import BlockMask

            self.builds += 1
            S, T = self.seq_len, FLEX_BLOCK
            n = -(-S // T)
            full = torch.zeros(n, n, dtype=torch.bool, device=self.bits.device)
            partial = torch.zeros(n, n, dtype=torch.bool, device=self.bits.device)
            for start, stop in self._row_chunks(multiple=T):
                rows = torch.zeros(-(-(stop - start) // T) * T, n * T, dtype=torch.bool, device=self.bits.device)
                rows[: stop - start, :S] = self.allowed_rows(start, stop)
                any_ = rows.view(-1, T, n, T).any(3).any(1)  # (q tiles of this chunk, n kv tiles)
                all_ = rows.view(-1, T, n, T).all(3).all(1)  # padding stays False: a cut tile is never full
                q0 = start // T
                full[q0:q0 + any_.shape[0]] = all_
                partial[q0:q0 + any_.shape[0]] = any_ & ~all_
            self._block_mask = BlockMask.from_kv_blocks(
                *_kv_blocks(partial), *_kv_blocks(full), BLOCK_SIZE=T, mask_mod=self.mask_mod(), seq_lengths=(S, S))
        return self._block_mask

    def attend(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """(B, heads, S, head_dim) ×3 → (B, heads, S, head_dim)."""
        import torch.nn.functional as F

        self.calls += 1
        if self.backend == "sdpa":
            mask = self.additive(query.dtype) if self.use_additive else self.dense()
            return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0)
        return _flex_attention(query.device.type)(query, key, value, block_mask=self.block_mask())


def _kv_blocks(tiles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """bool (n_q, n_kv) tile selection → (num_blocks int32 (1, 1, n_q), indices int32 (1, 1, n_q, n_kv)), the
    selected kv tiles of each row first, in order."""
    import torch

    num = tiles.sum(1).to(torch.int32)
    order = torch.argsort((~tiles).to(torch.int8), dim=1, stable=True).to(torch.int32)
    return num[None, None], order[None, None]


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
