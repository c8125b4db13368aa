"""Plan → region prompts → per-token region membership → SR3AI attention mask (METHOD.md C.1, C.2, exactly).

Prompts: every distinct caption in order of first appearance (key frames in order, regions within a frame in order),
then the background prompt last (P = K + 1). Each video token belongs to a set of prompts, stored as a bit set
``token_bits`` (int64, so P ≤ 62). Text tokens of prompt i carry the single bit 1 << i. Then the whole C.2 rule is

    allowed(q, k) = (q is video and k is video) or (bits[q] & bits[k] != 0)

text i ↔ text j only if i = j; text i ↔ video v only if v ∈ R_i (both directions); video ↔ video always;
uncovered video tokens carry only the background bit. The same per-token vectors give the dense SDPA mask (built
once per scene, shared by every block and step) and the FlexAttention ``mask_mod``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import PlanInvalid
from .geometry import Geometry

if TYPE_CHECKING:
    import torch

    from ..schema import Region, Scene

MAX_PROMPTS = 62


# Key frame → latent frame -------------------------------------------------------------------------------------


def keyframe_for_latent(geom: Geometry, num_keyframes: int) -> list[int]:
    """The faithful 'repeat' policy: each latent frame takes the key frame whose second contains its centre.

    48 frames / 6 key frames: key frame i → latent frames 2i, 2i+1 (the authors' code). 49 frames: latent 0 (a single
    pixel frame) joins key frame 0, then pairs: [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5].
    """
    out = []
    for lat in range(geom.latent_frames):
        start, end = geom.latent_span(lat)
        centre = (start + end) / 2
        out.append(min(num_keyframes - 1, int(centre * num_keyframes / geom.num_frames)))
    return out


def keyframe_position(geom: Geometry, num_keyframes: int, latent: int) -> float:
    """Continuous key-frame coordinate of a latent frame for the 'interpolate' policy (key frame k sits at the
    centre of its second, so u = k at that instant), clamped to [0, K-1]."""
    start, end = geom.latent_span(latent)
    u = (start + end) / 2 * num_keyframes / geom.num_frames - 0.5
    return float(min(max(u, 0.0), num_keyframes - 1))


# Region prompts and token membership ------------------------------------------------------------------------------


@dataclass
class RegionPrompt:
    text: str
    entities: list[str] = field(default_factory=list)  # entity ids of the regions with this caption
    motions: list[str] = field(default_factory=list)  # motion ids ('none' excluded)
    background: bool = False
    merged: bool = False


@dataclass
class SceneRegions:
    """Everything SR3AI needs for one scene at one geometry.

    membership: bool (P, latent_frames, rows, cols), True where prompt p's region covers the token
    (for the background prompt: tokens covered by no box).
    """

    scene_id: str
    geometry: Geometry
    prompts: list[RegionPrompt]
    membership: np.ndarray
    keyframe_of_latent: list[int]

    @property
    def num_prompts(self) -> int:
        return len(self.prompts)

    @property
    def seq_len(self) -> int:
        return self.geometry.seq_len(self.num_prompts)

    def video_bits(self) -> np.ndarray:
        """int64 (video_tokens,): bit p set when the token is in prompt p's region. Token order: frame, row, col."""
        P = self.num_prompts
        weights = (np.int64(1) << np.arange(P, dtype=np.int64)).reshape(P, 1, 1, 1)
        return (self.membership.astype(np.int64) * weights).sum(0).reshape(-1)

    def token_bits(self) -> np.ndarray:
        """int64 (S,) over the joint sequence [T_1 | … | T_P | video]."""
        L = self.geometry.text_len
        text = np.repeat(np.int64(1) << np.arange(self.num_prompts, dtype=np.int64), L)
        return np.concatenate([text, self.video_bits()])

    def is_video(self) -> np.ndarray:
        """bool (S,)."""
        return np.arange(self.seq_len) >= self.num_prompts * self.geometry.text_len

    def token_mask_for_prompts(self, prompt_ids: list[int]) -> np.ndarray:
        """bool (S,): the text tokens of these prompts and the video tokens of their regions (clamped OR, F.4)."""
        sel = np.int64(0)
        for p in prompt_ids:
            sel |= np.int64(1) << np.int64(p)
        return (self.token_bits() & sel) != 0

    def mask_rows(self, queries: np.ndarray | list[int]) -> np.ndarray:
        """bool (len(queries), S): which keys each query token may attend to (the C.2 rule)."""
        bits, vid = self.token_bits(), self.is_video()
        q = np.asarray(queries)
        return (vid[q][:, None] & vid[None, :]) | ((bits[q][:, None] & bits[None, :]) != 0)

    def dense_mask(self) -> np.ndarray:
        """bool (S, S), True = may attend. For tests and small sizes; renderers build it on the device in torch."""
        return self.mask_rows(np.arange(self.seq_len))


def _token_box(box: tuple[float, float, float, float], rows: int, cols: int) -> tuple[int, int, int, int]:
    """METHOD.md C.2: x0 = round(cols·l), x1 = round(cols·r), y0 = round(rows·t), y1 = round(rows·b); Python's round
    (halves to even); exclusive upper ends; clipped to the frame (a box past the edge covers its visible part; an
    empty or inverted box covers nothing). Returns (y0, y1, x0, x1)."""
    left, top, right, bottom = box

    def clip(v: float, n: int) -> int:
        return min(max(round(n * v), 0), n)

    return clip(top, rows), clip(bottom, rows), clip(left, cols), clip(right, cols)


def vanishing_regions(scene: Scene, geom: Geometry) -> list[str]:
    """Regions whose box has a visible area in the plan but covers no token at this geometry (narrower than about
    half a token): SR3AI would silently drop them. One message per scene / key frame / entity."""
    out = []
    for k, kf in enumerate(scene.keyframes):
        for r in list(kf.regions) + list(kf.merged):
            left, top, right, bottom = r.box
            visible = min(right, 1) > max(left, 0) and min(bottom, 1) > max(top, 0)
            y0, y1, x0, x1 = _token_box(r.box, geom.rows, geom.cols)
            if visible and (y1 <= y0 or x1 <= x0):
                out.append(f"scene {scene.id}, key frame {k + 1}, entity {r.entity}: box {list(r.box)} covers no "
                           f"token at {geom.rows}×{geom.cols} tokens per frame, so SR3AI ignores it "
                           "(widen it to at least one token, "
                           f"{1 / geom.cols:.3f} wide and {1 / geom.rows:.3f} tall)")
    return out


def _lerp_box(a, b, w: float):
    return tuple((1 - w) * x + w * y for x, y in zip(a, b))


def scene_regions(
    scene: Scene,
    geom: Geometry,
    keyframe_policy: Literal["repeat", "interpolate"] = "repeat",
    overlap: Literal["all", "merged"] = "all",
) -> SceneRegions:
    """Build the prompts and the token membership of one scene (METHOD.md C.1–C.2)."""
    K = len(scene.keyframes)
    use_merged = overlap == "merged"

    # 1. Prompts: distinct captions in order of first appearance, background last.
    prompts: list[RegionPrompt] = []
    index: dict[str, int] = {}

    def add(region: Region, merged: bool) -> None:
        if region.caption not in index:
            index[region.caption] = len(prompts)
            prompts.append(RegionPrompt(region.caption, merged=merged))
        p = prompts[index[region.caption]]
        if region.entity not in p.entities:
            p.entities.append(region.entity)
        if region.motion != "none" and region.motion not in p.motions:
            p.motions.append(region.motion)

    for kf in scene.keyframes:
        for r in kf.regions:
            add(r, merged=False)
        if use_merged:
            for r in kf.merged:
                add(r, merged=True)
    if len(prompts) + 1 > MAX_PROMPTS:
        raise PlanInvalid(f"scene {scene.id} has {len(prompts)} distinct captions; at most {MAX_PROMPTS - 1} "
                          "are supported", hint="reuse captions across key frames")
    prompts.append(RegionPrompt(scene.background, background=True))
    P = len(prompts)

    # 2. Which boxes are active in each latent frame.
    kf_of_latent = keyframe_for_latent(geom, K)

    def boxes_at(latent: int) -> list[tuple[str, tuple, bool]]:
        """[(caption, box, is_merged)] active in this latent frame."""
        if keyframe_policy == "repeat":
            kf = scene.keyframes[kf_of_latent[latent]]
            items = [(r.caption, r.box, False) for r in kf.regions]
            return items + ([(r.caption, r.box, True) for r in kf.merged] if use_merged else [])
        u = keyframe_position(geom, K, latent)
        k0, k1 = int(np.floor(u)), int(np.ceil(u))
        w = u - k0
        near = scene.keyframes[k0 if w < 0.5 else k1]
        out = []
        for field_name, is_merged in (("regions", False), ("merged", True)):
            if is_merged and not use_merged:
                continue
            a_list = getattr(scene.keyframes[k0], field_name)
            b_list = getattr(scene.keyframes[k1], field_name)
            for i, r in enumerate(getattr(near, field_name)):
                # The same caption (n-th occurrence) in both key frames moves smoothly; otherwise it switches at
                # the midpoint between key frames, like 'repeat' does.
                nth = sum(1 for x in getattr(near, field_name)[:i] if x.caption == r.caption)
                a = [x for x in a_list if x.caption == r.caption]
                b = [x for x in b_list if x.caption == r.caption]
                if len(a) > nth and len(b) > nth:
                    out.append((r.caption, _lerp_box(a[nth].box, b[nth].box, w), is_merged))
                else:
                    out.append((r.caption, r.box, is_merged))
        return out

    # 3. Membership R_k (C.2), then the background = tokens covered by no box.
    T, H, W = geom.latent_frames, geom.rows, geom.cols
    membership = np.zeros((P, T, H, W), dtype=bool)
    merged_cover = np.zeros((T, H, W), dtype=bool)
    for lat in range(T):
        for caption, box, is_merged in boxes_at(lat):
            y0, y1, x0, x1 = _token_box(box, H, W)
            membership[index[caption], lat, y0:y1, x0:x1] = True
            if is_merged:
                merged_cover[lat, y0:y1, x0:x1] = True
    if use_merged and merged_cover.any():
        # Inside a merged box a token sees only the merged caption(s) (the paper's unified caption).
        for p, prompt in enumerate(prompts[:-1]):
            if not prompt.merged:
                membership[p] &= ~merged_cover
    membership[P - 1] = ~membership[: P - 1].any(0)
    return SceneRegions(scene.id, geom, prompts, membership, kf_of_latent)


# Torch views ---------------------------------------------------------------------------------------------------


def to_torch_bits(regions: SceneRegions, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """(token_bits int64 (S,), is_video bool (S,)) on a device."""
    import torch

    return (torch.from_numpy(regions.token_bits()).to(device), torch.from_numpy(regions.is_video()).to(device))
