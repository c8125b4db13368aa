"""The built-in planner scored on stories written for this test (tests/planning_eval/), with a hand-written ground
truth of who does what in each sentence. Targets (issue 13): ≥ 90% of the actions on the right entity with the right
verb, and no action given to a wrong entity, neither in what the planner reads nor in plan.json's regions.

The score is printed by `.venv/bin/python -m tests.planning_eval.score` and reported in docs/planning.md.
"""

from __future__ import annotations

import pytest

from tests.planning_eval.score import ground_truth, score_story

TRUTH = ground_truth()


@pytest.fixture(scope="module")
def scores():
    return {name: score_story(name, truth) for name, truth in TRUTH.items()}


def test_the_evaluation_set_is_broad():
    assert len(TRUTH) >= 12
    kinds = {k for t in TRUTH.values() for k in t["entities"].values()}
    assert {"person", "animal", "machine", "vehicle"} <= kinds
    assert any(len(t["entities"]) == 3 for t in TRUTH.values()) and any(len(t["entities"]) == 2 for t in TRUTH.values())
    assert any(not eid.isascii() or any(ord(ch) > 127 for ch in t["sentences"][0][0])
               for t in TRUTH.values() for eid in t["entities"])  # accented names in the stories


def test_every_entity_is_found_with_a_readable_id_and_its_kind(scores):
    problems = {name: s.entity_problems for name, s in scores.items() if s.entity_problems}
    assert not problems


def test_actions_on_the_right_entity(scores):
    expected = sum(s.expected for s in scores.values())
    correct = sum(s.correct for s in scores.values())
    assert correct / expected >= 0.90, {n: s.missed for n, s in scores.items() if s.missed}


def test_no_action_on_a_wrong_entity(scores):
    assert {n: s.wrong for n, s in scores.items() if s.wrong} == {}
    assert {n: s.plan_wrong for n, s in scores.items() if s.plan_wrong} == {}
