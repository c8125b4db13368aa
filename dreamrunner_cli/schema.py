"""Pydantic models of plan.json (and helpers to load it with errors that name the JSON path).

The plan is hand-editable. Boxes are ``[x0, y0, x1, y1]`` normalised to [0, 1] with the origin at the top-left
(y grows downward), as in METHOD.md A.2. Regions are bound to adapters by ids (``entity`` → character LoRA,
``motion`` → motion LoRA), never by matching caption text (METHOD.md F.4).
"""

from __future__ import annotations

import difflib
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from .errors import PlanInvalid, listing

PLAN_SCHEMA_VERSION = 1
SCHEMA_ID_BASE = "urn:dreamrunner:schema"  # the published schemas' $id (there is no project web site to host them)
NO_MOTION = "none"
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

Id = Annotated[str, Field(pattern=ID_PATTERN, description="lower-case id: letters, digits, '-' and '_'")]


ABSENT = (0.0, 0.0, 0.0, 0.0)
BOX_LIMIT = 2.0  # a box may reach this far past the frame on each side (the authors' plans go to 1.3 and -0.2)


def visible_part(box: tuple[float, ...]) -> tuple[float, float, float, float] | None:
    """The box clipped to the frame [0, 1]², or None when it is empty (absent, off-screen, inverted)."""
    x0, y0, x1, y1 = (min(1.0, max(0.0, float(v))) for v in box)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def box_problem(box: tuple[float, ...]) -> str | None:
    """Why a box is nonsense, or None. Accepted: boxes past the frame, one side of the frame entirely (motion
    off-screen), and [0, 0, 0, 0] (absent). Refused: NaN or infinite values, inverted boxes (left ≥ right or top ≥
    bottom; `dreamrunner import --lenient` reads those as empty regions), boxes more than 2 frames away, and boxes
    entirely outside the frame on both axes."""
    values = [float(v) for v in box]
    if any(math.isnan(v) or math.isinf(v) for v in values):
        return f"box {values} has a value that is not a number"
    if tuple(values) == ABSENT:
        return None
    x0, y0, x1, y1 = values
    if not (x0 < x1 and y0 < y1):
        return f"box {values} needs x0 < x1 and y0 < y1 ([left, top, right, bottom]); [0, 0, 0, 0] marks an absent entity"
    if not all(-BOX_LIMIT <= v <= 1.0 + BOX_LIMIT for v in values):
        return f"box {values} lies too far outside the frame (each value must be within [-2, 3])"
    outside_x = x1 <= 0.0 or x0 >= 1.0
    outside_y = y1 <= 0.0 or y0 >= 1.0
    if outside_x and outside_y:
        return (f"box {values} is entirely outside the frame on both axes; write [0, 0, 0, 0] for an entity that is "
                "absent from this key frame")
    return None


def check_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    problem = box_problem(box)
    if problem:
        raise ValueError(problem)
    return box


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Character(_Strict):
    id: Id
    name: str = Field("", description="Display name, e.g. 'Teddy'.")
    description: str = Field(..., description="Appearance in words, e.g. 'a brown teddy bear'.")
    token: str = Field("[v1]", description="Identifier token carried by captions and by the character LoRA prompt.")
    reference_images: list[str] = Field(
        default_factory=list, description="Images of the character, relative to the workspace (copied there)."
    )


class ObjectEntity(_Strict):
    """A non-character entity that gets its own region (a rock, flowers); it has no LoRA."""

    id: Id
    description: str = ""


class Motion(_Strict):
    id: Id
    description: str = Field(..., description="The motion in present progressive, e.g. 'walking'.")
    query: str | None = Field(None, description="Retrieval query; default 'person is <description>'.")

    def retrieval_query(self, template: str = "person is {motion}") -> str:
        return self.query or template.format(motion=self.description)


class Region(_Strict):
    entity: str = Field(..., description="Id of a character or object.")
    motion: str = Field(NO_MOTION, description="Id of a motion, or 'none' for a static entity.")
    caption: str = Field(..., min_length=1, description="Present-progressive caption with the character's token.")

    box: tuple[float, float, float, float] = Field(
        ..., description="[x0, y0, x1, y1], normalised, origin top-left. May extend past the frame (motion entering "
        "or leaving it: the region is the box clipped to [0, 1]); [0, 0, 0, 0] means the entity is absent from this "
        "key frame.")

    @field_validator("box")
    @classmethod
    def _box_valid(cls, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        return check_box(box)

    @property
    def absent(self) -> bool:
        """[0, 0, 0, 0]: the entity is not in this key frame (the authors' plans write it so)."""
        return tuple(self.box) == ABSENT

    @property
    def region(self) -> tuple[float, float, float, float] | None:
        """The part of the box inside the frame (METHOD.md C.2: clipped), or None when nothing of it is visible."""
        return visible_part(self.box)


class Keyframe(_Strict):
    regions: list[Region] = Field(default_factory=list)
    merged: list[Region] = Field(
        default_factory=list,
        description="Optional unified captions for overlapping boxes (the paper's merge step). Used when "
        "render.overlap = 'merged': tokens inside a merged box see only its caption.",
    )


class Scene(_Strict):
    id: Id
    location: str = ""
    narration: str = Field(..., min_length=1)
    background: str = Field(..., description="Global background description; does not mention the characters.")
    characters: list[str] = Field(default_factory=list, description="Ids of the characters present.")
    motions: list[str] = Field(default_factory=list, description="Ids of the motions, in order of the events.")
    keyframes: list[Keyframe] = Field(..., min_length=1, description="Key frames at 1 fps (6 in the paper).")


class Plan(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    schema_uri: str | None = Field(
        None, alias="$schema", description="Optional: the JSON Schema editors check this file against (e.g. "
        "\"plan.schema.json\", from `dreamrunner schema plan`). Ignored by dreamrunner, and kept when it rewrites "
        "plan.json.")
    schema_version: Literal[1] = PLAN_SCHEMA_VERSION
    title: str = ""
    story: str = ""
    characters: list[Character] = Field(default_factory=list)
    objects: list[ObjectEntity] = Field(default_factory=list)
    motions: list[Motion] = Field(default_factory=list)
    scenes: list[Scene] = Field(..., min_length=1)

    @model_serializer(mode="wrap")
    def _without_empty_schema(self, handler: Any) -> dict[str, Any]:
        """``$schema`` is written back only when the file had one (plans the planner writes have none)."""
        data = handler(self)
        if data.get("$schema") is None:
            data.pop("$schema", None)
        return data

    # Lookups -------------------------------------------------------------------------------------------------
    def character(self, cid: str) -> Character | None:
        return next((c for c in self.characters if c.id == cid), None)

    def motion(self, mid: str) -> Motion | None:
        return next((m for m in self.motions if m.id == mid), None)

    def scene(self, sid: str) -> Scene:
        for s in self.scenes:
            if s.id == sid:
                return s
        raise PlanInvalid(f"no scene with id {sid!r} in the plan", hint=f"scene ids: {listing(s.id for s in self.scenes)}")

    def scene_index(self, sid: str) -> int:
        return [s.id for s in self.scenes].index(sid)


# The planner's first level (story → scenes), before key-frame layouts ---------------------------------------------


class SceneOutline(_Strict):
    """One scene of the high-level plan (METHOD.md A.1): no key frames yet."""

    id: Id
    location: str = ""
    narration: str = Field(..., min_length=1)
    background: str = Field(..., description="Global background; does not mention the characters.")
    characters: list[str] = Field(default_factory=list)
    motions: list[str] = Field(default_factory=list, description="Motion ids in the order of the events.")


class Outline(_Strict):
    """The high-level plan: entities, motions and scenes (METHOD.md A.1)."""

    title: str = ""
    story: str = ""
    characters: list[Character] = Field(default_factory=list)
    objects: list[ObjectEntity] = Field(default_factory=list)
    motions: list[Motion] = Field(default_factory=list)
    scenes: list[SceneOutline] = Field(..., min_length=1)


def assemble_plan(outline: Outline, layouts: dict[str, list[Keyframe]]) -> Plan:
    """Outline + one key-frame layout per scene → a validated Plan."""
    scenes = [Scene(**s.model_dump(), keyframes=layouts[s.id]) for s in outline.scenes]
    data = Plan(title=outline.title, story=outline.story, characters=outline.characters, objects=outline.objects,
                motions=outline.motions, scenes=scenes).model_dump(mode="json")
    return validate_plan(data, source="the planner's output")


# Loading with readable errors ---------------------------------------------------------------------------------


def json_path(loc: tuple[Any, ...]) -> str:
    """('scenes', 1, 'keyframes', 0, 'box') → 'scenes[1].keyframes[0].box'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def reference_errors(plan: Plan) -> list[str]:
    """Cross-reference checks pydantic cannot express: unique ids, regions naming existing entities and motions."""
    errors: list[str] = []

    def unique(items: list[Any], what: str, key: str = "id") -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            value = getattr(item, key)
            if value in seen:
                errors.append(f"{what}[{i}].{key}: duplicate {key} {value!r} (also {what}[{seen[value]}])")
            seen[value] = i

    unique(plan.characters, "characters")
    unique(plan.characters, "characters", "token")
    unique(plan.objects, "objects")
    unique(plan.motions, "motions")
    unique(plan.scenes, "scenes")
    char_ids = {c.id for c in plan.characters}
    entity_ids = char_ids | {o.id for o in plan.objects}
    for i, obj in enumerate(plan.objects):
        if obj.id in char_ids:
            errors.append(f"objects[{i}].id: {obj.id!r} is also a character id")
    motion_ids = {m.id for m in plan.motions}
    if NO_MOTION in motion_ids:
        errors.append(f"motions: the id {NO_MOTION!r} is reserved for static entities")
    for si, scene in enumerate(plan.scenes):
        for ci, cid in enumerate(scene.characters):
            if cid not in char_ids:
                errors.append(f"scenes[{si}].characters[{ci}]: unknown character {cid!r} (known: {listing(sorted(char_ids))})")
        for mi, mid in enumerate(scene.motions):
            if mid not in motion_ids:
                errors.append(f"scenes[{si}].motions[{mi}]: unknown motion {mid!r} (known: {listing(sorted(motion_ids))})")
        for ki, kf in enumerate(scene.keyframes):
            for field in ("regions", "merged"):
                for ri, region in enumerate(getattr(kf, field)):
                    where = f"scenes[{si}].keyframes[{ki}].{field}[{ri}]"
                    if region.entity not in entity_ids:
                        errors.append(
                            f"{where}.entity: unknown entity {region.entity!r}; declare it under 'characters' or "
                            f"'objects' (known: {listing(sorted(entity_ids))})"
                        )
                    if region.motion != NO_MOTION and region.motion not in motion_ids:
                        errors.append(
                            f"{where}.motion: unknown motion {region.motion!r}; declare it under 'motions' or use "
                            f"'none' (known: {listing(sorted(motion_ids))})"
                        )
    return errors


BOX_FORMAT = "expected [left, top, right, bottom], 4 numbers in 0..1"


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model of the object at ``loc`` inside ``model`` (list indices skipped), or None."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field is None:
            return None
        inner = _inner_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """``list[Region]``, ``Region | None`` → Region; anything else → None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def readable_errors(exc: ValidationError, model: type[BaseModel], data: Any) -> list[str]:
    """pydantic's errors as one line each, by JSON path, in words a person editing the file can act on:

    - a misspelt field gets "unknown field 'captoin'; did you mean 'caption'?" (difflib over the fields known at
      that place), and the "Field required" of the field it stands for is dropped;
    - a malformed box gets one line, "expected [left, top, right, bottom], 4 numbers in 0..1", with what was there.
    """
    errs = exc.errors()
    missing = [tuple(e["loc"]) for e in errs if e["type"] == "missing" and e["loc"]]
    typos: dict[tuple[Any, ...], str] = {}  # loc of a misspelt field → the missing field it stands for (or known)
    for e in errs:
        loc = tuple(e["loc"])
        if e["type"] == "extra_forbidden" and loc:
            here = _model_at(model, loc[:-1])
            known = [f.alias or n for n, f in here.model_fields.items()] if here is not None else []
            absent = [str(m[-1]) for m in missing if m[:-1] == loc[:-1]]
            near = difflib.get_close_matches(str(loc[-1]), absent, n=1) or difflib.get_close_matches(
                str(loc[-1]), known, n=1)
            typos[loc] = near[0] if near else ""
    out: list[str] = []
    boxes: set[tuple[Any, ...]] = set()
    for e in errs:
        loc = tuple(e["loc"])
        if "box" in loc and e["type"] != "value_error":  # our own box checks (value_error) already say what to do
            at = loc[:loc.index("box") + 1]
            if at not in boxes:
                boxes.add(at)
                out.append(f"{json_path(at)}: {BOX_FORMAT} (got {json.dumps(_value_at(data, at), default=str)})")
        elif loc in typos:
            near = typos[loc]
            out.append(f"{json_path(loc)}: unknown field {loc[-1]!r}; " + (
                f"did you mean {near!r}?" if near else "remove it (`dreamrunner schema plan` lists the fields)"))
        elif e["type"] == "missing" and any(t[:-1] == loc[:-1] and n == loc[-1] for t, n in typos.items()):
            continue  # the misspelt field's line says it
        else:
            out.append(f"{json_path(loc)}: {e['msg']}")
    return out


def validate_plan(data: Any, source: str = "plan.json") -> Plan:
    """Validate a parsed JSON object; raise PlanInvalid listing every error with its JSON path."""
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        details = readable_errors(exc, Plan, data)
        raise PlanInvalid(
            f"{source} is not a valid plan ({len(details)} error{'s' if len(details) != 1 else ''})",
            hint="fix the fields listed (the schema: `dreamrunner schema plan`), then run the command again",
            details=details,
        ) from None
    details = reference_errors(plan)
    if details:
        raise PlanInvalid(
            f"{source} is not a valid plan ({len(details)} error{'s' if len(details) != 1 else ''})",
            hint="every region's entity and motion must be declared; ids must be unique",
            details=details,
        )
    return plan


def load_plan(path: Path) -> Plan:
    from .bounds import read_json

    try:
        data = read_json(path, what="plan file")  # bounded: regular file, size, depth, number length (bounds.py)
    except FileNotFoundError:
        raise PlanInvalid(f"{path} not found") from None
    except json.JSONDecodeError as exc:
        raise PlanInvalid(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the JSON syntax (a trailing comma or a missing quote is the usual cause)",
        ) from None
    plan = validate_plan(data, source=str(path))
    details = outside_references(plan, Path(path).parent)
    if details:
        raise PlanInvalid(
            f"{path}: reference images outside the workspace ({len(details)})", details=details,
            hint="copy each image into the workspace (e.g. refs/<character>/1.png) and write that path in plan.json; "
                 "`dreamrunner plan` copies a story's images there itself (with --allow-outside-refs for images "
                 "outside the story's folder)")
    return plan


def outside_references(plan: Plan, root: Path) -> list[str]:
    """plan.json's reference images that lie outside the workspace ``root`` (after resolving ``..`` and symlinks),
    one line each, by JSON path. A story's front matter gets the same rule for the story's folder (story.py), so a
    hand-edited plan.json cannot make adapt train on, or evaluate and the storyboard read, a file elsewhere."""
    root = Path(root).resolve()
    out = []
    for i, c in enumerate(plan.characters):
        for j, rel in enumerate(c.reference_images):
            p = (root / rel).resolve()
            if not p.is_relative_to(root):
                out.append(f"characters[{i}].reference_images[{j}]: image {rel!r} is outside the workspace {root} "
                           f"(resolves to {p})")
    return out


def schema_id(kind: str, *more: str) -> str:
    """The ``$id`` of a published schema, e.g. ``urn:dreamrunner:schema:plan:1``."""
    return ":".join([SCHEMA_ID_BASE, kind, str(PLAN_SCHEMA_VERSION), *more])


def plan_json_schema() -> dict:
    """plan.json's JSON Schema, with ``$schema`` and ``$id`` (editors: README, "Editing plan.json")."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id("plan"),
            **Plan.model_json_schema()}


def caption_token_warnings(plan: Plan) -> list[str]:
    """Captions of a character's region that lack its token (``[v1]``): the character LoRA was trained with the
    token, so a caption without it asks for a generic look. One line each, by JSON path (scene ids, not indices);
    absent regions ([0, 0, 0, 0]) are not checked."""
    tokens = {c.id: c.token for c in plan.characters}
    out = []
    for scene in plan.scenes:
        for ki, kf in enumerate(scene.keyframes):
            for r in kf.regions:
                token = tokens.get(r.entity)
                if token and not r.absent and token not in r.caption:
                    out.append(f"plan.scenes[{scene.id}].keyframes[{ki}].regions[{r.entity}].caption has no "
                               f"{token} ({r.entity}'s token): {r.caption!r}; write it before the character's "
                               f"description, e.g. 'A {token} ...'")
    return out


def slug(text: str, fallback: str = "item") -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s[:48].strip("-") or fallback
