"""The built-in planner: offline, deterministic, rule-based (the default when no LLM is configured).

It follows the two levels of DreamRunner's planning (METHOD.md A) with word lists (planning/lexicon.py), lemminflect's
verb morphology and a small clause reader instead of GPT-4o:

* **Entities.** Every acting entity of the story: the characters of the front matter, named people and animals of
  any script ("Chef Ünal", "Zoë", "ARI-7", "his dog Pepa", "a boy named Kofi"), and unnamed animals, machines,
  vehicles and people ("a red fox", "the waiter", "the night train") that are the subject of some verb. Ids are
  readable ASCII slugs of the name (``Ünal`` → ``unal``), unique and stable. Named entities and entities that act
  in two scenes or more are *characters* (a token, a LoRA); the others are *objects* (a region, no LoRA).
* **Who does what.** Each sentence is read clause by clause: a subject (a name, "the fox", "her friend Jun",
  "Together Ünal and Lía", "the two friends", or a pronoun resolved by recency, kind and gender) followed by
  finite verbs, coordinated verbs ("stretches her legs and bounces"), participles (", jumping and cheering") and
  complements ("tries to catch"). A subject that is no entity ("The whistle blows") owns its verbs, so they are
  never given to a character. Verbs are lemmatised and put in present progressive with lemminflect ("trots" →
  "trotting").
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

Limits are in docs/planning.md.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from ..schema import NO_MOTION, Character, Keyframe, Motion, ObjectEntity, Outline, Region, SceneOutline, slug
from . import lexicon as lx

if TYPE_CHECKING:
    from ..config import PlanConfig
    from ..story import StoryInput

# Text ------------------------------------------------------------------------------------------------------------

_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Capt", "Mt", "Lt", "Col", "Gen", "Sgt")
_ABBREV_RE = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+")
_TOKEN = re.compile(r"\w+(?:[-’']\w+)*|[’']s\b|[.,;:!?]")


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences on ., ! or ? followed by a space ("Mr. Haruki" is not an end)."""
    protected = _ABBREV_RE.sub(lambda m: m.group(1) + "\u2024", " ".join(text.split()))
    return [s.strip().replace("\u2024", ".") for s in _SENTENCE_END.split(protected) if s.strip()]


def tokens(text: str) -> list[str]:
    """Words (any script, with inner hyphens: "ARI-7"), a possessive "'s", and punctuation."""
    text = _ABBREV_RE.sub(lambda m: m.group(1), text)
    out = []
    for t in _TOKEN.findall(text):
        if re.fullmatch(r"\w+[’']s", t) and not t.lower().endswith(("'s'", "’s’")):
            out += [t[:-2], "'s"]  # "Amara's" → "Amara", "'s"
        else:
            out.append("'s" if t in ("’s", "'s") else t)
    return out


def _cap(t: str) -> bool:
    return t[:1].isupper()


def _word(t: str) -> bool:
    return t[:1].isalnum()


def ascii_slug(text: str, fallback: str = "item") -> str:
    """A readable ASCII id of any name: "Ünal" → "unal", "Søren" → "soren", "ARI-7" → "ari-7"."""
    from anyascii import anyascii

    return slug(anyascii(unicodedata.normalize("NFC", text)), fallback)


def lemma(word: str) -> str | None:
    """The base form of ``word`` read as a verb (lemminflect): "trots" → "trot", "ran" → "run", else None."""
    return lx.verb_lemma(word)


def progressive(base: str) -> str:
    """Present participle of a base form (lemminflect): trot → trotting, lie → lying, plate → plating."""
    return lx.participle(base)


def _article(phrase: str) -> str:
    return "An" if phrase[:1].lower() in "aeiou" else "A"


def _strip_article(text: str) -> str:
    return re.sub(r"^(a|an|the)\s+", "", text.strip(), flags=re.IGNORECASE)


# Entities --------------------------------------------------------------------------------------------------------


@dataclass
class Entity:
    """An acting entity of the story and the words that refer to it."""

    id: str
    name: str  # "Chef Ünal", "" for unnamed entities
    description: str  # "a small delivery robot", or the name
    kind: str = "person"  # person, animal, machine, vehicle, thing
    shape: str = "person"  # box family: person, small, large, bird, robot, drone, vehicle, prop
    names: set[str] = field(default_factory=set)  # lower-case name tokens: {"ünal"}
    nouns: set[str] = field(default_factory=set)  # nouns that describe it: {"robot", "machine"}
    gender: str | None = None  # "m" / "f" when the story shows it
    declared: bool = False  # from the front matter
    named: bool = False
    token: str = ""
    first: int = 0  # order of first mention

    @property
    def animate(self) -> bool:
        return self.kind in ("person", "animal")


def _noun_of(description: str) -> str | None:
    """The head noun of a description: "a small silver robot toy" → "robot" (the first entity noun), "a grey
    tabby cat" → "cat"."""
    words = [w.lower() for w in re.findall(r"\w+", re.split(r"\s+(?:with|in|who|wearing|from|of|named|called)\s+",
                                                             description)[0])]
    hits = [n for n in (lx.entity_noun(w) for w in words) if n]
    return hits[-1] if hits else None


def _set_kind(e: Entity, noun: str | None) -> None:
    if noun and noun in lx.ENTITY_NOUNS:
        e.kind, e.shape = lx.ENTITY_NOUNS[noun]
        e.nouns |= lx.GENERALISATIONS.get(noun, {noun})
        if e.gender is None:
            e.gender = "m" if noun in lx.MALE else "f" if noun in lx.FEMALE else None


def entity_from_character(c: Character, order: int) -> Entity:
    e = Entity(id=c.id, name=c.name, description=c.description, declared=True, named=bool(c.name), token=c.token,
               first=order)
    e.names = {w.lower() for w in re.findall(r"\w+(?:-\w+)*", c.name) if _cap(w) and w.lower() not in lx.TITLES}
    e.names.add(c.id.lower())
    _set_kind(e, _noun_of(c.description))
    for w in re.findall(r"\w+", c.name):  # "Chef Ünal": the title is a noun for "the chef"
        if w.lower() in lx.TITLES and w.lower() in lx.ENTITY_NOUNS:
            e.nouns.add(w.lower())
    return e


def entity_from_object(o: ObjectEntity, order: int) -> Entity:
    noun = _noun_of(o.description) or o.id
    e = Entity(id=o.id, name="", description=o.description or o.id, first=order)
    if noun in lx.ENTITY_NOUNS:
        _set_kind(e, noun)
    else:
        e.kind, e.shape = "thing", "prop"
        e.nouns = {noun}
    return e


def _closed(w: str) -> bool:
    """A function word that is never a name or a verb here."""
    return (w in lx.DETERMINERS or w in lx.POSSESSIVES or w in lx.SUBJECT_PRONOUNS or w in lx.OBJECT_PRONOUNS
            or w in lx.PREPOSITIONS or w in lx.CONJUNCTIONS or w in lx.ADVERBS or w in lx.REFLEXIVES)


def _name_runs(toks: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of capitalised words: "Old Mr Haruki", "Amara Osei", "ARI-7"."""
    runs, i = [], 0
    while i < len(toks):
        if _word(toks[i]) and _cap(toks[i]):
            j = i
            while j < len(toks) and _word(toks[j]) and _cap(toks[j]):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


class Registry:
    """The story's entities and the ways of naming them."""

    def __init__(self, entities: list[Entity]):
        self.entities = entities
        self.by_id = {e.id: e for e in entities}

    def by_name(self, word: str) -> Entity | None:
        w = word.lower()
        return next((e for e in self.entities if w in e.names), None)

    def by_noun(self, noun: str) -> Entity | None:
        """The entity a definite description names: the one whose own noun it is, else a generalisation."""
        n = noun.lower()
        ents = [e for e in self.entities if e.kind != "thing"]  # props are found by _phrase, not as referents
        exact = [e for e in ents if n in e.nouns and (_noun_of(e.description) == n or not e.named)]
        hits = exact or [e for e in ents if n in e.nouns]
        return hits[0] if len(hits) >= 1 else None


def discover_entities(texts: list[str], declared: list[Character]) -> Registry:
    """Find every acting entity of the story (see the module docstring). ``texts`` are the scenes' texts."""
    entities: list[Entity] = [entity_from_character(c, i) for i, c in enumerate(declared)]
    reg = Registry(entities)
    sents = [tokens(s) for t in texts for s in sentences(t)]
    # 1. Names: capitalised words that are not function words, places or sentence-initial common words.
    mid_caps: set[str] = set()
    for toks in sents:
        for i, t in enumerate(toks):
            if i > 0 and _word(t) and _cap(t) and toks[i - 1] not in (".", "!", "?"):
                mid_caps.add(t.lower())
    candidates: dict[str, dict] = {}  # first name token (lower) → info
    order = len(entities)
    for si, toks in enumerate(sents):
        lows = [t.lower() for t in toks]
        for start, end in _name_runs(toks):
            words = toks[start:end]
            # sentence-initial common words ("Inside", "Together", "Suddenly", "The") are not names
            while words and start == 0 and not (words[0].lower() in lx.TITLES and len(words) > 1) and (
                    _closed(words[0].lower()) or (
                    lx.is_known_word(words[0]) and words[0].lower() not in mid_caps
                    and not _appositive_after(toks, start + 1) and words[0].lower() not in candidates)):
                words, start = words[1:], start + 1
            title = [w for w in words if w.lower() in lx.TITLES]
            while words and words[0].lower() in lx.TITLES and len(words) > 1:
                words = words[1:]
                start += 1
            words = [w for w in words if not _closed(w.lower())]
            if not words or words[0].lower() in lx.TITLES and len(words) == 1 and start > 0 and \
                    lows[start - 1] in lx.DETERMINERS:
                continue
            prev = lows[start - 1] if start > 0 else ""
            before = lows[start - 2] if start > 1 else ""
            # "the blue Earth": after a determiner and a modifier that is not a kind noun → not a name
            if prev and not lx.entity_noun(prev) and prev not in ("named", "called", ",") and (
                    prev in lx.DETERMINERS or prev in lx.POSSESSIVES or before in lx.DETERMINERS | lx.POSSESSIVES):
                continue
            if any(w.lower() in lx.PLACES or (w.lower(), "") in lx.PLACE_COMPOUNDS for w in words):
                continue
            key = words[0].lower()
            if reg.by_name(key) is not None:
                continue
            info = candidates.setdefault(key, {"words": words, "title": title, "kind": None, "desc": None,
                                              "mentions": 0, "after_place_prep": 0, "first": (si, start),
                                              "verb_next": 0})
            info["mentions"] += 1
            if prev in ("in", "into", "to", "from", "toward", "towards", "through", "across", "of"):
                info["after_place_prep"] += 1
            nxt = toks[start + len(words)] if start + len(words) < len(toks) else ""
            if _finite_readings(nxt):
                info["verb_next"] += 1
            kind_noun, desc = _kind_cue(toks, start, start + len(words))
            if kind_noun and not info["kind"]:
                info["kind"], info["desc"] = kind_noun, desc
            if title and not info["title"]:
                info["title"] = title
    for key, info in sorted(candidates.items(), key=lambda kv: kv[1]["first"]):
        if info["mentions"] == info["after_place_prep"]:
            continue  # "to Lisbon": a place
        if key not in mid_caps and lx.is_known_word(key) and not info["kind"] and info["verb_next"] < 2:
            continue  # "Sunlight floods the room": a common noun at the start of a sentence
        words = info["words"]
        name = " ".join(info["title"] + [w for w in words if w not in info["title"]])
        e = Entity(id="", name=name, description=info["desc"] or name, named=True, first=order)
        order += 1
        e.names = {w.lower() for w in words}
        noun = info["kind"] or next((t.lower() for t in info["title"] if t.lower() in lx.ENTITY_NOUNS), None)
        _set_kind(e, noun)
        for t in info["title"]:
            if t.lower() in lx.ENTITY_NOUNS:
                e.nouns.add(t.lower())
            if e.gender is None and t.lower() in lx.MALE | lx.FEMALE:
                e.gender = "m" if t.lower() in lx.MALE else "f"
        entities.append(e)
    reg = Registry(entities)
    # 2. Unnamed entities: "a red fox", "the waiter", "the night train" that are the subject of a verb.
    for toks in sents:
        lows = [t.lower() for t in toks]
        for i, w in enumerate(lows):
            if lx.entity_noun(w) is None or _cap(toks[i]) and i > 0:
                continue
            w = lx.entity_noun(w)
            if i + 1 < len(toks) and (_cap(toks[i + 1]) and _word(toks[i + 1]) or lows[i + 1] in ("named", "called")):
                continue  # "his dog Pepa", "a boy named Kofi": the noun belongs to the name
            if i + 2 < len(toks) and toks[i + 1] == "," and _cap(toks[i + 2]) and reg.by_name(toks[i + 2]):
                continue  # "her pony, Canela,"
            j = i + 1
            while j < len(toks) and lows[j] in lx.ADVERBS:
                j += 1
            if not (j < len(toks) and _finite_readings(toks[j])):
                continue
            start = i
            while start > 0 and _word(toks[start - 1]) and not _closed(lows[start - 1]) and \
                    not _finite_readings(toks[start - 1]) & {"VBZ", "VBD"}:
                start -= 1
            det = lows[start - 1] if start > 0 else ""
            if det not in lx.DETERMINERS and det not in lx.POSSESSIVES:
                continue
            if reg.by_noun(w) is not None:
                continue
            adjs = [t for t in lows[start:i] if t not in lx.ENTITY_NOUNS or t == w]
            desc = " ".join(adjs + [w])
            e = Entity(id="", name="", description=f"{_article(desc).lower()} {desc}", first=order)
            order += 1
            _set_kind(e, w)
            entities.append(e)
            reg = Registry(entities)
    # 3. Ids: the declared ones, then readable ASCII slugs, unique.
    used = {e.id for e in entities if e.id}
    for e in entities:
        if e.id:
            continue
        base = ascii_slug(sorted(e.names, key=lambda n: e.name.lower().find(n))[0] if e.names else
                          (_noun_of(e.description) or e.description), "entity")
        cid, k = base, 2
        while cid in used:
            cid, k = f"{base}-{k}", k + 1
        e.id = cid
        used.add(cid)
    return Registry(entities)


def _appositive_after(toks: list[str], i: int) -> bool:
    """toks[i:] starts ", a small delivery robot," (an appositive describing the word before)."""
    return i + 1 < len(toks) and toks[i] == "," and toks[i + 1].lower() in ("a", "an", "the")


def _kind_cue(toks: list[str], start: int, end: int) -> tuple[str | None, str | None]:
    """The kind noun and description given next to a name: "his dog Pepa", "a young elephant named Tembo",
    "Bolt, a small delivery robot,", "her pony, Canela,", "the keeper Dembe"."""
    lows = [t.lower() for t in toks]
    # after: ", a small delivery robot ,"
    if _appositive_after(toks, end):
        k = end + 1
        phrase = []
        while k < len(toks) and toks[k] not in (",", ".", ";", "!", "?") and len(phrase) < 12:
            phrase.append(toks[k])
            k += 1
        noun = _noun_of(" ".join(phrase))
        if phrase:
            return noun, " ".join(phrase)
    # before: "<det> <adjs> NOUN [named|called|,] Name"
    k = start - 1
    if k >= 0 and lows[k] in ("named", "called", ","):
        k -= 1
    if k >= 0 and lx.entity_noun(lows[k]):
        noun = lx.entity_noun(lows[k])
        s = k
        while s > 0 and _word(toks[s - 1]) and not _closed(lows[s - 1]) and not _cap(toks[s - 1]):
            s -= 1
        det = lows[s - 1] if s > 0 else ""
        words = lows[s:k + 1]
        kind = lx.ENTITY_NOUNS[noun][0]
        if kind == "person":  # "her friend Jun", "the keeper Dembe": a person described by the name
            return noun, None
        art = det if det in ("a", "an") else _article(" ".join(words)).lower()
        return noun, f"{art} {' '.join(words)}"
    return None, None


@lru_cache(maxsize=None)
def _finite_readings(word: str) -> frozenset[str]:
    """Penn tags of the finite/participle verb readings of a word ("trots" → {VBZ}); empty for function words."""
    w = word.lower()
    if not w or not w[0].isalpha() or _closed(w) or w in lx.NOUN_FIRST:
        return frozenset()
    return frozenset(tag for _, tag in lx.verb_readings(w))


# Reading a sentence ------------------------------------------------------------------------------------------------

NONE_SUBJECT = "<thing>"  # a subject that is no entity ("The whistle blows")


@dataclass
class MotionEvent:
    """One verb of a scene: who does it (entity ids), in present progressive, with its object and place."""

    who: list[str]
    description: str  # "stretching legs"
    base: str  # lemma: "stretch"
    category: str  # loco, fly, swim, climb, jump, sit, lie, act
    place: str | None = None  # the place of this motion: "finish line"
    place_prep: str | None = None  # "at"
    place_phrase: str | None = None  # as written, for travelling motions: "down the track"
    target: str | None = None  # another entity acted on ("hugs Amara" → "amara")
    target_prep: str = ""  # "laughs at him" → "at"
    prop: str | None = None  # a sizeable thing acted on or with ("sits on the bench" → "bench")
    sentence: int = 0  # index of the sentence in the scene
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or slug(self.description, "motion")

    @property
    def static(self) -> bool:
        return self.base in lx.STATIC or self.category in {"sit", "lie"}


@dataclass
class SceneAnalysis:
    characters: list[str]  # ids of the entities present, in story order
    events: list[MotionEvent] = field(default_factory=list)
    place: str | None = None  # where most of the scene's motions happen: "cozy bedroom"
    place_prep: str | None = None
    time: str | None = None  # "in the morning"
    props: list[str] = field(default_factory=list)  # sizeable things acted on: ["bench"]


@dataclass
class _Chunk:
    kind: str  # "ref" (an entity reference), "np" (a noun phrase that is no entity), "pron" (unresolved), "verb"
    start: int
    end: int
    ids: list[str] = field(default_factory=list)
    plural: bool = False
    head: str = ""


class _Reader:
    """Reads a story sentence by sentence, carrying what pronouns need (recency, gender, the last subjects)."""

    def __init__(self, reg: Registry):
        self.reg = reg
        self.recent: list[str] = []  # entity ids, most recent first
        self.last_subject: list[str] = []
        self.last_plural: list[str] = []
        self.last_thing = False  # the last subject was a thing ("The kite rises. It…")
        self.place: str | None = None
        self.place_prep: str | None = None
        self.sentence_no = 0
        self.just_mentioned: set[str] = set()  # entities named in this sentence and the one before

    # Pronouns ------------------------------------------------------------------------------------------------
    def _touch(self, ids: list[str]) -> None:
        for i in reversed(ids):
            if i in self.recent:
                self.recent.remove(i)
            self.recent.insert(0, i)

    def resolve(self, pron: str, exclude: list[str] | None = None, subject: bool = True) -> list[str]:
        p = pron.lower()
        exclude = exclude or []
        ents = [self.reg.by_id[i] for i in self.recent if i in self.reg.by_id and i not in exclude]
        if p in ("they", "them", "their", "themselves"):
            if self.last_plural:
                return list(self.last_plural)
            return [e.id for e in ents if e.animate or e.kind != "thing"][:2]
        if p in ("it", "its", "itself"):
            if subject and self.last_thing:
                return [NONE_SUBJECT]
            hit = next((e for e in ents if not e.kind == "person" and e.gender is None and e.kind != "thing"), None)
            return [hit.id] if hit else [NONE_SUBJECT]
        g = "m" if p in ("he", "him", "his", "himself") else "f"
        # he/she: the most recent compatible person (gender unknown or the same); an animal or a machine only when
        # the story gave it that gender, or when no person fits.
        fits = [e for e in ents if e.gender == g or e.gender is None]
        hit = next((e for e in fits if e.kind == "person" or e.gender == g), None)
        if hit is None:
            hit = next((e for e in fits if e.kind == "animal"), None)
        if hit is not None and hit.gender is None and subject:
            hit.gender = g  # "She rolls…": from now on she is "she"
        return [hit.id] if hit else []

    def learn_gender(self, who: list[str], possessive: str) -> None:
        """"Lucía brushes her pony": the subject's own possessive tells its gender (when there is one subject)."""
        if len(who) == 1 and who[0] in self.reg.by_id and possessive in ("his", "her"):
            e = self.reg.by_id[who[0]]
            if e.gender is None:
                e.gender = "m" if possessive == "his" else "f"

    # Chunks --------------------------------------------------------------------------------------------------
    def chunks(self, toks: list[str]) -> list[_Chunk]:
        """Entity references and other noun phrases, left to right (verbs are found between them)."""
        lows = [t.lower() for t in toks]
        out: list[_Chunk] = []
        i = 0
        while i < len(toks):
            w, t = lows[i], toks[i]
            # A name (with its title): "Chef Ünal", "ARI-7", "Old Mr Haruki".
            e = self.reg.by_name(w) if _word(t) and (_cap(t) or not lx.is_known_word(w)) else None
            if e is None and _cap(t) and w in lx.TITLES and i + 1 < len(toks) and self.reg.by_name(lows[i + 1]):
                i += 1
                continue
            if e is not None:
                j = i + 1
                while j < len(toks) and _cap(toks[j]) and self.reg.by_name(lows[j]) is e:
                    j += 1
                if _appositive_after(toks, j):  # "Bolt, a small delivery robot, rolls": skip the apposition
                    k = j + 1
                    while k < len(toks) and toks[k] not in (",", ".", ";", "!", "?"):
                        k += 1
                    if k < len(toks) and toks[k] == ",":
                        j = k + 1
                out.append(_Chunk("ref", i, j, [e.id]))
                i = j
                continue
            if w in lx.SUBJECT_PRONOUNS | lx.OBJECT_PRONOUNS | lx.REFLEXIVES and not (
                    w == "her" and i + 1 < len(toks) and _word(toks[i + 1]) and not _closed(lows[i + 1])
                    and lows[i + 1] not in lx.PARTICLES):  # "her pony" is a possessive, "helps her up" not
                out.append(_Chunk("pron", i, i + 1, head=w, plural=w in ("they", "them", "we", "us")))
                i += 1
                continue
            # "The two walk", "the three of them": a group.
            if w == "the" and i + 1 < len(toks) and lows[i + 1] in lx.NUMBERS and (
                    i + 2 >= len(toks) or _finite_readings(toks[i + 2]) or lows[i + 2] in lx.ADVERBS):
                out.append(_Chunk("pron", i, i + 2, head="they", plural=True))
                i += 2
                continue
            # A noun phrase: determiner/possessive/number + words, up to a function word or a likely verb.
            if w in lx.DETERMINERS or w in lx.POSSESSIVES or w in lx.NUMBERS:
                j = i + 1
                words: list[int] = []
                # only a subject can be followed by its verb ("the two friends walk": from the article on)
                subject_slot = self._starts_clause(toks, i - 1 if i and lows[i - 1] == "the" else i)
                while j < len(toks) and _word(toks[j]) and not _closed(lows[j]) and (
                        not words or not (subject_slot and self._verb_after_np(toks, j, words))):
                    if _cap(toks[j]) and self.reg.by_name(lows[j]):
                        break
                    words.append(j)
                    j += 1
                    if lows[j - 1] in lx.ENTITY_NOUNS and j < len(toks) and _cap(toks[j]) and \
                            self.reg.by_name(lows[j]) is None and not lows[j] in lx.TITLES:
                        break
                # "her friend Jun", "the maintenance robot ARI-7", "a boy named Kofi", "her pony, Canela"
                k = j
                if k < len(toks) and lows[k] in ("named", "called"):
                    k += 1
                elif k + 1 < len(toks) and toks[k] == "," and _cap(toks[k + 1]) and self.reg.by_name(lows[k + 1]) \
                        and words and lows[words[-1]] in lx.ENTITY_NOUNS:
                    k += 1
                if k < len(toks) and _word(toks[k]) and self.reg.by_name(lows[k]) and (
                        not words or lx.entity_noun(lows[words[-1]]) or lows[words[-1]] in lx.TITLES):
                    e = self.reg.by_name(lows[k])
                    end = k + 1
                    while end < len(toks) and _cap(toks[end]) and self.reg.by_name(lows[end]) is e:
                        end += 1
                    if end < len(toks) and toks[end] == "," and k > j:  # "her pony, Canela," closes the apposition
                        end += 1
                    out.append(_Chunk("ref", i, end, [e.id]))
                    i = end
                    continue
                if not words:
                    if w in lx.NUMBERS or w == "both":  # "The two walk", "Both laugh"
                        out.append(_Chunk("pron", i, i + 1, head="they", plural=True))
                    i += 1
                    continue
                head = lows[words[-1]]
                head = lx.entity_noun(head) or head
                first = lows[words[0]]
                if head in lx.GROUP_NOUNS or (w in lx.NUMBERS and head in lx.GROUP_NOUNS | {"two", "three"}) or \
                        (w == "both" and head.endswith("s")):
                    out.append(_Chunk("pron", i, j, head="they", plural=True))
                    i = j
                    continue
                if head == "two" or (w == "the" and first in ("two", "three") and len(words) == 1):
                    out.append(_Chunk("pron", i, j, head="they", plural=True))
                    i = j
                    continue
                e = self.reg.by_noun(head) if head in lx.GENERALISATIONS or any(
                    head in x.nouns for x in self.reg.entities) else None
                if e is not None and w in ("a", "an") and e.named:
                    e = None  # "a dog" is not "his dog Pepa"
                out.append(_Chunk("ref" if e else "np", i, j, [e.id] if e else [], head=head,
                                  plural=head.endswith("s") and not head.endswith("ss") and e is None))
                i = j
                continue
            # A bare entity noun ("Together the fox and dog") or group noun without determiner: rare; skip.
            i += 1
        return out

    def _verb_after_np(self, toks: list[str], j: int, words: list[int]) -> bool:
        """Inside a noun phrase, does toks[j] start the verb ("The whistle | blows", "Its doors | slide")?"""
        tags = _finite_readings(toks[j])
        if not tags:
            return False
        w = toks[j].lower()
        prev = toks[words[-1]].lower()
        nxt = toks[j + 1].lower() if j + 1 < len(toks) else ""
        if prev in lx.ENTITY_NOUNS or prev in lx.GROUP_NOUNS:
            return True  # "The fox trots", "the children lead"
        if "VBZ" in tags or "VBD" in tags:
            return not (w in lx.ENTITY_NOUNS or w in lx.PLACES) or nxt in lx.DETERMINERS
        if ("VBP" in tags or "VB" in tags) and prev.endswith("s") and not prev.endswith("ss"):
            return nxt in lx.DETERMINERS | lx.POSSESSIVES | lx.PREPOSITIONS | lx.PARTICLES | {"", ".", ","} \
                or nxt in lx.ADVERBS
        return False

    # Sentences -----------------------------------------------------------------------------------------------
    def read(self, sentence: str, scene_present: list[str]) -> tuple[list[MotionEvent], list[str], str | None]:
        """One sentence → (motion events, entity ids mentioned, time of day)."""
        toks = tokens(sentence)
        lows = [t.lower() for t in toks]
        chunks = self.chunks(toks)
        at = {c.start: c for c in chunks}
        covered = {k for c in chunks for k in range(c.start, c.end)}
        mentioned: list[str] = []
        events: list[MotionEvent] = []
        self.just_mentioned |= {x for c in chunks if c.kind == "ref" for x in c.ids}
        time = next((lx.TIMES[w] for w in lows if w in lx.TIMES), None)
        sentence_places = self._places(toks, covered)
        # "Inside," after reaching a building: the place is that building.
        if lows[:1] == ["inside"] and self.place and self.place.split()[-1] not in lx.BUILDINGS:
            self.place, self.place_prep = "room", "in"
        subject: list[str] | None = None  # current clause subject (ids or [NONE_SUBJECT])
        state = {"last_verb_end": -1, "in_vp": False}

        def emit(at_i: int, base: str, who: list[str]) -> int:
            """The verb at toks[at_i], done by ``who``: record its event; return the index after its phrase."""
            event, j = self._phrase(toks, at_i, base, who, at, covered, sentence_places)
            state["last_verb_end"], state["in_vp"] = j, True
            if base not in lx.NON_VISUAL and who and NONE_SUBJECT not in who:
                event.sentence = self.sentence_no
                events.append(event)
                if event.target:
                    mentioned.append(event.target)
            return j

        pending_subject: tuple[list[str], bool] | None = None
        i = 0
        while i < len(toks):
            c = at.get(i)
            if c is not None:
                ids = self._ids(c, subject if state["in_vp"] else None, is_subject=not state["in_vp"] or self._starts_clause(toks, i))
                mentioned += [x for x in ids if x != NONE_SUBJECT]
                # Coordinated subjects: "Ünal and Lía", "Noor and her twin sister Aisha".
                nxt = at.get(c.end + 1) if c.end < len(toks) and lows[c.end] == "and" else None
                if nxt is not None and nxt.kind in ("ref", "pron") and not state["in_vp"]:
                    ids2 = self._ids(nxt, None, True)
                    mentioned += [x for x in ids2 if x != NONE_SUBJECT]
                    ids = [x for x in dict.fromkeys(ids + ids2) if x != NONE_SUBJECT] or [NONE_SUBJECT]
                    end = nxt.end
                    plural = True
                else:
                    end = c.end
                    plural = c.plural or len(ids) > 1
                k = end
                while k < len(toks) and (lows[k] in lx.ADVERBS or lows[k].endswith("ly") and not
                                         _finite_readings(toks[k]) - {"VB", "VBP"}):
                    k += 1
                tags = _finite_readings(toks[k]) if k < len(toks) else frozenset()
                finite = bool(tags & {"VBZ", "VBD"}) or (plural and bool(tags & {"VBP", "VB"}))
                if finite and (not state["in_vp"] or self._starts_clause(toks, c.start)):
                    subject = ids or []
                    self._subject(subject, plural, c)
                    readings = lx.verb_readings(toks[k])
                    base = next((lem for lem, tag in readings if tag in ("VBZ", "VBD")), None) or next(
                        lem for lem, tag in readings if tag in ("VBP", "VB"))
                    i = emit(k, base, subject)
                    continue
                if state["in_vp"]:
                    i = end
                    continue
                if not state["in_vp"] and subject is None and not finite:
                    pending_subject = (ids, plural)
                i = end
                continue
            w = lows[i]
            if w in lx.SUBORDINATORS or (w == "," and i + 1 < len(toks) and lows[i + 1] in ("and", "but")):
                state["in_vp"] = False  # a new clause may start
            base, tag = self._verb_at(toks, i, subject, state["in_vp"], state["last_verb_end"])
            if base is None:
                i += 1
                continue
            who = subject if subject is not None else (pending_subject[0] if pending_subject else None)
            if who is None:
                who = list(self.last_subject) or scene_present[:1]
            i = emit(i, base, who)
        self._touch(list(dict.fromkeys(mentioned)))
        self.just_mentioned = set(mentioned)
        # The place after this sentence: where it ended up ("walk … to the cabin").
        if sentence_places:
            self.place, self.place_prep = sentence_places[-1][1], sentence_places[-1][2]
        self.sentence_no += 1
        return events, list(dict.fromkeys(mentioned)), time

    def _starts_clause(self, toks: list[str], i: int) -> bool:
        """Is position i at the start of a clause (sentence start, after a subordinator, ', and', ',', ';')?"""
        if i == 0:
            return True
        k = i - 1
        while k >= 0 and toks[k].lower() in lx.ADVERBS:
            k -= 1
        if k < 0:
            return True
        p = toks[k].lower()
        return p in lx.SUBORDINATORS or p in (",", ";", ":", "and", "but", "then", "so", "that")

    def _ids(self, c: _Chunk, subject: list[str] | None, is_subject: bool) -> list[str]:
        if c.kind == "ref":
            return c.ids
        if c.kind == "np":
            return [NONE_SUBJECT]
        exclude = [] if is_subject else [x for x in (subject or []) if x != NONE_SUBJECT]
        if c.head == "they" and c.end - c.start > 1:  # "the two friends", "both sisters", "the children"
            return self._group(c)
        return self.resolve(c.head, exclude=exclude, subject=is_subject) or []

    def _group(self, c: _Chunk) -> list[str]:
        people = [i for i in self.recent if self.reg.by_id[i].kind == "person"]
        pool = people if len(people) >= 2 else [i for i in self.recent if self.reg.by_id[i].kind != "thing"]
        if self.last_plural and all(i in pool for i in self.last_plural):
            return list(self.last_plural)
        return pool[:2] if c.start >= 0 else pool

    def _subject(self, ids: list[str], plural: bool, c: _Chunk) -> None:
        real = [i for i in ids if i != NONE_SUBJECT]
        if not real:
            self.last_thing = c.kind == "np" and not c.plural
            return
        self.last_thing = False
        self.last_subject = real
        if len(real) > 1:
            self.last_plural = real
        self._touch(real)

    def _verb_at(self, toks: list[str], i: int, subject: list[str] | None, in_vp: bool,
                 last_verb_end: int) -> tuple[str | None, str | None]:
        """Is toks[i] a verb of the current clause? Returns (lemma, tag) or (None, None)."""
        tags = _finite_readings(toks[i])
        if not tags or (_cap(toks[i]) and i > 0):
            return None, None
        lows = [t.lower() for t in toks]
        prev = lows[i - 1] if i > 0 else ""
        k = i - 1
        while k >= 0 and (lows[k] in lx.ADVERBS or lows[k].endswith("ly") and not _finite_readings(toks[k])):
            k -= 1
        p = lows[k] if k >= 0 else ""
        pp = lows[k - 1] if k >= 1 else ""
        readings = lx.verb_readings(toks[i])

        def lem(*wanted: str) -> str | None:
            return next((lem for lem, tag in readings if tag in wanted), None)

        if prev in lx.DETERMINERS or prev in lx.POSSESSIVES or prev == "'s":
            return None, None
        if "VBG" in tags:
            # ", jumping and cheering", "starts dancing", "and cheering", a participle after a verb's phrase
            if p in (",", "and", "while") and subject is not None or (last_verb_end >= 0 and lx.verb_lemma(p) in
                                                                       lx.COMPLEMENT_TAKERS and k == last_verb_end - 1):
                return lem("VBG"), "VBG"
            if p in ("is", "are", "was", "were", "am", "keeps", "kept", "starts", "started", "begins", "began",
                     "stops", "stopped", "goes", "went", "continues", "continued"):
                return lem("VBG"), "VBG"
            return None, None
        if p == "to" and ("VB" in tags) and k >= 1 and (lx.verb_lemma(pp) in lx.COMPLEMENT_TAKERS or
                                                          pp in lx.PARTICLES and k >= 2 and
                                                          lx.verb_lemma(lows[k - 2]) in lx.COMPLEMENT_TAKERS):
            return lem("VB"), "VB"
        if p in ("can", "could", "will", "would", "must", "may", "might", "should", "did", "does", "do") and "VB" in tags:
            return lem("VB"), "VB"
        finite = lem("VBZ", "VBD")
        base = lem("VBP", "VB")
        plural_subject = subject is not None and len([x for x in subject if x != NONE_SUBJECT]) > 1
        if in_vp and p in ("and", ",", "then", "or") or (in_vp and p == "then" and pp == "and"):
            # coordinated verbs: the same form as a verb of the clause ("stretches … and bounces")
            if finite and not (lows[i] in lx.ENTITY_NOUNS or self._looks_like_noun_list(toks, k)):
                return finite, "VBZ"
            if base and (plural_subject or subject is None) and not self._looks_like_noun_list(toks, k):
                return base, "VBP"
            return None, None
        return None, None

    def _looks_like_noun_list(self, toks: list[str], k: int) -> bool:
        """"… grabs two plates and dishes.": toks[k] is "and" between plural nouns, not between verbs. The word after
        "and" is then followed by the end of the clause, not by an object or a particle ("and curls up")."""
        lows = [t.lower() for t in toks]
        before = lows[k - 1] if k >= 1 else ""
        word = lows[k + 1] if k + 1 < len(toks) else ""
        after = lows[k + 2] if k + 2 < len(toks) else ""
        if not before or _closed(before) or before in lx.BODY_PARTS or not (before.endswith("s") and lx.is_noun(before)):
            return False
        if not lx.is_noun(word):
            return False
        return not after or not _word(after) or after in lx.CONJUNCTIONS or (
            after in lx.PREPOSITIONS and after not in lx.PARTICLES)

    def _phrase(self, toks: list[str], i: int, base: str, who: list[str], at: dict[int, _Chunk], covered: set[int],
                places: list[tuple[int, str, str, str]]) -> tuple[MotionEvent, int]:
        """The verb at toks[i] with its particle, object and place → (event, index after the phrase)."""
        lows = [t.lower() for t in toks]
        j = i + 1
        words = [progressive(base)]
        category = lx.CATEGORIES.get(base, "act")
        # particle: "wakes up", "curls up on the rug", "takes off", "picks up the shell"
        if j < len(toks) and lows[j] in lx.PARTICLES:
            nxt = lows[j + 1] if j + 1 < len(toks) else ""
            if (not nxt or not _word(toks[j + 1]) or nxt in lx.CONJUNCTIONS or nxt in lx.PREPOSITIONS
                    or nxt in lx.ADVERBS or (base, lows[j]) in lx.TRANSITIVE_PHRASAL) and \
                    not (lows[j] in ("in", "on", "over", "around", "along") and nxt in lx.DETERMINERS):
                words.append(lows[j])
                category = lx.PHRASAL_CATEGORY.get((base, lows[j]), category)
                j += 1
        elif base == "fall" and j < len(toks) and lows[j] == "asleep":
            words.append("asleep")
            category = "lie"
            j += 1
        # object: another entity ("hugs Amara", "pats the dog"), a pronoun, or a short noun phrase
        target = prop = None
        target_prep = ""
        c = at.get(j)
        if c is not None and c.kind in ("ref", "pron") and not (c.kind == "pron" and c.head == "they"
                                                                 and c.end - c.start > 1):
            if c.kind == "ref":
                self.learn_gender(who, lows[c.start])
            ids = c.ids if c.kind == "ref" else self.resolve(c.head, exclude=who, subject=False)
            ids = [x for x in ids if x not in who and x != NONE_SUBJECT]
            if c.kind == "pron" and c.head in ("it", "its"):  # "tastes it": a thing unless an entity was just named
                ids = [x for x in ids if x in self.just_mentioned]
            if ids:
                target = ids[0]
            j = c.end
            if j < len(toks) and lows[j] in lx.PARTICLES and (base, lows[j]) in lx.TRANSITIVE_PHRASAL | {
                    ("help", "up"), ("ride", "out")}:
                j += 1
        elif c is not None and c.kind == "np":
            head = c.head
            obj = [lows[k] for k in range(c.start, c.end)]
            self.learn_gender(who, obj[0])
            if head in lx.PROPS:
                prop = head
            if lx.CATEGORIES.get(base, "act") in ("act",) or (base, words[-1]) in lx.TRANSITIVE_PHRASAL or \
                    base in ("climb", "cross", "lead", "push", "pull", "carry", "ride", "row", "chase", "follow"):
                det, rest = obj[0], obj[1:]
                if rest and rest[-1] in lx.BODY_PARTS:
                    words += rest[-1:]  # "stretching legs", "raising arms"
                elif rest and det not in lx.NUMBERS and len(rest) <= 3 and rest[-1] not in lx.PLACES:
                    art = "the" if det in ("the", "this", "that") else ("a" if det in lx.POSSESSIVES | {"a", "an"} and
                                                                       not rest[-1].endswith("s") else "")
                    if art == "a":
                        art = _article(" ".join(rest)).lower()
                    words += ([art] if art else []) + rest
            j = c.end
            # "a jar of flour": the object continues after "of"
            if j + 1 < len(toks) and lows[j] == "of" and at.get(j + 1) is not None and at[j + 1].kind == "np":
                j = at[j + 1].end
        # where: the first place phrase after the verb in this clause
        place = place_prep = phrase = None
        for (pi, p, prep, written) in places:
            if pi >= i and not any(lows[x] in lx.CONJUNCTIONS or toks[x] in ",;" for x in range(j, pi)):
                place, place_prep, phrase = p, prep, written
                break
        if place is None:  # the place named last before the verb in this sentence, else the current one
            before = [x for x in places if x[0] < i]
            if before:
                place, place_prep = before[-1][1], before[-1][2]
            elif self.place:
                place, place_prep = self.place, self.place_prep
        if place and phrase is None and place in " ".join(words):
            place = place_prep = None  # "crossing the finish line": the motion names its place already
        # a prop named with a preposition: "sits on a flat boulder", "leans against the tree"
        if prop is None:
            for k in range(j, min(len(toks), j + 6)):
                if lows[k] in lx.CONJUNCTIONS or toks[k] in ",;.":
                    break
                if k in at and at[k].kind == "np" and at[k].head in lx.PROPS and lows[k - 1] in lx.PREPOSITIONS:
                    prop = at[k].head
                    break
        # interaction with an entity named after a preposition: "barks at the door" (no), "runs to her" (target)
        if target is None:
            for k in range(j, min(len(toks), j + 4)):
                if lows[k] in lx.CONJUNCTIONS or toks[k] in ",;.":
                    break
                if k in at and lows[k - 1] in ("to", "at", "toward", "towards", "with", "after", "beside") and \
                        at[k].kind in ("ref", "pron") and at[k].head != "they":
                    ids = at[k].ids if at[k].kind == "ref" else self.resolve(at[k].head, exclude=who,
                                                                             subject=False)
                    ids = [x for x in ids if x not in who and x != NONE_SUBJECT]
                    if ids and base in lx.INTERACTIONS | {"run", "walk", "wave", "bark", "stare", "look",
                                                           "smile", "laugh", "trot", "follow", "float"}:
                        target, target_prep = ids[0], lows[k - 1]
                    break
        event = MotionEvent(who=list(who), description=" ".join(words), base=base, category=category,
                            place=place, place_prep=place_prep, place_phrase=phrase, target=target, prop=prop,
                            target_prep=target_prep)
        return event, j

    def _places(self, toks: list[str], covered: set[int]) -> list[tuple[int, str, str, str]]:
        """Every place phrase of the sentence: (index, place, preposition, phrase as written)."""
        lows = [t.lower() for t in toks]
        out = []
        for i, w in enumerate(lows):
            if w not in lx.PREPOSITIONS and lx.verb_lemma(w) not in ("reach", "enter", "cross", "climb"):
                continue
            j = i + 1
            if j < len(toks) and (lows[j] in lx.DETERMINERS or lows[j] in lx.POSSESSIVES):
                j += 1
            elif j + 1 < len(toks) and toks[j + 1] == "'s":
                j += 2  # "in Teddy's bedroom" → "in the bedroom": a place never names a character
            words: list[str] = []
            end = None
            while j < len(toks) and len(words) < 5 and _word(toks[j]) and not _closed(lows[j]) and not _cap(toks[j]):
                words.append(lows[j])
                if lows[j] in lx.PLACES or (len(words) >= 2 and (words[-2], lows[j]) in lx.PLACE_COMPOUNDS):
                    end = len(words)
                j += 1
            if end is None:
                continue
            place = " ".join(words[:end])
            prep = w if w in lx.PREPOSITIONS else "to"
            out.append((i, place, prep, f"{w} the {' '.join(words)}" if w in lx.PREPOSITIONS else f"the {place}"))
        return out


def analyse_story(texts: list[str], reg: Registry) -> list[SceneAnalysis]:
    """Read every scene of the story in order (pronouns and places carry over between scenes)."""
    reader = _Reader(reg)
    out: list[SceneAnalysis] = []
    previous: list[str] = []
    for text in texts:
        present: list[str] = []
        events: list[MotionEvent] = []
        time = None
        places: list[tuple[str, str | None]] = []
        reader.sentence_no = 0
        for sent in sentences(text):
            before = (reader.place, reader.place_prep)
            evs, mentioned, t = reader.read(sent, present or previous)
            time = time or t
            for e in evs:
                present += [x for x in e.who if x not in present]
            present += [x for x in mentioned if x not in present]
            events += evs
            places.append(before if not evs else (evs[0].place, evs[0].place_prep))
        if not present:
            present = list(previous)
        # The scene's place: where most of its motions happen, else where it starts or ends.
        counts: dict[str, int] = {}
        for e in events:
            if e.place:
                counts[e.place] = counts.get(e.place, 0) + 1
        place = max(counts, key=lambda p: (counts[p], -[e.place for e in events].index(p))) if counts else (
            reader.place)
        prep = next((e.place_prep for e in events if e.place == place), reader.place_prep)
        order = {e.id: e.first for e in reg.entities}
        chars = sorted(dict.fromkeys(present), key=lambda x: order.get(x, 1 << 30))
        props = list(dict.fromkeys(e.prop for e in events if e.prop))
        out.append(SceneAnalysis(characters=chars, events=events, place=place, place_prep=prep, time=time,
                                 props=props))
        previous = chars
    return out


def categorize(description: str) -> tuple[str, str]:
    """(base verb, layout category) of a motion description such as "lying down" or "waving hands"."""
    words = description.lower().split()
    base = lemma(words[0]) if words else None
    if base is None:
        return (words[0] if words else ""), "act"
    if len(words) > 1 and (base, words[1]) in lx.PHRASAL_CATEGORY:
        return base, lx.PHRASAL_CATEGORY[(base, words[1])]
    return base, lx.CATEGORIES.get(base, "act")


def infer_main_character(text: str) -> Character:
    """The main character of a story without front matter (the first character the planner finds), else a
    generic "person"."""
    reg = discover_entities([text], [])
    chars = [e for e in reg.entities if e.named] or reg.entities
    if not chars:
        return Character(id="person", name="the person", description="a person", token="[v1]")
    e = chars[0]
    return Character(id=e.id, name=e.name, description=e.description, token="[v1]")


# Scenes ----------------------------------------------------------------------------------------------------------


def split_scenes(text: str, min_scenes: int, max_scenes: int) -> list[str]:
    """Paragraphs → scenes: split the longest paragraph (by sentences) until there are enough, merge the shortest
    neighbours until there are not too many. Fewer than ``min_scenes`` only when the story has fewer sentences."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    groups = [sentences(p) for p in paragraphs]
    groups = [g for g in groups if g]
    while len(groups) < min_scenes:
        longest = max(range(len(groups)), key=lambda i: (len(groups[i]), -i))
        g = groups[longest]
        if len(g) < 2:
            break
        half = (len(g) + 1) // 2
        groups[longest:longest + 1] = [g[:half], g[half:]]
    while len(groups) > max_scenes:
        pair = min(range(len(groups) - 1), key=lambda i: (len(groups[i]) + len(groups[i + 1]), i))
        groups[pair:pair + 2] = [groups[pair] + groups[pair + 1]]
    return [" ".join(g) for g in groups]


# The planner -----------------------------------------------------------------------------------------------------


def _registry_from_outline(outline: Outline) -> Registry:
    entities = [entity_from_character(c, i) for i, c in enumerate(outline.characters)]
    entities += [entity_from_object(o, len(entities) + i) for i, o in enumerate(outline.objects)]
    return Registry(entities)


@lru_cache(maxsize=32)
def _analyse_cached(texts: tuple[str, ...], key: str, outline_json: str) -> list[SceneAnalysis]:
    outline = Outline.model_validate_json(outline_json)
    return analyse_story(list(texts), _registry_from_outline(outline))


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
        declared = [Character(id=c.id, name=c.name, description=c.description, token=c.token,
                              reference_images=[f"refs/{c.id}/{p.name}" for p in c.images])
                    for c in story.characters]
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
        return Outline(title=story.title, story=story.text, characters=characters, objects=objects,
                       motions=list(motions.values()), scenes=scenes)

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
        a = _analyse_cached(texts, "v1", outline.model_dump_json(include={"characters", "objects"} | {"scenes"}))[idx]
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
        for mid in scene.motions:  # a motion the narration no longer shows (hand edit): give it to the first one
            if drawn and not any(mid == e.id for evs in per.values() for e in evs):
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


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[:2] in ("A ", "An") else s


def _who(char: Character | None, obj: ObjectEntity | None, ent: Entity | None) -> str:
    """How a caption names an entity: "A [v1] red fox", "[v2] Ünal", "A gull"."""
    if char is not None:
        desc = _strip_article(char.description)
        return f"A {char.token} {desc}" if desc[:1].islower() else f"{char.token} {desc}"
    desc = _strip_article(obj.description if obj else (ent.description if ent else "thing"))
    return f"{_article(desc)} {desc}" if desc[:1].islower() else desc


def _background(a: SceneAnalysis) -> str:
    """A global background that names no character: "A cozy bedroom in the morning."."""
    if a.place:
        article = "The" if a.place.split()[-1] in lx.UNIQUE_PLACES else _article(a.place)
        text = f"{article} {a.place}"
        return f"{text} {a.time}." if a.time else f"{text}."
    return f"An everyday scene {a.time}." if a.time else "An everyday scene."


def where(place: str | None, prep: str | None = None, category: str = "act") -> str | None:
    """The place phrase of a caption: "in the cozy bedroom", "on the moon", "by the pond", "in the sea" (swimming).

    Uses the story's own preposition when it describes being somewhere (in, on, by…), not going ("into", "to")."""
    if not place:
        return None
    words = place.split()
    heads = {words[-1], "-".join(words[-2:])}
    if category == "swim" and heads & lx.WATER_PLACES:
        prep = "in"
    elif prep not in STATIC_PREPS:
        prep = "on" if heads & lx.ON_PLACES else "by" if heads & lx.WATER_PLACES else "in"
    return f"{prep} the {place}"


STATIC_PREPS = frozenset("in on at by near inside beside under".split())
TRAVEL_PREPS = frozenset("through into across along down up to toward towards around over past out onto".split())


def _where_caption(ev: MotionEvent, place: str | None, prep: str | None) -> str | None:
    if ev.place and ev.place_prep in TRAVEL_PREPS and ev.category in TRAVELLING | {"climb"} and ev.place_phrase:
        return ev.place_phrase
    if ev.place:
        return where(ev.place, ev.place_prep, ev.category)
    return where(place, prep, ev.category)


def allocate(motions: list[MotionEvent], k: int) -> list[int]:
    """Key frames per motion, in order: 2 each, the rest to dynamic motions first (static ones get fewer)."""
    if not motions:
        return []
    if k < 2 * len(motions):
        counts = [k // len(motions)] * len(motions)
        for i in range(k % len(motions)):
            counts[i] += 1
        return counts
    counts = [2] * len(motions)
    dynamic = [i for i, m in enumerate(motions) if not m.static]
    receivers = dynamic or list(range(len(motions)))
    for r in range(k - 2 * len(motions)):
        counts[receivers[r % len(receivers)]] += 1
    return counts


# Box families per entity kind: (width as a fraction of the lane, widest absolute width, top, bottom).
SHAPES: dict[str, tuple[float, float, float, float]] = {
    "person": (0.6, 0.6, 0.0, 1.0), "robot": (0.6, 0.45, 0.3, 1.0), "small": (0.8, 0.4, 0.55, 1.0),
    "large": (0.7, 0.6, 0.2, 1.0), "bird": (0.6, 0.3, 0.05, 0.4), "drone": (0.5, 0.3, 0.05, 0.35),
    "vehicle": (0.95, 0.9, 0.35, 0.95), "prop": (0.6, 0.35, 0.6, 1.0),
}
MIN_SIDE = 0.2
TRAVELLING = frozenset({"loco", "fly", "swim"})  # the box moves sideways (larger displacement is allowed)
TRAVEL = 0.3  # how far a travelling box moves over one motion, as a fraction of the lane width


# Relative lane width per box family: a train needs more room than a gull.
LANE_WEIGHT = {"person": 1.0, "robot": 0.9, "small": 0.8, "large": 1.2, "bird": 0.6, "drone": 0.6, "vehicle": 1.5,
               "prop": 0.5}


def _lanes(entities: list[tuple[str, str]], min_side: float) -> dict[str, tuple[float, float]]:
    """Side-by-side lanes in story order, widths by box family, each at least min_side wide (with a small gap
    between lanes when there is room)."""
    n = len(entities)
    if n == 1:
        return {entities[0][0]: (0.0, 1.0)}
    gap = 0.01 if 1.0 / n - 0.02 >= min_side else 0.0
    weights = [LANE_WEIGHT.get(shape, 1.0) for _, shape in entities]
    widths = [w / sum(weights) for w in weights]
    # lanes narrower than min_side + 2·gap take what they need from the widest ones
    need = min_side + 2 * gap
    for _ in range(n):
        short = [i for i, w in enumerate(widths) if w < need - 1e-9]
        if not short:
            break
        deficit = sum(need - widths[i] for i in short)
        for i in short:
            widths[i] = need
        rich = [i for i in range(n) if i not in short]
        total = sum(widths[i] - need for i in rich) or 1.0
        for i in rich:
            widths[i] -= deficit * (widths[i] - need) / total
    out, x = {}, 0.0
    for (cid, _), w in zip(entities, widths):
        out[cid] = (x + gap, min(1.0, x + w) - gap)
        x += w
    return out


def _vertical(shape: str, category: str, top: float, bottom: float) -> tuple[float, float]:
    """The box's top and bottom for an entity of this shape doing a motion of this category."""
    h = bottom - top
    if category == "fly":
        return 0.0, max(MIN_SIDE, min(h, 0.6))
    if category == "swim":
        return 0.2, 0.2 + max(MIN_SIDE, min(h, 0.7))
    if shape == "bird":  # a bird that does not fly stands on the ground
        return 0.65, 0.95
    if category == "sit" and shape not in ("drone", "vehicle"):
        return min(top + 0.25, 0.8), bottom
    if category == "lie":
        return max(top, 1.0 - max(MIN_SIDE, h * 0.5)) - 0.05, 0.95
    return top, bottom


def _track(cid: str, who: str, shape: str, motions: list[MotionEvent], lane: tuple[float, float], k: int,
           place: str | None, prep: str | None, descriptions: dict[str, str], reg: Registry,
           min_side: float) -> list[Region]:
    """One region per key frame for one entity: its motions in order, each held for its allocated frames."""
    lo, hi = lane
    lane_w = hi - lo
    frac, widest, top, bottom = SHAPES.get(shape, SHAPES["person"])
    if lane_w > 0.99:  # alone in the frame: the main entity is large (METHOD.md A.2, "[0.2, 0, 0.8, 1]")
        widest = max(widest, 0.6)
        top = {"person": 0.0, "large": 0.0, "robot": 0.0, "small": 0.3, "vehicle": 0.2}.get(shape, top)
    segments = list(zip(motions, allocate(motions, k))) or [(None, k)]
    boxes: list[tuple[float, float, float, float]] = []
    regions: list[Region] = []
    first = segments[0][0]
    cx = lo + lane_w / 2
    if first is not None and first.category in TRAVELLING:
        cx -= TRAVEL * lane_w / 2  # a scene that opens with locomotion crosses the centre, left to right
    for motion, count in segments:
        category = motion.category if motion else "act"
        if category == "lie":
            w = min(lane_w, max(min_side, min(0.85 * lane_w, widest * 1.5)))
        else:
            w = min(lane_w, max(min_side, min(frac * lane_w, widest)))
        y0, y1 = _vertical(shape, category, top, bottom)
        cx = min(max(cx, lo + w / 2), hi - w / 2)
        travel, direction = 0.0, 1.0
        if category in TRAVELLING:
            room_right, room_left = (hi - w / 2) - cx, cx - (lo + w / 2)
            direction = 1.0 if room_right >= room_left else -1.0
            travel = min(TRAVEL * lane_w, max(room_right, room_left))
        for f in range(count):
            t = f / (count - 1) if count > 1 else 1.0
            x = cx + direction * travel * t
            b0, b1 = y0, y1
            if category == "climb":  # rises by 0.2 over the motion
                b0, b1 = max(0.0, y0 - 0.2 * t), y1 - 0.2 * t if y0 - 0.2 * t >= 0 else y1 - y0 + max(0.0, y0 - 0.2 * t)
            elif category == "jump" and f % 2 == 1:
                b0, b1 = max(0.0, y0 - 0.1), max(min_side, y1 - 0.1)
            box = (x - w / 2, b0, x + w / 2, b1)
            if f == 0 and boxes and max(abs(a - b) for a, b in zip(box, boxes[-1])) > 0.25:
                box = tuple((a + b) / 2 for a, b in zip(box, boxes[-1]))  # ease a posture change over one frame
            boxes.append(_clean(box, min_side))
            if motion is None:
                at = where(place, prep)
                caption = f"{who} {at}" if at else who
            else:
                at = _where_caption(motion, place, prep)
                detail = ""
                if motion.target and motion.target in reg.by_id:  # the other one, described without its token
                    t = reg.by_id[motion.target]
                    desc = _strip_article(t.description)
                    detail = " ".join(x for x in (motion.target_prep, f"the {desc}" if desc[:1].islower() else desc)
                                      if x)
                caption = " ".join(x for x in (f"{who} is {motion.description}", detail, at) if x)
            regions.append(Region(entity=cid, motion=motion.id if motion else NO_MOTION, caption=caption,
                                  box=boxes[-1]))
        cx = cx + direction * travel
    return regions


def _close_in(a: tuple[float, ...], b: tuple[float, ...], min_side: float) -> tuple[tuple, tuple]:
    """Bring two boxes together for an interaction: they overlap by a fifth of the narrower one."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a, b
    overlap = 0.2 * min(ax1 - ax0, bx1 - bx0)
    if ax0 <= bx0:  # a on the left: move both towards the middle of the gap
        gap = bx0 - ax1 + overlap
        return (_clean((ax0 + gap / 2, ay0, ax1 + gap / 2, ay1), min_side),
                _clean((bx0 - gap / 2, by0, bx1 - gap / 2, by1), min_side))
    gap = ax0 - bx1 + overlap
    return (_clean((ax0 - gap / 2, ay0, ax1 - gap / 2, ay1), min_side),
            _clean((bx0 + gap / 2, by0, bx1 + gap / 2, by1), min_side))


def _clean(box: tuple[float, ...], min_side: float = MIN_SIDE) -> tuple[float, float, float, float]:
    """Round to 3 decimals inside [0, 1]; rounding never leaves a side below min_side."""
    x0, y0, x1, y1 = (round(min(1.0, max(0.0, v)), 3) for v in box)
    if x1 - x0 < min_side:
        x0, x1 = (x0, round(x0 + min_side + 0.001, 3)) if x0 + min_side + 0.001 <= 1 else (
            round(x1 - min_side - 0.001, 3), x1)
    if y1 - y0 < min_side:
        y0, y1 = (y0, round(y0 + min_side + 0.001, 3)) if y0 + min_side + 0.001 <= 1 else (
            round(y1 - min_side - 0.001, 3), y1)
    return x0, y0, x1, y1
