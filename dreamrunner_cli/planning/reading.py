"""Actions: the built-in planner reads a story clause by clause and says who does which visible action, where.

A subject (a name, "the fox", "her friend Jun", "the two friends", a pronoun) owns the verbs of its clause; a
subject that is no entity ("The whistle blows") owns its verbs too, so they are never given to a character.

Precision first (issue 24): each attribution carries ``doubt``, None when it is sure (a subject that names its
entity; a pronoun with one compatible candidate in the nearest scope: this sentence, the one before, the story).
A guess (two candidates, a subject in another clause or not read) is left out and reported, never drawn."""

from __future__ import annotations

from . import lexicon as lx, motions
from .chunks import Chunk, ChunkReading
from .clauses import ClauseReading
from .entities import Registry
from .motions import NONE_SUBJECT, MotionEvent, SceneAnalysis
from .phrases import PhraseReading
from .pronouns import PronounReading
from .text import (
    MODIFIER_PREPS,
    bare_singular,
    _cap,
    _finite_readings,
    _word,
    in_as_if_clause,
    interrupter,
    lemma,
    pp_end,
    progressive,
    reduced_relative_end,
    sentences,
    tokens,
    without_speech,
)

class _Reader(PronounReading, ChunkReading, ClauseReading, PhraseReading):
    """Reads a story sentence by sentence, carrying what pronouns need (recency, gender, the last subjects)."""

    def __init__(self, reg: Registry):
        self.reg = reg
        self.recent: list[str] = []  # entity ids, most recent first
        self.named_before: set[str] = set()
        # "he"/"she" as a subject that could not be told, in the sentence before and in this one
        self.prev_doubtful: set[str] = set()
        self.cur_doubtful: set[str] = set()
        self.np_ends_after_preposition: set[int] = set()
        self.story_present = False  # the tense the story was last seen in (_in_present)
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
        self.cur_chunks: list[Chunk] = []
        self.cur_lows: list[str] = []
        self.stray_name = self.stray_name_near = False  # see read()
        self.cur_possessors: set[str] = set()
        self.prev_newcomer: str | None = None  # a person noun the sentence before brought in ("a nurse")
        self.cur_subject_owners: set[str] = set()  # whose the subject is ("Kasimir's rabbit"), this sentence
        self.prev_subject_owners: set[str] = set()  # and the sentence before
        self.cur_pronoun_subjects: dict[str, list[str]] = {}  # "he" → whom it surely named as a subject here
        self.cur_ahead: dict[int, list[str]] = {}  # a possessive that names the subject after it: position → ids
        self.prev_seen_animate: set[str] = set()  # the people and animals the sentence before named
        self.cur_them_things: str | None = None  # "beat them" when they may be things: "until they stood" too
        self.prev_possessors: set[str] = set()
        self.prev_subject: list[str] = []  # the last subject of the sentence before
        self.prev_plural_things: str | None = None  # a plural thing named in the sentence before ("the balls")
        self.prev_singular_thing: str | None = None  # the last singular thing named in the sentence before
        self.prev_any_plural_thing: str | None = None  # the last plural thing named anywhere in the sentence before
        self.sentence_subject: list[str] = []  # the last subject of this sentence so far
        self.main_subject: list[str] = []  # and its last subject outside a "where" clause
        self.prev_main_subject: list[str] = []
        self.actors: set[str] = set()  # entities that did some action so far
        self.person_pair: list[str] = []  # the last people who acted together ("he and his granddaughter Rhea")
        self.handled: set[int] = set()  # token indices of this sentence read as a verb or its phrase
        self.story_no = 0  # the sentence of the story being read (Entity.since counts the same way)
        self.ours: set[str] = set()  # what the narrator called "our …" ("Our class visited the dam": "we" later)
        self.brought_in: set[str] = set()  # words of a phrase after "a"/"an" so far: "a honeymoon couple"

    def _inverted_subject(self, toks: list[str], i: int, at: dict) -> tuple[list[str], int] | None:
        """The subject after the verb toks[i] when a place phrase opens the sentence and the verb comes next, with no
        comma ("Behind them walked the bride, لجين, and the groom, سلطان,", "Into the kitchen burst Tom"): its ids
        (and those coordinated with it) and the index after them; None otherwise (not "In lane five was Nikolai": a
        form of "be" shows nothing)."""
        lows = [t.lower() for t in toks]
        if i < 2 or lows[0] not in lx.PREPOSITIONS or lows[0] in lx.SUBORDINATORS or \
                not _finite_readings(toks[i]) & {"VBD", "VBZ"} or lows[i] in lx.BE_FORMS or \
                any(not _word(t) for t in toks[:i]) or any(_finite_readings(t) & {"VBD", "VBZ"} for t in toks[1:i]):
            return None
        c = at.get(i + 1)
        if c is None or c.kind != "ref":
            return None
        ids, end = list(c.ids), c.end
        while True:  # ", and the groom, سلطان": the ones coordinated with it
            k = end + (end < len(toks) and toks[end] == ",")
            nxt = at.get(k + 1) if lows[k:k + 1] == ["and"] else None
            if nxt is None or nxt.kind != "ref":
                break
            ids += [x for x in nxt.ids if x not in ids]
            end = nxt.end
        if end < len(toks) and "VBN" in _finite_readings(toks[end]):
            end += 1  # "came a dump truck loaded with fresh stone": what it carries, no loading
        return ids, end

    def _learn_gender_ahead(self, toks: list[str], lows: list[str], chunks: list[Chunk], at: dict) -> None:
        """"On her first day at the club, ひまり was given a bow": a possessive in an opening phrase, before anyone
        is named, is the subject's after the comma."""
        comma = lows.index(",") if "," in lows[:10] else None
        if comma is None or lows[0] not in ("on", "in", "at", "after", "before", "during", "upon") or any(
                c.start < comma and (c.kind == "ref" or lx.entity_noun(c.head)) for c in chunks):
            return  # ("Despite her warning, Tom jumped", "At her mother's party, Tom sang": she is someone else)
        owns = [w for w in lows[:comma] if w in ("his", "her", "their", "its")]
        subject = at.get(comma + 1)
        if len(owns) == 1 and owns[0] in ("his", "her") and subject is not None and \
                subject.kind == "ref" and len(subject.ids) == 1 and subject.end < len(toks) and (
                    _finite_readings(toks[subject.end]) & {"VBD", "VBZ"} or lows[subject.end] in lx.BE_FORMS):
            self.learn_gender(subject.ids, owns[0])
            self.cur_ahead[lows.index(owns[0])] = list(subject.ids)

    def _learn_gender_from_body(self, toks: list[str], lows: list[str], chunks: list[Chunk],
                                events: list[MotionEvent]) -> None:
        """"ลำดวน stands at the end of the runway, rubbing chalk into her palms": in a sentence that names
        no one else, a body part's possessive is the one who acts."""
        named = {x for c in chunks if c.kind == "ref" for x in c.ids}
        actors = {x for e in events for x in e.who}
        first_name = min((c.start for c in chunks if c.kind == "ref"), default=0)
        # no one else in view who could own it ("a fish splashes past his nose" after Nib), and no pronoun for
        # someone else ("Her drone hums above her head", "he", "him")
        body = next((lows[k] for k in range(len(toks) - 1) if lows[k] in ("his", "her") and (
            lows[k + 1] in lx.BODY_PARTS or k + 2 < len(toks) and lx.is_adjective(lows[k + 1]) and
            lows[k + 2] in lx.BODY_PARTS)), None)
        if len(actors) != 1 or body is None:
            return
        g = "m" if body == "his" else "f"
        same = {"m": ("he", "him"), "f": ("she", "her")}[g]
        # (others of the other sex may be there: "His terrier, Nutmeg, lay next to him, her chin on his boot")
        others = [self.reg.by_id[x] for x in (named | self.prev_seen_animate) - actors if x in self.reg.by_id]
        if any(e.gender in (None, g) for e in others) or any(
                c.kind == "pron" and (c.start < first_name and c.head in same + ("they", "them") or c.head in same)
                for c in chunks):
            return
        self.learn_gender(list(actors), body)

    def _learn_gender_by_elimination(self, lows: list[str], chunks: list[Chunk], events: list[MotionEvent]) -> None:
        """"Priyanka ran downstairs in her socks. A delivery rider … jogged back to his scooter": the one who acts,
        named alone, owns a "his" or "her" that no one else the story has named could own."""
        actors = list(dict.fromkeys(x for e in events for x in e.who))
        named = {x for c in chunks if c.kind == "ref" for x in c.ids}
        if len(actors) != 1 or named - set(actors) or any(c.kind == "pron" and c.head in (
                "he", "she", "him", "her", "himself", "herself") for c in chunks):
            return
        actor = self.reg.by_id.get(actors[0])
        owns = {w for w in lows if w in ("his", "her")}
        if actor is None or actor.gender is not None or actor.kind not in ("person", "animal") or actor.group or \
                len(owns) != 1:
            return
        g = "m" if owns == {"his"} else "f"
        others = [self.reg.by_id[x] for x in self._seen(None) if x != actor.id and x in self.reg.by_id]
        if all(e.gender not in (None, g) or e.kind not in ("person", "animal") or e.group for e in others):
            self.learn_gender([actor.id], owns.pop())

    def _named_earlier(self) -> list:
        """The people, animals and things (no groups) the sentences before this one named."""
        return [e for e in self.reg.entities if (e.id in self.named_before or e.since < self.story_no) and
                not e.group]

    @staticmethod
    def _someone_else_before(chunks: list[Chunk], k: int) -> bool:
        """Before toks[k], a pronoun or a noun phrase of someone the story may not have found ("the girl", "the
        twins", "her mother"): a "his"/"her" at k may be theirs."""
        return any(c.kind == "pron" and c.start < k or c.kind == "np" and c.start < k and (
            lx.names_someone(c.head) or c.head in lx.KINSHIP) for c in chunks)

    def _learn_gender_before_anyone(self, lows: list[str], chunks: list[Chunk]) -> None:
        """"Nadia ties a strap … Her friend Owen tightens the ratchet until the line hums when she plucks it": a
        "his" or "her" before anyone else is named, when the story has named one person or animal, is theirs."""
        k = next((x for x in range(len(lows)) if lows[x] in ("his", "her")), None)
        refs = [c for c in chunks if c.kind == "ref"]
        earlier = self._named_earlier()
        if k is not None and (not refs or refs[0].start >= k) and len(earlier) == 1 and earlier[0].gender is None and \
                earlier[0].kind in ("person", "animal") and not self._someone_else_before(chunks, k) and \
                any(c.kind in ("np", "ref") and c.start == k for c in chunks):
            earlier[0].gender = "m" if lows[k] == "his" else "f"

    def _learn_gender_of_sole_owner(self, lows: list[str], chunks: list[Chunk]) -> None:
        """"When Priyanka opened the door of her compartment, a stranger lay …": a "his" or "her" in the first
        clause's object, when its subject is the only one the story has named so far, is that subject's (not
        "Tom waved to the girl and took her hand": someone else is there)."""
        k = next((x for x in range(len(lows)) if lows[x] in ("his", "her")), None)
        refs = [c for c in chunks if c.kind == "ref"]
        earlier = self._named_earlier()
        if k is None or not refs or refs[0].start > k or len(refs[0].ids) != 1 or \
                self._someone_else_before(chunks, k) or any(c.start < k for c in refs[1:]) or \
                not any(c.kind == "np" and c.start == k or c.kind == "ref" and c.start == k and k + 1 < len(lows) and
                        lows[k + 1] in lx.KINSHIP | lx.PEER_NOUNS | {"friend"} for c in chunks):
            return  # (a possessive that opens a noun phrase: "her compartment", "his grandmother", "her friend
            # Jonas"; not "helped her")
        owner = self.reg.by_id.get(refs[0].ids[0])
        if owner is not None and owner.gender is None and not owner.group and \
                owner.kind in ("person", "animal") and not [e for e in earlier if e is not owner]:
            owner.gender = "m" if lows[k] == "his" else "f"

    def read(self, sentence: str, scene_present: list[str]) -> tuple[list[MotionEvent], list[str], str | None]:
        """One sentence → (motion events, entity ids mentioned, time of day)."""
        self.named_before = set(self.recent)  # who the sentences before named
        toks = tokens(without_speech(sentence))
        lows = [t.lower() for t in toks]
        chunks = self.chunks(toks)
        self.prev_doubtful, self.cur_doubtful = self.cur_doubtful, set()
        present = self._in_present(toks)
        at = {c.start: c for c in chunks}
        covered = {k for c in chunks for k in range(c.start, c.end)}
        # the last word of a place phrase ("on the grass"), after which a participle is the subject's ("laughing")
        self.np_ends_after_preposition = {c.end - 1 for c in chunks if c.kind == "np" and c.start >= 1 and
                                          lows[c.start - 1] in lx.PREPOSITIONS - {"with", "without"}}
        mentioned: list[str] = []
        events: list[MotionEvent] = []
        self.cur_chunks, self.cur_lows, self.cur_mentioned = chunks, lows, mentioned
        # a first name mid-sentence that is no one found ("up to Gavin from accounts"): maybe someone the reader
        # missed, so that a name's sex tells no "he" or "she" apart (both this and the next)
        stray = any(_cap(t) and t.isalpha() and self.reg.by_name(t.lower()) is None and lx.name_gender(t)
                    for t in toks[1:])
        self.stray_name_near, self.stray_name = self.stray_name or stray, stray
        self.cur_pronoun_subjects = {}
        self.prev_subject_owners, self.cur_subject_owners = self.cur_subject_owners, set()
        # possessors: "Hugo" in "Hugo's mother" (only those that are not named otherwise in the sentence)
        self.cur_possessors = {x for c in chunks if c.kind == "ref" and c.end < len(toks) and toks[c.end] == "'s"
                               for x in c.ids} - set(self._before(None))
        self.just_mentioned |= {x for c in chunks if c.kind == "ref" for x in c.ids}
        self.cur_ahead = {}
        self.cur_them_things = None
        self.ours |= {x for c in chunks if c.kind == "ref" and "our" in lows[max(0, c.start - 1):c.start + 1]
                      for x in c.ids}
        self.prev_seen_animate = {x for x in self.prev_mentioned | self.prev_possessors
                                  if x in self.reg.by_id and self.reg.by_id[x].animate}
        self._learn_gender_ahead(toks, lows, chunks, at)
        self._learn_gender_before_anyone(lows, chunks)
        time = next((lx.TIMES[w] for w in lows if w in lx.TIMES), None)
        sentence_places = self._places(toks, covered)
        # "Inside," after reaching a building: the place is that building.
        if lows[:1] == ["inside"] and self.place and self.place.split()[-1] not in lx.BUILDINGS:
            self.place, self.place_prep = "room", "in"
        self.last_verb_at = -1
        self.handled = set()
        self.sentence_subject, self.main_subject = [], []
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
            if in_as_if_clause(toks, at_i):
                self.handled.add(at_i)
                return at_i + 1  # "brays as if she is laughing too": how it looks, not what she does
            if at_i >= 3 and toks[at_i - 1] == "," and lows[at_i - 3] in ("a", "an", "the") and \
                    lx.is_adjective(lows[at_i - 2]) and at_i + 1 < len(toks) and lx.is_noun(lows[at_i + 1]) and \
                    "VBG" in _finite_readings(toks[at_i]) and at_i + 1 not in at:
                self.handled.add(at_i)
                return at_i + 1  # "sings a slow, humming song": an adjective of the song
            if at_i + 1 < len(toks) and _finite_readings(toks[at_i]) & {"VBN", "VBG", "VBD"} and \
                    lx.is_noun(lows[at_i + 1]) and lows[at_i + 1] not in lx.DETERMINERS | lx.POSSESSIVES | \
                    lx.PREPOSITIONS | lx.PARTICLES \
                    and not _finite_readings(toks[at_i + 1]) & {"VBD", "VBZ"} and (
                        _in_noun_phrase(lows, at_i) or "VBG" in _finite_readings(toks[at_i]) and
                        lows[at_i - 1] in lx.PARTICLES and at_i - 2 in self.handled):
                # ("kicking up glittering ice dust": the object's adjective, after the verb and its particle)
                self.handled.add(at_i)
                return at_i + 1  # "played a loud, slightly crooked march": a word of the march, no verb
            if 3 <= at_i < len(toks) - 2 and toks[at_i - 1] == "," and lows[at_i + 1] in ("and", ",") and \
                    lx.is_noun(lows[at_i]) and lx.is_noun(lows[at_i - 2]) and lx.is_noun(lows[at_i + 2]) and \
                    not _finite_readings(toks[at_i + 2]) & {"VBD", "VBZ"} and at_i - 2 not in self.handled and \
                    (at_i - 3 in self.handled or toks[at_i - 3] == ","):  # (the object list of a verb just read)
                self.handled.add(at_i)
                return at_i + 1  # "whisked milk, eggs and sugar": one of a list of things
            if at_i >= 2 and lows[at_i - 1] == "and" and self.last_verb_at >= 0 and \
                    _finite_readings(toks[at_i]) == {"VBZ"} and lx.is_plural_noun(lows[at_i]) and \
                    "VBD" in _finite_readings(toks[self.last_verb_at]) and \
                    not _finite_readings(toks[self.last_verb_at]) & {"VBZ", "VBP"} and not any(
                        lows[x] in ("is", "are", "has") or _finite_readings(toks[x]) == {"VBZ"} for x in range(at_i)):
                # (not "unpacks a box of comics that he has stapled and spreads them": the main verb is present)
                self.handled.add(at_i)
                return at_i + 1  # "whisked the flour and eggs": a verb in the past has no partner in the present
            if at_i >= 2 and "VBG" in _finite_readings(toks[at_i]) and lows[at_i + 1:at_i + 2] == ["its"] and \
                    any(c.kind == "np" and c.end == at_i and not lx.entity_noun(c.head) for c in self.cur_chunks):
                self.handled.add(at_i)
                return at_i + 1  # "pictures of the river bursting its banks": the river's doing
            det_at = at_i - 1 if lows[at_i - 1] in ("the", "a", "an") else at_i - 2
            if at_i >= 2 and "VBG" in _finite_readings(toks[at_i]) and lows[det_at] in ("the", "a", "an") and \
                    _word(toks[det_at + 1]) and not _finite_readings(toks[det_at + 1]) - {"VBG"} and \
                    not (det_at + 1 < at_i and lx.names_someone(lows[det_at + 1])) and (
                    at_i + 1 >= len(toks) or not _word(toks[at_i + 1]) or lows[at_i + 1] in lx.PREPOSITIONS):
                self.handled.add(at_i)
                return at_i + 1  # "along the gold lettering": a noun after its determiner, no verb (but "with the
                # robots trundling behind": the robots trundle)
            if at_i >= 3 and lows[at_i - 1] == "and" and lows[at_i - 3] in lx.POSSESSIVES and \
                    lx.is_plural_noun(lows[at_i - 2]) and lx.is_noun(lows[at_i]) and lows[at_i].endswith("s") and \
                    self.last_verb_at >= 0 and _finite_readings(toks[self.last_verb_at]) & {"VBZ", "VBD"} == {"VBD"} \
                    and "VBD" not in _finite_readings(toks[at_i]):
                self.handled.add(at_i)
                return at_i + 1  # "laid out his snips and mallets on the bench": the second of two things (a
                # present verb after a past one)
            if at_i + 1 < len(toks) and lows[at_i - 1] in ("and", ",") and lx.is_adjective(lows[at_i]) and \
                    lx.is_noun(lows[at_i + 1]) and lows[at_i + 1] not in lx.OBJECT_PRONOUNS and \
                    not _finite_readings(toks[at_i]) & {"VBD", "VBZ", "VBG", "VBN"} and \
                    "with" in lows[max(0, at_i - 5):at_i - 1]:
                self.handled.add(at_i)
                return at_i + 1  # "with buckets and stiff brushes": a word of the brushes, no verb
            if lx.is_adjective(lows[at_i]) and (lows[at_i + 1:at_i + 2] == ["to"] or lows[at_i + 1:at_i + 2] == [
                    "for"] and not lx.is_noun(lows[at_i])) and \
                    not _finite_readings(toks[at_i]) & {"VBD", "VBZ", "VBG"}:
                self.handled.add(at_i)
                return at_i + 1  # "in the kitchen, ready to make fudge", "ready for the bluebells": how they are
            nxt = lows[at_i + 1] if at_i + 1 < len(toks) else ""
            if base in lx.THING_ONLY_VERBS and (not _word(nxt) or nxt in lx.PREPOSITIONS or nxt in lx.ADVERBS or
                                                nxt in lx.CONJUNCTIONS) and nxt not in lx.PARTICLES:
                self.handled.add(at_i)
                return at_i + 1  # "and they sizzle at once": the pork (but "she melts the butter" does something)
            if lows[at_i + 2:at_i + 4] in (["in", "hand"], ["in", "tow"]) and lx.is_noun(lows[at_i + 1]) and \
                    "VBG" in _finite_readings(toks[at_i]):
                self.handled.update((at_i, at_i + 1))
                return at_i + 2  # "circles him, measuring tape in hand": what she holds, a noun and its adjective
            if lows[at_i] in ("soaking", "sopping", "dripping", "freezing", "boiling", "scorching", "piping") and \
                    lows[at_i + 1:at_i + 2] in (["wet"], ["cold"], ["hot"]):
                self.handled.update((at_i, at_i + 1))
                return at_i + 2  # "came back soaking wet", "freezing cold": how wet or cold, no action
            event, j = self._phrase(toks, at_i, base, who, at, covered, sentence_places)
            self.handled.update(range(at_i, j))
            state["last_verb_end"], state["in_vp"] = j, True
            if self._shows_nothing(toks, at_i, base, j, at):
                self.last_verb_at = at_i
                return j  # "took place", "runs a tiny noodle stall": nothing a camera sees
            self.last_verb_at = at_i
            if not who and base not in lx.NON_VISUAL:
                self.unsure.append(progressive(base))  # a pronoun that could not be resolved
            elif who == [NONE_SUBJECT] and state.get("someone") and base not in lx.NON_VISUAL:
                self.unsure.append(f"{progressive(base)} (\u201c{state['someone']}\u201d is no character found)")
            ended = base in ("stop", "quit", "finish") and "VBG" in _finite_readings(toks[j] if j < len(toks) else "") \
                or lows[at_i + 1:at_i + 2] in (["nothing"], ["no"])  # "said nothing", "made no reply": nothing done
            made = lows[at_i + 2] if (nxt in lx.POSSESSIVES or nxt in ("a", "an")) and at_i + 2 < len(toks) else nxt
            # ("made his home", "made a plan")
            # "starts the engine", "make tamales", "makes a kite": doing something, not "make sure" or "start to"
            visible = base not in lx.NON_VISUAL or base in ("start", "begin", "make") and (
                nxt in lx.DETERMINERS or nxt in lx.POSSESSIVES or base == "make" and lx.is_noun(nxt)) and \
                made not in lx.MAKE_NOT_SHOWN  # ("making soup", "make tamales"; not "make sure")
            if visible and who and NONE_SUBJECT not in who and not self._negated(lows, at_i) \
                    and not ended:  # ("stops crying": the crying ends, and stopping shows nothing)
                event.sentence = self.sentence_no
                event.doubt = doubt
                if doubt is not None:
                    self.dropped.append(event)
                    self.unsure.append(f"{event.description.split()[0]} ({doubt})")
                    if motions.GATE:
                        return j
                events.append(event)
                if event.target:
                    mentioned.append(event.target)
            if base in lx.SPEECH_VERBS and lows[j:j + 1] == ["that"]:
                # "Ruth said that was cheating": what is said is no action; the clause ends at a comma, or at "and"
                # before a verb of the speaker's ("said that he was tired and walked off")
                end = next((x for x in range(j + 1, len(toks)) if toks[x] in (",", ";") or lows[x] in ("and", "but")
                            and x + 1 < len(toks) and _finite_readings(toks[x + 1]) & {"VBD", "VBZ"}), len(toks))
                self.handled.update(range(j, end))
                return end
            # "lets the dachshund sniff her bag", "helps Mia climb the wall": the one let or helped does it
            obj = at.get(at_i + 1) if base in ("let", "make", "help", "watch") else None
            if obj is not None and obj.kind == "ref" and obj.end < len(toks):
                ids, k = list(obj.ids), obj.end
            elif obj is not None and obj.kind == "np" and obj.end - obj.start >= 3:  # ("the dachshund sniff": one
                noun = lx.entity_noun(lows[obj.end - 2]) or lows[obj.end - 2]   # phrase to the chunker)
                e = self.reg.by_noun(noun) if lx.verb_lemma(lows[obj.end - 1]) else None
                ids, k = ([e.id] if e is not None else []), obj.end - 1
            elif obj is not None and obj.kind == "pron" and obj.head in ("him", "her", "them") and \
                    obj.end < len(toks) and "VB" in _finite_readings(toks[obj.end]):
                # "lets them tumble over her", "let them race after him": whom the pronoun surely names
                ids, k = self._ids(obj, who, False), obj.end
                ids = [] if self.doubt is not None or NONE_SUBJECT in ids else ids
            else:
                ids, k = [], len(toks)
            if ids and k < len(toks) and "VB" in _finite_readings(toks[k]) and lx.verb_lemma(lows[k]):
                return emit(k, lx.verb_lemma(lows[k]), ids)
            return j

        pending_subject: tuple[list[str], bool] | None = None
        # a participle opening the sentence before its subject: "Shivering, she flew down" → (lemma, subject index)
        opening = (lx.verb_lemma(lows[0]), 2) if len(toks) > 3 and toks[1] == "," and "VBG" in _finite_readings(
            toks[0]) and lx.verb_lemma(lows[0]) and lx.verb_lemma(lows[0]) not in lx.NON_VISUAL else None
        i = 2 if opening is not None else 0
        while i < len(toks):
            c = at.get(i)
            if lows[i] == "and" and state.get("revert") and i + 1 < len(toks) and \
                    _finite_readings(toks[i + 1]) & {"VBD", "VBZ"} and (i + 1) not in at:
                # "peeled them while they were still warm and mashed them": after a clause that only says how
                # something was, the main clause's subject goes on
                subject, state["doubt"] = state["revert"]
                state["revert"], state["in_vp"], state["fresh"] = None, True, True
                i += 1
                continue
            thing = state.pop("thing_relative", None) if lows[i] in ("and", ",", ";") else None
            if thing is not None and lows[i] == "and" and i + 1 < len(toks) and (i + 1) not in at and \
                    _finite_readings(toks[i + 1]) & thing[1] and state["doubt"] is None:
                # "threw a long drive that curved left and smacked into an oak": the drive's, or the thrower's?
                state["doubt"] = f"it could be the {thing[0]}"
            outer = state.get("relative_main")  # (main subject, its doubt, main verb's index, the inner subject)
            if lows[i] == "and" and outer is not None and i + 1 < len(toks) and (i + 1) not in at and \
                    self.last_verb_at >= 0:
                outer_subject, outer_doubt, outer_verb, inner_name = outer
                tense = _finite_readings(toks[i + 1]) & {"VBZ", "VBD"}
                main_tense = _finite_readings(toks[outer_verb]) & {"VBZ", "VBD"}
                inner_tense = _finite_readings(toks[self.last_verb_at]) & {"VBZ", "VBD"}
                # the same tense as the inner verb too: the inner subject goes on, unless it is no one ("when the
                # storm ended and scraped the sand away": the storm or the jerboa? a guess, reported)
                if tense and tense & main_tense and (not tense & inner_tense or subject == [NONE_SUBJECT]):
                    state["relative_main"] = None
                    subject = outer_subject
                    # ("snapped it up before it landed and swallowed it": "it" does nothing to itself)
                    itself = inner_name == "it" and lows[i + 2:i + 3] == ["it"]
                    state["doubt"] = outer_doubt if not tense & inner_tense or itself else "it could be " + " or ".join(
                        [self._call(self.reg.by_id[x]) for x in outer_subject if x in self.reg.by_id] + [inner_name])
                    state["in_vp"], state["fresh"] = True, True
                    i += 1
                    continue
            if c is not None and c.kind == "pron" and c.head in ("it", "him", "her", "them") and i == 1 and \
                    lows[0] in lx.PREPOSITIONS and not state["in_vp"] and subject is None:
                i = c.end  # "Behind it walked a nurse": the preposition's object, not who acts
                continue
            if c is not None:
                starts = self._starts_clause(toks, i)
                unmarked = state["in_vp"] and not starts and self._subject_pronoun_clause(toks, i)
                ids = self._ids(c, subject if state["in_vp"] else None,
                                is_subject=not state["in_vp"] or starts or unmarked)
                doubt = self.doubt
                if doubt is None and c.kind == "ref" and c.start >= 2 and lows[c.start - 2:c.start] == ["one", "of"] \
                        and ids and all(x in self.reg.by_id and self.reg.by_id[x].group for x in ids):
                    # "One of the porters dropped a box": one of them, not the whole group (no entity of its own)
                    doubt = self.doubt = f"\u201cone of the {c.head or 'group'}\u201d is no character found"
                if unmarked and doubt is None and subject and set(ids) & set(subject):
                    # "pecking at the worms he turned up": the wagtail's worms, or the ox's? (but "shared the
                    # nectar he had gathered", when no one else near is "he": his own)
                    g = {"he": "m", "she": "f"}.get(c.head)
                    near = self.prev_mentioned | set(self._before(i)) | set(mentioned)
                    if g is None or any(x not in ids and x in self.reg.by_id and not self.reg.by_id[x].group and
                                        self.reg.by_id[x].kind in ("person", "animal") and
                                        self.reg.by_id[x].gender in (None, g) for x in near):
                        doubt = self.doubt = f"\u201c{c.head}\u201d could be " + " and ".join(
                            self._call(self.reg.by_id[x]) for x in ids if x in self.reg.by_id) + " or someone else"
                if doubt is None:  # a guessed referent is not in view for the next pronoun ("threw it at him")
                    mentioned += [x for x in ids if x != NONE_SUBJECT]
                if c.end < len(toks) and toks[c.end] == "'s" and c.end in at:
                    if not state["in_vp"]:  # (Kasimir, of "Kasimir's rabbit, Radish, slipped out")
                        self.cur_subject_owners |= set(c.ids)
                    i = c.end  # "Hugo's mother called": the possessed phrase is the subject
                    continue
                # Coordinated subjects: "Ünal and Lía", "Noor and her twin sister Aisha", "Maren, Linus and Idris".
                listed: list[Chunk] = []
                e = c.end
                while c.kind == "ref" and not state["in_vp"] and e + 1 < len(toks) and toks[e] == "," and \
                        at.get(e + 1) is not None and at[e + 1].kind == "ref":
                    listed.append(at[e + 1])
                    e = at[e + 1].end
                if listed and e < len(toks) and lows[e] == "and" and at.get(e + 1) is not None and \
                        at[e + 1].kind == "ref":
                    ids = list(dict.fromkeys(ids + [x for ch in listed for x in ch.ids]))
                    mentioned += [x for ch in listed for x in ch.ids]
                    c = Chunk("ref", c.start, e, ids)
                after_and = c.end + 1
                while after_and + 1 < len(toks) and (lows[after_and] in lx.TITLES and _cap(toks[after_and]) or
                                                     lows[after_and] in lx.NAME_ADJECTIVES):
                    after_and += 1  # "رامي and Mrs. Brannock cheer", "Lidia and little Sorin crawled"
                nxt = at.get(after_and) if c.end < len(toks) and lows[c.end] == "and" else None
                # ("After the rain stopped, Ruth and Dev hunted": the main clause's subjects, after the first clause)
                main_after_first = nxt is not None and c.start >= 2 and toks[c.start - 1] == "," and \
                    lows[0] in lx.SUBORDINATORS and nxt.end < len(toks) and \
                    _finite_readings(toks[nxt.end]) & {"VBD", "VBZ", "VBP"}
                if nxt is not None and nxt.kind in ("ref", "pron") and (not state["in_vp"] or main_after_first):
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
                    plural = c.plural or len(ids) > 1 or any(  # ("The Harriers sprint": a named group)
                        x in self.reg.by_id and self.reg.by_id[x].plural for x in ids) or (
                        # ("Mrs. Achebe's class … The children stack": the class, named by a plural)
                        c.kind == "ref" and bool(c.head) and lx.is_plural_noun(c.head) and lows[c.start] == "the"
                        and all(x in self.reg.by_id and self.reg.by_id[x].group for x in ids) and
                        not (c.end < len(toks) and lows[c.end] in lx.PREPOSITIONS))  # (but "The boys in the last
                # line stamp": some of them)
                k = end
                if not state["in_vp"] or self._subject_pronoun_clause(toks, c.start):
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
                    # ("The youngest one, a girl named 小雨, cried": the named one is the subject)
                    named = at.get(k + 1)
                    inserted = interrupter(toks, k, plural) if appos is None and not (
                        named is not None and named.kind == "ref" and set(named.ids) - set(ids)) else None
                    if inserted is not None:
                        # "The umpire, sitting on a high chair, calls", "The operator, a grey-bearded man wearing
                        # a striped hat, opens": the subject's verb comes after the phrase between commas
                        interrupting, k = inserted
                        opening = opening if interrupting is None else (interrupting, c.start)
                while k < len(toks) and (lows[k] in lx.ADVERBS or lows[k].endswith("ly") and not
                                         _finite_readings(toks[k]) - {"VB", "VBP"} or
                                         # "they all dragged", "the twins both laughed": a floating quantifier
                                         lows[k] in ("all", "both", "each") and plural and k == end or
                                         # "the ants below carried": a place word after the subject, then its verb
                                         lows[k] in lx.PLACE_ADVERBS and k + 1 < len(toks) and
                                         _finite_readings(toks[k + 1]) & {"VBZ", "VBD", "VBP"} or
                                         # "The baker next door comes out", "the man across the road waved": where
                                         # the subject lives or stands, then its verb
                                         lows[k:k + 2] == ["next", "door"] or lows[k - 1:k + 1] == ["next", "door"]):
                    k += 1
                if not state["in_vp"] or self._starts_clause(toks, c.start):
                    main = reduced_relative_end(toks, k, plural)  # "The crowd packed into the gym | stamps"
                    if main != k:
                        self.handled.add(k)  # the participle describes the subject: no action of its own
                        k = main
                if k + 1 < len(toks) and lows[k] in ("has", "have", "had") and lows[k + 1] != "been" and \
                        _finite_readings(toks[k + 1]) & {"VBN", "VBD"} and not (plural and lows[k] == "has"):
                    k += 1  # "A climber has slipped": the participle is the verb (a perfect)
                    tags = frozenset({"VBD"}) if _finite_readings(toks[k]) else frozenset()
                else:
                    tags = _finite_readings(toks[k]) if k < len(toks) else frozenset()
                    if tags == {"VBN"} and k + 1 < len(toks) and lows[k + 1] in lx.DETERMINERS | lx.POSSESSIVES | {
                            "them", "it", "him"} and c.kind in ("ref", "pron"):  # (and "Maelys fitted them in")
                        tags = frozenset({"VBD"})  # "Hattie fitted the engine": a past lemminflect knows as VBN only
                if not tags and plural and k + 1 < len(toks) and lows[k] in lx.NOUN_FIRST and \
                        lows[k + 1] in lx.PARTICLES and any(t == "VBP" for _, t in lx.verb_readings(lows[k])):
                    tags = frozenset({"VBP"})  # "Ffion and Dai hand out helmets", "the kids back away"
                if c.kind == "pron" and c.head in ("him", "them", "us", "me") and c.end - c.start == 1:
                    tags = frozenset()  # "Behind them came three kids": "them" is never who acts
                if k + 1 < len(toks) and lows[k] in lx.NAMING and \
                        "one" in lows[max(0, c.start - 1):c.start + 1] and at.get(k + 1) is not None and \
                        at[k + 1].kind == "ref":
                    # "One white pigeon, the one Salim called Pearl, flew": a naming, not Salim's action
                    i = at[k + 1].end + (at[k + 1].end < len(toks) and toks[at[k + 1].end] == ",")
                    continue
                finite = bool(tags & {"VBZ", "VBD"}) or (plural and bool(tags & {"VBP", "VB"}))
                if finite and (not state["in_vp"] or self._subject_pronoun_clause(toks, c.start)):
                    copula = lows[k] in lx.BE_FORMS and not (
                        k + 1 < len(toks) and _finite_readings(toks[k + 1]) & {"VBG", "VBN"})
                    state["revert"] = state.get("main") if copula else None
                    state["main"] = None
                    # "unwraps the tulips that the wholesaler dropped off and trims their stems": after a relative
                    # clause with a subject of its own, "and" + a verb in the main verb's tense may be the main
                    # subject's (read at the "and" below)
                    inner = " and ".join(self._call(self.reg.by_id[x]) for x in ids if x in self.reg.by_id) or \
                        (c.head if c.kind == "pron" else f"the {c.head}")
                    state["relative_main"] = (subject, state["doubt"], self.last_verb_at, inner) if (
                        c.start >= 1 and (lows[c.start - 1] in ("that", "which") or lows[c.start - 1] in
                                          lx.SUBORDINATORS) and subject and
                        NONE_SUBJECT not in subject and self.last_verb_at >= 0) else None
                    subject = ids or []
                    state["doubt"], state["fresh"] = doubt, True
                    if opening is not None and c.start == opening[1] and NONE_SUBJECT not in subject:
                        # "Shivering, she flew down": the participle that opens the sentence is its subject's
                        # (or the one between commas after it: "The umpire, sitting on a high chair, calls")
                        at_participle = 0 if opening[1] == 2 and c.start == 2 and toks[1] == "," else c.end + 1
                        self.handled.add(at_participle)
                        emit(at_participle, opening[0], subject, doubt)
                        state["in_vp"] = False
                    opening = None
                    # "a boy climbed" when no entity is that boy: someone acts, but who is unknown (reported)
                    # ("the dancers", "the truck", "the others", "the audience", "the whole school")
                    state["someone"] = c.head if ids == [NONE_SUBJECT] and c.kind == "np" and c.head != "nobody" and \
                        lx.may_act(c.head, whole=bool({"whole", "entire"} & set(lows[c.start:c.end]))) else None
                    self._subject(subject, plural, c)
                    passive = self._passive(toks, k, ids, c, at, sentence_places, events, mentioned)
                    if passive is not None:  # "The ball is caught by the goalkeeper": the agent acts
                        state["last_verb_end"], state["in_vp"] = passive, True
                        i = passive
                        continue
                    readings = lx.verb_readings(toks[k])
                    base = next((lem for lem, tag in readings if tag in ("VBZ", "VBD", "VBN")), None) or next(
                        lem for lem, tag in readings if tag in ("VBP", "VB"))
                    base_present = next((lem for lem, tag in readings if tag == "VBP"), None)
                    if (plural or lows[c.start] == "both") and base_present and base_present != base and present:
                        base = base_present  # "She stamps once, and both deer bound away": bound, not bind
                    i = emit(k, base, subject, doubt)
                    continue
                if state["in_vp"]:
                    v = end + 1 if end + 1 < len(toks) and lows[end] in ("has", "have", "had") else end
                    someone = c.kind == "ref" or c.kind == "np" and (
                        lx.ENTITY_NOUNS.get(c.head, ("",))[0] in ("person", "animal") or lx.group_of(c.head))
                    if someone and lows[c.start] != "that" and any(
                            x.end == c.start and x.kind in ("np", "ref") for x in chunks) and \
                            v < len(toks) and _finite_readings(toks[v]) & ({"VBN", "VBD"} if v > end else {"VBD"}):
                        # "pick at the crumbs the tourists have dropped": a relative clause without "that", whose
                        # subject is the second noun phrase (the main subject goes on after it)
                        self.handled.add(end)
                        if c.kind == "np":  # ("the tourists" when they are no entity: someone did it, unknown)
                            self.handled.add(v)
                            self.unsure.append(f"{progressive(lx.verb_lemma(lows[v]) or lows[v])} "
                                               f"(\u201c{c.head}\u201d is no character found)")
                            i = v + 1
                            continue
                        i = emit(v, lx.verb_lemma(lows[v]) or lows[v], list(ids), doubt)
                        continue
                    i = end
                    continue
                if not state["in_vp"] and subject is None and not finite:
                    pending_subject = (ids, plural, doubt)
                i = end
                continue
            w = lows[i]
            named = at.get(i + 1) if w == "with" else None
            if named is not None and named.kind == "ref" and named.end < len(toks) and \
                    "VBG" in _finite_readings(toks[named.end]) and named.end not in at:
                # "the basket was full, with Toffee trotting behind": Toffee trots
                mentioned += named.ids
                state["fresh"] = True
                i = max(emit(named.end, lx.verb_lemma(lows[named.end]) or lows[named.end], list(named.ids)),
                        named.end + 1)
                continue
            obj = next((x for x in chunks if x.end == i), None) if w in ("that", "which", "who") else None
            if obj is None and w == "which" and toks[i - 1] == "," and i + 1 in at and \
                    at[i + 1].kind in ("ref", "pron"):
                obj = next((x for x in chunks if x.end == i - 1), None)  # ", which Sunita had strapped": Sunita's
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
                        not (v < len(toks) - 1 and lows[v + 1] == "by" and not bare_singular(toks, v + 2)):
                    # (a passive's "by" names its agent; "had carved by hand", "sent by post" is no passive)
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
                while v < len(toks) and (lows[v] in lx.BE_FORMS or lows[v] in lx.ADVERBS or
                                         lows[v] in ("has", "have", "had")):
                    v += 1
                tags = _finite_readings(toks[v]) if v < len(toks) else frozenset()
                perfect = v > i + 1 and lows[v - 1] in ("has", "have", "had") and bool(tags & {"VBN", "VBD"})
                if v > i + 1 and "VBG" in tags or v == i + 1 and tags & {"VBZ", "VBD", "VBP"} or perfect:
                    # ("untangles the birds that have flown into the nets": the birds flew)
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
                    elif tags & {"VBZ", "VBD"} and self.last_verb_at >= 0 and lx.verb_lemma(
                            lows[self.last_verb_at]) in lx.LAUNCH_VERBS:  # (something thrown moves on its own)
                        state["thing_relative"] = (obj.head, tags & {"VBZ", "VBD"})
                    i = v + 1
                    continue
            prev = at.get(i - 1 - (i > 1 and toks[i - 1] == ","), None) if w == "who" else None
            if w == "which" and toks[i - 1] == ",":  # "barks at a pair of swans, which hiss and flap": the swans
                prev = next((x for x in chunks if x.end == i - 1 and x.kind == "ref" and all(
                    self.reg.by_id[y].kind != "person" for y in x.ids)), None)
            if prev is None and w == "who":
                prev = next((x for x in at.values() if x.end in (i, i - 1) and x.end == (i - (toks[i - 1] == ","))),
                            None) or next((x for x in at.values() if x.end == i and toks[i - 1] == ","), None)
                # ("by a jolly man named Gus, who leaned out": the chunk holds its closing comma)
            while prev is not None and prev.kind == "np" and prev.start >= 2 and lows[prev.start - 1] in MODIFIER_PREPS:
                # "the keeper, a tall girl in a padded helmet, who dives": the one the phrase describes
                prev = next((x for x in chunks if x.end == prev.start - 1), None)
            if prev is not None and prev.kind == "ref" and prev.start >= 2 and lows[prev.start - 1] in ("from", "of") \
                    and all(self.reg.by_id[y].group for y in prev.ids):
                # "two defenders from the Groupers, who kick", "two volunteers from the rowing club, who knelt": the
                # ones from the team, not the whole team
                head = next((x for x in chunks if x.end == prev.start - 1 and x.kind == "ref"), None)
                prev = head or prev
            if prev is not None and prev.kind == "np" and prev.start >= 2 and toks[prev.start - 1] == ",":
                named = next((x for x in chunks if x.end == prev.start - 1 and x.kind == "ref"), None)
                prev = named or prev  # "Mochi, a fat grey cat who is napping": Mochi
            busy = 1 if i + 3 < len(toks) and lows[i + 2] == "busy" else 0  # ("who is busy sweeping the steps")
            if prev is not None and prev.kind == "ref" and i + 2 + busy < len(toks) and lows[i + 1] in lx.BE_FORMS \
                    and "VBG" in _finite_readings(toks[i + 2 + busy]):
                subject = list(prev.ids)  # "who is napping on the rug"
                state["doubt"], state["fresh"] = None, True
                self.handled.update(range(i + 1, i + 2 + busy))
                i = emit(i + 2 + busy, next(lem for lem, tag in lx.verb_readings(toks[i + 2 + busy])
                                            if tag == "VBG"), subject)
                continue
            v = i + 1
            while prev is not None and v + 1 < len(toks) and lows[v] in lx.ADVERBS:
                v += 1  # "apologises to ちえ, who just laughs"
            plural = prev is not None and prev.kind == "ref" and any(self.reg.by_id[y].plural for y in prev.ids)
            if prev is not None and prev.kind == "ref" and v < len(toks) and \
                    _finite_readings(toks[v]) & ({"VBZ", "VBD", "VBP"} if plural else {"VBZ", "VBD"}):
                # "… to the center, who sprints up the field": the one named before "who" does it
                readings = lx.verb_readings(toks[v])
                subject = list(prev.ids)
                state["doubt"], state["fresh"] = None, True
                self.handled.update(range(i + 1, v))
                i = emit(v, next(lem for lem, tag in readings if tag in ("VBZ", "VBD", "VBP")), subject)
                continue
            if w == "there" and lows[i + 1:i + 2] in (["is"], ["are"], ["was"], ["were"]) and \
                    lows[i + 2:i + 3] and lows[i + 2] in lx.DETERMINERS and self._starts_clause(toks, i):
                # "and there is the moon, floating on the water": what follows is the moon's, no one's action
                subject, state["doubt"], state["fresh"], state["in_vp"] = [NONE_SUBJECT], None, True, True
                state["last_verb_end"], self.last_verb_at = i + 2, i + 1
                i += 2
                continue
            if w == "since" and (i + 1) in at and at[i + 1].end < len(toks) and \
                    _finite_readings(toks[at[i + 1].end]) & {"VBD", "VBZ"}:
                # "nobody has heard her play since Grandpa died": a time before the story, nothing shown
                end = next((x for x in range(i + 1, len(toks)) if toks[x] in (",", ";")), len(toks))
                self.handled.update(range(i, end))
                i = end
                continue
            prepositional = w in lx.SUBORDINATORS and i + 1 < len(toks) and lows[i + 1] in (
                "him", "her", "them", "me", "us") and (i + 2 >= len(toks) or not _word(toks[i + 2]) or
                                                       lows[i + 2] in lx.CONJUNCTIONS | lx.PREPOSITIONS)
            # ("bounds after her and splashes": "after" is a preposition there, no clause starts; so is "at once")
            prepositional = prepositional or w == "once" and i > 0 and lows[i - 1] == "at"
            # ("spins once and hurls it", "knocked once, then waited": how often, no clause)
            prepositional = prepositional or w == "once" and i > 0 and (
                i + 1 >= len(toks) or lows[i + 1] in ("and", "then", "more", "again") or not _word(toks[i + 1]))
            # "followed him as far as the corner, then sat down": a measure of the way, no clause
            prepositional = prepositional or w == "as" and (lows[i + 1:i + 3] in (["far", "as"], ["well", "as"]) or
                                                            lows[i - 2:i] in (["as", "far"], ["as", "well"]))
            if w in lx.SUBORDINATORS and not prepositional or (
                    w == "," and i + 1 < len(toks) and lows[i + 1] in ("and", "but", "so") and
                    not self._verb_continues(toks, i + 2, subject)):
                state["in_vp"], state["fresh"] = False, False  # a new clause may start
                state["main"] = (subject, state["doubt"]) if w in lx.SUBORDINATORS and subject else None
            agent_chunk = at.get(i + 2) if i + 2 < len(toks) and lows[i + 1] == "by" else None
            if agent_chunk is not None and lows[i - 1] == "," and any(
                    tag in ("VBN", "VBD") for _, tag in lx.verb_readings(lows[i])):  # ("followed": VBD = VBN)
                # "a ring bearer ran past the table, followed by a puppy": the agent does it, to the subject
                if agent_chunk.kind != "np":
                    agent = self._ids(agent_chunk, subject, True)
                    self._agent_event(toks, i, agent, subject or [], Chunk("np", i, i), at, sentence_places,
                                      events, mentioned, self.doubt)
                i = agent_chunk.end
                continue
            if w in lx.BE_FORMS and i not in self.handled and i + 1 < len(toks) and any(
                    lows[x] == "by" for x in range(i + 2, min(len(toks), i + 10))):
                # a passive whose subject was not read as one ("pizza was delivered by a teenager", "A lamp that
                # Mrs. Brennan had wrapped … was dropped by her son"): the agent does it
                end = self._passive(toks, i, [], Chunk("np", i, i), at, sentence_places, events, mentioned)
                if end is not None and end > i:
                    state["last_verb_end"], state["in_vp"] = end, True  # ("… by a spaniel that was racing")
                    i = end
                    continue
            verb_at = pp_end(toks, i + 1) if w in lx.EVERYONE and self._starts_clause(toks, i) else None
            group_named = verb_at is not None and any(  # ("Everyone in the crowd leaps up": the crowd, read next)
                c2.kind == "ref" and i < c2.start < verb_at and any(self.reg.by_id[x].group for x in c2.ids)
                for c2 in chunks)
            if verb_at is not None and verb_at < len(toks) and _finite_readings(toks[verb_at]) & {"VBZ", "VBD"} and \
                    not group_named:
                # "Everyone at the table cheers": someone acts who is no entity (reported)
                subject, state["doubt"], state["fresh"], state["someone"] = [NONE_SUBJECT], None, True, w
                i = emit(verb_at, lx.verb_lemma(lows[verb_at]) or lows[verb_at], subject)
                continue
            inverted = self._inverted_subject(toks, i, at) if subject is None else None
            if inverted is not None:
                # "Behind them walked the bride, لجين, and the groom, سلطان, holding hands": after a place phrase,
                # the verb, then its subject
                ids, end = inverted
                mentioned += ids
                subject, state["doubt"], state["fresh"] = ids, None, True
                self.handled.update(range(i + 1, end))
                emit(i, lx.verb_lemma(w) or w, subject)
                state["in_vp"], state["last_verb_end"] = True, end
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
            elif not state["fresh"] and not state["in_vp"] and not (
                    tag == "VBG" and lows[i - 1] in (",", "before", "after")):
                # (", screeching loudly": a participle after a comma is its sentence's subject's, and so is one
                # after "before" or "after": "blew on it before passing it over")
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
            # ("which had been eating crumbs", "the two girls hug": a progressive, a plural subject's present)
            before = max((c for c in chunks if c.end <= x), key=lambda c: c.end, default=None)
            ongoing = "VBG" in tags and x >= 1 and lows[x - 1] in lx.BE_FORMS and before is not None and (
                before.kind != "np" or lx.may_act(before.head))  # (not "snow had been falling")
            plural_present = "VBP" in tags and before is not None and before.end == x and before.plural and \
                before.head != "them" and not lx.is_adjective(lows[x]) and lows[x] not in lx.PLACE_ADVERBS
            if x not in covered and x not in self.handled and base and base not in lx.NON_VISUAL and \
                    lows[x] not in lx.BE_FORMS and not self._negated(lows, x) and (
                    (tags & {"VBZ", "VBD"} or coordinated) and self._clause_verb_slot(toks, x, chunks) or
                    ongoing or plural_present):
                self.unsure.append(progressive(base))
        self._touch(list(dict.fromkeys(mentioned)))
        self.just_mentioned = set(mentioned)
        self.prev_mentioned = (set(mentioned) - self.cur_possessors) | set(self._before(None))
        self.prev_possessors = set(self.cur_possessors)
        self.prev_subject = list(self.sentence_subject)
        self.prev_main_subject = list(self.main_subject)
        self._learn_gender_from_body(toks, lows, chunks, events)
        self._learn_gender_by_elimination(lows, chunks, events)
        self._learn_gender_of_sole_owner(lows, chunks)
        # the last plural thing of this sentence ("the first balls"), for "they" in the next one
        last_ref = max((c.end for c in chunks if c.kind == "ref"), default=-1)
        self.prev_plural_things = next((c.head for c in reversed(chunks) if c.kind == "np" and c.plural and
                                        c.start >= last_ref and c.head not in lx.TIME_NOUNS and
                                        c.head not in lx.BODY_PARTS and not lx.entity_noun(c.head) and
                                        not lx.group_of(c.head)), None)
        # any plural thing of this sentence ("drops the balls into the water, while 婉婷 stirs"), for "When they …"
        self.prev_any_plural_thing = next((c.head for c in reversed(chunks) if c.kind == "np" and c.plural and
                                           c.head not in lx.TIME_NOUNS and c.head not in lx.BODY_PARTS and
                                           not lx.entity_noun(c.head) and not lx.group_of(c.head)), None)
        # someone this sentence brings in who is no character ("a small boat chugged upstream with a nurse on
        # board"): "She" next may be that one
        self.prev_newcomer = next((c.head for c in chunks if c.kind == "np" and lows[c.start] in ("a", "an") and
                                   lx.ENTITY_NOUNS.get(c.head, ("",))[0] == "person"), None)
        # the first singular thing after the last entity ("threw a flat stone low across the water"), for "it" next
        self.prev_singular_thing = next((c.head for c in chunks if c.kind == "np" and not c.plural and
                                         c.start >= last_ref and c.head not in lx.TIME_NOUNS and
                                         c.head not in lx.BODY_PARTS and not lx.entity_noun(c.head)), None)
        self.actors |= {x for e in events for x in e.who}
        self.person_pair = next((e.who for e in reversed(events) if len(e.who) >= 2 and all(
            x in self.reg.by_id and self.reg.by_id[x].kind == "person" and not self.reg.by_id[x].group
            for x in e.who)), self.person_pair)
        # The place after this sentence: where it ended up ("walk … to the cabin").
        if sentence_places:
            self.place, self.place_prep = sentence_places[-1][1], sentence_places[-1][2]
        self.sentence_no += 1
        self.story_no += 1
        self.brought_in.update(lows[k] for a in range(len(lows)) if lows[a] in ("a", "an")
                               for k in range(a + 1, min(len(lows), a + 4)))
        # What the user must check by hand: an action left out, or no action at all.
        if self.unsure:
            self.skip_reason = "could not tell who is " + " or ".join(dict.fromkeys(self.unsure))
        elif not events:
            self.skip_reason = "no visible action of a character or an acting object"
        else:
            self.skip_reason = None
        self.unsure = []
        return events, list(dict.fromkeys(mentioned)), time

    def _in_present(self, toks: list[str]) -> bool:
        """Is this sentence told in the present? Yes when a verb of it can only be present ("is", "stamps" after
        "she"), no when one can only be past ("was", "stamped"); else the story's tense so far (remembered)."""
        lows = [t.lower() for t in toks]
        tags = [_finite_readings(t) - {"VB", "VBN", "VBG"} for t in toks]
        # (a plural noun is no sign: "sacks", "stamps"; unless after "he", "she", "it": "She stamps")
        if any(w in ("is", "are", "am", "has", "does") or "VBZ" in t and t <= {"VBZ", "VBP"} and (
                not lx.is_plural_noun(w) or x > 0 and lows[x - 1] in ("he", "she", "it"))
               for x, (w, t) in enumerate(zip(lows, tags))):
            self.story_present = True
        elif any(w in ("was", "were", "did") or t == {"VBD"} for w, t in zip(lows, tags)):
            self.story_present = False
        return self.story_present


def _in_noun_phrase(lows: list[str], i: int) -> bool:
    """Is lows[i] a modifier inside a noun phrase: after its determiner and adjectives, with a comma or an adverb
    between ("a loud, slightly crooked march", "his neatly folded shirt")?"""
    k, modifiers = i - 1, 0
    while k >= 0 and (lows[k] == "," or lows[k].endswith("ly") or lows[k] in lx.ADVERBS - {"then", "and"} or
                      lx.is_adjective(lows[k]) and not lx.is_noun(lows[k])):
        modifiers += lows[k] != ","
        k -= 1
    return modifiers > 0 and k >= 0 and (lows[k] in ("a", "an", "the") or lows[k] in lx.POSSESSIVES)


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

