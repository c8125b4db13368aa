"""`dreamrunner bench`: SR3AI attention backends, step time and memory as ratios to the stock model."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from .common import JsonOpt, emit, guarded


@guarded
def bench(
    geometry: Annotated[str, typer.Option(help="small (CPU, seconds) or full (CogVideoX-2B, 480×720×49; GPU).")]
    = "small",
    prompts: Annotated[str, typer.Option(help="Comma-separated prompt counts P (regions + background).")] = "2,4,6",
    repeats: Annotated[int, typer.Option(help="Timed steps per row (after one warm-up).")] = 3,
    backends: Annotated[str, typer.Option(help="Comma-separated: none, sdpa, flex.")] = "none,sdpa,flex",
    device: Annotated[str | None, typer.Option(help="cuda or cpu (default: cuda if available).")] = None,
    loras: Annotated[int, typer.Option(help="Also time each SR3AI backend with this many rank-32 region LoRAs.")]
    = 0,
    mask_memory: Annotated[bool, typer.Option(help="Also measure the mask build's peak extra memory at the full 2B "
                                                   "geometry (P=4), as a ratio to the mask.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Benchmark one transformer step (CFG batch 2) with SR3AI masks vs the stock model, in one run.

    Variants are interleaved (A B C A B C …) and reported as medians with (min–max); ratios are medians of per-round
    ratios to the stock model.

    Examples:

        dreamrunner bench                                             # CPU, scaled down

        dreamrunner bench --geometry full --prompts 2,4,6 --loras 4   # GPU, CogVideoX-2B geometry, random weights
    """
    from ..sr3ai.bench import format_table, mask_build_memory, run_bench

    if geometry not in ("small", "full"):
        raise UsageError(f"unknown geometry {geometry!r}", hint="small or full")
    try:
        ps = tuple(int(p) for p in prompts.split(","))
    except ValueError:
        raise UsageError(f"--prompts {prompts!r} must be comma-separated integers") from None
    if any(p < 2 for p in ps):
        raise UsageError("each prompt count must be ≥ 2 (one region + the background)")
    names = tuple(b.strip() for b in backends.split(","))
    unknown = [b for b in names if b not in ("none", "sdpa", "flex")]
    if unknown:
        raise UsageError(f"unknown backend(s) {unknown}", hint="choose from none, sdpa, flex")
    if repeats < 1 or loras < 0:
        raise UsageError("--repeats must be ≥ 1 and --loras ≥ 0")
    result = run_bench(geometry, ps, repeats, names, device, loras=loras)
    if mask_memory:
        result["mask_memory"] = [mask_build_memory("full", 4, b, device) for b in names if b != "none"]
    emit(result, as_json, False, lambda r: typer.echo(format_table(r)))
