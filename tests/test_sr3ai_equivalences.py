"""Equivalences that must hold exactly (METHOD.md C; the project's standards), on tiny random CogVideoX models."""

from __future__ import annotations

import pytest
import torch

from dreamrunner_cli.config import RenderConfig
from dreamrunner_cli.models.tiny import build_tiny_pipeline
from dreamrunner_cli.schema import Keyframe, Region, Scene
from dreamrunner_cli.sr3ai.attention import (
    RegionMask,
    RegionMaskedCogVideoXAttnProcessor,
    install_region_attention,
    multi_prompt_positions,
)
from dreamrunner_cli.sr3ai.lora import RegionLoRA
from dreamrunner_cli.sr3ai.pipeline import geometry_of, render_scene
from dreamrunner_cli.sr3ai.regions import scene_regions


@pytest.fixture(scope="module", params=[False, True], ids=["sincos", "rope"])
def pipe(request):
    return build_tiny_pipeline(rope=request.param)


def two_region_scene() -> Scene:
    a = Region(entity="teddy", motion="walking", caption="a teddy is walking", box=(0.0, 0.0, 0.5, 1.0))
    b = Region(entity="cat", motion="jumping", caption="a cat is jumping", box=(0.5, 0.0, 1.0, 0.5))
    return Scene(id="s01", narration="n", background="a garden", keyframes=[Keyframe(regions=[a, b])] * 6)


def transformer_inputs(pipe, regions, seed=0):
    g = regions.geometry
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randn(2, g.latent_frames, 4, g.rows * 2, g.cols * 2, generator=gen)  # (B, F, C, h, w)
    text = torch.randn(2, regions.num_prompts * g.text_len, 32, generator=gen)  # (B, P·L, D_text)
    kwargs = {}
    if pipe.transformer.config.use_rotary_positional_embeddings:
        kwargs["image_rotary_emb"] = pipe._prepare_rotary_positional_embeddings(g.height, g.width, g.latent_frames,
                                                                                torch.device("cpu"))
    return latents, text, kwargs


def run_transformer(pipe, latents, text, kwargs, attention_kwargs=None):
    P_L = text.shape[1]
    with torch.no_grad(), multi_prompt_positions(pipe.transformer, P_L):
        return pipe.transformer(hidden_states=latents, encoder_hidden_states=text, timestep=torch.tensor([500, 500]),
                                attention_kwargs=attention_kwargs, return_dict=False, **kwargs)[0]


def test_all_true_mask_reproduces_the_stock_attention(pipe):
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    latents, text, kw = transformer_inputs(pipe, regions)
    stock = run_transformer(pipe, latents, text, kw)
    S = regions.seq_len
    all_true = RegionMask(torch.ones(S, dtype=torch.int64), torch.zeros(S, dtype=torch.bool), "sdpa")
    with install_region_attention(pipe.transformer):
        ours = run_transformer(pipe, latents, text, kw, {"region_mask": all_true})
    assert all_true.calls == pipe.transformer.config.num_layers  # the mask arrived in every block
    torch.testing.assert_close(ours, stock, rtol=0, atol=1e-6)
    # and the originals are restored afterwards
    assert not any(isinstance(p, RegionMaskedCogVideoXAttnProcessor)
                   for p in pipe.transformer.attn_processors.values())


def test_region_mask_changes_the_output(pipe):
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    latents, text, kw = transformer_inputs(pipe, regions)
    stock = run_transformer(pipe, latents, text, kw)
    mask = RegionMask.from_regions(regions, "sdpa", "cpu")
    with install_region_attention(pipe.transformer):
        ours = run_transformer(pipe, latents, text, kw, {"region_mask": mask})
    assert (ours - stock).abs().max() > 1e-4


def attention_call(pipe, regions, encoder, hidden, backend):
    attn = pipe.transformer.transformer_blocks[0].attn1
    mask = RegionMask.from_regions(regions, backend, "cpu")
    with torch.no_grad():
        return RegionMaskedCogVideoXAttnProcessor()(attn, hidden, encoder, region_mask=mask)


def test_a_region_prompt_cannot_influence_video_tokens_outside_its_region(pipe):
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    g = regions.geometry
    gen = torch.Generator().manual_seed(1)
    hidden = torch.randn(1, g.video_tokens, 32, generator=gen)  # (B, N_video, C)
    encoder = torch.randn(1, regions.num_prompts * g.text_len, 32, generator=gen)  # (B, P·L, C)
    changed = encoder.clone()
    changed[:, : g.text_len] += torch.randn(1, g.text_len, 32, generator=gen)  # prompt 0 = the teddy region
    out_a, _ = attention_call(pipe, regions, encoder, hidden, "sdpa")
    out_b, _ = attention_call(pipe, regions, changed, hidden, "sdpa")
    inside = torch.from_numpy(regions.membership[0].reshape(-1))
    diff = (out_a - out_b).abs()[0].amax(-1)  # (N_video,)
    assert inside.any() and (~inside).any()
    assert diff[~inside].max() == 0.0  # exactly: not one bit changes outside region A
    assert diff[inside].min() > 1e-6  # and every token inside does change


def test_sdpa_and_flex_backends_agree(pipe):
    import warnings

    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    g = regions.geometry
    gen = torch.Generator().manual_seed(2)
    hidden = torch.randn(2, g.video_tokens, 32, generator=gen)
    encoder = torch.randn(2, regions.num_prompts * g.text_len, 32, generator=gen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out_flex, enc_flex = attention_call(pipe, regions, encoder, hidden, "flex")
    out_sdpa, enc_sdpa = attention_call(pipe, regions, encoder, hidden, "sdpa")
    torch.testing.assert_close(out_flex, out_sdpa, rtol=0, atol=1e-5)
    torch.testing.assert_close(enc_flex, enc_sdpa, rtol=0, atol=1e-5)


def add_random_lora(transformer, name: str, blocks: list[int], seed: int, rank: int = 4):
    from peft import LoraConfig

    targets = [f"transformer_blocks.{b}.{m}" for b in blocks
               for m in ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ff.net.0.proj", "ff.net.2")]
    torch.manual_seed(seed)
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=targets, init_lora_weights=False),
                            adapter_name=name)


def test_masked_lora_with_mask_one_is_the_plain_adapter_and_zero_the_base_model():
    pipe = build_tiny_pipeline()
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    latents, text, kw = transformer_inputs(pipe, regions)
    base = run_transformer(pipe, latents, text, kw)
    add_random_lora(pipe.transformer, "motion-walking", [0], seed=3)
    plain = run_transformer(pipe, latents, text, kw)  # peft applies the adapter everywhere
    assert (plain - base).abs().max() > 1e-3
    S = regions.seq_len
    region_lora = RegionLoRA(pipe.transformer)
    with region_lora.installed():
        region_lora.set_masks({"motion-walking": torch.ones(1, S, 1)})
        ones = run_transformer(pipe, latents, text, kw)
        region_lora.set_masks({"motion-walking": torch.zeros(1, S, 1)})
        zeros = run_transformer(pipe, latents, text, kw)
    torch.testing.assert_close(ones, plain, rtol=0, atol=1e-6)
    torch.testing.assert_close(zeros, base, rtol=0, atol=1e-6)
    assert region_lora.applied == 2 * 6  # one adapter × 6 linears × 2 calls
    # after the context, peft applies the adapter again
    torch.testing.assert_close(run_transformer(pipe, latents, text, kw), plain, rtol=0, atol=0)


def test_masked_lora_two_adapters_masks_select_each():
    pipe = build_tiny_pipeline()
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    latents, text, kw = transformer_inputs(pipe, regions)
    add_random_lora(pipe.transformer, "a", [0], seed=4)
    add_random_lora(pipe.transformer, "b", [1], seed=5)
    S = regions.seq_len
    pipe.transformer.set_adapters(["a"])
    only_a = run_transformer(pipe, latents, text, kw)
    pipe.transformer.set_adapters(["a", "b"])
    both = run_transformer(pipe, latents, text, kw)
    rl = RegionLoRA(pipe.transformer)
    with rl.installed():
        rl.set_masks({"a": torch.ones(1, S, 1), "b": torch.zeros(1, S, 1)})
        torch.testing.assert_close(run_transformer(pipe, latents, text, kw), only_a, rtol=0, atol=1e-6)
        rl.set_masks({"a": torch.ones(1, S, 1), "b": torch.ones(1, S, 1)})
        torch.testing.assert_close(run_transformer(pipe, latents, text, kw), both, rtol=0, atol=1e-6)


def test_scene_render_runs_with_multiple_prompts_and_uses_the_mask_every_block_and_step(pipe):
    cfg = RenderConfig(height=64, width=64, num_frames=9, steps=2, guidance_scale=6.0, attention="sdpa")
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    out = render_scene(pipe, two_region_scene(), cfg, seed=7, regions=regions)
    assert out.frames.shape == (9, 64, 64, 3)
    assert out.mask_calls == 2 * pipe.transformer.config.num_layers  # CFG halves share one batched call
    again = render_scene(pipe, two_region_scene(), cfg, seed=7, regions=regions)
    assert (again.frames == out.frames).all()  # seeded: identical


@pytest.mark.parametrize("backend", ["sdpa", "flex"])
def test_the_mask_is_built_once_per_scene_whatever_the_number_of_blocks_and_steps(backend):
    import warnings

    from dreamrunner_cli.models.tiny import build_tiny_pipeline as build

    pipe = build(num_layers=4)
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    latents, text, kw = transformer_inputs(pipe, regions)
    mask = RegionMask.from_regions(regions, backend, "cpu")
    with install_region_attention(pipe.transformer), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):  # three denoising steps
            run_transformer(pipe, latents, text, kw, {"region_mask": mask})
    assert mask.calls == 3 * 4 and mask.builds == 1


def test_the_additive_padded_mask_used_on_cuda_gives_the_same_attention(pipe):
    regions = scene_regions(two_region_scene(), geometry_of(pipe, 64, 64, 9))
    g = regions.geometry
    gen = torch.Generator().manual_seed(3)
    hidden = torch.randn(2, g.video_tokens, 32, generator=gen)
    encoder = torch.randn(2, regions.num_prompts * g.text_len, 32, generator=gen)
    attn = pipe.transformer.transformer_blocks[0].attn1
    boolean = RegionMask.from_regions(regions, "sdpa", "cpu")
    additive = RegionMask.from_regions(regions, "sdpa", "cpu")
    additive.use_additive = True  # what CUDA does, exercised on CPU
    with torch.no_grad():
        out_b, _ = RegionMaskedCogVideoXAttnProcessor()(attn, hidden, encoder, region_mask=boolean)
        out_a, _ = RegionMaskedCogVideoXAttnProcessor()(attn, hidden, encoder, region_mask=additive)
    mask = additive.additive(torch.float32)
    assert mask.shape[-1] == regions.seq_len and mask.stride(-2) % 16 == 0
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=1e-6)
