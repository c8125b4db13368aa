"""Reading text for the built-in planner: sentences, words, and scenes from paragraphs.

The sentence splitter keeps quotations whole: a scene or sentence never ends inside "…"."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ..schema import slug
from . import lexicon as lx

_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Capt", "Mt", "Lt", "Col", "Gen", "Sgt")
_ABBREV_RE = re.compile(r"\b(" + "|".join(_ABBREVIATIONS) + r")\.", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+")


def _marks() -> str:
    """Every combining mark of the Basic Multilingual Plane (Unicode categories Mn, Mc, Me) as ranges of a regex
    class. ``\\w`` matches letters but not marks, so "มะลิ" (Thai, with the vowel sign U+0E34), Devanagari, Arabic
    with vowel points and Hebrew with points would be cut short."""
    out, start = [], None
    for c in range(0x300, 0x10001):
        is_mark = c < 0x10000 and unicodedata.category(chr(c))[0] == "M"
        if is_mark and start is None:
            start = c
        elif not is_mark and start is not None:
            out.append(f"\\u{start:04x}" + (f"-\\u{c - 1:04x}" if c - 1 > start else ""))
            start = None
    return "".join(out)


W = rf"[\w{_marks()}]"  # a character of a word, in any script: letters, digits, "_" and combining marks
_TOKEN = re.compile(rf"{W}+(?:[-’']{W}+)*|[’']s\b|[.,;:!?]")


_QUOTE = re.compile(r"[\"“”]")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")


def _inside_quote(text: str) -> bool:
    """Does ``text`` end inside a quotation ("…, straight or curly)?"""
    marks = _QUOTE.findall(text)
    return marks.count('"') % 2 == 1 or marks.count("“") > marks.count("”")


def _speaker_follows(rest: str) -> bool:
    """``rest`` (after a closing quote) starts by saying who spoke: "she says", "Mia shouts", "said Tom"."""
    # (split at spaces, not at \W: a vowel sign inside "सुनिता" is no word character)
    words = [w for w in (t.strip(".,;:!?\"'“”‘’()[]—–-\u2024") for t in rest.split()) if w][:4]
    if not words:
        return False
    if len(words) > 2 and words[0].lower() in lx.TITLES and words[1][:1].isupper():
        words = words[1:]  # `"Bravo!" Mrs. Dimitrova shouts`: the name after its title
    if words[0][:1].islower() or lx.verb_lemma(words[0]) in lx.SPEECH_VERBS:
        return True
    # `"Sorry!" Nimbo squeaks`: a name and its verb right after the quote say who spoke, whatever the verb
    # (a name in a script without capitals too: `"Don't squash it!" 하람 begs`)
    return len(words) > 1 and (lx.verb_lemma(words[1]) in lx.SPEECH_VERBS or (
        words[0][:1].isupper() or caseless(words[0])) and bool(_finite_readings(words[1]) & {"VBZ", "VBD"}))


def _narrated(text: str) -> bool:
    """Has the sentence so far words outside its quotations? Then it said who spoke already, and a capital after a
    closing quote starts the next sentence: `"I moved it," Tom said, "because…" Mrs. Ode laughed and stepped back.`
    (`shouts "Pink!" and punches` goes on)"""
    return bool(re.search(r"[^\W\d_]", _QUOTED.sub(" ", text)))


def sentences(text: str) -> list[str]:
    """Split a paragraph into sentences on ., ! or ? followed by a space ("Mr. Haruki" is not an end). Never inside a
    quotation, nor between a quotation and the words that say who speaks: `"Dinner is ready!" she calls.`"""
    protected = _ABBREV_RE.sub(lambda m: m.group(1) + "\u2024", " ".join(text.split()))
    out, start = [], 0
    for m in _SENTENCE_END.finditer(protected):
        if _inside_quote(protected[:m.end()]):
            continue
        rest = protected[m.end():]
        if _QUOTE.search(m.group()) and _speaker_follows(rest) and not (
                _narrated(protected[start:m.end()]) and _cap(rest.split()[0].strip("\"“‘'("))):
            continue  # `"Look!" she says`, `"Look!" Mia shouts`: the speaker is part of the sentence
        out.append(protected[start:m.start() + len(m.group().rstrip())])
        start = m.end()
    out.append(protected[start:])
    return [s.strip().replace("\u2024", ".") for s in out if s.strip()]


def without_speech(sentence: str) -> str:
    """The narration of a sentence with its quoted speech taken out (the words inside quotes are no actions), and
    `says Tom` put as `Tom says`: `"I lost my keys," Tom says, looking down.` → `, Tom says, looking down.`"""
    text = _QUOTED.sub(" , ", sentence)
    m = re.match(rf"^([\s,]*)(\w+)\s+([A-Z]{W}*|[^\W\d_]{W}*(?=[\s,.]))", text)
    if m and lx.verb_lemma(m.group(2)) in lx.SPEECH_VERBS and not lx.verb_lemma(m.group(3)) and (
            m.group(3)[0].isupper() or caseless(m.group(3))):
        name, end = m.group(3), m.end()
        while True:  # the whole name: "says Mr. Hartwell", "says Commander Bankole"
            more = re.match(r"(\.?)\s+([A-Z][\w'’-]*)", text[end:])
            if more is None or more.group(1) and name.split()[-1].lower() not in lx.TITLES:
                break
            name, end = f"{name}{more.group(1)} {more.group(2)}", end + more.end()
        return f"{m.group(1)}{name} {m.group(2)}{text[end:]}"
    # `"Let me help," says the bus driver, stepping out` → `the bus driver says, stepping out`
    m = re.match(r"^([\s,]*)(\w+)\s+(the|a|an|his|her|their|its|my|our)\s+", text, flags=re.IGNORECASE)
    if m and lx.verb_lemma(m.group(2)) in lx.SPEECH_VERBS:
        words = re.match(r"[^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,3}", text[m.end():])
        noun = [w for w in (words.group().split() if words else [])]
        cut = next((k for k, w in enumerate(noun) if w.lower() in lx.PREPOSITIONS or w.lower() in lx.CONJUNCTIONS),
                   len(noun))
        if cut:
            phrase = f"{m.group(3)} {' '.join(noun[:cut])}"
            rest = text[m.end():]
            rest = rest[rest.index(noun[cut - 1]) + len(noun[cut - 1]):]
            # `"Next!" calls the director, Mrs. Okafor, flipping` → `the director, Mrs. Okafor, calls, flipping`:
            # the name set beside the speaker stays beside it
            name = re.match(r"\s*,\s*((?:[^\W\d_][\w'’-]*\.?\s+){0,2}[^\W\d_][\w'’-]*)\s*,", rest)
            if name and all(w[0].isupper() or caseless(w) for w in name.group(1).split()):
                return f"{m.group(1)}{phrase}, {name.group(1)}, {m.group(2)},{rest[name.end():]}"
            # (`says the sound engineer, a bearded man called Marcus, waving`: the name said in an apposition)
            called = re.match(r"\s*,\s*((?:a|an)\s+(?:[^\W\d_][\w'’-]*\s+){1,4}(?:called|named)\s+"
                              r"(?:[^\W\d_][\w'’-]*\.?\s+)?[^\W\d_][\w'’-]*)\s*,", rest)
            if called and _cap(called.group(1).split()[-1]):
                return f"{m.group(1)}{phrase}, {called.group(1)}, {m.group(2)},{rest[called.end():]}"
            return f"{m.group(1)}{phrase} {m.group(2)}{rest}"
    return text


def tokens(text: str) -> list[str]:
    """Words (any script, with inner hyphens: "ARI-7"), a possessive "'s", and punctuation."""
    text = _ABBREV_RE.sub(lambda m: m.group(1), text)
    # "a gangly man known as Gareth" names him as "called" does (one word, so every rule of "called" reads it)
    text = re.sub(rf"\bknown as (?=({W}+))", lambda m: "called " if _cap(m.group(1)) else m.group(), text)
    # a plural's possessive is a possessive too: "The ice miners' base" → "miners", "'s", "base"
    text = re.sub(r"(?<=[^\W\d_]s)['’](?=\s+[^\W\d_])", " 's", text)
    out = []
    for t in _TOKEN.findall(text):
        if re.fullmatch(rf"{W}+[’']s", t) and not t.lower().endswith(("'s'", "’s’")):
            out += [t[:-2], "'s"]  # "Amara's" → "Amara", "'s"
        else:
            out.append("'s" if t in ("’s", "'s") else t)
    return out


def _cap(t: str) -> bool:
    """Written like a name: an upper-case initial, or a letter of a script without case ("陳", "سلمى", "さくら")."""
    return t[:1].isupper() or caseless(t)


def caseless(t: str) -> bool:
    """A word of a script without capital letters (Han, Kana, Hangul, Arabic, Hebrew, Thai, …). Georgian is one:
    Unicode calls its everyday letters lower case ("ნინო"), but names are not written with its capitals."""
    c = t[:1]
    return c.isalpha() and (not c.isupper() and not c.islower() or "\u10d0" <= c <= "\u10ff")


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



def _closed(w: str) -> bool:
    """A function word that is never a name or a verb here."""
    return (w in lx.DETERMINERS or w in lx.POSSESSIVES or w in lx.SUBJECT_PRONOUNS or w in lx.OBJECT_PRONOUNS
            or w in lx.PREPOSITIONS or w in lx.CONJUNCTIONS or w in lx.ADVERBS or w in lx.REFLEXIVES
            or w in lx.RELATIVES)


def _home_side(lows: list[str], k: int) -> bool:
    """"the home fans", "the away supporters": "home" and "away" describe the people after an article (elsewhere they
    are adverbs: "ran home"). Not a team: "the home team trails by one run" is the score, and its players are the
    team's, not others."""
    return lows[k] in ("home", "away") and k >= 1 and lows[k - 1] in ("the", "their", "our") and k + 1 < len(lows) and \
        lx.names_someone(lows[k + 1]) and lows[k + 1] not in lx.TEAMS


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



def _appositive_after(toks: list[str], i: int) -> bool:
    """toks[i:] starts ", a small delivery robot," (an appositive describing the word before)."""
    return i + 1 < len(toks) and toks[i] == "," and toks[i + 1].lower() in ("a", "an", "the")



# Prepositions of a phrase that describes a noun: "a baker in the next boat", "an old man with a cane".
MODIFIER_PREPS = frozenset("in on with from at of near under beside behind inside outside above below without along "
                           "across around among beneath by".split())  # ("Three kids by the window unrolled")


def _bare_plural_end(toks: list[str], m: int) -> int | None:
    """toks[m:] is a plural without an article ("white leotards", "red boots") right before a verb: the index after
    it; None otherwise."""
    for q in range(m, min(m + 3, len(toks) - 1)):
        if not _word(toks[q]) or _closed(toks[q].lower()):
            return None
        w = toks[q].lower()
        if (lx.is_plural_noun(w) or w.endswith("s") and lx.is_noun(w)) and \
                _finite_readings(toks[q + 1]) & {"VBZ", "VBP", "VBD"}:  # ("in pink tights")
            return q + 1
    return None


def bare_singular(toks: list[str], k: int) -> bool:
    """toks[k] is a singular common noun without a determiner, which names no agent after "by": "by hand", "by
    bus", "by mistake" (but "by Mateusz", "by the wind", "by volunteers", "by 陳")."""
    if k >= len(toks) or _cap(toks[k]):
        return False
    w = toks[k].lower()
    return lx.is_noun(w) and not lx.is_plural_noun(w) and w not in lx.DETERMINERS | lx.POSSESSIVES


def pp_end(toks: list[str], j: int, plural: bool = False) -> int:
    """The index after the prepositional phrases at toks[j:] that describe the noun before them, up to its verb:
    "[A baker] in the next boat | laughs", "[the crowd] in the stands | stamps"; ``j`` when there are none. Each
    phrase needs a determiner ("in the stands"), and its first word is its noun's ("stands" is no verb there)."""
    lows = [t.lower() for t in toks]
    k = j
    while k < len(toks) and lows[k] in MODIFIER_PREPS:
        m = k + 1
        if lows[m:m + 2] in (["front", "of"], ["top", "of"]):
            m += 2  # "the crowd in front of the stage"
        if m + 1 < len(toks) and lows[m] in ("him", "her", "them", "me", "us") and (
                _finite_readings(toks[m + 1]) & {"VBZ", "VBD"} or plural and "VBP" in _finite_readings(toks[m + 1])):
            k = m + 1  # "the nurse beside him | scans": the pronoun is the phrase's, not the verb's subject
            continue
        if lows[m:m + 2] == ["next", "door"]:
            k = m + 2  # "Kit and his friend حمزة from next door | built"
            continue
        if lows[m:m + 1] == ["number"] and m + 1 < len(toks) and (lows[m + 1] in lx.NUMBER_WORDS or
                                                                 toks[m + 1][:1].isdigit()):
            k = m + 2  # "a neighbour from number nine | , Mr. Okafor,": a house
            continue
        if lows[k] == "from" and lows[m:m + 1] and lows[m] in ("downstairs", "upstairs", "nearby", "abroad", "overseas",
                                                               "afar"):
            k = m + 1  # "Mr. Abbas from downstairs | taps at her door"
            continue
        if (lows[k], lows[m:m + 1]) in (("on", ["duty"]), ("in", ["charge"]), ("on", ["guard"]), ("in", ["goal"]),
                                        ("on", ["board"]), ("on", ["watch"])):
            k = m + 1  # "The teacher on duty | blows", "the man in charge | shouts": a role, no place
            continue
        if m < len(toks) and (lows[m] in lx.DETERMINERS or lows[m] in lx.POSSESSIVES):
            m += 1
            if lows[m - 1] == "the" and lows[k] in ("from", "in", "at", "near") and m < len(toks) and \
                    _cap(toks[m]) and _word(toks[m]):
                while m < len(toks) and _cap(toks[m]) and _word(toks[m]):
                    m += 1  # "twelve children from the Riverside Canoe Club | shuffle": a place's name
                k = m
                continue
        elif lows[k] in ("in", "with", "on") and _bare_plural_end(toks, m) is not None:
            k = _bare_plural_end(toks, m)  # "Twelve small dancers in white leotards | line up", "Two teenagers on
            # skateboards | coasted up"
            continue
        elif m < len(toks) and _cap(toks[m]) and _word(toks[m]) and lows[k] in ("from", "in", "at", "near"):
            while m < len(toks) and _cap(toks[m]) and _word(toks[m]):
                m += 1  # "Three kids from Quarry Road | built", "A girl from Leeds | waves": a place's name
            k = m
            continue
        elif not (lows[k] == "of" and m < len(toks) and (lx.group_of(lows[m]) or m + 1 < len(toks) and
                                                          lx.group_of(lows[m + 1]) and not _closed(lows[m]))):
            break  # (but "a group of schoolchildren", "a family of howler monkeys")
        n = 0
        # words of the noun phrase; "next", "far" are adverbs elsewhere but adjectives here ("in the next boat")
        while m < len(toks) and _word(toks[m]) and (not _closed(lows[m]) or not n and lows[m] in lx.NUMBERS or
                                                     lows[m] in lx.ADVERBS and lows[m] not in lx.CONJUNCTIONS) \
                and not _cap(toks[m]):  # "of the three"
            tags = _finite_readings(toks[m])
            nxt = _finite_readings(toks[m + 1]) if m + 1 < len(toks) else frozenset()
            # ("The spectators behind the barrier | wave flags and bang cowbells": a plural object after the verb)
            plural_object = m + 2 < len(toks) and lx.is_plural_noun(lows[m + 1]) and (
                lows[m + 2] in lx.CONJUNCTIONS or lows[m + 2] in lx.PREPOSITIONS or not _word(toks[m + 2]))
            # ("Two judges behind the scoring table | lean forward": a particle after it, no verb)
            if n and (tags & {"VBZ", "VBD"} or plural and tags & {"VBP"} and (
                    not nxt & {"VBZ", "VBD", "VBP"} or plural_object or lows[m + 1] in lx.PARTICLES)) and \
                    not (lows[k] == "of" and lx.group_of(lows[m]) and nxt & {"VBZ", "VBD", "VBP"}) and \
                    not (nxt & {"VBD"} and lx.is_plural_noun(lows[m])) and \
                    not ("VBP" in nxt and lx.is_plural_noun(lows[m]) and not lx.is_plural_noun(lows[m + 1]) and
                         lows[m + 2:m + 3] and lows[m + 2] in lx.PREPOSITIONS | lx.PARTICLES) and \
                    not ("VBG" in _finite_readings(toks[m - 1]) and lx.is_noun(lows[m]) and
                         not tags & {"VBZ", "VBD"}):  # ("in their best clothes | drifted"; "from the figure
                # skating club | rushes": a noun after its gerund)
                break  # "in the park | play", but "from the next farm | ran", "of howler monkeys | swings"
            n, m = n + 1, m + 1
            if m + 1 < len(toks) and toks[m] == "'s":
                m, n = m + 1, 0  # "on her father's shoulders": "shoulders" is a noun there
        if not n:
            break
        k = m
    return k


def interrupter(toks: list[str], k: int, plural: bool = False) -> tuple[str | None, int] | None:
    """A phrase between commas right after a subject, before its verb: a participle ("The umpire, sitting on a
    high chair, calls" → ("sit", index of "calls"); also without commas when its object follows, "A man carrying a
    crate waved" → ("carry", index of "waved")) or an indefinite apposition ("The operator, a grey-bearded
    man wearing a hat, opens" → (None, index of "opens")); None when toks[k] opens no such phrase."""
    lows = [t.lower() for t in toks]
    if k + 3 < len(toks) and _finite_readings(toks[k]) & {"VBZ", "VBD", "VBG"} == {"VBG"} and \
            lows[k + 1] in lx.DETERMINERS | lx.POSSESSIVES | lx.PREPOSITIONS:
        # without commas: "A man wearing a red hat | waved", "the dog lying in the sun | yawned"
        for x in range(k + 2, min(len(toks), k + 9)):
            if toks[x] in (",", ";", ".", "\"") or lows[x] in ("and", "but", "or", "who", "which", "that"):
                return None
            tags = _finite_readings(toks[x])
            if (tags & {"VBZ", "VBD"} or plural and "VBP" in tags) and lx.is_noun(lows[x - 1]) and \
                    not lx.is_noun(lows[x]):
                participle = lx.verb_lemma(lows[k])
                return (None if participle in lx.NON_VISUAL else participle), x
        return None
    if not (k + 2 < len(toks) and toks[k] == ","):
        return None
    if k + 3 < len(toks) and toks[k + 2] == "," and (lows[k + 1] in lx.ADVERBS or lows[k + 1] in (
            "however", "though", "instead", "too", "meanwhile")) and _finite_readings(toks[k + 3]) & {"VBZ", "VBD"}:
        return None, k + 3  # "The salamander, meanwhile, slipped under a stone": an adverb between commas
    participle = "VBG" in _finite_readings(toks[k + 1]) and lx.verb_lemma(lows[k + 1])
    # (or a role with no article: "Sanni, captain of the Mud Geese, sprints")
    role = lx.ENTITY_NOUNS.get(lows[k + 1], ("",))[0] == "person" and lows[k + 2:k + 3] == ["of"]
    # ("Ines and Clara, two sisters from the gym, crawl": a count of the plural subject)
    counted = plural and lows[k + 1] in ("two", "three", "four", "both") and bool(lx.is_plural_noun(lows[k + 2]))
    # (or how it still is, what it wears: "A taxi driver, still in his cap, pushes", "The Millbrook team, in green
    # vests, huddles")
    placed = lows[k + 1] in ("still", "already") and lows[k + 2] in lx.PREPOSITIONS or lows[k + 1] in ("in", "with")
    if not (participle or role or counted or placed or lows[k + 1] in ("a", "an") or
            lows[k + 1] in ("his", "her", "their", "its", "our", "my")):
        return None  # ("Bosun, her shaggy old dog, bounds")
    close = next((x for x in range(k + 2, min(len(toks), k + 14)) if toks[x] in (",", ";", ".", "\"")), None)
    if close is None or toks[close] != "," or close + 1 >= len(toks) or any(
            lows[x] in ("and", "but", "who", "which", "that") for x in range(k + 1, close)):
        return None
    tags = _finite_readings(toks[close + 1])
    if not (tags & {"VBZ", "VBD"} or plural and tags & {"VBP"}) or lx.is_noun(lows[close + 1]) and not (
            tags & {"VBZ", "VBD"}) and not counted:
        return None
    if participle and participle in lx.NON_VISUAL:
        participle = None
    return (participle or None), close + 1


def compound_head(toks: list[str], j: int) -> bool:
    """Is toks[j], after a noun, the head of a compound rather than its verb: a noun whose only verb readings are the
    bare form, followed by a place phrase and then "was" or "is" ("the fish | market in Sokcho was busy")?"""
    lows = [t.lower() for t in toks]
    if j + 2 >= len(toks) or _finite_readings(toks[j]) & {"VBZ", "VBD"} or not lx.is_noun(lows[j]) or \
            lows[j + 1] not in lx.PREPOSITIONS:
        return False
    for k in range(j + 2, min(len(toks), j + 8)):
        if toks[k] in (",", ";") or lows[k] in lx.CONJUNCTIONS | {"who", "which", "that"}:
            return False
        if lows[k] in ("was", "is", "were", "are"):
            return True
    return False


def in_as_if_clause(toks: list[str], i: int) -> bool:
    """Is toks[i] inside an "as if" / "as though" clause ("brays as if she is laughing", "ran as if a bear were
    chasing her")? Such a clause says how something looks: no one in it acts, and it brings in no one."""
    lows = [t.lower() for t in toks]
    start = next((x for x in range(i - 1, -1, -1) if toks[x] in (",", ";")), -1)
    return any(lows[x:x + 2] in (["as", "if"], ["as", "though"]) for x in range(start + 1, i))


def reduced_relative_end(toks: list[str], k: int, plural: bool = False) -> int:
    """toks[k] after a subject is a past participle describing it, and the subject's own verb follows its phrase:
    "The crowd packed into the gym | stamps their feet" → the index of "stamps" (or a past: "Spectators packed against
    the rope | clapped"). ``k`` otherwise (and for "rushed onto the stage in paper crowns and …": a plural after a
    preposition's bare noun is a noun)."""
    lows = [t.lower() for t in toks]
    from lemminflect import getInflection

    if lows[k] in ("dressed", "disguised") and lows[k + 1:k + 2] == ["as"]:
        # "Three kids dressed as shepherds | tripped over their tea towels": a costume, then the verb
        return next((m for m in range(k + 3, min(len(toks), k + 8)) if _finite_readings(toks[m]) & (
            {"VBZ", "VBD", "VBP"} if plural else {"VBZ", "VBD"}) and lows[m - 1] not in lx.DETERMINERS and
                     not (plural and lx.is_plural_noun(lows[m]))), k)  # ("dressed as snowflakes | whirl")
    base = lx.verb_lemma(lows[k]) if k + 1 < len(toks) else None
    if not base or lows[k] not in getInflection(base, "VBN") or lows[k + 1] not in lx.PREPOSITIONS:
        return k  # (a past participle, "packed", not "came"; its phrase is a place: "packed into the gym")
    for m in range(k + 1, min(len(toks), k + 9)):
        if toks[m] in (",", ";", ".", ":") or lows[m] in ("and", "but", "or", "who", "which", "that"):
            return k
        tags = _finite_readings(toks[m])
        nxt = lows[m + 1] if m + 1 < len(toks) else ""
        if nxt in lx.PREPOSITIONS and m + 2 < len(toks) and (
                lows[m + 2] in lx.DETERMINERS | lx.POSSESSIVES | lx.NUMBERS or _cap(toks[m + 2])) or \
                lows[m + 1:m + 3] in (["one", "after"], ["one", "by"]):
            nxt = ""  # "walked to the fire station on Thursday", "down the zip line one after another": a phrase of
            # place, time or manner, no particle or object of a verb
        if m > k + 2 and lows[m - 1] not in lx.PREPOSITIONS | lx.PARTICLES | lx.DETERMINERS | lx.POSSESSIVES and \
                not _cap(toks[m]) and lx.is_noun(lows[m - 1]) and not lx.is_adjective(lows[m - 1]) and \
                not (lows[m - 2] in lx.PREPOSITIONS and lx.is_plural_noun(lows[m])) and \
                (tags & {"VBZ"} or plural and tags & {"VBP"}) and not tags & {"VBD"} and (
                nxt in lx.DETERMINERS or nxt in lx.POSSESSIVES or
                # (a plural's present verb needs its object after it: "their snow den in early spring" is a den)
                not (plural and "VBZ" not in tags) and (nxt in lx.PARTICLES or nxt in ("and", ","))):
            if not any(lows[x] in ("was", "were", "had") or _finite_readings(toks[x]) == {"VBD"}
                       for x in range(m + 1, len(toks))):
                return m  # (with its object or particle after it, in the present: "stamps their feet and chants")
            return k
        tense = "VBD" if "VBD" in tags else "VBP" if plural and "VBP" in tags and "VBZ" not in tags else None
        after = lows[m + 1] if m + 1 < len(toks) else ""
        then = m + 2 + (lows[m + 2:m + 3] == ["then"])  # ("gasp and then clap")
        ends = tense == "VBD" and (after in (".", ",", "as", "when", "while", "until") or
                                   after == "to" and lx.verb_lemma(lows[m]) in ("begin", "start")) or \
            after == "and" and then < len(toks) and tense in _finite_readings(toks[then])
        if m > k + 2 and tense and ends and lows[m - 1] not in lx.PREPOSITIONS | lx.PARTICLES | lx.DETERMINERS | \
                lx.POSSESSIVES and lx.is_noun(lows[m - 1]) and not lx.is_adjective(lows[m - 1]) and \
                lows[m] not in lx.ADJECTIVE_PARTICIPLES and \
                lows[k + 1] in ("against", "into", "along", "around", "behind", "on", "onto", "in") and all(
                    _word(toks[x]) and not _cap(toks[x]) and lows[x] not in lx.CONJUNCTIONS | lx.SUBJECT_PRONOUNS |
                    lx.OBJECT_PRONOUNS | lx.PREPOSITIONS for x in range(k + 2, m)):
            return m  # "Spectators packed against the rope | clapped and stamped", "dotted along the slope | began
            # to clap": the past after the phrase
            # ("The people packed along the fence | gasp and then clap": a plural's present, the same)
        if tags & {"VBD", "VBZ"} and m > k + 1:
            return k
    return k


@lru_cache(maxsize=None)
def _finite_readings(word: str) -> frozenset[str]:
    """Penn tags of the finite/participle verb readings of a word ("trots" → {VBZ}); empty for function words."""
    w = word.lower()
    if not w or not w[0].isalpha() or _closed(w) or w in lx.NOUN_FIRST:
        return frozenset()
    return frozenset(tag for _, tag in lx.verb_readings(w))



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

