"""Issue 11, training side: saved adapters load without active dropout, skip steps turn spatial LoRAs off, the
single-frame spatial path, intermediate exports, gradient checkpointing "auto", mixed precision (CPU, tiny models)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from adapt_fixtures import moving_square

from dreamrunner_cli.adapt.data import Example, to_model_pixels
from dreamrunner_cli.adapt.encode import Encoded, prompt_embeddings, vae_latents
from dreamrunner_cli.adapt.lora import save_lora
from dreamrunner_cli.adapt.memory import activation_bytes, decide_gradient_checkpointing
from dreamrunner_cli.adapt.trainer import TrainSpec, train_lora, uses_grad_scaler
from dreamrunner_cli.models.tiny import build_tiny_pipeline

pytestmark = pytest.mark.usefixtures("one_thread")


def _encoded(pipe, n: int = 1) -> list[Encoded]:
    out = []
    for i in range(n):
        caption = "a red square is moving right" if i == 0 else "a green square is moving right"
        px = to_model_pixels(moving_square(start=2 + 3 * i, speed=4 + i), 64, 64)
        out.append(Encoded(Example(Path(f"clip{i}.mp4"), caption, "clip", f"d{i}"), vae_latents(pipe, px),
                           prompt_embeddings(pipe, caption, 16)))
    return out


def _spec(**kw) -> TrainSpec:
    base = dict(kind="motion", steps=4, rank=4, lr=1e-2, weight_decay=0.0, dropout=0.0, seed=0, blocks=[0],
                spatial_blocks=[1])
    base.update(kw)
    return TrainSpec(**base)


# 1. Dropout at inference --------------------------------------------------------------------------------------


def _training_sensitive(module) -> list[str]:
    """Modules whose forward depends on .training and that are in training mode with an effect (dropout p > 0)."""
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.dropout import _DropoutNd

    return [n for n, m in module.named_modules()
            if m.training and ((isinstance(m, _DropoutNd) and m.p > 0) or isinstance(m, _BatchNorm))]


def test_saved_adapter_loads_in_plain_diffusers_without_active_dropout(tmp_path):
    """Trained with dropout 0.5, saved: the file says lora_dropout 0.0, so plain diffusers' load_lora_weights (no
    eval() call afterwards) builds no active Dropout, and the same seed gives the same video twice."""
    from safetensors import safe_open

    pipe = build_tiny_pipeline()
    res = train_lora(pipe.transformer, pipe.scheduler, _encoded(pipe), _spec(steps=3, dropout=0.5))
    path = save_lora(tmp_path / "walking", res.state_dict, res.metadata)
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["lora_adapter_metadata"])
    dropouts = [v for k, v in meta.items() if k.endswith("lora_dropout")]
    assert dropouts == [0.0]

    plain = build_tiny_pipeline()
    plain.set_progress_bar_config(disable=True)
    plain.load_lora_weights(str(tmp_path / "walking"), adapter_name="walking")
    assert _training_sensitive(plain.transformer) == []

    def video():
        return plain(prompt="a red square is moving right", num_frames=9, height=64, width=64,
                     num_inference_steps=2, max_sequence_length=16, guidance_scale=1.0, output_type="pt",
                     generator=torch.Generator().manual_seed(0)).frames

    first, second = video(), video()
    assert torch.equal(first, second)
    plain.set_adapters(["walking"], [0.0])
    assert (video() - first).abs().max() > 1e-4  # the LoRA does act on the output (the test has teeth)


# 2. Skip steps --------------------------------------------------------------------------------------------------


def test_skipped_spatial_steps_run_the_temporal_pass_with_every_spatial_lora_off():
    pipe = build_tiny_pipeline()
    data = _encoded(pipe, n=2)
    # What computes in each forward: the live adapters of a LoRA layer in a spatial block (block 1) and in the
    # motion block (block 0). peft swaps the linears for LoRA layers when adapters are added, so look them up here.
    calls: list[tuple[list[str], list[str], int]] = []

    def record(module, args, kwargs):
        layer_s = pipe.transformer.transformer_blocks[1].attn1.to_q
        layer_m = pipe.transformer.transformer_blocks[0].ff.net[2]
        live_s = [a for a in layer_s.active_adapters if a in layer_s.lora_A]
        live_m = [a for a in layer_m.active_adapters if a in layer_m.lora_A]
        calls.append((live_s, live_m, kwargs["hidden_states"].shape[1]))

    handle = pipe.transformer.register_forward_pre_hook(record, with_kwargs=True)
    steps: list[dict] = []
    try:
        train_lora(pipe.transformer, pipe.scheduler, data, _spec(steps=16, spatial_skip_prob=0.5),
                   on_step=lambda s, t, loss, info: steps.append(dict(info, n_calls=len(calls))))
    finally:
        handle.remove()
    skipped = [s for s in steps if s["spatial"] is None]
    assert 0 < len(skipped) < len(steps)  # both kinds of step happened
    start = 0
    for info in steps:
        mine, start = calls[start:info["n_calls"]], info["n_calls"]
        k = info["clip"]
        if info["spatial"] is None:
            # One forward: the temporal pass, with the motion LoRA and no spatial LoRA at all (as at inference).
            assert [(s, m) for s, m, _ in mine] == [([], ["motion"])]
        else:
            # Spatial pass (clip k's spatial LoRA alone), then the temporal pass with motion + spatial_k.
            assert [(s, m) for s, m, _ in mine] == [([f"spatial_{k}"], []), ([f"spatial_{k}"], ["motion"])]


def test_single_frame_spatial_path_feeds_one_latent_frame():
    for rope in (False, True):
        pipe = build_tiny_pipeline(rope=rope)
        data = _encoded(pipe)
        frames: list[int] = []
        handle = pipe.transformer.register_forward_pre_hook(
            lambda m, a, kw: frames.append(kw["hidden_states"].shape[1]), with_kwargs=True)
        try:
            res = train_lora(pipe.transformer, pipe.scheduler, data,
                             _spec(steps=3, spatial_skip_prob=0.0, spatial_frames=1))
        finally:
            handle.remove()
        # Each step: spatial pass on 1 latent frame, temporal pass on all 3.
        assert frames == [1, 3] * 3
        assert all(math.isfinite(v) for v in res.losses + res.spatial_losses)


# 6. Recipe options: exports, mixed precision, gradient checkpointing ----------------------------------------


def test_exported_step_equals_a_run_that_stopped_there():
    pipe = build_tiny_pipeline()
    data = _encoded(pipe, n=2)
    exported: dict[int, dict] = {}
    full = train_lora(pipe.transformer, pipe.scheduler, data, _spec(steps=6, export_steps=[2, 4, 6, 9],
                                                                     dropout=0.1, spatial_skip_prob=0.3),
                      on_export=lambda step, sd: exported.__setitem__(step, sd))
    assert sorted(exported) == [2, 4]  # the final step is the result itself; steps past the end never come
    short = train_lora(pipe.transformer, pipe.scheduler, data, _spec(steps=2, dropout=0.1, spatial_skip_prob=0.3))
    assert exported[2].keys() == short.state_dict.keys()
    assert all(torch.equal(exported[2][k], short.state_dict[k]) for k in short.state_dict)
    assert any(not torch.equal(exported[4][k], full.state_dict[k]) for k in full.state_dict)


def test_bf16_trains_without_a_grad_scaler():
    assert uses_grad_scaler("cuda", "float16") and uses_grad_scaler("cuda:1", "float16")
    assert not uses_grad_scaler("cuda", "bfloat16") and not uses_grad_scaler("cuda", "float32")
    assert not uses_grad_scaler("cpu", "float16")
    pipe = build_tiny_pipeline()
    data = _encoded(pipe)
    pipe.transformer.to(torch.bfloat16)
    res = train_lora(pipe.transformer, pipe.scheduler, data, _spec(steps=2), dtype="bfloat16")
    assert all(math.isfinite(v) for v in res.losses)
    assert all(v.dtype == torch.float32 for v in res.state_dict.values())  # LoRA weights train in float32


def test_gradient_checkpointing_auto_follows_free_memory(monkeypatch):
    from dreamrunner_cli.adapt import memory

    pipe = build_tiny_pipeline()
    assert decide_gradient_checkpointing(True, pipe.transformer, 100, "cpu", "float32")[0] is True
    assert decide_gradient_checkpointing(False, pipe.transformer, 100, "cpu", "float32")[0] is False
    need = activation_bytes(2, 32, 2, 100, "float32", dense_scores=True)
    monkeypatch.setattr(memory, "free_bytes", lambda device: int(need * memory.MARGIN + memory.HEADROOM) + 1)
    on, why = decide_gradient_checkpointing("auto", pipe.transformer, 100, "cpu", "float32")
    assert not on and "auto" in why
    monkeypatch.setattr(memory, "free_bytes", lambda device: int(need * memory.MARGIN + memory.HEADROOM) - 1)
    assert decide_gradient_checkpointing("auto", pipe.transformer, 100, "cpu", "float32")[0] is True
    # CogVideoX-2B at 480x720x49 (30 blocks, d 1920, 17 776 tokens) in bf16 with flash attention: ≈ 89.6 GiB.
    assert activation_bytes(30, 1920, 30, 17776, "bfloat16", dense_scores=False) / 2**30 == pytest.approx(89.6, abs=0.1)
