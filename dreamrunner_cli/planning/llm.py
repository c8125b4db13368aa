"""The LLM planner: two-level planning (METHOD.md A) over a chat backend, with validation, repair and a reply cache.

Level 1 (``outline``, A.1): story → characters, objects, motions and 5–8 scenes (location, characters, motions
listed before the narration, background). Level 2 (``layout``, A.2): one call per scene → key frames of regions
(entity, motion, caption with the character's token, box), the model writing its reasoning first. Optionally
(``plan.merge_overlaps``) one more call per scene writes a unified caption for each group of overlapping boxes
(the paper's merge step) into ``Keyframe.merged``.

Every reply must be one JSON object matching a schema derived from the reply models below (which mirror
``schema.py``). A reply is parsed, validated against the schema and against the A.1/A.2 rules a program can check,
and on failure sent back with the list of problems, at most ``plan.repair_attempts`` times; then ``PlanInvalid``
names the scene and the problems. Replies are cached (diskcache, key = backend, model, messages and parameters;
value = the reply text) only when their exchange ended in a valid result, so a re-run costs nothing, a recorded
session replays offline, and a failed exchange is asked afresh next time.

The planner is usable one call at a time (the plan stage calls ``layout`` for a single scene on ``--scene``).
Each LLM call appends a provenance dict to ``planner.calls`` (backend, model, prompt file and version, cache
hit/miss, attempts, seconds, ...); the plan stage writes them into runs.jsonl. No secret is ever recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import DreamrunnerError, PlanInvalid, listing
from ..schema import (
    ID_PATTERN,
    NO_MOTION,
    Character,
    Keyframe,
    Motion,
    ObjectEntity,
    Outline,
    Region,
    SceneOutline,
    json_path,
)
from .backends import ChatBackend, Context, ContextOverflow, GenerationTimeout, OpenAIBackend, TransformersBackend

if TYPE_CHECKING:
    from ..config import PlanConfig
    from ..story import StoryInput

log = logging.getLogger("dreamrunner.planning")

CACHE_FORMAT = 1  # bump to invalidate every cached reply
MAX_DETAILS = 25  # problems listed in an error (the model gets all of them)

Id = Field(pattern=ID_PATTERN, description="lower-case id: letters, digits, '-' and '_'")


# 1. Reply models: the JSON the LLM must write (its schema is derived from these; reasoning comes first) --------


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CharacterReply(_Reply):
    id: str = Id
    name: str
    description: str = Field(description="What the character looks like, in a few words.")


class ObjectReply(_Reply):
    id: str = Id
    description: str


class MotionReply(_Reply):
    id: str = Id
    description: str = Field(description="Present progressive verb phrase, e.g. 'waving hands'.")


class SceneReply(_Reply):
    id: str = Id
    location: str
    characters: list[str] = Field(description="Ids of the characters on screen.")
    motions: list[str] = Field(description="Motion ids in the order they happen (written before the narration).")
    narration: str = Field(min_length=1)
    background: str = Field(min_length=1, description="The place only; never mentions a character.")


class OutlineReply(_Reply):
    reasoning: str
    characters: list[CharacterReply]
    objects: list[ObjectReply]
    motions: list[MotionReply]
    scenes: list[SceneReply]


class RegionReply(_Reply):
    entity: str = Field(description="A character id or object id.")
    motion: str = Field(description="A motion id of this scene, or 'none'.")
    caption: str = Field(min_length=1)
    box: list[float] = Field(min_length=4, max_length=4, description="[left, top, right, bottom] in [0, 1].")


class KeyframeReply(_Reply):
    regions: list[RegionReply]


class LayoutReply(_Reply):
    reasoning: str
    keyframes: list[KeyframeReply]


class MergedCaptionReply(_Reply):
    group: str
    caption: str = Field(min_length=1)


class MergeReply(_Reply):
    reasoning: str
    merged: list[MergedCaptionReply]


def reply_schema(model: type[BaseModel], **array_bounds: tuple[int, int]) -> dict[str, Any]:
    """The reply model's JSON schema, with item counts pinned (e.g. keyframes=(6, 6)) for constrained decoders."""
    schema = _drop_titles(model.model_json_schema())  # titles only cost prompt tokens
    for field, (lo, hi) in array_bounds.items():
        schema["properties"][field].update(minItems=lo, maxItems=hi)
    return schema


def _drop_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_titles(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_drop_titles(v) for v in node]
    return node


# 2. Prompt files ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """One prompt file of planning/prompts/: a system part and a user part with {{name}} placeholders."""

    name: str
    file: str  # relative to the package, for provenance
    version: str  # sha256 of the file, first 12 hex digits
    system: str | None
    user: str

    def fill(self, part: str, values: dict[str, Any]) -> str:
        def sub(m: re.Match) -> str:
            value = values[m.group(1)]  # a missing value is a bug in this module: fail loudly
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

        return re.sub(r"\{\{(\w+)\}\}", sub, part)

    def messages(self, **values: Any) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.fill(self.system, values)}] if self.system else []
        return out + [{"role": "user", "content": self.fill(self.user, values)}]


def load_prompt(name: str) -> Prompt:
    raw = (resources.files("dreamrunner_cli.planning") / "prompts" / f"{name}.md").read_text(encoding="utf-8")
    parts = dict(re.findall(r"^@@ (system|user)\n(.*?)(?=^@@ |\Z)", raw, flags=re.M | re.S))
    return Prompt(name=name, file=f"planning/prompts/{name}.md",
                  version=hashlib.sha256(raw.encode()).hexdigest()[:12],
                  system=parts["system"].strip() if "system" in parts else None, user=parts["user"].strip())


def prompt_versions() -> dict[str, str]:
    """Version (content hash) of every prompt file, e.g. for a stage fingerprint that should follow prompt edits."""
    return {n: load_prompt(n).version for n in ("outline", "layout", "merge", "repair")}


# 3. Parsing and the checks a program can make (METHOD.md A.1, A.2) --------------------------------------------


def parse_json_reply(text: str) -> tuple[Any, list[str]]:
    """Reply text → (JSON object, problems). Tolerates a code fence, a <think> block, or prose around the object.
    JSON past bounds.loads_json's limits (depth, number length) is a problem sent back for repair."""
    from ..bounds import BoundExceeded

    try:
        return _parse_json_reply(text)
    except BoundExceeded as exc:
        return None, [exc.message.removeprefix("the reply: ") + "; reply with one plain JSON object"]


def _parse_json_reply(text: str) -> tuple[Any, list[str]]:
    from ..bounds import loads_json

    def loads(s: str) -> Any:
        return loads_json(s, "the reply")

    s = re.sub(r"<think>.*?</think>", "", text, flags=re.S).strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", s, flags=re.S)
    if fence:
        s = fence.group(1).strip()
    elif re.search(r"```(?:json)?\s*\{", s):
        opened = s[s.index("```"):]
        try:
            loads(re.sub(r"^```(?:json)?", "", opened).strip())
        except json.JSONDecodeError:
            return None, ["the reply was cut off inside its ```json block (no closing fence, the JSON is "
                          "incomplete); write less reasoning and close the JSON object"]
    if not s:
        return None, ["the reply is empty; reply with one JSON object"]
    try:
        data = loads(s)
    except json.JSONDecodeError as exc:
        first, last = s.find("{"), s.rfind("}")
        try:
            data = loads(s[first:last + 1]) if 0 <= first < last else None
        except json.JSONDecodeError:
            data = None
        if data is None:
            return None, [f"the reply is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
                          "reply with one JSON object and nothing else"]
    if not isinstance(data, dict):
        return None, [f"the reply must be one JSON object, not a {type(data).__name__}"]
    return data, []


def _pydantic_problems(exc: ValidationError) -> list[str]:
    return [f"{json_path(e['loc'])}: {e['msg']}" for e in exc.errors()]


def _duplicates(ids: list[str], where: str) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, v in enumerate(ids):
        if v in seen:
            out.append(f"{where}[{i}].id: duplicate id {v!r} (also {where}[{seen[v]}]); ids must be unique")
        seen.setdefault(v, i)
    return out


def _mentions(text: str, word: str) -> bool:
    word = word.strip().lower()
    if not word:
        return False
    if not word[0].isalnum():  # a token such as "[v1]"
        return word in text.lower()
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text.lower()) is not None


def _verb(description: str) -> str:
    """The motion's verb: its first word ('waving hands' → 'waving')."""
    return (description.split() or [""])[0].lower().strip(".,;:!")


def _next_tokens(used: set[str]):
    n = 1
    while True:
        if f"[v{n}]" not in used:
            yield f"[v{n}]"
        n += 1


def story_characters(story: StoryInput) -> list[Character]:
    """The characters declared in the story's front matter; images are copied to refs/<id>/ by the plan stage."""
    return [Character(id=c.id, name=c.name, description=c.description, token=c.token,
                      reference_images=[f"refs/{c.id}/{p.name}" for p in c.images]) for c in story.characters]


def named_in_story(story: StoryInput) -> list[tuple[str, str]]:
    """(name, suggested id) of the named entities the built-in planner's reader finds acting in the story."""
    from .heuristic import analyse_story, discover_entities, split_scenes

    texts = split_scenes(story.text, 1, 1 << 10)
    reg = discover_entities(texts, story_characters(story))
    acting = {w for a in analyse_story(texts, reg) for e in a.events for w in e.who}
    return [(e.name, e.id) for e in reg.entities if e.named and not e.declared and e.id in acting]


def max_motions(cfg: PlanConfig, n_characters: int) -> int:
    return cfg.max_motions_per_scene_multi if n_characters > 1 else cfg.max_motions_per_scene


def check_outline(data: dict[str, Any], story: StoryInput, cfg: PlanConfig) -> tuple[Outline | None, list[str]]:
    """Validate a level-1 reply; return the Outline, or the problems (JSON paths of the reply)."""
    try:
        reply = OutlineReply.model_validate(data)
    except ValidationError as exc:
        return None, _pydantic_problems(exc)
    problems: list[str] = []

    # Ids: valid (the pattern is in the schema), unique within and across kinds.
    problems += _duplicates([c.id for c in reply.characters], "characters")
    problems += _duplicates([o.id for o in reply.objects], "objects")
    problems += _duplicates([m.id for m in reply.motions], "motions")
    problems += _duplicates([s.id for s in reply.scenes], "scenes")
    for i, m in enumerate(reply.motions):
        if m.id == NO_MOTION:
            problems.append(f"motions[{i}].id: {NO_MOTION!r} is reserved for entities that do not move")
        if not _verb(m.description).endswith("ing"):
            problems.append(f"motions[{i}].description: {m.description!r} must be in the present progressive "
                            "(start with an -ing verb, e.g. 'waving hands')")

    # Characters: the story's own (with their tokens and images) first, then any the model added.
    characters = story_characters(story)
    declared = {c.id for c in characters}
    used_tokens = {c.token for c in characters}
    tokens = _next_tokens(used_tokens)
    for c in reply.characters:
        if c.id not in declared:
            characters.append(Character(id=c.id, name=c.name, description=c.description, token=next(tokens)))
            declared.add(c.id)
    char_ids = [c.id for c in characters]
    for i, o in enumerate(reply.objects):
        if o.id in char_ids:
            problems.append(f"objects[{i}].id: {o.id!r} is also a character id")

    # Scenes: count, known ids, motion budget, backgrounds free of characters, every motion used.
    n = len(reply.scenes)
    if not cfg.min_scenes <= n <= cfg.max_scenes:
        problems.append(f"scenes: {n} scenes; write between {cfg.min_scenes} and {cfg.max_scenes}")
    motion_ids = {m.id for m in reply.motions}
    budget = max_motions(cfg, len(characters))
    used: set[str] = set()
    for si, s in enumerate(reply.scenes):
        where = f"scenes[{si}]"
        if not s.characters:
            problems.append(f"{where}.characters: empty; every scene shows at least one character")
        for ci, cid in enumerate(s.characters):
            if cid not in declared:
                problems.append(f"{where}.characters[{ci}]: unknown character {cid!r} (characters: {char_ids})")
        if not s.motions:
            problems.append(f"{where}.motions: empty; every scene needs at least one motion")
        for mi, mid in enumerate(s.motions):
            if mid not in motion_ids:
                problems.append(f"{where}.motions[{mi}]: unknown motion {mid!r}; declare it under 'motions' "
                                f"(motions: {listing(sorted(motion_ids))})")
        if len(set(s.motions)) != len(s.motions):
            problems.append(f"{where}.motions: {listing(s.motions)} lists a motion twice")
        if len(set(s.motions)) > budget:
            problems.append(f"{where}.motions: {len(set(s.motions))} motions; at most {budget} per scene")
        used.update(s.motions)
        for c in characters:
            for word in (c.token, c.name, c.id.replace("-", " ").replace("_", " ")):
                if _mentions(s.background, word):
                    problems.append(f"{where}.background: mentions the character {c.id!r} ({word!r}); describe "
                                    "only the place")
                    break
    for i, m in enumerate(reply.motions):
        if m.id not in used:
            problems.append(f"motions[{i}]: {m.id!r} is used by no scene; remove it or use it")

    # Every character of the story is there: the declared ones in some scene, the named ones as characters.
    on_screen = {cid for s in reply.scenes for cid in s.characters}
    for c in story.characters:
        if c.id not in on_screen:
            problems.append(f"scenes: the character {c.id!r} ({c.name}) appears in no scene; add it to the "
                            "characters of the scenes where the story shows it")
    known = {c.id for c in characters} | {w.lower() for c in characters for w in re.findall(r"\w+(?:-\w+)*", c.name)}
    for name, eid in named_in_story(story):
        if not ({eid} | {w.lower() for w in re.findall(r"\w+(?:-\w+)*", name)}) & known:
            problems.append(f"characters: the story names {name!r}, who acts in it, but no character stands for "
                            f"{name!r}; add one (e.g. id {eid!r}) and put it in its scenes")
    if problems:
        return None, problems

    outline = Outline(
        title=story.title, story=story.text, characters=characters,
        objects=[ObjectEntity(id=o.id, description=o.description) for o in reply.objects],
        motions=[Motion(id=m.id, description=m.description) for m in reply.motions],
        scenes=[SceneOutline(id=s.id, location=s.location, narration=s.narration, background=s.background,
                             characters=s.characters, motions=s.motions) for s in reply.scenes])
    return outline, []


def check_layout(data: dict[str, Any], outline: Outline, scene: SceneOutline,
                 cfg: PlanConfig) -> tuple[list[Keyframe] | None, list[str]]:
    """Validate a level-2 reply for one scene; return its key frames, or the problems."""
    try:
        reply = LayoutReply.model_validate(data)
    except ValidationError as exc:
        return None, _pydantic_problems(exc)
    problems: list[str] = []
    k = cfg.keyframes
    if len(reply.keyframes) != k:
        problems.append(f"keyframes: {len(reply.keyframes)} key frames; plan exactly {k}")
    chars = {c.id: c for c in outline.characters if c.id in scene.characters}
    object_ids = {o.id for o in outline.objects}
    descriptions = {m.id: m.description for m in outline.motions}
    keyframes: list[Keyframe] = []
    held: dict[tuple[str, str], list[int]] = {}  # (entity, motion) → key frames showing it
    for fi, kf in enumerate(reply.keyframes):
        if not kf.regions:
            problems.append(f"keyframes[{fi}].regions: empty; every key frame needs at least one region")
        regions: list[Region] = []
        for ri, r in enumerate(kf.regions):
            where = f"keyframes[{fi}].regions[{ri}]"
            if r.entity not in chars and r.entity not in object_ids:
                problems.append(f"{where}.entity: {r.entity!r} is not in this scene (characters: "
                                f"{listing(sorted(chars))}; objects: {listing(sorted(object_ids))})")
            if r.motion != NO_MOTION and r.motion not in scene.motions:
                problems.append(f"{where}.motion: {r.motion!r} is not a motion of this scene; use one of "
                                f"{scene.motions} or 'none'")
            elif r.entity in object_ids and r.motion != NO_MOTION:
                problems.append(f"{where}.motion: {r.entity!r} is an object; objects use motion 'none'")
            if r.entity in chars and chars[r.entity].token not in r.caption:
                problems.append(f"{where}.caption: {r.caption!r} must contain the character's token "
                                f"{chars[r.entity].token!r} exactly")
            if r.motion in scene.motions:
                verb = _verb(descriptions.get(r.motion, r.motion))
                if verb and verb not in r.caption.lower():
                    problems.append(f"{where}.caption: {r.caption!r} must say {verb!r} (motion {r.motion!r} is "
                                    f"{descriptions.get(r.motion)!r})")
                held.setdefault((r.entity, r.motion), []).append(fi)
            try:
                region = Region(entity=r.entity, motion=r.motion, caption=r.caption, box=tuple(r.box))
            except ValidationError as exc:
                problems += [f"{where}.box: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
                continue
            x0, y0, x1, y1 = region.box
            if x1 - x0 < cfg.min_box_side - 1e-6 or y1 - y0 < cfg.min_box_side - 1e-6:
                problems.append(f"{where}.box: {list(region.box)} is {x1 - x0:.2f} wide and {y1 - y0:.2f} high; "
                                f"each side must be at least {cfg.min_box_side}")
            regions.append(region)
        keyframes.append(Keyframe(regions=regions))

    # Motions: all of the scene's, none beyond it (checked above), each held ≥ 2 key frames in a row.
    shown = {m for (_, m) in held}
    for mid in scene.motions:
        if mid not in shown:
            problems.append(f"keyframes: the scene's motion {mid!r} appears in no key frame; use every motion of "
                            f"the scene ({scene.motions})")
    if k >= 2:
        for (entity, mid), frames in held.items():
            for run in _runs(sorted(set(frames))):
                if len(run) < 2:
                    problems.append(f"keyframes[{run[0]}]: {entity!r} is {mid!r} for a single key frame; each "
                                    "motion lasts at least 2 key frames in a row")
    return (None, problems) if problems else (keyframes, [])


def _runs(frames: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for f in frames:
        if runs and runs[-1][-1] == f - 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


# 4. Overlapping boxes → groups for the optional merge step ---------------------------------------------------


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def overlap_groups(keyframes: list[Keyframe]) -> list[tuple[int, list[int]]]:
    """(key frame, region indices) for every connected group of ≥ 2 regions whose boxes overlap (positive area)."""
    out = []
    for fi, kf in enumerate(keyframes):
        parent = list(range(len(kf.regions)))

        def find(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for i in range(len(kf.regions)):
            for j in range(i + 1, len(kf.regions)):
                if _overlap(kf.regions[i].box, kf.regions[j].box):
                    parent[find(j)] = find(i)
        groups: dict[int, list[int]] = {}
        for i in range(len(kf.regions)):
            groups.setdefault(find(i), []).append(i)
        out += [(fi, members) for members in groups.values() if len(members) > 1]
    return out


def check_merge(data: dict[str, Any], groups: dict[str, list[Region]],
                tokens: dict[str, str]) -> tuple[dict[str, str] | None, list[str]]:
    """Validate a merge reply: one caption per group id, keeping every character token of the group."""
    try:
        reply = MergeReply.model_validate(data)
    except ValidationError as exc:
        return None, _pydantic_problems(exc)
    problems: list[str] = []
    captions: dict[str, str] = {}
    for i, item in enumerate(reply.merged):
        if item.group not in groups:
            problems.append(f"merged[{i}].group: unknown group {item.group!r} (groups: {listing(sorted(groups))})")
        elif item.group in captions:
            problems.append(f"merged[{i}].group: {item.group!r} has a caption already")
        else:
            captions[item.group] = item.caption
            for r in groups[item.group]:
                token = tokens.get(r.entity)
                if token and token not in item.caption:
                    problems.append(f"merged[{i}].caption: must keep the token {token!r} of {r.entity!r}")
    problems += [f"merged: no caption for group {gid!r}" for gid in groups if gid not in captions]
    return (None, problems) if problems else (captions, [])


# 5. The planner ---------------------------------------------------------------------------------------------


class LLMPlanner:
    """The Planner protocol (planning/__init__.py) over a chat backend. See the module docstring."""

    def __init__(self, cfg: PlanConfig, backend: ChatBackend, cache: Any = None):
        self.cfg = cfg
        self.backend = backend
        self.name = backend.name
        self.model: str | None = backend.model
        self.calls: list[dict[str, Any]] = []
        # The exchange in progress or the last one: its step ("outline", "s03", "s03-merge") and every reply text
        # it got (a timed-out reply's partial text too), so a failed plan can save what the model said.
        self.exchange: dict[str, Any] | None = None
        self._cache = cache
        self._say: Callable[[str, bool], None] | None = None
        self._label = ""
        self.prompts = {n: load_prompt(n) for n in ("outline", "layout", "merge", "repair")}

    def report_to(self, say: Callable[[str, bool], None] | None) -> None:
        """Progress lines go to ``say(line, transient)`` (transient lines may be overwritten by the next one)."""
        self._say = say
        self.backend.progress = self._backend_progress if say is not None else None

    def _backend_progress(self, phase: str, tokens: int, seconds: float) -> None:
        if self._say is None:
            return
        if phase == "loading":
            self._say(f"plan: loading the local model {self.model!r} ...", False)
        elif phase == "loaded":
            self._say(f"plan: model loaded on {getattr(self.backend, 'device', '?')} in {seconds:.1f} s", False)
        else:
            self._say(f"plan {self._label}: {tokens} tokens, {seconds:.0f} s ({tokens / max(seconds, 1e-9):.1f} "
                      f"tokens/s; stops at plan.timeout_s={self.cfg.timeout_s:g} s)", True)

    def scrub(self, text: str) -> str:
        """Text without the API key, for anything written to disk."""
        return self.backend.scrub(text)

    # Level 1 ---------------------------------------------------------------------------------------------
    def outline(self, story: StoryInput) -> Outline:
        """Story → characters, objects, motions and scenes (METHOD.md A.1)."""
        cfg = self.cfg
        n_given = len(story.characters)
        budget = (str(max_motions(cfg, n_given)) if n_given else
                  f"{cfg.max_motions_per_scene} ({cfg.max_motions_per_scene_multi} when the story has several "
                  "characters)")
        given = [{"id": c.id, "name": c.name, "description": c.description, "token": c.token}
                 for c in story.characters] or "none; introduce the main characters yourself"
        prompt = self.prompts["outline"]
        schema = reply_schema(OutlineReply, scenes=(cfg.min_scenes, cfg.max_scenes))
        messages = prompt.messages(min_scenes=str(cfg.min_scenes), max_scenes=str(cfg.max_scenes),
                                   max_motions=budget, schema=json.dumps(schema), title=story.title,
                                   characters=given, story=story.text)
        return self._exchange(
            prompt, messages, "story_outline", schema, lambda data: check_outline(data, story, cfg),
            level="outline", scene=None,
            failure=f"story {story.path.name}: the LLM's scene outline is still invalid")

    # Level 2 ---------------------------------------------------------------------------------------------
    def layout(self, outline: Outline, scene: SceneOutline) -> list[Keyframe]:
        """One scene → its key frames (METHOD.md A.2), then merged captions if plan.merge_overlaps."""
        cfg = self.cfg
        descriptions = {m.id: m.description for m in outline.motions}
        prompt = self.prompts["layout"]
        schema = reply_schema(LayoutReply, keyframes=(cfg.keyframes, cfg.keyframes))
        messages = prompt.messages(
            keyframes=str(cfg.keyframes), min_box_side=f"{cfg.min_box_side:g}", schema=json.dumps(schema),
            scene={"id": scene.id, "location": scene.location, "narration": scene.narration,
                   "background": scene.background},
            characters=[{"id": c.id, "token": c.token, "description": c.description}
                        for c in outline.characters if c.id in scene.characters],
            objects=[{"id": o.id, "description": o.description} for o in outline.objects],
            motions=[{"id": m, "description": descriptions.get(m, m)} for m in scene.motions])
        keyframes = self._exchange(
            prompt, messages, "scene_layout", schema, lambda data: check_layout(data, outline, scene, cfg),
            level="layout", scene=scene.id,
            failure=f"scene {scene.id}: the LLM's key-frame layout is still invalid")
        if cfg.merge_overlaps:
            keyframes = self._merge(outline, scene, keyframes)
        return keyframes

    def _merge(self, outline: Outline, scene: SceneOutline, keyframes: list[Keyframe]) -> list[Keyframe]:
        """Ask for one unified caption per distinct group of overlapping regions; fill Keyframe.merged."""
        found = overlap_groups(keyframes)
        if not found:
            return keyframes
        # The same group (same captions) in several key frames shares one caption: one id per distinct group.
        ids: dict[tuple[str, ...], str] = {}
        groups: dict[str, list[Region]] = {}
        for fi, members in found:
            regions = [keyframes[fi].regions[i] for i in members]
            key = tuple(r.caption for r in regions)
            if key not in ids:
                ids[key] = f"g{len(ids) + 1}"
                groups[ids[key]] = regions
        tokens = {c.id: c.token for c in outline.characters}
        prompt = self.prompts["merge"]
        schema = reply_schema(MergeReply, merged=(len(groups), len(groups)))
        messages = prompt.messages(schema=json.dumps(schema), narration=scene.narration, groups=[
            {"group": gid, "captions": [r.caption for r in regions]} for gid, regions in groups.items()])
        captions = self._exchange(
            prompt, messages, "merged_captions", schema, lambda data: check_merge(data, groups, tokens),
            level="merge", scene=scene.id,
            failure=f"scene {scene.id}: the LLM's merged captions are still invalid")
        out = [kf.model_copy(deep=True) for kf in keyframes]
        for fi, members in found:
            regions = [keyframes[fi].regions[i] for i in members]
            # The merged region is bound to the group's first character (its LoRA) and covers the whole group.
            lead = next((r for r in regions if r.entity in tokens), regions[0])
            box = (min(r.box[0] for r in regions), min(r.box[1] for r in regions),
                   max(r.box[2] for r in regions), max(r.box[3] for r in regions))
            out[fi].merged.append(Region(entity=lead.entity, motion=lead.motion,
                                         caption=captions[ids[tuple(r.caption for r in regions)]], box=box))
        return out

    # The exchange: ask, parse, validate, repair ---------------------------------------------------------------
    def _exchange(self, prompt: Prompt, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any],
                  check: Callable[[dict[str, Any]], tuple[Any, list[str]]], *, level: str, scene: str | None,
                  failure: str) -> Any:
        pending: list[tuple[str, str]] = []  # replies to cache once the exchange ends valid
        problems: list[str] = []
        step = "outline" if scene is None else (scene if level == "layout" else f"{scene}-{level}")
        self.exchange = {"step": step, "level": level, "scene": scene, "replies": []}
        first = messages
        for repair in range(self.cfg.repair_attempts + 1):
            text, finish, call = self._ask(prompt, messages, schema_name, schema, level, scene, repair, pending)
            data, problems = parse_json_reply(text)
            if not problems:
                result, problems = check(data)
            if problems and finish == "length":
                problems.insert(0, f"the reply was cut off after plan.max_tokens={self.cfg.max_tokens} tokens; "
                                   "write less reasoning")
            call.update(valid=not problems, problems=len(problems))
            if call["cache"] == "miss" and self._say is not None:
                size = f"{call['tokens']} tokens in " if call.get("tokens") is not None else ""
                self._say(f"plan {self._label}: reply {repair + 1}, {size}{call['seconds']:.1f} s: "
                          + ("valid" if not problems else f"{len(problems)} problem(s)"
                             + (", asking for a repair" if repair < self.cfg.repair_attempts else "")), False)
            if not problems:
                self._commit(pending)
                self.exchange["done"] = True
                return result
            log.info("LLM planner: %s%s reply %d has %d problem(s)", level, f" {scene}" if scene else "",
                     repair + 1, len(problems))
            # The repair request: the first request, the last reply and its problems (not every earlier round,
            # which would grow the prompt past the context; _fit cuts the reply if even that does not fit).
            repair_prompt = self.prompts["repair"]
            messages = first + [
                {"role": "assistant", "content": text},
                *repair_prompt.messages(count=str(len(problems)),
                                        errors="\n".join(f"- {p}" for p in problems))]
        n = self.cfg.repair_attempts
        shown = problems[:MAX_DETAILS] + ([f"... and {len(problems) - MAX_DETAILS} more"]
                                          if len(problems) > MAX_DETAILS else [])
        raise PlanInvalid(
            f"{failure} after {n} repair attempt{'s' if n != 1 else ''} ({self.name}, model {self.model!r})",
            hint="try a stronger model (--llm-model), more repairs (--set plan.repair_attempts=4), or plan with "
                 "--llm builtin and edit plan.json by hand; failed exchanges are not cached, so a re-run asks again",
            details=shown)

    def _ask(self, prompt: Prompt, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any],
             level: str, scene: str | None, repair: int,
             pending: list[tuple[str, str]]) -> tuple[str, str | None, dict[str, Any]]:
        """One LLM call through the cache; appends its provenance to ``self.calls``."""
        # The cache key is the logical request (first request + last reply + problems), whatever _fit cuts to
        # make it fit the model's context: a recorded session replays without knowing the context.
        key = self._key(messages, schema)
        call: dict[str, Any] = {"backend": self.name, "model": self.model, "level": level, "scene": scene,
                                "prompt_file": prompt.file, "prompt_version": prompt.version, "repair": repair}
        if repair:
            call["repair_prompt_version"] = self.prompts["repair"].version
        self.calls.append(call)  # recorded now, so a call that fails is in runs.jsonl too
        self._label = (f"{level} {scene}" if scene else level) + (f" (repair {repair})" if repair else "")
        t0 = time.perf_counter()
        cache = self._get_cache()
        cached = cache.get(key) if cache is not None else None
        if isinstance(cached, str):
            text, finish = cached, None
            call.update(cache="hit", attempts=0)
        else:
            call.update(cache="miss")
            # Each repair samples with another seed: the same seed at a low temperature returns the same reply.
            seed = None if self.cfg.seed is None else self.cfg.seed + repair
            try:
                sent = self._fit(messages, call)
                if self._say is not None:
                    self._say(f"plan {self._label}: asking {self.name} model {self.model!r} ...", True)
                done = self.backend.complete(sent, schema_name, schema, seed=seed)
            except GenerationTimeout as exc:
                self.exchange["replies"].append(exc.partial)
                call.update(error="timeout", seconds=round(time.perf_counter() - t0, 3))
                raise
            except DreamrunnerError as exc:
                call.update(error=type(exc).__name__, seconds=round(time.perf_counter() - t0, 3))
                raise
            text, finish = done.text, done.finish_reason
            call.update(attempts=done.attempts, response_format=done.mode, finish_reason=finish)
            if done.tokens is not None:
                call["tokens"] = done.tokens
            if getattr(self.backend, "device", None):
                call["device"] = self.backend.device
            pending.append((key, text))
        self.exchange["replies"].append(text)
        call["seconds"] = round(time.perf_counter() - t0, 3)
        return text, finish, call

    def _fit(self, messages: list[dict[str, str]], call: dict[str, Any]) -> list[dict[str, str]]:
        """Check the request against the model's context before anything is generated: prompt + the tokens
        reserved for the reply must fit. A repair request that does not fit gets its previous reply cut (then
        left out); a first request that does not fit raises ContextOverflow."""
        ctx = self.backend.context()
        if ctx is None:
            return messages
        limit = ctx.window - ctx.reply
        n, exact = self.backend.count_tokens(messages)
        if n <= limit:
            return messages
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
        if last is None or limit <= 0:
            raise self._overflow(n, exact, ctx)
        reply = messages[last]["content"]

        def with_reply(keep: int) -> list[dict[str, str]]:
            cut = len(reply) - keep
            content = (reply[:keep] + f"\n[... {cut} more characters of this reply are left out here: they do not "
                       "fit in the model's context ...]") if keep else (
                f"[my previous reply ({len(reply)} characters) is left out here: it does not fit in the model's "
                "context]")
            return messages[:last] + [{"role": "assistant", "content": content}] + messages[last + 1:]

        if self.backend.count_tokens(with_reply(0))[0] > limit:
            raise self._overflow(self.backend.count_tokens(with_reply(0))[0], exact, ctx)
        lo, hi = 0, len(reply)  # the longest head of the reply that fits: lo fits, hi does not
        while hi - lo > 64:
            mid = (lo + hi) // 2
            if self.backend.count_tokens(with_reply(mid))[0] <= limit:
                lo = mid
            else:
                hi = mid
        call["reply_cut_chars"] = len(reply) - lo
        log.info("LLM planner: %s: the previous reply is cut to %d of %d characters to fit the context",
                 self._label, lo, len(reply))
        return with_reply(lo)

    def _overflow(self, n: int, exact: bool, ctx: Context) -> ContextOverflow:
        room = ctx.window - n
        return ContextOverflow(
            f"plan {self._label}: the prompt is {n}{'' if exact else ' (estimated)'} tokens and {ctx.reply} more are "
            f"reserved for the reply (plan.max_tokens); together {n + ctx.reply} tokens do not fit in the context "
            f"of {self.name} model {self.model!r}, {ctx.window} tokens ({ctx.source}); nothing was generated",
            hint=(f"lower plan.max_tokens (--set plan.max_tokens={room}) if a shorter reply will do, " if room > 256
                  else "") + "use a model with a longer context, or set plan.context_tokens if the model's real "
                             "context is longer than that")

    def _key(self, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        cfg = self.cfg
        params: dict[str, Any] = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens, "seed": cfg.seed,
                                  "structured_output": cfg.structured_output}
        # Settings that change replies, in the key only where they apply (older keys stay valid otherwise).
        if cfg.stop:
            params["stop"] = list(cfg.stop)
        if self.name == "transformers":
            params.update(repetition_penalty=cfg.repetition_penalty, stop_at_json_end=cfg.stop_at_json_end)
        blob = {"format": CACHE_FORMAT, **self.backend.identity(), "messages": messages, "schema": schema,
                "params": params}
        return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _get_cache(self) -> Any:
        if not self.cfg.llm_cache:
            return None
        if self._cache is None:
            from ..cache import open_cache

            self._cache = open_cache("llm")
        return self._cache

    def _commit(self, pending: list[tuple[str, str]]) -> None:
        cache = self._get_cache()
        if cache is not None:
            for key, text in pending:
                cache.set(key, text)  # str values only: nothing is ever unpickled
        pending.clear()


# 6. Factories (planning.PLANNERS) ---------------------------------------------------------------------------


def make_openai_planner(cfg: PlanConfig) -> LLMPlanner:
    return LLMPlanner(cfg, OpenAIBackend(cfg))


def make_transformers_planner(cfg: PlanConfig) -> LLMPlanner:
    return LLMPlanner(cfg, TransformersBackend(cfg))
