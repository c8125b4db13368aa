"""Word lists of the built-in planner (planning/heuristic.py), and the verb morphology it borrows from lemminflect.

What is here is English *world knowledge* a rule-based planner cannot infer: which nouns name things that act (a
fox, a robot, a train, a waiter) and how big they are on screen, which words are function words, which verbs show
nothing a camera sees ("decides", "knows"), which nouns are places. Verb morphology (lemmas, "-ing" forms, whether
"trots" can be a third-person verb) comes from lemminflect, whose dictionary ships inside its wheel: no suffix rules.
"""

from __future__ import annotations

from functools import lru_cache

# Acting entities ---------------------------------------------------------------------------------------------------
# noun → (kind, shape). kind: person, animal, machine, vehicle. shape: the box family used by the layout.
ENTITY_NOUNS: dict[str, tuple[str, str]] = {}
for _kind, _shape, _words in (
    ("person", "person",
     "person man woman boy girl child kid baby toddler lady gentleman friend stranger neighbour neighbor waiter "
     "waitress chef cook baker farmer fisherman fisher sailor captain commander pilot driver doctor nurse teacher "
     "student keeper guard officer policeman policewoman soldier knight king queen prince princess wizard witch "
     "pirate astronaut explorer hiker runner dancer singer musician painter artist clown juggler mother father mom "
     "dad mum grandmother grandfather grandma grandpa granny aunt uncle sister brother son daughter granddaughter grandson niece nephew wife husband twin cousin "
     "shopkeeper vendor gardener ranger scientist professor postman mailman librarian coach referee athlete "
     "traveller traveler monk nun shepherd hunter mermaid elf fairy giant ghost commuter starter fireman"),
     # (WordNet's first commuter is a train, its first starter a dish; its list of people misses "fireman")
    ("animal", "small", "ram buck vixen hog "  # (WordNet's first ram is a battering ram, its first buck a dollar)
     "cat kitten dog puppy fox rabbit bunny hare mouse rat squirrel hedgehog raccoon badger otter "
     "beaver duck duckling goose chick chicken hen rooster frog toad turtle tortoise lizard snake crab penguin "
     "monkey piglet pig lamb sheep goat kid-goat koala panda cub wolf lynx seal ferret hamster"),
    ("animal", "large", "horse pony donkey mule cow bull ox calf deer stag elk moose bear lion tiger leopard cheetah "
     "elephant giraffe zebra camel rhino hippo gorilla kangaroo dragon unicorn dinosaur buffalo bison yak llama "
     "dolphin whale shark"),
    ("animal", "bird", "bird gull seagull heron owl eagle hawk falcon crow raven sparrow robin parrot pigeon dove "
     "swan stork crane pelican flamingo butterfly bee dragonfly bat moth ladybird ladybug firefly"),
    ("animal", "small", "fish goldfish octopus"),
    # more animals that act in stories (words that are mostly something else, "fly", "kit", are left out)
    ("animal", "small", "gosling cygnet joey pup tadpole fawn mole vole chipmunk stoat possum opossum armadillo "
     "meerkat lemur newt salamander gecko iguana lobster squid eel salmon trout carp minnow snail worm caterpillar "
     "beetle ant spider grasshopper hornet mosquito platypus porcupine sloth weasel skunk shrew"),
    ("animal", "large", "foal colt filly yearling gelding mare stallion alpaca boar chimpanzee chimp orangutan baboon "
     "hyena jackal coyote panther jaguar cougar puma ocelot walrus crocodile alligator anteater emu ostrich reindeer"),
    ("animal", "bird", "kingfisher woodpecker magpie starling finch peacock vulture albatross puffin cormorant toucan "
     "cockerel gander egret ibis wren blackbird canary hummingbird swallow"),  # (a swallow acts only as a subject)
    ("machine", "robot", "robot droid android automaton cyborg"),
    ("machine", "drone", "drone"),
    ("vehicle", "vehicle", "car truck lorry bus train tram boat ship ferry yacht canoe kayak raft tractor plane "
     "airplane aeroplane jet helicopter rocket spaceship spacecraft submarine taxi van motorbike motorcycle scooter "
     "locomotive rover lander buggy tuk-tuk rickshaw snowcat shuttle tug kart go-kart trawler excavator digger "
     "steamroller plough plow snowplough snowplow"),
    # (a snowcat is no cat; WordNet's first shuttle is a loom's, its first tug a pull, its first trawler a fisherman,
    # its first excavator and steamroller people; its plough is a tool, but the one that rumbles along is a snowplough)
):
    for _w in _words.split():
        ENTITY_NOUNS.setdefault(_w, (_kind, _shape))



# Roles and jobs beyond the hand list ("the goalkeeper", "the mayor", "the engineer"): the nouns whose most frequent
# sense is a person in Princeton WordNet 3.0 (noun.person), shipped as data/person_nouns.txt (written once by
# tools/make_person_nouns.py; WordNet's license notice is at its head). Words that can be adjectives ("adult",
# "native", "chief") are left out: in "the chief engineer" the first word is no entity.
HAND_NOUNS = frozenset(ENTITY_NOUNS)


@lru_cache(maxsize=None)
def _data_rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The rows of a word list shipped in the package (data/NAME), each split on spaces; its comment lines (where it
    comes from, its license) left out. Read once per process."""
    from importlib.resources import files

    text = files("dreamrunner_cli.planning").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return tuple(tuple(line.split()) for line in text.split("\n") if line and not line.startswith("#"))


def _adjective_people() -> frozenset[str]:
    return frozenset(row[0] for row in _data_rows("person_over_adjective.txt"))


# Person nouns that can also be adjectives but are more often people (WordNet's sense counts): "the official",
# "the patient", "the mechanic"; before a noun they are adjectives ("a patient smile")
ADJECTIVE_PEOPLE = _adjective_people()


@lru_cache(maxsize=None)
def _adjective_person_nouns() -> frozenset[str]:
    """WordNet's person nouns (data/person_nouns.txt) that lemminflect also reads as adjectives ("regular", "native",
    "official")."""
    from lemminflect import getAllLemmas

    return frozenset(row[0] for row in _data_rows("person_nouns.txt") if "ADJ" in getAllLemmas(row[0]))


def _wordnet_people() -> frozenset[str]:
    # a noun that can be an adjective ("young", "native") counts only when WordNet's sense counts say it is more
    # often a person ("the official", "the patient", "the mechanic"): data/person_over_adjective.txt
    left_out = _adjective_person_nouns() - ADJECTIVE_PEOPLE
    return frozenset(row[0] for row in _data_rows("person_nouns.txt") if row[0] not in left_out)


def _people_in_the_plural() -> frozenset[str]:
    """The person nouns left out for being adjectives too whose plural can only be people: "A crowd of relatives
    follows", "the pedestrians", "the finalists" (the endings of agents and members, -ive -ent -ant -ian -ist; not
    WordNet's other adjective-people, whose plurals are mostly things: "the antiques", "the comics", "the whites")."""
    return frozenset(w for w in _adjective_person_nouns() - ADJECTIVE_PEOPLE
                     if w.endswith(("ive", "ent", "ant", "ian", "ist")))


# Nouns whose first WordNet sense is a person but which name, in stories, a machine or a thing that acts without
# being anyone ("the toaster pops", "the printer hums"): never an entity unless the front matter declares one.
THING_NOUNS = frozenset("toaster washer printer scanner trailer slicer rocker stroller hanger shaker cutter monitor "
                        "digger loader ringer timer mixer blender heater cooker alarm jumper sweater slipper "
                        "sneaker trainer loafer siren".split())
# ("nobody spilled a drop": no one acts; WordNet's "nobody" is a person of no importance)
PERSON_NOUNS = _wordnet_people() - THING_NOUNS - {"nobody", "no-one"}
PLURAL_PEOPLE = _people_in_the_plural()
for _w in sorted(PERSON_NOUNS):
    ENTITY_NOUNS.setdefault(_w, ("person", "person"))
# compounds are read against the hand-listed animals only ("sheepdog" → dog): WordNet's thousands would match
# endings of unrelated words
_ANIMAL_SUFFIXES = sorted((n for n, (k, _) in ENTITY_NOUNS.items() if k == "animal" and len(n) >= 3), key=len,
                          reverse=True)


def _wordnet_list(name: str) -> list[list[str]]:
    """The rows of a shipped WordNet noun list (data/NAME), less the words that can be adjectives ("young",
    "electric") unless they end with a known noun of the same kind ("biplane": a plane)."""
    from lemminflect import getAllLemmas

    rows = [list(row) for row in _data_rows(name)]
    kind = "vehicle" if name.startswith("vehicle") else "animal"
    return [r for r in rows if "ADJ" not in getAllLemmas(r[0]) or _ends_with_kind(r[0], kind)]


def _ends_with_kind(word: str, kind: str) -> str | None:
    """The known noun of ``kind`` (4 letters or more) that ``word`` ends with: "biplane" → "plane"."""
    return next((word[i:] for i in range(2, len(word) - 3)
                 if ENTITY_NOUNS.get(word[i:], ("",))[0] == kind), None)


# Animals and vehicles beyond the hand lists ("the wombat", "a snowplough"), from Princeton WordNet 3.0 as well
# (data/animal_nouns.txt, data/vehicle_nouns.txt, written by tools/make_person_nouns.py): the nouns whose most
# frequent sense is an animal, or a vehicle that moves by itself. A hand-listed word keeps its hand-chosen shape.
# mostly something else in stories ("a shopping trolley" is pushed; WordNet's first trolley is a streetcar)
NOT_ENTITY_NOUNS = frozenset("launch tender mount fly trolley tank".split())  # (a tank holds fuel or fish)
# Vehicles that act only when someone rides them, told by a word of the story: a balloon with a basket or a burner
# (a weather balloon, a party balloon rises with the wind, no one steers it)
RIDDEN_ONLY = {"balloon": frozenset("basket burner hot-air gondola".split())}
WORDNET_KIND: dict[str, str] = {}  # "terrier" → "dog": "the dog" may name the terrier
for _w, _shape, _general in _wordnet_list("animal_nouns.txt"):
    if _w not in NOT_ENTITY_NOUNS:
        ENTITY_NOUNS.setdefault(_w, ("animal", _shape))
        if _general != "-":
            WORDNET_KIND[_w] = _general
for (_w,) in _wordnet_list("vehicle_nouns.txt"):
    if _w not in NOT_ENTITY_NOUNS:
        # "a biplane … the plane", "a motorbike … the bike": the vehicle noun it ends with
        _kind = _ends_with_kind(_w, "vehicle")
        ENTITY_NOUNS.setdefault(_w, ("vehicle", "vehicle"))
        if _kind and _w not in WORDNET_KIND:
            WORDNET_KIND[_w] = _kind


def entity_noun(word: str) -> str | None:
    """The lexicon noun ``word`` is, or ends with ("sheepdog" → "dog", "wildcat" → "cat"), else None."""
    w = word.lower()
    if w in ENTITY_NOUNS:
        return w
    head = w.rsplit("-", 1)[-1]
    if "-" in w and head in ENTITY_NOUNS:  # "sous-chef", "co-pilot": a kind of the last word
        ENTITY_NOUNS[w] = ENTITY_NOUNS[head]  # learned once, so later look-ups treat it as a lexicon noun
        GENERALISATIONS[w] = {w} | GENERALISATIONS.get(head, {head})
        return w
    for n in _ANIMAL_SUFFIXES:
        if len(w) > len(n) + 2 and w.endswith(n) and _modifier(w[:-len(n)]):
            return n
    return None


@lru_cache(maxsize=None)
def _modifier(word: str) -> bool:
    """Can ``word`` modify a noun in a compound: "sheep" in "sheepdog", "wild" in "wildcat" (a noun or an adjective);
    "attend" in "attendant" cannot, so an attendant is no ant."""
    from lemminflect import getAllLemmas

    return bool({"NOUN", "ADJ"} & set(getAllLemmas(word)))


def _clipped_to(word: str) -> set[str]:
    """The hand-listed animals ``word`` is a longer name of: "rhinoceros" → {"rhino"} (not "bulldog" → "bull", nor
    "horse-fly": their rest is a word of its own)."""
    from lemminflect import getAllLemmas

    return {n for n in HAND_NOUNS if len(n) >= 4 and len(word) > len(n) + 2 and word.startswith(n) and
            ENTITY_NOUNS[n][0] == "animal" and word[len(n)] != "-" and not getAllLemmas(word[len(n):])}


# A definite description may name the entity by a more general noun: "the bird" for the gull, "the animal".
GENERALISATIONS: dict[str, set[str]] = {}
for _w in ENTITY_NOUNS:
    g = {_w}
    for _general, _words in (("bird", "gull seagull heron owl eagle hawk falcon crow raven sparrow robin parrot "
                                      "pigeon dove swan stork crane pelican flamingo duck goose chick hen rooster "
                                      "penguin"),
                             ("dog", "puppy"), ("cat", "kitten"), ("fish", "goldfish"),
                             # (the young and the sexes: "a chestnut yearling … a grey mare … the two horses")
                             ("horse", "pony foal colt filly yearling mare stallion gelding"),
                             ("pig", "piglet hog boar sow"), ("sheep", "lamb ewe ram"), ("goat", "kid-goat"),
                             ("cow", "zebu ox bullock heifer steer yak buffalo bison"),  # ("his zebu … the old cow")
                             ("bot", "robot droid android"), ("vessel", "boat ship ferry yacht"),
                             ("aircraft", "plane airplane jet helicopter")):
        if _w in _words.split():
            g.add(_general)
    if _w in WORDNET_KIND:
        g.add(WORDNET_KIND[_w])
    if _w in HAND_NOUNS and ENTITY_NOUNS[_w] == ("animal", "bird"):
        g.add("bird")  # "a peacock … The bird hopped" (WordNet's first peacock kind is a butterfly)
    if ENTITY_NOUNS[_w][0] == "animal" and not _w.endswith(("ling", "let")):
        g |= _clipped_to(_w)  # "An old rhinoceros … The rhino", "the hippo", "the chimp"
    if ENTITY_NOUNS[_w][0] == "animal" and _w not in HAND_NOUNS:
        g.update(_w[i:] for i in range(2, len(_w) - 3) if _w[i:] in HAND_NOUNS and
                 ENTITY_NOUNS[_w[i:]][0] == "animal")  # "A goshawk dropped … The hawk blundered": the goshawk
    kind = ENTITY_NOUNS[_w][0]
    g |= {"animal", "creature"} if kind == "animal" else {"machine"} if kind == "machine" else \
        {"vehicle"} if kind == "vehicle" else set()
    GENERALISATIONS[_w] = g

# Nouns that name a group of the characters: "the two friends", "both sisters", "the children".
GROUP_NOUNS = frozenset("friends pals buddies chums siblings sisters brothers children kids twins pair couple family "
                        "animals companions partners girls boys men women ladies two three both everyone all".split())
PERSON_GROUPS = frozenset("friends pals buddies chums siblings sisters brothers children kids twins couple family "
                          "girls boys cousins parents grandparents neighbours neighbors".split())

# Groups that act as one entity with one box: collective nouns ("the band", "the crowd"), and the plural of an entity
# noun that is no group of the story's characters ("three kids", "the two robots"). Plurals that name the characters
# themselves ("the two friends", "both sisters", "the twins") are read as "they".
COLLECTIVE_NOUNS: dict[str, str] = {w: "person" for w in (
    "band crowd team family audience choir orchestra class crew troop gang group squad club committee tribe army "
    "people spectators fans villagers passengers shift staff cast troupe ensemble congregation jury throng "
    "horde entourage").split()}
COLLECTIVE_NOUNS.update({w: "animal" for w in "herd flock pack swarm school-of-fish pride litter".split()})
# A side in a game ("the home team", "the visiting squad"): its players are its own, not another group
TEAMS = frozenset("team side squad club eleven".split())
# Nouns that count a group without being one: "a row of volunteers", "a line of ducklings" (the group is the members).
QUANTITY_NOUNS = frozenset("row line bunch handful pair dozen column circle ring knot cluster huddle queue mob rest "
                           "pod shoal gaggle colony brood bevy".split())  # ("a pod of dolphins": a seed pod is none)
# Words that set people apart from the characters named: "the older girls from Year Six", "The other animals"
OTHERS = frozenset("other older younger bigger smaller taller elder".split())
# Groups that watch rather than take a side: "both teams" is never the crowd.
SPECTATORS = frozenset("crowd audience spectators fans onlookers people passengers".split())
# Who a crowd or an audience may be called again ("a crowd gathers … the listeners clap"); "the graduates" are not
WATCHERS = frozenset("listeners watchers viewers bystanders guests visitors shoppers passers-by locals villagers "
                     "tourists supporters parents families".split())
# Collectives whose members the story may name again by a plural ("the class … the children"): not a family or a
# crowd, whose children may be some of them.
INSTITUTIONS = frozenset("class team crew choir troop squad club group orchestra".split())
# Who an institution's members are called, for "the Year Two children … the whole class", "Eight rowers … the crew"
INSTITUTION_MEMBERS = {"class": {"children", "kids", "pupils", "students"}, "crew": {"rowers", "sailors"},
                       "team": {"players"}, "choir": {"singers"}, "orchestra": {"musicians", "players"},
                       "troop": {"scouts"}, "squad": {"players", "soldiers"}}
# Collectives that perform or work before others: "a zaffa troupe … the guests roared", the guests are not the troupe
PERFORMERS = frozenset("troupe band choir orchestra cast ensemble crew team squad".split())
# Colours that tell two of a kind apart: "a black goat … a white goat"
COLOURS = frozenset("black white brown grey gray red blue green yellow orange pink purple golden ginger silver "
                    "spotted striped tabby".split())
# Words that tell two of a kind apart as colours do: "a female hornbill … the male hornbill"
TELLING_APART = COLOURS | frozenset({"male", "female"})
# "her classmates" when the story has a class: the class (the one whose member she is)
MATES = {"classmates": "class", "teammates": "team", "bandmates": "band", "crewmates": "crew", "shipmates": "crew"}
RELATIONAL_GROUPS = frozenset("friends pals buddies chums siblings sisters brothers twins pair couple companions "
                              "partners two three both everyone all parents grandparents cousins".split())


@lru_cache(maxsize=None)
def group_of(word: str) -> tuple[str, str] | None:
    """(kind, singular noun) when ``word`` names a group that acts as one entity: "band" → ("person", "band"),
    "kids" → ("person", "kid"), "robots" → ("machine", "robot"); None for "friends", "plates", "robot"."""
    from lemminflect import getAllLemmas

    w = word.lower()
    if w in COLLECTIVE_NOUNS:
        return COLLECTIVE_NOUNS[w], w
    if w in RELATIONAL_GROUPS or w in ENTITY_NOUNS:
        return None
    for lem in getAllLemmas(w, upos="NOUN").get("NOUN", ()):
        if lem != w and lem in ENTITY_NOUNS:
            return ENTITY_NOUNS[lem][0], lem
        if lem != w and lem in PLURAL_PEOPLE:
            return "person", lem  # "a crowd of relatives", "the pedestrians"
        if lem != w and lem in COLLECTIVE_NOUNS and COLLECTIVE_NOUNS[lem] == "person":
            return "person", lem  # "the two teams clash": both teams, one wide group
    # a regular plural of a WordNet animal or person noun that lemminflect does not know: "meerkats", "axolotls",
    # "hyraxes", "the paddlers", "the farmhands"
    if not getAllLemmas(w) and w.endswith("s") and ENTITY_NOUNS.get(w[:-1], ("",))[0] in ("animal", "person"):
        return ENTITY_NOUNS[w[:-1]][0], w[:-1]
    if not getAllLemmas(w) and w.endswith(("xes", "ches", "shes", "sses")) and \
            ENTITY_NOUNS.get(w[:-2], ("",))[0] == "animal":
        return "animal", w[:-2]
    return None


# Nouns that describe a person without naming a role: "the old man" in a story of named people is one of them.
GENERIC_PEOPLE = frozenset("man woman boy girl lady gentleman child kid fellow guy person".split())
MALE = frozenset("man boy gentleman father dad grandfather grandpa uncle brother son king prince mr sir "
                 "fisherman policeman postman mailman waiter monk grandson nephew husband papa daddy mister "
                 "señor senhor monsieur herr signor "
                 "grandad granddad abuelo nonno opa jiddo zayde dziadek".split())
FEMALE = frozenset("woman girl lady mother mom mum grandmother grandma granny aunt sister daughter queen princess "
                   "mrs ms miss madam waitress nun policewoman mermaid witch granddaughter niece wife mama mommy "
                   "mummy nana auntie abuela abuelita nonna oma teta sitti nani dadi bubbe babcia dona doña señora "
                   "senhora madame frau signora".split())
# Kinship words that the story may use as a name ("Grandfather loaded the baskets", "Mama smiles"): the same person
# as "her grandfather", never a second one.
# Who a kinship word names, seen from the other side: "X and her grandson Danny … his grandmother" is X.
_CHILDREN = frozenset("son daughter child children kids baby boy girl".split())
_GRANDCHILDREN = frozenset("grandson granddaughter grandchild grandchildren grandkids".split())
INVERSE_KIN = {**{w: _GRANDCHILDREN for w in "grandmother grandfather grandma grandpa granny nana grandad".split()},
               **{w: _CHILDREN for w in "mother father mum mom dad mama papa".split()},
               **{w: frozenset({"nephew", "niece"}) for w in ("aunt", "uncle")},
               "sister": frozenset({"brother", "sister"}), "brother": frozenset({"brother", "sister"})}
# Nouns a child may be called by ("the children" after Kofi, "her brother" and "a girl"; not "the teacher").
# Groups that are children, whom "the kids" or "the children" name again
YOUNG_GROUPS = frozenset("pupils students schoolchildren graders scouts cubs brownies juniors youngsters toddlers "
                         "grandchildren grandkids "
                         "schoolboys schoolgirls".split())
CHILD_NOUNS = frozenset("child kid boy girl son daughter brother sister cousin friend pupil student twin baby "
                        "grandson granddaughter nephew niece toddler".split())
# Nouns for someone beside a character, of any age: "her partner Ilka" may be one of "both girls".
PEER_NOUNS = frozenset("partner teammate classmate companion pal opponent rival neighbour neighbor".split())
# Kinship words that name the same person: "his grandmother … Grandma".
KIN_SYNONYMS = {w: g for g in (frozenset("grandmother grandma granny nana abuela abuelita nonna oma teta sitti nani "
                                         "dadi bubbe babcia".split()),
                               frozenset("grandfather grandpa grandad granddad abuelo nonno opa jiddo zayde "
                                         "dziadek".split()),
                               frozenset("mother mum mom mama mummy mommy".split()),
                               frozenset("father dad papa daddy".split()),
                               frozenset("aunt auntie".split())) for w in g}
# The kinship words that some INVERSE_KIN word names from the other side ("son" for "father").
INVERSE_OF = frozenset(w for ws in INVERSE_KIN.values() for w in ws)
# Who race as a pack: "Twelve runners … the pack surges away".
RACERS = frozenset("runners cyclists riders racers skiers skaters swimmers rowers jockeys sprinters".split())
# Animal nouns whose plural is the same word: "the sheep crowd together" may be a whole flock.
UNMARKED_PLURALS = frozenset("sheep deer fish moose bison buffalo reindeer elk".split())
# What only things do: "lays strips of pork on the grill, and they sizzle" (no one sizzles).
THING_ONLY_VERBS = frozenset("sizzle simmer boil melt fizz ripen wilt sprout bloom blossom rust crackle darken thicken "
                             "curdle congeal".split())
# Verbs of looking: what is looked at may be doing something ("gazing at the paddle wheel slapping the water").
# What only people or animals do, never the things named before ("Later they carry warm bowls": not the seeds)
ANIMATE_ONLY_VERBS = frozenset("carry hold lift grab tiptoe wave hug clap nod smile laugh giggle chat share eat drink "
                               "sip taste kneel stroll hurry wander bow cheer".split())
LOOKING_VERBS = frozenset("look gaze stare watch peer glance glare gape point listen".split())
# Verbs that send a thing off on its own ("threw a long drive that curved left and smacked into an oak").
LAUNCH_VERBS = frozenset("throw toss fling hurl kick hit launch bowl pitch serve shoot fire flick lob bat".split())
# Who "the boys" and "the girls" may be when a story named a group of them by kin ("her three nephews … The boys").
KIN_CALLED = {"boys": frozenset("nephews sons grandsons brothers".split()),
              "girls": frozenset("nieces daughters granddaughters sisters".split())}
# Who one is to a family, besides the elders of KINSHIP ("Her big brother, Moss": a bunny's brother is a bunny).
FAMILY_NOUNS = frozenset("brother sister son daughter cousin nephew niece grandson granddaughter twin husband "
                         "wife mate".split())
KINSHIP = frozenset("grandfather grandmother grandma grandpa granny grandad granddad nana mother father mom dad mum "
                    "mama papa mommy mummy daddy aunt auntie uncle abuela abuelo abuelita nonna nonno oma opa teta "
                    "sitti nani dadi bubbe babcia jiddo zayde dziadek".split())
for _w in ("mama", "papa", "mommy", "mummy", "daddy", "nana", "auntie", "grandad", "granddad", "abuela", "abuelo",
           "abuelita", "nonna", "nonno", "oma", "opa", "teta", "sitti", "nani", "dadi", "bubbe", "babcia", "jiddo",
           "zayde", "dziadek"):
    ENTITY_NOUNS.setdefault(_w, ("person", "person"))
    GENERALISATIONS.setdefault(_w, {_w})
for _w, _same in KIN_SYNONYMS.items():  # "Jiddo … her grandfather", "his grandmother … Grandma": the same one
    GENERALISATIONS[_w] = GENERALISATIONS.get(_w, {_w}) | _same

# Words written before a name that are not part of it ("Chef Ünal", "Old Mr. Haruki", "Captain Rosa").
TITLES = frozenset("chef captain commander keeper doctor dr mr mrs ms miss professor prof grandma grandpa granny "
                   "grandmother grandfather "
                   "aunt uncle sir lady king queen prince princess officer coach old little young master madam "
                   "saint st sister brother father mother nurse farmer baker ranger agent detective mama papa "
                   "mommy mummy daddy nana auntie mister big baby abuela abuelo abuelita nonna nonno oma opa "
                   "teta dona doña señora senhora señor senhor madame monsieur herr frau signora signor "
                   "mestre".split())  # ("Dona Celeste", "Mestre Jacaré": honorifics of other languages)
# Words of where a place lies: "in northern New Mexico", "in rural Kenya" (a place after them, no one)
PLACE_ADJECTIVES = frozenset("northern southern eastern western central rural coastal upper lower inner outer "
                             "north south east west northeast northwest southeast southwest".split())
# The participles that give a name: "a drone named Mule", "the larger drone, nicknamed Mule,"
NAMING = frozenset("named called nicknamed".split())
# Capitalised words that are never a character's name: days, months, holidays ("spent Saturday at the farm").
# (Months that are also given names, "April", "May", "June", "August", are left to the other cues.)
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
NOT_NAMES = frozenset("monday tuesday wednesday thursday friday saturday sunday january february march july "
                      "september october november december christmas easter halloween thanksgiving hanukkah "
                      "diwali deepavali ramadan eid holi nowruz vesak passover purim hogmanay "
                      "today tonight yesterday tomorrow".split()) | frozenset(
    # the planets: "Overhead Saturn hangs huge and pale" (a character so named is declared in the front matter)
    "mercury venus earth mars jupiter saturn uranus neptune".split())
# Adjectives written before a name ("little Sorin", "old Mr. Pike", "baby Ada").
NAME_ADJECTIVES = frozenset("little old young baby tiny big small poor dear brave".split())
# Months that are also given names, and the words before them that make them a time ("last August", "in June").
NAME_MONTHS = frozenset("april may june august".split())
MONTH_TIME_WORDS = frozenset("last next this that every each early late mid in since until till during by one "
                             "from through throughout".split())
# Number words: "Twenty minutes later" is a time, "Six" no one's name.
NUMBER_WORDS = frozenset("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                         "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
                         "ninety hundred thousand million dozen half first second third".split())
# Modifiers that make an animal or vehicle noun a thing: "a rubber duck", "a paper boat", "his toy rabbit"; and an
# animal or a person a statue or a figure ("a stone lion", "a wooden horse"; "a wooden boat" is a boat).
TOY_MODIFIERS = frozenset("rubber paper toy plastic stuffed cardboard plush origami chocolate gingerbread cuddly "
                          "model".split())
STATUE_MODIFIERS = frozenset("wooden stone marble bronze tin clay porcelain china".split())

# Sizeable things a character interacts with that get their own (static) region: "sits on the bench".
PROPS = frozenset("rock boulder stone bench tree log stump table desk sign signpost fence car bicycle bike "
                  "kite ball snowman sandcastle tent statue well fountain piano easel oven stove counter crate "
                  "barrel cart wagon bed sofa couch chair armchair swing slide telescope campfire fire bonfire "
                  "mailbox lamp lamppost scarecrow umbrella sled sledge wheelbarrow".split())
SMALL_PROPS = frozenset("bottle cup mug glass pen pencil key spoon fork knife phone coin ring map letter book "
                        "string thread needle leaf flower stick wrench tool radio".split())

# Places ------------------------------------------------------------------------------------------------------------
PLACES = frozenset(
    "bedroom kitchen bathroom room playroom hall hallway corridor garden backyard yard park path street road forest "
    "woods wood beach sea ocean lake river pond meadow field mountain hill valley cave reef lagoon moon station "
    "planet galley cabin city town village market shop store cafe classroom library playground castle house cottage "
    "porch balcony rooftop roof farm barn desert jungle island bridge stage office studio attic basement camp "
    "campsite tent lighthouse harbor harbour dock pier jetty quay shore coast sky countryside orchard greenhouse "
    "museum zoo airport spaceship gym kindergarten bakery restaurant theater theatre square plaza alley trail "
    "waterfall glacier swamp canyon track stadium platform stable meadow summit peak ridge slope dunes dune clearing "
    "lab laboratory airlock bridge workshop factory church temple school courtyard terrace den burrow nest "
    "shallows riverbank bank creek stream marsh prairie savanna savannah plain plains lawn field fields arena "
    "ring rink pool tunnel mine cellar pantry dining-room parlour parlor lobby ward deck cockpit".split())
# Weather named with a person noun: "a dust devil whirls across the plain" is wind, no one
WEATHER_COMPOUNDS = frozenset({("dust", "devil"), ("snow", "devil"), ("fire", "devil")})
PLACE_COMPOUNDS = {("living", "room"), ("dining", "room"), ("control", "room"), ("space", "station"),
                   ("coral", "reef"), ("sea", "floor"), ("play", "room"), ("train", "station"),
                   ("finish", "line"), ("starting", "line"), ("start", "line"), ("bus", "stop"),
                   ("market", "square"), ("town", "square"), ("front", "yard"), ("back", "yard"),
                   ("sports", "field"), ("ice", "rink")}
BUILDINGS = frozenset("cabin house cottage castle barn bakery restaurant cafe shop store library museum station "
                      "lighthouse church temple school office studio workshop factory theater theatre stable "
                      "kitchen tent greenhouse".split())
ON_PLACES = frozenset("moon beach street road path bridge stage island porch balcony rooftop roof shore sea-floor "
                      "planet trail square plaza pier jetty dock platform track summit peak ridge slope deck lawn "
                      "finish-line dunes".split())
WATER_PLACES = frozenset("pond lake river sea ocean lagoon waterfall harbor harbour creek stream shallows".split())
UNIQUE_PLACES = frozenset("moon sky sea ocean".split())
TIMES = {"morning": "in the morning", "afternoon": "in the afternoon", "evening": "in the evening", "night": "at night",
         "sunset": "at sunset", "sunrise": "at sunrise", "dawn": "at dawn", "dusk": "at dusk", "noon": "at noon",
         "midnight": "at midnight"}

# Nouns of a time phrase that may open a clause before its subject: "One day the smallest frog hopped".
TIME_NOUNS = frozenset("day morning evening night afternoon week year month time moment minute minutes hour hours "
                       "while spring summer autumn fall winter weekend seconds moments o'clock nightfall daybreak "
                       "lunchtime bedtime teatime suppertime end start beginning".split())

# Function words ----------------------------------------------------------------------------------------------------
DETERMINERS = frozenset("a an the some this that these those one two three four many several every each another "
                        "no any both five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
                        "dozen".split())
POSSESSIVES = frozenset("his her their its my your our".split())
SUBJECT_PRONOUNS = frozenset("he she it they we i you".split())
OBJECT_PRONOUNS = frozenset("him her it them us me you".split())
REFLEXIVES = frozenset("himself herself itself themselves".split())
PREPOSITIONS = frozenset(
    "in into inside at through to on onto along across around by near under over from toward towards behind beside "
    "with of for off out up down past between above below beneath among upon within without like about after before "
    "until during against beyond underneath outside opposite via amid amongst alongside throughout except".split())
PARTICLES = frozenset("up down off out over away around back on in about along ahead aside apart forward "
                      "forwards backward backwards home inside outside".split())
CONJUNCTIONS = frozenset("and or but then so because as when while if than once until before after though "
                         "although since where whereas nor yet".split())
SUBORDINATORS = frozenset("when whenever while as because if once until before after though although since "
                          "where".split())
# Verb phrases that show nothing although their verb may ("took place"), and what one runs without running.
NOT_SHOWN = frozenset({("take", "place"), ("take", "part"), ("take", "care"), ("make", "sure"),
                       # a job, a life or a duty, not a moment: "works at a cat café", "retired from racing",
                       # "looked after the neighbours' cat"
                       ("work", "at"), ("work", "as"), ("retire", "from"), ("look", "after"),
                       ("look", "like")})  # (and a likeness: "until he looks like a ghost")
# Nouns after "make" that show nothing made: "make sure", "made friends", "makes sense".
MAKE_NOT_SHOWN = frozenset("sure certain sense friends way progress peace time money fun room use plans plan decision "
                           "choice promise home living".split())
# What one holds when holding is running an event, not gripping: "held its last meeting", "held an egg drop contest".
HELD_EVENTS = frozenset("meeting meetings contest contests competition party parties sale sales festival ceremony "
                        "concert auction fair vote election tournament show exhibition raffle quiz rehearsal "
                        "rehearsals wedding funeral reunion celebration".split())
# Where one lives: sharing it is how one lives ("share a tall enclosure"), unlike sharing food; buying or renting
# it is no moment a camera sees ("When Owen and Priya bought their first flat").
HOMES = frozenset("enclosure home stream burrow den nest cage pen hutch flat apartment tank pond".split())
# Names of games made of verbs: "played hide and seek" is playing, not seeking.
GAMES = frozenset({("hide", "and", "seek"), ("cops", "and", "robbers"), ("follow", "the", "leader")})
# ... and with an object between: "leaves it alone", "left the dog alone" (nothing is done)
NOT_SHOWN_AFTER_OBJECT = frozenset({("leave", "alone")})
# What one runs when running is moving ("ran the last lap", "runs the ball up the field"); running anything else is
# managing it ("runs a noodle stall", "ran the counter") or letting it flow ("ran a bath")
RUN_WAYS = frozenset("race marathon lap laps mile miles relay sprint course errand errands distance length lengths "
                     "ball track stairs steps hill bases gauntlet".split())
BUSINESSES = frozenset("stall shop store business restaurant cafe café bakery farm company hotel school class team "
                       "club market garage salon".split())
# Words after a determiner that belong to its noun phrase although they are adverbs elsewhere: "the next girl".
ORDINALS = frozenset("next last other same first second third fourth fifth".split())
# Place words that can follow a subject before its verb: "the ants below carried seeds".
PLACE_ADVERBS = frozenset("below above behind beneath nearby outside inside downstairs upstairs overhead".split())
ADVERBS = frozenset("then also now soon finally suddenly again still just quickly slowly gently together "
                    "later earlier afterwards afterward meanwhile first next nearby ahead away back home here there "
                    "very almost nearly too quietly loudly carefully happily sadly softly proudly eagerly "
                    "sharply low high far outside inside everywhere overhead downstairs upstairs once twice "
                    "always never often sometimes even only already immediately instantly politely calmly "
                    "anxiously excitedly lazily busily bravely briskly".split())
NUMBERS = frozenset("two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred "
                    "dozen both".split())
NUMBERS_VALUE = {"two": 2, "both": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12}
NEGATORS = frozenset("not never nearly almost hardly".split())  # "nearly drops": an action that did not happen
RELATIVES = frozenset("who whom whose which".split())  # "An old woman who …": the noun phrase ends before them

# Verbs -------------------------------------------------------------------------------------------------------------
# Verbs that show nothing a camera sees, or that only frame another verb ("decides to climb" → climbing).
NON_VISUAL = frozenset(
    "be have do get seem become want need know think decide remember forget feel hope wish like love hate see hear "
    "please finish "
    "notice realize realise wonder agree let make can will would could should may might must shall begin start "
    "continue keep try manage mean belong contain happen appear understand believe "
    "learn plan prefer pretend refuse promise expect imagine dream guess suppose recognise recognize consider "
    "seem sound smell taste-like find lose miss own matter live spend wear win grow earn stay remain order rule "
    "reign govern admire adore envy trust respect captain dwell reside recommend last use".split())
# (attitudes too: "adored his own long horns"; a role: "who captains the team"; a home: "a heron dwelt by the lake";
# advice: "whom the neighbours had recommended"; a while: "The twins lasted less than a minute"; a tool, which the
# other verb shows: "fishes around in the pot using a teaspoon")
# Verbs that introduce quoted speech: `"…," Tom says, looking down` (the speech itself is no action).
SPEECH_VERBS = frozenset("say tell ask answer reply whisper shout call cry yell mutter murmur laugh sigh exclaim "
                         "add explain announce giggle grumble".split())
BE_FORMS = frozenset("is are was were be been being gets got".split())
# Past participles that are mostly adjectives after "is": "is tired" is no passive action.
ADJECTIVE_PARTICIPLES = frozenset("tired excited scared frightened worried surprised pleased bored interested amazed "
                                  "delighted covered filled lost gone done finished closed open married known born "
                                  "called named nicknamed dressed used supposed allowed".split())
# Verbs that frame another: "tries to catch", "starts dancing", "stops to drink", "kneels to pat".
COMPLEMENT_TAKERS = frozenset("try start begin continue keep stop pause wait manage".split())  # (not "hurried over
# to take it": its purpose)
# (not "wants to help", "decides to jump", "hopes to win": an intention, which may not happen on screen)
# verb + particle that take an object ("picks up the shell", "knocks over a jar").
TRANSITIVE_PHRASAL = frozenset({("pick", "up"), ("knock", "over"), ("put", "down"), ("take", "off"),
                                ("turn", "on"), ("turn", "off"), ("switch", "on"), ("switch", "off"),
                                ("put", "on"), ("set", "down"), ("hand", "over"), ("throw", "away"),
                                ("pull", "out"), ("take", "out"), ("fill", "up"), ("clean", "up"),
                                ("roll", "out"), ("lift", "up"), ("help", "up")})
# Nouns that are far more often nouns than verbs, even where a verb could stand: "goes to bed".
NOUN_FIRST = frozenset("bed school town work home water light time way hand face eye part side place end "
                       "top back night day morning evening knees lime lemon ginger basil honey sugar garlic".split())
# ("on her hands and knees"; "scatter basil and lime into their bowls": ingredients, no verbs)
# Layout category per verb: loco travels sideways, fly/swim travel higher/lower, climb rises, jump bobs,
# sit/lie are lower boxes; anything else acts in place.
CATEGORIES: dict[str, str] = {}
for _cat, _words in {
    "loco": "walk run jog hike march stroll wander roll ride cycle skate ski crawl sail drive chase follow hurry "
            "dash race paddle slide skip tiptoe sneak explore trot gallop limp sprint rush creep stride amble "
            "scurry scamper row bound lead wade drift toss travel cross pull push float charge flee step head "
            "return leave reach enter approach circle pace prowl stalk hobble waddle shuffle",
    "fly": "fly float glide soar hover flutter flap",
    "swim": "swim dive surf",
    "climb": "climb",
    "jump": "jump hop leap bounce spring pounce",
    "sit": "sit kneel crouch squat perch",
    "lie": "lie sleep nap rest curl lounge",
}.items():
    for _w in _words.split():
        CATEGORIES.setdefault(_w, _cat)
PHRASAL_CATEGORY = {("lie", "down"): "lie", ("sit", "down"): "sit", ("fall", "asleep"): "lie",
                    ("curl", "up"): "lie", ("stand", "up"): "act", ("jump", "down"): "jump",
                    ("take", "off"): "fly", ("power", "down"): "act", ("look", "out"): "act"}
STATIC = frozenset("sit kneel lie sleep nap rest stand read write watch look listen stare gaze meditate wait "
                   "perch crouch curl graze".split())
BODY_PARTS = frozenset("arm arms hand hands leg legs head tail wing wings teeth tooth hair eyes eye feet foot nose "
                       "paws paw fins fin ears ear toes toe trunk beak back shoulders shoulder knees knee cheek cheeks "
                       "lip lips finger fingers fist fists elbow elbows neck chin mouth wrist wrists hip hips "
                       "belly palm palms thumb thumbs forehead brow".split())
INTERACTIONS = frozenset("hug kiss pat pet stroke feed wash brush comb chase follow help lift carry hold push pull "
                         "greet scold tickle catch grab lead ride saddle kick nuzzle lick hand give".split())


# Morphology (lemminflect) ------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def verb_readings(word: str) -> tuple[tuple[str, str], ...]:
    """(lemma, Penn tag) for each way ``word`` can be a verb form: "trots" → (("trot", "VBZ"),); "lay" →
    (("lie", "VBD"), ("lay", "VB"), ("lay", "VBP")). Empty for words lemminflect does not know as verbs."""
    from lemminflect import getAllInflections, getAllLemmas

    w = word.lower()
    out: list[tuple[str, str]] = []
    for lem in getAllLemmas(w, upos="VERB").get("VERB", ()):
        for tag, forms in getAllInflections(lem, upos="VERB").items():
            if w in forms:
                out.append((lem, tag))
    if (w, "VB") in out:  # "feed", "weed": a verb of their own, never "fee" or "wee" in the past
        out = [(lem, tag) for lem, tag in out if not (tag in ("VBD", "VBN") and w == lem + "d")]
    if not out and not getAllLemmas(w) and w[:2] in ("un", "re") and len(w) > 5:
        # "unhitched", "undocks", "uncurls": a word the dictionary lacks, a prefix on a verb it has
        out = [(w[:2] + lem, tag) for lem, tag in verb_readings(w[2:])]
    return tuple(dict.fromkeys(out))


@lru_cache(maxsize=None)
def is_noun(word: str) -> bool:
    from lemminflect import getAllLemmas

    return "NOUN" in getAllLemmas(word.lower()) or "PROPN" in getAllLemmas(word.lower())


@lru_cache(maxsize=None)
def is_plural_noun(word: str) -> bool:
    """Is ``word`` the plural of a noun ("plates", "dishes"), not a singular ending in s ("grass", "bus")?"""
    from lemminflect import getAllLemmas

    w = word.lower()
    nouns = getAllLemmas(w).get("NOUN", ())
    # (or a noun only ever plural: "clothes", "trousers")
    return any(lem != w for lem in nouns) or w in nouns and w.endswith("s") and not w.endswith(("ss", "us", "is"))


@lru_cache(maxsize=None)
def comparative(word: str) -> bool:
    """Is ``word`` an adjective's comparative ("larger", "older"), not an adjective ending in -er ("silver")?"""
    from lemminflect import getAllLemmas

    return word.endswith("er") and not is_noun(word) and any(
        lem != word for lem in getAllLemmas(word.lower()).get("ADJ", ()))  # (not "the number 7 bus")


@lru_cache(maxsize=None)
def is_adjective(word: str) -> bool:
    """Can ``word`` be an adjective ("muddy", "sandy") by lemminflect's dictionary?"""
    from lemminflect import getAllLemmas

    return "ADJ" in getAllLemmas(word.lower())


def is_known_word(word: str) -> bool:
    """Does the English dictionary of lemminflect know this word (any part of speech)?"""
    from lemminflect import getAllLemmas

    return bool(getAllLemmas(word.lower()))


@lru_cache(maxsize=None)
def participle(lemma: str) -> str:
    """Present participle of a verb: trot → trotting, lie → lying, plate → plating (lemminflect)."""
    from lemminflect import getInflection

    forms = getInflection(lemma, tag="VBG")
    if lemma[:2] in ("un", "re") and len(lemma) > 4 and (not forms or forms[0] == lemma + "ing"):
        stem = getInflection(lemma[2:], tag="VBG")  # "repot" → "repotting", as "pot" → "potting"
        forms = [lemma[:2] + stem[0]] if stem and stem[0] != lemma[2:] + "ing" else forms
    return forms[0] if forms else lemma + "ing"


def verb_lemma(word: str) -> str | None:
    """The base form of ``word`` read as a verb, else None ("ran" → "run", "flowers" → None)."""
    readings = verb_readings(word)
    if not readings:
        return None
    w = word.lower()
    # "flowers", "morning": a noun whose only verb reading is rare. Prefer readings whose lemma differs from a noun
    # plural of the same word; lemminflect lists both, so keep the first verb lemma.
    if w.endswith("ing") and not any(tag == "VBG" for _, tag in readings):
        return None
    return readings[0][0]


def role_noun(noun: str) -> bool:
    """A person noun that says what someone does ("scientist", "judge"), not only who they are ("man", "sister")."""
    return noun in PERSON_NOUNS and noun not in GENERIC_PEOPLE | CHILD_NOUNS | PEER_NOUNS | KINSHIP | MALE | FEMALE


def _group_nouns() -> dict[str, str]:
    return dict(_data_rows("group_nouns.txt"))


# Nouns with a sense that is a group of people or animals, from WordNet (data/group_nouns.txt): "first" when that is
# the noun's first sense ("the audience"), "seen" otherwise ("the whole school", "the whole line"). Only for reports.
GROUP_SENSES = _group_nouns()
EVERYONE = frozenset("everyone everybody others someone somebody".split())


def names_someone(noun: str) -> bool:
    """Is ``noun`` a word for someone or a group of them ("the girl", "the robots", "the crowd"), not a thing?"""
    return bool(entity_noun(noun) or group_of(noun))


def may_act(noun: str, whole: bool = False) -> bool:
    """Whether a subject headed by ``noun`` that is no entity could still be someone or something acting, so that
    its actions are reported rather than dropped in silence: a lexicon noun of any kind ("the truck", "the
    huskies"), "everyone", "the others", a group ("the audience", and "the whole school" with "whole")."""
    from lemminflect import getAllLemmas

    w = noun.lower()
    if w in BODY_PARTS:
        return False
    if w in EVERYONE:
        return True
    forms = {w} | set(getAllLemmas(w, upos="NOUN").get("NOUN", ()))
    if any(f in ENTITY_NOUNS for f in forms) or group_of(w):
        return True
    if w.isalpha() and not getAllLemmas(w):
        return True  # a word the dictionary lacks: "the drumline froze" may be people (reported, never guessed)
    if whole and w in QUANTITY_NOUNS:
        return True  # "the whole queue laughs": the people in it
    if w != noun_lemma(w) and noun_lemma(w) in _adjective_person_nouns():
        return True  # "the regulars form three rows", "the natives": a plural of an adjective is people
    return any(GROUP_SENSES.get(f) == "first" or whole and f in GROUP_SENSES for f in forms)


@lru_cache(maxsize=None)
def _name_genders() -> dict[str, str]:
    return dict(_data_rows("name_genders.txt"))


def name_gender(name: str) -> str | None:
    """"f" or "m" when a first name is almost only a woman's or a man's ("Maelis", "Osgood": data/name_genders.txt,
    from nomquamgender's name data); None for a name used for both ("Alex"), or one the list lacks. A title or a
    role before it is no first name ("Captain Tsvetkova", "Farmer Morwenna" → "Morwenna")."""
    words = [w.lower() for w in name.split()]
    titled = False
    while words and (words[0].rstrip(".") in TITLES or entity_noun(words[0])):
        words, titled = words[1:], True
    if not words or titled and len(words) == 1:
        return None  # ("Mr Ferreira": a surname)
    return _name_genders().get(words[0])


def noun_lemma(word: str) -> str:
    """The singular of a plural noun by lemminflect ("regulars" → "regular"); the word itself otherwise."""
    from lemminflect import getAllLemmas

    return next(iter(getAllLemmas(word, upos="NOUN").get("NOUN", ())), word) if is_plural_noun(word) else word
