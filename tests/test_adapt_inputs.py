"""Issue 11, inputs people really have: phone photos, transparent PNGs, 16-bit PNGs, huge images, decompression
bombs, 1-frame videos, images renamed .mp4; every input is checked before anything trains (all made in code)."""

from __future__ import annotations

import json
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from adapt_fixtures import clips_folder, make_workspace, write_image
from PIL import Image

from dreamrunner_cli.adapt.data import load_image_pixels, read_clip_frames, read_image_frame
from dreamrunner_cli.config import resolve_config
from dreamrunner_cli.errors import InputInvalid
from dreamrunner_cli.video import write_video

pytestmark = pytest.mark.usefixtures("one_thread")


RED, BLUE = (255, 0, 0), (0, 0, 255)


# Reference images -----------------------------------------------------------------------------------------------


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40 wide × 20 tall, red left half, blue right half, with EXIF "rotate 90° clockwise to display" (6),
    # as phones store portraits. Displayed, it is 20 wide × 40 tall: red on top, blue at the bottom.
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = RED
    stored[:, 20:] = BLUE
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "portrait.png"
    img.save(path, exif=exif)
    frame = read_image_frame(path, 32, 32).astype(int)
    top, bottom = frame[:12].reshape(-1, 3).mean(0), frame[-12:].reshape(-1, 3).mean(0)
    assert top[0] > 200 and top[2] < 50, top  # red on top
    assert bottom[2] > 200 and bottom[0] < 50, bottom  # blue at the bottom


def test_transparency_is_white_not_black(tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)  # fully transparent (and black underneath)
    rgba[8:24, 8:24] = (200, 30, 30, 255)  # an opaque red square
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    frame = read_image_frame(path, 32, 32)
    assert frame[0, 0].tolist() == [255, 255, 255]
    assert frame[16, 16].tolist() == [200, 30, 30]
    # A palette image with a transparent index: the same.
    pal = Image.fromarray(rgba, mode="RGBA").convert("P")
    pal.info["transparency"] = pal.getpixel((0, 0))
    pal.save(tmp_path / "pal.png", transparency=pal.getpixel((0, 0)))
    assert read_image_frame(tmp_path / "pal.png", 32, 32)[0, 0].tolist() == [255, 255, 255]


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 48).reshape(48, 64).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode == "I;16"
    frame = read_image_frame(path, 48, 64).astype(float)
    assert frame.mean() == pytest.approx(127.5, abs=3)  # a plain RGB conversion gives ≈ 254 (almost white)
    assert frame.min() <= 2 and frame.max() >= 253


def test_image_is_resized_before_it_is_repeated(tmp_path):
    # 2000×1500 RGB = 9 MB decoded; repeating it 9 times at full size would allocate 81 MB of numpy memory.
    yy, xx = np.mgrid[0:1500, 0:2000]
    big = np.stack([(xx % 256), (yy % 256), ((xx + yy) % 256)], -1).astype(np.uint8)
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path)
    del big, yy, xx
    tracemalloc.start()
    try:
        x = load_image_pixels(path, 64, 64, 9)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert x.shape == (1, 3, 9, 64, 64)
    assert torch.equal(x[:, :, 0], x[:, :, 8])  # a static video
    assert peak < 20 * 2**20, peak / 2**20


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A small valid PNG whose header claims width × height (a decompression bomb's shape)."""
    raw = b"".join(b"\x00" + b"\x00" * 8 for _ in range(8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))
    return path


def test_pixel_budget_and_decompression_bomb(tmp_path):
    bomb = _png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(InputInvalid, match="bomb.png") as err:
        read_image_frame(bomb, 32, 32)
    assert err.value.hint
    big = _png_claiming(tmp_path / "tall.png", 200, 200)
    with pytest.raises(InputInvalid, match=r"tall.png is 200×200.*adapt.max_image_pixels"):
        read_image_frame(big, 32, 32, max_pixels=10_000)
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(InputInvalid, match="junk.png"):
        read_image_frame(tmp_path / "junk.png", 32, 32)


# Reference clips ------------------------------------------------------------------------------------------------


def test_clips_too_short_or_not_videos_are_rejected(tmp_path):
    frames = np.full((1, 32, 32, 3), 120, np.uint8)
    one = write_video(tmp_path / "one.mp4", frames, fps=8)
    with pytest.raises(InputInvalid, match=r"one.mp4 has a still image.*at least 4 frames"):
        read_clip_frames(one, 32, 32, 9, 6.0, min_frames=4)
    Image.fromarray(frames[0]).save(tmp_path / "photo.png")
    (tmp_path / "photo.png").rename(tmp_path / "photo.mp4")
    with pytest.raises(InputInvalid, match="photo.mp4"):
        read_clip_frames(tmp_path / "photo.mp4", 32, 32, 9, 6.0, min_frames=4)
    three = write_video(tmp_path / "three.mp4", np.repeat(frames, 3, 0), fps=8)
    with pytest.raises(InputInvalid, match=r"three.mp4 has 3 frames"):
        read_clip_frames(three, 32, 32, 9, 6.0, min_frames=4)
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 500)
    with pytest.raises(InputInvalid, match="junk.mp4"):
        read_clip_frames(tmp_path / "junk.mp4", 32, 32, 9, 6.0)


def test_clip_is_resized_while_read_and_only_its_first_seconds_decoded(tmp_path):
    # 3 s at 8 fps, 96×128: red for the first second, blue after.
    frames = np.zeros((24, 96, 128, 3), np.uint8)
    frames[:8] = RED
    frames[8:] = BLUE
    path = write_video(tmp_path / "two_colours.mp4", frames, fps=8)
    out = read_clip_frames(path, 32, 48, 5, max_seconds=1.0)
    assert out.shape == (5, 32, 48, 3) and out.dtype == np.uint8
    assert (out[..., 0].mean(), out[..., 2].mean()) > (200, -1) and out[..., 2].mean() < 60
    whole = read_clip_frames(path, 32, 48, 5, max_seconds=6.0)
    assert whole[-1, ..., 2].mean() > 200  # the blue part is there when the span covers it


# The stage: everything is checked before anything trains --------------------------------------------------------


def test_every_bad_input_is_reported_before_any_training(tmp_path, monkeypatch):
    from dreamrunner_cli.adapt import trainer
    from dreamrunner_cli.stages import adapt as stage

    def never(*a, **k):
        raise AssertionError("trained although an input is bad")

    monkeypatch.setattr(trainer, "train_lora", never)
    monkeypatch.setattr(stage._PipelineLoader, "get", never)  # not even the model is loaded
    cfg = resolve_config(preset="tiny")
    ws = make_workspace(tmp_path / "ws")
    (ws.root / "refs/teddy/2.png").write_bytes(b"\x89PNG\r\n\x1a\n corrupt")  # one corrupt reference image
    clips = clips_folder(tmp_path / "clips")
    write_video(clips / "zz_a_still.mp4", np.full((1, 64, 64, 3), 90, np.uint8), fps=8)  # and a 1-frame clip
    with pytest.raises(InputInvalid) as err:
        stage.run(ws, cfg, clips={"walking": clips}, progress=False)
    e = err.value
    assert "2 input files cannot be used" in e.message and "nothing was trained" in e.message
    assert len(e.details) == 2
    assert any("motion/walking" in d and "zz_a_still.mp4" in d for d in e.details)
    assert any("character/teddy" in d and "2.png" in d for d in e.details)
    assert not (ws.adapters_dir / "motion").exists() and not (ws.adapters_dir / "character").exists()

    # Through the CLI: exit 5, the file named.
    from typer.testing import CliRunner

    from dreamrunner_cli.cli import app

    res = CliRunner().invoke(app, ["adapt", str(ws.root), "--preset", "tiny", "--character", "teddy", "--json"],
                             catch_exceptions=False)
    assert res.exit_code == 5 and "2.png" in res.output


def test_clips_folder_gets_the_minimum_frames_check(tmp_path, monkeypatch):
    from dreamrunner_cli.adapt import trainer
    from dreamrunner_cli.stages import adapt as stage

    monkeypatch.setattr(trainer, "train_lora", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    folder = tmp_path / "clips"
    folder.mkdir()
    write_video(folder / "short.mp4", np.full((3, 64, 64, 3), 90, np.uint8), fps=8)
    ws = make_workspace(tmp_path / "ws")
    cfg = resolve_config(preset="tiny", overrides=["adapt.min_clip_frames=5"])
    with pytest.raises(InputInvalid, match=r"short.mp4 has 3 frames.*at least 5"):
        stage.run(ws, cfg, clips={"walking": folder}, motions=["walking"], progress=False)


def test_stage_records_the_recipe_and_exports_intermediate_steps(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    from dreamrunner_cli.stages import adapt as stage

    cfg = resolve_config(preset="tiny", overrides=["adapt.export_steps=[2,4,99]", "adapt.spatial_frames=1",
                                                    "adapt.gradient_checkpointing=auto"])
    clips = clips_folder(tmp_path / "clips")
    ws = make_workspace(tmp_path / "ws")
    write_image(ws.root / "refs/teddy/2.png", (10, 200, 10))
    stage.run(ws, cfg, clips={"walking": clips}, progress=False)
    for kind, item in (("motion", "walking"), ("character", "teddy")):
        folder = ws.adapters_dir / kind / item
        rec = json.loads((folder / "adapter.json").read_text())
        assert [s["step"] for s in rec["snapshots"]] == [2, 4]
        for s in rec["snapshots"]:
            weights = load_file(str(folder / s["weights"]))
            assert weights.keys() == load_file(str(folder / "pytorch_lora_weights.safetensors")).keys()
        for f in [folder / "pytorch_lora_weights.safetensors"] + [folder / s["weights"] for s in rec["snapshots"]]:
            with safe_open(str(f), "pt") as fh:  # trained with adapt.dropout 0.1, saved for inference with 0.0
                meta = json.loads(fh.metadata()["lora_adapter_metadata"])
            assert [v for k, v in meta.items() if k.endswith("lora_dropout")] == [0.0]
        t = rec["training"]
        assert t["gradient_checkpointing"] is False and t["gradient_checkpointing_reason"].startswith("auto")
        assert t["grad_scaler"] is False and t["saved_lora_dropout"] == 0.0 and t["export_steps"] == [2, 4]
        assert rec["base_model"]["source"] == "builtin" and rec["base_model"]["num_layers"] == 2
    assert json.loads((ws.adapters_dir / "motion/walking/adapter.json").read_text())[
        "hyperparameters"]["spatial_frames"] == 1
    # Another story reuses both from the cache, intermediate steps included.
    ws2 = make_workspace(tmp_path / "ws2")
    write_image(ws2.root / "refs/teddy/2.png", (10, 200, 10))
    r2 = stage.run(ws2, cfg, clips={"walking": clips}, progress=False)
    assert [a["source"] for a in r2["adapters"]] == ["cache", "cache"]
    a = load_file(str(ws.adapters_dir / "motion/walking/steps/step-000002/pytorch_lora_weights.safetensors"))
    b = load_file(str(ws2.adapters_dir / "motion/walking/steps/step-000002/pytorch_lora_weights.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
