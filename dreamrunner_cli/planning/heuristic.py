"""The built-in planner: offline, deterministic, rule-based (the default when no LLM is configured).

It follows the two levels of DreamRunner's planning (METHOD.md A) with word lists (planning/lexicon.py), lemminflect's
verb morphology and a small clause reader instead of GPT-4o:

* **Entities.** Every acting entity of the story: the characters of the front matter, named people and animals of
  any script ("Chef Ünal", "Zoë", "ARI-7", "his dog Pepa", "a boy named Kofi"), and unnamed animals, machines,
  vehicles and people ("a red fox", "the waiter", "the night train") that are the subject of some verb. Ids are
  readable ASCII slugs of the name (``Ünal`` → ``unal``), unique and stable. Named entities and entities that act
  in two scenes or more are *characters* (a token, a LoRA); the others are *objects* (a region, no LoRA).
* **Who does what.** Each sentence is read clause by clause: a subject (a name, "the fox", "her friend Jun",
  "Together Ünal and Lía", "the two friends", or a pronoun with one compatible candidate in view) followed by
  finite verbs, coordinated verbs ("stretches her legs and bounces"), participles (", jumping and cheering") and
  complements ("tries to catch"). A subject that is no entity ("The whistle blows") owns its verbs, so they are
  never given to a character. Only sure attributions become motions (the confidence gate, motions.GATE): a guess
  is left out and reported in ``unattributed``. Verbs are lemmatised and put in present progressive with
  lemminflect ("trots" → "trotting").
* **Where.** The place is tracked sentence by sentence ("under the bridge", then "at the finish line"; "Inside,"
  after reaching a cabin); each motion's caption names the place where it happens; the scene's background is the
  place of most of its motions.
* **Level 1, ``outline``** (A.1): scenes from paragraphs (split or merged to fit 5–8), characters, objects, motions
  (at most ``max_motions_per_scene`` per scene for one character, ``max_motions_per_scene_multi`` for several).
* **Level 2, ``layout``** (A.2): 6 key frames. Each entity gets a lane (at most as many lanes as fit boxes of
  ``min_box_side``); its box size and height depend on its kind (a person is tall, a cat low and small, a bird
  high, a train wide) and on its motion (sitting is lower, flying higher; locomotion moves the box). An
  interaction of two entities ("Jun hugs Amara") brings their boxes together and adds a merged caption over both
  (``Keyframe.merged``). Secondary entities (a gull, a waiter, a bench a character sits on) get object regions.

The code is split by what each part does: text.py (sentences, words, quotations, scenes), entities.py (who acts and
how the story names them), reading.py with chunks.py, pronouns.py, clauses.py, phrases.py and motions.py (who does
which action, clause by clause), layout.py (level 2); this module is the planner and re-exports their public names.
Limits are in docs/planning.md.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ..schema import Character, Keyframe, Motion, ObjectEntity, Outline, Region, SceneOutline
from .entities import (  # noqa: F401 (public names of the built-in planner, imported from here)
    Entity,
    Registry,
    discover_entities,
    entity_from_character,
    entity_from_object,
    infer_main_character,
)
from .layout import (  # noqa: F401
    LANE_WEIGHT,
    MIN_SIDE,
    SHAPES,
    TRAVEL,
    TRAVELLING,
    _background,
    _clean,
    _close_in,
    _lanes,
    _lower_first,
    _track,
    _where_caption,
    _who,
    allocate,
    where,
)
from .reading import NONE_SUBJECT, MotionEvent, SceneAnalysis, analyse_story, categorize  # noqa: F401
from .text import _article, ascii_slug, lemma, progressive, sentences, split_scenes, tokens  # noqa: F401

if TYPE_CHECKING:
    from ..config import PlanConfig
    from ..story import StoryInput

def _registry_from_outline(outline: Outline) -> Registry:
    entities = [entity_from_character(c, i) for i, c in enumerate(outline.characters)]
    entities += [entity_from_object(o, len(entities) + i) for i, o in enumerate(outline.objects)]
    return Registry(entities)


@lru_cache(maxsize=32)
def _analyse_cached(texts: tuple[str, ...], key: str, outline_json: str) -> list[SceneAnalysis]:
    if (texts, outline_json) in _OUTLINE_READS:
        return _OUTLINE_READS[(texts, outline_json)]
    outline = Outline.model_validate_json(outline_json)
    return analyse_story(list(texts), _registry_from_outline(outline))


# What ``outline`` read, by (scene texts, its entities): ``layout`` of that same outline draws exactly those events
# (re-reading with entities rebuilt from plan.json could resolve a pronoun otherwise). A plan.json edited by hand or
# loaded in another process has another key and is re-read.
_OUTLINE_READS: dict[tuple[tuple[str, ...], str], list[SceneAnalysis]] = {}


def _layout_key(outline: Outline) -> str:
    return outline.model_dump_json(include={"characters", "objects"} | {"scenes"})


def _declared(story: StoryInput) -> list[Character]:
    return [Character(id=c.id, name=c.name, description=c.description, token=c.token,
                      reference_images=[f"refs/{c.id}/{p.name}" for p in c.images]) for c in story.characters]


class HeuristicPlanner:
    """Offline, deterministic story → plan (the ``builtin`` backend). See the module docstring."""

    name = "builtin"
    model: str | None = None

    def __init__(self, cfg: PlanConfig):
        self.cfg = cfg

    def max_entities(self) -> int:
        """How many entities fit side by side with every box side ≥ min_box_side."""
        return max(1, int(1.0 / max(self.cfg.min_box_side, 1e-3) + 1e-9))

    # Level 1 -------------------------------------------------------------------------------------------------
    def outline(self, story: StoryInput) -> Outline:
        """Story → characters, objects, motions (present progressive) and scenes (METHOD.md A.1)."""
        declared = _declared(story)
        # 1. Scenes from paragraphs, fitted to [min_scenes, max_scenes].
        texts = split_scenes(story.text, self.cfg.min_scenes, self.cfg.max_scenes)
        # 2. Entities, then who does what in each scene.
        reg = discover_entities(texts, declared)
        analyses = analyse_story(texts, reg)
        # 3. Characters: declared, named, or acting in 2+ scenes; the others are objects (secondary entities).
        scenes_acting: dict[str, int] = {}
        for a in analyses:
            for x in {w for e in a.events for w in e.who}:
                scenes_acting[x] = scenes_acting.get(x, 0) + 1
        acting = [e for e in reg.entities if e.declared or scenes_acting.get(e.id)]
        chars = [e for e in acting if e.declared or e.named or scenes_acting.get(e.id, 0) >= 2]
        if not chars and acting:
            chars = [max(acting, key=lambda e: (scenes_acting.get(e.id, 0), -e.first))]
        char_ids = {e.id for e in chars}
        used_tokens = {e.token for e in chars if e.token}
        n = 1
        characters: list[Character] = []
        for e in chars:
            if e.declared:
                characters.append(next(c for c in declared if c.id == e.id))
                continue
            while f"[v{n}]" in used_tokens:
                n += 1
            e.token = f"[v{n}]"
            used_tokens.add(e.token)
            characters.append(Character(id=e.id, name=e.name, description=e.description, token=e.token))
        if not characters:
            characters = [infer_main_character(story.text)]
            char_ids = {characters[0].id}
        objects = [ObjectEntity(id=e.id, description=e.description) for e in acting if e.id not in char_ids]
        # Props acted on (a bench, a rock) become objects too, one per noun.
        prop_ids = {o.id for o in objects} | char_ids
        for a in analyses:
            for p in a.props:
                pid = ascii_slug(p, "object")
                if pid not in prop_ids:
                    objects.append(ObjectEntity(id=pid, description=f"{_article(p).lower()} {p}"))
                    prop_ids.add(pid)
        entity_ids = char_ids | {o.id for o in objects}
        # 4. Per scene: who is there, which motions (capped), where, when.
        scenes: list[SceneOutline] = []
        motions: dict[str, Motion] = {}
        for n, (text, a) in enumerate(zip(texts, analyses), start=1):
            present = [c for c in a.characters if c in char_ids]
            chosen = self._select(a, entity_ids, len(present))
            for e in chosen:
                motions.setdefault(e.id, Motion(id=e.id, description=e.description))
            scenes.append(SceneOutline(
                id=f"s{n:02d}", location=a.place or "", narration=text, background=_background(a),
                characters=present if (present or a.events) else [characters[0].id],
                motions=list(dict.fromkeys(e.id for e in chosen))))
        out = Outline(title=story.title, story=story.text, characters=characters, objects=objects,
                      motions=list(motions.values()), scenes=scenes)
        if len(_OUTLINE_READS) > 32:
            _OUTLINE_READS.clear()
        _OUTLINE_READS[(tuple(texts), _layout_key(out))] = analyses
        return out

    def unattributed(self, story: StoryInput) -> list[dict[str, str]]:
        """The sentences that gave no action, or an action the reader could not attribute, as ``outline`` reads
        them: [{scene, sentence, reason}] (``plan`` prints them as warnings and lists them in --json)."""
        texts = split_scenes(story.text, self.cfg.min_scenes, self.cfg.max_scenes)
        analyses = analyse_story(texts, discover_entities(texts, _declared(story)))
        return [{"scene": f"s{n:02d}", "sentence": sent, "reason": reason}
                for n, a in enumerate(analyses, start=1) for sent, reason in a.skipped]

    def _budget(self, n_characters: int) -> int:
        return self.cfg.max_motions_per_scene_multi if n_characters > 1 else self.cfg.max_motions_per_scene

    def _per_entity_cap(self) -> int:
        return max(1, self.cfg.keyframes // 2)  # every motion must be held for >= 2 key frames

    def _select(self, a: SceneAnalysis, entity_ids: set[str], n_characters: int) -> list[MotionEvent]:
        """At most the scene's motion budget, round-robin over the entities (each gets one before anyone gets a
        second), at most keyframes // 2 per entity, and only for entities that fit in the frame."""
        fit = set(self._fitting(a, entity_ids))
        per: dict[str, list[MotionEvent]] = {}
        for e in a.events:
            for c in e.who:
                if c in fit and e.id not in {x.id for x in per.setdefault(c, [])}:
                    per[c].append(e)
        budget = min(self._budget(n_characters), self.cfg.max_motions_per_scene_multi
                     if n_characters > 1 else self.cfg.max_motions_per_scene)
        chosen: list[str] = []
        for rnd in range(self._per_entity_cap()):
            for evs in per.values():
                if rnd < len(evs) and evs[rnd].id not in chosen and len(chosen) < budget:
                    chosen.append(evs[rnd].id)
        out: list[MotionEvent] = []
        for e in a.events:
            if e.id in chosen and e.id not in {x.id for x in out}:
                out.append(e)
        return out

    def _fitting(self, a: SceneAnalysis, entity_ids: set[str]) -> list[str]:
        """The scene's entities that get a region: characters first, then objects, at most max_entities()."""
        acting = {w for e in a.events for w in e.who}
        ents = [c for c in a.characters if c in entity_ids]
        ents.sort(key=lambda c: (c not in acting, a.characters.index(c)))
        return ents[: self.max_entities()]

    # Level 2 -------------------------------------------------------------------------------------------------
    def layout(self, outline: Outline, scene: SceneOutline) -> list[Keyframe]:
        """One scene → ``cfg.keyframes`` key frames of regions (METHOD.md A.2 rules; see the module docstring)."""
        k = self.cfg.keyframes
        # 1. Re-read the story for who does which of the scene's motions (the outline keeps only ids).
        texts = tuple(s.narration for s in outline.scenes)
        idx = [s.id for s in outline.scenes].index(scene.id) if scene.id in {s.id for s in outline.scenes} else None
        if idx is None:
            texts, idx = (scene.narration,), 0
        a = _analyse_cached(texts, "v1", _layout_key(outline))[idx]
        reg = _registry_from_outline(outline)
        chars = {c.id: c for c in outline.characters}
        objects = {o.id: o for o in outline.objects}
        descriptions = {m.id: m.description for m in outline.motions}
        # 2. Who is drawn: the scene's characters, then objects that act or are acted on, as many as fit.
        present = [c for c in scene.characters if c in chars]
        extra = []
        for e in a.events:
            if e.id not in scene.motions:
                continue
            for x in e.who + ([e.target] if e.target else []):
                if x in objects and x not in extra:
                    extra.append(x)
            if e.prop and ascii_slug(e.prop, "object") in objects:
                pid = ascii_slug(e.prop, "object")
                if pid not in extra:
                    extra.append(pid)
        drawn = (present + extra)[: self.max_entities()]
        per: dict[str, list[MotionEvent]] = {c: [] for c in drawn}
        for e in a.events:
            if e.id not in scene.motions:
                continue
            for c in e.who:
                if c in per and e.id not in {x.id for x in per[c]}:
                    per[c].append(e)
        for mid in scene.motions:  # a motion the narration no longer shows (hand edit): only a lone entity gets it,
            # never one of several (a guess would draw the wrong entity doing it)
            if len(drawn) == 1 and not any(mid == e.id for evs in per.values() for e in evs):
                desc = descriptions.get(mid, mid)
                per[drawn[0]].append(MotionEvent([drawn[0]], desc, *categorize(desc), id=mid))
        for c in per:
            per[c] = per[c][: self._per_entity_cap()]
        if not drawn:
            return [Keyframe(regions=[]) for _ in range(k)]
        # 3. Lanes: one per drawn entity, side by side, in story order.
        lanes = _lanes([(c, reg.by_id[c].shape if c in reg.by_id else "person") for c in drawn],
                       self.cfg.min_box_side)
        place = scene.location or a.place
        prep = a.place_prep if place == a.place else None
        frames: list[list[Region]] = [[] for _ in range(k)]
        tracks: dict[str, list[Region]] = {}
        for c in drawn:
            ent = reg.by_id.get(c)
            who = _who(chars.get(c), objects.get(c), ent)
            shape = ent.shape if ent else "person"
            tracks[c] = _track(c, who, shape, per[c], lanes[c], k, place, prep, descriptions, reg, self.cfg.min_box_side)
        # 4. Interactions of two drawn entities: boxes brought together, one merged caption over both.
        merged: list[list[Region]] = [[] for _ in range(k)]
        for c in drawn:
            for f, r in enumerate(tracks[c]):
                ev = next((e for e in per[c] if e.id == r.motion), None)
                if ev is None or not ev.target or ev.target not in tracks:
                    continue
                other = tracks[ev.target][f]
                a_box, b_box = _close_in(r.box, other.box, self.cfg.min_box_side)
                tracks[c][f] = r.model_copy(update={"box": a_box})
                tracks[ev.target][f] = other.model_copy(update={"box": b_box})
                union = _clean((min(a_box[0], b_box[0]), min(a_box[1], b_box[1]), max(a_box[2], b_box[2]),
                                max(a_box[3], b_box[3])), self.cfg.min_box_side)
                target_who = _who(chars.get(ev.target), objects.get(ev.target), reg.by_id.get(ev.target))
                caption = " ".join(x for x in (f"{_who(chars.get(c), objects.get(c), reg.by_id.get(c))} is",
                                                ev.description, ev.target_prep, _lower_first(target_who)) if x)
                at = _where_caption(ev, place, prep)
                merged[f].append(Region(entity=c, motion=r.motion, caption=f"{caption} {at}".strip() if at else caption,
                                        box=union))
        for c in drawn:
            for f, region in enumerate(tracks[c]):
                frames[f].append(region)
        return [Keyframe(regions=regions, merged=merged[f]) for f, regions in enumerate(frames)]

