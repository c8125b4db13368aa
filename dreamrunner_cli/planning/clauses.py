"""Clauses the reader meets inside a sentence: passives (“It was caught by Ben”), relatives (“the dog that Mia
was walking”), by-agents, and where a clause starts — each gives its verbs to the right subject."""

from __future__ import annotations

from . import lexicon as lx, motions
from .chunks import Chunk
from .motions import NONE_SUBJECT, MotionEvent
from .text import (
    _cap,
    _finite_readings,
    _word,
    pp_end,
    progressive,
)


class ClauseReading:
    """Part of the sentence reader (planning/reading.py): passive and relative clauses, clause starts. The state
    it reads is the reader's, set up in ``_Reader.__init__``."""

    def _clause_verb_slot(self, toks: list[str], x: int, chunks: list[Chunk]) -> bool:
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
        while b >= 0 and (lows[b] in lx.ADVERBS or lows[b] in ("once", "twice") or
                          lows[b] == "at" and lows[b + 1] == "once") and b not in self.handled:
            b -= 1  # "spun around once and bowed", "swoops down at once and nibbles"
        if lows[k] == "and" and b >= 0 and toks[b] == ",":
            b -= 1  # ", shaking the water from his fur, and limped home"
        if lows[k] == "and" and not lx.is_plural_noun(lows[x]) and not (  # ("with honey and sliced bananas")
                x + 1 < len(toks) and lx.is_noun(lows[x + 1]) and not _finite_readings(toks[x + 1])) and any(
                h in self.handled and not any(toks[y] in ",;" for y in range(h, k)) for h in range(max(0, k - 5), k)):
            return True  # "shrieked with laughter and chased after him": a verb a few words after the clause's verb
        return lows[k] in ("and", "then", "but", ",") and b >= 0 and (b in self.handled or any(
            c.end == b + 1 for c in chunks))

    def _agent_event(self, toks: list[str], v: int, agent: list[str], patient: list[str], c: Chunk,
                     at: dict[int, Chunk], places: list, events: list[MotionEvent], mentioned: list[str],
                     doubt: str | None = None) -> int:
        """The verb at toks[v] done by ``agent`` to ``patient`` (a passive, or a relative clause): record it."""
        readings = lx.verb_readings(toks[v])
        base = next((lem for lem, tag in readings if tag in ("VBN", "VBG", "VBD", "VBZ")), readings[0][0])
        # "who had come running": the coming and the running are both seen
        then = v + 1 if base in ("come", "go") and v + 1 < len(toks) and "VBG" in _finite_readings(toks[v + 1]) \
            and lx.verb_lemma(toks[v + 1].lower()) not in lx.NON_VISUAL else None
        event, j = self._phrase(toks, v, base, agent, at, set(), places)
        self.handled.update(range(v, j))
        if self._shows_nothing(toks, v, base, j, at):
            return j  # ", who ran the left-luggage counter,": nothing a camera sees
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
                if motions.GATE:
                    return j
            events.append(event)
        if then is not None:
            j = max(j, self._agent_event(toks, then, agent, patient, c, at, places, events, mentioned, doubt))
        return j

    def _passive(self, toks: list[str], k: int, subject: list[str], c: Chunk, at: dict[int, Chunk], places: list,
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
                   lows[x] in lx.CONJUNCTIONS and lows[x - 1:x + 1] != ["at", "once"]), None)  # ("up at once by")
        also = None  # "was hoisted high and spun halfway round by Osman": one agent for both participles
        if by is not None and lows[by] == "and" and by + 1 < len(toks) and any(
                tag == "VBN" for _, tag in lx.verb_readings(lows[by + 1])) and \
                not _finite_readings(toks[by + 1]) & {"VBZ"} and by + 1 not in at:
            by2 = next((x for x in range(by + 2, min(len(toks), by + 10)) if lows[x] == "by" or toks[x] in ",;." or
                        lows[x] in lx.CONJUNCTIONS), None)
            if by2 is not None and lows[by2] == "by":
                also, by = by + 1, by2
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
                agent_chunk = Chunk("ref", agent_chunk.start, named[1] - 1, named[0])
            else:  # "by a volunteer in a yellow vest, a teenager named Orrin": Orrin
                p = pp_end(toks, agent_chunk.end)
                described = at.get(p + 1) if p < len(toks) and toks[p] == "," else None
                named = self._named_apposition(toks, p) if p > agent_chunk.end else None
                if described is not None and described.kind == "ref" and lows[p + 1] in ("a", "an"):
                    agent_chunk = described
                elif named is not None:  # "by a neighbour from next door, Mr. Okafor,": Mr. Okafor
                    agent_chunk = Chunk("ref", agent_chunk.start, named[1] - 1, named[0])
        comma = next((x for x in range(b + 2, min(len(toks), b + 7)) if toks[x] == "," or
                      _finite_readings(toks[x]) & {"VBD", "VBZ"}), None) if b < len(toks) and lows[b] == "by" else None
        first = at.get(comma + 1) if comma is not None and toks[comma] == "," and any(
            at.get(y) is not None and (at[y].kind != "ref" or all(
                x in self.reg.by_id and self.reg.by_id[x].group for x in at[y].ids)) for y in (b + 1, b + 2)) else None
        second = at.get(first.end + 1) if first is not None and first.kind == "ref" and first.end + 1 < len(toks) \
            and lows[first.end] == "and" else None
        if second is not None and second.kind == "ref" and (second.end >= len(toks) or not _word(toks[second.end])):
            # "by the two tallest skiers, Jaroslav and Coralie,", "by her two grandsons, Callum and Fraser": the two
            # named
            agent_chunk = Chunk("ref", b + 1, second.end, list(dict.fromkeys(first.ids + second.ids)))
        base = lx.verb_lemma(lows[v]) or lows[v]
        self.handled.add(v)
        if agent_chunk is None or agent_chunk.kind == "np":
            if base not in lx.NON_VISUAL and (agent_chunk is not None or subject and NONE_SUBJECT not in subject
                                              or c.kind == "np"):
                self.unsure.append(progressive(base))  # "It was caught." — by whom?
            return (agent_chunk.end if agent_chunk else b)
        agent = self._ids(agent_chunk, subject, True)
        doubt = self.doubt
        if doubt is None and agent_chunk.end - agent_chunk.start == 2 and lows[agent_chunk.start] in ("his", "her") \
                and lows[agent_chunk.start + 1] in lx.FAMILY_NOUNS and set(agent) <= set(subject):
            others = [e.id for e in self.reg.entities if lows[agent_chunk.start + 1] in e.nouns and
                      e.id not in subject and not e.group]
            if len(others) == 1:  # "Maud is photographed by her sister" (of two sisters): the other, not herself
                agent = others
        if doubt is None and set(agent) & set(subject) - {NONE_SUBJECT}:
            # "The climber is helped into the cabin by both of them": whoever "them" is, not the one helped
            doubt = f"\u201c{' '.join(toks[agent_chunk.start:agent_chunk.end])}\u201d may include the one acted on"
        end = agent_chunk.end
        m = end + 1
        while m < len(toks) and m not in at and _cap(toks[m]) and lows[m] in lx.TITLES:
            m += 1  # "by Mr. Feeney and Mrs. Adeyemi": the name after the title
        more = at.get(m) if end < len(toks) and lows[end] == "and" else None
        if more is not None and more.kind == "ref" and not (
                more.end < len(toks) and _finite_readings(toks[more.end]) & {"VBZ", "VBD"}):
            # "by her little brother Kai and their dog Roo" (but "by Rasmus, and Ida catches it": a clause of its own)
            agent = list(dict.fromkeys(agent + more.ids))
            end = more.end
        mentioned += [x for x in subject if x != NONE_SUBJECT]
        if self._negated(lows, v):  # "was almost rammed by them": it did not happen
            self.handled.update(range(v, end))
            return end
        self._agent_event(toks, v, agent, subject, c, at, places, events, mentioned, doubt)
        if also is not None:
            self.handled.add(also)
            self._agent_event(toks, also, agent, subject, c, at, places, events, mentioned, doubt)
        if end + 1 < len(toks) and lows[end] == "and" and any(t in ("VBN", "VBD") for _, t in
                                                                 lx.verb_readings(lows[end + 1])) and \
                not _finite_readings(toks[end + 1]) & {"VBZ"} and end + 1 not in at and not any(
                    lows[x] == "by" for x in range(end + 2, next((y for y in range(end + 2, len(toks))
                                                                 if toks[y] in ",;."), len(toks)))):
            # "was grabbed by the drones and towed back": the same agent does the second one too (not "cut out by
            # Mr. Adeyemi and heaved into position by four boys": another agent)
            self.handled.add(end + 1)
            return self._agent_event(toks, end + 1, agent, subject, c, at, places, events, mentioned, doubt)
        return end

    def _relative(self, toks: list[str], k: int, antecedent: list[str], c: Chunk, at: dict[int, Chunk],
                  places: list, events: list[MotionEvent], mentioned: list[str], doubt: str | None = None) -> int:
        """A relative clause right after a subject: ", which was flown by Ana," / "that Mia was walking" / ", who
        waves,". Its action is recorded; returns the index where the subject's own verb may start (k if none)."""
        lows = [t.lower() for t in toks]
        comma = k < len(toks) and toks[k] == ","
        r = k + comma
        comma = comma or k > 0 and toks[k - 1] == ","  # ("a warthog named Bogo, who dug": the name took the comma)
        if r >= len(toks) or lows[r] not in ("which", "who", "that", "whom", "whose"):
            return k
        close = next((x for x in range(r + 1, len(toks)) if toks[x] in ",;."), len(toks))
        if lows[r] == "whose":
            # "A boy whose puppy was shivering wrapped it": the puppy, if it is someone, shivers; then the
            # antecedent's own verb (", whose name was Theo,", ", whose map was gone,": nothing is done)
            inner = at.get(r)
            v = inner.end if inner is not None and inner.kind == "ref" else close
            while v < close and (lows[v] in lx.BE_FORMS or lows[v] in ("has", "have", "had")):
                v += 1
            if v < close and v > inner.end and "VBG" in _finite_readings(toks[v]) or v < close and v == inner.end \
                    and _finite_readings(toks[v]) & {"VBD", "VBZ", "VBP"}:
                self._agent_event(toks, v, inner.ids, [], c, at, places, events, mentioned, doubt)
            if comma:
                return close + 1 if close < len(toks) and toks[close] == "," else k
        if comma and (close >= len(toks) or toks[close] != ","):
            return k  # ", who … ." runs to the end: a trailing relative, read as a clause of its own
        inner = at.get(r + 1)
        if inner is None and r + 2 < len(toks) and _cap(toks[r + 1]) and lows[r + 1] in lx.TITLES:
            # "the dog that Mr. Lomax was walking" (the name's phrase may begin at "that")
            inner = at.get(r + 2) or (at[r] if r in at and at[r].kind == "ref" else None)
        if inner is not None and inner.end < close and toks[inner.end] == "'s" and inner.end in at:
            inner = at[inner.end]  # "which the tug's engineer had released": the engineer
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
        elif r + 2 < close and lows[r + 1] in lx.BE_FORMS and lows[r] != "which" and (
                "VBG" in _finite_readings(toks[r + 2]) or
                lows[r + 2] == "busy" and r + 3 < close and "VBG" in _finite_readings(toks[r + 3])):
            # ", who was carrying two buckets,", ", who is busy sweeping the steps,": the antecedent does it (a
            # progressive, not a passive)
            self.handled.add(r + 2)
            v = r + 3 if lows[r + 2] == "busy" else r + 2
            self._agent_event(toks, v, antecedent, [], c, at, places, events, mentioned, doubt)
        elif r + 3 < close and lows[r + 1] in ("has", "have", "had") and lows[r + 2] == "been" and \
                "VBG" in _finite_readings(toks[r + 3]) and lows[r] != "which":
            # ", who had been mopping outside the ward,": a perfect progressive, the antecedent did it
            self._agent_event(toks, r + 3, antecedent, [], c, at, places, events, mentioned, doubt)
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
        elif lows[m] in lx.TITLES and m + 1 in at:
            m = at[m + 1].end  # "that Captain Oonagh had painted": the name's phrase begins after its title
        while m < close and (lows[m] in lx.BE_FORMS or lows[m] in lx.ADVERBS or lows[m] in ("has", "have", "had")):
            m += 1
        if m < close and _finite_readings(toks[m]):
            m += 1  # the relative's verb
        while m < close and (m in at or lows[m] in lx.PARTICLES or lows[m] in lx.PREPOSITIONS or
                             lows[m] in lx.ADVERBS or lx.is_adjective(lows[m]) and  # "painted bright yellow"
                             not _finite_readings(toks[m]) & {"VBZ", "VBD"}):
            m = at[m].end if m in at else m + 1
        tags = _finite_readings(toks[m]) if m < close else frozenset()
        plural = c.plural or len([x for x in antecedent if x != NONE_SUBJECT]) > 1 or any(
            x in self.reg.by_id and self.reg.by_id[x].plural for x in antecedent)
        return m if tags & {"VBZ", "VBD"} or plural and tags & {"VBP"} else k

    def _subject_pronoun_clause(self, toks: list[str], i: int) -> bool:
        """A clause at toks[i], or a subject pronoun with its verb, whose clause starts there though nothing marks
        it: "every flower he has pollinated" ("he" is never an object)."""
        return self._starts_clause(toks, i) or toks[i].lower() in ("he", "she", "they", "we") and i + 1 < len(toks) \
            and (toks[i + 1].lower() in ("has", "had", "have") or
                 bool(_finite_readings(toks[i + 1]) & {"VBD", "VBZ", "VBP"}))

    def _starts_clause(self, toks: list[str], i: int) -> bool:
        """Is position i at the start of a clause (sentence start, after a subordinator, ', and', ',', ';')?"""
        if i == 0:
            return True
        k = i - 1
        if k >= 1 and toks[k].lower() in ("later", "earlier", "ago") and toks[k - 1].lower() in lx.TIME_NOUNS:
            return True  # "and twenty minutes later | Mr. Calloway's truck pulls in"
        while k >= 0 and toks[k].lower() in lx.ADVERBS or k >= 1 and [t.lower() for t in toks[k - 1:k + 1]] in (
                ["at", "last"], ["at", "once"], ["at", "first"]):
            k -= 1 if toks[k].lower() in lx.ADVERBS else 2  # "When at last | the lionesses rise"
        if k < 0:
            return True
        p = toks[k].lower()
        opening = lx.PREPOSITIONS | lx.NUMBER_WORDS | lx.TIME_NOUNS | lx.DETERMINERS | lx.WEEKDAYS | {"o'clock"}
        if toks[0].lower() in lx.PREPOSITIONS and (p in lx.TIME_NOUNS | lx.WEEKDAYS or p == "o'clock") and all(
                t.lower() in opening or t[:1].isdigit() for t in toks[:k + 1]):
            return True  # "At five o'clock | the baker, Dona Teresa, unlocks", "On Monday | the crew"
        if toks[0].lower() in lx.SUBORDINATORS and p in ("done", "over", "finished", "ready", "gone") and \
                not any(t == "," for t in toks[:i]):
            return True  # "When the job is done | the robots crawl back" (no comma after the "when" clause)
        return p in lx.SUBORDINATORS or p in (",", ";", ":", "and", "but", "then", "so", "that")
