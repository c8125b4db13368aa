"""Token geometry of a CogVideoX model at a requested size, derived from the model's config (METHOD.md F.1).

Nothing is hard-wired: 2B at 480×720×49 gives 13 latent frames × (30 × 45) tokens; 48 frames give 12 latent
frames (the authors' setting); the tiny test model at 64×64×9 gives 3 × (4 × 4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UsageError
from ..models.known_configs import VAE_SPATIAL, VAE_TEMPORAL


@dataclass(frozen=True)
class Geometry:
    height: int  # pixels
    width: int
    num_frames: int  # pixel frames
    latent_frames: int  # (num_frames - 1) // 4 + 1
    rows: int  # token rows per latent frame = height / (8 · patch)
    cols: int  # token columns per latent frame
    text_len: int  # tokens per prompt (226 for CogVideoX)
    num_blocks: int
    heads: int
    head_dim: int
    rope: bool  # 5B: rotary positions; 2B: sin-cos absolute positions
    patch_size: int
    temporal_compression: int = VAE_TEMPORAL
    spatial_compression: int = VAE_SPATIAL

    @property
    def tokens_per_frame(self) -> int:
        return self.rows * self.cols

    @property
    def video_tokens(self) -> int:
        return self.latent_frames * self.tokens_per_frame

    def seq_len(self, num_prompts: int) -> int:
        """Joint sequence length S = P · text_len + video tokens."""
        return num_prompts * self.text_len + self.video_tokens

    def causal_first_frame(self) -> bool:
        """True when the first latent frame encodes a single pixel frame (num_frames ≡ 1 mod 4)."""
        return self.num_frames % self.temporal_compression == 1

    def latent_span(self, latent: int) -> tuple[float, float]:
        """Pixel-frame interval [start, end) covered by a latent frame.

        49 frames: latent 0 ↔ frame 0, latent l ≥ 1 ↔ frames 4l-3 … 4l. 48 frames (authors): latent l ↔ 4l … 4l+3.
        """
        t = self.temporal_compression
        if self.causal_first_frame():
            return (0.0, 1.0) if latent == 0 else (float(t * latent - t + 1), float(t * latent + 1))
        scale = self.num_frames / (self.latent_frames * t)  # 1.0 when num_frames = 4 · latent_frames
        return (t * latent * scale, t * (latent + 1) * scale)

    def to_dict(self) -> dict:
        return {**asdict(self), "tokens_per_frame": self.tokens_per_frame, "video_tokens": self.video_tokens}

    @classmethod
    def from_config(cls, config: dict, height: int, width: int, num_frames: int) -> Geometry:
        """Geometry from a CogVideoXTransformer3DModel config and a requested video size."""
        p = int(config.get("patch_size", 2))
        if config.get("patch_size_t"):
            raise UsageError("CogVideoX 1.5 models (temporal patching) are not supported yet",
                             hint="use CogVideoX-2b or CogVideoX-5b")
        unit = VAE_SPATIAL * p
        if height % unit or width % unit:
            raise UsageError(f"height and width must be multiples of {unit} (VAE {VAE_SPATIAL} × patch {p}); "
                             f"got {height}×{width}", hint=f"e.g. --set render.height={height // unit * unit}")
        if num_frames < 1:
            raise UsageError(f"num_frames must be ≥ 1, got {num_frames}")
        return cls(
            height=height, width=width, num_frames=num_frames,
            latent_frames=(num_frames - 1) // VAE_TEMPORAL + 1,
            rows=height // unit, cols=width // unit,
            text_len=int(config.get("max_text_seq_length", 226)),
            num_blocks=int(config["num_layers"]),
            heads=int(config["num_attention_heads"]), head_dim=int(config["attention_head_dim"]),
            rope=bool(config.get("use_rotary_positional_embeddings", False)), patch_size=p,
        )
