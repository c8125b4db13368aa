"""Pronouns: whom “he”, “she”, “it” and “they” name, and when that is only a guess (issue 24:
a guess is left out and reported, never drawn). docs/planning.md says the scopes, nearest first."""

from __future__ import annotations

from . import lexicon as lx
from .motions import NONE_SUBJECT
from .text import _finite_readings


class PronounReading:
    """Part of the sentence reader (planning/reading.py): resolves pronouns against the story read so far. The
    state it reads (recency, the sentence's mentions, the last subjects) is the reader's, set up in
    ``_Reader.__init__``."""

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
        # (one first named later in this sentence is not yet there: "He is caught by … a teenager named Orrin")
        before = {x for c in self.cur_chunks if c.kind == "ref" and (pos is None or c.start < pos) for x in c.ids}
        story = [e.id for e in self.reg.entities if e.declared or e.since < self.story_no or
                 e.since == self.story_no and (pos is None or e.id in before)]
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
                main = [e for e in hits if e.id in self.prev_main_subject and e not in lead]
                if len(lead) == 1 and len(self.prev_subject) == 1 and main and len(self.prev_main_subject) == 1:
                    # "Priya … stopped beside row 14, where a stranger was sitting. '…,' she said": either
                    return None, f"\u201c{pron}\u201d could be {self._call(main[0])} or {self._call(lead[0])}"
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
        # or the one the story has shown to be "she" ("하윤 … shakes out her arms. The official raises a flag … She
        # races"), when the others' gender is unknown
        g = {"he": "m", "she": "f"}.get(pron)
        shown = [e for e in actors if g and e.gender == g]
        if len(shown) == 1 and subject and all(e.gender is None for e in actors if e is not shown[0]):
            return shown[0], None
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
            ids = self._they(p, seen, pos)
            acted_on = [x for c in self.cur_chunks if pos is not None and c.kind == "ref" and c.start == pos + 2
                        for x in c.ids if x in ids]
            if p == "they" and subject and acted_on and self.doubt is None:
                # "Together they lifted Honey onto the bike": Honey is lifted, so "they" are others
                self.doubt = f"\u201cthey\u201d acts on {self._call(self.reg.by_id[acted_on[0]])}, so it is others"
            if p == "they" and subject and self.doubt is None and "they" in self.prev_doubtful and \
                    not self._before(pos) and not self.cur_mentioned:
                # "… and both brothers dive" could not be told; then "They bob about": the same ones, unknown
                self.doubt = "\u201cthey\u201d goes on from the sentence before, where it could not be told"
            return ids
        if p in ("i", "me", "myself", "we", "us", "ourselves", "you", "yourself", "yourselves"):
            # the narrator or the reader is no one of the story's third persons ("we climbed" is not the guide);
            # "we" is the one group the narrator called "our …" ("Our class visited … we climbed")
            ours = [e for e in seen if e.group and e.id in self.ours]
            if p in ("we", "us", "ourselves") and len(ours) == 1:
                return [ours[0].id]
            self.doubt = f"\u201c{pron}\u201d is the " + ("reader" if p.startswith("you") else "narrator") + \
                ", who is no character found"
            return []
        if p in ("it", "its", "itself"):
            if subject and self.last_thing:
                return [NONE_SUBJECT]
            if subject and p == "it" and pos and any(
                    self.cur_lows[k] == "it" and _finite_readings(self.cur_lows[k - 1]) & {"VBD", "VBZ", "VBP", "VB"}
                    for k in range(1, pos)) and not any(
                    e.kind in ("animal", "machine", "vehicle") and e.gender is None and not e.group and
                    e.id not in self.sentence_subject for e in seen):
                # "Gingernut snapped it up before it landed": the thing it caught, again (but "Mei threw it some
                # crumbs and it pecked": the sparrow, which "it" could name both times)
                return [NONE_SUBJECT]
            cands = [e for e in seen if e.kind in ("animal", "machine", "vehicle") and e.gender is None
                     and not e.group]
            hit, self.doubt = self._sure(p, cands, pos, subject)
            if hit is not None and (any(c.kind == "np" and not c.plural and c.start < (pos or 0) and
                                        c.head not in lx.TIME_NOUNS for c in self.cur_chunks) or any(
                    w in ("hers", "theirs", "mine", "yours", "ours") for w in self.cur_lows[:pos or 0])):
                # "grabs the ball and it rolls", "threw hers next, but it landed"
                self.doubt = f"\u201c{p}\u201d could be a thing named before it"
            elif hit is not None and self.prev_singular_thing and hit.id not in self.prev_mentioned and \
                    not self._before(pos):
                # "Ravi threw a flat stone low across the water. It bounced": the dog was named before that
                self.doubt = f"\u201c{p}\u201d could be the {self.prev_singular_thing}"
            if hit is None:
                hit = next((e for e in ents if e in cands), None)
            return [hit.id] if hit else [NONE_SUBJECT]
        after_subordinator = bool(pos) and self.cur_lows[pos - 1] in lx.SUBORDINATORS
        if subject and p in self.cur_pronoun_subjects and not after_subordinator:
            # "He is tripped by a tall defender, but he jumps back up": the same "he" as the sentence's subject
            return list(self.cur_pronoun_subjects[p])
        g = "m" if p in ("he", "him", "his", "himself") else "f"
        subject_now = [self.reg.by_id[x] for x in self.sentence_subject if x in self.reg.by_id]
        if not subject and p in ("him", "her") and pos and self.cur_lows[pos - 1] in (
                "behind", "beside", "after", "around", "round", "toward", "towards") and len(subject_now) == 1 and \
                subject_now[0].kind == "animal" and subject_now[0].gender is None and not subject_now[0].group:
            # "Xochi trotted off with one sleeve dragging behind her": the puppy herself, or the woman named before?
            self.doubt = f"\u201c{p}\u201d could be {self._call(subject_now[0])}"
            return []
        if subject and p in ("he", "she") and pos is not None and not any(
                w in lx.SUBORDINATORS for w in self.cur_lows[:pos]):
            # "He swims out and tows the boy back": a name or a description after the subject pronoun of the
            # sentence is someone else (not so in a clause before the main one, "When he woke, the boy ate", nor
            # for a possessive: "Her father lifted Mia up")
            later = [x for c in self.cur_chunks if c.kind == "ref" and c.start > pos and len(c.ids) == 1 and
                     self.cur_lows[c.start] not in lx.POSSESSIVES for x in c.ids]  # (not "his friends": his own)
            seen = [e for e in seen if e.id not in later]
            ents = [e for e in ents if e.id not in later]
        # he/she: a person of that gender or of unknown gender; an animal or a machine only when the story gave it
        # that gender, or when no person fits.
        cands = [e for e in seen if not e.group and (e.gender == g or e.gender is None and e.kind == "person")]
        near = set(self._before(pos)) | set(self.cur_mentioned) | self.prev_mentioned
        if not cands or any(e.kind == "animal" for e in cands) or not any(
                e.id in near | self.prev_possessors for e in cands) and any(
                e.id in near and e.kind == "animal" and e.gender is None and not e.group for e in seen):
            # the animals of unknown gender too when no person fits, or when the story already calls an animal
            # "he" ("Hubert lifts his head … Kipper sits by the gate. He nudges her": Kipper may be he), or when the
            # only one close by is an animal ("a pup called Kelp sits and barks. Then he dives in")
            cands += [e for e in seen if not e.group and e.kind == "animal" and e.gender is None]
        if subject and len(self.prev_subject) == 1 and self.prev_subject[0] in self.reg.by_id and not any(
                self.reg.by_id[x].kind == "person" for x in self.prev_mentioned |
                (self.prev_possessors - self.prev_subject_owners) if x in self.reg.by_id):
            # the animal the sentence before was about, with no one else in it but an owner ("Kasimir's rabbit,
            # Radish, slipped out of her hutch. She hopped over the lawn")
            last = self.reg.by_id[self.prev_subject[0]]
            if last.kind == "animal" and not last.group and last.gender in (None, g) and last not in cands and \
                    last in seen:
                cands.append(last)
        # a person whose first name is almost only the other sex's is no candidate when one person is left
        # ("Maelis … Osgood … she": Maelis), and no name the reader did not place is near ("Priya marched up to
        # Gavin from accounts, and he blushed"); else it is no guess
        named_other = [e for e in cands if e.gender is None and e.named and e.kind == "person" and
                       lx.name_gender(e.name) not in (None, g)]
        left = [e for e in cands if e not in named_other]
        if named_other and len(left) == 1 and left[0].kind == "person" and left[0].named and \
                not self.stray_name_near and not any(  # (nor an animal just named: "led the dog out, and she
                    # trembled")
                    x in self.reg.by_id and self.reg.by_id[x].kind == "animal" for x in self.cur_mentioned):
            cands = left
        # a named boat or machine when no one else fits ("Wilhelmina is a little red tugboat. Every morning she chugs")
        cands = cands or [e for e in seen if not e.group and e.kind in ("vehicle", "machine") and e.named and
                          e.gender is None]
        hit, self.doubt = self._sure(p, cands, pos, subject)
        if hit is not None and hit in named_other:
            # ("Maelis waves to Gavin, and he grins": not Maelis, whose name is a woman's; Gavin was not found)
            sex = "a woman's" if g == "m" else "a man's"
            self.doubt = f"\u201c{p}\u201d could be {self._call(hit)}, but that name is mostly {sex}"
            hit = None
        named_before = set(self._before(pos)) | {e.id for e in cands if e.since < self.story_no or e.declared}
        others = [e for e in cands if e is not hit and (e.id in self.cur_possessors or e.id in self.cur_mentioned)]
        if hit is not None and after_subordinator and others:
            # "licked Dad's face until he woke up": the dog, or Dad?
            self.doubt = f"\u201c{p}\u201d could be {self._call(hit)} or " + " or ".join(self._call(e) for e in others)
            hit = None
        someone_here = next((c.head for c in self.cur_chunks if c.kind == "np" and pos is not None and c.end <= pos and
                             self.cur_lows[c.start] in ("a", "an") and
                             lx.ENTITY_NOUNS.get(c.head, ("",))[0] == "person" and
                             (c.head not in lx.MALE | lx.FEMALE or c.head in (lx.MALE if g == "m" else lx.FEMALE))),
                            None)
        if hit is not None and someone_here and hit.id not in self._before(pos):
            # "Nobody believes a liar, even when he tells the truth": the liar, no one of the story
            self.doubt = f"\u201c{p}\u201d could be the {someone_here} or {self._call(hit)}"
            hit = None
        if hit is not None and self.prev_newcomer and hit.id not in self.prev_mentioned and \
                hit.id not in self._before(pos) and (self.prev_newcomer not in lx.MALE | lx.FEMALE or
                                                     self.prev_newcomer in (lx.MALE if g == "m" else lx.FEMALE)):
            # "a small boat chugged upstream with a nurse on board. She scrambled up": the nurse, maybe
            self.doubt = f"\u201c{p}\u201d could be the {self.prev_newcomer} or {self._call(hit)}"
            hit = None
        if hit is not None and hit.gender is None and any(e.gender == g and e.id in named_before and e.kind == hit.kind
                                                          for e in cands if e is not hit):
            # "Lina and her grandfather walked. He spread …": the one known to be "he" may be meant as well
            self.doubt = f"\u201c{p}\u201d could be {self._call(hit)} or " + " or ".join(
                self._call(e) for e in cands if e is not hit and e.gender == g and e.id in named_before and
                e.kind == hit.kind)
            hit = None
        if hit is not None and subject and p in self.prev_doubtful and not self._before(pos) and \
                not self.cur_mentioned:
            # "… and she waves both arms" could not be told; then "'Travelling!' she calls": the same one, unknown
            self.doubt = f"\u201c{p}\u201d goes on from the sentence before, where it could not be told"
            hit = None
        if hit is None:  # the guess of recency, kept only to show what was left out
            if subject and p in ("he", "she"):
                self.cur_doubtful.add(p)
            elif p == "him":  # "caught him" could not be told; then "He clipped a stump": unknown too
                self.cur_doubtful.add("he")
            fits = [e for e in ents if (e.gender == g or e.gender is None) and not e.group]
            hit = next((e for e in fits if e.kind == "person" or e.gender == g), None) or next(
                (e for e in fits if e.kind == "animal"), None)
            return [hit.id] if hit else []
        if hit.gender is None and (subject or p == "him" and len(cands) == 1):
            hit.gender = g  # "She rolls…", "pushed it to him" (the only one it could be): from now on "she", "he"
        if subject:
            self.cur_pronoun_subjects[p] = [hit.id]
        return [hit.id]

    def _they(self, p: str, seen: list, pos: int | None) -> list[str]:
        """"they"/"them": the plural subject or the one group in view, or the one pair in view (or in the whole
        story). Anything else is a guess."""
        view = set(self._before(pos)) | set(self.cur_mentioned) | self.prev_mentioned
        groups = [e for e in seen if e.group and e.id in view]
        single = [e for e in seen if not e.group and e.kind != "thing"]
        refs = [c for c in self.cur_chunks if c.kind == "ref" and pos is not None and c.start < pos]
        if p == "they" and pos and self.cur_lows[0] in lx.SUBORDINATORS and self.cur_lows[pos - 1] == "," and \
                len(refs) == 1 and len(refs[0].ids) == 1 and refs[0].ids[0] in self.reg.by_id and \
                self.reg.by_id[refs[0].ids[0]].group:
            return list(refs[0].ids)  # "When at last the lionesses rise, they pad past": the lionesses
        if p == "they" and pos and self.cur_lows[pos - 1] in ("but", "and", "so") and len(refs) == 1 and \
                refs[0].start <= 1 and len(refs[0].ids) == 1 and refs[0].ids[0] in self.reg.by_id and \
                self.reg.by_id[refs[0].ids[0]].group:
            return list(refs[0].ids)  # "Both twins slip in the mush, but they scramble up": the twins
        before = self._before(pos)
        here = [e for e in single if e.id in before and e.kind in ("person", "animal")]
        if len(here) == 2 and len(before) == 2:
            # "ياسمين woke her grandfather, and together they dragged the ladder": the two this sentence named
            return [e.id for e in here]
        owners = [self.reg.by_id[x] for x in self.cur_possessors if x in self.reg.by_id] if pos is not None else []
        owners = [e for e in owners if any(x == e.id for c in self.cur_chunks if c.kind == "ref" and c.start < pos
                                           for x in c.ids)]
        if len(here) == 1 and len(before) == 1 and len(owners) == 1 and owners[0].kind == "person" and \
                owners[0] is not here[0]:
            # "Edith shook Mortimer's hand, and they went to the tea tent": the two this sentence named
            return [here[0].id, owners[0].id]
        people_here = next((c.head for c in self.cur_chunks if c.kind == "np" and c.plural and pos is not None and
                            c.start < pos and (lx.group_of(c.head) or ("",))[0] in ("person", "animal") and
                            # the subject of a verb, or of the sentence (not "for the Foxes, and they")
                            (c.start == 0 or c.end < len(self.cur_lows) and
                             _finite_readings(self.cur_lows[c.end]) & {"VBD", "VBZ", "VBP"})), None)
        if people_here is not None:
            # "the audience roared. Finally the graduates tossed their caps, and they hugged": the graduates (no
            # character found), not the group in view
            self.doubt = f"\u201c{p}\u201d could be the {people_here}"
            return [e.id for e in groups][:1] or [e.id for e in single if e.id in view][:2]
        together = pos is not None and self.cur_lows[pos + 1:pos + 2] in (["both"], ["all"])
        # "Together they tiptoe", "they carry warm bowls": people or animals, not the things named before
        # ("They drop the strands into the boil, rinse them and eat": the third verb is a person's, so are all)
        clause_end = next((x for x in range(pos + 1, len(self.cur_lows)) if self.cur_lows[x] in (";", ".") or
                           self.cur_lows[x] in lx.SUBORDINATORS), len(self.cur_lows)) if pos is not None else 0
        animate_cue = pos is not None and (self.cur_lows[pos - 1:pos] == ["together"] or lx.verb_lemma(
            self.cur_lows[pos + 1] if pos + 1 < len(self.cur_lows) else "") in lx.ANIMATE_ONLY_VERBS or any(
                self.cur_lows[x - 1] in (",", "and") and _finite_readings(self.cur_lows[x]) and
                lx.verb_lemma(self.cur_lows[x]) in lx.ANIMATE_ONLY_VERBS for x in range(pos + 2, clause_end)))
        things_of_one = next((c.head for c in self.cur_chunks if c.kind == "np" and c.plural and pos is not None and
                              c.start < pos and c.head not in lx.TIME_NOUNS and not lx.group_of(c.head)), None)
        bare = self.cur_lows[pos - 2] if pos is not None and pos >= 2 and \
            self.cur_lows[pos - 1] in ("until", "till", "when", "before", "as") else ""
        if not things_of_one and lx.is_plural_noun(bare) and not lx.names_someone(bare) and bare not in lx.TIME_NOUNS:
            things_of_one = bare  # "chipping away tiny pieces until they match": the pieces, maybe
        each = next((c.head for c in self.cur_chunks if c.kind == "np" and pos is not None and c.start < pos and
                     self.cur_lows[c.start] in ("every", "each") and not lx.entity_noun(c.head)), None)
        if each and not things_of_one and not animate_cue:
            from lemminflect import getInflection

            # "stabs at every strand, but they all slide past": the strands, maybe
            things_of_one, together = (getInflection(each, "NNS") or (each,))[0], False
        if things_of_one and len(before) == 1 and not together and not groups:
            # "Mekdes stirs the onions … until they turn soft": after one person and their things, the things
            self.doubt = f"\u201c{p}\u201d could be the {things_of_one}"
            return [e.id for e in single if e.id in view][:2] or [e.id for e in single][:2]
        counted = next((self.cur_lows[x] for x in range(1, pos or 0) if self.cur_lows[x] in lx.NUMBERS and
                        _finite_readings(self.cur_lows[x - 1]) & {"VBD", "VBZ"} and
                        self.cur_lows[x + 1] in lx.SUBORDINATORS | {",", "and"}), None) if p == "they" else None
        if counted and not groups:
            # "came back and ate two before they went into the oven": they may be the two eaten
            self.doubt = f"\u201c{p}\u201d could be the {counted} things"
            return [e.id for e in single if e.id in view][:2] or [e.id for e in single][:2]
        if self.last_plural and all(x in view for x in self.last_plural) and all(
                e.id in self.last_plural for e in groups):
            return self._or_the_pair(p, list(self.last_plural))
        if len(groups) == 1 and not (self.last_plural and any(x in view for x in self.last_plural)):
            return self._or_the_pair(p, [groups[0].id])
        # "they both laugh", "they all cheered": people (or animals) together, not the things named before
        things_here = next((c.head for c in self.cur_chunks if c.kind == "np" and c.plural and pos is not None and
                            c.start < pos and c.head not in lx.TIME_NOUNS), None) if not together else None
        if things_here and not groups:
            # "She stretches her paws as high as they go": they may be the paws
            self.doubt = f"\u201c{p}\u201d could be the {things_here}"
            return [e.id for e in single if e.id in view][:2] or [e.id for e in single][:2]
        things_before = self.prev_plural_things if not groups and (not self._before(pos) or p == "them") else None
        if not things_before and not groups and pos == 1 and self.cur_lows[0] in lx.SUBORDINATORS:
            # "子軒 drops the balls into the water, while 婉婷 stirs. When they float to the top": the balls, maybe
            things_before = self.prev_any_plural_thing
        things_before = things_before or self.cur_them_things  # ("beat them … until they stood up": the same)
        things_before = None if together else things_before
        # (when the things were passed over so, the pair below must be in view, or the story's only two people:
        # not a kitten and the jerboa that ran off, when her mother went unfound)
        things_passed_over = bool(things_before and animate_cue)
        things_before = None if things_passed_over else things_before
        if things_before:
            # "lowers the first balls into it. They sizzle", "separated the whites. Isidore beat them": they may be
            # the things, not the two people
            self.doubt = f"\u201c{p}\u201d could be the {things_before}"
            if p == "them":
                self.cur_them_things = things_before
            return [e.id for e in single if e.id in view][:2] or [e.id for e in single][:2]
        # (a vehicle or a machine that has not acted is a thing here: "drives up on a snowmobile. Together they lift")
        side_by_side = pos is not None and self.cur_lows[pos - 1:pos] == ["together"]
        pair = [e for e in single if e.id in view and (e.kind in ("person", "animal") or e.id in self.actors and
                                                       not side_by_side)]  # ("Together they filled it": no van)
        people_before = [x for x in self.last_plural if x in self.reg.by_id and self.reg.by_id[x].kind == "person"]
        if not groups and len(pair) == 2 and len(people_before) >= 2 and any(e.kind == "animal" for e in pair) and \
                not all(e.id in people_before for e in pair):
            # "Alfie, Mabel and Jonas … They crawled inside. Mabel's dog pushed in until Jonas pulled him in. They
            # huddled": the children who acted together, or the boy and the dog just named?
            self.doubt = f"\u201c{p}\u201d could be " + " and ".join(self._call(e) for e in pair) + " or " + \
                " and ".join(self._call(self.reg.by_id[x]) for x in people_before)
            return [e.id for e in pair]
        if not groups and len(pair) == 2 and len(self.last_plural) > 2 and all(
                e.id in self.last_plural and e.kind == "person" for e in pair):
            # "Hamish, Gemma and their cousin Jiten cycled … Hamish splashed Jiten … They swam out": the three who
            # acted together, not the two just named
            return list(self.last_plural)
        if not groups and len(pair) == 2:
            return [e.id for e in pair]
        # the story's only two: "They reach the pier" (a boat that has not acted is a thing here: "rode on the old
        # ferry with her uncle … They climbed to the top deck")
        acting = [e for e in single if e.kind != "vehicle" or e.id in self.actors]
        if not any(e.group for e in seen) and len(acting) == 2 and (
                not things_passed_over or all(e.kind == "person" for e in acting)):
            return [e.id for e in acting]
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

    def _or_the_pair(self, p: str, ids: list[str]) -> list[str]:
        """``ids`` for "they", unless it is a group of animals or machines while two people of the story have acted
        together ("he and his granddaughter Rhea put on their suits … A few bees crawled … Back in the kitchen, they
        scraped the wax"): then either could be meant, and it is a guess."""
        if len(ids) == 1 and self.reg.by_id[ids[0]].group and self.reg.by_id[ids[0]].kind != "person" and \
                len(self.person_pair) >= 2:
            self.doubt = f"\u201c{p}\u201d could be the {self._call(self.reg.by_id[ids[0]]).split()[-1]} or " + \
                " and ".join(self._call(self.reg.by_id[x]) for x in self.person_pair)
        return ids

    def learn_gender(self, who: list[str], possessive: str) -> None:
        """"Lucía brushes her pony": the subject's own possessive tells its gender (when there is one subject)."""
        if len(who) == 1 and who[0] in self.reg.by_id and possessive in ("his", "her"):
            e = self.reg.by_id[who[0]]
            g = "m" if possessive == "his" else "f"
            if any(x != e.id and x in self.reg.by_id and self.reg.by_id[x].gender == g for x in self.prev_subject):
                return  # "His mum walks him to the gate. Arturo holds her hand": her hand may be his mum's
            if ("his" if possessive == "her" else "her") in self.cur_lows and any(
                    x != e.id and x in self.reg.by_id and self.reg.by_id[x].animate and
                    self.reg.by_id[x].gender in (None, g) for x in self.cur_mentioned):
                return  # "Whenever Tibbet flew off, Ruskin … pried her store loose with his beak": Tibbet's store
            if e.gender is None:
                e.gender = g
