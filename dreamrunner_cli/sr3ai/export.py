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


# The picture: a grid of key frames with a legend that fits -------------------------------------------------------

MAX_COLUMNS = 3  # panels per row of the grid
PANEL_MAX_SIDE = 360  # pixels: the longer side of one panel (a token is a square cell of at least 4 pixels)


def panel_groups(regions: SceneRegions) -> list[tuple[int, int]]:
    """Runs of consecutive latent frames with identical membership, as (first, last) latent frame indices.

    With the 'repeat' policy every key frame's latent frames are identical, so this is one panel per key frame
    (6 for 48 frames: 12 latent frames, 2 each); with 'interpolate' the frames differ and each gets its own panel.
    """
    groups: list[tuple[int, int]] = []
    for f in range(regions.geometry.latent_frames):
        if groups and regions.keyframe_of_latent[f] == regions.keyframe_of_latent[groups[-1][0]] and \
                np.array_equal(regions.membership[:, f], regions.membership[:, groups[-1][0]]):
            groups[-1] = (groups[-1][0], f)
        else:
            groups.append((f, f))
    return groups


def legend_entries(regions: SceneRegions) -> list[str]:
    """One legend text per prompt, in sequence order: the full caption, never shortened."""
    return [f"{p}: " + ("[background] " if prompt.background else "") + prompt.text
            for p, prompt in enumerate(regions.prompts)]


def grid_shape(n_panels: int, columns: int = MAX_COLUMNS) -> tuple[int, int]:
    """(rows, columns) of the panel grid."""
    cols = max(1, min(columns, n_panels))
    return -(-n_panels // cols), cols


def draw_regions(regions: SceneRegions, out: Path, cell: int = 0) -> Path:
    """The scene's region masks as a grid of key-frame panels (at most 3 per row), each token cell coloured by its
    prompts (vertical stripes where several overlap, grey = background only), and a legend below that wraps every
    prompt to the picture's width (nothing is cut). Drawn with the bundled font (dreamrunner_cli/assets).

    Args:
        regions: the scene's prompts and membership (P, latent frames, rows, cols).
        out: the PNG to write (atomically).
        cell: pixels per token cell; default: the panel's longer side is at most 360 pixels.
    """
    from PIL import Image, ImageDraw

    from ..assets import font, wrap

    # 1. Geometry of the grid.
    g = regions.geometry
    cell = cell or max(4, min(16, PANEL_MAX_SIDE // max(g.cols, g.rows)))
    pw, ph, pad, head = g.cols * cell, g.rows * cell, 12, 22
    groups = panel_groups(regions)
    n_rows, n_cols = grid_shape(len(groups))
    width = pad + n_cols * (pw + pad)
    f_head, f_legend = font(13), font(13)
    line_h, swatch = 18, 12

    # 2. The legend, wrapped to the picture's width (measured with the font it is drawn in).
    text_w = width - 2 * pad - swatch - 8
    legend = [wrap(text, f_legend, text_w) for text in legend_entries(regions)]
    legend_h = sum(len(lines) for lines in legend) * line_h + len(legend) * 4 + pad
    grid_h = n_rows * (head + ph + pad)
    img = Image.new("RGB", (width, pad + grid_h + legend_h), "white")
    draw = ImageDraw.Draw(img)
    P = regions.num_prompts
    colours = [PALETTE[i % len(PALETTE)] for i in range(P - 1)] + [BACKGROUND]

    # 3. One panel per run of identical latent frames.
    for i, (f0, f1) in enumerate(groups):
        x0 = pad + (i % n_cols) * (pw + pad)
        y0 = pad + (i // n_cols) * (head + ph + pad)
        frames = f"latent frame {f0}" if f0 == f1 else f"latent frames {f0}–{f1}"
        draw.text((x0, y0), f"key frame {regions.keyframe_of_latent[f0] + 1} · {frames}", fill="black",
                  font=f_head)
        top = y0 + head
        for r in range(g.rows):
            for c in range(g.cols):
                members = [p for p in range(P) if regions.membership[p, f0, r, c]]
                x, y = x0 + c * cell, top + r * cell
                for k, p in enumerate(members):  # vertical stripes when several prompts cover a token
                    w = cell / len(members)
                    draw.rectangle([x + k * w, y, x + (k + 1) * w - 1, y + cell - 1], fill=colours[p])
        draw.rectangle([x0, top, x0 + pw - 1, top + ph - 1], outline="black")

    # 4. The legend.
    y = pad + grid_h
    for p, lines in enumerate(legend):
        draw.rectangle([pad, y + 3, pad + swatch, y + 3 + swatch], fill=colours[p])
        for line in lines:
            draw.text((pad + swatch + 8, y), line, fill="black", font=f_legend)
            y += line_h
        y += 4
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")
    return out
