"""The LLM planner (planning/llm.py, planning/backends.py), offline.

A real HTTP server on 127.0.0.1 (tests/llm_server.py) speaks the chat-completions protocol with scripted replies;
every case ends in a valid outline / layout or a clear domain error, with the number of requests asserted. A tiny
random transformers causal LM built in code exercises the local backend (its output is garbage, so the repair loop
must end in PlanInvalid). The API key must never reach the workspace or the cache.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest
from llm_server import (
    ScriptedLLMServer,
    build_tiny_chat_model,
    hang,
    plan_responder,
    reject_json_schema,
    reply,
    status,
)

from dreamrunner_cli.config import PlanConfig
from dreamrunner_cli.errors import BackendUnavailable, ModelUnavailable, PlanInvalid, UsageError
from dreamrunner_cli.planning import get_planner
from dreamrunner_cli.planning.llm import (
    OutlineReply,
    check_layout,
    check_merge,
    check_outline,
    load_prompt,
    overlap_groups,
    parse_json_reply,
)
from dreamrunner_cli.schema import Keyframe, ObjectEntity, Region, load_plan
from dreamrunner_cli.story import CharacterSpec, StoryInput

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-dreamrunner-test-5ecret-key-0123456789"

PIP_STORY = StoryInput(
    path=Path("pip.txt"), title="Pip's rainy afternoon",
    text="It rains all afternoon. Pip rolls from the window to the toy box and digs out a ball. He bounces the ball "
         "against the wall until he gets bored, then climbs onto the sofa and falls asleep while the rain stops.",
    characters=[CharacterSpec(id="pip", name="Pip", description="a small tin robot toy with round blue eyes",
                              token="[v1]")])


# Fixtures and helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def server():
    srv = ScriptedLLMServer().start()
    yield srv
    srv.stop()


def make_cfg(url: str, **kw) -> PlanConfig:
    base = dict(llm="openai", llm_model="test-model", llm_base_url=url, timeout_s=5.0, max_retries=2,
                retry_backoff_s=0.01)
    return PlanConfig(**{**base, **kw})


def good_outline(story: StoryInput = PIP_STORY, cfg: PlanConfig | None = None) -> dict:
    cfg = cfg or PlanConfig()
    p = load_prompt("outline")
    given = [{"id": c.id, "name": c.name, "description": c.description, "token": c.token} for c in story.characters]
    msgs = p.messages(min_scenes=str(cfg.min_scenes), max_scenes=str(cfg.max_scenes), max_motions="2", schema="{}",
                      title=story.title, characters=given, story=story.text)
    return json.loads(plan_responder({"messages": msgs}))


def good_layout(outline, scene, keyframes: int = 6) -> dict:
    p = load_prompt("layout")
    descriptions = {m.id: m.description for m in outline.motions}
    msgs = p.messages(keyframes=str(keyframes), min_box_side="0.2", schema="{}", scene={"id": scene.id},
                      characters=[{"id": c.id, "token": c.token, "description": c.description}
                                  for c in outline.characters if c.id in scene.characters],
                      objects=[], motions=[{"id": m, "description": descriptions[m]} for m in scene.motions])
    return json.loads(plan_responder({"messages": msgs}))


def example_reply(name: str) -> dict:
    """The worked example's reply in a prompt file (the JSON line after 'a good reply is:')."""
    text = (REPO / "dreamrunner_cli/planning/prompts" / f"{name}.md").read_text(encoding="utf-8")
    return json.loads(text.split("a good reply is:", 1)[1].strip().split("\n", 1)[0])


def user_messages(request: dict) -> list[str]:
    return [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]


def outline_of(planner_cfg: PlanConfig | None = None):
    outline, problems = check_outline(good_outline(), PIP_STORY, planner_cfg or PlanConfig())
    assert not problems, problems
    return outline


# The prompts teach what the checks accept ----------------------------------------------------------------------


def test_prompt_examples_pass_our_checks():
    cfg = PlanConfig()
    outline, problems = check_outline(example_reply("outline"), PIP_STORY, cfg)
    assert problems == [] and [s.id for s in outline.scenes] == ["s01", "s02", "s03", "s04", "s05"]
    assert outline.characters[0].token == "[v1]" and outline.title == PIP_STORY.title
    keyframes, problems = check_layout(example_reply("layout"), outline, outline.scenes[4], cfg)
    assert problems == [] and len(keyframes) == 6
    merged = example_reply("merge")
    lying = Region(entity="pip", motion="lying-down", caption="A [v1] robot toy is lying down", box=(.3, .3, .9, .8))
    sofa = Region(entity="sofa", caption="A soft green sofa", box=(.3, .25, 1, 1))
    waving = Region(entity="pip", motion="waving", caption="A [v1] robot toy is waving", box=(0, 0, .5, 1))
    jumping = Region(entity="cat", motion="jumping", caption="A [v2] cat is jumping", box=(.4, 0, 1, 1))
    groups = {"g1": [lying, sofa], "g2": [waving, jumping]}
    captions, problems = check_merge(merged, groups, {"pip": "[v1]", "cat": "[v2]"})
    assert problems == [] and set(captions) == {"g1", "g2"}
    # Every prompt is versioned by its content, and has the parts the planner sends.
    for name in ("outline", "layout", "merge", "repair"):
        p = load_prompt(name)
        assert re.fullmatch(r"[0-9a-f]{12}", p.version) and p.user
        names = re.findall(r"\{\{(\w+)\}\}", p.user + (p.system or ""))
        assert "{{" not in json.dumps(p.messages(**{k: "x" for k in names}))


def test_parse_json_reply_tolerates_fences_and_reports_bad_json():
    assert parse_json_reply('```json\n{"a": 1}\n```') == ({"a": 1}, [])
    assert parse_json_reply('<think>hmm</think> Sure! {"a": 1} Hope this helps.') == ({"a": 1}, [])
    data, problems = parse_json_reply('{"a": 1,,}')
    assert data is None and "not valid JSON" in problems[0] and "line 1" in problems[0]
    assert parse_json_reply("[1, 2]")[1] == ["the reply must be one JSON object, not a list"]
    assert parse_json_reply("  ")[1][0].startswith("the reply is empty")


def test_outline_ids_checked_valid_and_unique():
    bad = good_outline()
    bad["scenes"][1]["id"] = "s01"  # duplicate
    bad["motions"].append({"id": "Big Jump", "description": "jumping high"})  # invalid id
    _, problems = check_outline(bad, PIP_STORY, PlanConfig())
    assert any("motions[" in p and "pattern" in p.lower() for p in problems), problems
    bad["motions"].pop()
    _, problems = check_outline(bad, PIP_STORY, PlanConfig())
    assert problems == ["scenes[1].id: duplicate id 's01' (also scenes[0]); ids must be unique"]
    # Rules of A.1 a program can check: scene count, motion budget, background without characters, -ing motions.
    bad = good_outline()
    bad["scenes"] = bad["scenes"][:3]
    bad["scenes"][0]["background"] = "Pip's bedroom"
    bad["scenes"][1]["motions"] = ["walking", "waving", "jumping"]
    bad["motions"][0]["description"] = "walk along a path"
    _, problems = check_outline(bad, PIP_STORY, PlanConfig())
    text = "\n".join(problems)
    assert "3 scenes; write between 5 and 8" in text
    assert "scenes[0].background: mentions the character 'pip'" in text
    assert "scenes[1].motions: 3 motions; at most 2" in text
    assert "present progressive" in text


def test_layout_rules_checked():
    outline = outline_of()
    scene = outline.scenes[0]
    lay = good_layout(outline, scene)
    first, second = scene.motions  # frames 0-2 and 3-5
    lay["keyframes"][0]["regions"][0]["box"] = [0.0, 0.0, 0.1, 1.0]  # too thin
    lay["keyframes"][4]["regions"][0].update(motion=first, caption="A robot is walking along a path")  # no token
    lay["keyframes"][5]["regions"][0]["motion"] = "flying"  # not in the scene
    _, problems = check_layout(lay, outline, scene, PlanConfig())
    text = "\n".join(problems)
    assert "keyframes[0].regions[0].box: [0.0, 0.0, 0.1, 1.0] is 0.10 wide" in text
    assert "keyframes[5].regions[0].motion: 'flying' is not a motion of this scene" in text
    assert "keyframes[4].regions[0].caption: 'A robot is walking along a path' must contain the character's " \
           "token '[v1]'" in text
    assert f"keyframes[4]: 'pip' is '{first}' for a single key frame" in text  # motion back for one frame
    assert f"keyframes[3]: 'pip' is '{second}' for a single key frame" in text
    lay = good_layout(outline, scene)
    lay["keyframes"] = lay["keyframes"][:5]
    assert check_layout(lay, outline, scene, PlanConfig())[1] == ["keyframes: 5 key frames; plan exactly 6"]


# The OpenAI-compatible backend against a real local server ------------------------------------------------------


def test_good_plan_first_try(server):
    cfg = make_cfg(server.url)
    planner = get_planner(cfg)
    outline_reply = good_outline(cfg=cfg)
    server.script.extend([reply(outline_reply)])
    outline = planner.outline(PIP_STORY)
    assert len(server.requests) == 1
    scene = outline.scenes[0]
    server.script.append(reply(good_layout(outline, scene)))
    keyframes = planner.layout(outline, scene)
    assert len(server.requests) == 2 and len(keyframes) == 6
    assert all("[v1]" in r.caption for kf in keyframes for r in kf.regions)
    # The request: the model, the reply's JSON schema as structured output, the prompt files' text.
    body = server.requests[0]["body"]
    assert body["model"] == "test-model" and body["temperature"] == cfg.temperature and body["seed"] == 0
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["properties"]["scenes"]["maxItems"] == 8
    assert list(rf["json_schema"]["schema"]["properties"])[0] == "reasoning"
    assert "Pip rolls from the window" in user_messages(server.requests[0])[0]
    layout_rf = server.requests[1]["body"]["response_format"]["json_schema"]["schema"]
    assert layout_rf["properties"]["keyframes"]["minItems"] == 6
    # Provenance, one dict per call.
    assert [(c["level"], c["scene"], c["cache"], c["attempts"], c["valid"]) for c in planner.calls] == [
        ("outline", None, "miss", 1, True), ("layout", scene.id, "miss", 1, True)]
    assert planner.calls[0]["prompt_version"] == load_prompt("outline").version
    assert planner.calls[1]["prompt_file"] == "planning/prompts/layout.md"
    required = {"backend", "model", "prompt_file", "prompt_version", "cache", "attempts", "seconds"}
    assert required <= set(planner.calls[0])
    assert planner.name == "openai" and planner.model == "test-model"


def test_malformed_json_is_repaired(server):
    cfg = make_cfg(server.url)
    server.script.extend([reply('{"reasoning": "oops", "scenes": [}'), reply(good_outline(cfg=cfg))])
    planner = get_planner(cfg)
    outline = planner.outline(PIP_STORY)
    assert len(outline.scenes) >= 5 and len(server.requests) == 2
    msgs = server.requests[1]["body"]["messages"]
    assert msgs[-2] == {"role": "assistant", "content": '{"reasoning": "oops", "scenes": [}'}
    assert "not valid JSON" in msgs[-1]["content"] and "Reply again" in msgs[-1]["content"]
    assert [(c["repair"], c["valid"]) for c in planner.calls] == [(0, False), (1, True)]
    assert "repair_prompt_version" in planner.calls[1]


def test_wrong_schema_is_repaired(server):
    cfg = make_cfg(server.url)
    wrong = good_outline(cfg=cfg)
    wrong["story_scenes"] = wrong.pop("scenes")
    server.script.extend([reply(wrong), reply(good_outline(cfg=cfg))])
    get_planner(cfg).outline(PIP_STORY)
    assert len(server.requests) == 2
    repair = user_messages(server.requests[1])[-1]
    assert "scenes: Field required" in repair and "story_scenes: Extra inputs are not permitted" in repair


def test_rule_violation_is_repaired_then_valid(server):
    cfg = make_cfg(server.url)
    outline = outline_of(cfg)
    scene = outline.scenes[1]
    bad = good_layout(outline, scene)
    bad["keyframes"][2]["regions"][0]["box"] = [0.5, 0.5, 0.6, 0.6]
    server.script.extend([reply(bad), reply(good_layout(outline, scene))])
    keyframes = get_planner(cfg).layout(outline, scene)
    assert len(server.requests) == 2 and keyframes[2].regions[0].box == (0.0, 0.1, 1.0, 1.0)
    assert "each side must be at least 0.2" in user_messages(server.requests[1])[-1]


def test_rule_violations_exhaust_repairs_then_plan_invalid(server):
    cfg = make_cfg(server.url, repair_attempts=2)
    outline = outline_of(cfg)
    scene = outline.scenes[2]
    bad = good_layout(outline, scene)
    for kf in bad["keyframes"]:
        kf["regions"][0]["motion"] = "swimming"
    server.script.extend([reply(bad)] * 3)
    planner = get_planner(cfg)
    with pytest.raises(PlanInvalid) as info:
        planner.layout(outline, scene)
    err = info.value
    assert len(server.requests) == 3  # 1 + repair_attempts
    assert err.message.startswith(f"scene {scene.id}: the LLM's key-frame layout is still invalid after 2 repair")
    assert any("'swimming' is not a motion of this scene" in d for d in err.details)
    assert err.exit_code == 5
    # A failed exchange is not cached: the next run asks the server again.
    from dreamrunner_cli.cache import open_cache

    assert len(open_cache("llm")) == 0


def test_429_then_success_honours_retry_after(server):
    cfg = make_cfg(server.url, retry_backoff_s=30.0)  # Retry-After: 0 must win over the 30 s backoff
    server.script.extend([status(429, "slow down", {"Retry-After": "0"}), reply(good_outline(cfg=cfg))])
    t0 = time.perf_counter()
    planner = get_planner(cfg)
    planner.outline(PIP_STORY)
    assert time.perf_counter() - t0 < 10
    assert len(server.requests) == 2 and planner.calls[0]["attempts"] == 2


def test_500s_retry_with_backoff_then_give_up(server):
    cfg = make_cfg(server.url, max_retries=2)
    server.script.extend([status(502), reply(good_outline(cfg=cfg))])
    planner = get_planner(cfg)
    planner.outline(PIP_STORY)
    assert len(server.requests) == 2 and planner.calls[0]["attempts"] == 2
    server.script.extend([status(500), status(503), status(500), reply("never reached")])
    outline = planner.outline(PIP_STORY)  # a cache hit: no request
    with pytest.raises(BackendUnavailable) as info:
        planner.layout(outline, outline.scenes[0])
    assert "gave up after 3 attempts" in info.value.message and info.value.exit_code == 4
    assert len(server.requests) == 2 + 3  # the second outline() was a cache hit


def test_hang_times_out(server):
    """plan.timeout_s is the deadline for the whole reply: a hang uses it up, so no retry follows (issue 22)."""
    cfg = make_cfg(server.url, timeout_s=0.3, max_retries=1)
    server.script.extend([hang(10), hang(10)])
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailable) as info:
        get_planner(cfg).outline(PIP_STORY)
    assert time.perf_counter() - t0 < 5
    assert "no complete reply within plan.timeout_s=0.3 s" in info.value.message
    assert "gave up after 1 attempt" in info.value.message and "plan.timeout_s" in info.value.hint
    assert len(server.requests) == 1


def test_401_403_404_fail_at_once_without_leaking_the_key(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    cfg = make_cfg(server.url)
    server.script.append(status(401, f"Incorrect API key provided: {SECRET}"))
    with pytest.raises(BackendUnavailable) as info:
        get_planner(cfg).outline(PIP_STORY)
    assert len(server.requests) == 1 and "refused the API key (HTTP 401)" in info.value.message
    assert SECRET not in json.dumps(info.value.to_dict())
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {SECRET}"
    server.script.append(status(404, "model 'test-model' not found"))
    with pytest.raises(BackendUnavailable) as info:
        get_planner(cfg).outline(PIP_STORY)
    assert len(server.requests) == 2 and "'test-model'" in info.value.message and "/v1" in info.value.hint


def test_unreachable_server():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = make_cfg(f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(BackendUnavailable) as info:
        get_planner(cfg).outline(PIP_STORY)
    assert f"cannot connect to http://127.0.0.1:{port}/v1" in info.value.message
    assert "connection refused" in info.value.message and "not retried" in info.value.message


def test_json_schema_refused_steps_down_to_json_mode(server, caplog):
    cfg = make_cfg(server.url)
    server.script.extend([reject_json_schema(), reply(good_outline(cfg=cfg))])
    planner = get_planner(cfg)
    with caplog.at_level(logging.WARNING, logger="dreamrunner.planning"):
        planner.outline(PIP_STORY)
    assert [r["body"].get("response_format", {}).get("type") for r in server.requests] == ["json_schema",
                                                                                             "json_object"]
    assert planner.calls[0]["response_format"] == "json_object" and planner.calls[0]["attempts"] == 2
    assert "using json_object from now on" in caplog.text
    # Fixed modes are sent as asked: off sends no response_format.
    server.script.append(reply(good_outline(cfg=cfg)))
    get_planner(make_cfg(server.url, structured_output="off", llm_cache=False)).outline(PIP_STORY)
    assert "response_format" not in server.requests[-1]["body"]


def test_cache_replays_a_recorded_session_offline(server):
    cfg = make_cfg(server.url)
    bad = good_outline(cfg=cfg)
    bad["scenes"][0]["motions"] = ["teleporting"]
    server.script.extend([reply(bad), reply(good_outline(cfg=cfg))])
    first = get_planner(cfg)
    outline = first.outline(PIP_STORY)
    server.script.append(reply(good_layout(outline, outline.scenes[0])))
    keyframes = first.layout(outline, outline.scenes[0])
    assert len(server.requests) == 3
    server.stop()  # no server at all now: the recorded session must replay from the cache
    replay = get_planner(cfg)
    def no_call(*args, **kwargs):
        raise AssertionError("the backend was called on a replay")

    replay.backend.complete = no_call
    assert replay.outline(PIP_STORY) == outline
    assert replay.layout(outline, outline.scenes[0]) == keyframes
    assert [(c["cache"], c["attempts"], c["repair"]) for c in replay.calls] == [
        ("hit", 0, 0), ("hit", 0, 1), ("hit", 0, 0)]
    # Another model, temperature or prompt is another key: it misses (and here, with no server, fails clearly).
    with pytest.raises(BackendUnavailable):
        get_planner(make_cfg(server.url, temperature=0.7, max_retries=0)).outline(PIP_STORY)


def test_cache_values_are_json_text(server):
    cfg = make_cfg(server.url)
    server.script.append(reply(good_outline(cfg=cfg)))
    get_planner(cfg).outline(PIP_STORY)
    from dreamrunner_cli.cache import open_cache

    cache = open_cache("llm")
    values = [cache[k] for k in cache.iterkeys()]
    assert len(values) == 1 and isinstance(values[0], str) and OutlineReply.model_validate_json(values[0])


def test_merge_overlaps(server):
    cfg = make_cfg(server.url, merge_overlaps=True)
    outline = outline_of(cfg)
    scene = outline.scenes[0]
    lay = good_layout(outline, scene)
    outline = outline.model_copy(update={"objects": [ObjectEntity(id="sofa", description="a green sofa")]})
    for kf in lay["keyframes"][:3]:  # a static sofa overlapping Pip in frames 0-2
        kf["regions"].append({"entity": "sofa", "motion": "none", "caption": "A green sofa is standing",
                              "box": [0.5, 0.4, 1.0, 1.0]})
    bad_merge = {"reasoning": "r", "merged": [{"group": "g1", "caption": "A robot toy on a sofa"}]}
    server.script.extend([reply(lay), reply(bad_merge)])  # then plan_responder's correct merge
    server.responder = plan_responder
    planner = get_planner(cfg)
    keyframes = planner.layout(outline, scene)
    assert len(server.requests) == 3
    assert "must keep the token '[v1]'" in user_messages(server.requests[2])[-1]
    assert [len(kf.merged) for kf in keyframes] == [1, 1, 1, 0, 0, 0]
    m = keyframes[0].merged[0]
    assert m.entity == "pip" and m.box == (0.0, 0.1, 1.0, 1.0) and "[v1]" in m.caption and "sofa" in m.caption
    assert [c["level"] for c in planner.calls] == ["layout", "merge", "merge"]
    assert overlap_groups([Keyframe(regions=[Region(entity="a", caption="x", box=(0, 0, .5, .5)),
                                             Region(entity="b", caption="y", box=(.5, .5, 1, 1))])]) == []


def test_model_and_url_from_environment(monkeypatch, server):
    monkeypatch.delenv("DREAMRUNNER_LLM_MODEL", raising=False)
    with pytest.raises(UsageError, match="needs a model name"):
        get_planner(PlanConfig(llm="openai"))
    monkeypatch.setenv("DREAMRUNNER_LLM_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    planner = get_planner(PlanConfig(llm="openai"))
    assert planner.model == "env-model" and planner.backend.base_url == server.url
    # OpenAI's own endpoint needs a key; the error says which variable, and nothing is sent.
    monkeypatch.delenv("OPENAI_BASE_URL")
    with pytest.raises(BackendUnavailable, match=r"\$OPENAI_API_KEY is not set"):
        get_planner(PlanConfig(llm="openai", llm_cache=False)).outline(PIP_STORY)
    assert server.requests == []


# The transformers backend with a tiny random chat model -----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory) -> Path:
    """A random 1-layer Llama with a word-level tokenizer and a chat template, saved as safetensors."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat"))


def test_transformers_garbage_ends_in_clear_error(tiny_chat_model):
    cfg = PlanConfig(llm="transformers", llm_model=str(tiny_chat_model), llm_device="cpu", max_tokens=12,
                     repair_attempts=1, temperature=0.0)
    planner = get_planner(cfg)
    generated = []
    planner.backend._load()
    real_generate = planner.backend._lm.generate
    planner.backend._lm.generate = lambda **kw: generated.append(kw) or real_generate(**kw)
    with pytest.raises(PlanInvalid) as info:
        planner.outline(PIP_STORY)
    assert "the LLM's scene outline is still invalid after 1 repair attempt" in info.value.message
    assert info.value.details and len(generated) == 2
    assert [(c["backend"], c["cache"], c["response_format"], c["device"]) for c in planner.calls] == [
        ("transformers", "miss", "prompt", "cpu")] * 2
    # The chat template was applied: the model saw "system: ... user: ... assistant:".
    prompt = planner.backend._tok.decode(generated[1]["input_ids"][0])
    assert prompt.startswith("system") and prompt.rstrip().endswith("assistant :")


def test_transformers_missing_model_is_model_unavailable(tmp_path):
    cfg = PlanConfig(llm="transformers", llm_model="someone/not-downloaded-chat-model", llm_device="cpu")
    with pytest.raises(ModelUnavailable) as info:
        get_planner(cfg).outline(PIP_STORY)
    assert "'someone/not-downloaded-chat-model'" in info.value.message and "offline" in info.value.message
    assert "hf download someone/not-downloaded-chat-model" in info.value.hint


# End to end through the CLI, on every example story -----------------------------------------------------------------


def _grep(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.skipif(not (REPO / "dreamrunner_cli/stages/plan.py").exists(), reason="plan stage not written yet")
@pytest.mark.parametrize("story", sorted(p.name for p in (REPO / "examples/stories").glob("*.txt")))
def test_cli_plan_with_openai_backend(story, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from dreamrunner_cli.cache import cache_dir
    from dreamrunner_cli.cli import app

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    srv = ScriptedLLMServer(responder=plan_responder).start()
    try:
        ws = tmp_path / "ws"
        args = ["plan", str(REPO / "examples/stories" / story), "--workspace", str(ws), "--llm", "openai",
                "--llm-base-url", srv.url, "--llm-model", "M", "--json"]
        result = CliRunner().invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        plan = load_plan(ws / "plan.json")
        assert 5 <= len(plan.scenes) <= 8 and all(len(s.keyframes) == 6 for s in plan.scenes)
        tokens = {c.id: c.token for c in plan.characters}
        assert all(tokens[r.entity] in r.caption for s in plan.scenes for kf in s.keyframes for r in kf.regions)
        assert len(srv.requests) == 1 + len(plan.scenes)
        assert all(r["headers"]["authorization"] == f"Bearer {SECRET}" for r in srv.requests)
        # Provenance in runs.jsonl: backend, model, prompt versions, cache misses.
        runs = [json.loads(line) for line in (ws / "runs.jsonl").read_text().splitlines()]
        calls = runs[-1]["llm_calls"]
        assert len(calls) == len(srv.requests)
        assert {(c["backend"], c["model"], c["cache"]) for c in calls} == {("openai", "M", "miss")}
        assert calls[0]["prompt_version"] == load_prompt("outline").version
        # A fresh workspace re-plans from the cache: no request reaches the server.
        n = len(srv.requests)
        ws2 = tmp_path / "ws2"
        result = CliRunner().invoke(app, args[:3] + [str(ws2)] + args[4:], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert len(srv.requests) == n and load_plan(ws2 / "plan.json") == plan
        # Re-plan one scene, bypassing the cache: exactly one layout request.
        sid = plan.scenes[1].id
        result = CliRunner().invoke(app, ["plan", str(ws), "--scene", sid, "--force", "--set",
                                          "plan.llm_cache=false", "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert len(srv.requests) == n + 1 and "Scene: {\"id\": \"" + sid in user_messages(srv.requests[-1])[0]
        # The key never reaches the workspace or the cache.
        assert _grep(tmp_path, SECRET) == [] and _grep(cache_dir(), SECRET) == []
    finally:
        srv.stop()


# Issue 13: the LLM path with real models ------------------------------------------------------------------------


def test_outline_must_name_every_character_of_the_story():
    story = StoryInput(path=Path("jun.txt"), title="t", characters=PIP_STORY.characters,
                       text=PIP_STORY.text + " Her friend Jun waits near the sofa, jumping and cheering.")
    reply_ = good_outline(cfg=PlanConfig())
    outline, problems = check_outline(reply_, story, PlanConfig())
    assert outline is None and any("names 'Jun'" in p and "'jun'" in p for p in problems), problems
    reply_["scenes"][0]["characters"] = []  # the declared character must be on screen somewhere too
    for s in reply_["scenes"]:
        s["characters"] = []
    _, problems = check_outline(reply_, PIP_STORY, PlanConfig())
    assert any("'pip' (Pip) appears in no scene" in p for p in problems)


def test_a_context_overflow_400_is_not_read_as_a_response_format_refusal(server):
    cfg = make_cfg(server.url)
    server.script.append(status(400, "This model's maximum context length is 8192 tokens. However, you requested "
                                     "9000 tokens (response_format json_schema)."))
    planner = get_planner(cfg)
    with pytest.raises(BackendUnavailable) as info:
        planner.outline(PIP_STORY)
    assert len(server.requests) == 1 and "maximum context length" in info.value.message
    assert planner.backend.mode == "json_schema" and planner.backend.mode_notes == []


def test_repairs_sample_with_another_seed(server):
    cfg = make_cfg(server.url, seed=7)
    bad = good_outline(cfg=cfg)
    bad["scenes"][0]["motions"] = ["teleporting"]
    server.script.extend([reply(bad), reply(bad), reply(good_outline(cfg=cfg))])
    get_planner(cfg).outline(PIP_STORY)
    assert [r["body"]["seed"] for r in server.requests] == [7, 8, 9]


def test_a_truncated_fenced_reply_says_it_was_cut_off():
    data, problems = parse_json_reply('Here is the plan:\n```json\n{"reasoning": "the scene", "keyframes": [')
    assert data is None and "cut off inside its ```json block" in problems[0]
    assert "Expecting value" not in problems[0]


class _GemmaLikeTokenizer:
    """A chat template that refuses the system role, like Gemma-2's and Mistral-Instruct v0.1's."""

    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=False):
        if any(m["role"] == "system" for m in messages):
            raise ValueError("System role not supported")
        return "".join(f"<{m['role']}>{m['content']}" for m in messages)


def test_a_template_without_system_role_gets_it_folded_into_the_first_user_turn():
    from dreamrunner_cli.planning.backends import chat_prompt

    text = chat_prompt(_GemmaLikeTokenizer(), [{"role": "system", "content": "RULES"},
                                               {"role": "user", "content": "STORY"}])
    assert text == "<user>RULES\n\nSTORY"
