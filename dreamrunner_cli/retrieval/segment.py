"""The attribute filter and the segmentation of a candidate clip into model-length windows (METHOD.md B.1 steps 2–3).

Attribute filter (paper defaults, all in ``retrieve.*``): duration ≥ 2 s, ≥ 40 frames, aspect w/h ≥ 0.9. The values
come from the index when the caption file had them, else from probing the video.

Segmentation: the paper tracks people with YOLOv5 and cuts human-centred segments. That detector is not part of
this tool; what it does instead is cut each candidate span into up to ``max_windows`` non-overlapping windows of
``window_s`` seconds (the length the adapt stage trains on: 6 s = 48 frames at 8 fps), spread evenly over the span.
A span shorter than one window is kept whole. ``Segmenter`` is the seam for a person-centred segmenter later: it gets
the candidate's span and returns windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
