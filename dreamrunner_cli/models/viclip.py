"""ViCLIP, the paper's video-text model (METHOD.md B.1 step 4 and E), written here from the published architecture.

ViCLIP (InternVid, Wang et al. 2023) is a CLIP ViT whose vision tower attends jointly over the patches of all frames.
This module reimplements it so the official checkpoint ``OpenGVLab/ViCLIP`` (``ViClip-InternVid-10M-FLT.pth``,
ViCLIP-L/14 trained on InternVid-10M-FLT) loads with its own parameter names. Architecture facts checked against
OpenGVLab/InternVideo:Data/InternVid/viclip/{viclip.py, viclip_vision.py, viclip_text.py} (read for facts only):

Vision tower (``vision_encoder.*``), ViT-L/14: 224 px, patch 14, width 1024, 24 layers, 16 heads, output 768, 8
frames.
  * ``conv1``: Conv3d(3, width, kernel (1, p, p), stride (1, p, p), no bias): one patch embedding per frame.
  * ``class_embedding`` (width,), ``positional_embedding`` (grid² + 1, width) added per frame (spatial positions),
    ``temporal_positional_embedding`` (1, frames, width) added to every patch of frame t (its mean when T = 1).
  * Tokens: one CLS token (class_embedding + positional_embedding[0]) then every patch of every frame, ordered patch-
    major then frame; ``ln_pre``; the transformer (``transformer.resblocks.N``: ``ln_1``, ``attn`` =
    nn.MultiheadAttention, ``ln_2``, ``mlp.c_fc`` → QuickGELU → ``mlp.c_proj``); ``ln_post``; the CLS token
    ``@ proj`` (width, 768). Joint space-time attention, no mask.
  * At inference the reference calls ``encode_vision(video, test=True)``: no token masking.
Text tower (``text_encoder.*``), the CLIP ViT-L/14 text transformer with a **32-token** context: ``token_embedding``
(49408, 768), ``positional_embedding`` (32, 768), 12 causal layers of 12 heads (same block layout, QuickGELU),
``ln_final``, the end-of-text token's feature (the argmax token id) ``@ text_projection`` (768, 768). Tokens come
from CLIP's BPE tokenizer (``bpe_simple_vocab_16e6``; open_clip ships the same file): ``<sot> text <eot>``, truncated
to 32 with ``<eot>`` last, zero-padded.
Top level: ``temp`` (the contrastive temperature, unused for scoring). The checkpoint is ``{"model": state_dict}``.
Score: cosine of the L2-normalised video and text embeddings (the reference ``get_vid_features`` /
``get_text_features``).
Preprocessing (the reference ``frames2tensor``): 8 frames taken every ``T // 8`` frames from the start, each
resized to 224×224 (no crop, aspect not kept), RGB in [0, 1] normalised with the ImageNet mean / std.

Loading is tensors-only: ``torch.load(..., weights_only=True)`` (or safetensors). Every parameter must be present
with the right shape, and nothing unexpected may be left over; otherwise :class:`ModelUnavailable` names what is
missing (exit 4). There is no silent partial load.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ModelUnavailable
from .checked import hub_offline, keys_listing

if TYPE_CHECKING:
    import torch

CHECKPOINT_FILE = "ViClip-InternVid-10M-FLT.pth"
DEFAULT_REPO = "OpenGVLab/ViCLIP"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ViCLIPConfig:
    """Sizes of a ViCLIP model. The defaults are ViCLIP-L/14 (the released checkpoint)."""

    image_size: int = 224
    patch_size: int = 14
    vision_width: int = 1024
    vision_layers: int = 24
    vision_heads: int = 16
    num_frames: int = 8
    embed_dim: int = 768
    text_width: int = 768
    text_layers: int = 12
    text_heads: int = 12
    context_length: int = 32
    vocab_size: int = 49408


VICLIP_L14 = ViCLIPConfig()
# Tests and the tiny preset: same structure, random weights (the real BPE vocabulary, so the real tokenizer works).
TINY_VICLIP = ViCLIPConfig(image_size=32, patch_size=8, vision_width=32, vision_layers=2, vision_heads=2,
                           num_frames=4, embed_dim=16, text_width=32, text_layers=2, text_heads=2)


def _modules():
    """The torch modules, defined on first use so importing this file stays cheap."""
    import torch
    from torch import nn

    class LayerNorm(nn.LayerNorm):
        """LayerNorm computed in float32 (the reference's fp16-safe LayerNorm), cast back."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x.float()).to(x.dtype)

    class QuickGELU(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):
        """Pre-norm residual block: x + attn(ln_1(x)); x + mlp(ln_2(x)). Sequence-first (L, B, width)."""

        def __init__(self, width: int, heads: int):
            super().__init__()
            self.ln_1 = LayerNorm(width)
            self.attn = nn.MultiheadAttention(width, heads)
            self.ln_2 = LayerNorm(width)
            self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()),
                                                  ("c_proj", nn.Linear(width * 4, width))]))

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
            return x + self.mlp(self.ln_2(x))

    class Transformer(nn.Module):
        def __init__(self, width: int, layers: int, heads: int):
            super().__init__()
            self.resblocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
            for block in self.resblocks:
                x = block(x, mask)
            return x

    class Vision(nn.Module):
        def __init__(self, c: ViCLIPConfig):
            super().__init__()
            w, p = c.vision_width, c.patch_size
            grid = c.image_size // p
            self.num_frames = c.num_frames
            self.conv1 = nn.Conv3d(3, w, (1, p, p), (1, p, p), bias=False)
            self.class_embedding = nn.Parameter(torch.randn(w) * w ** -0.5)
            self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, w) * w ** -0.5)
            self.temporal_positional_embedding = nn.Parameter(torch.zeros(1, c.num_frames, w))
            self.ln_pre = LayerNorm(w)
            self.transformer = Transformer(w, c.vision_layers, c.vision_heads)
            self.ln_post = LayerNorm(w)
            self.proj = nn.Parameter(torch.randn(w, c.embed_dim) * w ** -0.5)

        def forward(self, video: torch.Tensor) -> torch.Tensor:
            """video (B, 3, T, H, W), normalised → (B, embed_dim), not normalised."""
            x = self.conv1(video)  # (B, width, T, g, g)
            B, C, T = x.shape[:3]
            if T not in (1, self.num_frames):
                raise ValueError(f"ViCLIP takes {self.num_frames} frames (or 1), got {T}")
            x = x.permute(0, 2, 3, 4, 1).reshape(B, T, -1, C)  # (B, T, N, width): N = g² patches per frame
            x = x + self.positional_embedding[1:].to(x.dtype)  # spatial positions, per frame
            temporal = self.temporal_positional_embedding  # (1, F, width)
            temporal = temporal.mean(1, keepdim=True) if T == 1 else temporal
            x = x + temporal.to(x.dtype).unsqueeze(2)  # (1, T, 1, width): the same for every patch of frame t
            x = x.permute(0, 2, 1, 3).reshape(B, -1, C)  # (B, N·T, width), patch-major then frame
            cls = (self.class_embedding + self.positional_embedding[0]).to(x.dtype).expand(B, 1, C)
            x = self.ln_pre(torch.cat([cls, x], dim=1))  # (B, 1 + N·T, width)
            x = self.transformer(x.permute(1, 0, 2))  # (1 + N·T, B, width)
            x = self.ln_post(x)
            return x[0] @ self.proj  # CLS token → (B, embed_dim)

    class Text(nn.Module):
        def __init__(self, c: ViCLIPConfig):
            super().__init__()
            self.context_length = c.context_length
            self.token_embedding = nn.Embedding(c.vocab_size, c.text_width)
            self.positional_embedding = nn.Parameter(torch.randn(c.context_length, c.text_width) * 0.01)
            self.transformer = Transformer(c.text_width, c.text_layers, c.text_heads)
            self.ln_final = LayerNorm(c.text_width)
            self.text_projection = nn.Parameter(torch.randn(c.text_width, c.embed_dim) * c.text_width ** -0.5)
            mask = torch.full((c.context_length, c.context_length), float("-inf")).triu_(1)  # causal, additive
            self.register_buffer("attn_mask", mask, persistent=False)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            """ids (B, context_length) → (B, embed_dim), not normalised: the end-of-text token's feature."""
            x = self.token_embedding(ids) + self.positional_embedding  # (B, L, width)
            x = self.transformer(x.permute(1, 0, 2), self.attn_mask.to(x.dtype)).permute(1, 0, 2)
            x = self.ln_final(x)
            return x[torch.arange(x.shape[0], device=x.device), ids.argmax(dim=-1)] @ self.text_projection

    class ViCLIP(nn.Module):
        def __init__(self, c: ViCLIPConfig):
            super().__init__()
            self.config = c
            self.vision_encoder = Vision(c)
            self.text_encoder = Text(c)
            self.temp = nn.Parameter(torch.tensor(0.01))

        def encode_video(self, pixels: torch.Tensor) -> torch.Tensor:
            """pixels (B, T, 3, H, W) → (B, embed_dim)."""
            return self.vision_encoder(pixels.permute(0, 2, 1, 3, 4))

        def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
            return self.text_encoder(ids)

    return ViCLIP


def build_viclip(config: ViCLIPConfig = VICLIP_L14, seed: int | None = None):
    """A ViCLIP model with random weights (``seed`` makes them deterministic)."""
    import torch

    cls = _modules()
    if seed is None:
        return cls(config).eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(config).eval()


def config_from_state_dict(sd: dict[str, Any], head_width: int = 64) -> ViCLIPConfig:
    """Sizes read from a checkpoint's shapes. Head counts are width / ``head_width`` (64 for the released models,
    which shapes alone cannot tell)."""
    try:
        w, _, _, p, _ = sd["vision_encoder.conv1.weight"].shape
        grid2 = sd["vision_encoder.positional_embedding"].shape[0] - 1
        frames = sd["vision_encoder.temporal_positional_embedding"].shape[1]
        embed = sd["vision_encoder.proj"].shape[1]
        vocab, tw = sd["text_encoder.token_embedding.weight"].shape
        ctx = sd["text_encoder.positional_embedding"].shape[0]
    except (KeyError, ValueError) as exc:
        raise ModelUnavailable(f"not a ViCLIP checkpoint: {exc} missing or malformed",
                               hint=f"use the official {CHECKPOINT_FILE} from {DEFAULT_REPO}") from None

    def layers(prefix: str) -> int:
        ids = {int(k[len(prefix):].split(".")[0]) for k in sd if k.startswith(prefix)}
        return max(ids) + 1 if ids else 0

    return ViCLIPConfig(image_size=int(round(grid2 ** 0.5)) * p, patch_size=p, vision_width=w,
                        vision_layers=layers("vision_encoder.transformer.resblocks."),
                        vision_heads=max(1, w // head_width), num_frames=frames, embed_dim=embed, text_width=tw,
                        text_layers=layers("text_encoder.transformer.resblocks."),
                        text_heads=max(1, tw // head_width), context_length=ctx, vocab_size=vocab)


# Checkpoint reading and the key check -------------------------------------------------------------------------------


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A ``.pth`` (tensors only, ``weights_only=True``) or ``.safetensors`` file → a flat state dict.

    Unwraps ``{"model": ...}`` / ``{"state_dict": ...}`` and a ``module.`` prefix (DistributedDataParallel).
    """
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd: Any = load_file(str(path))
    else:
        try:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # pickled code or objects: refused, never executed
            raise ModelUnavailable(
                f"the ViCLIP checkpoint {path} could not be read as tensors only ({type(exc).__name__}: "
                f"{(str(exc).strip().splitlines() or [''])[0][:200]})",
                hint="weights are loaded with torch.load(weights_only=True), which refuses pickled objects; on a "
                     "machine you trust, re-save the state dict as .safetensors (safetensors.torch.save_file) and "
                     "point video_text_model at that file") from None
    for wrapper in ("model", "state_dict", "module"):
        if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
    if not isinstance(sd, dict):
        raise ModelUnavailable(f"{path} does not hold a state dict (got {type(sd).__name__})")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def load_state_dict_checked(model: Any, sd: dict[str, Any], what: str) -> None:
    """Load ``sd`` into ``model``; any missing, unexpected or mis-shaped tensor is a ModelUnavailable naming them."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    shapes = [f"{k}: checkpoint {tuple(sd[k].shape)} vs model {tuple(v.shape)}" for k, v in expected.items()
              if k in sd and tuple(sd[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        raise ModelUnavailable(
            f"{what}: the weights do not match the ViCLIP architecture ({len(missing)} missing, {len(unexpected)} "
            f"unexpected, {len(shapes)} of the wrong shape)",
            details=keys_listing("missing", missing, 8) + keys_listing("unexpected", unexpected, 8)
                    + keys_listing("shape", shapes, 8),
            hint=f"use the official {CHECKPOINT_FILE} (ViCLIP-L/14) from the {DEFAULT_REPO} repository; a model whose "
                 "weights do not fully load would score randomly")
    model.load_state_dict(sd, strict=True)


def resolve_checkpoint(source: str) -> Path:
    """A file, a folder holding the checkpoint, or a Hugging Face repo id (the cache; offline with HF_HUB_OFFLINE)."""
    p = Path(os.path.expanduser(source))
    if p.is_file():
        return p
    if p.is_dir():
        for name in (CHECKPOINT_FILE, "model.safetensors"):
            if (p / name).is_file():
                return p / name
        raise ModelUnavailable(f"no ViCLIP checkpoint in the folder {p}",
                               hint=f"the folder needs {CHECKPOINT_FILE} (or model.safetensors)")
    if source.count("/") == 1 and not source.startswith((".", "/", "~")):
        from huggingface_hub import hf_hub_download

        try:
            return Path(hf_hub_download(source, CHECKPOINT_FILE, local_files_only=hub_offline()))
        except Exception as exc:
            raise ModelUnavailable(
                f"cannot load the ViCLIP checkpoint {source}/{CHECKPOINT_FILE}: {type(exc).__name__}",
                hint=f"on a machine with internet run `hf download {source} {CHECKPOINT_FILE}` and copy the Hugging "
                     "Face cache here, or set video_text_model to viclip:/path/to/" + CHECKPOINT_FILE) from None
    raise ModelUnavailable(f"ViCLIP checkpoint {source!r} not found",
                           hint=f"give a file, a folder holding {CHECKPOINT_FILE}, or a Hub id like {DEFAULT_REPO}")


# The scorer ---------------------------------------------------------------------------------------------------------


class ViCLIPScorer:
    """ViCLIP video and text features and their score (cosine), the interface of models/scorers.py.

    Attributes:
        model_id: ``viclip:<source>`` or ``viclip:tiny (random)``.
        num_frames: frames the model takes (8).
        image_size: frame size in pixels (224).
    """

    family = "viclip"

    def __init__(self, model: Any, model_id: str, device: str):
        self.model = model.eval().requires_grad_(False).to(device)
        self.model_id = model_id
        self.device = device
        self.num_frames = model.config.num_frames
        self.image_size = model.config.image_size
        self.context_length = model.config.context_length
        self._tokenizer: Any = None

    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """CLIP BPE: (N, 32) token ids, ``<sot> ... <eot>`` truncated with ``<eot>`` last, zero-padded."""
        if self._tokenizer is None:
            from open_clip.tokenizer import SimpleTokenizer

            self._tokenizer = SimpleTokenizer(context_length=self.context_length)
        return self._tokenizer(list(texts), context_length=self.context_length)

    def pixels(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 (T, H, W, 3) → (1, num_frames, 3, S, S): every ``T // num_frames``-th frame from the start (frames
        repeated when T < num_frames), resized to S×S (bilinear), ImageNet-normalised."""
        import torch
        import torch.nn.functional as F

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[0] == 0 or frames.shape[-1] < 3:
            raise ValueError(f"expected uint8 frames (T, H, W, 3), got shape {frames.shape}")
        idx = sample_indices(len(frames), self.num_frames)
        x = torch.from_numpy(np.ascontiguousarray(frames[idx, ..., :3])).permute(0, 3, 1, 2).float() / 255.0
        x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return ((x - mean) / std).unsqueeze(0)  # (1, F, 3, S, S)

    def video_features(self, frames: np.ndarray) -> dict[str, torch.Tensor]:
        """{'video': (D,) L2-normalised}, float32 on CPU (cacheable per window)."""
        import torch

        with torch.inference_mode():
            v = self.model.encode_video(self.pixels(frames).to(self.device))[0].float()
        return {"video": (v / v.norm().clamp_min(1e-12)).cpu()}

    def text_features(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """{'text': (N, D) L2-normalised}, float32 on CPU (cacheable per text)."""
        import torch

        if not texts:
            raise ValueError("text_features needs at least one text")
        with torch.inference_mode():
            t = self.model.encode_text(self.tokenize(texts).to(self.device)).float()
        return {"text": (t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)).cpu()}

    def similarity(self, video: dict[str, torch.Tensor], text: dict[str, torch.Tensor]) -> torch.Tensor:
        """Cosine of the video with each text → (N,)."""
        return text["text"] @ video["video"]

    def score(self, frames: np.ndarray, texts: list[str]) -> torch.Tensor:
        return self.similarity(self.video_features(frames), self.text_features(texts))


def sample_indices(total: int, k: int) -> list[int]:
    """The reference sampling: every ``total // k``-th frame from 0, the first k of them; fewer frames than k are
    spread uniformly with repeats (the reference asserts total ≥ k)."""
    if total >= k:
        step = total // k
        return [i * step for i in range(k)]
    return [int(round(i * (total - 1) / max(k - 1, 1))) for i in range(k)]


def load_viclip(source: str, device: str = "cpu", config: ViCLIPConfig | None = None) -> ViCLIPScorer:
    """Load a ViCLIP checkpoint (tensors only) into the architecture above, checking every key.

    Args:
        source: ``tiny`` (random tiny model), a ``.pth`` / ``.safetensors`` file, a folder holding
            ``ViClip-InternVid-10M-FLT.pth``, or a Hub id (``OpenGVLab/ViCLIP``).
        config: sizes; default read from the checkpoint's shapes.

    Raises:
        ModelUnavailable: file missing, not tensors-only, or its keys / shapes do not match.
    """
    if source == "tiny":
        return ViCLIPScorer(build_viclip(TINY_VICLIP, seed=0), "viclip:tiny (random)", device)
    path = resolve_checkpoint(source)
    sd = read_checkpoint(path)
    cfg = config or config_from_state_dict(sd)
    model = build_viclip(cfg)
    load_state_dict_checked(model, sd, f"ViCLIP checkpoint {path}")
    return ViCLIPScorer(model, f"viclip:{source}", device)
