"""Level 2 of the built-in planner (METHOD.md A.2): lanes, boxes by kind and motion, captions, interactions."""

from __future__ import annotations

from ..schema import NO_MOTION, Character, ObjectEntity, Region
from . import lexicon as lx
from .entities import Entity, Registry
from .reading import MotionEvent, SceneAnalysis
from .text import _article, _strip_article

def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[:2] in ("A ", "An") else s


def _who(char: Character | None, obj: ObjectEntity | None, ent: Entity | None) -> str:
    """How a caption names an entity: "A [v1] red fox", "[v2] Ünal", "A gull"."""
    if char is not None:
        desc = _strip_article(char.description)
        return f"A {char.token} {desc}" if desc[:1].islower() else f"{char.token} {desc}"
    desc = _strip_article(obj.description if obj else (ent.description if ent else "thing"))
    return f"{_article(desc)} {desc}" if desc[:1].islower() else desc


def _background(a: SceneAnalysis) -> str:
    """A global background that names no character: "A cozy bedroom in the morning."."""
    if a.place:
        article = "The" if a.place.split()[-1] in lx.UNIQUE_PLACES else _article(a.place)
        text = f"{article} {a.place}"
        return f"{text} {a.time}." if a.time else f"{text}."
    return f"An everyday scene {a.time}." if a.time else "An everyday scene."


def where(place: str | None, prep: str | None = None, category: str = "act") -> str | None:
    """The place phrase of a caption: "in the cozy bedroom", "on the moon", "by the pond", "in the sea" (swimming).

    Uses the story's own preposition when it describes being somewhere (in, on, by…), not going ("into", "to")."""
    if not place:
        return None
    words = place.split()
    heads = {words[-1], "-".join(words[-2:])}
    if category == "swim" and heads & lx.WATER_PLACES:
        prep = "in"
    elif prep not in STATIC_PREPS:
        prep = "on" if heads & lx.ON_PLACES else "by" if heads & lx.WATER_PLACES else "in"
    return f"{prep} the {place}"


STATIC_PREPS = frozenset("in on at by near inside beside under".split())
TRAVEL_PREPS = frozenset("through into across along down up to toward towards around over past out onto".split())


def _where_caption(ev: MotionEvent, place: str | None, prep: str | None) -> str | None:
    if ev.place and ev.place_prep in TRAVEL_PREPS and ev.category in TRAVELLING | {"climb"} and ev.place_phrase:
        return ev.place_phrase
    if ev.place:
        return where(ev.place, ev.place_prep, ev.category)
    return where(place, prep, ev.category)


def allocate(motions: list[MotionEvent], k: int) -> list[int]:
    """Key frames per motion, in order: 2 each, the rest to dynamic motions first (static ones get fewer)."""
    if not motions:
        return []
    if k < 2 * len(motions):
        counts = [k // len(motions)] * len(motions)
        for i in range(k % len(motions)):
            counts[i] += 1
        return counts
    counts = [2] * len(motions)
    dynamic = [i for i, m in enumerate(motions) if not m.static]
    receivers = dynamic or list(range(len(motions)))
    for r in range(k - 2 * len(motions)):
        counts[receivers[r % len(receivers)]] += 1
    return counts


# Box families per entity kind: (width as a fraction of the lane, widest absolute width, top, bottom).
SHAPES: dict[str, tuple[float, float, float, float]] = {
    "person": (0.6, 0.6, 0.0, 1.0), "robot": (0.6, 0.45, 0.3, 1.0), "small": (0.8, 0.4, 0.55, 1.0),
    "large": (0.7, 0.6, 0.2, 1.0), "bird": (0.6, 0.3, 0.05, 0.4), "drone": (0.5, 0.3, 0.05, 0.35),
    "vehicle": (0.95, 0.9, 0.35, 0.95), "prop": (0.6, 0.35, 0.6, 1.0), "group": (0.95, 0.9, 0.1, 1.0),
}
MIN_SIDE = 0.2
TRAVELLING = frozenset({"loco", "fly", "swim"})  # the box moves sideways (larger displacement is allowed)
TRAVEL = 0.3  # how far a travelling box moves over one motion, as a fraction of the lane width


# Relative lane width per box family: a train needs more room than a gull.
LANE_WEIGHT = {"person": 1.0, "robot": 0.9, "small": 0.8, "large": 1.2, "bird": 0.6, "drone": 0.6, "vehicle": 1.5,
               "prop": 0.5, "group": 1.5}


def _lanes(entities: list[tuple[str, str]], min_side: float) -> dict[str, tuple[float, float]]:
    """Side-by-side lanes in story order, widths by box family, each at least min_side wide (with a small gap
    between lanes when there is room)."""
    n = len(entities)
    if n == 1:
        return {entities[0][0]: (0.0, 1.0)}
    gap = 0.01 if 1.0 / n - 0.02 >= min_side else 0.0
    weights = [LANE_WEIGHT.get(shape, 1.0) for _, shape in entities]
    widths = [w / sum(weights) for w in weights]
    # lanes narrower than min_side + 2·gap take what they need from the widest ones
    need = min_side + 2 * gap
    for _ in range(n):
        short = [i for i, w in enumerate(widths) if w < need - 1e-9]
        if not short:
            break
        deficit = sum(need - widths[i] for i in short)
        for i in short:
            widths[i] = need
        rich = [i for i in range(n) if i not in short]
        total = sum(widths[i] - need for i in rich) or 1.0
        for i in rich:
            widths[i] -= deficit * (widths[i] - need) / total
    out, x = {}, 0.0
    for (cid, _), w in zip(entities, widths):
        out[cid] = (x + gap, min(1.0, x + w) - gap)
        x += w
    return out


def _vertical(shape: str, category: str, top: float, bottom: float) -> tuple[float, float]:
    """The box's top and bottom for an entity of this shape doing a motion of this category."""
    h = bottom - top
    if category == "fly":
        return 0.0, max(MIN_SIDE, min(h, 0.6))
    if category == "swim":
        return 0.2, 0.2 + max(MIN_SIDE, min(h, 0.7))
    if shape == "bird":  # a bird that does not fly stands on the ground
        return 0.65, 0.95
    if category == "sit" and shape not in ("drone", "vehicle"):
        return min(top + 0.25, 0.8), bottom
    if category == "lie":
        return max(top, 1.0 - max(MIN_SIDE, h * 0.5)) - 0.05, 0.95
    return top, bottom


def _track(cid: str, who: str, shape: str, motions: list[MotionEvent], lane: tuple[float, float], k: int,
           place: str | None, prep: str | None, descriptions: dict[str, str], reg: Registry,
           min_side: float) -> list[Region]:
    """One region per key frame for one entity: its motions in order, each held for its allocated frames."""
    lo, hi = lane
    lane_w = hi - lo
    frac, widest, top, bottom = SHAPES.get(shape, SHAPES["person"])
    if lane_w > 0.99:  # alone in the frame: the main entity is large (METHOD.md A.2, "[0.2, 0, 0.8, 1]")
        widest = max(widest, 0.6)
        top = {"person": 0.0, "large": 0.0, "robot": 0.0, "small": 0.3, "vehicle": 0.2}.get(shape, top)
    segments = list(zip(motions, allocate(motions, k))) or [(None, k)]
    boxes: list[tuple[float, float, float, float]] = []
    regions: list[Region] = []
    first = segments[0][0]
    cx = lo + lane_w / 2
    if first is not None and first.category in TRAVELLING:
        cx -= TRAVEL * lane_w / 2  # a scene that opens with locomotion crosses the centre, left to right
    for motion, count in segments:
        category = motion.category if motion else "act"
        if category == "lie":
            w = min(lane_w, max(min_side, min(0.85 * lane_w, widest * 1.5)))
        else:
            w = min(lane_w, max(min_side, min(frac * lane_w, widest)))
        y0, y1 = _vertical(shape, category, top, bottom)
        cx = min(max(cx, lo + w / 2), hi - w / 2)
        travel, direction = 0.0, 1.0
        if category in TRAVELLING:
            room_right, room_left = (hi - w / 2) - cx, cx - (lo + w / 2)
            direction = 1.0 if room_right >= room_left else -1.0
            travel = min(TRAVEL * lane_w, max(room_right, room_left))
        for f in range(count):
            t = f / (count - 1) if count > 1 else 1.0
            x = cx + direction * travel * t
            b0, b1 = y0, y1
            if category == "climb":  # rises by 0.2 over the motion
                b0, b1 = max(0.0, y0 - 0.2 * t), y1 - 0.2 * t if y0 - 0.2 * t >= 0 else y1 - y0 + max(0.0, y0 - 0.2 * t)
            elif category == "jump" and f % 2 == 1:
                b0, b1 = max(0.0, y0 - 0.1), max(min_side, y1 - 0.1)
            box = (x - w / 2, b0, x + w / 2, b1)
            if f == 0 and boxes and max(abs(a - b) for a, b in zip(box, boxes[-1])) > 0.25:
                box = tuple((a + b) / 2 for a, b in zip(box, boxes[-1]))  # ease a posture change over one frame
            boxes.append(_clean(box, min_side))
            if motion is None:
                at = where(place, prep)
                caption = f"{who} {at}" if at else who
            else:
                at = _where_caption(motion, place, prep)
                detail = ""
                if motion.target and motion.target in reg.by_id:  # the other one, described without its token
                    t = reg.by_id[motion.target]
                    desc = _strip_article(t.description)
                    detail = " ".join(x for x in (motion.target_prep, f"the {desc}" if desc[:1].islower() else desc)
                                      if x)
                caption = " ".join(x for x in (f"{who} is {motion.description}", detail, at) if x)
            regions.append(Region(entity=cid, motion=motion.id if motion else NO_MOTION, caption=caption,
                                  box=boxes[-1]))
        cx = cx + direction * travel
    return regions


def _close_in(a: tuple[float, ...], b: tuple[float, ...], min_side: float) -> tuple[tuple, tuple]:
    """Bring two boxes together for an interaction: they overlap by a fifth of the narrower one."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a, b
    overlap = 0.2 * min(ax1 - ax0, bx1 - bx0)
    if ax0 <= bx0:  # a on the left: move both towards the middle of the gap
        gap = bx0 - ax1 + overlap
        return (_clean((ax0 + gap / 2, ay0, ax1 + gap / 2, ay1), min_side),
                _clean((bx0 - gap / 2, by0, bx1 - gap / 2, by1), min_side))
    gap = ax0 - bx1 + overlap
    return (_clean((ax0 - gap / 2, ay0, ax1 - gap / 2, ay1), min_side),
            _clean((bx0 + gap / 2, by0, bx1 + gap / 2, by1), min_side))


def _clean(box: tuple[float, ...], min_side: float = MIN_SIDE) -> tuple[float, float, float, float]:
    """Round to 3 decimals inside [0, 1]; rounding never leaves a side below min_side."""
    x0, y0, x1, y1 = (round(min(1.0, max(0.0, v)), 3) for v in box)
    if x1 - x0 < min_side:
        x0, x1 = (x0, round(x0 + min_side + 0.001, 3)) if x0 + min_side + 0.001 <= 1 else (
            round(x1 - min_side - 0.001, 3), x1)
    if y1 - y0 < min_side:
        y0, y1 = (y0, round(y0 + min_side + 0.001, 3)) if y0 + min_side + 0.001 <= 1 else (
            round(y1 - min_side - 0.001, 3), y1)
    return x0, y0, x1, y1
