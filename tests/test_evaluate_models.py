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
