"""A LoRA that does not apply is an error, not a skipped item (issue 22, items 9 and 12).

An adapter whose tensors matched none of the model's modules used to be dropped by diffusers without a word: the
scene rendered without it, exit 0, and the record still listed it as used. An adapter with another model's tensor
shapes, or a truncated ``.safetensors``, ended in exit 1 ("this is a bug"). Each now stops render with exit 5,
naming the file and the `dreamrunner adapt ... --force` command that rebuilds it; nothing is written for the scene.
Every adapter that loads must change the transformer (``sr3ai.lora.check_applies``: some layer holds it with
non-zero A, B and scaling).
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file
from test_render_lora import two_character_plan, write_adapter

from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid
from dreamrunner_cli.workspace import Records, Workspace, write_json_atomic

WEIGHTS = "pytorch_lora_weights.safetensors"


@pytest.fixture(scope="module")
def pool():
    """One tiny pipeline for the module (render gives it back without LoRAs after every run)."""
    from dreamrunner_cli.models.pool import ModelPool

    return ModelPool()


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """The two-character plan with its two motion LoRAs trained (valid, non-zero)."""
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    write_json_atomic(ws.plan, two_character_plan().model_dump(mode="json"))
    write_adapter(ws, "motion", "waving", [0], seed=1)
    write_adapter(ws, "motion", "jumping", [0], seed=2)
    return ws


def rewrite(ws: Workspace, change) -> str:
    """Replace motion/jumping's tensors with ``change(tensors)``; return the file's path as messages name it."""
    path = ws.adapters_dir / "motion" / "jumping" / WEIGHTS
    save_file(change(load_file(path)), path)
    return str(path)


def render(ws: Workspace, pool):
    from dreamrunner_cli.stages import render as stage

    with pytest.raises(InputInvalid) as err:
        stage.run(ws, resolve_config("tiny"), progress=False, models=pool)
    assert err.value.exit_code == 5
    assert f"dreamrunner adapt {ws.root} --motion jumping --force" in err.value.hint
    assert not ws.scene_video("s01").exists() and not Records.load(ws).items("render")  # nothing rendered, recorded
    return err.value.message


def test_an_adapter_whose_tensors_match_no_module_stops_render_naming_it(ws, pool):
    # diffusers keeps only "transformer."-prefixed keys: without the prefix every tensor was dropped silently
    path = rewrite(ws, lambda sd: {k.removeprefix("transformer."): v for k, v in sd.items()})
    message = render(ws, pool)
    assert message.startswith(f"adapter {path} does not apply to this model: the LoRA is in no layer of the "
                              "transformer: none of its tensors matched the model's modules")


def test_an_adapter_that_changes_nothing_stops_render(ws, pool):
    path = rewrite(ws, lambda sd: {k: torch.zeros_like(v) if "lora_B" in k else v for k, v in sd.items()})
    message = render(ws, pool)
    assert message.startswith(f"adapter {path} does not apply to this model: the LoRA changes nothing: its "
                              "weights (or scalings) are zero in all 6 layers")


@pytest.mark.parametrize("change, words", [
    (lambda sd: {k: torch.randn(*(2 * n for n in v.shape)) for k, v in sd.items()}, "size mismatch for "),
    (lambda sd: {k.replace("blocks.0.", "blocks.9."): v for k, v in sd.items()}, "not found in the base model"),
], ids=["another model's shapes", "modules the model does not have"])
def test_an_adapter_for_another_model_stops_render_with_exit_5(ws, pool, change, words):
    path = rewrite(ws, change)
    message = render(ws, pool)
    assert message.startswith(f"adapter {path} does not fit this model: ") and words in message


def test_a_truncated_adapter_is_refused_before_any_model_loads(ws, monkeypatch):
    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app
    from dreamrunner_cli.models import loading

    path = ws.adapters_dir / "motion" / "jumping" / WEIGHTS
    path.write_bytes(path.read_bytes()[:-100])
    monkeypatch.setattr(loading, "load_pipeline", lambda *a, **k: pytest.fail("a model was loaded"))
    write_json_atomic(ws.config, resolve_config("tiny").model_dump(mode="json"))
    res = CliRunner().invoke(app, ["render", str(ws.root)])
    assert res.exit_code == 5, res.output  # was 1: tensor_digest's ValueError outside the error mapping
    assert f"adapter {path} is damaged" in res.stderr
    assert f"dreamrunner adapt {ws.root} --motion jumping --force" in res.stderr.replace("\n", " ")
    res = CliRunner().invoke(app, ["status", str(ws.root)], env={"COLUMNS": "400"})
    assert res.exit_code == 0 and "blocked" in res.output and "is damaged" in res.output


def test_check_applies_counts_the_layers_of_a_lora_that_changes_the_model():
    from peft import LoraConfig

    from dreamrunner_cli.models.tiny import build_tiny_components
    from dreamrunner_cli.sr3ai.lora import LoraNotApplied, check_applies

    transformer = build_tiny_components()["transformer"]
    targets = [f"transformer_blocks.0.{m}" for m in ("attn1.to_q", "attn1.to_k")]
    transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=targets, init_lora_weights=False), "a")
    assert check_applies(transformer, "a") == 2
    with pytest.raises(LoraNotApplied, match="'b' is in no layer"):
        check_applies(transformer, "b")
    transformer.transformer_blocks[0].attn1.to_q.scaling["a"] = 0.0  # one layer off: the other still applies
    assert check_applies(transformer, "a") == 2
    transformer.transformer_blocks[0].attn1.to_k.lora_A["a"].weight.data.zero_()
    with pytest.raises(LoraNotApplied, match="changes nothing"):
        check_applies(transformer, "a")
