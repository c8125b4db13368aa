"""Benchmark of the adapt recipe: real trainer steps per recipe variant, and the quality guard of the fast recipe.

    python -m dreamrunner_cli.adapt.bench                                   # scaled-down geometry, CPU
    python -m dreamrunner_cli.adapt.bench --geometry full --device cuda --dtype bfloat16   # CogVideoX-2B, GPU
    python -m dreamrunner_cli.adapt.bench --quality                         # + the quality guard (CPU, minutes)

**Speed.** It runs the real trainer (``adapt.trainer.train_lora``: motion LoRA + one spatial LoRA per clip, AdamW)
on a transformer with random weights at the chosen geometry, with random latents and prompt embeddings standing in
for the encoded clips (encoding is cached once per clip and is not part of a step). Variants are the recipe's
speed-relevant options: ``spatial_frames`` (``all``: the authors' port; ``1``: MotionDirector's single-frame spatial
path) × gradient checkpointing (on/off). Each variant is timed twice per round, temporal path only
(``spatial_skip_prob`` 1) and both paths every step (0), and the variants are **interleaved** round by round, so a
noisy machine slows every variant alike. Per variant it reports the **median** step time over all rounds and the
spread (min–max of the per-round medians); the step time of the recipe is temporal + (1 − skip) · spatial, and
hours per motion = steps × that / 3600. On CPU this is a scaled-down measurement of these geometries and nothing
else; the report says so and projects nothing to a GPU.

**Quality guard** (``--quality``). On a scaled-down random transformer and a fixed set of synthetic clips in latent
space (a blob moving right at one speed; each clip has its own appearance: background pattern and blob
signature), each recipe trains a motion LoRA from the same seed; the v-prediction loss is measured on held-out
draws (timesteps and noise never used in training) of **held-out clips** (same motion, new appearances) before
and after. A faster recipe passes if its loss reduction is ≥ 90 % of the paper recipe's.

Peak memory is measured on CUDA only (``max_memory_allocated`` per variant); CPU RSS cannot be reset between
interleaved variants, so it is not reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

GEOMETRIES: dict[str, dict[str, int]] = {
    # CogVideoX-2B (METHOD.md section 0) at the default 49 frames.
    "full": {"layers": 30, "heads": 30, "head_dim": 64, "text_dim": 4096, "text_len": 226, "time_dim": 512,
             "channels": 16, "height": 480, "width": 720, "frames": 49},
    # Scaled down to run on a 2-core CPU in minutes.
    "cpu": {"layers": 6, "heads": 8, "head_dim": 64, "text_dim": 512, "text_len": 32, "time_dim": 128,
            "channels": 16, "height": 160, "width": 240, "frames": 25},
    # The quality guard's model: small enough to train a few hundred steps on CPU.
    "guard": {"layers": 4, "heads": 4, "head_dim": 32, "text_dim": 64, "text_len": 8, "time_dim": 32,
              "channels": 8, "height": 64, "width": 96, "frames": 17},
    # The tiny test model's geometry.
    "tiny": {"layers": 2, "heads": 2, "head_dim": 16, "text_dim": 32, "text_len": 16, "time_dim": 8,
             "channels": 4, "height": 64, "width": 64, "frames": 9},
}

VARIANTS = [  # (name, spatial_frames, gradient checkpointing)
    ("paper", "all", True),
    ("paper-nogc", "all", False),
    ("single-frame", 1, True),
    ("single-frame-nogc", 1, False),
]


def tokens(g: dict[str, int]) -> dict[str, int]:
    """Latent frames, video tokens and sequence length of a geometry (VAE 8×/4×, patch 2)."""
    lf = (g["frames"] - 1) // 4 + 1
    video = lf * (g["height"] // 16) * (g["width"] // 16)
    return {"latent_frames": lf, "video_tokens": video, "sequence": video + g["text_len"]}


def pass_flops(g: dict[str, int], seq: int, checkpointing: bool) -> float:
    """Analytic FLOPs of one forward + backward pass over ``seq`` tokens (LoRA and elementwise work neglected).

    Per block: linear weights P = 4·d² (q, k, v, out) + 2·d·4d (feed-forward); forward 2·P·S, attention 4·S²·d.
    Frozen base weights need only input gradients: backward ≈ 1× the linear forward and 2× the attention forward.
    Gradient checkpointing adds one more forward.
    """
    d = g["heads"] * g["head_dim"]
    p = 12 * d * d
    fwd_lin, fwd_att = 2 * p * seq * g["layers"], 4 * seq * seq * d * g["layers"]
    return 2 * fwd_lin + 3 * fwd_att + ((fwd_lin + fwd_att) if checkpointing else 0)


def step_flops(g: dict[str, int], spatial_frames: Any, skip: float, checkpointing: bool) -> float:
    """Expected analytic FLOPs of one motion step: the temporal pass plus (1 − skip) spatial passes, the spatial
    pass over every latent frame (``all``) or one (``1``)."""
    t = tokens(g)
    spatial_seq = t["sequence"] if spatial_frames == "all" else t["video_tokens"] // t["latent_frames"] + g["text_len"]
    return pass_flops(g, t["sequence"], checkpointing) + (1 - skip) * pass_flops(g, spatial_seq, checkpointing)


def build(g: dict[str, int], device: str, dtype: str, seed: int = 0):
    """A CogVideoX transformer with random weights at geometry ``g`` and the real CogVideoX-2B scheduler."""
    import torch
    from diffusers import CogVideoXDPMScheduler, CogVideoXTransformer3DModel

    tdtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.device(device):
            transformer = CogVideoXTransformer3DModel(
                num_attention_heads=g["heads"], attention_head_dim=g["head_dim"], in_channels=g["channels"],
                out_channels=g["channels"], time_embed_dim=g["time_dim"], text_embed_dim=g["text_dim"],
                num_layers=g["layers"], sample_width=g["width"] // 8, sample_height=g["height"] // 8,
                sample_frames=g["frames"], patch_size=2, temporal_compression_ratio=4,
                max_text_seq_length=g["text_len"], use_rotary_positional_embeddings=False)
    transformer.to(dtype=tdtype)
    scheduler = CogVideoXDPMScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
        prediction_type="v_prediction", rescale_betas_zero_snr=True, timestep_spacing="trailing",
        set_alpha_to_one=True, snr_shift_scale=3.0)
    return transformer, scheduler


def _spec(g: dict[str, int], steps: int, rank: int, skip: float, spatial_frames: Any, gc: bool, seed: int = 0):
    from .lora import other_parity, select_blocks
    from .trainer import TrainSpec

    return TrainSpec("motion", steps=steps, rank=rank, lr=5e-4, weight_decay=1e-4, dropout=0.1, seed=seed,
                     blocks=select_blocks(g["layers"], "even"),
                     spatial_blocks=select_blocks(g["layers"], other_parity("even")), spatial_skip_prob=skip,
                     checkpoint_every=10**9, gradient_checkpointing=gc, spatial_frames=spatial_frames)


# Speed --------------------------------------------------------------------------------------------------------


def measure_speed(g: dict[str, int], *, device: str, dtype: str, clips: int, rank: int, steps: int, warmup: int,
                  rounds: int) -> dict[str, Any]:
    """Interleaved timing of every variant: per round, each variant (in a rotated order) runs temporal-only and
    both-paths training; per-step wall times after ``warmup`` steps are kept."""
    import torch

    from .encode import Encoded
    from .trainer import train_lora

    transformer, scheduler = build(g, device, dtype)
    t = tokens(g)
    gen = torch.Generator().manual_seed(0)
    data = [Encoded(example=None, latents=torch.randn(1, t["latent_frames"], g["channels"], g["height"] // 8,
                                                      g["width"] // 8, generator=gen),
                    prompt_embeds=torch.randn(1, g["text_len"], g["text_dim"], generator=gen))
            for _ in range(clips)]
    cuda = device.startswith("cuda")
    times: dict[str, dict[str, list[list[float]]]] = {v[0]: {"temporal": [], "both": []} for v in VARIANTS}
    peaks: dict[str, int] = {}
    for r in range(rounds):
        order = VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]
        for name, frames, gc in order:
            for mode, skip in (("temporal", 1.0), ("both", 0.0)):
                stamps: list[float] = []

                def on_step(step, total, loss, info, stamps=stamps):
                    if cuda:
                        torch.cuda.synchronize()
                    stamps.append(time.perf_counter())

                if cuda:
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                start = time.perf_counter()
                train_lora(transformer, scheduler, data, _spec(g, warmup + steps, rank, skip, frames, gc),
                           device=device, dtype=dtype, on_step=on_step)
                per_step = [b - a for a, b in zip([start] + stamps[:-1], stamps)][warmup:]
                times[name][mode].append(per_step)
                if cuda:
                    peaks[name] = max(peaks.get(name, 0), int(torch.cuda.max_memory_allocated()))
    return {"times": times, "peaks": peaks, "threads": torch.get_num_threads()}


def summarize_speed(raw: dict[str, Any], g: dict[str, int], skip: float, motion_steps: int) -> list[dict[str, Any]]:
    rows = []
    for name, frames, gc in VARIANTS:
        tt, tb = raw["times"][name]["temporal"], raw["times"][name]["both"]
        med_t = statistics.median([x for r in tt for x in r])
        med_b = statistics.median([x for r in tb for x in r])
        spatial = max(0.0, med_b - med_t)
        step = med_t + (1 - skip) * spatial
        round_steps = [statistics.median(a) + (1 - skip) * max(0.0, statistics.median(b) - statistics.median(a))
                       for a, b in zip(tt, tb)]
        rows.append({
            "variant": name, "spatial_frames": frames, "gradient_checkpointing": gc,
            "temporal_s": _sig(med_t), "both_s": _sig(med_b), "spatial_s": _sig(spatial), "step_s": _sig(step),
            "step_s_spread": [_sig(min(round_steps)), _sig(max(round_steps))],
            "hours_per_motion": _sig(motion_steps * step / 3600),
            "peak_gib": _sig(raw["peaks"][name] / 2**30) if name in raw["peaks"] else None,
            "step_tflop": _sig(step_flops(g, frames, skip, gc) / 1e12),
            "achieved_tflops": _sig(step_flops(g, frames, skip, gc) / 1e12 / step),
        })
    return rows


# Quality guard ------------------------------------------------------------------------------------------------


def synthetic_clips(g: dict[str, int], n: int, seed: int) -> list[Any]:
    """Latent-space clips of one motion (a blob moving right, one latent column per frame) with per-clip
    appearance (background pattern, blob channel signature), plus a per-clip prompt embedding."""
    import torch

    from .encode import Encoded

    t = tokens(g)
    nf, c, h, w = t["latent_frames"], g["channels"], g["height"] // 8, g["width"] // 8
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    out = []
    for _ in range(n):
        background = 0.5 * torch.randn(c, 1, 1, generator=gen) + 0.3 * torch.randn(c, h, w, generator=gen)
        signature = torch.randn(c, 1, 1, generator=gen)
        y0 = float(torch.randint(h // 4, 3 * h // 4, (1,), generator=gen))
        x0 = float(torch.randint(1, w // 3, (1,), generator=gen))
        frames = []
        for f in range(nf):
            blob = torch.exp(-((yy - y0) ** 2 + (xx - (x0 + 2.0 * f)) ** 2) / 4.0)  # moves 2 latent px per frame
            frames.append(background + 1.5 * signature * blob)
        latents = torch.stack(frames)[None]  # (1, F, C, h, w)
        embeds = 0.5 * torch.randn(1, g["text_len"], g["text_dim"], generator=gen)
        out.append(Encoded(example=None, latents=latents, prompt_embeds=embeds))
    return out


def quality_guard(g: dict[str, int], *, steps: int, rank: int, train_clips: int, held_out: int,
                  draws: int, recipes: list[tuple[str, Any, float]]) -> dict[str, Any]:
    """Held-out v-loss reduction of each recipe (name, spatial_frames, step fraction) vs the paper recipe."""
    from .trainer import evaluate_loss, train_lora

    transformer, scheduler = build(g, "cpu", "float32", seed=1)
    train = synthetic_clips(g, train_clips, seed=10)
    test = synthetic_clips(g, held_out, seed=20)
    base = evaluate_loss(transformer, scheduler, test, seed=999, draws=draws)
    out: dict[str, Any] = {"base_loss": base, "recipes": []}
    for name, frames, fraction in recipes:
        n = max(1, round(steps * fraction))
        start = time.perf_counter()
        res = train_lora(transformer, scheduler, train, _spec(g, n, rank, 0.2, frames, False))
        seconds = time.perf_counter() - start
        _load(transformer, res)
        try:
            after = evaluate_loss(transformer, scheduler, test, seed=999, draws=draws)
        finally:
            transformer.unload_lora()
        out["recipes"].append({"recipe": name, "spatial_frames": frames, "steps": n, "train_s": round(seconds, 1),
                               "held_out_loss": after, "reduction": base - after})
    paper = out["recipes"][0]["reduction"]
    for r in out["recipes"]:
        r["fraction_of_paper"] = r["reduction"] / paper if paper > 0 else float("nan")
        r["passes_90pct"] = bool(r["fraction_of_paper"] >= 0.9)
    return out


def _load(transformer, res) -> None:
    """Put a trained LoRA (state dict in diffusers' keys) back on the transformer as the only active adapter."""
    from peft import LoraConfig, set_peft_model_state_dict

    meta = res.metadata
    transformer.add_adapter(LoraConfig(r=meta["r"], lora_alpha=meta["lora_alpha"], lora_dropout=0.0,
                                       target_modules=meta["target_modules"]), adapter_name="bench")
    set_peft_model_state_dict(transformer, res.state_dict, adapter_name="bench")
    transformer.set_adapter("bench")
    transformer.eval()


# Report -------------------------------------------------------------------------------------------------------


def _sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def markdown(rep: dict[str, Any]) -> str:
    g, t = rep["geometry"], rep["tokens"]
    lines = [
        f"Geometry: {g['layers']} blocks, {g['heads']} heads × {g['head_dim']}, text {g['text_len']}×{g['text_dim']}, "
        f"{g['height']}×{g['width']} px, {g['frames']} frames → {t['latent_frames']} latent frames, "
        f"{t['video_tokens']} video tokens (sequence {t['sequence']}). Device {rep['device']}, {rep['dtype']}, "
        f"{rep['threads']} threads; {rep['clips']} clips (one spatial LoRA each), rank {rep['rank']}; "
        f"{rep['rounds']} interleaved rounds × {rep['measured_steps']} steps per path after {rep['warmup_steps']} "
        f"warm-up; medians, spread = min–max of per-round medians.",
    ]
    if not rep["device"].startswith("cuda"):
        lines.append("**Scaled-down CPU measurement** of this geometry only: not a GPU number, nothing projected.")
    lines += [
        "",
        "| variant | spatial_frames | grad. ckpt | temporal path (s) | both paths (s) | spatial pass (s) "
        f"| step at skip {rep['spatial_skip_prob']:g} (s) | spread (s) | hours / motion ({rep['motion_steps']} steps) "
        "| peak GiB | TFLOP / step | achieved TFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["rows"]:
        lines.append(f"| {r['variant']} | {r['spatial_frames']} | {'on' if r['gradient_checkpointing'] else 'off'} "
                     f"| {r['temporal_s']} | {r['both_s']} | {r['spatial_s']} | {r['step_s']} "
                     f"| {r['step_s_spread'][0]}–{r['step_s_spread'][1]} | {r['hours_per_motion']} "
                     f"| {r['peak_gib'] if r['peak_gib'] is not None else 'n/a'} | {r['step_tflop']} "
                     f"| {r['achieved_tflops']} |")
    if rep.get("full_geometry_arithmetic"):
        lines += ["", f"CogVideoX-2B geometry, **arithmetic only** (analytic FLOPs of an expected step, at an "
                  f"*assumed* sustained {rep['assume_tflops']:g} TFLOP/s; not measured):", "",
                  "| variant | TFLOP / step | hours / motion |", "|---|---|---|"]
        for r in rep["full_geometry_arithmetic"]:
            lines.append(f"| {r['variant']} | {r['step_tflop']} | {r['hours_per_motion_at_assumed_tflops']} |")
    q = rep.get("quality")
    if q:
        lines += ["", f"Quality guard (geometry `guard`, CPU float32, {q['train_clips']} training clips, "
                  f"{q['held_out']} held-out clips, {q['draws']} held-out draws): held-out v-loss before training "
                  f"{q['base_loss']:.4f}.", "",
                  "| recipe | spatial_frames | steps | held-out loss | reduction | % of paper | ≥ 90 % |",
                  "|---|---|---|---|---|---|---|"]
        for r in q["recipes"]:
            lines.append(f"| {r['recipe']} | {r['spatial_frames']} | {r['steps']} | {r['held_out_loss']:.4f} "
                         f"| {r['reduction']:.4f} | {100 * r['fraction_of_paper']:.1f} | "
                         f"{'yes' if r['passes_90pct'] else 'no'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dreamrunner_cli.adapt.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--geometry", choices=sorted(GEOMETRIES), default="cpu")
    for key in GEOMETRIES["cpu"]:
        ap.add_argument(f"--{key.replace('_', '-')}", type=int, dest=key, help=f"override the geometry's {key}")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    ap.add_argument("--clips", type=int, default=4, help="training clips = spatial LoRAs (4–20 in the paper)")
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3, help="measured steps per path, variant and round")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--motion-steps", type=int, default=500, help="steps per motion for hours per motion")
    ap.add_argument("--skip-prob", type=float, default=0.2, help="spatial_skip_prob of the recipe")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--assume-tflops", type=float, default=400.0, help="sustained TFLOP/s assumed for the "
                    "full-geometry arithmetic (an assumption, printed as such)")
    ap.add_argument("--quality", action="store_true", help="also run the quality guard (CPU, minutes)")
    ap.add_argument("--quality-steps", type=int, default=200, help="paper-recipe steps of the quality guard")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    g = dict(GEOMETRIES[args.geometry])
    for key in GEOMETRIES["cpu"]:
        if getattr(args, key) is not None:
            g[key] = getattr(args, key)
    rep: dict[str, Any] = {"geometry": g, "tokens": tokens(g), "device": args.device, "dtype": args.dtype,
                           "clips": args.clips, "rank": args.rank, "measured_steps": args.steps,
                           "warmup_steps": args.warmup, "rounds": args.rounds, "motion_steps": args.motion_steps,
                           "spatial_skip_prob": args.skip_prob, "threads": torch.get_num_threads(), "rows": []}
    if not args.no_speed:
        raw = measure_speed(g, device=args.device, dtype=args.dtype, clips=args.clips, rank=args.rank,
                            steps=args.steps, warmup=args.warmup, rounds=args.rounds)
        rep["rows"] = summarize_speed(raw, g, args.skip_prob, args.motion_steps)
    full = GEOMETRIES["full"]
    rep["full_geometry_arithmetic"] = [  # an estimate from a FLOP count and an assumed throughput, not a measurement
        {"variant": name, "spatial_frames": frames, "gradient_checkpointing": gc,
         "step_tflop": _sig(step_flops(full, frames, args.skip_prob, gc) / 1e12),
         "hours_per_motion_at_assumed_tflops": _sig(args.motion_steps * step_flops(full, frames, args.skip_prob, gc)
                                                    / (args.assume_tflops * 1e12) / 3600)}
        for name, frames, gc in VARIANTS]
    rep["assume_tflops"] = args.assume_tflops
    if args.quality:
        q = quality_guard(GEOMETRIES["guard"], steps=args.quality_steps, rank=8, train_clips=4, held_out=3,
                          draws=48, recipes=[("paper", "all", 1.0), ("single-frame", 1, 1.0),
                                             ("single-frame, 60% steps", 1, 0.6)])
        rep["quality"] = {**q, "train_clips": 4, "held_out": 3, "draws": 48}
    print(json.dumps(rep, indent=2) if args.json else markdown(rep))


if __name__ == "__main__":
    main()
