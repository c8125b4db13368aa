"""Verbs and their phrases: who a chunk names (``_ids``, groups), which token is a verb of the clause, and what a
verb's phrase says (object, prop, place) — the pieces a motion is made of."""

from __future__ import annotations

from . import lexicon as lx
from .chunks import Chunk
from .motions import NONE_SUBJECT, MotionEvent
from .text import (
    _article,
    _cap,
    _closed,
    _finite_readings,
    _word,
    progressive,
)


class PhraseReading:
    """Part of the sentence reader (planning/reading.py): verbs, their subjects and phrases, places. The state it
    reads is the reader's, set up in ``_Reader.__init__``."""

    def _ids(self, c: Chunk, subject: list[str] | None, is_subject: bool) -> list[str]:
        """The entities a chunk refers to; ``self.doubt`` says why that is a guess (None: it is sure)."""
        self.doubt = None
        if c.kind == "ref":
            return c.ids
        if c.kind == "np":
            return [NONE_SUBJECT]
        if c.start in self.cur_ahead:  # "On her first turn, Astrid knocked": Astrid's turn
            return self.cur_ahead[c.start]
        exclude = [] if is_subject else [x for x in (subject or []) if x != NONE_SUBJECT]
        if c.head == "they" and c.end - c.start > 1:  # "the two friends", "both sisters", "the children"
            ids = self._group(c)
            if self.doubt is not None and is_subject:
                self.cur_doubtful.add("they")  # ("… both brothers dive. They bob about": still not told)
            return ids
        ids = self.resolve(c.head, exclude=exclude, subject=is_subject, pos=c.start) or []
        if self.cur_lows[c.start] == "both" and self.doubt is None and c.start and \
                self.cur_lows[c.start - 1] in lx.SUBORDINATORS and any(
                x.kind == "pron" and x.head == "them" and x.start < c.start for x in self.cur_chunks):
            # "The teenagers booed them until both sat down": the teenagers, or the two they booed?
            self.doubt = "\u201cboth\u201d could be those called \u201cthem\u201d before it"
        if c.head == "they" and c.end < len(self.cur_lows) and self.cur_lows[c.end] == "all" and len(ids) == 2 and \
                self.doubt is None:
            # "they all dragged the boat": more than the two just named; all the story's people when it has no group
            seen = [self.reg.by_id[i] for i in self._seen(c.start)]
            people = [e.id for e in seen if e.kind == "person" and not e.group]
            if not any(e.group for e in seen) and 3 <= len(people) <= 4:
                return people
            self.doubt = "\u201cthey all\u201d may be more than " + " and ".join(
                self._call(self.reg.by_id[i]) for i in ids)
        return ids

    def _group(self, c: Chunk) -> list[str]:
        """"the two", "both sisters", "the three of them", "the children": the plural subject in view; or as many
        people as the phrase counts, in view or in the whole story; or, uncounted, all the story's people when all
        are in view. Anything else is a guess."""
        words = self.cur_lows[c.start:c.end]
        count = next((lx.NUMBERS_VALUE[w] for w in words if w in lx.NUMBERS_VALUE), None)
        view = set(self._before(c.start)) | set(self.cur_mentioned) | self.prev_mentioned
        seen = self._seen(c.start)
        people = [i for i in seen if self.reg.by_id[i].kind == "person" and not self.reg.by_id[i].group]
        theirs = [i for i in seen if self.reg.by_id[i].group and
                  self.reg.by_id[i].nouns & lx.KIN_CALLED.get(words[-1], set())]
        if words[:1] == ["the"] and len(words) == 2 and len(theirs) == 1:
            return theirs  # "walks her three nephews to the shop … The boys carry the bowl": the nephews
        if set(words) & {"children", "kids", "boys", "girls"}:
            # "the children" are no teacher or janitor: people with a title or a grown-up's noun are left out (a
            # partner or a teammate may be a child)
            people = [i for i in people if not (self.reg.by_id[i].nouns - lx.CHILD_NOUNS - lx.PEER_NOUNS) and not any(
                t in self.reg.by_id[i].name.lower().split() for t in ("mr", "mrs", "ms", "dr", "miss"))]
        sex = "f" if set(words) & {"girls", "sisters", "women", "ladies"} else \
            "m" if set(words) & {"boys", "brothers", "men"} else None
        if sex is not None:  # "both girls": no one the story calls "he"
            people = [i for i in people if self.reg.by_id[i].gender in (None, sex)]
        pool = people if len(people) >= 2 or set(words) & {"children", "kids", "boys", "girls"} else [
            i for i in seen if self.reg.by_id[i].kind != "thing" and not self.reg.by_id[i].group]
        if set(words) & {"animals", "pets", "creatures", "beasts"}:  # "the two animals": no people
            pool = [i for i in seen if self.reg.by_id[i].kind == "animal" and not self.reg.by_id[i].group]
        noun = lx.group_of(words[-1]) if words[-1] not in ("them", "us", "both", "two", "three") else None
        if noun is not None and lx.entity_noun(noun[1]) and noun[0] != "person":  # ("the children": the people)
            # "both alpacas": the two that are alpacas, not the last pair of people
            kind = lx.entity_noun(noun[1])
            matching = [i for i in seen if not self.reg.by_id[i].group and kind in self.reg.by_id[i].nouns]
            if not matching:  # "both dogs" when no dog was named: not the last two people
                self.doubt = f"\u201c{' '.join(words)}\u201d names no one found"
            pool = matching or pool
        called_so = [i for i in seen if not self.reg.by_id[i].group and noun[1] in self.reg.by_id[i].nouns] \
            if noun is not None and noun[0] == "person" else []
        if count is not None and len(called_so) == count and \
                not any(self.reg.by_id[i].kind == "person" for i in called_so):
            return called_so  # "Two baby tamarins, Sol and Luz … both babies race": the two animals called so
        if noun is not None and lx.role_noun(noun[1]) and count is not None and not any(
                noun[1] in self.reg.by_id[i].nouns for i in pool):
            # "the two scientists" when no one was called a scientist: the story's two, or two others
            self.doubt = f"\u201c{' '.join(words)}\u201d could be " + " and ".join(
                self._call(self.reg.by_id[i]) for i in pool[:count]) + " or others"
        counted = [i for i in seen if self.reg.by_id[i].group and count is not None and count > 2 and
                   self.reg.by_id[i].count == count]
        if len(counted) == 1:
            return counted  # "Twelve small dancers … all twelve girls": the group of that many
        if self.last_plural and all(i in pool and i in view for i in self.last_plural) and (
                count is None or len(self.last_plural) == count) and (
                sex is None or all(self.reg.by_id[i].gender == sex for i in self.last_plural)):
            return list(self.last_plural)  # ("the two men": only when both are known to be men)
        # "the fishermen and the farmers … Both teams grabbed the rope": the story's two groups that act as sides
        # (a crowd or an audience watches; it is no side)
        sides = [i for i in seen if self.reg.by_id[i].group and not self.reg.by_id[i].nouns & lx.SPECTATORS]
        # (not "both brothers": people, not sides)
        if words[:1] == ["both"] and len(words) > 1 and (noun is None and words[-1] not in lx.PERSON_GROUPS or
                                                         noun is not None and noun[1] in lx.COLLECTIVE_NOUNS) and sides:
            named_sides = [i for i in sides if self.reg.by_id[i].named]
            if len(sides) == 2:
                return sides
            if len(named_sides) == 2 and words[-1] in ("teams", "sides", "crews", "squads", "clubs"):
                return named_sides  # "the Marlins and the Groupers … both teams": the two the story names
            self.doubt = f"\u201c{' '.join(words)}\u201d could be several groups"
            return sides[:2]
        in_view = [i for i in pool if i in view]
        # with a group in the story ("the sisters", then "Adaeze"), its members are counted twice: no count is sure
        # (a crowd that watches, or a group named by another noun — "both girls" beside "the boys" — is not them)
        # (a group of another kind is no one's members: "the oysters" beside two farmers)
        grouped = any(self.reg.by_id[i].group and self.reg.by_id[i].kind in {self.reg.by_id[x].kind for x in pool}
                      and not self.reg.by_id[i].nouns & lx.SPECTATORS and not (
            sex is not None and words[-1] not in self.reg.by_id[i].nouns and
            not self.reg.by_id[i].nouns & lx.RELATIONAL_GROUPS) for i in seen)
        if count is not None and not grouped and len(pool) == count:
            return pool  # the story's only ones: "both girls" when two people are not known to be "he"
        if count is not None and not grouped and len(in_view) == count and (
                sex is None or all(self.reg.by_id[i].gender == sex for i in in_view)):
            return in_view  # (of more in the story, "the two men" are the two in view known to be men)
        if count is None and not grouped and len(pool) >= 2 and (len(in_view) == len(pool) or len(pool) == 2):
            return pool  # all the story's people: all in view, or the story's only two
        if count is not None and not grouped and self.last_plural and len(self.last_plural) == count and all(
                i in pool for i in self.last_plural) and (
                sex is None or all(self.reg.by_id[i].gender == sex for i in self.last_plural)):
            return list(self.last_plural)  # "Then all three wandered": the three who last acted together
        self.doubt = f"\u201c{' '.join(words)}\u201d could be several of them"
        if self.last_plural and all(i in pool for i in self.last_plural):
            return list(self.last_plural)
        return pool[:count or 2]

    def _shows_nothing(self, toks: list[str], at_i: int, base: str, j: int, at: dict[int, Chunk]) -> bool:
        """Is the verb phrase toks[at_i:j] one a camera cannot see: "took place", "left the dog alone", "runs a
        noodle stall", "who ran the left-luggage counter" (running something is managing it, unless it is a race
        or a way: "ran the last lap")?"""
        lows = [t.lower() for t in toks]
        obj = at.get(at_i + 1)
        if base in ("call", "name", "nickname") and at_i + 1 < len(toks) and _cap(toks[at_i + 1]) and any(
                lows[x] in ("that", "whom", "which") for x in range(max(0, at_i - 4), at_i)):
            return True  # "an old grey male that the staff call Boomer": a name, nothing done
        if base == "go" and lows[at_i + 1:at_i + 2] == ["on"] and "what" in lows[max(0, at_i - 3):at_i]:
            return True  # "to see what was going on": something happening, no one going
        employer = lows[at_i + 1:at_i + 2] == ["for"] and at_i + 2 < len(toks) and (
            lows[at_i + 2] in lx.POSSESSIVES or lows[at_i + 2] == "the" or _cap(toks[at_i + 2]))
        if base == "work" and (employer or obj is not None and obj.head in ("shift", "shifts", "night", "nights",
                                                                            "late")):
            return True  # "works the evening shift", "worked for his uncle's fruit shop": a job, no action (but
            # "worked for hours")
        if base == "end" and not (at_i + 1 < len(toks) and (lows[at_i + 1] in lx.DETERMINERS or lows[
                at_i + 1] in lx.POSSESSIVES or lows[at_i + 1] in lx.OBJECT_PRONOUNS)):
            return True  # "When the shift ends": a time, no one's action
        k = at_i + 1 + (at_i + 1 < len(toks) and lows[at_i + 1] in ("very", "so", "really", "quite", "rather"))
        if k < len(toks) and (base in ("look", "seem", "appear", "feel", "sound") and lx.is_adjective(lows[k]) and
                               not lx.is_noun(lows[k]) or base in ("go", "grow", "become", "fall") and lows[k] in
                               ("quiet", "silent", "still", "pale", "red", "white", "limp", "stiff", "numb",
                                "dark", "dim", "black", "blank", "dead", "cold", "grey", "gray")) and (
                k + 1 >= len(toks) or not _word(toks[k + 1]) or lows[k + 1] in lx.CONJUNCTIONS):
            return True  # "she looks very nervous", "he seemed tired", "the crowd goes quiet", "the galley goes
            # dark": how one is
        if base == "turn" and at_i + 1 < len(toks) and (lows[at_i + 1] in lx.NUMBERS | {"sixty", "seventy", "eighty",
                                                                                     "ninety"} or
                                                        toks[at_i + 1][:1].isdigit()):
            return True  # "who turned ninety last week": an age, no action
        a = at_i + 1 + (at_i + 2 < len(toks) and lows[at_i + 1].endswith("ly"))  # ("turned completely yellow")
        if base == "turn" and a < len(toks) and lx.is_adjective(lows[a]) and \
                lows[a] not in lx.PARTICLES | lx.PREPOSITIONS | {"left", "right", "back", "round"}:
            return True  # "till they turned soft and golden": what the onions became, no one's action
        if at_i >= 1 and lows[at_i - 1] in ("has", "have", "had") and any(
                lows[x] == "for" and (lows[x + 1] in lx.NUMBER_WORDS | {"many", "several"} or toks[x + 1][:1].isdigit())
                and lows[x + 2] in ("years", "decades", "months")
                for x in range(at_i + 1, min(len(toks) - 2, at_i + 8)) if "," not in toks[at_i + 1:x]):
            return True  # "who has worked at the mill for thirty years": a life, no action in the scene
        if base == "go" and at_i >= 2 and lows[at_i - 2] == "as" and lows[at_i - 1] in lx.SUBJECT_PRONOUNS and (
                at_i + 1 >= len(toks) or not _word(toks[at_i + 1])):
            return True  # "bending and stretching as he goes": the way it moves, no going of its own
        if base in ("carry", "keep", "go") and lows[at_i + 1:at_i + 2] == ["on"] and at_i + 2 < len(toks) and \
                "VBG" in _finite_readings(toks[at_i + 2]):
            return True  # "carried on picking": the picking is the action
        return (base, lows[at_i + 1] if at_i + 1 < len(toks) else "") in lx.NOT_SHOWN or any(
            (base, w) in lx.NOT_SHOWN_AFTER_OBJECT for w in lows[at_i + 2:min(j + 1, at_i + 5)]) or \
            base in ("own", "manage") and obj is not None and obj.head in lx.BUSINESSES or \
            base == "hold" and obj is not None and obj.head in lx.HELD_EVENTS or \
            base in ("share", "buy", "rent", "sell") and obj is not None and bool(
                set(lows[at_i + 1:at_i + 5]) & (lx.HOMES | (lx.BUILDINGS if base != "share" else lx.PLACES))) or \
            base == "run" and obj is not None and obj.kind == "np" and obj.head not in lx.RUN_WAYS | lx.BODY_PARTS
        # (but "ran her hand over the barrel": a hand, a comb or a finger is moved)

    def _subject(self, ids: list[str], plural: bool, c: Chunk) -> None:
        real = [i for i in ids if i != NONE_SUBJECT]
        if not real:
            self.last_thing = c.kind == "np" and not c.plural
            return
        self.last_thing = False
        self.last_subject = real
        if not (self.sentence_subject and c.start >= 1 and self.cur_lows[c.start - 1] == "where"):
            self.main_subject = real  # (not "… stopped beside row 14, where a stranger was sitting": Priya)
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

        if prev in lx.DETERMINERS or prev in lx.POSSESSIVES or prev in ("'s", "whose"):
            return None, None  # ("a jackrabbit whose long legs were his pride": an adjective)
        question = next((x for x in range(i - 1, max(0, i - 6), -1) if lows[x] in (
            "when", "whether", "if", "what", "where", "how", "why", "who")), None)
        if question is not None and lx.verb_lemma(lows[question - 1]) in ("ask", "wonder") and not any(
                toks[x] in ",;" for x in range(question, i)):
            self.handled.add(i)
            return None, None  # "asks when they can eat": a question, nothing done
        if i >= 3 and toks[i - 2] == "," and lx.is_adjective(lows[i - 1]) and lx.is_adjective(lows[i - 3]) and \
                lx.is_noun(lows[i]) and lows[i - 4:i - 3] and lows[i - 4] in lx.PREPOSITIONS | lx.DETERMINERS:
            self.handled.add(i)
            return None, None  # "wiped it dry with long, even strokes": a noun after its adjectives
        if i >= 3 and toks[i - 1] == "," and lx.is_adjective(lows[i - 2]) and lx.is_adjective(lows[i]) and \
                lows[i - 3] in lx.POSSESSIVES | lx.DETERMINERS | lx.PREPOSITIONS and i + 1 < len(toks) and \
                lx.is_noun(lows[i + 1]):
            self.handled.add(i)
            return None, None  # "close their big, round eyes", "in broad, wet strokes": the second of two
            # adjectives, no verb
        if i >= 3 and toks[i - 1] == "," and "VBG" in tags and "VBG" in _finite_readings(toks[i - 2]) and \
                lows[i - 3] in lx.POSSESSIVES | lx.DETERMINERS and i + 1 < len(toks) and lx.is_noun(lows[i + 1]) and \
                not _closed(lows[i + 1]) and not _finite_readings(toks[i + 1]) & {"VBD", "VBZ"}:
            self.handled.add(i)
            return None, None  # "the steaming, hissing engine": the second of two participles before a noun
        if any(tuple(lows[x:x + 3]) in lx.GAMES for x in range(max(0, i - 2), i + 1)):
            return None, None  # "played hide and seek": a game's name
        if p in ("could", "can", "would", "did") and any(lows[x] == "than" or lows[x] == "as" and "as" in lows[
                max(0, x - 5):x] for x in range(max(0, k - 5), k)):  # (or "as many nuts as he could hold")
            self.handled.add(i)
            return None, None  # "faster than the bird could turn": a comparison, nothing the bird does
        if "VBG" in tags:
            # ", jumping and cheering", "starts dancing", "and cheering", a participle after a verb's phrase
            if lx.verb_lemma(p) in ("stop", "quit", "finish"):
                return None, None  # "stops crying": it ends
            if p in (",", "and", "while", "before", "after") and subject is not None or (
                    last_verb_end >= 0 and lx.verb_lemma(p) in lx.COMPLEMENT_TAKERS and k == last_verb_end - 1):
                return lem("VBG"), "VBG"
            if p in ("is", "are", "was", "were", "am", "keeps", "kept", "starts", "started", "begins", "began",
                     "goes", "went", "continues", "continued", "came", "comes", "come") or \
                    p == "busy" and pp in lx.BE_FORMS or \
                    p == "on" and lx.verb_lemma(pp) in ("carry", "keep", "go") or \
                    p == "out" and lx.verb_lemma(pp) == "burst":  # ("stops crying": it ends, nothing is shown)
                return lem("VBG"), "VBG"
            clause_ends = i + 1 == len(toks) or lows[i + 1] in (".", ",", ";", "and", "!")
            if in_vp and k >= 2 and lx.is_noun(p) and clause_ends and k in self.np_ends_after_preposition:
                return lem("VBG"), "VBG"  # "lay on the grass laughing", "sat in the sun reading"
            if in_vp and k >= 2 and k in self.np_ends_after_preposition and not lx.entity_noun(p) and \
                    not lx.is_plural_noun(p) and i + 1 < len(toks) and self.last_verb_at >= 0 and \
                    lx.verb_lemma(lows[self.last_verb_at]) not in lx.LOOKING_VERBS and (
                        lows[i + 1] in ("a", "an", "the") or lows[i + 1] in lx.POSSESSIVES):
                return lem("VBG"), "VBG"  # "climbed over the fence carrying a pail": a thing carries nothing
            if in_vp and p in ("off", "over", "up", "about", "away", "around", "down", "back") and \
                    k >= 1 and k - 1 == self.last_verb_at and lx.verb_lemma(pp) not in ("give", "pick", "take", "put",
                                                                                           "end", "keep"):
                # (not "gave up smoking", "took up knitting", "put off going": a habit, ended or begun)
                return lem("VBG"), "VBG"  # "doubled over laughing", "ran off crying": how the subject did it
            return None, None
        # ("stopped to catch their breath", "paused to wave": what for, not yet done)
        if p == "to" and ("VB" in tags) and k >= 1 and (lx.verb_lemma(pp) in lx.COMPLEMENT_TAKERS - {"stop", "pause"} or
                                                          pp in lx.PARTICLES and k >= 2 and
                                                          lx.verb_lemma(lows[k - 2]) in lx.COMPLEMENT_TAKERS):
            return lem("VB"), "VB"
        if p in ("can", "could", "will", "would", "must", "may", "might", "should", "did", "does", "do") and "VB" in tags:
            so = next((x for x in range(k - 1, max(-1, k - 6), -1) if lows[x] == "so"), None)
            if p in ("can", "could", "would", "might") and so is not None and not any(
                    toks[x] in ",;" or lows[x] in lx.CONJUNCTIONS for x in range(so + 1, k)):
                self.handled.add(i)
                return None, None  # "switched off her torch so the bat could sleep": what for, not yet done
            if p in ("would", "could", "might") and k >= 1 and lows[k - 1] in ("who", "that"):
                self.handled.add(i)
                return None, None  # "showing it to anyone who would look": who might, no one in the scene
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
        if p == "," and tags <= {"VBD", "VBN"} and i + 3 < len(toks) and lows[i + 1] == "and" and \
                lx.is_adjective(lows[i + 2]) and not _finite_readings(toks[i + 2]) & {"VBD", "VBZ"} and \
                toks[i + 3] in (",", "."):
            self.handled.add(i)
            return None, None  # "crept out, ruffled and dusty, and thanked him": how it looked, two adjectives
        if p == "," and tags <= {"VBD", "VBN"} and lows[i + 1:i + 2] == ["and"] and i + 2 < len(toks) and \
                "VBG" in _finite_readings(toks[i + 2]) and i >= 2 and (
                    lows[i - 2] in lx.PARTICLES or lx.is_noun(lows[i - 2]) and not _finite_readings(toks[i - 2])):
            self.handled.add(i)
            return None, None  # "burst back through the door, soaked and laughing": how they came (after the
            # particle or the noun that ends the clause)
        if p == "," and lows[i] in lx.BODY_PARTS and i + 1 < len(toks) and any(
                t in ("VBN", "VBD") for _, t in lx.verb_readings(lows[i + 1])):
            self.handled.update((i, i + 1))
            return None, None  # "peered at the rung, arms folded": her arms, no verb
        naming = lows[i] in lx.NAMING and i + 1 < len(toks) and (_cap(toks[i + 1]) or lows[i + 1] == "the"
                                                                         and i + 2 < len(toks) and _cap(toks[i + 2]))
        if lows[i] in lx.ADJECTIVE_PARTICIPLES and (naming or lows[i] not in lx.NAMING) or \
                lx.is_adjective(lows[i]) and (
                i + 1 >= len(toks) or lows[i + 1] in ("and", ",", ".", ";")):
            return None, None  # "drove home, sandy and tired", "reached the hut, muddy and cold"
        if p in ("and", ",", "or") and lows[i] in lx.COLOURS and pp in lx.COLOURS:
            return None, None  # "waved green and blue scarves": a list of colours
        # A past form after "and" between two nouns, when the verb read last cannot be its partner (a participle,
        # or a present): "carrying oranges and steamed buns", "stir through soy sauce and crushed garlic"
        last = lows[self.last_verb_at] if self.last_verb_at >= 0 else ""
        last_tags = _finite_readings(toks[self.last_verb_at]) if last else frozenset()
        present = bool(last_tags & {"VBZ", "VBP"}) and "VBD" not in last_tags and (
            not lx.is_plural_noun(last) or not any(_finite_readings(toks[x]) == {"VBD"} for x in range(
                self.last_verb_at)))  # ("stirs in soy sauce and crushed garlic", but "sorted out the edge pieces
        # and laid them": there "pieces" was a noun)
        at = self.last_verb_at
        # (or the object began the same way: "scattered fried onions and grated cheese")
        alike = 0 <= at < k - 2 and lows[at + 1].endswith("ed") and lows[i + 1:i + 2] != ["them"] and \
            _finite_readings(toks[at + 1]) and _finite_readings(toks[at + 1]) <= {"VBD", "VBN"} and \
            lx.is_noun(lows[at + 2])
        # ("minced lamb": a noun for an animal after a participle, and no one the story found, is food)
        prepared = k >= 2 and lows[k - 2].endswith("ed") and _finite_readings(toks[k - 2]) <= {"VBD", "VBN"} and \
            bool(_finite_readings(toks[k - 2])) and not any(pp in x.nouns for x in self.reg.entities)
        if p == "and" and tags <= {"VBD", "VBN"} and (last.endswith("ing") or present or alike) and \
                i + 1 < len(toks) and (
                lx.is_plural_noun(lows[i + 1]) if last.endswith("ing") else
                (lx.is_noun(lows[i + 1]) or not lx.is_known_word(lows[i + 1]) and lows[i + 1].isalpha()) and
                lows[i + 1] not in lx.DETERMINERS | lx.POSSESSIVES) and \
                lx.is_noun(pp) and (not lx.entity_noun(pp) or prepared):  # (a noun the dictionary lacks too:
                # "chopped kimchi"; and "kneads rice, minced lamb and dried mint": meat, no one)
            self.handled.add(i)
            return None, None  # the next noun's adjective, no second verb
        if p == "," and tags <= {"VBD", "VBN"} and i + 3 < len(toks) and lx.is_plural_noun(lows[i + 1]) and \
                lows[i + 2] == "and" and _word(toks[i + 3]) and not _closed(lows[i + 3]) and \
                not _finite_readings(toks[i + 3]) & {"VBD"} and \
                lx.is_noun(pp) and not lx.entity_noun(pp) and pp not in lx.BODY_PARTS:
            self.handled.add(i)
            return None, None  # "weighed out bark, dried berries and chrysanthemum flowers": a list of things
        if p == "and" and lx.is_plural_noun(lows[i]) and lows[i + 1:i + 2] == ["of"] and \
                lx.verb_lemma(lows[i]) not in ("think", "dream", "smell", "speak", "consist", "hear", "tire"):
            return None, None  # "and clouds of steam hiss up": a noun, the next clause's subject
        if p == "and" and lx.is_adjective(lows[i]) and i + 1 < len(toks) and lx.is_plural_noun(lows[i + 1]) and \
                lx.is_noun(pp) and not _finite_readings(toks[k - 1]) & {"VBZ", "VBD"}:
            self.handled.add(i)
            return None, None  # "giggled about his muddy snout and crooked tusks": an adjective of the next noun
        if p == "," and tags <= {"VBD", "VBN"} and last_verb_end >= 0 and self.last_verb_at >= 0 and \
                _finite_readings(toks[self.last_verb_at]) & {"VBZ", "VBP"} and \
                not _finite_readings(toks[self.last_verb_at]) & {"VBD"}:
            return None, None  # "carries him home, sandy and sleepy, tucked under his arm": a participle, no act
        if in_vp and p in ("and", ",", "then", "or", "but") or (in_vp and p == "then" and pp == "and"):
            # coordinated verbs: the same form as a verb of the clause ("stretches … and bounces")
            # (a word-list noun is no verb there, unless an object pronoun follows: "and marks it")
            object_after = i + 1 < len(toks) and lows[i + 1] in lx.OBJECT_PRONOUNS - {"you"}
            if "VBD" in last_tags and not last_tags & {"VBZ", "VBP"} and tags & {"VBZ", "VBD"} == {"VBZ"} and \
                    lx.is_plural_noun(lows[i]) and not object_after and not set(lows[:i]) & (
                        lx.SUBORDINATORS | lx.RELATIVES | {"that"}):  # ("… that the wholesaler dropped off and
                # trims their stems": the past was a relative clause's, the present the main verb's)
                self.handled.add(i)
                return None, None  # "carried out a teapot and mugs": after a past, a plural "-s" word is no verb
            if plural_subject and tags & {"VBZ", "VBD"} == {"VBZ"} and not base and not (
                    len(real) == 1 and self.reg.by_id[real[0]].nouns & lx.COLLECTIVE_NOUNS.keys()):
                # "They stacked the bowls and jars": no "-s" verb has a plural subject (but "A group of visitors
                # presses … and takes photos": the group does)
                return None, None
            if finite and not (lows[i] in lx.ENTITY_NOUNS and not object_after or self._looks_like_noun_list(toks, k)):
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
                lows[k + 2] not in lx.OBJECT_PRONOUNS | lx.PARTICLES | lx.PREPOSITIONS | lx.SUBORDINATORS and \
                "VBZ" not in _finite_readings(toks[k + 1]) and not _finite_readings(toks[k + 2]) \
                & {"VBZ", "VBD"} and not any(lows[x] in lx.CONJUNCTIONS or toks[x] in ",;" for x in range(with_at, k)):
            return True  # "eat the rest with honey and sliced bananas": "sliced" describes the bananas
        if k - 1 == self.last_verb_at:
            return False  # "laughs and waves", "cheers and claps": the word before "and" is the clause's verb
        before = lows[k - 1] if k >= 1 else ""
        word = lows[k + 1] if k + 1 < len(toks) else ""
        after = lows[k + 2] if k + 2 < len(toks) else ""
        if toks[k] == "," and k >= 2 and toks[k - 2] == "," and before and lx.is_noun(before) and \
                not _finite_readings(toks[k - 1]) & {"VBZ", "VBD"} and lx.is_plural_noun(word):
            return True  # "mixes flour, yeast, eggs and honey": the third of a list of things
        if toks[k] == "," and k >= 2 and lows[k - 2] in lx.DETERMINERS | lx.POSSESSIVES and lx.is_plural_noun(before) \
                and not _finite_readings(toks[k - 1]) & {"VBZ", "VBD"} and lx.is_plural_noun(word) and \
                lows[k + 2:k + 3] in (["and"], [","]):
            return True  # "chopped the onions, peppers and celery": a list that goes on
        if not before or _closed(before) or before in lx.BODY_PARTS or not lx.is_plural_noun(before):
            return False
        if not lx.is_noun(word):
            return False
        if k >= 3 and toks[k - 2] == "," and lx.is_noun(lows[k - 3]) and not _finite_readings(toks[k - 3]) and \
                lx.is_plural_noun(word):
            return True  # "piles the vermicelli, carrots and prawns along one edge": a list of things
        return not after or not _word(after) or after in lx.CONJUNCTIONS or (
            after in lx.PREPOSITIONS and after not in lx.PARTICLES)

    def _phrase(self, toks: list[str], i: int, base: str, who: list[str], at: dict[int, Chunk], covered: set[int],
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
        if c is not None and c.kind == "pron" and c.head in ("himself", "herself"):
            self.learn_gender(who, "his" if c.head == "himself" else "her")  # "a tortoise who was sunning herself"
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
        tool = at.get(j + 1) if j + 1 < len(toks) and lows[j] == "with" and lows[j + 1] in ("his", "her") else None
        if tool is not None and tool.kind == "np" and not lx.entity_noun(tool.head) and tool.head not in lx.KINSHIP:
            self.learn_gender(who, lows[j + 1])  # "lifts the ball with her front wheel": what it is done with (not
            # "lives with her mother")
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
