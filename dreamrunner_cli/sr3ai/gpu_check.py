"""`make gpu-check`: SR3AI at the full CogVideoX-2B geometry on a CUDA machine, random weights, row by row.

GPU time is rare here (one short lease, 15 minutes all told), so a run keeps what it measured whatever stops it:
every row is printed and appended to a JSON-lines file (``--out``; default ``$OUT/gpu-check.jsonl`` when ``$OUT`` is
set) the moment it is measured, and SIGTERM (what ``timeout`` sends) prints the partial table before exiting 143.

Tiers (docs/benchmarks.md has the time estimates and the exact device call):
- ``--quick`` (default), about 4 minutes on an H100 with the compile: P = 4 prompts only. Step time of the true stock
  model (stock attention processors, no wrappers, one prompt of 226 tokens: the denominator of every "× stock"),
  of "P prompts, no masks" (P prompts through the SR3AI processor, no mask), of ``sdpa`` and ``flex``, then of
  ``flex`` with 4 region LoRAs (rank 32); peak memory of each with only its own mask resident; sdpa-vs-flex
  agreement; the mask builds' memory; one 20-step scene render.
- ``--full`` adds P = 2 and 6, ``sdpa`` with 4 LoRAs, and the 50-step scene (about 9 minutes: its own call).
- ``--user-run``: what a user's ``dreamrunner run STORY --preset cogvideox-2b`` costs, end to end, on full-size
  random-weight folders in the published CogVideoX-2b layout; each stage's wall time and peak GPU memory, and the
  adapt seconds per step extrapolated to the recipe's steps (``user_run``).

The 2B transformer is built once and reused by every part; each flex compile is its own row. Every ratio and
difference is checked with ``isfinite``: a NaN or inf is a ``failure`` row, never printed as a number. A part that
raises becomes a ``failure`` row and the next part runs. ``--smoke`` runs every part at the small CPU geometry in
seconds (the test suite does, so the script cannot rot). Targets (benchmark, not test): flex step ≤ 1.10× stock,
peak memory ≤ 1.05× stock.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import signal
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LORAS = 4
TIERS = {  # prompts per step row, interleaved rounds, scene steps; the scene is always 4 prompts + 4 LoRAs
    "quick": {"prompts": (4,), "repeats": 3, "scene_steps": 20, "lora_backends": ("flex",)},
    "full": {"prompts": (2, 4, 6), "repeats": 5, "scene_steps": 50, "lora_backends": ("sdpa", "flex")},
}
STOCK = "stock (1 prompt)"
NO_MASK = "P prompts, no masks"
# Needs never imported on Python 3.12 (tools/gpu_wheels.py leaves them out of the wheels, with the reason).
NOT_IMPORTED = {"importlib-metadata"}


# Rows: printed and appended the moment they are measured --------------------------------------------------------


class Log:
    """The run's rows: each printed and appended (flushed, fsynced) to ``path`` as it comes; ``table()`` at any time."""

    def __init__(self, path: Path | None, title: str, stream=None):
        self.path, self.title, self.stream = path, title, stream or sys.stdout
        self.rows: list[dict] = []
        self.t0 = time.perf_counter()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")  # one run per file: a rerun starts it afresh

    def emit(self, kind: str, **fields) -> dict:
        row = {"kind": kind, "t_s": round(time.perf_counter() - self.t0, 1), **fields}
        self.add(row)
        return row

    def add(self, row: dict, echo: bool = True) -> None:
        self.rows.append(row)
        if echo:
            print(f"[{row['t_s']:7.1f} s] {format_row(row)}", file=self.stream, flush=True)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def failure(self, part: str, reason: str) -> dict:
        return self.emit("failure", part=part, reason=reason)

    def table(self, partial: str | None = None) -> str:
        return format_table(self.rows, self.title, partial)

    def write_table(self, partial: str | None = None) -> str:
        text = self.table(partial)
        print(text, flush=True)
        if self.path is not None:
            self.path.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
        return text


def finite(*values) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def checked(log: Log, part: str, kind: str, numbers: dict, **fields) -> dict | None:
    """Emit a row whose ``numbers`` are all finite; otherwise a failure row naming the ones that are not."""
    bad = [k for k, v in numbers.items() if v is not None and not math.isfinite(v)]
    if bad:
        log.failure(part, "not finite: " + ", ".join(f"{k} = {numbers[k]}" for k in bad))
        return None
    return log.emit(kind, **fields, **numbers)


def _fmt(v, unit: str = "") -> str:
    return "-" if v is None else f"{v:g}{unit}"


def _fields(r: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("kind", "t_s"))


def format_row(r: dict) -> str:
    k = r["kind"]
    if k == "step":
        vs = f", × in round {_fmt(r.get('x_in_round'))} vs {r['in_round_vs']}" if r.get("in_round_vs") else ""
        return (f"step P={r['prompts']} S={r['seq_len']} {r['variant']}: {r['step_ms']:g} ms "
                f"({r['step_ms_min']:g}–{r['step_ms_max']:g}), × stock {_fmt(r.get('x_stock'))}{vs}")
    if k == "memory":
        return (f"memory P={r['prompts']} {r['variant']}: peak {_fmt(r['peak_mib'], ' MiB')}, × stock "
                f"{_fmt(r.get('x_stock'))}, mask {_fmt(r['mask_mib'], ' MiB')} (only this mask resident)")
    if k == "user_stage":
        return (f"user run, {r['stage']}: {r['seconds']:g} s, peak {_fmt(r.get('peak_gib'), ' GiB')} allocated, "
                f"{_fmt(r.get('reserved_gib'), ' GiB')} reserved{'; ' + r['outcome'] if r.get('outcome') else ''}")
    if k == "failure":
        return f"FAILURE in {r['part']}: {r['reason']}"
    if k == "image":
        return f"image: {len(r['versions'])} distributions of the image's own (their versions are in the .jsonl)"
    return f"{k}: {_fields(r)}"


def format_table(rows: list[dict], title: str, partial: str | None = None) -> str:
    """The markdown report of the rows so far (the same at the end or on SIGTERM, with a note when partial)."""
    env = next((r for r in rows if r["kind"] == "env"), {})
    out = [f"# {title} on {env.get('device', '?')} (torch {env.get('torch', '?')}, {env.get('dtype', '?')}, "
           f"{env.get('geometry', '?')} geometry, random weights)"]
    if partial:
        out += ["", f"**Partial: {partial}.** Below is everything measured before that."]
    steps = [r for r in rows if r["kind"] == "step"]
    if steps:
        mem = {(r["prompts"], r["variant"]): r for r in rows if r["kind"] == "memory"}
        out += ["", "| P | seq len | variant | step ms (min–max) | × stock | × in round | peak MiB (own mask "
                "only) | × stock | mask MiB |", "|---|---|---|---|---|---|---|---|---|"]
        for r in steps:
            m = mem.get((r["prompts"], r["variant"]), {})
            rr = f"{_fmt(r.get('x_in_round'))} vs {r['in_round_vs']}" if r.get("in_round_vs") else "-"
            out.append(f"| {r['prompts']} | {r['seq_len']} | {r['variant']} | {r['step_ms']:g} "
                       f"({r['step_ms_min']:g}–{r['step_ms_max']:g}) | {_fmt(r.get('x_stock'))} | {rr} | "
                       f"{_fmt(m.get('peak_mib'))} | {_fmt(m.get('x_stock'))} | {_fmt(m.get('mask_mib'))} |")
    others = [r for r in rows if r["kind"] not in ("env", "step", "memory")]
    if others:
        out += [""] + [f"- {format_row(r)}" for r in others]
    return "\n".join(out)


# The environment: versions, and every need met (the wheels from `make gpu-wheels`) -------------------------------


def unmet_needs() -> tuple[list[str], list[str]]:
    """(missing direct needs of dreamrunner, every other unmet need) over dreamrunner's dependencies and, through the
    installed distributions' own requirements, everything they reach (pip check over our closure only)."""
    import importlib.metadata as md
    import tomllib

    from packaging.requirements import Requirement

    needs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    fatal, other, seen = [], [], set()
    queue = [(Requirement(r), "dreamrunner") for r in needs]
    while queue:
        req, by = queue.pop(0)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = req.name.lower().replace("_", "-")
        if name in NOT_IMPORTED:
            continue
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            (fatal if by == "dreamrunner" else other).append(f"{req.name} is missing ({by} needs {req})")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            other.append(f"{req.name} {version} does not satisfy {by}'s need {req}")
        if name not in seen:
            seen.add(name)
            queue += [(Requirement(r), f"{req.name} {version}") for r in (md.requires(req.name) or [])]
    return fatal, other


def image_versions() -> dict[str, str]:
    """{name: version} of every installed distribution outside $PYTHONPATH (the wheels' folder, the repository):
    what the machine's image itself holds, read once on the GPU machine to complete tools/gpu_image_packages.txt."""
    import importlib.metadata as md

    ours = [Path(p).resolve() for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    out: dict[str, str] = {}
    for dist in md.distributions():
        where = Path(str(dist.locate_file(""))).resolve()
        if where not in ours:  # a distribution's location is the sys.path entry that holds it
            out.setdefault(dist.metadata["Name"].lower().replace("_", "-"), dist.version)
    return dict(sorted(out.items()))


def env_row(log: Log, device, dtype, geometry: str, tier: str) -> None:
    import importlib.metadata as md

    import torch

    versions = {}
    for name in ("diffusers", "transformers", "peft", "pydantic", "typing-extensions", "huggingface-hub"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[name] = md.version(name)
    log.emit("env", device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
             torch=torch.__version__, python=sys.version.split()[0], dtype=str(dtype).replace("torch.", ""),
             geometry=geometry, tier=tier, **versions)


# Measurements ----------------------------------------------------------------------------------------------------


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _fresh_peak(device) -> None:
    """Free what is no longer referenced, give cached blocks back, and start a new peak."""
    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device) -> float | None:
    import torch

    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None


class Bench:
    """The one 2B (or small) transformer, its inputs, and one timed step per variant."""

    def __init__(self, geometry: str, device, dtype, log: Log):
        import torch

        from .bench import FULL_SIZE, SMALL_SIZE, build_transformer
        from .geometry import Geometry

        self.geometry, self.device, self.dtype, self.log = geometry, device, dtype, log
        _sync(device)
        t0 = time.perf_counter()
        self.model, self.config = build_transformer(geometry, device, dtype)
        _sync(device)
        log.emit("build", what="CogVideoX-2B transformer" if geometry == "full" else "small transformer",
                 seconds=round(time.perf_counter() - t0, 1),
                 params_m=round(sum(p.numel() for p in self.model.parameters()) / 1e6, 1))
        self.size = FULL_SIZE if geometry == "full" else SMALL_SIZE
        h, w, f = self.size
        self.geom = Geometry.from_config(self.config, h, w, f)
        gen = torch.Generator().manual_seed(0)
        self.latents = torch.randn(2, self.geom.latent_frames, self.config["in_channels"], h // 8, w // 8,
                                   generator=gen).to(device, dtype)
        self.t = torch.tensor([500, 500], device=device)
        self.gen = gen
        self.adapters: list[tuple[str, str]] = []

    def text(self, prompts: int):
        import torch

        return torch.randn(2, prompts * self.geom.text_len, self.config["text_embed_dim"],
                           generator=self.gen).to(self.device, self.dtype)

    def step(self, text, mask=None, region: bool = True, lora_masks: dict | None = None):
        """One forward at CFG batch 2; returns (ms, output). ``region`` False = the stock model as built (its own
        processors, no wrappers); ``mask`` None under ``region`` = P prompts without a mask."""
        import torch

        from .attention import install_region_attention, multi_prompt_positions
        from .lora import RegionLoRA

        with contextlib.ExitStack() as stack:
            if region:
                stack.enter_context(install_region_attention(self.model))
                stack.enter_context(multi_prompt_positions(self.model, text.shape[1]))
            if self.adapters:  # LoRA layers present: hook them (no masks = peft's own path disabled, no deltas)
                lora = stack.enter_context(RegionLoRA(self.model).installed())
                lora.set_masks(lora_masks or {})
            kwargs = {"attention_kwargs": {"region_mask": mask}} if mask is not None else {}
            _sync(self.device)
            start = time.perf_counter()
            with torch.no_grad():
                out = self.model(hidden_states=self.latents, encoder_hidden_states=text, timestep=self.t,
                                 return_dict=False, **kwargs)[0]
            _sync(self.device)
        return (time.perf_counter() - start) * 1000, out


def _variants(bench: Bench, regions, lora_backends: tuple[str, ...] | None) -> list[tuple[str, dict]]:
    """[(label, step arguments)] for one prompt count. Without LoRAs: the stock model (one prompt, its own
    processors), P prompts without a mask, sdpa, flex. With ``lora_backends``: each backend with the LoRA layers idle
    (no deltas) and with the scene's region LoRAs, in the same rounds, so "× in round" is what the LoRAs cost."""
    from .lora import token_masks

    textP = bench.text(regions.num_prompts)
    if lora_backends is None:
        return [(STOCK, {"text": bench.text(1), "region": False}), (NO_MASK, {"text": textP}),
                ("sdpa", {"text": textP, "backend": "sdpa"}), ("flex", {"text": textP, "backend": "flex"})]
    used = [(k, i) for k, i in bench.adapters if any(i in (p.entities + p.motions) for p in regions.prompts)]
    lmasks = token_masks(regions, used, bench.device, bench.dtype)
    out = []
    for b in lora_backends:
        out += [(f"{b}, LoRA layers idle", {"text": textP, "backend": b}),
                (f"{b} + {len(used)} LoRAs", {"text": textP, "backend": b, "lora_masks": lmasks})]
    return out


def _run_variant(bench: Bench, spec: dict, regions, masks: dict):
    from .attention import RegionMask

    backend = spec.get("backend")
    if backend is not None and backend not in masks:
        masks[backend] = RegionMask.from_regions(regions, backend, bench.device)
    return bench.step(spec["text"], mask=masks.get(backend), region=spec.get("region", True),
                      lora_masks=spec.get("lora_masks"))


def _materialise(mask, dtype) -> None:
    """Build the form the backend hands to attention now, so it is resident before the peak is reset."""
    if mask.backend == "flex":
        mask.block_mask()
    elif mask.use_additive:
        mask.additive(dtype)
    else:
        mask.dense()


def step_rows(bench: Bench, P: int, repeats: int, stock: dict, lora_backends: tuple[str, ...] | None = None) -> dict:
    """Time the variants interleaved (A B C A B C …, after one warm-up call each: a busy machine slows them alike;
    every mask resident, which does not change time), then measure each one's peak memory with only its own mask
    resident. ``stock[P]`` keeps the stock model's step times and peak (the LoRA rows come after the LoRA layers
    were added, when the stock model no longer exists). Returns each variant's output of the memory pass."""
    from .bench import _mask_bytes, bench_scene
    from .regions import scene_regions

    log, dev = bench.log, bench.device
    regions = scene_regions(bench_scene(P), bench.geom)
    S = regions.seq_len
    variants = _variants(bench, regions, lora_backends)
    masks: dict = {}
    first = {label: _run_variant(bench, spec, regions, masks)[0] for label, spec in variants}
    times: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(repeats):
        for label, spec in variants:
            times[label].append(_run_variant(bench, spec, regions, masks)[0])
    masks.clear()
    median = {label: statistics.median(ms) for label, ms in times.items()}
    if STOCK in times:
        stock[P] = {"ms": times[STOCK]}
    for label, spec in variants:  # the warm-up's extra time is flex's compile (dynamic=False: one per length)
        if spec.get("backend") == "flex" and lora_backends is None:
            checked(log, f"compile flex P={P}", "compile", {"seconds": round((first[label] - median[label]) / 1000, 1)},
                    what=f"flex_attention at S={S}: first call − median step",
                    first_call_s=round(first[label] / 1000, 1))
    base = stock.get(P, {}).get("ms")
    for label, spec in variants:
        ms = times[label]
        numbers = {"step_ms": round(median[label], 2), "step_ms_min": round(min(ms), 2),
                   "step_ms_max": round(max(ms), 2)}
        fields = {"prompts": P, "variant": label,
                  "seq_len": bench.geom.text_len + bench.geom.video_tokens if label == STOCK else S}
        if base and STOCK in times:  # the same rounds: the median of the per-round ratios
            numbers["x_stock"] = round(statistics.median(a / b for a, b in zip(ms, base)), 3)
        elif base:  # stock ran before the LoRA layers were added: the ratio of the medians
            numbers["x_stock"] = round(median[label] / statistics.median(base), 3)
        if "LoRAs" in label:
            idle = label.split(" + ")[0] + ", LoRA layers idle"
            numbers["x_in_round"] = round(statistics.median(a / b for a, b in zip(ms, times[idle])), 3)
            fields["in_round_vs"] = idle
        checked(log, f"step P={P} {label}", "step", numbers, **fields)

    outputs = {}
    for label, spec in variants:  # memory: free the others, empty the cache, reset the peak, one step
        _fresh_peak(dev)
        own: dict = {}
        if spec.get("backend"):
            from .attention import RegionMask

            own[spec["backend"]] = RegionMask.from_regions(regions, spec["backend"], dev)
            _materialise(own[spec["backend"]], bench.dtype)
            _sync(dev)
            if dev.type == "cuda":
                import torch

                torch.cuda.reset_peak_memory_stats(dev)
        mask_mib = round(sum(_mask_bytes(m) for m in own.values()) / 2**20, 2)
        _, out = _run_variant(bench, spec, regions, own)
        peak = _peak_mib(dev)
        if label == STOCK:
            stock[P]["peak_mib"] = peak
        ref = stock.get(P, {}).get("peak_mib")
        checked(log, f"memory P={P} {label}", "memory",
                {"peak_mib": peak, "x_stock": round(peak / ref, 3) if peak and ref else None},
                prompts=P, variant=label, mask_mib=mask_mib)
        outputs[label] = out.float().cpu()
        if not bool(outputs[label].isfinite().all()):
            log.failure(f"output P={P} {label}", "the step's output holds NaN or inf (random fp16 weights "
                        "overflowed?): comparisons with it are meaningless")
        del own, out
    _fresh_peak(dev)
    return outputs


def agreement_row(log: Log, P: int, outputs: dict) -> None:
    if "sdpa" not in outputs or "flex" not in outputs:
        return
    a, b = outputs["sdpa"], outputs["flex"]
    diff = (a - b).abs()
    checked(log, f"sdpa vs flex P={P}", "agreement",
            {"max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()),
             "output_abs_mean": float(a.abs().mean())}, prompts=P, what="one full step, CFG batch 2")


def mask_build_rows(log: Log, geometry: str, P: int, device) -> None:
    from .bench import mask_build_memory

    for backend in ("sdpa", "flex"):
        m = mask_build_memory(geometry, P, backend, str(device))
        # The flex block mask is a few MiB at most: its build is bounded by one row chunk, and a ratio to it says
        # nothing; the sdpa mask's ratio is the target (≤ 1.5×).
        numbers = {"mask_mib": m["mask_mib"], "peak_extra_mib": m["peak_extra_mib"]}
        if backend == "sdpa":
            numbers["ratio"] = m["ratio"]
        checked(log, f"mask build {backend}", "mask_build", numbers, backend=backend, prompts=P,
                seq_len=m["seq_len"])
        _fresh_peak(device)


def random_pipeline(bench: Bench):
    """A CogVideoXPipeline around the bench's transformer: the VAE at its real config (``full``; diffusers' defaults
    are CogVideoX-2B's) or a tiny one, the real 2B scheduler config, and a one-layer T5 as wide as the real one."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline
    from transformers import T5Config, T5EncoderModel

    from ..models.known_configs import KNOWN_SCHEDULER_CONFIGS
    from ..models.tiny import _tokenizer

    config = bench.config
    tokenizer = _tokenizer()
    tokenizer.model_max_length = config["max_text_seq_length"]
    with torch.device(bench.device):
        if bench.geometry == "full":
            vae = AutoencoderKLCogVideoX()
        else:
            vae = AutoencoderKLCogVideoX(down_block_types=("CogVideoXDownBlock3D",) * 4,
                                         up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8,) * 4,
                                         latent_channels=config["in_channels"], layers_per_block=1,
                                         norm_num_groups=2, temporal_compression_ratio=4)
        text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=config["text_embed_dim"], d_kv=64,
                                               d_ff=1024, num_layers=1, num_heads=8, pad_token_id=0, eos_token_id=1,
                                               decoder_start_token_id=0))
    scheduler = CogVideoXDDIMScheduler.from_config(KNOWN_SCHEDULER_CONFIGS["THUDM/CogVideoX-2b"])
    pipe = CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder.eval(), vae=vae.eval(),
                             transformer=bench.model, scheduler=scheduler)
    pipe.to(device=bench.device, dtype=bench.dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def scene_row(bench: Bench, steps: int) -> None:
    """One complete scene through ``render_scene`` (SR3AI sdpa as the preset, the 4 region LoRAs, DPM, CFG 9)."""
    import torch

    from ..config import RenderConfig
    from .bench import bench_scene
    from .pipeline import geometry_of, render_scene, use_scheduler
    from .regions import scene_regions

    log, dev = bench.log, bench.device
    t0 = time.perf_counter()
    pipe = random_pipeline(bench)
    use_scheduler(pipe, "dpm")
    if bench.geometry == "full":
        cfg = RenderConfig(height=480, width=720, num_frames=48, steps=steps, guidance_scale=9.0, attention="sdpa")
        pipe.vae.enable_tiling()
        pipe.vae.enable_slicing()
    else:
        cfg = RenderConfig(height=64, width=64, num_frames=9, steps=3, guidance_scale=6.0, attention="sdpa")
    build_s = time.perf_counter() - t0
    regions = scene_regions(bench_scene(4), geometry_of(pipe, cfg.height, cfg.width, cfg.num_frames))
    last: dict = {}
    _fresh_peak(dev)
    start = time.perf_counter()
    with torch.inference_mode():
        out = render_scene(pipe, bench_scene(4), cfg, seed=0, regions=regions, adapters=bench.adapters,
                           on_latents=lambda step, latents: last.update(step=step, finite=bool(
                               latents.isfinite().all())))
    _sync(dev)
    seconds = time.perf_counter() - start
    if not last.get("finite", False):
        log.failure("scene render", f"the latents after step {last.get('step')} hold NaN or inf")
    checked(log, "scene render", "scene", {"seconds": round(seconds, 1), "peak_gib": None if dev.type != "cuda" else
                                           round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)},
            size=f"{cfg.width}x{cfg.height}x{cfg.num_frames}", steps=cfg.steps, guidance_scale=cfg.guidance_scale,
            scheduler=type(pipe.scheduler).__name__, prompts=regions.num_prompts, loras=len(out.adapters),
            frames_out=int(out.frames.shape[0]), mask_calls=out.mask_calls, pipeline_build_s=round(build_s, 1),
            s_per_step=round(seconds / cfg.steps, 2))


def _part(log: Log, name: str, fn, *args, **kwargs):
    """Run one part; an exception becomes a failure row (with where it came from) and the run goes on."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported as a row; the next part still runs
        where = traceback.extract_tb(exc.__traceback__)[-1]
        log.failure(name, f"{type(exc).__name__}: {str(exc)[:500]} ({Path(where.filename).name}:{where.lineno})")
        return None


def run_check(log: Log, smoke: bool, tier: str) -> None:
    import torch

    from .bench import _add_region_loras

    t = TIERS[tier]
    geometry = "small" if smoke else "full"
    device = torch.device("cpu" if smoke else "cuda")
    dtype = torch.float32 if smoke else torch.float16
    env_row(log, device, dtype, geometry, tier)
    repeats = 1 if smoke else t["repeats"]
    _part(log, "mask build memory", mask_build_rows, log, geometry, 4, device)
    bench = Bench(geometry, device, dtype, log)
    stock: dict = {}
    for P in t["prompts"]:
        outputs = _part(log, f"steps P={P}", step_rows, bench, P, repeats, stock)
        if outputs:
            _part(log, f"agreement P={P}", agreement_row, log, P, outputs)
    bench.adapters = _add_region_loras(bench.model, bench.geom.num_blocks, LORAS)
    for P in t["prompts"]:
        _part(log, f"steps P={P} with LoRAs", step_rows, bench, P, repeats, stock, t["lora_backends"])
    _part(log, "scene render", scene_row, bench, t["scene_steps"])


# The user's whole run ----------------------------------------------------------------------------------------------

STORY_SCENES = ("Ana walks through the quiet park and waves at her neighbour.",
                "In the garden Ana jumps over the puddle.", "By the lake Ana sits and reads a book.")
# Retrieval on the built-in demo database (64×64 stick-figure clips) and tiny scorers: the point is the video model's
# path at full size; the scorers' own cost is measured elsewhere (tests/test_replicas_scorers.py loads them).
USER_SETTINGS = [
    "retrieve.db=demo", "retrieve.min_duration_s=1.0", "retrieve.min_frames=9", "retrieve.window_s=2.0",
    "retrieve.threshold=0.0", "retrieve.max_clips=2", "retrieve.min_clips=1",
    "retrieve.clip_model=tiny", "retrieve.clip_pretrained=null", "retrieve.video_text_model=tiny",
    "evaluate.clip_model=tiny", "evaluate.clip_pretrained=null", "evaluate.dino_model=tiny",
    "evaluate.video_text_model=tiny",
]
SMOKE_SETTINGS = ["model.device=cpu", "retrieve.device=cpu", "render.height=32", "render.width=32",
                  "render.num_frames=9", "render.steps=2"]


def _replica(log: Log, dest: Path, smoke: bool) -> Path:
    """The CogVideoX-2b folder in the published layout: full size (sizes={}) on the GPU, tiny in smoke mode. Built
    on the GPU when there is one (random init of T5-XXL's 4.8 B weights is minutes on a CPU, seconds there)."""
    import torch

    from ..models.replicas import build_cogvideox_replica

    if (dest / "model_index.json").exists():
        log.emit("user_replica", folder=str(dest), seconds=0.0, note="reused")
        return dest
    t0 = time.perf_counter()
    where = "cpu"
    if smoke or not torch.cuda.is_available():
        build_cogvideox_replica(dest, "THUDM/CogVideoX-2b")
    else:
        try:
            with torch.device("cuda"):
                build_cogvideox_replica(dest, "THUDM/CogVideoX-2b", sizes={})
            where = "cuda"
        except Exception as exc:  # noqa: BLE001 - the CPU build still gives the folder, only slower
            log.failure("replica build on cuda", f"{type(exc).__name__}: {str(exc)[:300]}; building on the CPU")
            torch.cuda.empty_cache()
            build_cogvideox_replica(dest, "THUDM/CogVideoX-2b", sizes={})
        torch.cuda.empty_cache()
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    log.emit("user_replica", folder=str(dest), seconds=round(time.perf_counter() - t0, 1), built_on=where,
             gib=round(size / 2**30, 2), sizes="tiny" if smoke else "published (sizes={})")
    return dest


def user_run(log: Log, smoke: bool, work: Path, adapt_steps: int, scenes: int) -> int:
    """`dreamrunner run STORY --preset cogvideox-2b --set model.id=FOLDER` in a child process, as a user runs it;
    the child appends one row per stage (wall time, peak GPU memory) and per trained LoRA (seconds per step) to the
    same file. Returns the child's exit code."""
    import subprocess

    import torch

    from ..config import resolve_config

    device = torch.device("cpu" if smoke else "cuda")
    env_row(log, device, torch.float16, "small" if smoke else "full", "user-run")
    work.mkdir(parents=True, exist_ok=True)
    # tiny and full-size folders apart: a rerun on the same machine reuses the full-size one (14 GB), never the other
    folder = _part(log, "replica build", _replica, log, work / ("tiny" if smoke else "full") / "CogVideoX-2b", smoke)
    if folder is None:
        return 1
    recipe = resolve_config(preset="cogvideox-2b").adapt
    story = work / "story.txt"
    story.write_text("\n\n".join(STORY_SCENES[:scenes]) + "\n", encoding="utf-8")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    ws = work / f"ws-{stamp}"  # a fresh workspace and cache: every stage runs, no adapter comes from a cache
    sets = [f"model.id={folder}", f"adapt.steps={adapt_steps}", f"adapt.character_steps={adapt_steps}",
            f"plan.min_scenes={scenes}", f"plan.max_scenes={scenes}", *USER_SETTINGS,
            *(SMOKE_SETTINGS if smoke else [])]
    argv = ["run", str(story), "--workspace", str(ws), "--preset", "cogvideox-2b", "--json"]
    for s in sets:
        argv += ["--set", s]
    env = {**os.environ, "DREAMRUNNER_CACHE": str(work / f"cache-{stamp}"), "HF_HUB_OFFLINE": "1",
           "GPU_CHECK_ROWS": str(log.path or ""), "GPU_CHECK_T0": str(time.time() - (time.perf_counter() - log.t0)),
           "GPU_CHECK_RECIPE": json.dumps({"motion": recipe.steps, "character": recipe.character_steps}),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    log.emit("user_command", argv="dreamrunner " + " ".join(argv))
    logs = log.path.parent if log.path else work
    t0 = time.perf_counter()
    with open(logs / "user-run.log", "w", encoding="utf-8") as err, \
            open(work / "result.json", "w", encoding="utf-8") as result_out:
        child = subprocess.Popen([sys.executable, "-c", "from dreamrunner_cli.sr3ai.gpu_check import child_main; "
                                  "child_main()", *argv], stdin=subprocess.DEVNULL, stdout=result_out,
                                 stderr=err, env=env, cwd=str(work))
        _CHILDREN.append(child)
        while child.poll() is None:  # echo the child's rows here as they come
            time.sleep(0.5)
            _reload_child_rows(log)
        _CHILDREN.remove(child)
    _reload_child_rows(log)
    seconds = round(time.perf_counter() - t0, 1)
    if child.returncode != 0:
        tail = (logs / "user-run.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        log.failure("dreamrunner run", f"exit {child.returncode} after {seconds} s; its last lines:\n" +
                    "\n".join(tail))
        return child.returncode
    result = json.loads((work / "result.json").read_text(encoding="utf-8"))
    mp4 = ws / "story.mp4"
    log.emit("user_total", seconds=seconds, exit=0, stages=len(result["stages"]),
             story_mp4_bytes=mp4.stat().st_size if mp4.exists() else None, workspace=str(ws))
    return 0


_CHILDREN: list = []


def _reload_child_rows(log: Log) -> None:
    """The child appends its rows to the same file: take the new whole lines into this run's rows, and print them."""
    if log.path is None or not log.path.exists():
        return
    lines = log.path.read_text(encoding="utf-8").split("\n")[:-1]  # a line being written has no newline yet
    for line in lines[len(log.rows):]:
        row = json.loads(line)
        log.rows.append(row)
        print(f"[{row['t_s']:7.1f} s] {format_row(row)}", flush=True)


def child_main() -> None:
    """The user run's child: the real CLI entry point (``dreamrunner ...``, argv as given), with each stage's
    ``run`` and the LoRA trainer wrapped to append rows: wall time and peak GPU memory per stage, and the time of each
    training step."""
    import importlib

    from .. import entry
    from ..stages import ORDER

    path = os.environ.get("GPU_CHECK_ROWS") or None
    log = _ChildLog(Path(path) if path else None, float(os.environ.get("GPU_CHECK_T0", time.time())))
    recipe = json.loads(os.environ.get("GPU_CHECK_RECIPE", "{}"))
    for name in ORDER:
        module = importlib.import_module(f"dreamrunner_cli.stages.{name}")
        module.run = _timed_stage(log, name, module.run)
    from ..adapt import trainer
    from ..models import loading

    trainer.train_lora = _timed_training(log, trainer.train_lora, recipe)
    loading.load_pipeline = _timed_load(log, loading.load_pipeline)
    sys.argv = ["dreamrunner", *sys.argv[1:]]
    entry.main()


class _ChildLog(Log):
    """Appends to the parent's file (never truncates it); echoes to stderr (stdout is the CLI's --json result)."""

    def __init__(self, path: Path | None, t0_epoch: float):
        self.path, self.title, self.rows, self.stream = path, "user run", [], sys.stderr
        self.t0 = time.perf_counter() - (time.time() - t0_epoch)  # the parent's clock, so t_s lines up


def _cuda_peak_start() -> bool:
    import torch

    if not torch.cuda.is_available():
        return False
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    return True


def _cuda_peak(on: bool) -> dict:
    import torch

    if not on:
        return {"peak_gib": None, "reserved_gib": None}
    torch.cuda.synchronize()
    return {"peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
            "reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2)}


def _timed_stage(log: Log, name: str, run):
    def wrapped(*args, **kwargs):
        on = _cuda_peak_start()
        t0 = time.perf_counter()
        outcome = ""
        try:
            result = run(*args, **kwargs)
            ran = [i.get("item") for i in (result or {}).get("items", []) if i.get("action") == "ran"]
            outcome = f"ran {len(ran)}: {', '.join(map(str, ran[:8]))}" if ran else "nothing to run"
            return result
        except BaseException as exc:
            outcome = f"failed: {type(exc).__name__}: {str(exc)[:300]}"
            raise
        finally:
            log.emit("user_stage", stage=name, seconds=round(time.perf_counter() - t0, 1), outcome=outcome,
                     **_cuda_peak(on))
    return wrapped


def _timed_load(log: Log, load):
    def wrapped(*args, **kwargs):
        t0 = time.perf_counter()
        pipe = load(*args, **kwargs)
        log.emit("user_stage", stage="load pipeline (inside the stage that first needs it)",
                 seconds=round(time.perf_counter() - t0, 1), outcome="", **_cuda_peak(_cuda_current()))
        return pipe
    return wrapped


def _cuda_current() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _timed_training(log: Log, train, recipe: dict):
    """Each training step's time (on_step comes after the step's loss is read, so the GPU has finished it)."""
    def wrapped(transformer, scheduler, data, spec, **kwargs):
        user_cb = kwargs.get("on_step")
        stamps = [time.perf_counter()]

        def on_step(step, total, loss, info):
            stamps.append(time.perf_counter())
            if user_cb is not None:
                user_cb(step, total, loss, info)

        kwargs["on_step"] = on_step
        result = train(transformer, scheduler, data, spec, **kwargs)
        steps = [b - a for a, b in zip(stamps, stamps[1:])]
        steady = statistics.median(steps[1:]) if len(steps) > 1 else (steps[0] if steps else None)
        target = recipe.get(spec.kind)
        numbers = {"first_step_s": round(steps[0], 2) if steps else None,
                   "s_per_step": round(steady, 3) if steady is not None else None,
                   "train_seconds": result.seconds}
        if steady is not None and target:
            numbers["recipe_gpu_hours"] = round((steps[0] + steady * (target - 1)) / 3600, 3)
        item = Path(kwargs["checkpoint_dir"]).name if kwargs.get("checkpoint_dir") else "?"  # …/kind/id
        checked(log, f"adapt {spec.kind} {item}", "user_adapt", numbers, lora=f"{spec.kind}/{item}",
                steps=len(steps), recipe_steps=target, note="first step includes set-up; the rest are the median step",
                gradient_checkpointing=getattr(spec, "gradient_checkpointing", None))
        return result
    return wrapped


# Entry -------------------------------------------------------------------------------------------------------------


def _on_sigterm(log: Log):
    def handler(signum, frame):
        for child in list(_CHILDREN):  # the user run's dreamrunner stops cleanly on SIGTERM too
            with contextlib.suppress(Exception):
                child.terminate()
                child.wait(timeout=20)
        _reload_child_rows(log)
        log.write_table(partial=f"stopped by {signal.Signals(signum).name} after "
                                f"{time.perf_counter() - log.t0:.0f} s")
        sys.stdout.flush()
        os._exit(128 + signum)  # at once: no CUDA teardown or compile workers to wait for
    return handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tier = parser.add_mutually_exclusive_group()
    tier.add_argument("--quick", dest="tier", action="store_const", const="quick", help="P = 4 only (default)")
    tier.add_argument("--full", dest="tier", action="store_const", const="full", help="P = 2, 4, 6, 50-step scene")
    tier.add_argument("--user-run", dest="tier", action="store_const", const="user-run",
                      help="dreamrunner run on full-size random-weight CogVideoX-2b folders")
    parser.add_argument("--smoke", action="store_true", help="small geometry on CPU: checks the script only")
    parser.add_argument("--out", type=Path, default=None, help="the rows, one JSON a line, as they come (default: "
                        "$OUT/gpu-check.jsonl or $OUT/gpu-user-run.jsonl when $OUT is set); the table goes beside "
                        "it as .md")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dreamrunner-user-run"),
                        help="user run: where the replica folder and the workspace go (about 14 GB at full size)")
    parser.add_argument("--adapt-steps", type=int, default=6, help="user run: training steps per LoRA")
    parser.add_argument("--scenes", type=int, default=1, choices=(1, 2, 3), help="user run: scenes in the story")
    args = parser.parse_args(argv)
    tier = args.tier or "quick"
    out = args.out
    if out is None and os.environ.get("OUT"):
        out = Path(os.environ["OUT"]) / ("gpu-user-run.jsonl" if tier == "user-run" else "gpu-check.jsonl")
    if out is None and tier == "user-run":  # the child process reports its rows through this file
        out = args.work / "gpu-user-run.jsonl"
    log = Log(out, "gpu-check user run" if tier == "user-run" else f"gpu-check --{tier}")
    previous = {sig: signal.signal(sig, _on_sigterm(log)) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _run(log, args, tier)
    finally:  # called in-process (the tests): leave the caller's handlers as they were
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(log: Log, args, tier: str) -> int:
    log.emit("image", versions=image_versions())
    fatal, other = unmet_needs()
    for problem in fatal + other:
        log.failure("environment", problem)
    if fatal:
        print("gpu-check: dreamrunner's dependencies are missing here; run `make gpu-wheels` on a machine with pip "
              "access and carry .whl/ along (docs/benchmarks.md)", file=sys.stderr)
        return 2
    import torch

    if not args.smoke and not torch.cuda.is_available():
        print("gpu-check needs a CUDA device (use --smoke on a CPU to check the script itself)", file=sys.stderr)
        return 2
    code = 0
    if tier == "user-run":
        code = user_run(log, args.smoke, args.work, args.adapt_steps, args.scenes)
    else:
        run_check(log, args.smoke, tier)
    log.emit("done", seconds=round(time.perf_counter() - log.t0, 1),
             failures=sum(r["kind"] == "failure" for r in log.rows))
    log.write_table()
    return code or (1 if any(r["kind"] == "failure" for r in log.rows) else 0)


if __name__ == "__main__":
    sys.exit(main())
