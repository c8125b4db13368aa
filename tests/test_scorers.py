"""The shared CLIP / video-text scorers: tiny random models built in code, and the real loaders' errors offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dreamrunner_cli.errors import BackendUnavailable, ModelUnavailable, UsageError
from dreamrunner_cli.models import scorers
from dreamrunner_cli.models.scorers import load_clip_scorer, load_video_text_scorer


def frames(t: int, h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)


def test_tiny_clip_embeddings_are_normalised_and_deterministic():
    clip = load_clip_scorer("tiny", None)
    assert load_clip_scorer("tiny", None) is clip  # memoised per process
    img = list(frames(3))
    e = clip.encode_images(img)
    t = clip.encode_texts(["a person is walking", "the person is running", "a person is walking"])
    assert e.shape == (3, 32) and t.shape == (3, 32)
    torch.testing.assert_close(e.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(t[0], t[2])
    assert not torch.allclose(t[0], t[1])  # different texts, different embeddings
    assert not torch.allclose(e[0], e[1])
    # A second model built from scratch has the same (seeded) weights: cached embeddings stay valid.
    load_clip_scorer.cache_clear()
    torch.testing.assert_close(load_clip_scorer("tiny", None).encode_images(img), e)
    assert clip.model_id == "open_clip:tiny (random)"


def test_tiny_clip_accepts_any_image_size_and_float_images():
    clip = load_clip_scorer("tiny", None)
    a = clip.encode_images([frames(1, 17, 90)[0], np.random.rand(40, 40, 3).astype(np.float32)])
    assert a.shape == (2, 32)


def test_tiny_xclip_video_and_text():
    vt = load_video_text_scorer("tiny")
    assert load_video_text_scorer("tiny") is vt
    v = vt.encode_video(frames(16))
    assert v.shape == (16,) and float(v.norm()) == pytest.approx(1.0, abs=1e-5)
    assert vt.encode_video(frames(3)).shape == (16,)  # fewer frames than the model takes: repeated
    t = vt.encode_texts(["a person is walking", "a person is jumping", "zqxv unknownword"])
    assert t.shape == (3, 16)
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(3))
    assert not torch.allclose(t[0], t[1]) and not torch.allclose(t[0], t[2])
    # Different videos give different embeddings; the full X-CLIP forward gives one score per text.
    assert not torch.allclose(v, vt.encode_video(frames(16, seed=1)))
    s = vt.similarity(frames(16), ["a person is walking", "a dog"])
    assert s.shape == (2,) and torch.all(s.abs() <= 1.0 + 1e-5)


def test_tiny_xclip_tokenizer_works_offline_and_splits_unknown_words():
    vt = load_video_text_scorer("tiny")
    ids = vt.tokenizer(["the person is walking", "the person is wxalking"])["input_ids"]
    assert ids[0][0] == 1 and ids[0][-1] == 3  # <s> ... </s>
    assert 2 not in ids[1]  # unknown words become characters, never <unk>
    assert len(ids[1]) > len(ids[0])


def test_real_clip_weights_missing_offline_raise_model_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as err:
        load_clip_scorer("ViT-B-32", "/nonexistent/weights.safetensors")
    assert "ViT-B-32" in err.value.message and "clip_pretrained" in err.value.hint
    with pytest.raises(ModelUnavailable, match="unknown open_clip model"):
        load_clip_scorer("No-Such-Model", "openai")
    with pytest.raises(ModelUnavailable, match="no weights configured"):
        load_clip_scorer("ViT-B-32", None)


def test_real_xclip_missing_offline_raises_model_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as err:
        load_video_text_scorer("microsoft/xclip-base-patch32")
    assert "microsoft/xclip-base-patch32" in err.value.message and "hf download" in err.value.hint
    with pytest.raises(ModelUnavailable):
        load_video_text_scorer(str(tmp_path))  # an empty local folder
    with pytest.raises(UsageError, match="unknown video-text scorer backend"):
        load_video_text_scorer("viclip:OpenGVLab/ViCLIP")


def test_xclip_loads_from_a_local_folder(tmp_path):
    """The real loading path (from_pretrained, local_files_only) on a tiny model saved to disk."""
    model, tok = scorers.build_tiny_xclip()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    vt = load_video_text_scorer(str(tmp_path))
    torch.testing.assert_close(vt.encode_texts(["a person is waving"]),
                               load_video_text_scorer("tiny").encode_texts(["a person is waving"]))
    assert vt.model_id == str(tmp_path)


def test_plugged_video_text_backend(monkeypatch):
    calls = []

    def factory(name, device):
        calls.append(name)
        return scorers._load_tiny_xclip(name, device)

    monkeypatch.setitem(scorers.VIDEO_TEXT_SCORERS, "mine", factory)
    load_video_text_scorer.cache_clear()
    assert load_video_text_scorer("mine:some/model").encode_texts(["x"]).shape == (1, 16)
    assert calls == ["some/model"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_missing_cuda_is_an_error_not_a_fallback():
    with pytest.raises(BackendUnavailable, match="CUDA"):
        load_clip_scorer("tiny", None, "cuda")
    with pytest.raises(BackendUnavailable, match="CUDA"):
        load_video_text_scorer("tiny", "cuda")
