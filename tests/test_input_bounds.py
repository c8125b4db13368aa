"""Every external input has a bound (issue 22): stories, plan.json/config.json, LLM replies, the cache location.

Each hostile input used to hang, grow without end, exit 1 or blame the wrong file; each test bounds its own time
(pytest-timeout) and checks the refusal: exit code, the bound named with the key or flag that raises it, and that it
came quickly. The limits are documented in docs/reliability.md ("Every external input has a bound").
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, completion_body, drip, plan_responder, raw, reply, status
from typer.testing import CliRunner

from dreamrunner_cli import bounds
from dreamrunner_cli.cli import app
from dreamrunner_cli.config import PlanConfig
from dreamrunner_cli.errors import BackendUnavailable, FileAccessError, InputInvalid
from dreamrunner_cli.planning.backends import OpenAIBackend
from dreamrunner_cli.planning.llm import parse_json_reply
from dreamrunner_cli.story import parse_story

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT / "examples" / "stories"
TEDDY = STORIES / "teddy.txt"
runner = CliRunner()


def invoke(*args, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)


def timed(*args, env: dict | None = None):
    t0 = time.monotonic()
    res = invoke(*args, env=env)
    return res, time.monotonic() - t0


def _story(tmp: Path, text: str | bytes, name: str = "story.txt") -> Path:
    p = tmp / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def billion_laughs() -> str:
    """A 1 KB front matter whose aliases expand to 9**9 strings (the old code never returned)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, k in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{k}: &{k} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "---\n" + "\n".join(lines) + "\ncharacters:\n  - id: bo\n    name: *i\n---\nBo wakes up.\n"


# Stories ------------------------------------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_fifo_story_is_refused_without_blocking(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fifo = tmp_path / "story.txt"
    os.mkfifo(fifo)  # nobody ever writes: opening it for reading blocked forever
    res, took = timed("plan", fifo, "--preset", "tiny")
    assert res.exit_code == 5, res.output
    assert "FIFO" in res.stderr and "not a regular file" in res.stderr and took < 10
    assert not (tmp_path / "story").exists()


@pytest.mark.timeout(30)
def test_a_device_as_story_is_refused(tmp_path, monkeypatch):
    # /dev/null, not /dev/zero: a regression must fail this test, not fill the machine's memory (/dev/zero did).
    monkeypatch.chdir(tmp_path)
    res = invoke("plan", "/dev/null", "--workspace", tmp_path / "w", "--preset", "tiny")
    assert res.exit_code == 5 and "a device, not a regular file" in res.stderr, res.output


@pytest.mark.timeout(60)
def test_a_5_mb_story_is_refused_at_once_naming_the_key_that_raises_the_limit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    big = _story(tmp_path, "Bo walks to the park. " * 240_000)  # 5.3 MB (was: 2.45 GB of memory, minutes)
    res, took = timed("plan", big, "--preset", "tiny")
    assert res.exit_code == 5, res.output
    assert "above the limit of 65,536 bytes (plan.max_story_bytes)" in res.stderr
    assert "--set plan.max_story_bytes=" in res.stderr and took < 10
    assert not (tmp_path / "story").exists()
    # The key moves the bound both ways: teddy (~1 KB) is refused under a 100-byte limit.
    res = invoke("plan", TEDDY, "--workspace", tmp_path / "t", "--preset", "tiny", "--set",
                 "plan.max_story_bytes=100")
    assert res.exit_code == 5 and "limit of 100 bytes (plan.max_story_bytes)" in res.stderr, res.output


def test_the_story_is_read_with_at_most_the_limit_in_memory(tmp_path, monkeypatch):
    """The bound is on what is read, not only on what the file says its size is (a file growing while read)."""
    p = _story(tmp_path, "x" * 5000)
    reads = []
    real_fdopen = os.fdopen

    def spy(fd, *a, **k):
        f = real_fdopen(fd, *a, **k)
        real_read = f.read

        class Wrapped:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()

            def read(self, n=-1):
                reads.append(n)
                return real_read(n)

        return Wrapped()

    monkeypatch.setattr(bounds.os, "fdopen", spy)
    with pytest.raises(InputInvalid, match="above the limit of 1,000 bytes"):
        bounds.read_text(p, 1000, what="story file", key="plan.max_story_bytes")
    assert reads == [1001]


@pytest.mark.timeout(30)
def test_yaml_aliases_in_front_matter_are_refused_quickly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    story = _story(tmp_path, billion_laughs())
    assert story.stat().st_size < 1200
    res, took = timed("plan", story, "--preset", "tiny")  # was: no exit within 120 s
    assert res.exit_code == 5, res.output
    assert "front matter uses the YAML alias *a (line 3)" in res.stderr and took < 10
    merge = "---\nbase: &b {description: a robot}\ncharacters:\n  - <<: *b\n    id: bo\n---\nBo walks.\n"
    with pytest.raises(InputInvalid, match=r"alias \*b"):
        parse_story(_story(tmp_path, merge, "merge.txt"))


def test_front_matter_nesting_and_huge_numbers_are_refused_not_crashes(tmp_path):
    deep = "---\ntitle: " + "[" * 50 + "]" * 50 + "\n---\nBo walks.\n"
    with pytest.raises(InputInvalid, match="nested more than 16 levels deep"):
        parse_story(_story(tmp_path, deep))
    huge = "---\ntitle: " + "7" * 5000 + "\n---\nBo walks.\n"  # int() of 5,000 digits: ValueError, was exit 1
    with pytest.raises(InputInvalid, match="front matter is not valid YAML"):
        parse_story(_story(tmp_path, huge, "huge.txt"))


@pytest.mark.timeout(60)
def test_a_byte_order_mark_keeps_the_front_matter_and_the_reference_images(tmp_path):
    """Windows editors save UTF-8 with a BOM (and CRLF): the front matter must stay front matter."""
    shutil.copytree(STORIES / "refs", tmp_path / "refs")
    text = TEDDY.read_text(encoding="utf-8")
    story = _story(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), "teddy.txt")
    parsed = parse_story(story)
    assert parsed.title == "Teddy's one day" and not parsed.text.startswith(("\ufeff", "---"))
    assert [len(c.images) for c in parsed.characters] == [2]
    res = invoke("plan", story, "--workspace", tmp_path / "ws", "--preset", "tiny", "--quiet")
    assert res.exit_code == 0, res.output
    plan = json.loads((tmp_path / "ws" / "plan.json").read_text())
    assert len(plan["characters"][0]["reference_images"]) == 2  # was: none, silently


def test_a_symlinked_reference_image_is_named_as_written(tmp_path):
    (tmp_path / "refs").mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "blob-7f3a").write_bytes(b"not an image")
    (tmp_path / "refs" / "bo.png").symlink_to(tmp_path / "store" / "blob-7f3a")
    (tmp_path / "refs" / "gone.png").symlink_to(tmp_path / "store" / "deleted")
    front = "---\ncharacters:\n  - id: bo\n    description: a robot\n    images: [{}]\n---\nBo walks.\n"
    with pytest.raises(InputInvalid) as info:
        parse_story(_story(tmp_path, front.format("refs/bo.png")))
    assert "characters[0].images[0]" in info.value.message and str(tmp_path / "refs" / "bo.png") in info.value.message
    assert "blob-7f3a" not in info.value.message  # was: only the target's name
    with pytest.raises(InputInvalid) as info:
        parse_story(_story(tmp_path, front.format("refs/gone.png"), "gone.txt"))
    assert f"looked at {tmp_path / 'refs' / 'gone.png'}, a link to {tmp_path / 'store' / 'deleted'}" in \
        info.value.message


def test_the_workspace_copy_of_a_symlinked_reference_image_is_named_after_the_entry(tmp_path):
    from PIL import Image

    from dreamrunner_cli.stages.plan import import_story, story_copy
    from dreamrunner_cli.workspace import Workspace

    (tmp_path / "refs").mkdir()
    (tmp_path / "store").mkdir()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(tmp_path / "store" / "blob-7f3a", format="PNG")
    (tmp_path / "refs" / "bo.png").symlink_to(tmp_path / "store" / "blob-7f3a")
    story = parse_story(_story(tmp_path, "---\ncharacters:\n  - id: bo\n    description: a robot\n"
                                         "    images: [refs/bo.png]\n---\nBo walks.\n"))
    ws = Workspace(tmp_path / "ws")
    text, copies = story_copy(ws, story)
    assert copies == [(tmp_path / "refs" / "bo.png", ws.refs_dir / "bo" / "01-bo.png")]  # was: 01-blob-7f3a
    assert "refs/bo/01-bo.png" in text and "blob-7f3a" not in text
    copied = import_story(ws, story)
    assert copied.characters[0].images == [ws.refs_dir / "bo" / "01-bo.png"]
    dest = ws.refs_dir / "bo" / "01-bo.png"
    assert not dest.is_symlink() and dest.read_bytes() == (tmp_path / "store" / "blob-7f3a").read_bytes()


# JSON: plan.json, config.json, records, --set ----------------------------------------------------------------------


def test_loads_json_depth_and_number_bounds():
    ok = "[" * bounds.MAX_JSON_DEPTH + "]" * bounds.MAX_JSON_DEPTH
    assert bounds.loads_json(ok, "x") is not None
    for text in ("[" * (bounds.MAX_JSON_DEPTH + 1) + "]" * (bounds.MAX_JSON_DEPTH + 1),
                 "[" * 100_000 + "]" * 100_000,  # past the interpreter's recursion limit: was RecursionError
                 '{"a": ' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(bounds.BoundExceeded, match="nested more than 64 levels deep, the limit"):
            bounds.loads_json(text, "x")
    assert bounds.loads_json("1" * 100, "x") == int("1" * 100)
    assert bounds.loads_json("0." + "5" * 98, "x") == 0.5555555555555556
    for text in ("1" * 101, "[1e" + "9" * 100 + "]", "1" * 5000):
        with pytest.raises(bounds.BoundExceeded, match="above the limit of 100 characters for one JSON number"):
            bounds.loads_json(text, "x")
    with pytest.raises(json.JSONDecodeError):
        bounds.loads_json("{ nope", "x")  # syntax errors stay the caller's to word


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("bounds") / "teddy"
    res = invoke("plan", TEDDY, "--workspace", ws, "--preset", "tiny", "--quiet")
    assert res.exit_code == 0, res.output
    return ws


@pytest.fixture
def ws(planned, tmp_path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(planned, dest)
    return dest


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name,text,says", [
    ("plan.json", "[" * 100_000 + "]" * 100_000, "nested more than 64 levels deep"),
    ("plan.json", '{"title": ' + "9" * 5000 + "}", "a number of 5,000 characters"),
    ("config.json", '{"render": {"steps": ' + "9" * 5000 + "}}", "a number of 5,000 characters"),
    ("config.json", '{"render": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than 64 levels deep"),
    ("dreamrunner.lock", '{"schema": 1, "stages": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested more than 64 levels deep"),
], ids=["plan deep", "plan 5000 digits", "config 5000 digits", "config deep", "records deep"])
def test_hostile_json_files_are_invalid_input_not_a_bug(ws, name, text, says):
    (ws / name).write_text(text)
    res = invoke("status" if name == "dreamrunner.lock" else "render", ws)
    assert res.exit_code == 5, res.output  # was: 1, "this is a bug"
    assert says in res.stderr and str(ws / name) in res.stderr and "Traceback" not in res.output


@pytest.mark.timeout(30)
def test_a_fifo_plan_json_is_refused_without_blocking(ws):
    (ws / "plan.json").unlink()
    os.mkfifo(ws / "plan.json")
    res, took = timed("render", ws)
    assert res.exit_code == 5 and "FIFO" in res.stderr and took < 10, res.output


def test_a_bom_in_a_hand_edited_plan_json_is_accepted(ws):
    from dreamrunner_cli.schema import load_plan

    (ws / "plan.json").write_bytes(b"\xef\xbb\xbf" + (ws / "plan.json").read_bytes())  # Notepad's "UTF-8"
    assert load_plan(ws / "plan.json").scenes


def test_a_5000_digit_set_value_is_a_usage_error(ws):
    res = invoke("render", ws, "--set", "render.steps=" + "9" * 5000)
    assert res.exit_code == 2 and "--set render.steps: a number of 5,000 characters" in res.stderr, res.output


# LLM replies --------------------------------------------------------------------------------------------------------


@pytest.fixture
def server():
    srv = ScriptedLLMServer().start()
    yield srv
    srv.stop()


def backend(url: str, **kw) -> OpenAIBackend:
    return OpenAIBackend(PlanConfig(**{"llm": "openai", "llm_model": "m", "llm_base_url": url, "max_retries": 3,
                                       "retry_backoff_s": 0.01, **kw}))


MSG = [{"role": "user", "content": "hi"}]


@pytest.mark.timeout(30)
def test_a_server_dripping_one_byte_a_second_ends_at_plan_timeout_s(server, tmp_path, monkeypatch):
    """The old timeout was per read: a drip never tripped it (still running after 90 s). Now it is the deadline
    for the whole reply, retries included: the command ends at plan.timeout_s, with exit 4 naming the key."""
    monkeypatch.chdir(tmp_path)
    server.script.extend([drip(1.0) for _ in range(4)])
    story = _story(tmp_path, "Bo wakes up. Bo walks to the park.\n")
    res, took = timed("plan", story, "--preset", "tiny", "--llm", "openai", "--llm-base-url", server.url,
                      "--llm-model", "m", "--set", "plan.timeout_s=3", "--set", "plan.max_retries=3")
    assert res.exit_code == 4, res.output
    assert "no complete reply within plan.timeout_s=3 s" in res.stderr and "gave up after 1 attempt" in res.stderr
    assert "--set plan.timeout_s=" in res.stderr
    # The drip would last minutes (a whole reply at one byte a second); the slack is for a loaded 2-core machine.
    assert 2.5 < took < 3 + 12, took
    assert len(server.requests) == 1 and server.dripped >= 1  # it did drip: every read got a byte


@pytest.mark.timeout(30)
def test_a_server_dripping_its_headers_is_bounded_too(server):
    """Before the body there is nothing to count: only the thread's deadline ends this one."""
    server.script.append(drip(0.5, headers=True))
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"no complete reply within plan.timeout_s=1\.5 s"):
        backend(server.url, timeout_s=1.5).complete(MSG, "x", {})
    assert time.monotonic() - t0 < 1.5 + 5  # the drip would last minutes; slack for a loaded machine


@pytest.mark.timeout(30)
def test_retries_and_backoff_stay_inside_the_deadline(server):
    server.script.extend([status(503, headers={"Retry-After": "0.6"}) for _ in range(6)])
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        backend(server.url, timeout_s=1.0, max_retries=5).complete(MSG, "x", {})
    assert time.monotonic() - t0 < 1.0 + 2  # five 0.6 s waits would be 3 s and more; slack for a loaded machine
    assert "the next retry (in 0.6 s) would pass plan.timeout_s=1 s" in info.value.message
    assert "gave up after 2 attempts" in info.value.message and "plan.timeout_s" in info.value.hint
    assert len(server.requests) == 2


@pytest.mark.timeout(60)
def test_the_process_exits_at_the_deadline(server, tmp_path):
    """The abandoned request thread (still reading the drip) must not keep the process alive."""
    server.script.extend([drip(1.0) for _ in range(4)])
    story = _story(tmp_path, "Bo wakes up. Bo walks to the park.\n")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "dreamrunner_cli", "plan", str(story), "--workspace",
                           str(tmp_path / "w"), "--preset", "tiny", "--llm", "openai", "--llm-base-url", server.url,
                           "--llm-model", "m", "--set", "plan.timeout_s=2"],
                          capture_output=True, text=True, timeout=40, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.monotonic() - t0
    assert proc.returncode == 4, proc.stderr
    # 25 s: the interpreter's start and imports on 2 busy cores; the drip itself would last minutes.
    assert "plan.timeout_s=2 s" in proc.stderr and took < 2 + 25, took


@pytest.mark.timeout(30)
@pytest.mark.parametrize("make_body,headers", [
    (lambda: completion_body("x" * 1_000_000), {}),
    (lambda: gzip.compress(completion_body("0" * 20_000_000)), {"Content-Encoding": "gzip"}),  # 20 MB in 20 KB
], ids=["plain", "gzip bomb"])
def test_a_reply_over_plan_max_reply_bytes_is_refused_while_it_arrives(server, make_body, headers):
    server.script.append(raw(make_body(), headers))
    with pytest.raises(InputInvalid) as info:
        backend(server.url, max_reply_bytes=100_000).complete(MSG, "x", {})
    assert "more than 100,000 bytes, the limit (plan.max_reply_bytes)" in info.value.message
    assert info.value.exit_code == 5 and "--set plan.max_reply_bytes=200000" in info.value.hint
    server.script.append(reply("a normal reply"))
    assert backend(server.url, max_reply_bytes=100_000).complete(MSG, "x", {}).text == "a normal reply"


@pytest.mark.timeout(60)
def test_invalid_utf8_from_the_server_is_blamed_on_the_server_not_the_story(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server.script.append(raw(completion_body(b"Bo walks \xff\xfe to the park")))
    story = _story(tmp_path, "Bo wakes up. Bo walks to the park.\n")
    res = invoke("plan", story, "--preset", "tiny", "--llm", "openai", "--llm-base-url", server.url,
                 "--llm-model", "m")
    assert res.exit_code == 5, res.output
    assert f"the LLM server at {server.url} sent a response that is not UTF-8 text" in res.stderr
    assert str(story) not in res.stderr and "story.txt" not in res.stderr  # was: "story.txt is not valid UTF-8"


def test_a_response_envelope_past_the_json_bounds_is_refused(server):
    server.script.append(raw(b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"))
    with pytest.raises(InputInvalid, match="response of the LLM server at .* nested more than 64 levels"):
        backend(server.url).complete(MSG, "x", {})
    server.script.append(raw(b"<html>busy</html>", {"Content-Type": "text/html"}))
    with pytest.raises(BackendUnavailable, match="did not answer like an OpenAI-compatible"):
        backend(server.url).complete(MSG, "x", {})


def test_a_reply_past_the_json_bounds_is_sent_back_for_repair():
    data, problems = parse_json_reply('{"scenes": ' + "[" * 5000 + "]" * 5000 + "}")
    assert data is None and "nested more than 64 levels deep" in problems[0]
    data, problems = parse_json_reply('```json\n{"n": ' + "1" * 5000 + "}\n```")
    assert data is None and "a number of 5,000 characters" in problems[0]


# The cache location -------------------------------------------------------------------------------------------------


def test_an_empty_home_is_refused_not_a_cache_in_the_root(monkeypatch, tmp_path):
    from dreamrunner_cli.cache import cache_dir

    monkeypatch.delenv("DREAMRUNNER_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "")
    with pytest.raises(FileAccessError) as info:
        cache_dir()  # was: /.cache/dreamrunner, silently
    assert "HOME is ''" in info.value.message and "/.cache" in info.value.message
    assert "DREAMRUNNER_CACHE" in info.value.hint and info.value.exit_code == 8
    monkeypatch.setenv("HOME", "relative/home")
    with pytest.raises(FileAccessError):
        cache_dir()
    monkeypatch.setenv("XDG_CACHE_HOME", "not/absolute")  # ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "dreamrunner"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "dreamrunner"
    monkeypatch.setenv("DREAMRUNNER_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


@pytest.mark.timeout(60)
def test_an_llm_plan_with_an_empty_home_exits_8_with_the_rule(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    srv = ScriptedLLMServer(responder=plan_responder).start()
    try:
        env = {"DREAMRUNNER_CACHE": None, "XDG_CACHE_HOME": None, "HOME": ""}
        res = invoke("plan", TEDDY, "--workspace", tmp_path / "w", "--preset", "tiny", "--llm", "openai",
                     "--llm-base-url", srv.url, "--llm-model", "m", env=env)
    finally:
        srv.stop()
    assert res.exit_code == 8, res.output
    assert "no folder for the cache: HOME is ''" in res.stderr
