"""The built-in planner on every example story: valid plans that obey METHOD.md A.2's layout rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dreamrunner_cli.config import PlanConfig
from dreamrunner_cli.planning import get_planner
from dreamrunner_cli.planning.heuristic import (
    TRAVELLING,
    HeuristicPlanner,
    categorize,
    infer_main_character,
    lemma,
    progressive,
    split_scenes,
)
from dreamrunner_cli.schema import NO_MOTION, Plan, assemble_plan, slug, validate_plan
from dreamrunner_cli.story import parse_story

ROOT = Path(__file__).resolve().parents[1]
STORIES = sorted((ROOT / "examples" / "stories").glob("*.txt"))
EPS = 1e-9


def make_plan(story_path: Path, cfg: PlanConfig | None = None) -> Plan:
    planner = HeuristicPlanner(cfg or PlanConfig())
    outline = planner.outline(parse_story(story_path))
    return assemble_plan(outline, {s.id: planner.layout(outline, s) for s in outline.scenes})


def plan_text(text: str, tmp_path: Path, cfg: PlanConfig | None = None) -> Plan:
    p = tmp_path / "story.txt"
    p.write_text(text, encoding="utf-8")
    return make_plan(p, cfg)


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {p.stem: make_plan(p) for p in STORIES}


def overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


# The example stories ---------------------------------------------------------------------------------------------


def test_example_stories_cover_one_and_two_characters(plans):
    assert "teddy" in plans and len(plans) >= 4
    counts = {name: len(p.characters) for name, p in plans.items()}
    assert sum(1 for c in counts.values() if c == 1) >= 2
    assert sum(1 for c in counts.values() if c == 2) >= 2
    for name, plan in plans.items():
        assert 5 <= len(plan.scenes) <= 8, name


def test_reference_images_exist_and_are_tiny():
    refs = sorted((ROOT / "examples" / "stories" / "refs").rglob("*.png"))
    assert {p.parent.name for p in refs} >= {"teddy", "mia", "rex"}
    assert all(p.stat().st_size < 8_000 for p in refs)
    from PIL import Image

    assert all(Image.open(p).size == (64, 64) for p in refs)


def test_characters_get_workspace_relative_reference_paths(plans):
    teddy = plans["teddy"].character("teddy")
    assert teddy.reference_images == ["refs/teddy/1.png", "refs/teddy/2.png"]
    assert plans["mia_and_rex"].character("rex").reference_images == ["refs/rex/1.png", "refs/rex/2.png"]


@pytest.mark.parametrize("story", STORIES, ids=lambda p: p.stem)
def test_plan_is_valid_and_follows_the_layout_rules(story):
    cfg = PlanConfig()
    plan = make_plan(story, cfg)
    validate_plan(plan.model_dump(mode="json"))  # round trip through the schema and the cross-reference checks
    tokens = {c.id: c.token for c in plan.characters}
    motions = {m.id: m.description for m in plan.motions}
    for m in plan.motions:
        assert m.id == slug(m.description) and m.description.split()[0].endswith("ing"), m
    for scene in plan.scenes:
        assert len(scene.keyframes) == cfg.keyframes
        budget = cfg.max_motions_per_scene_multi if len(scene.characters) > 1 else cfg.max_motions_per_scene
        assert len(set(scene.motions)) <= budget
        # The background never names a character.
        for c in plan.characters:
            for word in {c.id, c.name.lower(), c.description.split()[-1].lower()}:
                assert word not in scene.background.lower().split(), (scene.id, word)
        for kf in scene.keyframes:
            ents = [r.entity for r in kf.regions]
            objects = {o.id for o in plan.objects}
            assert len(ents) == len(set(ents)) and len(ents) <= 5, scene.id  # once each, as many as fit at 0.2
            assert set(scene.characters) <= set(ents) and set(ents) - set(scene.characters) <= objects, scene.id
            for r in kf.regions:
                x0, y0, x1, y1 = r.box
                assert x1 - x0 >= 0.2 - EPS and y1 - y0 >= 0.2 - EPS, (scene.id, r)
                if r.entity in tokens:
                    assert tokens[r.entity] in r.caption
                if r.motion != NO_MOTION:
                    assert r.motion in scene.motions
                    assert f" is {motions[r.motion]}" in r.caption  # present progressive, consistent with motion
            if len(kf.regions) == 1:  # one character: large and centred
                x0, y0, x1, y1 = kf.regions[0].box
                assert x0 < 0.5 < x1 and (x1 - x0) * (y1 - y0) >= 0.25, (scene.id, kf.regions[0].box)
            for i, a in enumerate(kf.regions):  # side by side; overlapping only inside a merged interaction box
                for b in kf.regions[i + 1:]:
                    if overlap(a.box, b.box) > 0:
                        assert any(m.box[0] <= min(a.box[0], b.box[0]) + EPS and m.box[2] >= max(a.box[2], b.box[2])
                                   - EPS for m in kf.merged), (scene.id, a, b)
        for cid in scene.characters:
            track = [next(r for r in kf.regions if r.entity == cid) for kf in scene.keyframes]
            interacting = {f for f, kf in enumerate(scene.keyframes) if kf.merged}
            # Each motion is held for >= 2 key frames, as one run.
            runs: list[list] = []
            for r in track:
                if runs and runs[-1][0] == r.motion:
                    runs[-1][1] += 1
                else:
                    runs.append([r.motion, 1])
            assert all(n >= 2 for _, n in runs), (scene.id, cid, runs)
            assert len({m for m, _ in runs}) == len(runs), (scene.id, cid, runs)
            # Small changes between key frames; larger ones only while travelling (walking, swimming...).
            for f, (a, b) in enumerate(zip(track, track[1:])):
                if {f, f + 1} & interacting:
                    continue  # boxes brought together for an interaction
                delta = max(abs(u - v) for u, v in zip(a.box, b.box))
                travelling = any(categorize(motions.get(r.motion, ""))[1] in TRAVELLING for r in (a, b))
                assert delta <= (0.45 if travelling else 0.26), (scene.id, cid, a.box, b.box)


def test_planner_is_deterministic(tmp_path):
    for story in STORIES:
        a = make_plan(story).model_dump_json()
        b = make_plan(story).model_dump_json()
        assert a == b, story.stem


def test_registered_as_the_builtin_backend():
    planner = get_planner(PlanConfig())
    assert isinstance(planner, HeuristicPlanner)
    assert planner.name == "builtin" and planner.model is None


# What it finds ---------------------------------------------------------------------------------------------------


def test_teddy_scenes_motions_and_captions(plans):
    plan = plans["teddy"]
    s1 = plan.scenes[0]
    assert s1.motions == ["waking-up", "stretching-arms"]  # the paper's own example
    assert s1.location == "cozy bedroom" and s1.background == "A cozy bedroom in the morning."
    first, last = s1.keyframes[0].regions[0], s1.keyframes[-1].regions[0]
    assert first.caption == "A [v1] brown teddy bear is waking up in the cozy bedroom"
    assert list(first.box) == [0.2, 0.0, 0.8, 1.0]
    assert last.motion == "stretching-arms"
    walk = plan.scenes[1]  # "walks into the sunny kitchen ... sits": the static motion gets fewer frames
    track = [kf.regions[0] for kf in walk.keyframes]
    assert [r.motion for r in track] == ["walking"] * 4 + ["sitting"] * 2
    assert track[0].caption.endswith("walking into the sunny kitchen")
    assert track[3].box[0] - track[0].box[0] >= 0.2  # locomotion moves the box
    assert track[4].box[1] > track[3].box[1]  # sitting: a lower box
    garden = [kf.regions[0] for kf in plan.scenes[2].keyframes]  # two dynamic motions share the frames
    assert [r.motion for r in garden] == ["walking"] * 3 + ["watering-the-flowers"] * 3
    assert garden[0].caption.endswith("walking through the garden")


def test_two_character_subjects_and_objects(plans):
    plan = plans["mia_and_rex"]

    def motions_of(scene_index: int, cid: str) -> list[str]:
        scene = plan.scenes[scene_index]
        return list(dict.fromkeys(r.motion for kf in scene.keyframes for r in kf.regions if r.entity == cid))

    assert motions_of(1, "mia") == ["walking"] and motions_of(1, "rex")[0] == "walking"  # "Mia and Rex walk"
    assert motions_of(2, "mia") == ["throwing-a-red-ball"]
    assert motions_of(2, "rex") == ["running", "catching-the-ball"]  # two characters: up to 4 motions (A.1)
    hug = [r for kf in plan.scenes[5].keyframes for r in kf.regions if r.motion == "hugging"]
    assert hug and all(r.entity == "mia" and "hugging the fluffy white dog" in r.caption for r in hug)
    cat = plans["robot_and_cat"]
    last = cat.scenes[-1]  # "Bolt sits beside the cat": the cat is the object, not the subject
    sits = {r.entity for kf in last.keyframes for r in kf.regions if r.motion == "sitting"}
    assert sits == {"bolt"}


def test_main_character_inferred_without_front_matter(plans):
    (luna,) = plans["astronaut"].characters
    assert (luna.id, luna.name, luna.description) == ("luna", "Luna", "a young astronaut in a white spacesuit")
    assert plans["astronaut"].scenes[0].keyframes[0].regions[0].caption.startswith(
        "A [v1] young astronaut in a white spacesuit is floating")
    assert infer_main_character("It rains. The wind blows.").id == "person"


def test_nouns_that_look_like_verbs_are_not_motions(tmp_path):
    text = "Teddy looks at the waves on the beach. The wind blows.\n\nTeddy walks to the sea. He likes a long walk."
    plan = plan_text(text, tmp_path, PlanConfig(min_scenes=1))
    assert [m.id for m in plan.motions] == ["looking", "walking"]


def test_past_tense_story(tmp_path):
    plan = plan_text("Teddy woke up and stretched his arms.\n\nTeddy ran across the park.", tmp_path,
                     PlanConfig(min_scenes=1))
    assert plan.scenes[0].motions == ["waking-up", "stretching-arms"]
    assert plan.scenes[1].motions == ["running"]


@pytest.mark.parametrize("word,base", [("wakes", "wake"), ("stretches", "stretch"), ("ran", "run"), ("lies", "lie"),
                                       ("dancing", "dance"), ("hopped", "hop"), ("carries", "carry"),
                                       ("trots", "trot"), ("leapt", "leap"), ("morning", None), ("toward", None)])
def test_lemma(word, base):
    assert lemma(word) == base


@pytest.mark.parametrize("base,ing", [("run", "running"), ("lie", "lying"), ("dance", "dancing"), ("wake", "waking"),
                                      ("see", "seeing"), ("swim", "swimming"), ("walk", "walking"),
                                      ("trot", "trotting"), ("plate", "plating"), ("panic", "panicking")])
def test_progressive(base, ing):
    assert progressive(base) == ing


# Scenes and settings ---------------------------------------------------------------------------------------------


def test_split_scenes_fits_min_and_max():
    one_paragraph = " ".join(f"Teddy walks to place {i}." for i in range(12))
    scenes = split_scenes(one_paragraph, 5, 8)
    assert 5 <= len(scenes) <= 8 and " ".join(scenes) == one_paragraph
    many = "\n\n".join(f"Teddy sits in room {i}." for i in range(11))
    scenes = split_scenes(many, 5, 8)
    assert len(scenes) == 8 and " ".join(scenes) == " ".join(many.split("\n\n"))
    assert split_scenes("Teddy sits. Teddy sleeps.", 5, 8) == ["Teddy sits.", "Teddy sleeps."]  # never invents


@pytest.mark.parametrize("cfg", [PlanConfig(keyframes=4), PlanConfig(keyframes=8, max_motions_per_scene=4),
                                 PlanConfig(keyframes=1), PlanConfig(min_scenes=6, max_scenes=6)],
                         ids=["k4", "k8-m4", "k1", "six-scenes"])
def test_settings_are_respected(cfg):
    for story in STORIES:
        plan = make_plan(story, cfg)
        assert all(len(s.keyframes) == cfg.keyframes for s in plan.scenes)
        assert all(len(s.motions) <= (cfg.max_motions_per_scene_multi if len(s.characters) > 1
                                      else cfg.max_motions_per_scene) for s in plan.scenes)
        assert cfg.min_scenes <= len(plan.scenes) <= cfg.max_scenes
        if cfg.keyframes >= 2:
            for s in plan.scenes:
                for cid in s.characters:
                    track = [r.motion for kf in s.keyframes for r in kf.regions if r.entity == cid]
                    for m in set(track):
                        assert track.count(m) >= 2


def test_layout_follows_hand_edited_outline(tmp_path):
    """The plan stage may call layout() on an outline the user changed: unknown motions still get frames."""
    planner = HeuristicPlanner(PlanConfig())
    outline = planner.outline(parse_story(STORIES[0]))
    scene = outline.scenes[0]
    from dreamrunner_cli.schema import Motion

    outline = outline.model_copy(update={"motions": outline.motions + [Motion(id="sit-down", description="sitting down")]})
    scene = scene.model_copy(update={"motions": [scene.motions[0], "sit-down"]})
    frames = planner.layout(outline, scene)
    used = [r.motion for kf in frames for r in kf.regions]
    assert set(used) == {scene.motions[0], "sit-down"} and used.count("sit-down") >= 2
    assert json.dumps([k.model_dump(mode="json") for k in frames])  # serialisable


def test_other_character_as_object_is_described_not_tokenised(tmp_path):
    text = ("---\ncharacters:\n  - {id: bolt, name: Bolt, description: a small robot}\n"
            "  - {id: pip, name: Pip, description: a grey cat}\n---\n"
            "Bolt chases the cat around the kitchen. Pip hides under the table.")
    plan = plan_text(text, tmp_path, PlanConfig(min_scenes=1))
    chase = next(r for kf in plan.scenes[0].keyframes for r in kf.regions if r.entity == "bolt")
    assert chase.motion == "chasing"
    assert chase.caption == "A [v1] small robot is chasing the grey cat around the kitchen"
    assert "[v2]" not in chase.caption  # one token per caption: the region binds one character LoRA
