"""SR3AI benchmark: transformer step time and peak memory of the attention backends, as ratios to the stock model.

``full`` = CogVideoX-2B geometry with random weights (30 blocks, 30 heads × 64, 480×720, 49 frames; a GPU with
≥ 40 GB). ``small`` = a scaled-down geometry that runs on a CPU in seconds, so the benchmark itself is tested.
One "step" is one transformer forward at CFG batch 2, the unit of the 50-step denoising loop. Every backend sees the
same joint sequence [P prompts ; video]; ``none`` runs it without a mask. Variants are interleaved (A B C A B C …)
and reported as medians with their spread, so a noisy machine slows every variant alike. ``mask_build_memory``
measures the mask build's peak extra memory as a ratio to the mask (target ≤ 1.5× at the full 2B geometry).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

SMALL_CONFIG = {
    "num_attention_heads": 4, "attention_head_dim": 32, "in_channels": 4, "out_channels": 4, "time_embed_dim": 32,
    "text_embed_dim": 64, "num_layers": 2, "sample_width": 30, "sample_height": 20, "sample_frames": 9,
    "patch_size": 2, "temporal_compression_ratio": 4, "max_text_seq_length": 32,
    "use_rotary_positional_embeddings": False,
}
SMALL_SIZE = (160, 240, 9)  # → 3 latent frames × 10 × 15 tokens
FULL_SIZE = (480, 720, 49)  # → 13 latent frames × 30 × 45 tokens


@dataclass
class Row:
    prompts: int
    seq_len: int
    backend: str  # none | sdpa | flex, "+4 LoRAs" when region LoRAs are on
    step_ms: float  # median over the interleaved repeats
    step_ms_spread: tuple[float, float]  # (min, max)
    peak_mib: float | None  # CUDA peak during this variant's steps; None on CPU
    mask_mib: float  # the one mask this backend builds per scene (shared by every block and step)
    ratio_time: float = 1.0  # median of the per-round ratios to 'none'
    ratio_time_spread: tuple[float, float] = (1.0, 1.0)
    ratio_mem: float | None = None


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_transformer(geometry: str, device, dtype):
    import torch
    from diffusers import CogVideoXTransformer3DModel

    config = _config(geometry)
    with torch.device(device):
        model = CogVideoXTransformer3DModel(**config)  # random weights: timing and memory only
    if dtype != torch.float32:
        model = model.to(dtype=dtype)
    return model.eval(), config


def bench_scene(P: int):
    """P-1 side-by-side character regions that move across key frames, plus the background prompt: P prompts."""
    from ..schema import Keyframe, Region, Scene

    kfs = []
    for k in range(6):
        regions = []
        for i in range(P - 1):
            x0 = min(0.8, i / max(P - 1, 1) + 0.02 * k)
            regions.append(Region(entity=f"e{i}", motion=f"m{i}", caption=f"character {i} doing its motion",
                                  box=(x0, 0.1, min(1.0, x0 + 1.0 / max(P - 1, 1)), 0.9)))
        kfs.append(Keyframe(regions=regions))
    return Scene(id="bench", narration="n", background="background", keyframes=kfs)


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def run_bench(geometry: str = "small", prompts: tuple[int, ...] = (2, 4, 6), repeats: int = 3,
              backends: tuple[str, ...] = ("none", "sdpa", "flex"), device: str | None = None,
              dtype: str | None = None, loras: int = 0) -> dict:
    """Time one transformer step per variant, interleaved: each round runs every variant once (A B C A B C …), so
    a busy machine slows all variants alike; rows report medians and (min, max), ratios are medians of per-round
    ratios. ``loras`` > 0 adds variants with that many rank-32 region LoRAs (half motion on even blocks, half
    character on odd blocks), each bound to one region."""
    import contextlib
    import warnings

    import torch

    from .attention import RegionMask, install_region_attention, multi_prompt_positions
    from .geometry import Geometry
    from .lora import RegionLoRA, token_masks
    from .regions import scene_regions

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dt = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        dtype or ("bfloat16" if dev.type == "cuda" else "float32")]
    model, config = build_transformer(geometry, dev, dt)
    h, w, f = FULL_SIZE if geometry == "full" else SMALL_SIZE
    geom = Geometry.from_config(config, h, w, f)
    adapters = _add_region_loras(model, geom.num_blocks, loras) if loras else []
    rows: list[Row] = []
    gen = torch.Generator(device="cpu").manual_seed(0)
    latents = torch.randn(2, geom.latent_frames, config["in_channels"], h // 8, w // 8, generator=gen).to(dev, dt)
    t = torch.tensor([500, 500], device=dev)
    variants = [(b, False) for b in backends] + ([(b, True) for b in backends if b != "none"] if loras else [])
    for P in prompts:
        sr = scene_regions(bench_scene(P), geom)
        text = torch.randn(2, sr.num_prompts * geom.text_len, config["text_embed_dim"], generator=gen).to(dev, dt)
        masks = {b: None if b == "none" else RegionMask.from_regions(sr, b, dev) for b in backends}
        used = [(k, i) for k, i in adapters if any(i in (p.entities + p.motions) for p in sr.prompts)]
        region_lora = RegionLoRA(model)
        lora_masks = token_masks(sr, used, dev, dt) if loras else {}

        def step(backend: str, with_lora: bool):
            mask = masks[backend]
            kwargs = {} if mask is None else {"attention_kwargs": {"region_mask": mask}}
            region_lora.set_masks(lora_masks if with_lora else {})
            with torch.no_grad():
                model(hidden_states=latents, encoder_hidden_states=text, timestep=t, return_dict=False, **kwargs)

        times: dict[tuple, list[float]] = {v: [] for v in variants}
        peaks: dict[tuple, float] = {v: 0.0 for v in variants}
        hooks = region_lora.installed() if loras else contextlib.nullcontext()
        with install_region_attention(model), multi_prompt_positions(model, text.shape[1]), hooks, \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for v in variants:
                step(*v)  # warm-up: builds each mask once, compiles flex on CUDA
            for _ in range(repeats):
                for v in variants:
                    _sync(dev)
                    if dev.type == "cuda":
                        torch.cuda.reset_peak_memory_stats(dev)
                    start = time.perf_counter()
                    step(*v)
                    _sync(dev)
                    times[v].append((time.perf_counter() - start) * 1000)
                    if dev.type == "cuda":
                        peaks[v] = max(peaks[v], torch.cuda.max_memory_allocated(dev) / 2**20)
        base = ("none", False)
        for v in variants:
            backend, with_lora = v
            ms = times[v]
            ratios = [a / b for a, b in zip(ms, times[base])] if base in times else [1.0]
            peak = peaks[v] if dev.type == "cuda" else None
            rows.append(Row(
                P, sr.seq_len, backend + (f" +{len(used)} LoRAs" if with_lora else ""), round(_median(ms), 2),
                (round(min(ms), 2), round(max(ms), 2)), None if peak is None else round(peak, 1),
                round(_mask_bytes(masks[backend]) / 2**20, 2), round(_median(ratios), 3),
                (round(min(ratios), 3), round(max(ratios), 3)),
                round(peak / peaks[base], 3) if peak and base in peaks and peaks[base] else None))
    return {
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "geometry": geometry, "dtype": str(dt).replace("torch.", ""), "blocks": geom.num_blocks,
        "size": {"height": h, "width": w, "frames": f, "latent_frames": geom.latent_frames,
                 "video_tokens": geom.video_tokens, "text_len": geom.text_len},
        "repeats": repeats, "rows": [asdict(r) for r in rows],
        # What the authors' script allocates: one dense S×S bool mask per block (METHOD.md C.2 cost note).
        "authors_mask_mib_per_scene": {P: round(geom.num_blocks * geom.seq_len(P) ** 2 / 2**20, 1) for P in prompts},
    }


def _add_region_loras(model, num_blocks: int, count: int) -> list[tuple[str, str]]:
    """``count`` rank-32 LoRAs bound to the bench scene's entities / motions (random B so deltas are not zero)."""
    import torch

    from ..adapt.lora import add_lora, select_blocks
    from .lora import adapter_name

    model.requires_grad_(False)
    adapters = []
    for j in range(count):
        kind = "motion" if j % 2 == 0 else "character"
        item = f"m{j // 2}" if kind == "motion" else f"e{j // 2}"
        params = add_lora(model, adapter_name(kind, item), select_blocks(num_blocks, "even" if kind == "motion"
                                                                         else "odd"), rank=32, dropout=0.0)
        with torch.no_grad():
            for p in params:
                p.normal_(0, 0.01)
                p.data = p.data.to(model.dtype)
                p.requires_grad_(False)
        adapters.append((kind, item))
    return adapters


def mask_build_memory(geometry: str = "full", prompts: int = 4, backend: str = "sdpa",
                      device: str | None = None) -> dict:
    """Peak extra memory of building one scene's mask, as a ratio to the mask itself (target ≤ 1.5×).

    CUDA: the allocator's peak above what was allocated before. CPU: the growth of the process's peak RSS
    (``VmHWM``), measured in a fresh subprocess (peak RSS only ever grows, so it must start low; ``ru_maxrss`` would
    not do: Linux carries it over from the parent across fork and exec).
    """
    import json
    import subprocess
    import sys

    import torch

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cpu":
        code = ("import json, sys; from dreamrunner_cli.sr3ai.bench import _mask_memory_here; "
                f"print(json.dumps(_mask_memory_here({geometry!r}, {prompts}, {backend!r}, 'cpu')))")
        out = subprocess.run([sys.executable, "-c", code], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    return _mask_memory_here(geometry, prompts, backend, str(dev))


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM: its own memory map only, unlike ru_maxrss)."""
    import resource

    from ..retrieval.bench import proc_status

    hwm = proc_status().get("VmHWM")
    return int(hwm * 2**20) if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _mask_memory_here(geometry: str, prompts: int, backend: str, device: str) -> dict:
    import torch

    from .attention import RegionMask
    from .geometry import Geometry
    from .regions import scene_regions

    config = _config(geometry)
    geom = Geometry.from_config(config, *(FULL_SIZE if geometry == "full" else SMALL_SIZE))
    regions = scene_regions(bench_scene(prompts), geom)
    dev = torch.device(device)
    mask = RegionMask.from_regions(regions, backend, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    else:
        before = _peak_rss()
    # The form each backend hands to attention: CUDA SDPA the additive mask, CPU SDPA the boolean one.
    built = mask.block_mask() if backend == "flex" else (
        mask.additive(torch.bfloat16) if dev.type == "cuda" else mask.dense())
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        peak = torch.cuda.max_memory_allocated(dev) - before
    else:
        peak = _peak_rss() - before
    size = _mask_bytes(mask) - mask.bits.numel() * mask.bits.element_size() - mask.is_video.numel()
    del built
    return {"geometry": geometry, "prompts": prompts, "seq_len": regions.seq_len, "backend": backend,
            "device": device, "mask_mib": round(size / 2**20, 1), "peak_extra_mib": round(peak / 2**20, 1),
            "ratio": round(peak / size, 3) if size else None}


def _config(geometry: str) -> dict:
    from ..models.known_configs import KNOWN_TRANSFORMER_CONFIGS

    return dict(KNOWN_TRANSFORMER_CONFIGS["THUDM/CogVideoX-2b"]) if geometry == "full" else dict(SMALL_CONFIG)


def _mask_bytes(mask) -> int:
    if mask is None:
        return 0
    total = mask.bits.numel() * mask.bits.element_size() + mask.is_video.numel()
    if mask._dense is not None:
        total += mask._dense.numel() * mask._dense.element_size()
    if mask._additive is not None:
        total += mask._additive.untyped_storage().nbytes()
    if mask._block_mask is not None:
        bm = mask._block_mask
        for name in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
                     "q_indices", "full_q_num_blocks", "full_q_indices"):
            tensor = getattr(bm, name, None)
            if tensor is not None:
                total += tensor.numel() * tensor.element_size()
    return total


def format_table(result: dict) -> str:
    lines = [f"SR3AI benchmark on {result['device']} ({result['geometry']} geometry, {result['dtype']}, "
             f"{result['blocks']} blocks, {result['size']['video_tokens']} video tokens, "
             f"{result['repeats']} interleaved rounds; medians, (min–max))",
             "| prompts | seq len | backend | step ms | × none | peak MiB | × none | mask MiB (once per scene) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lo, hi = r["step_ms_spread"]
        rlo, rhi = r["ratio_time_spread"]
        lines.append(f"| {r['prompts']} | {r['seq_len']} | {r['backend']} | {r['step_ms']} ({lo}–{hi}) | "
                     f"{r['ratio_time']} ({rlo}–{rhi}) | {r['peak_mib'] if r['peak_mib'] is not None else '-'} | "
                     f"{r['ratio_mem'] if r['ratio_mem'] is not None else '-'} | {r['mask_mib']} |")
    for m in result.get("mask_memory", []):
        head = f"Mask build ({m['backend']}, P={m['prompts']}, S={m['seq_len']}, {m['device']}): peak extra " \
               f"{m['peak_extra_mib']} MiB"
        if m["backend"] == "flex":  # the block mask is tiny: its build is bounded by one row chunk, not by S²
            lines.append(f"{head} for a {m['mask_mib']} MiB block mask (row-chunk temporaries; no S×S tensor)")
        else:
            lines.append(f"{head} for a {m['mask_mib']} MiB mask = {m['ratio']}× (target ≤ 1.5×)")
    lines.append("Authors' per-block dense masks would take (MiB per scene): "
                 + ", ".join(f"P={p}: {v}" for p, v in result["authors_mask_mib_per_scene"].items()))
    return "\n".join(lines)
