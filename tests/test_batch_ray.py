"""`dreamrunner batch` on a local Ray instance with logical GPUs (tiny preset, CPU).

Three stories share two motions: each shared motion is trained once; a GPU worker killed mid-render does not stop
the batch; a story with bad input fails alone; a second batch run skips every item.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from dreamrunner_cli.executors.graph import StoryJob  # noqa: E402
from dreamrunner_cli.executors.ray_batch import RayBatch  # noqa: E402
from dreamrunner_cli.workspace import Workspace  # noqa: E402

SETTINGS = ["plan.min_scenes=2", "plan.max_scenes=2", "adapt.steps=2", "adapt.character_steps=2",
            "adapt.checkpoint_every=1", "render.steps=2", "retrieve.max_clips=4"]
STORIES = {
    "ana": "Ana walks through the quiet park in the morning.\n\nIn the garden Ana waves at her neighbour.\n",
    "ben": "Ben walks along the busy street.\n\nAt the station Ben waves goodbye to his friend.\n",
    "cai": "Cai walks across the sunny beach.\n\nNear the boats Cai waves to a fisherman.\n",
}


@pytest.fixture
def ray_local():
    """A local Ray instance started after the test's own cache folder is set (workers inherit it)."""
    import os

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    from dreamrunner_cli.executors.ray_batch import worker_env

    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": worker_env()})
    yield
    ray.shutdown()


def _jobs(tmp: Path, stories: dict[str, str]) -> list[StoryJob]:
    from dreamrunner_cli.cli.batch import _prepare  # noqa: F401  (resolve + save, as batch does)

    jobs = []
    for name, text in stories.items():
        story = tmp / "stories" / f"{name}.txt"
        story.parent.mkdir(parents=True, exist_ok=True)
        story.write_text(text)
        job = StoryJob(tmp / "out" / name, story)
        _prepare(job, "tiny", SETTINGS)
        jobs.append(job)
    return jobs


def _adapt_records(ws: Path) -> dict[str, str]:
    data = json.loads((ws / "dreamrunner.lock").read_text())
    return {item: rec.get("source") for item, rec in data["stages"].get("adapt", {}).items()}


@pytest.mark.slow  # about a minute on 2 cores: `make test-slow`
def test_batch_shares_motions_survives_a_killed_worker_and_isolates_a_bad_story(tmp_path, ray_local, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    bad = {"dud": "---\ncharacters:\n  - id: dud\n    images: [missing.png]\n---\nDud walks home.\n"}
    jobs = _jobs(tmp_path, {**STORIES, **bad})
    killed: list[str] = []

    def kill_first_render(item, actor):
        if item.stage == "render" and actor is not None and not killed:
            killed.append(item.id)
            threading.Timer(0.3, lambda: ray.kill(actor, no_restart=False)).start()

    result = RayBatch(jobs, workers=2, on_dispatch=kill_first_render).run()
    stories = result.stories
    assert {n: s["status"] for n, s in stories.items()} == {
        str(j.workspace): ("failed" if j.workspace.name == "dud" else "finished") for j in jobs}
    dud = stories[str(tmp_path / "out" / "dud")]
    assert dud["failed_item"].endswith(":plan") and dud["error"]["exit_code"] == 5
    assert result.exit_code() == 5 and not result.ok
    assert killed  # a worker really was killed mid-render …
    from dreamrunner_cli.video import probe_video

    for j in jobs[:3]:  # … and every good story still has valid clips and its story.mp4
        ws = Workspace(j.workspace)
        assert probe_video(ws.story_video).frames > 0
    # each shared motion trained once across the three stories, the others took it from the cache
    sources: dict[str, list[str]] = {}
    for j in jobs[:3]:
        for item, source in _adapt_records(j.workspace).items():
            if item.startswith("motion/"):
                sources.setdefault(item, []).append(source)
    assert set(sources) == {"motion/walking", "motion/waving"}
    for item, srcs in sources.items():
        assert sorted(srcs).count("trained") == 1 and len(srcs) == 3, (item, srcs)

    # a second run skips every item of the good stories
    again = RayBatch(jobs[:3], workers=2).run()
    assert again.ok
    actions = [it["action"] for r in again.items.values() for it in r.get("items", [])]
    assert actions and set(actions) == {"skipped"}
