"""A two-character tiny render with two motion LoRAs and two character LoRAs, end to end through the render stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.schema import Character, Keyframe, Motion, Plan, Region, Scene
from dreamrunner_cli.workspace import Workspace, write_json_atomic

LINEARS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ff.net.0.proj", "ff.net.2")


def two_character_plan() -> Plan:
    def kf(mia_motion, rex_motion):
        return Keyframe(regions=[
            Region(entity="mia", motion=mia_motion, caption=f"A [v1] girl is {mia_motion}", box=(0.0, 0.0, 0.5, 1.0)),
            Region(entity="rex", motion=rex_motion, caption=f"A [v2] dog is {rex_motion}", box=(0.5, 0.0, 1.0, 1.0)),
        ])

    return Plan(
        title="Mia and Rex",
        characters=[Character(id="mia", description="a girl", token="[v1]"),
                    Character(id="rex", description="a dog", token="[v2]")],
        motions=[Motion(id="waving", description="waving"), Motion(id="jumping", description="jumping")],
        scenes=[Scene(id="s01", narration="Mia waves while Rex jumps.", background="a sunny park",
                      characters=["mia", "rex"], motions=["waving", "jumping"],
                      keyframes=[kf("waving", "jumping")] * 6)],
    )


def write_adapter(ws: Workspace, kind: str, item_id: str, blocks: list[int], seed: int,
                  dropout: float | None = None) -> Path:
    """A LoRA in diffusers' format, written the way the adapt stage does (save_lora_weights + adapter.json).
    ``dropout`` writes that lora_dropout into the file's metadata, as adapters saved before dropout was zeroed did."""
    from diffusers import CogVideoXPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from dreamrunner_cli.models.tiny import build_tiny_components

    transformer = build_tiny_components()["transformer"]
    transformer.requires_grad_(False)
    torch.manual_seed(seed)
    targets = [f"transformer_blocks.{b}.{m}" for b in blocks for m in LINEARS]
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=False))
    folder = ws.adapters_dir / kind / item_id
    metadata = None if dropout is None else {"r": 4, "lora_alpha": 4, "lora_dropout": dropout,
                                              "target_modules": targets}
    CogVideoXPipeline.save_lora_weights(str(folder), transformer_lora_layers=get_peft_model_state_dict(transformer),
                                        transformer_lora_adapter_metadata=metadata)
    from dreamrunner_cli.adapt.identity import model_identity

    base = model_identity(resolve_config("tiny").model)  # what the adapt stage records: the model it trained on
    write_json_atomic(folder / "adapter.json", {"kind": kind, "id": item_id, "blocks": blocks, "rank": 4,
                                                "base_model": base})
    return folder


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    write_json_atomic(ws.plan, two_character_plan().model_dump(mode="json"))
    return ws


def test_two_characters_two_motion_and_two_character_loras_render_end_to_end(ws, monkeypatch):
    from dreamrunner_cli.sr3ai import lora as lora_mod
    from dreamrunner_cli.stages import render as stage

    write_adapter(ws, "motion", "waving", [0], seed=1)
    write_adapter(ws, "motion", "jumping", [0], seed=2)
    write_adapter(ws, "character", "mia", [1], seed=3)
    write_adapter(ws, "character", "rex", [1], seed=4)

    # Spy on the token masks the render builds, to check each adapter is bound to its own region by id.
    seen: dict[str, torch.Tensor] = {}
    real = lora_mod.token_masks

    def spy(regions, adapters, device, dtype):
        masks = real(regions, adapters, device, dtype)
        seen.update(masks)
        return masks

    monkeypatch.setattr(lora_mod, "token_masks", spy)
    cfg = resolve_config("tiny")
    result = stage.run(ws, cfg, progress=False)
    assert [it["action"] for it in result["items"]] == ["ran", "ran"]  # s01, story
    assert set(seen) == {"motion-waving", "motion-jumping", "character-mia", "character-rex"}
    L = 16  # tiny text length; prompts: [mia waving, rex jumping, background]
    mia, rex = seen["character-mia"][0, :, 0], seen["character-rex"][0, :, 0]
    assert torch.equal(mia, seen["motion-waving"][0, :, 0]) and torch.equal(rex, seen["motion-jumping"][0, :, 0])
    assert mia[:L].all() and not mia[L:3 * L].any()  # its own prompt's text only
    assert not (mia.bool() & rex.bool()).any()  # side-by-side boxes: disjoint masks
    assert set(mia.unique().tolist()) <= {0.0, 1.0}
    record = json.loads(ws.records_file.read_text())["stages"]["render"]["s01"]
    assert sorted(record["adapters"]) == sorted(seen)

    # Adapters are part of the scene's fingerprint: retraining one re-renders the scene.
    write_adapter(ws, "motion", "waving", [0], seed=5)
    again = stage.run(ws, cfg, progress=False)
    assert again["items"][0]["reason"] == "adapters changed"


def test_missing_adapters_stop_render_before_any_model_loads_and_dry_run_lists_them(ws, monkeypatch):
    from dreamrunner_cli.errors import MissingUpstream
    from dreamrunner_cli.models import loading
    from dreamrunner_cli.stages import render as stage

    def no_model(*a, **k):
        raise AssertionError("a model was loaded although render had to stop first")

    monkeypatch.setattr(loading, "load_pipeline", no_model)
    write_adapter(ws, "motion", "waving", [0], seed=1)
    cfg = resolve_config("tiny")
    dry = stage.run(ws, cfg, dry_run=True, progress=False)
    s01 = dry["items"][0]
    assert s01["loras"] == ["motion/waving"] and s01["missing_loras"] == ["motion/jumping"]
    chain = f"dreamrunner retrieve {ws.root} && dreamrunner adapt {ws.root} && dreamrunner render {ws.root}"
    assert any("motion/jumping" in n and chain in n for n in dry["notes"])  # the whole chain: issue 25 item 5
    with pytest.raises(MissingUpstream) as err:
        stage.run(ws, cfg, progress=False)
    assert err.value.exit_code == 3 and "motion/jumping" in err.value.message and chain in err.value.hint
    assert not ws.scene_video("s01").exists()
    # `dreamrunner status` shows the same per scene
    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app

    write_json_atomic(ws.config, cfg.model_dump())
    res = CliRunner().invoke(app, ["status", str(ws.root)], env={"COLUMNS": "300"})
    assert res.exit_code == 0 and "LoRAs: motion/waving; missing: motion/jumping" in res.output


def test_missing_character_adapter_only_when_it_has_reference_images(ws):
    from dreamrunner_cli.stages import render as stage

    plan = two_character_plan()
    plan.characters[0].reference_images = ["refs/mia/1.png"]
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    for m in ("waving", "jumping"):
        write_adapter(ws, "motion", m, [0], seed=1)
    dry = stage.run(ws, resolve_config("tiny"), dry_run=True, progress=False)
    assert dry["items"][0]["missing_loras"] == ["character/mia"]  # rex has no images: nothing to train


def test_loras_change_the_render_and_use_adapters_false_ignores_them(ws):
    import numpy as np

    from dreamrunner_cli.stages import render as stage
    from dreamrunner_cli.video import read_video

    lenient = resolve_config("tiny", ["render.require_adapters=false"])
    result = stage.run(ws, lenient, progress=False)
    assert any("render without them" in n for n in result["notes"])
    plain, _ = read_video(ws.scene_video("s01"))
    write_adapter(ws, "motion", "waving", [0], seed=1)
    stage.run(ws, lenient, progress=False)
    with_lora, _ = read_video(ws.scene_video("s01"))
    assert np.abs(plain.astype(int) - with_lora).max() > 0
    off = resolve_config("tiny", ["render.use_adapters=false"])
    result = stage.run(ws, off, progress=False)
    assert any("not using LoRAs motion/waving" in n for n in result["notes"])
    again, _ = read_video(ws.scene_video("s01"))
    assert np.array_equal(again, plain)


def test_same_seed_same_video_with_adapters_whose_metadata_asks_for_dropout(ws):
    """Adapters saved with lora_dropout 0.1 in their metadata make peft build Dropout modules in training mode;
    render must still be deterministic (and no module may be left training)."""
    import numpy as np

    from dreamrunner_cli.stages import render as stage
    from dreamrunner_cli.video import read_video

    for kind, item, blocks, seed in (("motion", "waving", [0], 1), ("motion", "jumping", [0], 2),
                                     ("character", "mia", [1], 3)):
        write_adapter(ws, kind, item, blocks, seed=seed, dropout=0.5)
    cfg = resolve_config("tiny")
    stage.run(ws, cfg, progress=False)
    first, _ = read_video(ws.scene_video("s01"))
    stage.run(ws, cfg, force=True, progress=False)
    second, _ = read_video(ws.scene_video("s01"))
    assert np.array_equal(first, second)


def test_loaded_adapter_leaves_no_module_training(tmp_path):
    from dreamrunner_cli.models.tiny import build_tiny_pipeline
    from dreamrunner_cli.stages.render import _load_adapter

    pipe = build_tiny_pipeline()
    folder = write_adapter(Workspace(tmp_path), "motion", "waving", [0], seed=1, dropout=0.5)
    _load_adapter(pipe, "motion-waving", folder)
    assert [n for n, m in pipe.transformer.named_modules() if m.training] == []


def test_a_shared_pipeline_is_loaded_once_and_given_back_clean(ws):
    from diffusers import CogVideoXDDIMScheduler
    from peft.tuners.lora.layer import LoraLayer

    from dreamrunner_cli.models.pool import ModelPool
    from dreamrunner_cli.stages import render as stage

    for kind, item, blocks in (("motion", "waving", [0]), ("motion", "jumping", [0]), ("character", "mia", [1])):
        write_adapter(ws, kind, item, blocks, seed=1)
    pool = ModelPool()
    cfg = resolve_config("tiny", ["render.vae_tiling=true", "render.vae_slicing=true"])
    stage.run(ws, cfg, progress=False, models=pool)
    stage.run(ws, cfg, force=True, progress=False, models=pool)
    assert pool.loads == 1
    pipe = pool.pipeline(cfg.model)
    assert type(pipe.scheduler) is CogVideoXDDIMScheduler  # the checkpoint's own, restored
    assert not any(isinstance(m, LoraLayer) for m in pipe.transformer.modules())
    assert not pipe.vae.use_tiling and not pipe.vae.use_slicing


def test_an_adapter_trained_for_another_model_or_other_blocks_is_not_used(ws):
    from dreamrunner_cli.errors import MissingUpstream
    from dreamrunner_cli.stages import render as stage

    write_adapter(ws, "motion", "waving", [0], seed=1)
    jumping = write_adapter(ws, "motion", "jumping", [0], seed=2)
    meta = json.loads((jumping / "adapter.json").read_text())
    write_json_atomic(jumping / "adapter.json", {**meta, "base_model": {**meta["base_model"], "num_layers": 4}})
    cfg = resolve_config("tiny")
    dry = stage.run(ws, cfg, dry_run=True, progress=False)
    assert dry["items"][0]["loras"] == ["motion/waving"] and dry["items"][0]["missing_loras"] == ["motion/jumping"]
    assert any("motion/jumping cannot be used: it was trained for another model" in n for n in dry["notes"])
    with pytest.raises(MissingUpstream, match="do not fit this model"):
        stage.run(ws, cfg, progress=False)
    write_adapter(ws, "motion", "jumping", [1], seed=2)  # the right model, but odd blocks for a motion LoRA
    dry = stage.run(ws, cfg, dry_run=True, progress=False)
    assert any("are not this model's even blocks" in n for n in dry["notes"])


def test_step_exports_beside_an_adapter_do_not_re_render(ws):
    from dreamrunner_cli.stages import render as stage

    for m in ("waving", "jumping"):
        folder = write_adapter(ws, "motion", m, [0], seed=1)
    cfg = resolve_config("tiny")
    stage.run(ws, cfg, progress=False)
    (folder / "steps" / "step-000120").mkdir(parents=True)
    (folder / "steps" / "step-000120" / "pytorch_lora_weights.safetensors").write_bytes(b"x")
    assert [it["action"] for it in stage.run(ws, cfg, progress=False)["items"]] == ["skipped", "skipped"]


def test_saved_adapters_are_the_same_bytes_every_time(tmp_path):
    """safetensors writes its metadata keys in a random order on every save (a Rust hash map: it varies within one
    process too); adapt's save_lora sorts the header. Eight saves of one adapter are eight identical files (without
    the sort, the chance of that is 1 in 128)."""
    import torch

    from dreamrunner_cli.adapt.lora import lora_metadata, save_lora

    g = torch.Generator().manual_seed(0)
    sd = {f"transformer_blocks.0.{m}.lora_{ab}.weight": torch.randn(4, 4, generator=g)
          for m in ("attn1.to_q", "attn1.to_k", "ff.net.2") for ab in "AB"}
    blobs = {save_lora(tmp_path / f"save{i}", sd, lora_metadata(4, [0])).read_bytes() for i in range(8)}
    assert len(blobs) == 1


def test_a_render_that_fails_mid_way_is_logged_and_a_refused_one_is_not(ws, monkeypatch):
    from dreamrunner_cli.errors import MissingUpstream
    from dreamrunner_cli.sr3ai import pipeline
    from dreamrunner_cli.stages import render as stage

    with pytest.raises(MissingUpstream):  # refused before any work: nothing written
        stage.run(ws, resolve_config("tiny"), progress=False)
    assert not ws.runs_log.exists()

    def broken(*a, **k):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setattr(pipeline, "render_scene", broken)
    with pytest.raises(RuntimeError):
        stage.run(ws, resolve_config("tiny", ["render.require_adapters=false"]), progress=False)
    last = ws.read_runs()[-1]
    assert last["stage"] == "render" and last["outcome"] == "error" and "out of memory" in last["error"]
