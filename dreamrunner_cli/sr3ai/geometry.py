"""Token geometry of a CogVideoX model at a requested size, derived from the model's config (METHOD.md F.1).

Nothing is hard-wired: 2B at 480×720×49 gives 13 latent frames × (30 × 45) tokens; 48 frames give 12 latent
frames (the authors' setting); the tiny test model at 64×64×9 gives 3 × (4 × 4).

Frame counts follow the VAE's latent arithmetic, in one place (``latent_frames_for`` / ``decoded_frames``): the
pipeline samples n = (num_frames - 1) // 4 + 1 latent frames, and CogVideoX's causal VAE decodes them in pairs, so n
latents come back as 4n - 3 frames when n is odd and 4n when n is even. Only requests the VAE reproduces exactly are
accepted: num_frames ≡ 0 or 1 (mod 8), i.e. 1, 8, 9, 16, 17, …, 48, 49. Anything else (45 → 48 decoded) is refused
with the nearest valid counts named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UsageError
from ..models.known_configs import VAE_SPATIAL, VAE_TEMPORAL


def latent_frames_for(num_frames: int, temporal: int = VAE_TEMPORAL) -> int:
    """Latent frames the pipeline samples for a pixel-frame request (diffusers' prepare_latents)."""
    return (num_frames - 1) // temporal + 1


def decoded_frames(latent_frames: int, temporal: int = VAE_TEMPORAL) -> int:
    """Pixel frames the CogVideoX VAE decodes from n latent frames: the first latent of an odd count is a single
    (causal) frame, the rest decode to ``temporal`` frames each; an even count decodes to ``temporal`` · n."""
    n = latent_frames
    return temporal * n - (temporal - 1) if n % 2 else temporal * n


def valid_num_frames(num_frames: int, temporal: int = VAE_TEMPORAL) -> bool:
    return num_frames >= 1 and decoded_frames(latent_frames_for(num_frames, temporal), temporal) == num_frames


def nearest_valid_num_frames(num_frames: int, temporal: int = VAE_TEMPORAL) -> list[int]:
    """The closest valid counts below and above a request (one value when the request is below the first)."""
    below = next((f for f in range(num_frames - 1, 0, -1) if valid_num_frames(f, temporal)), None)
    above = next(f for f in range(max(num_frames + 1, 1), num_frames + 4 * temporal + 2)
                 if valid_num_frames(f, temporal))
    return [f for f in (below, above) if f is not None]


def check_num_frames(num_frames: int, temporal: int = VAE_TEMPORAL) -> None:
    """Refuse (exit 2) a frame count the VAE cannot give back exactly, naming the nearest valid ones."""
    if valid_num_frames(num_frames, temporal):
        return
    near = nearest_valid_num_frames(num_frames, temporal)
    got = decoded_frames(latent_frames_for(num_frames, temporal), temporal) if num_frames >= 1 else 0
    raise UsageError(
        f"render.num_frames={num_frames} cannot be produced exactly: it gives "
        f"{latent_frames_for(num_frames, temporal) if num_frames >= 1 else 0} latent frames, which the VAE decodes "
        f"to {got} frames",
        hint="use " + " or ".join(str(f) for f in near) + " (valid counts are ≡ 0 or 1 mod 8: 48 is the authors' "
        f"setting, 49 CogVideoX's native length), e.g. --set render.num_frames={near[-1]}")


@dataclass(frozen=True)
class Geometry:
    height: int  # pixels
    width: int
    num_frames: int  # pixel frames
    latent_frames: int  # latent_frames_for(num_frames): 12 for 48 frames, 13 for 49
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
        """True when the first latent frame decodes to a single pixel frame (an odd latent count: 49 frames)."""
        return self.latent_frames % 2 == 1

    def latent_span(self, latent: int) -> tuple[float, float]:
        """Pixel-frame interval [start, end) covered by a latent frame.

        49 frames: latent 0 ↔ frame 0, latent l ≥ 1 ↔ frames 4l-3 … 4l. 48 frames (authors): latent l ↔ 4l … 4l+3.
        """
        t = self.temporal_compression
        if self.causal_first_frame():
            return (0.0, 1.0) if latent == 0 else (float(t * latent - t + 1), float(t * latent + 1))
        return (float(t * latent), float(t * (latent + 1)))

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
        temporal = int(config.get("temporal_compression_ratio", VAE_TEMPORAL))
        check_num_frames(num_frames, temporal)
        return cls(
            height=height, width=width, num_frames=num_frames,
            latent_frames=latent_frames_for(num_frames, temporal), temporal_compression=temporal,
            rows=height // unit, cols=width // unit,
            text_len=int(config.get("max_text_seq_length", 226)),
            num_blocks=int(config["num_layers"]),
            heads=int(config["num_attention_heads"]), head_dim=int(config["attention_head_dim"]),
            rope=bool(config.get("use_rotary_positional_embeddings", False)), patch_size=p,
        )
