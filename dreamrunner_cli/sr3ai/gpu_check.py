"""`make gpu-check`: SR3AI at the full CogVideoX-2B geometry on a CUDA machine, random weights, one table.

What it measures (issue: real-model fidelity), in one run of a few minutes:
1. transformer step time and peak memory, stock vs SR3AI (sdpa, flex), with 2, 4 and 6 prompts, and with 4 region
   LoRAs (rank 32) — variants interleaved, medians with spread (``bench.run_bench``);
2. the numerical agreement of the sdpa and flex backends on one full step;
3. the mask build's peak extra memory as a ratio to the mask (``bench.mask_build_memory``);
4. one complete scene render: 480×720, 48 frames, 50 DPM steps, CFG 9, fp16, 4 prompts and 4 region LoRAs, on a
   pipeline of random weights (the 2B transformer and VAE at their real configs, a one-layer T5 with the real
   4096-wide output): wall time and peak memory, never a meaningful video.

``--smoke`` runs every part at the small CPU geometry in seconds (the test suite does, so the script cannot rot).
Targets (benchmark, not test): SR3AI step ≤ 1.10× stock with flex, peak memory ≤ 1.05× stock.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def sdpa_flex_agreement(geometry: str, prompts: int, device, dtype) -> dict:
    """Max |sdpa − flex| over one transformer step's output (CFG batch 2), and the output's scale."""
    import torch

    from .attention import RegionMask, install_region_attention, multi_prompt_positions
    from .bench import FULL_SIZE, SMALL_SIZE, bench_scene, build_transformer
    from .geometry import Geometry
    from .regions import scene_regions

    model, config = build_transformer(geometry, device, dtype)
    h, w, f = FULL_SIZE if geometry == "full" else SMALL_SIZE
    geom = Geometry.from_config(config, h, w, f)
    sr = scene_regions(bench_scene(prompts), geom)
    g = torch.Generator().manual_seed(1)
    latents = torch.randn(2, geom.latent_frames, config["in_channels"], h // 8, w // 8, generator=g).to(device, dtype)
    text = torch.randn(2, sr.num_prompts * geom.text_len, config["text_embed_dim"], generator=g).to(device, dtype)
    outs = {}
    with torch.no_grad(), install_region_attention(model), multi_prompt_positions(model, text.shape[1]):
        for backend in ("sdpa", "flex"):
            mask = RegionMask.from_regions(sr, backend, device)
            outs[backend] = model(hidden_states=latents, encoder_hidden_states=text,
                                  timestep=torch.tensor([500, 500], device=device), return_dict=False,
                                  attention_kwargs={"region_mask": mask})[0].float()
    del model
    diff = (outs["sdpa"] - outs["flex"]).abs()
    return {"prompts": prompts, "seq_len": sr.seq_len, "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()), "output_abs_mean": float(outs["sdpa"].abs().mean())}


def random_pipeline(geometry: str, device, dtype):
    """A CogVideoXPipeline of random weights: the 2B transformer and VAE at their real configs (``full``) or the tiny
    ones (``small``), the real 2B scheduler config, and a one-layer T5 whose output is as wide as the real one."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline
    from transformers import T5Config, T5EncoderModel

    from ..models.known_configs import KNOWN_SCHEDULER_CONFIGS
    from ..models.tiny import _tokenizer, build_tiny_components
    from .bench import build_transformer

    if geometry == "small":
        parts = build_tiny_components()
        pipe = CogVideoXPipeline(**parts)
    else:
        transformer, config = build_transformer("full", device, dtype)
        with torch.device(device):
            vae = AutoencoderKLCogVideoX()  # diffusers' defaults are the CogVideoX-2B VAE config
            tokenizer = _tokenizer()
            tokenizer.model_max_length = config["max_text_seq_length"]
            text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=config["text_embed_dim"],
                                                   d_kv=64, d_ff=1024, num_layers=1, num_heads=8,
                                                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))
        scheduler = CogVideoXDDIMScheduler.from_config(KNOWN_SCHEDULER_CONFIGS["THUDM/CogVideoX-2b"])
        pipe = CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder.eval(), vae=vae.eval(),
                                 transformer=transformer, scheduler=scheduler)
    pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def scene_render(geometry: str, device, dtype, loras: int = 4) -> dict:
    """One complete scene through ``render_scene`` (SR3AI sdpa, region LoRAs, DPM sampler)."""
    import torch

    from ..config import RenderConfig
    from .bench import _add_region_loras, bench_scene
    from .pipeline import geometry_of, render_scene, use_scheduler
    from .regions import scene_regions

    pipe = random_pipeline(geometry, device, dtype)
    use_scheduler(pipe, "dpm")
    if geometry == "full":
        cfg = RenderConfig(height=480, width=720, num_frames=48, steps=50, guidance_scale=9.0, attention="sdpa")
        pipe.vae.enable_tiling()
        pipe.vae.enable_slicing()
    else:
        cfg = RenderConfig(height=64, width=64, num_frames=9, steps=3, guidance_scale=6.0, attention="sdpa")
    geom = geometry_of(pipe, cfg.height, cfg.width, cfg.num_frames)
    scene = bench_scene(4)
    regions = scene_regions(scene, geom)
    adapters = _add_region_loras(pipe.transformer, geom.num_blocks, loras)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = render_scene(pipe, scene, cfg, seed=0, regions=regions, adapters=adapters)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    return {"size": f"{cfg.width}x{cfg.height}x{cfg.num_frames}", "steps": cfg.steps,
            "guidance_scale": cfg.guidance_scale, "scheduler": type(pipe.scheduler).__name__,
            "prompts": regions.num_prompts, "loras": len(out.adapters), "frames_out": int(out.frames.shape[0]),
            "seconds": round(seconds, 1), "mask_calls": out.mask_calls,
            "peak_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None}


def run(smoke: bool = False, repeats: int = 5) -> dict:
    import torch

    from .bench import mask_build_memory, run_bench

    if not smoke and not torch.cuda.is_available():
        raise SystemExit("gpu-check needs a CUDA device (use --smoke on a CPU to check the script itself)")
    geometry = "small" if smoke else "full"
    device = torch.device("cuda" if torch.cuda.is_available() and not smoke else "cpu")
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    dtype_name = str(dtype).replace("torch.", "")
    result: dict = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                    "torch": torch.__version__, "geometry": geometry, "dtype": dtype_name}
    t0 = time.perf_counter()
    result["bench"] = run_bench(geometry, (3,) if smoke else (2, 4, 6), repeats if not smoke else 1,
                                ("none", "sdpa", "flex"), str(device), dtype_name, loras=4)
    result["agreement"] = sdpa_flex_agreement(geometry, 4, device, dtype)
    result["mask_memory"] = [mask_build_memory(geometry, 4, b, str(device)) for b in ("sdpa", "flex")]
    if device.type == "cuda":
        torch.cuda.empty_cache()
    result["render"] = scene_render(geometry, device, dtype)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def format_report(result: dict) -> str:
    from .bench import format_table

    a, r = result["agreement"], result["render"]
    bench = dict(result["bench"], mask_memory=result["mask_memory"])
    lines = [f"# gpu-check on {result['device']} (torch {result['torch']}, {result['dtype']}, {result['geometry']} "
             f"geometry, random weights; {result['seconds']} s)", "", format_table(bench), "",
             f"sdpa vs flex, one step, P={a['prompts']} (S={a['seq_len']}): max |diff| {a['max_abs_diff']:.3g}, "
             f"mean |diff| {a['mean_abs_diff']:.3g} (output mean |x| {a['output_abs_mean']:.3g})",
             f"Scene render {r['size']}, {r['steps']} steps {r['scheduler']}, CFG {r['guidance_scale']}, "
             f"{r['prompts']} prompts, {r['loras']} region LoRAs: {r['seconds']} s, peak "
             f"{r['peak_gib'] if r['peak_gib'] is not None else '-'} GiB, {r['frames_out']} frames out",
             "Targets (benchmark, not test): flex step ≤ 1.10× none, peak memory ≤ 1.05× none; mask build ≤ 1.5×."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small geometry on CPU: checks the script only")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per benchmark row")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here "
                        "(default: $OUT/gpu-check.json when $OUT is set)")
    args = parser.parse_args(argv)
    result = run(smoke=args.smoke, repeats=args.repeats)
    report = format_report(result)
    print(report, flush=True)
    out = args.out or (Path(os.environ["OUT"]) / "gpu-check.json" if os.environ.get("OUT") else None)
    if out:
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
