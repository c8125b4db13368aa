"""Commands run as a background job on a real terminal (issue 22, item 4), through tests/pty_harness.py.

Was: ``dreamrunner render WS &`` (and ``run``, and ``batch``: its Ray worker's ffmpeg) stopped at the stitch step:
ffmpeg, started with the terminal as its stdin and without ``-nostdin``, sets the terminal's modes, and a process of
a background job that does that is stopped (SIGTTOU, state T). The batch table showed a rising ETA on a job that
had stopped.

Each test runs the real console command in ``bash -i`` as ``cmd &`` then ``wait``, and checks what a user would see:
the job ends by itself with exit 0, nothing in its session is stopped. The old behaviour is planted back (a
``sitecustomize.py`` that starts each ffmpeg the old way: the terminal as stdin, no ``-nostdin``), and the same
command is then seen to stop, so these tests would have caught the bug.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

import pty_harness
from dreamrunner_cli.video import read_video

pytestmark = pytest.mark.skipif(pty_harness.available() is not None, reason=str(pty_harness.available()))
FULL = os.environ.get("DREAMRUNNER_RELIABILITY") == "1"
STORY = "Ana walks through the quiet park.\n\nIn the garden Ana waves at her neighbour.\n"
SETTINGS = ["plan.min_scenes=2", "plan.max_scenes=2", "render.steps=2", "render.require_adapters=false"]
DREAMRUNNER = [sys.executable, "-m", "dreamrunner_cli"]
# ffmpeg started as dreamrunner started it before issue 22 (the terminal as stdin, no -nostdin, the caller's
# process group), for every ffmpeg that does not read frames from a pipe: the joins and checks.
PLANTED = """
import os
import subprocess

if os.environ.get("DREAMRUNNER_PLANTED_BUG") == "ffmpeg-reads-terminal":
    _init = subprocess.Popen.__init__

    def _the_old_way(self, args, *a, **k):
        if os.path.basename(str(args[0])).startswith("ffmpeg") and k.get("stdin") == subprocess.DEVNULL:
            args = [x for x in args if x != "-nostdin"]
            k["stdin"] = None
            k.pop("process_group", None)
        return _init(self, args, *a, **k)

    subprocess.Popen.__init__ = _the_old_way
"""


def settings() -> list[str]:
    return [x for s in SETTINGS for x in ("--set", s)]


def env_with(tmp: Path, planted: bool = False) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", DREAMRUNNER_CACHE=str(tmp / "cache"))  # (module fixtures too)
    env.pop("DREAMRUNNER_DEBUG", None)
    if planted:
        folder = tmp / "planted"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sitecustomize.py").write_text(PLANTED)
        env.update(PYTHONPATH=str(folder), DREAMRUNNER_PLANTED_BUG="ffmpeg-reads-terminal")
    return env


def count_frames(path: Path) -> int:
    return len(read_video(path)[0])


def finished(res: pty_harness.JobResult) -> bool:
    return res.status == 0 and not res.stopped and not res.stopped_processes


def show(capsys, what: str, res: pty_harness.JobResult) -> None:
    """The pty trial's figures, printed by `make reliability`."""
    if FULL:
        with capsys.disabled():
            print(f"\npty trial, {what}: {res.summary()}")


def test_the_harness_sees_a_background_job_stop_on_the_terminal():
    """The harness itself: ffmpeg without -nostdin sets the terminal's modes (SIGTTOU), ``cat`` reads it (SIGTTIN);
    with -nostdin ffmpeg ends. Under a second each."""
    import imageio_ffmpeg

    ff = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
          "color=c=red:s=32x32:d=0.2", "-f", "null", "-"]
    old = pty_harness.run_background(ff, timeout=20)
    assert old.stopped and old.stop_signal == "SIGTTOU" and "Stopped" in old.screen, old.describe()
    assert pty_harness.run_background(["cat"], timeout=20).stop_signal == "SIGTTIN"
    new = pty_harness.run_background(ff[:1] + ["-nostdin"] + ff[1:], timeout=20)
    assert finished(new), new.describe()


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> tuple[Path, pty_harness.JobResult]:
    """``dreamrunner run STORY --preset tiny`` (plan, render with the stitch, evaluate) as a background job."""
    root = tmp_path_factory.mktemp("pty-run")
    (root / "ana.txt").write_text(STORY)
    ws = root / "ws"
    argv = DREAMRUNNER + ["run", str(root / "ana.txt"), "--workspace", str(ws), "--preset", "tiny", "--skip",
                          "retrieve", "--skip", "adapt", *settings()]
    return ws, pty_harness.run_background(argv, env=env_with(root), timeout=240)


@pytest.mark.slow  # a whole tiny run as a background job: ~18 s (make test stays near 5 minutes; .ci/run runs it: make test-ci-slow)
def test_run_on_the_tiny_preset_finishes_as_a_background_job(ran, capsys):
    ws, res = ran
    show(capsys, "run --preset tiny", res)
    assert finished(res), res.describe()
    assert "render: stitch story.mp4" in res.screen and "report:" in res.screen
    assert count_frames(ws / "story.mp4") > 0 and (ws / "eval" / "metrics.json").exists()


@pytest.mark.slow  # shares that run (make test stays near 5 minutes; .ci/run runs it: make test-ci-slow)
def test_render_finishes_as_a_background_job_where_the_old_ffmpeg_call_stopped(ran, tmp_path, capsys):
    """Only the stitch must run (story.mp4 deleted). Planted old ffmpeg call: the job is stopped (SIGTTOU) at the
    stitch and story.mp4 is never written. Today: exit 0 and a story.mp4 of every clip's frames."""
    ws = tmp_path / "ws"
    shutil.copytree(ran[0], ws)
    (ws / "story.mp4").unlink(missing_ok=True)
    old = pty_harness.run_background(DREAMRUNNER + ["render", str(ws)], env=env_with(tmp_path, planted=True),
                                     timeout=120)
    show(capsys, "render (stitch), the old ffmpeg call planted", old)
    assert old.stopped and old.stop_signal == "SIGTTOU", old.describe()
    assert "stitch story.mp4" in old.screen and not (ws / "story.mp4").exists()
    new = pty_harness.run_background(DREAMRUNNER + ["render", str(ws)], env=env_with(tmp_path), timeout=120)
    show(capsys, "render (stitch)", new)
    assert finished(new), new.describe()
    assert "ran       render story: output story.mp4 missing" in new.screen
    assert count_frames(ws / "story.mp4") == sum(count_frames(ws / "renders" / f"s0{i}.mp4") for i in (1, 2))


def test_plan_with_an_llm_server_finishes_as_a_background_job(tmp_path, capsys):
    """``plan --llm openai`` against the local fake server (tests/llm_server.py), every request answered."""
    from llm_server import ScriptedLLMServer, plan_responder

    (tmp_path / "ana.txt").write_text(STORY)
    srv = ScriptedLLMServer(responder=plan_responder).start()
    try:
        argv = DREAMRUNNER + ["plan", str(tmp_path / "ana.txt"), "--workspace", str(tmp_path / "ws"), "--preset",
                              "tiny", "--llm", "openai", "--llm-base-url", srv.url, "--llm-model", "M", *settings()]
        res = pty_harness.run_background(argv, env=dict(env_with(tmp_path), OPENAI_API_KEY="sk-test"), timeout=120)
    finally:
        srv.stop()
    show(capsys, "plan --llm openai", res)
    assert finished(res), res.describe()
    plan = json.loads((tmp_path / "ws" / "plan.json").read_text())
    assert len(plan["scenes"]) == 2 and len(srv.requests) == 3  # the outline, then one layout per scene


@pytest.mark.slow  # Ray starts in ~15 s, twice: `make test-slow`, `make reliability`
def test_batch_finishes_as_a_background_job_where_the_old_ffmpeg_call_stopped_its_worker(tmp_path, capsys):
    """The batch driver waits on a Ray worker (its own process group) whose ffmpeg stitches story.mp4. Planted old
    call: that ffmpeg and its worker are stopped, the driver waits forever (the harness ends the trial). Today:
    the batch ends with exit 0 and the story's story.mp4."""
    pytest.importorskip("ray")
    (tmp_path / "ana.txt").write_text(STORY)
    for planted in (True, False):
        out = tmp_path / ("old" if planted else "new")
        argv = DREAMRUNNER + ["batch", str(tmp_path / "ana.txt"), "--out", str(out), "--preset", "tiny", "--gpus",
                              "1", "--cpus", "2", "--skip", "retrieve", "--skip", "adapt", "--skip", "evaluate",
                              *settings()]
        env = dict(env_with(tmp_path, planted), RAY_AUTH_MODE="disabled")
        res = pty_harness.run_background(argv, env=env, timeout=300)
        show(capsys, "batch" + (", the old ffmpeg call planted" if planted else ""), res)
        if planted:
            assert res.stopped and any("ffmpeg" in p for p in res.stopped_processes), res.describe()
            assert not (out / "ana" / "story.mp4").exists()
        else:
            assert finished(res), res.describe()
            assert count_frames(out / "ana" / "story.mp4") > 0
