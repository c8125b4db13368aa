"""Chunks: the built-in planner's first pass over a sentence — entity references and other noun phrases,
left to right; the verbs are what lies between them (planning/reading.py reads those)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import lexicon as lx
from .entities import named_by_relative, named_members
from .text import (
    _appositive_after,
    _cap,
    _closed,
    _finite_readings,
    _home_side,
    _word,
    MODIFIER_PREPS,
    compound_head,
    pp_end,
)

@dataclass
class Chunk:
    kind: str  # "ref" (an entity reference), "np" (a noun phrase that is no entity), "pron" (unresolved), "verb"
    start: int
    end: int
    ids: list[str] = field(default_factory=list)
    plural: bool = False
    head: str = ""


class ChunkReading:
    """Part of the sentence reader (planning/reading.py): splits a sentence into chunks. The state it reads
    (``reg``, ``recent``, the sentence's chunks so far) is the reader's, set up in ``_Reader.__init__``."""

    def chunks(self, toks: list[str]) -> list[Chunk]:
        """Entity references and other noun phrases, left to right (verbs are found between them)."""
        lows = [t.lower() for t in toks]
        out: list[Chunk] = []
        i = 0
        while i < len(toks):
            w, t = lows[i], toks[i]
            # A name of several words: "Mama Bear" (and "Little Bear" is someone else); "The Ibarra twins, who …"
            compound = self.reg.name_at(lows, i) if _cap(t) else None
            if compound is None and w == "the" and i + 1 < len(toks) and _cap(toks[i + 1]):
                compound = self.reg.name_at(lows, i + 1)
            if compound is not None:
                out.append(Chunk("ref", i, compound[1], [compound[0].id]))
                i = compound[1]
                continue
            # "Father and daughter both giggle", "by aunt and nephew": the two the story's kin pair names; "Their
            # grandfather and grandmother settle": the two kin the story found, the possessive shared
            first = i + 1 if w in lx.POSSESSIVES else i
            pair = self._kin_pair(lows, first) if i + 2 < len(toks) and (
                first > i and lows[first] in lx.KINSHIP or first == i and w in lx.INVERSE_KIN and
                (i == 0 or lows[i - 1] not in lx.DETERMINERS | lx.POSSESSIVES)) else None
            if pair is not None:
                out.append(Chunk("ref", i, first + 3, pair, plural=True, head=lows[first + 2]))
                i = first + 3
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
                    out.append(Chunk("ref", i, i + 2, [grp.id], plural=grp.plural, head=w))
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
                elif lows[j:j + 1] == ["the"] and j + 2 < len(toks) and lows[j + 1] in e.nouns and \
                        _finite_readings(toks[j + 2]) & {"VBZ", "VBD"}:
                    j += 2  # "Hattie the hippo | waddles over": her kind, then her verb (no "hippo waddles")
                out.append(Chunk("ref", i, j, [e.id]))
                i = j
                continue
            if w in lx.SUBJECT_PRONOUNS | lx.OBJECT_PRONOUNS | lx.REFLEXIVES and not (
                    w == "her" and i + 1 < len(toks) and _word(toks[i + 1]) and not _closed(lows[i + 1])
                    and lows[i + 1] not in lx.PARTICLES and not (  # "her pony" is a possessive, "helps her up" not
                        # ("eyed her closely": an adverb after her, no noun)
                        lows[i + 1].endswith("ly") and not lx.is_noun(lows[i + 1]) or lows[i + 1] in lx.ADVERBS)):
                out.append(Chunk("pron", i, i + 1, head=w, plural=w in ("they", "them", "we", "us")))
                i += 1
                continue
            # "The two walk", "the three of them": a group.
            if w in ("the", "all") and i + 1 < len(toks) and lows[i + 1] in lx.NUMBERS and not (
                    # "the two teams clash", "the two machines flashed": the plural is the phrase's noun, then its verb
                    i + 3 < len(toks) and lx.is_plural_noun(lows[i + 2]) and
                    _finite_readings(toks[i + 3]) & {"VBP", "VBD"}) and (
                    i + 2 >= len(toks) or _finite_readings(toks[i + 2]) or lows[i + 2] in lx.ADVERBS or
                    lows[i + 2:i + 4] in (["of", "them"], ["of", "us"])) and not (
                    # "the three kids steered": "kids" is the group's noun here, not a verb
                    i + 2 < len(toks) and any(x.group and set(lows[i + 2:i + 4]) & x.nouns
                                              for x in self.reg.entities)) and not (
                    i + 4 < len(toks) and lx.is_adjective(lows[i + 2]) and lx.is_plural_noun(lows[i + 3]) and
                    _finite_readings(toks[i + 4]) & {"VBP", "VBD"}):
                # (not "the two muddy pals squelch": an adjective and the plural noun, then the verb)
                end = i + 4 if lows[i + 2:i + 3] == ["of"] else i + 2
                out.append(Chunk("pron", i, end, head="they", plural=True))
                i = end
                continue
            if w == "that" and i + 1 < len(toks) and (_cap(toks[i + 1]) and self.reg.by_name(lows[i + 1]) or (
                    out and out[-1].end == i and _finite_readings(toks[i + 1]))):
                i += 1  # "The puppy that Omar is walking", "The pigeons that live": "that" opens a relative clause
                continue
            # A plural with no article opening the sentence, a group the story found: "Guests in their best clothes
            # drifted", "Hundreds of students on the towpath cheer"
            grp = next((x for x in self.reg.entities if x.group and x.plural and w in x.nouns), None) \
                if i == 0 and lx.is_plural_noun(w) else None
            if grp is not None:
                end = i + 1
                if lows[end:end + 1] == ["of"] and end + 1 < len(toks) and lows[end + 1] in grp.nouns:
                    end += 2
                out.append(Chunk("ref", i, end, [grp.id], plural=True, head=lows[end - 1]))
                i = end
                continue
            # A noun phrase: determiner/possessive/number + words, up to a function word or a likely verb.
            # "Hugo's mother", "the farmer's son": the possessed is the phrase, the possessor ("Hugo") is not who acts
            possessed = w == "'s" and bool(out) and out[-1].end == i
            # ("whose puppy": the puppy, in a relative clause)
            if w in lx.DETERMINERS or w in lx.POSSESSIVES or w in lx.NUMBERS or possessed or w == "whose" and out \
                    and out[-1].end == i:
                j = i + 1
                words: list[int] = []
                # only a subject can be followed by its verb ("the two friends walk": from the article on)
                owner = out[-1].start if possessed else 0
                while possessed and owner > 0 and _cap(toks[owner - 1]) and lows[owner - 1] in lx.TITLES:
                    owner -= 1  # "Mr. Lindgren's dog barked": the clause starts at the title
                # ("A dozen swimmers | gather": from the article on)
                slot_at = owner if possessed else i - 1 if i and lows[i - 1] in ("the", "all", "a", "an") else i
                subject_slot = self._starts_clause(toks, slot_at) or bool(
                    out and out[-1].head in lx.TIME_NOUNS and (out[-1].end == i or out[-1].end == i - 1 and lows[i - 1]
                                                              in ("later", "earlier", "ago", "after"))) or (
                    # "One day | the frog hopped", "A minute later | her blue van backs up"
                    i >= 2 and (lows[i - 1] in lx.TIMES or lows[i - 1] in lx.TIME_NOUNS)  # "At noon | the teacher"
                    and lows[i - 2] in lx.PREPOSITIONS | lx.DETERMINERS | {"next", "last", "following"}) or (
                    # "By evening the | two rovers return": the same, with the article before the number
                    i >= 3 and w in lx.NUMBERS and lows[i - 1] == "the" and lows[i - 3] in lx.PREPOSITIONS and (
                        lows[i - 2] in lx.TIMES or lows[i - 2] in lx.TIME_NOUNS)) or (
                    # "When the job is done | the robots crawl back": after a subordinate clause's verb
                    i >= 2 and lows[0] in lx.SUBORDINATORS and _finite_readings(toks[i - 1]) & {"VBN", "VBD", "VBZ"}
                    and not any(toks[x] == "," for x in range(i))) or (
                    # "On Saturday | a van pulled up"
                    i >= 2 and lows[i - 1] in lx.NOT_NAMES and lows[i - 2] in lx.PREPOSITIONS) or (
                    # "In a flash | the whole family dives": an opening phrase without its comma
                    3 <= i <= 5 and lows[0] in lx.PREPOSITIONS and lows[1] in lx.DETERMINERS | lx.POSSESSIVES and
                    "," not in toks[:i] and lx.is_noun(lows[i - 1]) and w in lx.DETERMINERS and not any(
                        _cap(toks[x]) or _finite_readings(toks[x]) & {"VBZ", "VBD"} for x in range(2, i))) or (
                    # the object of a participle after a subject, before its verb: "A man wearing a red hat | waved"
                    i >= 2 and out and out[-1].end == i - 1 and _finite_readings(toks[i - 1]) & {
                        "VBZ", "VBD", "VBG"} == {"VBG"} and self._starts_clause(toks, out[-1].start)) or (
                    # the object of a relative clause, before the subject's verb: "who is wearing a red hat | scatters"
                    i >= 2 and (_finite_readings(toks[i - 1]) or lows[i - 1] in lx.PREPOSITIONS) and any(
                        lows[x] in lx.RELATIVES | {"that"} and self._subject_before(toks, x)
                        for x in range(max(0, i - 4), i - 1)))
                relative_object = subject_slot and not self._starts_clause(toks, i) and any(
                    lows[x] in lx.RELATIVES | {"that"} and lows[x + 1] not in lx.TIME_NOUNS
                    for x in range(max(0, i - 6), i))  # (not "One day | the old
                # shepherd, Mr. Hobbs,": a time, then a subject whose noun may be a verb)
                # the noun of a phrase describing a subject ends before the subject's verb: "A baker in the next
                # boat | laughs"
                limit = len(toks)
                if i >= 2 and lows[i - 1] in MODIFIER_PREPS and (out and out[-1].end == i - 1 and self._starts_clause(
                        toks, out[-1].start) or lows[i - 2] in lx.EVERYONE and self._starts_clause(toks, i - 2)):
                    limit = pp_end(toks, i - 1)  # (also "Everyone at the table | cheers")
                while j < limit and _word(toks[j]) and (not _closed(lows[j]) or words and lows[j] == "one" or
                                                        not words and lows[j] in lx.ORDINALS or
                                                        _home_side(lows, j)) and not (
                        # "and both carried the slice": "both" is the subject, then its verb
                        not words and w == "both" and _finite_readings(toks[j]) & {"VBD", "VBP"} and (
                            not lx.is_noun(lows[j]) or
                            # ("and both burst into tears": a singular noun after "both" is its verb)
                            not lx.is_plural_noun(lows[j]) and lows[j] not in lx.ENTITY_NOUNS and
                            lows[j + 1:j + 2] and lows[j + 1] in lx.PREPOSITIONS | lx.PARTICLES)) and not (
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
                    if words and i >= 1 and lows[i - 1] in lx.PREPOSITIONS - {"with", "without"} and \
                            "VBG" in _finite_readings(toks[j]) and not lx.is_noun(lows[j]) and \
                            (j + 1 == len(toks) or lows[j + 1] in (".", ",", ";", "and", "!")) and \
                            lx.is_noun(lows[words[-1]]) and not lx.entity_noun(lows[words[-1]]) and \
                            not lx.group_of(lows[words[-1]]):
                        # "lay on the grass | laughing": the participle after a place is who lay there's (not "the
                        # apartment building"; not "with its lights flashing", where the lights flash)
                        break
                    if words and i >= 1 and lows[i - 1] in lx.PREPOSITIONS - {"with", "without"} and \
                            "VBG" in _finite_readings(toks[j]) and j + 1 < len(toks) and (
                                lows[j + 1] in ("a", "an", "the") or lows[j + 1] in lx.POSSESSIVES) and \
                            lx.is_noun(lows[words[-1]]) and not lx.is_plural_noun(lows[words[-1]]) and \
                            not lx.entity_noun(lows[words[-1]]) and not lx.group_of(lows[words[-1]]) and \
                            lx.verb_lemma(lows[j]) not in lx.SPEECH_VERBS | {"ask", "tell", "warn", "show",
                                                                               "read"} and \
                            not (i >= 2 and lx.verb_lemma(lows[i - 2]) in lx.LOOKING_VERBS):
                        # (not "gazing at the paddle wheel slapping the water": what is watched does it)
                        # ("taped a note to the gate asking the postman to…": the note asks)
                        break  # "climbed over the fence | carrying a pail": a thing carries nothing
                    if words and i >= 1 and lows[i - 1] == "with" and "VBG" in _finite_readings(toks[j]) and \
                            not lx.is_noun(lows[j]) and (lx.names_someone(lows[words[-1]]) or any(
                                lows[words[-1]] in x.nouns for x in self.reg.entities)):
                        break  # "steers home with the robots | trundling behind": the robots trundle
                    if _cap(toks[j]) and self.reg.by_name(lows[j]) and not (
                            not words and w == "the" and j + 2 < len(toks) and _word(toks[j + 1]) and
                            not _cap(toks[j + 1]) and _finite_readings(toks[j + 2]) & {"VBD", "VBZ", "VBP"} and
                            not (lows[j].endswith("s") and "VBP" in _finite_readings(toks[j + 1]))):
                        # (but "the Millbrook forwards shoved": the name is a modifier of the noun; and "the Marlins
                        # surge forward": a plural name, then its verb)
                        break
                    words.append(j)
                    j += 1
                    if lows[j - 1] in lx.ENTITY_NOUNS and j < len(toks) and _cap(toks[j]) and \
                            self.reg.by_name(lows[j]) is None and not lows[j] in lx.TITLES:
                        break
                appos = self._named_apposition(toks, j)
                counted = not words and w in lx.NUMBERS_VALUE and lows[j:j + 1] == ["of"]  # "Two of them, Caio …"
                if appos is None and (words or counted) and lows[j:j + 1] == ["of"] and \
                        lows[j + 1:j + 2] in (["them"], ["us"]) and (counted or lows[words[-1]].endswith("est") or
                                                                    lows[words[-1]] in lx.ORDINALS):
                    appos = self._named_apposition(toks, j + 2)  # "The boldest of them, Kwame, clips in"
                    if appos is not None and counted and len(appos[0]) != lx.NUMBERS_VALUE[w]:
                        appos = None
                if (words or counted) and appos is not None and (i == 0 or self._starts_clause(toks, i)) and (
                        counted or not (lows[words[-1]] in lx.TIME_NOUNS or lows[words[-1]] in lx.TIMES)):
                    # (not "That afternoon, Wrenna, Oisín and Matthias sat": a time, then the subjects)
                    ids, end = appos  # "The twins, Ada and Leo, pick up", "The oldest one, Chidi, pushes"
                    out.append(Chunk("ref", i, end, ids, plural=len(ids) > 1))
                    i = end
                    continue
                # "her friend Jun", "the maintenance robot ARI-7", "a boy named Kofi", "her pony, Canela"
                named_ones = self._named_members(toks, j) if words and lx.group_of(lows[words[-1]]) else None
                if named_ones is not None:  # "two students from Lyon named Claire and Bastien": those two
                    out.append(Chunk("ref", i, named_ones[1], named_ones[0], plural=True))
                    i = named_ones[1]
                    continue
                k = j
                if words and k < len(toks) and lows[k] in ("with", "in", "wearing") and \
                        lx.entity_noun(lows[words[-1]]):
                    # "a girl with red plaits called Oona": the name after a phrase describing the noun
                    k = next((x for x in range(k + 1, min(len(toks), k + 6)) if lows[x] in lx.NAMING
                              and all(_word(toks[y]) and not _cap(toks[y]) for y in range(k + 1, x))), k)
                if k < len(toks) and lows[k] in lx.NAMING:
                    k += 1
                    if k + 1 < len(toks) and lows[k] == "the" and _cap(toks[k + 1]):
                        k += 1  # "a submarine called the Lantern"
                elif k + 1 < len(toks) and toks[k] == "," and _cap(toks[k + 1]) and self.reg.by_name(lows[k + 1]) \
                        and words and lows[words[-1]] in lx.ENTITY_NOUNS:
                    k += 1
                named = named_by_relative(self.reg, toks, k) if words and lx.entity_noun(lows[words[-1]]) else None
                if named is not None:
                    # "A temple dog, which the monks call Khao, follows him": the dog is Khao, and the naming is
                    # nobody's action
                    out.append(Chunk("ref", i, named[1], [named[0].id]))
                    i = named[1]
                    continue
                if k < len(toks) and _word(toks[k]) and self.reg.by_name(lows[k]) and (
                        not words or lx.entity_noun(lows[words[-1]]) or lows[words[-1]] in lx.TITLES):
                    e = self.reg.by_name(lows[k])
                    end = k + 1
                    while end < len(toks) and _cap(toks[end]) and self.reg.by_name(lows[end]) is e:
                        end += 1
                    if end < len(toks) and toks[end] == "," and k > j:  # "her pony, Canela," closes the apposition
                        end += 1
                    out.append(Chunk("ref", i, end, [e.id]))
                    i = end
                    continue
                member = self._one_of(toks, i) if not words and w == "one" else None
                if member is not None:  # "One of the judges, a woman in a green cardigan, stops": the judge
                    out.append(Chunk("ref", i, member[1], [member[0].id], head=toks[member[1] - 1].lower()))
                    i = member[1]
                    continue
                if not words and w in lx.NUMBERS and lows[i + 1:i + 2] == ["of"] and i + 2 < len(toks) and \
                        (lows[i + 2] in lx.DETERMINERS or lows[i + 2] in lx.POSSESSIVES):
                    i += 2  # "two of his cousins": the phrase after "of" names who
                    continue
                if not words:
                    if w in lx.NUMBERS or w == "both":  # "The two walk", "Both laugh"
                        out.append(Chunk("pron", i, i + 1, head="they", plural=True))
                    i += 1
                    continue
                head = lows[words[-1]]
                head = lx.entity_noun(head) or head
                first = lows[words[0]]
                if lows[j:j + 1] == ["of"] and (head in lx.QUANTITY_NOUNS or head in lx.COLLECTIVE_NOUNS):
                    m = j + 1 + (j + 1 < len(toks) and lows[j + 1] in lx.DETERMINERS | lx.POSSESSIVES)
                    while m < len(toks) and _word(toks[m]) and not _closed(lows[m]) and not any(
                            x.group and lows[m] in x.nouns for x in self.reg.entities) and m < j + 5:
                        m += 1
                    grp = next((x for x in self.reg.entities if x.group and m < len(toks) and lows[m] in x.nouns),
                               None)
                    groups = [x for x in self.reg.entities if x.group and x.since < self.story_no]
                    at = j + 2 if lows[j + 1:j + 2] == ["the"] else -1
                    if grp is None and head == "rest" and lows[at:at + 1] == ["group"] and len(groups) == 1:
                        grp, m = groups[0], at  # "A dozen teenagers … The rest of the group cheers": the one group
                    if grp is not None:  # "barks at a pair of swans": the swans
                        out.append(Chunk("ref", i, m + 1, [grp.id], plural=grp.plural, head=lows[m]))
                        i = m + 1
                        continue
                    own = next((x for x in self.reg.entities if x.group and head in x.nouns), None)
                    if own is not None and j + 1 < len(toks) and lows[j + 1].endswith("s") and \
                            not lx.is_known_word(lows[j + 1]) and not lx.group_of(lows[j + 1]):
                        # "A flock of oxpeckers lands": the flock the story found
                        out.append(Chunk("ref", i, j + 2, [own.id], plural=own.plural, head=head))
                        i = j + 2
                        continue
                if w in ("no", "neither"):  # "no flamingo has laughed since": no one acts
                    out.append(Chunk("np", i, j, [], head="nobody"))
                    i = j
                    continue
                named = next((hit[0] for x in words if _cap(toks[x]) for hit in [self.reg.name_at(lows, x)]
                              if hit is not None and hit[1] == j), None)
                if named is not None:  # "The Harwick crew": that crew, not the story's other one
                    out.append(Chunk("ref", i, j, [named.id], plural=named.plural, head=head))
                    i = j
                    continue
                grp = next((x for x in self.reg.entities if x.group and head in x.nouns), None)
                counted = [x for x in self.reg.entities if x.group and x.count and
                           x.count == lx.NUMBERS_VALUE.get(w) and (not lx.group_of(head) or not lx.is_known_word(head))]
                if grp is None and len(counted) == 1 and lows[i - 1:i] == ["the"] and head.endswith("s") and \
                        len(words) == 1:
                    grp = counted[0]  # "Two spider-like robots … the two crawlers return": the two of them
                if grp is not None and grp.count and (w != "both" or grp.count > 3) and \
                        lx.NUMBERS_VALUE.get(w, grp.count) < grp.count and \
                        lows[i - 1:i] != ["the"] and grp.since < self.story_no and \
                        not set(lows[max(0, i - 2):j]) & lx.OTHERS:  # ("the other three drones": the rest)
                    grp = None  # "Twelve runners stride onto the track … two runners collide": two of them, others
                if grp is not None:  # "the band", "three kids", "the robots": the group entity
                    # ("the two crawlers", "his two uncles": the phrase begins at "the", where a clause's subject
                    # begins, and at "his", where a coordinated agent begins)
                    at_the = i - 1 if w in lx.NUMBERS and i >= 1 and (lows[i - 1] == "the" or
                                                                      lows[i - 1] in lx.POSSESSIVES) and (
                        not out or out[-1].end <= i - 1) else i
                    out.append(Chunk("ref", at_the, j, [grp.id], plural=grp.plural, head=head))
                    i = j
                    continue
                kind = lx.group_of(head)
                members = [x for x in self.reg.entities if kind and not x.group and kind[1] in x.nouns]
                others = any(lows[x] in lx.OTHERS for x in words)
                # ("a honeymoon couple from Leeds … The couple peered": the couple brought in, not the named two)
                not_them = w == "the" and head in ("couple", "pair") and head in self.brought_in
                # ("陳 and her husband 志明 … Their twin boys carry": their boys are others, never the two)
                not_them = not_them or w == "their" and head in lx.PERSON_GROUPS
                # ("Astrid and Jonte paddled … Behind them a pair from Hamburg veered off": another pair)
                not_them = not_them or w in ("a", "an", "another") and head in ("pair", "couple")
                if not others and not not_them and head in lx.GROUP_NOUNS or (
                        w in lx.NUMBERS and head in lx.GROUP_NOUNS | {"two", "three"}) or \
                        (w == "both" and head.endswith("s") and not self._things(head)) or (
                        (w in lx.NUMBERS or first in lx.NUMBERS) and len(members) >= 2) or (  # ("the two birds")
                        w == "the" and len(words) == 1 and kind and kind[1] != head and len(members) >= 2 and
                        all(x.named for x in members)) or (  # ("Two drones, Rivet and Grommet … The drones fire")
                        w in lx.NUMBERS and lows[i - 1:i] == ["the"] and members and lx.NUMBERS_VALUE.get(w) == sum(
                            1 for x in self.reg.entities if not x.group and x.kind == members[0].kind)):
                    # ("A young oyster farmer, جنى … her uncle Tahar … the two farmers": the story's two people)
                    out.append(Chunk("pron", i, j, head="they", plural=True))
                    i = j
                    continue
                if head == "two" or (w == "the" and first in ("two", "three") and len(words) == 1):
                    out.append(Chunk("pron", i, j, head="they", plural=True))
                    i = j
                    continue
                e = self.reg.by_noun(head, self.story_no) if head in lx.GENERALISATIONS or any(
                    head in x.nouns for x in self.reg.entities) else None
                if e is not None and any(lows[x] in lx.TOY_MODIFIERS or lows[x] in lx.STATUE_MODIFIERS and
                                         e.kind in ("person", "animal") for x in words):
                    e = None  # "the rubber duck" is a toy, not the duck
                ranked = [lows[x] for x in words if lows[x] in lx.ORDINALS - {"next", "same"} or
                          lows[x].endswith("est") and lx.is_adjective(lows[x]) or lx.comparative(lows[x])]
                colours = {lows[x] for x in words if lows[x] in lx.TELLING_APART}
                told = [x for x in self.reg.entities
                        if head in x.nouns and colours & set(x.description.lower().split())]
                if e is None and colours and len(told) == 1:
                    e = told[0]  # "a female hornbill … the male hornbill": the one its word tells apart
                if e is not None and colours and (set(e.description.lower().split()) & lx.TELLING_APART) - colours:
                    e = None  # "a black goat … The white goat pushed back", "the male hornbill": another one
                if e is not None and ranked and not set(ranked) <= set(e.description.lower().split()) and not (
                        j < len(toks) and toks[j] == ","):  # (an apposition names it: "The smallest cricket, …")
                    e = None  # "the biggest monkey … the smallest monkey", "the smaller robot … the larger robot":
                    # another one
                if e is not None and e.group and e.count and lx.NUMBERS_VALUE.get(w, e.count) < e.count and \
                        lows[i - 1:i] != ["the"] and e.since < self.story_no:
                    e = None  # "Twelve runners stride onto the track … two runners collide": two of them, others
                if e is not None and w in ("a", "an") and e.named and e.introduced != self.story_no:
                    e = None  # "a dog" is not "his dog Pepa" (but "A nurse came in. She was called Odile": Odile)
                if e is not None and (any(lows[x] in ("next", "other", "second", "third", "another") for x in words) or
                                      w == "another") and not (e.since == self.story_no and not e.named):
                    e = None  # "the next girl" after Bea, "a tall girl": someone else (but not the one this names)
                if e is not None and not e.group and any(lows[x] in lx.KINSHIP and lows[x] not in e.nouns
                                                         for x in words[:-1]):
                    e = None  # "the mother blackbird" after a blackbird fledgling: its mother, someone else
                out.append(Chunk("ref" if e else "np", i, j, [e.id] if e else [], head=head,
                                  plural=head.endswith("s") and not head.endswith("ss") and e is None))
                i = j
                continue
            # A bare entity noun ("Together the fox and dog") or group noun without determiner: rare; skip.
            i += 1
        # "Hattie and Ollie, her brother, ran": an apposition that names the same one again is part of its name
        merged: list[Chunk] = []
        for c in out:
            last = merged[-1] if merged else None
            titled = last is not None and c.start == last.end + 2 and lows[last.end + 1] in lx.TITLES and \
                _cap(toks[last.end + 1])  # ("the old ploughman, Mr. Hobbs, led")
            if last is not None and c.kind == last.kind == "ref" and c.ids == last.ids and (
                    c.start == last.end + 1 and lows[c.start] in lx.POSSESSIVES or titled) \
                    and toks[last.end] == "," and c.end < len(toks) and toks[c.end] == ",":
                merged[-1] = Chunk("ref", last.start, c.end + (not titled or lows[c.end + 1:c.end + 2] != ["who"]),
                                   list(last.ids), plural=last.plural, head=last.head)  # (", who" stays after it)
            else:
                merged.append(c)
        return merged

    def _kin_pair(self, lows: list[str], k: int) -> list[str] | None:
        """lows[k:k + 3] is "father and daughter" (inverse kin) or, after a possessive, "grandfather and grandmother":
        the ids of the two people the story found by those words, else None."""
        if k + 2 >= len(lows) or lows[k + 1] != "and" or lows[k + 2] == lows[k] or not (
                lows[k + 2] in lx.INVERSE_KIN.get(lows[k], ()) or k > 0 and lows[k - 1] in lx.POSSESSIVES and
                lows[k + 2] in lx.KINSHIP):
            return None
        pair = [self.reg.by_noun(lows[k]), self.reg.by_noun(lows[k + 2])]
        if pair[0] is None or pair[1] is None or pair[0] is pair[1] or \
                not all(x.kind == "person" and not x.group for x in pair):
            return None
        return [pair[0].id, pair[1].id]

    def _one_of(self, toks: list[str], i: int):
        """toks[i:] is "one of the judges" and the story has one judge: (that entity, the index after "judges")."""
        from lemminflect import getLemma

        lows = [t.lower() for t in toks]
        if lows[i + 1:i + 2] != ["of"] or i + 2 >= len(toks) or lows[i + 2] not in lx.DETERMINERS | lx.POSSESSIVES:
            return None
        k = i + 3
        while k < len(toks) and _word(toks[k]) and not _closed(lows[k]) and not lx.is_plural_noun(lows[k]):
            k += 1
        if k >= len(toks) or not lx.is_plural_noun(lows[k]):
            return None
        e = self.reg.by_noun(getLemma(lows[k], upos="NOUN")[0])
        return (e, k + 1) if e is not None and not e.group else None

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

    def _things(self, plural: str) -> bool:
        """Is ``plural`` the plural of a thing's noun, no one's ("both carts rattled", not "both girls")?"""
        # (an agent noun the word lists lack is someone: "both cleaners sat down")
        return lx.is_plural_noun(plural) and not lx.group_of(plural) and not lx.may_act(plural) and \
            not plural.endswith(("ers", "ors", "ists")) and \
            plural not in lx.GROUP_NOUNS | lx.RELATIONAL_GROUPS and \
            not any(plural in x.nouns for x in self.reg.entities)

    def _named_members(self, toks: list[str], j: int) -> tuple[list[str], int] | None:
        """toks[j:] is " from Lyon named Claire and Bastien" (a short phrase, then "named" or "called" and two names
        or more): their ids and the index after the last name (and its closing comma)."""
        found = named_members(self.reg, toks, j)
        return ([e.id for e in found[0]], found[1]) if found is not None else None

    def _named_apposition(self, toks: list[str], j: int) -> tuple[list[str], int] | None:
        """toks[j:] is ", Ada and Leo," or ", Chidi,": the names (ids) and the index after the closing comma."""
        if j >= len(toks) or toks[j] != ",":
            return None
        lows = [t.lower() for t in toks]
        if j + 3 < len(toks) and lows[j + 1] in lx.NAMING and toks[j + 3] == "," and _cap(toks[j + 2]) and \
                self.reg.by_name(lows[j + 2]) is not None:
            return [self.reg.by_name(lows[j + 2]).id], j + 4  # "The larger drone, nicknamed Mule, grips"
        called = next((x for x in range(j + 2, min(len(toks) - 2, j + 8)) if lows[x] in lx.NAMING), None) \
            if j + 1 < len(toks) and lows[j + 1] in ("a", "an") else None
        if called is not None and all(_word(toks[x]) and not _cap(toks[x]) for x in range(j + 1, called)):
            # ", a wheeled box called Bolt,": the name inside an apposition that describes the noun
            e = self.reg.by_name(lows[called + 1]) if _cap(toks[called + 1]) else None
            if e is not None and toks[called + 2] == ",":
                return [e.id], called + 3
        ids, k = [], j + 1
        while k < len(toks):
            skip = k
            while skip < min(len(toks) - 1, k + 3) and not _cap(toks[skip]) and _word(toks[skip]) and (
                    "-" in toks[skip] or lx.is_adjective(lows[skip]) or not lx.is_known_word(lows[skip])) and \
                    lows[skip] not in lx.DETERMINERS:
                skip += 1  # ", gangly young Caio and silver-haired Dona Celeste,", ", nine-year-old Tainá,"
            if skip > k and _cap(toks[skip]) and self.reg.by_name(lows[skip]) is not None or \
                    skip > k and lows[skip] in lx.TITLES and skip + 1 < len(toks) and _cap(toks[skip + 1]):
                k = skip
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
        if w in lx.RELATIONAL_GROUPS and prev in lx.ENTITY_NOUNS:
            return False  # "The panda twins, who …": the twins, not a verb
        if nxt == "," and lx.is_plural_noun(w) and len((self._named_apposition(toks, j + 1) or ((),))[0]) >= 2:
            return False  # "Two pollination drones, Fern and Sorrel, swivel": the drones the two names are
        if prev in lx.ENTITY_NOUNS and (lx.group_of(w) or ("",))[0] == "machine" and (
                nxt in (",", "which", "that") or _finite_readings(toks[j + 1] if nxt else "") & {"VBD", "VBZ", "VBP"}):
            return False  # "Three feeder drones, which zip about": the drones, not a verb
        if words[0] > 0 and toks[words[0] - 1].lower() in lx.POSSESSIVES and lx.is_plural_noun(w) and all(
                lx.is_adjective(toks[x].lower()) and toks[x].lower() not in lx.ENTITY_NOUNS for x in words):
            return False  # "in their best | clothes": after a possessive and its adjectives, the noun
        if (lx.group_of(w) or w in lx.GROUP_NOUNS or w in lx.PERSON_GROUPS or any(
                x.group and w in x.nouns for x in self.reg.entities)) and \
                _finite_readings(toks[j + 1] if nxt else "") & {"VBD", "VBZ", "VBP"}:
            return False  # "Three cargo drones | rose", "The Ferreira twins | raced": a group noun, then the verb
        if nxt in lx.PREPOSITIONS and any(x.group and w in x.nouns for x in self.reg.entities):
            return False  # "three small kids | from the back row raced": the group's noun, then its phrase
        if lx.is_plural_noun(w) and not lx.is_noun(nxt) and _finite_readings(toks[j + 1] if nxt else "") & \
                {"VBD", "VBZ"} and prev not in lx.ENTITY_NOUNS and prev not in lx.GROUP_NOUNS:
            return False  # "refilling the water troughs | dropped his hose": the plural is the noun, then a verb
        if words[0] > 0 and toks[words[0] - 1].lower() in lx.NUMBER_WORDS and lx.is_plural_noun(w) and nxt == "," and \
                j + 2 < len(toks) and toks[j + 2].lower() in ("which", "that", "who"):
            return False  # "Two maintenance drones, which had ridden down": the counted plural, then its relative
        if prev in lx.NUMBERS and lx.is_plural_noun(w) and \
                _finite_readings(toks[j + 1] if nxt else "") & {"VBD", "VBZ", "VBP"}:
            return False  # "the two machines | flashed": after a count, the plural is the noun
        if w in lx.ENTITY_NOUNS and not tags & {"VBZ", "VBD"} and prev in lx.ENTITY_NOUNS and \
                not lx.is_plural_noun(prev) and prev not in lx.GROUP_NOUNS:
            return False  # "The lobster | boat that …": after a singular noun, "boat" is no verb but the head noun
        if compound_head(toks, j):
            return False  # "the fish | market in Sokcho was busy": a compound's head, then its phrase and verb
        if prev in lx.ENTITY_NOUNS or prev in lx.GROUP_NOUNS or any(x.group and prev in x.nouns
                                                                      for x in self.reg.entities):
            return True  # "The fox trots", "the children lead", "the robots carry"
        if "VBZ" in tags or "VBD" in tags:
            return not (w in lx.ENTITY_NOUNS or w in lx.PLACES) or nxt in lx.DETERMINERS
        if ("VBP" in tags or "VB" in tags) and prev.endswith("s") and not prev.endswith("ss"):
            return nxt in lx.DETERMINERS | lx.POSSESSIVES | lx.PREPOSITIONS | lx.PARTICLES | {"", ".", ","} \
                or nxt in lx.ADVERBS or nxt in lx.SUBORDINATORS  # ("the teenagers | cheer when he bobs up")
        return False
