"""Benchmark of one adapt training step: time and peak memory, with and without gradient checkpointing.

    python -m dreamrunner_cli.adapt_bench                       # scaled-down geometry on CPU
    python -m dreamrunner_cli.adapt_bench --geometry full --device cuda --dtype bfloat16   # CogVideoX-2B, GPU

It runs the real trainer (``dreamrunner_cli.adapt.trainer.train_lora``: motion LoRA + one spatial LoRA per clip,
rank 32 by default, AdamW) on a transformer with random weights at the chosen geometry, with random latents and
prompt embeddings standing in for the encoded clips (their encoding is cached once per clip and is not part of a
step). Each gradient-checkpointing setting runs in a fresh subprocess (so that peak memory is its own) and times
two runs on the same model:

* ``temporal``: temporal path only (spatial_skip_prob = 1);
* ``both``: spatial + temporal path every step (spatial_skip_prob = 0); the spatial pass's time is the difference.

Times are the fastest of the measured steps (the machines here are shared; the mean is in ``--json``).

Expected step time for the recipe = temporal + (1 − spatial_skip_prob) · spatial; projected hours per motion =
steps × that / 3600 (encoding the clips once is not included). Peak memory: CUDA ``max_memory_allocated``; on CPU
the process's peak RSS minus its RSS before training (so the model's weights are excluded from "step memory").

``--geometry full`` is CogVideoX-2B: 30 blocks, 30 heads × 64, text_embed 4096, 226 text tokens, 480×720, 49 frames
(13 latent frames, 17 550 video tokens). The report also gives an analytic FLOP count of one step at the measured
geometry, and the hours that count would take at an *assumed* sustained throughput (``--assume-tflops``): an
arithmetic estimate, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

GEOMETRIES: dict[str, dict[str, int]] = {
    # CogVideoX-2B (METHOD.md section 0): the paper's model at the default 49 frames.
    "full": {"layers": 30, "heads": 30, "head_dim": 64, "text_dim": 4096, "text_len": 226, "time_dim": 512,
             "channels": 16, "height": 480, "width": 720, "frames": 49},
    # Scaled down to run on a 2-core CPU in about a minute.
    "cpu": {"layers": 6, "heads": 8, "head_dim": 64, "text_dim": 512, "text_len": 32, "time_dim": 128,
            "channels": 16, "height": 160, "width": 240, "frames": 25},
    # The tiny test model's geometry.
    "tiny": {"layers": 2, "heads": 2, "head_dim": 16, "text_dim": 32, "text_len": 16, "time_dim": 8,
             "channels": 4, "height": 64, "width": 64, "frames": 9},
}


def tokens(g: dict[str, int]) -> dict[str, int]:
    """Latent frames, video tokens and sequence length of a geometry (VAE 8×/4×, patch 2)."""
    lf = (g["frames"] - 1) // 4 + 1
    video = lf * (g["height"] // 16) * (g["width"] // 16)
    return {"latent_frames": lf, "video_tokens": video, "sequence": video + g["text_len"]}


def step_flops(g: dict[str, int], spatial_fraction: float, checkpointing: bool) -> float:
    """Analytic FLOPs of one training step (LoRA and elementwise work neglected).

    Per block: linear weights P = 4·d² (q, k, v, out) + 2·d·4d (feed-forward); forward 2·P·S, attention 4·S²·d.
    Frozen base weights need only input gradients: backward ≈ 1× the linear forward and 2× the attention forward.
    Gradient checkpointing adds one more forward. A step runs the temporal pass plus ``spatial_fraction`` of a
    spatial pass.
    """
    d = g["heads"] * g["head_dim"]
    s = tokens(g)["sequence"]
    p = 4 * d * d + 8 * d * d
    fwd_lin, fwd_att = 2 * p * s * g["layers"], 4 * s * s * d * g["layers"]
    per_pass = 2 * fwd_lin + 3 * fwd_att + ((fwd_lin + fwd_att) if checkpointing else 0)
    return per_pass * (1.0 + spatial_fraction)


# The measurement (one subprocess per variant) ------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _build(g: dict[str, int], device: str, dtype: str):
    import torch
    from diffusers import CogVideoXDPMScheduler, CogVideoXTransformer3DModel

    tdtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]
    torch.manual_seed(0)
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


def measure(g: dict[str, int], *, device: str, dtype: str, checkpointing: bool, clips: int, rank: int,
            steps: int, warmup: int) -> dict[str, Any]:
    """Time real training steps in two runs on one model: temporal path only, then both paths every step.

    Returns the fastest and mean step seconds of each (after ``warmup`` steps) and the peak memory.
    """
    import torch

    from .adapt.encode import Encoded
    from .adapt.lora import other_parity, select_blocks
    from .adapt.trainer import TrainSpec, train_lora

    transformer, scheduler = _build(g, device, dtype)
    t = tokens(g)
    gen = torch.Generator().manual_seed(0)
    data = [Encoded(example=None, latents=torch.randn(1, t["latent_frames"], g["channels"], g["height"] // 8,
                                                      g["width"] // 8, generator=gen),
                    prompt_embeds=torch.randn(1, g["text_len"], g["text_dim"], generator=gen))
            for _ in range(clips)]
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base_mem = torch.cuda.memory_allocated()
    else:
        base_mem = _rss_bytes()
    out: dict[str, Any] = {"threads": torch.get_num_threads()}
    for variant, skip in (("temporal", 1.0), ("both", 0.0)):
        spec = TrainSpec("motion", steps=warmup + steps, rank=rank, lr=5e-4, weight_decay=1e-4, dropout=0.1,
                         seed=0, blocks=select_blocks(g["layers"], "even"),
                         spatial_blocks=select_blocks(g["layers"], other_parity("even")), spatial_skip_prob=skip,
                         checkpoint_every=10**9, gradient_checkpointing=checkpointing)
        stamps: list[float] = []

        def on_step(step, total, loss, info):
            if cuda:
                torch.cuda.synchronize()
            stamps.append(time.perf_counter())

        start = time.perf_counter()
        train_lora(transformer, scheduler, data, spec, device=device, dtype=dtype, on_step=on_step)
        times = [b - a for a, b in zip([start] + stamps[:-1], stamps)][warmup:]
        out[variant] = {"min_s": min(times), "mean_s": sum(times) / len(times)}
    peak = torch.cuda.max_memory_allocated() if cuda else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    out.update(peak_bytes=peak, base_bytes=base_mem, step_bytes=max(0, peak - base_mem))
    return out


# The report ---------------------------------------------------------------------------------------------------


def run_variants(args: argparse.Namespace, g: dict[str, int]) -> dict[str, Any]:
    """One fresh subprocess per gradient-checkpointing setting (so each peak memory is its own)."""
    results: dict[str, Any] = {}
    for ckpt in (False, True):
        cmd = [sys.executable, "-m", "dreamrunner_cli.adapt_bench", "--child", "--geometry-json", json.dumps(g),
               "--device", args.device, "--dtype", args.dtype, "--clips", str(args.clips), "--rank", str(args.rank),
               "--steps", str(args.steps), "--warmup", str(args.warmup)]
        if ckpt:
            cmd.append("--checkpointing")
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"benchmark child failed (checkpointing={ckpt}):\n{out.stderr[-3000:]}")
        results["gc" if ckpt else "no-gc"] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def report(args: argparse.Namespace, g: dict[str, int], results: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for gc in ("no-gc", "gc"):
        r = results[gc]
        both, temporal = r["both"]["min_s"], r["temporal"]["min_s"]
        spatial = max(0.0, both - temporal)
        expected = temporal + (1 - args.skip_prob) * spatial
        flops = step_flops(g, 1 - args.skip_prob, gc == "gc")
        rows.append({
            "gradient_checkpointing": gc == "gc",
            "step_s_both_paths": _sig(both),
            "step_s_temporal_only": _sig(temporal),
            "spatial_pass_s": _sig(spatial),
            "expected_step_s": _sig(expected),
            "peak_memory_gib": _sig(r["peak_bytes"] / 2**30),
            "step_memory_gib": _sig(r["step_bytes"] / 2**30),
            "hours_per_motion": _sig(args.motion_steps * expected / 3600),
            "step_tflop": _sig(flops / 1e12),
            "estimated_hours_at_assumed_tflops": _sig(args.motion_steps * flops / (args.assume_tflops * 1e12) / 3600),
            "raw": r,
        })
    return {"geometry": g, "tokens": tokens(g), "device": args.device, "dtype": args.dtype, "clips": args.clips,
            "rank": args.rank, "measured_steps": args.steps, "warmup_steps": args.warmup,
            "motion_steps": args.motion_steps, "spatial_skip_prob": args.skip_prob,
            "assume_tflops": args.assume_tflops, "threads": results["no-gc"]["threads"], "rows": rows}


def _sig(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def markdown(rep: dict[str, Any]) -> str:
    g, t = rep["geometry"], rep["tokens"]
    lines = [
        f"Geometry: {g['layers']} blocks, {g['heads']} heads × {g['head_dim']}, text {g['text_len']}×{g['text_dim']}, "
        f"{g['height']}×{g['width']} px, {g['frames']} frames → {t['latent_frames']} latent frames, "
        f"{t['video_tokens']} video tokens (sequence {t['sequence']}). Device {rep['device']}, {rep['dtype']}, "
        f"{rep['threads']} threads; {rep['clips']} clips (one spatial LoRA each), rank {rep['rank']}; fastest of "
        f"{rep['measured_steps']} steps after {rep['warmup_steps']} warm-up.",
        "",
        "| gradient checkpointing | step, both paths (s) | temporal only (s) | spatial pass (s) | expected step (s) "
        f"| peak memory (GiB) | step memory (GiB) | hours / motion ({rep['motion_steps']} steps) | TFLOP / step "
        f"| est. hours at {rep['assume_tflops']:g} TFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["rows"]:
        lines.append(f"| {'on' if r['gradient_checkpointing'] else 'off'} | {r['step_s_both_paths']} | "
                     f"{r['step_s_temporal_only']} | {r['spatial_pass_s']} | {r['expected_step_s']} | "
                     f"{r['peak_memory_gib']} | {r['step_memory_gib']} | {r['hours_per_motion']} | "
                     f"{r['step_tflop']} | {r['estimated_hours_at_assumed_tflops']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m dreamrunner_cli.adapt_bench", description=__doc__.split("\n")[0])
    ap.add_argument("--geometry", choices=sorted(GEOMETRIES), default="cpu")
    ap.add_argument("--geometry-json", help=argparse.SUPPRESS)
    for key in GEOMETRIES["cpu"]:
        ap.add_argument(f"--{key.replace('_', '-')}", type=int, dest=key, help=f"override the geometry's {key}")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    ap.add_argument("--clips", type=int, default=4, help="training clips = spatial LoRAs (4–20 in the paper)")
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3, help="measured steps per variant")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--motion-steps", type=int, default=500, help="steps per motion for the projection")
    ap.add_argument("--skip-prob", type=float, default=0.2, help="spatial_skip_prob of the projected recipe")
    ap.add_argument("--assume-tflops", type=float, default=400.0,
                    help="sustained TFLOP/s for the arithmetic estimate (an assumption, not measured)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--checkpointing", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    g = json.loads(args.geometry_json) if args.geometry_json else dict(GEOMETRIES[args.geometry])
    for key in GEOMETRIES["cpu"]:
        if getattr(args, key) is not None:
            g[key] = getattr(args, key)
    if args.child:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        res = measure(g, device=args.device, dtype=args.dtype, checkpointing=args.checkpointing,
                      clips=args.clips, rank=args.rank, steps=args.steps, warmup=args.warmup)
        print(json.dumps(res))
        return
    rep = report(args, g, run_variants(args, g))
    print(json.dumps(rep, indent=2) if args.json else markdown(rep))


if __name__ == "__main__":
    main()
