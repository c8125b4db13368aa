"""The stages, one readable module each: plan, retrieve, adapt, render, evaluate. ``run_all`` chains them."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import DreamrunnerError, StageNotImplemented
from ..workspace import Workspace

ORDER = ("plan", "retrieve", "adapt", "render", "evaluate")


def stage_module(name: str):
    """The stage's module; a stage not built yet raises StageNotImplemented (exit code 7)."""
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise StageNotImplemented(f"the {name} stage is not built yet in this version of dreamrunner",
                                  hint=f"skip it with --skip {name}") from None
    return module


def upstream_command(ws: Workspace, cfg: Config, stage: str) -> str:
    """For a hint when ``stage`` lacks what an earlier stage writes: the one command line that will succeed. That is
    every stage from retrieve up to ``stage`` chained with ``&&`` (each skips its finished items, so the chain is
    cheap where most is done), or ``dreamrunner run WS`` when that is all of them. Naming only the stage just before
    (render → "run adapt") sent users back one stage at a time, since that one may lack its own upstream. Without
    required LoRAs (``render.require_adapters``/``use_adapters`` false) render needs nothing but the plan.
    ``--db INDEX`` is added when no video database is configured (``--db``/$DREAMRUNNER_DB/retrieve.db)."""
    import os
    import shlex

    from .retrieve import DB_ENV

    chain = list(ORDER[1:ORDER.index(stage) + 1])
    if stage in ("render", "evaluate") and not (cfg.render.require_adapters and cfg.render.use_adapters):
        chain = [s for s in chain if s not in ("retrieve", "adapt")]
    where = shlex.quote(str(ws.root))
    db = "" if os.environ.get(DB_ENV) or cfg.retrieve.db else " --db INDEX"
    if chain == list(ORDER[1:]):
        return f"dreamrunner run {where}{db}"
    return " && ".join(f"dreamrunner {s} {where}" + (db if s == "retrieve" else "") for s in chain)


def run_all(ws: Workspace, cfg: Config, *, story_file: Path | None = None, skip: list[str] | None = None,
            force: bool = False, dry_run: bool = False, progress: bool = True,
            db: str | None = None, allow_outside_refs: bool = False) -> list[dict[str, Any]]:
    """Run every stage in order; each skips its up-to-date items. A failing stage stops the chain (its error).
    adapt and render share one pipeline (loaded at most once, and only if something must run).

    A dry run shows every stage: one whose inputs an earlier stage has yet to produce (adapt before retrieve has
    run) says so in its notes instead of stopping the chain."""
    from ..errors import MissingUpstream

    from ..models.pool import ModelPool

    models = ModelPool()
    results = []
    for name in ORDER:
        if name in (skip or []):
            results.append({"stage": name, "skipped_stage": "--skip", "items": []})
            continue
        module = stage_module(name)
        kwargs: dict[str, Any] = {"force": force, "dry_run": dry_run, "progress": progress}
        if name == "plan":
            kwargs["story_file"] = story_file
            kwargs["allow_outside_refs"] = allow_outside_refs
        if name == "retrieve" and db:
            kwargs["db"] = db  # an explicit --db wins over $DREAMRUNNER_DB and retrieve.db
        if name in ("adapt", "render"):
            kwargs["models"] = models
        try:
            results.append(module.run(ws, cfg, **kwargs))
        except MissingUpstream as exc:
            if not dry_run or name == ORDER[0]:
                raise
            results.append({"stage": name, "dry_run": True, "items": [],
                            "notes": [f"{name} waits for an earlier stage: {exc.message}"]})
    return results


def status_all(ws: Workspace, cfg: Config) -> list[dict[str, Any]]:
    """A dry run of every stage: what is done and what would run, and why. Blocked stages say why."""
    out = []
    for name in ORDER:
        try:
            module = stage_module(name)
            out.append(module.run(ws, cfg, dry_run=True, progress=False))
        except DreamrunnerError as exc:
            out.append({"stage": name, "items": [], "error": exc.message + (f" ({exc.hint})" if exc.hint else "")})
    return out
