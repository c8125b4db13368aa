"""Replicas of the published CogVideoX checkpoints: random weights, the published folder layout.

``build_cogvideox_replica(dest, "THUDM/CogVideoX-2b")`` writes a folder that ``CogVideoXPipeline.from_pretrained``
reads exactly as it reads the real one: the same file names, formats, dtypes and sharding, so what the loader checks
and the packages it needs are the same. Only the widths and depths are small (``TINY_SIZES``); pass ``sizes={}`` for
the published sizes (random weights at full size, for a GPU run), or override single keys of a component.

The published layouts (huggingface.co/THUDM/CogVideoX-2b and -5b, main, read 2026-12):

- ``model_index.json`` names ``T5Tokenizer``, ``T5EncoderModel``, ``CogVideoXTransformer3DModel``,
  ``AutoencoderKLCogVideoX`` and ``CogVideoXDDIMScheduler`` (both models);
- ``tokenizer/``: ``spiece.model``, ``tokenizer_config.json``, ``special_tokens_map.json``, ``added_tokens.json``
  and no ``tokenizer.json`` (transformers converts the sentencepiece model on load: that needs sentencepiece and
  protobuf). Here the sentencepiece model is trained on the spot on a few hundred words;
- ``text_encoder/``: T5 v1.1 XXL's encoder in two safetensors shards (``model-0000{1,2}-of-00002.safetensors``,
  4.99 GB + 4.53 GB) with ``model.safetensors.index.json``. 9.52 GB for its 4.76 B weights is 2 bytes a weight:
  16-bit, bfloat16 as in every published copy of these shards with a readable config (FLUX's text_encoder_2);
- ``transformer/``: 2b one float16 ``diffusion_pytorch_model.safetensors`` (3.39 GB); 5b two bfloat16 shards
  (9.93 GB + 1.22 GB) with ``diffusion_pytorch_model.safetensors.index.json``;
- ``vae/``: one float32 ``diffusion_pytorch_model.safetensors`` (862 MB, "Upload VAE in fp32"), scaling factor
  1.15258426 (2b) or 0.7 (5b);
- ``scheduler/scheduler_config.json``: ``CogVideoXDDIMScheduler``, snr_shift_scale 3.0 (2b) or 1.0 (5b)
  (``known_configs.KNOWN_SCHEDULER_CONFIGS``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .known_configs import KNOWN_SCHEDULER_CONFIGS, KNOWN_TRANSFORMER_CONFIGS

TOKENIZER_MAX_LENGTH = 226  # the published tokenizer_config.json (and the transformer's max_text_seq_length)
EXTRA_IDS = 100  # T5's sentinel tokens <extra_id_0> … <extra_id_99>, the last ids of the vocabulary

# What differs between the two published checkpoints.
PUBLISHED: dict[str, dict[str, Any]] = {
    "THUDM/CogVideoX-2b": {"diffusers_version": "0.30.0.dev0", "transformer_dtype": "float16",
                           "transformer_shards": 1, "vae_scaling_factor": 1.15258426},
    "THUDM/CogVideoX-5b": {"diffusers_version": "0.31.0.dev0", "transformer_dtype": "bfloat16",
                           "transformer_shards": 2, "vae_scaling_factor": 0.7},
}
PUBLISHED_SCHEDULER = "CogVideoXDDIMScheduler"  # model_index.json of both
TEXT_ENCODER_DTYPE = "bfloat16"
TEXT_ENCODER_SHARDS = 2
VAE_DTYPE = "float32"
# The published shard limits (what the authors' save_pretrained used): used at full size.
PUBLISHED_MAX_SHARD = {"text_encoder": "5GB", "transformer": "10GB"}

# T5 v1.1 XXL's encoder, as published (text_encoder/config.json).
T5_XXL = {"d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
          "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
          "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new", "is_gated_act": True,
          "layer_norm_epsilon": 1e-6, "tie_word_embeddings": False, "vocab_size": 32128}

# Small widths and depths; every other key keeps its published value (geometry, text length, positions, channels).
# The transformer's text_embed_dim follows the text encoder's d_model.
TINY_SIZES: dict[str, dict[str, Any]] = {
    "transformer": {"num_attention_heads": 2, "attention_head_dim": 16, "num_layers": 2, "time_embed_dim": 8},
    "text_encoder": {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4},
    "vae": {"block_out_channels": (8, 8, 8, 8), "layers_per_block": 1, "norm_num_groups": 2},
}

# Words the tiny sentencepiece model is trained on: the planner's vocabulary and the example stories' words.
_CORPUS_WORDS = (
    "a an the is are of in on at to and with his her its their from into near by over under through up down left "
    "right one two three day morning evening night garden park room kitchen bedroom forest beach sea river street "
    "house window door table bed chair tree trees flowers flower rock grass sky sun moon road path field hill "
    "mountain lake city school shop cafe library boat water sand snow rain wind light teddy bear dog cat girl boy "
    "man woman person walks walking runs running jumps jumping waves waving dances dancing sits sitting climbs "
    "climbing swims swimming plays playing reads reading eats eating looks looking smiles smiling stands standing "
    "quiet small big happy old young red blue green yellow brown white black neighbour friend ball book kite"
).split()


def build_cogvideox_replica(dest: Path, model_id: str = "THUDM/CogVideoX-2b", *, seed: int = 0,
                            sizes: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write a replica of ``model_id`` (THUDM/CogVideoX-2b or -5b) at ``dest`` and return ``dest``.

    ``sizes``: per component (transformer, text_encoder, vae), config keys that replace the published values;
    default ``TINY_SIZES``; ``{}`` = the published sizes. The transformer's ``text_embed_dim`` follows the text
    encoder's ``d_model`` unless given. Deterministic for a given seed. The folder is built next to ``dest`` and
    renamed into place at the end, so a half-written replica is never found at ``dest``; ``dest`` must not exist.
    """
    if model_id not in PUBLISHED:
        raise ValueError(f"no replica recipe for {model_id!r}; known: {', '.join(PUBLISHED)}")
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} exists; a replica is written into a new folder")
    sizes = TINY_SIZES if sizes is None else sizes
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with _quiet():
            _write(tmp, model_id, seed, sizes)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _write(root: Path, model_id: str, seed: int, sizes: dict[str, dict[str, Any]]) -> None:
    import diffusers
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXTransformer3DModel
    from transformers import T5Config, T5EncoderModel

    pub = PUBLISHED[model_id]
    vocab_size = write_t5_tokenizer(root / "tokenizer")
    te = {**T5_XXL, **sizes.get("text_encoder", {})}
    if sizes.get("text_encoder") and "vocab_size" not in sizes["text_encoder"]:
        # A small encoder gets a small embedding, rounded up as published (32100 tokens in 32128 rows); at full
        # size the published 32128 rows stay (the small tokenizer's ids all fall inside them).
        te["vocab_size"] = _round_up(vocab_size, 128)
    tr = {**KNOWN_TRANSFORMER_CONFIGS[model_id], "text_embed_dim": te["d_model"], **sizes.get("transformer", {})}
    vae_cfg = {"scaling_factor": pub["vae_scaling_factor"], **sizes.get("vae", {})}

    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}

    def seeded(offset: int, build):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + offset)
            return build()

    # One component at a time, freed once written: a full-size build holds one model in memory, not three.
    text_encoder = seeded(0, lambda: T5EncoderModel(T5Config(**te, pad_token_id=0, eos_token_id=1,
                                                             decoder_start_token_id=0)))
    _save_sharded(text_encoder.to(dtype[TEXT_ENCODER_DTYPE]), root / "text_encoder", TEXT_ENCODER_SHARDS,
                  PUBLISHED_MAX_SHARD["text_encoder"] if not sizes else None)
    del text_encoder
    transformer = seeded(1, lambda: CogVideoXTransformer3DModel(**tr))
    _save_sharded(transformer.to(dtype[pub["transformer_dtype"]]), root / "transformer", pub["transformer_shards"],
                  PUBLISHED_MAX_SHARD["transformer"] if not sizes else None)
    del transformer
    vae = seeded(2, lambda: AutoencoderKLCogVideoX(**vae_cfg))  # diffusers' defaults are the published VAE config
    _save_sharded(vae.to(dtype[VAE_DTYPE]), root / "vae", 1, None)
    del vae
    scheduler = KNOWN_SCHEDULER_CONFIGS[model_id]  # its scheduler_config.json, written as recorded there
    getattr(diffusers, scheduler["_class_name"]).from_config(scheduler).save_pretrained(root / "scheduler")
    index = {"_class_name": "CogVideoXPipeline", "_diffusers_version": pub["diffusers_version"],
             "scheduler": ["diffusers", PUBLISHED_SCHEDULER], "text_encoder": ["transformers", "T5EncoderModel"],
             "tokenizer": ["transformers", "T5Tokenizer"], "transformer": ["diffusers", "CogVideoXTransformer3DModel"],
             "vae": ["diffusers", "AutoencoderKLCogVideoX"]}
    (root / "model_index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _quiet():
    """No progress bars or casting notes from the libraries while writing (the casts are the published dtypes)."""
    from diffusers.utils import logging as dlog

    from .loading import quiet_progress_bars

    level = dlog.get_verbosity()  # (importing diffusers configures its logger: set the level after)
    dlog.set_verbosity(logging.ERROR)
    try:
        with quiet_progress_bars():
            yield
    finally:
        dlog.set_verbosity(level)


def _round_up(n: int, multiple: int) -> int:
    return int(math.ceil(n / multiple) * multiple)


def _save_sharded(model, folder: Path, shards: int, max_shard_size: str | None) -> None:
    """``save_pretrained`` in safetensors with exactly ``shards`` files, as published. At full size the published
    shard limit gives the published split; at small sizes the limit is chosen so the weights split in ``shards``."""
    if shards == 1:
        model.save_pretrained(folder, safe_serialization=True, max_shard_size="1000GB")
        return
    if max_shard_size is None:
        max_shard_size = _shard_limit(model.state_dict(), shards)
    model.save_pretrained(folder, safe_serialization=True, max_shard_size=max_shard_size)
    written = sorted(p.name for p in folder.glob("*.safetensors"))
    if len(written) != shards:
        raise RuntimeError(f"{folder.name}: expected {shards} safetensors shards, save_pretrained wrote {written}")


def _shard_limit(state_dict: dict, shards: int) -> int:
    """The smallest shard limit (bytes) for which huggingface_hub's greedy split (tensors in order, tied tensors
    once) gives at most ``shards`` files: the most even split into that many."""
    sizes, seen = [], set()
    for tensor in state_dict.values():
        storage = tensor.untyped_storage().data_ptr()
        if storage not in seen:
            seen.add(storage)
            sizes.append(tensor.untyped_storage().nbytes())

    def count(limit: int) -> int:
        n, current = 0, 0
        for size in sizes:
            if current and current + size > limit:
                n, current = n + 1, 0
            current += size
        return n + 1

    low, high = max(sizes), sum(sizes)
    while low < high:  # count() only falls as the limit grows
        mid = (low + high) // 2
        low, high = (mid + 1, high) if count(mid) > shards else (low, mid)
    return low


# The tokenizer folder, as published --------------------------------------------------------------------------------


def _added(content: str) -> dict[str, Any]:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}


def write_t5_tokenizer(folder: Path, words: list[str] | None = None) -> int:
    """The published T5 tokenizer folder (spiece.model, tokenizer_config.json, special_tokens_map.json,
    added_tokens.json; no tokenizer.json) with a small sentencepiece model trained on ``words``. Returns the
    vocabulary size with the 100 sentinel tokens."""
    import io

    import sentencepiece as spm

    folder.mkdir(parents=True, exist_ok=True)
    corpus = sorted(set(words or _CORPUS_WORDS))
    sentences = [" ".join(corpus[i:] + corpus[:i]) for i in range(len(corpus))]
    model = io.BytesIO()
    # T5's special ids: <pad> 0, </s> 1, <unk> 2, no <s>; unigram model with the NFKC normaliser, like T5's.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, model_type="unigram", vocab_size=400,
        hard_vocab_limit=False, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>",
        unk_piece="<unk>", character_coverage=1.0, num_threads=1, minloglevel=2)
    (folder / "spiece.model").write_bytes(model.getvalue())
    pieces = spm.SentencePieceProcessor(model_proto=model.getvalue()).get_piece_size()
    sentinels = [f"<extra_id_{i}>" for i in range(EXTRA_IDS)]
    ids = {tok: pieces + EXTRA_IDS - 1 - i for i, tok in enumerate(sentinels)}  # <extra_id_0> is the last id
    decoder = {str(i): {**_added(t), "special": True} for i, t in enumerate(("<pad>", "</s>", "<unk>"))}
    decoder.update({str(ids[t]): {**_added(t), "special": True} for t in sorted(sentinels, key=ids.get)})
    files = {
        "added_tokens.json": ids,
        "special_tokens_map.json": {"additional_special_tokens": sentinels, "eos_token": _added("</s>"),
                                    "pad_token": _added("<pad>"), "unk_token": _added("<unk>")},
        "tokenizer_config.json": {"add_prefix_space": True, "added_tokens_decoder": decoder,
                                  "additional_special_tokens": sentinels, "clean_up_tokenization_spaces": True,
                                  "eos_token": "</s>", "extra_ids": EXTRA_IDS, "legacy": True,
                                  "model_max_length": TOKENIZER_MAX_LENGTH, "pad_token": "<pad>",
                                  "sp_model_kwargs": {}, "tokenizer_class": "T5Tokenizer", "unk_token": "<unk>"},
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return pieces + EXTRA_IDS
