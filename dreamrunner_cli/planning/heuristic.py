"""The built-in planner: offline, deterministic, rule-based (the default when no LLM is configured).

It follows the two levels of DreamRunner's planning (METHOD.md A) with small word lists and rules instead of GPT-4o:

* **Level 1, ``outline``** (A.1): split the story into 5–8 scenes (paragraphs, split or merged to fit), take the
  characters from the front matter (or infer one main character from the text), find each scene's motions (verbs
  from a lexicon, rewritten in present progressive: "wakes up" → "waking up", "stretches his arms" → "stretching
  arms"), its location and a background that never names a character.
* **Level 2, ``layout``** (A.2): 6 key frames per scene. One character gets a large centred box (``[0.2, 0, 0.8,
  1]``); several characters get side-by-side lanes that never overlap. Each character's motions are held for at
  least 2 key frames, in story order, with more frames for dynamic motions than for static ones. Boxes change
  little from frame to frame except for locomotion (walking, running, swimming…), which moves the box sideways.
  Every box side is ≥ 0.2. Captions are in present progressive and carry the character's token:
  "A [v1] brown teddy bear is walking through the garden".

Limits (see docs/planning.md): English only; it finds motions only for verbs in its lexicon; it resolves "he/she"
to the last-mentioned character (no gender); it makes no object regions (rocks, flowers) and no merged captions;
at most 4 characters are laid out per scene. For richer plans use an LLM backend or edit plan.json by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..schema import NO_MOTION, Character, Keyframe, Motion, Outline, Region, SceneOutline, slug

if TYPE_CHECKING:
    from ..config import PlanConfig
    from ..story import StoryInput

# Word lists --------------------------------------------------------------------------------------------------------
# Motion verbs (base form) → layout category. loco: the box travels sideways; fly/swim: travels, higher or lower in
# the frame; climb: rises; jump: bobs up and down; sit / lie: lower, wider boxes; act: stays in place.
_CATEGORIES: dict[str, str] = {}
for _cat, _words in {
    "loco": "walk run jog hike march stroll wander roll ride cycle skate ski crawl sail drive chase follow hurry dash "
            "race paddle slide skip tiptoe sneak explore trot gallop limp",
    "fly": "fly float glide soar",
    "swim": "swim dive surf",
    "climb": "climb",
    "jump": "jump hop leap bounce",
    "sit": "sit kneel",
    "lie": "lie sleep nap rest",
    "act": "wake stretch yawn stand sing dance spin twirl wave clap laugh smile cry sneeze eat drink cook bake read "
           "write draw paint play build dig plant water pick arrange throw catch kick hug kiss pat feed wash brush "
           "comb open close push pull carry hold lift knock press type look watch sniff bark meow purr wag scratch "
           "lick chew shake nod point search swing knit sweep clean fold pour stir chop taste sip blow juggle bow "
           "salute stomp peek hide shiver fight punch exercise practice meditate pray celebrate cheer shout yell "
           "whistle hum listen stare gaze switch turn fall curl splash howl roar growl",
}.items():
    for _w in _words.split():
        _CATEGORIES.setdefault(_w, _cat)
VERBS = frozenset(_CATEGORIES)

IRREGULAR = {  # past tense and other forms the suffix rules cannot undo → base form
    "ran": "run", "sat": "sit", "swam": "swim", "ate": "eat", "drank": "drink", "threw": "throw", "caught": "catch",
    "flew": "fly", "rode": "ride", "woke": "wake", "stood": "stand", "sang": "sing", "wrote": "write", "drew": "draw",
    "built": "build", "dug": "dig", "held": "hold", "knelt": "kneel", "lay": "lie", "slept": "sleep", "shook": "shake",
    "blew": "blow", "hid": "hide", "fought": "fight", "fell": "fall", "swung": "swing", "drove": "drive", "dove":
    "dive", "lying": "lie", "spun": "spin", "slid": "slide", "leapt": "leap", "read": "read",
}
DOUBLE_FINAL = frozenset("run sit swim jog hop skip stir chop dig clap hug pat wag nap dip spin shop drop grab".split())
TRANSITIVE = frozenset(
    "eat drink read write draw paint play build plant water pick arrange throw catch kick feed wash brush comb open "
    "close push pull carry hold lift knock press ride climb drive stretch wave clap wag shake sniff chew lick cook bake "
    "stir pour chop fold sweep clean fly blow juggle knit hug pat scratch taste sip dig swing kiss type".split())
PHRASAL = {  # verb + particle kept together: "wakes up" → "waking up"
    ("wake", "up"), ("pick", "up"), ("sit", "down"), ("lie", "down"), ("look", "around"), ("look", "up"),
    ("look", "out"), ("look", "down"), ("curl", "up"), ("switch", "on"), ("switch", "off"), ("turn", "around"),
    ("stand", "up"), ("jump", "up"), ("fall", "asleep"), ("run", "away"), ("walk", "away"), ("fly", "away"),
    ("swim", "away"), ("swim", "up"), ("climb", "up"), ("climb", "down"), ("knock", "over"), ("clean", "up"),
    ("dive", "down"), ("lie", "back"), ("wave", "goodbye"), ("jump", "down"),
}
PHRASAL_CATEGORY = {("lie", "down"): "lie", ("sit", "down"): "sit", ("fall", "asleep"): "lie", ("curl", "up"): "lie",
                    ("stand", "up"): "act", ("jump", "down"): "jump"}
STATIC = frozenset("sit kneel lie sleep nap rest stand read write watch look listen stare gaze meditate".split())
BODY_PARTS = frozenset("arm arms hand hands leg legs head tail wing wings teeth tooth hair eyes eye feet foot nose paws "
                       "paw fins fin ears ear".split())
DETERMINERS = frozenset("a an the some this that these those one two three many several".split())
POSSESSIVES = frozenset("his her their its my your our".split())
PRONOUNS = frozenset("he she it they we i you who him them us me".split())
PLURAL_SUBJECTS = frozenset("they we i you".split())
PREPOSITIONS = frozenset(
    "in into inside at through to on onto along across around by near under over from toward towards behind beside "
    "with of for off out up down past between above below beneath among upon within without like about after before "
    "until while during against".split())
CONJUNCTIONS = frozenset("and or but then so because as when while if than".split())
AUX_BEFORE_ING = frozenset("is are was were am be been keeps kept starts started begins began goes went go start begin "
                           "keep stops stopped loves love likes like enjoys enjoy".split())
BEFORE_FINITE = frozenset("and then also now soon finally suddenly again still happily slowly quickly gently , "
                          "just".split())
NOT_NAMES = frozenset(  # capitalised words that are not a character's name
    "the a an he she it they we i you his her their its my our your then after before in at on when while as later "
    "finally suddenly one once today tomorrow yesterday morning evening night afternoon there this that these those "
    "soon next meanwhile so but and or with from to for of by inside outside every each all both some at last first "
    "monday tuesday wednesday thursday friday saturday sunday".split())
TIMES = {"morning": "in the morning", "afternoon": "in the afternoon", "evening": "in the evening", "night": "at night",
         "sunset": "at sunset", "sunrise": "at sunrise", "dawn": "at dawn", "dusk": "at dusk", "noon": "at noon",
         "midnight": "at midnight"}
PLACES = frozenset(
    "bedroom kitchen bathroom room playroom hall hallway corridor garden backyard yard park path street road forest "
    "woods beach sea ocean lake river pond meadow field mountain hill valley cave reef lagoon moon station planet "
    "galley cabin city town village market shop store cafe classroom library playground castle house cottage "
    "porch balcony rooftop farm barn desert jungle island bridge stage office studio attic basement camp campsite "
    "tent lighthouse harbor harbour dock shore sky countryside orchard greenhouse museum zoo airport spaceship "
    "classroom gym kindergarten bakery restaurant theater theatre square plaza alley trail waterfall glacier "
    "swamp canyon".split())
PLACE_COMPOUNDS = {("living", "room"), ("dining", "room"), ("control", "room"), ("space", "station"),
                   ("coral", "reef"), ("sea", "floor"), ("play", "room"), ("train", "station")}
ON_PLACES = frozenset("moon beach street road path bridge stage island porch balcony rooftop shore sea-floor planet "
                      "trail square plaza".split())
WATER_PLACES = frozenset("pond lake river sea ocean lagoon waterfall harbor harbour".split())  # "by the pond"
UNIQUE_PLACES = frozenset("moon sky sea ocean".split())  # "The moon", not "A moon"
STATIC_PREPS = frozenset("in on at by near inside beside under".split())
# After these, a travelling motion's place is quoted as written: "walking through the garden".
TRAVEL_PREPS = frozenset("through into across along down up to toward towards around over past out onto".split())

_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*|'s|[.,;:!?]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")


# Text analysis ---------------------------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences (on ., ! or ? followed by space)."""
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def lemma(word: str) -> str | None:
    """The base form of a motion verb in any inflection ("stretches" → "stretch", "ran" → "run"), else None."""
    w = word.lower()
    if w in IRREGULAR:
        return IRREGULAR[w]
    if w in VERBS:
        return w
    candidates: list[str] = []
    if w.endswith("ies") or w.endswith("ied"):
        candidates.append(w[:-3] + "y")  # flies, carried
    if w.endswith("ing"):
        stem = w[:-3]
        candidates += [stem, stem + "e"]
        if len(stem) > 2 and stem[-1] == stem[-2]:
            candidates.append(stem[:-1])  # running
        if stem.endswith("y"):
            candidates.append(stem[:-1] + "ie")  # lying
    if w.endswith("ed"):
        candidates += [w[:-2], w[:-1]]  # walked, danced
        if len(w) > 4 and w[-3] == w[-4]:
            candidates.append(w[:-3])  # hopped
    if w.endswith("es"):
        candidates.append(w[:-2])  # stretches
    if w.endswith("s") and not w.endswith("ss"):
        candidates.append(w[:-1])  # walks
    return next((c for c in candidates if c in VERBS), None)


def progressive(base: str) -> str:
    """Present participle of a base form: walk → walking, run → running, dance → dancing, lie → lying."""
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith(("ee", "ye", "oe")):
        return base[:-1] + "ing"
    if base in DOUBLE_FINAL:
        return base + base[-1] + "ing"
    return base + "ing"


def _article(phrase: str) -> str:
    return "An" if phrase[:1].lower() in "aeiou" else "A"


def _strip_article(text: str) -> str:
    return re.sub(r"^(a|an|the)\s+", "", text.strip(), flags=re.IGNORECASE)


@dataclass
class _CharRef:
    """What counts as a mention of a character: its name, its id, or "the <head noun of its description>"."""

    id: str
    names: set[str]
    head: str | None


@dataclass
class MotionEvent:
    """One verb in a scene: who does it, in present progressive, and where."""

    who: list[str]  # character ids
    description: str  # "stretching arms"
    base: str  # the verb's base form: "stretch"
    category: str  # loco, fly, swim, climb, jump, sit, lie, act
    place: str | None = None  # the place named after the verb in the same clause: "garden"
    place_prep: str | None = None  # its preposition: "through"
    place_phrase: str | None = None  # as written: "through the garden"
    detail: str = ""  # another character as the object, for the caption only: "the grey tabby cat"
    id: str = ""  # motion id; default slug(description)

    def __post_init__(self) -> None:
        self.id = self.id or slug(self.description, "motion")

    @property
    def static(self) -> bool:
        return self.base in STATIC or self.category in {"sit", "lie"}


def categorize(description: str) -> tuple[str, str]:
    """(base verb, layout category) of a motion description such as "lying down" or "waving hand"."""
    words = description.lower().split()
    base = lemma(words[0]) if words else None
    if base is None:
        return (words[0] if words else ""), "act"
    if len(words) > 1 and (base, words[1]) in PHRASAL_CATEGORY:
        return base, PHRASAL_CATEGORY[(base, words[1])]
    return base, _CATEGORIES[base]


@dataclass
class SceneAnalysis:
    characters: list[str]  # ids present, in the story's character order
    events: list[MotionEvent] = field(default_factory=list)
    place: str | None = None  # "cozy bedroom"
    place_prep: str | None = None  # the preposition the text used with it: "in"
    time: str | None = None  # "in the morning"


def _refs(characters: list[Character]) -> list[_CharRef]:
    out = []
    for c in characters:
        names = {c.id.lower()} | {w.lower() for w in tokens(c.name) if w[:1].isupper()}
        if c.name and c.name[:1].isupper():
            names.add(c.name.split()[0].lower())
        desc = _strip_article(re.split(r"\s+(?:with|in|who|wearing|from|of)\s+", c.description)[0])
        head = desc.split()[-1].lower() if desc and desc[:1].islower() else None
        out.append(_CharRef(c.id, names, head))
    return out


def _mentions(toks: list[str], refs: list[_CharRef]) -> dict[int, str]:
    """Token index → character id, for names ("Teddy"), ids, and "the <head noun>" ("the cat")."""
    found: dict[int, str] = {}
    for i, t in enumerate(toks):
        low = t.lower()
        for r in refs:
            if (t[:1].isupper() and low in r.names) or (
                    r.head and low == r.head and i > 0 and toks[i - 1].lower() in {"the", "this", "that"}):
                found[i] = r.id
                break
    return found


def _place_after(toks: list[str], i: int) -> tuple[str, str] | None:
    """If toks[i] starts a place phrase, return (the phrase as written, the place): ("across the playroom floor",
    "playroom"). Possessives become "the" so that a place never names a character."""
    prep = toks[i].lower()
    j = i + 1
    if j < len(toks) and toks[j].lower() in DETERMINERS | POSSESSIVES:
        j += 1
    elif j + 1 < len(toks) and toks[j + 1] == "'s":
        j += 2  # "in Teddy's bedroom" → "in the bedroom": never name a character in a place
    words: list[str] = []
    end = None
    while j < len(toks) and len(words) < 5:
        w = toks[j].lower()
        if (not w.replace("-", "").isalpha() or w in PREPOSITIONS or w in CONJUNCTIONS or w in PRONOUNS
                or w.endswith("ly") or lemma(w) and w != lemma(w) and not w.endswith("ing")):
            break
        if toks[j][:1].isupper():
            break
        words.append(w)
        if w in PLACES or (len(words) >= 2 and (words[-2], w) in PLACE_COMPOUNDS):
            end = len(words)
        j += 1
    if end is None:
        return None
    place = " ".join(words[:end])
    # Keep trailing nouns of the literal phrase ("across the playroom floor") for the caption.
    return f"{prep} the {' '.join(words)}", place


def analyse_scene(text: str, characters: list[Character], default_place: str | None = None,
                  default_characters: list[str] | None = None) -> SceneAnalysis:
    """Find who is present, the motion events (with their subjects), the place and the time of one scene."""
    refs = _refs(characters)
    order = [c.id for c in characters]
    present: set[str] = set()
    events: list[MotionEvent] = []
    place = place_prep = time = None
    descriptions = {c.id: _strip_article(c.description) for c in characters}
    last_subject: list[str] = []
    for sent in sentences(text):
        toks = tokens(sent)
        lows = [t.lower() for t in toks]
        mentions = _mentions(toks, refs)
        present.update(mentions.values())
        for w in lows:
            if time is None and w in TIMES:
                time = TIMES[w]
        # Subjects: mentions not right after a verb or a preposition ("hugs Rex", "beside the cat" are objects).
        subjects: dict[int, list[str]] = {}
        for i in sorted(mentions):
            k = i - 2 if i > 0 and lows[i - 1] in {"the", "this", "that"} else i - 1  # the word before the mention
            prev = lows[k] if k >= 0 else ""
            if prev in PREPOSITIONS or (prev and lemma(prev) and prev not in CONJUNCTIONS):
                continue
            group = [mentions[i]]
            # "Mia and Rex walk": the two mentions form one subject.
            if k >= 1 and lows[k] == "and" and (k - 1) in mentions:
                group = list(dict.fromkeys(subjects.get(k - 1, [mentions[k - 1]]) + group))
            subjects[i] = group
        i = 0
        while i < len(toks):
            low = lows[i]
            if place is None and low in PREPOSITIONS:
                hit = _place_after(toks, i)
                if hit:
                    place, place_prep = hit[1], low
            base = lemma(toks[i])
            if base is None or i in mentions or toks[i][:1].isupper() and i > 0:
                i += 1
                continue
            prev = lows[i - 1] if i > 0 else ""
            if not _is_verb_use(low, base, prev, i - 1 in mentions, lows, i):
                i += 1
                continue
            # Who does it: the nearest subject before the verb in this sentence, "they" → everyone, else the last one.
            who: list[str] = []
            for j in range(i - 1, -1, -1):
                if j in subjects:
                    who = subjects[j]
                    break
                if lows[j] in {"they", "both", "together"}:
                    who = [c for c in order if c in present] or order[:]
                    break
            if not who:
                who = last_subject or (default_characters or order)[:1]
            last_subject = who
            # The motion phrase: verb (+ particle) (+ object for transitive verbs).
            j = i + 1
            words = [progressive(base)]
            category = _CATEGORIES[base]
            if j < len(toks) and (base, lows[j]) in PHRASAL:
                words.append(lows[j])
                category = PHRASAL_CATEGORY.get((base, lows[j]), category)
                j += 1
            if base == "play" and j < len(toks) and lows[j] == "with":
                words.append("with")
                j += 1
            detail = ""
            obj_at = j + 1 if j + 1 < len(toks) and lows[j] == "the" else j  # "chases Pip", "chases the cat"
            if obj_at < len(toks) and obj_at in mentions and mentions[obj_at] not in who:
                desc = descriptions[mentions[obj_at]]  # the caption names the other character, without its token
                detail = f"the {desc}" if desc[:1].islower() else toks[obj_at]
                j = obj_at + 1
            elif base in TRANSITIVE or words[-1] == "with":
                obj, j = _object_after(toks, j, mentions)
                words += obj
            # Where: the first place named later in the same clause ("lies down in his bed in the bedroom").
            hit = hit_prep = None
            for k in range(j, len(toks)):
                if not toks[k].isalpha() or lows[k] in CONJUNCTIONS:
                    break
                if lows[k] in PREPOSITIONS and (hit := _place_after(toks, k)):
                    hit_prep = lows[k]
                    break
            events.append(MotionEvent(who=who, description=" ".join(words), base=base, category=category,
                                      place=hit[1] if hit else None, place_prep=hit_prep,
                                      place_phrase=hit[0] if hit else None, detail=detail))
            i = j
    if not present:
        present.update(default_characters or order[:1])
    if place is None and default_place:
        place = default_place
    chars = [c for c in order if c in present or any(c in e.who for e in events)]
    return SceneAnalysis(characters=chars, events=events, place=place, place_prep=place_prep, time=time)


def where(place: str | None, prep: str | None = None, category: str = "act") -> str | None:
    """The place phrase of a caption: "in the cozy bedroom", "on the moon", "by the pond", "in the sea" (swimming).

    Uses the story's own preposition when it describes being somewhere (in, on, by…), not going ("into", "to")."""
    if not place:
        return None
    words = place.split()
    heads = {words[-1], "-".join(words[-2:])}
    if category == "swim" and heads & WATER_PLACES:
        prep = "in"
    elif prep not in STATIC_PREPS:
        prep = "on" if heads & ON_PLACES else "by" if heads & WATER_PLACES else "in"
    return f"{prep} the {place}"


def _is_verb_use(low: str, base: str, prev: str, prev_is_mention: bool, lows: list[str], i: int) -> bool:
    """Is this word a verb here (not a noun like "the waves" or "a walk")? Judged from the word before it."""
    if prev in DETERMINERS or prev in POSSESSIVES or prev == "'s":
        return False
    if low.endswith("ing") and low != base:
        return prev in AUX_BEFORE_ING or prev in BEFORE_FINITE or prev_is_mention or prev in PRONOUNS
    if low == base:  # base form: "Mia and Rex walk", "they walk", "starts to dance", "walk and play"
        if prev_is_mention or prev in PLURAL_SUBJECTS or prev == "to":
            return True
        return prev == "and" and i >= 2 and lows[i - 2] in VERBS
    # -s / -ed forms: after a subject, a pronoun, "and", "then", an adverb or a comma.
    return prev_is_mention or prev in PRONOUNS or prev in BEFORE_FINITE or prev.endswith("ly") or prev == ","


def _object_after(toks: list[str], j: int, mentions: dict[int, str]) -> tuple[list[str], int]:
    """The direct object after a transitive verb: "his arms" → ["arms"], "a red ball" → ["a", "red", "ball"]."""
    lows = [t.lower() for t in toks]
    det: str | None = None
    k = j
    if k < len(toks) and (lows[k] in DETERMINERS or lows[k] in POSSESSIVES):
        det = lows[k]
        k += 1
    words: list[str] = []
    while k < len(toks) and len(words) < 3:
        w = lows[k]
        if (not toks[k].isalpha() or toks[k][:1].isupper() or k in mentions or w in PREPOSITIONS
                or w in CONJUNCTIONS or w in PRONOUNS or w in DETERMINERS or w.endswith("ly") or w in TIMES):
            break
        words.append(w)
        k += 1
    if not words:
        return [], j
    if words[-1] in BODY_PARTS:
        return words, k  # "stretching arms", "brushing teeth": the paper's wording, no possessive
    if det in POSSESSIVES:
        det = None if words[-1].endswith("s") and not words[-1].endswith("ss") else "a"
    return ([det] if det else []) + words, k


def infer_main_character(text: str) -> Character:
    """No characters declared: the most frequent capitalised name, described by its appositive if any.

    "Luna, a young astronaut in a white spacesuit, floats…" → id luna, description "a young astronaut in a white
    spacesuit". Without any name, a generic "person" character.
    """
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for n, t in enumerate(tokens(text)):
        if t[:1].isupper() and t.isalpha() and t.lower() not in NOT_NAMES and lemma(t) is None:
            counts[t] = counts.get(t, 0) + 1
            first.setdefault(t, n)
    names = sorted(counts, key=lambda k: (-counts[k], first[k]))
    if not names or counts[names[0]] < 2:
        return Character(id="person", name="the person", description="a person", token="[v1]")
    name = names[0]
    m = re.search(rf"\b{re.escape(name)},\s+((?:a|an|the)\s+[^,.;:!?]+),", text)
    description = m.group(1).strip() if m else name
    return Character(id=slug(name, "hero"), name=name, description=description, token="[v1]")


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


class HeuristicPlanner:
    """Offline, deterministic story → plan (the ``builtin`` backend). See the module docstring."""

    name = "builtin"
    model: str | None = None

    def __init__(self, cfg: PlanConfig):
        self.cfg = cfg

    # Level 1 -------------------------------------------------------------------------------------------------
    def outline(self, story: StoryInput) -> Outline:
        """Story → characters, motions (present progressive) and scenes (METHOD.md A.1)."""
        # 1. Characters: declared in the front matter, else one main character inferred from the text.
        if story.characters:
            characters = [
                Character(id=c.id, name=c.name, description=c.description, token=c.token,
                          reference_images=[f"refs/{c.id}/{p.name}" for p in c.images])
                for c in story.characters
            ]
        else:
            characters = [infer_main_character(story.text)]
        # 2. Scenes from paragraphs, fitted to [min_scenes, max_scenes].
        texts = split_scenes(story.text, self.cfg.min_scenes, self.cfg.max_scenes)
        # 3. Per scene: who is there, which motions (capped), where, when.
        scenes: list[SceneOutline] = []
        motions: dict[str, Motion] = {}
        place: str | None = None
        present: list[str] | None = None
        for n, text in enumerate(texts, start=1):
            a = analyse_scene(text, characters, default_place=place, default_characters=present)
            a.characters = a.characters[:MAX_LANES]  # side-by-side boxes of width >= 0.2: at most 4 fit
            place, present = a.place, a.characters
            chosen = self._select(a)
            for e in chosen:
                motions.setdefault(e.id, Motion(id=e.id, description=e.description))
            scenes.append(SceneOutline(
                id=f"s{n:02d}", location=a.place or "", narration=text, background=_background(a),
                characters=a.characters, motions=list(dict.fromkeys(e.id for e in chosen))))
        return Outline(title=story.title, story=story.text, characters=characters, objects=[],
                       motions=list(motions.values()), scenes=scenes)

    def _per_character_cap(self) -> int:
        return max(1, self.cfg.keyframes // 2)  # every motion must be held for >= 2 key frames

    def _select(self, a: SceneAnalysis) -> list[MotionEvent]:
        """Keep at most ``max_motions_per_scene`` distinct motions, taking them round-robin over the characters
        (so each one gets a motion before anyone gets a second), and at most keyframes // 2 per character."""
        per_char: dict[str, list[MotionEvent]] = {c: [] for c in a.characters}
        for e in a.events:
            for c in e.who:
                if c in per_char and e.id not in {x.id for x in per_char[c]}:
                    per_char[c].append(e)
        chosen: set[str] = set()
        for rnd in range(self._per_character_cap()):
            for evs in per_char.values():
                if rnd < len(evs) and len(chosen) < self.cfg.max_motions_per_scene:
                    chosen.add(evs[rnd].id)
        out: list[MotionEvent] = []
        for e in a.events:  # the first event of each chosen motion, in text order
            if e.id in chosen and e.id not in {x.id for x in out}:
                out.append(e)
        return out

    # Level 2 -------------------------------------------------------------------------------------------------
    def layout(self, outline: Outline, scene: SceneOutline) -> list[Keyframe]:
        """One scene → ``cfg.keyframes`` key frames of regions (METHOD.md A.2 rules; see the module docstring)."""
        k = self.cfg.keyframes
        chars = {c.id: c for c in outline.characters}
        # 1. Re-read the narration for who does which of the scene's motions (the outline keeps only ids).
        a = analyse_scene(scene.narration, outline.characters, default_place=scene.location or None,
                          default_characters=scene.characters or None)
        present = [c for c in (scene.characters or a.characters) if c in chars][:MAX_LANES]
        descriptions = {m.id: m.description for m in outline.motions}
        per_char: dict[str, list[MotionEvent]] = {c: [] for c in present}
        for e in a.events:
            if e.id not in scene.motions:
                continue
            for c in e.who:
                if c in per_char and e.id not in {x.id for x in per_char[c]}:
                    per_char[c].append(e)
        for mid in scene.motions:  # a motion the narration no longer shows (hand edit): give it to the first one
            if present and not any(mid == e.id for evs in per_char.values() for e in evs):
                desc = descriptions.get(mid, mid)
                per_char[present[0]].append(MotionEvent([present[0]], desc, *categorize(desc), id=mid))
        for c in per_char:
            per_char[c] = per_char[c][: self._per_character_cap()]
        # 2. Lanes: one character uses the whole frame; n characters get n side-by-side lanes with a gap.
        n = max(1, len(present))
        gap = 0.0 if n == 1 else 0.02
        lanes = {c: (i / n + gap, (i + 1) / n - gap) for i, c in enumerate(present)}
        # 3. Boxes and captions per character, then gathered per key frame.
        place = scene.location or a.place
        prep = a.place_prep if place == a.place else None
        frames: list[list[Region]] = [[] for _ in range(k)]
        for c in present:
            track = _character_track(chars[c], per_char[c], lanes[c], k, place, prep)
            for f, region in enumerate(track):
                frames[f].append(region)
        return [Keyframe(regions=regions) for regions in frames]


def _background(a: SceneAnalysis) -> str:
    """A global background that names no character: "A cozy bedroom in the morning."."""
    if a.place:
        article = "The" if a.place.split()[-1] in UNIQUE_PLACES else _article(a.place)
        text = f"{article} {a.place}"
        return f"{text} {a.time}." if a.time else f"{text}."
    return f"An everyday scene {a.time}." if a.time else "An everyday scene."


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


# Box shapes per category: width as a fraction of the lane, top and bottom of the box.
_SHAPES: dict[str, tuple[float, float, float]] = {
    "act": (0.6, 0.0, 1.0), "loco": (0.5, 0.05, 1.0), "fly": (0.5, 0.0, 0.7), "swim": (0.55, 0.2, 0.9),
    "climb": (0.5, 0.2, 1.0), "jump": (0.55, 0.0, 0.88), "sit": (0.55, 0.25, 1.0), "lie": (0.85, 0.5, 0.95),
}
MIN_SIDE = 0.2
MAX_LANES = 4  # characters laid out side by side in one scene (4 lanes of 0.21 still fit a 0.2-wide box)
TRAVELLING = frozenset({"loco", "fly", "swim"})  # the box moves sideways (larger displacement is allowed)
TRAVEL = 0.3  # how far a travelling box moves over one motion, as a fraction of the lane width


def _character_track(char: Character, motions: list[MotionEvent], lane: tuple[float, float], k: int,
                     place: str | None, prep: str | None) -> list[Region]:
    """One region per key frame for one character: its motions in order, each held for its allocated frames."""
    lo, hi = lane
    lane_w = hi - lo
    desc = _strip_article(char.description)
    who = f"A {char.token} {desc}" if desc[:1].islower() else f"{char.token} {desc}"
    segments = list(zip(motions, allocate(motions, k))) or [(None, k)]
    boxes: list[tuple[float, float, float, float]] = []
    regions: list[Region] = []
    first = segments[0][0]
    cx = lo + lane_w / 2
    if first is not None and first.category in TRAVELLING:
        cx -= TRAVEL * lane_w / 2  # a scene that opens with locomotion crosses the centre, left to right
    for motion, count in segments:
        category = motion.category if motion else "act"
        frac, top, bottom = _SHAPES[category]
        w = min(lane_w, max(MIN_SIDE, frac * lane_w))
        cx = min(max(cx, lo + w / 2), hi - w / 2)
        travel = 0.0
        direction = 1.0
        if category in TRAVELLING:
            room_right, room_left = (hi - w / 2) - cx, cx - (lo + w / 2)
            direction = 1.0 if room_right >= room_left else -1.0
            travel = min(TRAVEL * lane_w, max(room_right, room_left))
        for f in range(count):
            t = f / (count - 1) if count > 1 else 1.0
            x = cx + direction * travel * t
            y0, y1 = top, bottom
            if category == "climb":  # rises by 0.2 over the motion
                y0, y1 = top - 0.2 * t, bottom - 0.2 * t
            elif category == "jump" and f % 2 == 1:
                y0, y1 = top + 0.1, min(1.0, bottom + 0.1)
            box = (x - w / 2, y0, x + w / 2, y1)
            if f == 0 and boxes and max(abs(a - b) for a, b in zip(box, boxes[-1])) > 0.25:
                box = tuple((a + b) / 2 for a, b in zip(box, boxes[-1]))  # ease a posture change over one frame
            boxes.append(_clean(box))
            if motion is None:
                at = where(place, prep)
                caption = f"{who} {at}" if at else who
            else:
                if motion.place and motion.place_prep in TRAVEL_PREPS and category in TRAVELLING | {"climb"}:
                    at = motion.place_phrase  # "walking through the garden", as the story says it
                elif motion.place:
                    at = where(motion.place, motion.place_prep, category)
                else:
                    at = where(place, prep, category)
                caption = " ".join(x for x in (f"{who} is {motion.description}", motion.detail, at) if x)
            regions.append(Region(entity=char.id, motion=motion.id if motion else NO_MOTION, caption=caption,
                                  box=boxes[-1]))
        cx = cx + direction * travel
    return regions


def _clean(box: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Round to 3 decimals inside [0, 1]; rounding never leaves a side below MIN_SIDE."""
    x0, y0, x1, y1 = (round(min(1.0, max(0.0, v)), 3) for v in box)
    if x1 - x0 < MIN_SIDE:
        x0, x1 = (x0, round(x0 + MIN_SIDE + 0.001, 3)) if x0 + MIN_SIDE + 0.001 <= 1 else (round(x1 - MIN_SIDE - 0.001, 3), x1)
    if y1 - y0 < MIN_SIDE:
        y0, y1 = (y0, round(y0 + MIN_SIDE + 0.001, 3)) if y0 + MIN_SIDE + 0.001 <= 1 else (round(y1 - MIN_SIDE - 0.001, 3), y1)
    return x0, y0, x1, y1
