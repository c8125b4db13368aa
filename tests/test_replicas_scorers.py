"""Replicas of the published scorer checkpoints (models/scorer_replicas.py) through the production loaders.

Each replica is the published repository's file layout at tiny size. The tests check that (1) its state-dict keys
are exactly those of the full-size architecture (built on the meta device, no memory), (2) it loads through the
same loader and settings a user's download goes through, and (3) the preprocessing the loader applies is the
checkpoint's own (X-CLIP: bilinear; DINOv2: short side 256 bicubic, centre crop 224, ImageNet statistics).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from dreamrunner_cli.errors import ModelUnavailable
from dreamrunner_cli.models import scorer_replicas as rep
from dreamrunner_cli.models import scorers


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    return rep.write_scorer_replicas(tmp_path_factory.mktemp("replicas"))


def frames(t: int = 8, h: int = 90, w: int = 160, seed: int = 0) -> np.ndarray:
    """Smooth frames with noise (a resampling filter shows on them, unlike on pure noise or flat colour)."""
    rng = np.random.default_rng(seed)
    ramp = np.stack(np.meshgrid(np.linspace(0, 255, w), np.linspace(0, 255, h)), -1)[..., [0, 1, 0]]
    out = [np.clip(np.roll(ramp, 7 * i, axis=1) + rng.normal(0, 25, ramp.shape), 0, 255) for i in range(t)]
    return np.stack(out).astype(np.uint8)


def _layer(key: str) -> str:
    """A key with its layer numbers replaced (``encoder.layer.#.mlp``): the replicas are shallower, not different."""
    return re.sub(r"\.\d+\.", ".#.", key)


def safetensors_layout(path) -> dict[str, tuple[str, int]]:
    """{key pattern: (dtype, ndim)} of a safetensors file, read from its header."""
    with safe_open(str(path), "pt") as f:
        return {_layer(k): (str(f.get_slice(k).get_dtype()), len(f.get_slice(k).get_shape())) for k in f.keys()}


def meta_layout(build) -> dict[str, int]:
    """{key pattern: ndim} of a full-size model's state dict, built on the meta device (no memory, no init cost)."""
    with torch.device("meta"):
        model = build()
    return {_layer(k): v.ndim for k, v in model.state_dict().items()}


def test_every_preset_scorer_has_a_replica():
    import open_clip

    from dreamrunner_cli.config import resolve_config

    for preset in ("cogvideox-2b", "cogvideox-5b"):
        cfg = resolve_config(preset=preset)
        for section in (cfg.retrieve, cfg.evaluate):
            tag = open_clip.get_pretrained_cfg(section.clip_model, section.clip_pretrained)
            assert tag["hf_hub"].rstrip("/") == rep.OPENAI_CLIP_REPO  # the repo open_clip downloads for the preset
            assert section.video_text_model == f"viclip:{rep.VICLIP_REPO}"
        assert cfg.evaluate.dino_model == rep.DINOV2_REPO and cfg.retrieve.detector == rep.YOLOS_REPO
    assert set(rep.SCORER_REPLICAS) == {rep.OPENAI_CLIP_REPO, rep.DINOV2_REPO, rep.VICLIP_REPO, rep.XCLIP_REPO,
                                        rep.YOLOS_REPO}


# open_clip: OpenAI's CLIP ViT-L/14 @336px ---------------------------------------------------------------------------


def test_openai_clip_replica_has_open_clips_published_layout(replicas):
    import open_clip

    folder = replicas[rep.OPENAI_CLIP_REPO]
    layout = safetensors_layout(folder / "open_clip_model.safetensors")
    full = meta_layout(lambda: open_clip.create_model("ViT-L-14-336-quickgelu", pretrained=None, device="meta"))
    # The key layout of the file open_clip downloads for the preset (layers: 2 here, 24 / 12 there).
    assert {k: n for k, (_, n) in layout.items()} == full
    assert {d for d, _ in layout.values()} == {"F32"}
    config = json.loads((folder / "open_clip_config.json").read_text())
    real = open_clip.get_model_config("ViT-L-14-336-quickgelu")
    assert config["model_cfg"]["quick_gelu"] is True and real["quick_gelu"] is True
    assert set(config["model_cfg"]) == set(real)
    tag = open_clip.get_pretrained_cfg("ViT-L-14-336-quickgelu", "openai")
    assert config["preprocess_cfg"] == {"mean": list(tag["mean"]), "std": list(tag["std"]),
                                        "interpolation": "bicubic", "resize_mode": "shortest"}


def test_openai_clip_replica_loads_by_folder_file_and_hub_id(replicas, tmp_path, monkeypatch):
    import huggingface_hub.constants

    folder = replicas[rep.OPENAI_CLIP_REPO]
    images = list(frames(2))
    by_dir = scorers.load_clip_scorer(f"local-dir:{folder}", None)
    by_file = scorers.load_clip_scorer(scorers.TINY_CLIP_NAME + scorers.QUICKGELU,
                                       str(folder / "open_clip_model.safetensors"))
    torch.testing.assert_close(by_dir.encode_images(images), by_file.encode_images(images))
    torch.testing.assert_close(by_dir.encode_texts(["a person"]), by_file.encode_texts(["a person"]))
    # The Hub id itself, read from a Hugging Face cache offline (what a user's `hf download` leaves).
    rep.write_hub_cache(tmp_path / "hub", rep.OPENAI_CLIP_REPO)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    by_hub = scorers.load_clip_scorer(f"hf-hub:{rep.OPENAI_CLIP_REPO}", None)
    torch.testing.assert_close(by_hub.encode_images(images), by_dir.encode_images(images))


def test_quickgelu_weights_in_a_gelu_model_are_refused_naming_the_fix(replicas):
    import open_clip

    weights = str(replicas[rep.OPENAI_CLIP_REPO] / "open_clip_model.safetensors")
    with pytest.raises(ModelUnavailable) as err:
        scorers.load_clip_scorer(scorers.TINY_CLIP_NAME, weights)  # GELU twin of the replica's architecture
    assert err.value.exit_code == 4 and "trained with QuickGELU" in err.value.message
    assert "open_clip_config.json" in err.value.message  # where the weights' activation was read
    assert f"clip_model to '{scorers.TINY_CLIP_NAME}-quickgelu'" in err.value.hint
    # What the check prevents: the same weights in the GELU model give other embeddings (open_clip only warns).
    gelu = open_clip.create_model(scorers.TINY_CLIP_NAME, pretrained=weights).eval()
    quick = scorers.load_clip_scorer(scorers.TINY_CLIP_NAME + scorers.QUICKGELU, weights)
    tokens = quick.tokenizer(["a person is walking"])
    with torch.no_grad():
        assert not torch.allclose(gelu.encode_text(tokens), quick.model.encode_text(tokens), atol=1e-4)


# facebook/dinov2-base -----------------------------------------------------------------------------------------------


def test_dinov2_replica_layout_and_loading(replicas):
    from transformers import Dinov2Config, Dinov2Model

    from dreamrunner_cli.models.dino import load_dino

    folder = replicas[rep.DINOV2_REPO]
    layout = safetensors_layout(folder / "model.safetensors")
    full = meta_layout(lambda: Dinov2Model(Dinov2Config(**rep.dinov2_config(tiny=False))))
    assert {k: n for k, (_, n) in layout.items()} == full and {d for d, _ in layout.values()} == {"F32"}
    enc = load_dino(str(folder), arch="dinov2")  # evaluate.dino_model=<folder>, the preset's dino_arch
    emb = enc.encode_images(list(frames(3)))
    assert emb.shape == (3, 32) and torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_dinov2_preprocessing_is_short_side_256_bicubic_crop_224_imagenet(replicas):
    """The real loading path uses the checkpoint's processor; its output equals the published recipe computed
    independently with PIL (bicubic short side 256, centre crop 224, ImageNet statistics)."""
    from transformers import AutoImageProcessor
    from transformers.image_utils import PILImageResampling

    from dreamrunner_cli.models.dino import load_dino

    proc = AutoImageProcessor.from_pretrained(str(replicas[rep.DINOV2_REPO]))  # what load_dino uses
    assert (proc.size.shortest_edge, proc.resample, proc.crop_size.height, proc.crop_size.width) == (
        256, PILImageResampling.BICUBIC, 224, 224)
    assert list(proc.image_mean) == rep.IMAGENET_MEAN and list(proc.image_std) == rep.IMAGENET_STD
    enc = load_dino(str(replicas[rep.DINOV2_REPO]))
    image = frames(1, 360, 640)[0]
    got = enc.preprocess([image])  # (1, 3, 224, 224)
    h, w = image.shape[:2]
    nh, nw = 256, int(w * 256 / h)
    ref = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BICUBIC), np.float32) / 255
    top, left = (nh - 224) // 2, (nw - 224) // 2
    ref = (ref[top:top + 224, left:left + 224] - rep.IMAGENET_MEAN) / rep.IMAGENET_STD
    ref = torch.from_numpy(ref).permute(2, 0, 1)[None].float()
    err = (got - ref).abs() * 0.226 * 255  # in 8-bit pixel steps
    assert got.shape == (1, 3, 224, 224) and float(err.mean()) < 0.05 and float(err.max()) < 1.5


# OpenGVLab/ViCLIP ---------------------------------------------------------------------------------------------------


def test_viclip_replica_is_the_official_pth_layout_and_loads(replicas):
    from dreamrunner_cli.models.viclip import CHECKPOINT_FILE, VICLIP_L14, build_viclip

    path = replicas[rep.VICLIP_REPO] / CHECKPOINT_FILE
    ckpt = torch.load(path, map_location="cpu", weights_only=True)  # tensors only, like the loader
    assert list(ckpt) == ["model"]
    sd = ckpt["model"]
    assert {v.dtype for v in sd.values()} == {torch.float32}
    full = meta_layout(lambda: build_viclip(VICLIP_L14))
    assert {_layer(k): v.ndim for k, v in sd.items()} == full
    vt = scorers.load_video_text_scorer(f"viclip:{replicas[rep.VICLIP_REPO]}")  # video_text_model=viclip:<folder>
    assert vt.family == "viclip" and vt.num_frames == 8 and vt.image_size == 56
    s = vt.score(frames(16), ["a person is walking", "a dog"])
    assert s.shape == (2,) and bool(((s >= -1) & (s <= 1)).all())


# microsoft/xclip-base-patch32 ---------------------------------------------------------------------------------------


def test_xclip_replica_layout_tokenizer_and_loading(replicas):
    from transformers import XCLIPConfig, XCLIPModel

    folder = replicas[rep.XCLIP_REPO]
    layout = safetensors_layout(folder / "model.safetensors")
    full = meta_layout(lambda: XCLIPModel(XCLIPConfig.from_dict(rep.xclip_config(49408, tiny=False))))
    ids = {"text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"}
    assert set(layout) == set(full) | ids
    assert {layout[k][0] for k in ids} == {"I64"} and {layout[k][0] for k in full} == {"F32"}
    vt = scorers.load_video_text_scorer(f"xclip:{folder}")
    assert vt.family == "xclip" and vt.num_frames == 8 and vt.image_size == 224
    tok = vt.tokenizer(["a person is walking"])["input_ids"][0]
    vocab = json.loads((folder / "vocab.json").read_text())
    assert tok[0] == vocab["<|startoftext|>"] and tok[-1] == vocab["<|endoftext|>"] and len(tok) > 3
    s = vt.score(frames(16), ["a person is walking", "a dog"])
    assert s.shape == (2,) and bool(((s >= -1) & (s <= 1)).all())


def test_xclip_frames_are_preprocessed_by_the_checkpoints_own_processor(replicas):
    """Issue 20 fix 4: X-CLIP resized bicubic, its processor (resample 2) bilinear: 1.7/255 apart on average."""
    from transformers import AutoImageProcessor
    from transformers.image_utils import PILImageResampling

    folder = replicas[rep.XCLIP_REPO]
    vt = scorers.load_video_text_scorer(f"xclip:{folder}")
    clip = frames(8, 180, 320)
    processor = AutoImageProcessor.from_pretrained(str(folder))  # transformers' own class for this checkpoint
    assert processor.resample == PILImageResampling.BILINEAR
    expected = processor(images=list(clip), return_tensors="pt")["pixel_values"]  # (1, 8, 3, 224, 224)
    got = vt.pixels(clip)
    assert got.shape == expected.shape == (1, 8, 3, 224, 224)
    torch.testing.assert_close(got, expected)
    # The same recipe computed independently: PIL bilinear short side 224, centre crop, ImageNet statistics.
    nh, nw = 224, int(320 * 224 / 180)
    ref = np.asarray(Image.fromarray(clip[0]).resize((nw, nh), Image.BILINEAR), np.float32) / 255
    left = (nw - 224) // 2
    ref = torch.from_numpy((ref[:, left:left + 224] - rep.IMAGENET_MEAN) / rep.IMAGENET_STD).permute(2, 0, 1)
    assert float(((got[0, 0] - ref.float()).abs() * 0.226 * 255).mean()) < 0.2  # bicubic is ~1.7 steps away


def test_a_checkpoint_without_a_preprocessor_config_uses_xclips_published_one(replicas, tmp_path):
    import shutil

    folder = tmp_path / "xclip"
    shutil.copytree(replicas[rep.XCLIP_REPO], folder)
    (folder / "preprocessor_config.json").unlink()
    vt = scorers.load_video_text_scorer(f"xclip:{folder}")
    with_config = scorers.load_video_text_scorer(f"xclip:{replicas[rep.XCLIP_REPO]}")
    clip = frames(8, 120, 200)
    torch.testing.assert_close(vt.pixels(clip), with_config.pixels(clip))


# hustvl/yolos-tiny --------------------------------------------------------------------------------------------------


def test_yolos_replica_layout_and_person_detection(replicas):
    from transformers import YolosConfig, YolosForObjectDetection

    from dreamrunner_cli.models.detector import load_person_detector

    folder = replicas[rep.YOLOS_REPO]
    layout = safetensors_layout(folder / "model.safetensors")
    full = meta_layout(lambda: YolosForObjectDetection(YolosConfig.from_dict(rep.yolos_config(tiny=False))))
    assert {k: n for k, (_, n) in layout.items()} == full and {d for d, _ in layout.values()} == {"F32"}
    det = load_person_detector(str(folder))  # retrieve.detector=<folder>
    assert det.person_id == 1 and type(det.processor).__name__.startswith("YolosImageProcessor")
    assert det.processor.size.shortest_edge == 512 and det.processor.size.longest_edge == 1333
    out = det.detect(frames(2, 48, 64))
    assert len(out) == 2 and all(0 <= d.box[0] <= d.box[2] <= 1 for f in out for d in f)


def test_replica_settings_point_the_preset_at_the_replicas(replicas):
    from dreamrunner_cli.config import resolve_config

    settings = rep.replica_settings(replicas)
    cfg = resolve_config(preset="cogvideox-2b", overrides=[f"{k}={'null' if v is None else v}"
                                                           for k, v in settings.items()])
    assert cfg.evaluate.dino_model == str(replicas[rep.DINOV2_REPO])
    assert cfg.retrieve.clip_model == f"local-dir:{replicas[rep.OPENAI_CLIP_REPO]}"
    assert cfg.retrieve.clip_pretrained is None and cfg.retrieve.detector == str(replicas[rep.YOLOS_REPO])
