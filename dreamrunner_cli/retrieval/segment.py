"""The attribute filter and the segmentation of a candidate clip into model-length windows (METHOD.md B.1 steps 2–3).

Attribute filter (paper defaults, all in ``retrieve.*``): duration ≥ 2 s, ≥ 40 frames, aspect w/h ≥ 0.9. The values
come from the index when the caption file had them, else from probing the video.

Segmentation (``retrieve.segmenter``; the retrieve stage's ``SEGMENTERS`` maps each name to its factory):
  * ``fixed`` (default): each candidate span is cut into up to ``max_windows`` (default 1) non-overlapping windows of
    ``window_s`` seconds (the length the adapt stage trains on: 6 s = 48 frames at 8 fps), spread evenly over the
    span; a span shorter than one window is kept whole.
  * ``whole``: the candidate's whole span is one window (the adapt stage uses its first ``max_clip_seconds``).
  * ``person``: the paper's person-centred segmentation (it tracks people with YOLOv5): a person detector runs on
    frames sampled at ``person_fps``, windows of ``window_s`` are cut inside the spans where one person is clearly
    visible, and each window is cropped to a box around that person (retrieval/person.py; the detector is a
    safetensors YOLOS / RT-DETR, models/detector.py, not YOLOv5's pickled checkpoints).
A ``Segmenter`` gets the candidate's span (and, as keywords, the video file and its size in pixels) and returns
windows; a window may carry a crop rectangle. Add a factory to ``stages/retrieve.py``'s ``SEGMENTERS`` for another
one. Whatever the segmenter, the selection keeps at most ``retrieve.max_per_video`` windows of one source video.

This module imports neither ``person`` nor ``scoring`` (both import it): choosing and building a segmenter happens
above all three, in the retrieve stage, so the three modules form no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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
    """A time range inside the source video, seconds, and optionally the crop (x, y, w, h) in the source's pixels
    that scoring and the saved clip use (the person segmenter's box around the person; None = the whole frame)."""

    start: float
    end: float
    crop: tuple[int, int, int, int] | None = None

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
    def __call__(self, span_start: float, span_end: float, *, video: Path | None = None,
                 size: tuple[int, int] | None = None) -> list[Window]:
        """The windows to score inside [span_start, span_end] seconds of the source video (``video``: its file,
        ``size``: its (width, height); segmenters that look at the frames need them)."""
        ...


@dataclass(frozen=True)
class FixedWindows:
    """Non-overlapping windows of ``window_s`` seconds spread evenly over the span (at most ``max_windows``)."""

    window_s: float
    max_windows: int = 1

    def __call__(self, span_start: float, span_end: float, **_: Any) -> list[Window]:
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

    def __call__(self, span_start: float, span_end: float, **_: Any) -> list[Window]:
        return [Window(span_start, span_end)] if span_end > span_start else []

