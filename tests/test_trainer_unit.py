"""Unit tests of adapt/trainer.py (issue 16): each step's draws, inputs, targets and losses against a direct
re-computation, the optimisers, which parameters train, checkpoint cadence and resume, exports, seeds, and that the
transformer is left as it was. A tiny random CogVideoX transformer and random latents: no VAE, no videos."""

from __future__ import annotations

import copy
import math
from types import SimpleNamespace

import pytest
import torch

from dreamrunner_cli.adapt import checkpoint as ckpt
from dreamrunner_cli.adapt import trainer
from dreamrunner_cli.adapt.lora import lora_metadata
from dreamrunner_cli.adapt.trainer import TrainSpec, train_lora

pytestmark = pytest.mark.usefixtures("one_thread")

NF, C, H, W = 3, 4, 8, 8  # latent frames, channels, latent height and width of the tiny model at 64×64×9


def make_transformer(rope: bool = False):
    from diffusers import CogVideoXTransformer3DModel

    from dreamrunner_cli.models.tiny import tiny_transformer_config

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return CogVideoXTransformer3DModel(**tiny_transformer_config(rope=rope)).eval()


def make_scheduler(prediction_type: str = "v_prediction"):
    from diffusers import CogVideoXDDIMScheduler

    from dreamrunner_cli.models.known_configs import KNOWN_SCHEDULER_CONFIGS

    return CogVideoXDDIMScheduler.from_config(KNOWN_SCHEDULER_CONFIGS["THUDM/CogVideoX-2b"],
                                              prediction_type=prediction_type)


def make_data(n: int = 2, frames: int = NF):
    gen = torch.Generator().manual_seed(42)
    return [SimpleNamespace(latents=torch.randn(1, frames, C, H, W, generator=gen),
                            prompt_embeds=torch.randn(1, 16, 32, generator=gen)) for _ in range(n)]


def spec(**kw) -> TrainSpec:
    base = dict(kind="motion", steps=4, rank=2, lr=1e-2, weight_decay=0.0, dropout=0.0, seed=0, blocks=[0],
                spatial_blocks=[1])
    base.update(kw)
    return TrainSpec(**base)


def draws(seed: int, steps: int, n_clips: int, skip_prob: float, nf: int = NF, num_t: int = 1000):
    """The documented draw order of every step, from a generator seeded with the recipe's seed."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        k = int(torch.randint(n_clips, (1,), generator=gen))
        t = torch.randint(0, num_t, (1,), generator=gen)
        noise = torch.randn(1, nf, C, H, W, generator=gen)
        skip = float(torch.rand((), generator=gen)) < skip_prob
        frame = int(torch.randint(nf, (1,), generator=gen))
        anchor = int(torch.randint(nf, (1,), generator=gen))
        out.append(SimpleNamespace(k=k, t=t, noise=noise, skip=skip, frame=frame, anchor=anchor))
    return out


def mse(a, b) -> float:
    return float(((a.double() - b.double()) ** 2).mean())


def temporal_reference(pred, target, anchor: int, beta: float) -> float:
    """MSE over all frames + MSE of φ(u) = √(β²+1)·u − β·u[anchor] (METHOD.md B.3)."""
    def phi(u):
        u = u.double()
        return math.sqrt(beta * beta + 1) * u - beta * u[:, anchor:anchor + 1]

    return mse(pred, target) + mse(phi(pred), phi(target))


class Recorder:
    """Records every transformer forward: its inputs, its output, the live adapters and which of them train."""

    def __init__(self, transformer):
        self.t = transformer
        self.calls: list[dict] = []
        self.handle = transformer.register_forward_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs, output):
        live, training, base_training = set(), set(), False
        for name, p in module.named_parameters():
            if ".lora_" not in name:
                base_training |= p.requires_grad
            else:
                adapter = name.rsplit(".", 2)[-2]
                layer = module.get_submodule(name.split(".lora_")[0])
                if adapter in layer.active_adapters and not layer.disable_adapters:
                    live.add(adapter)
                    if p.requires_grad:
                        training.add(adapter)
        self.calls.append({
            "hidden": kwargs["hidden_states"].detach().clone(), "text": kwargs["encoder_hidden_states"].detach(),
            "t": kwargs["timestep"].detach().clone(), "rope": kwargs["image_rotary_emb"],
            "pred": output[0].detach().clone(), "live": live, "training": training, "base_frozen": not base_training,
            "autocast": (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")),
            "gc": bool(module.gradient_checkpointing), "mode": module.training})

    def remove(self):
        self.handle.remove()


def run(transformer, data, sp, scheduler=None, **kw):
    rec = Recorder(transformer)
    steps: list[tuple] = []

    def on_step(*a):
        # after every optimiser step the gradients are freed (None, not zeros: AdamW must skip the LoRAs that did
        # not compute in the next step instead of decaying them)
        assert all(p.grad is None for p in transformer.parameters())
        steps.append(a)

    try:
        res = train_lora(transformer, scheduler or make_scheduler(), data, sp, on_step=on_step, **kw)
    finally:
        rec.remove()
    return res, rec.calls, steps


# Small pieces -------------------------------------------------------------------------------------------------


def test_grad_scaler_only_for_float16_on_cuda():
    assert trainer.uses_grad_scaler("cuda", "float16") and trainer.uses_grad_scaler("cuda:0", "float16")
    assert trainer.uses_grad_scaler(torch.device("cuda", 1), "float16")
    assert not trainer.uses_grad_scaler("cuda", "bfloat16") and not trainer.uses_grad_scaler("cuda", "float32")
    assert not trainer.uses_grad_scaler("cpu", "float16") and not trainer.uses_grad_scaler("mps", "float16")


def test_train_spec_defaults():
    s = TrainSpec(kind="character", steps=1, rank=4, lr=1e-4, weight_decay=0.0, dropout=0.0, seed=0, blocks=[1])
    assert s.adapter_name == "character" and spec().adapter_name == "motion"
    assert (s.spatial_blocks, s.spatial_skip_prob, s.debias_beta, s.loss_frame, s.checkpoint_every) == (
        [], 0.2, 1.0, "random", 100)
    assert (s.gradient_checkpointing, s.spatial_frames, s.export_steps) == (False, "all", [])


def test_check_supported():
    ok = SimpleNamespace(config=SimpleNamespace(patch_size_t=None))
    assert trainer.check_supported(ok) is None
    assert trainer.check_supported(SimpleNamespace(config=SimpleNamespace(), peft_config={})) is None
    with pytest.raises(trainer.ModelUnavailable) as e:
        trainer.check_supported(SimpleNamespace(config=SimpleNamespace(patch_size_t=2)))
    assert e.value.message == "CogVideoX 1.5 models (temporal patching) are not supported by `adapt` yet"
    assert e.value.hint == "use THUDM/CogVideoX-2b or THUDM/CogVideoX-5b"
    with pytest.raises(ValueError, match="^the transformer already carries LoRA adapters; train on a clean model$"):
        trainer.check_supported(SimpleNamespace(config=SimpleNamespace(), peft_config={"a": 1}))


def test_rotary_embeddings_are_the_pipelines():
    from diffusers import CogVideoXPipeline

    assert trainer.rotary_embeddings(make_transformer(), 3, 8, 8, "cpu") is None
    t = make_transformer(rope=True)
    for frames, h, w in ((3, 8, 8), (1, 8, 8), (2, 8, 12), (3, 12, 8)):
        cos, sin = trainer.rotary_embeddings(t, frames, h, w, torch.device("cpu"))
        fake_pipe = SimpleNamespace(vae_scale_factor_spatial=8, transformer=t)
        want = CogVideoXPipeline._prepare_rotary_positional_embeddings(fake_pipe, 8 * h, 8 * w, frames,
                                                                        torch.device("cpu"))
        assert cos.shape == (frames * h * w // 4, 16)
        assert torch.equal(cos, want[0]) and torch.equal(sin, want[1])
    # sample sizes that are not a multiple of the patch (the crop region uses whole patches)
    odd = SimpleNamespace(config=SimpleNamespace(use_rotary_positional_embeddings=True, patch_size=2, patch_size_t=None,
                                                 sample_width=13, sample_height=11, attention_head_dim=16))
    for h, w in ((8, 12), (12, 8), (6, 14)):
        cos, sin = trainer.rotary_embeddings(odd, 2, h, w, "cpu")
        want = CogVideoXPipeline._prepare_rotary_positional_embeddings(
            SimpleNamespace(vae_scale_factor_spatial=8, transformer=odd), 8 * h, 8 * w, 2, "cpu")
        assert torch.equal(cos, want[0]) and torch.equal(sin, want[1])


def test_rotary_tables_are_built_on_the_training_device(monkeypatch):
    import diffusers.models.embeddings as emb

    seen = []
    real = emb.get_3d_rotary_pos_embed

    def spy(*a, **kw):
        seen.append(kw.get("device", "missing"))
        return real(*a, **kw)

    monkeypatch.setattr(emb, "get_3d_rotary_pos_embed", spy)
    t = make_transformer(rope=True)
    trainer.rotary_embeddings(t, 3, 8, 8, "cpu")
    assert seen == ["cpu"]
    seen.clear()
    train_lora(t, make_scheduler(), make_data(1), spec(steps=1))
    assert seen == [torch.device("cpu")] * 2  # every latent frame, and one latent frame
    seen.clear()
    trainer.evaluate_loss(t, make_scheduler(), make_data(1), draws=1, device="cpu")
    assert seen == [torch.device("cpu")]


def test_sdpa_context_prefers_flash_and_memory_efficient_kernels_on_cuda_only():
    import contextlib

    from torch.nn.attention import SDPBackend

    assert isinstance(trainer._sdpa_context(torch.device("cpu")), contextlib.nullcontext)
    before = torch._C._get_sdp_priority_order()
    with trainer._sdpa_context(torch.device("cuda")):
        assert torch.backends.cuda.flash_sdp_enabled() and torch.backends.cuda.mem_efficient_sdp_enabled()
        assert torch.backends.cuda.cudnn_sdp_enabled() and torch.backends.cuda.math_sdp_enabled()
        order = [int(b) for b in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                                  SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH)]
        assert torch._C._get_sdp_priority_order()[:4] == order
    assert torch._C._get_sdp_priority_order() == before


# One step, re-computed --------------------------------------------------------------------------------------------


def test_motion_steps_draw_feed_and_score_as_documented():
    """Both paths, skipped and not, against the draws re-made from the seed: the inputs x_t = add_noise(x0, ε, t),
    the v-target, the spatial loss on the drawn frame, the temporal loss with the drawn anchor and β, which LoRAs
    compute and which learn."""
    data, sched = make_data(2), make_scheduler()
    sp = spec(steps=6, seed=3, spatial_skip_prob=0.5, debias_beta=0.5)
    res, calls, steps = run(make_transformer(), data, sp, sched)
    ds = draws(3, 6, 2, 0.5)
    assert {d.skip for d in ds} == {True, False} and {d.k for d in ds} == {0, 1}
    assert len({d.frame for d in ds}) > 1 and any(d.frame != d.anchor for d in ds)
    assert (res.steps_run, res.resumed_from) == (6, None) and len(res.losses) == len(res.spatial_losses) == 6
    i = 0
    for s, d in enumerate(ds):
        x0 = data[d.k].latents
        x_t = sched.add_noise(x0, d.noise, d.t)
        target = sched.get_velocity(x0, d.noise, d.t)
        spatial = None
        if not d.skip:
            c = calls[i]
            i += 1
            assert torch.equal(c["hidden"], x_t) and torch.equal(c["t"], d.t) and c["rope"] is None
            assert torch.equal(c["text"], data[d.k].prompt_embeds)
            assert c["live"] == {f"spatial_{d.k}"} and c["training"] == {f"spatial_{d.k}"}
            spatial = mse(c["pred"][:, d.frame], target[:, d.frame])
            assert res.spatial_losses[s] == pytest.approx(spatial, rel=1e-5)
        else:
            assert res.spatial_losses[s] is None
        c = calls[i]
        i += 1
        assert torch.equal(c["hidden"], x_t) and torch.equal(c["t"], d.t)
        assert torch.equal(c["text"], data[d.k].prompt_embeds)
        assert c["live"] == ({"motion"} if d.skip else {"motion", f"spatial_{d.k}"})
        assert c["training"] == {"motion"}  # clip k's spatial LoRA computes here but stays frozen
        assert res.losses[s] == pytest.approx(temporal_reference(c["pred"], target, d.anchor, 0.5), rel=1e-5)
        assert steps[s] == (s + 1, 6, res.losses[s], {"clip": d.k, "t": int(d.t), "spatial": res.spatial_losses[s]})
    assert i == len(calls)
    assert all(c["mode"] and not c["gc"] and c["autocast"][0] is False and c["base_frozen"] for c in calls)
    assert res.metadata == lora_metadata(2, [0]) and isinstance(res.seconds, float)
    assert 0 <= res.seconds < 600 and res.seconds == round(res.seconds, 3)
    assert sorted(res.state_dict) == sorted(f"transformer_blocks.0.{lin}.lora_{ab}.weight" for lin in (
        "attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ff.net.0.proj", "ff.net.2") for ab in "AB")


def test_single_frame_spatial_path_feeds_the_drawn_frame_with_one_frame_rotary():
    data, sched = make_data(1), make_scheduler()
    t = make_transformer(rope=True)
    res, calls, _ = run(t, data, spec(steps=3, seed=1, spatial_skip_prob=0.0, spatial_frames=1), sched)
    ds = draws(1, 3, 1, 0.0)
    rope_all = trainer.rotary_embeddings(t, NF, H, W, "cpu")
    rope_one = trainer.rotary_embeddings(t, 1, H, W, "cpu")
    assert len(calls) == 6 and len({d.frame for d in ds}) > 1
    for s, d in enumerate(ds):
        x_t = sched.add_noise(data[0].latents, d.noise, d.t)
        target = sched.get_velocity(data[0].latents, d.noise, d.t)
        sp_call, tm_call = calls[2 * s], calls[2 * s + 1]
        assert torch.equal(sp_call["hidden"], x_t[:, d.frame:d.frame + 1])
        assert all(torch.equal(a, b) for a, b in zip(sp_call["rope"], rope_one))
        assert torch.equal(tm_call["hidden"], x_t) and all(torch.equal(a, b) for a, b in zip(tm_call["rope"], rope_all))
        assert res.spatial_losses[s] == pytest.approx(mse(sp_call["pred"][:, 0], target[:, d.frame]), rel=1e-5)
        assert res.losses[s] == pytest.approx(temporal_reference(tm_call["pred"], target, d.anchor, 1.0), rel=1e-5)


@pytest.mark.parametrize("loss_frame", ["random", "first"])
def test_character_steps_train_one_lora_on_one_frame(loss_frame):
    data, sched = make_data(2), make_scheduler()
    sp = spec(kind="character", steps=4, seed=5, blocks=[1], loss_frame=loss_frame, spatial_skip_prob=0.5)
    res, calls, steps = run(make_transformer(), data, sp, sched)
    ds = draws(5, 4, 2, 0.5)
    assert len(calls) == 4 and res.spatial_losses == [None] * 4
    assert any(d.frame != 0 for d in ds)
    for s, (d, c) in enumerate(zip(ds, calls)):
        x_t = sched.add_noise(data[d.k].latents, d.noise, d.t)
        target = sched.get_velocity(data[d.k].latents, d.noise, d.t)
        assert torch.equal(c["hidden"], x_t) and c["live"] == {"character"} and c["training"] == {"character"}
        f = 0 if loss_frame == "first" else d.frame
        assert res.losses[s] == pytest.approx(mse(c["pred"][:, f], target[:, f]), rel=1e-5)
        assert steps[s][3] == {"clip": d.k, "t": int(d.t), "spatial": None}
    assert all(k.startswith("transformer_blocks.1.") for k in res.state_dict) and len(res.state_dict) == 12


@pytest.mark.parametrize("prediction, target_of", [("epsilon", lambda x0, eps: eps), ("sample", lambda x0, eps: x0)])
def test_the_target_follows_the_schedulers_prediction_type(prediction, target_of):
    data, sched = make_data(1), make_scheduler(prediction)
    res, calls, _ = run(make_transformer(), data, spec(kind="character", steps=2, seed=2, loss_frame="first"), sched)
    for s, d in enumerate(draws(2, 2, 1, 0.2)):
        target = target_of(data[0].latents, d.noise)
        assert res.losses[s] == pytest.approx(mse(calls[s]["pred"][:, 0], target[:, 0]), rel=1e-5)


def test_float16_runs_under_float16_autocast():
    data = make_data(1)
    t = make_transformer().to(torch.float16)
    res, calls, _ = run(t, data, spec(kind="character", steps=1), dtype="float16")
    (c,) = calls
    assert c["autocast"] == (True, torch.float16) and c["hidden"].dtype == torch.float16
    assert all(v.dtype == torch.float32 for v in res.state_dict.values())


def test_mixed_precision_runs_under_autocast_with_half_inputs():
    data = make_data(1)
    t = make_transformer().to(torch.bfloat16)
    res, calls, _ = run(t, data, spec(kind="character", steps=1), dtype="bfloat16")
    (c,) = calls
    assert c["autocast"] == (True, torch.bfloat16)
    assert c["hidden"].dtype == torch.bfloat16 and c["text"].dtype == torch.bfloat16
    assert all(v.dtype == torch.float32 for v in res.state_dict.values())


# Optimisers, trainable parameters, the model left as it was ------------------------------------------------------


def test_adamw_settings_and_parameter_groups(monkeypatch):
    made = []

    class Spy(torch.optim.AdamW):
        def __init__(self, params, **kw):
            params = list(params)
            made.append((params, kw))
            assert all(p.dtype == torch.float32 for p in params)
            super().__init__(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", Spy)
    data = make_data(2)
    run(make_transformer(), data, spec(steps=1, lr=3e-3, weight_decay=0.05, rank=2))
    (main, kw_main), (spatial, kw_spatial) = made
    assert kw_main == kw_spatial == {"lr": 3e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.05}
    assert len(main) == 12 and len(spatial) == 2 * 12  # one spatial LoRA per clip
    made.clear()
    run(make_transformer(), data, spec(kind="character", steps=1))
    assert len(made) == 1 and len(made[0][0]) == 12


def test_only_the_lora_learns_and_the_transformer_is_left_as_it_was():
    t = make_transformer()
    base = {k: v.clone() for k, v in t.state_dict().items()}
    t.patch_embed.proj.weight.requires_grad_(True)
    t.norm_out.linear.weight.requires_grad_(False)
    grads = {n: p.requires_grad for n, p in t.named_parameters()}
    assert set(grads.values()) == {True, False}
    rng = torch.get_rng_state()
    res, calls, _ = run(t, make_data(2), spec(steps=3, gradient_checkpointing=True))
    assert all(c["gc"] for c in calls) and not t.gradient_checkpointing
    assert not t.training and not getattr(t, "peft_config", None)
    assert {n: p.requires_grad for n, p in t.named_parameters()} == grads
    assert all(torch.equal(v, base[k]) for k, v in t.state_dict().items()) and t.state_dict().keys() == base.keys()
    assert torch.equal(torch.get_rng_state(), rng)  # the caller's RNG is untouched
    assert any(v.abs().max() > 0 for k, v in res.state_dict.items() if "lora_B" in k)  # B starts at zero: it learnt
    t.train()
    t.enable_gradient_checkpointing()
    run(t, make_data(1), spec(steps=1, gradient_checkpointing=True))
    assert t.training and t.gradient_checkpointing


def test_the_model_is_restored_after_a_failed_step():
    t = make_transformer()
    grads = {n: p.requires_grad for n, p in t.named_parameters()}

    def boom(*a):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        train_lora(t, make_scheduler(), make_data(1), spec(steps=3, gradient_checkpointing=True), on_step=boom)
    assert not getattr(t, "peft_config", None) and not t.training and not t.gradient_checkpointing
    assert {n: p.requires_grad for n, p in t.named_parameters()} == grads
    with pytest.raises(ValueError, match="^no training data$"):
        train_lora(t, make_scheduler(), [], spec())
    with pytest.raises(Exception, match="transformer_blocks.5"):  # no block 5: peft refuses, nothing was added
        train_lora(t, make_scheduler(), make_data(1), spec(blocks=[5]))
    assert not getattr(t, "peft_config", None) and {n: p.requires_grad for n, p in t.named_parameters()} == grads


def test_the_rng_is_forked_for_the_cpu_only(monkeypatch):
    seen = []
    real = torch.random.fork_rng

    def spy(*a, **kw):
        seen.append(kw.get("devices", "missing"))
        return real(*a, **kw)

    t = make_transformer()
    monkeypatch.setattr(torch.random, "fork_rng", spy)
    train_lora(t, make_scheduler(), make_data(1), spec(steps=1))
    assert seen == [[]]  # CPU run: no CUDA generator to fork


def test_the_seed_alone_decides_the_result():
    data = make_data(2)
    sp = spec(steps=3, dropout=0.2, spatial_skip_prob=0.5)
    torch.manual_seed(1)
    a = train_lora(make_transformer(), make_scheduler(), data, sp)
    torch.manual_seed(2)
    b = train_lora(make_transformer(), make_scheduler(), data, sp)
    assert a.losses == b.losses and all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    c = train_lora(make_transformer(), make_scheduler(), data, spec(steps=3, dropout=0.2, spatial_skip_prob=0.5,
                                                                    seed=1))
    assert c.losses != a.losses and any(not torch.equal(a.state_dict[k], c.state_dict[k]) for k in a.state_dict)


# Exports, checkpoints, resume ---------------------------------------------------------------------------------


def test_exports_then_checkpoint_then_step_report(tmp_path, monkeypatch):
    events = []
    saved = []
    real_save = ckpt.save_checkpoint

    def spy(folder, step, params, optimizers, rng, state):
        events.append(("checkpoint", step))
        saved.append(dict(folder=folder, step=step, params=sorted(params), optimizers=sorted(optimizers),
                          rng=sorted(rng), state=copy.deepcopy(state)))
        return real_save(folder, step, params, optimizers, rng, state)

    monkeypatch.setattr(ckpt, "save_checkpoint", spy)
    t = make_transformer()
    res = train_lora(t, make_scheduler(), make_data(2), spec(steps=6, checkpoint_every=2, export_steps=[1, 2, 6, 7]),
                     checkpoint_dir=tmp_path / "ck", run_key="key-1",
                     on_export=lambda step, sd: events.append(("export", step, sorted(sd))),
                     on_step=lambda step, total, loss, info: events.append(("step", step, total)))
    keys = sorted(res.state_dict)
    # no export nor checkpoint at the last step (its LoRA is the result)
    assert events == [("export", 1, keys), ("step", 1, 6), ("export", 2, keys), ("checkpoint", 2), ("step", 2, 6),
                      ("step", 3, 6), ("checkpoint", 4), ("step", 4, 6), ("step", 5, 6), ("step", 6, 6)]
    assert [s["step"] for s in saved] == [2, 4] and all(s["folder"] == tmp_path / "ck" for s in saved)
    assert len(saved[0]["params"]) == 12 + 2 * 12 and all(".lora_" in n for n in saved[0]["params"])
    assert saved[0]["optimizers"] == ["main", "spatial"] and saved[0]["rng"] == ["generator", "torch_cpu"]
    state = saved[1]["state"]
    assert state == {"run_key": "key-1", "losses": res.losses[:4], "spatial_losses": res.spatial_losses[:4],
                     "scaler": None}
    assert [p.name for p in (tmp_path / "ck").iterdir()] == ["step-000004"]
    events.clear()
    train_lora(make_transformer(), make_scheduler(), make_data(1), spec(steps=4, checkpoint_every=2))  # no folder
    assert events == []
    train_lora(make_transformer(), make_scheduler(), make_data(1), spec(steps=3, checkpoint_every=2),
               checkpoint_dir=tmp_path / "default")
    assert saved[-1]["state"]["run_key"] == ""  # the default run key


def test_exported_lora_is_the_lora_at_that_step():
    data = make_data(2)
    got = {}
    train_lora(make_transformer(), make_scheduler(), data, spec(steps=3, export_steps=[2]),
               on_export=lambda step, sd: got.__setitem__(step, sd))
    short = train_lora(make_transformer(), make_scheduler(), data, spec(steps=2))
    assert list(got) == [2] and all(torch.equal(got[2][k], short.state_dict[k]) for k in short.state_dict)


def test_resume_continues_bit_identically(tmp_path):
    data = make_data(2)
    sp = spec(steps=5, checkpoint_every=2, dropout=0.1, spatial_skip_prob=0.3, seed=4)
    full = train_lora(make_transformer(), make_scheduler(), data, sp)

    def stop_after_3(step, total, loss, info):
        if step == 3:
            raise KeyboardInterrupt

    folder = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="k",
                   on_step=stop_after_3)
    assert [p.name for p in folder.iterdir()] == ["step-000002"]
    seen = []
    res = train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="k",
                     on_step=lambda step, total, loss, info: seen.append((step, loss)))
    assert (res.resumed_from, res.steps_run) == (2, 3)
    assert [s for s, _ in seen] == [3, 4, 5] and [v for _, v in seen] == full.losses[2:]
    assert res.losses == full.losses and res.spatial_losses == full.spatial_losses
    assert all(torch.equal(res.state_dict[k], full.state_dict[k]) for k in full.state_dict)
    # the newest checkpoint (step 4) of this run, resumed once more: one step left
    again = train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="k")
    assert (again.resumed_from, again.steps_run) == (4, 1) and again.losses == full.losses
    assert all(torch.equal(again.state_dict[k], full.state_dict[k]) for k in full.state_dict)


def test_resume_when_the_spatial_path_never_ran_and_from_a_cuda_checkpoint(tmp_path, monkeypatch):
    """Every spatial step skipped before the checkpoint: the spatial optimiser has no state to restore. A CUDA RNG
    state in the checkpoint is ignored on the CPU."""
    real_save = ckpt.save_checkpoint
    cuda_restores = []

    def save_with_cuda_rng(folder, step, params, optimizers, rng, state):
        return real_save(folder, step, params, optimizers, {**rng, "torch_cuda": torch.zeros(8, dtype=torch.uint8)},
                         state)

    monkeypatch.setattr(ckpt, "save_checkpoint", save_with_cuda_rng)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda *a, **kw: cuda_restores.append(a))
    data = make_data(2)
    sp = spec(steps=3, checkpoint_every=2, spatial_skip_prob=1.0)
    full = train_lora(make_transformer(), make_scheduler(), data, sp)
    assert full.spatial_losses == [None] * 3
    folder = tmp_path / "ck"

    def stop(step, total, loss, info):
        if step == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="k", on_step=stop)
    loaded = ckpt.load_latest(folder, "k")
    assert "spatial" not in loaded.optimizer_state and "torch_cuda" in loaded.rng
    res = train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="k")
    assert res.resumed_from == 2 and res.losses == full.losses and cuda_restores == []
    assert all(torch.equal(res.state_dict[k], full.state_dict[k]) for k in full.state_dict)


def test_a_grad_scaler_is_built_from_the_run_and_its_state_checkpointed(tmp_path, monkeypatch):
    """float16 on CUDA trains with a GradScaler; here a stand-in scaler that is 'enabled' shows its state goes into
    the checkpoint and comes back on resume."""
    made, decisions = [], []

    class Scaler:
        def __init__(self, *args, **kw):
            made.append((args, kw))
            self.loaded = []

        def scale(self, loss):
            return loss

        def step(self, opt):
            opt.step()

        def update(self):
            pass

        def is_enabled(self):
            return True

        def state_dict(self):
            return {"scale": 1024.0, "_growth_tracker": 3}

        def load_state_dict(self, sd):
            self.loaded.append(sd)
            made[-1] = made[-1] + (self.loaded,)

    monkeypatch.setattr(torch.amp, "GradScaler", Scaler)
    monkeypatch.setattr(trainer, "uses_grad_scaler", lambda device, dtype: decisions.append((device, dtype)) or True)
    folder = tmp_path / "ck"
    sp = spec(steps=3, checkpoint_every=2)
    train_lora(make_transformer(), make_scheduler(), make_data(1), sp, checkpoint_dir=folder, run_key="k")
    assert decisions == [("cpu", "float32")] and made == [(("cuda",), {"enabled": True})]
    # the run finished: resume the step-2 checkpoint it left
    assert ckpt.load_latest(folder, "k").state["scaler"] == {"scale": 1024.0, "_growth_tracker": 3}
    res = train_lora(make_transformer(), make_scheduler(), make_data(1), sp, checkpoint_dir=folder, run_key="k")
    assert res.resumed_from == 2 and made[-1][2] == [{"scale": 1024.0, "_growth_tracker": 3}]


def test_a_checkpoint_of_another_run_or_other_loras_is_not_resumed(tmp_path):
    data = make_data(2)
    folder = tmp_path / "ck"
    sp = spec(steps=3, checkpoint_every=2)
    train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="a")
    other_loras = train_lora(make_transformer(), make_scheduler(), data, spec(steps=3, checkpoint_every=2, blocks=[1]),
                             checkpoint_dir=folder, run_key="a")  # same key, other parameters: start over
    assert (other_loras.resumed_from, other_loras.steps_run) == (None, 3)
    other_key = train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder, run_key="b")
    assert (other_key.resumed_from, other_key.steps_run) == (None, 3)
    assert train_lora(make_transformer(), make_scheduler(), data, sp, checkpoint_dir=folder,
                      run_key="b").resumed_from == 2


# The held-fixed yardstick ------------------------------------------------------------------------------------------


def test_evaluate_loss_is_the_mean_v_mse_over_fixed_draws():
    t, sched, data = make_transformer(), make_scheduler(), make_data(2)

    def reference(seed, n, t=t, data=data, rotary=None):
        gen = torch.Generator().manual_seed(seed)
        total = 0.0
        for i in range(n):
            item = data[i % len(data)]
            tt = torch.randint(0, 1000, (1,), generator=gen)
            eps = torch.randn(item.latents.shape, generator=gen)
            x_t = sched.add_noise(item.latents, eps, tt)
            with torch.no_grad():
                pred = t(hidden_states=x_t, encoder_hidden_states=item.prompt_embeds, timestep=tt,
                         image_rotary_emb=rotary, return_dict=False)[0]
            total += float(torch.nn.functional.mse_loss(pred, sched.get_velocity(item.latents, eps, tt)))
        return total / n

    got = trainer.evaluate_loss(t, sched, data, seed=7, draws=3)
    assert got == pytest.approx(reference(7, 3), rel=1e-6)
    assert trainer.evaluate_loss(t, sched, data) == pytest.approx(reference(1234, 8), rel=1e-6)
    assert trainer.evaluate_loss(t, sched, data, seed=8, draws=3) != got
    rope = make_transformer(rope=True)
    rotary = trainer.rotary_embeddings(rope, NF, H, W, "cpu")
    one = data[:1]
    assert trainer.evaluate_loss(rope, sched, one, draws=2) == pytest.approx(
        reference(1234, 2, rope, one, rotary), rel=1e-6)
