"""Pictures for the report, drawn with PIL and inline SVG (no matplotlib).

- :func:`contact_sheet`: one thumbnail per key frame of a scene (the pixel frame at the middle of the key frame's
  span), with the plan's boxes for that key frame drawn over it, labelled ``entity · motion``.
- :func:`scores_svg`: small multiples, one chart per metric, per-scene scores with one line per video source.
- :func:`poster_uri`, :func:`animated_preview_uri`, :func:`crop_uri`, :func:`image_thumbnail_uri`: pictures inlined
  in the report as data URIs (JPEG stills, an animated WebP preview per video), so the page stays self-contained.
- :func:`loss_curve_points`: a LoRA's training loss as SVG polyline points (the report's template draws the chart).

Text in pictures is drawn with the bundled font (dreamrunner_cli/assets).
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
    """The bundled TrueType font (dreamrunner_cli/assets): the same on every machine, and measurable."""
    from ..assets import font

    return font(size)


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


# Pictures inlined in the report (data URIs) --------------------------------------------------------------------------


def _uri(image, fmt: str = "JPEG", **save) -> str:
    import base64
    import io

    buf = io.BytesIO()
    image.save(buf, format=fmt, **save)
    mime = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _fit(image, max_w: int, max_h: int):
    """Scale to fit in max_w × max_h: NEAREST when enlarging (tiny-preset pixels stay honest), LANCZOS when
    shrinking."""
    from PIL import Image

    w, h = image.size
    s = min(max_w / w, max_h / h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return image.resize(size, Image.NEAREST if s >= 1 else Image.LANCZOS)


def poster_uri(frame: np.ndarray, max_w: int = 640, max_h: int = 400) -> str:
    """One frame (H, W, 3) uint8 as a JPEG data URI: the ``poster`` of a ``<video>``."""
    from PIL import Image

    return _uri(_fit(Image.fromarray(np.ascontiguousarray(frame[..., :3])), max_w, max_h), quality=85)


def animated_preview_uri(frames: np.ndarray, fps: float, max_w: int = 240, max_h: int = 160,
                         max_frames: int = 24) -> str:
    """A small looping animated WebP of a video (T, H, W, 3), as a data URI: the page shows the motion even when it
    is moved without the mp4 files. At most ``max_frames`` frames, evenly spaced, played at the video's speed."""
    from PIL import Image

    T = len(frames)
    idx = np.unique(np.linspace(0, T - 1, min(T, max_frames)).round().astype(int))
    ims = [_fit(Image.fromarray(np.ascontiguousarray(frames[i][..., :3])), max_w, max_h) for i in idx]
    step = T / len(idx)
    duration = max(20, round(1000.0 * step / (fps or 8.0)))  # ms per shown frame
    return _uri(ims[0], "WEBP", save_all=True, append_images=ims[1:], duration=duration, loop=0, quality=70,
                method=4)


def crop_box(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int] | None:
    """A normalised [x0, y0, x1, y1] box (may reach past the frame) → pixel (left, top, right, bottom) clipped to the
    frame, or None when nothing of it is visible."""
    x0, y0, x1, y1 = box
    left, top = max(0, int(np.floor(x0 * width))), max(0, int(np.floor(y0 * height)))
    right, bottom = min(width, int(np.ceil(x1 * width))), min(height, int(np.ceil(y1 * height)))
    if right - left < 1 or bottom - top < 1:
        return None
    return left, top, right, bottom


def crop_uri(frame: np.ndarray, box: Sequence[float], max_side: int = 160) -> str | None:
    """The part of ``frame`` (H, W, 3) inside the plan's ``box``, as a JPEG data URI (None when off-screen)."""
    from PIL import Image

    px = crop_box(box, frame.shape[0], frame.shape[1])
    if px is None:
        return None
    left, top, right, bottom = px
    return _uri(_fit(Image.fromarray(np.ascontiguousarray(frame[top:bottom, left:right, :3])), max_side, max_side),
                quality=85)


def image_thumbnail_uri(path, max_side: int = 160, fmt: str = "PNG") -> str:
    """An image file shrunk (or, when tiny, enlarged) to ``max_side`` pixels, as a PNG (or JPEG) data URI."""
    from PIL import Image

    with Image.open(path) as im:
        return _uri(_fit(im.convert("RGB"), max_side, max_side), fmt, **({"quality": 85} if fmt == "JPEG" else {}))


def loss_curve_points(values: Sequence[float | None], width: float, height: float, lo: float, hi: float,
                      smooth: int = 1) -> str:
    """SVG polyline points (``"x,y x,y ..."``) of a loss curve in a width × height box; None entries are skipped;
    ``smooth`` > 1 draws the trailing moving average over that many steps."""
    vals = [None if v is None else float(v) for v in values]
    if smooth > 1:
        out: list[float | None] = []
        window: list[float] = []
        for v in vals:
            if v is not None:
                window = (window + [v])[-smooth:]
            out.append(sum(window) / len(window) if v is not None else None)
        vals = out
    n = max(len(vals) - 1, 1)
    span = (hi - lo) or 1.0
    pts = [f"{width * i / n:.1f},{height * (1 - (v - lo) / span):.1f}" for i, v in enumerate(vals) if v is not None]
    return " ".join(pts)
