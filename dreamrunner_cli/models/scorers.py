"""Image–text (CLIP, open_clip) and video–text (ViCLIP, X-CLIP) scorers, shared by retrieve and evaluate.

CLIP returns L2-normalised embeddings, so a score is a plain dot product (cosine similarity in [-1, 1]). Video–text
scorers expose ``video_features`` / ``text_features`` / ``similarity`` (see the section below) so that each model
scores with its own trained similarity while video and text features stay cacheable on their own.

Names:
  * CLIP: any open_clip model name with ``pretrained`` = an open_clip tag (``openai``) or a local weights file, or
    ``hf-hub:<repo>`` / ``local-dir:<folder>`` (the repo's own open_clip_config.json builds the model); ``tiny``
    builds a random tiny CLIP in code (tests and the tiny preset; its scores mean nothing). The paper's CLIP is
    ``ViT-L-14-336-quickgelu`` + ``openai``: OpenAI trained it with QuickGELU, and open_clip's plain ``ViT-L-14-336``
    is built with GELU (open_clip only warns); a model whose activation does not match its weights is refused.
  * Video–text: ``viclip:<source>`` (the paper's ViCLIP, models/viclip.py; default ``viclip:OpenGVLab/ViCLIP``),
    ``xclip:<id>`` (X-CLIP through transformers, e.g. ``xclip:microsoft/xclip-base-patch32``), ``tiny`` (a random
    tiny ViCLIP) or ``xclip:tiny``.

Real weights are read from the Hugging Face cache (``local_files_only`` when ``HF_HUB_OFFLINE=1``) or a local path.
Every load is checked (models/checked.py): open_clip loads strictly (``require_pretrained``) after the activation
check, transformers models are loaded with ``output_loading_info`` and their config's ``model_type`` is compared
with the class (``check_loading``), ViCLIP's keys are compared one by one. Missing weights, weights that do not fully
load, or another architecture's checkpoint raise ``ModelUnavailable`` (exit 4) naming what is missing; there is never
a silent fallback to random weights, a tiny model or another device. X-CLIP preprocesses frames with its
checkpoint's own image processor (preprocessor_config.json). Loaders are memoised per process (one model per
name/weights/device).
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

from ..errors import ModelUnavailable, UsageError
# check_loading and checkpoint_model_type live in models/checked.py; they stay importable from here too.
from .checked import check_device, check_loading, checkpoint_model_type, first_line, hub_offline

if TYPE_CHECKING:
    import torch

TINY = "tiny"
TINY_CLIP_NAME = "dreamrunner-tiny-clip"
TINY_SEED = 0
QUICKGELU = "-quickgelu"  # open_clip's suffix for the QuickGELU twin of a model name
# The ImageNet statistics X-CLIP was trained with (its preprocessor_config.json), used when a model has none.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


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
    """Register the tiny CLIP with open_clip, and its QuickGELU twin (``dreamrunner-tiny-clip-quickgelu``, what the
    replica of OpenAI's weights in models/scorer_replicas.py loads into)."""
    import open_clip

    if TINY_CLIP_NAME + QUICKGELU in open_clip.list_models():
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in ((TINY_CLIP_NAME, _tiny_clip_config()),
                          (TINY_CLIP_NAME + QUICKGELU, {**_tiny_clip_config(), "quick_gelu": True})):
            path = Path(tmp) / f"{name}.json"
            path.write_text(json.dumps(cfg))
            open_clip.add_model_config(str(path))


def clip_activation_error(name: str, pretrained: str | None) -> ModelUnavailable | None:
    """The error for an open_clip model whose activation is not the one its weights were trained with, or None.

    OpenAI's CLIP weights (``openai``) were trained with QuickGELU; open_clip's plain names (``ViT-L-14-336``) build
    GELU and open_clip only warns, so every embedding would be subtly wrong. The weights' activation comes from the
    tag's open_clip config, or for a local weights file from the ``open_clip_config.json`` next to it (the published
    repo layout). ``hf-hub:`` / ``local-dir:`` names build the model from that same file, so they always agree.
    """
    import open_clip

    if not pretrained or name == TINY or name.startswith(("hf-hub:", "local-dir:")):
        return None
    model_cfg = open_clip.get_model_config(name)
    if model_cfg is None:
        return None  # unknown name: the loader says so
    model_quick = bool(model_cfg.get("quick_gelu", False))
    tag_cfg = open_clip.get_pretrained_cfg(name, pretrained)
    if tag_cfg:
        weights_quick, source = bool(tag_cfg.get("quick_gelu", False)), f"the {pretrained!r} weights"
    elif os.path.isfile(os.path.expanduser(pretrained)):
        cfg_file = Path(os.path.expanduser(pretrained)).parent / "open_clip_config.json"
        try:
            weights_quick = bool(json.loads(cfg_file.read_text(encoding="utf-8"))["model_cfg"].get("quick_gelu"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # no readable config next to the file: nothing says which activation it was trained with
        source = f"the weights (their {cfg_file})"
    else:
        return None  # neither a tag nor a file: the loader says so
    if weights_quick == model_quick:
        return None
    twin = name + QUICKGELU if weights_quick else name.removesuffix(QUICKGELU)
    fix = twin if twin != name and twin in open_clip.list_models() else None
    act = {True: "QuickGELU", False: "GELU"}
    return ModelUnavailable(
        f"CLIP model {name!r} is built with {act[model_quick]}, but {source} were trained with "
        f"{act[weights_quick]}: its embeddings would be wrong",
        hint=(f"set clip_model to {fix!r} (retrieve.clip_model and evaluate.clip_model, e.g. "
              f"--set retrieve.clip_model={fix} --set evaluate.clip_model={fix})") if fix else
             "choose an open_clip model name whose activation matches the weights (see open_clip.list_models())")


def load_clip_scorer(name: str, pretrained: str | None, device: str = "cpu") -> ClipScorer:
    """Load (once per process) an open_clip model as a ClipScorer.

    Args:
        name: open_clip model name, e.g. ``ViT-L-14-336-quickgelu`` (METHOD.md E), ``hf-hub:<repo>``,
            ``local-dir:<folder>``, or ``tiny``.
        pretrained: open_clip weights tag (``openai``) or a local weights file; ignored for ``tiny`` and the
            ``hf-hub:`` / ``local-dir:`` names.
        device: torch device; CUDA that is not there raises instead of falling back.

    Raises:
        ModelUnavailable: the weights are not in the cache / path, the name is unknown, or the model's activation
            (GELU / QuickGELU) is not the one the weights were trained with.
    """
    return _clip_scorer(name, pretrained, device)  # positional: one cache entry however it is called


def _clear_clip() -> None:
    _clip_scorer.cache_clear()


load_clip_scorer.cache_clear = _clear_clip  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=4)
def _clip_scorer(name: str, pretrained: str | None, device: str) -> ClipScorer:
    import open_clip
    import torch

    check_device(device)
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

    if name.startswith(TINY_CLIP_NAME):
        _register_tiny_clip()  # the tiny architectures by name (real weights files in their layout, tests)
    if name not in open_clip.list_models() and not name.startswith(("hf-hub:", "local-dir:")):
        raise ModelUnavailable(f"unknown open_clip model {name!r}",
                               hint="use a name from `python -c 'import open_clip; print(open_clip.list_models())'`"
                               ", or 'tiny' for tests")
    if pretrained is None and not name.startswith(("hf-hub:", "local-dir:")):
        raise ModelUnavailable(f"open_clip model {name!r} has no weights configured (clip_pretrained is null)",
                               hint="set clip_pretrained to 'openai' or to a local .safetensors file; a model "
                                    "without weights scores randomly (use 'tiny' for that on purpose)")
    mismatch = clip_activation_error(name, pretrained)
    if mismatch is not None:
        raise mismatch
    if not name.startswith("local-dir:") and not (pretrained and os.path.isfile(os.path.expanduser(pretrained))):
        hub_offline()  # open_clip downloads from the Hub: an unreachable Hub switches this process offline first
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
        f"cannot load CLIP model {name!r} with weights {pretrained!r}: {first_line(exc)}",
        hint=(f"on a machine with internet run `HF_HUB_OFFLINE=0 python -c \"import open_clip; "
              f"open_clip.create_model_and_transforms('{name}', pretrained='{pretrained}')\"` to fill the "
              "Hugging Face cache (copy ~/.cache/huggingface here), or set clip_pretrained to a local weights "
              "file (.safetensors)"),
    )


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

    def __init__(self, model: Any, tokenizer: Any, model_id: str, device: str, processor: Any = None):
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.device = device
        self.num_frames = int(model.config.vision_config.num_frames)
        self.image_size = int(model.config.vision_config.image_size)
        self.max_text_len = int(model.config.text_config.max_position_embeddings)
        # The checkpoint's own image processor (resize, resample, crop, mean/std), or X-CLIP's published one.
        self.processor = processor if processor is not None else default_xclip_processor(self.image_size)

    def pixels(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) → normalised float (1, num_frames, 3, S, S): ``num_frames`` frames sampled uniformly,
        then the image processor (for microsoft/xclip-base-patch32: short side to 224 bilinear, centre crop 224,
        ImageNet mean/std)."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] < 3 or frames.shape[0] == 0:
            raise ValueError(f"expected uint8 frames (T, H, W, 3), got shape {frames.shape}")
        idx = np.linspace(0, frames.shape[0] - 1, self.num_frames).round().astype(int)
        sampled = [np.ascontiguousarray(frames[i, ..., :3]) for i in idx]
        x = self.processor(images=sampled, return_tensors="pt")["pixel_values"].float()
        if x.ndim == 4:  # an image processor (CLIP's) returns one picture per frame; VideoMAE's one video
            x = x.unsqueeze(0)
        return x  # (1, T, 3, S, S)

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


def default_xclip_processor(size: int) -> Any:
    """The image processor microsoft/xclip-base-patch32 publishes (preprocessor_config.json: VideoMAE's, short side
    to ``size`` with PIL resample 2 = bilinear, centre crop ``size``, ImageNet mean/std), for models without one."""
    from transformers import VideoMAEImageProcessor
    from transformers.image_utils import PILImageResampling

    return VideoMAEImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                  resample=PILImageResampling.BILINEAR, image_mean=list(IMAGENET_MEAN),
                                  image_std=list(IMAGENET_STD))


def _xclip_processor(name: str, local: bool, image_size: int) -> Any:
    """The checkpoint's own image processor when it ships a preprocessor_config.json (so its resample, crop and
    statistics are the ones it was trained with), else X-CLIP's published default."""
    from transformers import AutoImageProcessor

    if local:
        has_config = (Path(name) / "preprocessor_config.json").is_file()
    else:
        try:
            from huggingface_hub import hf_hub_download

            hf_hub_download(name, "preprocessor_config.json", local_files_only=hub_offline())
            has_config = True
        except Exception:
            has_config = False  # a checkpoint without one uses X-CLIP's published processor
    if not has_config:
        return default_xclip_processor(image_size)
    try:
        return AutoImageProcessor.from_pretrained(name, local_files_only=local or hub_offline())
    except Exception as exc:
        raise ModelUnavailable(f"cannot read the image processor of the X-CLIP model {name!r} "
                               f"(preprocessor_config.json): {first_line(exc)}",
                               hint="fix or remove the checkpoint's preprocessor_config.json (without one, X-CLIP's "
                                    "published processor is used)") from None


def _load_xclip(name: str, device: str) -> XClipScorer:
    if name == TINY:
        model, tokenizer = build_tiny_xclip()
        return XClipScorer(model.to(device), tokenizer, "xclip:tiny (random)", device)
    from transformers import AutoTokenizer, XCLIPModel

    local = Path(name).is_dir()
    found_type = checkpoint_model_type(name)
    try:
        model, info = XCLIPModel.from_pretrained(name, local_files_only=local or hub_offline(), use_safetensors=None,
                                                 output_loading_info=True, ignore_mismatched_sizes=True)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local or hub_offline())
    except Exception as exc:
        if found_type not in (None, "xclip"):
            info, model = {}, None  # the type check below names the real problem
        else:
            raise ModelUnavailable(
                f"cannot load the X-CLIP video-text model {name!r}: {first_line(exc)}",
                hint=(f"on a machine with internet run `hf download {name}` (or `huggingface-cli download {name}`) "
                      "and copy the Hugging Face cache here, or set video_text_model to a local folder saved with "
                      "save_pretrained; 'xclip:tiny' builds a random model for tests"),
            ) from None
    check_loading("X-CLIP video-text model", name, expected_type="xclip", found_type=found_type, info=info,
                  hint="video_text_model must be an X-CLIP checkpoint (e.g. microsoft/xclip-base-patch32) for the "
                       "xclip backend; for the paper's ViCLIP use viclip:OpenGVLab/ViCLIP")
    processor = _xclip_processor(name, local, int(model.config.vision_config.image_size))
    return XClipScorer(model.to(device), tokenizer, name, device, processor=processor)


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
    check_device(device)
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
