"""`dreamrunner batch` end to end, through the CLI, on a local Ray instance (tiny preset, CPU only, no --gpus).

Two stories share two motions and one story has bad input. While a render runs, its worker process is killed
with a real ``kill -9`` (the pid the batch log names): the item is retried on a restarted worker, every good story
still ends with its clips and story.mp4, each shared motion is trained once, the bad story fails alone with its
error's message, and stdout is exactly one JSON document whatever Ray printed about the dead worker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

# 400 render steps: a scene renders for several seconds, so the kill lands while it runs. The batch log's "started"
# line can come up to about a second after the worker started (the driver drains the workers' reports between
# waits of 1 s); with 2 or 30 steps a tiny scene took 0.4 s and was sometimes finished before the kill.
SETTINGS = ["plan.min_scenes=2", "plan.max_scenes=2", "adapt.steps=2", "adapt.character_steps=2",
            "adapt.checkpoint_every=1", "render.steps=400", "retrieve.max_clips=4"]
STORIES = {
    "ana": "Ana walks through the quiet park in the morning.\n\nIn the garden Ana waves at her neighbour.\n",
    "ben": "Ben walks along the busy street.\n\nAt the station Ben waves goodbye to his friend.\n",
    "dud": "---\ncharacters:\n  - id: dud\n    images: [missing.png]\n---\nDud walks home.\n",
}
STARTED = re.compile(r"started (\S+:render/s0\d) on pid (\d+) \(attempt 1\)")


def _adapt_sources(ws: Path) -> dict[str, str]:
    data = json.loads((ws / "dreamrunner.lock").read_text())
    return {item: rec.get("source") for item, rec in data["stages"].get("adapt", {}).items()}


def _ray_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "ray::" in line or "raylet" in line or "gcs_server" in line]


@pytest.mark.slow  # about two minutes on 2 cores: `make test-slow`
def test_batch_survives_kill_9_of_a_worker_and_keeps_stdout_json(tmp_path):
    stories = tmp_path / "stories"
    stories.mkdir()
    for name, text in STORIES.items():
        (stories / f"{name}.txt").write_text(text)
    out = tmp_path / "out"
    env = {**os.environ, "DREAMRUNNER_CACHE": str(tmp_path / "cache"), "RAY_AUTH_MODE": "disabled",
           "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("DREAMRUNNER_DEBUG", None)
    cmd = [sys.executable, "-m", "dreamrunner_cli", "batch", *sorted(map(str, stories.glob("*.txt"))),
           "--out", str(out), "--preset", "tiny", "--cpus", "2", "--db", "demo", "--skip", "evaluate", "--json"]
    for s in SETTINGS:
        cmd += ["--set", s]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    log = out / "dreamrunner-batch.log"
    killed: tuple[str, int] | None = None
    deadline = time.monotonic() + 600
    try:
        while killed is None and proc.poll() is None and time.monotonic() < deadline:
            match = STARTED.search(log.read_text()) if log.exists() else None
            if match:  # the worker reported the render started: kill it now, mid-render
                os.kill(int(match.group(2)), signal.SIGKILL)
                killed = (match.group(1), int(match.group(2)))
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed, f"no render started: {stderr[-2000:]}"
    result = json.loads(stdout)  # exactly one JSON document: json.loads refuses anything before or after it
    assert proc.returncode == 5, stderr[-2000:]

    # the killed item ran again on a restarted worker, and its story finished
    item, pid = killed
    assert result["items"][item]["ok"] and result["items"][item]["attempts"] == 2, result["items"][item]
    assert result["items"][item]["seconds"] > 1.5  # the window the kill relies on (see SETTINGS)
    text = log.read_text()
    retry = re.search(rf"started {re.escape(item)} on pid (\d+) \(attempt 2\)", text)
    assert retry and int(retry.group(1)) != pid
    assert "Started a local Ray instance" not in stderr and "Started a local Ray instance" in text
    assert result["log"] == str(log)

    statuses = {Path(n).name: s["status"] for n, s in result["stories"].items()}
    assert statuses == {"ana": "finished", "ben": "finished", "dud": "failed"}
    dud = result["stories"][str(out / "dud")]
    assert dud["failed_item"].endswith(":plan") and dud["error"]["exit_code"] == 5
    message = dud["error"]["message"]  # the reason, not only the error's type
    assert "dud.txt" in message and "characters[0]" in message and dud["error"]["error"] == "InputInvalid"
    assert message in stderr

    from dreamrunner_cli.video import probe_video

    sources: dict[str, list[str]] = {}
    for name in ("ana", "ben"):
        ws = out / name
        assert probe_video(ws / "story.mp4").frames > 0
        for adapter, source in _adapt_sources(ws).items():
            if adapter.startswith("motion/"):
                sources.setdefault(adapter, []).append(source)
    assert set(sources) == {"motion/walking", "motion/waving"}
    for adapter, srcs in sources.items():  # trained once, taken from the cache by the two other stories
        assert srcs.count("trained") == 1 and len(srcs) == 2, (adapter, srcs)
    assert not _ray_processes(), _ray_processes()  # the local instance was shut down
