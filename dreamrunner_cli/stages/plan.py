"""Stage 1, plan: story → plan.json (+ storyboard.png), by the two-level planner (METHOD.md A).

Items:
- ``outline``: the story → characters, motions and scenes (level 1). Reads the story text and the planner settings.
- one item per scene: its key-frame layout (level 2). Reads that scene's outline and the entities it names.
- ``plan.json``: assembled from the above. If the user edited plan.json by hand, the edit wins: only scenes that
  were re-planned in this run are patched into it (``--scene ID --force`` re-plans one scene).
- ``storyboard``: storyboard.png (and storyboard-2.png, … past ``storyboard.SCENES_PER_PAGE`` scenes), redrawn
  whenever plan.json's content changes.

Guards decide before they write: step 1 parses the story and checks its reference images, looks up the planner
backend, and refuses a new story or new planner settings over a hand-edited plan.json, all before story.txt, refs/,
planning/ or a record is written; such a refusal logs nothing either.

After plan.json is written or loaded, a note names every region whose box covers no token at the configured model
geometry (SR3AI would silently drop it). A failed run still appends a runs.jsonl line (outcome "failed", the
error, the LLM calls made), and the LLM's replies of the exchange that failed are saved as
``planning/replies/<step>-<n>.txt`` (step: outline, a scene id, or <scene>-merge; n: 1 for the first reply, then
one per repair), which the error message names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from .. import __version__
from ..bounds import read_json
from ..config import Config, PlanConfig
from ..errors import DreamrunnerError, InputInvalid, MissingUpstream, listing
from ..schema import Keyframe, Outline, Plan, assemble_plan, load_plan, validate_plan
from ..story import StoryInput, parse_story
from ..workspace import Records, StageRun, Workspace, digest, file_digest, write_json_atomic, write_text_atomic

PLANNER_KEYS = ("llm", "llm_model", "llm_base_url", "min_scenes", "max_scenes", "max_motions_per_scene",
                "max_motions_per_scene_multi", "temperature", "seed", "max_tokens", "structured_output")
LAYOUT_KEYS = PLANNER_KEYS + ("keyframes", "merge_overlaps", "min_box_side")
# Keys that change an LLM's replies, read only by the LLM planners (a builtin plan's fingerprint ignores them).
LLM_REPLY_KEYS = ("repetition_penalty", "stop", "stop_at_json_end")
MAX_BOX_NOTES = 12  # vanishing-box notes printed; the full list is in the result ("vanishing_regions")

log = logging.getLogger("dreamrunner.plan")


def _subset(plan_cfg: dict, keys: tuple[str, ...]) -> dict:
    if plan_cfg.get("llm", "builtin") != "builtin":
        keys = keys + LLM_REPLY_KEYS
    return {k: plan_cfg[k] for k in keys + ("prompts",) if k in plan_cfg}


def outline_path(ws: Workspace) -> Path:
    return ws.root / "planning" / "outline.json"


def layout_path(ws: Workspace, scene_id: str) -> Path:
    return ws.root / "planning" / "scenes" / f"{scene_id}.json"


def story_copy(ws: Workspace, story: StoryInput) -> tuple[str, list[tuple[Path, Path]]]:
    """What ``import_story`` would write, without writing: (the text of story.txt, [(reference image, its copy)]).
    The copy's front matter points at refs/."""
    import yaml

    chars = []
    copies: list[tuple[Path, Path]] = []
    for c in story.characters:
        rel = []
        for i, img in enumerate(c.images):
            dest = ws.refs_dir / c.id / f"{i + 1:02d}-{img.name}"
            copies.append((img, dest))
            rel.append(ws.rel(dest))
        chars.append({"id": c.id, "name": c.name, "description": c.description, "token": c.token, "images": rel})
    meta: dict[str, Any] = {"title": story.title}
    if chars:
        meta["characters"] = chars
    text = "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n" + story.text + "\n"
    return text, copies


def import_story(ws: Workspace, story: StoryInput | Path, allow_outside_refs: bool = False) -> StoryInput:
    """Copy the story (a parsed one, or a story file) and its reference images into the workspace."""
    if not isinstance(story, StoryInput):
        story = parse_story(Path(story), allow_outside_refs=allow_outside_refs)
    text, copies = story_copy(ws, story)
    ws.root.mkdir(parents=True, exist_ok=True)
    for img, dest in copies:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists() or file_digest(dest) != file_digest(img):
            shutil.copyfile(img, dest)
    if not ws.story.exists() or ws.story.read_text(encoding="utf-8") != text:
        write_text_atomic(ws.story, text)
    return parse_story(ws.story, max_bytes=len(text.encode("utf-8")))  # our copy: bounded when it came in


def run(
    ws: Workspace,
    cfg: Config,
    *,
    story_file: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    only: list[str] | None = None,
    progress: bool = True,
    allow_outside_refs: bool = False,
) -> dict[str, Any]:
    """Plan the workspace's story (``story_file`` is copied in first). A run refused before anything is written
    (bad story or reference image, unknown planner backend, a hand-edited plan.json the new story would replace)
    changes nothing on disk and logs nothing; one that fails after that is logged to runs.jsonl.
    ``allow_outside_refs``: accept reference images outside the story file's folder (``--allow-outside-refs``)."""
    sr = StageRun(ws, "plan", force=force, dry_run=dry_run)
    sr.started = False  # set once step 1 has decided: a refusal before that writes nothing, not even runs.jsonl
    slot = _PlannerSlot(cfg.plan, _Reporter(progress))
    try:
        return _plan(ws, cfg, sr, slot, story_file=story_file, force=force, dry_run=dry_run, only=only,
                     allow_outside_refs=allow_outside_refs)
    except (Exception, KeyboardInterrupt) as exc:
        _record_failure(ws, sr, slot, exc)
        raise
    finally:
        slot.say.close()


def _plan(ws: Workspace, cfg: Config, sr: StageRun, slot: _PlannerSlot, *, story_file: Path | None, force: bool,
          dry_run: bool, only: list[str] | None, allow_outside_refs: bool = False) -> dict[str, Any]:
    # 1. The story: copied into the workspace on first use, read from there afterwards. Everything that can refuse
    #    the run is decided here, before story.txt, refs/, planning/ or a record is written.
    plan_cfg = cfg.plan.model_dump()
    if cfg.plan.llm != "builtin":  # editing a prompt file re-plans (its content hash is a dependency)
        from ..planning.llm import prompt_versions

        plan_cfg["prompts"] = prompt_versions()
    incoming: StoryInput | None = None  # a story file to copy in
    story: StoryInput | None = None  # the workspace's story.txt
    if story_file is not None and Path(story_file).resolve() != ws.story:
        incoming = parse_story(Path(story_file), allow_outside_refs=allow_outside_refs,  # refs validated here
                               max_pixels=cfg.adapt.max_image_pixels, max_bytes=cfg.plan.max_story_bytes)
    elif ws.story.exists():
        story = parse_story(ws.story, max_pixels=cfg.adapt.max_image_pixels, max_bytes=cfg.plan.max_story_bytes)
    if incoming is not None or story is not None:
        _check_backend(cfg.plan)  # an unknown --llm is refused before any file is copied (exit 2)
        _refuse_replacing_hand_edits(ws, sr, incoming, plan_cfg, force=force and not only)
    sr.started = True
    if incoming is not None:
        story = import_story(ws, incoming) if not dry_run else incoming
    if story is None and ws.plan.exists():
        # A plan written by hand or imported (`dreamrunner import`): there is nothing to plan from, and the plan
        # is the user's. Validate it and keep the storyboard current.
        plan = load_plan(ws.plan)
        sr.notes.append("no story.txt: plan.json was written by hand or imported; kept as it is")
        refresh_storyboard(ws, sr, plan)  # a dry run (status) only says whether it is stale
        vanishing = _note_vanishing_boxes(cfg, sr, plan)
        _note_plan_warnings(sr, plan, None)
        sr.close(outcome="ok", planner=None, llm_calls=[])
        return sr.result(plan=str(ws.plan), storyboard=str(ws.storyboard), vanishing_regions=vanishing)
    if story is None:
        raise MissingUpstream(f"no story.txt or plan.json in {ws.root}",
                              hint="run `dreamrunner plan STORY.txt --workspace WS`")
    get = slot.get

    # 2. Level 1: the outline (scenes, characters, motions). A dry run copies no new story in: it compares the
    #    story.txt that would be written.
    same = ws.story.exists() and (incoming is None
                                  or ws.story.read_text(encoding="utf-8") == story_copy(ws, incoming)[0])
    deps = {"story": ws.story if same else story.text,
            "config.plan": _subset(plan_cfg, PLANNER_KEYS)}
    d = sr.decide("outline", deps, [outline_path(ws)], force=force and not only)
    if d.run and not dry_run:
        outline = get().outline(story)
        outline = _attach_reference_images(outline, story, ws)
        write_json_atomic(outline_path(ws), outline.model_dump(mode="json"))
        sr.finish(d, deps, [outline_path(ws)])
        _clear_replies(ws, "outline")
    if not outline_path(ws).exists():
        sr.close(outcome="dry-run", planner=slot.provenance(), llm_calls=[])
        return sr.result(plan=str(ws.plan), storyboard=str(ws.storyboard), vanishing_regions=[])
    outline = Outline.model_validate_json(outline_path(ws).read_text(encoding="utf-8"))

    # 3. Level 2: one key-frame layout per scene.
    wanted = set(only or [])
    unknown = wanted - {s.id for s in outline.scenes}
    if unknown:
        raise InputInvalid(f"unknown scene id(s) {listing(sorted(unknown))}",
                           hint=f"scene ids: {listing(s.id for s in outline.scenes)}")
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
            _clear_replies(ws, scene.id)  # <scene>-<n>.txt, and <scene>-merge-<n>.txt with them

    # 4. plan.json: assembled from the parts; a hand-edited plan.json keeps its edits.
    if not dry_run:
        _write_plan(ws, sr, outline, replanned, force=force and not only)

    # 5. Sentences the built-in planner gave no action, or an action it could not attribute (a warning each).
    unattributed = _note_unattributed(cfg, sr, story)

    # 6. The storyboard, from whatever plan.json now says, with those sentences marked under their scenes.
    if ws.plan.exists():  # a dry run (status) only says whether it is stale
        refresh_storyboard(ws, sr, skipped=unattributed)

    # 7. Boxes that cover no token at the configured model geometry (SR3AI would drop them): a note each.
    vanishing = _note_vanishing_boxes(cfg, sr, load_plan(ws.plan)) if ws.plan.exists() else []
    if ws.plan.exists():  # 8. Captions without their token; characters without reference images
        _note_plan_warnings(sr, load_plan(ws.plan), incoming or story)

    sr.close(outcome="ok", planner=slot.provenance(), llm_calls=slot.calls())
    extra = {"unattributed": unattributed} if unattributed else {}  # listed only when some sentence was skipped
    return sr.result(plan=str(ws.plan), storyboard=str(ws.storyboard), vanishing_regions=vanishing, **extra)


# Guards: decided in step 1, before anything is written ---------------------------------------------------------------


def _check_backend(plan_cfg: PlanConfig) -> None:
    """An unknown planner backend is a usage error (exit 2), raised before any file is copied. Only the name is
    looked up: no model is loaded and no server is asked (a run whose items are all up to date needs neither)."""
    from ..planning import PLANNERS, get_planner

    if plan_cfg.llm not in PLANNERS:
        get_planner(plan_cfg)  # raises UsageError listing the backends


def _refuse_replacing_hand_edits(ws: Workspace, sr: StageRun, incoming: StoryInput | None, plan_cfg: dict,
                                 force: bool) -> None:
    """A hand-edited plan.json that a changed story (or changed planner settings) would replace: refused, exit 5,
    before story.txt, planning/ or a record is rewritten, so the same command refuses again until the user decides
    (``--force`` re-plans from scratch, dropping the edits)."""
    if force or not _hand_edited(ws, sr):
        return
    rec = sr.records.get("plan", "outline")
    if rec is None:
        return  # no outline was ever recorded: plan.json was not made from a story here
    why = []
    text = story_copy(ws, incoming)[0] if incoming is not None else ws.story.read_text(encoding="utf-8")
    if rec.get("deps", {}).get("story") != hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]:  # = file_digest
        why.append(f"the story ({incoming.path if incoming is not None else ws.rel(ws.story)}) changed")
    if rec.get("deps", {}).get("config.plan") != digest(_subset(plan_cfg, PLANNER_KEYS)):
        why.append("the planner settings (config.plan) changed")
    if why:
        raise InputInvalid(
            f"plan.json in {ws.root} was edited by hand, and re-planning would replace it: {'; '.join(why)}",
            hint=f"re-plan from scratch with `dreamrunner plan {ws.root} --force` (your hand edits are lost; copy "
                 "plan.json first), or keep editing plan.json and run the previous story and settings")


# The planner, progress, and what a failed run leaves behind ---------------------------------------------------------


class _Reporter:
    """The planner's progress lines, through progress.py: one line per finished LLM reply; while a model works, a
    status line updated in place on a terminal, or printed every progress.THROTTLE_S seconds otherwise (logs, CI).
    Silent with --quiet / --json."""

    def __init__(self, enabled: bool):
        from ..progress import reporter

        self.enabled = enabled
        self.rep = reporter(enabled, "plan")

    def __call__(self, line: str, transient: bool = False) -> None:
        if transient:
            self.rep.status(line)
        else:
            self.rep.line(line)

    def close(self) -> None:
        self.rep.close()


class _PlannerSlot:
    """The planner, made on first use (a run whose items are all up to date loads no model and asks no server)."""

    def __init__(self, cfg: PlanConfig, say: _Reporter):
        self.cfg = cfg
        self.say = say
        self.planner: Any = None

    def get(self) -> Any:
        if self.planner is None:
            from ..planning import get_planner

            self.planner = get_planner(self.cfg)
            if hasattr(self.planner, "report_to"):
                self.planner.report_to(self.say if self.say.enabled else None)
        return self.planner

    def calls(self) -> list[dict[str, Any]]:
        return list(getattr(self.planner, "calls", []))

    def provenance(self) -> dict[str, Any]:
        model = getattr(self.planner, "model", None) if self.planner is not None else self.cfg.llm_model
        return {"backend": self.cfg.llm, "model": model}


def replies_dir(ws: Workspace) -> Path:
    return ws.root / "planning" / "replies"


def _clear_replies(ws: Workspace, *steps: str) -> None:
    """A step that now succeeded keeps no replies of an earlier failure."""
    for step in steps:
        for old in replies_dir(ws).glob(f"{step}-*.txt"):
            old.unlink(missing_ok=True)


def _save_replies(ws: Workspace, planner: Any) -> list[Path]:
    """The replies of the exchange that failed (a timed-out one's partial text too), without any secret."""
    exchange = getattr(planner, "exchange", None)
    if not exchange or exchange.get("done") or not exchange["replies"]:
        return []
    _clear_replies(ws, exchange["step"])
    paths = []
    for n, text in enumerate(exchange["replies"], 1):
        path = replies_dir(ws) / f"{exchange['step']}-{n}.txt"
        write_text_atomic(path, planner.scrub(text))
        paths.append(path)
    return paths


def _record_failure(ws: Workspace, sr: StageRun, slot: _PlannerSlot, exc: BaseException) -> None:
    """A failed (or interrupted) run: save the LLM's replies, name them in the error, log the run to runs.jsonl."""
    if sr.dry_run or not getattr(sr, "started", True):
        return  # refused before anything was written: nothing to log either
    planner = slot.planner
    scrub = planner.scrub if hasattr(planner, "scrub") else (lambda text: text)
    try:
        saved = _save_replies(ws, planner)
        if saved and isinstance(exc, DreamrunnerError):
            where = str(saved[0]) if len(saved) == 1 else f"{saved[0]} … {saved[-1].name}"
            exc.message = f"{exc.message}; the model's {'reply is' if len(saved) == 1 else 'replies are'} saved " \
                          f"in {where}"
            exc.args = (exc.message,)
        error: dict[str, Any] = {"type": type(exc).__name__, "message": scrub(getattr(exc, "message", str(exc)))}
        if isinstance(exc, DreamrunnerError):
            error.update(exit_code=exc.exit_code, details=[scrub(d) for d in exc.details])
        sr.close(outcome="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed", error=error,
                 planner=slot.provenance(), llm_calls=slot.calls(), replies=[ws.rel(p) for p in saved])
    except OSError as io_exc:  # never hide the real error behind a failure to record it
        log.warning("plan: could not record the failed run in %s: %s", ws.runs_log, io_exc)


def _note_unattributed(cfg: Config, sr: StageRun, story: StoryInput) -> list[dict[str, str]]:
    """The built-in planner's skipped sentences (every one: the user fixes them by hand or with an LLM; `plan`
    prints a warning line each on stderr); [] for the LLM backends, which read the whole story themselves."""
    if cfg.plan.llm != "builtin":
        return []
    from ..planning.heuristic import HeuristicPlanner

    return HeuristicPlanner(cfg.plan).unattributed(story)


def _note_plan_warnings(sr: StageRun, plan: Plan, story: StoryInput | None) -> None:
    """Warnings a person can act on before any GPU time is spent: captions without their character's token, and
    characters in the scenes without reference images (adapt would train no character LoRA for them)."""
    from ..schema import caption_token_warnings
    from ..story import missing_reference_images

    found = caption_token_warnings(plan)
    sr.notes += [f"warning: {w}" for w in found[:MAX_BOX_NOTES]]
    if len(found) > MAX_BOX_NOTES:
        sr.notes.append(f"warning: ... and {len(found) - MAX_BOX_NOTES} more captions without their token")
    if story is not None:  # a hand-written or imported plan has no front matter to fix
        sr.notes += [f"warning: {w}" for w in missing_reference_images(plan, story, sr.ws.root)]


def redraw_stale_storyboard(ws: Workspace, cfg: Config) -> bool:
    """Redraw storyboard.png when plan.json changed since it was drawn (a hand edit): called by every command
    that reads plan.json (``cli.common.session``), so the picture never shows an older plan. Only a storyboard the
    plan stage drew before (it has a record) is redrawn; returns whether it was. A plan.json that is no regular
    file (a FIFO) is left to the bounded reader, which refuses it: it is never opened here."""
    rec = Records.load(ws).get("plan", "storyboard")
    if rec is None or not ws.plan.is_file() or rec["deps"].get("plan.json") == file_digest(ws.plan):
        return False
    sr = StageRun(ws, "plan")  # never closed: a redraw is no plan run (runs.jsonl is left alone)
    story = parse_story(ws.story, max_pixels=cfg.adapt.max_image_pixels, max_bytes=cfg.plan.max_story_bytes) \
        if ws.story.exists() else None
    refresh_storyboard(ws, sr, load_plan(ws.plan), skipped=_note_unattributed(cfg, sr, story) if story else None)
    return True


def _note_vanishing_boxes(cfg: Config, sr: StageRun, plan: Plan) -> list[str]:
    """Regions whose box covers no token at the model's geometry (cfg.model.id at cfg.render's size), as notes.
    No note when the geometry cannot be read without weights (an unknown model id offline, say)."""
    from ..sr3ai.geometry_source import geometry_for
    from ..sr3ai.regions import vanishing_regions

    try:
        geom = geometry_for(cfg.model.id, cfg.render.height, cfg.render.width, cfg.render.num_frames)
    except DreamrunnerError as exc:
        log.info("plan: box sizes not checked against model %r: %s", cfg.model.id, exc.message)
        return []
    found = [line for scene in plan.scenes for line in vanishing_regions(scene, geom)]
    sr.notes += [f"warning: {line}" for line in found[:MAX_BOX_NOTES]]
    if len(found) > MAX_BOX_NOTES:
        sr.notes.append(f"warning: ... and {len(found) - MAX_BOX_NOTES} more regions that cover no token "
                        "(all of them: `dreamrunner plan WS --json`, key vanishing_regions)")
    return found


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
        out[s.id] = [Keyframe.model_validate(k) for k in read_json(p, what=f"scene {s.id}'s layout")]
    return out


def _write_plan(ws: Workspace, sr: StageRun, outline: Outline, replanned: list[str], force: bool) -> None:
    layouts = _layouts(ws, outline)
    deps = {"planning/outline.json": outline_path(ws),
            "planning/scenes": {s.id: file_digest(layout_path(ws, s.id)) for s in outline.scenes}}
    # A re-planned scene must reach plan.json even when its layout came out the same (it replaces a hand edit).
    # The first plan.json has no record: "never ran", not "forced (--force)".
    first = sr.records.get("plan", "plan.json") is None
    d = sr.decide("plan.json", deps, [ws.plan], force=force or (bool(replanned) and not first))
    if not d.run:
        if _hand_edited(ws, sr):  # "up to date" would hide that the file is not what the planner wrote
            sr.items[-1]["reason"] = "kept (hand-edited)"
        return
    edited = not force and _hand_edited(ws, sr)
    if edited:
        plan = load_plan(ws.plan)  # a new story or planner settings were refused in step 1 (the edits would be lost)
        data = plan.model_dump(mode="json")
        for i, s in enumerate(plan.scenes):
            if s.id in replanned:
                data["scenes"][i]["keyframes"] = [k.model_dump(mode="json") for k in layouts[s.id]]
        plan = validate_plan(data, source=str(ws.plan))
        sr.notes.append("plan.json has hand edits: kept them" + (f"; re-planned {replanned}" if replanned else ""))
    else:
        plan = assemble_plan(outline, layouts)
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    # A plan.json patched over hand edits is recorded as ours, but it still holds them: the flag keeps a later
    # full re-plan (a new story, new planner settings) from dropping them without a word.
    sr.finish(d, deps, [ws.plan], extra={"hand_edited": True} if edited else None)


def _hand_edited(ws: Workspace, sr: StageRun) -> bool:
    """plan.json differs from what the plan stage last wrote, or what it last wrote kept earlier hand edits."""
    rec = sr.records.get("plan", "plan.json")
    if rec is None or not ws.plan.exists():
        return False
    return bool(rec.get("hand_edited")) or file_digest(ws.plan) != rec["outs"].get("plan.json")


def refresh_storyboard(ws: Workspace, sr: StageRun, plan: Plan | None = None,
                       skipped: list[dict[str, str]] | None = None) -> None:
    """Redraw the storyboard when plan.json's content changed (also after hand edits): storyboard.png, and
    storyboard-2.png, … for a plan longer than ``storyboard.SCENES_PER_PAGE`` scenes. Pages an earlier, longer
    plan needed (listed in the storyboard's record) are removed; no other file is touched."""
    from ..storyboard import draw_storyboard, page_paths

    plan = plan or load_plan(ws.plan)
    pages = page_paths(ws.storyboard, len(plan.scenes))
    deps = {"plan.json": ws.plan, "version": __version__}
    if skipped:
        deps["unattributed"] = skipped  # the "not planned" notes under the scenes
    d = sr.decide("storyboard", deps, pages)
    if sr.dry_run:  # status, --dry-run: the storyboard is listed only when it is stale (after a hand edit)
        if not d.run:
            sr.items.pop()
        elif d.reason.startswith("plan.json changed"):
            sr.items[-1]["reason"] = d.reason.replace("plan.json changed", "plan.json changed since it was drawn", 1)
    if d.run and not sr.dry_run:
        old = sr.records.get("plan", "storyboard") or {}
        notes: dict[str, list[str]] = {}
        for u in skipped or []:
            notes.setdefault(u["scene"], []).append(f"not planned: \"{u['sentence']}\" ({u['reason']})")
        draw_storyboard(plan, ws.storyboard, skipped=notes)
        sr.finish(d, deps, pages)
        for rel in old.get("outs", {}):
            if ws.root / rel not in pages:
                (ws.root / rel).unlink(missing_ok=True)
