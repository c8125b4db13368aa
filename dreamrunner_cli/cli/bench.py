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
    as_json: JsonOpt = False,
) -> None:
    """Benchmark one transformer step (CFG batch 2) with SR3AI masks vs the stock model, in one run.

    Examples:

        dreamrunner bench                                   # CPU, scaled down

        dreamrunner bench --geometry full --prompts 2,4,6   # GPU, CogVideoX-2B geometry, random weights
    """
    from ..sr3ai.bench import format_table, run_bench

    if geometry not in ("small", "full"):
        raise UsageError(f"unknown geometry {geometry!r}", hint="small or full")
    try:
        ps = tuple(int(p) for p in prompts.split(","))
    except ValueError:
        raise UsageError(f"--prompts {prompts!r} must be comma-separated integers") from None
    if any(p < 2 for p in ps):
        raise UsageError("each prompt count must be ≥ 2 (one region + the background)")
    result = run_bench(geometry, ps, repeats, tuple(b.strip() for b in backends.split(",")), device)
    emit(result, as_json, False, lambda r: typer.echo(format_table(r)))
