"""A LoRA that loads only in part is an error too (issue 22, item 9's class).

diffusers keeps the tensors of an adapter file whose modules the model has and drops the rest with a log line: a
LoRA for a model with more blocks, or with renamed modules, loaded half of itself and the scene rendered with that
half, exit 0. Render now compares the file's tensors with the LoRA layers that hold them after the load
(``sr3ai.lora.unloaded_tensors``, both ways) and stops with exit 5 naming the file, before anything is rendered.
(The other way, a layer without a tensor from the file, is checked too; peft 0.21 builds layers only for the
tensors a file has, so only the unit test below reaches it.)
"""

from __future__ import annotations

import pytest
from safetensors.torch import load_file, save_file
from test_render_lora import two_character_plan, write_adapter

from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid
from dreamrunner_cli.workspace import Records, Workspace, write_json_atomic

WEIGHTS = "pytorch_lora_weights.safetensors"


@pytest.fixture(scope="module")
def pool():
    from dreamrunner_cli.models.pool import ModelPool

    return ModelPool()


def workspace(tmp_path, metadata: bool) -> Workspace:
    """The two-character plan with both motion LoRAs on block 0, the tiny model's motion block (6 layers, 12
    tensors each); ``metadata`` writes the LoraConfig (target_modules) into the file, as the adapt stage does."""
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    write_json_atomic(ws.plan, two_character_plan().model_dump(mode="json"))
    dropout = 0.0 if metadata else None
    write_adapter(ws, "motion", "waving", [0], seed=1, dropout=dropout)
    write_adapter(ws, "motion", "jumping", [0], seed=2, dropout=dropout)
    return ws


def refused(ws: Workspace, pool, change) -> str:
    """Rewrite motion/jumping's tensors with ``change``; render must stop with exit 5 naming that file."""
    from dreamrunner_cli.stages import render as stage

    path = ws.adapters_dir / "motion" / "jumping" / WEIGHTS
    save_file(change(load_file(path)), path)
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, resolve_config("tiny"), progress=False, models=pool)
    assert err.value.exit_code == 5
    assert err.value.message.startswith(f"adapter {path} does not fit this model: ")
    assert f"dreamrunner adapt {ws.root} --motion jumping --force" in err.value.hint
    assert not ws.scene_video("s01").exists() and not Records.load(ws).items("render")  # nothing rendered
    assert not getattr(pool.pipeline(resolve_config("tiny").model).transformer, "peft_config", None)  # given back
    return err.value.message


def test_a_lora_for_a_model_with_more_blocks_is_refused_not_half_loaded(tmp_path, pool):
    # trained on a 4-block model's motion blocks 0 and 2: block 0 loaded, block 2's tensors were dropped silently
    message = refused(workspace(tmp_path, metadata=False), pool,
                      lambda sd: {**sd, **{k.replace("blocks.0.", "blocks.2."): v.clone() for k, v in sd.items()}})
    assert "12 of its 24 tensors match no module of the transformer " \
           "(transformer.transformer_blocks.2.attn1.to_k.lora_A.weight, " in message
    assert "rendering would use part of the LoRA" in message


def test_a_lora_with_renamed_modules_is_refused(tmp_path, pool):
    message = refused(workspace(tmp_path, metadata=False), pool,
                      lambda sd: {k.replace("0.attn1.to_q.", "0.attn1.to_query."): v for k, v in sd.items()})
    assert "2 of its 12 tensors match no module of the transformer (transformer.transformer_blocks.0.attn1." \
           "to_query.lora_A.weight, transformer.transformer_blocks.0.attn1.to_query.lora_B.weight)" in message


def test_unloaded_tensors_compares_the_file_with_the_layers_both_ways():
    from peft import LoraConfig

    from dreamrunner_cli.models.tiny import build_tiny_components
    from dreamrunner_cli.sr3ai.lora import unloaded_tensors

    transformer = build_tiny_components()["transformer"]
    transformer.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=["transformer_blocks.0.attn1.to_q"]), "a")
    whole = [f"transformer.transformer_blocks.0.attn1.to_q.lora_{p}.weight" for p in "AB"]
    assert unloaded_tensors(transformer, "a", whole) == ([], [])
    assert unloaded_tensors(transformer, "a", [*whole, "transformer.x.lora_A.weight", "text_encoder.y"]) == (
        ["text_encoder.y", "transformer.x.lora_A.weight"], [])
    assert unloaded_tensors(transformer, "a", whole[:1]) == ([], whole[1:])
    assert unloaded_tensors(transformer, "b", whole) == (whole, [])  # not loaded at all under that name
