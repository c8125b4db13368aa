"""Issue 11, cache identity: adapters, latents and embeddings are keyed on the resolved model, not its id string."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from adapt_fixtures import clips_folder, make_workspace

from dreamrunner_cli.adapt.identity import model_identity
from dreamrunner_cli.config import ModelConfig, resolve_config
from dreamrunner_cli.errors import ModelUnavailable
from dreamrunner_cli.models.tiny import build_tiny_pipeline

pytestmark = pytest.mark.usefixtures("one_thread")


def _save_tiny(folder: Path, num_layers: int = 2, seed: int = 0) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    build_tiny_pipeline(num_layers=num_layers, seed=seed).save_pretrained(str(folder))
    return folder


def _local(folder: Path) -> ModelConfig:
    return ModelConfig(id=str(folder), dtype="float32", device="cpu")


def test_local_folder_identity_is_its_content(tmp_path):
    a = _save_tiny(tmp_path / "a")
    ident = model_identity(_local(a))
    assert ident["source"] == "local" and ident["num_layers"] == 2
    assert str(a) not in json.dumps(ident)  # nothing about where it lives
    # The same folder copied elsewhere: the same model.
    b = tmp_path / "elsewhere" / "b"
    shutil.copytree(a, b)
    assert model_identity(_local(b)) == ident
    # Weights replaced in place (same shapes, same config, same file names): another model.
    other = build_tiny_pipeline(seed=1)
    other.transformer.save_pretrained(str(a / "transformer"))
    swapped = model_identity(_local(a))
    assert swapped != ident and swapped["transformer"] != ident["transformer"] and swapped["vae"] == ident["vae"]
    # A 4-block transformer in its place: another model, and the block count says so.
    _save_tiny(a, num_layers=4)
    assert model_identity(_local(a))["num_layers"] == 4
    # The dtype is part of it.
    assert model_identity(ModelConfig(id=str(b), dtype="bfloat16", device="cpu")) != ident


def test_hub_id_identity_is_the_snapshot_commit(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "hub" / "models--org--video"
    commits = ["a" * 40, "b" * 40]
    for c, layers in zip(commits, (30, 42)):
        (repo / "snapshots" / c / "transformer").mkdir(parents=True)
        (repo / "snapshots" / c / "model_index.json").write_text("{}")
        (repo / "snapshots" / c / "transformer" / "config.json").write_text(json.dumps({"num_layers": layers}))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commits[0])
    cfg = ModelConfig(id="org/video", revision=None, dtype="float16", device="cpu")
    first = model_identity(cfg)
    assert (first["source"], first["commit"], first["num_layers"]) == ("hub", commits[0], 30)
    # revision=None follows "main": when main moves, the identity moves with it.
    (repo / "refs" / "main").write_text(commits[1])
    moved = model_identity(cfg)
    assert (moved["commit"], moved["num_layers"]) == (commits[1], 42)
    # An explicit commit pins it; "main" and None are the same model.
    assert model_identity(ModelConfig(id="org/video", revision=commits[0], dtype="float16", device="cpu")) == first
    assert model_identity(ModelConfig(id="org/video", revision="main", dtype="float16", device="cpu")) == moved
    # Offline and not in the cache: a clear error naming the id.
    with pytest.raises(ModelUnavailable, match="org/missing"):
        model_identity(ModelConfig(id="org/missing", dtype="float16", device="cpu"))


def test_adapter_of_a_2_block_model_is_never_used_on_a_4_block_model(tmp_path, monkeypatch):
    from dreamrunner_cli.adapt import trainer
    from dreamrunner_cli.stages import adapt as stage

    folder = _save_tiny(tmp_path / "model", num_layers=2)
    over = [f"model.id={folder}", "adapt.steps=2", "adapt.spatial_skip_prob=0"]
    cfg = resolve_config(preset="tiny", overrides=over)
    clips = clips_folder(tmp_path / "clips")
    trained: list[list[int]] = []
    real = trainer.train_lora

    def counting(transformer, scheduler, data, spec, **kw):
        trained.append(list(spec.blocks))
        return real(transformer, scheduler, data, spec, **kw)

    monkeypatch.setattr(trainer, "train_lora", counting)
    ws1 = make_workspace(tmp_path / "ws1")
    stage.run(ws1, cfg, clips={"walking": clips}, motions=["walking"], progress=False)
    assert trained == [[0]]
    # The same folder path now holds a 4-block model: another story must train anew, on blocks 0 and 2.
    _save_tiny(folder, num_layers=4)
    ws2 = make_workspace(tmp_path / "ws2")
    r2 = stage.run(ws2, cfg, clips={"walking": clips}, motions=["walking"], progress=False)
    assert [a["source"] for a in r2["adapters"]] == ["trained"] and trained == [[0], [0, 2]]
    assert json.loads((ws2.adapters_dir / "motion/walking/adapter.json").read_text())["blocks"] == [0, 2]
    # The first workspace is stale too (its model changed), and says so.
    dry = stage.run(ws1, cfg, clips={"walking": clips}, motions=["walking"], dry_run=True, progress=False)
    assert [i["action"] for i in dry["items"]] == ["would run"]

    # Even if a cache entry were found under the same key (a stale or colliding entry), an adapter whose blocks
    # do not fit the model is never written out: it is trained again instead.
    _save_tiny(folder, num_layers=2)
    monkeypatch.setattr(stage, "recipe_key", lambda rec: "same-key-for-everything")
    ws3 = make_workspace(tmp_path / "ws3")
    stage.run(ws3, cfg, clips={"walking": clips}, motions=["walking"], progress=False)  # 2 blocks: cached
    _save_tiny(folder, num_layers=4)
    ws4 = make_workspace(tmp_path / "ws4")
    r4 = stage.run(ws4, cfg, clips={"walking": clips}, motions=["walking"], progress=False)
    assert [a["source"] for a in r4["adapters"]] == ["trained"]
    assert json.loads((ws4.adapters_dir / "motion/walking/adapter.json").read_text())["blocks"] == [0, 2]


def test_latents_are_not_reused_across_models(tmp_path):
    from dreamrunner_cli.adapt.data import motion_examples
    from dreamrunner_cli.adapt.encode import Geometry, encode_examples
    from dreamrunner_cli.schema import Motion

    ex = motion_examples(tmp_path, Motion(id="walking", description="walking"), clips_folder(tmp_path / "clips"))
    geom = Geometry(64, 64, 9)
    a, b = build_tiny_pipeline(seed=0), build_tiny_pipeline(seed=1)
    cfg = ModelConfig(id="tiny", dtype="float32", device="cpu")
    ia, ib = model_identity(cfg, a), model_identity(cfg, b)
    assert ia != ib  # same id string, different weights
    stats: dict[str, int] = {}
    encode_examples(a, ex, geom, ia, stats)
    encode_examples(b, ex, geom, ib, stats)
    assert stats == {"latents_computed": 4, "embeds_computed": 4}


def test_dry_run_resolves_the_tiny_model_without_importing_torch(tmp_path):
    """`dreamrunner status` dry-runs every stage: naming the built-in model must not load torch."""
    import subprocess
    import sys

    ws = make_workspace(tmp_path / "ws")
    clips = clips_folder(tmp_path / "clips")
    code = ("import sys, json; from pathlib import Path; from dreamrunner_cli.config import resolve_config; "
            "from dreamrunner_cli.stages import adapt; from dreamrunner_cli.workspace import Workspace; "
            f"r = adapt.run(Workspace(Path({str(ws.root)!r})), resolve_config(preset='tiny'), dry_run=True, "
            f"progress=False, clips={{'walking': Path({str(clips)!r})}}); "
            "print(json.dumps({'torch': 'torch' in sys.modules, 'actions': [i['action'] for i in r['items']]}))")
    out = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True).strip().splitlines()[-1])
    assert out == {"torch": False, "actions": ["would run", "would run"]}
