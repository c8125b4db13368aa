"""`dreamrunner doctor`: check that this machine can run a configuration (library: dreamrunner_cli/doctor.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import JsonOpt, PresetOpt, QuietOpt, SetReadOpt, console, emit, guarded

STYLE = {"ok": "green", "info": "cyan", "warn": "yellow", "error": "red"}


@guarded
def doctor(
    workspace: Annotated[Path | None, typer.Argument(file_okay=False, resolve_path=True,
                                                     help="Workspace whose config.json to check (optional).")] = None,
    db: Annotated[str | None, typer.Option("--db", help="Video index to check (default: $DREAMRUNNER_DB, then "
                                                        "retrieve.db).")] = None,
    preset: PresetOpt = None,
    overrides: SetReadOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check CUDA for every stage and free GPU memory, every configured model (Hugging Face cache or local folder,
    with the loader's own checks), the packages the tokenizer needs, the video index, ffmpeg, disk space, the LLM
    server (plan.llm=openai) and offline mode; print the fix for each problem, in the loader's words.

    Exit code: 0 when nothing is an error (warnings are listed), else the error's code: 2 (CPU offload without a
    GPU), 4 (backend, model or package unavailable), 5 (a damaged index or model folder), 8 (disk full). Nothing is
    downloaded or loaded, and the configuration is not saved.

    Examples:

        dreamrunner doctor --preset cogvideox-2b

        dreamrunner doctor ws/teddy --json

        HF_HUB_OFFLINE=1 dreamrunner doctor --set model.id=/models/CogVideoX-2b
    """
    from ..config import resolve_config
    from ..doctor import exit_code, report, run_checks

    saved = workspace / "config.json" if workspace is not None else None
    cfg = resolve_config(preset, overrides or [], saved=saved)
    checks = run_checks(cfg, workspace=workspace, db=db)
    result = report(cfg, checks)

    def human(r: dict) -> None:
        from rich.markup import escape

        con = console()
        for c in r["checks"]:
            if quiet and c["status"] not in ("warn", "error"):
                continue
            con.print(f"[{STYLE[c['status']]}]{c['status']:5}[/] {escape(label(c))}: {escape(c['message'])}")
            if c["fix"] and c["status"] in ("warn", "error"):
                con.print(f"      fix: {escape(c['fix'])}")
        if not quiet:
            con.print(f"doctor: {r['status']} (preset {escape(str(r['preset']))})")

    emit(result, as_json, False, human)
    code = exit_code(checks)
    if code:
        # SystemExit passes through `guarded` (typer.Exit, in this typer, is not a click Exit and would not).
        raise SystemExit(code)


def label(check: dict) -> str:
    """The check's name, less a ``group:key`` key that its message already starts with (``model: model.id: …``,
    not ``model:model.id: model.id: …``)."""
    group, _, key = check["name"].partition(":")
    return group if key and check["message"].startswith(key) else check["name"]
