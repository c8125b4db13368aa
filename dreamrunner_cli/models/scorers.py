"""Image–text (CLIP, open_clip) and video–text (ViCLIP, X-CLIP) scorers, shared by retrieve and evaluate.

CLIP returns L2-normalised embeddings, so a score is a plain dot product (cosine similarity in [-1, 1]). Video–text
scorers expose ``video_features`` / ``text_features`` / ``similarity`` (see the section below) so that each model
scores with its own trained similarity while video and text features stay cacheable on their own.

Names:
  * CLIP: any open_clip model name (``ViT-L-14-336``) with ``pretrained`` = an open_clip tag (``openai``) or a local
    weights file; ``tiny`` builds a random tiny CLIP in code (tests and the tiny preset; its scores mean nothing).
  * Video–text: ``viclip:<source>`` (the paper's ViCLIP, models/viclip.py; default ``viclip:OpenGVLab/ViCLIP``),
    ``xclip:<id>`` (X-CLIP through transformers, e.g. ``xclip:microsoft/xclip-base-patch32``), ``tiny`` (a random
    tiny ViCLIP) or ``xclip:tiny``.

Real weights are read from the Hugging Face cache (``local_files_only`` when ``HF_HUB_OFFLINE=1``) or a local path.
Every load is checked: open_clip loads strictly (``require_pretrained``), transformers models are loaded with
``output_loading_info`` and their config's ``model_type`` is compared with the class (``check_loading``), ViCLIP's
keys are compared one by one. Missing weights, weights that do not fully load, or another architecture's checkpoint
raise ``ModelUnavailable`` (exit 4) naming what is missing; there is never a silent fallback to random weights, a
tiny model or another device. Loaders are memoised per process (one model per name/weights/device).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import BackendUnavailable, ModelUnavailable, UsageError

if TYPE_CHECKING:
    import torch

TINY = "tiny"
TINY_CLIP_NAME = "dreamrunner-tiny-clip"
TINY_SEED = 0
# The ImageNet statistics X-CLIP was trained with (its preprocessor_config.json), used when a model has none.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _offline() -> bool:
    """Only local files (HF_HUB_OFFLINE, or the Hub cannot be reached: probed once per process, see loading.py)."""
    from .loading import offline

    return offline()


def _check_device(device: str) -> None:
    """Raise rather than silently running somewhere else (ARCHITECTURE.md: never a silent fallback)."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(f"device {device!r} requested for scoring, but CUDA is not available",
                                 hint="set retrieve.device=cpu (or evaluate.device=cpu), or run on a GPU machine")
    if device.startswith("mps") and not torch.backends.mps.is_available():
        raise BackendUnavailable(f"device {device!r} requested for scoring, but MPS is not available")


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


# CLIP (open_clip) ------------------------------------------------------------------------------------------------


class ClipScorer:
    """open_clip image and text encoders.

    Attributes:
        model_id: ``open_clip:<name>/<pretrained>``, or ``open_clip:tiny (random)`` for the tiny model.
        image_size: square input size of the vision tower, pixels.
    """

    def __init__(self, model: Any, preprocess: Callable, tokenizer: Callable, model_id: str, device: str):
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.device = device

    def encode_images(self, images: list[np.ndarray]) -> torch.Tensor:
        """uint8 (H, W, 3) RGB images → (N, D) float32 embeddings, L2-normalised, on CPU."""
        import torch
        from PIL import Image

        if not images:
            raise ValueError("encode_images needs at least one image")
        batch = torch.stack([self.preprocess(Image.fromarray(_rgb_uint8(im))) for im in images])  # (N, 3, S, S)
        with torch.inference_mode():
            feats = self.model.encode_image(batch.to(self.device))  # (N, D)
        return _normalise(feats.float()).cpu()

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        """Texts → (N, D) float32 embeddings, L2-normalised, on CPU (CLIP truncates at 77 tokens)."""
        import torch

        if not texts:
            raise ValueError("encode_texts needs at least one text")
        tokens = self.tokenizer(list(texts)).to(self.device)  # (N, context_length)
        with torch.inference_mode():
            feats = self.model.encode_text(tokens)  # (N, D)
        return _normalise(feats.float()).cpu()


def _tiny_clip_config() -> dict:
    # SimpleTokenizer (shipped with open_clip) needs the full 49408-token vocabulary; everything else is tiny.
    return {"embed_dim": 32,
            "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}


def _register_tiny_clip() -> None:
    import open_clip

    if TINY_CLIP_NAME in open_clip.list_models():
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{TINY_CLIP_NAME}.json"
        path.write_text(json.dumps(_tiny_clip_config()))
        open_clip.add_model_config(str(path))


def load_clip_scorer(name: str, pretrained: str | None, device: str = "cpu") -> ClipScorer:
    """Load (once per process) an open_clip model as a ClipScorer.

    Args:
        name: open_clip model name, e.g. ``ViT-L-14-336`` (METHOD.md E), or ``tiny``.
        pretrained: open_clip weights tag (``openai``) or a local weights file; ignored for ``tiny``.
        device: torch device; CUDA that is not there raises instead of falling back.

    Raises:
        ModelUnavailable: the weights are not in the cache / path, or the name is unknown.
    """
    return _clip_scorer(name, pretrained, device)  # positional: one cache entry however it is called


def _clear_clip() -> None:
    _clip_scorer.cache_clear()


load_clip_scorer.cache_clear = _clear_clip  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4)
def _clip_scorer(name: str, pretrained: str | None, device: str) -> ClipScorer:
    import open_clip
    import torch

    _check_device(device)
    if name == TINY:
        import logging

        _register_tiny_clip()
        logging.disable(logging.WARNING)  # open_clip warns "no pretrained weights": random is the point here
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(TINY_SEED)
                model, _, preprocess = open_clip.create_model_and_transforms(TINY_CLIP_NAME, pretrained=None)
        finally:
            logging.disable(logging.NOTSET)
        tokenizer = open_clip.get_tokenizer(TINY_CLIP_NAME)
        return ClipScorer(model.to(device), preprocess, tokenizer, "open_clip:tiny (random)", device)

    if name not in open_clip.list_models() and not name.startswith(("hf-hub:", "local-dir:")):
        raise ModelUnavailable(f"unknown open_clip model {name!r}",
                               hint="use a name from `python -c 'import open_clip; print(open_clip.list_models())'`"
                               ", or 'tiny' for tests")
    if pretrained is None and not name.startswith(("hf-hub:", "local-dir:")):
        raise ModelUnavailable(f"open_clip model {name!r} has no weights configured (clip_pretrained is null)",
                               hint="set clip_pretrained to 'openai' or to a local .safetensors file; a model "
                                    "without weights scores randomly (use 'tiny' for that on purpose)")
    if not name.startswith("local-dir:") and not (pretrained and os.path.isfile(os.path.expanduser(pretrained))):
        _offline()  # open_clip downloads from the Hub: an unreachable Hub switches this process offline first
    try:
        # require_pretrained: open_clip raises unless the full CLIP checkpoint loaded (strict: every key, every shape).
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained, device=device,
                                                                     require_pretrained=True)
        tokenizer = open_clip.get_tokenizer(name)
    except RuntimeError as exc:
        details = _state_dict_errors(str(exc))
        if details:  # the file was found but does not fit the architecture
            raise ModelUnavailable(
                f"CLIP weights {pretrained!r} do not match the open_clip model {name!r}: " + "; ".join(details),
                details=details,
                hint="use a checkpoint of this exact architecture (clip_model and clip_pretrained must agree); a "
                     "model whose weights do not fully load scores randomly, so it is refused") from None
        raise _clip_unavailable(name, pretrained, exc) from None
    except Exception as exc:  # network, missing cache entry, bad file: all mean "weights unavailable" to a user
        raise _clip_unavailable(name, pretrained, exc) from None
    return ClipScorer(model, preprocess, tokenizer, f"open_clip:{name}/{pretrained}", device)


def _state_dict_errors(message: str) -> list[str]:
    """torch's load_state_dict error → ['missing: a, b, ...', 'unexpected: ...', 'shape: ...'] (empty if none)."""
    import re

    out = []
    for label, pattern in (("missing", r"Missing key\(s\) in state_dict: (.*?)\.\s*(?:\n|$)"),
                           ("unexpected", r"Unexpected key\(s\) in state_dict: (.*?)\.\s*(?:\n|$)")):
        m = re.search(pattern, message)
        if m:
            keys = re.findall(r'"([^"]+)"', m.group(1))
            out.append(f"{label}: {', '.join(keys[:10])}" + (f" (+{len(keys) - 10} more)" if len(keys) > 10 else ""))
    shapes = re.findall(r"size mismatch for ([^:]+):", message)
    if shapes:
        out.append(f"shape: {', '.join(shapes[:10])}" + (f" (+{len(shapes) - 10} more)" if len(shapes) > 10 else ""))
    return out


def _clip_unavailable(name: str, pretrained: str | None, exc: Exception) -> ModelUnavailable:
    return ModelUnavailable(
        f"cannot load CLIP model {name!r} with weights {pretrained!r}: {_first_line(exc)}",
        hint=(f"on a machine with internet run `HF_HUB_OFFLINE=0 python -c \"import open_clip; "
              f"open_clip.create_model_and_transforms('{name}', pretrained='{pretrained}')\"` to fill the "
              "Hugging Face cache (copy ~/.cache/huggingface here), or set clip_pretrained to a local weights "
              "file (.safetensors)"),
    )


# Checked loading (transformers) ------------------------------------------------------------------------------------


def checkpoint_model_type(name: str) -> str | None:
    """``model_type`` of a Hugging Face checkpoint's config.json (local folder or cache), without loading weights."""
    from transformers import PretrainedConfig

    local = Path(os.path.expanduser(name)).is_dir()
    try:
        config, _ = PretrainedConfig.get_config_dict(os.path.expanduser(name) if local else name,
                                                     local_files_only=local or _offline())
    except Exception:
        return None  # no config: from_pretrained reports it
    return config.get("model_type")


def check_loading(what: str, name: str, *, expected_type: str, found_type: str | None, info: dict[str, Any],
                  allow_missing: tuple[str, ...] = (), allow_unexpected: tuple[str, ...] = (),
                  hint: str | None = None) -> None:
    """Refuse a model whose weights did not fully load (transformers' ``output_loading_info``).

    Missing keys are weights left randomly initialised; unexpected keys are checkpoint weights the class ignored;
    mismatched keys were re-initialised because of their shape; a different ``model_type`` means the checkpoint is
    another architecture. Any of them → ModelUnavailable (exit 4) naming the keys. ``allow_*`` are key prefixes
    known to be harmless (for example a pooler head that is never used).
    """
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(allow_missing or ("\0",)))
    unexpected = sorted(k for k in info.get("unexpected_keys", ()) if not k.startswith(allow_unexpected or ("\0",)))
    mismatched = sorted(str(k[0] if isinstance(k, tuple) else k) for k in info.get("mismatched_keys", ()))
    errors = [str(e) for e in info.get("error_msgs", ())]
    wrong_type = found_type is not None and found_type != expected_type
    if not (missing or unexpected or mismatched or errors or wrong_type):
        return
    parts = []
    if wrong_type:
        parts.append(f"its config says model_type {found_type!r}, not {expected_type!r}")
    if missing:
        parts.append(f"{len(missing)} weights missing from the checkpoint (they would be random): "
                     + ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else ""))
    if unexpected:
        parts.append(f"{len(unexpected)} checkpoint weights unused")
    if mismatched:
        parts.append(f"{len(mismatched)} weights of the wrong shape")
    raise ModelUnavailable(
        f"{what} {name!r} did not load fully: " + "; ".join(parts),
        details=(_keys("missing", missing) + _keys("unexpected", unexpected) + _keys("wrong shape", mismatched)
                 + [f"error: {e}" for e in errors[:3]]),
        hint=hint or "point the config at a checkpoint of this architecture; a model whose weights do not fully "
                     "load scores randomly, so it is refused")


def _keys(kind: str, keys: list[str], limit: int = 10) -> list[str]:
    if not keys:
        return []
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return [f"{kind}: {', '.join(keys[:limit])}{more}"]


# Video–text scorers: ViCLIP (the paper's) and X-CLIP ----------------------------------------------------------------
#
# Interface (duck-typed; ViCLIPScorer in models/viclip.py and XClipScorer below):
#   family: "viclip" | "xclip";  model_id: str;  num_frames, image_size: int
#   video_features(frames uint8 (T, H, W, 3)) -> dict[str, Tensor]   cacheable per clip (float32, CPU)
#   text_features(texts) -> dict[str, Tensor]                          cacheable per text
#   similarity(video_features, text_features) -> Tensor (N,)           the model's own score, a cosine in [-1, 1]
#   score(frames, texts) -> Tensor (N,)                                 the two steps at once
# The split lets retrieval cache video and text features separately and still get each model's trained score:
# a plain cosine for ViCLIP, the video-conditioned text prompt for X-CLIP.


class XClipScorer:
    """X-CLIP (transformers) with its own video-conditioned similarity.

    X-CLIP's trained score is not the cosine of separate video and text embeddings: its forward adds a
    video-specific prompt to each text embedding (``prompts_generator`` over the frames' patch features) before the
    cosine. ``video_features`` keeps what that needs from the vision side (the video embedding and the projected,
    frame-averaged patch features); ``similarity`` runs the prompt generator and returns exactly
    ``logits_per_video / logit_scale.exp()`` of ``XCLIPModel.forward`` (a test checks it).

    Attributes:
        model_id: the Hugging Face id or local path, or ``xclip:tiny (random)``.
        num_frames: frames the model takes per video (8 for xclip-base-patch32), sampled uniformly.
        image_size: square frame size in pixels.
    """

    family = "xclip"

    def __init__(self, model: Any, tokenizer: Any, model_id: str, device: str,
                 mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD):
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.device = device
        self.num_frames = int(model.config.vision_config.num_frames)
        self.image_size = int(model.config.vision_config.image_size)
        self.max_text_len = int(model.config.text_config.max_position_embeddings)
        self.mean = mean
        self.std = std

    def pixels(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) → normalised float (1, num_frames, 3, S, S): uniform sampling, short-side resize,
        centre crop (what X-CLIP's VideoMAE-style processor does)."""
        import torch
        import torch.nn.functional as F

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] < 3 or frames.shape[0] == 0:
            raise ValueError(f"expected uint8 frames (T, H, W, 3), got shape {frames.shape}")
        idx = np.linspace(0, frames.shape[0] - 1, self.num_frames).round().astype(int)
        x = torch.from_numpy(np.ascontiguousarray(frames[idx, ..., :3])).permute(0, 3, 1, 2).float() / 255.0
        h, w = x.shape[-2:]
        s = self.image_size
        scale = s / min(h, w)
        nh, nw = max(s, round(h * scale)), max(s, round(w * scale))
        x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=True).clamp(0, 1)
        top, left = (nh - s) // 2, (nw - s) // 2
        x = x[:, :, top:top + s, left:left + s]  # (T, 3, S, S)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return ((x - mean) / std).unsqueeze(0)  # (1, T, 3, S, S)

    def tokens(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_text_len,
                             return_tensors="pt")
        return {"input_ids": enc["input_ids"].to(self.device), "attention_mask": enc["attention_mask"].to(self.device)}

    def video_features(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        """{'video': (D,) L2-normalised video embedding, 'visual': (P, D) prompt-generator input}, float32, CPU."""
        import torch

        m = self.model
        pixels = self.pixels(frames).to(self.device)  # (1, T, 3, S, S)
        b, t = pixels.shape[:2]
        with torch.inference_mode():  # the vision half of XCLIPModel.forward
            vis = m.vision_model(pixel_values=pixels.flatten(0, 1))
            cls = m.visual_projection(vis[1]).view(b, t, -1)  # (1, T, D) per-frame embeddings
            video = m.mit(cls)[1][0]  # (D,) the video embedding after the multi-frame integration transformer
            patches = m.prompts_visual_layernorm(vis[0][:, 1:, :]) @ m.prompts_visual_projection  # (T, P, D)
            visual = patches.view(b, t, -1, video.shape[-1]).mean(dim=1)[0]  # (P, D), averaged over frames
        video = video.float()
        return {"video": (video / video.norm().clamp_min(1e-12)).cpu(), "visual": visual.float().cpu()}

    def text_features(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """{'text': (N, D) projected text embeddings (before the video prompt; not normalised)}, float32, CPU."""
        import torch

        if not texts:
            raise ValueError("text_features needs at least one text")
        with torch.inference_mode():
            out = self.model.text_model(**self.tokens(texts))
            text = self.model.text_projection(out[1])  # (N, D)
        return {"text": text.float().cpu()}

    def similarity(self, video: dict[str, torch.Tensor], text: dict[str, torch.Tensor]) -> torch.Tensor:
        """X-CLIP's score → (N,): cos(video, text + prompts_generator(text, visual))."""
        import torch

        m = self.model
        dtype = next(m.parameters()).dtype
        with torch.inference_mode():
            t = text["text"].to(self.device, dtype).unsqueeze(0)  # (1, N, D)
            visual = video["visual"].to(self.device, dtype).unsqueeze(0)  # (1, P, D)
            t = (t + m.prompts_generator(t, visual))[0].float().cpu()  # (N, D)
        t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return t @ video["video"]

    def score(self, frames: np.ndarray, texts: list[str]) -> torch.Tensor:
        return self.similarity(self.video_features(frames), self.text_features(texts))


TINY_XCLIP_WORDS = (
    "person man woman child girl boy dog cat bear teddy robot witch is are a the of in on at with and walking "
    "running waving jumping sitting standing stretching arms waking up dancing reading swimming eating flying "
    "sleeping cooking climbing riding driving playing singing hiking walks runs waves jumps sits dances reads "
    "swims eats flies hands book water food sky field park room bed chair"
).split()


def _tiny_xclip_tokenizer():
    """A WordPiece tokenizer built in code: known words are one token, anything else splits into characters, so
    different texts always tokenise differently (no downloads, no unknown-token collapse)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    special = ["<pad>", "<s>", "<unk>", "</s>"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    pieces = chars + [f"##{c}" for c in chars] + sorted(set(TINY_XCLIP_WORDS) - set(chars))
    vocab = {w: i for i, w in enumerate(special + pieces)}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="<unk>", max_input_chars_per_word=64))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase(), normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 3)])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=32)


def build_tiny_xclip(seed: int = TINY_SEED):
    """A random tiny XCLIPModel (32-px frames, 4 frames, 2 layers) and its tokenizer."""
    import torch
    from transformers import XCLIPConfig, XCLIPModel

    tokenizer = _tiny_xclip_tokenizer()
    config = XCLIPConfig(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 37,
                     "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 32,
                     "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 3},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8, "num_frames": 4, "mit_hidden_size": 16,
                       "mit_intermediate_size": 24, "mit_num_hidden_layers": 1, "mit_num_attention_heads": 2},
        projection_dim=16, prompt_layers=1, prompt_num_attention_heads=2,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = XCLIPModel(config)
    return model.eval(), tokenizer


def _preprocessor_stats(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """image_mean / image_std from the model's preprocessor_config.json (ImageNet stats when it has none)."""
    path: str | None = None
    if Path(name).is_dir():
        cand = Path(name) / "preprocessor_config.json"
        path = str(cand) if cand.exists() else None
    else:
        try:
            from huggingface_hub import hf_hub_download

            path = hf_hub_download(name, "preprocessor_config.json", local_files_only=_offline())
        except Exception:
            path = None  # a checkpoint without one uses X-CLIP's ImageNet statistics
    if path is None:
        return IMAGENET_MEAN, IMAGENET_STD
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    mean, std = data.get("image_mean", IMAGENET_MEAN), data.get("image_std", IMAGENET_STD)
    if max(mean) > 1.5:  # stored in 0-255 units by some checkpoints
        mean, std = [m / 255 for m in mean], [s / 255 for s in std]
    return tuple(mean), tuple(std)


def _load_xclip(name: str, device: str) -> XClipScorer:
    if name == TINY:
        model, tokenizer = build_tiny_xclip()
        return XClipScorer(model.to(device), tokenizer, "xclip:tiny (random)", device)
    from transformers import AutoTokenizer, XCLIPModel

    local = Path(name).is_dir()
    found_type = checkpoint_model_type(name)
    try:
        model, info = XCLIPModel.from_pretrained(name, local_files_only=local or _offline(), use_safetensors=None,
                                                 output_loading_info=True, ignore_mismatched_sizes=True)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local or _offline())
    except Exception as exc:
        if found_type not in (None, "xclip"):
            info, model = {}, None  # the type check below names the real problem
        else:
            raise ModelUnavailable(
                f"cannot load the X-CLIP video-text model {name!r}: {_first_line(exc)}",
                hint=(f"on a machine with internet run `hf download {name}` (or `huggingface-cli download {name}`) "
                      "and copy the Hugging Face cache here, or set video_text_model to a local folder saved with "
                      "save_pretrained; 'xclip:tiny' builds a random model for tests"),
            ) from None
    check_loading("X-CLIP video-text model", name, expected_type="xclip", found_type=found_type, info=info,
                  hint="video_text_model must be an X-CLIP checkpoint (e.g. microsoft/xclip-base-patch32) for the "
                       "xclip backend; for the paper's ViCLIP use viclip:OpenGVLab/ViCLIP")
    mean, std = _preprocessor_stats(name)
    return XClipScorer(model.to(device), tokenizer, name, device, mean=mean, std=std)


def _load_viclip(name: str, device: str) -> Any:
    from .viclip import load_viclip

    return load_viclip(name, device)


# Video-text backends: ``<backend>:<source>`` → a lazy factory. ``tiny`` is the random tiny ViCLIP; a plain
# Hugging Face id or folder without a prefix is an X-CLIP checkpoint (what earlier configs held).
VIDEO_TEXT_SCORERS: dict[str, Callable[[str, str], Any]] = {
    "viclip": _load_viclip,
    "xclip": _load_xclip,
}
DEFAULT_VIDEO_TEXT_MODEL = "viclip:OpenGVLab/ViCLIP"


def video_text_family(name: str) -> str:
    """Which backend a ``video_text_model`` name selects ('viclip' or 'xclip'), without loading anything."""
    if name == TINY:
        return "viclip"
    backend, sep, _ = name.partition(":")
    if sep and not Path(name).exists() and backend.isidentifier():
        return backend
    return "xclip"


def load_video_text_scorer(name: str, device: str = "cpu") -> Any:
    """Load (once per process) a video–text scorer.

    Args:
        name: ``viclip:<file | folder | Hub id>`` (``viclip:OpenGVLab/ViCLIP``, the paper's model),
            ``xclip:<Hub id | folder>``, ``viclip:tiny`` / ``xclip:tiny`` (random tiny models), ``tiny`` (=
            ``viclip:tiny``), or a plain X-CLIP Hub id / folder.
        device: torch device; CUDA that is not there raises instead of falling back.

    Raises:
        ModelUnavailable: weights missing, not tensors-only, or not fully matching the architecture.
        UsageError: unknown backend prefix.
    """
    return _video_text_scorer(name, device)


def _clear_video_text() -> None:
    _video_text_scorer.cache_clear()


load_video_text_scorer.cache_clear = _clear_video_text  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4)
def _video_text_scorer(name: str, device: str) -> Any:
    _check_device(device)
    if name == TINY:
        return _load_viclip(TINY, device)
    backend, sep, rest = name.partition(":")
    if sep and not Path(name).exists() and backend.isidentifier():
        if backend not in VIDEO_TEXT_SCORERS:
            raise UsageError(f"unknown video-text scorer backend {backend!r} in {name!r}",
                             hint=f"choose one of: {', '.join(VIDEO_TEXT_SCORERS)} (or a plain X-CLIP id/path)")
        return VIDEO_TEXT_SCORERS[backend](rest, device)
    return _load_xclip(name, device)


def _rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
