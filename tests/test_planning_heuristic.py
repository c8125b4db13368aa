"""The built-in planner's reading of stories it has never seen (issue 13): entities, who does what, where, layouts."""

from __future__ import annotations

from pathlib import Path

from dreamrunner_cli.config import PlanConfig
from dreamrunner_cli.planning.heuristic import HeuristicPlanner, ascii_slug, sentences
from dreamrunner_cli.schema import Plan, assemble_plan
from dreamrunner_cli.story import parse_story


def plan_text(text: str, tmp_path: Path, **cfg) -> Plan:
    p = tmp_path / "story.txt"
    p.write_text(text, encoding="utf-8")
    planner = HeuristicPlanner(PlanConfig(min_scenes=1, **cfg))
    outline = planner.outline(parse_story(p))
    return assemble_plan(outline, {s.id: planner.layout(outline, s) for s in outline.scenes})


def who_does(plan: Plan) -> set[tuple[str, str]]:
    motions = {m.id: m.description for m in plan.motions}
    return {(r.entity, motions[r.motion]) for s in plan.scenes for kf in s.keyframes for r in kf.regions
            if r.motion != "none"}


def test_unicode_names_get_readable_ascii_ids(tmp_path):
    plan = plan_text("Chef Ünal stirs the soup. Lía chops onions. Søren waves.", tmp_path)
    assert [c.id for c in plan.characters] == ["unal", "lia", "soren"]
    assert plan.character("unal").name == "Chef Ünal"
    assert ascii_slug("Zoë") == "zoe" and ascii_slug("ARI-7") == "ari-7"


def test_coordinated_subjects_and_lemminflect_participles(tmp_path):
    plan = plan_text("Together Ünal and Lía plate the dishes. A pony trots across the field.", tmp_path)
    acts = who_does(plan)
    assert ("unal", "plating the dishes") in acts and ("lia", "plating the dishes") in acts
    assert any(e == "pony" and d.startswith("trotting") for e, d in acts)  # not "troting"


def test_pronouns_follow_their_referent(tmp_path):
    text = ("Amara laces her shoes at the track. Her friend Jun waits near the finish line, jumping and cheering. "
            "A boy named Kofi trips. Amara helps him up. He laughs.")
    plan = plan_text(text, tmp_path, max_motions_per_scene_multi=8, keyframes=12)
    acts = who_does(plan)
    assert {("jun", "waiting"), ("jun", "jumping"), ("jun", "cheering"), ("kofi", "laughing")} <= acts
    assert not {a for a in acts if a[0] == "amara" and a[1] in ("jumping", "cheering", "laughing")}


def test_things_that_act_are_not_characters(tmp_path):
    plan = plan_text("The whistle blows. Noor runs down the slope. The kite rises into the sky.", tmp_path)
    assert who_does(plan) == {("noor", "running")}


def test_animals_and_machines_are_found_with_their_kind(tmp_path):
    text = ("Bolt, a small delivery robot, rolls into the garden. A grey cat sleeps under the bench.\n\n"
            "The cat jumps down and chases a butterfly. Bolt follows it slowly.")
    plan = plan_text(text, tmp_path)
    assert {c.id: c.description for c in plan.characters} == {"bolt": "a small delivery robot",
                                                            "cat": "a grey cat"}
    acts = who_does(plan)
    assert ("cat", "jumping down") in acts and any(e == "cat" and d.startswith("chasing") for e, d in acts)
    assert not any(e == "bolt" and d.startswith(("jumping", "chasing")) for e, d in acts)


def test_location_changes_per_sentence(tmp_path):
    text = ("Mia rides her bike under the old bridge.\n\nMia crosses the finish line.\n\nMia reaches the cabin.\n\n"
            "Inside, Mia sits by the fire.")
    plan = plan_text(text, tmp_path)
    assert [s.location for s in plan.scenes] == ["old bridge", "finish line", "cabin", "cabin"]


def test_abbreviations_do_not_end_a_sentence():
    assert sentences("Old Mr. Haruki steps off. Dr. Lee waves.") == ["Old Mr. Haruki steps off.", "Dr. Lee waves."]


def test_secondary_entities_become_object_regions_and_interactions_merge(tmp_path):
    text = "Jun runs along the beach. Jun hugs Amara. A gull lands on a rock. Amara sits on the bench."
    plan = plan_text(text, tmp_path, max_motions_per_scene_multi=6, keyframes=8)
    objects = {o.id for o in plan.objects}
    assert {"gull", "bench"} <= objects and "gull" not in {c.id for c in plan.characters}
    regions = {r.entity for kf in plan.scenes[0].keyframes for r in kf.regions}
    assert {"gull", "bench", "jun", "amara"} <= regions
    hugs = [m for kf in plan.scenes[0].keyframes for m in kf.merged]
    assert hugs and all("[v1]" in m.caption and "[v2]" in m.caption and "hugging" in m.caption for m in hugs)


def test_box_sizes_follow_the_kind(tmp_path):
    plan = plan_text("Mia waves at the garden gate. Her cat Pip watches.", tmp_path)
    kf = plan.scenes[0].keyframes[0]
    mia, pip = (next(r.box for r in kf.regions if r.entity == e) for e in ("mia", "pip"))
    assert pip[3] - pip[1] < mia[3] - mia[1]  # a cat is not as tall as a person
    assert pip[1] > mia[1]


def test_at_most_as_many_entities_as_fit(tmp_path):
    text = ("Ana, Ben, Cleo, Dev, Eli and Fay wave. Ana jumps. Ben jumps. Cleo jumps. Dev jumps. Eli jumps. "
            "Fay jumps.")
    plan = plan_text(text, tmp_path)
    for s in plan.scenes:
        for kf in s.keyframes:
            assert len(kf.regions) <= 5
            assert all(r.box[2] - r.box[0] >= 0.2 - 1e-9 and r.box[3] - r.box[1] >= 0.2 - 1e-9 for r in kf.regions)


def test_ids_are_stable_across_replans(tmp_path):
    text = "Zoë climbs the trail. Her drone hums. A goat stares at Zoë."
    a = plan_text(text, tmp_path).model_dump_json()
    b = plan_text(text, tmp_path).model_dump_json()
    assert a == b


# Issue 24: generalising past the tuning stories. Precision first: no motion on a wrong entity, and every sentence
# that gives no (attributable) action is reported.


def events(text: str, declared=()) -> list[tuple[str, str, str | None]]:
    """(who, verb lemma, target) of every motion event the reader finds, in story order."""
    from dreamrunner_cli.planning.heuristic import analyse_story, discover_entities, split_scenes

    texts = split_scenes(text, 1, 8)
    reg = discover_entities(texts, list(declared))
    return [(w, e.base, e.target) for a in analyse_story(texts, reg) for e in a.events for w in e.who]


def skipped(text: str, tmp_path: Path) -> list[dict[str, str]]:
    p = tmp_path / "story.txt"
    p.write_text(text, encoding="utf-8")
    return HeuristicPlanner(PlanConfig(min_scenes=1)).unattributed(parse_story(p))


def test_names_in_scripts_without_capitals(tmp_path):
    # a caseless name the story treats as one (subject of a verb), and one declared in front matter
    assert ("chen", "water", None) in events("陳 waters the plants. Later 陳 sits by the window.")
    plan = plan_text("---\ncharacters:\n  - id: mei\n    name: 美\n    description: a young woman\n---\n"
                     "美 sweeps the stone path. 美 pours the tea.", tmp_path)
    assert ("mei", "sweeping") in who_does(plan)
    assert [c.id for c in plan.characters] == ["mei"]


def test_collective_and_plural_subjects_are_one_group_entity(tmp_path):
    text = "The band walks onto the stage.\n\nThe crowd cheers and claps.\n\nThree kids climb onto the fence. They wave."
    assert {("band", "walk", None), ("crowd", "cheer", None), ("crowd", "clap", None), ("kids", "climb", None),
            ("kids", "wave", None)} == set(events(text))
    plan = plan_text(text, tmp_path)
    ids = {c.id for c in plan.characters} | {o.id for o in plan.objects}
    assert ids == {"band", "crowd", "kids", "fence"}  # the fence: a prop climbed onto
    kids = next(kf for s in plan.scenes for kf in s.keyframes for r in kf.regions if r.entity == "kids")
    box = next(r.box for r in kids.regions if r.entity == "kids")
    assert box[2] - box[0] >= 0.2  # one box for the whole group


def test_a_plural_noun_is_never_read_as_a_verb(tmp_path):
    plan = plan_text("The two robots return to the workshop. The robots carry boxes to the shelves.", tmp_path)
    motions = {m.description for m in plan.motions}
    assert not any("robott" in m for m in motions)
    assert who_does(plan) == {("robots", "returning"), ("robots", "carrying")}


def test_a_group_member_and_the_group_as_they(tmp_path):
    got = events("The twins, Ada and Leo, pick up their guitars. The youngest one, Ada, starts to sing. "
                 "The band starts to play for the mayor. He dances in the front row.")
    assert {("ada", "pick", None), ("leo", "pick", None), ("ada", "sing", None), ("band", "play", None),
            ("mayor", "dance", None)} <= set(got)
    assert not any(w == "ada" and v == "dance" for w, v, _ in got)  # "he" is the mayor, not the last name


def test_passive_agents_act_and_relative_clauses_are_read():
    got = set(events("The goalkeeper dives to the left. The ball is caught by the goalkeeper. Noor and her dog "
                     "Pip run. The duck, which was chased by Pip, flies away. It was caught by Ben."))
    assert ("goalkeeper", "catch", None) in got
    assert ("pip", "chase", "duck") in got and ("duck", "fly", None) in got
    assert not any(v == "chase" and w != "pip" for w, v, _ in got)
    got = set(events("Mia walks her dog Pip. The dog that Mia was walking barks at the duck. He throws it to the "
                     "center, who sprints up the field."))
    assert ("pip", "bark", None) in got
    assert ("center", "sprint", None) in got  # a noun outside the lexicon, made a person by "who"


def test_a_passive_without_agent_is_reported_not_guessed(tmp_path):
    text = "Ben waves. The kite was caught in the tree. The whistle blows."
    got = events(text)
    assert all(v != "catch" for _, v, _ in got)
    report = skipped(text, tmp_path)
    assert [(u["scene"], u["sentence"]) for u in report] == [("s01", "The kite was caught in the tree."),
                                                              ("s01", "The whistle blows.")]
    assert report[0]["reason"] == "could not tell who is catching"
    assert report[1]["reason"] == "no visible action of a character or an acting object"


def test_quoted_speech_is_no_action_and_never_split():
    text = '"I lost my keys," Tom says, looking down. "Dinner is ready! Come and eat," Lena calls. Tom nods.'
    assert sentences(text) == ['"I lost my keys," Tom says, looking down.',
                               '"Dinner is ready! Come and eat," Lena calls.', "Tom nods."]
    got = set(events(text))
    assert {("tom", "say", None), ("tom", "look", None), ("lena", "call", None), ("tom", "nod", None)} == got
    # the scene splitter keeps the quotation whole too, closing quote mark included
    from dreamrunner_cli.planning.heuristic import split_scenes

    assert split_scenes(text, 3, 8)[1].startswith('"Dinner is ready! Come and eat," Lena calls.')


def test_an_object_pronoun_that_is_a_thing_is_no_interaction():
    got = events("Lena cuts the onions and tosses them into the pan. Tom watches her.")
    assert ("lena", "toss", None) in got
    got = events("Priya sorts the screws and puts them in jars. A drone buzzes. Priya catches it.")
    assert ("priya", "put", None) in got and ("priya", "catch", "drone") in got


def test_role_nouns_from_the_wordnet_list():
    from dreamrunner_cli.planning import lexicon as lx

    assert {"goalkeeper", "striker", "referee", "mayor", "engineer"} <= lx.PERSON_NOUNS
    # adjectives too: left out, unless WordNet's sense counts say they are more often people ("the official")
    assert "chief" not in lx.PERSON_NOUNS and "native" not in lx.PERSON_NOUNS
    assert {"official", "patient", "mechanic", "adult"} <= lx.PERSON_NOUNS
    assert ("striker", "dribble", None) in events("The striker dribbles past two defenders.")


# Issue 24, round 2: the error classes of the first held-out split (tests/planning_eval/heldout1/), in new words.


def reads(text: str) -> tuple[set[tuple[str, str]], list[str], list[str]]:
    """(who, verb lemma) pairs the reader gives, the entity ids, and the reasons of the sentences it reports."""
    from dreamrunner_cli.planning.heuristic import analyse_story, discover_entities

    reg = discover_entities([text], [])
    [a] = analyse_story([text], reg)
    return {(w, e.base) for e in a.events for w in e.who}, [e.id for e in reg.entities], [r for _, r in a.skipped]


def test_weekdays_and_toys_are_no_entities():
    acts, ids, skipped = reads("The Berg twins spent Sunday at the lake. Ola throws his rubber duck into the water. "
                               "The duck bobs and spins.")
    assert "sunday" not in ids and "duck" not in ids
    assert ("ola", "throw") in acts and not any(v in ("bob", "spin") for _, v in acts)
    assert len(skipped) == 2  # the twins' "spent", and the toy's bobbing: reported, not given to anyone


def test_names_with_a_title_or_kinship_word_are_whole_names():
    acts, ids, _ = reads("Little Fox hides under the bed. Papa Fox pulls him out and carries him to the tub. "
                         "Then he tucks him into bed.")
    assert {"little-fox", "papa-fox"} <= set(ids)
    assert {("papa-fox", "pull"), ("papa-fox", "carry")} <= acts and ("little-fox", "pull") not in acts
    acts, ids, _ = reads("Yara and her grandmother walk to the field. Grandmother spreads a net.")
    assert ids.count("grandmother") == 1 and "grandmother-2" not in ids
    assert ("grandmother", "spread") in acts and ("grandmother", "walk") in acts


def test_a_subject_described_by_a_phrase_or_named_in_apposition():
    acts, ids, _ = reads("A potter in the next stall laughs so hard that she almost drops her bowl. "
                         "A boy in a red scarf, Emil, kneels by the fence. The night nurse, Dr. Okoye, sighs.")
    assert ("potter", "laugh") in acts and not any(v == "drop" for _, v in acts)  # "almost drops" did not happen
    assert ("emil", "kneel") in acts and ("okoye", "sigh") in acts and "boy" not in ids and "scarf" not in ids


def test_speech_attributed_after_the_quote_to_a_description():
    acts, _, _ = reads('A ferry captain waits on the pier. "All aboard," calls the ferry captain, waving her cap.')
    assert {("captain", "call"), ("captain", "wave")} <= acts


def test_relative_clauses_with_that_and_who():
    acts, _, _ = reads("The sparrows that nest in the roof dive down and grab the seeds. "
                       "A man who is carrying a ladder stumbles. Noor walks the goat. The goat that Noor is "
                       "leading bleats.")
    assert {("sparrows", "dive"), ("sparrows", "grab"), ("man", "stumble"), ("goat", "bleat"),
            ("noor", "lead")} <= acts
    assert not any(v == "carry" for _, v in acts) or ("man", "carry") in acts


def test_passive_agents_after_a_place_and_coordinated():
    acts, _, _ = reads("Her brother Tomas and their cat Mika play outside. A kite flies over the fence. "
                       "It was chased by her brother Tomas and their cat Mika. The kite was dragged out of the "
                       "pond by the cat.")
    assert {("tomas", "chase"), ("mika", "chase"), ("mika", "drag")} <= acts


def test_a_pronoun_is_not_guessed_when_two_could_be_meant():
    # (a gander known as "he" is no rival of the boy this sentence names: "he" is Bram; round 20)
    acts, _, skipped = reads("Papa Goose waddles behind Bram. A woman waves to Bram, and he waves back.")
    assert ("papa-goose", "wave") not in acts and {("woman", "wave"), ("bram", "wave")} <= acts
    acts, _, _ = reads("Lina and her grandfather walk to the grove. He spreads a net, and she climbs a ladder.")
    assert {("grandfather", "spread"), ("lina", "climb")} <= acts and ("lina", "spread") not in acts


def test_a_verb_without_a_subject_is_reported_not_given_to_the_last_one():
    acts, _, skipped = reads("Mia walks to the square. There was dancing in the square.")
    assert acts == {("mia", "walk")} and skipped == ["could not tell who is dancing"]


def test_groups_the_story_has_not_named_and_more_verbs():
    acts, ids, _ = reads("The Berg twins spent the day at the farm. At the old barn, both twins started to climb. "
                         "They shook the ropes. Four children from the next farm ran over. The old heron has "
                         "fished here for years. The donkey brayed but carried the sacks. The heron bent over the "
                         "water, peered at the fish, and slipped into the mud.")
    assert {("berg-twins", "climb"), ("berg-twins", "shake"), ("children", "run"), ("heron", "fish"),
            ("donkey", "bray"), ("donkey", "carry"), ("heron", "slip")} <= acts


def test_a_new_role_plural_after_a_group_is_not_invented():
    acts, ids, skipped = reads("A crowd gathers around the band. The band plays a song. The listeners clap.")
    assert "listeners" not in ids and ("crowd", "gather") in acts and len(skipped) == 1


def test_the_plan_draws_what_the_outline_read(tmp_path):
    # the layout re-reads the scene with entities rebuilt from the outline: "Papa Fox" keeps its whole name and
    # its gender, so "he" goes to the same one as when the outline was read
    plan = plan_text("Little Fox hides under the bed. Papa Fox pulls him out and carries him to the tub. "
                     "Then he tucks him into bed.", tmp_path)
    acts = {(e, d.split()[0]) for e, d in who_does(plan)}
    assert {("papa-fox", "pulling"), ("papa-fox", "carrying")} <= acts
    assert not any(e == "little-fox" and d in ("pulling", "carrying", "tucking") for e, d in acts)


# Issue 24, round 3: precision first. An attribution is made only when it is sure (a subject that names its entity,
# a pronoun with one compatible candidate in view); a guess is left out and reported. And the general bugs of the
# second held-out split, in new words.


def test_names_with_combining_marks_are_kept_whole():
    from dreamrunner_cli.planning.heuristic import tokens

    # Thai "วิไล" has the vowel sign U+0E34, Devanagari "अनिल" U+093F, Arabic with vowel points U+064E..
    assert tokens("His sister, วิไล, waters the plants. अनिल runs. سَلمى waves.") == [
        "His", "sister", ",", "วิไล", ",", "waters", "the", "plants", ".", "अनिल", "runs", ".", "سَلمى", "waves", "."]
    from dreamrunner_cli.planning.heuristic import discover_entities

    text = "His sister, วิไล, waters the plants. วิไล smiles."
    assert [e.name for e in discover_entities([text], []).entities] == ["วิไล"]
    acts, ids, _ = reads(text)
    assert {(ids[0], "water"), (ids[0], "smile")} <= acts


def test_a_pronoun_with_two_candidates_in_view_is_reported_not_guessed():
    acts, _, skipped = reads("Clara climbs the ladder. Finn hands the paint up to her, and she paints the fence.")
    assert ("finn", "hand") in acts and not any(v == "paint" for _, v in acts)
    assert skipped == ["could not tell who is painting (\u201cshe\u201d could be Finn or Clara)"]
    # one candidate in the sentence before: sure, even with someone else named after the pronoun
    acts, _, _ = reads("A baby sleeps in the pram. Tereza, a parking attendant, walks along the platform. "
                       "She kneels beside the baby's pram and hums.")
    assert {("tereza", "kneel"), ("tereza", "hum")} <= acts and not any(w == "baby" and v != "sleep"
                                                                        for w, v in acts)


def test_they_is_the_group_in_view_and_a_plural_noun_is_no_verb():
    acts, ids, _ = reads("Mila waves at the pilot. Three delivery robots roll out of the hangar. "
                         "They unload the boxes.")
    assert ("robots", "roll") in acts and ("robots", "unload") in acts
    assert not any(w in ("mila", "pilot") and v == "unload" for w, v in acts)
    acts, _, _ = reads("Ayo paints the wall. Bea hammers a nail. Cal saws a plank. Later the three of them crawl "
                       "inside.")
    assert {("ayo", "crawl"), ("bea", "crawl"), ("cal", "crawl")} <= acts


def test_the_possessed_person_acts_not_the_possessor():
    acts, ids, skipped = reads("Ana and Rui dig in the sand. When Ana's grandfather called them for lunch, nobody "
                               "wanted to leave.")
    assert ("grandfather", "call") in acts and not any(v in ("call", "leave") and w in ("ana", "rui")
                                                       for w, v in acts)
    # "nobody wanted to leave": an intention, so no action to attribute (round 12: "want to" takes no complement)
    assert not any(v == "leave" for _, v in acts)


def test_number_words_and_appliances_are_no_entities():
    acts, ids, _ = reads("Maya puts bread in the toaster. Ten minutes later, the toaster pops and Maya butters the "
                         "toast.")
    assert ids == ["maya"] and acts == {("maya", "put"), ("maya", "butter")}


def test_the_noun_of_an_apposition_names_the_same_person():
    acts, ids, _ = reads("The pharmacist, Mr. Adebayo, counts the pills. \"Twice a day,\" the pharmacist says, "
                         "smiling.")
    assert ids == ["adebayo"] and {("adebayo", "say"), ("adebayo", "smile")} <= acts


def test_participles_passive_and_ended_actions():
    acts, _, _ = reads("A flower girl skips down the aisle, followed by a kitten. The toddler grabs the spoon and "
                       "stops crying. Ines feeds a calf that is sleeping in the hay. At noon the coach blows her "
                       "whistle.")
    assert {("girl", "skip"), ("kitten", "follow"), ("toddler", "grab"), ("ines", "feed"), ("calf", "sleep"),
            ("coach", "blow")} <= acts
    assert not {("girl", "follow"), ("toddler", "cry"), ("toddler", "stop"), ("ines", "sleep")} & acts


def test_a_caseless_name_before_who_is_a_name():
    acts, ids, _ = reads("小林, who loves trains, waves at the driver.")
    assert ("xiaolin", "wave") in acts


# Issue 24, round 4 (tuned on heldout3; these sentences are not from any split) ------------------------------------


def test_a_name_that_is_also_a_word_and_only_starts_sentences():
    acts, ids, _ = reads("Thistle is a small grey rabbit who sleeps under the garden shed. Thistle hops to the "
                         "fence. Thistle sniffs the clover and nibbles it.")
    assert "thistle" in ids and {("thistle", "hop"), ("thistle", "sniff"), ("thistle", "nibble")} <= acts
    assert not any(v == "shed" for _, v in acts)  # "the garden shed" is a noun after a predicate's relative


def test_wordnet_animals_and_vehicles_beyond_the_hand_lists():
    acts, ids, _ = reads("A wombat waddles across the road. A snowplough rumbles past the school.")
    assert {("wombat", "waddle"), ("snowplough", "rumble")} <= acts


def test_a_subject_pronoun_continues_the_last_subject_of_the_sentence_before():
    acts, _, skipped = reads("Ravi studies the sky. The guide takes the map from Ravi. Then she points at the "
                             "ridge.")
    assert ("guide", "point") in acts and ("ravi", "point") not in acts
    # the one named "she" in the story competes with an unknown (a first name used for both sexes): still reported,
    # not guessed
    acts, _, skipped = reads("Ana's kite dips. She tugs the string, and Alex waves. Alex takes a photo of Ana. "
                             "Then she folds the kite.")
    assert not any(v == "fold" for _, v in acts) and any("folding" in r for r in skipped)


def test_a_pronoun_far_from_its_referent_goes_to_the_one_who_has_acted():
    acts, _, _ = reads("Kenji waves to the coach. The starter raises her flag. He sprints down the lane.")
    assert ("kenji", "sprint") in acts


def test_a_phrase_with_a_pronoun_after_a_subject():
    acts, _, _ = reads("Mira steers the boat while the dog beside her barks at the gulls.")
    assert {("mira", "steer"), ("dog", "bark")} <= acts and ("mira", "bark") not in acts


def test_the_old_man_is_a_named_character_never_a_new_one():
    acts, ids, _ = reads("Next door, old Mr. Haldor waters his roses. Then the old man sits on the step.")
    assert ("haldor", "sit") in acts and "man" not in ids
    acts, ids, skipped = reads("Mr. Haldor and Mr. Brisk wait at the gate. Then the tall man knocks.")
    assert "man" not in ids and not any(v == "knock" for _, v in acts) and any("knocking" in r for r in skipped)


def test_whose_name_was_names_the_described_person():
    acts, ids, _ = reads("A girl who was holding a jar climbed the hill. The girl, whose name was Ilse, opened "
                         "the jar.")
    assert "girl" not in ids and ("ilse", "open") in acts


def test_perfect_progressive_relative_and_opening_participle():
    acts, ids, _ = reads("A hiker has fallen near the stream. The ranger, who was carrying a radio, runs over. "
                         "Panting, she kneels by the hiker. The geese below honk and scatter.")
    assert {("hiker", "fall"), ("ranger", "carry"), ("ranger", "run"), ("ranger", "pant"),
            ("ranger", "kneel")} <= acts


def test_a_verb_no_rule_took_is_reported():
    # "frowns" after "his pockets and" is not read as Otto's; the sentence gave an action, and is reported too
    acts, _, skipped = reads("Otto pats his pockets and frowns.")
    assert acts == {("otto", "pat")} and skipped == ["could not tell who is frowning"]


def test_passives_whose_subject_is_not_an_entity_and_agents_with_titles():
    acts, _, _ = reads("By noon most of the crates had been opened by Mrs. Okafor. That night, soup was served by "
                       "a waiter in a white jacket. Mr. Ruiz waves. A vase that he had filled was knocked over by "
                       "his cat.")
    assert {("okafor", "open"), ("waiter", "serve"), ("cat", "knock")} <= acts


def test_a_noun_phrase_stops_before_an_auxiliary_and_after_a_titled_possessor():
    acts, ids, _ = reads("On Friday a red van pulled up at the gate. Mrs. Okafor's goat bleated and ran off.")
    assert {("van", "pull"), ("goat", "bleat"), ("goat", "run")} <= acts


def test_they_is_the_last_pair_in_a_story_without_a_group():
    acts, _, _ = reads("Ines and her brother Tiago walked to the river. Tiago fished while Ines read. Their cat, "
                       "Bolacha, chased a moth. At sunset they packed up and sang on the way home.")
    assert {("ines", "pack"), ("tiago", "pack"), ("ines", "sing"), ("tiago", "sing")} <= acts
    assert ("bolacha", "pack") not in acts


def test_a_group_of_members_and_progressive_subjects():
    acts, ids, _ = reads("A group of tourists watches from the bridge and waves. Two cousins are racing along the "
                         "bank.")
    assert {("tourists", "watch"), ("tourists", "wave"), ("cousins", "race")} <= acts and "group" not in ids


# Issue 24, round 5 (tuned on heldout4; these sentences are not from any split) ------------------------------------


def test_a_copula_with_a_compound_noun_gives_the_kind():
    acts, ids, _ = reads("Zip is a small robot mower that lives in the shed. Every evening it trundles across the "
                         "lawn. The robot beeps twice.")
    assert ids == ["zip"] and {("zip", "trundle"), ("zip", "beep")} <= acts


def test_a_passive_agent_with_a_possessor_and_an_object_relative():
    acts, _, _ = reads("Nadia waves. The bread was sliced by Nadia's older brother Karim. The dog slipped out "
                       "through the door that Karim's aunt had opened.")
    assert ("karim", "slice") in acts and ("nadia", "slice") not in acts
    assert ("dog", "slip") in acts and ("dog", "open") not in acts


def test_bursts_out_laughing_is_laughing_and_a_participle_after_with_is_no_verb():
    acts, _, _ = reads("Tariq trips and bursts out laughing. Tariq and Noor eat toast with jam and sliced pears.")
    assert {("tariq", "laugh"), ("tariq", "eat"), ("noor", "eat")} <= acts
    assert not any(v in ("burst", "slice") for _, v in acts)


def test_the_next_one_is_not_the_named_one_and_an_appositions_relative():
    acts, _, skipped = reads("Ilka, a tall girl, swims fast. Then the next girl dives in. Tomo hugs Saba, a small "
                             "dog who is sleeping on the mat.")
    assert ("ilka", "dive") not in acts and any("diving" in r for r in skipped)
    assert ("saba", "sleep") in acts and ("tomo", "hug") in acts


def test_a_guessed_pronoun_does_not_bring_its_guess_into_view():
    acts, _, _ = reads("Ella and her cousin Sam wash Dad's car. Sam soaks Ella. She throws a sponge at him. "
                       "Soon they are chasing each other around the car.")
    assert ("dad", "chase") not in acts


def test_a_role_noun_after_a_verb_is_no_referent():
    acts, ids, _ = reads("Lena stirs the batter. She pours it into the pan.")
    assert "batter" not in ids and ("lena", "pour") in acts


# Issue 24, round 6 (tuned on heldout5; these sentences are not from any split) ------------------------------------


def test_a_breed_is_named_again_by_its_kind():
    acts, ids, _ = reads("Her spaniel, Biscuit, naps by the door. The dog wakes and barks at the postman.")
    assert "dog" not in ids and {("biscuit", "wake"), ("biscuit", "bark")} <= acts


def test_a_noun_named_in_apposition_with_named_is_that_character():
    acts, ids, _ = reads("Sol serves. The ball was hit back by his partner, a wiry boy named Tomas, and they rally.")
    assert "partner" not in ids and ("tomas", "hit") in acts


def test_the_members_of_a_class_are_the_class_but_a_familys_children_are_not_the_family():
    acts, ids, _ = reads("Mr. Bell's class visited the farm. The children fed the lambs.")
    assert "children" not in ids and ("class", "feed") in acts
    acts, ids, _ = reads("The Okoro family arrives at the park. The children run to the swings.")
    assert ("family", "run") not in acts


def test_a_word_list_person_after_a_noun_is_the_verb_and_things_that_show_nothing():
    acts, ids, _ = reads("Ana opens the box, and the lid pops open. The robins scold the cat. The fair took place "
                         "on Sunday. Mr. Orr runs a small bakery.")
    assert "pops" not in ids and "scold" not in ids
    assert not any(v in ("open", "take", "run") and w != "ana" for w, v in acts) and ("orr", "run") not in acts


def test_group_nouns_after_a_capitalised_modifier_and_perfect_relatives():
    acts, _, skipped = reads("The Lindqvist twins raced to the pier. An old heron, who had watched them from a post, "
                             "flapped away. The bear rolled in the mud, shaking his head, and limped off. Most of the "
                             "class dozed.")
    assert {("lindqvist-twins", "race"), ("heron", "watch"), ("heron", "flap")} <= acts
    assert ("bear", "limp") in acts or any("limping" in r for r in skipped)


# Issue 24, round 7 (tuned on heldout6; these sentences are not from any split) ------------------------------------


def test_a_kinship_word_seen_from_the_other_side():
    acts, ids, _ = reads("Mbali and her grandson Sipho bake bread. Sipho kneads the dough. His grandmother smiles and "
                         "lights the oven.")
    assert "grandmother" not in ids and {("mbali", "smile"), ("mbali", "light")} <= acts


def test_listed_names_are_of_their_plurals_kind_and_both_counts_them():
    acts, ids, _ = reads("Ken and his mum walk their two goats, Rye and Barley, to the field. Rye trots ahead. "
                         "At the gate, both goats kick up their heels.")
    assert "goats" not in ids and {("rye", "kick"), ("barley", "kick")} <= acts
    assert ("ken", "kick") not in acts


def test_adjective_participles_growing_and_winning_show_nothing_and_relatives_with_had():
    acts, _, _ = reads("The hikers reached the hut, muddy and tired. The cake that Aziz had baked won a prize. "
                       "A kite, which a girl named Runa had launched, was caught by the wind.")
    assert not any(v in ("tire", "win", "grow") for _, v in acts)
    assert ("aziz", "bake") in acts and ("runa", "launch") in acts


def test_a_word_name_coordinated_with_a_person_is_a_name():
    acts, ids, _ = reads("Willow and her cousin Arno cycled to the lake. Arno swam. Willow and Arno laughed.")
    assert "willow" in ids and {("willow", "cycle"), ("willow", "laugh")} <= acts


# Issue 24, round 8 (tuned on heldout7; these sentences are not from any split) ------------------------------------


def test_coordinated_groups_and_both_teams_never_the_crowd():
    acts, ids, _ = reads("At the fair, the bakers and the butchers lined up at the rope. A crowd gathered and "
                         "cheered. Then both teams pulled hard.")
    assert {("bakers", "line"), ("butchers", "line"), ("bakers", "pull"), ("butchers", "pull")} <= acts
    assert ("crowd", "pull") not in acts


def test_larger_numbers_count_and_a_purpose_infinitive_after_a_motion_is_no_action():
    acts, ids, _ = reads("Twelve ducklings waddle to the pond. Oskar swims out to meet them.")
    assert ("ducklings", "waddle") in acts and ("oskar", "swim") in acts and ("oskar", "meet") not in acts


def test_an_agent_named_in_apposition_and_an_earlier_description_of_the_same_one():
    acts, ids, _ = reads("Vera leaves a note for the night porter. The bag was picked up by a guard, Mr. Okafor, "
                         "who was locking up. Later it was handed back by the porter, a tall man named 周.")
    assert ("okafor", "pick") in acts and ("zhou", "hand") in acts and "porter" not in ids


# Issue 24, round 9 (tuned on heldout8; these sentences are not from any split) ------------------------------------


def test_they_after_plural_things_is_reported_and_a_noun_list_after_with():
    acts, _, skipped = reads("Rami and his aunt Dalia run a soup stall. His aunt drops the dumplings into the pot. "
                             "They bob and spin. Rami fills the bowls with rice and beans.")
    assert not any(v in ("bob", "spin", "bean") for _, v in acts) and ("rami", "fill") in acts
    assert any("bobbing" in r for r in skipped)


def test_an_object_pronoun_is_no_subject_and_saying_nothing_is_no_action():
    acts, _, _ = reads("The twins wave flags. Behind them came a marching band. The owl blinked and said nothing.")
    assert ("twins", "come") not in acts and not any(v == "say" for _, v in acts)


def test_a_list_of_names_and_starting_an_engine_and_a_clause_after_when_without_a_comma():
    acts, _, _ = reads("Last spring, Ines, Tariq and Bo rowed across the lake. In the evening they lit a fire. "
                       "Bo starts the engine. When the work is done the drones return home.")
    assert {("ines", "row"), ("tariq", "row"), ("bo", "row"), ("ines", "light"), ("tariq", "light"),
            ("bo", "light"), ("bo", "start"), ("drones", "return")} <= acts


def test_two_of_his_cousins_are_not_the_last_two_people():
    acts, _, _ = reads("Avi and the nurse lift the man. The stretcher is carried to the boat by two of his cousins.")
    assert ("avi", "carry") not in acts and ("nurse", "carry") not in acts


# Issue 24, round 10 (tuned on heldout9; these sentences are not from any split) -----------------------------------


def test_a_given_name_of_a_caseless_full_name_and_grandma_for_a_named_grandmother():
    acts, ids, _ = reads("Every morning, 李秀英 waters the roses. Then 秀英 sweeps the porch. Tomo and his "
                         "grandmother Hana bake bread. Grandma kneads the dough.")
    assert "xiuying" not in ids and {("lixiuying", "sweep"), ("hana", "knead")} <= acts
    assert not any(i.startswith("grandma") for i in ids)


def test_holidays_named_classes_and_no_car_in_particular():
    acts, ids, _ = reads("On Harvest Day, Class 3C picked apples. Their dog barks at every bus that passes.")
    assert "harvest" not in ids and "bus" not in ids and ("class", "pick") in acts


def test_the_children_are_not_the_grown_ups_and_a_name_before_a_plural_is_a_modifier():
    acts, _, _ = reads("Mrs. Lund and the janitor, Mr. Holm, open the gate. The children run onto the field. "
                       "The Lund players stretch. Kira earned some money and stayed calm.")
    assert not any(w in ("lund", "holm") and v in ("run", "stretch") for w, v in acts)
    assert not any(v in ("earn", "stay") for _, v in acts)


def test_a_singular_noun_ending_in_s_is_no_plural_before_and():
    # found on examples/stories/mia_and_rex.txt after heldout10 was scored (heldout10's score is unchanged by it)
    acts, _, skipped = reads("Bruno barks. Bruno lies in the grass and rests. Bruno jumps up and barks.")
    assert {("bruno", "lie"), ("bruno", "rest"), ("bruno", "jump"), ("bruno", "bark")} <= acts and not skipped


# Issue 24, round 11 (tuned on heldout10; these sentences are not from any split) ----------------------------------


def test_cultural_kinship_titles_and_making_things():
    acts, ids, _ = reads("Nonna Rosa and her grandson Luca make dumplings. Nonna rolls the dough.")
    assert ids == ["rosa", "luca"] and {("rosa", "make"), ("luca", "make"), ("rosa", "roll")} <= acts


def test_they_after_a_plural_thing_in_the_same_sentence_and_existential_there():
    acts, _, skipped = reads("Ivo waves. Mara holds up her kites as high as they go. Mara looks at the lake, and "
                             "there is the moon, floating on the water.")
    assert not any(v in ("go", "float") for _, v in acts) and ("mara", "look") in acts


def test_the_one_someone_called_a_name_is_a_naming_and_ordering_shows_nothing():
    acts, _, _ = reads("Sami keeps pigeons. One grey pigeon, the one Sami called Smoke, always flew home first. "
                       "Inside the box were the boots that Sami had ordered.")
    assert not any(v in ("call", "order") for _, v in acts) and ("sami", "fly") not in acts


# Issue 24, round 12 (tuned on heldout11; these sentences are not from any split) ----------------------------------


def test_his_son_named_after_the_father_and_a_caseless_grandmother():
    acts, ids, _ = reads("Mr. Okoye needed bread. His son Emeka carried the basket while his father paid. "
                         "Teta مريم and her grandson Karim bake bread. His grandmother smiles.")
    assert "father" not in ids and "grandmother" not in ids and ("okoye", "pay") in acts
    assert [w for w, v in acts if v == "smile"] == [w for w, v in acts if v == "bake" and w != "karim"]


def test_a_relative_after_a_named_agent_keeps_its_subject_and_a_coordinated_passive():
    acts, _, _ = reads("A red van stopped. It was driven by a tall woman named Ines, who leaned out and waved. "
                       "The crate was lifted by the drones and carried away.")
    assert {("ines", "lean"), ("ines", "wave"), ("drones", "lift"), ("drones", "carry")} <= acts
    assert ("van", "wave") not in acts


def test_clothing_is_no_one_and_wanting_to_is_no_action():
    acts, ids, _ = reads("A boy wearing a green jumper bumps into the shelf. Tilo wants to help, so Tilo grabs a "
                         "broom.")
    assert "jumper" not in ids and ("tilo", "help") not in acts and ("tilo", "grab") in acts


# Issue 24, round 13 (tuned on heldout12; these sentences are not from any split) ----------------------------------


def test_a_quote_then_a_name_and_any_verb_is_one_sentence():
    from dreamrunner_cli.planning.text import sentences

    assert sentences('The owl blinks. "Oops!" Pim squeaks, covering his eyes.') == [
        "The owl blinks.", '"Oops!" Pim squeaks, covering his eyes.']


def test_seconds_later_is_no_verb_and_a_place_after_at_is_no_name():
    acts, ids, _ = reads("The coach raises her hand, and seconds later the bell rings. Two divers on the pier at "
                         "Kelby wave.")
    assert not any(v == "second" for _, v in acts) and "kelby" not in ids


def test_a_relative_with_a_titled_subject_inside_a_subject():
    acts, _, _ = reads("Mr. Dunn waves. The pony that Mr. Dunn was leading pulled free and trotted off.")
    assert ("dunn", "lead") in acts and not any(w == "dunn" and v in ("pull", "trot") for w, v in acts)


# Issue 24, round 14 (tuned on heldout13; these sentences are not from any split) ----------------------------------


def test_a_phrase_between_commas_after_the_subject():
    # a participle is the subject's action; an indefinite apposition describes the subject (no second person), and
    # gives it a gender for "he" later
    acts, ids, _ = reads("Yuki waves. The ferryman, a stooped man in a yellow coat, unties the rope. The cook, "
                         "humming softly, stirs the soup. \"All aboard,\" he calls.")
    assert "man" not in ids and {("ferryman", "untie"), ("cook", "hum"), ("cook", "stir")} <= acts
    assert ("cook", "call") not in acts  # the cook is nearer, but the man is "he" too: a guess, reported
    acts, ids, _ = reads("The goose, honking loudly, chases the postman.")
    assert {("goose", "honk"), ("goose", "chase")} <= acts


def test_the_plural_of_a_group_brought_in_with_a_count_is_that_group():
    acts, ids, _ = reads("Lena and Bo play against three older girls from the next street. The girls serve first. "
                         "Lena and Bo are two cousins. The cousins laugh.")
    assert ("girls", "serve") in acts and not any(w in ("lena", "bo") and v == "serve" for w, v in acts)
    assert "cousins" not in ids  # "are two cousins" describes the two


def test_the_number_then_a_group_noun_that_is_also_a_verb():
    acts, _, _ = reads("Four kids from Elm Street build a fort. The four kids crawl inside.")
    assert {("kids", "build"), ("kids", "crawl")} <= acts and not any(v == "kid" for _, v in acts)


def test_a_place_name_after_from_and_a_proper_name_after_called_the():
    acts, ids, _ = reads("A boatman from Lower Ferry waves. A tugboat called the Otter pulls the barge.")
    assert ("boatman", "wave") in acts and ("otter", "pull") in acts and not any(v == "call" for _, v in acts)


def test_a_passive_agent_a_few_phrases_after_the_participle():
    acts, ids, _ = reads("Noa's scooter was taken from the hall outside the gym by a boy in a red cap. He rode it "
                         "to the gate. The boy was followed across the yard by the coach and two cooks.")
    assert {("boy", "take"), ("boy", "ride"), ("coach", "follow"), ("cooks", "follow")} <= acts
    assert ("noa", "ride") not in acts


def test_it_after_a_thing_thrown_in_the_sentence_before_is_a_guess():
    acts, _, skipped = reads("Ines and her cat Pip sat by the pond. Ines picked up a pebble and tossed it over the "
                             "water. It skipped twice and sank. Her brother threw his next, but it splashed.")
    assert not any(w == "pip" and v in ("skip", "sink", "splash") for w, v in acts)
    assert any("the pebble" in r for r in skipped)
    acts, _, _ = reads("The cat ran to the door. It scratched at the wood.")
    assert ("cat", "scratch") in acts  # the cat was in the sentence before: no doubt


def test_come_or_go_then_a_participle_shows_both():
    acts, _, _ = reads("The farmer's geese came honking across the yard. Ana, who had come skipping down the lane, "
                       "laughed.")
    assert {("geese", "come"), ("geese", "honk"), ("ana", "come"), ("ana", "skip"), ("ana", "laugh")} <= acts


def test_both_girls_are_the_two_girls_not_the_man_or_the_other_group():
    acts, _, _ = reads("Tova and her partner Isla face two boys from the city. The umpire lifts his flag. The boys "
                       "serve. Both girls cheer.")
    assert {("tova", "cheer"), ("isla", "cheer")} <= acts and ("umpire", "cheer") not in acts


def test_a_family_of_animals_and_a_shift_of_workers():
    acts, ids, _ = reads("A family of otters slides into the river. In a flash the whole family dives. At dawn "
                         "the night shift leaves.")
    assert {("otters", "slide"), ("otters", "dive"), ("shift", "leave")} <= acts


def test_a_passive_agent_that_includes_the_one_acted_on_is_a_guess():
    acts, _, skipped = reads("The medic and the driver run up the hill. The hiker is carried to the van by both of "
                             "them.")
    assert not any(v == "carry" for _, v in acts) and skipped


def test_agent_nouns_whose_other_senses_are_people_and_auxiliaries_are_no_one():
    from dreamrunner_cli.planning import lexicon as lx

    assert lx.entity_noun("operator") == "operator" and lx.entity_noun("climber") == "climber"
    assert lx.entity_noun("have") is None and lx.entity_noun("drawer") is None
    acts, ids, _ = reads("The climber waves. A box that the robots have dropped lies on the floor.")
    assert ("climber", "wave") in acts and "have" not in ids


def test_a_body_part_then_and_then_a_verb_and_another_groups_noun():
    acts, _, _ = reads("Omar fills his cheeks and blows until the candles go out. Two porters carry the trunk. The "
                       "guests clap.")
    assert {("omar", "blow"), ("porters", "carry"), ("guests", "clap")} <= acts


# Issue 24, round 15 (tuned on heldout14; these sentences are not from any split) ----------------------------------


def test_a_quote_then_a_titled_name_is_one_sentence_and_a_name_then_its_kind():
    assert sentences('Ana sings. "Encore!" Mr. Pell cries, clapping.') == [
        "Ana sings.", '"Encore!" Mr. Pell cries, clapping.']
    acts, ids, _ = reads("Boris the bear lumbers down the path. Boris sniffs a log.")
    assert ids == ["boris"] and {("boris", "lumber"), ("boris", "sniff")} <= acts


def test_a_group_counted_with_a_noun_and_an_adjective_before_its_members():
    acts, ids, _ = reads("A flock of grey geese lands on the pond. A row of cadets marches past. In a moment the "
                         "whole flock takes off.")
    assert {("geese", "land"), ("cadets", "march"), ("geese", "take")} <= acts and "flock" not in ids


def test_a_passive_agent_named_after_a_phrase_and_no_pronoun_reaches_forward():
    acts, ids, _ = reads("A tired cyclist slows down. He is helped by a guard in a blue cap, a woman named Ilse, "
                         "who hands him a bottle.")
    assert {("ilse", "help"), ("ilse", "hand")} <= acts and "guard" not in ids
    assert not any(w == "ilse" and v == "slow" for w, v in acts)


def test_a_perfect_progressive_relative_and_a_place_that_is_a_person_noun():
    acts, ids, _ = reads("The porter, Kemal, who had been sweeping outside the ward, leaned on his broom.")
    assert {("kemal", "sweep"), ("kemal", "lean")} <= acts and "ward" not in ids


def test_gendered_plurals_need_known_genders():
    acts, _, skipped = reads("Mr. Dube sat up in bed. The cook, Sam, brought him soup, and the nurse, Ada, "
                             "smiled. The two men laughed.")
    assert not any(v == "laugh" for _, v in acts) and skipped  # Sam or Ada may be a woman: a guess, reported
    acts, _, _ = reads("Mr. Dube sat up in bed. His brother Sam brought him soup. The two men laughed.")
    assert {("dube", "laugh"), ("sam", "laugh")} <= acts


def test_a_bare_plural_phrase_after_the_subject_and_head_as_a_verb():
    acts, _, _ = reads("Three boys in red caps wave. Both boys head home.")
    assert {("boys", "wave"), ("boys", "head")} <= acts


def test_a_counted_group_named_again_by_its_count():
    acts, _, _ = reads("Nine small dancers line up. Madame Petit claps. At the end, all nine girls bow.")
    assert ("dancers", "bow") in acts


def test_they_after_animals_when_two_people_acted_together_is_a_guess():
    acts, _, skipped = reads("Opa and his grandson Jens put on their nets. A few wasps buzzed over the jam, but "
                             "Jens kept still. In the shed, they cleaned the frames.")
    assert not any(v == "clean" for _, v in acts) and any("the wasps" in r for r in skipped)


def test_leaving_alone_a_clause_after_so_an_absolute_with_and_a_game():
    acts, _, _ = reads("Nia stirs the stew. Then she leaves it alone. It was cold, so Nia and Rufus played hide and "
                       "seek in the hall, with Rufus barking loudly.")
    assert ("nia", "leave") not in acts and ("nia", "seek") not in acts
    assert {("nia", "play"), ("rufus", "play"), ("rufus", "bark")} <= acts


def test_called_as_a_verb_after_and():
    acts, _, _ = reads("Mrs. Kaur raised her arm and called the score. Mrs. Kaur has a cat called Pip.")
    assert ("kaur", "call") in acts
    assert [v for w, v in acts if v == "call"] == ["call"]  # "a cat called Pip" is a naming


def test_a_subject_that_is_a_plural_of_people_not_found_is_reported_and_names_that_are_words():
    acts, _, skipped = reads("A crowd gathers. The listeners clap.")
    assert not any(v == "clap" for _, v in acts) and skipped == [
        "could not tell who is clapping (\u201clisteners\u201d is no character found)"]
    acts, ids, _ = reads("Tom and his sister Wren walk to the lake. Tom throws a stone. Wren laughs.")
    assert {("tom", "throw"), ("wren", "laugh")} <= acts  # "tom" and "wren" are animal nouns too
    from dreamrunner_cli.planning import lexicon as lx

    # WordNet's first "wasp" is "WASP", a person: the sense written in lower case counts
    assert lx.group_of("wasps") == ("animal", "wasp") and lx.entity_noun("bailey") is None


# Issue 24, round 16 (tuned on heldout15; these sentences are not from any split) ----------------------------------


def test_a_time_phrase_with_later_before_the_subject_and_a_titled_name_in_a_coordination():
    acts, _, _ = reads("Ines calls for help. An hour later his old truck pulls up, and Dr. Quist jumps out. Ines and "
                       "Dr. Quist wave.")
    assert {("truck", "pull"), ("quist", "jump"), ("ines", "wave"), ("quist", "wave")} <= acts


def test_making_a_dish_is_an_action_making_friends_is_not():
    acts, _, _ = reads("Suri and her cousin Bao are making soup for supper. Later Suri made friends with the "
                       "cook.")
    assert {("suri", "make"), ("bao", "make")} <= acts
    assert sum(1 for w, v in acts if v == "make" and w == "suri") == 1


def test_the_two_then_a_modifier_then_the_group_noun():
    acts, _, _ = reads("Two rescue drones hover. Later the two rescue drones land on the roof.")
    assert ("drones", "land") in acts and not any(v == "rescue" for _, v in acts)


def test_they_is_no_vehicle_that_has_not_acted_nor_a_pet_beside_one_of_the_children():
    acts, _, skipped = reads("Ola calls the farm. Soon her uncle Piet drives up on a tractor. Together they load the "
                             "hay.")
    assert not any(w == "tractor" for w, _ in acts)
    acts, _, skipped = reads("Kit, Lou and Ari built a fort. They crawled inside. Lou's dog, Pip, barked until Ari "
                             "pulled him in. When it rained, they huddled together.")
    assert not any(v == "huddle" for _, v in acts) and any("Pip" in r for r in skipped)


# Issue 24, round 17 (tuned on heldout16; these sentences are not from any split) ----------------------------------


def test_a_place_after_on_or_before_a_common_noun_is_no_character():
    acts, ids, _ = reads("The mining camp on Tessar-9 lies in a crater. The parade at Brookfield harbour was loud. "
                         "A girl named Oona waved.")
    assert ids == ["oona"] and ("oona", "wave") in acts


def test_vehicles_in_the_plural_act_as_a_group_and_a_kind_of_plane_is_the_plane():
    acts, ids, _ = reads("Two tractors rumble into the field. At noon the two tractors stop. Captain Roe climbs "
                         "into a seaplane. The seaplane skims the lake. When the plane lands, Captain Roe waves.")
    assert {("tractors", "rumble"), ("tractors", "stop"), ("seaplane", "skim"), ("seaplane", "land")} <= acts
    assert "plane" not in ids


def test_ruling_is_no_action_and_a_participle_phrase_after_the_subject_in_the_present():
    acts, _, _ = reads("Once there was an old lion who ruled the plains. The crowd squeezed into the hall claps its "
                       "hands and sings.")
    assert not any(v in ("rule", "squeeze") for _, v in acts) and {("crowd", "clap"), ("crowd", "sing")} <= acts


def test_a_possessive_apposition_gives_the_kind_and_after_her_is_no_new_clause():
    acts, ids, _ = reads("Juno runs outside. Biscuit, her fat old pony, trots after her and nibbles the hedge.")
    assert {("biscuit", "trot"), ("biscuit", "nibble")} <= acts
    from dreamrunner_cli.planning.heuristic import discover_entities

    reg = discover_entities(["Juno runs outside. Biscuit, her fat old pony, trots after her."], [])
    assert reg.by_id["biscuit"].kind == "animal"
    reg = discover_entities(["Juno, her brother and Tom ran to the lake. Juno laughed."], [])
    assert "brother" not in reg.by_id["juno"].nouns  # a list is no apposition: Juno is not "her brother"


def test_a_caseless_name_between_commas_before_the_verb_and_a_relative_after_a_passive_agent():
    acts, ids, _ = reads("The tallest one, ดาว, lifted the lid and peered inside. A jug of milk was tipped over "
                         "by a cat that was chasing a moth.")
    assert {("daw", "lift"), ("daw", "peer"), ("cat", "tip"), ("cat", "chase")} <= acts  # ดาว's id is "daw"


def test_they_all_is_everyone_when_the_story_has_three_people():
    acts, _, _ = reads("Ivo painted the fence, and Lena mixed the paint. Marta fetched brushes. Then Ivo and Lena "
                       "rested. Later they all washed the brushes.")
    assert {("ivo", "wash"), ("lena", "wash"), ("marta", "wash")} <= acts


# Issue 24, round 18 (tuned on heldout17; these sentences are not from any split) ----------------------------------


def test_a_name_after_a_time_noun_and_the_role_it_is_given_in_apposition():
    acts, ids, _ = reads("Every morning the baker cycled past the pond. One day Ruben, the baker, stopped and waved.")
    assert "baker" not in ids and {("ruben", "cycle"), ("ruben", "stop"), ("ruben", "wave")} <= acts


def test_the_two_friends_may_be_animals_and_the_two_birds_the_two_named_before():
    acts, ids, _ = reads("Pip, a small vole, finds a sock. Her friend Dot, a hedgehog, trots over. The two friends "
                         "drag the sock home. A heron scolded the little wren. The wren hid. Then the two birds "
                         "splashed side by side.")
    assert "friends" not in ids and "birds" not in ids
    assert {("pip", "drag"), ("dot", "drag"), ("heron", "splash"), ("wren", "splash")} <= acts


def test_the_audience_after_the_crowd_is_the_crowd_and_a_superlative_names_another_one():
    acts, ids, _ = reads("The crowd cheers as the band begins. Later the audience sings along. A troop of goats "
                         "stands on the rocks. The oldest goat, a ram with long horns, leaps down. Ada laughs, but "
                         "the youngest goat nibbles her scarf.")
    assert "audience" not in ids and ("crowd", "sing") in acts
    assert ("goat", "leap") in acts and ("goat", "nibble") not in acts


# Issue 24, after round 18 (heldout18 showed it; not yet judged on a new held-out split) ----------------------------


def test_a_counted_role_noun_is_a_new_group_even_with_the_same_count():
    acts, ids, _ = reads("Three small kids sang a song. The three judges scribbled notes and nodded.")
    assert "judges" in ids and ("judges", "nod") in acts and ("kids", "nod") not in acts


# Issue 24, round 19 (tuned on heldout18; these sentences are not from any split) ----------------------------------


def test_his_name_was_names_the_role_noun_of_the_sentence_before():
    acts, ids, _ = reads("At noon the locksmith knocked on Vera's door. His name was Mr. Quill, and he wore a cap. "
                         "Vera opened the door, and Mr. Quill knelt by the lock.")
    assert "locksmith" not in ids and {("quill", "knock"), ("quill", "kneel"), ("vera", "open")} <= acts
    acts, ids, _ = reads("A nurse hurried into the ward. She was called Odile. Odile checked the chart.")
    assert "nurse" not in ids and {("odile", "hurry"), ("odile", "check")} <= acts
    # two role nouns in the sentence before: whose name it is would be a guess
    _, ids, _ = reads("The plumber and the painter arrived. His name was Mr. Quill. Mr. Quill waved.")
    assert {"plumber", "painter", "quill"} <= set(ids)


def test_a_named_machine_takes_its_kind_from_the_noun_in_apposition_and_a_surname_is_the_same_person():
    from dreamrunner_cli.planning.heuristic import discover_entities

    reg = discover_entities(["The rover, a six-wheeled machine called Pebble, rolls off the ramp. Captain Ines "
                             "Moreau waves. Later Captain Moreau climbs in."], [])
    assert reg.by_name("pebble").kind == "vehicle"
    assert [e.id for e in reg.entities if "moreau" in e.names] == ["ines"]


def test_the_two_with_a_role_noun_nobody_was_called_is_reported_not_a_new_group():
    acts, ids, skipped = reads("Professor Abara climbs the dune. Her student, a boy named Kip, follows. Then the "
                               "two surveyors unpack the tripod.")
    assert "surveyors" not in ids and not any(v == "unpack" for _, v in acts)
    assert any("surveyors" in r for r in skipped)


def test_a_person_noun_that_can_be_an_adjective_is_a_person_before_its_verb():
    acts, ids, _ = reads("The mechanic wipes his hands, and the official waves a green flag. The patient near the "
                         "window coughs.")
    assert {("mechanic", "wipe"), ("official", "wave"), ("patient", "cough")} <= acts
    _, ids, _ = reads("Oona gave the waiter a patient smile and walked off.")
    assert "patient" not in ids  # an adjective before its noun


def test_she_far_back_is_the_one_shown_to_be_she_when_the_others_gender_is_unknown():
    acts, _, _ = reads("Mirela brushes her hair on the bus. The driver honks the horn. A dog barks somewhere. "
                       "The bell rings. She jumps down and runs to the gate.")
    assert {("mirela", "jump"), ("mirela", "run")} <= acts and ("driver", "jump") not in acts


def test_a_group_noun_before_a_preposition_is_the_subject_not_a_verb():
    acts, _, _ = reads("Four tall kids from the school bus sprinted to the swings.")
    assert ("kids", "sprint") in acts


def test_whose_opens_a_relative_clause_and_running_a_counter_is_no_motion():
    acts, ids, _ = reads("A girl whose kitten was mewing lifted it onto her lap, and the kitten purred.")
    assert {("girl", "lift"), ("kitten", "mew"), ("kitten", "purr")} <= acts
    acts, _, _ = reads("Mr. Sato, who ran the ticket office, smiled and waved. Later Mr. Sato ran the last lap.")
    assert {("sato", "smile"), ("sato", "wave"), ("sato", "run")} <= acts
    acts, _, _ = reads("Mr. Sato, who ran the ticket office, smiled.")
    assert ("sato", "run") not in acts


# Issue 24, round 20 (tuned on heldout19; these sentences are not from any split) ----------------------------------


def test_a_quotation_then_a_caseless_name_and_its_verb_is_one_sentence():
    assert sentences('"Stop that!" 유나 pleads, tugging his sleeve. He stops.') == [
        '"Stop that!" 유나 pleads, tugging his sleeve.', "He stops."]


def test_a_group_the_story_names_is_its_own_group():
    acts, ids, _ = reads("Ana and Leo sat on the bench. The Mensah twins cartwheeled across the lawn. Then both twins "
                         "bowed.")
    assert "mensah-twins" in ids
    assert {("mensah-twins", "cartwheel"), ("mensah-twins", "bow")} <= acts and ("ana", "bow") not in acts
    acts, ids, _ = reads("Six rowers from Eastfield carried their boat down. The Westbrook crew waved. The crew "
                         "laughed.")
    assert ("westbrook-crew", "wave") in acts and ("rowers", "laugh") in acts
    assert ("westbrook-crew", "laugh") not in acts


def test_an_institution_after_its_members_is_the_same_group():
    acts, ids, _ = reads("The Class Three pupils marched into the museum. A guide smiled. Later the whole class "
                         "clapped.")
    assert "class" not in ids and ("class-three-pupils", "clap") in acts


def test_no_one_acts_in_a_negated_subject():
    acts, _, skipped = reads("A heron stalked the reeds. Since that day, no heron has fished in the pond.")
    assert ("heron", "fish") not in acts and ("heron", "stalk") in acts


def test_a_possessor_inside_an_apposition_and_kinship_words_of_other_languages():
    acts, ids, _ = reads("Miso, her uncle's grey donkey, brayed. The donkey trotted off. Lina woke Jiddo, and "
                         "together they chased the donkey. Her grandfather laughed.")
    assert "donkey" not in ids and {("miso", "bray"), ("miso", "trot")} <= acts
    assert {("lina", "chase"), ("jiddo", "chase"), ("jiddo", "laugh")} <= acts and ("miso", "chase") not in acts


def test_he_may_be_an_animal_when_the_story_calls_an_animal_he_and_a_reflexive_tells_gender():
    acts, _, skipped = reads("A goat named Bosco lowers his horns. The farmer's collie, Pip, lies by the wall. He "
                             "nudges the lamb toward the gate.")
    assert ("bosco", "nudge") not in acts and any("could be" in r for r in skipped)
    acts, _, _ = reads("A stork stood on one leg. A frog was sunning herself on a stone. At last he flapped away.")
    assert ("stork", "flap") in acts


def test_who_with_an_adverb_and_a_clause_that_only_says_how_something_was():
    acts, _, _ = reads("Chidi waves. Rosa bows to Chidi, who just grins.")
    assert ("chidi", "grin") in acts
    acts, _, _ = reads("Ben sat down. Oma sliced the apples while they were still crisp and stewed them.")
    assert ("oma", "stew") in acts and ("ben", "stew") not in acts
    acts, _, _ = reads("Ben sat down. Oma sliced the apples while Ben sang and whistled.")
    assert ("ben", "whistle") in acts


def test_they_is_the_three_who_acted_together_and_the_two_a_sentence_names():
    acts, _, _ = reads("Ada, Bo and their cousin Cy hiked to the falls. Ada climbed a rock. Bo nudged Cy into a "
                       "puddle. They paddled in the pool.")
    assert {("ada", "paddle"), ("bo", "paddle"), ("cy", "paddle")} <= acts


def test_an_adjective_like_participle_a_bare_plural_subject_and_a_phrase_of_time_after_a_compound_noun():
    acts, ids, _ = reads("A school of fish darted past. A battered old fish nosed the reef.")
    assert ("fish", "nose") in acts
    acts, ids, _ = reads("Tourists in their heavy boots trudged up the hill. Hundreds of gulls on the cliff "
                         "screeched. Children waved from the bus.")
    assert {("tourists", "trudge"), ("gulls", "screech"), ("children", "wave")} <= acts
    acts, _, _ = reads("The scouts marched to the bus station on Monday.")
    assert ("scouts", "march") in acts and not any(v == "station" for _, v in acts)


# Issue 24, round 21 (tuned on heldout20; these sentences are not from any split) ----------------------------------


def test_her_after_a_woman_who_just_acted_may_be_hers_and_a_title_after_named():
    acts, _, _ = reads("Tomas stands at the school gate. His aunt hugs him and waves. Tomas holds her hand. Later "
                       "he runs inside.")
    assert ("tomas", "run") in acts
    acts, ids, _ = reads("The floor was mopped by the caretaker, a tall man named Mr. Ossei. Mr. Ossei whistled.")
    assert "caretaker" not in ids and {("ossei", "mop"), ("ossei", "whistle")} <= acts


def test_a_plural_possessive_and_one_of_a_plural():
    acts, ids, _ = reads("The divers' boat rocked on the swell. One of the divers, a woman in a red suit, waves. "
                         "She jumps in. The diver swims down.")
    assert "divers" not in ids and not any(v == "boat" for _, v in acts)
    assert {("diver", "wave"), ("diver", "jump"), ("diver", "swim")} <= acts


def test_he_is_the_animal_when_it_is_the_only_one_close_by():
    acts, _, _ = reads("The zookeeper, Mr. Abe, opens his bucket. A seal called Pebble flops onto the rocks. Then he "
                       "slides into the water.")
    assert ("pebble", "slide") in acts and ("abe", "slide") not in acts
    acts, _, _ = reads("A moth, a small grey one, fluttered past Kwame's face. He ducked.")
    assert ("moth", "duck") not in acts


def test_the_one_let_or_helped_does_the_verb_after_it():
    acts, _, _ = reads("A goat stands by the fence. Ines opens the gate and lets the goat nibble her sleeve.")
    assert ("goat", "nibble") in acts and ("ines", "nibble") not in acts


def test_the_parents_of_no_character_are_a_group_of_their_own():
    acts, ids, _ = reads("Ama and Kojo kicked the ball. The parents on the bench clapped and cheered.")
    assert ("parents", "clap") in acts and ("ama", "clap") not in acts


def test_a_participle_adjective_after_a_number_a_time_before_a_possessor_and_soaking_wet():
    acts, _, _ = reads("Soon three wet ducklings waddle onto the bank.")
    assert ("ducklings", "waddle") in acts
    acts, _, _ = reads("Mira calls the plumber, and ten minutes later Mr. Dube's van pulls into the drive.")
    assert ("van", "pull") in acts
    acts, _, _ = reads("Lotte waded in. She came back soaking wet and laughed.")
    assert ("lotte", "soak") not in acts and ("lotte", "laugh") in acts


# Issue 24, round 22 (tuned on heldout21; these sentences are not from any split) ----------------------------------


def test_a_named_boat_may_be_she_and_one_subject_pronoun_names_the_same_one_twice():
    acts, _, _ = reads("Marigold is a small blue ferry. Every morning she sails out of the bay.")
    assert ("marigold", "sail") in acts
    acts, _, _ = reads("Tariq races down the wing. He is tackled by a big defender, but he jumps up and passes.")
    assert {("tariq", "jump"), ("tariq", "pass")} <= acts and ("defender", "pass") not in acts


def test_kinship_words_name_the_same_one_both_ways():
    acts, ids, _ = reads("Ren and his grandmother walked to the lake. Grandma fed the ducks. Grandma laughed.")
    assert ids.count("grandma") + ids.count("grandmother") == 1 and ("grandma", "walk") in acts


def test_names_listed_after_named_take_the_kind_and_a_noun_before_a_plural_describes_it():
    acts, ids, _ = reads("Two fox cubs called Pip and Moss live under the shed. Pip chases a moth. Both cubs yawn.")
    assert "fox" not in ids and "cubs" not in ids
    assert {("pip", "chase"), ("pip", "yawn"), ("moss", "yawn")} <= acts


def test_a_bare_plural_of_things_is_no_group_and_twins_of_no_character_are_a_group():
    _, ids, _ = reads("Ana watches. Fireworks whizzed up and burst over the roofs.")
    assert "fireworks" not in ids
    acts, ids, _ = reads("Ola and Piet climbed the tower. The twins were scared, but they followed.")
    assert ("twins", "follow") in acts and ("ola", "follow") not in acts


def test_from_next_door_one_after_another_and_plural_teams():
    acts, _, _ = reads("Suki and her friend Bao from next door built a den.")
    assert {("suki", "build"), ("bao", "build")} <= acts
    acts, _, _ = reads("At the top, the kids slid down the long chute one after another.")
    assert ("kids", "slide") in acts and not any(v == "chute" for _, v in acts)
    acts, ids, _ = reads("The umpire tosses the coin, and the two teams jog onto the field.")
    assert ("teams", "jog") in acts
    acts, ids, _ = reads("The bakers and the fishermen lined up. Both teams pulled hard.")
    assert "teams" not in ids and {("bakers", "pull"), ("fishermen", "pull")} <= acts


# Issue 24, round 23 (tuned on heldout22; these sentences are not from any split) ----------------------------------


def test_who_after_a_phrase_describing_a_person_and_which_after_a_group():
    acts, ids, _ = reads("Ines shoots. The ball is caught by the goalie, a short boy in a striped cap, who rolls "
                         "to his left.")
    assert "cap" not in ids and ("goalie", "roll") in acts
    acts, _, _ = reads("Three geese paddle by. Rufus growls at a pair of geese, which honk and flap their wings.")
    assert {("geese", "honk"), ("geese", "flap")} <= acts


def test_a_relative_with_an_adverb_after_its_verb_and_as_if_and_an_adjective_participle():
    acts, _, _ = reads("Then the pony that Kasia was grooming earlier nudges her arm.")
    assert ("pony", "nudge") in acts and ("kasia", "groom") in acts
    acts, ids, _ = reads("A mule waits. The children cheer, and the mule snorts as if he is laughing. Jun ran as if "
                         "a wolf were chasing him.")
    assert ("mule", "snort") in acts and ("mule", "laugh") not in acts and "wolf" not in ids
    acts, _, _ = reads("A robin hops. The robin sings a sweet, trilling tune.")
    assert ("robin", "sing") in acts and ("robin", "trill") not in acts


# Issue 24, round 24 (tuned on heldout23; these sentences are not from any split) ----------------------------------


def test_a_compound_noun_after_a_plural_subject_and_the_mother_bear():
    acts, ids, _ = reads("Two fox cubs crept out of their earth den in late April. Their mother sniffed the wind. "
                         "Later the mother fox trotted off.")
    assert not any(v == "den" for _, v in acts) and "fox" not in ids and "april" not in ids
    assert {("cubs", "creep"), ("mother", "trot")} <= acts


def test_one_of_a_flock_on_her_own_and_she_after_a_newcomer():
    acts, ids, _ = reads("The goats graze on the hill. One stubborn goat wanders off and climbs a wall.")
    assert ("goat", "climb") in acts and ("goats", "climb") not in acts
    acts, _, skipped = reads("Ada filled sandbags while Mr. Pike shovelled sand. A truck rumbled up with a doctor "
                             "inside. She jumped down and waved.")
    assert ("ada", "jump") not in acts and any("doctor" in r for r in skipped)


# Issue 24, round 25 (tuned on heldout24; these sentences are not from any split) ----------------------------------


def test_a_past_known_only_as_a_participle_and_the_sex_of_a_kinship_anchor():
    acts, _, _ = reads("Odile sanded the plank while Bram fitted the hinges.")
    assert ("bram", "fit") in acts
    acts, ids, _ = reads("Samir hung a hammock between two trees. His son Idris held the ropes. Their mother "
                         "laughed and waved.")
    assert ("samir", "wave") not in acts and ("mother", "wave") in acts


# Issue 24, round 26 (tuned on heldout25; these sentences are not from any split) ----------------------------------


def test_a_passive_agent_after_at_once_and_a_group_by_the_window():
    acts, _, _ = reads("The kite drifted down. It was grabbed at once by a shaggy collie.")
    assert ("collie", "grab") in acts
    acts, _, _ = reads("Four girls by the door waved their flags.")
    assert ("girls", "wave") in acts


def test_she_after_a_sentence_about_an_owned_animal_and_he_in_a_clause_after_until():
    acts, _, _ = reads("Lior stood by the gate. Lior's goat, Pepper, trotted out of her pen. She jumped onto the "
                       "cart and chewed a sack.")
    assert ("pepper", "jump") in acts and ("lior", "jump") not in acts
    acts, _, skipped = reads("A dog, Rolo, burst into the room. He jumped onto the sofa and licked Grandpa's ear "
                             "until he woke up.")
    assert ("rolo", "wake") not in acts and any("waking" in r for r in skipped)


# Issue 24, round 27 (tuned on heldout26; these sentences are not from any split) ----------------------------------


def test_a_flock_of_birds_the_word_lists_do_not_know_and_an_object_relative_after_a_comma():
    acts, ids, _ = reads("Tembo wakes. A flock of sunbirds lands on the branch, and they chirp.")
    assert {("flock", "land"), ("flock", "chirp")} <= acts and ("tembo", "chirp") not in acts
    acts, _, _ = reads("Aiko and Ren hiked up. At the top they sat by the flag, which Ren had tied to a pole.")
    assert ("ren", "tie") in acts and ("aiko", "tie") not in acts


def test_knees_are_no_verb_and_that_she_had_been_walking():
    acts, _, _ = reads("Uma dropped her ring. She searched the lawn on her hands and knees.")
    assert not any(v == "knee" for _, v in acts)
    acts, ids, _ = reads("Greta waved. The pony that she had been leading trotted off and grazed.")
    assert {("pony", "trot"), ("pony", "graze")} <= acts


# Issue 24, round 28 (tuned on heldout27; these sentences are not from any split) ----------------------------------


def test_her_classmates_are_the_class_the_story_has():
    acts, ids, _ = reads("Class 2C lined up for lunch. The smallest pupil, a boy called Ivo, tripped. His classmates "
                         "giggled.")
    assert "classmates" not in ids and any(v == "giggle" and w != "ivo" for w, v in acts)


# Issue 24, round 29 (tuned on heldout28; these sentences are not from any split) ----------------------------------


def test_a_colour_tells_two_of_a_kind_apart_and_a_batter_let_rest_is_no_one():
    acts, _, _ = reads("A brown hen pecked at the corn, and a white hen flapped onto the fence. The white hen "
                       "clucked.")
    assert ("hen", "cluck") not in acts
    acts, ids, _ = reads("Omar whisks the eggs and flour and lets the batter rest.")
    assert "batter" not in ids and not any(v == "rest" for _, v in acts)


# Issue 24, after round 29 (heldout29 showed it; not yet judged on a new held-out split) ----------------------------


def test_a_plural_toy_makes_its_singular_a_toy_too():
    acts, ids, _ = reads("Pia and Jonah folded paper boats. Jonah's boat drifted across the pond and sank.")
    assert "boat" not in ids and not any(v in ("drift", "sink") for _, v in acts)


# Issue 24, round 31 (tuned on heldout30 and heldout31; these sentences are not from any split) --------------------


def test_a_subject_pronoun_is_not_someone_named_later_in_its_sentence():
    acts, _, _ = reads("Odile climbs onto the pier. A girl is splashing in the waves. She jumps in and pulls the girl "
                       "out.")
    assert {("odile", "jump"), ("odile", "pull")} <= acts and ("girl", "jump") not in acts
    # (a clause before the main one may name ahead: "When she grabs the rope, the girl waves")
    acts, _, _ = reads("A girl floats on a raft. When she grabs the rope, the girl waves.")
    assert {("girl", "grab"), ("girl", "wave")} <= acts


def test_they_after_a_clause_naming_two_people_one_as_an_owner():
    acts, _, _ = reads("Bruno waved at the referee. Bruno shook Ilse's hand, and they walked off the court.")
    assert {("bruno", "walk"), ("ilse", "walk")} <= acts and ("referee", "walk") not in acts


def test_a_possessive_in_an_opening_phrase_is_the_subjects_after_the_comma():
    acts, _, _ = reads("Ilka and the coach walked to the ring. On her first jump, Ilka was cheered by the coach. He "
                       "whistled.")
    assert ("coach", "whistle") in acts and ("ilka", "whistle") not in acts
    # (not when someone else is in the phrase: "At her mother's party, Tom sang" says nothing of Tom)


def test_a_pod_of_animals_is_the_animals_and_a_tuk_tuk_is_a_vehicle():
    acts, ids, _ = reads("One morning a pod of porpoises races past the ferry.")
    assert ("porpoises", "race") in acts
    acts, ids, _ = reads("The pea pod burst open.")
    assert not ids
    acts, _, _ = reads("Ines waved at a tuk-tuk. The tuk-tuk screeched to a halt.")
    assert ("tuk-tuk", "screech") in acts


def test_a_compound_noun_after_an_entity_noun_and_a_relative_clause_with_a_title_and_a_colour():
    acts, _, _ = reads("A lobster crawled out. The lobster boat that Captain Oonagh had painted bright yellow left "
                       "the harbour.")
    assert ("boat", "leave") in acts and ("oonagh", "paint") in acts and ("boat", "paint") not in acts
    acts, _, _ = reads("Mrs. Okafor waved. A ferry hooted. The ferry that Mrs. Okafor had wiped clean sailed at noon.")
    assert ("ferry", "sail") in acts and ("ferry", "wipe") not in acts


def test_at_once_starts_no_clause():
    acts, _, _ = reads("A magpie lands on the fence at once and pecks the crumbs.")
    assert {("magpie", "land"), ("magpie", "peck")} <= acts


# Issue 24, round 32 (tuned on heldout32 and heldout33; these sentences are not from any split) --------------------


def test_a_team_the_story_names_is_a_group_and_both_boys_are_the_two_it_has():
    acts, ids, _ = reads("The Comets and the Otters jog onto the pitch. A tall Otter stretches. The Otters sprint "
                         "away.")
    assert {("comets", "jog"), ("otters", "jog"), ("otters", "sprint")} <= acts
    acts, ids, _ = reads("The Ferris wheel at the fair turns slowly.")  # (no plural: no group)
    assert "ferris" not in ids
    acts, ids, _ = reads("Nan Ilse and her grandsons, Piet and Joost, bake bread. Both boys knead the dough. Later "
                         "the boys are eating it.")
    assert "boys" not in ids and {("piet", "eat"), ("joost", "eat")} <= acts


def test_lists_of_things_and_colours_are_no_verbs_and_made_his_home_shows_nothing():
    acts, _, _ = reads("Oona piles the rice, carrots and prawns along one edge and folds the leaf.")
    assert ("oona", "fold") in acts and not any(v == "prawn" for _, v in acts)
    acts, _, _ = reads("The fans on the hill waved red and blue flags.")
    assert not any(v == "blue" for _, v in acts)
    acts, _, _ = reads("Long ago, a badger with a white stripe made his home under an oak.")
    assert not any(v == "make" for _, v in acts)
    acts, _, _ = reads("Pavel and Lin stared. A drone hovered. For a minute, the two machines blinked at each other.")
    assert not any(v == "machine" for _, v in acts)


def test_a_relative_clause_in_the_perfect_after_an_object_and_a_passive_agent_before_a_new_clause():
    acts, _, _ = reads("Dagny frees the moths that have flown into the lamp.")
    assert ("moths", "fly") in acts and ("dagny", "fly") not in acts
    acts, _, _ = reads("Tor waved. Liv ran. The ball is kicked across the field by Tor, and Liv catches it.")
    assert ("tor", "kick") in acts and ("liv", "catch") in acts and ("liv", "kick") not in acts


def test_her_sisters_are_others_and_a_mother_or_a_baby_of_a_kind():
    acts, ids, _ = reads("Caleb and Ruthanne woke early. A table was carried out by Ruthanne and her sisters.")
    assert "sisters" in ids and ("caleb", "carry") not in acts
    acts, ids, _ = reads("The ducks paddle out. A baby duck wobbles onto a rock. The baby peeps and hides.")
    assert {("duck", "wobble"), ("duck", "peep"), ("duck", "hide")} <= acts and "baby" not in ids
    acts, _, _ = reads("Ola found a thrush chick on the path. The chick cheeped. Soon the mother thrush swooped "
                       "down.")
    assert ("chick", "swoop") not in acts


# Issue 24, round 33 (tuned on heldout34 and heldout35; these sentences are not from any split) --------------------


def test_a_relative_after_a_named_apposition_and_a_relative_clause_without_that():
    acts, _, _ = reads("Under the hill lived a badger named Ottilie, who dug tunnels all night.")
    assert ("ottilie", "dig") in acts and not any(v == "tunnel" for _, v in acts)
    acts, _, _ = reads("The visitors stroll by. The ducks gobble the bread the visitors have thrown.")
    assert ("visitors", "throw") in acts and ("ducks", "throw") not in acts
    acts, _, _ = reads("The ducks gobble the bread the visitors have thrown.")  # (no such visitors: not the ducks')
    assert ("ducks", "throw") not in acts


def test_lists_adjectives_and_participles_that_are_no_action():
    acts, _, _ = reads("The jays mocked his bent beak and ragged feathers.")
    assert not any(v == "rag" for _, v in acts)
    acts, _, _ = reads("Idris mixes sugar, salt, apples and cream in a jug.")
    assert not any(v == "apple" for _, v in acts)
    acts, _, _ = reads("Oskar carries the puppy home, sleepy and sandy, wrapped in a towel.")
    assert ("oskar", "carry") in acts and not any(v == "wrap" for _, v in acts)
    acts, _, _ = reads("Tamsin is the smallest on the team, and she looks very worried.")
    assert not any(v == "look" for _, v in acts)


def test_a_figure_of_an_animal_one_of_a_group_named_and_the_whole_family():
    acts, ids, _ = reads("A marble statue of a lion guards the gate. By noon the lion shone.")
    assert "lion" not in ids
    acts, ids, _ = reads("Eight hikers trudged up the hill. One of the hikers, a small man called Anselm, slipped. "
                         "The hikers laughed.")
    assert ("hikers", "laugh") in acts and ("anselm", "laugh") not in acts
    acts, ids, _ = reads("Nour and her grandson Sami bake bread. At six, the whole family sits down at the table.")
    assert ("nour", "sit") not in acts and ("sami", "sit") not in acts


def test_her_palms_tell_who_she_is_when_no_one_else_is_in_view():
    acts, _, _ = reads("The long jump is the last event. Suvi waits at the end of the runway, rubbing chalk into her "
                       "palms. The head judge raises a flag. She races along the runway.")
    assert ("judge", "race") not in acts


def test_both_before_a_verb_and_a_verb_after_a_phrase_with_with():
    acts, _, _ = reads("The Okoro twins waved. Later the twins sliced the melon, and both carried it inside.")
    assert ("okoro-twins", "carry") in acts
    acts, _, _ = reads("Ines brushes the bun with milk and sprinkles poppy seeds over it.")
    assert ("ines", "sprinkle") in acts
    # a verb left unread a few words after the clause's verb is reported, never dropped in silence
    acts, _, skipped = reads("Bo skated off on his board. Lotte squealed with glee and chased after him.")
    assert ("lotte", "chase") in acts or any("chasing" in reason for reason in skipped)


# Issue 24, round 34 (tuned on heldout36 and heldout37; these sentences are not from any split) --------------------


def test_what_someone_is_before_called_and_a_rank_before_a_name():
    acts, ids, _ = reads("The ferry Skarv hovered above Lofoten Wall. Its skipper, a quiet, broad-shouldered Dane "
                         "called Mette Holm, waved.")
    assert "dane" not in ids and "lofoten" not in ids and not any(v == "call" for _, v in acts)
    acts, ids, _ = reads("Corporal Haddington rode up. The boy was lifted onto the wall by the corporal.")
    assert ("haddington", "lift") in acts and len(ids) == 1


def test_toys_in_the_plural_a_person_noun_before_an_animal_and_one_of_the_plural_named():
    acts, ids, _ = reads("The mayor tipped fifty rubber frogs into the pond. The frogs bobbed and spun.")
    assert not any(w == "frogs" for w, _ in acts)
    acts, ids, _ = reads("Pip is a tiny hermit crab. Pip and Zola watch the waves.")
    assert "hermit" not in ids
    acts, ids, _ = reads("Two monster trucks rumble in. The green one, Zorbaxa, is driven by Dot Harrow. She revs "
                         "hard, and the truck leaps the ramp.")
    assert ("zorbaxa", "leap") in acts and "truck" not in ids
    acts, ids, _ = reads("The otters slide in. The oldest one, Wisp, floats on her back. A baby otter climbs onto "
                         "Wisp's belly.")
    assert ("wisp", "climb") not in acts and ("otter", "climb") in acts


def test_those_with_a_role_are_not_the_audience_and_they_after_someone_unknown_is_a_guess():
    acts, ids, _ = reads("The audience cheered. Finally the trainees tossed their hats up.")
    assert ("trainees", "toss") in acts and ("audience", "toss") not in acts
    acts, ids, _ = reads("A crowd gathers. The listeners clap.")  # (maybe the crowd again: no guess, no new group)
    assert "listeners" not in ids
    acts, ids, skipped = reads("The band marched past. The audience cheered. The cadets of Bramwell Hall saluted, "
                               "and they marched off.")
    assert ("audience", "march") not in acts


# Issue 24, round 35 (tuned on heldout38 and heldout39; these sentences are not from any split) --------------------


def test_finishing_shows_nothing_and_a_plural_object_before_the_verb():
    acts, _, _ = reads("When they had finished, Tegan swept the yard while Osian stacked the chairs.")
    assert not any(v == "finish" for _, v in acts)
    acts, _, _ = reads("A goat wandered off. The farmer who was filling the feed buckets dropped his rake.")
    assert ("farmer", "drop") in acts and not any(v == "bucket" for _, v in acts)


def test_them_and_they_after_things_and_what_someone_drives_is_a_vehicle():
    acts, _, _ = reads("Elin cracked four eggs and whisked the yolks in a jug. Bryn folded them into the flour until "
                       "they turned pale.")
    assert not any(v == "turn" for _, v in acts)
    acts, ids, _ = reads("Dr. Vaskova waved. Outside, a cargo crawler that Dr. Vaskova was driving is hit by a rock. "
                         "She steers it behind a dune.")
    assert ("vaskova", "steer") in acts and ("crawler", "steer") not in acts


# Issue 24, round 36 (tuned on heldout40 and heldout41; these sentences are not from any split) --------------------


def test_a_titled_name_after_a_speech_verb_and_a_kin_word_after_the_anchor():
    acts, ids, _ = reads('"Hold still," says Mr. Oyelaran, raising his hand.')
    assert ("oyelaran", "say") in acts and "mr" not in ids
    acts, ids, _ = reads('"Lights off," says Commander Ferreira, closing the hatch.')
    assert ("ferreira", "close") in acts and "commander" not in ids
    acts, _, _ = reads("Marta ties on her apron, and her grandson Ilja rinses the pan. Ilja stirs the soup, and his "
                       "grandmother tastes it.")
    assert ("marta", "taste") in acts


def test_a_pronoun_after_an_opening_preposition_and_a_purpose_after_hurrying():
    acts, _, _ = reads("The tractor rumbled down the lane. Behind it walked a farmer, Odile, with her dog.")
    assert ("tractor", "walk") not in acts
    acts, _, _ = reads("Lotte dropped her scarf, and her father hurried over to pick it up.")
    assert not any(v == "pick" for _, v in acts)


def test_the_children_after_a_crowd_of_children_are_those_children():
    acts, ids, _ = reads("Ama steers the ferry while a boy waves. A crowd of village children runs down to the pier. "
                         "The children cheer as the ferry leaves.")
    assert ("ama", "cheer") not in acts and ("boy", "cheer") not in acts


# Issue 24, round 37 (tuned on heldout42 and heldout43; these sentences are not from any split) --------------------


def test_kin_after_with_the_plural_of_two_named_ones_and_going_quiet():
    acts, ids, _ = reads("Marisol sells tamales with her niece Pilar. Pilar wraps them, and her aunt ties the bags.")
    assert ("marisol", "tie") in acts and "aunt" not in ids
    acts, ids, _ = reads("Two cleaning robots, Mop and Bucket, wait by the door. The robots roll out and sweep the "
                         "hall.")
    assert {("mop", "roll"), ("bucket", "roll")} <= acts and "robots" not in ids
    acts, _, _ = reads("The audience goes quiet.")
    assert not any(v == "go" for _, v in acts)


# Issue 24, round 38 (tuned on heldout44 to heldout47; these sentences are not from any split) ---------------------


def test_a_snowcat_an_age_a_list_that_goes_on_and_the_older_ones_are_others():
    acts, ids, _ = reads("At dawn the snowcat rumbled up the slope.")
    assert "cat" not in ids and ("snowcat", "rumble") in acts
    acts, _, _ = reads("Mrs. Oduya, who turned eighty last week, waved.")
    assert ("oduya", "wave") in acts and not any(v == "turn" for _, v in acts)
    acts, _, _ = reads("Tariq diced the carrots, leeks and potatoes.")
    assert ("tariq", "dice") in acts and not any(v == "leek" for _, v in acts)
    acts, ids, _ = reads("Nell and Ossie hop in the yard. The older boys from Year Six line up and cheer.")
    assert ("nell", "cheer") not in acts and ("ossie", "cheer") not in acts
    acts, _, _ = reads("Basil the badger and Juno the hare argued. The other animals gathered round.")
    assert ("basil", "gather") not in acts and ("juno", "gather") not in acts


# Issue 24, round 39 (tuned on heldout48 and heldout49; these sentences are not from any split) ---------------------


def test_someone_who_is_no_character_is_reported_when_others_act_in_the_sentence():
    # "the others", "the whole school": someone acts who is no entity; the sentence also has an action of Ines
    # (or Mira), so only this rule reports it
    _, _, skipped = reads("Ines folded the towels while the others swept the floor.")
    assert skipped and "sweeping" in skipped[0] and "others" in skipped[0]
    _, _, skipped = reads("Mira waved from the stage, and the whole school clapped.")
    assert skipped and "clapping" in skipped[0] and "school" in skipped[0]
    # a thing that is no one is not reported when a character acts in the sentence
    _, _, skipped = reads("Mira waved from the stage, and the curtain fell.")
    assert skipped == []


def test_a_participle_after_a_particle_or_a_place_is_the_subjects():
    acts, _, _ = reads("Pavel waved at the goat. Pavel ran off giggling. Then Pavel gave up smoking.")
    assert {("pavel", "run"), ("pavel", "giggle")} <= acts and ("pavel", "smoke") not in acts
    acts, _, _ = reads("Odile waved. Odile sat on the step whistling. A van rolled past with its lights flashing.")
    assert {("odile", "sit"), ("odile", "whistle")} <= acts and not any(v == "flash" for _, v in acts)
    acts, _, _ = reads("Odile waved. Odile carried the basket to the top of the office building.")
    assert not any(v == "build" for _, v in acts)


def test_a_month_after_a_time_word_is_no_name():
    acts, ids, _ = reads("Last June, Bertram and Cosima rowed across the lake. Bertram laughed.")
    assert "june" not in ids and {("bertram", "row"), ("cosima", "row")} <= acts
    acts, ids, _ = reads("June waved at Cosima. June laughed.")
    assert "june" in ids and ("june", "wave") in acts


def test_a_pronoun_that_goes_on_from_an_unsure_one_is_unsure_too():
    # the first "she" could be Ana or Lotte; the second one goes on from it, so it is no surer (it was given to Ana,
    # the one the story had shown to be "she")
    text = ("Millbrook's captain, Ana, catches a pass and spins. She shoots, but the ball falls out. The crowd "
            "groans. Lotte grabs the rebound and sprints up the court. Then the umpire's bell rings, and she waves "
            "both arms. \"Out!\" she calls, frowning.")
    acts, _, skipped = reads(text)
    assert ("ana", "shoot") in acts and not any(v in ("wave", "call", "frown") for _, v in acts)
    assert any("calling" in r and "sentence before" in r for r in skipped)


def test_and_after_a_relative_or_subordinate_clause_in_the_main_verbs_tense():
    acts, _, _ = reads("Noor smiled. She peels the bags of lemons that the grocer delivered this morning and "
                       "slices them.")
    assert ("noor", "slice") in acts and ("grocer", "slice") not in acts and ("grocer", "deliver") in acts
    # the same tense after a thing ("the rain"): the otter or the rain? reported, not given to either
    acts, _, skipped = reads("The otter dived. The otter popped up when the rain stopped and shook the water off.")
    assert ("otter", "shake") not in acts and any("shaking" in r and "rain" in r for r in skipped)
    # after a clause of someone, the same tense goes on with that someone
    acts, _, _ = reads("Mia waved at the cat. She smiled as the cat stretched and yawned.")
    assert ("cat", "yawn") in acts and ("mia", "yawn") not in acts


def test_the_members_plural_names_their_collective():
    # "a family of hyraxes … the hyraxes": one group; a plural in -es that the dictionary does not know
    acts, ids, _ = reads("On the cliff lived a family of hyraxes. Every evening the hyraxes huddled together and "
                         "squeaked.")
    assert len([x for x in ids if "hyrax" in x or "family" in x]) == 1
    group = next(x for x in ids if "hyrax" in x or "family" in x)
    assert {(group, "huddle"), (group, "squeak")} <= acts


def test_a_participle_phrase_without_commas_describes_the_subject_before_its_verb():
    acts, _, _ = reads("Tomas waved at Ana. A man wearing a red hat waved back.")
    assert ("man", "wave") in acts and not any(v == "wear" for _, v in acts)
    acts, _, _ = reads("Tomas waved at Ana. The dog lying in the sun yawned.")
    assert ("dog", "yawn") in acts
    acts, _, _ = reads("Tomas waved at Ana. At the gate, an old man carrying a basket of plums stopped and smiled.")
    assert {("man", "carry"), ("man", "stop"), ("man", "smile")} <= acts


def test_before_nightfall_is_a_time():
    acts, _, _ = reads("The robots beep. Before nightfall the robots climb back into the airlock.")
    assert ("robots", "climb") in acts


def test_busy_doing_and_next_door():
    acts, _, _ = reads("Genzo bowed. A monk, who is busy raking the gravel, looks up. The monk waves.")
    assert {("monk", "rake"), ("monk", "look")} <= acts
    acts, _, _ = reads("Tomas waved. Mia was busy painting the fence. Mia laughed.")
    assert ("mia", "paint") in acts
    acts, _, _ = reads("Mia waved. The baker next door comes out and claps. The baker laughs.")
    assert {("baker", "come"), ("baker", "clap")} <= acts


def test_everyone_and_a_bus_act_where_no_entity_is_them():
    _, _, skipped = reads("Everyone at the table cheers, and Ziad takes a photo. Ziad laughs.")
    assert any("cheering" in r and "everyone" in r for r in skipped)
    # (but "everyone in the crowd" is the crowd the story has)
    acts, _, _ = reads("The crowd hums. Everyone in the crowd leaps up and cheers.")
    assert {("crowd", "leap"), ("crowd", "cheer")} <= acts
    # a bus is a vehicle by WordNet's public transport (no self-propelled vehicle there)
    acts, ids, _ = reads("Ana waved at the driver. A minibus pulls up outside the gate.")
    assert ("minibus", "pull") in acts


# Issue 24, round 40 (tuned on heldout50 and heldout51; these sentences are not from any split) ---------------------


def test_an_adjective_opening_a_sentence_is_no_name():
    acts, ids, _ = reads("A cat and her kitten pad into the yard. The cat sniffs the bowl. Hungry, the kitten licks "
                         "the saucer, and the dog yawns.")
    assert "hungry" not in ids and ("kitten", "lick") in acts
    # a name that is also an adjective, in a list of names or with its apposition, is still a name
    acts, ids, _ = reads("Ruby, Otis and Anjali set up a stall. Ruby squeezes the lemons. Ruby laughs.")
    assert "ruby" in ids and ("ruby", "squeeze") in acts


def test_today_is_no_name_and_a_role_after_on_duty():
    acts, ids, _ = reads("A ferry docks at the quay. Today the captain, a tall man named Ruaridh, waves from the "
                         "bridge. Ruaridh laughs.")
    assert "today" not in ids and ("ruaridh", "wave") in acts
    acts, _, _ = reads("Ana waved. The nurse on duty pushes a trolley, and the porter in charge opens the doors.")
    assert {("nurse", "push"), ("porter", "open")} <= acts


def test_by_hand_is_no_passive_agent():
    acts, _, _ = reads("Mateusz waved. Mateusz had a red canoe, which his aunt had painted by hand. His aunt laughed.")
    assert ("aunt", "paint") in acts and ("mateusz", "paint") not in acts


def test_a_plural_subjects_present_reading_in_a_present_story():
    acts, _, _ = reads("The doe lifts her head. She stamps once, and both deer bound away over the hedge.")
    assert any(v == "bound" for _, v in acts) and not any(v == "bind" for _, v in acts)
    acts, _, _ = reads("The deer stamped. Both deer bound the sacks with rope.")
    assert any(v == "bind" for _, v in acts)


def test_a_time_then_a_list_of_names_and_a_named_group_with_a_relative():
    acts, _, _ = reads("Perpetua waved. Ines waved. Colm waved. That evening, Perpetua, Ines and Colm sat on the wall.")
    assert {("perpetua", "sit"), ("ines", "sit"), ("colm", "sit")} <= acts
    acts, _, _ = reads("The Okonkwo twins waved. The Okonkwo twins, who lived upstairs, ran outside and skipped.")
    assert {("okonkwo-twins", "run"), ("okonkwo-twins", "skip")} <= acts


def test_they_both_are_the_people_not_the_things_before():
    acts, _, skipped = reads("Noa waved. Grandpa Isaac rolls the pastry. Noa folds each parcel shut, but her first one "
                             "looks like a crumpled hat, and they both laugh.")
    assert {("noa", "laugh"), ("isaac", "laugh")} <= acts


# Issue 24, round 41 (tuned on heldout52 and heldout53; these sentences are not from any split) ---------------------


def test_an_animal_then_a_verb_that_is_also_a_plural_of_people():
    acts, ids, _ = reads("Ana waved. A cat creeps under the porch and bats at a peel.")
    assert "cat" in ids and {("cat", "creep"), ("cat", "bat")} <= acts
    acts, ids, _ = reads("Ana waved. The bear cubs play in the snow.")
    assert any(v == "play" for _, v in acts) and "bear" not in ids


def test_a_name_after_little_in_a_coordination():
    acts, _, _ = reads("Lidia waved. Sorin waved. Lidia and little Sorin crawled under the tree.")
    assert {("lidia", "crawl"), ("sorin", "crawl")} <= acts


def test_a_siren_is_no_one_and_a_working_life_is_no_action():
    acts, ids, _ = reads("Ana waved. At noon a siren wails, and Ana laughs.")
    assert "siren" not in ids and ("ana", "laugh") in acts
    acts, _, _ = reads("Ana waved. The miller, who has worked at the mill for forty years, weighs each sack and "
                       "marks it with chalk. The miller laughs.")
    assert {("miller", "weigh"), ("miller", "mark")} <= acts and ("miller", "work") not in acts


def test_a_noun_after_two_adjectives_and_a_name_after_to_with_its_kin():
    acts, _, _ = reads("Ana waved. Hadeel wiped the pane dry with long, even strokes.")
    assert ("hadeel", "wipe") in acts and not any(v == "stroke" for _, v in acts)
    acts, ids, _ = reads("Kirsty flips it sideways to Torquil, her cousin. Near the end Torquil trips over a divot.")
    assert "torquil" in ids and ("torquil", "trip") in acts


# Issue 24, round 42 (tuned on heldout54 and heldout55; these sentences are not from any split) ---------------------


def test_all_three_are_the_three_who_last_acted_together():
    acts, _, skipped = reads("Ines, Bo and Kai walked to the pier. A fisherman named Lars mended a net. Ines bought "
                             "a fish from him. Kai held the bag. Then all three ran home.")
    assert {("ines", "run"), ("bo", "run"), ("kai", "run")} <= acts and ("lars", "run") not in acts
    acts, _, _ = reads("Ines and Kai walked to the pier. A fisherman named Lars mended a net. Ines bought a fish. "
                       "Then the two men shook hands.")
    assert ("ines", "shake") not in acts  # the two who acted together are not known to be men


def test_the_two_of_a_role_one_of_them_has_are_the_story_s_two_people():
    acts, ids, _ = reads("A young beekeeper, Oriane, opened the hive. Her uncle Basile held the smoker, and the "
                         "bees buzzed. At noon the two beekeepers laughed and walked home.")
    assert "beekeepers" not in ids
    assert {("oriane", "laugh"), ("basile", "laugh"), ("oriane", "walk"), ("basile", "walk")} <= acts


def test_the_kin_of_an_animal_is_an_animal_of_its_kind():
    acts, ids, _ = reads("Tumi is a meerkat with a long tail. Her brother Zazu digs beside her. At dusk the two "
                         "meerkats curl up in the burrow.")
    assert "meerkats" not in ids and {("tumi", "curl"), ("zazu", "curl")} <= acts
    acts, ids, _ = reads("A farmer, Odile, fed the hens. Her dog, Pip, barked. Her uncle Remy laughed.")
    assert ("remy", "laugh") in acts  # her uncle is the farmer's: he stays a person
    from dreamrunner_cli.planning.heuristic import discover_entities

    reg = discover_entities(["A farmer, Odile, fed the hens. Her dog, Pip, barked. Her uncle Remy laughed."], [])
    assert reg.by_name("remy").kind == "person"


def test_one_group_named_by_its_nouns_compound_or_apposed():
    acts, ids, _ = reads("Nadia waved. Two small guard robots roll along the dock. Hours later the guards stop.")
    assert ids == ["nadia", "robots"] and ("robots", "stop") in acts
    acts, ids, _ = reads("The tailorbirds were busy in the fig tree. The tailors stitched leaves into cups.")
    assert len([i for i in ids if i.startswith("tailor")]) == 1 and any(v == "stitch" for _, v in acts)
    acts, ids, _ = reads("Each spring the old ewe, Bramble, has a new calf, a brown heifer with a white face. "
                         "The heifer totters after her. At dusk the calf sleeps in the straw.")
    assert not ("calf" in ids and "heifer" in ids) and any(v == "sleep" for _, v in acts)


def test_no_dash_s_verb_after_a_plural_subject_and_a_round_adjective():
    acts, _, _ = reads("Ana and Teo carried the crates. They washed the cups and mugs in the sink.")
    assert ("ana", "wash") in acts and not any(v == "mug" for _, v in acts)
    acts, _, _ = reads("Ana waved. A group of tourists stops at the gate and takes photos.")
    assert any(v == "take" for _, v in acts)  # a group of them takes: the group's verb
    acts, _, _ = reads("Pip the owl sat on a branch. At dawn Pip closes her wide, round eyes.")
    assert ("pip", "close") in acts and not any(v == "round" for _, v in acts)


def test_carry_on_and_before_ing_and_a_question_and_things_after_one_person():
    acts, _, _ = reads("Ana waved. The drone hummed twice and carried on spraying.")
    assert ("drone", "spray") in acts and ("drone", "carry") not in acts
    acts, _, _ = reads("Ana waved. Bruno sniffed the soup before tasting it.")
    assert {("bruno", "sniff"), ("bruno", "taste")} <= acts
    acts, _, _ = reads("Ana and Teo cooked. Teo's sister Mila runs in and asks when they can swim.")
    assert ("mila", "ask") in acts and not any(v == "swim" for _, v in acts)
    acts, _, skipped = reads("Ana and her father Teo cooked. Ana fries the peppers slowly until they turn soft.")
    assert ("ana", "fry") in acts and not any(v == "turn" for _, v in acts)


# Issue 24, round 43 (tuned on heldout56 and heldout57; these sentences are not from any split) ---------------------


def test_a_shuttle_is_a_vehicle_and_full_tanks_are_no_one():
    acts, ids, _ = reads("Ana waved. A small cargo shuttle drifts toward the dock and latches on.")
    assert ("shuttle", "drift") in acts
    acts, ids, _ = reads("Ana waved. Two little robots fill the tanks. Once the tanks are full, the robots roll "
                         "away.")
    assert "tanks" not in ids and ("robots", "roll") in acts


def test_the_two_of_another_noun_are_the_one_group_of_two():
    acts, ids, _ = reads("Ana waved. Two little robots crawl out of a hatch. Once the tanks were full, the two "
                         "crawlers return to the hatch.")
    assert ids == ["ana", "robots"] and ("robots", "return") in acts


def test_her_grandmother_is_she_and_a_feast_after_the_day_is_no_one():
    from dreamrunner_cli.planning.heuristic import discover_entities

    reg = discover_entities(["Rosa and her grandson Tim walk to the shop. His grandmother sits on a bench."], [])
    assert reg.by_name("rosa").gender == "f"
    acts, ids, _ = reads("The day after Purim, Ana and her father put up the tent.")
    assert "purim" not in ids and ("ana", "put") in acts


def test_as_far_as_is_no_clause_and_a_school_janitor_acts():
    acts, _, _ = reads("Ana waved. A cat followed her as far as the gate, then sat down.")
    assert {("cat", "follow"), ("cat", "sit")} <= acts
    acts, ids, _ = reads("Ana waved. The school janitor, who was mopping the hall, stuck his head in.")
    assert "janitor" in ids and ("janitor", "stick") in acts


def test_a_titled_name_in_a_relative_clause_with_that():
    acts, ids, _ = reads("Ana waved. The cake that Mrs. Odum had baked sat on the table.")
    assert "odum" in ids and ("odum", "bake") in acts


def test_teams_named_in_the_plural_and_the_ones_from_a_team():
    acts, _, _ = reads("The Herons and the Otters line up at the wall. The parents cheer from the benches. Near the "
                       "end, the Herons surge forward. Ada is stopped by two defenders from the Otters, who kick hard "
                       "and chase her. When the horn sounds, both teams swim up to the surface.")
    assert ("herons", "surge") in acts
    assert {("defenders", "kick"), ("defenders", "chase")} <= acts and ("otters", "kick") not in acts
    assert {("herons", "swim"), ("otters", "swim")} <= acts and ("parents", "swim") not in acts


# Issue 24, round 44 (tuned on heldout58 and heldout59; these sentences are not from any split) ---------------------


def test_a_compound_animal_keeps_its_own_word():
    from dreamrunner_cli.planning.heuristic import discover_entities

    reg = discover_entities(["Ana waved. A fat catfish watched from the reeds. Later the catfish swam off."], [])
    [fish] = [e for e in reg.entities if e.kind == "animal"]
    assert fish.description == "a fat catfish" and "catfish" in fish.nouns  # (its kind is still the fish's)


def test_both_boys_are_the_twins_and_attitudes_are_no_action():
    acts, ids, _ = reads("The Okoro twins, who were carrying drums, marched past, and both boys laughed.")
    assert "boys" not in ids and ("okoro-twins", "laugh") in acts
    acts, _, _ = reads("A proud peacock adored his own tail and strutted past the pond.")
    assert ("peacock", "strut") in acts and not any(v == "adore" for _, v in acts)


def test_a_counted_second_agent_and_the_neighbours_are_others():
    acts, _, _ = reads("The hut was built by Femi and his two cousins over a week. His cousins carried the mud.")
    assert {("femi", "build"), ("cousins", "build")} <= acts
    acts, ids, _ = reads("Ana and Teo dug all day. At last the neighbours rushed over and clapped.")
    assert "neighbours" in ids and {("neighbours", "rush"), ("neighbours", "clap")} <= acts


# Issue 24, round 45 (tuned on heldout60 and heldout61; these sentences are not from any split) ---------------------


def test_a_prefix_on_a_known_verb_is_that_verb():
    from dreamrunner_cli.planning import lexicon as lx

    assert lx.verb_readings("unhitched") == (("unhitch", "VBD"),) and lx.verb_readings("uncle") == ()
    acts, _, _ = reads("Pia, Olek and their mother unbolted the shed and rolled out the bikes.")
    assert {("pia", "unbolt"), ("olek", "unbolt"), ("mother", "unbolt"), ("mother", "roll")} <= acts


def test_the_men_are_the_group_just_named():
    acts, ids, _ = reads("Ana runs a noodle stall. Two bus drivers in blue jackets stop at the counter. Ana fills "
                         "two bowls. The men slurp the soup and laugh.")
    assert "men" not in ids and {("drivers", "slurp"), ("drivers", "laugh")} <= acts


# Issue 24, round 46 (tuned on heldout62 and heldout63; these sentences are not from any split) ---------------------


def test_a_role_given_to_the_one_name_of_its_sentence():
    acts, ids, _ = reads("Ms. Okafor, the maths teacher, stood by the net as referee. The referee blew her whistle.")
    assert "referee" not in ids and ("okafor", "blow") in acts
    acts, ids, _ = reads("Bruno laced his boots. Bruno was the goalkeeper. Later the goalkeeper dived to his left.")
    assert "goalkeeper" not in ids and ("bruno", "dive") in acts


def test_a_name_outside_which_things_happen_is_a_place():
    acts, ids, _ = reads("In the fields outside Santa Rosa, Lucía and her uncle Tomás cut the cane at dawn.")
    assert "santa" not in ids and "santa-rosa" not in ids and {("lucia", "cut"), ("tomas", "cut")} <= acts


# Issue 24, round 47 (tuned on heldout64 and heldout65; these sentences are not from any split) ---------------------


def test_the_driver_of_another_vehicle_is_someone_else():
    acts, ids, _ = reads("A forklift rolls along the dock. Its driver, Kanya, steers with one hand. The van driver, "
                         "a tall man, waves at her and drives away.")
    assert "driver" in ids and {("driver", "wave"), ("driver", "drive")} <= acts and ("kanya", "wave") not in acts


def test_kin_named_in_an_apposition_anchors_the_inverse_kin():
    acts, ids, _ = reads("An old shepherd, Davit, counts the sheep. His granddaughter, Nino, opens the gate. Her "
                         "grandfather smiles and waves.")
    assert "grandfather" not in ids and {("davit", "smile"), ("davit", "wave")} <= acts


def test_who_after_a_phrase_describing_a_person_and_stopping_to_do_something():
    acts, ids, _ = reads("Ana dropped her hat. It was fished out by a little girl in a canoe, who waved it.")
    assert "canoe" not in ids and ("girl", "wave") in acts
    acts, _, _ = reads("Ana and Teo climbed the hill. Halfway up, they stopped to catch their breath.")
    assert ("ana", "stop") in acts and not any(v == "catch" for _, v in acts)


# Issue 24, round 48 (tuned on heldout66 and heldout67; these sentences are not from any split) ---------------------


def test_holding_an_event_and_being_away_are_no_action():
    acts, _, _ = reads("Ana waved. On Monday the chess club held a small tournament in the library.")
    assert not any(v == "hold" for _, v in acts)
    acts, ids, _ = reads("While their neighbours were on holiday, Ana and Teo fed the hens. Every morning they "
                         "opened the coop.")
    assert "neighbours" not in ids and {("ana", "open"), ("teo", "open")} <= acts


# Issue 24, round 49 (tuned on heldout68 and heldout69; these sentences are not from any split) ---------------------


def test_a_name_that_wordnet_lists_as_one_famous_person_is_no_common_noun():
    # WordNet's "Trevelyan", "Riley", "Morris" are one historian, poet, designer: no person noun of the lexicon
    from dreamrunner_cli.planning import lexicon as lx

    assert {"trevelyan", "riley", "morris", "isaac"}.isdisjoint(lx.ENTITY_NOUNS)
    assert {"janitor", "miller", "paddler", "doberman", "lynx"} <= lx.ENTITY_NOUNS.keys()
    acts, ids, _ = reads("The baker, a tall woman named Mrs. Trevelyan, unlocked the shop. Riley swept the floor.")
    assert ids == ["trevelyan", "riley"] and {("trevelyan", "unlock"), ("riley", "sweep")} <= acts


def test_a_plural_the_dictionary_does_not_know_of_a_person_noun_is_a_group():
    acts, ids, _ = reads("Twelve paddlers from the river club pushed their canoe into the water. The paddlers dug "
                         "in hard, and the river club crossed the line first.")
    assert ids == ["paddlers"] and {("paddlers", "push"), ("paddlers", "dig"), ("paddlers", "cross")} <= acts
    acts, ids, _ = reads("Ana waved. Two little robots crawl out of a hatch. Once the tanks were full, the two "
                         "crawlers return to the hatch.")
    assert ids == ["ana", "robots"] and ("robots", "return") in acts


def test_a_zebu_is_the_cow_and_a_water_taxi_the_boat():
    acts, ids, _ = reads("Tomas led his yak, Dorje, up the path. The old cow stopped at the stream.")
    assert ids == ["tomas", "dorje"] and ("dorje", "stop") in acts
    acts, ids, _ = reads("A red water taxi pulls up at the jetty. Ana climbs aboard. Then the boat roars away.")
    assert "boat" not in ids and ("taxi", "roar") in acts


def test_a_progressive_or_a_plural_present_left_unread_is_reported():
    acts, _, skipped = reads("The heron, which had been wading through the reeds, snapped up a frog.")
    assert ("heron", "snap") in acts and any("wading" in r for r in skipped)
    _, _, skipped = reads("Ana waved. Snow had been falling all night, and Ana swept the path.")
    assert not skipped  # a thing's progressive is no one's action
    acts, _, skipped = reads("Mia and Zoe waved. When the bell rings, the two girls hug, and the coach lifts their "
                             "arms.")
    assert ("coach", "lift") in acts and skipped == ["could not tell who is hugging"]


# Issue 24, round 50 (tuned on heldout70 and heldout71; these sentences are not from any split) ---------------------


def test_a_speaker_after_the_quote_keeps_the_name_set_beside_the_role():
    acts, ids, _ = reads('"Ready?" asks the coach, Mr. Alder, checking his watch. Then Mr. Alder blows his whistle.')
    assert ids == ["alder"] and {("alder", "ask"), ("alder", "check"), ("alder", "blow")} <= acts
    acts, ids, _ = reads('"Hold on," says the driver, 美玲, braking hard.')
    assert len(ids) == 1 and {(ids[0], "say"), (ids[0], "brake")} <= acts


def test_a_name_after_a_phrase_describing_its_noun():
    acts, ids, _ = reads("Ana waved. Then a man in a grey coat called Hamid stepped off the bus.")
    assert ids == ["ana", "hamid"] and ("hamid", "step") in acts


def test_a_state_a_job_a_duty_or_what_is_said_is_no_action():
    acts, _, _ = reads("Ana and her uncle are on the jetty, ready to sail. Ana works at the harbour café.")
    assert not acts
    acts, _, _ = reads("Ana waved. Tom, who captains the team, looks after the kit, and Ana says that is unfair.")
    assert acts == {("ana", "wave"), ("ana", "say")}
    acts, _, _ = reads("When Bolt retired from racing, Ana took him home.")
    assert acts == {("ana", "take")}


def test_an_adverb_between_commas_and_two_subjects_after_a_first_clause():
    acts, _, _ = reads("The heron waded. The otter, meanwhile, dived under the bank and hid.")
    assert {("otter", "dive"), ("otter", "hide")} <= acts
    acts, _, _ = reads("Lena waved. Otto waved. After the storm passed, Lena and Otto walked down to the beach.")
    assert {("lena", "walk"), ("otto", "walk")} <= acts


def test_a_tug_commuters_and_a_knot_of_people():
    acts, ids, _ = reads("A red tug nudges the barge. Commuters hurry past. Soon a knot of tourists gathers round.")
    assert {("tug", "nudge"), ("commuters", "hurry"), ("tourists", "gather")} <= acts


# Issue 24, round 51 (tuned on heldout72 and heldout73; these sentences are not from any split) ---------------------


def test_a_compound_head_before_its_place_phrase_is_no_verb():
    acts, ids, _ = reads("Early on, the fish market in Aberdeen was quiet. Morag waved.")
    assert ids == ["morag"] and acts == {("morag", "wave")}


def test_pals_a_ram_and_the_whole_flock():
    acts, ids, _ = reads("Pip is a shrew. A mole called Dunstan digs beside her. Later the two pals curl up and sleep.")
    assert ids == ["pip", "dunstan"] and {("pip", "curl"), ("dunstan", "curl"), ("pip", "sleep")} <= acts
    acts, ids, _ = reads("Today the old ram, Gideon, jumps the fence. The ram trots off.")
    assert ids == ["gideon"] and {("gideon", "jump"), ("gideon", "trot")} <= acts
    acts, ids, _ = reads("The geese, who waddled to the pond, honked. The whole flock flew off.")
    assert ids == ["geese"] and ("geese", "fly") in acts
    acts, ids, _ = reads("The farmer's dogs barked. The herd ran into the woods.")
    assert "herd" in ids and ("herd", "run") in acts  # another group of animals


def test_a_participle_inside_a_noun_phrase_and_sharing_a_home():
    acts, _, _ = reads("The choir stood up and sang a slow, gently rocking lullaby.")
    assert acts == {("choir", "stand"), ("choir", "sing")}
    acts, _, _ = reads("Two otters called Fen and Moss share a little burrow. Fen shares his fish with Moss.")
    assert acts == {("fen", "share")}


def test_a_group_named_by_its_members_is_them():
    acts, ids, _ = reads("A ferry pulls in. Two nurses from Cork named Aoife and Niamh step off, and a porter called "
                         "Liam waves. All three of them laugh.")
    assert sorted(ids) == ["aoife", "ferry", "liam", "niamh"]  # (names first, then the ferry)
    assert {("aoife", "step"), ("niamh", "step"), ("liam", "laugh"), ("aoife", "laugh")} <= acts


# Issue 24, round 52 (tuned on heldout74 and heldout75; these sentences are not from any split) ---------------------


def test_a_name_set_apart_by_an_apposition_and_a_likeness():
    acts, ids, _ = reads("Every night, Ana opens the hutch. Pudding, the brown one, hops onto the rug. Pudding comes "
                         "back at once and rolls in the straw until he looks like a haystack.")
    assert ids == ["ana", "pudding"] and {("pudding", "hop"), ("pudding", "come"), ("pudding", "roll")} <= acts
    assert not any(v == "look" for _, v in acts)


def test_machines_named_by_what_they_do_things_and_a_balloon_no_one_rides():
    acts, ids, _ = reads("Two mining robots crawled into the tunnel. At dusk the miners returned to the lift.")
    assert ids == ["robots"] and ("robots", "return") in acts
    acts, _, _ = reads("Ana and Ben waved. As the bell rang, both carts rolled downhill.")
    assert acts == {("ana", "wave"), ("ben", "wave")}
    acts, ids, _ = reads("Ana untied the string. The weather balloon rose into the clouds.")
    assert ids == ["ana"]
    acts, ids, _ = reads("Ana climbs into the basket. The balloon rises over the hills.")
    assert ("balloon", "rise") in acts


def test_together_they_are_no_vehicle():
    acts, _, skipped = reads("At the station, Salma checked the gauge. A white van stopped beside the hut, and her "
                             "assistant, Abi, jumped out. Together they filled the tank with water.")
    assert not any(v == "fill" for _, v in acts) and skipped == [
        "could not tell who is filling (“they” names no group or pair close by)"]  # (not the van: reported)


# Issue 24, round 53 (tuned on heldout76 and heldout77; these sentences are not from any split) ---------------------


def test_the_two_animals_thousands_of_birds_a_queue_and_the_starter():
    acts, _, _ = reads("Omar brought home a puppy, and his cat Mochi hid. Omar's son Ali sat on the rug. The puppy, "
                       "Bean, sniffed the rug. By night the two animals slept in one basket.")
    assert {("bean", "sleep"), ("mochi", "sleep")} <= acts and ("ali", "sleep") not in acts
    acts, ids, _ = reads("Ana waved. Thousands of starlings swirled over the pier.")
    assert ("starlings", "swirl") in acts
    acts, ids, _ = reads("Ana waved. A queue of tourists waits by the gate.")
    assert ("tourists", "wait") in acts
    acts, ids, _ = reads("The starter raised his flag, and Ana sprinted off.")
    assert {("starter", "raise"), ("ana", "sprint")} <= acts


def test_a_tank_is_no_vehicle_and_an_adjective_after_a_particle():
    acts, ids, _ = reads("Soon both drones come back, their tanks empty, and Ana checks them.")
    assert "tanks" not in ids and not any(v == "empty" for _, v in acts)
    acts, _, _ = reads("A truck pulls in, kicking up swirling red dust.")
    assert acts == {("truck", "pull"), ("truck", "kick")}


# Issue 24, round 54 (tuned on heldout78 and heldout79; these sentences are not from any split) ---------------------


def test_the_three_children_are_the_three_named_and_a_name_after_a_month():
    acts, ids, _ = reads("Mia and her brother Tom waved. At the corner they met their friend Lola. The three children "
                         "ran down the hill.")
    assert "children" not in ids and {("mia", "run"), ("tom", "run"), ("lola", "run")} <= acts
    acts, ids, _ = reads("In early May Auntie Wen and her nephew Bo walked to the river.")
    assert ids == ["wen", "bo"] and {("wen", "walk"), ("bo", "walk")} <= acts


def test_a_caseless_name_with_an_apposition_then_its_verb():
    acts, ids, _ = reads("يوسف, a trainer in a white thobe, steers the robots with a remote.")
    assert len(ids) == 1 and {(ids[0], "steer")} == acts  # (a trainer is a shoe to the word list)


# Issue 24, round 55 (tuned on heldout80 and heldout81; these sentences are not from any split) ---------------------


def test_both_babies_are_the_two_listed_young_animals():
    acts, ids, _ = reads("The keeper, Ruth, waved. Two baby otters, Pip and Dot, peered out. Their mother whistled, "
                         "and both babies swam back to her.")
    assert "babies" not in ids and {("pip", "swim"), ("dot", "swim")} <= acts and ("ruth", "swim") not in acts


def test_a_role_with_no_article_and_the_other_one_the_story_first_names():
    acts, _, _ = reads("Marta, captain of the Red Foxes, dribbles past two players.")
    assert acts == {("marta", "dribble")}
    acts, ids, _ = reads("Marta scored. The crowd roared. The other goalkeeper stood up and laughed.")
    assert {("goalkeeper", "stand"), ("goalkeeper", "laugh")} <= acts


# Issue 24, round 56 (tuned on heldout82 and heldout83; these sentences are not from any split) ---------------------


def test_her_grandson_after_the_subjects_verb_anchors_his_grandmother():
    acts, ids, _ = reads("On Monday Halina buttons a coat on her grandson Piotr. Piotr waves, and his grandmother "
                         "laughs.")
    assert ids == ["halina", "piotr"] and ("halina", "laugh") in acts


def test_buying_a_home_is_no_action():
    acts, _, _ = reads("When Noor and Sami bought their first house, they painted the door red.")
    assert not any(v == "buy" for _, v in acts) and {("noor", "paint"), ("sami", "paint")} <= acts


# Issue 24, round 57 (tuned on heldout84 and heldout85; these sentences are not from any split) ---------------------


def test_the_narrator_is_nobody_else_and_we_is_our_group():
    acts, ids, skipped = reads("Our choir toured the old mill. A miller called Edda showed us the wheel. Then we "
                               "sang on the bridge. I waved at Edda.")
    assert ("choir", "sing") in acts and ("edda", "show") in acts
    assert not any(v in ("sing", "wave") and w == "edda" for w, v in acts)  # "we" and "I" are not the miller
    assert any("waving" in r for r in skipped)  # the narrator's wave: reported, not given to anyone
    acts, _, skipped = reads("Pia wheels the pram to the pond. We feed the ducks.")
    assert ("pia", "feed") not in acts and any("feeding" in r for r in skipped)


def test_so_that_someone_could_is_no_action():
    acts, _, _ = reads("Grandpa Lev lifted the lamp so the kitten could climb the steps. Then the kitten jumped "
                       "down.")
    assert ("lev", "lift") in acts and ("kitten", "jump") in acts
    assert not any(v == "climb" for _, v in acts)


def test_a_speaker_named_in_an_apposition_after_the_quote():
    acts, ids, _ = reads('"Next!" calls the ticket clerk, a tall woman named Odile, stamping a pass.')
    assert ids == ["odile"] and {("odile", "call"), ("odile", "stamp")} <= acts


def test_and_both_then_a_verb_that_is_also_a_noun():
    acts, _, _ = reads("The Moreau twins hugged their coach, and both burst into song.")
    assert ("moreau-twins", "burst") in acts


def test_let_them_do_it_gives_the_action_to_whom_them_names():
    acts, _, _ = reads("Four goslings waddled into the yard. Grandma Ines laughed and let them peck at the corn.")
    assert ("goslings", "peck") in acts and ("grandma-ines", "peck") not in acts


def test_once_before_and_is_how_often():
    acts, _, skipped = reads("Tomasz bows once and skates off the ice.")
    assert {("tomasz", "bow"), ("tomasz", "skate")} <= acts and not skipped


def test_an_apposition_after_the_second_of_two_names():
    acts, _, _ = reads("Ilse and Jonas, her cousin, paddled out to the buoy.")
    assert {("ilse", "paddle"), ("jonas", "paddle")} <= acts


def test_a_participle_after_a_things_place_phrase_is_the_subjects():
    acts, _, _ = reads("Bruno waved. Then Bruno hopped over the wall holding a jar of tadpoles.")
    assert ("bruno", "hold") in acts
    acts, _, _ = reads("Bruno waved. Then Bruno pinned a card to the door asking the baker for bread.")
    assert ("bruno", "ask") not in acts  # the card asks


# Issue 24, round 58 (tuned on heldout86 and heldout87; these sentences are not from any split) ---------------------


def test_a_cast_or_a_troupe_is_one_group_and_holding_a_rehearsal_is_no_action():
    acts, ids, _ = reads("The school choir held its last rehearsal in the hall. The cast marched onto the stage in "
                         "cardboard helmets and tin capes.")
    assert "cast" in ids and ("cast", "march") in acts
    assert not any(v in ("hold", "helmet", "cape") for _, v in acts)
    acts, ids, _ = reads("The troupe juggled on the pier. Then the whole troupe bowed.")
    assert ids == ["troupe"] and {("troupe", "juggle"), ("troupe", "bow")} <= acts
    acts, ids, _ = reads("A troupe of jugglers juggled on the pier. Then the whole troupe bowed.")
    assert ids == ["jugglers"] and ("jugglers", "bow") in acts  # the troupe is its members, one group


def test_a_name_in_georgian_script():
    acts, ids, _ = reads("ლაშა opened the gate and waved to his sister.")
    assert ids == ["lasha"] and {("lasha", "open"), ("lasha", "wave")} <= acts


def test_mr_and_mrs_of_one_surname_are_two_people():
    acts, ids, _ = reads("Mrs. Okonjo watered the roses. Mr. Okonjo mowed the lawn. Then she waved at him.")
    assert ids == ["mrs-okonjo", "mr-okonjo"]
    assert {("mrs-okonjo", "water"), ("mr-okonjo", "mow"), ("mrs-okonjo", "wave")} <= acts
    assert ("mr-okonjo", "water") not in acts and ("mrs-okonjo", "mow") not in acts


def test_when_they_after_plural_things_named_before_the_second_person():
    acts, _, skipped = reads("Lotte drops the dumplings into the pot, while Pim stirs the broth. When they bob up, "
                             "Lotte fishes them out.")
    assert not any(v == "bob" for _, v in acts) and ("lotte", "fish") in acts
    assert any("bobbing" in r for r in skipped)  # reported: they may be the dumplings


def test_a_caseless_name_listed_with_a_capitalised_one_is_a_name():
    acts, ids, _ = reads("Two small cousins, ليلى and Tomas, tiptoe into the kitchen.")
    assert ids == ["lyla", "tomas"] and {("lyla", "tiptoe"), ("tomas", "tiptoe")} <= acts


def test_the_boldest_of_them_then_a_name():
    acts, _, _ = reads("Six scouts reach the rope bridge. The bravest of them, Ilka, steps on first and waves.")
    assert {("ilka", "step"), ("ilka", "wave")} <= acts


def test_the_rest_of_the_group_is_the_one_group():
    acts, _, _ = reads("Eight cadets from the sailing school launch their dinghies. Tove tips over. The rest of the "
                       "group laughs and waves.")
    assert ("cadets", "laugh") in acts and ("tove", "laugh") not in acts
    acts, _, _ = reads("A troop of baboons sits on the wall. The biggest baboon grabs a mango. The rest of the troop "
                       "shrieks.")
    assert ("baboons", "shriek") in acts


def test_her_behind_an_animal_subject_is_not_surely_the_woman_before():
    acts, _, _ = reads("Grandma Ilse tied a ribbon on the kitten Mitzi. Mitzi scampered off with the ribbon "
                       "trailing behind her. Later she dozed on the windowsill.")
    assert ("mitzi", "doze") in acts and ("grandma-ilse", "doze") not in acts


# Issue 24, round 59 (tuned on heldout88 and heldout89; these sentences are not from any split) ---------------------


def test_a_possessive_no_one_else_could_own_tells_the_gender():
    acts, _, _ = reads('Marta hurried to the gate in her slippers. A postal worker waved and strolled back to his '
                       'van. "Wait!" she shouted after him, holding up a letter. "Mine?" he asked, turning round.')
    assert {("marta", "shout"), ("marta", "hold"), ("worker", "ask"), ("worker", "turn")} <= acts
    assert ("worker", "shout") not in acts and ("marta", "ask") not in acts


def test_the_group_is_the_one_group_and_both_brothers_are_no_sides():
    acts, ids, skipped = reads("Nine cousins pile into a rowing boat. The two sisters at the oars, Edie and Rhona, "
                               "pull hard. Near the island the group drifts, and both sisters jump into the water. "
                               "They splash about.")
    assert "group" not in ids and ("cousins", "drift") in acts
    assert not any(v in ("jump", "splash") for _, v in acts)  # which two? not the cousins: reported
    assert any("jumping" in r for r in skipped) and any("splashing" in r for r in skipped)


def test_an_animals_brother_in_a_story_of_animals_is_that_animal():
    acts, ids, _ = reads("Dot is a little hedgehog with a button nose. Her big brother, Bramble, peeks out of the "
                         "leaves. Then both hedgehogs scurry under the hedge.")
    assert ids == ["dot", "bramble"] and {("dot", "scurry"), ("bramble", "scurry")} <= acts


def test_who_after_people_from_a_club_is_those_people():
    acts, _, _ = reads("The flag was raised by three cadets from the sailing club, who then saluted.")
    assert ("cadets", "salute") in acts and not any(w == "club" for w, _ in acts)


def test_both_after_them_and_a_subordinator_may_be_either():
    acts, _, skipped = reads("A dozen cadets lounged on the steps. Two small boys, Abel and Ivo, raced past. The "
                             "cadets cheered them until both stopped.")
    assert ("cadets", "cheer") in acts and not any(v == "stop" for _, v in acts)
    assert any("stopping" in r for r in skipped)


def test_her_before_an_adverb_and_hers_beside_his_tell_no_gender():
    acts, _, _ = reads("A wren named Pippa hid seeds in the wall. A crow called Bodkin watched her closely. Whenever "
                       "Pippa flew off, Bodkin stole her seeds with his beak. One night he dropped them all.")
    assert ("bodkin", "drop") in acts and ("pippa", "drop") not in acts


def test_a_thrown_things_relative_clause_goes_on_after_and():
    acts, _, skipped = reads("Ilona kicked a long ball that bounced twice and rolled into the pond.")
    assert ("ilona", "kick") in acts and ("ilona", "roll") not in acts
    assert any("rolling" in r for r in skipped)


def test_a_tool_in_hand_is_no_verb_and_a_prefixed_verb_doubles_its_consonant():
    acts, _, _ = reads("The nurse, a calm woman named Edda, waits by the bed, measuring jug in hand.")
    assert not any(v == "measure" for _, v in acts)
    from dreamrunner_cli.planning import lexicon as lx

    assert lx.participle("repot") == "repotting" and lx.participle("unzip") == "unzipping"


# Issue 24, round 60 (tuned on heldout90 and heldout91; these sentences are not from any split) ---------------------


def test_she_after_a_where_clause_may_be_the_main_subject():
    acts, _, skipped = reads('Nadia walked up to table six, where a stranger was reading her newspaper. "Excuse me," '
                             'she said, pointing at the paper.')
    assert ("stranger", "say") not in acts and ("stranger", "point") not in acts
    assert any("saying" in r for r in skipped)


def test_a_swallow_is_a_bird_when_it_acts():
    acts, ids, _ = reads("Every morning a swallow swooped over the pond. Then it perched on the fence.")
    assert ids == ["swallow"] and {("swallow", "swoop"), ("swallow", "perch")} <= acts


def test_an_almost_passive_a_name_given_and_except_are_no_actions():
    acts, _, _ = reads("A rival kayak cut across their bow and was almost rammed by Ilse.")
    assert not any(v == "ram" for _, v in acts)
    acts, ids, _ = reads("The oldest goat, a grey billy that the farmers call Captain, chews on a rope. The whole "
                         "herd trots off, except Captain, who naps.")
    assert not any(w == "farmers" or v in ("call", "except") for w, v in acts)
    assert {("herd", "trot"), ("captain", "nap")} <= acts


def test_made_no_reply_and_a_watched_things_participle():
    acts, _, _ = reads("The crabs made no reply and kept on digging.")
    assert not any(v == "make" for _, v in acts) and ("crabs", "dig") in acts
    acts, _, _ = reads("Nils waved. Then Nils stared at the old mill wheel churning the stream.")
    assert ("nils", "stare") in acts and ("nils", "churn") not in acts


def test_a_kart_is_a_vehicle_and_a_boat_that_has_not_acted_is_no_they():
    acts, ids, _ = reads("Ada rode on the old ferry with her uncle Bram. They climbed to the top deck. The ferry blew "
                         "its horn.")
    assert {("ada", "climb"), ("bram", "climb"), ("ferry", "blow")} <= acts
    acts, _, _ = reads("The little kart rattled down the hill and skidded.")
    assert {("kart", "rattle"), ("kart", "skid")} <= acts


def test_they_after_a_counted_object_may_be_those_things():
    acts, _, skipped = reads("Lina and her uncle Omar rolled the dough. Omar sneaked back and ate three before they "
                             "went into the oven.")
    assert ("omar", "eat") in acts and not any(v == "go" for _, v in acts)


# Issue 24, round 61 (tuned on heldout92 and heldout93; these sentences are not from any split) ---------------------


def test_the_flock_is_the_sheep_and_the_shift_ending_is_no_action():
    acts, ids, _ = reads("Every spring Tamar leads her flock to the hills. At the river the sheep huddle and bleat. "
                         "Then the flock wades across.")
    assert "flock" not in ids and ("sheep", "wade") in acts
    acts, ids, _ = reads("The robots stack the crates. When the shift ends, the robots roll home.")
    assert not any(w == "shift" or v == "end" for w, v in acts) and ("robots", "roll") in acts


def test_his_mother_is_whose_his_names():
    acts, ids, _ = reads("Granny Vera turns eighty, and her son Marco carries in a cake. Her great-grandson Teo claps. "
                         "Teo grabs his mother's hand. His mother laughs and spins him round.")
    assert ("vera", "laugh") not in acts and ("granny-vera", "laugh") not in acts
    assert ("mother", "laugh") in acts


def test_a_since_clause_is_before_the_story_and_her_beside_him_is_the_other_ones():
    acts, ids, _ = reads("Anna gasps, because nobody has sung that song since Grandpa left.")
    assert ("anna", "gasp") in acts and not any(v == "leave" for _, v in acts)
    acts, _, _ = reads("Mr. Oduya hid behind the shed. His collie, Tess, lay next to him, her chin on his boot. "
                       "Tess growled softly. The next day he mended the fence.")
    assert ("oduya", "mend") in acts and ("tess", "mend") not in acts


def test_two_of_twelve_runners_are_others_and_the_pack_is_the_runners():
    acts, ids, _ = reads("Twelve cyclists line up at the start. The flag drops, and the pack surges away. On the "
                         "hill two cyclists crash into a hedge.")
    assert ids == ["cyclists"] and ("cyclists", "surge") in acts and ("cyclists", "crash") not in acts


# Issue 24, round 62 (tuned on heldout94 and heldout95; these sentences are not from any split) ---------------------


def test_the_two_men_are_the_stories_two_and_lime_is_no_verb():
    acts, ids, _ = reads("Every morning 王 unfolded a table by the pond. His friend 李 arrived on a bicycle. The two "
                         "men set out the pieces and bowed.")
    assert "men" not in ids and {("wang", "bow"), ("li", "bow")} <= acts
    acts, _, _ = reads("Ines and Tomas ladle the soup, and both of them scatter basil and lime over it.")
    assert not any(v == "lime" for _, v in acts)


def test_a_second_passive_with_its_own_agent_and_an_adverb_before_the_noun():
    acts, _, _ = reads("The fence posts were cut by Mr. Hale, the carpenter, and hammered in by three girls from "
                       "the village.")
    assert ("hale", "cut") in acts and ("hale", "hammer") not in acts
    acts, ids, _ = reads("A goose waddled into the shop. Eventually the goose was shooed out by Nell.")
    assert "eventually" not in ids and ("nell", "shoo") in acts
    acts, _, _ = reads("Eight skaters warm up. Later both skaters bow to the judges.")
    assert ("skaters", "bow") not in acts  # both of eight: two of them, unknown


# Issue 24, round 63 (tuned on heldout96 and heldout97; these sentences are not from any split) ---------------------


def test_the_boys_are_her_nephews_and_dwelling_is_no_action():
    acts, ids, _ = reads("Mira takes her two nephews to the fair. Her nephews cheer at the gate. The boys ride the "
                         "carousel, and Mira waves.")
    assert "boys" not in ids and ("nephews", "ride") in acts and ("mira", "ride") not in acts
    acts, _, _ = reads("Long ago a proud heron dwelt by the lake. Each morning he waded into the reeds.")
    assert ("heron", "wade") in acts and not any(v == "dwell" for _, v in acts)


# Issue 24, round 64 (tuned on heldout98 and heldout99; these sentences are not from any split) ---------------------


def test_a_quote_then_a_devanagari_name_and_the_women_are_not_the_men():
    acts, _, _ = reads('अनीता stirs the pot while her son रवि watches. "Wait!" अनीता calls, lifting the lid.')
    assert ("anita", "call") in acts and ("anita", "lift") in acts
    acts, ids, _ = reads("Six men hauled the boat up the beach. The women watching from the wall cheered.")
    assert ("men", "cheer") not in acts and ("women", "cheer") in acts
    acts, ids, _ = reads("The kettle rattles on the stove. The steamer rattles too.")
    assert ids == []  # a steamer in a kitchen is no boat


# Issue 24, round 65 (tuned on heldout100 and heldout101; these sentences are not from any split) ----------------


def test_a_costume_before_the_verb_and_a_plural_object_after_a_plain_verb():
    acts, _, _ = reads("Four kids dressed as pirates marched onto the stage and bowed.")
    assert {("kids", "march"), ("kids", "bow")} <= acts and ("kids", "dress") not in acts
    acts, _, _ = reads("The fans behind the fence wave scarves and stamp their feet.")
    assert ("fans", "wave") in acts and not any(v == "scarf" for _, v in acts)


def test_an_excavator_is_a_vehicle_and_no_she():
    acts, ids, _ = reads("An excavator crawled up to the wall and tore a hole in it. Mr. Kemp leaned on the barrier. "
                         "She held his hand.")
    assert ("excavator", "crawl") in acts and ("excavator", "hold") not in acts
    from dreamrunner_cli.planning import lexicon as lx

    assert lx.ENTITY_NOUNS["excavator"][0] == "vehicle"


# Issue 24, round 66 (tuned on heldout102 and heldout103; these sentences are not from any split) ----------------


def test_a_name_that_was_the_smallest_calf():
    acts, ids, _ = reads("Zuri was the youngest foal in the paddock. The foal trotted to the fence and kicked.")
    assert ids == ["zuri"] and {("zuri", "trot"), ("zuri", "kick")} <= acts


def test_a_name_inside_an_apposition_that_describes_the_noun():
    acts, ids, _ = reads("The Ito twins, who built a racing robot last year, are back. They solder wires while their "
                         "robot, a wheeled box called Bolt, trundles across the carpet.")
    assert ("bolt", "trundle") in acts and ("robot", "trundle") not in acts


# Issue 24, round 67 (tuned on heldout104 and heldout105; these sentences are not from any split) ----------------


def test_making_a_plan_and_anyone_who_would_look_are_no_actions():
    acts, _, _ = reads("Old Bramble the crow watched from the fence and made a plan.")
    assert ("bramble", "watch") in acts and not any(v == "make" for _, v in acts)
    acts, _, _ = reads("Pim polished the shell and showed it to anyone who would listen.")
    assert {("pim", "polish"), ("pim", "show")} <= acts and ("pim", "listen") not in acts


# Issue 24, round 68 (tuned on heldout106 and heldout107; these sentences are not from any split) ----------------


def test_a_festival_is_no_name_and_him_tells_the_one_it_names():
    acts, ids, _ = reads("For Deepavali, Meena and her grandson Ravi sit around a bowl of flour.")
    assert "deepavali" not in ids and {("meena", "sit"), ("ravi", "sit")} <= acts
    acts, _, _ = reads("Selin rolled the leaves on the board. Then she passed the bowl to Aziz and smiled at him. "
                       "Later Aziz came back and Selin waved, and she laughed.")
    assert ("selin", "laugh") in acts and ("aziz", "laugh") not in acts


# Issue 24, round 69 (tuned on heldout108 and heldout109; these sentences are not from any split) ----------------


def test_what_only_things_do_is_no_ones_action():
    acts, _, _ = reads("Minjun lights the burner. His friend Clara lays strips of pork on the hot metal, and they "
                       "sizzle at once.")
    assert ("clara", "lay") in acts and not any(v == "sizzle" for _, v in acts)
    acts, _, _ = reads("Noor melts the butter in a pan.")
    assert ("noor", "melt") in acts


# Issue 24, round 70 (tuned on heldout110 and heldout111; these sentences are not from any split) ----------------


def test_beans_that_darken_and_crackle():
    acts, _, _ = reads("Before dawn, Omar crouched beside the fire pit and fanned the embers. His uncle, Tariq, "
                       "roasted a scoop of beans in a pan, shaking it until they darkened and began to crackle.")
    assert ("tariq", "roast") in acts and not any(v in ("darken", "crackle") for _, v in acts)


# Issue 24, round 71 (tuned on heldout112 and heldout113; these sentences are not from any split) ----------------


def test_women_are_not_the_sons_just_named():
    acts, ids, _ = reads("Karim and his sons cut the wheat in the morning. The women laugh and stack the "
                         "sheaves by the wall.")
    assert ("women", "laugh") in acts and ("women", "stack") in acts
    assert not any(w == "sons" and v in ("laugh", "stack") for w, v in acts)


def test_a_kin_title_his_own_possessive_contradicts_is_a_rank():
    acts, ids, _ = reads("At the harvest feast in Ama's village, the drums are carried in. The chief, Nana Boateng, "
                         "taps the biggest drum with his stick and blesses it. Ama's grandmother pounds the plantain "
                         "in a wooden mortar.")
    assert ("boateng", "tap") in acts and ("grandmother", "pound") in acts
    assert not any(w == "boateng" and v == "pound" for w, v in acts)
    # a possessive after a bare verb may be someone else's: "Mama Koala licks his nose" keeps her "Mama"
    acts, ids, _ = reads("Mama Koala licks his sore nose. Then she climbs the gum tree.")
    assert ("mama-koala", "climb") in acts


def test_an_unmarked_clause_with_a_subject_pronoun_is_that_pronouns():
    acts, _, _ = reads("Tomas digs along the row. His daughter Ines drops a seed into every hole he has dug.")
    assert ("ines", "drop") in acts and ("tomas", "dig") in acts
    assert not any(w == "ines" and v == "dig" for w, v in acts)
    # the sentence's own subject, when someone else near could be "he" too: a guess, reported
    acts, _, skipped = reads("A proud bull named Titan dragged the cart. A little egret strutted beside him, "
                             "snapping at the beetles he kicked up.")
    assert not any(v == "kick" for _, v in acts) and any("kicking" in r for r in skipped)


def test_turning_red_is_no_action():
    acts, _, _ = reads("Ravi and Mina turned red when everyone laughed.")
    assert not any(v == "turn" for _, v in acts)
    acts, _, _ = reads("Ravi turned left at the gate.")
    assert ("ravi", "turn") in acts


def test_together_they_and_what_only_people_do_are_not_the_things():
    acts, _, _ = reads("Little Fawn wakes in the meadow. Her mother steps out from behind the reeds and nuzzles her. "
                       "Together they wander into the forest.")
    assert ("mother", "wander") in acts and ("little-fawn", "wander") in acts
    acts, _, _ = reads("Oma and her grandson Piet bake a cake. Piet scatters the almonds over the top. Later they "
                       "carry slices to the neighbours.")
    assert ("oma", "carry") in acts and ("piet", "carry") in acts


def test_they_never_includes_the_one_they_act_on():
    acts, _, skipped = reads("Mia found a hedgehog called Spike in the road. Together they carried Spike to the hedge.")
    assert ("spike", "carry") not in acts and any("acts on Spike" in r for r in skipped)
    acts, _, skipped = reads("Jonas waved to his old pony, Clover. They led Clover back to the stable.")
    assert ("clover", "lead") not in acts


def test_it_caught_before_it_landed_is_the_thing():
    acts, _, _ = reads("Ludo dropped a grape off his plate. His puppy, Bramble, snapped it up before it landed and "
                       "swallowed it whole.")
    assert ("bramble", "snap") in acts and ("bramble", "swallow") in acts
    assert not any(v == "land" for _, v in acts)
    # "it" that could name an animal both times is left to the usual reading
    acts, _, _ = reads("A sparrow landed on the wall. Mei threw it some crumbs and it pecked at them.")
    assert ("sparrow", "peck") in acts


def test_a_place_word_after_a_kin_title_is_a_surname():
    acts, ids, _ = reads("Hana carried the tea tray in. Grandmother Park set the zither across the cushion and knelt "
                         "behind it.")
    assert ("park", "set") in acts and ("park", "kneel") in acts
    acts, ids, _ = reads("Grandfather Hill lights the lamps.")
    assert ("hill", "light") in acts


# Issue 24, round 72 (tuned on heldout114 and heldout115; these sentences are not from any split) ----------------


def test_the_whole_crew_is_the_one_group_of_people():
    acts, ids, _ = reads("Eight volunteers spread out along the hedge. At noon the whole crew gathers round the "
                         "kettle.")
    assert ("volunteers", "gather") in acts and "crew" not in ids


def test_a_feast_day_after_a_possessive_is_no_one():
    acts, ids, _ = reads("Early on Mother's Day, Lena and her son Rafi carry a tray upstairs.")
    assert "day" not in ids and ("lena", "carry") in acts


def test_an_adjective_in_a_with_phrase_is_no_verb():
    acts, _, _ = reads("At dawn six pickers arrived at the orchard with ladders and empty baskets.")
    assert ("pickers", "arrive") in acts and not any(v == "empty" for _, v in acts)
    acts, _, _ = reads("The two gardeners cleared the bed, leaving it bare and ready for planting.")
    assert not any(v == "ready" for _, v in acts)


def test_the_birds_are_the_one_flock_of_that_sort():
    acts, ids, _ = reads("Three magpies land on the fence and strut along it. Nadia claps, and the birds scatter.")
    assert ("magpies", "scatter") in acts and "birds" not in ids


# Issue 24, round 73 (tuned on heldout116 and heldout117; these sentences are not from any split) ----------------


def test_nobody_is_no_one():
    acts, ids, _ = reads("The bus braked so gently that nobody spilled a drop.")
    assert "nobody" not in ids


def test_a_country_after_its_adjective_is_a_place():
    acts, ids, _ = reads("On their walk across eastern Hungary, Ines and her uncle Rui crossed a stone bridge.")
    assert "hungary" not in ids and ("ines", "cross") in acts


def test_a_dust_devil_is_wind():
    acts, ids, _ = reads("A dust devil spins over the dry field and knocks the scarecrow down.")
    assert "devil" not in ids and not acts


def test_what_someone_had_been_is_no_one_new():
    acts, ids, _ = reads("Old Ezra Pike had been a locksmith in the same cramped shop for forty years. Every morning "
                         "he opened the shutters and lit the lamp.")
    assert "locksmith" not in ids and ("ezra", "open") in acts
    acts, ids, _ = reads("There was a fox who lived under the hill. It trotted out at dusk.")
    assert ("fox", "trot") in acts


def test_a_plural_noun_after_his_and_a_past_verb_is_a_thing():
    acts, _, _ = reads("Every morning Bram set out his chisels and mallets on the bench.")
    assert ("bram", "set") in acts and not any(v == "mallet" for _, v in acts)
    acts, _, _ = reads("Leif hops on his toes and points at the sky.")
    assert ("leif", "point") in acts


def test_a_thing_that_they_call_a_name_is_that_one():
    acts, ids, _ = reads("A stray cat, which the sailors call Biscuit, trots along the quay and sits by the nets.")
    assert "cat" not in ids and ("biscuit", "trot") in acts
    # a name inside the relative clause with its own verb is that person's, not the antecedent's
    acts, ids, _ = reads("The old tractor, which a farmer named Edda was driving, rattled into the yard.")
    assert not any(w == "edda" and v == "rattle" for w, v in acts)


def test_finishing_is_no_action():
    acts, _, _ = reads("Ravi and his sister help their father finish the fence.")
    assert not any(v == "finish" for _, v in acts)


def test_a_gerund_after_its_determiner_is_a_noun():
    acts, _, _ = reads("Mira bent over the box, running a thumb along the brass lettering.")
    assert ("mira", "bend") in acts and not any(v == "letter" for _, v in acts)


# Issue 24, round 74 (tuned on heldout118 and heldout119; these sentences are not from any split) ----------------


def test_a_thing_in_an_object_list_is_no_verb():
    acts, _, _ = reads("Bettina beat butter, eggs and flour into a smooth dough.")
    assert ("bettina", "beat") in acts and not any(v == "egg" for _, v in acts)
    # verbs in a list stay verbs
    acts, _, _ = reads("The boys on the team wobble, laugh and tumble over.")
    assert {("boys", "wobble"), ("boys", "laugh"), ("boys", "tumble")} <= acts


def test_a_things_participle_with_its_is_the_things():
    acts, _, _ = reads("Marta flicked through photos of the creek overflowing its banks.")
    assert ("marta", "flick") in acts and not any(v == "overflow" for _, v in acts)


def test_a_name_after_a_building_noun_is_a_place():
    acts, ids, _ = reads("Research station Vostra drifts above a red dwarf. Dr. Amadi checks the sensors.")
    assert "vostra" not in ids and ("amadi", "check") in acts


def test_he_after_an_indefinite_person_in_the_sentence_is_a_guess():
    acts, _, skipped = reads("Pip the magpie stole again. Nobody trusts a thief, even when he brings gifts.")
    assert not any(v == "bring" for _, v in acts) and any("the thief" in r for r in skipped)


def test_a_passive_agent_named_in_apposition():
    acts, _, _ = reads("The old shed was pulled down last week by her two nephews, Odo and Lasse.")
    assert ("odo", "pull") in acts and ("lasse", "pull") in acts


# Issue 24, round 75 (tuned on heldout120 and heldout121; these sentences are not from any split) ----------------


def test_the_kids_are_the_one_group_of_children():
    acts, ids, _ = reads("After lunch a dozen junior sailors drag their dinghies down the slipway. The kids paddle out "
                         "past the buoys.")
    assert ("sailors", "paddle") in acts and "kids" not in ids
    acts, ids, _ = reads("Eight sixth graders gather round the pond with nets. Ms. Ivers points at a newt, and the "
                         "children crouch down.")
    assert ("graders", "crouch") in acts and "children" not in ids


# Issue 24, round 76 (tuned on heldout122 and heldout123; these sentences are not from any split) ----------------


def test_at_last_is_no_subject_and_they_are_the_clauses_group():
    acts, _, _ = reads("Three zebras graze by the road. Both girls press their noses to the glass. When at last the "
                       "zebras trot off, they splash through the river.")
    assert ("zebras", "trot") in acts and ("zebras", "splash") in acts
    assert not any(w == "girls" and v == "splash" for w, v in acts)
    acts, _, _ = reads("Three zebras graze by the road. Both girls press their noses to the glass. When the zebras "
                       "trot off, they splash through the river.")
    assert ("zebras", "splash") in acts


def test_thickening_is_what_the_sauce_does():
    acts, _, _ = reads("The cat Mishka jumps onto the counter. Ravi lifts her down gently and shoos her out. When "
                       "it has thickened, Asha dips a spoon in and tastes it.")
    assert ("asha", "dip") in acts and not any(v == "thicken" for _, v in acts)


def test_the_birds_in_the_same_sentence_are_the_flock():
    acts, ids, _ = reads("A pair of herons was watched by the ranger, Aoife, who hid whenever the birds wandered "
                         "too close.")
    assert "birds" not in ids and ("herons", "wander") in acts


def test_one_of_a_group_is_not_the_group():
    acts, _, skipped = reads("The removal men carried the crates inside. One of the removal men dropped a lamp.")
    assert not any(v == "drop" for _, v in acts) and any("one of the" in r for r in skipped)


# Issue 24, round 77 (tuned on heldout124 and heldout125; these sentences are not from any split) ----------------


def test_a_dozen_of_them_then_their_verb():
    acts, _, _ = reads("A dozen cyclists gather by the fountain at dawn.")
    assert ("cyclists", "gather") in acts


def test_two_named_then_what_they_are_between_commas():
    acts, ids, _ = reads("Ayla and Nour, two cousins from the harbour, crawl under the net. At the wall both cousins "
                         "overtake the leader.")
    assert {("ayla", "crawl"), ("nour", "crawl"), ("ayla", "overtake"), ("nour", "overtake")} <= acts
    assert "cousins" not in ids


def test_twin_boys_are_the_twins():
    acts, ids, _ = reads("Her twin boys wrestle over the last cushion. Then the twins race out to the garden.")
    assert ("boys", "race") in acts and "twins" not in ids


# Issue 24, round 78 (tuned on heldout126 and heldout127; these sentences are not from any split) ----------------


def test_twins_after_an_animal_noun_are_no_verb():
    acts, ids, _ = reads("The otter twins, who have been dozing on a log, slide down the bank.")
    assert ("otters", "slide") in acts and ("otters", "doze") in acts
    assert "otter" not in ids and not any(v == "twin" for _, v in acts)


def test_dressed_as_then_a_plural_present_verb():
    acts, _, _ = reads("Twelve children dressed as snowflakes spin across the hall.")
    assert ("children", "spin") in acts and not any(v == "dress" for _, v in acts)


def test_the_children_are_the_grandchildren():
    acts, ids, _ = reads("Mrs. Pike's three grandchildren crowded into her kitchen to bake scones. Her cat Pip "
                         "napped by the oven. Before supper the children licked the spoons.")
    assert ("grandchildren", "lick") in acts and "children" not in ids


# Issue 24, round 79 (tuned on heldout128 and heldout129; these sentences are not from any split) ----------------


def test_a_plural_then_and_a_name_is_a_new_clause_not_a_list():
    from dreamrunner_cli.planning.heuristic import discover_entities

    text = ("Omar and his sister Salma fed the hens. Salma sang to the frightened goats, and Omar stroked the "
            "smallest kid on his lap.")
    kinds = {e.id: e.kind for e in discover_entities([text], []).entities}
    assert kinds["omar"] == "person" and kinds["salma"] == "person"
    acts, _, _ = reads(text)
    assert ("omar", "stroke") in acts and ("salma", "sing") in acts


def test_turning_completely_yellow_is_no_action():
    acts, _, _ = reads("They laughed, because the dog had turned completely yellow.")
    assert not any(v == "turn" for _, v in acts)


# Issue 24, round 80 (tuned on heldout130 and heldout131; these sentences are not from any split) ----------------


def test_whenever_she_pleased_is_no_action():
    acts, _, _ = reads("After that the fox kept away, and Mina swam in the pond whenever she pleased.")
    assert ("mina", "swim") in acts and not any(v == "please" for _, v in acts)


# Issue 24, round 81 (tuned on heldout132 and heldout133; these sentences are not from any split) ----------------


def test_his_daughter_as_a_passive_agent_makes_him_her_father():
    acts, ids, _ = reads("The old canoe was found in the reeds by Ansel. It was sanded smooth by his daughter Pia. "
                         "The hull was lifted onto the trestles by her father.")
    assert ("ansel", "lift") in acts and ("pia", "sand") in acts and "father" not in ids


def test_a_couple_brought_in_is_not_the_two_named():
    acts, _, skipped = reads("Greta lit the burner and Tam held the ropes. The passengers, a young couple from Bath, "
                             "were helped into the basket by Tam. The couple waved to the crowd.")
    assert ("tam", "help") in acts and not any(v == "wave" for _, v in acts)
    assert any("waving" in r for r in skipped)


def test_an_unnamed_one_before_one_of_its_kind_is_named():
    acts, ids, _ = reads("A proud crow once stole a silver ring from a windowsill. He hid it in the chimney. The "
                         "crow hopped home, pleased with himself. Later an old crow named Basil cawed from the oak.")
    assert ("crow", "steal") in acts and ("crow", "hop") in acts and ("basil", "caw") in acts
    assert ("basil", "hop") not in acts and ids.count("crow") == 1


def test_the_bird_names_a_hand_listed_bird():
    acts, ids, _ = reads("One morning a peacock escaped from the park. The bird perched on a lamp post. Later an old "
                         "peacock named Sultan strutted by.")
    assert ("peacock", "escape") in acts and ("peacock", "perch") in acts and "bird" not in ids


# Issue 24, round 82 (tuned on heldout134 and heldout135; these sentences are not from any split) ----------------


def test_his_daughter_as_the_subject_after_an_opening_phrase():
    acts, ids, _ = reads("Matteo runs a small bakery. Every morning his daughter Bea comes in early. Today she "
                         "weighs the flour while her father kneads the dough.")
    assert ("matteo", "knead") in acts and ("bea", "weigh") in acts and "father" not in ids


def test_kinship_words_without_a_determiner_name_the_kin_pair():
    acts, _, _ = reads("Petra and her nephew Jonas painted the shed. At dusk aunt and nephew washed the brushes.")
    assert ("petra", "wash") in acts and ("jonas", "wash") in acts


def test_a_name_given_in_an_apposition_with_nicknamed():
    acts, ids, _ = reads("The smaller rover, nicknamed Pip, scoops up a pebble and rolls away.")
    assert ("pip", "scoop") in acts and ("pip", "roll") in acts and not any(v == "nickname" for _, v in acts)


# Issue 24, round 83 (tuned on heldout136 and heldout137; these sentences are not from any split) ----------------


def test_a_kinship_word_opening_a_sentence_is_a_name():
    acts, ids, _ = reads("The car stopped by a gate. Mum took the map and turned it round.")
    assert ("mum", "take") in acts and ("mum", "turn") in acts and "mum" in ids


def test_a_name_after_an_opening_place_is_not_that_place_kind():
    from dreamrunner_cli.planning.heuristic import discover_entities

    text = "A grey truck parks by the kerb. Inside the truck, Oksana checks the radio."
    kinds = {e.id: e.kind for e in discover_entities([text], []).entities}
    assert kinds["oksana"] == "person"
    acts, _, _ = reads(text)
    assert ("oksana", "check") in acts and ("truck", "check") not in acts


def test_arms_folded_after_a_comma_is_no_verb():
    acts, _, skipped = reads("Mr. Brandt waited at the gate, arms folded.")
    assert ("brandt", "wait") in acts and not any(v == "arm" for _, v in acts) and not skipped


def test_an_adjective_participle_in_the_object_of_a_participle():
    acts, _, _ = reads("Aunt Vera came up the path, carrying plums and boiled eggs in a tin.")
    assert ("vera", "carry") in acts and not any(v == "boil" for _, v in acts)


# Issue 24, round 84 (tuned on heldout138 and heldout139; these sentences are not from any split) ----------------


def test_honorifics_of_other_languages_are_titles_with_a_sex():
    acts, ids, _ = reads("Tomás lunges with a low kick, and Dona Inês steps aside and hooks his heel. He falls over "
                         "and rolls away.")
    assert ("tomas", "fall") in acts and ("ines", "fall") not in acts and "dona" not in ids


def test_two_of_them_then_the_two_names_and_adjectives_before_a_name():
    acts, _, _ = reads("The dancers sit in a ring. Two of them, lanky young Bram and grey-haired Mrs. Ilse, stand "
                       "up and bow. The youngest dancer, seven-year-old Pim, claps.")
    assert {("bram", "stand"), ("ilse", "stand"), ("bram", "bow"), ("pim", "clap")} <= acts


def test_an_opening_time_then_a_titled_apposition_subject():
    acts, _, _ = reads("At six o'clock the florist, Mrs. Odile, opens the shutters.")
    assert ("odile", "open") in acts


def test_a_later_verb_only_people_do_passes_over_the_things():
    acts, _, _ = reads("Anouk and her uncle Piet fry the fritters. Behind them the pans rattle against the tiles. "
                       "They slide the fritters onto a plate and eat them warm.")
    assert ("anouk", "eat") in acts and ("piet", "slide") in acts


def test_a_name_after_off_is_a_place():
    acts, ids, _ = reads("At noon the water off Malta lies calm around the boat.")
    assert "malta" not in ids and not acts


def test_the_boy_and_the_old_man_by_the_kin_pair():
    acts, _, _ = reads("Kofi, who is nine, waits on the pier beside his grandfather, Kwame, and yawns. The boy "
                       "leans over the rail. Then the old man dives in.")
    assert ("kofi", "lean") in acts and ("kwame", "dive") in acts


# Issue 24, round 85 (tuned on heldout140 and heldout141; these sentences are not from any split) ----------------


def test_a_plural_after_and_is_no_present_verb_beside_a_past_one():
    acts, _, _ = reads("Auntie Grace whisked the butter, sugar and eggs in a jug.")
    assert ("grace", "whisk") in acts and not any(v == "egg" for _, v in acts)


def test_male_and_female_tell_two_of_a_kind_apart():
    acts, _, _ = reads("In the hollow oak a female owl sits on her eggs. At dusk the male owl flutters down and "
                       "drops a mouse beside her.")
    owls = {w for w, v in acts if v in ("flutter", "drop")}
    assert len(owls) == 1 and owls != {w for w, v in acts if v == "sit"}


# Issue 24, round 86 (tuned on heldout142 and heldout143; these sentences are not from any split) ----------------


def test_a_capitalised_word_before_new_year_is_a_feast():
    acts, ids, _ = reads("Three days before Lunar New Year, Hao and his wife Lan scrub the steps.")
    assert "lunar" not in ids and ("hao", "scrub") in acts and ("lan", "scrub") in acts


def test_their_boys_are_never_the_two_they_belong_to():
    acts, _, skipped = reads("Ana and her husband Rui push up their sleeves. Their twin boys carry the ladders to "
                             "the shed.")
    assert ("ana", "carry") not in acts and ("rui", "carry") not in acts
    assert any("\u201cboys\u201d is no character found" in r for r in skipped)  # what to fix, said


# Issue 24, round 87 (tuned on heldout144 and heldout145; these sentences are not from any split) ----------------


def test_the_hawk_names_a_goshawk():
    acts, ids, _ = reads("A goshawk swooped from the pine. The hawk flapped back to its branch.")
    assert ("goshawk", "flap") in acts and "hawk" not in ids


def test_a_past_participle_after_and_in_a_present_sentence_is_an_adjective():
    acts, _, _ = reads("Noa tips the rice into the pan and adds fish sauce and chopped chillies.")
    assert ("noa", "add") in acts and not any(v == "chop" for _, v in acts)


def test_and_clouds_of_steam_start_a_clause():
    acts, _, _ = reads("Ilse pours water on the coals, and clouds of steam rise to the ceiling.")
    assert ("ilse", "pour") in acts and not any(v == "cloud" for _, v in acts)


def test_faster_than_it_could_turn_is_no_action():
    acts, _, _ = reads("The hare shot off across the field, faster than the fox could turn.")
    assert ("hare", "shoot") in acts and not any(v == "turn" for _, v in acts)


# Issue 24, round 88 (tuned on heldout146 and heldout147; these sentences are not from any split) ----------------


def test_each_between_a_plural_subject_and_its_verb():
    acts, _, _ = reads("Lotte and her cousin Pim each grab a lantern.")
    assert ("lotte", "grab") in acts and ("pim", "grab") in acts


def test_their_grandfather_and_grandmother_share_the_possessive():
    acts, _, _ = reads("Lotte and Pim arrive at the farm. Their grandfather and grandmother wave from the porch. "
                       "Grandfather hugs Pim, and Grandmother pats Lotte's cheek.")
    assert ("grandfather", "wave") in acts and ("grandmother", "wave") in acts


def test_a_place_noun_before_a_who_clause_is_no_one():
    acts, ids, _ = reads("The two boys at the back, who had been yawning all day, suddenly sit up.")
    assert "back" not in ids and not any(w == "back" for w, _ in acts)


# Issue 24, round 89 (tuned on heldout148 and heldout149; these sentences are not from any split) ----------------


def test_a_person_noun_before_machines_describes_them():
    acts, ids, _ = reads("Two helper drones, which hum softly, carry the crates.")
    assert ("drones", "carry") in acts and "helper" not in ids and not any(v == "drone" for _, v in acts)


# Issue 24, round 90 (tuned on heldout150 and heldout151; these sentences are not from any split) ----------------


def test_the_hippo_names_a_hippopotamus():
    acts, ids, _ = reads("A sleepy hippopotamus named Bongo wallowed in the river. The hippo yawned and sank.")
    assert ("bongo", "yawn") in acts and "hippo" not in ids


def test_his_grandfather_after_a_verb_is_the_old_man():
    acts, _, _ = reads("At dawn Tarik followed his grandfather Selim up the hill. The old man walked slowly. Near the "
                       "top he stopped and knelt.")
    assert ("selim", "walk") in acts and ("selim", "kneel") in acts and ("tarik", "kneel") not in acts


# Issue 24, round 91 (tuned on heldout152 and heldout153; these sentences are not from any split) ----------------


def test_a_name_after_a_compass_word_is_a_place():
    acts, ids, _ = reads("Each spring the orchard behind the farm in northern Portugal bursts into blossom.")
    assert "portugal" not in ids and not acts


# Issue 24, round 92 (tuned on heldout154 and heldout155; these sentences are not from any split) ----------------


def test_two_adjectives_between_commas_are_no_verb():
    acts, _, _ = reads("When the storm had passed, Bramble crawled out, rumpled and muddy, and shook himself.")
    assert ("bramble", "crawl") in acts and ("bramble", "shake") in acts and not any(v == "rumple" for _, v in acts)


# Issue 24, round 93 (tuned on heldout156 and heldout157; these sentences are not from any split) ----------------


def test_a_swarm_of_machines_is_the_machines():
    acts, ids, _ = reads("At dawn a swarm of four survey drones was launched by the pilot, Anneke. The drones hovered "
                         "over the dunes.")
    assert ("drones", "hover") in acts and "swarm" not in ids


# Issue 24, round 94 (tuned on heldout158 and heldout159; these sentences are not from any split) ----------------


def test_as_he_goes_is_no_going_of_its_own():
    acts, _, _ = reads("Ollie the snail slides across the patio, leaving a silver trail as he goes.")
    assert ("ollie", "slide") in acts and ("ollie", "go") not in acts


def test_advice_in_a_relative_is_no_action():
    acts, ids, _ = reads("A plumber named Dev, whom the landlord had recommended, knocked at the door.")
    assert ("dev", "knock") in acts and not any(w == "landlord" for w, _ in acts)


def test_her_sister_of_two_named_sisters_is_the_other_one():
    acts, ids, _ = reads("Two elderly sisters, Ines and Mabel, wandered along the pier. Ines was filmed by her sister "
                         "beside the railings.")
    assert ("mabel", "film") in acts and ("ines", "film") not in acts and "sister" not in ids


def test_a_neighbour_from_upstairs_does_his_verb():
    acts, _, _ = reads("Joan sweeps the hall. Mr. Okafor from upstairs waves at her, holding a parcel.")
    assert {("okafor", "wave"), ("okafor", "hold")} <= acts


def test_they_after_a_group_subject_and_but_is_that_group():
    acts, _, skipped = reads("The Lindqvist twins dash into the hall. Four cousins follow them. Both twins trip on the "
                             "rug, but they jump up and bow.")
    assert {("lindqvist-twins", "jump"), ("lindqvist-twins", "bow")} <= acts and ("cousins", "jump") not in acts


def test_a_name_and_its_kind_then_a_verb_that_is_also_a_noun():
    acts, _, _ = reads("Rolo the donkey trots over and nuzzles the gate.")
    assert {("rolo", "trot"), ("rolo", "nuzzle")} <= acts


def test_a_plural_with_a_modifier_before_two_names():
    acts, _, _ = reads("Two delivery drones, Dot and Flick, swivel their cameras.")
    assert {("dot", "swivel"), ("flick", "swivel")} <= acts


def test_a_role_then_a_titled_name_after_a_time():
    acts, _, skipped = reads("That evening the old shepherd, Mr. Pryce, whistled for his dogs.")
    assert ("pryce", "whistle") in acts and not skipped


def test_bare_spectators_opening_a_sentence_are_a_group():
    acts, _, _ = reads("Spectators on the quay cheer as the yacht docks.")
    assert ("spectators", "cheer") in acts


def test_a_past_participle_phrase_then_the_past_verb():
    acts, _, _ = reads("Fans squeezed along the railing whistled and stamped.")
    assert {("fans", "whistle"), ("fans", "stamp")} <= acts and ("fans", "squeeze") not in acts


# Issue 24, round 95 (tuned on heldout160 and heldout161; these sentences are not from any split) ----------------


def test_a_possessive_in_the_first_clause_is_its_subjects():
    acts, _, _ = reads("When Leilani opened the door of her cabin, a stranger lay asleep on the bench. She tapped his "
                       "arm and held up her ticket.")
    assert ("stranger", "tap") not in acts and ("stranger", "hold") not in acts


def test_her_before_anyone_else_is_named_tells_the_gender():
    acts, _, _ = reads("Nadia ties a rope between two posts. Her friend Owen tightens the knot until it hums when she "
                       "plucks it.")
    assert ("owen", "tighten") in acts and ("owen", "pluck") not in acts


def test_a_plural_described_by_a_participle_then_its_present_verbs():
    acts, _, _ = reads("The people packed along the rail gasp and then clap.")
    assert {("people", "gasp"), ("people", "clap")} <= acts and ("people", "pack") not in acts


def test_an_old_titled_name_in_an_apposition_is_the_role():
    acts, ids, _ = reads("The ball is set down on the ice by the umpire, old Herr Vogt, in his fur hat.")
    assert ("vogt", "set") in acts and "umpire" not in ids


def test_a_fireman_is_a_person_noun():
    acts, _, _ = reads("Then a burly fireman named Stig throws his ball far too hard.")
    assert ("stig", "throw") in acts


def test_relatives_in_the_plural_are_people():
    acts, _, _ = reads("A crowd of relatives follows, clapping and singing.")
    assert {("relatives", "follow"), ("relatives", "clap")} <= acts


def test_a_group_from_a_named_club_then_its_verb():
    acts, _, _ = reads("Ten children from the Harbour Rowing Club march along the quay.")
    assert ("children", "march") in acts


def test_a_counted_plural_with_a_modifier_then_a_relative_clause():
    acts, _, _ = reads("Two repair drones, which had ridden down in the hold, scuttled over and clamped the line.")
    assert {("drones", "scuttle"), ("drones", "clamp")} <= acts


def test_a_possessed_subject_of_a_relative_clause():
    acts, _, _ = reads("Two drones, which the ship's engineer had released, hummed past. The engineer, a man named "
                       "Osei, waved.")
    assert ("osei", "release") in acts


def test_the_partner_of_a_robot_is_a_robot():
    acts, ids, _ = reads("The larger robot, Pim, rolls down the aisle. Its partner, a thin unit called Fizz, climbs "
                         "the mast. Later both robots dock by the door.")
    assert {("pim", "dock"), ("fizz", "dock")} <= acts and "robots" not in ids


def test_a_role_with_its_phrase_before_a_name_tells_its_gender():
    acts, _, skipped = reads("Salma spreads beans on a pan. She stirs them. The lady from next door, Umm Faris, peers "
                             "over the wall. \"Add more cardamom,\" she calls, waving a paper twist.")
    assert {("umm", "call"), ("umm", "wave")} <= acts and ("salma", "call") not in acts


# Issue 24, round 96 (tuned on heldout162 and heldout163; these sentences are not from any split) ----------------


def test_a_plural_after_a_past_verb_and_and_is_a_noun():
    acts, _, skipped = reads("Old Mr. Pell waved. By evening both trucks had reached the yard, and Mrs. Pell carried "
                             "out a teapot and mugs for the drivers.")
    assert ("mrs-pell", "carry") in acts and ("mrs-pell", "mug") not in acts and not skipped


def test_lasting_a_while_is_no_action():
    acts, _, _ = reads("The cousins lasted less than a minute in the icy sea; they splashed out screaming.")
    assert ("cousins", "splash") in acts and ("cousins", "last") not in acts


def test_the_two_then_an_adjective_and_the_plural_noun():
    acts, _, _ = reads("Pip is a small pony. Her friend Moss, a goat, trots up. Then the two wet pals trudge home.")
    assert {("pip", "trudge"), ("moss", "trudge")} <= acts and ("pip", "wet") not in acts


def test_a_name_after_at_before_a_comma_is_a_place():
    acts, ids, _ = reads("In the boatyard at Sohar, Salim patched the hull.")
    assert "sohar" not in ids and ("salim", "patch") in acts


def test_a_participle_opening_a_sentence_is_no_name():
    acts, ids, _ = reads("Grunting, the warthog trotted back into the long grass.")
    assert "grunting" not in ids and ("warthog", "trot") in acts


def test_a_past_known_only_as_participle_before_an_object_pronoun():
    acts, _, _ = reads("Maren fitted them in a circle, tapping each one into place.")
    assert {("maren", "fit"), ("maren", "tap")} <= acts


def test_running_a_hand_over_something_is_a_motion():
    acts, _, _ = reads("Maren ran her hand over the smooth lid and smiled.")
    assert ("maren", "run") in acts


def test_a_past_participle_in_a_list_of_things():
    acts, _, _ = reads("Mr. Tan weighed out ginger, dried figs and lotus seeds on a brass scale.")
    assert ("tan", "weigh") in acts and ("tan", "dry") not in acts


def test_a_participle_phrase_then_a_past_verb_and_a_subordinate_clause():
    acts, _, _ = reads("Ola skied down. The fans crowded along the rope cheered as she stopped.")
    assert ("fans", "cheer") in acts and ("fans", "crowd") not in acts


def test_a_species_named_before_its_kind_is_the_same_animal():
    acts, ids, _ = reads("A marabou stork strutted along the bank. The marabou flapped its wings and flew off.")
    assert ("stork", "flap") in acts and "marabou" not in ids


# Issue 24, round 97 (tuned on heldout164 and heldout165; these sentences are not from any split) ----------------


def test_the_flock_after_the_birds_just_named_is_those_birds():
    acts, ids, _ = reads("Every morning Wen opens the loft, and his twelve doves flap out. The flock wheels over the "
                         "rooftops.")
    assert ("doves", "wheel") in acts and "flock" not in ids


def test_the_two_birds_are_the_two_geese():
    acts, ids, _ = reads("Two grey geese lived by the pond. The geese found a long stick. Then the two birds flapped "
                         "upward.")
    assert ("geese", "flap") in acts and "birds" not in ids


def test_a_participle_of_feeling_opening_a_sentence_is_no_name():
    acts, ids, _ = reads("A goat wandered into the barn. Exhausted, the goat lay down in the straw.")
    assert ("goat", "lie") in acts and "exhausted" not in ids


def test_the_second_of_two_adjectives_after_a_preposition():
    acts, _, _ = reads("Ama dipped the brush and painted the gate in long, wet strokes.")
    assert ("ama", "paint") in acts and ("ama", "wet") not in acts


def test_soaked_and_laughing_after_a_motion_is_how_they_came():
    acts, _, _ = reads("Pia and her brother Ola ran out into the storm. Ten minutes later they burst back through the "
                       "door, soaked and giggling.")
    assert ("pia", "burst") in acts and ("pia", "soak") not in acts
    acts, _, _ = reads("Pia and her brother Ola ran out into the storm. Later they raced back into the kitchen, "
                       "drenched and shrieking.")
    assert ("pia", "race") in acts and ("pia", "drench") not in acts


def test_working_a_shift_is_no_action():
    acts, _, _ = reads("Farid works the night shift at the bakery and kneads the dough.")
    assert ("farid", "knead") in acts and ("farid", "work") not in acts


def test_two_names_that_are_two_young_birds():
    from dreamrunner_cli.planning.heuristic import discover_entities

    reg = discover_entities(["Pip and Dot are two tiny tern chicks. Pip and Dot scurry along the sand."], [])
    assert {e.id: e.kind for e in reg.entities} == {"pip": "animal", "dot": "animal"}


# Issue 24, round 98 (tuned on heldout166 and heldout167; these sentences are not from any split) ----------------


def test_a_name_after_near_a_place_noun_is_a_place():
    acts, ids, _ = reads("Every Friday Ottilie rode out to a farmhouse near Kalmar for her lesson.")
    assert "kalmar" not in ids


def test_what_was_going_on_is_no_going():
    acts, _, _ = reads("Several neighbours wandered over from the flats to see what was going on.")
    assert ("neighbours", "wander") in acts and ("neighbours", "go") not in acts


def test_a_participle_phrase_then_began_to():
    acts, _, _ = reads("A piper struck up a reel, and the guests scattered along the lawn began to dance.")
    assert ("guests", "dance") in acts and ("guests", "scatter") not in acts


def test_two_passive_participles_share_one_agent():
    acts, _, _ = reads("Tomas was lifted off his feet and swung round by his brother Ivo.")
    assert {("ivo", "lift"), ("ivo", "swing")} <= acts and ("tomas", "swing") not in acts


def test_another_of_a_kind_is_not_the_one_named():
    acts, _, _ = reads("Two drones, Wren and Kit, hovered over the dock. A crate was caught by another drone, a newer "
                       "unit called Moth, before it fell.")
    assert ("moth", "catch") in acts and ("wren", "catch") not in acts


# Issue 24, round 99 (tuned on heldout168 and heldout169; these sentences are not from any split) ----------------


def test_using_a_tool_is_no_action_of_its_own():
    acts, _, _ = reads("Then Mr. Kessler fishes around in the pot using a long fork.")
    assert ("kessler", "fish") in acts and ("kessler", "use") not in acts


def test_the_second_of_two_participles_before_a_noun():
    acts, _, _ = reads("Lena lifted the lid and peered into the bubbling, spitting pot.")
    assert {("lena", "lift"), ("lena", "peer")} <= acts and ("lena", "spit") not in acts


def test_they_after_a_bare_plural_and_until_may_be_the_things():
    acts, _, skipped = reads("Omar and Idris sit at the bench. Omar files each brass key, scraping off thin shavings "
                             "until they fit the lock.")
    assert ("omar", "fit") not in acts and ("idris", "fit") not in acts and skipped


# Issue 24, round 100 (tuned on heldout170 and heldout171; these sentences are not from any split) ---------------


def test_a_pair_brought_in_is_not_the_pair_already_named():
    acts, _, _ = reads("Greta and Nils paddled along the shore. Behind them a pair from Lyon swerved into the reeds.")
    assert ("greta", "swerve") not in acts and ("nils", "swerve") not in acts


def test_as_many_as_he_could_carry_is_no_carrying():
    acts, _, _ = reads("Bruno pushed his paw into the jar and grabbed as many grapes as he could carry.")
    assert ("bruno", "grab") in acts and ("bruno", "carry") not in acts


# Issue 24, round 101 (tuned on heldout172 and heldout173; these sentences are not from any split) ---------------


def test_who_after_a_thing_worn_is_the_wearers():
    acts, ids, _ = reads("A grey-haired regular in a woolly hat, who sits by the window, lifts his cup to the cook.")
    assert "hat" not in ids and not any(w == "hat" for w, _ in acts)


# Issue 24, round 102 (tuned on heldout174 and heldout175; these sentences are not from any split) ---------------


def test_a_capital_after_a_quote_starts_a_sentence_once_the_speaker_is_said():
    text = ('"The pump is broken," Aiko said, tapping the pipe, "so we carry water." Mr. Brandt sighed, climbed off '
            'the wall and fetched a bucket.')
    assert len(sentences(text)) == 2
    acts, _, _ = reads(text)
    assert {("brandt", "climb"), ("brandt", "fetch")} <= acts and ("aiko", "climb") not in acts
    assert len(sentences('"Run!" Mr. Brandt shouts, waving.')) == 1  # the speaker after the quote stays with it
    assert len(sentences('Aiko yells "Now!" and jumps.')) == 1


def test_a_past_after_and_describes_the_next_thing():
    # after a present that is also a plural noun ("stirs"), before a noun the dictionary lacks ("tamagoyaki"),
    # and when the object began the same way ("smoked ham and pickled herring")
    acts, _, _ = reads("Nadia stirs in coconut milk and shredded cabbage.")
    assert ("nadia", "stir") in acts and ("nadia", "shred") not in acts
    acts, _, _ = reads("Hana packs rice, spinach and sliced tamagoyaki into the box.")
    assert ("hana", "pack") in acts and ("hana", "slice") not in acts
    acts, _, _ = reads("Oskar piled smoked ham and pickled herring onto the plate.")
    assert ("oskar", "pile") in acts and ("oskar", "pickle") not in acts
    acts, _, _ = reads("Oskar peeled boiled eggs and sliced them.")  # a pronoun after it: a verb
    assert {("oskar", "peel"), ("oskar", "slice")} <= acts


def test_a_plurals_verb_after_its_place_before_a_particle():
    acts, _, _ = reads("Two porters behind the front desk lean forward and whisper.")
    assert {("porters", "lean"), ("porters", "whisper")} <= acts and not any(v == "forward" for _, v in acts)


def test_a_collective_with_an_adjective_before_of():
    acts, ids, skipped = reads("A small group of hikers trudges past the inn.")
    assert acts == {("hikers", "trudge")} and not skipped and ids == ["hikers"]


def test_his_before_a_kin_word_tells_the_subjects_gender():
    acts, _, _ = reads("민호 sits on the step beside his grandmother. With a sharp knife she peels an apple. His "
                       "grandmother smiles.")
    assert ("grandmother", "peel") in acts and ("minho", "peel") not in acts


def test_known_as_names_like_called():
    acts, ids, _ = reads("The hedge was trimmed by the caretaker, a stooped old man known as Ambrose, who swept up "
                         "the clippings.")
    assert ids == ["ambrose"] and {("ambrose", "trim"), ("ambrose", "sweep")} <= acts


def test_the_two_horses_are_the_filly_and_the_gelding():
    acts, ids, _ = reads("Tansy was a young filly who shared the stable with an old gelding called Moss. Tansy kicked "
                         "the door open, and Moss followed her out. The two horses trotted down the lane.")
    assert ids == ["tansy", "moss"] and {("tansy", "trot"), ("moss", "trot")} <= acts


def test_the_home_supporters_are_people_and_home_stays_an_adverb_after_a_verb():
    acts, ids, _ = reads("The home supporters jumped up and waved their scarves.")
    assert ids == ["supporters"] and {("supporters", "jump"), ("supporters", "wave")} <= acts
    acts, _, _ = reads("Dora ran home, and her dog trotted after her.")
    assert ("dora", "run") in acts


def test_two_agents_with_titles_after_by():
    acts, _, _ = reads("The old gate was sanded by Mr. Quayle and Dr. Osei from the allotments.")
    assert {("quayle", "sand"), ("osei", "sand")} <= acts


def test_hand_out_after_a_plural_subject_is_a_verb():
    acts, _, _ = reads("Two stewards, Lotte and Bram, hand out blankets.")
    assert {("lotte", "hand"), ("bram", "hand")} <= acts


def test_a_planet_is_no_character_unless_declared(tmp_path):
    acts, ids, _ = reads("Far above the crater, Neptune glows blue. Oduya climbs out of the rover.")
    assert ids == ["oduya"] and acts == {("oduya", "climb")}
    plan = plan_text("---\ncharacters:\n  - id: mars\n    name: Mars\n    description: a black dog\n---\n"
                     "Mars digs under the fence. Mars barks at the postman.", tmp_path)
    assert ("mars", "digging") in who_does(plan)


def test_two_kin_known_by_their_nouns_are_the_boy_and_his_mother():
    acts, ids, _ = reads("A weaver and her son carried the rugs to the square. The weaver spread them out, and the "
                         "boy sat beside the pile. Later the boy ran off, and his mother shouted after him.")
    assert sorted(ids) == ["son", "weaver"]
    assert {("son", "run"), ("weaver", "shout")} <= acts


def test_with_her_and_a_tool_tells_the_subjects_gender():
    acts, _, _ = reads("The home pair, Anton and Leni, wheel their bikes onto the court. Leni lifts the ball with her "
                       "front wheel and flicks it across to Anton. He spins his bike on its back tyre.")
    assert ("anton", "spin") in acts and ("leni", "spin") not in acts


def test_he_after_a_him_that_could_not_be_told_is_not_guessed():
    acts, _, skipped = reads("Greta pushed her sledge to the top of the run. A tall steward waved his flag. Halfway "
                             "down, her rival Pieter passed her on the left. Greta ducked low and caught him at the "
                             "bend. He clipped a post and tumbled into the snow.")
    assert ("steward", "clip") not in acts and ("steward", "wave") in acts
    assert any("clipping" in r for r in skipped)


def test_an_agent_named_after_the_phrase_that_places_it():
    acts, ids, _ = reads("The fence was mended by a neighbour from number twelve, Mrs. Achebe, who hummed as she "
                         "worked.")
    assert ids == ["achebe"] and ("achebe", "mend") in acts
    acts, ids, _ = reads("The gate was oiled by a neighbour from next door, Mr. Lund, who then went home.")
    assert ids == ["lund"] and ("lund", "oil") in acts


def test_they_all_after_every_thing_may_be_the_things():
    acts, _, skipped = reads("Ines, Bruno and Carla sit by the stream. Ines grabs at every leaf, but they all drift "
                             "past into the reeds.")
    assert not any(v == "drift" for _, v in acts) and any("drifting" in r for r in skipped)


def test_a_plurals_verb_before_when_is_reported_when_no_one_is_found():
    acts, _, skipped = reads("A van full of hikers pulls up and the group piles out. Jonas finally jumps, and the "
                             "hikers cheer when he lands.")
    assert ("jonas", "jump") in acts and any("cheering" in r for r in skipped)


def test_a_subject_the_dictionary_lacks_is_reported():
    acts, _, skipped = reads("Tamsin waved her baton. When the last whistle blew, the drumline froze in place.")
    assert acts == {("tamsin", "wave")} and any("freezing" in r and "drumline" in r for r in skipped)


def test_with_someone_doing_something_after_a_place():
    acts, _, _ = reads("Three robots follow the buggy. Lin walks to the dome with the robots trundling behind.")
    assert {("lin", "walk"), ("robots", "trundle")} <= acts
    acts, _, _ = reads("Lena rows out along the gold lettering.")  # a noun after its determiner, still no verb
    assert acts == {("lena", "row")}


# Issue 24, round 103 (tuned on heldout176 and heldout177; these sentences are not from any split) ---------------


def test_her_friend_and_a_name_tell_the_gender_of_the_one_named_before():
    acts, _, _ = reads("Beside the river, Asel lights a fire while her friend Timur is still curled up in his tent. "
                       "She fills the kettle and sets it on the flames.")
    assert ("asel", "light") in acts and ("timur", "fill") not in acts and ("timur", "set") not in acts


def test_the_pack_is_the_dogs_or_wolves_just_named():
    acts, ids, _ = reads("At dawn the wolves howled on the ridge. A deer froze by the stream. Soon the pack was racing "
                         "down the slope.")
    assert "pack" not in ids and ("wolves", "race") in acts


def test_working_for_someone_is_a_job_not_an_action():
    acts, _, skipped = reads("Dmitri worked for his aunt's flower stall near the station.")
    assert acts == set() and skipped
    acts, _, _ = reads("Dmitri worked for hours on the old engine.")
    assert ("dmitri", "work") in acts


def test_both_neighbours_are_the_two_named():
    acts, ids, _ = reads("Ruben waved to Anneke over the fence. Anneke waved back. Later that evening both neighbours "
                         "sat drinking tea.")
    assert ids == ["ruben", "anneke"] and {("ruben", "sit"), ("anneke", "sit")} <= acts


# Issue 24, round 104 (tuned on heldout178 and heldout179; these sentences are not from any split) ---------------


def test_children_named_by_a_place_noun_are_a_group_of_their_own():
    acts, ids, _ = reads("Piet sweeps the stage. His sister Mieke hangs the lanterns. At dusk the harbour children "
                         "are running along the quay.")
    assert "children" in ids and ("children", "run") in acts
    acts, ids, _ = reads("Piet sweeps the stage. His sister Mieke hangs the lanterns. At dusk the children are "
                         "running along the quay.")  # the two, read as "they"
    assert "children" not in ids


def test_a_noun_after_a_gerund_in_a_place_phrase_is_no_verb():
    acts, _, _ = reads("A group of boys from the rowing club runs down to the jetty.")
    assert acts == {("boys", "run")}


def test_a_comparative_tells_another_one_of_the_same_noun():
    acts, _, skipped = reads("The smaller drone, a grey quadcopter called Wren, lifts the parcel off the roof. Then "
                             "the larger drone grabs the rope.")
    assert ("wren", "lift") in acts and ("wren", "grab") not in acts and skipped
    acts, _, _ = reads("The number 7 tram, a green car called Wren, stops by the gate. The tram rings its bell.")
    assert ("wren", "ring") in acts  # "number" is a noun, no comparative


def test_an_animal_noun_before_the_subject_noun_describes_the_thing():
    acts, ids, _ = reads("On Monday a hamster wheel was left on the porch by Priya. It rolled down the steps.")
    assert "hamster" not in ids and ("priya", "leave") in acts and not any(w == "hamster" for w, _ in acts)
    acts, ids, _ = reads("Priya's hamster wheel creaks. The hamster runs faster.")  # the hamster, later, acts
    assert ("hamster", "run") in acts


def test_a_name_after_a_place_noun_in_a_place_phrase_names_the_place():
    acts, ids, _ = reads("Inside the drifting observatory Calliope, the engineer, Brannock, tightens a loose bolt.")
    assert ids == ["brannock"] and acts == {("brannock", "tighten")}
    acts, ids, _ = reads("The survey barge Calliope drifts past the reef.")  # a subject: the barge, by its name
    assert ("calliope", "drift") in acts


def test_a_plural_noun_before_a_plural_verb_ends_the_place_phrase():
    acts, _, _ = reads("Spectators in the upper rows leap up from their seats.")
    assert acts == {("spectators", "leap")}


def test_going_dark_is_how_a_thing_is():
    acts, _, skipped = reads("The delivery robot rolls up to the door. Then the robot goes dark.")
    assert acts == {("robot", "roll")} and skipped


def test_a_past_after_and_after_a_prepared_meat_is_the_next_noun_adjective():
    acts, _, _ = reads("Oskar stirs rice, minced chicken and chopped parsley together in a bowl.")
    assert acts == {("oskar", "stir")}


def test_people_named_by_an_adjective_plural_or_a_whole_queue_are_reported():
    acts, _, skipped = reads("Nadia wipes the counter. The regulars raise their glasses.")
    assert acts == {("nadia", "wipe")} and any("raising" in r and "regulars" in r for r in skipped)
    acts, _, skipped = reads("Nadia wipes the counter. The whole queue groans.")
    assert acts == {("nadia", "wipe")} and any("groaning" in r for r in skipped)


def test_a_class_named_by_a_plural_takes_a_plural_verb():
    acts, _, _ = reads("Mr. Osei's class visits the farm. The children feed the goats by the barn.")
    assert ("class", "feed") in acts


def test_a_collective_before_the_noun_that_ends_the_phrase_describes_it():
    acts, ids, _ = reads("The party was held in Tomas's family garden. Later the guests danced on the lawn.")
    assert "family" not in ids and ("guests", "dance") in acts


def test_a_passive_agent_named_by_two_nouns_acts():
    acts, _, _ = reads("The heavy stage is rolled out by the road crew and bolted together.")
    assert ("crew", "roll") in acts


def test_onlookers_after_a_working_crew_are_other_people():
    acts, ids, _ = reads("A crew of builders lifts the old bell out of the tower. Below, the onlookers clap.")
    assert ("onlookers", "clap") in acts and ("builders", "clap") not in acts


def test_a_plural_surname_in_a_story_of_a_family_is_that_family():
    acts, ids, _ = reads("At noon the Vanterpools unload their bikes by the lake. The whole family sets off along "
                         "the shore.")
    assert ids == ["vanterpools"] and {("vanterpools", "unload"), ("vanterpools", "set")} <= acts


def test_a_snowplough_is_a_vehicle_that_acts():
    acts, ids, _ = reads("At dawn a huge orange plough crawls up the hill road and shoves the drifts aside.")
    assert {("plough", "crawl"), ("plough", "shove")} <= acts


def test_a_first_name_of_the_other_sex_is_no_candidate_for_he_or_she():
    acts, _, _ = reads("Maelis rows out into the lake. Her coach, Osgood, cycles along the bank. At the bridge "
                       "Osgood brakes and shouts. She digs in harder.")
    assert ("maelis", "dig") in acts
    # the one whose name is a woman's is no "he", even when no one else is found ("Gavin" is no one found)
    acts, _, skipped = reads("Maelis and Osgood sit at the desk. Later Maelis waves to Gavin, and he grins.")
    assert not any(v == "grin" for _, v in acts) and any("mostly a woman's" in r for r in skipped)


def test_the_name_list_reads_first_names_not_titles_nor_surnames():
    from dreamrunner_cli.planning import lexicon as lx

    assert (lx.name_gender("Maelis"), lx.name_gender("Osgood"), lx.name_gender("Dina Kovač")) == ("f", "m", "f")
    assert lx.name_gender("Mr Ferreira") is None and lx.name_gender("Captain Tsvetkova") is None
    assert lx.name_gender("Alex") is None  # a name used for both


def test_the_whole_squad_with_a_nation_is_not_the_one_group_before():
    acts, _, _ = reads("Twenty cyclists roll up to the start line. At the finish the whole Dutch squad piles onto "
                       "the podium.")
    assert ("cyclists", "pile") not in acts


# Issue 24, round 105 (tuned on heldout180 and heldout181; these sentences are not from any split) ---------------


def test_two_caseless_names_listed_after_a_plural_of_people_are_names():
    acts, _, _ = reads("Her sons, 健 and 翔, sit on the steps with bowls of rice.")
    assert acts == {("jian", "sit"), ("xiang", "sit")}


def test_guests_after_a_troupe_are_other_people():
    acts, _, _ = reads("A brass band marches into the square, playing a polka. Soon the guests dance around the "
                       "fountain.")
    assert ("guests", "dance") in acts and ("band", "dance") not in acts


def test_after_a_place_phrase_the_subject_may_follow_its_verb():
    acts, _, _ = reads("Tomas and Mira reach the gate. Tomas knocks. Behind him waits Mira, holding the lantern.")
    assert {("mira", "wait"), ("mira", "hold")} <= acts and ("tomas", "hold") not in acts
    acts, _, _ = reads("Tomas and Mira reach the gate. Tomas knocks. Behind him is Mira.")  # "be" shows nothing
    assert acts == {("tomas", "reach"), ("mira", "reach"), ("tomas", "knock")}


def test_people_on_a_bare_plural_then_their_verb():
    acts, _, _ = reads("Lena waits at the corner. Three girls on scooters zoom past the bakery.")
    assert ("girls", "zoom") in acts


def test_still_and_a_place_or_what_one_wears_between_commas_after_the_subject():
    acts, _, _ = reads("A nurse, still in her scrubs, hurries across the car park.")
    assert acts == {("nurse", "hurry")}
    acts, _, _ = reads("The Tarrant choir, in long red robes, files onto the stage.")
    assert acts == {("tarrant-choir", "file")}


def test_the_wheel_ships_every_word_list_of_the_planner(tmp_path):
    """A user's `pip install dreamrunner` gets a wheel, not this checkout: the planner's word lists (the WordNet
    nouns, the first names) must be in it, or the built-in planner fails on import."""
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    src = tmp_path / "src"
    shutil.copytree(root / "dreamrunner_cli", src / "dreamrunner_cli",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", str(src), "-w", str(tmp_path / "dist")],
                   stdin=subprocess.DEVNULL, check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    lists = sorted((root / "dreamrunner_cli" / "planning" / "data").glob("*.txt"))
    assert any(p.name == "name_genders.txt" for p in lists)
    assert {f"dreamrunner_cli/planning/data/{p.name}" for p in lists} <= shipped
