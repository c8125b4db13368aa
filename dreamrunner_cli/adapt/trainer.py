"""LoRA training on a frozen CogVideoX transformer: the motion LoRA's dual path and the character LoRA.

Motion (METHOD.md B.3, MotionDirector adapted to CogVideoX), one step:

1. draw the clip k, the timestep t ~ U{0..T-1}, the noise, the skip coin, a latent frame and an anchor frame from a
   seeded generator (all draws happen every step, so the stream never depends on which path ran);
2. x_t = add_noise(x_0, ε, t); target = scheduler.get_velocity(x_0, ε, t) for v-prediction models (ε for epsilon);
3. spatial path (skipped with probability ``spatial_skip_prob``): only clip k's spatial LoRA is active (the motion
   LoRA is off), loss = MSE on the drawn latent frame, step the spatial optimiser. ``spatial_frames="all"`` feeds
   every latent frame and takes the loss on the drawn one (the authors' CogVideoX port); ``1`` feeds only the
   drawn latent frame (MotionDirector's single-frame spatial path: 1/F of the tokens);
4. temporal path: the motion LoRA learns; clip k's spatial LoRA is active (frozen) only if the spatial path ran
   this step. On skipped steps every spatial LoRA is off (scale 0), as in MotionDirector and the authors' port:
   that is how the motion LoRA is used at inference. Loss = MSE over all frames + appearance-debiased MSE with the
   drawn anchor, step the motion optimiser.

Clip k's spatial LoRA is bound to clip k by index, never by a loader's step counter (METHOD.md F.7). Only the motion
LoRA is returned; the spatial ones are discarded.

Character (B.4): one LoRA, its images as static videos, loss = MSE on one latent frame (random, or the first).

Intermediate LoRAs are handed to ``on_export`` at ``export_steps`` (the authors picked steps 120/300/360 per motion),
mixed precision is autocast with float32 LoRA weights, with a GradScaler only for float16 on CUDA (bf16 has fp32's
exponent range and needs none).

Determinism: everything runs inside ``torch.random.fork_rng`` seeded with ``seed`` (LoRA init and dropout use the
global RNG), the draws come from a private generator, and checkpoints store both states. A run resumed from a
checkpoint on CPU therefore ends with bit-identical weights to an uninterrupted run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ModelUnavailable
from . import checkpoint as ckpt
from .lora import activate, add_lora, lora_metadata, lora_state_dict
from .losses import spatial_loss, temporal_loss

if TYPE_CHECKING:
    import torch

    from .encode import Encoded

StepCallback = Callable[[int, int, float, dict[str, Any]], None]
ExportCallback = Callable[[int, dict[str, Any]], None]  # (step, the kept LoRA's state dict at that step)


def uses_grad_scaler(device: str, dtype: str) -> bool:
    """Loss scaling only for float16 on CUDA; bfloat16 and float32 train without a GradScaler."""
    return str(device).startswith("cuda") and dtype == "float16"


@dataclass
class TrainSpec:
    """Everything that defines one LoRA's training (the recipe, minus the data and the base model)."""

    kind: Literal["motion", "character"]
    steps: int
    rank: int
    lr: float
    weight_decay: float
    dropout: float
    seed: int
    blocks: list[int]  # the kept LoRA's blocks
    spatial_blocks: list[int] = field(default_factory=list)  # motion only: the per-clip spatial LoRAs
    spatial_skip_prob: float = 0.2
    debias_beta: float = 1.0
    loss_frame: Literal["random", "first"] = "random"  # character only
    checkpoint_every: int = 100
    gradient_checkpointing: bool = False
    spatial_frames: Literal["all", 1] = "all"  # motion only: latent frames fed to the spatial path (all or 1)
    export_steps: list[int] = field(default_factory=list)  # steps whose LoRA is handed to on_export

    @property
    def adapter_name(self) -> str:
        return self.kind


@dataclass
class TrainResult:
    state_dict: dict[str, torch.Tensor]  # the kept LoRA in diffusers' key format
    metadata: dict[str, Any]  # its LoraConfig (saved beside the weights)
    losses: list[float]  # per step: temporal loss (motion) or the loss (character)
    spatial_losses: list[float | None]  # per step, None where the spatial path was skipped (motion)
    resumed_from: int | None
    seconds: float
    steps_run: int  # steps actually computed in this call (0 when fully resumed)


def rotary_embeddings(transformer, latent_frames: int, latent_h: int, latent_w: int, device):
    """3-D RoPE cosines/sines for a RoPE model (CogVideoX-5B), None for sin-cos models (2B).

    Same computation as CogVideoXPipeline._prepare_rotary_positional_embeddings, from latent sizes.
    """
    cfg = transformer.config
    if not cfg.use_rotary_positional_embeddings:
        return None
    from diffusers.models.embeddings import get_3d_rotary_pos_embed
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid

    p = cfg.patch_size
    grid_h, grid_w = latent_h // p, latent_w // p
    crops = get_resize_crop_region_for_grid((grid_h, grid_w), cfg.sample_width // p, cfg.sample_height // p)
    cos, sin = get_3d_rotary_pos_embed(embed_dim=cfg.attention_head_dim, crops_coords=crops,
                                       grid_size=(grid_h, grid_w), temporal_size=latent_frames, device=device)
    return cos, sin


def check_supported(transformer) -> None:
    if getattr(transformer.config, "patch_size_t", None) is not None:
        raise ModelUnavailable("CogVideoX 1.5 models (temporal patching) are not supported by `adapt` yet",
                               hint="use THUDM/CogVideoX-2b or THUDM/CogVideoX-5b")
    if getattr(transformer, "peft_config", None):
        raise ValueError("the transformer already carries LoRA adapters; train on a clean model")


def train_lora(transformer, scheduler, data: list[Encoded], spec: TrainSpec, *, device: str = "cpu",
               dtype: str = "float32", checkpoint_dir: Path | None = None, run_key: str = "",
               on_step: StepCallback | None = None, on_export: ExportCallback | None = None) -> TrainResult:
    """Train one LoRA on a frozen transformer and return its weights; the transformer is left as it was.

    Args:
        transformer: a CogVideoXTransformer3DModel (on ``device``, weights in ``dtype``), without adapters.
        scheduler: the pipeline's scheduler (prediction type, add_noise, get_velocity).
        data: encoded examples (latents (1, F, C, h, w) and prompt embeddings (1, L, D), CPU float32).
        spec: the recipe.
        device: torch device of the transformer.
        dtype: "float32", "float16" or "bfloat16"; half types train under autocast with float32 LoRA weights.
        checkpoint_dir: where to save/resume checkpoints (None: no checkpoints).
        run_key: identifies the recipe + data; checkpoints of another key are ignored.
        on_step: called after every step as on_step(step, total, loss, info).
        on_export: called as on_export(step, state_dict) after each step listed in ``spec.export_steps`` (below
            ``spec.steps``; the final LoRA is the return value), before that step's checkpoint is written.
    """
    import torch

    check_supported(transformer)
    if not data:
        raise ValueError("no training data")
    dev = torch.device(device)
    tdtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    was_training, was_gc = transformer.training, bool(getattr(transformer, "gradient_checkpointing", False))
    grads_before = {n: p.requires_grad for n, p in transformer.named_parameters()}
    start_time = time.monotonic()
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(spec.seed)
        gen = torch.Generator().manual_seed(spec.seed)
        try:
            # 1. Frozen base model + LoRAs (the kept one, and for motions one spatial LoRA per clip).
            transformer.requires_grad_(False)
            main = spec.adapter_name
            main_params = add_lora(transformer, main, spec.blocks, spec.rank, spec.dropout)
            spatial_names: list[str] = []
            spatial_params: list[Any] = []
            if spec.kind == "motion":
                for k in range(len(data)):
                    spatial_names.append(f"spatial_{k}")
                    spatial_params += add_lora(transformer, spatial_names[-1], spec.spatial_blocks, spec.rank,
                                               spec.dropout)
            adamw = dict(lr=spec.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=spec.weight_decay)
            optimizers = {"main": torch.optim.AdamW(main_params, **adamw)}
            if spatial_params:
                optimizers["spatial"] = torch.optim.AdamW(spatial_params, **adamw)
            scaler = torch.amp.GradScaler("cuda", enabled=uses_grad_scaler(device, dtype))
            trainable = {n: p for n, p in transformer.named_parameters() if ".lora_" in n}

            # 2. Training mode, memory options, and the fixed per-run inputs.
            transformer.train()
            if spec.gradient_checkpointing:
                transformer.enable_gradient_checkpointing()
            _, nf, _, lh, lw = data[0].latents.shape
            rotary = rotary_embeddings(transformer, nf, lh, lw, dev)
            rotary_one = rotary_embeddings(transformer, 1, lh, lw, dev)  # spatial_frames="1": one latent frame
            num_t = int(scheduler.config.num_train_timesteps)
            prediction = scheduler.config.prediction_type

            # 3. Resume from the newest checkpoint of this exact run, if any.
            start, losses, spatial_losses, resumed_from = 0, [], [], None
            if checkpoint_dir is not None:
                ck = ckpt.load_latest(checkpoint_dir, run_key)
                if ck is not None and set(ck.params) == set(trainable):
                    with torch.no_grad():
                        for n, p in trainable.items():
                            p.copy_(ck.params[n])
                    for name, opt in optimizers.items():
                        ckpt.restore_optimizer(opt, ck.optimizer_state.get(name, {}))
                    torch.set_rng_state(ck.rng["torch_cpu"])
                    gen.set_state(ck.rng["generator"])
                    if dev.type == "cuda" and "torch_cuda" in ck.rng:
                        torch.cuda.set_rng_state(ck.rng["torch_cuda"], dev)
                    if ck.state.get("scaler"):
                        scaler.load_state_dict(ck.state["scaler"])
                    start, resumed_from = ck.step, ck.step
                    losses, spatial_losses = list(ck.state["losses"]), list(ck.state["spatial_losses"])

            def forward(x_t, embeds, t):
                rope = rotary if x_t.shape[1] == nf else rotary_one
                with torch.autocast(dev.type, dtype=tdtype, enabled=tdtype != torch.float32), _sdpa_context(dev):
                    return transformer(hidden_states=x_t, encoder_hidden_states=embeds, timestep=t,
                                       image_rotary_emb=rope, return_dict=False)[0]

            def backward_step(loss, opt):
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                opt.zero_grad(set_to_none=True)

            # 4. The steps.
            for step in range(start, spec.steps):
                # 4a. Every random draw of the step, from the private generator, in a fixed order.
                k = int(torch.randint(len(data), (1,), generator=gen))
                t = torch.randint(0, num_t, (1,), generator=gen)
                noise = torch.randn(data[k].latents.shape, generator=gen)
                skip = float(torch.rand((), generator=gen)) < spec.spatial_skip_prob
                frame = int(torch.randint(nf, (1,), generator=gen))
                anchor = int(torch.randint(nf, (1,), generator=gen))

                # 4b. Noisy input and target (v-prediction: the velocity; else the noise).
                x0 = data[k].latents.to(dev)  # (1, F, C, h, w) float32
                eps = noise.to(dev)
                t = t.to(dev)
                x_t = scheduler.add_noise(x0, eps, t).to(tdtype)
                if prediction == "v_prediction":
                    target = scheduler.get_velocity(x0, eps, t)
                elif prediction == "epsilon":
                    target = eps
                else:
                    target = x0
                embeds = data[k].prompt_embeds.to(dev, tdtype)  # (1, L, D)

                info: dict[str, Any] = {"clip": k, "t": int(t), "spatial": None}
                if spec.kind == "character":
                    # Character: one LoRA, single-frame loss (random latent frame, or the first).
                    activate(transformer, [main], [main])
                    pred = forward(x_t, embeds, t)  # (1, F, C, h, w)
                    loss = spatial_loss(pred, target, 0 if spec.loss_frame == "first" else frame)
                    backward_step(loss, optimizers["main"])
                    spatial_losses.append(None)
                else:
                    # 4c. Spatial path: clip k's own spatial LoRA alone, loss on one latent frame.
                    if not skip:
                        activate(transformer, [spatial_names[k]], [spatial_names[k]])
                        if spec.spatial_frames == 1:  # only the drawn latent frame goes in (1/F of the tokens)
                            pred = forward(x_t[:, frame : frame + 1], embeds, t)
                            loss_s = spatial_loss(pred, target[:, frame : frame + 1], 0)
                        else:  # every latent frame goes in, the loss is on the drawn one
                            pred = forward(x_t, embeds, t)
                            loss_s = spatial_loss(pred, target, frame)
                        backward_step(loss_s, optimizers["spatial"])
                        info["spatial"] = float(loss_s.detach())
                    spatial_losses.append(info["spatial"])
                    # 4d. Temporal path: the motion LoRA learns. Clip k's spatial LoRA (frozen here) joins it only
                    # when the spatial path ran; on skipped steps every spatial LoRA is off, as at inference.
                    activate(transformer, [main] if skip else [main, spatial_names[k]], [main])
                    pred = forward(x_t, embeds, t)
                    loss = temporal_loss(pred, target, anchor, spec.debias_beta)
                    backward_step(loss, optimizers["main"])
                losses.append(float(loss.detach()))

                # 4e. Intermediate LoRA for picking the best step, then the checkpoint (before reporting the step,
                # so reported progress is durable; an export is written before the checkpoint that covers it).
                done = step + 1
                if on_export is not None and done in spec.export_steps and done < spec.steps:
                    on_export(done, lora_state_dict(transformer, main))
                if checkpoint_dir is not None and done % spec.checkpoint_every == 0 and done < spec.steps:
                    rng = {"torch_cpu": torch.get_rng_state(), "generator": gen.get_state()}
                    if dev.type == "cuda":
                        rng["torch_cuda"] = torch.cuda.get_rng_state(dev)
                    ckpt.save_checkpoint(checkpoint_dir, done, trainable, optimizers, rng, {
                        "run_key": run_key, "losses": losses, "spatial_losses": spatial_losses,
                        "scaler": scaler.state_dict() if scaler.is_enabled() else None})
                if on_step is not None:
                    on_step(done, spec.steps, losses[-1], info)

            # 5. Keep only the trained LoRA's weights.
            state_dict = lora_state_dict(transformer, main)
        finally:
            # 6. Leave the transformer exactly as we found it (no adapters, same flags).
            if getattr(transformer, "peft_config", None):
                transformer.unload_lora()
            if spec.gradient_checkpointing and not was_gc:
                transformer.disable_gradient_checkpointing()
            transformer.train(was_training)
            for n, p in transformer.named_parameters():
                p.requires_grad_(grads_before.get(n, False))
    return TrainResult(state_dict=state_dict, metadata=lora_metadata(spec.rank, spec.blocks),
                       losses=losses, spatial_losses=spatial_losses, resumed_from=resumed_from,
                       seconds=round(time.monotonic() - start_time, 3), steps_run=spec.steps - start)


def _sdpa_context(dev):
    """On CUDA prefer the flash / memory-efficient SDPA kernels (CogVideoX attention has no mask here)."""
    import contextlib

    if dev.type != "cuda":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION,
                        SDPBackend.MATH], set_priority=True)


def evaluate_loss(transformer, scheduler, data: list[Encoded], *, seed: int = 1234, draws: int = 8,
                  device: str = "cpu") -> float:
    """Mean v-MSE over fixed (clip, t, noise) draws, with whatever adapters are active: a held-fixed yardstick."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    _, nf, _, lh, lw = data[0].latents.shape
    rotary = rotary_embeddings(transformer, nf, lh, lw, torch.device(device))
    total = 0.0
    with torch.no_grad():
        for i in range(draws):
            item = data[i % len(data)]
            t = torch.randint(0, int(scheduler.config.num_train_timesteps), (1,), generator=gen)
            eps = torch.randn(item.latents.shape, generator=gen)
            x0 = item.latents.to(device)
            x_t = scheduler.add_noise(x0, eps.to(device), t.to(device))
            target = scheduler.get_velocity(x0, eps.to(device), t.to(device))
            pred = transformer(hidden_states=x_t, encoder_hidden_states=item.prompt_embeds.to(device), timestep=t,
                               image_rotary_emb=rotary, return_dict=False)[0]
            total += float(torch.nn.functional.mse_loss(pred.float(), target.float()))
    return total / draws
