"""Stage 1, plan: story → plan.json (+ storyboard.png), by the two-level planner (METHOD.md A).

Items:
- ``outline``: the story → characters, motions and scenes (level 1). Reads the story text and the planner settings.
- one item per scene: its key-frame layout (level 2). Reads that scene's outline and the entities it names.
- ``plan.json``: assembled from the above. If the user edited plan.json by hand, the edit wins: only scenes that
  were re-planned in this run are patched into it (``--scene ID --force`` re-plans one scene).
- ``storyboard``: storyboard.png, redrawn whenever plan.json's content changes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config
from ..errors import InputInvalid, MissingUpstream
from ..schema import Keyframe, Outline, Plan, assemble_plan, load_plan, validate_plan
from ..story import StoryInput, parse_story
from ..workspace import StageRun, Workspace, file_digest, write_json_atomic, write_text_atomic

PLANNER_KEYS = ("llm", "llm_model", "llm_base_url", "min_scenes", "max_scenes", "max_motions_per_scene",
                "max_motions_per_scene_multi", "temperature", "seed", "max_tokens", "structured_output")
LAYOUT_KEYS = PLANNER_KEYS + ("keyframes", "merge_overlaps", "min_box_side")


def _subset(plan_cfg: dict, keys: tuple[str, ...]) -> dict:
    return {k: plan_cfg[k] for k in keys + ("prompts",) if k in plan_cfg}


def outline_path(ws: Workspace) -> Path:
    return ws.root / "planning" / "outline.json"


def layout_path(ws: Workspace, scene_id: str) -> Path:
    return ws.root / "planning" / "scenes" / f"{scene_id}.json"


def import_story(ws: Workspace, story_file: Path) -> StoryInput:
    """Copy the story and its reference images into the workspace; the copy's front matter points at refs/."""
    import yaml

    story = parse_story(story_file)
    ws.root.mkdir(parents=True, exist_ok=True)
    chars = []
    for c in story.characters:
        rel = []
        for i, img in enumerate(c.images):
            dest = ws.refs_dir / c.id / f"{i + 1:02d}-{img.name}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists() or file_digest(dest) != file_digest(img):
                shutil.copyfile(img, dest)
            rel.append(ws.rel(dest))
        chars.append({"id": c.id, "name": c.name, "description": c.description, "token": c.token, "images": rel})
    meta: dict[str, Any] = {"title": story.title}
    if chars:
        meta["characters"] = chars
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + story.text + "\n"
    if not ws.story.exists() or ws.story.read_text(encoding="utf-8") != text:
        write_text_atomic(ws.story, text)
    return parse_story(ws.story)


def run(
    ws: Workspace,
    cfg: Config,
    *,
    story_file: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    from ..planning import get_planner

    sr = StageRun(ws, "plan", force=force, dry_run=dry_run)

    # 1. The story: copied into the workspace on first use, read from there afterwards.
    if story_file is not None and Path(story_file).resolve() != ws.story:
        story = import_story(ws, Path(story_file)) if not dry_run else parse_story(Path(story_file))
    elif ws.story.exists():
        story = parse_story(ws.story)
    elif ws.plan.exists():
        # A plan written by hand or imported (`dreamrunner import`): there is nothing to plan from, and the plan
        # is the user's. Validate it and keep the storyboard current.
        plan = load_plan(ws.plan)
        sr.notes.append("no story.txt: plan.json was written by hand or imported; kept as it is")
        if not dry_run:
            refresh_storyboard(ws, sr, plan)
        sr.close(outcome="ok")
        return sr.result(plan=str(ws.plan), storyboard=str(ws.storyboard))
    else:
        raise MissingUpstream(f"no story.txt or plan.json in {ws.root}",
                              hint="run `dreamrunner plan STORY.txt --workspace WS`")
    planner = None

    def get() -> Any:
        nonlocal planner
        planner = planner or get_planner(cfg.plan)
        return planner

    plan_cfg = cfg.plan.model_dump()
    if cfg.plan.llm != "builtin":  # editing a prompt file re-plans (its content hash is a dependency)
        from ..planning.llm import prompt_versions

        plan_cfg["prompts"] = prompt_versions()

    # 2. Level 1: the outline (scenes, characters, motions).
    deps = {"story": ws.story if ws.story.exists() else story.text,
            "config.plan": _subset(plan_cfg, PLANNER_KEYS)}
    d = sr.decide("outline", deps, [outline_path(ws)], force=force and not only)
    if d.run and not dry_run:
        outline = get().outline(story)
        outline = _attach_reference_images(outline, story, ws)
        write_json_atomic(outline_path(ws), outline.model_dump(mode="json"))
        sr.finish(d, deps, [outline_path(ws)])
    if not outline_path(ws).exists():
        sr.close(outcome="dry-run")
        return sr.result()
    outline = Outline.model_validate_json(outline_path(ws).read_text(encoding="utf-8"))

    # 3. Level 2: one key-frame layout per scene.
    wanted = set(only or [])
    unknown = wanted - {s.id for s in outline.scenes}
    if unknown:
        raise InputInvalid(f"unknown scene id(s) {sorted(unknown)}",
                           hint=f"scene ids: {[s.id for s in outline.scenes]}")
    entities = {"characters": [c.model_dump() for c in outline.characters],
                "objects": [o.model_dump() for o in outline.objects],
                "motions": [m.model_dump() for m in outline.motions]}
    replanned: list[str] = []
    for scene in outline.scenes:
        if wanted and scene.id not in wanted:
            continue
        deps_s = {f"outline.scenes[{scene.id}]": scene.model_dump(), "outline.entities": entities,
                  "config.plan": _subset(plan_cfg, LAYOUT_KEYS)}
        out = layout_path(ws, scene.id)
        d = sr.decide(scene.id, deps_s, [out])
        if d.run and not dry_run:
            keyframes = get().layout(outline, scene)
            write_json_atomic(out, [k.model_dump(mode="json") for k in keyframes])
            sr.finish(d, deps_s, [out])
            replanned.append(scene.id)

    # 4. plan.json: assembled from the parts; a hand-edited plan.json keeps its edits.
    if not dry_run:
        _write_plan(ws, sr, outline, replanned, force=force and not only)

    # 5. The storyboard, from whatever plan.json now says.
    if not dry_run and ws.plan.exists():
        refresh_storyboard(ws, sr)

    calls = getattr(planner, "calls", []) if planner is not None else []
    model = getattr(planner, "model", None) if planner is not None else cfg.plan.llm_model
    sr.close(outcome="ok", planner={"backend": cfg.plan.llm, "model": model}, llm_calls=calls)
    return sr.result(plan=str(ws.plan), storyboard=str(ws.storyboard))


def _attach_reference_images(outline: Outline, story: StoryInput, ws: Workspace) -> Outline:
    """Characters declared in the story keep their copied reference images (planners need not know paths)."""
    by_id = {c.id: c for c in story.characters}
    chars = []
    for c in outline.characters:
        spec = by_id.get(c.id)
        if spec is not None:
            c = c.model_copy(update={"reference_images": [ws.rel(p) for p in spec.images]})
        chars.append(c)
    return outline.model_copy(update={"characters": chars})


def _layouts(ws: Workspace, outline: Outline) -> dict[str, list[Keyframe]]:
    out = {}
    for s in outline.scenes:
        p = layout_path(ws, s.id)
        if not p.exists():
            raise MissingUpstream(f"scene {s.id} has no layout yet", hint=f"run `dreamrunner plan {ws.root}`")
        out[s.id] = [Keyframe.model_validate(k) for k in json.loads(p.read_text(encoding="utf-8"))]
    return out


def _write_plan(ws: Workspace, sr: StageRun, outline: Outline, replanned: list[str], force: bool) -> None:
    layouts = _layouts(ws, outline)
    deps = {"planning/outline.json": outline_path(ws),
            "planning/scenes": {s.id: file_digest(layout_path(ws, s.id)) for s in outline.scenes}}
    # A re-planned scene must reach plan.json even when its layout came out the same (it replaces a hand edit).
    d = sr.decide("plan.json", deps, [ws.plan], force=force or bool(replanned))
    if not d.run:
        return
    rec = sr.records.get("plan", "plan.json")
    edited = (rec is not None and ws.plan.exists() and not force
              and file_digest(ws.plan) != rec["outs"].get("plan.json"))
    if edited:
        plan = load_plan(ws.plan)
        outline_changed = any(it["item"] == "outline" and it["action"] == "ran" for it in sr.items)
        if outline_changed:
            raise InputInvalid(
                "plan.json was edited by hand and the story (or planner settings) changed since",
                hint="re-plan from scratch with `dreamrunner plan WS --force` (your hand edits are lost), "
                "or keep editing plan.json")
        data = plan.model_dump(mode="json")
        for i, s in enumerate(plan.scenes):
            if s.id in replanned:
                data["scenes"][i]["keyframes"] = [k.model_dump(mode="json") for k in layouts[s.id]]
        plan = validate_plan(data, source=str(ws.plan))
        sr.notes.append("plan.json has hand edits: kept them" + (f"; re-planned {replanned}" if replanned else ""))
    else:
        plan = assemble_plan(outline, layouts)
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    sr.finish(d, deps, [ws.plan])


def refresh_storyboard(ws: Workspace, sr: StageRun, plan: Plan | None = None) -> None:
    """Redraw storyboard.png when plan.json's content changed (also after hand edits)."""
    from ..storyboard import draw_storyboard

    deps = {"plan.json": ws.plan, "version": __version__}
    d = sr.decide("storyboard", deps, [ws.storyboard])
    if d.run and not sr.dry_run:
        draw_storyboard(plan or load_plan(ws.plan), ws.storyboard)
        sr.finish(d, deps, [ws.storyboard])
