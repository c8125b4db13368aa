"""Issue 13, the LLM path with real models: bounded local generation (timeout, stop strings, repetition penalty,
end of the JSON object), progress while generating, what a failed plan leaves behind (runs.jsonl record, saved
replies, no secret), the context-length check and repair rounds that fit, the transformers floor, and warnings
about boxes that cover no token.

All offline and fast: the scripted server of tests/llm_server.py and a tiny random chat model built in code.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from llm_server import ScriptedLLMServer, build_tiny_chat_model, reply
from test_llm_planner import PIP_STORY, SECRET, good_outline, make_cfg

from dreamrunner_cli.config import PlanConfig, resolve_config
from dreamrunner_cli.errors import BackendUnavailable, PlanInvalid
from dreamrunner_cli.planning import backends, get_planner
from dreamrunner_cli.planning.backends import ContextOverflow, GenerationTimeout, JsonEnd

REPO = Path(__file__).resolve().parents[1]
TEDDY = REPO / "examples/stories/teddy.txt"


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat"))


@pytest.fixture
def server():
    srv = ScriptedLLMServer().start()
    yield srv
    srv.stop()


def local_cfg(model: Path, **kw) -> PlanConfig:
    base = dict(llm="transformers", llm_model=str(model), llm_device="cpu", max_tokens=12, repair_attempts=0,
                temperature=0.0, llm_cache=False)
    return PlanConfig(**{**base, **kw})


def spy_generate(planner) -> list[dict]:
    """Record every generate() call's keyword arguments (the model is loaded first)."""
    planner.backend._load()
    calls: list[dict] = []
    real = planner.backend._lm.generate
    planner.backend._lm.generate = lambda **kw: calls.append(kw) or real(**kw)
    return calls


# 1. Local generation is bounded and shows progress -------------------------------------------------------------


@pytest.mark.timeout(60)  # without the timeout the slowed model would generate 2000 tokens (~100 s)
def test_local_generation_stops_at_the_timeout_with_the_partial_reply(tiny_chat):
    planner = get_planner(local_cfg(tiny_chat, max_tokens=2000, timeout_s=0.5, stop_at_json_end=False))
    planner.backend._load()
    lm = planner.backend._lm
    real_forward = lm.forward
    lm.forward = lambda *a, **kw: (time.sleep(0.05), real_forward(*a, **kw))[1]  # a slow model: ~20 tokens/s
    t0 = time.monotonic()
    with pytest.raises(GenerationTimeout) as info:
        planner.outline(PIP_STORY)
    assert time.monotonic() - t0 < 10
    err = info.value
    assert isinstance(err, BackendUnavailable) and err.exit_code == 4
    assert "did not finish its reply within plan.timeout_s=0.5 s" in err.message
    assert re.search(r"\((\d+) tokens in [\d.]+ s", err.message) and "plan.timeout_s" in err.hint
    n = int(re.search(r"\((\d+) tokens in", err.message).group(1))
    assert 0 < n < 2000
    # What the model wrote so far is kept for the stage to save; the call is recorded as a timeout.
    assert planner.exchange["replies"] == [err.partial] and planner.exchange.get("done") is None
    assert planner.calls[-1]["error"] == "timeout" and planner.calls[-1]["cache"] == "miss"


def test_progress_while_loading_and_generating(tiny_chat, monkeypatch):
    monkeypatch.setattr(backends, "PROGRESS_EVERY_S", 0.0)  # report at every token
    planner = get_planner(local_cfg(tiny_chat, stop_at_json_end=False))
    lines: list[tuple[str, bool]] = []
    planner.report_to(lambda line, transient: lines.append((line, transient)))
    with pytest.raises(PlanInvalid):
        planner.outline(PIP_STORY)
    text = "\n".join(line for line, _ in lines)
    assert f"plan: loading the local model {str(tiny_chat)!r}" in text
    assert "plan: model loaded on cpu in" in text
    ticks = [line for line, transient in lines if transient and " tokens, " in line]
    assert ticks and all(re.match(r"plan outline: \d+ tokens, \d+ s \([\d.]+ tokens/s; stops at plan.timeout_s=",
                                  t) for t in ticks)
    assert re.search(r"plan outline: reply 1, 12 tokens in [\d.]+ s: \d+ problem\(s\)", text)
    # Silent when nobody listens (--quiet / --json): no callback is installed.
    planner.report_to(None)
    assert planner.backend.progress is None


def test_repetition_penalty_and_stop_strings_reach_generation(tiny_chat):
    planner = get_planner(local_cfg(tiny_chat, max_tokens=12, stop_at_json_end=False, repetition_penalty=1.3))
    calls = spy_generate(planner)
    with pytest.raises(PlanInvalid):
        planner.outline(PIP_STORY)
    assert calls[0]["repetition_penalty"] == 1.3 and planner.calls[0]["tokens"] == 12
    # A stop string (a word of the greedy reply) ends generation there; the reply is cut before it.
    full = planner.exchange["replies"][0]
    words = full.split()
    stop = words[2]
    stopped = get_planner(local_cfg(tiny_chat, max_tokens=12, stop_at_json_end=False, repetition_penalty=1.3,
                                    stop=[stop]))
    with pytest.raises(PlanInvalid):
        stopped.outline(PIP_STORY)
    assert stopped.exchange["replies"][0] == full[:full.index(stop)]
    assert stopped.calls[0]["tokens"] < 12 and stopped.calls[0]["finish_reason"] == "stop"


def test_json_end_detection_stops_after_one_complete_object(tiny_chat):
    tracker = JsonEnd()
    assert not tracker.feed('Sure! ```json\n{"reasoning": "a } in a string, an escaped \\" quote", ')
    assert not tracker.feed('"scenes": [{"id": "s01"}')
    assert tracker.feed("]} and then the model goes on { forever")
    # Inside generation, token by token: the criterion says stop at the token that closes the object.
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_chat))
    ids = tok('{ " a " : " } " , " b " : [ ] } the the', return_tensors="pt")["input_ids"]
    watch = backends._Watch(tok, prompt_len=0, timeout_s=60, json_end=True, progress=None)
    flags = [bool(watch(ids[:, :n])[0]) for n in range(1, ids.shape[1] + 1)]
    tokens = tok.convert_ids_to_tokens(ids[0].tolist())
    closing = len(tokens) - 1 - tokens[::-1].index("}")  # the last "}" closes the object (the first is a string's)
    assert tokens.count("}") == 2
    assert flags == [False] * closing + [True] * (len(flags) - closing)


def test_the_outline_prompt_fits_and_the_reply_budget_is_reserved(tiny_chat):
    """The context check itself: the model's max_position_embeddings, read before anything is generated."""
    planner = get_planner(local_cfg(tiny_chat, max_tokens=100))
    calls = spy_generate(planner)
    planner.backend._lm.config.max_position_embeddings = 1200  # the outline prompt is ~1900 tokens here
    with pytest.raises(ContextOverflow) as info:
        planner.outline(PIP_STORY)
    err = info.value
    assert calls == [] and err.exit_code == 4
    assert re.search(r"plan outline: the prompt is \d+ tokens and 100 more are reserved for the reply", err.message)
    assert "1200 tokens (max_position_embeddings in the model's config); nothing was generated" in err.message
    assert "longer context" in err.hint
    # plan.context_tokens overrides what the model says (here: room enough), and generation happens.
    roomy = get_planner(local_cfg(tiny_chat, max_tokens=12, context_tokens=4000))
    calls = spy_generate(roomy)
    roomy.backend._lm.config.max_position_embeddings = 1200
    with pytest.raises(PlanInvalid):
        roomy.outline(PIP_STORY)
    assert len(calls) == 1


# 3. The openai backend: the server's context length, and repair rounds that fit ------------------------------------


def _first_request_estimate(server) -> int:
    """The estimated size of the outline request (the backend's own estimate), from one real request."""
    server.script.append(reply(good_outline()))
    get_planner(make_cfg(server.url, llm_cache=False)).outline(PIP_STORY)
    body = server.requests.pop()["body"]
    return backends.OpenAIBackend(make_cfg(server.url)).count_tokens(body["messages"])[0]


def test_openai_context_from_the_server_refuses_a_prompt_that_cannot_fit(server):
    server.models["test-model"] = {"max_model_len": 1024}  # vLLM's field
    with pytest.raises(ContextOverflow) as info:
        get_planner(make_cfg(server.url, max_tokens=4096)).outline(PIP_STORY)
    assert server.requests == [] and server.model_lists == 1  # nothing generated, nothing sent
    assert "(estimated) tokens and 4096 more are reserved" in info.value.message
    assert f"1024 tokens (max_model_len of 'test-model' in {server.url}/models)" in info.value.message
    # plan.context_tokens wins over the server; an unknown context (no field) is not checked.
    server.script.append(reply(good_outline()))
    get_planner(make_cfg(server.url, max_tokens=4096, context_tokens=100_000)).outline(PIP_STORY)
    assert len(server.requests) == 1
    server.models.clear()
    server.script.append(reply(good_outline()))
    get_planner(make_cfg(server.url, max_tokens=4096, llm_cache=False)).outline(PIP_STORY)
    assert len(server.requests) == 2


def test_repairs_send_only_the_last_reply_cut_to_fit_the_context(server):
    estimate = _first_request_estimate(server)
    max_tokens = 1000
    window = estimate + max_tokens + 600  # the first request fits; it plus a 40,000-character reply does not
    server.models["test-model"] = {"max_model_len": window}
    bad = good_outline()
    bad["scenes"][0]["motions"] = ["teleporting"]
    bad["reasoning"] = "I think about it. " * 2200  # ~40k characters, ~10k tokens
    server.script.extend([reply(bad), reply(bad), reply(good_outline())])
    planner = get_planner(make_cfg(server.url, max_tokens=max_tokens, repair_attempts=2))
    planner.outline(PIP_STORY)
    assert len(server.requests) == 3
    budget = window - max_tokens
    for req in server.requests[1:]:
        msgs = req["body"]["messages"]
        assistant = [m["content"] for m in msgs if m["role"] == "assistant"]
        assert len(assistant) == 1  # only the last reply, not every earlier round
        assert "more characters of this reply are left out here" in assistant[0]
        assert planner.backend.count_tokens(msgs)[0] <= budget
        assert "unknown motion 'teleporting'" in msgs[-1]["content"]  # the problems are all there
    assert planner.calls[1]["reply_cut_chars"] > 30_000 and planner.calls[0].get("reply_cut_chars") is None


# 2. A failed plan: runs.jsonl record, saved replies, the error says where, no secret ----------------------------------


def _invoke(args: list[str]):
    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app

    return CliRunner().invoke(app, args, catch_exceptions=False)


def _runs(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "runs.jsonl").read_text().splitlines()]


def test_cli_failed_local_plan_saves_replies_logs_the_run_and_shows_progress(tiny_chat, tmp_path):
    ws = tmp_path / "ws"
    args = ["plan", str(TEDDY), "--workspace", str(ws), "--llm", "transformers", "--llm-model", str(tiny_chat),
            "--set", "plan.max_tokens=12", "--set", "plan.repair_attempts=1", "--set", "plan.llm_device=cpu",
            "--set", "plan.temperature=0"]
    result = _invoke(args)
    assert result.exit_code == 5, result.output
    replies = ws / "planning" / "replies"
    saved = sorted(p.name for p in replies.iterdir())
    assert saved == ["outline-1.txt", "outline-2.txt"]
    # The error names where the replies are; progress went to stderr while the model worked.
    err = " ".join(result.stderr.split())
    assert f"the model's replies are saved in {replies / 'outline-1.txt'} … outline-2.txt" in err
    assert "plan: loading the local model" in err and "plan outline: reply 1, 12 tokens in" in err
    assert "plan outline (repair 1): reply 2, 12 tokens in" in err
    # runs.jsonl: one line for the failed run, with the error and the calls made.
    run = _runs(ws)[-1]
    assert run["stage"] == "plan" and run["outcome"] == "failed"
    assert run["error"]["type"] == "PlanInvalid" and run["error"]["exit_code"] == 5 and run["error"]["details"]
    assert run["replies"] == ["planning/replies/outline-1.txt", "planning/replies/outline-2.txt"]
    assert [(c["level"], c["repair"], c["valid"]) for c in run["llm_calls"]] == [("outline", 0, False),
                                                                                  ("outline", 1, False)]
    # --quiet: the error only, no progress. --json: stdout is one JSON object.
    result = _invoke(args + ["--quiet"])
    assert result.exit_code == 5 and "plan outline" not in result.stderr and "error:" in result.stderr
    result = _invoke(args + ["--json"])
    assert result.exit_code == 5 and "plan outline" not in result.output
    assert json.loads(result.stdout)["error"] == "PlanInvalid"


def test_cli_local_timeout_saves_the_partial_reply(tiny_chat, tmp_path):
    ws = tmp_path / "ws"
    result = _invoke(["plan", str(TEDDY), "--workspace", str(ws), "--llm", "transformers", "--llm-model",
                      str(tiny_chat), "--set", "plan.timeout_s=0.001", "--set", "plan.llm_device=cpu",
                      "--set", "plan.stop_at_json_end=false"])
    assert result.exit_code == 4, result.output
    err = " ".join(result.stderr.split())
    assert "did not finish its reply within plan.timeout_s=0.001 s" in err
    assert f"the model's reply is saved in {ws / 'planning' / 'replies' / 'outline-1.txt'}" in err
    run = _runs(ws)[-1]
    assert run["outcome"] == "failed" and run["error"]["type"] == "GenerationTimeout"
    assert run["error"]["exit_code"] == 4 and run["llm_calls"][0]["error"] == "timeout"
    assert (ws / "planning" / "replies" / "outline-1.txt").exists()


def test_cli_failed_openai_plan_writes_no_secret(server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    bad = good_outline()
    bad["scenes"][0]["motions"] = ["teleporting"]
    bad["reasoning"] = f"my key is {SECRET}"  # a proxy or model that echoes the key must not get it written
    server.script.extend([reply(bad)] * 3)
    ws = tmp_path / "ws"
    result = _invoke(["plan", str(TEDDY), "--workspace", str(ws), "--llm", "openai", "--llm-base-url", server.url,
                      "--llm-model", "test-model"])
    assert result.exit_code == 5, result.output
    assert [p.name for p in sorted((ws / "planning" / "replies").iterdir())] == [
        "outline-1.txt", "outline-2.txt", "outline-3.txt"]
    assert "my key is ***" in (ws / "planning" / "replies" / "outline-1.txt").read_text(encoding="utf-8")
    assert _runs(ws)[-1]["outcome"] == "failed"
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == [] and SECRET not in result.output
    # A later run that succeeds removes the stale replies of that step.
    server.responder = __import__("llm_server").plan_responder
    result = _invoke(["plan", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    assert list((ws / "planning" / "replies").iterdir()) == [] and _runs(ws)[-1]["outcome"] == "ok"


# 4. The transformers floor matches the API used ---------------------------------------------------------------------


def test_transformers_floor_supports_the_dtype_argument():
    from packaging.requirements import Requirement
    from packaging.version import Version

    source = (REPO / "dreamrunner_cli/planning/backends.py").read_text(encoding="utf-8")
    assert '"dtype": "auto"' in source  # from_pretrained(dtype=...) exists from transformers 4.56 on
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    line = next(m.group(1) for m in re.finditer(r'^\s*"(transformers[^"]*)"', text, flags=re.M))
    spec = Requirement(line).specifier
    assert Version("4.55.4") not in spec and Version("4.56.0") in spec


# 5. Boxes that cover no token at the model's geometry are warned about ------------------------------------------------


def _tiny_cfg(*overrides: str):
    return resolve_config(preset="tiny", overrides=list(overrides))


def test_plan_stage_warns_about_boxes_that_cover_no_token(tmp_path):
    from dreamrunner_cli.stages import plan as stage
    from dreamrunner_cli.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    stage.import_story(ws, TEDDY)
    cfg = _tiny_cfg()  # 64×64 pixels: 4×4 tokens a frame, one token is 0.25 of the picture
    result = stage.run(ws, cfg, progress=False)
    assert result["vanishing_regions"] == [] and not any("covers no token" in n for n in result["notes"])
    # A hand edit with a sliver of a box: plan.json is kept, and the note names the scene, key frame and entity.
    data = json.loads(ws.plan.read_text())
    region = data["scenes"][1]["keyframes"][2]["regions"][0]
    region["box"] = [0.5, 0.2, 0.56, 0.9]
    ws.plan.write_text(json.dumps(data))
    result = stage.run(ws, cfg, progress=False)
    sid, entity = data["scenes"][1]["id"], region["entity"]
    assert len(result["vanishing_regions"]) == 1
    assert any(n.startswith(f"warning: scene {sid}, key frame 3, entity {entity}: box [0.5, 0.2, 0.56, 0.9] "
                            "covers no token at 4×4 tokens per frame") for n in result["notes"])
    # At the full CogVideoX geometry (30×45 tokens) the same box is fine.
    result = stage.run(ws, _tiny_cfg("model.id=THUDM/CogVideoX-2b", "render.height=480", "render.width=720",
                                     "render.num_frames=49"), progress=False)
    assert result["vanishing_regions"] == []
    # A geometry that cannot be read without weights: no warning, no failure.
    result = stage.run(ws, _tiny_cfg(f"model.id={tmp_path / 'no-such-model'}"), progress=False)
    assert result["vanishing_regions"] == [] and ws.plan.exists()


def test_a_hand_written_plan_without_story_is_checked_too(tmp_path):
    from dreamrunner_cli.stages import plan as stage
    from dreamrunner_cli.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    stage.import_story(ws, TEDDY)
    stage.run(ws, _tiny_cfg(), progress=False)
    data = json.loads(ws.plan.read_text())
    data["scenes"][0]["keyframes"][0]["regions"][0]["box"] = [0.0, 0.0, 0.1, 0.1]
    ws.plan.write_text(json.dumps(data))
    ws.story.unlink()  # an imported plan: nothing to plan from
    result = stage.run(ws, _tiny_cfg(), progress=False)
    assert any("key frame 1" in n and "covers no token" in n for n in result["notes"])
