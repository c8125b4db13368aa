"""The DreamRunner authors' text plan format (METHOD.md A.3): import into our ``Plan``, and export back.

One plan string describes one scene::

    Background: the background of the event: A cat slinking to the left side of a cozy living room
    Frame_1: [["big cat", "slinking to the left", "A big cat is slinking to the left side"], [0.6, 0.4, 1.0, 0.7]]
    Frame_2: [["big cat", "slinking to the left", "A big cat is slinking to the left side"], [0.5, 0.4, 0.9, 0.7]]
    ...
    Frame_6: [[entity, motion, caption], [l, t, r, b]], [[entity, motion, caption], [l, t, r, b]]

Boxes are ``[left, top, right, bottom]`` in [0, 1], origin top-left. Their benchmark files hold one JSON array
``[video_name, plan_string]`` per line, and the plan string begins (and ends) with a stray literal quote. Frame lines
are Python literals: they are parsed with ``ast.literal_eval`` (never ``eval``).

Mapping to our plan: every entity becomes an ``objects`` entry (the format has no notion of characters or tokens),
every motion other than ``none`` a ``motions`` entry, ids by ``schema.slug``; one scene ``s01`` per plan string, with
the background as both background and narration. Overlapping boxes and caption changes between frames are kept as
they are. Export writes a scene back in the same format (``merged`` captions have no place in it and are dropped).
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputInvalid, UnknownItem
from ..schema import (
    ABSENT,
    NO_MOTION,
    Keyframe,
    Motion,
    ObjectEntity,
    Plan,
    Region,
    Scene,
    box_problem,
    slug,
    validate_plan,
)

_FRAME = re.compile(r"^\s*Frame_(\d+)\s*:(.*)$", re.IGNORECASE)
_BACKGROUND = re.compile(r"^\s*Background\s*:(.*)$", re.IGNORECASE)


@dataclass
class AuthorsRegion:
    entity: str
    motion: str
    caption: str
    box: tuple[float, float, float, float]


@dataclass
class AuthorsPlan:
    """One parsed plan string: the background and, per frame, its regions in order."""

    name: str
    background: str
    frames: list[list[AuthorsRegion]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what --lenient changed
    line: int = 0  # line of the benchmark file (0 for a text file holding one plan)


class _Bad(Exception):
    """One problem in one plan string; collected and reported together as InputInvalid details."""


# Parsing ---------------------------------------------------------------------------------------------------------


def _strip_stray_quotes(text: str) -> str:
    """The released plan strings look like '"Background:…\\nFrame_6: [[…]]"': drop that outer pair of quotes."""
    text = text.strip()
    if text.startswith('"'):
        text = text[1:]
        if text.rstrip().endswith('"'):
            text = text.rstrip()[:-1]
    elif text.endswith(']]"'):
        text = text[:-1]
    return text


def _is_item(x: object) -> bool:
    return (isinstance(x, (list, tuple)) and len(x) == 2 and isinstance(x[0], (list, tuple))
            and isinstance(x[1], (list, tuple)))


def _has_names(x: object) -> bool:
    """An item whose first part is a list of strings: [[entity, motion, caption], box] (not a list of items)."""
    return _is_item(x) and all(isinstance(s, str) for s in x[0])  # type: ignore[index]


def _parse_frame(body: str, frame: int, lenient: bool = False, notes: list[str] | None = None) -> list[AuthorsRegion]:
    """``[[entity, motion, caption], [l, t, r, b]], …`` → regions. Raises _Bad naming the frame and item.

    Boxes may extend past the frame and [0, 0, 0, 0] marks an absent entity (schema.box_problem); an inverted box is
    refused, or with ``lenient`` read as an empty region (a note is added to ``notes``)."""
    notes = notes if notes is not None else []
    body = body.strip().rstrip(",")
    if not body:
        return []
    try:
        value = ast.literal_eval(f"[{body}]")
    except (SyntaxError, ValueError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise _Bad(f"Frame_{frame}: not a list literal of [[entity, motion, caption], [l, t, r, b]] items "
                   f"({reason}): {body[:80]!r}") from None
    if len(value) == 1 and not _has_names(value[0]) and isinstance(value[0], (list, tuple)) \
            and value[0] and all(_has_names(x) for x in value[0]):
        value = list(value[0])  # the frame was written as one list of items
    regions = []
    for n, item in enumerate(value, start=1):
        where = f"Frame_{frame}, item {n}"
        if not _is_item(item):
            raise _Bad(f"{where}: expected [[entity, motion, caption], [l, t, r, b]], got {item!r}"[:200])
        names, box = item
        if len(names) != 3 or not all(isinstance(s, str) for s in names):
            raise _Bad(f"{where}: the first part must be three strings [entity, motion, caption], got {names!r}")
        entity, motion, caption = (s.strip() for s in names)
        if not entity:
            raise _Bad(f"{where}: the entity is empty")
        if not caption:
            raise _Bad(f"{where}: the caption is empty")
        if len(box) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
            raise _Bad(f"{where}: the box must be four numbers [left, top, right, bottom], got {list(box)!r}")
        l, t, r, b = (float(v) for v in box)
        inverted = (l, t, r, b) != ABSENT and not (l < r and t < b) and not any(math.isnan(v) for v in (l, t, r, b))
        if inverted and lenient:
            # The authors' slicing makes such a region empty; an empty region is what [0, 0, 0, 0] means here.
            notes.append(f"{where}: inverted box {list(box)} read as an empty region [0, 0, 0, 0] (--lenient)")
            l, t, r, b = ABSENT
        elif inverted:
            raise _Bad(f"{where}: box {list(box)} needs left < right and top < bottom (pass --lenient to read an "
                       "inverted box as an empty region, as the authors' code does)")
        problem = box_problem((l, t, r, b))
        if problem:
            raise _Bad(f"{where}: {problem}")
        regions.append(AuthorsRegion(entity, motion or NO_MOTION, caption, (l, t, r, b)))
    return regions


def parse_plan_text(text: str, name: str = "", lenient: bool = False) -> AuthorsPlan:
    """Parse one plan string. Raises InputInvalid listing every problem (with the line inside the string)."""
    plan, problems = _parse(text, name, lenient=lenient)
    if problems:
        raise InputInvalid(f"plan {name or '(string)'} is not in the authors' format", details=problems,
                           hint="each plan needs 'Background: …' then Frame_1 … Frame_N lines of "
                                "[[entity, motion, caption], [l, t, r, b]] items")
    return plan


def _parse(text: str, name: str, line_prefix: str = "line ", first_line: int = 1,
           lenient: bool = False) -> tuple[AuthorsPlan, list[str]]:
    """Parse, collecting problems as '<line prefix><n>: <what>' strings instead of raising."""
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\n", "\n")  # a plan string whose newlines were escaped twice
    text = _strip_stray_quotes(text)
    plan = AuthorsPlan(name=name, background="")
    problems: list[str] = []
    seen_background = False
    expected = 1
    for offset, line in enumerate(text.splitlines()):
        where = f"{line_prefix}{first_line + offset}"
        if not line.strip():
            continue
        if m := _BACKGROUND.match(line):
            if seen_background:
                problems.append(f"{where}: a second 'Background:' line")
                continue
            seen_background = True
            bg = m.group(1).strip()
            if len(bg) >= 2 and bg[0] == bg[-1] and bg[0] in "\"'":
                bg = bg[1:-1].strip()
            if not bg:
                problems.append(f"{where}: the background is empty")
            plan.background = bg
            continue
        if m := _FRAME.match(line):
            number = int(m.group(1))
            if not seen_background:
                problems.append(f"{where}: Frame_{number} comes before the 'Background:' line")
            if number != expected:
                problems.append(f"{where}: expected Frame_{expected}, found Frame_{number} (frames are numbered "
                                f"1, 2, … in order)")
            expected = number + 1
            try:
                plan.frames.append(_parse_frame(m.group(2), number, lenient, plan.notes))
            except _Bad as exc:
                problems.append(f"{where}: {exc}")
            continue
        if seen_background:  # text before the Background line (an LLM's reasoning) is ignored; after it, not
            problems.append(f"{where}: not a 'Frame_k:' line: {line.strip()[:80]!r}")
    if not seen_background:
        problems.append(f"{line_prefix}{first_line}: no 'Background:' line")
    elif not plan.frames and not problems:
        problems.append(f"{line_prefix}{first_line}: no 'Frame_1:' … lines")
    return plan, problems


def read_plan_file(path: Path, lenient: bool = False) -> tuple[list[AuthorsPlan], list[tuple[int, str, list[str]]]]:
    """Read a benchmark file (JSON lines ``[video_name, plan_string]``) or a text file holding one plan string.

    Returns (the plans that parse, the bad ones as (line, name, problems)): one bad plan never hides the others.
    Raises InputInvalid only when the file itself cannot be read or holds nothing.
    """
    from ..bounds import MAX_JSON_FILE_BYTES, BoundExceeded, loads_json, read_text

    path = Path(path)
    try:
        raw = read_text(path, MAX_JSON_FILE_BYTES, what="plan file")  # bounded: a regular file, size, UTF-8
    except FileNotFoundError:
        raise InputInvalid(f"plan file {path} not found") from None
    first = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
    plans: list[AuthorsPlan] = []
    bad: list[tuple[int, str, list[str]]] = []
    if first.startswith("["):  # the benchmark form: one JSON array per line
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = loads_json(line, f"line {lineno}")  # bounded: depth, number length
            except json.JSONDecodeError as exc:
                bad.append((lineno, "", [f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})"]))
                continue
            except BoundExceeded as exc:
                bad.append((lineno, "", [exc.message]))
                continue
            if not (isinstance(row, list) and len(row) == 2 and all(isinstance(x, str) for x in row)):
                bad.append((lineno, "", [f"line {lineno}: expected a JSON array [video_name, plan_string], got "
                                         f"{json.dumps(row)[:80]}"]))
                continue
            plan, problems = _parse(row[1], row[0], line_prefix=f"line {lineno} ({row[0]}), plan line ",
                                    lenient=lenient)
            plan.line = lineno
            if problems:
                bad.append((lineno, row[0], problems))
            else:
                plans.append(plan)
    else:
        plan, problems = _parse(raw, path.stem, lenient=lenient)
        if problems:
            bad.append((0, path.stem, problems))
        else:
            plans.append(plan)
    if not plans and not bad:
        raise InputInvalid(f"{path} holds no plans", hint="the file is empty")
    return plans, bad


FORMAT_HINT = ("each line of a benchmark file is [video_name, plan_string]; a plan string is 'Background: …' then "
               "Frame_1 … Frame_N lines of [[entity, motion, caption], [l, t, r, b]] items")


def read_plans(path: Path, lenient: bool = False) -> list[AuthorsPlan]:
    """Every plan of a file, or InputInvalid naming the file and, for each bad plan, its line and what is wrong."""
    plans, bad = read_plan_file(path, lenient)
    problems = [p for _, _, ps in bad for p in ps]
    if problems:
        raise InputInvalid(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''} in the authors' "
                           f"plan format", details=problems, hint=FORMAT_HINT)
    return plans


# Conversion ------------------------------------------------------------------------------------------------------


def to_plan(parsed: AuthorsPlan, title: str | None = None) -> Plan:
    """An authors' plan → our Plan: entities → objects, motions → motions (ids by slug), one scene ``s01``."""
    objects: dict[str, ObjectEntity] = {}
    motions: dict[str, Motion] = {}
    keyframes: list[Keyframe] = []
    for frame in parsed.frames:
        regions = []
        for r in frame:
            eid = slug(r.entity, "entity")
            objects.setdefault(eid, ObjectEntity(id=eid, description=r.entity))
            mid = slug(r.motion, NO_MOTION)
            if mid != NO_MOTION:
                motions.setdefault(mid, Motion(id=mid, description=r.motion))
            regions.append(Region(entity=eid, motion=mid, caption=r.caption, box=r.box))
        keyframes.append(Keyframe(regions=regions))
    scene = Scene(id="s01", narration=parsed.background, background=parsed.background,
                  motions=list(motions), keyframes=keyframes)
    data = Plan(title=title if title is not None else parsed.name, story=parsed.background,
                objects=list(objects.values()), motions=list(motions.values()), scenes=[scene])
    return validate_plan(data.model_dump(mode="json"), source=f"imported plan {parsed.name or '(string)'}")


def import_text(text: str, name: str = "") -> Plan:
    """Parse one plan string and convert it."""
    return to_plan(parse_plan_text(text, name))


# Export ----------------------------------------------------------------------------------------------------------


def select_scenes(plan: Plan, scene_ids: list[str] | None) -> list[str]:
    """The scenes to export (all when none are named). A ``--scene`` the plan does not have is a usage error (exit 2,
    like every other command's ``--scene``), listing the plan's scene ids."""
    known = [s.id for s in plan.scenes]
    unknown = [sid for sid in scene_ids or [] if sid not in known]
    if unknown:
        raise UnknownItem(f"--scene {', '.join(map(repr, unknown))}: no such id in the plan",
                          hint=f"ids: {', '.join(known) or '(none)'}")
    return list(scene_ids or known)


def export_scene(plan: Plan, scene_id: str) -> tuple[str, list[str]]:
    """A scene of our plan → (plan string in the authors' format, notes on what could not be expressed)."""
    scene = plan.scene(select_scenes(plan, [scene_id])[0])
    notes: list[str] = []
    # An object is written by its description when that imports back to the same id ("big cat"), else by its id.
    names = {c.id: c.id for c in plan.characters} | {
        o.id: o.description if o.description and slug(o.description, "entity") == o.id else o.id for o in plan.objects}
    motions = {m.id: m.description for m in plan.motions}
    lines = [f"Background: {' '.join(scene.background.split())}"]
    for n, kf in enumerate(scene.keyframes, start=1):
        items = [json.dumps([[names.get(r.entity, r.entity), motions.get(r.motion, r.motion) if r.motion != NO_MOTION
                              else NO_MOTION, r.caption], list(r.box)], ensure_ascii=False) for r in kf.regions]
        lines.append(f"Frame_{n}: " + ", ".join(items))
        if kf.merged:
            notes.append(f"{scene.id} key frame {n}: {len(kf.merged)} merged caption(s) dropped (the authors' "
                         f"format has no merged captions)")
    if plan.characters:
        notes.append(f"{scene.id}: characters are written as plain entities (the format has no tokens or "
                     f"reference images)")
    return "\n".join(lines), notes


def export_jsonl(plan: Plan, scene_ids: list[str] | None = None) -> tuple[str, list[str]]:
    """Scenes → the benchmark form: one JSON array ``["<scene id>.mp4", plan_string]`` per line."""
    out, notes = [], []
    for sid in select_scenes(plan, scene_ids):
        text, n = export_scene(plan, sid)
        out.append(json.dumps([f"{sid}.mp4", text], ensure_ascii=False))
        notes += n
    return "\n".join(out) + "\n", list(dict.fromkeys(notes))


# Import into workspaces ------------------------------------------------------------------------------------------


def workspace_names(plans: list[AuthorsPlan]) -> list[str]:
    """Folder names: the video name's stem ("0001.mp4" → "0001"), else the 1-based index; duplicates get "-2"…"""
    names: list[str] = []
    for n, p in enumerate(plans, start=1):
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(p.name).stem if p.name else "").strip("._-")
        base = stem or f"{n:04d}"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def import_to_workspaces(path: Path, out_dir: Path, *, preset: str | None = None,
                         overrides: list[str] | None = None, force: bool = False, wait: bool = False,
                         storyboard: bool = True, lenient: bool = False) -> dict:
    """Import every plan of ``path`` into ``out_dir/<name>/`` (plan.json, config.json, storyboard.png).

    No story.txt is written: the plan *is* the input (its ``story`` field holds the background), and a story file
    would invite `dreamrunner plan` to re-plan over the imported layout.

    A workspace whose plan.json already holds the same plan is skipped; one holding a different plan is only
    replaced with ``force`` (checked for every plan before anything is written). Each import is recorded in the
    workspace's records under stage ``import`` (item ``plan``) and logged to runs.jsonl.

    Returns:
        A result dict in the shape the CLI prints: ``{"stage": "import", "items": [...], ...}``.
    """
    from ..config import resolve_config
    from ..errors import UsageError
    from ..workspace import Records, Workspace, write_json_atomic

    # 1. Parse and convert everything first. A bad plan is set aside (and reported at the end): the others import.
    read, bad = read_plan_file(path, lenient)
    parsed, plans = [], []
    for p in read:
        try:
            plans.append(to_plan(p))
            parsed.append(p)
        except InputInvalid as exc:
            bad.append((p.line, p.name, [f"line {p.line} ({p.name}): {d}" for d in exc.details] or [exc.message]))
    names = workspace_names(parsed)
    out_dir = Path(out_dir)
    # 2. Refuse to replace a different plan unless forced.
    items, conflicts = [], []
    for name, plan in zip(names, plans):
        ws = Workspace(out_dir / name)
        data = plan.model_dump(mode="json")
        same = False
        if ws.plan.exists():
            try:
                same = json.loads(ws.plan.read_text(encoding="utf-8")) == data
            except json.JSONDecodeError:
                same = False
            if not same and not force:
                conflicts.append(str(ws.plan))
        items.append((name, ws, plan, data, same))
    if conflicts:
        raise UsageError(f"{len(conflicts)} workspace(s) already hold a different plan.json", details=conflicts,
                         hint="pass --force to replace them, or import into another folder with --out")
    # 3. Write each workspace under its lock.
    result_items = []
    for name, ws, plan, data, same in items:
        if same and not force:
            result_items.append({"stage": "import", "item": name, "run": False, "action": "skipped",
                                 "reason": "plan.json already holds this plan", "workspace": str(ws.root)})
            continue
        existed = ws.plan.exists()
        ws.root.mkdir(parents=True, exist_ok=True)
        with ws.locked(wait=wait):
            cfg = resolve_config(preset=preset, overrides=overrides or [], saved=ws.config)
            write_json_atomic(ws.config, cfg.model_dump(mode="json"))
            write_json_atomic(ws.plan, data)
            if storyboard:
                from ..storyboard import draw_storyboard

                draw_storyboard(plan, ws.storyboard)
            deps = {"source": {"file": str(Path(path).resolve()), "name": plan.title}, "plan": data}
            Records.load(ws).record("import", "plan", deps, [ws.plan])
            ws.log_run({"stage": "import", "outcome": "ok", "source": str(path), "name": plan.title})
        result_items.append({"stage": "import", "item": name, "run": True, "action": "ran",
                             "reason": "replaced plan.json (--force)" if existed else "imported",
                             "workspace": str(ws.root)})
    notes = [n for p in parsed for n in p.notes]
    result = {"stage": "import", "source": str(path), "out": str(out_dir), "items": result_items,
              "notes": [f"{len(plans)} plan(s) in {path}; workspaces under {out_dir}"] + notes}
    if bad:
        raise InputInvalid(
            f"{path}: imported {len(plans)} plan(s); {len(bad)} bad plan(s) were not imported: "
            + ", ".join(f"line {ln} ({name})" if name else f"line {ln}" for ln, name, _ in sorted(bad)),
            details=[d for _, _, ds in sorted(bad) for d in ds], hint=FORMAT_HINT)
    return result
