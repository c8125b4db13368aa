"""Every command's --help as a user reads it (issue 25, item 9): prose reflowed to the terminal (never cut by a
newline of the docstring), one blank line between "Examples:" and the examples, a `--set` help that says what the
command really does with it, and the model names the presets really use."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.cli.common import plain_examples

runner = CliRunner()
BOX = "╭│╰"


def _commands() -> list[list[str]]:
    def walk(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, path + [name])

    return list(walk(typer.main.get_command(app), []))


COMMANDS = _commands()


_CLI: list = []  # the click command tree, built once (typer rebuilds it on every invoke: 0.25 s a help)


def render_help(path: list[str], columns: int) -> str:
    import typer.testing

    _CLI[:] = _CLI or [typer.main.get_command(app)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", lambda _: _CLI[0])
        res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": str(columns), "TERMINAL_WIDTH": None},
                            prog_name="dreamrunner")
    assert res.exit_code == 0, res.output
    return res.stdout


def description(rendered: str) -> list[str]:
    """The help's text between the usage line and the first box (arguments, options, commands)."""
    lines = rendered.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("Usage:")) + 1
    end = next((i for i, ln in enumerate(lines) if ln[:1] in BOX), len(lines))
    return [ln.rstrip() for ln in lines[start:end]]


def is_example(line: str) -> bool:
    return line.startswith("     ")  # the help's 1-column margin + the examples' 4-column indent


def hard_breaks(lines: list[str], columns: int) -> list[str]:
    """Prose lines that end although the next line's first word would have fitted: a newline of the docstring, not
    the terminal's wrap, ended them (rich leaves one column of margin on each side)."""
    found = []
    for a, b in zip(lines, lines[1:]):
        if not a.strip() or not b.strip() or is_example(a) or is_example(b):
            continue
        if cell_len(a.rstrip()) + 1 + cell_len(b.split()[0]) <= columns - 1:
            found.append(f"{a.strip()!r} / {b.strip()!r}")
    return found


@pytest.mark.parametrize("columns", [80, 120])
def test_prose_is_reflowed_to_the_terminal_and_examples_follow_one_blank_line(columns):
    problems = []
    for path in COMMANDS:
        name = " ".join(["dreamrunner", *path])
        lines = description(render_help(path, columns))
        problems += [f"{name}: cut mid-sentence: {b}" for b in hard_breaks(lines, columns)]
        for i, ln in enumerate(lines):
            if ln.strip() == "Examples:":
                after = lines[i + 1:i + 3]
                if len(after) < 2 or after[0].strip() or not is_example(after[1]):
                    problems.append(f"{name}: 'Examples:' is not followed by one blank line and an example: {after}")
        assert not any(ln.strip() == "\b" or "\x08" in ln for ln in lines), name
    assert problems == []


def test_help_off_a_terminal_without_rich_keeps_the_examples_as_written():
    """TYPER_USE_RICH=0 (click's own formatter): the examples stay one a line under their heading."""
    res = subprocess.run([sys.executable, "-m", "dreamrunner_cli", "retrieve", "--help"], capture_output=True,
                         text=True, env={**_env(), "TYPER_USE_RICH": "0", "COLUMNS": "80"}, timeout=60)
    assert res.returncode == 0, res.stderr
    text = res.stdout
    block = text[text.index("Examples:"):text.index("Arguments:")].splitlines()
    assert block[1].strip() == "" and block[2].strip().startswith("dreamrunner retrieve ws/teddy --db")
    assert "DREAMRUNNER_DB=/data/panda70m dreamrunner retrieve ws/teddy \\" in text  # env-prefixed: an example too


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "TYPER_USE_RICH")}


def test_the_installed_console_script_renders_the_same_help_in_a_120_column_pipe():
    script = Path(sys.executable).with_name("dreamrunner")
    res = subprocess.run([str(script), "status", "--help"], capture_output=True, text=True,
                         env={**_env(), "COLUMNS": "120"}, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = description(res.stdout)
    assert hard_breaks(lines, 120) == []
    i = [ln.strip() for ln in lines].index("Examples:")
    assert lines[i + 1] == "" and lines[i + 2].strip() == "dreamrunner status ws/teddy"


def test_plain_examples_reflows_prose_but_keeps_lists_and_examples():
    text = plain_examples("First line\ncontinued.\n\nSecond paragraph\nbroken mid-sentence.\n\n- a list\n- kept\n\n"
                          "Examples:\n\n    dreamrunner a\n\n    HF_HUB_OFFLINE=1 dreamrunner b\n")
    assert text == ("First line continued.\n\nSecond paragraph broken mid-sentence.\n\n- a list\n- kept\n\n"
                    "Examples:\n\b\n    dreamrunner a\n    HF_HUB_OFFLINE=1 dreamrunner b")
    plain = plain_examples("Do it.\n\nExamples:\n\n    dreamrunner a\n", rich=False)
    assert plain == "Do it.\n\nExamples:\n\n\b\n    dreamrunner a"  # click's formatter: a \b paragraph


# --set: what each command does with it ----------------------------------------------------------------------------


def set_help(path: list[str]) -> str:
    """The --set row of the options box, as one line."""
    rendered = render_help(path, 200)
    rows, on = [], False
    for ln in rendered[rendered.index("╭─ Options"):].splitlines():
        cells = ln.strip("│ ").split()
        if cells[:1] == ["--set"]:
            on = True
        elif on and cells and cells[0].startswith("--"):
            break
        if on:
            rows.append(ln.strip("│ "))
    return " ".join(" ".join(rows).split())


SAVES = ["plan", "retrieve", "adapt", "render", "evaluate", "run"]  # through `session`: saved on success
READS = ["status", "masks", "doctor"]  # they only read the config


@pytest.mark.parametrize("path", [[c] for c in SAVES + READS + ["import", "batch"]], ids=lambda p: p[0])
def test_set_help_says_what_the_command_does_with_it(path):
    text = set_help(path)
    assert "render.steps=20" in text
    if path[0] in SAVES:
        assert "saved in the workspace's config.json when the command succeeds" in text
    elif path[0] in READS:
        assert "saved" not in text.replace("config set` saves", "") and "config.json is never changed" in text
    else:  # import writes workspaces, batch runs them: each gets the config
        assert "when the command succeeds" not in text and "each workspace" in text


@pytest.mark.parametrize("command", ["status", "masks"])
def test_read_only_commands_really_leave_config_json_alone(ws, command):
    before = (ws / "config.json").read_bytes()
    res = runner.invoke(app, [command, str(ws), "--set", "render.steps=7", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (ws / "config.json").read_bytes() == before


def test_retrieve_names_the_video_text_model_the_presets_use():
    from dreamrunner_cli.config import preset_data, resolve_config

    models = {resolve_config(preset=p).retrieve.video_text_model for p in ("cogvideox-2b", "cogvideox-5b")}
    assert all(m.startswith("viclip:") for m in models), models  # what the help must say
    assert "video_text_model" not in preset_data("cogvideox-2b").get("retrieve", {})
    text = " ".join(description(render_help(["retrieve"], 200)))
    assert "X-CLIP" not in text and re.search(r"video-text scores \(ViCLIP in the presets\)", text), text
