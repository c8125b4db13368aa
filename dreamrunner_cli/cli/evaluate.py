"""`dreamrunner evaluate`: the paper's story metrics for the renders (or other videos), metrics.json, report.html."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    PresetOpt,
    NoSaveOpt,
    QuietOpt,
    SceneOpt,
    SetOpt,
    VerboseOpt,
    WaitOpt,
    WorkspaceArg,
    check_selection,
    console,
    emit,
    guarded,
    open_workspace,
    plan_scene_ids,
    print_decisions,
    print_summary,
    session,
    table_console,
)

VideosOpt = Annotated[
    list[str] | None,
    typer.Option("--videos", metavar="[LABEL=]DIR",
                 help="Score this folder of per-scene videos instead of the workspace's renders (files named "
                      "<scene id>.mp4, or exactly one video per scene in sorted order). Repeat to compare several "
                      "systems side by side; include WS/renders to compare with this workspace's own renders."),
]


@guarded
def evaluate(
    workspace: WorkspaceArg,
    videos: VideosOpt = None,
    preset: PresetOpt = None,
    overrides: SetOpt = None,
    no_save: NoSaveOpt = False,
    scene: SceneOpt = None,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    wait: WaitOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Score scene videos against the plan: character consistency, narration and per-event alignment, smoothness.

    Writes eval/<source>/<scene>.json (+ a contact sheet per scene), eval/metrics.json and the self-contained
    eval/report.html. Scores are cosine similarity x 100, as in the paper; only changed scenes are scored again.

    Examples:

        dreamrunner evaluate ws/teddy

        dreamrunner evaluate ws/teddy --videos ws/teddy/renders --videos baseline=outputs/vlogger/teddy

        dreamrunner evaluate ws/teddy --preset tiny --json > scores.json
    """
    from ..stages import evaluate as stage

    ws, cfg = open_workspace(workspace, preset, overrides, save=not no_save)
    ws.require_plan()
    if scene:  # unknown ids are a usage error (exit 2), found before anything is written
        check_selection("--scene", scene, plan_scene_ids(ws))
    with session(ws, wait=wait, dry_run=dry_run):
        result = stage.run(ws, cfg, force=force, dry_run=dry_run, only=scene, videos=videos,
                           progress=not quiet and not as_json)
    emit(result, as_json, quiet, _human)


def _human(result: dict[str, Any]) -> None:
    print_decisions(result)
    print_metrics(result)
    print_summary(result)


def print_metrics(result: dict[str, Any]) -> None:
    """Rich tables: story scores (one row per source: the comparison table), then scores per scene."""
    from rich.table import Table

    from ..evaluation.schema import HEADLINE, STORY_ONLY

    sources = result.get("sources") or []
    if not sources or result.get("dry_run"):  # a dry run scores nothing: no (stale) tables
        return
    con = console()
    labels = {**HEADLINE, **STORY_ONLY}

    def fmt(v: Any, best: bool = False) -> str:
        text = "–" if v is None else f"{v:.1f}"
        return f"[bold green]{text}[/]" if best else text

    def best_of(rows: list[dict[str, Any]], key: str) -> float | None:
        vals = [r.get(key) for r in rows if r.get(key) is not None]
        return max(vals) if len(rows) > 1 and vals else None

    stories = [s["story"] for s in sources]
    table = Table(title="Story scores (cosine × 100, higher is better; VT = video-text model)",
                  title_justify="left")
    table.add_column("source", no_wrap=True, min_width=max(len(s["name"]) for s in sources))
    for k in labels:
        table.add_column(labels[k], justify="right")
    for s in sources:
        table.add_row(s["name"], *[fmt(s["story"].get(k), s["story"].get(k) is not None
                                       and s["story"].get(k) == best_of(stories, k)) for k in labels])
    table_console().print(table)

    per_scene = Table(title="Per scene", title_justify="left")
    per_scene.add_column("scene")
    if len(sources) > 1:
        per_scene.add_column("source", no_wrap=True)
    for k in HEADLINE:
        per_scene.add_column(HEADLINE[k], justify="right")
    scene_ids = list(dict.fromkeys(sid for s in sources for sid in s["scenes"]))
    for sid in scene_ids:
        rows = [s["scenes"][sid] for s in sources if sid in s["scenes"]]
        for s in sources:
            if sid not in s["scenes"]:
                continue
            vals = s["scenes"][sid]
            cells = [fmt(vals.get(k), vals.get(k) is not None and vals.get(k) == best_of(rows, k)) for k in HEADLINE]
            per_scene.add_row(sid, *([s["name"]] if len(sources) > 1 else []), *cells)
    table_console().print(per_scene)
    for w in result.get("warnings") or []:
        con.print(f"[yellow]warning:[/] {w}")
    if result.get("report"):
        con.print(f"report: {result['report']}\nmetrics: {result['metrics_file']}")
