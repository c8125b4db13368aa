"""The adapt stage: losses, data, LoRA placement, learning, diffusers round trip, caches, CLI (CPU, tiny models)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from adapt_fixtures import clips_folder, make_workspace, moving_square, write_clip

from dreamrunner_cli.adapt import losses
from dreamrunner_cli.adapt.data import (
    Example,
    caption_from_filename,
    character_caption,
    motion_examples,
    sample_indices,
    to_model_pixels,
)
from dreamrunner_cli.adapt.encode import Encoded, Geometry, encode_examples, prompt_embeddings, vae_latents
from dreamrunner_cli.adapt.lora import TARGET_LINEARS, save_lora, select_blocks
from dreamrunner_cli.adapt.trainer import TrainSpec, evaluate_loss, train_lora
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid, MissingUpstream, UsageError
from dreamrunner_cli.models.tiny import build_tiny_pipeline
from dreamrunner_cli.schema import Character, Motion

pytestmark = pytest.mark.usefixtures("one_thread")


# Losses ----------------------------------------------------------------------------------------------------------


def test_debiased_loss_equals_hand_computation():
    # pred: 3 latent frames of 2 values each, laid out (B=1, F=3, C=1, h=1, w=2); target: zeros except one value.
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).reshape(1, 3, 1, 1, 2)
    target = torch.zeros_like(pred)
    target[0, 2, 0, 0, 1] = 1.0
    anchor, beta = 1, 1.0
    # By hand: φ(u) = √2·u − u[1] per frame, then the mean of squared differences over all 6 values.
    s = math.sqrt(2.0)
    phi_pred = [[s * 1 - 3, s * 2 - 4], [s * 3 - 3, s * 4 - 4], [s * 5 - 3, s * 6 - 4]]
    phi_target = [[0 - 0, 0 - 0], [0, 0], [0, s * 1 - 0]]
    hand = sum((phi_pred[f][i] - phi_target[f][i]) ** 2 for f in range(3) for i in range(2)) / 6
    assert losses.debiased_loss(pred, target, anchor, beta).item() == pytest.approx(hand, rel=1e-6)
    # Temporal loss = plain MSE + debiased, not re-weighted.
    mse = sum((pred.flatten()[j] - target.flatten()[j]).item() ** 2 for j in range(6)) / 6
    assert losses.temporal_loss(pred, target, anchor, beta).item() == pytest.approx(mse + hand, rel=1e-6)
    # β = 0 is plain MSE; another β and anchor change the value.
    assert losses.debiased_loss(pred, target, 0, 0.0).item() == pytest.approx(mse, rel=1e-6)
    assert losses.debiased_loss(pred, target, 0, 2.0).item() != pytest.approx(hand, rel=1e-3)


def test_debias_removes_what_frames_share():
    # Frames that differ only by a constant appearance offset: with a large β the debiased loss all but ignores
    # the shared offset (φ tends to frame differences), the plain MSE does not. (float64: φ cancels large terms.)
    base = torch.randn(1, 4, 2, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shifted = base + 5.0  # same motion, different appearance
    plain = torch.nn.functional.mse_loss(base, shifted).item()
    deb = losses.debiased_loss(base, shifted, anchor=0, beta=100.0).item()
    # φ(u) = √(β²+1)u − βu[a]: the shared offset 5 contributes (√(β²+1) − β)·5 ≈ 0.025 per value.
    assert plain == pytest.approx(25.0, rel=1e-5)
    assert deb == pytest.approx(((math.sqrt(100.0**2 + 1) - 100.0) * 5.0) ** 2, rel=1e-3)


def test_spatial_loss_uses_one_frame_only():
    pred, target = torch.randn(1, 3, 2, 2, 2), torch.randn(1, 3, 2, 2, 2)
    a = losses.spatial_loss(pred, target, 1).item()
    pred2 = pred.clone()
    pred2[:, 0] += 10
    pred2[:, 2] -= 10
    assert losses.spatial_loss(pred2, target, 1).item() == pytest.approx(a)
    assert a == pytest.approx(torch.nn.functional.mse_loss(pred[:, 1], target[:, 1]).item())


# Data ------------------------------------------------------------------------------------------------------------


def test_frame_sampling_resize_and_range():
    assert sample_indices(100, 5) == [0, 25, 50, 74, 99]
    assert sample_indices(3, 6) == [0, 1, 2, 2, 2, 2]  # padded with the last frame
    x = to_model_pixels(moving_square(frames=4, size=64), 32, 48)
    assert x.shape == (1, 3, 4, 32, 48)
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.min() < -0.2  # [-1, 1], not [0, 1]


def test_captions():
    assert caption_from_filename(Path("a_man-walking_fast.mp4")) == "a man walking fast"
    assert character_caption(Character(id="t", description="a brown teddy bear", token="[v1]")) == \
        "a [v1] brown teddy bear"
    assert character_caption(Character(id="w", description="girl witch", token="[v4]")) == "[v4] girl witch"


def test_clip_sources(tmp_path):
    motion = Motion(id="walking", description="walking")
    # A folder given by hand: file names are captions, sorted by name.
    folder = clips_folder(tmp_path / "clips")
    ex = motion_examples(tmp_path, motion, folder)
    assert [e.caption for e in ex] == ["a man walking in the park", "a person walking to the right"]
    # The retrieve stage's manifest: kept[].file relative to the motion folder, kept[].caption.
    mdir = tmp_path / "retrieval" / "walking"
    write_clip(mdir / "clips" / "0001.mp4")
    (mdir / "manifest.json").write_text(json.dumps({"kept": [
        {"file": "clips/0001.mp4", "caption": "A woman walks down the street", "score": 0.3}]}))
    ex = motion_examples(tmp_path, motion, None)
    assert [(e.path.name, e.caption) for e in ex] == [("0001.mp4", "A woman walks down the street")]
    # A missing file is an error naming the manifest entry; no manifest names the motion and what to run.
    (mdir / "manifest.json").write_text(json.dumps({"kept": [{"file": "clips/nope.mp4", "caption": "x"}]}))
    with pytest.raises(InputInvalid, match=r"kept\[0\]\.file 'clips/nope.mp4'"):
        motion_examples(tmp_path, motion, None)
    with pytest.raises(MissingUpstream, match="motion 'running'") as err:
        motion_examples(tmp_path, Motion(id="running", description="running"), None)
    assert "dreamrunner retrieve" in err.value.hint and "--clips running=DIR" in err.value.hint


# LoRA placement, learning, loading into plain diffusers --------------------------------------------------------


def _encoded(pipe, clip=None, caption="a red square is moving right") -> list[Encoded]:
    px = to_model_pixels(moving_square() if clip is None else clip, 64, 64)
    return [Encoded(Example(Path("clip.mp4"), caption, "clip", "d"), vae_latents(pipe, px),
                    prompt_embeddings(pipe, caption, 16))]


def test_loras_sit_exactly_on_the_blocks_and_linears(tmp_path):
    from safetensors import safe_open

    pipe = build_tiny_pipeline(num_layers=4)
    data = _encoded(pipe)
    before = {n: p.clone() for n, p in pipe.transformer.named_parameters()}
    for kind, parity, blocks in (("motion", "even", [0, 2]), ("character", "odd", [1, 3])):
        assert select_blocks(4, parity) == blocks
        spec = TrainSpec(kind, steps=2, rank=3, lr=1e-3, weight_decay=0.0, dropout=0.0, seed=0, blocks=blocks,
                         spatial_blocks=[1, 3] if kind == "motion" else [])
        res = train_lora(pipe.transformer, pipe.scheduler, data, spec)
        path = save_lora(tmp_path / kind, res.state_dict, res.metadata)
        with safe_open(str(path), "pt") as f:
            keys = set(f.keys())
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
        expected = {f"transformer.transformer_blocks.{b}.{lin}.lora_{ab}.weight"
                    for b in blocks for lin in TARGET_LINEARS for ab in "AB"}
        assert keys == expected  # no spatial LoRA, no norm1/norm2 linears, no other block
        assert shapes["transformer.transformer_blocks.%d.ff.net.0.proj.lora_A.weight" % blocks[0]] == (3, 32)
        assert shapes["transformer.transformer_blocks.%d.ff.net.2.lora_B.weight" % blocks[0]] == (32, 3)
    # The base model is untouched: same weights, no adapters left, nothing trainable added.
    after = dict(pipe.transformer.named_parameters())
    assert set(after) == set(before)
    assert all(torch.equal(before[n], after[n]) for n in before)


def test_training_learns_and_plain_diffusers_loads_it(tmp_path):
    pipe = build_tiny_pipeline()
    data = _encoded(pipe)
    base_loss = evaluate_loss(pipe.transformer, pipe.scheduler, data, draws=12)
    spec = TrainSpec("motion", steps=40, rank=4, lr=1e-2, weight_decay=1e-4, dropout=0.0, seed=0, blocks=[0],
                     spatial_blocks=[1])
    res = train_lora(pipe.transformer, pipe.scheduler, data, spec)
    assert len(res.losses) == 40 and all(math.isfinite(v) for v in res.losses)
    assert any(v is None for v in res.spatial_losses) and any(v is not None for v in res.spatial_losses)
    save_lora(tmp_path / "walking", res.state_dict, res.metadata)

    # A plain diffusers CogVideoX pipeline (fresh, same base weights) loads the file and its output changes.
    plain = build_tiny_pipeline()
    plain.set_progress_bar_config(disable=True)

    def video():
        return plain(prompt="a red square is moving right", num_frames=9, height=64, width=64,
                     num_inference_steps=2, max_sequence_length=16, guidance_scale=1.0, output_type="pt",
                     generator=torch.Generator().manual_seed(0)).frames

    v0 = video()
    plain.load_lora_weights(str(tmp_path / "walking"), adapter_name="walking")
    v1 = video()
    assert (v0 - v1).abs().max() > 1e-3
    # The motion LoRA alone (no spatial LoRA) clearly lowers the v-prediction loss on the held-fixed draws.
    trained_loss = evaluate_loss(plain.transformer, plain.scheduler, data, draws=12)
    assert trained_loss < 0.7 * base_loss, (base_loss, trained_loss)


def test_character_and_rope_model_train():
    pipe = build_tiny_pipeline(rope=True)
    data = _encoded(pipe, caption="a [v1] brown teddy bear")
    spec = TrainSpec("character", steps=3, rank=2, lr=1e-3, weight_decay=0.0, dropout=0.1, seed=0, blocks=[1],
                     loss_frame="first")
    res = train_lora(pipe.transformer, pipe.scheduler, data, spec)
    assert len(res.losses) == 3 and all(math.isfinite(v) for v in res.losses)
    assert all(".transformer_blocks.1." in "." + k for k in res.state_dict)


def test_latents_and_embeddings_are_cached(tmp_path, monkeypatch):
    pipe = build_tiny_pipeline()
    folder = clips_folder(tmp_path / "clips")
    ex = motion_examples(tmp_path, Motion(id="walking", description="walking"), folder)
    geom = Geometry(64, 64, 9)
    stats: dict[str, int] = {}
    first = encode_examples(pipe, ex, geom, {"id": "tiny"}, stats)
    assert stats == {"latents_computed": 2, "embeds_computed": 2}
    assert first[0].latents.shape == (1, 3, 4, 8, 8)  # (1, F_latent, C, h, w)

    def boom(*a, **k):
        raise AssertionError("VAE called on a cache hit")

    monkeypatch.setattr(pipe.vae, "encode", boom)
    monkeypatch.setattr(pipe, "encode_prompt", boom)
    stats = {}
    again = encode_examples(pipe, ex, geom, {"id": "tiny"}, stats)
    assert stats == {"latents_computed": 0, "embeds_computed": 0}
    assert all(torch.equal(a.latents, b.latents) for a, b in zip(first, again))
    # Another geometry is another key: computed again (and the spy fires).
    with pytest.raises(AssertionError, match="cache hit"):
        encode_examples(pipe, ex, Geometry(64, 64, 17), {"id": "tiny"})


# The stage: outputs, records, reuse across workspaces ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_pipe():
    from dreamrunner_cli.models.loading import load_pipeline

    return load_pipeline(resolve_config(preset="tiny").model)


def test_stage_writes_adapters_and_reuses_them_in_another_workspace(tmp_path, monkeypatch, tiny_pipe):
    from safetensors.torch import load_file

    from dreamrunner_cli.adapt import trainer
    from dreamrunner_cli.stages import adapt as stage

    cfg = resolve_config(preset="tiny")
    clips = clips_folder(tmp_path / "clips")
    ws = make_workspace(tmp_path / "ws1")
    result = stage.run(ws, cfg, clips={"walking": clips}, pipeline=tiny_pipe, progress=False)
    assert [(i["item"], i["action"]) for i in result["items"]] == [("motion/walking", "ran"),
                                                                   ("character/teddy", "ran")]
    m = json.loads((ws.adapters_dir / "motion/walking/adapter.json").read_text())
    c = json.loads((ws.adapters_dir / "character/teddy/adapter.json").read_text())
    assert (m["kind"], m["blocks"], m["rank"], m["steps"], m["source"]) == ("motion", [0], 4, 8, "trained")
    assert (c["kind"], c["blocks"], c["token"], c["steps"]) == ("character", [1], "[v1]", 6)
    assert len(m["loss_curve"]) == 8 and len(c["loss_curve"]) == 6
    assert [d["caption"] for d in c["data"]] == ["a [v1] brown teddy bear"] * 2
    assert m["base_model"]["id"] == "tiny" and m["recipe_key"] and m["data_fingerprint"]
    assert not (ws.adapters_dir / ".checkpoints").exists()  # dropped after success
    # Re-run: up to date, nothing trains.
    again = stage.run(ws, cfg, clips={"walking": clips}, pipeline=tiny_pipe, progress=False)
    assert {i["action"] for i in again["items"]} == {"skipped"}

    # A second workspace (another story) with the same motion clips and character images: no training step runs.
    def spy(*a, **k):
        raise AssertionError("trained although the adapter is cached")

    monkeypatch.setattr(trainer, "train_lora", spy)
    monkeypatch.setattr(stage._PipelineLoader, "get", spy)  # not even the model is loaded
    ws2 = make_workspace(tmp_path / "ws2")
    r2 = stage.run(ws2, cfg, clips={"walking": clips}, pipeline=None, progress=False)
    assert [a["source"] for a in r2["adapters"]] == ["cache", "cache"]
    for kind, item in (("motion", "walking"), ("character", "teddy")):
        w1 = load_file(str(ws.adapters_dir / kind / item / "pytorch_lora_weights.safetensors"))
        w2 = load_file(str(ws2.adapters_dir / kind / item / "pytorch_lora_weights.safetensors"))
        assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)
    rec2 = json.loads((ws2.adapters_dir / "character/teddy/adapter.json").read_text())
    assert rec2["source"] == "cache" and rec2["data"][0]["source"] == "refs/teddy/1.png"

    # --force retrains instead of reading the cache; a hyper-parameter change is another recipe: both would train.
    with pytest.raises(AssertionError, match="trained although"):
        stage.run(ws2, cfg, clips={"walking": clips}, characters=["teddy"], force=True, progress=False)
    cfg3 = resolve_config(preset="tiny", overrides=["adapt.rank=2"])
    with pytest.raises(AssertionError, match="trained although"):
        stage.run(ws2, cfg3, clips={"walking": clips}, motions=["walking"], progress=False)


def test_stage_selection_and_errors(tmp_path, tiny_pipe):
    from dreamrunner_cli.stages import adapt as stage

    cfg = resolve_config(preset="tiny")
    ws = make_workspace(tmp_path / "ws")
    # No retrieval output and no --clips: the error names the motion and what to run; nothing is trained.
    with pytest.raises(MissingUpstream, match="motion 'walking'"):
        stage.run(ws, cfg, pipeline=tiny_pipe, progress=False)
    with pytest.raises(UsageError, match="--motion 'jumping'"):
        stage.run(ws, cfg, motions=["jumping"], progress=False)
    # Sharding: --character only trains the character (the motion's missing clips do not matter).
    dry = stage.run(ws, cfg, characters=["teddy"], dry_run=True, progress=False)
    assert [(i["item"], i["action"]) for i in dry["items"]] == [("character/teddy", "would run")]
    assert not ws.adapters_dir.exists()
    # A listed image that is missing names the JSON path.
    (ws.root / "refs/teddy/2.png").unlink()
    with pytest.raises(InputInvalid, match=r"plan.characters\[0\].reference_images\[1\]"):
        stage.run(ws, cfg, characters=["teddy"], progress=False)
    # A character without images: skipped with a note, or an error when asked for by id.
    ws2 = make_workspace(tmp_path / "ws2", with_images=False)
    res = stage.run(ws2, cfg, clips={"walking": clips_folder(tmp_path / "c")}, motions=[], characters=None,
                    dry_run=True, progress=False)
    assert res["items"] == []
    res = stage.run(ws2, cfg, clips={"walking": tmp_path / "c"}, dry_run=True, progress=False)
    assert any("no reference images" in n for n in res["notes"])
    with pytest.raises(InputInvalid, match="no reference images"):
        stage.run(ws2, cfg, characters=["teddy"], progress=False)


def test_cli(tmp_path):
    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app

    ws = make_workspace(tmp_path / "ws")
    clips = clips_folder(tmp_path / "clips")
    runner = CliRunner()
    res = runner.invoke(app, ["adapt", str(ws.root), "--preset", "tiny"], catch_exceptions=False)
    assert res.exit_code == 3 and "walking" in res.output and "dreamrunner retrieve" in res.output
    res = runner.invoke(app, ["adapt", str(ws.root), "--clips", "nonsense"], catch_exceptions=False)
    assert res.exit_code == 2
    assert not ws.config.exists()  # the refused command above saved no preset
    res = runner.invoke(app, ["adapt", str(ws.root), "--preset", "tiny", "--motion", "walking", "--clips",
                              f"walking={clips}", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [(a["kind"], a["id"], a["source"]) for a in out["adapters"]] == [("motion", "walking", "trained")]
    assert (ws.adapters_dir / "motion/walking/pytorch_lora_weights.safetensors").is_file()
    # The hand-given folder is remembered: a later run without --clips finds the same data (up to date).
    res = runner.invoke(app, ["adapt", str(ws.root), "--motion", "walking", "--dry-run", "--json"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert [(i["item"], i["action"]) for i in json.loads(res.stdout)["items"]] == [("motion/walking", "skipped")]
