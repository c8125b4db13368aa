"""The batch scheduling policy and its cluster-scale simulation (no Ray needed)."""

from __future__ import annotations

import pytest

from dreamrunner_cli.executors.schedule import Task, priorities, shell_loop, simulate, synthetic_batch, \
    with_model_loads


def test_priorities_are_longest_paths_to_the_end():
    tasks = [Task("a", 1, False), Task("b", 5, True, ["a"]), Task("c", 2, True, ["a"]), Task("d", 1, True, ["b", "c"])]
    assert priorities(tasks) == {"a": 7, "b": 6, "c": 3, "d": 1}
    with pytest.raises(ValueError):
        priorities([Task("x", 1, True, ["y"]), Task("y", 1, True, ["x"])])


def test_simulation_respects_dependencies_slots_and_one_item_per_story():
    # two stories, one GPU: everything serial, so the makespan is the total work
    tasks = [Task("s1:a", 2, True, story="s1"), Task("s1:b", 3, True, ["s1:a"], "s1"),
             Task("s2:a", 4, True, story="s2")]
    assert simulate(tasks, gpus=1).makespan == 9
    # two GPUs: s2 runs beside s1's chain; two items of one story never overlap
    assert simulate(tasks, gpus=2).makespan == 5
    same_story = [Task("x", 2, True, story="s"), Task("y", 2, True, story="s")]
    assert simulate(same_story, gpus=2).makespan == 4
    assert simulate(same_story, gpus=2, one_per_story=False).makespan == 2


def test_fifty_stories_on_eight_gpus_meet_the_targets_and_beat_the_shell_loop():
    tasks = synthetic_batch(50, seed=0)
    trained = [t for t in tasks if "adapt/motion" in t.id and t.seconds > 1]
    assert len({t.id.rsplit("/", 1)[1] for t in trained}) == len(trained)  # each shared motion trained once
    ours = simulate(with_model_loads(tasks, 8), gpus=8)
    assert ours.ratio <= 1.15 and ours.utilisation >= 0.85
    loop = shell_loop(tasks)
    assert loop.makespan > 5 * ours.makespan
