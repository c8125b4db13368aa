"""Actions: the built-in planner reads a story clause by clause and says who does which visible action, where.

A subject (a name, "the fox", "her friend Jun", "the two friends", a pronoun) owns the verbs of its clause; a
subject that is no entity ("The whistle blows") owns its verbs too, so they are never given to a character.

Precision first (issue 24): each attribution carries ``doubt``, None when it is sure (a subject that names its
entity; a pronoun with one compatible candidate in the nearest scope: this sentence, the one before, the story).
A guess (two candidates, a subject in another clause or not read) is left out and reported, never drawn."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..schema import slug
from . import lexicon as lx
from .entities import Registry
from .text import (
    _appositive_after,
    _article,
    _cap,
    _closed,
    _finite_readings,
    _word,
    MODIFIER_PREPS,
    lemma,
    pp_end,
    progressive,
    sentences,
    tokens,
    without_speech,
)

NONE_SUBJECT = "<thing>"  # a subject that is no entity ("The whistle blows")
GATE = True  # the confidence gate: a guessed attribution is left out (False only to measure what it leaves out)


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
    doubt: str | None = None  # why who does it is a guess: then it is left out and reported (None: sure)

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
    # sentences that gave no action, or an action nobody could be given: (sentence, reason), reported by `plan`
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[MotionEvent] = field(default_factory=list)  # actions left out as guesses (each says why)


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
        self.last_verb_at = -1  # index of the last verb read in the sentence
        self.unsure: list[str] = []  # verbs of this sentence left out because who does them is uncertain
        self.dropped: list[MotionEvent] = []  # the actions left out as guesses (``doubt`` says why)
        self.skip_reason: str | None = None  # why the last sentence read gave no (or not every) action
        # The confidence gate (issue 24): only sure attributions become actions; a guess is left out and reported.
        self.doubt: str | None = None  # why the last reference resolved is a guess (None: it is sure)
        self.prev_mentioned: set[str] = set()  # entities of the sentence before
        self.cur_mentioned: list[str] = []  # entities of this sentence read so far
        self.cur_chunks: list[_Chunk] = []
        self.cur_lows: list[str] = []
        self.cur_possessors: set[str] = set()
        self.prev_possessors: set[str] = set()
        self.prev_subject: list[str] = []  # the last subject of the sentence before
        self.prev_plural_things: str | None = None  # a plural thing named in the sentence before ("the balls")
        self.sentence_subject: list[str] = []  # the last subject of this sentence so far
        self.actors: set[str] = set()  # entities that did some action so far
        self.handled: set[int] = set()  # token indices of this sentence read as a verb or its phrase
        self.story_no = 0  # the sentence of the story being read (Entity.since counts the same way)

    # Pronouns ------------------------------------------------------------------------------------------------
    def _touch(self, ids: list[str]) -> None:
        for i in reversed(ids):
            if i in self.recent:
                self.recent.remove(i)
            self.recent.insert(0, i)

    def _before(self, pos: int | None) -> list[str]:
        """Entities named in this sentence before position ``pos`` (all of them when None), the latest first. A
        possessor ("the baby's father", "Hugo's mother") is not among them: it is not who acts."""
        lows = self.cur_lows
        return list(dict.fromkeys(x for c in reversed(self.cur_chunks) if c.kind == "ref" and
                                  (pos is None or c.start < pos) and not (c.end < len(lows) and lows[c.end] == "'s")
                                  for x in c.ids))

    def _seen(self, pos: int | None) -> list[str]:
        """Every entity the story has named up to here: this sentence's, the recent ones first."""
        story = [e.id for e in self.reg.entities if e.declared or e.since <= self.story_no]
        return list(dict.fromkeys(x for x in self._before(pos) + self.recent + story if x in self.reg.by_id))

    def _call(self, e) -> str:
        return e.name or "the " + (e.description.split()[-1] if e.description else e.id)

    def _sure(self, pron: str, cands: list, pos: int | None,
              subject: bool = False) -> tuple[object | None, str | None]:
        """The one candidate a pronoun surely refers to, and None; or (None, why not). Nearest scope first: this
        sentence up to the pronoun ("Éamon laughs so hard that he slips"), then the sentence before, then the whole
        story; in each, a possessor ("Ella's float bobbed. She pulled") only when no one else is there. One
        candidate in the nearest scope that has any is sure; two or more are a guess."""
        here = (set(self._before(pos)) | set(self.cur_mentioned)) - self.cur_possessors
        owners = {x for c in self.cur_chunks if c.kind == "ref" and (pos is None or c.start < pos)
                  for x in c.ids} & self.cur_possessors
        for scope in (here, owners, self.prev_mentioned, self.prev_possessors):
            hits = [e for e in cands if e.id in scope]
            if len(hits) == 1:
                return hits[0], None
            if hits and subject and scope is self.prev_mentioned and not here:
                # a subject pronoun at the start of its clause continues the previous sentence's last subject
                # ("The conductor waves them on. 'Just in time,' she says": the conductor, not Tamar)
                lead = [e for e in hits if e.id in self.prev_subject]
                if len(lead) == 1 and len(self.prev_subject) == 1:
                    return lead[0], None
            if hits:
                return None, f"\u201c{pron}\u201d could be " + " or ".join(self._call(e) for e in hits[:3])
        if len(cands) == 1:
            return cands[0], None
        # far from any: the one of them that has acted in the story so far
        actors = [e for e in cands if e.id in self.actors]
        if len(actors) == 1 and subject:
            return actors[0], None
        return None, f"\u201c{pron}\u201d is far from whom it names"

    def resolve(self, pron: str, exclude: list[str] | None = None, subject: bool = True,
                pos: int | None = None) -> list[str]:
        """The entities a pronoun refers to. ``self.doubt`` says why that is a guess (None: it is not): a pronoun
        is sure only with one compatible candidate in view or in the whole story (docs/planning.md)."""
        p = pron.lower()
        exclude = exclude or []
        self.doubt = None
        seen = [self.reg.by_id[i] for i in self._seen(pos) if i not in exclude]
        ents = [self.reg.by_id[i] for i in self.recent if i in self.reg.by_id and i not in exclude]
        if p in ("they", "them", "their", "themselves"):
            return self._they(p, seen, pos)
        if p in ("it", "its", "itself"):
            if subject and self.last_thing:
                return [NONE_SUBJECT]
            cands = [e for e in seen if e.kind in ("animal", "machine", "vehicle") and e.gender is None
                     and not e.group]
            hit, self.doubt = self._sure(p, cands, pos, subject)
            if hit is not None and any(c.kind == "np" and not c.plural and c.start < (pos or 0) and
                                       c.head not in lx.TIME_NOUNS for c in self.cur_chunks):
                self.doubt = f"\u201c{p}\u201d could be a thing named before it"  # "grabs the ball and it rolls"
            if hit is None:
                hit = next((e for e in ents if e in cands), None)
            return [hit.id] if hit else [NONE_SUBJECT]
        g = "m" if p in ("he", "him", "his", "himself") else "f"
        # he/she: a person of that gender or of unknown gender; an animal or a machine only when the story gave it
        # that gender, or when no person fits.
        cands = [e for e in seen if not e.group and (e.gender == g or e.gender is None and e.kind == "person")]
        cands = cands or [e for e in seen if not e.group and e.kind == "animal" and e.gender is None]
        hit, self.doubt = self._sure(p, cands, pos, subject)
        if hit is not None and hit.gender is None and any(e.gender == g for e in cands if e is not hit):
            # "Lina and her grandfather walked. He spread …": the one known to be "he" may be meant as well
            self.doubt = f"\u201c{p}\u201d could be {self._call(hit)} or " + " or ".join(
                self._call(e) for e in cands if e is not hit and e.gender == g)
            hit = None
        if hit is None:  # the guess of recency, kept only to show what was left out
            fits = [e for e in ents if (e.gender == g or e.gender is None) and not e.group]
            hit = next((e for e in fits if e.kind == "person" or e.gender == g), None) or next(
                (e for e in fits if e.kind == "animal"), None)
            return [hit.id] if hit else []
        if hit.gender is None and subject:
            hit.gender = g  # "She rolls…": from now on she is "she"
        return [hit.id]

    def _they(self, p: str, seen: list, pos: int | None) -> list[str]:
        """"they"/"them": the plural subject or the one group in view, or the one pair in view (or in the whole
        story). Anything else is a guess."""
        view = set(self._before(pos)) | set(self.cur_mentioned) | self.prev_mentioned
        groups = [e for e in seen if e.group and e.id in view]
        single = [e for e in seen if not e.group and e.kind != "thing"]
        if self.last_plural and all(x in view for x in self.last_plural) and all(
                e.id in self.last_plural for e in groups):
            return list(self.last_plural)
        if len(groups) == 1 and not (self.last_plural and any(x in view for x in self.last_plural)):
            return [groups[0].id]
        things_here = next((c.head for c in self.cur_chunks if c.kind == "np" and c.plural and pos is not None and
                            c.start < pos and c.head not in lx.TIME_NOUNS), None)
        if things_here and not groups:
            # "She stretches her paws as high as they go": they may be the paws
            self.doubt = f"\u201c{p}\u201d could be the {things_here}"
            return [e.id for e in single if e.id in view][:2] or [e.id for e in single][:2]
        if self.prev_plural_things and not groups and not self._before(pos):
            # "lowers the first balls into it. They sizzle": they may be the things, not the two people
            self.doubt = f"\u201c{p}\u201d could be the {self.prev_plural_things}"
            return [e.id for e in single if e.id in view][:2] or [e.id for e in single][:2]
        pair = [e for e in single if e.id in view]
        if not groups and len(pair) == 2:
            return [e.id for e in pair]
        if not any(e.group for e in seen) and len(single) == 2:  # the story's only two: "They reach the pier"
            return [e.id for e in single]
        if not any(e.group for e in seen) and len(self.last_plural) >= 2 and all(
                self.reg.by_id[x].kind == "person" for x in self.last_plural if x in self.reg.by_id):
            # "Rosa and her brother Daniel hiked … After dinner, they roasted": the last pair that acted together,
            # in a story with no group
            return list(self.last_plural)
        self.doubt = f"\u201c{p}\u201d could be several groups" if groups or len(pair) > 2 else \
            f"\u201c{p}\u201d names no group or pair close by"
        if self.last_plural:
            return list(self.last_plural)
        return [e.id for e in seen if e.animate or e.kind != "thing"][:2]

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
            # A name of several words: "Mama Bear" (and "Little Bear" is someone else).
            compound = self.reg.name_at(lows, i) if _cap(t) else None
            if compound is not None:
                out.append(_Chunk("ref", i, compound[1], [compound[0].id]))
                i = compound[1]
                continue
            # A name (with its title): "Chef Ünal", "ARI-7", "Old Mr Haruki".
            e = self.reg.by_name(w) if _word(t) and (_cap(t) or not lx.is_known_word(w)) else None
            if e is None and _cap(t) and w in lx.KINSHIP and (i == 0 or lows[i - 1] not in lx.DETERMINERS):
                # "Grandmother spreads a net": "her grandmother" named as a name ("Grandma" for her too)
                e = next((x for x in (self.reg.by_noun(n) for n in sorted(lx.KIN_SYNONYMS.get(w, {w}))) if x),
                         None)
            if e is None and _cap(t) and w in lx.COLLECTIVE_NOUNS and i + 1 < len(toks) and (
                    _cap(toks[i + 1]) or toks[i + 1][:1].isdigit()):
                grp = next((x for x in self.reg.entities if x.group and w in x.nouns), None)
                if grp is not None:  # "Class 3C picked apples": the class
                    out.append(_Chunk("ref", i, i + 2, [grp.id], plural=grp.plural, head=w))
                    i += 2
                    continue
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
            if w in ("the", "all") and i + 1 < len(toks) and lows[i + 1] in lx.NUMBERS and (
                    i + 2 >= len(toks) or _finite_readings(toks[i + 2]) or lows[i + 2] in lx.ADVERBS or
                    lows[i + 2:i + 4] in (["of", "them"], ["of", "us"])):
                end = i + 4 if lows[i + 2:i + 3] == ["of"] else i + 2
                out.append(_Chunk("pron", i, end, head="they", plural=True))
                i = end
                continue
            if w == "that" and i + 1 < len(toks) and (_cap(toks[i + 1]) and self.reg.by_name(lows[i + 1]) or (
                    out and out[-1].end == i and _finite_readings(toks[i + 1]))):
                i += 1  # "The puppy that Omar is walking", "The pigeons that live": "that" opens a relative clause
                continue
            # A noun phrase: determiner/possessive/number + words, up to a function word or a likely verb.
            # "Hugo's mother", "the farmer's son": the possessed is the phrase, the possessor ("Hugo") is not who acts
            possessed = w == "'s" and bool(out) and out[-1].end == i
            if w in lx.DETERMINERS or w in lx.POSSESSIVES or w in lx.NUMBERS or possessed:
                j = i + 1
                words: list[int] = []
                # only a subject can be followed by its verb ("the two friends walk": from the article on)
                owner = out[-1].start if possessed else 0
                while possessed and owner > 0 and _cap(toks[owner - 1]) and lows[owner - 1] in lx.TITLES:
                    owner -= 1  # "Mr. Lindgren's dog barked": the clause starts at the title
                subject_slot = self._starts_clause(toks, owner if possessed else
                                                   i - 1 if i and lows[i - 1] == "the" else i) or bool(
                    out and out[-1].end == i and out[-1].head in lx.TIME_NOUNS) or (  # "One day | the frog hopped"
                    i >= 2 and (lows[i - 1] in lx.TIMES or lows[i - 1] in lx.TIME_NOUNS)  # "At noon | the teacher"
                    and lows[i - 2] in lx.PREPOSITIONS | lx.DETERMINERS | {"next", "last", "following"}) or (
                    # "When the job is done | the robots crawl back": after a subordinate clause's verb
                    i >= 2 and lows[0] in lx.SUBORDINATORS and _finite_readings(toks[i - 1]) & {"VBN", "VBD", "VBZ"}
                    and not any(toks[x] == "," for x in range(i))) or (
                    # "On Saturday | a van pulled up"
                    i >= 2 and lows[i - 1] in lx.NOT_NAMES and lows[i - 2] in lx.PREPOSITIONS) or (
                    # the object of a relative clause, before the subject's verb: "who is wearing a red hat | scatters"
                    i >= 2 and (_finite_readings(toks[i - 1]) or lows[i - 1] in lx.PREPOSITIONS) and any(
                        lows[x] in lx.RELATIVES | {"that"} and self._subject_before(toks, x)
                        for x in range(max(0, i - 4), i - 1)))
                relative_object = subject_slot and not self._starts_clause(toks, i)
                # the noun of a phrase describing a subject ends before the subject's verb: "A baker in the next
                # boat | laughs"
                limit = len(toks)
                if i >= 2 and lows[i - 1] in MODIFIER_PREPS and out and out[-1].end == i - 1 and \
                        self._starts_clause(toks, out[-1].start):
                    limit = pp_end(toks, i - 1)
                while j < limit and _word(toks[j]) and (not _closed(lows[j]) or words and lows[j] == "one" or
                                                        not words and lows[j] in lx.ORDINALS) and not (
                        # "most of the class | dozed": an entity's noun, then a past or present verb
                        words and not subject_slot and _finite_readings(toks[j]) & {"VBD", "VBZ"} and
                        not lx.is_noun(lows[j]) and (lows[words[-1]] in lx.ENTITY_NOUNS or any(
                            x.group and lows[words[-1]] in x.nouns for x in self.reg.entities))) and \
                        lows[j] not in lx.BE_FORMS | {"has", "have", "had"} and (  # "the boxes | had been unpacked"
                        not words or not (subject_slot and self._verb_after_np(toks, j, words))) and not (
                        # "that live on the statue | swoop down": the antecedent's verb, in the plural
                        words and relative_object and _finite_readings(toks[j]) & {"VBP"} and (
                            j + 1 >= len(toks) or lows[j + 1] in lx.PARTICLES | lx.PREPOSITIONS | lx.DETERMINERS
                            | lx.POSSESSIVES | {"and", ",", "."})):
                    if _cap(toks[j]) and self.reg.by_name(lows[j]) and not (
                            not words and w == "the" and j + 2 < len(toks) and _word(toks[j + 1]) and
                            not _cap(toks[j + 1]) and _finite_readings(toks[j + 2]) & {"VBD", "VBZ", "VBP"}):
                        break  # (but "the Millbrook forwards shoved": the name is a modifier of the noun)
                    words.append(j)
                    j += 1
                    if lows[j - 1] in lx.ENTITY_NOUNS and j < len(toks) and _cap(toks[j]) and \
                            self.reg.by_name(lows[j]) is None and not lows[j] in lx.TITLES:
                        break
                appos = self._named_apposition(toks, j)
                if words and appos is not None and (i == 0 or self._starts_clause(toks, i)):
                    ids, end = appos  # "The twins, Ada and Leo, pick up", "The oldest one, Chidi, pushes"
                    out.append(_Chunk("ref", i, end, ids, plural=len(ids) > 1))
                    i = end
                    continue
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
                if not words and w in lx.NUMBERS and lows[i + 1:i + 2] == ["of"] and i + 2 < len(toks) and \
                        (lows[i + 2] in lx.DETERMINERS or lows[i + 2] in lx.POSSESSIVES):
                    i += 2  # "two of his cousins": the phrase after "of" names who
                    continue
                if not words:
                    if w in lx.NUMBERS or w == "both":  # "The two walk", "Both laugh"
                        out.append(_Chunk("pron", i, i + 1, head="they", plural=True))
                    i += 1
                    continue
                head = lows[words[-1]]
                head = lx.entity_noun(head) or head
                first = lows[words[0]]
                grp = next((x for x in self.reg.entities if x.group and head in x.nouns), None)
                if grp is not None:  # "the band", "three kids", "the robots": the group entity
                    out.append(_Chunk("ref", i, j, [grp.id], plural=grp.plural, head=head))
                    i = j
                    continue
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
                if e is not None and any(lows[x] in lx.TOY_MODIFIERS or lows[x] in lx.STATUE_MODIFIERS and
                                         e.kind in ("person", "animal") for x in words):
                    e = None  # "the rubber duck" is a toy, not the duck
                if e is not None and w in ("a", "an") and e.named:
                    e = None  # "a dog" is not "his dog Pepa"
                if e is not None and any(lows[x] in ("next", "other", "second", "third", "another") for x in words):
                    e = None  # "the next girl" after Bea, "a tall girl": someone else
                out.append(_Chunk("ref" if e else "np", i, j, [e.id] if e else [], head=head,
                                  plural=head.endswith("s") and not head.endswith("ss") and e is None))
                i = j
                continue
            # A bare entity noun ("Together the fox and dog") or group noun without determiner: rare; skip.
            i += 1
        return out

    def _subject_before(self, toks: list[str], x: int) -> bool:
        """Does the relative pronoun at toks[x] follow a clause's subject ("An old woman who is wearing a red hat
        scatters"), not an object or a predicate ("Bramble is a little hedgehog who lives under the garden shed")?"""
        lows = [t.lower() for t in toks]
        s = x - 1 - (x > 0 and toks[x - 1] == ",")
        while s >= 0 and _word(toks[s]) and not _closed(lows[s]):
            s -= 1
        if s >= 0 and (lows[s] in lx.DETERMINERS or lows[s] in lx.POSSESSIVES or lows[s] in lx.NUMBERS):
            s -= 1
        return s < 0 or self._starts_clause(toks, s + 1)

    def _named_apposition(self, toks: list[str], j: int) -> tuple[list[str], int] | None:
        """toks[j:] is ", Ada and Leo," or ", Chidi,": the names (ids) and the index after the closing comma."""
        if j >= len(toks) or toks[j] != ",":
            return None
        ids, k = [], j + 1
        while k < len(toks):
            while k + 1 < len(toks) and toks[k].lower() in lx.TITLES and _cap(toks[k]) and _cap(toks[k + 1]):
                k += 1  # "The night guard, Mrs. Amadi, yawns"
            e = self.reg.by_name(toks[k].lower()) if _cap(toks[k]) else None
            if e is None:
                return None
            ids.append(e.id)
            k += 1
            while k < len(toks) and _cap(toks[k]) and self.reg.by_name(toks[k].lower()) is e:
                k += 1
            if k < len(toks) and toks[k].lower() == "and":
                k += 1
                continue
            break
        return (ids, k + 1) if ids and k < len(toks) and toks[k] == "," else None

    def _negated(self, lows: list[str], i: int) -> bool:
        """The verb at lows[i] did not happen: "never runs", "nearly drops", "almost falls"."""
        k = i - 1
        while k >= 0 and (lows[k] in lx.ADVERBS or lows[k] in lx.NEGATORS):
            if lows[k] in lx.NEGATORS:
                return True
            k -= 1
        return False

    def _verb_continues(self, toks: list[str], i: int, subject: list[str] | None) -> bool:
        """After ", and": toks[i] is one more verb of the same subject, not a new clause's subject ("peered at its
        neck, and slipped into the mud" ; "and birds sing" is a clause: the word after "birds" is a verb too)."""
        if subject is None or i >= len(toks) or self.last_verb_at < 0:
            return False
        tags = _finite_readings(toks[i])
        last = _finite_readings(toks[self.last_verb_at])
        if not (tags & last & {"VBD", "VBZ"}) or toks[i].lower() in lx.ENTITY_NOUNS:
            return False
        return not (i + 1 < len(toks) and _finite_readings(toks[i + 1]) and toks[i + 1].lower() not in lx.PARTICLES)

    def _verb_after_np(self, toks: list[str], j: int, words: list[int]) -> bool:
        """Inside a noun phrase, does toks[j] start the verb ("The whistle | blows", "Its doors | slide")?"""
        tags = _finite_readings(toks[j])
        if not tags:
            return False
        w = toks[j].lower()
        prev = toks[words[-1]].lower()
        nxt = toks[j + 1].lower() if j + 1 < len(toks) else ""
        if w in lx.ENTITY_NOUNS and nxt and _finite_readings(toks[j + 1]):
            return False  # "A ferry captain | waits": a noun of a compound, not a verb
        if (lx.group_of(w) or w in lx.GROUP_NOUNS or w in lx.PERSON_GROUPS or any(
                x.group and w in x.nouns for x in self.reg.entities)) and \
                _finite_readings(toks[j + 1] if nxt else "") & {"VBD", "VBZ", "VBP"}:
            return False  # "Three cargo drones | rose", "The Ferreira twins | raced": a group noun, then the verb
        if prev in lx.ENTITY_NOUNS or prev in lx.GROUP_NOUNS or any(x.group and prev in x.nouns
                                                                      for x in self.reg.entities):
            return True  # "The fox trots", "the children lead", "the robots carry"
        if "VBZ" in tags or "VBD" in tags:
            return not (w in lx.ENTITY_NOUNS or w in lx.PLACES) or nxt in lx.DETERMINERS
        if ("VBP" in tags or "VB" in tags) and prev.endswith("s") and not prev.endswith("ss"):
            return nxt in lx.DETERMINERS | lx.POSSESSIVES | lx.PREPOSITIONS | lx.PARTICLES | {"", ".", ","} \
                or nxt in lx.ADVERBS
        return False

    # Sentences -----------------------------------------------------------------------------------------------
    def read(self, sentence: str, scene_present: list[str]) -> tuple[list[MotionEvent], list[str], str | None]:
        """One sentence → (motion events, entity ids mentioned, time of day)."""
        toks = tokens(without_speech(sentence))
        lows = [t.lower() for t in toks]
        chunks = self.chunks(toks)
        at = {c.start: c for c in chunks}
        covered = {k for c in chunks for k in range(c.start, c.end)}
        mentioned: list[str] = []
        events: list[MotionEvent] = []
        self.cur_chunks, self.cur_lows, self.cur_mentioned = chunks, lows, mentioned
        # possessors: "Hugo" in "Hugo's mother" (only those that are not named otherwise in the sentence)
        self.cur_possessors = {x for c in chunks if c.kind == "ref" and c.end < len(toks) and toks[c.end] == "'s"
                               for x in c.ids} - set(self._before(None))
        self.just_mentioned |= {x for c in chunks if c.kind == "ref" for x in c.ids}
        time = next((lx.TIMES[w] for w in lows if w in lx.TIMES), None)
        sentence_places = self._places(toks, covered)
        # "Inside," after reaching a building: the place is that building.
        if lows[:1] == ["inside"] and self.place and self.place.split()[-1] not in lx.BUILDINGS:
            self.place, self.place_prep = "room", "in"
        self.last_verb_at = -1
        self.handled = set()
        self.sentence_subject = []
        subject: list[str] | None = None  # current clause subject (ids or [NONE_SUBJECT])
        # why the current subject is a guess (None: sure); "fresh": the subject is of the clause being read
        state = {"last_verb_end": -1, "in_vp": False, "doubt": None, "fresh": False, "someone": None}

        def emit(at_i: int, base: str, who: list[str], doubt: str | None = None) -> int:
            """The verb at toks[at_i], done by ``who``: record its event (only when who does it is sure: ``doubt``
            is None); return the index after its phrase."""
            if base == "burst" and lows[at_i + 1:at_i + 2] == ["out"] and at_i + 2 < len(toks) and \
                    "VBG" in _finite_readings(toks[at_i + 2]):
                self.handled.update((at_i, at_i + 1))
                state["in_vp"] = True
                self.last_verb_at = at_i
                return at_i + 2  # "bursts out laughing": the laughing is what is seen (read next)
            event, j = self._phrase(toks, at_i, base, who, at, covered, sentence_places)
            self.handled.update(range(at_i, j))
            state["last_verb_end"], state["in_vp"] = j, True
            if (base, lows[at_i + 1] if at_i + 1 < len(toks) else "") in lx.NOT_SHOWN or \
                    base in ("run", "own", "manage") and at_i + 1 in at and at[at_i + 1].head in lx.BUSINESSES:
                self.last_verb_at = at_i
                return j  # "took place", "runs a tiny noodle stall": nothing a camera sees
            self.last_verb_at = at_i
            if not who and base not in lx.NON_VISUAL:
                self.unsure.append(progressive(base))  # a pronoun that could not be resolved
            elif who == [NONE_SUBJECT] and state.get("someone") and base not in lx.NON_VISUAL:
                self.unsure.append(f"{progressive(base)} (\u201c{state['someone']}\u201d is no character found)")
            ended = base in ("stop", "quit", "finish") and "VBG" in _finite_readings(toks[j] if j < len(toks) else "") \
                or lows[at_i + 1:at_i + 2] == ["nothing"]  # "said nothing", "did nothing": nothing happened
            nxt = lows[at_i + 1] if at_i + 1 < len(toks) else ""
            # "starts the engine", "make tamales", "makes a kite": doing something, not "make sure" or "start to"
            visible = base not in lx.NON_VISUAL or base in ("start", "begin", "make") and (
                nxt in lx.DETERMINERS or nxt in lx.POSSESSIVES or base == "make" and lx.is_plural_noun(nxt)) and \
                nxt not in ("sure", "certain")
            if visible and who and NONE_SUBJECT not in who and not self._negated(lows, at_i) \
                    and not ended:  # ("stops crying": the crying ends, and stopping shows nothing)
                event.sentence = self.sentence_no
                event.doubt = doubt
                if doubt is not None:
                    self.dropped.append(event)
                    self.unsure.append(f"{event.description.split()[0]} ({doubt})")
                    if GATE:
                        return j
                events.append(event)
                if event.target:
                    mentioned.append(event.target)
            return j

        pending_subject: tuple[list[str], bool] | None = None
        # a participle opening the sentence before its subject: "Shivering, she flew down" → (lemma, subject index)
        opening = (lx.verb_lemma(lows[0]), 2) if len(toks) > 3 and toks[1] == "," and "VBG" in _finite_readings(
            toks[0]) and lx.verb_lemma(lows[0]) and lx.verb_lemma(lows[0]) not in lx.NON_VISUAL else None
        i = 2 if opening is not None else 0
        while i < len(toks):
            c = at.get(i)
            if c is not None:
                ids = self._ids(c, subject if state["in_vp"] else None, is_subject=not state["in_vp"] or self._starts_clause(toks, i))
                doubt = self.doubt
                if doubt is None:  # a guessed referent is not in view for the next pronoun ("threw it at him")
                    mentioned += [x for x in ids if x != NONE_SUBJECT]
                if c.end < len(toks) and toks[c.end] == "'s" and c.end in at:
                    i = c.end  # "Hugo's mother called": the possessed phrase is the subject
                    continue
                # Coordinated subjects: "Ünal and Lía", "Noor and her twin sister Aisha", "Maren, Linus and Idris".
                listed: list[_Chunk] = []
                e = c.end
                while c.kind == "ref" and not state["in_vp"] and e + 1 < len(toks) and toks[e] == "," and \
                        at.get(e + 1) is not None and at[e + 1].kind == "ref":
                    listed.append(at[e + 1])
                    e = at[e + 1].end
                if listed and e < len(toks) and lows[e] == "and" and at.get(e + 1) is not None and \
                        at[e + 1].kind == "ref":
                    ids = list(dict.fromkeys(ids + [x for ch in listed for x in ch.ids]))
                    mentioned += [x for ch in listed for x in ch.ids]
                    c = _Chunk("ref", c.start, e, ids)
                nxt = at.get(c.end + 1) if c.end < len(toks) and lows[c.end] == "and" else None
                if nxt is not None and nxt.kind in ("ref", "pron") and not state["in_vp"]:
                    if c.kind == "ref":  # "ليلى and her grandfather": ليلى is "she"
                        self.learn_gender(c.ids, lows[nxt.start])
                    ids2 = self._ids(nxt, None, True)
                    doubt = doubt or self.doubt
                    mentioned += [x for x in ids2 if x != NONE_SUBJECT]
                    ids = [x for x in dict.fromkeys(ids + ids2) if x != NONE_SUBJECT] or [NONE_SUBJECT]
                    end = nxt.end
                    plural = True
                else:
                    end = c.end
                    plural = c.plural or len(ids) > 1
                k = end
                if not state["in_vp"] or self._starts_clause(toks, c.start):
                    # "The duck, which was chased by Pip, flies", "The dog that Mia was walking barks": the
                    # relative clause is read on its own, then the subject's own verb.
                    k = self._relative(toks, k, ids, c, at, sentence_places, events, mentioned, doubt)
                    after = pp_end(toks, k, plural)  # "A baker in the next boat laughs"
                    appos = self._named_apposition(toks, after) if after > k else None
                    if appos is not None:  # "A girl in a yellow coat, Tova, looks", "The smallest of the three,
                        ids, k = appos  # Ingrid, rode": the name is the subject
                        doubt = None
                        plural = len(ids) > 1
                        mentioned += ids
                    else:
                        k = after
                while k < len(toks) and (lows[k] in lx.ADVERBS or lows[k].endswith("ly") and not
                                         _finite_readings(toks[k]) - {"VB", "VBP"} or
                                         # "the ants below carried": a place word after the subject, then its verb
                                         lows[k] in lx.PLACE_ADVERBS and k + 1 < len(toks) and
                                         _finite_readings(toks[k + 1]) & {"VBZ", "VBD", "VBP"}):
                    k += 1
                if k + 1 < len(toks) and lows[k] in ("has", "have", "had") and lows[k + 1] != "been" and \
                        _finite_readings(toks[k + 1]) & {"VBN", "VBD"} and not (plural and lows[k] == "has"):
                    k += 1  # "A climber has slipped": the participle is the verb (a perfect)
                    tags = frozenset({"VBD"}) if _finite_readings(toks[k]) else frozenset()
                else:
                    tags = _finite_readings(toks[k]) if k < len(toks) else frozenset()
                if c.kind == "pron" and c.head in ("him", "them", "us", "me") and c.end - c.start == 1:
                    tags = frozenset()  # "Behind them came three kids": "them" is never who acts
                if k + 1 < len(toks) and lows[k] in ("called", "named") and \
                        "one" in lows[max(0, c.start - 1):c.start + 1] and at.get(k + 1) is not None and \
                        at[k + 1].kind == "ref":
                    # "One white pigeon, the one Salim called Pearl, flew": a naming, not Salim's action
                    i = at[k + 1].end + (at[k + 1].end < len(toks) and toks[at[k + 1].end] == ",")
                    continue
                finite = bool(tags & {"VBZ", "VBD"}) or (plural and bool(tags & {"VBP", "VB"}))
                if finite and (not state["in_vp"] or self._starts_clause(toks, c.start)):
                    subject = ids or []
                    state["doubt"], state["fresh"] = doubt, True
                    if opening is not None and c.start == opening[1] and NONE_SUBJECT not in subject:
                        # "Shivering, she flew down": the participle that opens the sentence is its subject's
                        self.handled.add(0)
                        emit(0, opening[0], subject, doubt)
                        state["in_vp"] = False
                    opening = None
                    # "a boy climbed" when no entity is that boy: someone acts, but who is unknown (reported)
                    state["someone"] = c.head if ids == [NONE_SUBJECT] and c.kind == "np" and \
                        lx.ENTITY_NOUNS.get(c.head, ("",))[0] in ("person", "animal") else None
                    self._subject(subject, plural, c)
                    passive = self._passive(toks, k, ids, c, at, sentence_places, events, mentioned)
                    if passive is not None:  # "The ball is caught by the goalkeeper": the agent acts
                        state["last_verb_end"], state["in_vp"] = passive, True
                        i = passive
                        continue
                    readings = lx.verb_readings(toks[k])
                    base = next((lem for lem, tag in readings if tag in ("VBZ", "VBD", "VBN")), None) or next(
                        lem for lem, tag in readings if tag in ("VBP", "VB"))
                    i = emit(k, base, subject, doubt)
                    continue
                if state["in_vp"]:
                    i = end
                    continue
                if not state["in_vp"] and subject is None and not finite:
                    pending_subject = (ids, plural, doubt)
                i = end
                continue
            w = lows[i]
            obj = next((x for x in chunks if x.end == i), None) if w in ("that", "which", "who") else None
            if obj is not None and obj.kind == "np" and obj.start >= 2 and toks[obj.start - 1] == ",":
                # "Mochi, a fat grey cat who is napping": the apposition's relative clause is Mochi's
                obj = next((x for x in chunks if x.end == obj.start - 1 and x.kind == "ref"), None) or obj
            inner = at.get(i + 1) if obj is not None and w in ("that", "which") else None
            if inner is not None and inner.kind in ("ref", "pron") and inner.head != "they":
                # "the window that Omar's mother had opened", "the kite that he built": the inner subject does it
                if inner.end < len(toks) and toks[inner.end] == "'s" and inner.end in at:
                    inner = at[inner.end]
                v = inner.end
                while v < len(toks) and (lows[v] in ("had", "has", "have", "was", "were", "is", "are") or
                                         lows[v] in lx.ADVERBS):
                    v += 1
                if v < len(toks) and _finite_readings(toks[v]) & {"VBD", "VBN", "VBZ", "VBG"} and \
                        not (v < len(toks) - 1 and lows[v + 1] == "by"):
                    agent = self._ids(inner, None, True)
                    if agent and NONE_SUBJECT not in agent:
                        self.handled.add(v)
                        j = self._agent_event(toks, v, agent, obj.ids if obj.kind == "ref" else [], obj, at,
                                              sentence_places, events, mentioned, self.doubt)
                        i = max(j, v + 1)
                        continue
            if obj is not None and state["in_vp"] and obj.kind in ("ref", "np"):
                # "strokes a lamb that is sleeping": the verb of a relative clause after an object is the
                # object's (no one's when it is a thing), never the clause subject's
                v = i + 1
                while v < len(toks) and (lows[v] in lx.BE_FORMS or lows[v] in lx.ADVERBS):
                    v += 1
                tags = _finite_readings(toks[v]) if v < len(toks) else frozenset()
                if v > i + 1 and "VBG" in tags or v == i + 1 and tags & {"VBZ", "VBD", "VBP"}:
                    if obj.kind == "ref" and w == "who" and v == i + 1:
                        # "… by a jolly man named Gus, who leaned out and waved": the rest of the clause is Gus's
                        subject = list(obj.ids)
                        state["doubt"], state["fresh"] = None, True
                        base = next((lem for lem, tag in lx.verb_readings(toks[v]) if tag in ("VBZ", "VBD", "VBP")),
                                    None) or lx.verb_lemma(lows[v]) or lows[v]
                        i = emit(v, base, subject)
                        continue
                    if obj.kind == "ref":
                        self._agent_event(toks, v, obj.ids, [], obj, at, sentence_places, events, mentioned)
                    i = v + 1
                    continue
            prev = at.get(i - 1 - (i > 1 and toks[i - 1] == ","), None) if w == "who" else None
            if prev is None and w == "who":
                prev = next((x for x in at.values() if x.end in (i, i - 1) and x.end == (i - (toks[i - 1] == ","))),
                            None) or next((x for x in at.values() if x.end == i and toks[i - 1] == ","), None)
                # ("by a jolly man named Gus, who leaned out": the chunk holds its closing comma)
            if prev is not None and prev.kind == "np" and prev.start >= 2 and toks[prev.start - 1] == ",":
                named = next((x for x in chunks if x.end == prev.start - 1 and x.kind == "ref"), None)
                prev = named or prev  # "Mochi, a fat grey cat who is napping": Mochi
            if prev is not None and prev.kind == "ref" and i + 2 < len(toks) and lows[i + 1] in lx.BE_FORMS and \
                    "VBG" in _finite_readings(toks[i + 2]):
                subject = list(prev.ids)  # "who is napping on the rug"
                state["doubt"], state["fresh"] = None, True
                self.handled.add(i + 1)
                i = emit(i + 2, next(lem for lem, tag in lx.verb_readings(toks[i + 2]) if tag == "VBG"), subject)
                continue
            if prev is not None and prev.kind == "ref" and i + 1 < len(toks) and \
                    _finite_readings(toks[i + 1]) & {"VBZ", "VBD"}:
                # "… to the center, who sprints up the field": the one named before "who" does it
                readings = lx.verb_readings(toks[i + 1])
                subject = list(prev.ids)
                state["doubt"], state["fresh"] = None, True
                i = emit(i + 1, next(lem for lem, tag in readings if tag in ("VBZ", "VBD")), subject)
                continue
            if w == "there" and lows[i + 1:i + 2] in (["is"], ["are"], ["was"], ["were"]) and \
                    lows[i + 2:i + 3] and lows[i + 2] in lx.DETERMINERS and self._starts_clause(toks, i):
                # "and there is the moon, floating on the water": what follows is the moon's, no one's action
                subject, state["doubt"], state["fresh"], state["in_vp"] = [NONE_SUBJECT], None, True, True
                state["last_verb_end"], self.last_verb_at = i + 2, i + 1
                i += 2
                continue
            if w in lx.SUBORDINATORS or (w == "," and i + 1 < len(toks) and lows[i + 1] in ("and", "but")
                                         and not self._verb_continues(toks, i + 2, subject)):
                state["in_vp"], state["fresh"] = False, False  # a new clause may start
            agent_chunk = at.get(i + 2) if i + 2 < len(toks) and lows[i + 1] == "by" else None
            if agent_chunk is not None and lows[i - 1] == "," and any(
                    tag in ("VBN", "VBD") for _, tag in lx.verb_readings(lows[i])):  # ("followed": VBD = VBN)
                # "a ring bearer ran past the table, followed by a puppy": the agent does it, to the subject
                if agent_chunk.kind != "np":
                    agent = self._ids(agent_chunk, subject, True)
                    self._agent_event(toks, i, agent, subject or [], _Chunk("np", i, i), at, sentence_places,
                                      events, mentioned, self.doubt)
                i = agent_chunk.end
                continue
            if w in lx.BE_FORMS and i not in self.handled and i + 1 < len(toks) and any(
                    lows[x] == "by" for x in range(i + 2, min(len(toks), i + 10))):
                # a passive whose subject was not read as one ("pizza was delivered by a teenager", "A lamp that
                # Mrs. Brennan had wrapped … was dropped by her son"): the agent does it
                end = self._passive(toks, i, [], _Chunk("np", i, i), at, sentence_places, events, mentioned)
                if end is not None and end > i:
                    i = end
                    continue
            base, tag = self._verb_at(toks, i, subject, state["in_vp"], state["last_verb_end"])
            if base is None:
                i += 1
                continue
            who = subject if subject is not None else (pending_subject[0] if pending_subject else None)
            if who is None:  # a verb with no subject of its own: a guess could be wrong, so it is reported
                self.handled.add(i)
                if base not in lx.NON_VISUAL:
                    self.unsure.append(progressive(base))
                i += 1
                continue
            if subject is None:
                doubt = pending_subject[2] or "its subject phrase was not read"
            elif not state["fresh"] and not state["in_vp"] and not (tag == "VBG" and lows[i - 1] == ","):
                # (", screeching loudly": a participle after a comma is its sentence's subject's)
                doubt = state["doubt"] or "its subject is in another clause"
            elif tag == "VB" and lows[i - 1] == "to" and self.last_verb_at not in (i - 2, i - 3):
                doubt = state["doubt"] or "the verb it completes has no subject of its own"  # "nobody wanted to come"
            else:
                doubt = state["doubt"]
            i = emit(i, base, who, doubt)
        # A verb in a clause's verb slot that no reading above took ("sat in the hay and ate pie" when "ate" was
        # not read): the sentence is reported, so that every action left out is said (issue 24).
        for x in range(len(toks)):
            base = lx.verb_lemma(lows[x]) or ""
            tags = _finite_readings(toks[x])
            coordinated = x >= 2 and lows[x - 1] == "and" and x - 2 in self.handled and "VBP" in tags and \
                _finite_readings(toks[self.last_verb_at]) & {"VBP", "VB"} if self.last_verb_at >= 0 else False
            if x not in covered and x not in self.handled and (tags & {"VBZ", "VBD"} or coordinated) and \
                    base and base not in lx.NON_VISUAL and lows[x] not in lx.BE_FORMS and \
                    not self._negated(lows, x) and self._clause_verb_slot(toks, x, chunks):
                self.unsure.append(progressive(base))
        self._touch(list(dict.fromkeys(mentioned)))
        self.just_mentioned = set(mentioned)
        self.prev_mentioned = (set(mentioned) - self.cur_possessors) | set(self._before(None))
        self.prev_possessors = set(self.cur_possessors)
        self.prev_subject = list(self.sentence_subject)
        # the last plural thing of this sentence ("the first balls"), for "they" in the next one
        last_ref = max((c.end for c in chunks if c.kind == "ref"), default=-1)
        self.prev_plural_things = next((c.head for c in reversed(chunks) if c.kind == "np" and c.plural and
                                        c.start >= last_ref and c.head not in lx.TIME_NOUNS and
                                        c.head not in lx.BODY_PARTS and not lx.entity_noun(c.head) and
                                        not lx.group_of(c.head)), None)
        self.actors |= {x for e in events for x in e.who}
        # The place after this sentence: where it ended up ("walk … to the cabin").
        if sentence_places:
            self.place, self.place_prep = sentence_places[-1][1], sentence_places[-1][2]
        self.sentence_no += 1
        self.story_no += 1
        # What the user must check by hand: an action left out, or no action at all.
        if self.unsure:
            self.skip_reason = "could not tell who is " + " or ".join(dict.fromkeys(self.unsure))
        elif not events:
            self.skip_reason = "no visible action of a character or an acting object"
        else:
            self.skip_reason = None
        self.unsure = []
        return events, list(dict.fromkeys(mentioned)), time

    def _clause_verb_slot(self, toks: list[str], x: int, chunks: list[_Chunk]) -> bool:
        """Could toks[x] be a verb of its own clause: after a subject phrase, or coordinated after a verb?"""
        lows = [t.lower() for t in toks]
        k = x - 1
        while k >= 0 and (lows[k] in lx.ADVERBS or lows[k] in lx.PLACE_ADVERBS or
                          lows[k].endswith("ly") and not _finite_readings(toks[k])):
            k -= 1
        if k < 0:
            return False
        if any(c.end == k + 1 for c in chunks):
            return True
        b = k - 1
        while b >= 0 and (lows[b] in lx.ADVERBS or lows[b] in ("once", "twice")) and b not in self.handled:
            b -= 1  # "spun around once and bowed"
        if lows[k] == "and" and b >= 0 and toks[b] == ",":
            b -= 1  # ", shaking the water from his fur, and limped home"
        return lows[k] in ("and", "then", "but", ",") and b >= 0 and (b in self.handled or any(
            c.end == b + 1 for c in chunks))

    def _agent_event(self, toks: list[str], v: int, agent: list[str], patient: list[str], c: _Chunk,
                     at: dict[int, _Chunk], places: list, events: list[MotionEvent], mentioned: list[str],
                     doubt: str | None = None) -> int:
        """The verb at toks[v] done by ``agent`` to ``patient`` (a passive, or a relative clause): record it."""
        readings = lx.verb_readings(toks[v])
        base = next((lem for lem, tag in readings if tag in ("VBN", "VBG", "VBD", "VBZ")), readings[0][0])
        event, j = self._phrase(toks, v, base, agent, at, set(), places)
        self.handled.update(range(v, j))
        real = [x for x in patient if x != NONE_SUBJECT and x not in agent]
        if real and event.target is None:
            event.target = real[0]
        elif c.kind == "np" and c.head in lx.PROPS:
            event.prop = event.prop or c.head
        if base not in lx.NON_VISUAL and agent and NONE_SUBJECT not in agent:
            event.sentence = self.sentence_no
            event.doubt = doubt
            mentioned += agent
            if doubt is not None:  # who does it is a guess: left out and reported
                self.dropped.append(event)
                self.unsure.append(f"{event.description.split()[0]} ({doubt})")
                if GATE:
                    return j
            events.append(event)
        return j

    def _passive(self, toks: list[str], k: int, subject: list[str], c: _Chunk, at: dict[int, _Chunk], places: list,
                 events: list[MotionEvent], mentioned: list[str]) -> int | None:
        """toks[k:] is "was chased (away) by Pip": the agent does the verb (the subject is acted on). Returns the index
        after the phrase, or None when this is no passive. A passive without an agent is noted as unattributed."""
        lows = [t.lower() for t in toks]
        if k + 1 < len(toks) and lows[k] in ("has", "have", "had") and lows[k + 1] == "been":
            k += 1  # "had been folded by Greta"
        if k >= len(toks) or lows[k] not in lx.BE_FORMS:
            return None
        v = k + 1
        while v < len(toks) and lows[v] in lx.ADVERBS:
            v += 1
        if v >= len(toks) or not any(tag in ("VBN", "VBD") for _, tag in lx.verb_readings(lows[v])) or \
                lows[v] in lx.ADJECTIVE_PARTICIPLES:
            return None
        b = v + 1
        while b < len(toks) and (lows[b] in lx.PARTICLES or lows[b] in lx.ADVERBS) and lows[b] != "by":
            b += 1
        # "was snatched out of the water by the dog": the agent may follow a phrase of place
        by = next((x for x in range(b, min(len(toks), b + 8)) if lows[x] == "by" or toks[x] in ",;." or
                   lows[x] in lx.CONJUNCTIONS), None)
        if by is not None and lows[by] == "by":
            b = by
        a = b + 1
        while a < len(toks) and a not in at and _cap(toks[a]) and lows[a] in lx.TITLES:
            a += 1  # "by Mrs. Brennan": the name after the title
        agent_chunk = at.get(a) if b < len(toks) and lows[b] == "by" else None
        if agent_chunk is not None and agent_chunk.end < len(toks) and toks[agent_chunk.end] == "'s" and \
                agent_chunk.end in at:
            agent_chunk = at[agent_chunk.end]  # "by Lea's little brother Finn": Finn, not Lea
        if agent_chunk is not None and agent_chunk.kind == "np":
            named = self._named_apposition(toks, agent_chunk.end)
            if named is not None:  # "by a cleaner, Mrs. Castellano, who …": Mrs. Castellano
                agent_chunk = _Chunk("ref", agent_chunk.start, named[1] - 1, named[0])
        base = lx.verb_lemma(lows[v]) or lows[v]
        self.handled.add(v)
        if agent_chunk is None or agent_chunk.kind == "np":
            if base not in lx.NON_VISUAL and (agent_chunk is not None or subject and NONE_SUBJECT not in subject
                                              or c.kind == "np"):
                self.unsure.append(progressive(base))  # "It was caught." — by whom?
            return (agent_chunk.end if agent_chunk else b)
        agent = self._ids(agent_chunk, subject, True)
        doubt = self.doubt
        end = agent_chunk.end
        more = at.get(end + 1) if end < len(toks) and lows[end] == "and" else None
        if more is not None and more.kind == "ref":  # "by her little brother Kai and their dog Roo"
            agent = list(dict.fromkeys(agent + more.ids))
            end = more.end
        mentioned += [x for x in subject if x != NONE_SUBJECT]
        self._agent_event(toks, v, agent, subject, c, at, places, events, mentioned, doubt)
        if end + 1 < len(toks) and lows[end] == "and" and any(t in ("VBN", "VBD") for _, t in
                                                                 lx.verb_readings(lows[end + 1])) and \
                not _finite_readings(toks[end + 1]) & {"VBZ"} and end + 1 not in at:
            # "was grabbed by the drones and towed back": the same agent does the second one too
            self.handled.add(end + 1)
            return self._agent_event(toks, end + 1, agent, subject, c, at, places, events, mentioned, doubt)
        return end

    def _relative(self, toks: list[str], k: int, antecedent: list[str], c: _Chunk, at: dict[int, _Chunk],
                  places: list, events: list[MotionEvent], mentioned: list[str], doubt: str | None = None) -> int:
        """A relative clause right after a subject: ", which was flown by Ana," / "that Mia was walking" / ", who
        waves,". Its action is recorded; returns the index where the subject's own verb may start (k if none)."""
        lows = [t.lower() for t in toks]
        comma = k < len(toks) and toks[k] == ","
        r = k + comma
        if r >= len(toks) or lows[r] not in ("which", "who", "that", "whom", "whose"):
            return k
        close = next((x for x in range(r + 1, len(toks)) if toks[x] in ",;."), len(toks))
        if lows[r] == "whose":  # ", whose name was Theo,", ", whose map was gone,": nothing done; the verb follows
            return close + 1 if comma and close < len(toks) and toks[close] == "," else k
        if comma and (close >= len(toks) or toks[close] != ","):
            return k  # ", who … ." runs to the end: a trailing relative, read as a clause of its own
        inner = at.get(r + 1)
        if inner is None and r + 2 < len(toks) and _cap(toks[r + 1]) and lows[r + 1] in lx.TITLES:
            # "the dog that Mr. Lomax was walking" (the name's phrase may begin at "that")
            inner = at.get(r + 2) or (at[r] if r in at and at[r].kind == "ref" else None)
        if inner is not None and inner.kind in ("ref", "pron") and lows[r] != "who":
            # "that Mia was walking": Mia does it, to the antecedent
            agent = self._ids(inner, antecedent, True)
            v = inner.end
            while v < close and (lows[v] in lx.BE_FORMS or lows[v] in ("has", "have", "had")):
                v += 1  # "which a boy named Luca had pointed out"
            if v < close and _finite_readings(toks[v]):
                self._agent_event(toks, v, agent, antecedent, c, at, places, events, mentioned, self.doubt)
        elif r + 2 < close and lows[r + 1] in ("has", "have", "had") and lows[r + 2] != "been" and \
                _finite_readings(toks[r + 2]) & {"VBN", "VBD"} and lows[r] != "which":
            # ", who had watched everything from a flat rock,": the antecedent did it
            self._agent_event(toks, r + 2, antecedent, [], c, at, places, events, mentioned, doubt)
        elif r + 2 < close and lows[r + 1] in lx.BE_FORMS and "VBG" in _finite_readings(toks[r + 2]) and \
                lows[r] != "which":
            # ", who was carrying two buckets,": the antecedent does it (a progressive, not a passive)
            self._agent_event(toks, r + 2, antecedent, [], c, at, places, events, mentioned, doubt)
        elif r + 1 < len(toks) and (lows[r + 1] in lx.BE_FORMS or lows[r + 1] in ("has", "have", "had") and
                                     r + 2 < len(toks) and lows[r + 2] == "been"):
            self._passive(toks, r + 1, antecedent, c, at, places, events, mentioned)
        elif r + 1 < close and _finite_readings(toks[r + 1]) & {"VBZ", "VBD", "VBP"} and r + 1 not in at:
            # "who waves", "The pigeons that live on the statue": the antecedent does it
            self._agent_event(toks, r + 1, antecedent, [], c, at, places, events, mentioned, doubt)
        if comma:
            return close + 1
        # no commas ("the dog that Mia was walking barks", "The pigeons that live on the statue swoop"): the
        # subject's verb follows the relative's verb phrase (its verb, particles, objects and places)
        m = r + 1
        if r in at and at[r].kind == "ref":
            m = at[r].end  # "that Mr. Lomax": the name's phrase begins at "that"
        elif m in at:
            m = at[m].end
        while m < close and (lows[m] in lx.BE_FORMS or lows[m] in lx.ADVERBS or lows[m] in ("has", "have", "had")):
            m += 1
        if m < close and _finite_readings(toks[m]):
            m += 1  # the relative's verb
        while m < close and (m in at or lows[m] in lx.PARTICLES or lows[m] in lx.PREPOSITIONS or
                             lows[m] in lx.ADVERBS):
            m = at[m].end if m in at else m + 1
        tags = _finite_readings(toks[m]) if m < close else frozenset()
        plural = c.plural or len([x for x in antecedent if x != NONE_SUBJECT]) > 1 or any(
            x in self.reg.by_id and self.reg.by_id[x].plural for x in antecedent)
        return m if tags & {"VBZ", "VBD"} or plural and tags & {"VBP"} else k

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
        if toks[0].lower() in lx.SUBORDINATORS and p in ("done", "over", "finished", "ready", "gone") and \
                not any(t == "," for t in toks[:i]):
            return True  # "When the job is done | the robots crawl back" (no comma after the "when" clause)
        return p in lx.SUBORDINATORS or p in (",", ";", ":", "and", "but", "then", "so", "that")

    def _ids(self, c: _Chunk, subject: list[str] | None, is_subject: bool) -> list[str]:
        """The entities a chunk refers to; ``self.doubt`` says why that is a guess (None: it is sure)."""
        self.doubt = None
        if c.kind == "ref":
            return c.ids
        if c.kind == "np":
            return [NONE_SUBJECT]
        exclude = [] if is_subject else [x for x in (subject or []) if x != NONE_SUBJECT]
        if c.head == "they" and c.end - c.start > 1:  # "the two friends", "both sisters", "the children"
            return self._group(c)
        return self.resolve(c.head, exclude=exclude, subject=is_subject, pos=c.start) or []

    def _group(self, c: _Chunk) -> list[str]:
        """"the two", "both sisters", "the three of them", "the children": the plural subject in view; or as many
        people as the phrase counts, in view or in the whole story; or, uncounted, all the story's people when all
        are in view. Anything else is a guess."""
        words = self.cur_lows[c.start:c.end]
        count = next((lx.NUMBERS_VALUE[w] for w in words if w in lx.NUMBERS_VALUE), None)
        view = set(self._before(c.start)) | set(self.cur_mentioned) | self.prev_mentioned
        seen = self._seen(c.start)
        people = [i for i in seen if self.reg.by_id[i].kind == "person" and not self.reg.by_id[i].group]
        if set(words) & {"children", "kids", "boys", "girls"}:
            # "the children" are no teacher or janitor: people with a title or a grown-up's noun are left out
            people = [i for i in people if not (self.reg.by_id[i].nouns - lx.CHILD_NOUNS) and not any(
                t in self.reg.by_id[i].name.lower().split() for t in ("mr", "mrs", "ms", "dr", "miss"))]
        pool = people if len(people) >= 2 or set(words) & {"children", "kids", "boys", "girls"} else [
            i for i in seen if self.reg.by_id[i].kind != "thing" and not self.reg.by_id[i].group]
        noun = lx.group_of(words[-1]) if words[-1] not in ("them", "us", "both", "two", "three") else None
        if noun is not None and lx.entity_noun(noun[1]) and noun[0] != "person":  # ("the children": the people)
            # "both alpacas": the two that are alpacas, not the last pair of people
            kind = lx.entity_noun(noun[1])
            matching = [i for i in seen if not self.reg.by_id[i].group and kind in self.reg.by_id[i].nouns]
            if not matching:  # "both dogs" when no dog was named: not the last two people
                self.doubt = f"\u201c{' '.join(words)}\u201d names no one found"
            pool = matching or pool
        if self.last_plural and all(i in pool and i in view for i in self.last_plural) and (
                count is None or len(self.last_plural) == count):
            return list(self.last_plural)
        # "the fishermen and the farmers … Both teams grabbed the rope": the story's two groups that act as sides
        # (a crowd or an audience watches; it is no side)
        sides = [i for i in seen if self.reg.by_id[i].group and not self.reg.by_id[i].nouns & lx.SPECTATORS]
        if words[:1] == ["both"] and len(words) > 1 and noun is None and sides:
            if len(sides) == 2:
                return sides
            self.doubt = f"\u201c{' '.join(words)}\u201d could be several groups"
            return sides[:2]
        in_view = [i for i in pool if i in view]
        # with a group in the story ("the sisters", then "Adaeze"), its members are counted twice: no count is sure
        grouped = any(self.reg.by_id[i].group for i in seen)
        if count is not None and not grouped and count in (len(in_view), len(pool)):
            return in_view if len(in_view) == count else pool
        if count is None and not grouped and len(pool) >= 2 and (len(in_view) == len(pool) or len(pool) == 2):
            return pool  # all the story's people: all in view, or the story's only two
        self.doubt = f"\u201c{' '.join(words)}\u201d could be several of them"
        if self.last_plural and all(i in pool for i in self.last_plural):
            return list(self.last_plural)
        return pool[:count or 2]

    def _subject(self, ids: list[str], plural: bool, c: _Chunk) -> None:
        real = [i for i in ids if i != NONE_SUBJECT]
        if not real:
            self.last_thing = c.kind == "np" and not c.plural
            return
        self.last_thing = False
        self.last_subject = real
        self.sentence_subject = real
        if len(real) > 1 or self.reg.by_id[real[0]].group:
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
            if lx.verb_lemma(p) in ("stop", "quit", "finish"):
                return None, None  # "stops crying": it ends
            if p in (",", "and", "while") and subject is not None or (last_verb_end >= 0 and lx.verb_lemma(p) in
                                                                       lx.COMPLEMENT_TAKERS and k == last_verb_end - 1):
                return lem("VBG"), "VBG"
            if p in ("is", "are", "was", "were", "am", "keeps", "kept", "starts", "started", "begins", "began",
                     "goes", "went", "continues", "continued") or p == "out" and lx.verb_lemma(pp) == "burst":  # ("stops crying": it ends, nothing is shown)
                return lem("VBG"), "VBG"
            return None, None
        if p == "to" and ("VB" in tags) and k >= 1 and (lx.verb_lemma(pp) in lx.COMPLEMENT_TAKERS or
                                                          pp in lx.PARTICLES and k >= 2 and
                                                          lx.verb_lemma(lows[k - 2]) in lx.COMPLEMENT_TAKERS):
            return lem("VB"), "VB"
        if p in ("can", "could", "will", "would", "must", "may", "might", "should", "did", "does", "do") and "VB" in tags:
            return lem("VB"), "VB"
        if p in ("has", "have", "had") and tags & {"VBN", "VBD"} and in_vp:
            return lem("VBN", "VBD"), "VBN"  # "the heron has fished in silence"
        finite = lem("VBZ", "VBD")
        base = lem("VBP", "VB")
        real = [x for x in subject or [] if x != NONE_SUBJECT]
        plural_subject = len(real) > 1 or len(real) == 1 and real[0] in self.reg.by_id and \
            self.reg.by_id[real[0]].plural  # "The fans jump and sing", "the pigeons swoop down and peck"
        if lows[i] in ("seconds", "moments", "minutes", "hours", "days", "weeks"):
            return None, None  # "raises her arm, and seconds later the whistle blows"
        if lows[i] in lx.ADJECTIVE_PARTICIPLES or lx.is_adjective(lows[i]) and (
                i + 1 >= len(toks) or lows[i + 1] in ("and", ",", ".", ";")):
            return None, None  # "drove home, sandy and tired", "reached the hut, muddy and cold"
        if in_vp and p in ("and", ",", "then", "or", "but") or (in_vp and p == "then" and pp == "and"):
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
        with_at = max((x for x in range(self.last_verb_at + 1, k) if lows[x] in ("with", "of")), default=-1)
        if with_at >= 0 and k + 1 < len(toks) and lx.is_noun(lows[k + 1]) and not any(
                lows[x] in lx.CONJUNCTIONS or toks[x] in ",;" for x in range(with_at, k)) and (
                k + 2 >= len(toks) or not _word(toks[k + 2])):
            return True  # "pack the hole with mud and pebbles."
        if with_at >= 0 and k + 2 < len(toks) and lx.is_noun(lows[k + 2]) and not _closed(lows[k + 2]) and \
                lows[k + 2] not in lx.OBJECT_PRONOUNS | lx.PARTICLES and not _finite_readings(toks[k + 2]) \
                & {"VBZ", "VBD"} and not any(lows[x] in lx.CONJUNCTIONS or toks[x] in ",;" for x in range(with_at, k)):
            return True  # "eat the rest with honey and sliced bananas": "sliced" describes the bananas
        if k - 1 == self.last_verb_at:
            return False  # "laughs and waves", "cheers and claps": the word before "and" is the clause's verb
        before = lows[k - 1] if k >= 1 else ""
        word = lows[k + 1] if k + 1 < len(toks) else ""
        after = lows[k + 2] if k + 2 < len(toks) else ""
        if not before or _closed(before) or before in lx.BODY_PARTS or not lx.is_plural_noun(before):
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
        if c is not None and c.kind == "ref" and c.end in at and toks[c.end] == "'s":
            c = at[c.end]  # "pats Amara's dog": the dog
        if c is not None and c.kind in ("ref", "pron") and not (c.kind == "pron" and c.head == "they"
                                                                 and c.end - c.start > 1):
            if c.kind == "ref":
                self.learn_gender(who, lows[c.start])
            ids = c.ids if c.kind == "ref" else self.resolve(c.head, exclude=who, subject=False, pos=c.start)
            ids = [x for x in ids if x not in who and x != NONE_SUBJECT]
            if c.kind == "pron" and self.doubt is not None:
                ids = []  # an interaction only with whom the pronoun surely names
            if c.kind == "pron" and c.head in ("it", "its"):  # "tastes it": a thing unless an entity was just named
                ids = [x for x in ids if x in self.just_mentioned]
            if c.kind == "pron" and c.head in ("it", "them") and any(
                    x.kind == "np" and x.start < i and (x.plural or x.head.endswith("s")) == (c.head == "them")
                    for x in at.values()):
                ids = []  # "sorts the screws and puts them in jars": a thing named before it in the sentence
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
                                                                             subject=False, pos=k)
                    ids = [x for x in ids if x not in who and x != NONE_SUBJECT]
                    if at[k].kind == "pron" and self.doubt is not None:
                        ids = []
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
        skipped: list[tuple[str, str]] = []
        reader.sentence_no = 0
        reader.dropped = []
        for sent in sentences(text):
            before = (reader.place, reader.place_prep)
            evs, mentioned, t = reader.read(sent, present or previous)
            if reader.skip_reason:
                skipped.append((sent, reader.skip_reason))
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
                                 props=props, skipped=skipped, dropped=reader.dropped))
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

