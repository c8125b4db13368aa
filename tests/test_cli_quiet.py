"""Quiet by default (issue 15): known third-party warnings and library logs hidden unless -v, one log handler,
--version, shell completion, plain metavars, copy-pasteable examples, no wrapping when not a terminal."""

from __future__ import annotations

import io
import logging
import re
import warnings

import pytest
import typer
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.cli.common import VerboseOpt, console, guarded, plain_examples

runner = CliRunner()
probe = typer.Typer()


@probe.callback()
def _group() -> None:
    """A group, so the probe is invoked as `noisy` like a real command."""


@probe.command()
@guarded
def noisy(verbose: VerboseOpt = False) -> None:
    """What a render does today: peft and diffusers warnings, a library logger, and our own warning."""
    warnings.warn("Already found a `peft_config` attribute in the model. This will lead to having multiple "
                  "adapters in the model.", UserWarning)
    warnings.warn("`torch_dtype` is deprecated! Use `dtype` instead!", FutureWarning)
    logging.getLogger("huggingface_hub.file_download").warning("HUB-NOISE retrying in 1s")
    logging.getLogger("dreamrunner.render").warning("OUR-WARNING the user must see this")


def run_noisy(*args: str):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # what a user without pytest's filters gets
        res = runner.invoke(probe, ["noisy", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res, [str(w.message) for w in caught]


def test_known_third_party_warnings_and_library_logs_are_hidden_by_default():
    res, caught = run_noisy()
    assert not [m for m in caught if "peft_config" in m or "torch_dtype" in m]
    assert "HUB-NOISE" not in res.stderr
    assert "OUR-WARNING" in res.stderr  # our own warnings still show, once (one handler)
    assert res.stderr.count("OUR-WARNING") == 1


def test_verbose_shows_them():
    res, caught = run_noisy("-v")
    assert any("peft_config" in m for m in caught) and any("torch_dtype" in m for m in caught)
    assert "HUB-NOISE" in res.stderr and res.stderr.count("OUR-WARNING") == 1


def test_version_and_completion():
    from dreamrunner_cli import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"dreamrunner {__version__}"
    top = runner.invoke(app, ["--help"]).stdout
    assert "--install-completion" in top and "--show-completion" in top and "--verbose" in top


def test_global_verbose_flag_is_accepted_before_the_command(tmp_path):
    res = runner.invoke(app, ["-v", "status", str(tmp_path / "none")])
    assert res.exit_code == 3 and "not a workspace" in res.stderr  # parsed; the command ran (and refused)


def _commands():
    group = typer.main.get_command(app)

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            yield path, cmd
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield path, cmd

    return list(walk(group, []))


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=lambda p: " ".join(p) or "dreamrunner")
def test_help_shows_plain_metavars(path):
    out = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"}).stdout
    out = re.sub(r"'[^'\n]*'", "''", out)  # quoted shell words ('{page_dir}/{videoid}.mp4') are values, not metavars
    for ugly in ("<bool>", "<list[str]>", "<str>...", "{"):
        assert ugly not in out, f"{' '.join(path)} --help shows {ugly}"


def _examples(help_text: str) -> list[str]:
    """The indented example lines of a docstring (lines continued with a backslash joined)."""
    out, cur = [], ""
    for ln in help_text.splitlines():
        if cur or (ln.startswith(" ") and ln.strip().startswith(("dreamrunner ", "for "))):
            if ln.rstrip().endswith("\\"):
                cur += ln.strip()[:-1] + " "
                continue
            out.append(" ".join((cur + ln).split()))
            cur = ""
    return out


def _joined(rendered: str) -> list[str]:
    """The help as a user copies it: lines continued with a trailing backslash joined, comments dropped."""
    out, cur = [], ""
    for ln in rendered.splitlines():
        ln = ln.strip().strip("│").strip()
        if ln.endswith("\\"):
            cur += ln[:-1].strip() + " "
            continue
        out.append(" ".join((cur + ln).split()))
        cur = ""
    return out


@pytest.mark.parametrize("path", [p for p, c in _commands() if _examples(c.help or "")],
                         ids=lambda p: " ".join(p))
def test_every_example_survives_an_80_column_terminal_in_one_piece(path):
    """Rich re-wraps help to the terminal; an example split mid-command cannot be pasted. (Was: `run`, `plan`,
    `import`, `index build` … split their long examples.)"""
    cmd = dict((tuple(p), c) for p, c in _commands())[tuple(path)]
    rendered = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).stdout
    lines = _joined(rendered)
    for example in _examples(cmd.help or ""):
        code = " ".join(example.split("  #")[0].split())
        assert any(line == code or line.startswith(code + " #") for line in lines), \
            f"{' '.join(path)}: example not on one line: {code}"


def test_plain_examples_continue_long_lines_outside_quotes():
    text = plain_examples("Do it.\n\nExamples:\n\n    dreamrunner index search /data/panda70m/index "
                          "\"person is stretching arms while standing up slowly\" --json\n")
    lines = text.splitlines()
    assert lines[-2].endswith(" \\") and '"person is stretching arms while standing up slowly"' in text
    assert all(len(ln) <= 80 for ln in lines)


def test_no_wrapping_when_stdout_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    buf = io.StringIO()
    monkeypatch.setattr("sys.stdout", buf)
    long = "ran       render s01: " + "config.render.steps 8 → 40, " * 10
    console().print(long)
    assert buf.getvalue().rstrip() == long.rstrip()  # one line, however long
