"""`dreamrunner masks`: the SR3AI region membership of every video token, as an .npz and pictures (no model).

npz keys, per scene id S:
  ``S/prompts``       str (P,)             region prompts in sequence order, background last
  ``S/membership``    bool (P, F, R, C)    True where prompt p's region covers latent frame f, token row r, col c
  ``S/keyframe``      int (F,)             key frame used by each latent frame ('repeat' policy)
  ``geometry``        str                  JSON of the geometry (latent frames, rows, cols, text length, ...)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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


GRID = (255, 255, 255)  # the lines between token cells
GRID_MIN_CELL = 6  # pixels: smaller cells get no grid lines (they would hide the colours)
HEAD_LINE = 17  # pixels per line of a panel title (13-pixel font)


@dataclass
class PanelLayout:
    """Where ``draw_regions`` puts things (pixels): the cell size, each panel's slot width (its grid, or its title
    when that is wider), the title band's height, the picture's width, and per panel the grid's top-left corner and
    its title lines with their positions. ``title_boxes`` are the text's ink boxes, measured with the font."""

    cell: int
    slot: int
    head: int
    width: int
    grid_h: int
    panels: list[tuple[int, int]]
    titles: list[list[tuple[tuple[int, int], str]]]

    def title_boxes(self) -> list[list[tuple[int, int, int, int]]]:
        """Per panel, the ink box of each title line (left, top, right, bottom), measured with the font."""
        from ..assets import font

        f = font(13)
        return [[(x + b[0], y + b[1], x + b[2], y + b[3]) for (x, y), text in lines for b in [f.getbbox(text)]]
                for lines in self.titles]


def panel_layout(regions: SceneRegions, cell: int = 0) -> PanelLayout:
    """The grid of panels (see ``draw_regions``). A panel's title is one line (``key frame 1 · latent frames
    0–1``) when every title fits above its grid, else two (``key frame 1`` / ``latent frames 0–1``), and a panel
    narrower than its title gets a slot as wide as the title: titles never run into each other (tiny geometries
    have 64-pixel panels)."""
    from ..assets import font

    g = regions.geometry
    cell = cell or max(4, min(16, PANEL_MAX_SIDE // max(g.cols, g.rows)))
    pw, ph, pad = g.cols * cell, g.rows * cell, 12
    groups = panel_groups(regions)
    n_rows, n_cols = grid_shape(len(groups))
    f = font(13)
    parts = [(f"key frame {regions.keyframe_of_latent[f0] + 1}",
              f"latent frame {f0}" if f0 == f1 else f"latent frames {f0}–{f1}") for f0, f1 in groups]
    if all(f.getlength(f"{a} · {b}") <= pw for a, b in parts):
        lines, head = [[f"{a} · {b}"] for a, b in parts], 22
    else:
        lines, head = [[a, b] for a, b in parts], 22 + HEAD_LINE
    slot = max([pw] + [int(math.ceil(f.getlength(t))) for ls in lines for t in ls])
    panels, titles = [], []
    for i, ls in enumerate(lines):
        x0 = pad + (i % n_cols) * (slot + pad)
        y0 = pad + (i // n_cols) * (head + ph + pad)
        panels.append((x0, y0 + head))
        titles.append([((x0, y0 + k * HEAD_LINE), t) for k, t in enumerate(ls)])
    return PanelLayout(cell=cell, slot=slot, head=head, width=pad + n_cols * (slot + pad),
                       grid_h=n_rows * (head + ph + pad), panels=panels, titles=titles)


def draw_regions(regions: SceneRegions, out: Path, cell: int = 0) -> Path:
    """The scene's region masks as a grid of key-frame panels (at most 3 per row), each token cell coloured by its
    prompts (vertical stripes where several overlap, grey = background only) with white lines between the cells
    (one cell = one token) when cells are at least 6 pixels, and a legend below that wraps every prompt to the
    picture's width (nothing is cut). Drawn with the bundled font (dreamrunner_cli/assets).

    Args:
        regions: the scene's prompts and membership (P, latent frames, rows, cols).
        out: the PNG to write (atomically).
        cell: pixels per token cell; default: the panel's longer side is at most 360 pixels.
    """
    from PIL import Image, ImageDraw

    from ..assets import font, wrap

    # 1. Geometry of the grid (panel_layout: titles that never overlap).
    g = regions.geometry
    lay = panel_layout(regions, cell)
    cell, width, pad = lay.cell, lay.width, 12
    pw, ph = g.cols * cell, g.rows * cell
    groups = panel_groups(regions)
    f_head, f_legend = font(13), font(13)
    line_h, swatch = 18, 12

    # 2. The legend, wrapped to the picture's width (measured with the font it is drawn in).
    text_w = width - 2 * pad - swatch - 8
    legend = [wrap(text, f_legend, text_w) for text in legend_entries(regions)]
    legend_h = sum(len(lines) for lines in legend) * line_h + len(legend) * 4 + pad
    img = Image.new("RGB", (width, pad + lay.grid_h + legend_h), "white")
    draw = ImageDraw.Draw(img)
    P = regions.num_prompts
    colours = [PALETTE[i % len(PALETTE)] for i in range(P - 1)] + [BACKGROUND]

    # 3. One panel per run of identical latent frames.
    for (f0, _), (x0, top), title in zip(groups, lay.panels, lay.titles):
        for xy, text in title:
            draw.text(xy, text, fill="black", font=f_head)
        for r in range(g.rows):
            for c in range(g.cols):
                members = [p for p in range(P) if regions.membership[p, f0, r, c]]
                x, y = x0 + c * cell, top + r * cell
                for k, p in enumerate(members):  # vertical stripes when several prompts cover a token
                    w = cell / len(members)
                    draw.rectangle([x + k * w, y, x + (k + 1) * w - 1, y + cell - 1], fill=colours[p])
        if cell >= GRID_MIN_CELL:  # one cell = one token (docs/sr3ai.md)
            for r in range(1, g.rows):
                draw.line([(x0, top + r * cell), (x0 + pw - 1, top + r * cell)], fill=GRID)
            for c in range(1, g.cols):
                draw.line([(x0 + c * cell, top), (x0 + c * cell, top + ph - 1)], fill=GRID)
        draw.rectangle([x0, top, x0 + pw - 1, top + ph - 1], outline="black")

    # 4. The legend.
    y = pad + lay.grid_h
    for p, lines in enumerate(legend):
        draw.rectangle([pad, y + 3, pad + swatch, y + 3 + swatch], fill=colours[p])
        for line in lines:
            draw.text((pad + swatch + 8, y), line, fill="black", font=f_legend)
            y += line_h
        y += 4
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")
    return out
