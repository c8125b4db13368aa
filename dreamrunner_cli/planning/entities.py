"""Entities of the built-in planner: who acts in the story, and the words that refer to them (names in any script,
definite descriptions, groups). Pronouns are resolved while reading (planning/reading.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..schema import Character, ObjectEntity
from . import lexicon as lx
from .text import (
    MODIFIER_PREPS,
    W,
    _appositive_after,
    _article,
    _cap,
    _closed,
    _finite_readings,
    _home_side,
    _name_runs,
    _word,
    ascii_slug,
    caseless,
    compound_head,
    in_as_if_clause,
    interrupter,
    pp_end,
    sentences,
    tokens,
    without_speech,
)

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
    group: bool = False  # several individuals with one box: "the band", "three kids"
    plural: bool = False  # referred to in the plural ("the kids climb"; "the band climbs" is singular)
    since: int = 0  # the sentence of the story that first names it
    count: int | None = None  # how many a group was said to be ("Twelve small dancers" → 12)
    introduced: int | None = None  # the sentence whose "a nurse" is it, named in the next ("She was called Odile")

    @property
    def animate(self) -> bool:
        return self.kind in ("person", "animal")


def _noun_of(description: str) -> str | None:
    """The head noun of a description: "a small silver robot toy" → "robot" (the first entity noun), "a grey
    tabby cat" → "cat"."""
    words = [w.lower() for w in re.findall(rf"{W}+(?:-{W}+)*", re.split(r"\s+(?:with|in|who|wearing|from|of|named|called)\s+",
                                                             description)[0])]
    hits = [n for n in (lx.entity_noun(w) for w in words) if n]
    return hits[-1] if hits else None


def _set_kind(e: Entity, noun: str | None) -> None:
    if noun and noun in lx.ENTITY_NOUNS:
        e.kind, e.shape = lx.ENTITY_NOUNS[noun]
        e.nouns |= lx.GENERALISATIONS.get(noun, {noun})
        if e.gender is None:
            e.gender = "m" if noun in lx.MALE else "f" if noun in lx.FEMALE else None


def _group_noun_of(description: str) -> str | None:
    """The group word of a group's description: "a group of kids" → "kids", "a jazz band" → "band"."""
    m = re.search(r"\bgroup of (?:\w+ )*?(\w+)\s*$", description.lower())
    if m and lx.group_of(m.group(1)):
        return m.group(1)
    words = re.findall(r"\w+", description.lower())
    return words[-1] if words and words[-1] in lx.COLLECTIVE_NOUNS else None


def make_group(e: Entity, word: str) -> None:
    """Make ``e`` the group that ``word`` names ("kids", "band"): one entity, one wide box, "they" in the plural."""
    kind, _singular = lx.group_of(word) or ("person", word)
    e.kind, e.shape, e.group = kind, "group", True
    e.plural = word not in lx.COLLECTIVE_NOUNS or word in ("people", "fans", "spectators", "villagers", "passengers")
    e.nouns |= {word}


def entity_from_character(c: Character, order: int) -> Entity:
    e = Entity(id=c.id, name=c.name, description=c.description, declared=True, named=bool(c.name), token=c.token,
               first=order)
    words = [w for w in re.findall(rf"{W}+(?:-{W}+)*", c.name) if _cap(w)]
    e.names = {w.lower() for w in words if w.lower() not in lx.TITLES}
    if len(e.names) == 1 and len(words) > 1 and lx.entity_noun(next(iter(e.names))) in e.names:
        e.names = {" ".join(w.lower() for w in words)}  # "Mama Bear" is not "Little Bear": the whole name
    e.names.add(c.id.lower())
    titles = [w.lower() for w in words if w.lower() in lx.MALE | lx.FEMALE]
    _set_kind(e, _noun_of(c.description))
    if _group_noun_of(c.description):
        make_group(e, _group_noun_of(c.description))
    for w in re.findall(rf"{W}+", c.name):  # "Chef Ünal": the title is a noun for "the chef"
        if w.lower() in lx.TITLES and w.lower() in lx.ENTITY_NOUNS:
            e.nouns.add(w.lower())
    if e.gender is None and titles:  # "Mama Bear", "Mr. Pike": as when the story was first read
        e.gender = "m" if titles[0] in lx.MALE else "f"
    return e


def entity_from_object(o: ObjectEntity, order: int) -> Entity:
    noun = _noun_of(o.description) or o.id
    e = Entity(id=o.id, name="", description=o.description or o.id, first=order)
    if _group_noun_of(o.description or o.id):
        make_group(e, _group_noun_of(o.description or o.id))
    elif noun in lx.ENTITY_NOUNS:
        _set_kind(e, noun)
    elif noun not in lx.PROPS and (o.description or "").count(" ") == 1:
        # "a center": an acting entity outside the lexicon, which the planner found as a person ("who sprints")
        e.kind, e.shape, e.nouns = "person", "person", {noun}
    else:
        e.kind, e.shape = "thing", "prop"
        e.nouns = {noun}
    return e



class Registry:
    """The story's entities and the ways of naming them."""

    def __init__(self, entities: list[Entity]):
        self.entities = entities
        self.by_id = {e.id: e for e in entities}

    def by_name(self, word: str) -> Entity | None:
        w = word.lower()
        return next((e for e in self.entities if w in e.names), None)

    def name_at(self, lows: list[str], i: int) -> tuple[Entity, int] | None:
        """A name of several words that starts at lows[i] ("mama bear", "little bear"): (entity, index after it)."""
        for e in self.entities:
            for n in e.names:
                parts = n.split()
                if len(parts) > 1 and lows[i:i + len(parts)] == parts:
                    return e, i + len(parts)
        return None

    def by_noun(self, noun: str, now: int | None = None) -> Entity | None:
        """The entity a definite description names: the one whose own noun it is, else a generalisation. None when
        two entities have that noun as their own ("the bear" with Mama Bear and Little Bear): a guess could be
        wrong. ``now``, the story's sentence being read, leaves out one the story has not brought in yet."""
        n = noun.lower()
        ents = [e for e in self.entities if e.kind != "thing"]  # props are found by _phrase, not as referents
        exact = [e for e in ents if n in e.nouns and (_noun_of(e.description) == n or not e.named)]
        if now is not None and len(exact) > 1 and any(e.since <= now for e in exact):
            exact = [e for e in exact if e.since <= now]  # ("A vain jay … an old jay named Corvin": not Corvin)
        own = [e for e in exact if not e.group and _noun_of(e.description) == n]
        if len(exact) > 1 and len(own) == 1:
            exact = own  # "the ewe": the one ewe, not the flock
        if len(exact) > 1:
            return None
        hits = exact or [e for e in ents if n in e.nouns]
        if now is not None and len(hits) > 1 and any(e.since <= now for e in hits):
            hits = [e for e in hits if e.since <= now]  # ("a peacock … the bird … an old peacock named Sultan")
        return hits[0] if len(hits) >= 1 else None


class _Found:
    """The entities found so far, in order of first mention, and a registry over the same list."""

    def __init__(self, entities: list[Entity]):
        self.entities = entities
        self.reg = Registry(entities)
        self.order = len(entities)  # first mentions counted, including any an entity later merged away

    def add(self, e: Entity) -> None:
        e.first, self.order = self.order, self.order + 1
        self.entities.append(e)


def discover_entities(texts: list[str], declared: list[Character]) -> Registry:
    """Find every acting entity of the story (see the module docstring). ``texts`` are the scenes' texts."""
    found = _Found([entity_from_character(c, i) for i, c in enumerate(declared)])
    sents = [tokens(without_speech(s)) for t in texts for s in sentences(t)]  # "Hey!" is no name
    # 1. Names: capitalised words that are not function words, places or sentence-initial common words.
    mid_caps = _names_written_mid_sentence(sents)
    _add_named(found, _name_candidates(sents, found.reg, mid_caps), mid_caps, sents)
    _kinds_of_listed_names(sents, found.reg)
    _kinds_of_the_ones(sents, found.reg)
    _plural_names(sents, found)
    _kin_of_animals(sents, found.reg)
    _kinds_of_partners(sents, found.reg)
    _roles_of_names(sents, found.reg)
    # 2. Unnamed entities: "a red fox", "the waiter", "the night train" that are the subject of a verb.
    toys = _toy_nouns(sents)
    kin = _kin_pairs(sents, found.reg)
    for si, toks in enumerate(sents):
        for i in range(len(toks)):
            m = _noun_at(found, sents, si, i)
            if m is None or not _in_its_phrase(found, sents, m) or not _with_determiner(found, m, toys) or \
                    not _acts(m):
                continue
            if not _already_found(found, sents, m, kin):
                _add_unnamed(found, m)
                kin = _kin_pairs(sents, found.reg)  # ("A miller and his son": a pair of two found by their nouns)
    _kin_named_bare(sents, kin)
    _driven_are_vehicles(sents, found.entities)
    _members_of_collectives(sents, found.entities)
    # 3. Ids: the declared ones, then readable ASCII slugs, unique.
    _assign_ids(found.entities)
    return Registry(found.entities)


def _adjective_opener(toks: list[str]) -> bool:
    """The sentence opens with an adjective saying how its subject is: "Curious, the fawn sniffs" (not a name with
    its apposition, "Ruby, the youngest, waved", nor a list of names, "Ruby, Otis and Anjali set up")."""
    if not (len(toks) > 3 and toks[1] == "," and toks[2].lower() in ("a", "an", "the") and lx.is_adjective(toks[0])):
        return False
    verb = next((x for x in range(3, len(toks)) if _finite_readings(toks[x]) & {"VBZ", "VBD"}), len(toks))
    return "," not in toks[3:verb]


def _names_written_mid_sentence(sents: list[list[str]]) -> set[str]:
    """Lower-case words the story capitalises where a name would be: inside a sentence, or a known word that only
    ever starts sentences but acts there twice."""

    mid_caps: set[str] = set()
    for toks in sents:
        for i, t in enumerate(toks):
            if i > 0 and _word(t) and _cap(t) and toks[i - 1] not in (".", "!", "?"):
                mid_caps.add(t.lower())
    # A name that is also an English word and only ever starts a sentence ("Bramble curls up. Bramble peeks out."):
    # a name when the story never writes it in lower case and it is the subject of a verb in two sentences, or
    # is introduced as an entity ("Bramble is a little hedgehog").
    lower_words = {t for toks in sents for t in toks if _word(t) and not _cap(t)}
    initial: dict[str, int] = {}
    for toks in sents:
        if len(toks) > 1 and _cap(toks[0]) and _word(toks[0]) and not _closed(toks[0].lower()) and \
                toks[0].lower() not in lower_words and lx.is_known_word(toks[0]) and not _adjective_opener(toks) and (
                _finite_readings(toks[1]) & {"VBZ", "VBD"} or _kind_cue(toks, 0, 1)[0] or
                # "Hazel and her brother Kacper cycled", "Hazel and Kacper laughed": coordinated with a person
                toks[1].lower() in ("and", ",") and len(toks) > 2 and (toks[2].lower() in ("his", "her") or
                                                                       _cap(toks[2]) and toks[2].lower() in mid_caps)):
            initial[toks[0].lower()] = initial.get(toks[0].lower(), 0) + (2 if _kind_cue(toks, 0, 1)[0] else 1)
        elif len(toks) > 4 and _cap(toks[0]) and _word(toks[0]) and lx.is_known_word(toks[0]) and \
                toks[0].lower() not in lower_words and _appositive_after(toks, 1) and any(
                    toks[c] == "," and c + 1 < len(toks) and _finite_readings(toks[c + 1]) & {"VBZ", "VBD"}
                    for c in range(3, min(len(toks), 8))):
            # "Biscuit, the grey one, races under the bed": a word set apart by an apposition, then its verb
            initial[toks[0].lower()] = initial.get(toks[0].lower(), 0) + 2
    mid_caps |= {w for w, n in initial.items() if n >= 2 and not lx.group_of(w)}
    return mid_caps


def _name_candidates(sents: list[list[str]], reg: Registry, mid_caps: set[str]) -> dict[str, dict]:
    """Runs of capitalised words that may be names, by their first word (lower case), with what the story says
    around them: mentions, after a place preposition, followed by a verb, a kind cue, a title."""
    candidates: dict[str, dict] = {}  # first name token (lower) → info
    # "Mr. Dunmore … Mrs. Dunmore": a surname the story gives to a man and to a woman names two people
    honorifics: dict[str, set[str]] = {}
    for toks in sents:
        for k in range(len(toks) - 1):
            g = {"mr": "m", "mister": "m", "mrs": "f", "ms": "f", "miss": "f"}.get(toks[k].lower().rstrip("."))
            if g and _cap(toks[k + 1]):
                honorifics.setdefault(toks[k + 1].lower(), set()).add(g)
    two_people = {name for name, gs in honorifics.items() if len(gs) == 2}
    for si, toks in enumerate(sents):
        lows = [t.lower() for t in toks]
        for start, end in _name_runs(toks):
            words = toks[start:end]
            # sentence-initial common words ("Inside", "Together", "Suddenly", "The") are not names
            while words and start == 0 and not (words[0].lower() in lx.TITLES and len(words) > 1) and (
                    _closed(words[0].lower()) or (
                    lx.is_known_word(words[0]) and words[0].lower() not in mid_caps
                    # ("Curious, the fawn sniffs": an adjective, not a name with its apposition)
                    and not (_appositive_after(toks, start + 1) and not _adjective_opener(toks))
                    and not (len(words) == 1 and words[0].lower() in lx.KINSHIP and end < len(toks) and
                             _finite_readings(toks[end]) & {"VBD", "VBZ"})  # ("Mum took the phone": a name)
                    and words[0].lower() not in candidates)):
                words, start = words[1:], start + 1
            title = [w for w in words if w.lower() in lx.TITLES]
            run_start = start  # "The vet, Dr. Okoro,": the kind cue is before the title
            while words and words[0].lower() in lx.TITLES and len(words) > 1:
                words = words[1:]
                start += 1
            words = [w for w in words if not _closed(w.lower())]
            if not words or words[0].lower() in lx.TITLES and len(words) == 1 and start > 0 and \
                    lows[start - 1] in lx.DETERMINERS:
                continue
            prev = lows[start - 1] if start > 0 else ""
            before = lows[start - 2] if start > 1 else ""
            if title and run_start > 0 and lows[run_start - 1] == "that":
                prev, before = "that", lows[run_start - 2] if run_start > 1 else ""  # "that Mr. Mabry had taken"
            # "the blue Earth": after a determiner and a modifier that is not a kind noun → not a name
            relative_subject = prev == "that" and start + len(words) < len(toks) and (
                lows[start + len(words)] in ("had", "has", "was", "is") or
                _finite_readings(toks[start + len(words)]) & {"VBD", "VBZ"})  # "the cake that Aziz had baked"
            if prev and not lx.entity_noun(prev) and prev not in ("named", "called", ",") and not relative_subject and (
                    prev in lx.DETERMINERS or prev in lx.POSSESSIVES or before in lx.DETERMINERS | lx.POSSESSIVES) \
                    and not (prev == "the" and before in lx.NAMING) \
                    and prev not in lx.TIME_NOUNS and prev not in lx.TIMES:  # "a ship called the Mary Rose",
                # "One morning Kevin": not "the blue Earth"
                continue
            if _thing_named(lows, start):
                continue  # "On the orbiting laboratory Hesperus": the laboratory's name, no one
            if len(words) > 1 and (words[0].lower() in lx.NAME_MONTHS and (
                    prev in lx.MONTH_TIME_WORDS or prev in ("late", "early", "mid")) or
                                   words[0].lower() in lx.WEEKDAYS):
                # "In late August Grandpa Elias strolled", "On Monday Halina buttons": the time, then the name
                words, start, prev = words[1:], start + 1, words[0].lower()
                title = [w for w in words if w.lower() in lx.TITLES]
            titled = any(t.lower() not in lx.NAME_ADJECTIVES | {"saint", "st"} for t in title)
            if any(w.lower() in lx.PLACES and not titled or (w.lower(), "") in lx.PLACE_COMPOUNDS or
                   w.lower() in lx.NOT_NAMES or w.lower() in lx.NUMBER_WORDS for w in words):
                continue  # "to Lisbon", "spent Saturday at the farm" (but "Grandmother Park", "Mr. Field": a name)
            if words[0].lower() in lx.NAME_MONTHS and len(words) == 1 and (prev in lx.MONTH_TIME_WORDS or (
                    start + 1 < len(toks) and toks[start + 1][:1].isdigit())):
                continue  # "Last August, Ignatius", "in June", "May 3rd": a month, not April or June the person
            if [w.lower() for w in words[-2:]] == ["new", "year"] or \
                    lows[start + len(words):start + len(words) + 2] == ["new", "year"]:
                continue  # "before Chinese New Year", "Lunar New Year": a feast
            if words[-1].lower() in ("day", "eve", "night") and (len(words) > 1 or prev == "'s") or \
                    words[0].lower() in lx.COLLECTIVE_NOUNS or \
                    start + len(words) < len(toks) and lows[start + len(words)] == "day":
                continue  # "On Arbor Day", "New Year's Day", "Class 4B planted": a holiday, a group's name (found as
                # the group)
            if prev in ("after", "before") and before in lx.TIME_NOUNS | {"day", "night", "week", "evening",
                                                                         "morning"} and \
                    start + len(words) < len(toks) and toks[start + len(words)] == ",":
                continue  # "The day after Yom Kippur, עמרי …": a feast or a date, no one
            key = words[0].lower()
            after = start + len(words)
            if len(words) == 1 and not title and after + 1 < len(toks) and lows[after] in lx.NAMING and \
                    _cap(toks[after + 1]) and (lx.is_known_word(words[0]) or key in lx.ENTITY_NOUNS or any(
                        lows[x] in ("a", "an") for x in range(max(0, start - 4), start))):
                continue  # "a calm, soft-spoken Norwegian called Henrike Solberg": what she is, then her name
            if title and len(words) == 1 and (lx.entity_noun(key) == key or key in two_people) and title != words:
                key = " ".join(w.lower() for w in title + words)  # "Mama Bear", "Little Bear": the whole name
            if reg.by_name(key) is not None:
                continue
            info = candidates.setdefault(key, {"words": words, "title": title, "kind": None, "desc": None,
                                              "mentions": 0, "after_place_prep": 0, "first": (si, start),
                                              "verb_next": 0})
            info["mentions"] += 1
            # "Two little cousins, يوسف and Amira, sneak in": listed with a name, it is a name too (or with another
            # caseless word, named as people: "His daughters, 芽依 and 美月, kneel")
            beside = [after + 1] if after + 1 < len(toks) and lows[after] == "and" else []
            beside += [start - 2] if start >= 2 and lows[start - 1] == "and" else []
            first = start if beside and beside[0] == after + 1 else start - 2
            people_named = first >= 2 and toks[first - 1] == "," and \
                (lx.group_of(lows[first - 2]) or ("",))[0] == "person"  # ("His daughters, 芽依 and 美月, kneel")
            if caseless(key) and any(toks[x][:1].isupper() and toks[x] != "I" and (
                    not lx.is_known_word(toks[x]) or toks[x].lower() in mid_caps) or
                                     people_named and caseless(toks[x]) for x in beside):
                info["listed"] = True
            nxt = toks[start + len(words)] if start + len(words) < len(toks) else ""
            if prev in ("in", "into", "to", "from", "toward", "towards", "through", "across", "of", "on", "above",
                        "below", "beneath", "outside", "beyond", "off") or prev in lx.BUILDINGS or \
                    prev in ("late", "early", "mid") and before in lx.PREPOSITIONS or (  # "in late April": a month
                    # "across eastern Nepal", "in rural Kenya": a place after its adjective
                    before in ("in", "into", "to", "from", "through", "across", "of") and (
                        lx.is_adjective(prev) and not lx.is_noun(prev) or prev in lx.PLACE_ADJECTIVES) and
                    prev not in lx.NAME_ADJECTIVES | lx.NAME_MONTHS | {
                        "late", "early", "mid"}) or (
                    start + len(words) < len(toks) and toks[start + len(words)][:1].isdigit()) or \
                    prev == "at" and before in lx.PLACES or (prev == "at" and nxt == "," or prev == "near") and (
                        start == 1 or start >= 3 and toks[start - 3].lower() in lx.DETERMINERS and
                        not lx.entity_noun(before) and not _finite_readings(before)) or (  # "on the beach at
                    # Dunmore", "on Kerrow-4"
                    # ("In the boatyard at Sur, يوسف", "At Sur, …": a place before the comma; "a farmhouse near
                    # Uppsala")
                    prev in lx.PREPOSITIONS and nxt[:1].islower() and _word(nxt) and not _closed(nxt) and
                    nxt not in lx.ADVERBS and not nxt.endswith("ly") and not lx.entity_noun(nxt) and
                    not _finite_readings(nxt) & {"VBZ", "VBD", "VBG", "VBN"}):  # "at Oakfield airfield", "at
                # Brookfield harbour": the name of a place or a thing (not "to Torquil, her cousin": someone)
                kin_after = lows[start + len(words):start + len(words) + 3]
                if not (len(kin_after) == 3 and kin_after[0] == "," and kin_after[1] in lx.POSSESSIVES and
                        lx.ENTITY_NOUNS.get(lx.entity_noun(kin_after[2]) or "", ("",))[0] in ("person", "animal")):
                    info["after_place_prep"] += 1
            after = start + len(words)
            if _finite_readings(nxt) or lows[after:after + 2] in (["who"], [",", "who"]) or (
                    prev == "," and nxt == "," and after + 1 < len(toks) and
                    _finite_readings(toks[after + 1]) & {"VBZ", "VBD"}) or (
                    # "يوسف, a trainer in a white thobe, drives": an apposition, then the name's verb
                    nxt == "," and interrupter(toks, after) is not None):
                # the subject of a verb, or of "who": "小雨, who had never touched a sheep"; or named between commas
                # before the verb: "The littlest one, ปราง, turned the map"
                info["verb_next"] += 1
            kind_noun, desc = _kind_cue(toks, run_start, start + len(words))
            if kind_noun and not info["kind"]:
                info["kind"], info["desc"] = kind_noun, desc
            if title and not info["title"]:
                info["title"] = title
    return candidates


def _thing_named(lows: list[str], start: int) -> bool:
    """Whether the capitalised run at lows[start] ends a place phrase, after "the" and words ending in the noun of a
    thing: "On the orbiting laboratory | Hesperus" names the laboratory (but "the old fisherman Yusuf" is someone)."""
    prev = lows[start - 1] if start > 0 else ""
    if not prev.isalpha() or not lx.is_noun(prev) or lx.is_adjective(prev) or lx.names_someone(prev) or \
            _closed(prev) or prev in lx.TITLES or prev in lx.TIME_NOUNS or prev in lx.TIMES:
        return False
    k = start - 2
    while k >= 0 and start - k <= 4 and lows[k].isalpha() and not _closed(lows[k]) and \
            not _finite_readings(lows[k]) & {"VBZ", "VBD"} and not lx.names_someone(lows[k]):
        k -= 1
    return 1 <= k < start - 2 and lows[k] in ("the", "a", "an") and lows[k - 1] in lx.PREPOSITIONS  # (but "The
    # research vessel Halcyon glides": a subject, the vessel by its name)


def _add_named(found: _Found, candidates: dict[str, dict], mid_caps: set[str], sents: list[list[str]]) -> None:
    """The candidates that are names of characters, as entities (or as more names of one already found)."""
    entities = found.entities
    for key, info in sorted(candidates.items(), key=lambda kv: kv[1]["first"]):
        if info["mentions"] == info["after_place_prep"]:
            continue  # "to Lisbon": a place
        if key not in mid_caps and lx.is_known_word(key) and not info["kind"] and info["verb_next"] < 2 and \
                key not in lx.KINSHIP:
            continue  # "Sunlight floods the room": a common noun at the start of a sentence
        if info["mentions"] == 1 and info["first"][1] == 0 and (
                key.endswith("ing") and "VBG" in _finite_readings(key) or
                len(key) > 5 and key.endswith("ed") and _finite_readings(key) & {"VBD", "VBN"}):
            continue  # "Snorting, the caiman crawled back", "Delighted, the donkey swaggered": a participle that
            # opens the sentence, no name
        if key.endswith("ly") and lx.is_known_word(key) and not lx.is_noun(key) and info["mentions"] < 2 and \
                not info["title"]:
            continue  # "Eventually the peacock was lured down": an adverb, not "Pip the aye-aye"
        if caseless(key) and info["mentions"] < 2 and not info["verb_next"] and not info["kind"] and \
                not info["title"] and not info.get("listed"):  # ("Teta مريم": a title makes it a name)
            continue  # a script without capitals: a name only where the story treats it as one
        words = info["words"]
        kin = lx.KIN_SYNONYMS.get(key, {key}) if len(words) == 1 and key in lx.KINSHIP else set()
        same = [x for x in entities if x.nouns & kin]
        if len(same) == 1:  # "his grandmother あおい … Grandma rinses the rice": あおい
            same[0].names.add(key)
            continue
        if caseless(key):  # "王玉兰 … 玉兰 pulled out the towels": the given name of the full one
            whole = [x for x in entities if x.named and any(caseless(n) and n != key and n.endswith(key) and
                                                            len(key) >= 2 for n in x.names)]
            if len(whole) == 1:
                whole[0].names.add(key)
                continue
        if any(key in x.names for x in entities):
            continue  # "Dr. Tavita Faleolo … Dr. Faleolo": her surname, not someone else
        titled = [x for x in entities if any(" " in n and n.split()[-1] == key and n.split()[0] in
                                             lx.TITLES | lx.KINSHIP for n in x.names)]
        if len(titled) == 1:
            titled[0].names.add(key)  # "Uncle Ferdinand … Ferdinand and Quentin cheered": the uncle
            continue
        sex = _own_possessive(sents, {w.lower() for w in words})
        if sex and any((t.lower() in lx.MALE and sex == "f" or t.lower() in lx.FEMALE and sex == "m") and
                       t.lower() in lx.KINSHIP for t in info["title"]):
            # "The chief, Nana Agyeman, taps the yam with his staff": "Nana" is his rank, no grandmother's
            info["title"] = [t for t in info["title"] if t.lower() not in lx.KINSHIP]
        name = " ".join(info["title"] + [w for w in words if w not in info["title"]])
        e = Entity(id="", name=name, description=info["desc"] or name, named=True,
                   since=info["first"][0])
        e.names = {key} if " " in key else {w.lower() for w in words}
        noun = info["kind"] or next((t.lower() for t in info["title"] if t.lower() in lx.ENTITY_NOUNS), None)
        if " " in key:  # "Mama Bear" is a bear
            noun = key.split()[-1]
        elif len(words) == 1 and key in lx.KINSHIP:
            noun = key  # "Grandfather" is "her grandfather"
        _set_kind(e, noun)
        kin_of = {x.kind for x in entities if not x.group} | {x.shape for x in entities if not x.group}
        animals = [x for x in entities if not x.group and x.kind == "animal"]
        if (noun in lx.KINSHIP or noun in lx.FAMILY_NOUNS) and e.kind == "person" and animals and \
                kin_of == {"animal", animals[0].shape} and \
                len({frozenset(x.nouns) for x in animals}) == 1:
            # "Pip is a grey bunny … Her big brother, Moss, pokes his head round a stump": a bunny too, in a
            # story of animals only
            e.kind, e.shape = "animal", animals[0].shape
            e.nouns |= animals[0].nouns
        for t in info["title"]:
            if t.lower() in lx.ENTITY_NOUNS or t.lower() in lx.KINSHIP:  # "Abuela Lupe … Abuela soaks the corn"
                e.nouns.add(t.lower())
            if e.gender is None and t.lower() in lx.MALE | lx.FEMALE:
                e.gender = "m" if t.lower() in lx.MALE else "f"
        if len(words) > 1 and lx.ENTITY_NOUNS.get(words[0].lower(), ("",))[0] == "person" and \
                lx.role_noun(words[0].lower()):
            e.nouns.add(words[0].lower())  # "Sergeant Ravensworth … by the sergeant": a rank before the name
        found.add(e)


def _own_possessive(sents: list[list[str]], names: set[str]) -> str | None:
    """"m" or "f" when every "with his"/"with her" that follows the name in its sentences, with no other name, person
    noun or pronoun between, says the same: "Nana Agyeman taps the yam with his staff" → "m" (what one holds is one's
    own; "licks his nose" may be someone else's)."""
    said = set()
    for toks in sents:
        lows = [t.lower() for t in toks]
        k = next((k for k, t in enumerate(lows) if t in names and (_cap(toks[k]) or caseless(toks[k]))), None)
        if k is not None:
            for x in range(k + 1, len(toks)):
                t, low = toks[x], lows[x]
                if low in ("his", "her"):
                    if lows[x - 1] == "with":
                        said.add("m" if low == "his" else "f")
                    break
                if low in ("and", "who", "while", "as", "when", "but") or low in names or (
                        _cap(t) and not lx.is_known_word(t)) or lx.ENTITY_NOUNS.get(
                        lx.entity_noun(low) or "", ("",))[0] in ("person", "animal") or \
                        low in lx.SUBJECT_PRONOUNS | lx.OBJECT_PRONOUNS:
                    break
    return next(iter(said)) if len(said) == 1 else None


def _kinds_of_listed_names(sents: list[list[str]], reg: Registry) -> None:
    """"their two alpacas, Pudding and Clove,", "two wolf pups named Ash and Sage": each listed name is one of
    them."""
    for toks in sents:
        for k in range(len(toks) - 2):
            kind = _kin_group(toks[k].lower()) if toks[k + 1] == "," or toks[k + 1].lower() in (
                "named", "called") else None
            if kind is None or lx.entity_noun(kind[1]) is None or toks[k + 2].lower() == "and":
                continue  # (not "sang to the frightened goats, and يوسف stroked": a new clause, no list)
            for t in toks[k + 2:k + 8]:
                if t in (".", ";") or not (_cap(t) or t.lower() in ("and", ",")):
                    break
                e = reg.by_name(t) if _cap(t) else None
                if e is not None and not e.nouns:
                    _set_kind(e, lx.entity_noun(kind[1]))
                    # "Two baby tamarins, Sol and Luz … both babies race": the word before the kind names them too
                    if k >= 1 and toks[k - 1].lower() == "baby":
                        e.nouns.add("baby")
        # "Ines and Clara, two sisters from the local gym, crawl … Both sisters overtake": the two named are the
        # sisters (the plural after their names, between commas)
        for k in range(len(toks) - 5):
            first, second = reg.by_name(toks[k]), reg.by_name(toks[k + 2])
            x = k + 5
            described = lx.is_adjective(toks[x].lower())  # ("two elderly sisters")
            while x + 1 < min(len(toks), k + 8) and _word(toks[x]) and not _closed(toks[x].lower()) and \
                    not (lx.group_of(toks[x].lower()) or _relational_group(toks[x].lower())) and (
                    described or toks[k + 3].lower() in ("are", "were")):
                x += 1  # (and "Sorrel and Flint are two ringed plover chicks")
            plural = toks[x].lower()
            kind = (lx.group_of(plural) or _relational_group(plural)) if toks[k + 1].lower() == "and" and \
                toks[k + 3].lower() in (",", "are", "were") and toks[k + 4].lower() in ("two", "both") and \
                first is not None and second is not None and first is not second and _cap(toks[k]) and \
                _cap(toks[k + 2]) else None
            if kind is not None and kind[0] == "person":
                for e in (first, second):
                    e.nouns |= {kind[1], plural}
                    if e.gender is None and kind[1] in lx.MALE | lx.FEMALE:
                        e.gender = "m" if kind[1] in lx.MALE else "f"
            elif kind is not None and lx.entity_noun(kind[1]):
                for e in (first, second):
                    if not e.nouns and not e.declared:
                        _set_kind(e, lx.entity_noun(kind[1]))  # "… are two ringed plover chicks": two chicks


def _kinds_of_the_ones(sents: list[list[str]], reg: Registry) -> None:
    """"two monster trucks … The red one, Boulder Basher, is driven by …", "The capybaras wade in. The biggest one,
    Kinako, dozes": the one named is one of the plural the story named last (a truck, a capybara)."""
    last_plural: str | None = None  # the singular noun of the last plural entity noun ("trucks" → "truck")
    for toks in sents:
        lows = [t.lower() for t in toks]
        for k, w in enumerate(lows):
            if w == "one" and k + 2 < len(toks) and toks[k + 1] == "," and "the" in lows[max(0, k - 3):k] and \
                    last_plural is not None:
                e = reg.by_name(toks[k + 2]) if _cap(toks[k + 2]) or caseless(toks[k + 2]) else None
                if e is not None and not e.nouns and not e.declared:
                    _set_kind(e, last_plural)
            group = lx.group_of(w)
            if group is not None and group[1] != w and lx.entity_noun(group[1]):
                last_plural = lx.entity_noun(group[1])


def _kin_of_animals(sents: list[list[str]], reg: Registry) -> None:
    """"Pili is a tarsier … Her cousin Dodong calls from the next tree": the kin of an animal is one of its kind
    (a cousin, a mother or a brother known only by that word), when every character named before is that animal
    (not "her dog, Rusk, … her uncle Tahar": her is the farmer's)."""
    named_before: list[Entity] = []
    for toks in sents:
        lows = [t.lower() for t in toks]
        for k, t in enumerate(toks):
            e = reg.by_name(t) if _cap(t) or caseless(t) else None
            if e is None:
                continue
            before = {id(x): x for x in named_before if x is not e}  # (ids are given at the end)
            named_before.append(e)
            anchor = next(iter(before.values())) if len(before) == 1 else None
            kin = lows[k - 1] if k >= 2 else ""
            if k < 2 or lows[k - 2] not in ("her", "his") or \
                    kin not in lx.KINSHIP | lx.INVERSE_OF and kin + "s" not in lx.RELATIONAL_GROUPS or \
                    anchor is None or anchor.kind != "animal" or \
                    e.declared or not e.nouns <= lx.GENERALISATIONS.get(kin, {kin}):
                continue
            species = [n for n in anchor.nouns if lx.ENTITY_NOUNS.get(n, ("",))[0] == "animal" and
                       n not in ("animal", "creature")]
            if len(species) == 1:
                gender = e.gender
                e.nouns = {kin}
                _set_kind(e, species[0])
                e.gender = gender


def _kinds_of_partners(sents: list[list[str]], reg: Registry) -> None:
    """"The larger robot, Sorrel, rolls … Its partner, a spindly unit called Tick, climbs": the partner of a machine
    ("its", after a machine or a vehicle the sentence before named) is one of its kind, when nothing else says what
    the partner is."""
    for si in range(1, len(sents)):
        toks, lows = sents[si], [t.lower() for t in sents[si]]
        if lows[:1] != ["its"] or len(toks) < 4 or lows[1] not in lx.PEER_NOUNS | {"twin", "mate", "sister",
                                                                                     "brother"}:
            continue
        before = [e for t in sents[si - 1] if _cap(t) or caseless(t) for e in [reg.by_name(t)] if e is not None]
        owner = before[0] if before and all(e is before[0] for e in before) else None
        x = 2 + (toks[2:3] == [","])
        called = next((y + 1 for y in range(x, min(len(toks) - 1, x + 6)) if lows[y] in lx.NAMING), x)
        e = reg.by_name(toks[called]) if called < len(toks) and (_cap(toks[called]) or caseless(toks[called])) \
            else None
        described = {n for n in (lx.entity_noun(w) for w in lows[x:called]) if n}
        if owner is not None and owner.kind in ("machine", "vehicle") and e is not None and e is not owner and \
                not e.nouns and not e.declared and not described:
            e.kind, e.shape, e.nouns = owner.kind, owner.shape, set(owner.nouns)


def _roles_of_names(sents: list[list[str]], reg: Registry) -> None:
    """"Mr. Ajayi, the PE teacher, stood behind the square as umpire … The umpire blew his whistle", "Dagny was the
    referee": the role is the one person the sentence names (when no one else has that noun)."""
    for toks in sents:
        lows = [t.lower() for t in toks]
        named = {id(e): e for t in toks if _cap(t) or caseless(t) for e in [reg.by_name(t)] if e is not None}
        if len(named) != 1:
            continue
        [e] = named.values()
        for k in range(1, len(toks) - 1):
            det = 1 if lows[k + 1] in ("the", "a", "an") else 0
            x = k + 1 + det
            role = lows[x] if x < len(toks) else ""
            # "as umpire", "as the umpire": the verb's subject in that role; "Dagny was the referee" likewise
            cue = lows[k] == "as" and not (k >= 1 and lows[k - 1] in ("as", "such")) or \
                lows[k] in ("is", "was") and det and reg.by_name(lows[k - 1]) is e
            if cue and e.kind == "person" and lx.role_noun(role) and (x + 1 >= len(toks) or not _word(toks[x + 1])) \
                    and not any(role in o.nouns for o in reg.entities if o is not e):
                e.nouns.add(role)


def _plural_names(sents: list[list[str]], found: _Found) -> None:
    """"The Meteors and the Harriers jog", "the Okafors waved": a capitalised plural after "the" that is the subject
    of a verb is a group the story names (a team, a family), one entity with one box. The word must be a plural:
    one the dictionary knows, or whose singular the story writes too ("A tall Harrier"; not "the Ferris wheel"), or a
    word the dictionary lacks, that ends in -s and is then a family's surname ("the Lindqvists pull up")."""
    singular_names = {t.lower() for toks in sents for t in toks if _cap(t)}
    family = any(t.lower() in ("family", "families") for toks in sents for t in toks)
    for si, toks in enumerate(sents):
        lows = [t.lower() for t in toks]
        for i in range(1, len(toks)):
            w = lows[i]
            surname = w.endswith("s") and not w.endswith("ss") and w.isalpha() and not lx.is_known_word(w) and \
                not lx.is_known_word(w[:-1]) and family  # ("the Lindqvists pull up … the family": a family)
            plural = w.endswith("s") and not w.endswith("ss") and (
                lx.is_plural_noun(w) or lx.is_known_word(w[:-1]) or w[:-1] in singular_names or surname)
            if lows[i - 1] != "the" or not _cap(toks[i]) or not plural or w in lx.PLACES or w in lx.NOT_NAMES or \
                    found.reg.by_name(w) is not None:
                continue
            j = i + 1  # the verb, over a second one coordinated with it: "the Meteors and the Harriers | jog"
            if lows[j:j + 2] == ["and", "the"] and j + 2 < len(toks) and _cap(toks[j + 2]):
                j += 3
            if j < len(toks) and _finite_readings(toks[j]) & {"VBP", "VBD"}:
                e = Entity(id="", name="the " + toks[i], description="the " + toks[i], named=True, since=si)
                e.kind, e.shape, e.group, e.plural, e.names = "person", "group", True, True, {w}
                if surname and w[:-1] not in singular_names:
                    e.nouns.add("family")  # ("… while the family huddles under the porch": the Lindqvists)
                found.add(e)


def _toy_nouns(sents: list[list[str]]) -> set[str]:
    """Nouns the story introduces as a toy or a figure ("a paper boat", "his rubber duck"): "the boat" stays a
    thing too."""
    toys = {lx.entity_noun(_singular(toks[k + 1])) for toks in sents for k in range(len(toks) - 1)
            if toks[k].lower() in lx.TOY_MODIFIERS or toks[k].lower() in lx.STATUE_MODIFIERS and
            lx.ENTITY_NOUNS.get(lx.entity_noun(_singular(toks[k + 1])) or "", ("",))[0] in ("person", "animal")}
    toys.discard(None)  # ("folded paper planes … Bunty's plane glided": the plane is a toy, as "a paper plane" is)
    # "The bronze statue of a horse … the horse gleamed": a figure of it
    toys |= {lx.entity_noun(toks[k + 3].lower()) for toks in sents for k in range(len(toks) - 3)
             if toks[k].lower() in ("statue", "statues", "figure", "sculpture", "model", "painting", "picture",
                                    "carving", "drawing", "photo", "photograph") and
             toks[k + 1].lower() == "of" and toks[k + 2].lower() in ("a", "an", "the")} - {None}
    return toys


KinPair = tuple[Entity, str, str, "Entity | None"]  # (who, kin noun of the other, who's sex, the other)


def _kin_pairs(sents: list[list[str]], reg: Registry) -> list[KinPair]:
    """"Rosa and her brother Daniel" → (Rosa, "brother", "f", Daniel): Daniel is Rosa's brother, so "his sister" may
    be Rosa. Each pair is (who, kin noun of the other, who's sex from "his"/"her", the other)."""
    kin: list[KinPair] = []
    last_named: Entity | None = None  # the last named character before this sentence
    for toks in sents:
        for k in range(len(toks) - 4):
            x = reg.by_name(toks[k]) if _cap(toks[k]) or caseless(toks[k]) else None
            if x is not None and toks[k + 1].lower() == "and" and toks[k + 2].lower() in ("his", "her") and \
                    reg.by_name(toks[k + 4]) is not None:
                kin.append((x, toks[k + 3].lower(), "m" if toks[k + 2].lower() == "his" else "f",
                            reg.by_name(toks[k + 4])))
            # "A miller and his son led their donkey": two known by their nouns only
            x = reg.by_noun(toks[k]) if k >= 1 and toks[k - 1].lower() in ("a", "an") and lx.entity_noun(
                toks[k].lower()) else None
            other = reg.by_noun(toks[k + 3]) if x is not None and toks[k + 3].lower() in lx.INVERSE_OF else None
            if x is not None and other is not None and x is not other and not x.group and not other.group and \
                    not x.named and not other.named and toks[k + 1].lower() == "and" and \
                    toks[k + 2].lower() in ("his", "her") and not (_cap(toks[k + 4]) or caseless(toks[k + 4])):
                kin.append((x, toks[k + 3].lower(), "m" if toks[k + 2].lower() == "his" else "f", other))
        # "Mr. Adebayo needed eggs. His son Tunde pushed the trolley": Tunde is the son of the one just named
        # (or "His granddaughter, نسیم, …": the name in an apposition)
        kin_name = toks[3] if len(toks) > 3 and toks[2] == "," else toks[2] if len(toks) > 2 else ""
        if last_named is not None and len(toks) > 2 and toks[0].lower() in ("his", "her") and \
                reg.by_name(kin_name) not in (None, last_named) and toks[1].lower() in lx.INVERSE_OF:
            kin.append((last_named, toks[1].lower(), "m" if toks[0].lower() == "his" else "f", reg.by_name(kin_name)))
        # "Nino puts on her apron, and her grandson Levan washes": the one the sentence named before is the anchor
        # (or the sentence's subject, then its verb's phrase: "Oksana ties an apron on her grandson Taras")
        subject = next((reg.by_name(toks[x]) for x in range(len(toks) - 1) if (_cap(toks[x]) or caseless(toks[x]))
                        and reg.by_name(toks[x]) is not None and (_finite_readings(toks[x + 1]) & {"VBZ", "VBD"} or
                                                                  x == 0 and toks[x + 1] == ",")),
                       None)  # (or "يوسف, who is twelve, sits": the name that opens the sentence)
        for k in range(1, len(toks) - 2):
            # ("Every Saturday his daughter Lina comes": the sentence's subject after an opening phrase)
            opening_subject = k + 3 < len(toks) and _finite_readings(toks[k + 3]) & {"VBZ", "VBD"} and \
                toks[k - 1].lower() not in ("of", "'s") and not any(
                    reg.by_name(t) is not None for t in toks[:k] if _cap(t) or caseless(t))
            # ("beside his grandfather, سالم,": the name in an apposition)
            name_at = k + 3 if k + 3 < len(toks) and toks[k + 2] == "," else k + 2
            if (toks[k - 1].lower() in (",", "and", "with", "while", "as", "by") or opening_subject or
                subject is not None and (
                    toks[k - 1].lower() in lx.PREPOSITIONS or _finite_readings(toks[k - 1]) & {"VBZ", "VBD"})) and \
                    toks[k].lower() in ("his", "her") and \
                    (toks[k + 1].lower() in lx.INVERSE_OF or toks[k + 1].lower() in lx.INVERSE_KIN) and \
                    reg.by_name(toks[name_at]) is not None:
                before = {reg.by_name(t).id: reg.by_name(t) for t in toks[:k]
                          if (_cap(t) or caseless(t)) and reg.by_name(t) is not None}
                if not before and (toks[k - 1].lower() == "by" or opening_subject) and last_named is not None and \
                        last_named.gender in (None, "m" if toks[k].lower() == "his" else "f"):
                    # "It was scoured by his daughter Wilma", "Every Saturday his daughter Lina comes": his is the
                    # one the sentence before named last
                    before = {last_named.id: last_named}
                pair = (next(iter(before.values())), toks[k + 1].lower(), "m" if toks[k].lower() == "his" else "f",
                        reg.by_name(toks[name_at])) \
                    if len(before) == 1 and reg.by_name(toks[name_at]) not in before.values() else None
                if pair is not None and pair not in kin:
                    kin.append(pair)
        named_here = [reg.by_name(t) for t in toks if (_cap(t) or caseless(t)) and reg.by_name(t) is not None]
        last_named = named_here[-1] if named_here else last_named
    return kin


def _younger_or_elder(kin: list[KinPair], w: str, old: bool) -> list[Entity]:
    """"the boy" (or girl, child) as the one younger member of the story's kin pairs ("X and his grandfather"),
    "the old man" (or old woman) as the one elder member; [] when none or several."""
    elder_words = set(lx.INVERSE_KIN) - {"sister", "brother"}
    younger_words = lx.INVERSE_OF - {"sister", "brother"}

    def sex(word: str) -> str | None:
        return "m" if word in lx.MALE else "f" if word in lx.FEMALE else None

    young: list[tuple[Entity, str | None]] = []
    elder: list[tuple[Entity, str | None]] = []  # (only grandparents are "old": a mother may be young)
    for x, k, g, other in kin:
        if other is not None and k in elder_words:
            young.append((x, g))
            elder += [(other, sex(k))] if k.startswith("grand") or k == "nana" else []
        elif other is not None and k in younger_words:
            elder += [(x, g)] if k.startswith("grand") else []
            young.append((other, sex(k)))
    side = young if w in ("boy", "girl", "child", "kid") else elder if old and w in ("man", "woman") else []
    want = sex(w)
    fits = {x.id: x for x, g in side if want is None or (g or x.gender or want) == want}
    return list(fits.values()) if len(fits) == 1 else []


def _kin_named_bare(sents: list[list[str]], kin: list[KinPair]) -> None:
    """"Father and daughter both giggle", "aunt and nephew stack the bars": the one kin pair the story has, by the
    kinship words of both (each gets its word as a noun)."""
    for toks in sents:
        lows = [t.lower() for t in toks]
        for k in range(len(lows) - 2):
            k1, k2 = lows[k], lows[k + 2]
            if lows[k + 1] != "and" or k1 not in lx.INVERSE_KIN or k2 not in lx.INVERSE_KIN[k1] or \
                    k > 0 and lows[k - 1] in lx.DETERMINERS | lx.POSSESSIVES:
                continue
            roles = [((other, k1), (x, k2)) if kk == k1 else ((x, k1), (other, k2))
                     for x, kk, _, other in kin if other is not None and kk in (k1, k2)]
            if len(roles) == 1:
                for who, word in roles[0]:
                    who.nouns.add(word)


@dataclass
class _Mention:
    """A noun at toks[i] that may name an acting entity, its phrase toks[start:i + 1] and its verb at toks[j]."""

    si: int  # the sentence of the story
    i: int
    toks: list[str]
    lows: list[str]
    w: str  # the noun ("kids", "baker"; the lexicon's form once its phrase is read)
    group: tuple[str, str] | None  # (kind, singular noun) when it names several
    named_group: bool  # "Class 4B"
    j: int = 0  # the verb after the phrase: over a prepositional phrase, an interrupter, adverbs
    start: int = 0  # the phrase's first word after its determiner
    det: str = ""  # "the", "a", "his", "two", "'s", "some" …
    of_group: bool = False  # "a group of schoolchildren": the phrase starts at the collective
    surface: str = ""  # the noun as written when the lexicon's form is shorter ("catfish" for "fish")


def _noun_at(found: _Found, sents: list[list[str]], si: int, i: int) -> _Mention | None:
    """The word sents[si][i] if it is a noun for someone or for a group that may be new; None if not (a group the
    story names, "The Kaur twins", is added here)."""
    entities, reg, toks = found.entities, found.reg, sents[si]
    lows = [t.lower() for t in toks]
    w = lows[i]
    named_group = _cap(toks[i]) and w in lx.COLLECTIVE_NOUNS and i + 1 < len(toks) and \
        (_cap(toks[i + 1]) or toks[i + 1][:1].isdigit())  # "Class 4B planted six trees"
    if _cap(toks[i]) and i > 0 and not named_group:
        return None
    group = (lx.group_of(w) or _relational_group(w)) if lx.entity_noun(w) is None else None
    if group is not None and _counted_as_two(lows, i) and sum(
            1 for x in entities if not x.group and (x.named or x.since < si) and group[1] in x.nouns) + \
            _listed_after(sents, w) >= 2:
        # "their two alpacas, Pudding and Clove … both alpacas roll", "the pelican … the kingfisher … the two
        # birds": the two, read as "they"
        return None
    if lx.entity_noun(w) is None and group is None and (not _relative_who(lows, i) or i >= 2 and
                                                         lows[i - 2] in ("at", "in", "on") and lows[i - 1] == "the"):
        return None  # (but "the teenagers at the rear, who had been rolling": the rear is a place)
    if group is not None and i > 0 and lows[i - 1] == "the" and not any(x.group and w in x.nouns for x in entities) \
            and sum(1 for x in entities if x.named and not x.group and group[1] in x.nouns) >= 2:
        return None  # "Two repair drones, Rivet and Grommet, … The drones fire": the two, read as "they"
    if in_as_if_clause(toks, i):
        return None  # "ran as if a bear were chasing her": no bear
    if i > 0 and (lows[i - 1], w) in lx.WEATHER_COMPOUNDS:
        return None  # "a dust devil whirls across the plain": wind, no devil
    if w in lx.RIDDEN_ONLY and not any(t.lower() in lx.RIDDEN_ONLY[w] for s2 in sents for t in s2):
        return None  # "The balloon rose quickly": a weather balloon, no one in it
    if group is not None and w != group[1] and group[1] in lx.COLLECTIVE_NOUNS and sum(
            1 for x in entities if x.group and not x.nouns & lx.SPECTATORS) >= 2:
        return None  # "the fishermen and the farmers … Both teams grabbed the rope": those two groups
    named_as = _group_name(reg, toks, i) if group is not None and not named_group else None
    if named_as is not None:
        # "The Kaur twins", "The Harwick crew", "The Year Two children": a group the story names, not the
        # characters read as "they", nor another crew
        if not any(named_as in x.names for x in entities):
            e = Entity(id="", name="", description="the " + named_as, named=True, since=si)
            make_group(e, w)
            e.names = {named_as}
            found.add(e)
        return None
    return _Mention(si, i, toks, lows, w, group, named_group)


def _in_its_phrase(found: _Found, sents: list[list[str]], m: _Mention) -> bool:
    """Whether the noun heads its own phrase (not "his dog Pepa", "the lid pops", "her pony, Canela,"); finds the
    phrase's verb. A noun that names someone already found ("his opponent, a … named Pieter") is added to them."""
    entities, reg = found.entities, found.reg
    si, i, toks, lows, w, group, named_group = m.si, m.i, m.toks, m.lows, m.w, m.group, m.named_group
    if i > 0 and (lx.group_of(w) or ("", w))[1] not in lx.HAND_NOUNS and (
            lx.is_noun(lows[i - 1]) or lx.group_of(lows[i - 1])) and \
            not _closed(lows[i - 1]) and (_finite_readings(toks[i]) & {"VBZ", "VBD"} or
                                          "VBP" in _finite_readings(toks[i]) and (lx.is_plural_noun(lows[i - 1]) or
                                                                                  lx.is_adjective(lows[i - 1]))) and \
            lows[i - 1] not in lx.ENTITY_NOUNS and lows[i - 1] not in lx.TITLES and not (
            i + 1 < len(toks) and _finite_readings(toks[i + 1]) & {"VBZ", "VBD"}) and not (  # ("the line judge
            # calls"; "unrolled by the tent crew": an agent's noun after "by the")
            i >= 3 and lows[i - 3] == "by" and lows[i - 2] in ("the", "a", "an") and _passive_agent_at(lows, i - 3)):
        # (but a verb only in the plural does not follow a singular noun: "The school janitor, who …")
        return False  # "the lid pops open", "the blue tits scold": after a noun, a word-list person is the verb
    if w in lx.ADJECTIVE_PEOPLE and i + 1 < len(toks) and _word(toks[i + 1]) and not _closed(lows[i + 1]) \
            and not _finite_readings(toks[i + 1]) & {"VBZ", "VBD"}:
        return False  # "a patient smile": an adjective before its noun
    w = lx.entity_noun(w) or w
    if i + 1 < len(toks) and (_cap(toks[i + 1]) and _word(toks[i + 1]) or lows[i + 1] in lx.NAMING
                              and i + 2 < len(toks) and _cap(toks[i + 2])) and not named_group:
        return False  # "his dog Pepa", "a boy named Kofi": the noun belongs to the name
    if i + 1 < len(toks) and toks[i + 1] == "'s":
        return False  # "by the ship's cat": the ship is no agent
    if _modifies_a_thing(toks, i) and group is None and lx.ENTITY_NOUNS.get(w, ("person",))[0] != "person":
        return False  # "a cricket ball", "the duck pond": the noun describes the thing after it
    if w in lx.COLLECTIVE_NOUNS and _modifies_a_thing(toks, i, phrase_ends=True):
        return False  # "on Leila's family farm.": the farm, no family
    parent = reg.by_noun(lows[i - 1]) if i > 0 and lows[i - 1] in lx.KINSHIP and lx.entity_noun(w) else None
    if parent is not None and not parent.group:
        parent.nouns.add(w)  # "Their mother sniffed the air … the mother bear lay still": the mother
        if parent.kind == "person" and lx.ENTITY_NOUNS[lx.entity_noun(w)][0] == "animal":
            parent.kind, parent.shape = lx.ENTITY_NOUNS[lx.entity_noun(w)]
        return False
    if i + 1 < len(toks) and lx.is_plural_noun(lows[i + 1]) and (lx.group_of(lows[i + 1]) or ("", ""))[0] \
            in ("person", "animal", "machine") and group is None and not (
            # (but "A cat creeps under the porch", "the dog guards the gate": an animal, then a verb that is
            # also the plural of a person noun)
            lx.ENTITY_NOUNS.get(w, ("",))[0] == "animal" and (lx.group_of(lows[i + 1]) or ("",))[0] == "person"
            and "VBZ" in _finite_readings(toks[i + 1])):
        return False  # "two wolf pups", "the bear cubs", "three feeder drones": the noun describes the ones after it
    if i + 1 < len(toks) and lx.ENTITY_NOUNS.get(w, ("",))[0] == "person" and \
            lx.ENTITY_NOUNS.get(lx.entity_noun(_singular(lows[i + 1])) or "", ("",))[0] in ("animal", "machine",
                                                                                          "vehicle"):
        return False  # "A baby duck wobbles", "a tiny hermit crab": the person noun describes the animal
    if w in lx.COLLECTIVE_NOUNS and lows[i + 1:i + 2] == ["of"] and i + 3 < len(toks) and \
            lows[i + 2].endswith("s") and not lx.is_known_word(lows[i + 2]) and \
            not lx.group_of(lows[i + 2]) and \
            _finite_readings(toks[i + 3]) & {"VBZ", "VBD"}:
        j_of = i + 3  # "A flock of oxpeckers lands": the flock, whatever oxpeckers are
    else:
        j_of = None
    if j_of is None and w in lx.COLLECTIVE_NOUNS and lows[i + 1:i + 2] == ["of"] and i + 2 < len(toks) and (
            lx.group_of(lows[i + 2]) or i + 3 < len(toks) and lx.group_of(lows[i + 3]) and
            not _closed(lows[i + 2])):
        return False  # "a group of schoolchildren": the group is found by its members' noun
    members_at = next((x for x in range(i + 2, min(len(toks), i + 6)) if lx.group_of(lows[x])), None) \
        if j_of is None and w in lx.COLLECTIVE_NOUNS and lows[i + 1:i + 2] == ["of"] else None
    if members_at is not None and lx.group_of(lows[members_at])[0] == "machine" and all(
            lows[y] in lx.NUMBER_WORDS or _word(toks[y]) and not _closed(lows[y]) for y in range(i + 2, members_at)):
        return False  # "a swarm of six planting drones": machines, no swarm of animals (found by the drones)
    if i + 2 < len(toks) and toks[i + 1] == "," and _names_at(reg, toks, i + 2):
        return False  # "her pony, Canela,", "The night guard, Mrs. Amadi,"
    named = _named_in_apposition(reg, toks, i + 1) or _named_in_apposition(reg, toks, pp_end(toks, i + 1)) \
        or _named_in_next_sentence(reg, sents, si, i)
    if named is not None and group is not None and not named.group:
        named = None  # "One of the tourists, an elderly woman called Prudence": one of them, not the tourists
    if named is not None:  # "his opponent, a tall left-hander named Pieter": the opponent is Pieter
        # (also after a phrase: "a volunteer in a yellow vest, a teenager named Orrin")
        if not named.nouns and not named.declared and lx.entity_noun(w):
            _set_kind(named, lx.entity_noun(w))  # "The drone, a … machine called Moth": Moth is a drone
        named.nouns.add(w)
        # "a note for the night manager … by the manager, a man named 鄭": the earlier one was him too
        entities[:] = [x for x in entities if x.named or x.declared or x.nouns != {w}]
        return False
    j = j_of or pp_end(toks, i + 1, plural=group is not None)  # "a baker in the next boat laughs"
    named = _name_after_titles(reg, toks, j + 1) if j + 1 < len(toks) and toks[j] == "," else None
    if named is not None:
        if not named.nouns and not named.declared and lx.entity_noun(w) and \
                lx.ENTITY_NOUNS[lx.entity_noun(w)][0] == named.kind:
            _set_kind(named, lx.entity_noun(w))  # ("The lady from next door, Umm Faris,": she is a lady)
        return False  # "A girl in a yellow coat, Tova, looks": the noun describes the name
    inserted = interrupter(toks, j, plural=group is not None)
    if inserted is not None:
        j = inserted[1]  # "The dog, barking loudly, chases": the verb after the phrase between commas
    while j < len(toks) and lows[j] in lx.ADVERBS:
        j += 1
    m.surface = m.w if m.w != w else ""
    m.w, m.j = w, j
    return True


def _modifies_a_thing(toks: list[str], i: int, phrase_ends: bool = False) -> bool:
    """Whether toks[i] is followed by the noun of a thing that is the subject of the verb after it ("a cricket |
    ball was struck", "the bird | feeder swings"), or with ``phrase_ends`` that ends the phrase ("on the family |
    farm."): a noun that names no one, and no verb of a singular subject (a base form is none: "ball", "bowl")."""
    if i + 2 >= len(toks) or not _word(toks[i + 1]) or _cap(toks[i + 1]):
        return False
    nxt, after = toks[i + 1].lower(), toks[i + 2].lower()
    thing = lx.is_noun(nxt) and not lx.names_someone(nxt) and not _closed(nxt) and \
        not _finite_readings(nxt) & {"VBZ", "VBD", "VBN", "VBG"} and nxt not in lx.TIME_NOUNS | lx.ADVERBS and \
        not lx.is_adjective(nxt) and not lx.is_plural_noun(toks[i].lower())
    if phrase_ends:
        return thing and (not _word(toks[i + 2]) or after in lx.PREPOSITIONS)
    its_verb = after in lx.BE_FORMS or bool(_finite_readings(after) & {"VBZ", "VBD"}) and not lx.is_plural_noun(after)
    return thing and its_verb


def _with_determiner(found: _Found, m: _Mention, toys: set[str]) -> bool:
    """Whether the phrase has a determiner that introduces someone ("the", "a", "his", "two"; not "every"), and is
    no toy and no apposition to the one before ("The operator, a grey-bearded man"): finds where it starts."""
    reg = found.reg
    i, toks, lows, w, group, named_group, j = m.i, m.toks, m.lows, m.w, m.group, m.named_group, m.j
    start = i
    while start > 0 and _word(toks[start - 1]) and (not _closed(lows[start - 1]) or _home_side(lows, start - 1)) and (
            not _finite_readings(toks[start - 1]) & {"VBZ", "VBD"} or
            start >= 2 and lows[start - 2] in lx.DETERMINERS | lx.POSSESSIVES):  # ("A wrinkled old crab",
        start -= 1  # "two wet lambs": no verb there)
    det = lows[start - 1] if start > 0 else ""
    if det in ("every", "each", "any", "no"):
        return False  # "wags his tail at every car that passes": no car in particular
    if i >= 2 and lows[i - 1] == "the" and _cap(toks[i - 2]) and reg.by_name(lows[i - 2]) is not None and \
            lx.entity_noun(w) and w in reg.by_name(lows[i - 2]).nouns | {_noun_of(reg.by_name(lows[i - 2])
                                                                                   .description or "")}:
        return False  # "Lolo the sloth": the name's kind, not a second sloth
    a = i - 1  # the article, over any adjective ("a stooped man": "stooped" may be a verb elsewhere)
    while a > 0 and _word(toks[a]) and not _closed(lows[a]):
        a -= 1
    if lows[a] in ("a", "an") and a >= 2 and toks[a - 1] == ",":
        # "The operator, a grey-bearded man wearing a hat, opens": the apposition describes the one before
        before = reg.by_name(lows[a - 2]) if _cap(toks[a - 2]) else reg.by_noun(
            lx.entity_noun(lows[a - 2]) or "")
        if before is not None and not before.group and lx.entity_noun(w) and \
                lx.ENTITY_NOUNS[w][0] == before.kind:
            before.nouns.add(w)
            if before.gender is None:  # "a grey-bearded man": from now on he is "he"
                before.gender = "m" if w in lx.MALE else "f" if w in lx.FEMALE else None
            return False
    if named_group:
        det, j = "the", i + 2  # "Class 4B | planted"
    # "A group of schoolchildren watches": the collective before "of" is the phrase's, and its verb's
    d = start - 3  # the collective's article, before its adjectives: "a little mob of schoolchildren"
    while d >= 1 and start - 3 - d < 2 and lx.is_adjective(lows[d]) and lows[d] not in lx.DETERMINERS and \
            not _finite_readings(toks[d]) & {"VBD", "VBZ"}:
        d -= 1
    of_group = det == "of" and group is not None and start >= 3 and (
        lows[start - 2] in lx.COLLECTIVE_NOUNS or lows[start - 2] in lx.QUANTITY_NOUNS) \
        and d >= 0 and lows[d] in lx.DETERMINERS  # ("a row of volunteers fills")
    if of_group:
        start, det = start - 2, lows[d]
    elif det == "of" and group is not None and start == 2 and lows[0] in ("hundreds", "dozens", "lots", "thousands",
                                                                          "scores", "millions"):
        of_group, start, det = True, 0, "some"  # "Hundreds of students on the towpath cheer"
    elif start == 0 and group is not None and (w not in lx.COLLECTIVE_NOUNS or w in lx.SPECTATORS | lx.WATCHERS and
                                               w.endswith("s")) and lx.is_plural_noun(w) and \
            group[0] in ("person", "animal"):  # (not "Rockets whizzed up": fireworks, no vehicles)
        det = "some"  # "Guests in their best clothes drifted": a plural with no article opens the sentence
    if det not in lx.DETERMINERS and det not in lx.POSSESSIVES and det != "'s":
        return False
    if w in toys or group is not None and group[1] in toys:
        return False  # "his rubber duck", "a paper boat", "two hundred rubber ducks": toys, no animals or vehicles
    m.start, m.det, m.of_group, m.j = start, det, of_group, j
    return True


def _acts(m: _Mention) -> bool:
    """Whether the phrase names someone who acts: the subject of a verb, the agent of a passive ("by the ship's
    cat"), the antecedent of "who", or a person named with "the" (a referent for "he" and "she": "plays for the
    mayor. He …")."""
    i, toks, lows, w, group, j, start, det, of_group = m.i, m.toks, m.lows, m.w, m.group, m.j, m.start, m.det, \
        m.of_group
    if j + 1 < len(toks) and (lows[j] in ("has", "have", "had") and
                              _finite_readings(toks[j + 1]) & {"VBN", "VBD"} or
                              lows[j] in ("is", "are", "was", "were") and
                              "VBG" in _finite_readings(toks[j + 1])):
        j += 1  # "A climber has slipped", "Three cousins are building": a perfect, a progressive
    if j + 2 < len(toks) and lows[j] == "and" and lows[j + 1] in lx.DETERMINERS | lx.POSSESSIVES:
        k = j + 2  # "the fishermen and the farmers lined up": both do it
        while k < len(toks) and _word(toks[k]) and not _closed(lows[k]) and not (
                _finite_readings(toks[k]) & {"VBD", "VBZ"} and k > j + 2):
            k += 1
        if k < len(toks) and k > j + 2 and _finite_readings(toks[k]) & {"VBD", "VBZ", "VBP"}:
            j = k
    acts = j < len(toks) and _finite_readings(toks[j]) and not compound_head(toks, j) and \
        lows[j] not in lx.RELATIONAL_GROUPS and not (  # ("The panda twins": the twins are no verb of a panda)
        # "While their neighbours were away", "were on holiday": somewhere else, nothing done
        lows[j] in ("is", "are", "was", "were") and (lows[j + 1:j + 2] in (["away"], ["asleep"], ["abroad"]) or
                                                     lows[j + 1:j + 3] in (["on", "holiday"], ["on", "vacation"]))) \
        and not (
        # "Once the tanks are full": a state of a thing that may be no vehicle, nothing done
        lx.ENTITY_NOUNS.get(group[1] if group else w, ("",))[0] in ("vehicle", "machine") and
        lows[j] in ("is", "are", "was", "were") and j + 1 < len(toks) and lx.is_adjective(lows[j + 1]) and
        not _finite_readings(toks[j + 1]) & {"VBG", "VBN"}) and not (
        group and "VBZ" in _finite_readings(toks[j]) and w not in lx.COLLECTIVE_NOUNS and
        not of_group) and not (
        start >= 2 and lows[start - 2] in lx.PREPOSITIONS)  # "a boy on a scooter rolls": the boy rolls
    if det in ("a", "an") and start >= 3 and lows[start - 2] in ("was", "is", "been", "became", "becomes") and \
            lows[start - 3] not in ("there", "it", "here", "next", "first", "last"):
        return False  # "Old Gideon Marsh had been a tinsmith": what he is, no one new (but "There was a fox")
    by = start - 2  # the word before the determiner: "by the dog", "by his sons"
    while det == "'s" and by > max(0, start - 5) and lows[by] != "by":
        by -= 1  # "by the ship's cat"
    agent = _passive_agent_at(lows, by) or by >= 0 and lows[by] == "and" and any(
        lows[x] == "by" and _passive_agent_at(lows, x) for x in range(max(0, by - 6), by)
        if not any(toks[y] in ",;" for y in range(x, by)))  # "by the janitor and two dinner ladies"
    # (a WordNet-only noun right after a verb is its object, and may be a thing: "stirs the batter")
    person = det == "the" and lx.ENTITY_NOUNS.get(w, ("",))[0] == "person" and group is None and (
        w in lx.HAND_NOUNS or not (start >= 2 and _finite_readings(toks[start - 2]) and
                                   lows[start - 2] not in lx.PREPOSITIONS)) and not (
        # "mopping outside the ward", "into the ward": one is in or out of a place, not of a person
        start >= 2 and lows[start - 2] in ("in", "into", "inside", "outside", "through", "onto"))
    relative = (lx.entity_noun(w) or group is not None) and j + 1 < len(toks) and lows[j] == "," and \
        lows[j + 1] in ("which", "who") and not (  # ("a pair of swans, which hiss and flap")
            lows[j + 1] == "who" and _describes_a_person(lows, i))
    # "The goslings that follow him peck": the antecedent of a relative clause acts in the sentence
    relative = relative or j + 1 < len(toks) and lows[j] in ("that", "who") and bool(
        _finite_readings(toks[j + 1]) & {"VBZ", "VBD", "VBP"} or
        (_cap(toks[j + 1]) or lows[j + 1] in ("he", "she", "they")) and j + 2 < len(toks) and (
            _finite_readings(toks[j + 2]) or lows[j + 2] in lx.BE_FORMS | {"has", "had"}))  # "that Noor is
    # leading", "The dog that she had been walking leapt"
    return bool(acts or agent or person or relative or _relative_who(lows, i))


def _already_found(found: _Found, sents: list[list[str]], m: _Mention, kin: list[KinPair]) -> bool:
    """Whether the phrase names an entity already found (which then gets the noun: "her classmates" for the class,
    "His grandmother" for the one "her grandson" anchors), or someone no rule may guess ("the two scientists")."""
    entities, reg = found.entities, found.reg
    si, i, lows, w, group, det, start = m.si, m.i, m.lows, m.w, m.group, m.det, m.start
    named = named_by_relative(reg, m.toks, i + 1) if group is None else None
    if named is not None:  # "A temple dog, which the monks call Khao, follows him": the dog is Khao
        named[0].nouns.add(w)
        if named[0].kind == "person" and lx.ENTITY_NOUNS.get(w, ("",))[0] == "animal":
            _set_kind(named[0], w)
        return True
    whole = [x for x in entities if x.group and lx.MATES.get(w) in x.nouns]
    if len(whole) == 1:
        whole[0].nouns.add(w)  # "Class 4B … Her classmates burst out laughing": the class
        return True
    # "Twenty paddlers from the harbour club … The harbour club crossed the line": the club is those paddlers
    club = [x for x in entities if x.group and det == "the" and w in lx.COLLECTIVE_NOUNS and any(
        lows2[k] in x.nouns and lows2[k + 1:k + 3] == ["from", "the"] and w in lows2[k + 3:k + 6]
        for lows2 in ([t.lower() for t in s2] for s2 in sents[:si]) for k in range(len(lows2) - 3))]
    if len(club) == 1:
        club[0].nouns.add(w)
        return True
    members = named_members(reg, m.toks, i + 1) if group is not None else None
    if members is not None:
        for x in members[0]:
            x.nouns.add(group[1])
        return True  # "two students from Lyon named Claire and Bastien": the two named, no group of their own
    herds = [x for x in entities if x.group and x.kind == "animal" and x.since < si]
    birds = len(herds) == 1 and w == "flock" and si - herds[0].since <= 2 and any(
        lx.ENTITY_NOUNS.get((lx.group_of(n) or ("", n))[1], ("", ""))[1] == "bird" for n in herds[0].nouns)
    # ("the hounds bayed … By then the pack was bounding": the dogs just named)
    dogs = [x for x in herds if any(lx.GENERALISATIONS.get((lx.group_of(n) or ("", n))[1], set()) & {"dog", "wolf"}
                                    for n in x.nouns)]
    if det == "the" and w == "pack" and len(dogs) == 1 and si - dogs[0].since <= 5 and \
            not any(w in (t.lower() for t in s2) for s2 in sents[:si]):
        dogs[0].nouns.add(w)
        return True
    if det == "the" and lx.COLLECTIVE_NOUNS.get(w) == "animal" and len(herds) == 1 and (
            {"whole", "entire"} & set(lows[start:i]) or birds) and \
            not any(w in (t.lower() for t in s2) for s2 in sents[:si]):  # (or "his twenty pigeons flapped out …
        # The flock circled": the birds just named)
        herds[0].nouns.add(w)  # "the emus, who plodded … The whole flock strode": the one group of animals (not
        return True  # "the hunters' dogs … The herd scattered": other animals)
    # "Two bulbuls settle on the parapet … the birds flutter off": the one group of animals of that sort
    animal_groups = [x for x in entities if x.group and x.kind == "animal"]
    counted = det in lx.NUMBERS_VALUE and "the" in lows[max(0, start - 2):start] and \
        len(animal_groups) == 1 and animal_groups[0].count == lx.NUMBERS_VALUE[det]  # ("the two birds")
    if group is not None and group[0] == "animal" and (det == "the" or counted) and len(animal_groups) == 1:
        kinds = {(lx.group_of(n) or ("", ""))[1] for n in animal_groups[0].nouns}  # "bulbuls" → {"bulbul"}
        if animal_groups[0].since <= si and group[1] not in kinds and \
                any(group[1] in lx.GENERALISATIONS.get(k, ()) for k in kinds):
            animal_groups[0].nouns.add(w)  # "Two bulbuls settle on the parapet … the birds flutter off": the one
            return True  # group of animals, of that sort
    people_groups = [x for x in entities if x.group and x.kind == "person" and not x.nouns & lx.SPECTATORS]
    young = [x for x in people_groups if x.since < si and x.nouns & lx.YOUNG_GROUPS]
    if det == "the" and w in ("kids", "children") and len(young) == 1 and len(people_groups) == 1:
        young[0].nouns.add(w)  # "a crowd of fourth graders pile into the pit … The kids slap at the ball": them
        return True
    crews = [x for x in people_groups if x.since < si]
    if det == "the" and lx.COLLECTIVE_NOUNS.get(w) == "person" and w not in ("family", "team") and \
            len(crews) == 1 and {"whole", "entire"} & set(lows[start:i]) and \
            not any(_cap(t) for t in m.toks[start:i]) and \
            not any(w in (t.lower() for t in s2) for s2 in sents[:si]):  # (not "The whole Korean squad": theirs)
        crews[0].nouns.add(w)  # "a dozen volunteers fan out … the whole crew huddles": the one group of people
        return True
    owned = any(lows2[k] in ("his", "her", "their") and lows2[k + 1] == w
                for lows2 in ([t.lower() for t in s2] for s2 in sents[:si]) for k in range(len(lows2) - 1))
    people = [x for x in entities if x.group and x.kind == "person" and x.since <= si]
    if det == "the" and w in ("pack", "field") and len(people) == 1 and not any(
            x.kind == "animal" for x in entities) and people[0].nouns & lx.RACERS:
        people[0].nouns.add(w)  # "Twelve runners stride onto the track … the pack surges away": the runners
        return True
    herds_or_sheep = [x for x in entities if x.kind == "animal" and x.since < si and (
        x.group or x.nouns & lx.UNMARKED_PLURALS)]
    if det == "the" and lx.COLLECTIVE_NOUNS.get(w) == "animal" and len(herds_or_sheep) == 1 and owned:
        herds_or_sheep[0].nouns.add(w)  # "drives his flock up … the sheep crowd together … The flock follows him"
        return True
    earlier = [x for x in entities if x.group and x.since < si]
    if det == "the" and w == "group" and len(earlier) == 1 and not any(
            "group" in (t.lower() for t in s2) for s2 in sents[:si]):
        earlier[0].nouns.add(w)  # "Eight friends squeeze into wetsuits … the group drifts": the one group there is
        return True
    counted = [x for x in entities if x.group and x.count and x.count == lx.NUMBERS_VALUE.get(det)]
    if group is not None and not lx.is_known_word(w) and len(counted) == 1 and start >= 2 and \
            lows[start - 2] == "the":
        counted[0].nouns.add(w)  # "Two spider-like robots … the two crawlers return": the two of them
        return True
    members = [x for x in entities if x.group and x.nouns & lx.INSTITUTION_MEMBERS.get(w, set())]
    if det == "the" and len(members) == 1:
        members[0].nouns.add(w)  # "the Year Two children … the whole class waved": the children
        return True
    if start >= 2 and lx.verb_lemma(lows[start - 2]) in ("let", "make", "help", "watch") and \
            w not in lx.HAND_NOUNS and lx.ENTITY_NOUNS.get(w, ("",))[0] == "person" and reg.by_noun(w) is None:
        return True  # "lets the batter rest": a word-list person let do something may be a thing
    # "the weaverbirds … The weavers tore strips": a compound cut short; "a new foal, a black filly … the foal":
    # one in two words (the entity found under the other word gets this one)
    clipped = [x for x in entities if group is not None and x.group and any(
        n != w and n.startswith(w[:-1]) and lx.group_of(n[len(w) - 1:]) for n in x.nouns)]
    if len(clipped) == 1:
        clipped[0].nouns.add(w)
        return True
    alias = [x for x in entities if not x.group and x.nouns & _apposed_nouns(sents, w)] if group is None else []
    if len(alias) == 1:
        alias[0].nouns.add(w)
        return True
    same = reg.by_noun(w, si)
    told = set(lows[start:i]) & {"male", "female"}
    if same is not None and not same.named and told and \
            set(same.description.lower().split()) & ({"male", "female"} - told):
        return False  # "a female hornbill … the male hornbill swoops in": another one
    vehicles = {t for t in lows[start:i] if lx.ENTITY_NOUNS.get(t, ("",))[0] == "vehicle"}
    if same is not None and same.named and vehicles and not vehicles & same.nouns:
        same = None  # "the carrier … Its driver … The truck driver, a grey-moustached man": another vehicle's driver
    if same is not None and same.named and not same.declared and same.since > si and \
            _brought_in_named(sents[same.since], w):
        # "A vain jay collected feathers … an old jay named Corvin hissed": the first jay is another one
        same = next((x for x in entities if not x.named and w in x.nouns), None)
    if same is not None and not (same.group and det in ("a", "an", "one") and not lx.is_plural_noun(w)) and not (
            same.named and not same.declared and det in ("a", "an") and same.since < si):
        return True  # (but "the flock … One stubborn ewe breaks away": one of them, on her own; and "Kinako, the
        # biggest capybara … A baby capybara climbs onto Kinako's back": another one)
    if det in lx.POSSESSIVES and w in lx.INVERSE_KIN:
        # "Boonmee and her grandson Danny … His grandmother laughs": the grandmother is Boonmee
        # (the possessive that brought the pair in tells the anchor's sex: "His daughter Dunya" → he is her
        # father, so "Their mother" is someone else)
        sex = "m" if w in lx.MALE else "f" if w in lx.FEMALE else None
        # (whose: the one named before it in the sentence, or the sentence before's subject: "Leo grabs his mother's
        # hand … His mother laughs" is Leo's mother, not Rosa, Paolo's mother)
        owners = [reg.by_name(t) for t in m.toks[:start] if (_cap(t) or caseless(t)) and reg.by_name(t)] or [
            reg.by_name(t) for t in (sents[si - 1] if si else []) if (_cap(t) or caseless(t)) and reg.by_name(t)][:1]
        owner = owners[-1] if owners else None
        anchors = [x for x, k, g, other in kin if k in lx.INVERSE_KIN[w] and sex in (None, g) and (
            x.gender is None or x.gender == (sex or x.gender)) and (
                owner in (None, x) or other is None or other is owner)]  # (no one is their own grandmother)
        if len(anchors) == 1:
            anchors[0].nouns.add(w)
            if anchors[0].gender is None and sex is not None:
                anchors[0].gender = sex  # ("His grandmother sits": she is "she" from the start)
            return True
    if det == "the" and w in lx.GENERIC_PEOPLE and not any(
            toks2[x].lower() in ("a", "an", "another") and w in [t.lower() for t in toks2[x + 1:x + 5]]
            for toks2 in sents[:si + 1] for x in range(len(toks2))) and (any(
                x.named and x.kind == "person" for x in entities) or _younger_or_elder(kin, w, "old" in lows[start:i])):
        # (or a story of two kin known by their nouns: "A miller and his son … hoisted the boy onto the donkey")
        # "the old man", never introduced as "a man", in a story of named people: one of them. The one
        # written with the same word ("old Mr. Lindgren") is meant; otherwise no one is guessed (the
        # reader reports the sentence)
        alias = [x for x in entities if x.named and x.kind == "person" and
                 set(lows[start:i]) & _modifiers_of(sents, x)]
        if not alias:  # "يوسف … his grandfather, سالم … The boy leans", "the old man surfaces": by the kin pair
            alias = _younger_or_elder(kin, w, "old" in lows[start:i])
        if len(alias) == 1 and (alias[0].gender is None or lx.MALE & {w} and alias[0].gender == "m" or
                                lx.FEMALE & {w} and alias[0].gender == "f" or
                                w not in lx.MALE | lx.FEMALE):
            alias[0].nouns.add(w)
            if alias[0].gender is None:
                alias[0].gender = "m" if w in lx.MALE else "f" if w in lx.FEMALE else None
        return True
    groups = [x for x in entities if x.group and x.kind == group[0]] if group is not None else []
    watchers = [x for x in groups if x.nouns & lx.SPECTATORS]
    if w in lx.SPECTATORS and len(watchers) == 1:
        watchers[0].nouns.add(w)  # "the crowd claps … the audience joins in": the same people watching
        return True
    if group is not None and det == "the" and w in lx.PERSON_GROUPS and w not in lx.RELATIONAL_GROUPS and \
            len(groups) == 1 and groups[0].nouns & lx.INSTITUTIONS and \
            sum(1 for x in entities if x.kind == "person" and not x.group and x.since < si) < 2:
        groups[0].nouns.add(w)  # "Ms. Duarte's class … The children pressed": the class again
        return True
    if group is not None and det == "the" and w not in lx.COLLECTIVE_NOUNS and \
            w not in lx.PERSON_GROUPS and any(x.since < si and x.nouns & lx.COLLECTIVE_NOUNS.keys() and
                                              _maybe_the_same_people(x, w) for x in groups):
        # "a crowd gathers … the listeners clap": maybe the crowd again, maybe others; not a guess (but
        # "two apprentices carry the cake … the guests clap": another noun, other people)
        return True
    # "her sisters", "the whole family" (more than the two named), "the older girls from Year Six": others
    kin_of_theirs = det in lx.POSSESSIVES and w in ("sisters", "brothers", "cousins", "siblings", "aunts", "uncles") \
        or bool((lx.OTHERS | {"whole", "entire"}) & set(lows[start:i]))
    if group is not None and not kin_of_theirs and (  # ("by Ruthanne and her sisters": others, hers)
            w in lx.RELATIONAL_GROUPS or det not in ("two", "three", "four", "five") and w in lx.PERSON_GROUPS) \
            and w not in ("neighbours", "neighbors") \
            and sum(1 for x in entities if not x.group and x.since < si and (
                x.kind == group[0] or w in lx.RELATIONAL_GROUPS and x.kind == "animal")) >= 2 \
            and not _introduced_as_others(sents, si, i, lows[i]) and \
            not _kin_of_no_one(entities, sents[:si + 1], w) and not _noun_modified(lows[start:i]):
        # "the children", "both sisters" after Kofi and Lucía, "the two friends" after a rabbit and a mouse:
        # the characters, read as "they" (but "the village children" are the village's)
        return True
        # ("the dancers", "the fans", "the neighbours rushed over" are a group of their own)
    if group is not None and det in lx.NUMBERS_VALUE and start >= 2 and lows[start - 2] == "the" and sum(
            1 for x in entities if not x.group and x.since <= si and group[1] in x.nouns) == lx.NUMBERS_VALUE[det]:
        return True  # "Pili is a tarsier … Her cousin Dodong … the two tarsiers": those two, read as "they"
    theirs = [x for x in entities if x.group and x.nouns & lx.KIN_CALLED.get(w, set()) and x.since < si]
    if det == "the" and len(theirs) == 1:
        theirs[0].nouns.add(w)  # "walks her three nephews to the shop … The boys carry the bowl": the nephews
        return True
    people = [x for x in entities if not x.group and x.kind == "person" and (x.named or x.since < si)]
    if group is not None and det == "two" and start >= 2 and lows[start - 2] == "the" and w in ("men", "women") and \
            len(people) == 2 and not any(x.group and x.kind == "person" for x in entities) and all(
                x.gender in (None, "m" if w == "men" else "f") for x in people):
        return True  # "陳 carried a table … His old friend 林 arrived … The two men set out the pieces": those two
    just_named = [x for x in entities if x.group and x.kind == "person" and
                  x.nouns & {t.lower() for s2 in sents[max(0, si - 3):si] for t in s2} and
                  not x.nouns & lx.SPECTATORS]  # (a group named in the last three sentences)
    other_sex = lx.FEMALE if w == "men" else lx.MALE  # ("six men heaved … The women watching cheered": others;
    # "his sons reaped … The women sing": others)
    if group is not None and det == "the" and w in ("men", "women") and len(just_named) == 1 and not any(
            n in other_sex or n.rstrip("s") in other_sex or (lx.group_of(n) or ("", ""))[1] in other_sex
            for n in just_named[0].nouns):
        just_named[0].nouns.add(w)  # "Two office workers in long coats stop … The men blow on their food": them
        return True
    pairs = [x for x in entities if x.group and x.kind == "person" and (x.nouns & {"twins", "pair", "couple"} or
                                                                        x.count == 2)]
    if group is not None and det == "both" and group[1] in lx.GENERIC_PEOPLE and len(pairs) == 1:
        pairs[0].nouns.add(w)  # "The Pritchard twins … both boys giggled": the twins
        return True
    same_count = [x for x in entities if x.group and x.count and x.count > 2 and group is not None and
                  x.kind == group[0] and x.count == lx.NUMBERS_VALUE.get(det if det != "both" else "")]
    if len(same_count) == 1 and group[1] in lx.GENERIC_PEOPLE:
        # "Nine small dancers … all nine girls bow": the nine again (but "three kids … the three judges" are
        # others: a role noun names new people)
        same_count[0].nouns.add(w)
        return True
    # (or "both neighbours", "the two partners": a word for someone beside another)
    if group is not None and group[1] in lx.GENERIC_PEOPLE | lx.PEER_NOUNS and _counted_as_two(lows, i) and sum(
            1 for x in entities if x.kind == "person" and not x.group and x.since < si and x.gender in (
                None, "m" if group[1] in lx.MALE else "f" if group[1] in lx.FEMALE else x.gender)) >= 2 \
            and not _introduced_as_others(sents, si, i, lows[i]):
        return True  # "the two men shook hands" after Mr. Horvath and the janitor: those two, read as "they"
    if group is not None and group[0] == "person" and lx.role_noun(group[1]) and det in lx.NUMBERS_VALUE and \
            start >= 2 and lows[start - 2] == "the" and not any(
                x.group and x.kind == "person" for x in entities) and sum(
            1 for x in entities if x.kind == "person" and not x.group and x.since < si) == \
            lx.NUMBERS_VALUE[det] and not any(w in (t.lower() for t in s2) for s2 in sents[:si]) and \
            not _introduced_as_others(sents, si, i, lows[i]):
        # "the two scientists" after Dr. Faleolo and her student: those two, or two others? (the reader
        # reports it; no group is made up)
        return True
    if group is not None and group[1] in lx.GENERIC_PEOPLE and det in lx.NUMBERS_VALUE and start >= 2 and \
            lows[start - 2] == "the" and not any(x.group and x.kind == "person" for x in entities) and sum(
                1 for x in entities if x.kind == "person" and not x.group and x.named and x.since < si) == \
            lx.NUMBERS_VALUE[det] and not _introduced_as_others(sents, si, i, lows[i]):
        return True  # "נועה, her brother אורי … their neighbour ليلى … The three children skip": those three
    return False


def named_by_relative(reg: Registry, toks: list[str], j: int) -> tuple[Entity, int] | None:
    """toks[j:] is ", which the monks call Khao," after a noun: the entity so named (not a group), and the index after
    the name (and its closing comma). Not "which a young woman named Sunniva was driving": her name, then her verb."""
    lows = [t.lower() for t in toks]
    rel = j + (j < len(toks) and toks[j] == ",")
    if rel >= len(toks) or lows[rel] not in ("which", "that", "whom"):
        return None
    for x in range(rel + 2, min(len(toks) - 1, rel + 6)):
        named = reg.by_name(lows[x + 1]) if lows[x] in ("call", "calls", "called", "name", "named") and (
            _cap(toks[x + 1]) or caseless(toks[x + 1])) and (x + 2 >= len(toks) or not _word(toks[x + 2])) else None
        if named is not None and not named.group:
            return named, x + 2 + (x + 2 < len(toks) and toks[x + 2] == ",")
    return None


def named_members(reg: Registry, toks: list[str], j: int) -> tuple[list[Entity], int] | None:
    """toks[j:] is " from Lyon named Claire and Bastien" (up to four words, then "named" or "called" and two names
    or more of the story's entities): those entities, and the index after the last name (and its closing comma)."""
    lows = [t.lower() for t in toks]
    at = next((x for x in range(j, min(len(toks), j + 5)) if lows[x] in lx.NAMING), None)
    if at is None or any(not _word(toks[y]) or _cap(toks[y]) and reg.by_name(lows[y]) for y in range(j, at)):
        return None
    found, k = [], at + 1
    while k < len(toks):
        while k + 1 < len(toks) and lows[k] in lx.TITLES and _cap(toks[k]):
            k += 1
        e = reg.by_name(lows[k]) if _cap(toks[k]) or caseless(toks[k]) else None
        if e is None:
            return None
        found.append(e)
        k += 1
        while k < len(toks) and _cap(toks[k]) and reg.by_name(lows[k]) is e:
            k += 1
        if k < len(toks) and lows[k] in (",", "and") and k + 1 < len(toks) and lows[k + 1] != "and" and \
                (_cap(toks[k + 1]) or caseless(toks[k + 1])):
            k += 1
            continue
        if k + 1 < len(toks) and lows[k] == "," and lows[k + 1] == "and":
            k += 2
            continue
        break
    if len(found) < 2:
        return None
    return found, k + 1 if k < len(toks) and toks[k] == "," else k


def _apposed_nouns(sents: list[list[str]], w: str) -> set[str]:
    """The entity nouns set beside ``w`` in an apposition of two indefinite phrases: "has a new foal, a black filly
    with a white star" → {"filly"} for "foal" and {"foal"} for "filly"."""
    out: set[str] = set()
    for toks in sents:
        lows = [t.lower() for t in toks]
        for c in range(1, len(toks) - 2):
            if toks[c] != "," or lows[c + 1] not in ("a", "an"):
                continue
            a = c - 1
            while a > 0 and lows[a - 1] not in ("a", "an") and _word(toks[a - 1]) and not _closed(lows[a - 1]) \
                    and a > c - 4:
                a -= 1
            if a == 0 or lows[a - 1] not in ("a", "an"):
                continue
            b = c + 2
            while b < len(toks) and _word(toks[b]) and not _closed(lows[b]) and not lx.entity_noun(lows[b]) and \
                    b < c + 5:
                b += 1
            first, second = lx.entity_noun(lows[c - 1]), lx.entity_noun(lows[b]) if b < len(toks) else None
            if first and second and first != second and \
                    lx.ENTITY_NOUNS[first][0] == lx.ENTITY_NOUNS[second][0] != "person":
                out |= {second} if first == w else {first} if second == w else set()
    return out


def _add_unnamed(found: _Found, m: _Mention) -> None:
    """A new entity for the phrase: "a red fox", "the waiter", a group ("three kids", "the crowd")."""
    si, i, lows, w, group, det, start, of_group = m.si, m.i, m.lows, m.w, m.group, m.det, m.start, m.of_group
    adjs = [t for t in lows[start + 2 * of_group:i] if t not in lx.ENTITY_NOUNS or t == w]
    if group is not None and w not in lx.COLLECTIVE_NOUNS:
        desc = "group of " + " ".join([a for a in adjs if a not in lx.NUMBERS] + [w])
    else:  # ("A fat catfish watched": a catfish, whose kind is the fish's)
        desc = " ".join(adjs + [m.surface or w])
    e = Entity(id="", name="", description=f"{_article(desc).lower()} {desc}", since=si)
    if w in lx.ENTITY_NOUNS:
        _set_kind(e, w)
    if group is not None:
        make_group(e, w)
        e.count = lx.NUMBERS_VALUE.get(det) if det != "both" else None
        # "two small scout robots … the scouts return": the noun before the head names them too
        e.nouns |= {lows[x] + "s" for x in range(start, i) if lows[x] in lx.ENTITY_NOUNS and
                    (lx.group_of(lows[x] + "s") or ("", ""))[1] == lows[x]}
        # "two welding robots … the welders returned": the ones who do what the modifier says
        e.nouns |= {lx.verb_lemma(lows[x]).removesuffix("e") + "ers" for x in range(start, i)
                    if lows[x].endswith("ing") and lx.verb_lemma(lows[x]) and e.kind in ("machine", "vehicle")}
        if of_group:
            e.nouns.add(lows[start])  # "a family of howler monkeys … the whole family": the same group
        if "twin" in lows[start:i]:
            e.nouns.add("twins")  # "Her twin boys elbow … Then the twins tear the bread": the same two
    elif w not in lx.ENTITY_NOUNS:  # "the center, who sprints": a person the story does not name
        e.kind, e.shape, e.nouns = "person", "person", {w}
    else:  # "A baby capybara climbs … The baby squeaks", "a mother duck … the mother": the same one
        e.nouns |= {t for t in lows[start:i] if t in lx.KINSHIP or t == "baby"} | ({m.surface} if m.surface else set())
        if i >= 1 and lx.ENTITY_NOUNS.get(lows[i - 1], ("",))[0] == "animal" == e.kind and \
                lows[i - 1] not in lx.HAND_NOUNS and lows[i - 1] != w:
            e.nouns.add(lows[i - 1])  # "a jabiru stork … the jabiru": a species named before its kind (not "a
            # fox cub": an everyday animal before the noun is another animal)
        if e.kind == "vehicle" and lows[i - 1:i] == ["water"]:
            e.nouns |= {"boat", "vessel"}  # "a water taxi … swings the boat out": a boat
    found.add(e)


def _driven_are_vehicles(sents: list[list[str]], entities: list[Entity]) -> None:
    """"a supply crawler that Captain Tsvetkova was driving": what someone drives or steers is a vehicle, though the
    word list knows the noun as a person (a crawler); so "She steers it" is never the crawler."""
    drive = {"drive", "steer", "park", "pilot", "tow"}
    for e in entities:
        nouns = {n for n in e.nouns if n not in lx.HAND_NOUNS}
        if e.named or e.declared or e.group or e.kind != "person" or not nouns:
            continue
        for toks in sents:
            lows = [t.lower() for t in toks]
            for k, w in enumerate(lows):
                if w not in nouns:
                    continue
                before = any(lx.verb_lemma(lows[x]) in drive for x in range(max(0, k - 4), k))
                after = any(lows[x] in ("that", "which") for x in range(k + 1, min(len(lows), k + 3))) and any(
                    lx.verb_lemma(lows[x]) in drive for x in range(k + 2, min(len(lows), k + 7)))
                if before or after:
                    e.kind, e.shape = "vehicle", "vehicle"
                    e.nouns.add("vehicle")


def _members_of_collectives(sents: list[list[str]], entities: list[Entity]) -> None:
    """"a family of hyraxes … the hyraxes sunbathed": the members' plural names the group too, when no other entity
    has it (the one member named apart, "the youngest hyrax, Skitter", keeps the singular)."""
    for e in entities:
        if not e.group or e.named or e.declared or not e.nouns & set(lx.COLLECTIVE_NOUNS):
            continue
        for toks in sents:
            lows = [t.lower() for t in toks]
            for k in range(len(lows) - 2):
                members = lows[k + 2]
                kind = lx.group_of(members) if lows[k] in e.nouns and lows[k + 1] == "of" else None
                if kind is not None and kind[0] in ("person", "animal") and kind[1] != members and \
                        not any(members in x.nouns for x in entities if x is not e):
                    e.nouns.add(members)
                    if kind[0] == "animal" and e.kind == "person":
                        e.kind, e.shape = "animal", "small"


def _assign_ids(entities: list[Entity]) -> None:
    """Ids for the entities found: the declared ones kept, then readable ASCII slugs, unique."""
    used = {e.id for e in entities if e.id}
    for e in entities:
        if e.id:
            continue
        # the name, not its title: "Nonna Rosa" is rosa, "Grandma" alone is grandma
        base = ascii_slug(sorted(e.names, key=lambda n: (len(e.names) > 1 and n in lx.TITLES | lx.KINSHIP,
                                                        e.name.lower().find(n)))[0] if e.names else
                          (_group_noun_of(e.description) or _noun_of(e.description) or
                           (sorted(e.nouns)[0] if e.nouns else e.description)), "entity")
        cid, k = base, 2
        while cid in used:
            cid, k = f"{base}-{k}", k + 1
        e.id = cid
        used.add(cid)


def _modifiers_of(sents: list[list[str]], e: Entity) -> set[str]:
    """The lower-case adjectives written right before the entity's name: "old Mr. Lindgren" → {"old"}."""
    out: set[str] = set()
    for toks in sents:
        for i, t in enumerate(toks):
            if _cap(t) and t.lower() in e.names:
                k = i - 1
                while k >= 0 and _cap(toks[k]) and toks[k].lower().rstrip(".") in lx.TITLES:
                    k -= 1  # "old Mr. Lindgren"
                if k >= 0 and _word(toks[k]) and not _cap(toks[k]) and not _closed(toks[k].lower()) and \
                        not lx.entity_noun(toks[k].lower()):
                    out.add(toks[k].lower())
    return out


def _kin_group(word: str) -> tuple[str, str] | None:
    """What each one listed after ``word`` is: "alpacas" → an alpaca, "sisters" → a sister (of the relational
    plurals, kin words only: "his two friends, Ali and Bo" are friends of his, not "the friend" of the story)."""
    kin = _relational_group(word)
    return lx.group_of(word) or (kin if kin is not None and kin[1] in lx.FAMILY_NOUNS else None)


def _relational_group(word: str) -> tuple[str, str] | None:
    """"the twins", "her sisters" in a story that has not named them: a group of people, one entity."""
    from lemminflect import getAllLemmas

    if word in lx.PERSON_GROUPS and word not in ("family", "couple"):
        lem = next(iter(getAllLemmas(word, upos="NOUN").get("NOUN", ())), word)
        return "person", lem
    return None


def _listed_after(sents: list[list[str]], plural: str) -> int:
    """How many names the story lists right after ``plural``: "their two alpacas, Pudding and Clove," → 2."""
    best = 0
    for toks in sents:
        for k in range(len(toks) - 2):
            if toks[k].lower() == plural and toks[k + 1] == ",":
                names = [t for t in toks[k + 2:k + 8] if _cap(t) and _word(t)]
                seps = toks[k + 2:k + 2 + 2 * len(names)]
                if names and all(t.lower() in ("and", ",") or _cap(t) for t in seps):
                    best = max(best, len(names))
    return best


def _brought_in_named(toks: list[str], w: str) -> bool:
    """Does the sentence bring in a new one by ``w`` and its name ("an old jay named Corvin")? Then a jay the story
    told of before is another one."""
    lows = [t.lower() for t in toks]
    return any(lows[k] == w and lows[k + 1] in lx.NAMING and {"a", "an"} & set(lows[max(0, k - 3):k])
               for k in range(len(lows) - 1))


def _introduced_as_others(sents: list[list[str]], si: int, i: int, plural: str) -> bool:
    """Did the story bring in ``plural`` with a count before sents[si][i] ("against two tall boys from the city team
    … The boys return")? Then "the boys" are those others, not the story's named characters ("Kofi and Ama are two
    children": a count after "are" describes the characters)."""
    for s, toks in enumerate(sents[:si + 1]):
        lows = [t.lower() for t in toks]
        for k in range(1, len(lows) if s < si else i):
            if lows[k] != plural:
                continue
            c = k - 1
            while c > 0 and lx.is_adjective(lows[c]) and lows[c] not in lx.NUMBERS:
                c -= 1  # "two tall boys"
            o = next((x for x in range(k - 1, max(0, k - 4), -1) if lows[x] == "of"), None)
            if o is not None and o >= 1 and (lows[o - 1] in lx.COLLECTIVE_NOUNS or lows[o - 1] in lx.QUANTITY_NOUNS):
                return True  # "a crowd of village children runs down … The children wave": those, not the characters
            if (lows[c] in lx.NUMBERS - {"both"} or lows[c] in ("some", "several", "few")) and not (  # ("Both boys
                # roll": the two the story has)
                    c > 0 and (lows[c - 1] in lx.BE_FORMS or lows[c - 1] in lx.DETERMINERS | lx.POSSESSIVES)):
                return True
    return False


def _maybe_the_same_people(crowd: Entity, plural: str) -> bool:
    """Whether a new plural for people may name a collective found before: watchers may be a crowd that watches
    ("a crowd gathers … the listeners clap"), but not those with a role ("the audience rose … the graduates tossed
    their caps"), and watchers are not the ones watched or at work ("the demolition crew … the onlookers drifted
    off", "a zaffa troupe … the guests roared")."""
    if crowd.nouns & lx.SPECTATORS:
        return plural in lx.SPECTATORS | lx.WATCHERS
    return plural not in lx.SPECTATORS and not (plural in lx.WATCHERS and crowd.nouns & lx.PERFORMERS)


def _noun_modified(words: list[str]) -> bool:
    """Whether a noun that is no adjective nor number comes before the head ("the village children", "the school
    kids"): people of that place or kind, not the story's characters read as "they"."""
    return any(lx.is_noun(t) and not lx.is_adjective(t) and t not in lx.NUMBERS_VALUE and t.isalpha() for t in words)


def _singular(word: str) -> str:
    """The singular of a plural noun ("planes" → "plane"); the word itself otherwise."""
    group = lx.group_of(word)
    return group[1] if group is not None and lx.is_plural_noun(word) else word


def _kin_of_no_one(entities: list[Entity], sents: list[list[str]], plural: str) -> bool:
    """"the parents", "the cousins", "the twins" when no character is anyone's mother, father, cousin or twin, nor
    said to be ("Lena and Bo are cousins"): other people (the twins' parents on the touchline), not the characters
    read as "they"."""
    kin = {"parents": lx.KIN_SYNONYMS["mother"] | lx.KIN_SYNONYMS["father"],
           "grandparents": lx.KIN_SYNONYMS["grandmother"] | lx.KIN_SYNONYMS["grandfather"],
           "cousins": {"cousin"}, "twins": {"twin"}}.get(plural)
    said = any(t.lower() == plural and any(x.lower() in lx.BE_FORMS for x in toks[max(0, k - 3):k])
               for toks in sents for k, t in enumerate(toks))
    return kin is not None and not said and not any(e.nouns & kin for e in entities if not e.group)


def _group_name(reg: Registry, toks: list[str], i: int) -> str | None:
    """toks[i] is a group's noun after "the" and capitalised words that name no one: "the Kaur twins" → "kaur
    twins", "The Year Two children" → "year two children"; else None."""
    k = i
    while k > 1 and _cap(toks[k - 1]) and _word(toks[k - 1]) and reg.by_name(toks[k - 1]) is None and \
            toks[k - 1].lower() not in lx.TITLES:
        k -= 1
    if k == i or toks[k - 1].lower() != "the":
        return None
    return " ".join(t.lower() for t in toks[k:i + 1])


def _counted_as_two(lows: list[str], i: int) -> bool:
    """lows[i] is a plural counted as two: "both alpacas", "the two dogs"."""
    return i > 0 and (lows[i - 1] == "both" or lows[i - 1] == "two" and i > 1 and lows[i - 2] in ("the", "both"))


def _named_in_apposition(reg: Registry, toks: list[str], k: int) -> Entity | None:
    """toks[k:] is ", a tall left-hander named Pieter" (up to the next comma or the end): Pieter's entity."""
    if k >= len(toks) or toks[k] != "," or k + 1 >= len(toks) or toks[k + 1].lower() not in ("a", "an", "the"):
        return None
    for x in range(k + 2, min(len(toks) - 1, k + 10)):
        if toks[x] in (",", ".", ";"):
            return None
        if toks[x].lower() in lx.NAMING:  # (a name in any script: "a cheerful man named 鄭")
            while x + 2 < len(toks) and toks[x + 1].lower() in lx.TITLES and _cap(toks[x + 1]):
                x += 1  # "the janitor, a bald man named Mr. Pottinger"
            return reg.by_name(toks[x + 1])
    return None


def _named_in_next_sentence(reg: Registry, sents: list[list[str]], si: int, i: int) -> Entity | None:
    """sents[si][i] is the one role noun of its sentence, and the next sentence names it: "the farrier came … His
    name was Mr. Pell", "A nurse walked in. She was called Ines.": the named entity (its gender from the pronoun)."""
    toks, lows = sents[si], [t.lower() for t in sents[si]]
    if si + 1 >= len(sents) or i == 0 or lows[i - 1] not in lx.DETERMINERS | lx.POSSESSIVES:
        return None
    nxt = [t.lower() for t in sents[si + 1]]
    if nxt[:2] in (["his", "name"], ["her", "name"], ["its", "name"]) and nxt[2:3] in (["was"], ["is"]):
        k = 3
    elif nxt[:1] in (["he"], ["she"], ["it"]) and nxt[1:2] in (["was"], ["is"]) and nxt[2:3] in (["called"],
                                                                                                ["named"]):
        k = 3
    else:
        return None
    while k < len(nxt) and nxt[k] in lx.TITLES:
        k += 1
    named = reg.by_name(nxt[k]) if k < len(nxt) else None
    kind = lx.ENTITY_NOUNS.get(lx.entity_noun(lows[i]) or "", ("",))[0]
    others = [t for x, t in enumerate(lows) if x != i and lx.ENTITY_NOUNS.get(lx.entity_noun(t) or "", ("",))[0]
              in ("person", "animal") and x > 0 and lows[x - 1] in lx.DETERMINERS | lx.POSSESSIVES and
              not (x > 1 and lows[x - 2] in lx.PREPOSITIONS)]  # ("hurried into the ward": a place)
    if named is None or named.group or others or kind not in ("person", "animal") or \
            any(reg.by_name(t) is named for t in toks):
        return None  # a name for one of several, or for someone this sentence names already: no guess
    g = {"his": "m", "he": "m", "her": "f", "she": "f"}.get(nxt[0])
    if named.gender is None and g:
        named.gender = g
    if lows[i - 1] in ("a", "an"):
        named.introduced = si
    return named


def _name_after_titles(reg: Registry, toks: list[str], k: int) -> Entity | None:
    """The entity whose name starts toks[k:], after any titles: "Canela", "Mrs. Amadi", "old Herr Gruber"."""
    if k + 1 < len(toks) and toks[k] in lx.NAME_ADJECTIVES and _cap(toks[k + 1]):
        k += 1
    while k < len(toks) and toks[k].lower() in lx.TITLES and _cap(toks[k]):
        k += 1
    return reg.by_name(toks[k]) if k < len(toks) and _cap(toks[k]) else None


def _names_at(reg: Registry, toks: list[str], k: int) -> bool:
    """toks[k:] starts with a known name, after any titles."""
    return _name_after_titles(reg, toks, k) is not None


def _relative_who(lows: list[str], i: int) -> bool:
    """lows[i] is a noun followed by "who" or "whose" ("the center, who sprints", "a boy whose puppy"): a person."""
    j = i + 1 + (i + 1 < len(lows) and lows[i + 1] == ",")
    return j < len(lows) and lows[j] in ("who", "whose") and lx.is_noun(lows[i]) and not _describes_a_person(lows, i)


def _describes_a_person(lows: list[str], i: int) -> bool:
    """lows[i] is the noun of a phrase describing a person before it: "the keeper, a tall girl in a padded helmet,
    who dives", "by a freckled boy in a motorboat, who waved": the relative clause after it is the person's."""
    k = i - 1
    while k > 0 and lows[k] not in MODIFIER_PREPS and lows[k] not in (",", ".", ";") and i - k < 5:
        k -= 1
    if k > 0 and lows[k] in ("in", "with") and _word(lows[k - 1]) and not _closed(lows[k - 1]) and \
            not _finite_readings(lows[k - 1]) and lx.is_noun(lows[k - 1]) and \
            lx.ENTITY_NOUNS.get(lx.entity_noun(lows[k - 1]) or "", ("",))[0] in ("", "person"):
        return True  # "A bearded regular in a checked cap, who sits": the one in the cap (a word no list has)
    return k > 0 and lows[k] in MODIFIER_PREPS and lx.ENTITY_NOUNS.get(lows[k - 1], ("",))[0] == "person"


def _passive_agent_at(lows: list[str], k: int) -> bool:
    """lows[k] is the "by" of a passive's agent: "was chased by", "is caught by"."""
    if k < 1 or lows[k] != "by":
        return False
    m = k - 1
    while m >= 0 and lows[m] in lx.PARTICLES | lx.ADVERBS:
        m -= 1
    if m >= 0 and any(tag in ("VBN", "VBD") for _, tag in lx.verb_readings(lows[m])):
        return True
    # "was stolen from the rack outside the school by a teenager": the participle a few phrases before, in the
    # same clause (no comma between), right after a form of "be"
    for m in range(k - 1, max(0, k - 12), -1):
        if lows[m] in (",", ";", ":", "and", "but"):
            return False
        if lows[m - 1] in lx.BE_FORMS and any(tag in ("VBN", "VBD") for _, tag in lx.verb_readings(lows[m])):
            return True
    return False


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
    # after: "Bosun, her shaggy old dog, bounds": a possessive apposition closed by a comma (not "Mia, her brother
    # and Tom": a list)
    if end + 2 < len(toks) and toks[end] == "," and lows[end + 1] in ("his", "her", "their", "our", "my"):
        # ("Tahini, her family's brown goat,": a possessor inside it)
        close = next((x for x in range(end + 2, min(len(toks), end + 9)) if not _word(toks[x]) and toks[x] != "'s"),
                     None)
        phrase = [w for w in lows[end + 2:close] if w != "'s"] if close is not None and toks[close] == "," else []
        noun = lx.entity_noun(phrase[-1]) if phrase and "and" not in phrase else None
        if noun:
            kind = lx.ENTITY_NOUNS[noun][0]
            return noun, (None if kind == "person" else f"{_article(' '.join(phrase)).lower()} {' '.join(phrase)}")
    # after: "Lolo the sloth dangles", "Boris the bear": the kind right after the name
    if end + 1 < len(toks) and lows[end] == "the" and lx.entity_noun(lows[end + 1]) and (
            end + 2 >= len(toks) or not _word(toks[end + 2]) or _finite_readings(toks[end + 2])):
        noun = lx.entity_noun(lows[end + 1])
        kind = lx.ENTITY_NOUNS[noun][0]
        return noun, (None if kind == "person" else f"{_article(noun).lower()} {noun}")
    # after: " is a little hedgehog who …", " was an old sheepdog": a copula right after the name
    # (or " was the smallest calf in a herd": a superlative with "the")
    if end + 2 < len(toks) and lows[end] in ("is", "was") and (lows[end + 1] in ("a", "an") or lows[end + 1] == "the"
                                                               and (lows[end + 2].endswith("est") or
                                                                    lows[end + 2] in lx.ORDINALS)):
        k = end + 2
        phrase = []
        while k < len(toks) and _word(toks[k]) and not _closed(lows[k]) and len(phrase) < 5:
            phrase.append(lows[k])
            k += 1
        noun = _noun_of(" ".join(phrase)) if phrase else None  # "a round robot vacuum" → robot
        if noun:
            kind = lx.ENTITY_NOUNS[noun][0]
            return noun, (None if kind == "person" else f"{lows[end + 1]} {' '.join(phrase)}")
    # before: "<det> <adjs> NOUN [named|called|,] Name", "The boy, whose name was Theo,"
    k = start - 1
    if k >= 3 and lows[k - 3:k + 1] in ([",", "whose", "name", "was"], [",", "whose", "name", "is"]):
        k -= 4
    elif k >= 0 and lows[k] in ("named", "called", ","):
        k -= 1
        # "a girl with red plaits called Oona": the noun before a phrase that describes it
        at = next((x for x in range(k, max(0, k - 5), -1) if lows[x] in ("with", "in", "wearing")), None) \
            if lows[k + 1] != "," and not lx.entity_noun(lows[k]) else None
        if at is not None and at >= 1 and lx.entity_noun(lows[at - 1]) and \
                all(_word(toks[y]) and not _cap(toks[y]) for y in range(at + 1, k + 1)):
            k = at - 1
    elif k >= 1 and lows[k] == "the" and lows[k - 1] in lx.NAMING:
        k -= 2  # "a submarine called the Lantern"
    if k >= 0 and lx.entity_noun(lows[k]):
        noun = lx.entity_noun(lows[k])
        s = k
        while s > 0 and _word(toks[s - 1]) and not _closed(lows[s - 1]) and not _cap(toks[s - 1]):
            s -= 1
        det = lows[s - 1] if s > 0 else ""
        if lows[k + 1] == "," and s >= 2 and det in lx.DETERMINERS and all(
                w in lx.PREPOSITIONS or w in lx.PARTICLES for w in lows[:s - 1]):
            return None, None  # "Up in the van, Siobhan watches": the place before the subject, not its kind
        words = lows[s:k + 1]
        kind = lx.ENTITY_NOUNS[noun][0]
        if kind == "person":  # "her friend Jun", "the keeper Dembe": a person described by the name
            return noun, None
        art = det if det in ("a", "an") else _article(" ".join(words)).lower()
        return noun, f"{art} {' '.join(words)}"
    return None, None



def infer_main_character(text: str) -> Character:
    """The main character of a story without front matter (the first character the planner finds), else a
    generic "person"."""
    reg = discover_entities([text], [])
    chars = [e for e in reg.entities if e.named] or reg.entities
    if not chars:
        return Character(id="person", name="the person", description="a person", token="[v1]")
    e = chars[0]
    return Character(id=e.id, name=e.name, description=e.description, token="[v1]")

