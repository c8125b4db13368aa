"""Training data of the adapt stage: which clips and images, their captions, and their pixels.

Motion clips come from one of three places (METHOD.md B.1–B.2):

* the retrieve stage's ``retrieval/<motion>/manifest.json``: a JSON object with a list ``kept``; each entry has at
  least ``file`` (a path relative to the motion folder, e.g. ``clips/0003.mp4``) and ``caption`` (the database
  caption). Nothing else is read; a missing caption falls back to the file name. Entries that are not objects or
  have no ``file`` are errors naming the entry;
* a folder given by hand (``--clips MOTION=DIR``): every video in it, sorted by name, captioned by its file name
  with ``_`` and ``-`` turned into spaces (as the authors' loader does). A folder holding a ``manifest.json`` is
  read as a manifest;
* character reference images, listed in ``plan.characters[].reference_images`` (relative to the workspace).

Pixels go into the VAE in [-1, 1] (METHOD.md F.7), resized directly to the render size without cropping (B.2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputInvalid, MissingUpstream
from ..workspace import file_digest

if TYPE_CHECKING:
    import numpy as np
    import torch

    from ..schema import Character, Motion

VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v")


@dataclass(frozen=True)
class Example:
    """One training example: a clip (or an image shown as a static video) and its caption."""

    path: Path
    caption: str
    kind: str  # "clip" | "image"
    digest: str  # content hash of the file

    def fingerprint(self) -> dict:
        return {"kind": self.kind, "digest": self.digest, "caption": self.caption}


def caption_from_filename(path: Path) -> str:
    """``a_man-walking_fast.mp4`` → ``a man walking fast`` (the authors' per-clip prompt)."""
    return re.sub(r"\s+", " ", re.sub(r"[_-]", " ", Path(path).stem)).strip()


def character_caption(character: Character) -> str:
    """The caption of a character's images: its description carrying its token after the article.

    ``a brown teddy bear`` + ``[v1]`` → ``a [v1] brown teddy bear`` (the authors' "A [v4] girl witch").
    """
    desc = character.description.strip()
    if character.token in desc:
        return desc
    m = re.match(r"(?i)^(a|an|the)\s+(.*)$", desc)
    if m:
        return f"{m.group(1)} {character.token} {m.group(2)}"
    return f"{character.token} {desc}".strip()


def data_fingerprint(examples: list[Example]) -> list[dict]:
    """What the trained weights depend on: content and caption of every example, in training order."""
    return [e.fingerprint() for e in examples]


# Motion clips -------------------------------------------------------------------------------------------------


def motion_examples(ws_root: Path, motion: Motion, clips_dir: Path | None) -> list[Example]:
    """The clips a motion LoRA trains on, with their captions, in a fixed order.

    Raises:
        MissingUpstream: no clips for the motion (names the motion and what to run).
        InputInvalid: an unreadable manifest or a listed file that does not exist.
    """
    if clips_dir is not None:
        clips_dir = Path(clips_dir)
        if not clips_dir.is_dir():
            raise InputInvalid(f"--clips {motion.id}={clips_dir}: folder not found",
                               hint="pass a folder of video clips (mp4) for the motion")
        if (clips_dir / "manifest.json").is_file():
            return _from_manifest(clips_dir / "manifest.json", motion.id)
        files = sorted(p for p in clips_dir.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        if not files:
            raise InputInvalid(f"--clips {motion.id}={clips_dir}: no video files in the folder",
                               hint=f"put the motion's clips there ({', '.join(VIDEO_SUFFIXES)})")
        return [Example(p, caption_from_filename(p), "clip", file_digest(p)) for p in files]
    manifest = Path(ws_root) / "retrieval" / motion.id / "manifest.json"
    if not manifest.is_file():
        raise MissingUpstream(
            f"no training clips for motion {motion.id!r}: {manifest} not found",
            hint=f"run `dreamrunner retrieve {ws_root} --motion {motion.id}` first, or give a folder of clips by hand "
            f"with `dreamrunner adapt {ws_root} --motion {motion.id} --clips {motion.id}=DIR`",
        )
    return _from_manifest(manifest, motion.id)


def _from_manifest(manifest: Path, motion_id: str) -> list[Example]:
    from ..bounds import read_json

    try:  # bounded (bounds.read_json): a 100,000-level or huge manifest is exit 5 naming it, never a crash
        data = read_json(manifest, what="retrieval manifest")
    except (OSError, json.JSONDecodeError) as exc:
        raise InputInvalid(f"{manifest} is not readable JSON: {exc}",
                           hint=f"re-run `dreamrunner retrieve WS --motion {motion_id} --force`") from None
    kept = data.get("kept") if isinstance(data, dict) else None
    if not isinstance(kept, list):
        raise InputInvalid(f"{manifest}: expected an object with a list 'kept' of clips",
                           hint=f"re-run `dreamrunner retrieve WS --motion {motion_id} --force`")
    if not kept:
        raise MissingUpstream(
            f"retrieval kept no clips for motion {motion_id!r} ({manifest})",
            hint=f"re-run retrieval with a lower retrieve.threshold, or pass --clips {motion_id}=DIR by hand")
    out: list[Example] = []
    for i, entry in enumerate(kept):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str) or not entry["file"]:
            raise InputInvalid(f"{manifest}: kept[{i}] needs a 'file' (path relative to {manifest.parent})")
        path = (manifest.parent / entry["file"]).resolve()
        if not path.is_file():
            raise InputInvalid(f"{manifest}: kept[{i}].file {entry['file']!r} not found ({path})",
                               hint=f"re-run `dreamrunner retrieve WS --motion {motion_id} --force`")
        caption = entry.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            caption = caption_from_filename(path)
        out.append(Example(path, caption.strip(), "clip", file_digest(path)))
    return out


# Character images ---------------------------------------------------------------------------------------------


def character_examples(ws_root: Path, character: Character, index: int) -> list[Example]:
    """The reference images of a character (in plan order), each captioned with the character's token.

    Raises:
        InputInvalid: a listed image is missing (names the JSON path).
    """
    caption = character_caption(character)
    out = []
    for j, rel in enumerate(character.reference_images):
        path = (Path(ws_root) / rel).resolve()
        if not path.is_file():
            raise InputInvalid(
                f"plan.characters[{index}].reference_images[{j}]: image {rel!r} of character {character.id!r} "
                f"not found ({path})",
                hint="put the image in the workspace (e.g. refs/<character>/1.png) or fix the path in plan.json")
        out.append(Example(path, caption, "image", file_digest(path)))
    return out


# Pixels -------------------------------------------------------------------------------------------------------


def sample_indices(available: int, num_frames: int) -> list[int]:
    """Uniform (linspace) frame indices over ``available`` frames; pad with the last frame if too few (B.2)."""
    import numpy as np

    if available <= 0:
        raise ValueError("no frames")
    if available >= num_frames:
        return [int(i) for i in np.linspace(0, available - 1, num_frames).round()]
    return list(range(available)) + [available - 1] * (num_frames - available)


def to_model_pixels(frames: np.ndarray, height: int, width: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) → float32 (1, 3, T, height, width) in [-1, 1], resized directly (no crop)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    if x.shape[-2:] != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    x = (x / 127.5 - 1.0).clamp(-1.0, 1.0)
    return x.permute(1, 0, 2, 3).unsqueeze(0).contiguous()  # (1, 3, T, height, width)


@dataclass(frozen=True)
class Limits:
    """What an input must satisfy to be trained on (checked while decoding, before any training step)."""

    min_clip_frames: int = 2  # frames a clip must hold within its first max_seconds
    max_image_pixels: int = 100_000_000  # width × height of a reference image


def read_clip_frames(path: Path, height: int, width: int, num_frames: int, max_seconds: float,
                     min_frames: int = 2) -> np.ndarray:
    """A clip → uint8 (num_frames, height, width, 3): its first ``max_seconds``, sampled uniformly (B.2).

    ffmpeg decodes only the first ``max_seconds`` and resizes each frame to ``height × width`` while reading
    (bicubic, no crop; rotation metadata applied), so memory is bounded by the frames of that span at the model's
    size (6 s at 60 fps at 480×720: ≈ 370 MB), never the clip's full resolution.

    Raises:
        InputInvalid: not a decodable video, or fewer than ``min_frames`` frames in the span (a 1-frame video, a
            still image renamed .mp4). The message names the file and what to do.
    """
    import logging

    import imageio_ffmpeg
    import numpy as np

    path = Path(path)
    hint = "replace or remove the file (a motion clip needs real video with several frames)"
    frames: list[np.ndarray] = []
    log = logging.getLogger("imageio_ffmpeg")
    level = log.level
    log.setLevel(logging.ERROR)  # it warns that the read size differs from the source size: that is the point
    try:
        gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=[
            "-t", f"{max_seconds:.6f}", "-vf", f"scale={width}:{height}:flags=bicubic"])
        meta = next(gen)
        if tuple(meta.get("size") or ()) != (width, height):
            raise ValueError(f"ffmpeg returned frames of {meta.get('size')}, expected {(width, height)}")
        cap = int(max_seconds * 1000) + 1  # at most 1000 fps over the span: a bound even if fps is unknown
        for raw in gen:
            frames.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
            if len(frames) >= cap:
                break
        gen.close()
    except Exception as exc:  # ffmpeg and imageio raise many types for broken files; all mean the same to a user
        text = str(exc).strip().splitlines()
        raise InputInvalid(f"cannot read video {path}: {type(exc).__name__}: {text[0] if text else ''}",
                           hint=hint) from None
    finally:
        log.setLevel(level)
    if len(frames) < min_frames:
        what = "a still image, not a video" if len(frames) == 1 else f"{len(frames)} frames"
        raise InputInvalid(f"clip {path} has {what} within its first {max_seconds:g} s; a motion clip needs at least "
                           f"{min_frames} frames (adapt.min_clip_frames)", hint=hint)
    idx = sample_indices(len(frames), num_frames)
    return np.stack([frames[i] for i in idx])


def load_clip_pixels(path: Path, height: int, width: int, num_frames: int, max_seconds: float,
                     min_frames: int = 2) -> torch.Tensor:
    """A clip → (1, 3, num_frames, height, width) in [-1, 1] (see ``read_clip_frames``)."""
    return to_model_pixels(read_clip_frames(path, height, width, num_frames, max_seconds, min_frames), height, width)


def read_image_frame(path: Path, height: int, width: int, max_pixels: int = 100_000_000) -> np.ndarray:
    """A reference image → one uint8 frame (height, width, 3), as a person sees the image.

    * EXIF orientation is applied (phone portraits are stored sideways with a rotate tag);
    * transparency is composited on white (RGBA, LA, palette with transparency): transparent pixels would
      otherwise turn black;
    * 16-bit grayscale (``I;16``/``I``) is scaled 65535 → 255 (a plain RGB conversion clips it to near white);
    * the image is resized to ``height × width`` (bicubic, no crop) *before* anything repeats it into frames, and
      JPEGs are decoded at a reduced scale when much larger (``draft``);
    * images above ``max_pixels`` (width × height), and decompression bombs, are refused before decoding.

    Raises:
        InputInvalid: unreadable, too large, or not an image (names the file and what to do).
    """
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    from ..story import open_image_within_budget

    path = Path(path)
    try:
        with open_image_within_budget(path, max_pixels) as im:
            im.draft("RGB", (width, height))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale when still >= size
            im = ImageOps.exif_transpose(im)
            rgb = _to_rgb8(im)
            rgb = rgb.resize((width, height), Image.Resampling.BICUBIC)
            return np.asarray(rgb, dtype=np.uint8).copy()
    except Image.DecompressionBombError as exc:
        raise InputInvalid(f"image {path} is refused as a decompression bomb: {exc}",
                           hint="use an ordinary photo or drawing (PNG or JPEG)") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise InputInvalid(f"cannot read image {path}: {type(exc).__name__}: {exc}",
                           hint="use a PNG or JPEG file; re-export it if it is damaged") from None


def _to_rgb8(im):
    """Any Pillow mode → 8-bit RGB, alpha composited on white, 16-bit scaled."""
    import numpy as np
    from PIL import Image

    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        a = np.asarray(im).astype(np.float64)
        a = np.clip(a / 257.0, 0, 255).round().astype(np.uint8)  # 16-bit range (65535) → 8-bit (255)
        return Image.fromarray(a, mode="L").convert("RGB")
    if im.mode == "F":
        a = np.asarray(im).astype(np.float64)
        a = a * 255.0 if a.size and a.max() <= 1.0 else a
        return Image.fromarray(np.clip(a, 0, 255).round().astype(np.uint8), mode="L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def load_image_pixels(path: Path, height: int, width: int, num_frames: int,
                      max_pixels: int = 100_000_000) -> torch.Tensor:
    """An image → a static video (1, 3, num_frames, height, width) in [-1, 1] (METHOD.md B.4), resized first."""
    frame = read_image_frame(path, height, width, max_pixels)  # (height, width, 3)
    x = to_model_pixels(frame[None], height, width)  # (1, 3, 1, height, width)
    return x.expand(-1, -1, num_frames, -1, -1).contiguous()
