"""Tiny random CogVideoX pipeline built in code (the ``tiny`` preset): CPU, seconds, no downloads.

Its weights are random, so its videos are noise. It exists to prove plumbing and math: shapes, masks, equivalences,
resumability, the whole pipeline end to end. Geometry (STACK.md): 64×64 pixels → 8×8 latents → 4×4 = 16 tokens per
latent frame; 9 frames → 3 latent frames; 16 text tokens per prompt; 2 blocks of 2 heads × 16.
"""

from __future__ import annotations

TINY_TEXT_LEN = 16
TINY_VOCAB_WORDS = (
    "a an the is are of in on at to and with his her its their from into near by over under through up down left "
    "right one two three day morning evening night garden park room kitchen bedroom forest beach sea river street "
    "house window door table bed chair tree trees flowers flower rock grass sky sun moon road path field hill "
    "mountain lake city school shop cafe library boat water sand snow rain wind light"
).split()


def tiny_transformer_config(rope: bool = False, num_layers: int = 2) -> dict:
    """The tiny CogVideoXTransformer3DModel config (also used for geometry without building the model)."""
    return dict(num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4, time_embed_dim=8,
                text_embed_dim=32, num_layers=num_layers, sample_width=8, sample_height=8, sample_frames=9,
                patch_size=2, temporal_compression_ratio=4, max_text_seq_length=TINY_TEXT_LEN,
                use_rotary_positional_embeddings=rope)


def _tokenizer(vocab_words: list[str] | None = None):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + sorted(set((vocab_words or []) + list(TINY_VOCAB_WORDS)))
    vocab = {w: i for i, w in enumerate(words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=TINY_TEXT_LEN)


def build_tiny_components(rope: bool = False, seed: int = 0, num_layers: int = 2) -> dict:
    """The five pipeline components, deterministic for a given seed."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    from .known_configs import KNOWN_SCHEDULER_CONFIGS

    tokenizer = _tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = CogVideoXTransformer3DModel(**tiny_transformer_config(rope, num_layers))
        vae = AutoencoderKLCogVideoX(
            down_block_types=("CogVideoXDownBlock3D",) * 4, up_block_types=("CogVideoXUpBlock3D",) * 4,
            block_out_channels=(8, 8, 8, 8), latent_channels=4, layers_per_block=1, norm_num_groups=2,
            temporal_compression_ratio=4,
        )
        text_encoder = T5EncoderModel(T5Config(
            vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        ))
    # The scheduler is built from the real CogVideoX-2B scheduler config (v-prediction, trailing spacing, zero-SNR
    # rescale, snr_shift_scale 3.0), so tests sample exactly as the paper presets do once render.scheduler is applied.
    scheduler = CogVideoXDDIMScheduler.from_config(KNOWN_SCHEDULER_CONFIGS["THUDM/CogVideoX-2b"])
    return {"tokenizer": tokenizer, "text_encoder": text_encoder.eval(), "vae": vae.eval(),
            "transformer": transformer.eval(), "scheduler": scheduler}


def build_tiny_pipeline(rope: bool = False, seed: int = 0, num_layers: int = 2):
    from diffusers import CogVideoXPipeline

    return CogVideoXPipeline(**build_tiny_components(rope=rope, seed=seed, num_layers=num_layers))
