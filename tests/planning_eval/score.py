"""Score the built-in planner against the hand-written ground truth of this folder (see ground_truth.json).

    .venv/bin/python -m tests.planning_eval.score          # a table per story, then the totals

Two measures, both per sentence (scene splitting cannot hide a mistake):
- extraction: the actions the planner reads from the story — (entity, verb lemma) pairs — against the ground truth:
  ``correct`` (right entity, right verb), ``wrong`` (an action the ground truth does not give that entity: another
  entity's action, or a thing's action such as "the kite rises" given to a character).
- plan: every region of plan.json with a motion, checked against its scene's ground truth (``plan_wrong``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class StoryScore:
    name: str
    expected: int = 0
    correct: int = 0
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    plan_regions: int = 0
    plan_wrong: list[str] = field(default_factory=list)
    entity_problems: list[str] = field(default_factory=list)


def ground_truth() -> dict:
    data = json.loads((HERE / "ground_truth.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def score_story(name: str, truth: dict) -> StoryScore:
    from dreamrunner_cli.config import PlanConfig
    from dreamrunner_cli.planning.heuristic import (
        HeuristicPlanner,
        analyse_story,
        discover_entities,
        lemma,
        sentences,
        split_scenes,
    )
    from dreamrunner_cli.schema import assemble_plan
    from dreamrunner_cli.story import parse_story

    cfg = PlanConfig()
    story = parse_story(HERE / f"{name}.txt")
    out = StoryScore(name)
    # 1. Extraction, sentence by sentence.
    texts = split_scenes(story.text, cfg.min_scenes, cfg.max_scenes)
    planner = HeuristicPlanner(cfg)
    outline = planner.outline(story)
    reg = discover_entities(texts, [])
    analyses = analyse_story(texts, reg)
    flat: list[tuple[int, int, str]] = []  # (scene, sentence in scene, text)
    for si, t in enumerate(texts):
        flat += [(si, k, s) for k, s in enumerate(sentences(t))]
    rows = truth["sentences"]
    if len(rows) != len(flat):
        raise AssertionError(f"{name}: ground truth has {len(rows)} sentences, the story {len(flat)}")
    scene_truth: dict[int, set[tuple[str, str]]] = {}
    for (si, k, text), (prefix, actions) in zip(flat, rows):
        if not text.startswith(prefix):
            raise AssertionError(f"{name}: sentence {text[:40]!r} does not start with {prefix!r}")
        expected = {(e, v) for e, v in actions}
        scene_truth.setdefault(si, set()).update(expected)
        found = {(w, ev.base) for ev in analyses[si].events if ev.sentence == k for w in ev.who}
        out.expected += len(expected)
        out.correct += len(expected & found)
        out.wrong += [f"{prefix!r}: {e} {v}" for e, v in sorted(found - expected)]
        out.missed += [f"{prefix!r}: {e} {v}" for e, v in sorted(expected - found)]
    # 2. The entities: every expected one found with its id and kind.
    for eid, kind in truth["entities"].items():
        e = reg.by_id.get(eid)
        if e is None:
            out.entity_problems.append(f"{eid}: not found (found {sorted(reg.by_id)})")
        elif e.kind != kind:
            out.entity_problems.append(f"{eid}: kind {e.kind}, expected {kind}")
    # 3. The plan: every region with a motion is an action of the ground truth of its scene.
    plan = assemble_plan(outline, {s.id: planner.layout(outline, s) for s in outline.scenes})
    motions = {m.id: m.description for m in plan.motions}
    for si, scene in enumerate(plan.scenes):
        for kf in scene.keyframes:
            for r in kf.regions:
                if r.motion == "none":
                    continue
                out.plan_regions += 1
                verb = lemma(motions[r.motion].split()[0]) or motions[r.motion].split()[0]
                if (r.entity, verb) not in scene_truth.get(si, set()):
                    out.plan_wrong.append(f"{scene.id}: {r.entity} {motions[r.motion]}")
    return out


def score_all() -> list[StoryScore]:
    return [score_story(name, truth) for name, truth in ground_truth().items()]


def main() -> None:
    scores = score_all()
    for s in scores:
        print(f"{s.name:16s} {s.correct:3d}/{s.expected:<3d} wrong {len(s.wrong)}  plan wrong "
              f"{len(s.plan_wrong)}/{s.plan_regions}")
        for line in s.entity_problems + [f"WRONG {w}" for w in s.wrong] + [f"missed {m}" for m in s.missed] + [
                f"PLAN {p}" for p in sorted(set(s.plan_wrong))]:
            print("    " + line)
    exp = sum(s.expected for s in scores)
    cor = sum(s.correct for s in scores)
    print(f"total: {cor}/{exp} = {cor / exp:.1%} right entity and verb; {sum(len(s.wrong) for s in scores)} wrong; "
          f"plan: {sum(len(s.plan_wrong) for s in scores)} wrong of {sum(s.plan_regions for s in scores)} regions")


if __name__ == "__main__":
    main()
