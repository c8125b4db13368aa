"""The attribute filter and the segmentation of a candidate clip into model-length windows (METHOD.md B.1 steps 2–3).

Attribute filter (paper defaults, all in ``retrieve.*``): duration ≥ 2 s, ≥ 40 frames, aspect w/h ≥ 0.9. The values
come from the index when the caption file had them, else from probing the video.

Segmentation (``retrieve.segmenter``, a name in ``SEGMENTERS``):
  * ``fixed`` (default): each candidate span is cut into up to ``max_windows`` (default 1) non-overlapping windows of
    ``window_s`` seconds (the length the adapt stage trains on: 6 s = 48 frames at 8 fps), spread evenly over the
    span; a span shorter than one window is kept whole.
  * ``whole``: the candidate's whole span is one window (the adapt stage uses its first ``max_clip_seconds``).
The paper instead tracks people with YOLOv5 and cuts person-centred segments; that is not implemented here.
``Segmenter`` is the seam for it: it gets the candidate's span and returns windows; add a factory to ``SEGMENTERS``.
Whatever the segmenter, the selection keeps at most ``retrieve.max_per_video`` windows of one source video.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Attributes:
    """What the filter looks at, for the candidate's span."""

    duration: float  # seconds
    frames: int
    width: int
    height: int

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


@dataclass(frozen=True)
class Window:
    """A time range inside the source video, seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def filter_reason(a: Attributes, *, min_duration_s: float, min_frames: int, min_aspect: float) -> str | None:
    """None when the clip passes, else the first failed rule in words (goes into the manifest)."""
    if a.duration + 1e-6 < min_duration_s:
        return f"duration {a.duration:.2f}s < {min_duration_s:g}s"
    if a.frames < min_frames:
        return f"{a.frames} frames < {min_frames}"
    if a.aspect + 1e-6 < min_aspect:
        return f"aspect {a.width}x{a.height} = {a.aspect:.2f} < {min_aspect:g}"
    return None


class Segmenter(Protocol):
    def __call__(self, span_start: float, span_end: float) -> list[Window]:
        """The windows to score inside [span_start, span_end] seconds of the source video."""
        ...


@dataclass(frozen=True)
class FixedWindows:
    """Non-overlapping windows of ``window_s`` seconds spread evenly over the span (at most ``max_windows``)."""

    window_s: float
    max_windows: int = 1

    def __call__(self, span_start: float, span_end: float) -> list[Window]:
        length = span_end - span_start
        if length <= 0:
            return []
        if length <= self.window_s + 1e-6:
            return [Window(span_start, span_end)]
        n = max(1, min(self.max_windows, int(length // self.window_s)))
        # First window starts at the span's start, the last one ends at its end; equal gaps between them.
        starts = np.linspace(span_start, span_end - self.window_s, n) if n > 1 else np.array([span_start])
        return [Window(round(float(s), 3), round(float(s) + self.window_s, 3)) for s in starts]


@dataclass(frozen=True)
class WholeSpan:
    """The candidate's whole span as one window."""

    def __call__(self, span_start: float, span_end: float) -> list[Window]:
        return [Window(span_start, span_end)] if span_end > span_start else []


# retrieve.segmenter → a factory taking the retrieve config.
SEGMENTERS: dict[str, Callable[[Any], Segmenter]] = {
    "fixed": lambda rc: FixedWindows(rc.window_s, rc.max_windows),
    "whole": lambda rc: WholeSpan(),
}


def make_segmenter(rc: Any) -> Segmenter:
    """The segmenter named by ``rc.segmenter``; an unknown name is a UsageError listing the valid ones."""
    from ..errors import UsageError

    if rc.segmenter not in SEGMENTERS:
        raise UsageError(f"unknown segmenter {rc.segmenter!r}", hint=f"choose one of: {', '.join(SEGMENTERS)}")
    return SEGMENTERS[rc.segmenter](rc)
