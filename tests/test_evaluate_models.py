"""Evaluate's DINOv2 loader: tiny random model in code, real loading from a local folder, clear errors offline."""

from __future__ import annotations

import numpy as np
import pytest
from evaluate_fixtures import pattern

from dreamrunner_cli.errors import ModelUnavailable
from dreamrunner_cli.models import dino


def test_tiny_dino_is_deterministic_normalised_and_discriminative():
    a, b = dino.load_dino("tiny"), dino.load_dino("tiny")
    assert a.model_id == "tiny-random-dinov2"
    imgs = [pattern(0), pattern(0), pattern(3), np.zeros((20, 48, 3), np.uint8)]  # any size works
    ea, eb = a.encode_images(imgs), b.encode_images(imgs)
    assert tuple(ea.shape) == (4, 32)
    assert np.allclose(ea.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    assert np.allclose(ea.numpy(), eb.numpy())  # same seed → same random weights
    sims = (ea @ ea.T).numpy()
    assert sims[0, 1] == pytest.approx(1.0, abs=1e-5) and sims[0, 2] < sims[0, 1]


def test_dino_loads_from_a_local_folder_with_safetensors(tmp_path):
    import torch
    from transformers import BitImageProcessor

    model = dino.build_tiny_dino(seed=3)
    model.save_pretrained(tmp_path / "d")
    BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                      image_mean=list(dino.IMAGENET_MEAN), image_std=list(dino.IMAGENET_STD)).save_pretrained(
        tmp_path / "d")
    assert (tmp_path / "d" / "model.safetensors").exists()
    enc = dino.load_dino(str(tmp_path / "d"))
    assert enc.model_id == str(tmp_path / "d")
    for k, v in model.state_dict().items():
        assert torch.equal(v, enc.model.state_dict()[k])
    emb = enc.encode_images([pattern(0), pattern(1)])
    assert tuple(emb.shape) == (2, 32) and np.allclose(emb.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    # A folder without safetensors weights is refused (never unpickled).
    (tmp_path / "d" / "model.safetensors").unlink()
    with pytest.raises(ModelUnavailable) as exc:
        dino.load_dino(str(tmp_path / "d"))
    assert "model.safetensors" in exc.value.hint


def test_missing_hub_weights_offline_name_the_model_and_how_to_get_them(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as exc:
        dino.load_dino("facebook/dinov2-base")
    assert "facebook/dinov2-base" in exc.value.message and "HF_HUB_OFFLINE" in exc.value.message
    assert "hf download facebook/dinov2-base" in exc.value.hint and "evaluate.dino_model" in exc.value.hint


def test_stage_refuses_cuda_when_absent(tmp_path):
    import torch

    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.errors import BackendUnavailable
    from dreamrunner_cli.stages.evaluate import Encoders

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    enc = Encoders(resolve_config(preset="tiny").evaluate, "cuda")
    with pytest.raises(BackendUnavailable, match="CUDA is not available"):
        _ = enc.dino


def _save(model, folder):
    from transformers import BitImageProcessor

    model.save_pretrained(folder)
    BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                      image_mean=list(dino.IMAGENET_MEAN), image_std=list(dino.IMAGENET_STD)).save_pretrained(folder)
    return str(folder)


def test_a_dino_v1_checkpoint_loaded_as_dinov2_fails_naming_missing_keys(tmp_path):
    """Issue 12: facebook/dino-vitb16 (a ViT) used to load into Dinov2Model with every encoder weight random."""
    v1 = _save(dino.build_tiny_dino(seed=1, arch="dino"), tmp_path / "v1")
    with pytest.raises(ModelUnavailable) as exc:
        dino.load_dino(v1)  # arch defaults to dinov2
    assert exc.value.exit_code == 4
    assert "model_type 'vit'" in exc.value.message and "missing" in exc.value.message
    assert "layer_scale1" in exc.value.message + " ".join(exc.value.details)
    assert "evaluate.dino_arch=dino" in exc.value.hint
    # The reverse is refused too.
    v2 = _save(dino.build_tiny_dino(seed=1), tmp_path / "v2")
    with pytest.raises(ModelUnavailable, match="model_type 'dinov2'"):
        dino.load_dino(v2, arch="dino")


def test_dino_v1_is_supported_by_config_with_its_cls_feature(tmp_path):
    import torch

    model = dino.build_tiny_dino(seed=2, arch="dino")
    enc = dino.load_dino(_save(model, tmp_path / "v1"), arch="dino")
    for k, v in model.state_dict().items():
        assert torch.equal(v, enc.model.state_dict()[k])
    emb = enc.encode_images([pattern(0), pattern(2)])
    assert tuple(emb.shape) == (2, 32) and np.allclose(emb.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    # The feature is DINO's CLS token after the final layer norm (no randomly initialised pooler in the way).
    pixels = enc.preprocess([pattern(0)])
    with torch.no_grad():
        cls = model(pixel_values=pixels).last_hidden_state[0, 0]
    assert torch.allclose(emb[0], torch.nn.functional.normalize(cls, dim=-1), atol=1e-5)
    assert dino.load_dino("tiny", arch="dino").model_id == "tiny-random-dino-v1"


def test_a_dinov2_checkpoint_with_missing_weights_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _save(dino.build_tiny_dino(seed=3), tmp_path / "d")
    sd = load_file(tmp_path / "d" / "model.safetensors")
    save_file({k: v for k, v in sd.items() if not k.startswith("encoder.layer.1.")}, tmp_path / "d" /
              "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelUnavailable) as exc:
        dino.load_dino(folder)
    assert "encoder.layer.1." in exc.value.message and "model_type" not in exc.value.message


def test_stage_loads_dino_with_the_configured_architecture():
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.stages.evaluate import Encoders

    cfg = resolve_config(preset="tiny", overrides=["evaluate.dino_arch=dino"]).evaluate
    assert Encoders(cfg, "cpu").dino.model_id == "tiny-random-dino-v1"
