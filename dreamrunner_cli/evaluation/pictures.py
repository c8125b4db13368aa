"""Pictures for the report, drawn with PIL and inline SVG (no matplotlib).

- :func:`contact_sheet`: one thumbnail per key frame of a scene (the pixel frame at the middle of the key frame's
  span), with the plan's boxes for that key frame drawn over it, labelled ``entity · motion``.
- :func:`scores_svg`: small multiples, one chart per metric, per-scene scores with one line per video source.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from ..schema import Plan, Scene
from .metrics import keyframe_span_to_frames

# One colour per video source in the plot (entities use the storyboard's palette).
SOURCE_COLORS = ["#1f6feb", "#d55e00", "#009e73", "#cc79a7", "#7f3c8d", "#e69f00", "#56b4e9", "#444444"]
THUMB_WIDTH = 200


def entity_colors(plan: Plan) -> dict[str, str]:
    """A stable hex colour per entity id: the storyboard's colours, so boxes look the same in both pictures."""
    from ..storyboard import entity_colours

    return {eid: "#%02x%02x%02x" % rgb for eid, rgb in entity_colours(plan).items()}


def ink_for(hex_colour: str) -> str:
    """Black or white text, whichever reads better on the given background colour."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def keyframe_sample_indices(num_keyframes: int, num_frames: int) -> list[int]:
    """The pixel frame shown for each key frame: the middle of its proportional span."""
    out = []
    for k in range(num_keyframes):
        f0, f1 = keyframe_span_to_frames(k, k + 1, num_keyframes, num_frames)
        out.append((f0 + f1 - 1) // 2)
    return out


def contact_sheet(frames: np.ndarray, scene: Scene, plan: Plan, thumb_width: int = THUMB_WIDTH):
    """A PIL image: one thumbnail per key frame, the plan's boxes and labels drawn over it.

    Args:
        frames: uint8 (T, H, W, 3) scene video.
        scene: the plan's scene (its key frames give the boxes).
    """
    from PIL import Image, ImageDraw

    T, H, W = frames.shape[:3]
    K = len(scene.keyframes)
    tw = thumb_width
    th = max(1, round(H * tw / W))
    pad, label_h = 6, 18
    colors = entity_colors(plan)
    sheet = Image.new("RGB", (pad + K * (tw + pad), pad + th + label_h + pad), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    font, small = _font(12), _font(11)
    for k, fi in enumerate(keyframe_sample_indices(K, T)):
        # Upscale small (tiny-preset) frames with NEAREST so their pixels stay honest; downscale smoothly.
        resample = Image.NEAREST if tw >= W else Image.LANCZOS
        thumb = Image.fromarray(frames[fi]).convert("RGB").resize((tw, th), resample)
        x, y = pad + k * (tw + pad), pad
        sheet.paste(thumb, (x, y))
        for region in scene.keyframes[k].regions:
            x0, y0, x1, y1 = region.box
            color = colors.get(region.entity, "#ff00ff")
            box = [x + x0 * tw, y + y0 * th, x + x1 * tw - 1, y + y1 * th - 1]
            draw.rectangle(box, outline=color, width=3)
            text = region.entity + ("" if region.motion == "none" else f" · {region.motion}")
            tb = draw.textbbox((0, 0), text, font=small)
            lx, ly = box[0] + 2, box[1] + 2
            draw.rectangle([lx - 1, ly - 1, lx + tb[2] + 3, ly + tb[3] + 2], fill=color)
            draw.text((lx + 1, ly), text, fill=ink_for(color), font=small)
        draw.text((x, y + th + 3), f"key frame {k + 1} · frame {fi}", fill=(40, 40, 40), font=font)
    return sheet


# The per-scene score plot (inline SVG) -------------------------------------------------------------------------------


def _nice_range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values + [0.0]), max(values + [0.0])
    lo = float(np.floor(lo / 10.0) * 10.0)
    hi = float(np.ceil(hi / 10.0) * 10.0)
    if hi - lo < 10:
        hi = lo + 10
    return lo, hi


def scores_svg(scene_ids: Sequence[str], series: dict[str, dict[str, list[float | None]]],
               labels: dict[str, str]) -> str:
    """Small multiples: one chart per metric, x = scenes, one line per source.

    Args:
        scene_ids: x-axis labels, in story order.
        series: ``{metric: {source: [score or None per scene]}}``.
        labels: metric key → display name.
    Returns:
        An ``<svg>`` element (text), self-contained.
    """
    sources = list(dict.fromkeys(s for per in series.values() for s in per))
    cw, ch, ml, mr, mt, mb = 300, 170, 40, 12, 26, 30
    cols = 3
    metrics = [m for m in series if any(v is not None for vals in series[m].values() for v in vals)]
    rows = max(1, -(-len(metrics) // cols))
    legend_h = 26
    W, H = cols * cw, rows * ch + legend_h
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'role="img" aria-label="per-scene scores" font-family="sans-serif" font-size="11">']
    for i, src in enumerate(sources):  # legend
        color = SOURCE_COLORS[i % len(SOURCE_COLORS)]
        lx = 10 + i * 170
        out.append(f'<rect x="{lx}" y="8" width="14" height="4" fill="{color}"/>'
                   f'<text x="{lx + 20}" y="14">{html.escape(src)}</text>')
    n = len(scene_ids)
    for mi, metric in enumerate(metrics):
        ox, oy = (mi % cols) * cw, legend_h + (mi // cols) * ch
        vals = [v for per in series[metric].values() for v in per if v is not None]
        lo, hi = _nice_range(vals)
        pw, ph = cw - ml - mr, ch - mt - mb

        def px(j: int) -> float:
            return ox + ml + (pw * (j + 0.5) / max(n, 1))

        def py(v: float) -> float:
            return oy + mt + ph * (1 - (v - lo) / (hi - lo))

        out.append(f'<g class="chart" data-metric="{metric}">')
        out.append(f'<text x="{ox + ml}" y="{oy + 16}" font-weight="bold">{html.escape(labels.get(metric, metric))}'
                   f'</text>')
        out.append(f'<rect x="{ox + ml}" y="{oy + mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ccc"/>')
        for tick in np.linspace(lo, hi, 3):
            y = py(float(tick))
            out.append(f'<line x1="{ox + ml}" x2="{ox + ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                       f'<text x="{ox + ml - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{tick:g}</text>')
        if lo < 0 < hi:
            out.append(f'<line x1="{ox + ml}" x2="{ox + ml + pw}" y1="{py(0):.1f}" y2="{py(0):.1f}" stroke="#999"/>')
        step = max(1, -(-n // 8))
        for j, sid in enumerate(scene_ids):
            if j % step == 0:
                out.append(f'<text x="{px(j):.1f}" y="{oy + mt + ph + 14}" text-anchor="middle" fill="#555">'
                           f'{html.escape(sid)}</text>')
        for si, src in enumerate(sources):
            color = SOURCE_COLORS[si % len(SOURCE_COLORS)]
            pts = [(px(j), py(v)) for j, v in enumerate(series[metric].get(src, [])) if v is not None]
            if len(pts) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            for (x, y), v in zip(pts, [v for v in series[metric].get(src, []) if v is not None], strict=True):
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                           f'<title>{html.escape(src)}: {v:.1f}</title></circle>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
