"""The paper presets render what the paper renders (issue: real-model fidelity), proven on the paths production runs:
the real scheduler config, the VAE's real frame arithmetic, the real mask build, stitching by stream copy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from dreamrunner_cli.cli import app
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import UsageError
from dreamrunner_cli.models.known_configs import KNOWN_SCHEDULER_CONFIGS
from dreamrunner_cli.schema import Keyframe, ObjectEntity, Plan, Region, Scene
from dreamrunner_cli.sr3ai.attention import RegionMask
from dreamrunner_cli.sr3ai.geometry import check_num_frames, decoded_frames, latent_frames_for, valid_num_frames
from dreamrunner_cli.sr3ai.geometry_source import geometry_for
from dreamrunner_cli.sr3ai.regions import keyframe_for_latent, scene_regions, vanishing_regions
from dreamrunner_cli.workspace import Workspace, write_json_atomic

runner = CliRunner()


# Presets --------------------------------------------------------------------------------------------------------


def test_the_2b_preset_is_exactly_the_authors_setting():
    cfg = resolve_config("cogvideox-2b")
    r = cfg.render
    assert (cfg.model.id, cfg.model.dtype) == ("THUDM/CogVideoX-2b", "float16")
    assert (r.num_frames, r.scheduler, r.guidance_scale, r.steps, r.height, r.width, r.fps) == \
        (48, "dpm", 9.0, 50, 480, 720, 8)
    assert (r.character_lora_scale, r.motion_lora_scale) == (1.0, 1.0)
    assert geometry_for(cfg.model.id, r.height, r.width, r.num_frames).latent_frames == 12
    # the native 49 frames stay one override away
    assert resolve_config("cogvideox-2b", ["render.num_frames=49"]).render.num_frames == 49


def test_a_workspace_saved_with_one_lora_scale_still_loads(tmp_path):
    saved = tmp_path / "config.json"
    data = resolve_config("tiny").model_dump()
    data["render"].pop("character_lora_scale")
    data["render"].pop("motion_lora_scale")
    data["render"]["lora_scale"] = 0.7
    saved.write_text(json.dumps(data))
    r = resolve_config(saved=saved).render
    assert (r.character_lora_scale, r.motion_lora_scale) == (0.7, 0.7)


# Sampler ----------------------------------------------------------------------------------------------------------


def test_tiny_pipeline_ships_the_real_2b_scheduler_and_render_swaps_in_dpm_from_it():
    from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler

    from dreamrunner_cli.models.tiny import build_tiny_pipeline
    from dreamrunner_cli.sr3ai.pipeline import use_scheduler

    pipe = build_tiny_pipeline()
    real = KNOWN_SCHEDULER_CONFIGS["THUDM/CogVideoX-2b"]
    assert type(pipe.scheduler) is CogVideoXDDIMScheduler  # what THUDM/CogVideoX-2b ships
    for key, value in real.items():
        if not key.startswith("_"):
            assert pipe.scheduler.config[key] == value, key
    info = use_scheduler(pipe, "dpm")
    assert type(pipe.scheduler) is CogVideoXDPMScheduler
    assert info == {"class": "CogVideoXDPMScheduler", "prediction_type": "v_prediction", "snr_shift_scale": 3.0,
                    "timestep_spacing": "trailing"}
    assert pipe.scheduler.config.rescale_betas_zero_snr is True
    use_scheduler(pipe, "ddim")
    assert type(pipe.scheduler) is CogVideoXDDIMScheduler and pipe.scheduler.config.snr_shift_scale == 3.0


def test_render_records_the_dpm_sampler_and_ddim_is_a_different_video(tmp_path):
    from dreamrunner_cli.stages import render as stage
    from dreamrunner_cli.video import read_video
    from dreamrunner_cli.workspace import Records

    ws = _workspace(tmp_path, [_scene("s01", [(0.0, 0.0, 0.5, 1.0)])])
    cfg = resolve_config("tiny", ["render.require_adapters=false"])
    stage.run(ws, cfg, progress=False)
    rec = Records.load(ws).get("render", "s01")
    assert rec["scheduler"]["class"] == "CogVideoXDPMScheduler" and rec["scheduler"]["snr_shift_scale"] == 3.0
    dpm, _ = read_video(ws.scene_video("s01"))
    again = stage.run(ws, resolve_config("tiny", ["render.require_adapters=false", "render.scheduler=ddim"]),
                      progress=False)
    assert again["items"][0]["reason"] == "config.render.scheduler dpm → ddim"
    ddim, _ = read_video(ws.scene_video("s01"))
    assert np.abs(dpm.astype(int) - ddim).max() > 0


# Frame counts -----------------------------------------------------------------------------------------------------


def test_every_frame_count_1_to_64_is_accepted_exactly_when_the_vae_decodes_it_back():
    """Against what the tiny CogVideoX VAE really decodes (same causal VAE architecture as the real one)."""
    from dreamrunner_cli.models.tiny import build_tiny_components

    vae = build_tiny_components()["vae"]
    decoded: dict[int, int] = {}
    for n in range(1, latent_frames_for(64) + 1):
        with torch.no_grad():
            decoded[n] = vae.decode(torch.zeros(1, 4, n, 2, 2)).sample.shape[2]
        assert decoded_frames(n) == decoded[n]
    for f in range(1, 65):
        exact = decoded[latent_frames_for(f)] == f
        assert valid_num_frames(f) == exact, f
        if exact:
            check_num_frames(f)
        else:
            with pytest.raises(UsageError):
                check_num_frames(f)
    assert [f for f in range(1, 65) if valid_num_frames(f)] == [1, 8, 9, 16, 17, 24, 25, 32, 33, 40, 41, 48, 49,
                                                                56, 57, 64]


def test_a_frame_count_the_vae_cannot_give_back_is_refused_naming_the_nearest(tmp_path):
    with pytest.raises(UsageError) as err:
        check_num_frames(45)
    assert "48 frames" in err.value.message and "41 or 48" in err.value.hint
    ws = _workspace(tmp_path, [_scene("s01", [(0.0, 0.0, 0.5, 1.0)])])
    res = runner.invoke(app, ["render", str(ws.root), "--set", "render.num_frames=13", "--json"])
    assert res.exit_code == 2, res.output
    assert not ws.renders_dir.exists()


def test_keyframe_map_follows_the_real_latent_count():
    g48 = geometry_for("THUDM/CogVideoX-2b", 480, 720, 48)
    assert keyframe_for_latent(g48, 6) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    g49 = geometry_for("THUDM/CogVideoX-2b", 480, 720, 49)
    assert keyframe_for_latent(g49, 6) == [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    g16 = geometry_for("THUDM/CogVideoX-2b", 480, 720, 16)  # 4 latents, 16 frames
    assert keyframe_for_latent(g16, 2) == [0, 0, 1, 1]


# Mask build --------------------------------------------------------------------------------------------------------


def _reference_dense(mask: RegionMask) -> torch.Tensor:
    b, v = mask.bits, mask.is_video
    return (v[:, None] & v[None, :]) | ((b[:, None] & b[None, :]) != 0)


@pytest.fixture
def two_region_mask(monkeypatch):
    import dreamrunner_cli.sr3ai.attention as attention

    monkeypatch.setattr(attention, "CHUNK_ELEMENTS", 5000)  # many chunks at a small size
    geom = geometry_for("tiny", 128, 160, 17)  # 5 latent frames × 8 × 10 tokens + 3 prompts × 16 = 448
    regions = scene_regions(_scene("s01", [(0.0, 0.0, 0.5, 1.0), (0.4, 0.2, 1.0, 0.7)]), geom)
    return regions


def test_chunked_dense_and_additive_masks_equal_the_rule(two_region_mask):
    mask = RegionMask.from_regions(two_region_mask, "sdpa", "cpu")
    assert mask.seq_len % 128 and mask.seq_len > 200
    want = _reference_dense(mask)
    assert torch.equal(mask.dense()[0, 0], want)
    add = mask.additive(torch.float16)[0, 0]
    assert torch.equal(add == 0, want) and torch.isinf(add[~want]).all()
    assert add.untyped_storage().nbytes() == mask.seq_len * (-(-mask.seq_len // 16) * 16) * 2


def test_block_mask_from_row_chunks_equals_create_block_mask(two_region_mask):
    from torch.nn.attention.flex_attention import create_block_mask

    mask = RegionMask.from_regions(two_region_mask, "flex", "cpu")
    ours = mask.block_mask()
    S = mask.seq_len
    theirs = create_block_mask(mask.mask_mod(), None, None, S, S, device="cpu")
    assert torch.equal(ours.to_dense(), theirs.to_dense())
    # full tiles must really be fully allowed (they skip mask_mod), and never cut by the end of the sequence
    dense, T = _reference_dense(mask), 128
    n = -(-S // T)
    full = ours.full_kv_num_blocks[0, 0]
    for q in range(n):
        for k in ours.full_kv_indices[0, 0, q, : int(full[q])].tolist():
            tile = dense[q * T:(q + 1) * T, k * T:(k + 1) * T]
            assert tile.shape == (T, T) and bool(tile.all())


def test_mask_build_peak_memory_is_at_most_1_5x_the_mask_at_the_full_2b_geometry():
    """P = 4 prompts, 49 frames (S = 18,454): the old build's int64 S×S temporary took 3.3 GB for a 0.34 GB mask.
    Measured as the growth of a fresh process's peak RSS (the benchmark's own measurement)."""
    from dreamrunner_cli.sr3ai.bench import mask_build_memory

    m = mask_build_memory("full", prompts=4, backend="sdpa", device="cpu")
    assert m["seq_len"] == 18454 and m["mask_mib"] == pytest.approx(18454 ** 2 / 2**20, abs=0.1)
    assert m["ratio"] <= 1.5, m


# Adapters, vanishing boxes -------------------------------------------------------------------------------------------


def test_boxes_narrower_than_a_token_are_warned_about_in_render_and_masks(tmp_path):
    from dreamrunner_cli.stages import render as stage

    sliver = (0.50, 0.0, 0.505, 1.0)  # 0.005 of 4 token columns: covers none
    ws = _workspace(tmp_path, [_scene("s01", [(0.0, 0.0, 0.5, 1.0), sliver])])
    geom = geometry_for("tiny", 64, 64, 9)
    warnings = vanishing_regions(ws_plan(ws).scene("s01"), geom)
    assert len(warnings) == 6 and "scene s01, key frame 1, entity e1" in warnings[0]
    dry = stage.run(ws, resolve_config("tiny"), dry_run=True, progress=False)
    assert any("covers no token" in n for n in dry["notes"])
    res = runner.invoke(app, ["masks", str(ws.root), "--json"])
    assert res.exit_code == 0 and "covers no token" in res.stderr
    # a box past the frame is clipped, not wrapped, and an off-screen one is not "vanishing"
    assert vanishing_regions(_scene("s02", [(0.8, 0.4, 1.3, 0.7), (1.0, 0.4, 1.3, 0.7)]), geom) == []


def test_boxes_past_the_frame_cover_their_visible_part():
    geom = geometry_for("THUDM/CogVideoX-2b", 480, 720, 48)
    r = scene_regions(_scene("s01", [(0.8, 0.4, 1.1, 0.7), (-0.2, 0.3, 0.1, 0.6)]), geom)
    right = r.membership[0, 0]
    assert right[12:21, 36:45].all() and right.sum() == 9 * 9  # x 36..45 clipped at 45, y round(12)..round(21)
    left = r.membership[1, 0]
    assert left[9:18, 0:4].all() and left.sum() == 9 * 4  # negative start clipped to 0, not wrapped


# Stitching ------------------------------------------------------------------------------------------------------


def test_story_is_stitched_by_stream_copy_with_bit_identical_frames(tmp_path):
    from dreamrunner_cli.stages import render as stage
    from dreamrunner_cli.video import read_video
    from dreamrunner_cli.workspace import Records

    ws = _workspace(tmp_path, [_scene("s01", [(0.0, 0.0, 0.5, 1.0)]), _scene("s02", [(0.5, 0.0, 1.0, 1.0)])])
    stage.run(ws, resolve_config("tiny", ["render.require_adapters=false"]), progress=False)
    assert Records.load(ws).get("render", "story")["stitch"] == "copy"
    story, _ = read_video(ws.story_video)
    clips = np.concatenate([read_video(ws.scene_video(s))[0] for s in ("s01", "s02")])
    assert story.shape == clips.shape and np.array_equal(story, clips)


def test_clips_with_different_codec_parameters_are_reencoded(tmp_path):
    from dreamrunner_cli.video import concat_videos, read_video, write_video

    rng = np.random.default_rng(0)
    a, b = tmp_path / "a.mp4", tmp_path / "b'quoted.mp4"
    write_video(a, rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), 8)
    write_video(b, rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), 16)
    assert concat_videos([a, b], tmp_path / "ab.mp4", 8) == "reencode"
    assert read_video(tmp_path / "ab.mp4")[0].shape[0] == 16
    assert concat_videos([a, b, a], tmp_path / "aba.mp4", 8) == "reencode"
    assert concat_videos([b, b], tmp_path / "bb.mp4", 16) == "copy"  # a quote in the path survives the list file


# Helpers --------------------------------------------------------------------------------------------------------


def _scene(sid: str, boxes: list[tuple]) -> Scene:
    # model_construct: boxes past the frame are the authors' format; the region rule must handle them whatever the
    # plan schema's own checks say.
    regions = [Region.model_construct(entity=f"e{i}", motion="none", caption=f"thing {i} in a garden", box=b)
               for i, b in enumerate(boxes)]
    return Scene(id=sid, narration="n", background="a garden", keyframes=[Keyframe(regions=regions)] * 6)


def _workspace(tmp_path: Path, scenes: list[Scene]) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir(parents=True)
    entities = sorted({r.entity for s in scenes for kf in s.keyframes for r in kf.regions})
    plan = Plan(title="t", objects=[ObjectEntity(id=e) for e in entities], scenes=scenes)
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    write_json_atomic(ws.config, resolve_config("tiny").model_dump())
    return ws


def ws_plan(ws: Workspace) -> Plan:
    from dreamrunner_cli.schema import load_plan

    return load_plan(ws.plan)


def test_preview_pictures_are_written_during_a_render_and_change_no_fingerprint(tmp_path):
    from PIL import Image

    from dreamrunner_cli.stages import render as stage

    ws = _workspace(tmp_path, [_scene("s01", [(0.0, 0.0, 0.5, 1.0)])])
    cfg = resolve_config("tiny", ["render.require_adapters=false", "render.preview_every=1"])
    stage.run(ws, cfg, progress=False)
    preview = ws.renders_dir / ".preview" / "s01.png"
    assert Image.open(preview).size == (3 * 64, 64)  # first, middle and last latent frame side by side
    assert not list((ws.renders_dir / ".preview").glob(".tmp-*"))
    off = stage.run(ws, resolve_config("tiny", ["render.require_adapters=false"]), progress=False)
    assert [it["action"] for it in off["items"]] == ["skipped", "skipped"]  # s01 and story
