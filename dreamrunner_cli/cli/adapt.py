"""`dreamrunner adapt`: motion LoRAs from retrieved clips and character LoRAs from reference images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .common import (
    CharacterOpt,
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    MotionOpt,
    PresetOpt,
    NoSaveOpt,
    QuietOpt,
    SetOpt,
    VerboseOpt,
    WaitOpt,
    WorkspaceArg,
    emit,
    guarded,
    open_workspace,
    print_decisions,
    print_summary,
    session,
)

ClipsOpt = Annotated[
    list[str] | None,
    typer.Option("--clips", metavar="MOTION=DIR",
                 help="Train motion MOTION on the videos in DIR (captions from file names) instead of the retrieve "
                      "stage's clips. Repeatable."),
]


@guarded
def adapt(
    workspace: WorkspaceArg,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    no_save: NoSaveOpt = False,
    motion: MotionOpt = None,
    character: CharacterOpt = None,
    clips: ClipsOpt = None,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train a motion LoRA per motion (dual path on the retrieved clips) and a character LoRA per character.

    Writes adapters/motion/<id>/ and adapters/character/<id>/ (diffusers LoRA safetensors + adapter.json).
    Up-to-date adapters are skipped; an adapter trained before with the same recipe (any story) is reused from the
    cache. --motion / --character restrict the run to those items (for sharding); a killed run resumes from its
    last checkpoint.

    Examples:

        dreamrunner adapt ws/teddy

        dreamrunner adapt ws/teddy --motion walking --clips walking=clips/walking

        dreamrunner adapt ws/teddy --character teddy --set adapt.character_steps=200 --json
    """
    from ..stages import adapt as stage

    clip_dirs = _parse_clips(clips or [])
    ws, cfg = open_workspace(workspace, preset, overrides, save=not no_save)
    ws.require_plan()
    with session(ws, wait=wait, dry_run=dry_run):
        result = stage.run(ws, cfg, force=force, dry_run=dry_run, progress=not quiet and not as_json,
                           motions=motion, characters=character, clips=clip_dirs)
    emit(result, as_json, quiet, _human)


def _parse_clips(values: list[str]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for v in values:
        mid, sep, folder = v.partition("=")
        if not sep or not mid.strip() or not folder.strip():
            raise UsageError(f"--clips {v!r} is not MOTION=DIR", hint="example: --clips walking=clips/walking")
        out[mid.strip()] = Path(folder.strip()).expanduser().resolve()
    return out


def _human(result: dict) -> None:
    # One line per adapter: what was done and why, then where it went (not a second list of the same adapters).
    where = {}
    for a in result.get("adapters", []):
        how = "reused from cache" if a["source"] == "cache" else f"trained {a['steps']} steps"
        where[f"{a['kind']}/{a['id']}"] = f" → {a['path']} ({how}, final loss {a['final_loss']:.4f})"
    print_decisions(result, extra=where)
    print_summary(result)
