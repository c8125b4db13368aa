"""The storyboard picture: every scene's key-frame layout, drawn from plan.json, to check with your eyes before
spending GPU time.

One row per scene: its key frames side by side as small 3:2 panels (the video's 720×480 shape), each region's box
drawn in its entity's colour and labelled ``entity · motion``; a legend of the entities at the top; under each row
the scene id, location and narration, the background prompt in grey, and the region captions that drive SR3AI (one
line per entity and run of key frames with the same caption: ``teddy · key frames 1–4: A [v1] teddy bear is …``),
all wrapped to the picture's width. A caption that changes at a key frame (a new event) is marked with a small
triangle above that panel. At the bottom, each character's reference images (the ones its LoRA is trained on), with
its token. Text is drawn with the bundled font (dreamrunner_cli/assets), so it looks the same everywhere.

A plan of more than ``SCENES_PER_PAGE`` scenes is drawn on several pictures: storyboard.png (the first scenes and
the reference images), storyboard-2.png, storyboard-3.png, … (``page_paths``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .workspace import atomic_path

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

    from .schema import Plan

PANEL_W, PANEL_H = 240, 160  # pixels per key frame; 3:2 like the 720×480 video
GAP = 8  # between panels
MARGIN = 16  # around the picture
ROW_GAP = 20  # between scenes
LINE_H = 17  # one line of narration text
TITLE_H = 30
LEGEND_H = 24
MARK_H = 10  # room above the panels for the "new caption" marks
REF_H = 96  # height of a reference-image thumbnail in the characters row
SCENES_PER_PAGE = 24  # scenes per picture (≈ 6,000 px tall at ~250 px a scene); storyboard.png, storyboard-2.png, … (page_paths)

# Distinct colours, each dark enough for the boxes' white labels (contrast with white ≥ 3:1).
PALETTE = [(31, 119, 180), (200, 82, 0), (34, 130, 34), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (196, 60, 150), (125, 125, 20), (0, 128, 140), (57, 59, 121), (170, 0, 120), (0, 100, 40),
           (90, 100, 120), (128, 0, 0), (100, 60, 160), (160, 100, 20)]
SKIPPED_INK = (180, 20, 20)  # "not planned: …" notes under a scene
INK, GREY, PANEL_BG, PANEL_EDGE = (25, 25, 25), (110, 110, 110), (244, 244, 240), (170, 170, 170)


def _font(size: int) -> ImageFont.FreeTypeFont:
    from .assets import font

    return font(size)


def _wrap(text: str, font, width: float) -> list[str]:
    """Word wrap to a pixel width (never cuts text)."""
    from .assets import wrap

    return wrap(text, font, width)


def scene_captions(scene) -> list[tuple[str, int, int, str]]:
    """The captions SR3AI encodes for a scene, as runs: (entity, first key frame, last key frame (1-based, inclusive),
    caption), one per entity and run of consecutive key frames with the same caption, in order of appearance.
    Merged captions (render.overlap = 'merged') are listed with the entity ``a+b (merged)``."""
    runs: list[list] = []
    open_run: dict[str, list] = {}
    for k, kf in enumerate(scene.keyframes, start=1):
        seen = set()
        for r, merged in [(r, False) for r in kf.regions] + [(r, True) for r in kf.merged]:
            if not merged and r.absent:
                continue
            name = f"{r.entity} (merged)" if merged else r.entity
            seen.add(name)
            run = open_run.get(name)
            if run is not None and run[3] == r.caption and run[2] == k - 1:
                run[2] = k
            else:
                run = [name, k, k, r.caption]
                runs.append(run)
                open_run[name] = run
        for name in list(open_run):
            if name not in seen:
                del open_run[name]
    return [(e, a, b, c) for e, a, b, c in runs]


def _caption_lines(scene, font, width: float) -> list[tuple[str, str, list[str]]]:
    """(entity, label, wrapped caption lines) per caption run; the label is ``entity · key frames a–b``."""
    out = []
    for entity, a, b, caption in scene_captions(scene):
        frames = f"key frame {a}" if a == b else f"key frames {a}–{b}"
        label = f"{entity} · {frames}: "
        indent = font.getlength(label)
        out.append((entity, label, _wrap(caption, font, max(40.0, width - indent - 14))))
    return out


def _reference_thumbs(plan: Plan, root: Path | None) -> list[tuple[str, list]]:
    """(label, [PIL thumbnails of height REF_H]) per character that has readable reference images."""
    from PIL import Image, UnidentifiedImageError

    out = []
    for ch in plan.characters:
        thumbs = []
        for rel in ch.reference_images:
            path = Path(rel) if Path(rel).is_absolute() or root is None else root / rel
            try:
                with Image.open(path) as im:
                    im = im.convert("RGB")
                    w = max(1, round(im.width * REF_H / im.height))
                    thumbs.append(im.resize((min(w, 3 * REF_H), REF_H),
                                            Image.NEAREST if im.height < REF_H else Image.LANCZOS))
            except (OSError, UnidentifiedImageError):
                continue  # a missing image is reported by the stages that need it; the picture leaves it out
        if thumbs:
            out.append((f"{ch.id} {ch.token}" + (f" · {ch.description}" if ch.description else ""), thumbs))
    return out


def entity_colour(eid: str) -> tuple[int, int, int]:
    """An entity's colour, picked from ``PALETTE`` by a hash of its id alone: adding, removing or reordering entities
    never changes the colours of the others, so a redrawn storyboard compares with the last one. (Two entities may
    share a colour; every box is labelled with its entity.)"""
    import hashlib

    return PALETTE[int.from_bytes(hashlib.sha256(eid.encode("utf-8")).digest()[:4], "big") % len(PALETTE)]


def entity_colours(plan: Plan) -> dict[str, tuple[int, int, int]]:
    """A colour per entity (``entity_colour``), in plan order (characters, then objects, then anything else)."""
    ids = [c.id for c in plan.characters] + [o.id for o in plan.objects]
    for scene in plan.scenes:
        for kf in scene.keyframes:
            ids += [r.entity for r in kf.regions + kf.merged]
    return {eid: entity_colour(eid) for eid in dict.fromkeys(ids)}


def picture_width(plan: Plan) -> int:
    k = max(len(s.keyframes) for s in plan.scenes)
    return 2 * MARGIN + k * PANEL_W + (k - 1) * GAP


def page_paths(out: Path, n_scenes: int, scenes_per_page: int | None = None) -> list[Path]:
    """The storyboard's pictures for a plan of ``n_scenes`` scenes: ``out`` (storyboard.png) holds the first
    ``scenes_per_page`` scenes, then ``<stem>-2.png``, ``<stem>-3.png``, … the next ones."""
    per = scenes_per_page or SCENES_PER_PAGE
    out = Path(out)
    pages = max(1, -(-n_scenes // per))
    return [out] + [out.with_name(f"{out.stem}-{k}{out.suffix}") for k in range(2, pages + 1)]


def draw_storyboard(plan: Plan, out: Path, root: Path | None = None, scenes_per_page: int | None = None,
                    skipped: dict[str, list[str]] | None = None) -> Path:
    """Draw the storyboard of ``plan`` to ``out`` (PNG, written atomically) and return ``out``.

    At most ``scenes_per_page`` scenes (default ``SCENES_PER_PAGE``) go in one picture, so a long plan never makes
    a picture too tall to open (500 scenes made one 115k px tall; Pillow refuses past ~520): ``out`` keeps its name
    and holds the first scenes, the title, the legend and the reference images; the next scenes go to
    ``<stem>-2.png``, ``<stem>-3.png``, … (``page_paths``), each with the title ("page k of n") and the legend.

    Args:
        plan: a validated plan.
        out: the first picture's path, usually ``<workspace>/storyboard.png``.
        root: the folder reference-image paths are relative to (default: the folder of ``out``, the workspace).
        scenes_per_page: scenes per picture (≥ 1).
        skipped: per scene id, the lines saying which sentences the planner left out ("not planned: …"), written
            in red under the scene's text (the built-in planner's `unattributed`).
    """
    out = Path(out)
    root = out.parent if root is None else Path(root)
    per = scenes_per_page or SCENES_PER_PAGE
    paths = page_paths(out, len(plan.scenes), per)
    refs = _reference_thumbs(plan, root)
    for k, path in enumerate(paths):
        _draw_page(plan, plan.scenes[k * per:(k + 1) * per], path, refs if k == 0 else [], k + 1, len(paths),
                   skipped or {})
    return out


def _draw_page(plan: Plan, scenes: list, out: Path, refs: list, page: int, pages: int,
               skipped: dict[str, list[str]] | None = None) -> None:
    from PIL import Image, ImageDraw

    # 1. Measure: wrap every scene's text and captions to the picture width to know the height.
    width = picture_width(plan)
    text_w = width - 2 * MARGIN
    f_title, f_text, f_label, f_cap = _font(18), _font(13), _font(11), _font(12)
    colours = entity_colours(plan)
    texts = []
    for s in scenes:
        head = f"{s.id}" + (f" · {s.location}" if s.location else "") + f": {s.narration}"
        notes = [line for note in (skipped or {}).get(s.id, []) for line in _wrap(note, f_text, text_w)]
        texts.append((_wrap(head, f_text, text_w), _wrap(f"background: {s.background}", f_text, text_w) + notes,
                      _caption_lines(s, f_cap, text_w)))
    height = MARGIN + TITLE_H + LEGEND_H
    for head, bg, caps in texts:
        height += MARK_H + PANEL_H + 6 + (len(head) + len(bg)) * LINE_H + ROW_GAP
        height += sum(len(lines) for _, _, lines in caps) * (LINE_H - 2) + (4 if caps else 0)
    if refs:
        height += LINE_H + len(refs) * (REF_H + LINE_H + 8)
    height += MARGIN - ROW_GAP

    # 2. Title and legend.
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    title = plan.title or "storyboard"
    if pages > 1:
        title += f" (page {page} of {pages}: scenes {scenes[0].id}–{scenes[-1].id})"
    draw.text((MARGIN, MARGIN), title, font=f_title, fill=INK)
    x = MARGIN
    y = MARGIN + TITLE_H
    kinds = {c.id: f"character {c.token}" for c in plan.characters} | {o.id: "object" for o in plan.objects}
    for eid, colour in colours.items():
        label = f"{eid} ({kinds.get(eid, 'entity')})"
        draw.rectangle((x, y + 2, x + 12, y + 14), fill=colour)
        draw.text((x + 17, y), label, font=f_text, fill=INK)
        x += 17 + int(f_text.getlength(label)) + 18

    # 3. One row per scene: panels with boxes, then the wrapped text and the captions that drive SR3AI.
    y = MARGIN + TITLE_H + LEGEND_H
    for scene, (head, bg, caps) in zip(scenes, texts):
        previous: dict[str, str] = {}
        for f, kf in enumerate(scene.keyframes):
            px = MARGIN + f * (PANEL_W + GAP)
            py = y + MARK_H
            _panel(img, draw, kf, (px, py), colours, f_label, f + 1)
            captions = {r.entity: r.caption for r in kf.regions}
            if f > 0 and any(previous.get(e) not in (None, c) for e, c in captions.items()):
                cx = px + PANEL_W // 2  # an event switch: some entity's caption changes here
                draw.polygon([(cx - 5, py - 9), (cx + 5, py - 9), (cx, py - 2)], fill=INK)
            previous = captions
        ty = y + MARK_H + PANEL_H + 6
        for line in head:
            draw.text((MARGIN, ty), line, font=f_text, fill=INK)
            ty += LINE_H
        n_bg = len(_wrap(f"background: {scene.background}", f_text, text_w))
        for n, line in enumerate(bg):  # the background, then the planner's "not planned" notes in red
            draw.text((MARGIN, ty), line, font=f_text, fill=GREY if n < n_bg else SKIPPED_INK)
            ty += LINE_H
        for entity, label, lines in caps:
            colour = colours.get(entity.split(" ")[0], GREY)
            draw.rectangle((MARGIN, ty + 3, MARGIN + 9, ty + 12), fill=colour)
            draw.text((MARGIN + 14, ty), label, font=f_cap, fill=GREY)
            indent = MARGIN + 14 + f_cap.getlength(label)
            for line in lines:
                draw.text((indent, ty), line, font=f_cap, fill=INK)
                ty += LINE_H - 2
        y = ty + (4 if caps else 0) + ROW_GAP

    # 4. The characters' reference images.
    if refs:
        draw.text((MARGIN, y), "reference images", font=f_text, fill=GREY)
        y += LINE_H
        for label, thumbs in refs:
            draw.text((MARGIN, y), label, font=f_text, fill=INK)
            x = MARGIN
            for th in thumbs:
                if x + th.width > width - MARGIN:
                    break  # more images than fit in one row: the first ones are shown
                img.paste(th, (x, y + LINE_H))
                x += th.width + GAP
            y += REF_H + LINE_H + 8

    # 5. Write atomically.
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")


def hidden_notes(kf) -> list[str]:
    """What a key frame's boxes do not show: "pip absent" ([0, 0, 0, 0]), "train off-screen →" (a box wholly past
    an edge of the frame, e.g. leaving to the right)."""
    notes = []
    for r in kf.regions:
        if r.absent:
            notes.append(f"{r.entity} absent")
        elif r.region is None:
            x0, y0, x1, y1 = r.box
            arrow = "→" if x0 >= 1 else "←" if x1 <= 0 else "↓" if y0 >= 1 else "↑"
            notes.append(f"{r.entity} off-screen {arrow}")
    return notes


def _panel(img, draw: ImageDraw.ImageDraw, kf, origin: tuple[int, int], colours: dict, font, number: int) -> None:
    """One key frame: grey panel, a translucent filled box per visible region (clipped to the frame), labels that
    never cover each other, and a note for each entity that is absent or off-screen."""
    from PIL import Image, ImageDraw

    px, py = origin
    draw.rectangle((px, py, px + PANEL_W - 1, py + PANEL_H - 1), fill=PANEL_BG, outline=PANEL_EDGE)
    overlay = Image.new("RGBA", (PANEL_W, PANEL_H), (0, 0, 0, 0))
    odraw = ImageDraw.Draw(overlay)
    boxes = []
    for r in kf.regions:
        if r.region is None:
            continue  # absent or off-screen: listed below instead
        x0, y0, x1, y1 = r.region
        bx = (round(x0 * (PANEL_W - 1)), round(y0 * (PANEL_H - 1)), round(x1 * (PANEL_W - 1)),
              round(y1 * (PANEL_H - 1)))
        odraw.rectangle(bx, fill=(*colours[r.entity], 40))
        boxes.append((r, bx))
    img.paste(overlay, (px, py), overlay)
    for r, (x0, y0, x1, y1) in boxes:
        draw.rectangle((px + x0, py + y0, px + x1, py + y1), outline=colours[r.entity], width=2)
    taken: list[tuple[int, int, int, int]] = []
    for r, (x0, y0, _x1, _y1) in boxes:
        label = f"{r.entity} · {r.motion}"
        w = int(font.getlength(label)) + 6
        h = 14
        lx = min(px + x0 + 2, px + PANEL_W - w - 1)
        ly = py + y0 + 2
        while any(lx < t[2] and t[0] < lx + w and ly < t[3] and t[1] < ly + h for t in taken):
            ly += h + 1  # overlapping boxes: stack the labels
        ly = min(ly, py + PANEL_H - h - 1)
        draw.rectangle((lx, ly, lx + w, ly + h), fill=colours[r.entity])
        draw.text((lx + 3, ly + 1), label, font=font, fill="white")
        taken.append((lx, ly, lx + w, ly + h))
    draw.text((px + 4, py + PANEL_H - 15), str(number), font=font, fill=GREY)
    for i, note in enumerate(reversed(hidden_notes(kf))):
        w = int(font.getlength(note))
        draw.text((px + PANEL_W - w - 4, py + PANEL_H - 15 - 13 * i), note, font=font, fill=INK)
