"""SR3AI benchmark: transformer step time and peak memory of the attention backends, as ratios to the stock model.

``full`` = CogVideoX-2B geometry with random weights (30 blocks, 30 heads × 64, 480×720, 49 frames; a GPU with
≥ 40 GB). ``small`` = a scaled-down geometry that runs on a CPU in seconds, so the benchmark itself is tested.
One "step" is one transformer forward at CFG batch 2, the unit of the 50-step denoising loop. Every backend sees the
same joint sequence [P prompts ; video]; ``none`` runs it without a mask.
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
    backend: str
    step_ms: float
    peak_mib: float | None  # CUDA peak during the step; None on CPU
    mask_mib: float  # the one mask this backend builds per scene (shared by every block and step)
    ratio_time: float = 1.0
    ratio_mem: float | None = None


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_transformer(geometry: str, device, dtype):
    import torch
    from diffusers import CogVideoXTransformer3DModel

    from ..models.known_configs import KNOWN_TRANSFORMER_CONFIGS

    config = dict(KNOWN_TRANSFORMER_CONFIGS["THUDM/CogVideoX-2b"]) if geometry == "full" else dict(SMALL_CONFIG)
    with torch.device(device):
        model = CogVideoXTransformer3DModel(**config)  # random weights: timing and memory only
    if dtype != torch.float32:
        model = model.to(dtype=dtype)
    return model.eval(), config


def run_bench(geometry: str = "small", prompts: tuple[int, ...] = (2, 4, 6), repeats: int = 3,
              backends: tuple[str, ...] = ("none", "sdpa", "flex"), device: str | None = None,
              dtype: str | None = None) -> dict:
    import warnings

    import torch

    from ..schema import Keyframe, Region, Scene
    from .attention import RegionMask, install_region_attention, multi_prompt_positions
    from .geometry import Geometry
    from .regions import scene_regions

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dt = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        dtype or ("bfloat16" if dev.type == "cuda" else "float32")]
    model, config = build_transformer(geometry, dev, dt)
    h, w, f = FULL_SIZE if geometry == "full" else SMALL_SIZE
    geom = Geometry.from_config(config, h, w, f)
    rows: list[Row] = []
    gen = torch.Generator(device="cpu").manual_seed(0)
    latents = torch.randn(2, geom.latent_frames, config["in_channels"], h // 8, w // 8, generator=gen).to(dev, dt)
    t = torch.tensor([500, 500], device=dev)
    for P in prompts:
        # P-1 side-by-side character regions that move across key frames, plus the background prompt.
        kfs = []
        for k in range(6):
            regions = []
            for i in range(P - 1):
                x0 = min(0.8, i / max(P - 1, 1) + 0.02 * k)
                regions.append(Region(entity=f"e{i}", caption=f"character {i} doing motion {k // 3}",
                                      box=(x0, 0.1, min(1.0, x0 + 1.0 / max(P - 1, 1)), 0.9)))
            kfs.append(Keyframe(regions=regions))
        scene = Scene(id="bench", narration="n", background="background", keyframes=kfs)
        sr = scene_regions(scene, geom)
        text = torch.randn(2, sr.num_prompts * geom.text_len, config["text_embed_dim"], generator=gen).to(dev, dt)
        base_time = base_mem = None
        for backend in backends:
            mask = None if backend == "none" else RegionMask.from_regions(sr, backend, dev)
            kwargs = {} if mask is None else {"attention_kwargs": {"region_mask": mask}}

            def step():
                with torch.no_grad():
                    model(hidden_states=latents, encoder_hidden_states=text, timestep=t, return_dict=False, **kwargs)

            with install_region_attention(model), multi_prompt_positions(model, text.shape[1]), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                step()  # warm-up: builds the mask once, compiles flex on CUDA
                _sync(dev)
                if dev.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(dev)
                start = time.perf_counter()
                for _ in range(repeats):
                    step()
                _sync(dev)
                ms = (time.perf_counter() - start) / repeats * 1000
            peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
            row = Row(P, sr.seq_len, backend, round(ms, 2), None if peak is None else round(peak, 1),
                      round(_mask_bytes(mask) / 2**20, 2))
            if backend == "none":
                base_time, base_mem = ms, peak
            if base_time:
                row.ratio_time = round(ms / base_time, 3)
            if base_mem and peak:
                row.ratio_mem = round(peak / base_mem, 3)
            rows.append(row)
    return {
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "geometry": geometry, "dtype": str(dt).replace("torch.", ""), "blocks": geom.num_blocks,
        "size": {"height": h, "width": w, "frames": f, "latent_frames": geom.latent_frames,
                 "video_tokens": geom.video_tokens, "text_len": geom.text_len},
        "repeats": repeats, "rows": [asdict(r) for r in rows],
        # What the authors' script allocates: one dense S×S bool mask per block (METHOD.md C.2 cost note).
        "authors_mask_mib_per_scene": {P: round(geom.num_blocks * geom.seq_len(P) ** 2 / 2**20, 1) for P in prompts},
    }


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
             f"{result['repeats']} timed steps)",
             "| prompts | seq len | backend | step ms | × none | peak MiB | × none | mask MiB (once per scene) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['prompts']} | {r['seq_len']} | {r['backend']} | {r['step_ms']} | {r['ratio_time']} | "
                     f"{r['peak_mib'] if r['peak_mib'] is not None else '-'} | "
                     f"{r['ratio_mem'] if r['ratio_mem'] is not None else '-'} | {r['mask_mib']} |")
    lines.append("Authors' per-block dense masks would take (MiB per scene): "
                 + ", ".join(f"P={p}: {v}" for p, v in result["authors_mask_mib_per_scene"].items()))
    return "\n".join(lines)
