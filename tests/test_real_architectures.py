"""SR3AI on the real CogVideoX architectures, without weights.

The transformer is built from the shipped CogVideoX-2B and CogVideoX-5B configs at their real widths, head counts,
patch size, text length (226) and positional embeddings (3D sin-cos for 2B, RoPE for 5B), with one block for the
numerics (memory and CPU time), and on the meta device with all 30 / 42 blocks for LoRA placement. Random weights:
these prove equivalences and placement, never quality.
"""

from __future__ import annotations

import pytest
import torch

from dreamrunner_cli.models.known_configs import KNOWN_TRANSFORMER_CONFIGS
from dreamrunner_cli.schema import Keyframe, Region, Scene
from dreamrunner_cli.sr3ai.attention import RegionMask, install_region_attention, multi_prompt_positions
from dreamrunner_cli.sr3ai.geometry import Geometry
from dreamrunner_cli.sr3ai.regions import scene_regions

HEIGHT, WIDTH, FRAMES = 64, 96, 9  # 3 latent frames × 4 × 6 tokens: small enough for a CPU at the real widths
MODELS = {"2b": "THUDM/CogVideoX-2b", "5b": "THUDM/CogVideoX-5b"}


@pytest.fixture(scope="module", params=["2b", "5b"])
def real(request):
    """(name, transformer with the real config and 1 block, its geometry, RoPE embedding or None)."""
    from diffusers import CogVideoXTransformer3DModel

    config = dict(KNOWN_TRANSFORMER_CONFIGS[MODELS[request.param]], num_layers=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = CogVideoXTransformer3DModel(**config).eval()
    geom = Geometry.from_config(config, HEIGHT, WIDTH, FRAMES)
    rope = _rotary_embedding(model, geom) if config["use_rotary_positional_embeddings"] else None
    return request.param, model, geom, rope


def _rotary_embedding(model, geom: Geometry):
    """What CogVideoXPipeline passes as image_rotary_emb for this size (computed by the pipeline's own method)."""
    from diffusers import CogVideoXDPMScheduler, CogVideoXPipeline

    pipe = CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=model,
                             scheduler=CogVideoXDPMScheduler())
    return pipe._prepare_rotary_positional_embeddings(geom.height, geom.width, geom.latent_frames,
                                                      torch.device("cpu"))


def _forward(model, latents, text, rope, attention_kwargs=None):
    with torch.no_grad(), multi_prompt_positions(model, text.shape[1]):
        return model(hidden_states=latents, encoder_hidden_states=text, timestep=torch.tensor([400]),
                     image_rotary_emb=rope, attention_kwargs=attention_kwargs, return_dict=False)[0]


def _inputs(model, geom: Geometry, prompts: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    c = model.config
    latents = torch.randn(1, geom.latent_frames, c.in_channels, geom.height // 8, geom.width // 8, generator=g)
    text = torch.randn(1, prompts * geom.text_len, c.text_embed_dim, generator=g)  # (1, P·226, 4096)
    return latents, text


def _scene(boxes: list[tuple]) -> Scene:
    regions = [Region.model_construct(entity=f"e{i}", motion="none", caption=f"caption {i}", box=b)
               for i, b in enumerate(boxes)]
    return Scene(id="s01", narration="n", background="background", keyframes=[Keyframe(regions=regions)] * 6)


def test_real_geometry_and_positional_scheme(real):
    name, model, geom, rope = real
    assert geom.text_len == 226 and geom.patch_size == 2
    assert (geom.heads, geom.head_dim) == ((30, 64) if name == "2b" else (48, 64))
    assert geom.rope == (name == "5b") and (rope is not None) == geom.rope
    assert model.patch_embed.use_positional_embeddings == (name == "2b")


def test_all_true_mask_reproduces_the_stock_model(real):
    _, model, geom, rope = real
    latents, text = _inputs(model, geom, prompts=2)
    stock = _forward(model, latents, text, rope)
    S = text.shape[1] + geom.video_tokens
    all_true = RegionMask(torch.ones(S, dtype=torch.int64), torch.zeros(S, dtype=torch.bool), "sdpa")
    with install_region_attention(model):
        ours = _forward(model, latents, text, rope, {"region_mask": all_true})
    assert all_true.calls == 1
    torch.testing.assert_close(ours, stock, rtol=0, atol=2e-5)


def test_adding_region_prompts_leaves_the_video_tokens_positions_unchanged(real):
    """Stock model on one full-frame prompt == SR3AI with that prompt plus a region prompt that covers nothing and
    the background (which covers nothing either): the extra prompts' text shifts no video position (sin-cos: text
    positions are zero for every prompt; RoPE: video only)."""
    _, model, geom, rope = real
    regions = scene_regions(_scene([(0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.0, 0.0)]), geom)
    assert regions.num_prompts == 3 and not regions.membership[1:].any()
    latents, text3 = _inputs(model, geom, prompts=3)
    text1 = text3[:, : geom.text_len]  # the full-frame prompt alone
    stock = _forward(model, latents, text1, rope)
    mask = RegionMask.from_regions(regions, "sdpa", "cpu")
    with install_region_attention(model):
        ours = _forward(model, latents, text3, rope, {"region_mask": mask})
    torch.testing.assert_close(ours, stock, rtol=0, atol=2e-5)


def test_rope_is_really_exercised_on_5b(real):
    name, model, geom, rope = real
    if name != "5b":
        pytest.skip("2B has no rotary embedding")
    latents, text = _inputs(model, geom, prompts=1)
    with_rope = _forward(model, latents, text, rope)
    without = _forward(model, latents, text, None)
    assert (with_rope - without).abs().max() > 1e-3


def test_sdpa_and_flex_agree_at_the_real_widths(real):
    _, model, geom, rope = real
    regions = scene_regions(_scene([(0.0, 0.0, 0.5, 1.0), (0.4, 0.2, 1.0, 0.8)]), geom)
    latents, text = _inputs(model, geom, prompts=regions.num_prompts)
    outs = {}
    with install_region_attention(model):
        for backend in ("sdpa", "flex"):
            outs[backend] = _forward(model, latents, text, rope,
                                     {"region_mask": RegionMask.from_regions(regions, backend, "cpu")})
    torch.testing.assert_close(outs["flex"], outs["sdpa"], rtol=0, atol=1e-4)


# LoRA placement on every block (meta device) ------------------------------------------------------------------------


@pytest.mark.parametrize("name,blocks,ff_hidden", [("2b", 30, 7680), ("5b", 42, 12288)])
def test_lora_lands_on_even_and_odd_blocks_of_the_full_models(name, blocks, ff_hidden):
    """METHOD.md B.3 / C.3: motion LoRA on 0-based even blocks, character (spatial) LoRA on odd blocks, on the six
    attention and feed-forward linears, never on the AdaLN norms; ≈ 1.1 M parameters per 2B block at rank 32."""
    from diffusers import CogVideoXTransformer3DModel
    from peft.tuners.lora.layer import LoraLayer

    from dreamrunner_cli.adapt.lora import TARGET_LINEARS, add_lora, select_blocks

    config = KNOWN_TRANSFORMER_CONFIGS[MODELS[name]]
    with torch.device("meta"):
        model = CogVideoXTransformer3DModel(**config)
    assert len(model.transformer_blocks) == blocks
    model.requires_grad_(False)
    motion = add_lora(model, "motion", select_blocks(blocks, "even"), rank=32, dropout=0.0)
    character = add_lora(model, "character", select_blocks(blocks, "odd"), rank=32, dropout=0.0)

    placed: dict[str, set[str]] = {"motion": set(), "character": set()}
    for module_name, module in model.named_modules():
        if isinstance(module, LoraLayer):
            for adapter in module.lora_A:
                placed[adapter].add(module_name)
    half = blocks // 2
    assert placed["motion"] == {f"transformer_blocks.{b}.{lin}" for b in range(0, blocks, 2) for lin in TARGET_LINEARS}
    assert placed["character"] == {f"transformer_blocks.{b}.{lin}" for b in range(1, blocks, 2)
                                   for lin in TARGET_LINEARS}
    assert len(placed["motion"]) == len(placed["character"]) == 6 * half
    assert not any("norm" in n for names in placed.values() for n in names)
    ff_in = model.transformer_blocks[0].ff.net[0].proj
    assert (ff_in.in_features, ff_in.out_features) == (config["num_attention_heads"] * 64, ff_hidden)
    width = config["num_attention_heads"] * 64
    per_block = 4 * 32 * (2 * width) + 2 * 32 * (width + ff_hidden)
    assert sum(p.numel() for p in motion) == sum(p.numel() for p in character) == half * per_block
    if name == "2b":
        assert per_block == 1_105_920 and half * per_block == 16_588_800  # METHOD.md B.3: ≈ 1.1 M / ≈ 16.6 M
