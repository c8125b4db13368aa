"""Progress on stderr (issue 15): one helper (progress.py) for every stage: phases, bars with elapsed and ETA, plain
throttled lines when stderr is not a terminal, nothing with --quiet / --json, stdout left clean."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dreamrunner_cli import progress
from dreamrunner_cli.cli import app

runner = CliRunner()
ANSI = re.compile(r"\x1b\[|\r")


def invoke(*args, code: int = 0):
    res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def progress_lines(text: str, stage: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{stage}: ")]


def in_order(lines: list[str], *patterns: str) -> None:
    """Each pattern matches a line after the one the previous pattern matched."""
    at = 0
    for pat in patterns:
        hits = [i for i in range(at, len(lines)) if re.search(pat, lines[i])]
        assert hits, f"{pat!r} not found after line {at} in:\n" + "\n".join(lines)
        at = hits[0] + 1


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(progress, "_clock", c)
    return c


@pytest.fixture
def piped(monkeypatch, capsys):
    """stderr is a pipe (capsys), $COLUMNS unset (as under `2>log`); returns what was written to stderr."""
    monkeypatch.delenv("COLUMNS", raising=False)
    return lambda: capsys.readouterr().err


# The helper --------------------------------------------------------------------------------------------------------


def test_not_a_terminal_phases_and_bars_are_plain_lines_with_elapsed_and_eta(piped, clock, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # a CI that forces colour still gets no codes and no animation
    with progress.reporter(True, "render") as rep:
        with rep.phase("load model", "tiny"):
            clock.t += 3.2
        with rep.bar("scene 2/6 s02 denoise", total=50) as bar:
            clock.t += 12.3
            bar.update(25)  # at most every THROTTLE_S (10 s): printed, with the ETA at the rate so far
            clock.t += 12.0
            bar.update(50)  # the last count is printed once, by the end of the bar
        rep.line("retrieve walking: 4 clips kept")
    assert piped().splitlines() == [
        "render: load model tiny … 3.2 s",
        "render: scene 2/6 s02 denoise 0/50 (0.0 s)",
        "render: scene 2/6 s02 denoise 25/50 (12.3 s, ETA 12.3 s)",
        "render: scene 2/6 s02 denoise 50/50 (24.3 s)",
        "retrieve walking: 4 clips kept",
    ]


def test_bar_lines_are_throttled(piped, clock, monkeypatch):
    monkeypatch.setattr(progress, "THROTTLE_S", 10.0)
    with progress.reporter(True, "adapt") as rep, rep.bar("train", total=100) as bar:
        for _ in range(99):
            clock.t += 0.5  # 99 updates over 49.5 s: a line at 10, 20, 30, 40 s
            bar.advance()
        bar.update(note="loss 0.1234")
        bar.advance()
    lines = piped().splitlines()
    assert [re.sub(r" \(.*", "", line) for line in lines] == [
        "adapt: train 0/100", "adapt: train 20/100", "adapt: train 40/100", "adapt: train 60/100",
        "adapt: train 80/100", "adapt: train 100/100 loss 0.1234"]
    assert lines[-1].endswith("(49.5 s)")
    monkeypatch.setattr(progress, "THROTTLE_S", 0.0)  # patched to 0: every update prints
    with progress.reporter(True, "adapt") as rep, rep.bar("train", total=3) as bar:
        for _ in range(3):
            clock.t += 1
            bar.advance()
    assert len(piped().splitlines()) == 1 + 2 + 1  # start, 1/3, 2/3, then 3/3 once (by the end)


def test_a_failed_phase_says_it_stopped_and_status_lines_are_throttled(piped, clock):
    with pytest.raises(KeyError), progress.reporter(True, "render") as rep, rep.phase("VAE decode"):
        clock.t += 1.5
        raise KeyError("x")
    assert piped() == "render: VAE decode … stopped after 1.5 s\n"
    rep = progress.reporter(True, "plan")
    rep.status("plan outline: 10 tokens")
    clock.t += 1
    rep.status("plan outline: 20 tokens")  # within THROTTLE_S: not printed
    clock.t += progress.THROTTLE_S
    rep.status("plan outline: 90 tokens")
    rep.line("plan outline: reply 1")
    assert piped().splitlines() == ["plan outline: 10 tokens", "plan outline: 90 tokens", "plan outline: reply 1"]


def test_disabled_prints_nothing(piped):
    with progress.reporter(False, "render") as rep:
        with rep.phase("load model"):
            pass
        with rep.bar("denoise", total=3) as bar:
            bar.advance()
        rep.line("a line")
        rep.status("a status")
        rep.phase("never ended")
    assert piped() == ""


def test_long_lines_in_a_pipe_are_never_wrapped(piped):
    long = "scene s01 " + "walking-through-the-sunny-kitchen " * 8 + "END"
    with progress.reporter(True, "render") as rep:
        with rep.phase(long):
            pass
        with rep.bar(long, total=1) as bar:
            bar.advance()
    lines = piped().splitlines()
    assert len(lines) == 3 and all(long in line for line in lines)


def tty_console(monkeypatch):
    """The output console on a (fake) terminal, 100 columns wide; returns the buffer it writes to."""
    from rich.console import Console

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    monkeypatch.setattr("dreamrunner_cli.output.console",
                        lambda stderr=False: Console(file=out, force_terminal=True, width=100))
    return out


def test_on_a_terminal_it_is_rich_live_display_and_finished_work_stays_as_a_line(monkeypatch):
    out = tty_console(monkeypatch)
    with progress.reporter(True, "render") as rep:
        with rep.phase("load model", "tiny"):
            pass
        with rep.bar("scene 1/1 s01 denoise", total=2) as bar:
            bar.advance(2)
    text = out.getvalue()
    assert "\x1b[" in text  # the live display (spinner, bar) draws with escape codes
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    assert "render: load model tiny … " in plain and "render: scene 1/1 s01 denoise 2/2 (" in plain


def test_durations():
    assert [progress.duration(s) for s in (0.04, 3.21, 59.9, 61, 3725)] == \
        ["0.0 s", "3.2 s", "59.9 s", "1 min 01 s", "1 h 02 min"]


# The stages, through the CLI ---------------------------------------------------------------------------------------


def test_render_shows_its_phases_in_order_on_stderr_only(ws):
    plan = json.loads((ws / "plan.json").read_text(encoding="utf-8"))
    plan["scenes"] = plan["scenes"][:2]  # a hand edit: two scenes render faster than six
    (ws / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    res = invoke("render", ws)
    lines = progress_lines(res.stderr, "render")
    assert not ANSI.search(res.stderr)
    in_order(lines, r"^render: load model tiny … [\d.]+ s$", r"^render: scenes rendered 0/2 \(",
             r"^render: scene 1/2 s01 encode prompts … ", r"^render: scene 1/2 s01 denoise 0/3 ",
             r"^render: scene 1/2 s01 denoise 3/3 \([\d.]+ s\)$", r"^render: scene 1/2 s01 VAE decode … ",
             r"^render: scene 1/2 s01 encode mp4 … ", r"^render: scenes rendered 1/2 \([\d.]+ s, ETA [\d.]+ s\)$",
             r"^render: scene 2/2 s02 encode prompts … ",
             r"^render: scene 2/2 s02 denoise 3/3 ", r"^render: scene 2/2 s02 VAE decode … ",
             r"^render: scene 2/2 s02 encode mp4 … ", r"^render: scenes rendered 2/2 \([\d.]+ s\)$",
             r"^render: stitch story\.mp4 \(2 scenes\) … ")
    assert len(lines) == 1 + 2 * 5 + 3 + 1  # load, 5 per scene, the overall scenes bar's 3 lines, stitch
    assert not progress_lines(res.stdout, "render") and "denoise" not in res.stdout  # stdout: the results only
    # --json: stdout is one JSON object and stderr has no progress (--quiet passes the same progress=False; it is
    # checked on retrieve and index build, where a run costs less).
    res = invoke("render", ws, "--scene", "s01", "--force", "--json")
    assert json.loads(res.stdout)["stage"] == "render" and res.stderr == ""


@pytest.fixture
def small_db(tmp_path_factory) -> Path:
    from dreamrunner_cli.retrieval.demo import build_demo_database

    root = tmp_path_factory.mktemp("db")
    build_demo_database(root, motions=("walking",), clips_per_motion=2, extras=False)
    return root


def test_retrieve_shows_loading_then_a_bar_over_motions(tmp_path, small_db):
    from retrieval_fixtures import write_plan

    ws = tmp_path / "ws"
    write_plan(ws, {"walking": "walking"})
    res = invoke("retrieve", ws, "--db", small_db, "--preset", "tiny")
    lines = [line for line in res.stderr.splitlines() if line.startswith("retrieve")]
    assert not ANSI.search(res.stderr)
    in_order(lines, r"^retrieve: open index .* … [\d.]+ s$", r"^retrieve: load scorers tiny … ",
             r"^retrieve: motions 0/1 ", r"^retrieve: motion 1/1 walking score windows 0/\d+ ",
             r"^retrieve: motion 1/1 walking score windows (\d+)/\1 \(",
             r"^retrieve: motion 1/1 walking cut \d clips … ",
             r"^retrieve walking: \d+ candidates, \d+ windows scored, \d+ clips kept$",
             r"^retrieve: motions 1/1 \([\d.]+ s\)$")
    assert "retrieve" not in res.stdout.replace("ran       retrieve walking", "")
    res = invoke("retrieve", ws, "--db", small_db, "--preset", "tiny", "--force", "--json")
    assert json.loads(res.stdout)["stage"] == "retrieve" and "retrieve" not in res.stderr
    res = invoke("retrieve", ws, "--db", small_db, "--preset", "tiny", "--force", "--quiet")
    assert res.stderr == ""


def test_index_build_shows_a_bar_over_the_caption_file(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    rows = [{"path": f"v{i}.mp4", "caption": f"a person is walking {i}"} for i in range(300)]
    (db / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = invoke("index", "build", db, "--captions", "captions.jsonl")
    lines = progress_lines(res.stderr, "index build")
    assert not ANSI.search(res.stderr)
    in_order(lines, r"^index build: read captions 0\.0/[\d.]+ KiB ",
             r"^index build: read captions ([\d.]+)/\1 KiB 300 rows \([\d.]+ s\)$",
             r"^index build: BM25 weights \(300 rows, vocabulary \d+\) … [\d.]+ s$")
    assert "rows indexed" not in res.stderr and not progress_lines(res.stdout, "index build")
    assert "300 rows" in res.stdout  # the summary stays on stdout
    res = invoke("index", "build", db, "--captions", "captions.jsonl", "--json")
    assert json.loads(res.stdout)["rows"] == 300 and res.stderr == ""
    assert invoke("index", "build", db, "--captions", "captions.jsonl", "--quiet").stderr == ""


def test_every_stage_reports_through_the_one_helper():
    """No stage keeps a progress display of its own (the three private `_progress()` helpers and retrieve's
    `_say` are gone): each goes through progress.reporter."""
    root = Path(__file__).resolve().parents[1] / "dreamrunner_cli"
    for name in ("plan", "retrieve", "adapt", "render", "evaluate"):
        src = (root / "stages" / f"{name}.py").read_text(encoding="utf-8")
        assert "rich.progress" not in src and "def _progress" not in src and "def _say" not in src, name
        assert "reporter(" in src, name
    assert "reporter(" in (root / "cli" / "index.py").read_text(encoding="utf-8")
