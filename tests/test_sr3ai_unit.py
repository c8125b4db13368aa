"""Fast in-process unit tests of SR3AI's pieces (issue 16): geometry arithmetic, the chunked attention masks against a
direct evaluation of the C.2 rule, region-masked LoRA hooks, the pipeline helpers and the mask pictures. Tiny
tensors and tiny random models only (see tests/test_sr3ai_equivalences.py for the end-to-end equivalences)."""

from __future__ import annotations

import pytest

from dreamrunner_cli.errors import UsageError
from dreamrunner_cli.sr3ai import geometry as G
from dreamrunner_cli.sr3ai.geometry import Geometry

# Geometry ------------------------------------------------------------------------------------------------------


def test_latent_frames_follow_the_pipelines_arithmetic():
    assert [G.latent_frames_for(f) for f in (1, 2, 4, 5, 8, 9, 12, 13, 48, 49)] == [1, 1, 1, 2, 2, 3, 3, 4, 12, 13]
    assert [G.latent_frames_for(f, 8) for f in (1, 8, 9, 16, 17, 33)] == [1, 1, 2, 2, 3, 5]
    assert G.latent_frames_for(0) == 0 and G.latent_frames_for(-3) == 0 and G.latent_frames_for(-4) == -1


def test_decoded_frames_are_4n_minus_3_for_odd_and_4n_for_even_latent_counts():
    assert [G.decoded_frames(n) for n in (1, 2, 3, 4, 12, 13)] == [1, 8, 9, 16, 48, 49]
    assert [G.decoded_frames(n, 2) for n in (1, 2, 3, 4)] == [1, 4, 5, 8]
    assert [G.decoded_frames(n, 8) for n in (1, 2, 3)] == [1, 16, 17]
    assert G.decoded_frames(0) == 0


def test_valid_num_frames_are_0_or_1_mod_8():
    assert [f for f in range(-3, 60) if G.valid_num_frames(f)] == [1, 8, 9, 16, 17, 24, 25, 32, 33, 40, 41, 48, 49,
                                                                   56, 57]
    assert [f for f in range(0, 40) if G.valid_num_frames(f, 8)] == [1, 16, 17, 32, 33]
    assert [f for f in range(0, 12) if G.valid_num_frames(f, 2)] == [1, 4, 5, 8, 9]


@pytest.mark.parametrize("frames, near", [(45, [41, 48]), (2, [1, 8]), (7, [1, 8]), (10, [9, 16]), (15, [9, 16]),
                                          (0, [1]), (-5, [1]), (23, [17, 24]), (47, [41, 48]), (50, [49, 56])])
def test_nearest_valid_num_frames_below_and_above(frames, near):
    assert G.nearest_valid_num_frames(frames) == near


def test_nearest_valid_num_frames_with_another_temporal_compression():
    assert G.nearest_valid_num_frames(2, 8) == [1, 16]
    assert G.nearest_valid_num_frames(18, 8) == [17, 32]
    assert G.nearest_valid_num_frames(31, 8) == [17, 32]
    assert G.nearest_valid_num_frames(0, 8) == [1]
    assert G.nearest_valid_num_frames(3, 2) == [1, 4]


def test_check_num_frames_accepts_valid_counts():
    for f in (1, 8, 9, 48, 49):
        assert G.check_num_frames(f) is None
    assert G.check_num_frames(16, 8) is None and G.check_num_frames(17, 8) is None


def test_check_num_frames_names_what_the_vae_gives_and_the_nearest_counts():
    with pytest.raises(UsageError) as e:
        G.check_num_frames(45)
    assert e.value.message == ("render.num_frames=45 cannot be produced exactly: it gives 12 latent frames, which "
                               "the VAE decodes to 48 frames")
    assert e.value.hint == ("use 41 or 48 (valid counts are ≡ 0 or 1 mod 8: 48 is the authors' setting, 49 "
                            "CogVideoX's native length), e.g. --set render.num_frames=48")
    assert e.value.exit_code == 2


def test_check_num_frames_below_one():
    for frames in (0, -7):
        with pytest.raises(UsageError) as e:
            G.check_num_frames(frames)
        assert e.value.message == (f"render.num_frames={frames} cannot be produced exactly: it gives 0 latent "
                                   "frames, which the VAE decodes to 0 frames")
        assert e.value.hint.startswith("use 1 (valid counts") and e.value.hint.endswith("render.num_frames=1")


def test_check_num_frames_with_another_temporal_compression():
    with pytest.raises(UsageError) as e:
        G.check_num_frames(9, 8)
    # 9 frames at 8× → 2 latent frames → 16 decoded frames
    assert "it gives 2 latent frames, which the VAE decodes to 16 frames" in e.value.message
    assert e.value.hint.startswith("use 1 or 16 (") and e.value.hint.endswith("=16")


def tiny_config(**kw) -> dict:
    base = dict(num_attention_heads=2, attention_head_dim=16, num_layers=3, patch_size=2, max_text_seq_length=16,
                use_rotary_positional_embeddings=False, temporal_compression_ratio=4)
    base.update(kw)
    return base


def test_geometry_from_config_token_counts():
    g = Geometry.from_config(tiny_config(), 64, 96, 9)
    assert (g.height, g.width, g.num_frames, g.latent_frames, g.rows, g.cols) == (64, 96, 9, 3, 4, 6)
    assert (g.text_len, g.num_blocks, g.heads, g.head_dim, g.rope, g.patch_size) == (16, 3, 2, 16, False, 2)
    assert (g.temporal_compression, g.spatial_compression) == (4, 8)
    assert g.tokens_per_frame == 24 and g.video_tokens == 72
    assert g.seq_len(1) == 88 and g.seq_len(3) == 3 * 16 + 72 and g.seq_len(0) == 72
    assert g.to_dict() == {"height": 64, "width": 96, "num_frames": 9, "latent_frames": 3, "rows": 4, "cols": 6,
                           "text_len": 16, "num_blocks": 3, "heads": 2, "head_dim": 16, "rope": False,
                           "patch_size": 2, "temporal_compression": 4, "spatial_compression": 8,
                           "tokens_per_frame": 24, "video_tokens": 72}


def test_geometry_from_config_defaults_and_patch_size():
    config = dict(num_attention_heads=30, attention_head_dim=64, num_layers=30)  # nothing else: the defaults
    g = Geometry.from_config(config, 480, 720, 49)
    assert (g.patch_size, g.rows, g.cols, g.text_len, g.rope, g.temporal_compression) == (2, 30, 45, 226, False, 4)
    assert (g.latent_frames, g.video_tokens) == (13, 13 * 1350)
    g1 = Geometry.from_config(tiny_config(patch_size=1, use_rotary_positional_embeddings=True), 64, 64, 49)
    assert (g1.patch_size, g1.rows, g1.cols, g1.rope, g1.latent_frames) == (1, 8, 8, True, 13)
    g8 = Geometry.from_config(tiny_config(temporal_compression_ratio=8), 64, 64, 17)
    assert (g8.latent_frames, g8.temporal_compression) == (3, 8)
    g0 = Geometry.from_config(tiny_config(patch_size_t=None), 64, 64, 8)  # None: no temporal patching
    assert g0.latent_frames == 2


def test_geometry_from_config_refusals():
    with pytest.raises(UsageError) as e:
        Geometry.from_config(tiny_config(patch_size_t=2), 64, 64, 9)
    assert e.value.message == "CogVideoX 1.5 models (temporal patching) are not supported yet"
    assert e.value.hint == "use CogVideoX-2b or CogVideoX-5b"
    with pytest.raises(UsageError) as e:
        Geometry.from_config(tiny_config(), 72, 64, 9)
    assert e.value.message == "height and width must be multiples of 16 (VAE 8 × patch 2); got 72×64"
    assert e.value.hint == "e.g. --set render.height=64"
    with pytest.raises(UsageError) as e:
        Geometry.from_config(tiny_config(), 64, 40, 9)
    assert e.value.message == "height and width must be multiples of 16 (VAE 8 × patch 2); got 64×40"
    with pytest.raises(UsageError, match="multiples of 8 "):
        Geometry.from_config(tiny_config(patch_size=1), 64, 36, 9)
    with pytest.raises(UsageError, match="num_frames=10 "):
        Geometry.from_config(tiny_config(), 64, 64, 10)
    with pytest.raises(UsageError, match="num_frames=9 .* 2 latent frames"):
        Geometry.from_config(tiny_config(temporal_compression_ratio=8), 64, 64, 9)


def test_latent_spans_of_49_and_48_frames():
    g49 = Geometry.from_config(tiny_config(), 64, 64, 49)
    assert g49.causal_first_frame()
    assert [g49.latent_span(latent) for latent in (0, 1, 2, 12)] == [(0.0, 1.0), (1.0, 5.0), (5.0, 9.0),
                                                                     (45.0, 49.0)]
    g48 = Geometry.from_config(tiny_config(), 64, 64, 48)
    assert not g48.causal_first_frame()
    assert [g48.latent_span(latent) for latent in (0, 1, 11)] == [(0.0, 4.0), (4.0, 8.0), (44.0, 48.0)]
    g17 = Geometry.from_config(tiny_config(temporal_compression_ratio=8), 64, 64, 17)
    assert g17.causal_first_frame() and g17.latent_span(0) == (0.0, 1.0) and g17.latent_span(2) == (9.0, 17.0)
    g16 = Geometry.from_config(tiny_config(temporal_compression_ratio=8), 64, 64, 16)
    assert not g16.causal_first_frame() and g16.latent_span(1) == (8.0, 16.0)
    assert all(isinstance(v, float) for v in g49.latent_span(3) + g48.latent_span(3) + g49.latent_span(0))


# Shared: a tiny scene and its regions ---------------------------------------------------------------------------


def tiny_geometry(frames: int = 9, height: int = 64, width: int = 64) -> Geometry:
    return Geometry.from_config(tiny_config(num_layers=2), height, width, frames)


def bound_scene():
    """Two captions bound to ids; the cat's caption mentions the teddy and 'walking' (binding is by id, never by
    caption text), and a second teddy caption later on."""
    from dreamrunner_cli.schema import Keyframe, Region, Scene

    teddy = Region(entity="teddy", motion="walking", caption="a teddy is walking", box=(0.0, 0.0, 0.5, 1.0))
    cat = Region(entity="cat", motion="jumping", caption="a cat jumps at a teddy is walking", box=(0.5, 0.0, 1.0, 0.5))
    teddy2 = Region(entity="teddy", motion="none", caption="a teddy sits", box=(0.0, 0.5, 0.5, 1.0))
    return Scene(id="s01", narration="n", background="a garden",
                 keyframes=[Keyframe(regions=[teddy, cat])] * 3 + [Keyframe(regions=[teddy2, cat])] * 3)


def bound_regions(frames: int = 9):
    from dreamrunner_cli.sr3ai.regions import scene_regions

    return scene_regions(bound_scene(), tiny_geometry(frames))


# Region-masked LoRA (sr3ai/lora.py) -----------------------------------------------------------------------------


def test_adapter_names_and_binding_by_id():
    from dreamrunner_cli.sr3ai import lora

    assert lora.adapter_name("motion", "walking") == "motion-walking"
    assert lora.adapter_name("character", "teddy") == "character-teddy"
    regions = bound_regions()
    assert [p.text for p in regions.prompts] == ["a teddy is walking", "a cat jumps at a teddy is walking",
                                                 "a teddy sits", "a garden"]
    assert lora.prompts_for_adapter(regions, "character", "teddy") == [0, 2]
    assert lora.prompts_for_adapter(regions, "character", "cat") == [1]
    assert lora.prompts_for_adapter(regions, "motion", "walking") == [0]
    assert lora.prompts_for_adapter(regions, "motion", "jumping") == [1]
    assert lora.prompts_for_adapter(regions, "motion", "none") == []
    assert lora.prompts_for_adapter(regions, "character", "walking") == []
    with pytest.raises(UsageError) as e:
        lora.prompts_for_adapter(regions, "style", "teddy")
    assert e.value.message == "unknown adapter kind 'style'"


def test_token_masks_cover_the_bound_prompts_text_and_regions():
    import numpy as np
    import torch

    from dreamrunner_cli.sr3ai import lora

    regions = bound_regions()
    S, L = regions.seq_len, regions.geometry.text_len
    masks = lora.token_masks(regions, [("character", "teddy"), ("motion", "jumping")], "cpu", torch.float64)
    assert list(masks) == ["character-teddy", "motion-jumping"]
    teddy = masks["character-teddy"]
    assert teddy.shape == (1, S, 1) and teddy.dtype == torch.float64 and teddy.device.type == "cpu"
    expected = regions.token_mask_for_prompts([0, 2])
    assert np.array_equal(teddy[0, :, 0].numpy(), expected.astype(np.float64))
    assert set(teddy.unique().tolist()) == {0.0, 1.0}  # clamped: tokens of both teddy prompts are 1, not 2
    # text tokens of prompts 0 and 2, none of prompt 1 or the background
    assert teddy[0, :L].eq(1).all() and teddy[0, L:2 * L].eq(0).all() and teddy[0, 2 * L:3 * L].eq(1).all()
    assert teddy[0, 3 * L:4 * L].eq(0).all()
    # video: the left half of latent frames 0 and 1 (key frames 1, 3: teddy), the bottom-left quarter of latent
    # frame 2 (key frame 5: teddy2)
    video = teddy[0, 4 * L:, 0].reshape(3, 4, 4)
    assert regions.keyframe_of_latent == [0, 2, 4]
    assert video[:2, :, :2].eq(1).all() and video[2, 2:, :2].eq(1).all() and video.sum() == 2 * 8 + 4
    jumping = masks["motion-jumping"][0, :, 0]
    assert jumping[L:2 * L].eq(1).all() and jumping[:L].eq(0).all()
    assert jumping[4 * L:].reshape(3, 4, 4)[:, :2, 2:].eq(1).all() and jumping[4 * L:].sum() == 3 * 4
    assert lora.token_masks(regions, [], "cpu", torch.float32) == {}


def lora_toy(alpha_a: int = 4, alpha_b: int = 1):
    """Two linears with peft LoRA layers: adapter 'a' (r 2, scaling alpha_a / 2) on both, 'b' (r 1) on lin2."""
    import warnings

    import torch
    from peft import LoraConfig, inject_adapter_in_model

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin1 = torch.nn.Linear(3, 4)
            self.lin2 = torch.nn.Linear(4, 2)
            self.act = torch.nn.Tanh()

        def forward(self, x):
            return self.lin2(self.act(self.lin1(x)))

    torch.manual_seed(0)
    toy = Toy().double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inject_adapter_in_model(LoraConfig(r=2, lora_alpha=alpha_a, target_modules=["lin1", "lin2"],
                                           init_lora_weights=False), toy, adapter_name="a")
        inject_adapter_in_model(LoraConfig(r=1, lora_alpha=alpha_b, target_modules=["lin2"],
                                           init_lora_weights=False), toy, adapter_name="b")
    return toy.double()


def toy_reference(toy, x, masks: dict, scales: dict):
    """Direct evaluation of W·x + Σ_j s_j · m_j ⊙ B_j A_j x · scaling_j on both linears."""

    def linear(layer, h):
        out = layer.base_layer(h)
        for name, m in masks.items():
            if name in layer.lora_A:
                out = out + scales[name] * m * layer.lora_B[name](layer.lora_A[name](h)) * layer.scaling[name]
        return out

    return linear(toy.lin2, toy.act(linear(toy.lin1, x)))


def test_region_lora_hook_adds_the_masked_scaled_deltas():
    import torch

    from dreamrunner_cli.sr3ai.lora import RegionLoRA, lora_layers

    toy = lora_toy()
    assert lora_layers(toy) == [toy.lin1, toy.lin2]
    assert toy.lin1.scaling == {"a": 2.0} and toy.lin2.scaling == {"a": 2.0, "b": 1.0}
    x = torch.randn(1, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        base = toy_reference(toy, x, {}, {})
        rl = RegionLoRA(toy, scale=0.5, scales={"b": 3.0})
        assert (rl.scale, rl.scales, rl.masks, rl._handles, rl.applied) == (0.5, {"b": 3.0}, {}, [], 0)
        with rl.installed() as got:
            assert got is rl and len(rl._handles) == 2
            assert all(layer.disable_adapters for layer in (toy.lin1, toy.lin2))  # peft's own path is off
            torch.testing.assert_close(toy(x), base, rtol=0, atol=0)  # no masks: the base model
            assert rl.applied == 0
            ma = torch.tensor([1.0, 0.0, 1.0, 2.0, 0.0], dtype=torch.float64)[None, :, None]
            mb = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0], dtype=torch.float64)[None, :, None]
            rl.set_masks({"a": ma, "b": mb})
            out = toy(x)
            assert rl.applied == 3  # a on lin1 and lin2, b on lin2
            torch.testing.assert_close(out, toy_reference(toy, x, {"a": ma, "b": mb}, {"a": 0.5, "b": 3.0}),
                                       rtol=0, atol=1e-12)
            assert (out - base).abs().amax(-1)[0].gt(1e-6).all()
            rl.set_masks({"a": torch.zeros(1, 5, 1, dtype=torch.float64)})
            torch.testing.assert_close(toy(x), base, rtol=0, atol=0)  # mask 0: the base model
            assert rl.applied == 5
        assert rl._handles == [] and not toy.lin1._forward_hooks and not toy.lin2._forward_hooks
        assert not toy.lin1.disable_adapters and not toy.lin2.disable_adapters
        assert rl.applied == 5  # nothing applied after the context


def test_region_lora_mask_one_is_the_plain_adapter():
    import torch

    from dreamrunner_cli.sr3ai.lora import RegionLoRA

    toy = lora_toy()
    toy.lin1.set_adapter(["a"])
    toy.lin2.set_adapter(["a"])
    x = torch.randn(2, 6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        plain = toy(x)  # peft applies adapter a everywhere
        rl = RegionLoRA(toy)
        with rl.installed():
            rl.set_masks({"a": torch.ones(1, 6, 1, dtype=torch.float64)})
            torch.testing.assert_close(toy(x), plain, rtol=0, atol=1e-12)
        torch.testing.assert_close(toy(x), plain, rtol=0, atol=0)


def test_region_lora_restores_the_layers_after_an_error_and_refuses_a_wrong_mask_length():
    import torch

    from dreamrunner_cli.sr3ai.lora import RegionLoRA

    toy = lora_toy()
    rl = RegionLoRA(toy)
    masks = {"a": torch.ones(1, 4, 1, dtype=torch.float64)}
    with pytest.raises(UsageError) as e, rl.installed():
        rl.set_masks(masks)
        masks["b"] = torch.ones(1, 4, 1)  # set_masks keeps its own copy
        assert list(rl.masks) == ["a"]
        toy(torch.zeros(1, 5, 3, dtype=torch.float64))
    assert e.value.message == "LoRA token mask has 4 tokens but the layer sees 5"
    assert rl._handles == [] and not toy.lin1._forward_hooks and not toy.lin2._forward_hooks
    assert not toy.lin1.disable_adapters and not toy.lin2.disable_adapters


def test_region_lora_casts_to_the_lora_and_output_dtypes():
    """A bfloat16 model with float32 LoRA weights (as training leaves them): the hook feeds the LoRA float32 and adds
    its delta back in bfloat16, so the next layer still gets bfloat16."""
    import torch

    from dreamrunner_cli.sr3ai.lora import RegionLoRA, lora_layers

    toy = lora_toy().to(torch.bfloat16)
    for layer in lora_layers(toy):
        for mod in list(layer.lora_A.values()) + list(layer.lora_B.values()):
            mod.float()
    x = torch.randn(1, 3, 3, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    rl = RegionLoRA(toy, scales={"a": 2.0})
    ones = torch.ones(1, 3, 1, dtype=torch.float64)
    with torch.no_grad(), rl.installed():
        rl.set_masks({"a": ones, "b": ones})
        out = toy(x)
    assert out.dtype == torch.bfloat16 and rl.applied == 3

    def linear(layer, h):
        y = layer.base_layer(h)
        for name, s in (("a", 2.0), ("b", 1.0)):
            if name in layer.lora_A:
                d = layer.lora_B[name](layer.lora_A[name](h.float())) * layer.scaling[name]
                y = y + (s * ones.to(y.dtype)) * d.to(y.dtype)
        return y

    with torch.no_grad():
        torch.testing.assert_close(out, linear(toy.lin2, toy.act(linear(toy.lin1, x))), rtol=0, atol=0)


def test_token_masks_go_to_the_device_asked_for():
    import torch

    from dreamrunner_cli.sr3ai import lora

    masks = lora.token_masks(bound_regions(), [("character", "cat")], "meta", torch.float16)
    assert masks["character-cat"].device.type == "meta" and masks["character-cat"].dtype == torch.float16


# Pipeline helpers (sr3ai/pipeline.py) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_pipe():
    from dreamrunner_cli.models.tiny import build_tiny_pipeline

    return build_tiny_pipeline()


def test_use_scheduler_builds_dpm_and_ddim_from_the_checkpoints_config():
    from types import SimpleNamespace

    from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler

    from dreamrunner_cli.models.known_configs import KNOWN_SCHEDULER_CONFIGS
    from dreamrunner_cli.sr3ai.pipeline import SCHEDULERS, use_scheduler

    assert SCHEDULERS == {"dpm": "CogVideoXDPMScheduler", "ddim": "CogVideoXDDIMScheduler"}
    conf = dict(KNOWN_SCHEDULER_CONFIGS["THUDM/CogVideoX-5b"], prediction_type="epsilon", timestep_spacing="leading",
                snr_shift_scale=2.5, beta_end=0.02)
    ddim = CogVideoXDDIMScheduler.from_config(conf)
    pipe = SimpleNamespace(scheduler=ddim)
    assert use_scheduler(pipe, "ddim") == {"class": "CogVideoXDDIMScheduler", "prediction_type": "epsilon",
                                           "snr_shift_scale": 2.5, "timestep_spacing": "leading"}
    assert pipe.scheduler is ddim  # already that class: kept as it is
    info = use_scheduler(pipe, "dpm")
    assert type(pipe.scheduler) is CogVideoXDPMScheduler
    assert info == {"class": "CogVideoXDPMScheduler", "prediction_type": "epsilon", "snr_shift_scale": 2.5,
                    "timestep_spacing": "leading"}
    assert pipe.scheduler.config.beta_end == 0.02 and pipe.scheduler.config.rescale_betas_zero_snr is True
    dpm = pipe.scheduler
    use_scheduler(pipe, "dpm")
    assert pipe.scheduler is dpm
    info = use_scheduler(pipe, "ddim")
    assert type(pipe.scheduler) is CogVideoXDDIMScheduler and info["class"] == "CogVideoXDDIMScheduler"
    assert pipe.scheduler.config.snr_shift_scale == 2.5 and pipe.scheduler.config.beta_end == 0.02
    with pytest.raises(KeyError):
        use_scheduler(pipe, "euler")


def test_geometry_of_reads_the_transformer_config():
    from types import SimpleNamespace

    from dreamrunner_cli.sr3ai.pipeline import geometry_of

    pipe = SimpleNamespace(transformer=SimpleNamespace(config=tiny_config(num_layers=5)))
    g = geometry_of(pipe, 64, 96, 17)
    assert (g.height, g.width, g.num_frames, g.latent_frames, g.rows, g.cols, g.num_blocks) == (64, 96, 17, 5, 4, 6, 5)


def test_encode_prompts_concatenates_separately_encoded_prompts(tiny_pipe):
    from types import SimpleNamespace

    import torch

    from dreamrunner_cli.sr3ai.pipeline import encode_prompts

    texts = ["a teddy is walking", "a cat", ""]
    out = encode_prompts(tiny_pipe, texts, 16)
    assert out.shape == (1, 48, 32) and out.dtype == torch.float32 and not out.requires_grad
    for i, text in enumerate(texts):
        one, _ = tiny_pipe.encode_prompt(prompt=[text], do_classifier_free_guidance=False, max_sequence_length=16,
                                         device=torch.device("cpu"))
        torch.testing.assert_close(out[0, 16 * i:16 * (i + 1)], one[0].detach(), rtol=0, atol=1e-5)
    assert not torch.equal(out[0, :16], out[0, 16:32])
    assert encode_prompts(tiny_pipe, texts[:2], 8).shape == (1, 16, 32)
    wide = SimpleNamespace(encode_prompt=tiny_pipe.encode_prompt, _execution_device=torch.device("cpu"),
                           transformer=SimpleNamespace(dtype=torch.float64))
    assert encode_prompts(wide, texts[:1], 16).dtype == torch.float64  # the transformer's dtype


class RecordingPipe:
    """Stands in for CogVideoXPipeline.__call__ around a real tiny transformer and text encoder: records the call's
    arguments and what is installed on the transformer during it, steps the callback, returns fixed frames."""

    def __init__(self, real, transformer, frames):
        import torch

        self.real, self.transformer, self.frames = real, transformer, frames
        self._execution_device = torch.device("cpu")
        self.calls: list[dict] = []
        self.encoded: list[dict] = []

    def encode_prompt(self, **kw):
        self.encoded.append(dict(kw))
        return self.real.encode_prompt(**kw)

    def __call__(self, **kw):
        import torch

        from dreamrunner_cli.sr3ai.lora import lora_layers

        t = self.transformer
        hooks = [h for layer in lora_layers(t) for h in layer._forward_hooks.values()]
        self.calls.append({"kwargs": kw, "processors": {type(p).__name__ for p in t.attn_processors.values()},
                           "text_positions": t.patch_embed.max_text_seq_length,
                           "peft_off": [layer.disable_adapters for layer in lora_layers(t)],
                           "region_lora": {h.__self__ for h in hooks}, "hooks": len(hooks)})
        mask = (kw.get("attention_kwargs") or {}).get("region_mask")
        if mask is not None:
            mask.calls += 7
        cb = kw.get("callback_on_step_end")
        for step in range(kw["num_inference_steps"]):
            if cb is not None:
                assert cb(self, step, 999 - step, {"latents": torch.full((1,), float(step))}) == {}
        from types import SimpleNamespace

        return SimpleNamespace(frames=[self.frames])


def recording_pipe(tiny_pipe, adapters=()):
    import warnings

    import numpy as np
    from diffusers import CogVideoXTransformer3DModel
    from peft import LoraConfig

    from dreamrunner_cli.models.tiny import tiny_transformer_config

    transformer = CogVideoXTransformer3DModel(**tiny_transformer_config())
    with warnings.catch_warnings():  # several adapters on one model is what we want here
        warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
        for name in adapters:
            # random B (not peft's zero init): an adapter that changes nothing is refused (sr3ai.lora.check_applies)
            transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=["transformer_blocks.0.attn1.to_q"],
                                               init_lora_weights=False), adapter_name=name)
    frames = np.array([-0.5, 0.0, 0.002, 0.2, 0.5, 1.0, 1.5], dtype=np.float32).reshape(1, 7, 1, 1)
    return RecordingPipe(tiny_pipe, transformer, np.broadcast_to(frames, (9, 7, 2, 3)))


EXPECTED_UINT8 = [0, 0, 1, 51, 128, 255, 255]  # clip to [0, 1], × 255, round (half to even), uint8


def test_render_scene_without_regions_is_one_stock_prompt(tiny_pipe):
    import numpy as np

    from dreamrunner_cli.config import RenderConfig
    from dreamrunner_cli.sr3ai.pipeline import render_scene

    scene = bound_scene()
    cfg = RenderConfig(height=64, width=96, num_frames=17, steps=3, guidance_scale=4.5, attention="sdpa")
    for regions, attention in ((None, "sdpa"), (bound_regions(), "none")):
        pipe = recording_pipe(tiny_pipe)
        out = render_scene(pipe, scene, cfg.model_copy(update={"attention": attention}), seed=11, regions=regions)
        (call,) = pipe.calls
        kw = call["kwargs"]
        generator = kw.pop("generator")
        assert generator.initial_seed() == 11 and generator.device.type == "cpu"
        assert kw == {"prompt": "a garden n", "negative_prompt": "", "max_sequence_length": 16, "height": 64,
                      "width": 96, "num_frames": 17, "num_inference_steps": 3, "guidance_scale": 4.5,
                      "use_dynamic_cfg": False, "output_type": "np"}
        assert call["processors"] == {"CogVideoXAttnProcessor2_0"}
        assert (out.seed, out.prompts, out.adapters, out.mask_calls) == (11, ["a garden n"], [], 0)
        assert out.frames.dtype == np.uint8 and out.frames.shape == (9, 7, 2, 3)
        assert out.frames[0, :, 0, 0].tolist() == EXPECTED_UINT8
    pipe = recording_pipe(tiny_pipe)
    no_bg = scene.model_copy(update={"background": "", "narration": " a story "})
    assert render_scene(pipe, no_bg, cfg, seed=0).prompts == ["a story"]


def test_render_scene_seeds_a_cpu_generator_on_mps(tiny_pipe):
    import torch

    from dreamrunner_cli.config import RenderConfig
    from dreamrunner_cli.sr3ai.pipeline import render_scene

    pipe = recording_pipe(tiny_pipe)
    pipe._execution_device = torch.device("mps")  # MPS generators are not supported: the noise is drawn on the CPU
    render_scene(pipe, bound_scene(), RenderConfig(height=64, width=64, num_frames=9, attention="none"), seed=3)
    generator = pipe.calls[0]["kwargs"]["generator"]
    assert generator.device.type == "cpu" and generator.initial_seed() == 3


def test_render_scene_callbacks(tiny_pipe):
    from dreamrunner_cli.config import RenderConfig
    from dreamrunner_cli.sr3ai.pipeline import render_scene

    cfg = RenderConfig(height=64, width=64, num_frames=9, steps=3, attention="none")
    pipe = recording_pipe(tiny_pipe)
    render_scene(pipe, bound_scene(), cfg, seed=0)
    assert "callback_on_step_end" not in pipe.calls[0]["kwargs"]
    assert "callback_on_step_end_tensor_inputs" not in pipe.calls[0]["kwargs"]
    steps, latents = [], []
    pipe = recording_pipe(tiny_pipe)
    render_scene(pipe, bound_scene(), cfg, seed=0, on_step=lambda: steps.append(1))
    assert steps == [1, 1, 1] and pipe.calls[0]["kwargs"]["callback_on_step_end_tensor_inputs"] == ["latents"]
    pipe = recording_pipe(tiny_pipe)
    render_scene(pipe, bound_scene(), cfg, seed=0, on_latents=lambda step, z: latents.append((step, float(z[0]))))
    assert latents == [(1, 0.0), (2, 1.0), (3, 2.0)]
    steps, latents = [], []
    pipe = recording_pipe(tiny_pipe)
    render_scene(pipe, bound_scene(), cfg, seed=0, on_step=lambda: steps.append(len(latents)),
                 on_latents=lambda step, z: latents.append(step))
    assert steps == [0, 1, 2] and latents == [1, 2, 3]  # on_step first, then on_latents, every step


def test_render_scene_with_regions_passes_region_prompts_mask_and_masked_loras(tiny_pipe, monkeypatch):
    import torch

    from dreamrunner_cli.config import RenderConfig
    from dreamrunner_cli.sr3ai import attention, lora
    from dreamrunner_cli.sr3ai.attention import RegionMask
    from dreamrunner_cli.sr3ai.lora import RegionLoRA, token_masks
    from dreamrunner_cli.sr3ai.pipeline import encode_prompts, render_scene

    devices = []  # the device the mask and the LoRA masks are built on: the pipeline's execution device
    original_from_regions = RegionMask.from_regions.__func__

    def from_regions(cls, regions, backend, device):
        devices.append(("mask", device))
        return original_from_regions(cls, regions, backend, device)

    def spy_token_masks(regions, adapters, device, dtype):
        devices.append(("lora", device))
        return token_masks(regions, adapters, device, dtype)

    monkeypatch.setattr(attention.RegionMask, "from_regions", classmethod(from_regions))
    monkeypatch.setattr(lora, "token_masks", spy_token_masks)

    regions = bound_regions()
    cfg = RenderConfig(height=64, width=64, num_frames=9, steps=2, guidance_scale=6.0, attention="flex",
                       character_lora_scale=0.25, motion_lora_scale=0.75)
    pipe = recording_pipe(tiny_pipe, adapters=["motion-walking", "character-teddy"])
    adapters = [("motion", "walking"), ("character", "teddy")]
    out = render_scene(pipe, bound_scene(), cfg, seed=5, regions=regions, adapters=adapters)
    (call,) = pipe.calls
    kw = call["kwargs"]
    texts = [p.text for p in regions.prompts]
    assert (out.seed, out.prompts, out.adapters, out.mask_calls) == (5, texts, ["motion-walking", "character-teddy"],
                                                                      7)
    assert out.frames[0, :, 0, 0].tolist() == EXPECTED_UINT8
    assert kw["generator"].initial_seed() == 5
    assert devices == [("mask", torch.device("cpu")), ("lora", torch.device("cpu"))]
    encode = dict(do_classifier_free_guidance=False, num_videos_per_prompt=1, max_sequence_length=16,
                  device=torch.device("cpu"), dtype=torch.float32)
    assert pipe.encoded == [dict(prompt=texts, **encode), dict(prompt=[""] * 4, **encode)]
    assert torch.equal(kw.pop("prompt_embeds"), encode_prompts(tiny_pipe, texts, 16))
    assert torch.equal(kw.pop("negative_prompt_embeds"), encode_prompts(tiny_pipe, [""] * 4, 16))
    mask = kw.pop("attention_kwargs")["region_mask"]
    assert isinstance(mask, RegionMask) and mask.backend == "flex" and mask.seq_len == regions.seq_len
    assert torch.equal(mask.bits, torch.from_numpy(regions.token_bits()))
    kw.pop("generator")
    assert kw == {"height": 64, "width": 64, "num_frames": 9, "num_inference_steps": 2, "guidance_scale": 6.0,
                  "use_dynamic_cfg": False, "output_type": "np"}
    # during the call: region attention, P·L text positions, peft's own LoRA path off and our hooks on
    assert call["processors"] == {"RegionMaskedCogVideoXAttnProcessor"}
    assert call["text_positions"] == 4 * 16 and pipe.transformer.patch_embed.max_text_seq_length == 16
    assert call["peft_off"] == [True] and call["hooks"] == 1
    (rl,) = call["region_lora"]
    assert isinstance(rl, RegionLoRA) and rl.scale == 1.0
    assert rl.scales == {"motion-walking": 0.75, "character-teddy": 0.25}
    expected = token_masks(regions, adapters, "cpu", torch.float32)
    assert list(rl.masks) == list(expected)
    assert all(torch.equal(rl.masks[k], expected[k]) and rl.masks[k].dtype == torch.float32 for k in expected)
    # afterwards: the stock processors, no hooks, peft's path on again
    transformer = pipe.transformer
    assert {type(p).__name__ for p in transformer.attn_processors.values()} == {"CogVideoXAttnProcessor2_0"}
    layer = transformer.transformer_blocks[0].attn1.to_q
    assert not layer._forward_hooks and not layer.disable_adapters
    # no adapters: no masks, no hooks that add anything
    pipe = recording_pipe(tiny_pipe)
    out = render_scene(pipe, bound_scene(), cfg.model_copy(update={"attention": "sdpa"}), seed=5, regions=regions)
    assert out.adapters == [] and pipe.calls[0]["kwargs"]["attention_kwargs"]["region_mask"].backend == "sdpa"


def test_to_uint8_keeps_uint8_frames_and_converts_floats():
    import numpy as np

    from dreamrunner_cli.sr3ai.pipeline import _to_uint8

    frames = np.arange(24, dtype=np.uint8).reshape(1, 2, 4, 3)
    assert _to_uint8(frames) is frames
    got = _to_uint8([[0.25, 0.7]])
    assert got.dtype == np.uint8 and got.tolist() == [[64, 178]]


class FakeVAE:
    """decode(z) returns z's first three channels as the picture, so the pixels show which latent was decoded."""

    def __init__(self, scaling_factor, dtype):
        from types import SimpleNamespace

        self.config = SimpleNamespace(scaling_factor=scaling_factor)
        self.dtype = dtype
        self.seen: list = []

    def decode(self, z):
        from types import SimpleNamespace

        self.seen.append((tuple(z.shape), z.dtype))
        return SimpleNamespace(sample=z[:, :3])


@pytest.mark.parametrize("frames, picks", [(5, [0, 2, 4]), (4, [0, 2, 3]), (2, [0, 1]), (1, [0]), (7, [0, 3, 6])])
def test_preview_frames_decodes_the_first_middle_and_last_latent_frames(frames, picks):
    from types import SimpleNamespace

    import numpy as np
    import torch

    from dreamrunner_cli.sr3ai.pipeline import preview_frames

    gen = torch.Generator().manual_seed(frames)
    latents = torch.randn(1, frames, 4, 2, 3, generator=gen) * 0.6  # (1, F, C, h, w), some past ±1 after scaling
    vae = FakeVAE(0.5, torch.float64)
    out = preview_frames(SimpleNamespace(vae=vae), latents)
    assert out.dtype == np.uint8 and out.shape == (len(picks), 2, 3, 3)
    assert vae.seen == [((1, 4, 1, 2, 3), torch.float64)] * len(picks)
    z = latents.double().numpy()[0, picks, :3] / 0.5  # (n, 3, h, w)
    expected = np.round((np.clip(z, -1, 1) + 1) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)
    assert np.array_equal(out, expected)
    assert (np.abs(z) > 1).any() and (out == 0).any() and (out == 255).any()


# Mask pictures and the .npz (sr3ai/export.py) ---------------------------------------------------------------------


def overlap_scene(scene_id: str = "s01"):
    """Teddy covers columns 0-2, the cat rows 0-1 of columns 2-3: one overlapping token column (col 2, rows 0-1)."""
    from dreamrunner_cli.schema import Keyframe, Region, Scene

    teddy = Region(entity="teddy", motion="walking", caption="a teddy is walking", box=(0.0, 0.0, 0.75, 1.0))
    cat = Region(entity="cat", motion="jumping", caption="a cat is jumping", box=(0.5, 0.0, 1.0, 0.5))
    return Scene(id=scene_id, narration="n", background="a garden", keyframes=[Keyframe(regions=[teddy, cat])] * 6)


def manual_regions(keyframes: list[int], membership):
    """SceneRegions built by hand: 2 prompts + background at the tiny geometry with len(keyframes) latent frames."""
    from dreamrunner_cli.sr3ai.regions import RegionPrompt, SceneRegions

    frames = {1: 1, 2: 8, 3: 9, 4: 16, 5: 17}[len(keyframes)]
    prompts = [RegionPrompt("a teddy"), RegionPrompt("a cat"), RegionPrompt("a garden", background=True)]
    return SceneRegions("s01", tiny_geometry(frames), prompts, membership, keyframes)


def test_panel_groups_join_runs_of_identical_latent_frames_of_one_key_frame():
    import numpy as np

    from dreamrunner_cli.sr3ai.export import panel_groups

    m = np.zeros((3, 5, 4, 4), dtype=bool)
    m[0, :, 0, 0] = True
    m[1, 3:, 1, 1] = True  # latent frames 3 and 4 differ from 0-2
    # key frames [0, 0, 1, 1, 1]: 0-1 are one run; 2 has the same membership as 1 but another key frame; 3-4 a run
    assert panel_groups(manual_regions([0, 0, 1, 1, 1], m)) == [(0, 1), (2, 2), (3, 4)]
    m2 = m.copy()
    m2[2, 1, 3, 3] = True  # latent frame 1 differs from 0 in the background prompt only
    assert panel_groups(manual_regions([0, 0, 1, 1, 1], m2)) == [(0, 0), (1, 1), (2, 2), (3, 4)]
    assert panel_groups(manual_regions([0, 0, 0, 0, 0], np.zeros((3, 5, 4, 4), dtype=bool))) == [(0, 4)]
    assert panel_groups(manual_regions([2], np.zeros((3, 1, 4, 4), dtype=bool))) == [(0, 0)]


def test_legend_entries_and_grid_shape():
    from dreamrunner_cli.sr3ai.export import MAX_COLUMNS, PANEL_MAX_SIDE, grid_shape, legend_entries
    from dreamrunner_cli.sr3ai.regions import scene_regions

    assert legend_entries(scene_regions(overlap_scene(), tiny_geometry())) == [
        "0: a teddy is walking", "1: a cat is jumping", "2: [background] a garden"]
    assert (MAX_COLUMNS, PANEL_MAX_SIDE) == (3, 360)
    assert [grid_shape(n) for n in range(8)] == [(0, 1), (1, 1), (1, 2), (1, 3), (2, 3), (2, 3), (2, 3), (3, 3)]
    assert grid_shape(5, columns=2) == (3, 2) and grid_shape(4, columns=4) == (1, 4) and grid_shape(3, 0) == (3, 1)


def text_band(size, items):
    """A white picture with the given (xy, text) drawn in black with the bundled 13-pixel font."""
    from PIL import Image, ImageDraw

    from dreamrunner_cli.assets import font

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for xy, text in items:
        draw.text(xy, text, fill="black", font=font(13))
    return img


def test_draw_regions_grid_colours_stripes_outline_and_legend(tmp_path):
    import numpy as np
    from PIL import Image

    from dreamrunner_cli.sr3ai.export import BACKGROUND, GRID, PALETTE, draw_regions
    from dreamrunner_cli.sr3ai.regions import scene_regions

    regions = scene_regions(overlap_scene(), tiny_geometry())
    out = draw_regions(regions, tmp_path / "pics" / "s01.png")
    assert out == tmp_path / "pics" / "s01.png" and [p.name for p in out.parent.iterdir()] == ["s01.png"]
    img = Image.open(out)
    assert img.format == "PNG" and img.mode == "RGB"
    assert Image.open(draw_regions(regions, tmp_path / "pics" / "no-suffix")).format == "PNG"  # PNG by name
    # 3 latent frames of key frames 1, 3, 5 → 3 panels in one row; cells of 16 px (4 × 4 tokens → 64 px panels),
    # too narrow for a one-line title: two lines (a 39 px band), each slot as wide as the widest line ("latent
    # frame 0", 94 px); width 12 + 3 · (94 + 12); height 12 + (39 + 64 + 12) + legend (3 · 18 + 3 · 4 + 12)
    assert img.size == (330, 205)
    a = np.asarray(img)
    teddy, cat = PALETTE[0], PALETTE[1]
    for i in range(3):
        x0, top = 12 + i * 106, 12 + 39
        px = {(r, c): tuple(a[top + 16 * r + 8, x0 + 16 * c + 8]) for r in range(4) for c in range(4)}
        assert px[(0, 0)] == px[(3, 1)] == px[(2, 2)] == teddy
        assert px[(1, 3)] == cat and px[(2, 3)] == px[(3, 3)] == BACKGROUND
        # the overlapping token: a left stripe in the teddy's colour, a right one in the cat's, 8 pixels each
        y = top + 16 * 0 + 8
        x = x0 + 16 * 2
        assert [tuple(a[y, x + k]) for k in (1, 7, 8, 14)] == [teddy, teddy, cat, cat]
        assert [tuple(a[top + 15, x + k]) for k in (1, 7, 8, 14)] == [teddy, teddy, cat, cat]  # its last row
        assert tuple(a[top + 16 + 15, x0 + 8]) == tuple(a[top + 16 + 15, x0 + 16 + 15]) == teddy  # a full cell's
        # the black outline of the panel, white just outside it
        assert tuple(a[top, x0 + 30]) == tuple(a[top + 63, x0 + 30]) == (0, 0, 0)
        assert tuple(a[top + 30, x0]) == tuple(a[top + 30, x0 + 63]) == (0, 0, 0)
        assert tuple(a[top + 30, x0 + 64]) == tuple(a[top + 64, x0 + 30]) == (255, 255, 255)
        assert tuple(a[top + 1, x0 + 1]) == teddy and tuple(a[top + 62, x0 + 62]) == BACKGROUND
        # white lines between the token cells (one cell = one token)
        assert tuple(a[top + 16, x0 + 8]) == tuple(a[top + 8, x0 + 16]) == tuple(a[top + 48, x0 + 40]) == GRID
    # the panel titles on two lines, one slot apart: they never run into each other
    heads = text_band((330, 39), [item for i, k in enumerate((1, 3, 5)) for item in
                                  (((12 + i * 106, 0), f"key frame {k}"), ((12 + i * 106, 17), f"latent frame {i}"))])
    assert np.array_equal(a[12:51], np.asarray(heads))
    # the legend: a swatch per prompt in its colour, the text beside it
    y = 12 + 115
    for p, colour in enumerate([teddy, cat, BACKGROUND]):
        assert tuple(a[y + 3 + 6, 12 + 6]) == colour
        assert tuple(a[y + 3, 12]) == tuple(a[y + 3 + 12, 12 + 12]) == colour  # the swatch's corners
        assert tuple(a[y + 2, 12 + 6]) == tuple(a[y + 3 + 13, 12 + 6]) == (255, 255, 255)
        y += 18 + 4
    legend = text_band((330 - 32, 66), [((0, 22 * p), t) for p, t in enumerate(
        ["0: a teddy is walking", "1: a cat is jumping", "2: [background] a garden"])])
    assert np.array_equal(a[127:193, 32:], np.asarray(legend))


def test_draw_regions_cell_size_and_grid_of_panels(tmp_path):
    import numpy as np
    from PIL import Image

    from dreamrunner_cli.sr3ai.export import BACKGROUND, PALETTE, draw_regions
    from dreamrunner_cli.sr3ai.regions import scene_regions

    # 480 wide, 48 frames: 4 × 30 tokens, 12 latent frames in 6 key-frame pairs → a 2 × 3 grid, cells of 12 px
    regions = scene_regions(overlap_scene(), tiny_geometry(48, 64, 480))
    img = Image.open(draw_regions(regions, tmp_path / "a.png"))
    pw, ph = 30 * 12, 4 * 12
    assert img.size[0] == 12 + 3 * (pw + 12)
    a = np.asarray(img)
    x0, top = 12 + 2 * (pw + 12), 12 + (22 + ph + 12) + 22  # the 6th panel: 2nd row, 3rd column
    assert tuple(a[top + 6, x0 + 6]) == PALETTE[0] and tuple(a[top + 42, x0 + 354]) == BACKGROUND
    assert tuple(a[top + 6, x0 + 29 * 12 + 6]) == PALETTE[1]
    assert tuple(a[top + ph, x0 + 6]) == (255, 255, 255)
    # a panel of two latent frames says so
    head = text_band((pw, 22), [((0, 0), "key frame 1 · latent frames 0–1")])
    assert np.array_equal(a[12:34, 12:12 + pw], np.asarray(head))
    # an explicit cell size; a narrow grid is never below 4 pixels a cell, nor above 16
    assert Image.open(draw_regions(regions, tmp_path / "b.png", cell=5)).size[0] == 12 + 3 * (30 * 5 + 12)
    wide = scene_regions(overlap_scene(), tiny_geometry(9, 64, 1600))  # 100 columns: 360 // 100 = 3 → 4
    assert Image.open(draw_regions(wide, tmp_path / "c.png")).size[0] == 12 + 3 * (100 * 4 + 12)
    tall = scene_regions(overlap_scene(), tiny_geometry(9, 96, 48))  # 6 × 3 tokens: 360 // 6 = 60 → 16
    img = Image.open(draw_regions(tall, tmp_path / "d.png"))
    assert img.size[0] == 12 + 3 * (94 + 12)  # 48 px panels: each slot as wide as its title ("latent frame 0")


def test_the_legend_wraps_at_the_width_beside_the_swatch(tmp_path):
    """A caption whose first line is between W - 1 and W pixels wide, then a short word: at the picture's text width
    (W = 330 - 2 · 12 - 12 - 8 = 286) it is two lines, at any other width a different wrap (and picture height)."""
    import itertools

    import numpy as np
    from PIL import Image

    from dreamrunner_cli.assets import font, wrap
    from dreamrunner_cli.schema import Keyframe, Region, Scene
    from dreamrunner_cli.sr3ai.export import draw_regions
    from dreamrunner_cli.sr3ai.regions import scene_regions

    f = font(13)
    word = next(w for a, b in itertools.product(range(40), range(60))
                if 285 < f.getlength("0: " + (w := "x" * a + "i" * b)) <= 286)
    caption = word + " a"
    entry = "0: " + caption
    lines = wrap(entry, f, 286)
    assert lines == ["0: " + word, "a"]
    assert all(wrap(entry, f, w) != lines for w in (274, 285, 302, 310, 328))
    scene = Scene(id="s01", narration="n", background="bg", keyframes=[Keyframe(regions=[
        Region(entity="teddy", caption=caption, box=(0.0, 0.0, 0.5, 0.5))])] * 6)
    img = Image.open(draw_regions(scene_regions(scene, tiny_geometry()), tmp_path / "w.png"))
    assert img.size == (330, 12 + 115 + 3 * 18 + 2 * 4 + 12)
    legend = text_band((298, 36), [((0, 0), lines[0]), ((0, 18), lines[1])])  # the first entry's two lines
    assert np.array_equal(np.asarray(img)[127:163, 32:], np.asarray(legend))


def test_draw_regions_colours_cycle_past_the_palette(tmp_path):
    import numpy as np
    from PIL import Image

    from dreamrunner_cli.sr3ai.export import BACKGROUND, PALETTE, draw_regions
    from dreamrunner_cli.sr3ai.regions import RegionPrompt, SceneRegions

    P = 14  # 13 region prompts: the 13th takes the palette's first colour again
    geom = tiny_geometry(1, 64, 256)  # 1 latent frame of 4 × 16 tokens
    m = np.zeros((P, 1, 4, 16), dtype=bool)
    for p in range(P - 1):
        m[p, 0, 0, p] = True
    m[P - 1] = ~m[:P - 1].any(0)
    prompts = [RegionPrompt(f"prompt {p}") for p in range(P - 1)] + [RegionPrompt("bg", background=True)]
    img = Image.open(draw_regions(SceneRegions("s", geom, prompts, m, [0]), tmp_path / "p.png"))
    a = np.asarray(img)
    cell = 360 // 16  # 22 → capped at 16
    row = [tuple(a[12 + 22 + cell // 2, 12 + 16 * c + 8]) for c in range(16)]
    assert row[:12] == PALETTE and row[12] == PALETTE[0] and row[13:] == [BACKGROUND] * 3


def test_export_masks_writes_the_npz_and_one_picture_per_scene(tmp_path):
    import json

    import numpy as np

    from dreamrunner_cli.schema import Keyframe, Plan, Region
    from dreamrunner_cli.sr3ai.export import export_masks
    from dreamrunner_cli.sr3ai.regions import scene_regions

    moving = overlap_scene("s02").model_copy(update={"keyframes": [
        Keyframe(regions=[Region(entity="teddy", caption="a teddy", box=(0.15 * k, 0.0, 0.15 * k + 0.25, 1.0))],
                 merged=[Region(entity="teddy", caption="merged", box=(0.0, 0.0, 0.25, 0.25))]) for k in range(6)]})
    plan = Plan(scenes=[overlap_scene("s01"), moving])
    geom = tiny_geometry(17)
    npz, pics = tmp_path / "out" / "masks.npz", tmp_path / "pics"
    got = export_masks(plan, geom, ["s02", "s01"], npz, pics, policy="interpolate", overlap="merged")
    assert got == {"npz": str(npz), "pictures": [str(pics / "s02.png"), str(pics / "s01.png")],
                   "geometry": geom.to_dict()}
    assert (pics / "s01.png").is_file() and (pics / "s02.png").is_file()
    with np.load(npz) as z:
        assert sorted(z.files) == ["geometry", "s01/keyframe", "s01/membership", "s01/prompts", "s02/keyframe",
                                   "s02/membership", "s02/prompts"]
        assert json.loads(str(z["geometry"])) == geom.to_dict()
        for sid in ("s01", "s02"):
            regions = scene_regions(plan.scene(sid), geom, "interpolate", "merged")
            assert z[f"{sid}/prompts"].tolist() == [p.text for p in regions.prompts]
            assert z[f"{sid}/membership"].dtype == bool
            assert np.array_equal(z[f"{sid}/membership"], regions.membership)
            assert z[f"{sid}/keyframe"].tolist() == regions.keyframe_of_latent
        assert z["s02/prompts"].tolist() == ["a teddy", "merged", "a garden"]
        repeat = scene_regions(moving, geom, "repeat", "merged").membership
        assert not np.array_equal(z["s02/membership"], repeat)  # the policy was passed on
        assert z["s02/membership"][1, :, 0, 0].all()  # and the overlap mode (the merged caption is a prompt)
    export_masks(plan, geom, ["s02"], npz, pics)  # defaults: 'repeat', 'all'
    with np.load(npz) as z:
        assert "s01/prompts" not in z.files and z["s02/prompts"].tolist() == ["a teddy", "a garden"]
        assert np.array_equal(z["s02/membership"], scene_regions(moving, geom, "repeat", "all").membership)
        assert not np.array_equal(z["s02/membership"], scene_regions(moving, geom, "interpolate", "all").membership)
    assert sorted(p.name for p in npz.parent.iterdir()) == ["masks.npz"]


# The region mask and the attention processor (sr3ai/attention.py) -----------------------------------------------


def random_tokens(S: int, n_text: int, seed: int = 0):
    """token bits (int64, a few bits each, some tokens with none) and is_video for a sequence of S tokens whose
    first n_text are text."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 16, (S,), generator=gen, dtype=torch.int64)
    bits[::7] = 0
    bits[:n_text] = 1 << (torch.arange(n_text) % 5)
    if S > 5:  # a high bit shared by a text and a video token (int64 arithmetic, not int32)
        bits[3] = 1 << 40
        bits[-1] |= 1 << 40
    is_video = torch.arange(S) >= n_text
    return bits, is_video


def rule(bits, is_video):
    """The C.2 rule evaluated entry by entry: video ↔ video always, else a shared region bit."""
    import numpy as np

    b, v = bits.tolist(), is_video.tolist()
    S = len(b)
    return np.array([[(v[q] and v[k]) or (b[q] & b[k]) != 0 for k in range(S)] for q in range(S)], dtype=bool)


def test_region_mask_construction():
    import torch

    from dreamrunner_cli.sr3ai.attention import RegionMask

    bits, vid = random_tokens(10, 4)
    m = RegionMask(bits, vid)
    assert (m.backend, m.seq_len, m.use_additive, m.calls, m.builds) == ("sdpa", 10, False, 0, 0)
    assert m.bits is bits and m.is_video is vid and m._dense is None and m._additive is None and m._block_mask is None
    assert RegionMask(bits, vid, "flex").backend == "flex"
    assert RegionMask(bits.to("meta"), vid.to("meta")).use_additive is False
    for bad in ("none", "dense"):
        with pytest.raises(UsageError) as e:
            RegionMask(bits, vid, bad)
        assert e.value.message == f"unknown attention backend {bad!r}" and e.value.hint == "choose none, sdpa or flex"
    regions = bound_regions()
    rm = RegionMask.from_regions(regions, "flex", "cpu")
    assert rm.backend == "flex" and rm.seq_len == regions.seq_len == 4 * 16 + 48
    assert torch.equal(rm.bits, torch.from_numpy(regions.token_bits()))
    assert torch.equal(rm.is_video, torch.from_numpy(regions.is_video()))
    assert rm.bits.dtype == torch.int64 and rm.is_video.dtype == torch.bool


def test_allowed_rows_and_dense_mask_are_the_rule_chunk_by_chunk(monkeypatch):
    import numpy as np
    import torch

    from dreamrunner_cli.sr3ai import attention
    from dreamrunner_cli.sr3ai.attention import RegionMask

    bits, vid = random_tokens(37, 9)
    expected = rule(bits, vid)
    assert expected.any() and not expected.all() and expected[:9, :9].sum() < 81
    m = RegionMask(bits, vid)
    assert np.array_equal(m.allowed_rows(5, 12).numpy(), expected[5:12])
    assert np.array_equal(m.allowed_rows(36, 37).numpy(), expected[36:])
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 100)  # 2 rows a chunk: 19 chunks, the last of 1 row
    assert list(m._row_chunks()) == [(s, min(s + 2, 37)) for s in range(0, 37, 2)]
    dense = m.dense()
    assert dense.shape == (1, 1, 37, 37) and dense.dtype == torch.bool
    assert np.array_equal(dense[0, 0].numpy(), expected)
    assert m.dense() is dense and m.builds == 1
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 10)  # fewer entries than a row: still one row a chunk
    assert list(m._row_chunks())[:2] == [(0, 1), (1, 2)] and len(list(m._row_chunks())) == 37
    fresh = RegionMask(bits, vid)
    assert np.array_equal(fresh.dense()[0, 0].numpy(), expected)


def test_row_chunks_in_multiples_of_a_tile(monkeypatch):
    from dreamrunner_cli.sr3ai import attention
    from dreamrunner_cli.sr3ai.attention import RegionMask

    bits, vid = random_tokens(37, 9)
    m = RegionMask(bits, vid)
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 1000)  # 27 rows → 24, a multiple of 8
    assert list(m._row_chunks(8)) == [(0, 24), (24, 37)]
    assert list(m._row_chunks()) == [(0, 27), (27, 37)]
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 100)  # 2 rows → at least one tile of 8
    assert list(m._row_chunks(8)) == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 37)]
    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 1 << 20)
    assert list(m._row_chunks(128)) == [(0, 37)] and list(m._row_chunks()) == [(0, 37)]
    assert attention.CHUNK_ELEMENTS == 1 << 20 and attention.FLEX_BLOCK == 128


def test_masks_are_built_on_the_tokens_device():
    import torch

    from dreamrunner_cli.sr3ai import attention
    from dreamrunner_cli.sr3ai.attention import RegionMask

    bits, vid = random_tokens(44, 9)
    m = RegionMask(bits.to("meta"), vid.to("meta"), "flex")
    assert m.dense().device.type == "meta" and m.additive(torch.float16).device.type == "meta"
    bm = m.block_mask()
    assert bm.kv_num_blocks.device.type == "meta" and bm.full_kv_indices.device.type == "meta"
    old = attention.FLEX_BLOCK
    try:
        attention.FLEX_BLOCK = 8  # several tiles, so every per-tile tensor is exercised
        bm8 = RegionMask(bits.to("meta"), vid.to("meta"), "flex").block_mask()
    finally:
        attention.FLEX_BLOCK = old
    assert bm8.kv_indices.device.type == "meta" and bm8.kv_indices.shape[-1] == 6
    r = RegionMask.from_regions(bound_regions(), "sdpa", "meta")
    assert r.bits.device.type == "meta" and r.is_video.device.type == "meta"


def test_additive_mask_is_zero_or_minus_inf_with_rows_padded_to_16(monkeypatch):
    import numpy as np
    import torch

    from dreamrunner_cli.sr3ai import attention
    from dreamrunner_cli.sr3ai.attention import RegionMask

    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 100)
    for S, pad in ((37, 48), (32, 32), (33, 48), (1, 16)):
        bits, vid = random_tokens(S, min(9, S))
        expected = rule(bits, vid)
        m = RegionMask(bits, vid)
        add = m.additive(torch.float32)
        assert add.shape == (1, 1, S, S) and add.dtype == torch.float32 and m.builds == 1
        assert add.stride() == (S * pad, S * pad, pad, 1)  # a view of (1, 1, S, S_pad) storage
        assert add.untyped_storage().nbytes() == S * pad * 4
        values = add[0, 0].numpy()
        assert np.array_equal(values == 0, expected) and np.array_equal(values == -np.inf, ~expected)
        assert m.additive(torch.float32) is add and m.builds == 1  # reused
        half = m.additive(torch.float16)
        assert half.dtype == torch.float16 and m.builds == 2 and m._additive is half
        assert np.array_equal(half[0, 0].float().numpy(), values)
        assert m.dense()[0, 0].numpy().tolist() == expected.tolist() and m.builds == 3


def tiles_of(allowed, S: int, T: int):
    """(full, partial) bool (n, n) tile summaries of a dense S×S rule; tiles cut by the sequence end never full."""
    import numpy as np

    n = -(-S // T)
    full = np.zeros((n, n), dtype=bool)
    partial = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(n):
            tile = allowed[i * T:(i + 1) * T, j * T:(j + 1) * T]
            whole = tile.shape == (T, T)
            full[i, j] = whole and tile.all()
            partial[i, j] = tile.any() and not full[i, j]
    return full, partial


def kv_blocks_of(tiles):
    """Reference num_blocks / indices: each row's selected tiles in order (the rest of the row in any order)."""
    return [int(r.sum()) for r in tiles], [[j for j, t in enumerate(r) if t] for r in tiles]


@pytest.mark.parametrize("chunk", [100, 1000, 1 << 20])
def test_block_mask_tiles_match_the_rule(monkeypatch, chunk):
    import numpy as np

    from dreamrunner_cli.sr3ai import attention
    from dreamrunner_cli.sr3ai.attention import RegionMask

    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(attention, "FLEX_BLOCK", 8)
    import torch

    # 44 tokens in 8-token tiles (the last one cut at 4): text of prompts A (bit 0) and B (bit 1), then video tokens
    # of the background (bit 2), of A, of A and/or B, and a last cut tile sharing bit 40 with text token 7
    S = 44
    bits = torch.tensor([1] * 7 + [1 | 1 << 40] + [2] * 8 + [4] * 8 + [1] * 8 + [1, 2, 3, 1, 2, 3, 3, 1]
                        + [4 | 1 << 40] * 4, dtype=torch.int64)
    vid = torch.arange(S) >= 16
    expected = rule(bits, vid)
    full, partial = tiles_of(expected, S, 8)
    assert full.any() and partial.any() and (~(full | partial)).any()  # all three kinds of tile occur
    m = RegionMask(bits, vid, "flex")
    bm = m.block_mask()
    assert m.block_mask() is bm and m.builds == 1
    m.dense()
    assert m.builds == 2 and RegionMask(bits, vid, "flex").block_mask() is not bm
    other = RegionMask(bits, vid, "flex")
    other.dense()
    other.block_mask()
    assert other.builds == 2  # each form counts once
    assert bm.BLOCK_SIZE == (8, 8) and tuple(bm.seq_lengths) == (S, S)
    for (num, idx), tiles in (((bm.kv_num_blocks, bm.kv_indices), partial),
                              ((bm.full_kv_num_blocks, bm.full_kv_indices), full)):
        want_num, want_idx = kv_blocks_of(tiles)
        assert num[0, 0].tolist() == want_num
        assert [row[:k] for row, k in zip(idx[0, 0].tolist(), want_num)] == want_idx
    # the dense mask the BlockMask stands for (full tiles, plus mask_mod inside partial tiles) is the rule
    assert np.array_equal(bm.to_dense()[0, 0].numpy().astype(bool)[:6, :6], (full | partial))
    mod = m.mask_mod()
    q = np.arange(S)[:, None].repeat(S, 1)
    k = np.arange(S)[None, :].repeat(S, 0)

    got = mod(0, 0, torch.from_numpy(q), torch.from_numpy(k))
    assert full[0, 0] and full[0, 3] and full[2, 2] and not (full | partial)[0, 1] and partial[0, 4]
    assert partial[5, 5] and expected[40:, 40:].all()  # the cut tile is allowed everywhere but never full
    assert np.array_equal(got.numpy(), expected)


def test_kv_blocks_lists_each_rows_selected_tiles_first_in_order():
    import torch

    from dreamrunner_cli.sr3ai.attention import _kv_blocks

    tiles = torch.tensor([[True, False, True], [False, False, False], [False, True, True]])
    num, idx = _kv_blocks(tiles)
    assert num.dtype == idx.dtype == torch.int32
    assert num.tolist() == [[[2, 0, 2]]]
    assert idx.tolist() == [[[[0, 2, 1], [0, 1, 2], [1, 2, 0]]]]
    # a long row (as at real sizes): the order is kept whatever the sort's algorithm (a stable sort)
    gen = torch.Generator().manual_seed(0)
    wide = torch.rand(2, 100_000, generator=gen) < 0.5
    num, idx = _kv_blocks(wide)
    for r in range(2):
        n = int(num[0, 0, r])
        assert n == int(wide[r].sum())
        assert torch.equal(idx[0, 0, r, :n].long(), wide[r].nonzero()[:, 0])
        assert torch.equal(idx[0, 0, r, n:].long(), (~wide[r]).nonzero()[:, 0])


def reference_attention(q, k, v, allowed):
    """softmax(q kᵀ / √d, blocked entries removed) v, in float64."""
    import math

    scores = (q.double() @ k.double().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (scores.softmax(-1) @ v.double()).to(q.dtype)


@pytest.mark.parametrize("backend, additive", [("sdpa", False), ("sdpa", True), ("flex", False)])
def test_attend_is_masked_attention_by_the_rule(backend, additive):
    import warnings

    import torch

    from dreamrunner_cli.sr3ai.attention import RegionMask

    S = 37
    bits, vid = random_tokens(S, 9, seed=2)
    allowed = torch.from_numpy(rule(bits, vid))
    assert allowed.any(1).all()  # every query sees something
    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(2, 2, S, 8, generator=gen) for _ in range(3))
    m = RegionMask(bits, vid, backend)
    m.use_additive = additive
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = m.attend(q, k, v)
        out2 = m.attend(q, k, v)
    assert m.calls == 2 and m.builds == 1
    torch.testing.assert_close(out, reference_attention(q, k, v, allowed), rtol=1e-5, atol=1e-5)
    assert torch.equal(out, out2)
    assert (m._additive is not None) == additive and (m._dense is not None) == (backend == "sdpa" and not additive)
    assert (m._block_mask is not None) == (backend == "flex")


def test_flex_attention_is_eager_off_cuda_and_compiled_once_on_cuda(monkeypatch):
    import torch
    from torch.nn.attention.flex_attention import flex_attention

    from dreamrunner_cli.sr3ai import attention

    compiles = []

    def compile_spy(fn, **kw):
        compiles.append((fn, kw))
        return lambda *a, **k: ("compiled", fn)

    monkeypatch.setattr(attention, "_COMPILED_FLEX", None)
    monkeypatch.setattr(torch, "compile", compile_spy)
    assert attention._flex_attention("cpu") is flex_attention
    assert attention._COMPILED_FLEX is None and compiles == []
    compiled = attention._flex_attention("cuda")
    assert compiles == [(flex_attention, {"dynamic": False})]  # static shapes: one scene's shapes never change
    assert compiled() == ("compiled", flex_attention) and attention._COMPILED_FLEX is compiled
    assert attention._flex_attention("cuda") is compiled and len(compiles) == 1  # compiled once per process
    assert attention._flex_attention("cpu") is flex_attention


@pytest.fixture(scope="module")
def tiny_transformers():
    from diffusers import CogVideoXTransformer3DModel

    from dreamrunner_cli.models.tiny import tiny_transformer_config

    return {rope: CogVideoXTransformer3DModel(**tiny_transformer_config(rope=rope)).eval() for rope in (False, True)}


def processor_inputs(seed: int = 0, video: int = 24, text: int = 13):
    import torch

    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(2, video, 32, generator=gen)  # (B, N_video, C)
    encoder = torch.randn(2, text, 32, generator=gen)  # (B, P·L, C)
    rope = (torch.randn(video, 16, generator=gen), torch.randn(video, 16, generator=gen))
    return hidden, encoder, rope


def test_processor_without_a_region_mask_is_the_stock_processor(tiny_transformers):
    import torch
    from diffusers.models.attention_processor import CogVideoXAttnProcessor2_0

    from dreamrunner_cli.sr3ai.attention import RegionMaskedCogVideoXAttnProcessor

    attn = tiny_transformers[False].transformer_blocks[1].attn1
    assert attn.norm_q is not None and attn.norm_k is not None and not attn.is_cross_attention
    hidden, encoder, rope = processor_inputs()
    gen = torch.Generator().manual_seed(9)
    additive = torch.randn(2, 37, 37, generator=gen).masked_fill(torch.rand(2, 37, 37, generator=gen) < 0.3,
                                                                   float("-inf"))
    additive[..., 0] = 0.0
    ours, stock = RegionMaskedCogVideoXAttnProcessor(), CogVideoXAttnProcessor2_0()
    with torch.no_grad():
        keys_only = torch.zeros(2, 1, 37).masked_fill(torch.rand(2, 1, 37, generator=gen) < 0.3, float("-inf"))
        keys_only[..., 0] = 0.0  # a (B, 1, S) mask: per key, the same for every query
        for kwargs in ({}, {"image_rotary_emb": rope}, {"attention_mask": additive},
                       {"attention_mask": additive, "image_rotary_emb": rope}, {"attention_mask": keys_only}):
            got = ours(attn, hidden, encoder, **kwargs)
            want = stock(attn, hidden, encoder, **kwargs)
            assert got[0].shape == (2, 24, 32) and got[1].shape == (2, 13, 32)
            torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-6)
            torch.testing.assert_close(got[1], want[1], rtol=0, atol=1e-6)
        plain = ours(attn, hidden, encoder)
        assert (plain[0] - ours(attn, hidden, encoder, attention_mask=additive)[0]).abs().max() > 1e-3
        assert (plain[0] - ours(attn, hidden, encoder, image_rotary_emb=rope)[0]).abs().max() > 1e-3


def test_processor_with_a_region_mask_is_masked_attention(tiny_transformers):
    import torch
    from diffusers.models.attention_processor import CogVideoXAttnProcessor2_0

    from dreamrunner_cli.sr3ai.attention import RegionMask, RegionMaskedCogVideoXAttnProcessor

    attn = tiny_transformers[True].transformer_blocks[0].attn1
    hidden, encoder, rope = processor_inputs(1)
    bits, vid = random_tokens(37, 13, seed=3)
    allowed = torch.from_numpy(rule(bits, vid))
    ours = RegionMaskedCogVideoXAttnProcessor()
    with torch.no_grad():
        for kwargs in ({}, {"image_rotary_emb": rope}):
            mask = RegionMask(bits, vid)
            got = ours(attn, hidden, encoder, region_mask=mask, **kwargs)
            assert mask.calls == 1
            # the stock processor with the same rule as an additive mask gives the same
            additive = torch.zeros(2, 37, 37).masked_fill(~allowed, float("-inf"))
            want = CogVideoXAttnProcessor2_0()(attn, hidden, encoder, attention_mask=additive, **kwargs)
            torch.testing.assert_close(got[0], want[0], rtol=0, atol=1e-6)
            torch.testing.assert_close(got[1], want[1], rtol=0, atol=1e-6)
        with pytest.raises(UsageError) as e:
            ours(attn, hidden, encoder, attention_mask=torch.zeros(2, 37, 37), region_mask=RegionMask(bits, vid))
        assert e.value.message == "an attention_mask and a region_mask cannot be combined"
        with pytest.raises(UsageError) as e:
            ours(attn, hidden[:, :20], encoder, region_mask=RegionMask(bits, vid))
        assert e.value.message == ("region mask is for 37 tokens but the joint sequence has 33; was it built for "
                                   "another geometry or prompt count?")


def test_install_region_attention_swaps_every_processor_and_restores_them(tiny_transformers):
    from dreamrunner_cli.sr3ai.attention import RegionMaskedCogVideoXAttnProcessor, install_region_attention

    t = tiny_transformers[False]
    before = dict(t.attn_processors)
    assert len(before) == 2
    with install_region_attention(t):
        inside = t.attn_processors
        assert set(inside) == set(before)
        assert all(isinstance(p, RegionMaskedCogVideoXAttnProcessor) for p in inside.values())
    assert t.attn_processors == before  # the very same processor objects
    with pytest.raises(RuntimeError, match="boom"), install_region_attention(t):
        raise RuntimeError("boom")
    assert t.attn_processors == before


def test_multi_prompt_positions_resizes_the_text_part_and_restores_it(tiny_transformers):
    import torch

    from dreamrunner_cli.sr3ai.attention import multi_prompt_positions

    pe = tiny_transformers[False].patch_embed
    old_buf, old_len = pe.pos_embedding, pe.max_text_seq_length
    assert old_len == 16 and old_buf.shape[1] == 16 + 3 * 16
    with multi_prompt_positions(tiny_transformers[False], 48):
        new = pe.pos_embedding
        assert pe.max_text_seq_length == 48 and new.shape == (1, 48 + 48, old_buf.shape[2])
        assert new.dtype == old_buf.dtype and new.device == old_buf.device
        assert new[:, :48].eq(0).all()  # text positions are zero
        assert torch.equal(new[:, 48:], old_buf[:, 16:])  # the same video positions
    assert pe.pos_embedding is old_buf and pe.max_text_seq_length == 16
    with pytest.raises(RuntimeError), multi_prompt_positions(tiny_transformers[False], 32):
        assert pe.pos_embedding.shape[1] == 32 + 48
        raise RuntimeError
    assert pe.pos_embedding is old_buf and pe.max_text_seq_length == 16
    with multi_prompt_positions(tiny_transformers[False], 16):  # one prompt: nothing to change
        assert pe.pos_embedding is old_buf
    pe.pos_embedding = old_buf.to(torch.float64)
    try:
        with multi_prompt_positions(tiny_transformers[False], 32):
            assert pe.pos_embedding.dtype == torch.float64
    finally:
        pe.pos_embedding = old_buf
    rope = tiny_transformers[True].patch_embed
    assert not rope.use_positional_embeddings
    with multi_prompt_positions(tiny_transformers[True], 48):  # RoPE model: no buffer, nothing to do
        assert rope.max_text_seq_length == 16
