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


def test_tiny_xclip_video_and_text_use_xclips_own_video_conditioned_score():
    vt = load_video_text_scorer("xclip:tiny")
    assert load_video_text_scorer("xclip:tiny") is vt and vt.family == "xclip"
    v = vt.video_features(frames(16))
    assert v["video"].shape == (16,) and float(v["video"].norm()) == pytest.approx(1.0, abs=1e-5)
    assert vt.video_features(frames(3))["video"].shape == (16,)  # fewer frames than the model takes: repeated
    texts = ["a person is walking", "a person is jumping", "zqxv unknownword"]
    t = vt.text_features(texts)
    assert t["text"].shape == (3, 16)
    assert not torch.allclose(v["video"], vt.video_features(frames(16, seed=1))["video"])
    # The score is exactly X-CLIP's trained similarity: logits_per_video / logit_scale of the model's own forward,
    # i.e. the cosine with video-conditioned text embeddings, not the cosine of the separate text embedding.
    s = vt.similarity(v, t)
    with torch.no_grad():
        out = vt.model(pixel_values=vt.pixels(frames(16)), **vt.tokens(texts))
    torch.testing.assert_close(s, out.logits_per_video[0] / vt.model.logit_scale.exp(), rtol=1e-4, atol=1e-5)
    plain = torch.nn.functional.normalize(t["text"], dim=-1) @ v["video"]
    assert not torch.allclose(s, plain, atol=1e-3)  # the video-conditioned prompt changes the score
    torch.testing.assert_close(vt.score(frames(16), texts), s)


def test_tiny_xclip_tokenizer_works_offline_and_splits_unknown_words():
    vt = load_video_text_scorer("xclip:tiny")
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


def test_openai_weights_in_a_gelu_clip_are_refused_before_any_download(monkeypatch):
    """Issue 20 fix 3: open_clip builds ViT-L-14-336 with GELU and only warns that OpenAI's weights are QuickGELU."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as err:
        load_clip_scorer("ViT-L-14-336", "openai")
    assert err.value.exit_code == 4
    assert "GELU" in err.value.message and "'openai' weights were trained with QuickGELU" in err.value.message
    assert "clip_model to 'ViT-L-14-336-quickgelu'" in err.value.hint and "evaluate.clip_model" in err.value.hint
    assert scorers.clip_activation_error("ViT-L-14-336-quickgelu", "openai") is None
    assert scorers.clip_activation_error("ViT-B-32", "laion2b_s34b_b79k") is None  # a GELU tag on a GELU model


def test_the_presets_score_with_quickgelu_clip_and_its_calibrated_gate():
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.retrieval.scoring import gate_threshold

    for preset in ("cogvideox-2b", "cogvideox-5b"):
        cfg = resolve_config(preset=preset)
        for section in (cfg.retrieve, cfg.evaluate):
            assert (section.clip_model, section.clip_pretrained) == ("ViT-L-14-336-quickgelu", "openai")
            assert scorers.clip_activation_error(section.clip_model, section.clip_pretrained) is None
        rc = cfg.retrieve
        assert gate_threshold(None, rc.clip_model, rc.clip_pretrained, rc.video_text_model)[0] == 0.2
    assert gate_threshold(None, "hf-hub:timm/vit_large_patch14_clip_336.openai", None, "viclip:x")[0] == 0.2


def test_an_old_config_naming_gelu_clip_gets_the_fix_not_uncalibrated():
    """A workspace config saved before the fix still loads; retrieve then says what to set."""
    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.retrieval.scoring import gate_threshold

    rc = resolve_config(preset="cogvideox-2b", overrides=["retrieve.clip_model=ViT-L-14-336"]).retrieve
    with pytest.raises(ModelUnavailable) as err:
        gate_threshold(rc.threshold, rc.clip_model, rc.clip_pretrained, rc.video_text_model)
    assert "--set retrieve.clip_model=ViT-L-14-336-quickgelu" in err.value.hint


def test_real_video_text_weights_missing_offline_raise_model_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as err:
        load_video_text_scorer("xclip:microsoft/xclip-base-patch32")
    assert "microsoft/xclip-base-patch32" in err.value.message and "hf download" in err.value.hint
    with pytest.raises(ModelUnavailable):
        load_video_text_scorer(str(tmp_path))  # an empty local folder
    with pytest.raises(ModelUnavailable) as err:
        load_video_text_scorer("viclip:OpenGVLab/ViCLIP")
    assert "ViClip-InternVid-10M-FLT.pth" in err.value.hint
    with pytest.raises(UsageError, match="unknown video-text scorer backend"):
        load_video_text_scorer("nosuch:model")


def test_xclip_loads_from_a_local_folder(tmp_path):
    """The real loading path (from_pretrained, local_files_only, loading info checked) on a tiny saved model."""
    model, tok = scorers.build_tiny_xclip()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    vt = load_video_text_scorer(str(tmp_path))
    torch.testing.assert_close(vt.text_features(["a person is waving"])["text"],
                               load_video_text_scorer("xclip:tiny").text_features(["a person is waving"])["text"])
    assert vt.model_id == str(tmp_path) and vt.family == "xclip"


def test_a_clip_checkpoint_loaded_as_xclip_fails_naming_the_missing_weights(tmp_path):
    """Issue 12: a CLIP checkpoint loaded into X-CLIP used to leave its video parts random, silently."""
    from transformers import CLIPConfig, CLIPModel

    _, tok = scorers.build_tiny_xclip()
    clip = CLIPModel(CLIPConfig(
        text_config={"vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 32},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8}, projection_dim=16))
    clip.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    with pytest.raises(ModelUnavailable) as err:
        load_video_text_scorer(f"xclip:{tmp_path}")
    assert err.value.exit_code == 4
    assert "model_type 'clip'" in err.value.message and "missing" in err.value.message
    assert "mit." in err.value.message + " ".join(err.value.details)  # the multi-frame transformer is named
    assert any(d.startswith("missing: ") for d in err.value.details)


def test_an_xclip_checkpoint_with_weights_removed_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    model, tok = scorers.build_tiny_xclip()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    sd = load_file(tmp_path / "model.safetensors")
    dropped = sorted(k for k in sd if k.startswith("prompts_generator."))
    save_file({k: v for k, v in sd.items() if k not in dropped}, tmp_path / "model.safetensors",
              metadata={"format": "pt"})
    with pytest.raises(ModelUnavailable) as err:
        load_video_text_scorer(f"xclip:{tmp_path}")
    assert "prompts_generator." in err.value.message and "model_type" not in err.value.message


def test_clip_weights_that_do_not_fit_the_architecture_name_the_missing_keys(tmp_path):
    import open_clip
    from safetensors.torch import save_file

    scorers._register_tiny_clip()
    model = open_clip.create_model(scorers.TINY_CLIP_NAME, pretrained=None)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    good = tmp_path / "good.safetensors"
    save_file(sd, good)
    clip = load_clip_scorer(scorers.TINY_CLIP_NAME, str(good))  # a complete checkpoint loads
    assert clip.model_id.endswith("good.safetensors")
    bad = tmp_path / "bad.safetensors"
    save_file({k: v for k, v in sd.items() if k != "text_projection"}, bad)
    with pytest.raises(ModelUnavailable) as err:
        load_clip_scorer(scorers.TINY_CLIP_NAME, str(bad))
    assert "missing: text_projection" in err.value.message and err.value.exit_code == 4


def test_plugged_video_text_backend(monkeypatch):
    calls = []

    def factory(name, device):
        calls.append(name)
        return scorers._load_xclip("tiny", device)

    monkeypatch.setitem(scorers.VIDEO_TEXT_SCORERS, "mine", factory)
    load_video_text_scorer.cache_clear()
    assert load_video_text_scorer("mine:some/model").text_features(["x"])["text"].shape == (1, 16)
    assert calls == ["some/model"]
    assert scorers.video_text_family("tiny") == "viclip" and scorers.video_text_family("xclip:x/y") == "xclip"
    assert scorers.video_text_family("microsoft/xclip-base-patch32") == "xclip"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_missing_cuda_is_an_error_not_a_fallback():
    with pytest.raises(BackendUnavailable, match="CUDA"):
        load_clip_scorer("tiny", None, "cuda")
    with pytest.raises(BackendUnavailable, match="CUDA"):
        load_video_text_scorer("tiny", "cuda")


def test_the_scorer_modules_share_checked_loading_without_importing_each_other():
    """Issue 20: dino, scorers and viclip imported each other in a circle (check_loading in scorers, hub_offline
    in dino). Each now imports models/checked.py only (scorers also its ViCLIP backend)."""
    import ast
    from pathlib import Path

    from dreamrunner_cli import models

    def siblings(module: str) -> set[str]:
        tree = ast.parse((Path(models.__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
        return {n.module.split(".")[0] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}

    assert siblings("checked") == {"loading"}
    assert siblings("dino") == siblings("detector") == siblings("viclip") == {"checked"}
    assert siblings("scorers") == {"checked", "viclip"}
    from dreamrunner_cli.models import dino

    assert dino.hub_offline is scorers.hub_offline  # the names other modules import stay where they were
    assert scorers.check_loading.__module__ == "dreamrunner_cli.models.checked"

