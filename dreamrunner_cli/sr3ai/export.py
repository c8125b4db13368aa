"""`dreamrunner masks`: the SR3AI region membership of every video token, as an .npz and pictures (no model).

npz keys, per scene id S:
  ``S/prompts``       str (P,)             region prompts in sequence order, background last
  ``S/membership``    bool (P, F, R, C)    True where prompt p's region covers latent frame f, token row r, col c
  ``S/keyframe``      int (F,)             key frame used by each latent frame ('repeat' policy)
  ``geometry``        str                  JSON of the geometry (latent frames, rows, cols, text length, ...)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..schema import Plan
from ..workspace import atomic_path
from .geometry import Geometry
from .regions import SceneRegions, scene_regions

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40), (128, 0, 0)]
BACKGROUND = (200, 200, 200)


def export_masks(plan: Plan, geom: Geometry, scene_ids: list[str], out_npz: Path, picture_dir: Path,
                 policy: str = "repeat", overlap: str = "all") -> dict:
    arrays: dict[str, np.ndarray] = {"geometry": np.array(json.dumps(geom.to_dict()))}
    pictures = []
    for sid in scene_ids:
        regions = scene_regions(plan.scene(sid), geom, policy, overlap)  # type: ignore[arg-type]
        arrays[f"{sid}/prompts"] = np.array([p.text for p in regions.prompts])
        arrays[f"{sid}/membership"] = regions.membership
        arrays[f"{sid}/keyframe"] = np.array(regions.keyframe_of_latent)
        pictures.append(draw_regions(regions, picture_dir / f"{sid}.png"))
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return {"npz": str(out_npz), "pictures": [str(p) for p in pictures], "geometry": geom.to_dict()}


def draw_regions(regions: SceneRegions, out: Path, cell: int = 0) -> Path:
    """One panel per latent frame; each token cell coloured by its prompts (stripes where several overlap,
    grey = background only), with a legend of the prompts below."""
    from PIL import Image, ImageDraw

    g = regions.geometry
    cell = cell or max(4, min(16, 360 // max(g.cols, g.rows)))
    pw, ph, pad = g.cols * cell, g.rows * cell, 8
    P = regions.num_prompts
    legend_h = 16 * P + pad
    img = Image.new("RGB", (pad + g.latent_frames * (pw + pad), 20 + ph + pad + legend_h), "white")
    draw = ImageDraw.Draw(img)
    colours = [PALETTE[i % len(PALETTE)] for i in range(P - 1)] + [BACKGROUND]
    for f in range(g.latent_frames):
        x0 = pad + f * (pw + pad)
        draw.text((x0, 4), f"f{f} (kf {regions.keyframe_of_latent[f]})", fill="black")
        for r in range(g.rows):
            for c in range(g.cols):
                members = [p for p in range(P) if regions.membership[p, f, r, c]]
                x, y = x0 + c * cell, 20 + r * cell
                for k, p in enumerate(members):  # vertical stripes when several prompts cover a token
                    w = cell / len(members)
                    draw.rectangle([x + k * w, y, x + (k + 1) * w - 1, y + cell - 1], fill=colours[p])
        draw.rectangle([x0, 20, x0 + pw - 1, 20 + ph - 1], outline="black")
    for p, prompt in enumerate(regions.prompts):
        y = 20 + ph + pad + 16 * p
        draw.rectangle([pad, y + 2, pad + 10, y + 12], fill=colours[p])
        label = ("[background] " if prompt.background else "") + prompt.text
        draw.text((pad + 16, y), f"{p}: {label}"[:160], fill="black")
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")
    return out
