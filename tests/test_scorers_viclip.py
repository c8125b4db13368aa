"""ViCLIP (models/viclip.py): shapes with tiny random weights, equivalence of its towers with CLIP's where the
architecture says they must agree, the official checkpoint's key names, and tensors-only checked loading."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dreamrunner_cli.errors import ModelUnavailable
from dreamrunner_cli.models import viclip
from dreamrunner_cli.models.scorers import load_video_text_scorer

TINY = viclip.TINY_VICLIP


def frames(t: int, h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(t, h, w, 3), dtype=np.uint8)


def test_tiny_viclip_shapes_normalisation_and_determinism():
    vt = load_video_text_scorer("tiny")
    assert vt.family == "viclip" and vt.model_id == "viclip:tiny (random)"
    v = vt.video_features(frames(16))["video"]
    t = vt.text_features(["a person is walking", "a person is jumping", "a person is walking"])["text"]
    assert v.shape == (TINY.embed_dim,) and t.shape == (3, TINY.embed_dim)
    torch.testing.assert_close(v.norm(), torch.tensor(1.0))
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(t[0], t[2])
    assert not torch.allclose(t[0], t[1])
    assert not torch.allclose(v, vt.video_features(frames(16, seed=1))["video"])
    assert vt.video_features(frames(2))["video"].shape == (TINY.embed_dim,)  # fewer frames than 4: repeated
    s = vt.similarity(vt.video_features(frames(16)), vt.text_features(["a", "b"]))
    assert s.shape == (2,) and torch.all(s.abs() <= 1 + 1e-5)
    # Same seed, same weights: cached embeddings stay valid across processes.
    torch.testing.assert_close(viclip.load_viclip("tiny").video_features(frames(16))["video"], v)
    with pytest.raises(ValueError, match="takes 4 frames"):
        vt.model.encode_video(torch.zeros(1, 3, 3, 32, 32))


def test_reference_preprocessing_samples_every_kth_frame_from_the_start():
    assert viclip.sample_indices(48, 8) == [0, 6, 12, 18, 24, 30, 36, 42]
    assert viclip.sample_indices(8, 8) == list(range(8))
    assert viclip.sample_indices(3, 8) == [0, 0, 1, 1, 1, 1, 2, 2]  # shorter than 8: spread with repeats
    vt = viclip.load_viclip("tiny")
    x = vt.pixels(frames(10, 40, 56))
    assert x.shape == (1, TINY.num_frames, 3, TINY.image_size, TINY.image_size)  # squashed to S×S, no crop


def test_tokens_are_clip_bpe_in_a_32_token_context():
    vt = viclip.load_viclip("tiny")
    ids = vt.tokenize(["a person is walking", "word " * 60])
    assert ids.shape == (2, 32)
    assert ids[0, 0] == 49406 and 49407 in ids[0].tolist() and ids[0, -1] == 0  # <sot> ... <eot>, zero-padded
    assert ids[1, -1] == 49407  # truncated with <eot> last


def _open_clip_twin():
    """open_clip's CLIP with ViCLIP-tiny's sizes, QuickGELU and a 32-token context: the image-text CLIP that
    ViCLIP inflates (same block layout and parameter names)."""
    import tempfile
    from pathlib import Path

    import open_clip

    name = "dreamrunner-viclip-twin"
    cfg = {"embed_dim": TINY.embed_dim, "quick_gelu": True,
           "vision_cfg": {"image_size": TINY.image_size, "layers": TINY.vision_layers, "width": TINY.vision_width,
                          "patch_size": TINY.patch_size, "head_width": TINY.vision_width // TINY.vision_heads},
           "text_cfg": {"context_length": TINY.context_length, "vocab_size": TINY.vocab_size,
                        "width": TINY.text_width, "heads": TINY.text_heads, "layers": TINY.text_layers}}
    if name not in open_clip.list_models():
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / f"{name}.json").write_text(json.dumps(cfg))
            open_clip.add_model_config(str(Path(tmp) / f"{name}.json"))
    torch.manual_seed(3)
    return open_clip.create_model(name, pretrained=None).eval()


def test_text_tower_equals_clips_text_encoder_and_one_frame_video_equals_clips_image_encoder():
    """ViCLIP's text tower *is* CLIP's text transformer; with one frame (and a zero temporal embedding) its vision
    tower is CLIP's ViT. Loading the same weights into both must give the same embeddings."""
    twin = _open_clip_twin()
    model = viclip.build_viclip(TINY, seed=5)
    sd = model.state_dict()
    for k, v in twin.state_dict().items():
        if k.startswith("visual."):
            key = "vision_encoder." + k[len("visual."):]
            sd[key] = v.unsqueeze(2) if key == "vision_encoder.conv1.weight" else v  # (W,3,p,p) → (W,3,1,p,p)
        elif k != "logit_scale":
            sd["text_encoder." + k] = v
    sd["vision_encoder.temporal_positional_embedding"] = torch.zeros_like(
        sd["vision_encoder.temporal_positional_embedding"])
    model.load_state_dict(sd, strict=True)
    import open_clip

    ids = open_clip.tokenizer.SimpleTokenizer(context_length=32)(["a person is waving", "a cat sits"])
    image = torch.randn(2, 3, TINY.image_size, TINY.image_size)
    with torch.no_grad():
        torch.testing.assert_close(model.encode_text(ids), twin.encode_text(ids), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(model.encode_video(image.unsqueeze(1)), twin.encode_image(image),
                                   rtol=1e-4, atol=1e-5)


def official_keys(c: viclip.ViCLIPConfig) -> dict[str, tuple[int, ...]]:
    """The released checkpoint's parameter names and shapes, written out from the reference architecture
    (vision_encoder = VisionTransformer, text_encoder = CLIP_TEXT, plus the temperature ``temp``)."""
    g2 = (c.image_size // c.patch_size) ** 2

    def blocks(prefix: str, w: int, n: int) -> dict[str, tuple[int, ...]]:
        out: dict[str, tuple[int, ...]] = {}
        for i in range(n):
            b = f"{prefix}.transformer.resblocks.{i}."
            out |= {b + "attn.in_proj_weight": (3 * w, w), b + "attn.in_proj_bias": (3 * w,),
                    b + "attn.out_proj.weight": (w, w), b + "attn.out_proj.bias": (w,),
                    b + "ln_1.weight": (w,), b + "ln_1.bias": (w,), b + "ln_2.weight": (w,), b + "ln_2.bias": (w,),
                    b + "mlp.c_fc.weight": (4 * w, w), b + "mlp.c_fc.bias": (4 * w,),
                    b + "mlp.c_proj.weight": (w, 4 * w), b + "mlp.c_proj.bias": (w,)}
        return out

    vw, tw = c.vision_width, c.text_width
    keys = {"temp": (),
            "vision_encoder.class_embedding": (vw,), "vision_encoder.positional_embedding": (g2 + 1, vw),
            "vision_encoder.temporal_positional_embedding": (1, c.num_frames, vw),
            "vision_encoder.conv1.weight": (vw, 3, 1, c.patch_size, c.patch_size),
            "vision_encoder.ln_pre.weight": (vw,), "vision_encoder.ln_pre.bias": (vw,),
            "vision_encoder.ln_post.weight": (vw,), "vision_encoder.ln_post.bias": (vw,),
            "vision_encoder.proj": (vw, c.embed_dim),
            "text_encoder.token_embedding.weight": (c.vocab_size, tw),
            "text_encoder.positional_embedding": (c.context_length, tw),
            "text_encoder.ln_final.weight": (tw,), "text_encoder.ln_final.bias": (tw,),
            "text_encoder.text_projection": (tw, c.embed_dim)}
    return keys | blocks("vision_encoder", vw, c.vision_layers) | blocks("text_encoder", tw, c.text_layers)


def fixture_state_dict(c: viclip.ViCLIPConfig = TINY, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(shape, generator=g) * 0.02 for k, shape in official_keys(c).items()}


def test_official_checkpoint_layout_loads_key_for_key(tmp_path):
    """A fixture with the released file's layout ({"model": state_dict}, DDP "module." prefix tolerated): every
    tensor lands in the parameter of the same name, and the model computes with it."""
    sd = fixture_state_dict()
    torch.save({"model": sd}, tmp_path / viclip.CHECKPOINT_FILE)
    vt = viclip.load_viclip(str(tmp_path), config=TINY)  # a folder holding the official file name
    loaded = vt.model.state_dict()
    assert set(loaded) == set(sd)
    for k, v in sd.items():
        assert torch.equal(loaded[k], v), k
    assert vt.video_features(frames(8))["video"].shape == (TINY.embed_dim,)
    torch.save({"model": {"module." + k: v for k, v in sd.items()}}, tmp_path / "ddp.pth")
    assert torch.equal(viclip.load_viclip(str(tmp_path / "ddp.pth"), config=TINY).model.state_dict()["temp"],
                       sd["temp"])


def test_sizes_are_read_from_the_checkpoint_shapes():
    meta = {k: torch.empty(s, device="meta") for k, s in official_keys(viclip.VICLIP_L14).items()}
    assert viclip.config_from_state_dict(meta) == viclip.VICLIP_L14  # ViCLIP-L/14: 24 + 12 layers, 16/12 heads
    tiny = viclip.config_from_state_dict(fixture_state_dict(), head_width=16)
    assert tiny == TINY


def test_incomplete_or_foreign_checkpoints_fail_naming_the_keys(tmp_path):
    sd = fixture_state_dict()
    partial = {k: v for k, v in sd.items() if not k.startswith("text_encoder.transformer.resblocks.1.")}
    torch.save({"model": partial}, tmp_path / "partial.pth")
    with pytest.raises(ModelUnavailable) as exc:
        viclip.load_viclip(str(tmp_path / "partial.pth"), config=TINY)
    assert exc.value.exit_code == 4 and "12 missing" in exc.value.message
    assert "text_encoder.transformer.resblocks.1.attn.in_proj_weight" in " ".join(exc.value.details)
    extra = dict(sd, **{"vision_encoder.head.weight": torch.zeros(3)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(ModelUnavailable, match="1 unexpected"):
        viclip.load_viclip(str(tmp_path / "extra.pth"), config=TINY)
    with pytest.raises(ModelUnavailable, match="not a ViCLIP checkpoint"):
        torch.save({"model": {"visual.proj": torch.zeros(2, 2)}}, tmp_path / "clip.pth")
        viclip.load_viclip(str(tmp_path / "clip.pth"))


class NotATensor:
    """Stands for anything pickled beside the weights (a config object, an optimizer)."""


def test_pickled_objects_are_refused_never_unpickled(tmp_path):
    torch.save({"model": fixture_state_dict(), "config": NotATensor()}, tmp_path / "unsafe.pth")
    with pytest.raises(ModelUnavailable) as exc:
        viclip.load_viclip(str(tmp_path / "unsafe.pth"), config=TINY)
    assert "tensors only" in exc.value.message and "safetensors" in exc.value.hint
    from safetensors.torch import save_file

    save_file(fixture_state_dict(), tmp_path / "model.safetensors")  # the safe conversion loads
    assert viclip.load_viclip(str(tmp_path / "model.safetensors"), config=TINY).model_id.startswith("viclip:")
