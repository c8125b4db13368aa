"""Progress, round two (issue 25, item 11): no bar for work without a count, render's overall scenes bar with its
ETA, evaluate's story in sub-steps, `index demo` progress, and the LLM planner's token line printed for every reply
whatever the machine's speed, with the real load time."""

from __future__ import annotations

import functools
import re
import sys
import textwrap
import time

import pytest
from evaluate_fixtures import ColourClip, ColourVideoText, PixelEncoder
from test_progress import clock, in_order, invoke, piped, progress_lines, tty_console  # noqa: F401 - fixtures
from test_stages_unit_evaluate import fakes, short_ws
from test_evaluate import tiny_cfg

from dreamrunner_cli import progress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
BAR = "━"


# The helper ---------------------------------------------------------------------------------------------------------


def test_on_a_terminal_work_without_a_count_draws_no_bar(monkeypatch):
    """rich draws a task without a total as a pulsing bar: once the colours are gone (a screen dump, a terminal
    without colours) it is a full bar, as if the work were done. A phase shows its spinner and time only."""
    out = tty_console(monkeypatch)
    rep = progress.reporter(True, "render")
    rep.phase("load model", "tiny")
    rep.bar("scene 1/1 s01 denoise", total=4).update(2)
    rep.bar("read", total=None).update(7)  # a count without a total: no bar either
    rep._live.refresh()
    frame = [ANSI.sub("", ln) for ln in out.getvalue().splitlines()]
    rows = {key: [ln for ln in frame if key in ln] for key in ("load model", "denoise", "render: read")}
    assert all(rows.values()), frame
    assert not any(BAR in ln for ln in rows["load model"] + rows["render: read"]), rows
    assert any(BAR in ln for ln in rows["denoise"]) and "2/4" in rows["denoise"][-1]
    rep.close()


def test_an_every_step_bar_logs_each_step_with_its_eta(piped, clock):
    with progress.reporter(True, "render") as rep, rep.bar("scenes rendered", total=3, every=True) as bar:
        for _ in range(3):
            clock.t += 20.0  # a scene: well under THROTTLE_S would hide nothing here either
            bar.advance()
    assert piped().splitlines() == ["render: scenes rendered 0/3 (0.0 s)",
                                    "render: scenes rendered 1/3 (20.0 s, ETA 40.0 s)",
                                    "render: scenes rendered 2/3 (40.0 s, ETA 20.0 s)",
                                    "render: scenes rendered 3/3 (1 min 00 s)"]


def test_a_status_held_back_by_the_throttle_is_printed_before_the_next_line(piped, clock):
    rep = progress.reporter(True, "plan")
    rep.status("plan outline: asking")
    clock.t += 3
    rep.status("plan outline: 12 tokens, 3 s")  # within THROTTLE_S of the first: held
    rep.line("plan outline: reply 1, 12 tokens in 3.1 s: valid")
    rep.status("plan s01: asking")
    clock.t += 1
    rep.status("plan s01: 40 tokens, 1 s")
    rep.close()  # the stage ends (or fails) with a status held: still printed
    assert piped().splitlines() == ["plan outline: asking", "plan outline: 12 tokens, 3 s",
                                    "plan outline: reply 1, 12 tokens in 3.1 s: valid", "plan s01: asking",
                                    "plan s01: 40 tokens, 1 s"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminal harness: Linux only")
def test_a_phase_on_a_real_terminal_shows_a_spinner_and_its_time_not_a_bar(tmp_path):
    import pty_harness

    if pty_harness.available():
        pytest.skip(pty_harness.available())
    script = tmp_path / "phase.py"
    script.write_text(textwrap.dedent("""
        import time
        from dreamrunner_cli import progress
        with progress.reporter(True, "demo") as rep:
            with rep.phase("load model", "tiny"):
                time.sleep(1.2)
            with rep.bar("steps", total=4) as bar:
                for _ in range(4):
                    time.sleep(0.3)
                    bar.advance()
    """), encoding="utf-8")
    import os

    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    res = pty_harness.run_background([sys.executable, str(script)], env=env, timeout=60)
    assert res.status == 0, res.describe()
    # The harness drops escape sequences, so the live display's frames run together: split them at the spinner.
    rows = re.split(r"[\u2800-\u28ff]|\n", res.screen)
    phase_rows = [ln for ln in rows if "load model tiny" in ln]
    step_rows = [ln for ln in rows if "demo: steps" in ln]
    assert phase_rows and not any(BAR in ln for ln in phase_rows), res.screen[-3000:]
    assert any(BAR in ln for ln in step_rows), res.screen[-3000:]  # a count still has its bar
    assert "demo: load model tiny … 1." in res.screen  # the line it leaves, with its time


# The stages ---------------------------------------------------------------------------------------------------------


def test_evaluate_shows_the_story_in_steps(tmp_path, monkeypatch, capsys):
    from dreamrunner_cli.models import dino, scorers
    from dreamrunner_cli.stages import evaluate as stage

    ws, _ = short_ws(tmp_path)
    stage.run(ws, tiny_cfg(), encoders=fakes(), progress=False)
    (ws.eval_dir / "metrics.json").unlink()  # only the story re-runs: its frames are not decoded yet this run
    monkeypatch.setattr(scorers, "load_clip_scorer", lambda *a, **k: ColourClip())
    monkeypatch.setattr(dino, "load_dino", lambda *a, **k: PixelEncoder())
    monkeypatch.setattr(scorers, "load_video_text_scorer", lambda *a, **k: ColourVideoText())
    capsys.readouterr()
    stage.run(ws, tiny_cfg(), progress=True)
    err = re.sub(r"\d+\.\d s", "T", capsys.readouterr().err).splitlines()
    assert err == ["evaluate: story: first and last frames 0/2 (T)", "evaluate: story: first and last frames 2/2 (T)",
                   "evaluate: story: load DINO tiny … T", "evaluate: story: metrics and cuts between scenes … T",
                   "evaluate: story: report.html … T"]


def test_index_demo_shows_its_progress(tmp_path, monkeypatch):
    from dreamrunner_cli.retrieval import demo

    # two motions, one clip each, not ~250 clips (the command's own code path otherwise)
    monkeypatch.setattr(demo, "build_demo_database",
                        functools.partial(demo.build_demo_database, motions=("walking", "waving"), extras=False))
    res = invoke("index", "demo", tmp_path / "db", "--clips-per-motion", "1")
    lines = progress_lines(res.stderr, "index demo")
    in_order(lines, r"^index demo: write videos 0/2 \(", r"^index demo: write videos 2/2 \([\d.]+ s\)$",
             r"^index demo: read captions ", r"^index demo: BM25 weights \(2 rows")
    assert "write videos" not in res.stdout
    assert invoke("index", "demo", tmp_path / "db2", "--clips-per-motion", "1", "--quiet").stderr == ""


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory):
    from llm_server import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat"))


def test_the_llm_token_line_is_printed_for_a_fast_reply_off_a_terminal(tmp_path, tiny_chat):
    """The tiny model answers in well under PROGRESS_EVERY_S (1 s) and THROTTLE_S (10 s): the reply's token line is
    still in the log (`make llm-smoke` checks the same with a real model, whatever the machine's speed)."""
    from dreamrunner_cli.errors import PlanInvalid

    model = tiny_chat
    res = invoke("plan", "examples/stories/teddy.txt", "--workspace", tmp_path / "ws", "--llm", "transformers",
                 "--llm-model", model, "--set", "plan.llm_device=cpu", "--set", "plan.max_tokens=12", "--set",
                 "plan.repair_attempts=0", "--set", "plan.llm_cache=false", code=PlanInvalid.exit_code)
    err = res.stderr
    assert re.search(r"^plan outline: 12 tokens, \d+ s \([\d.]+ tokens/s", err, re.M), err
    assert err.index("plan outline: 12 tokens,") < err.index("plan outline: reply 1, 12 tokens in")


def test_the_model_load_time_is_the_real_one(monkeypatch, tiny_chat):
    """"model loaded on cpu in 0.0 s" for a model just read from disk was wrong: the time covers the real load."""
    import transformers

    from dreamrunner_cli.config import PlanConfig
    from dreamrunner_cli.planning import get_planner

    model = tiny_chat
    real = transformers.AutoModelForCausalLM.from_pretrained

    def slow(*a, **k):  # a model read from a slow disk
        time.sleep(0.4)
        return real(*a, **k)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", slow)
    planner = get_planner(PlanConfig(llm="transformers", llm_model=str(model), llm_device="cpu"))
    said: list[str] = []
    planner.report_to(lambda line, transient: said.append(line))
    planner.backend._load()
    loaded = [s for s in said if "model loaded on cpu in" in s]
    assert len(loaded) == 1 and float(re.search(r"in ([\d.]+) s", loaded[0]).group(1)) >= 0.4, said
