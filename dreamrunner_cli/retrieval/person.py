"""Person-centred segmentation (``retrieve.segmenter: person``; METHOD.md B.1 step 3).

The paper "tracks people with YOLOv5 and cuts human-centred segments". Here, for each candidate span:

  1. **Sample** frames at ``person_fps`` (2 fps) and run the person detector (models/detector.py) on them. Sample k
     stands for [span_start + k/fps, span_start + (k+1)/fps).
  2. **Track one person**: in each sample, the *clear* persons are the boxes with score ≥ ``detector_threshold``
     and area ≥ ``person_min_area`` of the frame. The tracked person continues into the next sample as the clear
     box overlapping it best (IoU ≥ ``MIN_IOU``); with no overlapping box, the largest clear box starts a new
     track; a sample without any clear person ends the track.
  3. **Spans** are the maximal runs of samples on one track. Spans where no person is clearly visible are skipped.
  4. **Windows** of ``window_s`` are cut inside the spans (evenly spread, non-overlapping, at most ``max_windows``
     per candidate, longer spans first); a span shorter than a window is kept whole when it lasts at least
     ``min_duration_s`` (the attribute filter's minimum), else dropped.
  5. **Crop**: each window gets a box around the person: the union of the tracked boxes of the samples it overlaps,
     grown by ``CROP_MARGIN`` on each side, expanded to the aspect ``person_crop_aspect`` (w/h; 1.5 = CogVideoX's
     720×480, which adapt resizes to without cropping) and moved/clamped inside the frame. When the frame cannot
     hold that aspect around the person (a tall person in a narrow frame), the person is kept whole and the
     aspect gives way. Sizes are even pixel counts (H.264).

The crop travels with the window (``Window.crop``, source pixels): scoring and the saved clip both see only the
cropped frames (media.read_window's ``crop``). ``retrieve.max_per_video`` still caps the kept clips per video.

Imports: this module uses ``segment`` (windows) and ``media``, never ``scoring``; which segmenter runs is chosen
above all three, by the retrieve stage (stages/retrieve.py, ``make_segmenter``), which also hands in the cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .segment import FixedWindows, Window

MIN_IOU = 0.3  # a box continues the track when it overlaps the previous one at least this much
CROP_MARGIN = 0.1  # fraction of the person box added on each side before fitting the aspect
DETECT_MAX_SIDE = 800  # frames are decoded for detection with the longer side at most this (the processor resizes)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the frame


@dataclass(frozen=True)
class Span:
    """A run of samples on one track: [start, end) seconds and the tracked box of each sample in it."""

    start: float
    end: float
    times: tuple[float, ...]  # sample start times
    boxes: tuple[Box, ...]

    @property
    def duration(self) -> float:
        return self.end - self.start


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def track(samples: list[list[Any]], *, threshold: float, min_area: float, min_iou: float = MIN_IOU
          ) -> list[tuple[int, Box] | None]:
    """Per sample: (track id, tracked box), or None when no person is clearly visible (see the module docstring).

    ``samples`` holds each sample's detections (objects with ``score``, ``box`` and ``area``)."""
    out: list[tuple[int, Box] | None] = []
    prev: Box | None = None
    tid = -1
    for dets in samples:
        clear = [d for d in dets if d.score >= threshold and d.area >= min_area]
        if not clear:
            out.append(None)
            prev = None
            continue
        chosen = None
        if prev is not None:
            best = max(clear, key=lambda d: (iou(d.box, prev), d.area))
            if iou(best.box, prev) >= min_iou:
                chosen = best
        if chosen is None:  # no track, or the person left and another one is there: a new track
            chosen = max(clear, key=lambda d: (d.area, d.score))
            tid += 1
        out.append((tid, tuple(chosen.box)))
        prev = tuple(chosen.box)
    return out


def person_spans(tracked: list[tuple[int, Box] | None], *, span_start: float, span_end: float, fps: float
                 ) -> list[Span]:
    """Maximal runs of samples on one track → spans in seconds (sample k covers [start + k/fps, + 1/fps))."""
    spans: list[Span] = []
    run: list[tuple[float, Box]] = []
    run_id: int | None = None

    def close() -> None:
        if run:
            end = min(run[-1][0] + 1.0 / fps, span_end)
            spans.append(Span(round(run[0][0], 3), round(end, 3), tuple(t for t, _ in run), tuple(b for _, b in run)))

    for k, item in enumerate(tracked):
        t = span_start + k / fps
        if t >= span_end - 1e-6:
            break
        if item is None or item[0] != run_id:
            close()
            run = []
            run_id = None
        if item is not None:
            run_id = item[0]
            run.append((t, item[1]))
    close()
    return spans


def span_windows(spans: list[Span], *, window_s: float, max_windows: int, min_span_s: float
                 ) -> list[tuple[Window, Span]]:
    """Windows inside the spans, at most ``max_windows`` in all (longer spans first, one each, then more), sorted
    by time. A span shorter than ``window_s`` is one window when it lasts at least ``min_span_s``."""
    usable = [s for s in spans if s.duration + 1e-6 >= min(window_s, min_span_s)]
    capacity = {id(s): max(1, int((s.duration + 1e-6) // window_s)) for s in usable}
    order = sorted(usable, key=lambda s: (-s.duration, s.start))
    count = {id(s): 0 for s in usable}
    left = max_windows
    while left > 0:
        progressed = False
        for s in order:
            if left > 0 and count[id(s)] < capacity[id(s)]:
                count[id(s)] += 1
                left -= 1
                progressed = True
        if not progressed:
            break
    out = []
    for s in usable:
        if count[id(s)]:
            out.extend((w, s) for w in FixedWindows(window_s, count[id(s)])(s.start, s.end))
    return sorted(out, key=lambda x: x[0].start)


def union_box(span: Span, start: float, end: float, fps: float) -> Box:
    """Union of the span's boxes over the samples overlapping [start, end)."""
    boxes = [b for t, b in zip(span.times, span.boxes) if t < end - 1e-6 and t + 1.0 / fps > start + 1e-6]
    boxes = boxes or list(span.boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def crop_rect(box: Box, width: int, height: int, *, aspect: float, margin: float = CROP_MARGIN
              ) -> tuple[int, int, int, int]:
    """(x, y, w, h) in source pixels: a rectangle of aspect w/h = ``aspect`` around ``box`` (fractions) plus a
    margin, inside the frame, even sizes. It always contains the box (when the frame is even-sized); the aspect is
    exact when the frame can hold such a rectangle, otherwise the crop is as wide (or tall) as the frame."""
    bx0, by0 = math.floor(box[0] * width), math.floor(box[1] * height)
    bx1, by1 = math.ceil(box[2] * width), math.ceil(box[3] * height)
    bw, bh = max(bx1 - bx0, 1), max(by1 - by0, 1)
    mw, mh = bw * (1 + 2 * margin), bh * (1 + 2 * margin)
    if mw / mh > aspect:
        cw, ch = mw, mw / aspect
    else:
        cw, ch = mh * aspect, mh
    max_w, max_h = width - width % 2, height - height % 2

    def even_up(v: float, lo: int, hi: int) -> int:
        return min(max(2 * math.ceil(v / 2 - 1e-9), lo + lo % 2), hi)

    cw_i = even_up(cw, bw, max_w)
    ch_i = even_up(ch, bh, max_h)
    # Keep the aspect where the frame clamped only one side, as long as the person still fits.
    if cw_i < cw - 1e-6 and ch_i > bh:  # width clamped: shrink height towards width / aspect
        ch_i = even_up(max(cw_i / aspect, bh), bh, max_h)
    elif ch_i < ch - 1e-6 and cw_i > bw:  # height clamped: shrink width towards height * aspect
        cw_i = even_up(max(ch_i * aspect, bw), bw, max_w)

    def place(lo: int, hi: int, size: int, limit: int) -> int:
        x = round((lo + hi) / 2 - size / 2)
        x = min(max(x, hi - size), lo)  # contains [lo, hi) whenever size ≥ hi - lo
        return min(max(x, 0), limit - size)

    return place(bx0, bx1, cw_i, width), place(by0, by1, ch_i, height), cw_i, ch_i


@dataclass
class PersonWindows:
    """The ``person`` segmenter. ``detector`` (models/detector.py) is loaded by ``make_person_segmenter`` or
    injected (tests). ``__call__`` needs the video and its size; ``last_spans`` keeps the spans found for the
    last call (for notes and tests)."""

    detector: Any
    window_s: float
    max_windows: int = 1
    threshold: float = 0.5
    min_area: float = 0.05
    fps: float = 2.0
    aspect: float = 1.5
    min_span_s: float = 2.0
    cache: Any = None
    last_spans: list[Span] = field(default_factory=list, compare=False)

    def __call__(self, span_start: float, span_end: float, *, video: Path | None = None,
                 size: tuple[int, int] | None = None) -> list[Window]:
        if video is None or size is None:
            raise ValueError("the person segmenter needs the video and its size (width, height)")
        self.last_spans = []
        if span_end <= span_start:
            return []
        samples = self.detections(Path(video), span_start, span_end, size)
        tracked = track(samples, threshold=self.threshold, min_area=self.min_area)
        spans = person_spans(tracked, span_start=span_start, span_end=span_end, fps=self.fps)
        self.last_spans = spans
        width, height = size
        out = []
        for w, s in span_windows(spans, window_s=self.window_s, max_windows=self.max_windows,
                                 min_span_s=self.min_span_s):
            box = union_box(s, w.start, w.end, self.fps)
            out.append(Window(w.start, w.end, crop=crop_rect(box, width, height, aspect=self.aspect)))
        return out

    def detections(self, video: Path, span_start: float, span_end: float,
                   size: tuple[int, int] | None = None) -> list[list[Any]]:
        """The detector's person boxes on frames sampled at ``fps`` over the span (memoised in ``cache``, keyed
        by detector, file size/mtime, span and rate). Raises media.MediaError when the video cannot be decoded."""
        from ..models.detector import Detection
        from . import media

        key = None
        if self.cache is not None:
            import json

            try:
                ident = media.file_identity(video)  # the file's, or its tar shard's, size and mtime
            except media.MediaError:
                ident = None
            if ident is not None:
                key = json.dumps({"kind": "person-detections", "v": 1, "detector": self.detector.model_id,
                                  "min_score": getattr(self.detector, "min_score", None),
                                  "video": str(Path(video).resolve()), **ident,
                                  "start": span_start, "end": span_end, "fps": self.fps, "side": DETECT_MAX_SIDE},
                                 sort_keys=True)
                hit = self.cache.get(key)
                if isinstance(hit, bytes):
                    try:
                        data = json.loads(hit.decode("utf-8"))
                        return [[Detection(d[0], tuple(d[1])) for d in s] for s in data]
                    except (ValueError, TypeError, IndexError):
                        pass
        frames = media.read_window(video, span_start, span_end - span_start, self.fps, max_side=DETECT_MAX_SIDE)
        if size is not None and size[0] and size[1]:  # crops are in the index's pixels: they must be the video's
            fh, fw = frames.shape[1:3]
            if abs(fw / fh - size[0] / size[1]) > 0.02 * size[0] / size[1] + 2.0 / min(fw, fh):
                raise media.MediaError(f"video is {fw}x{fh} (scaled), but the index says {size[0]}x{size[1]}")
        samples = self.detector.detect(frames)
        if key is not None:
            import json

            self.cache.set(key, json.dumps([[[d.score, list(d.box)] for d in s] for s in samples]).encode("utf-8"))
        return samples


def make_person_segmenter(rc: Any, cache: Any = None) -> PersonWindows:
    """The ``person`` segmenter for a retrieve config: loads ``retrieve.detector`` on ``retrieve.device``.
    ``cache`` memoises detections (the retrieve stage passes the ``embeddings`` cache); None: no memo."""
    from ..models.detector import load_person_detector

    detector = load_person_detector(rc.detector, rc.device, min_score=min(rc.detector_threshold, 0.05))
    return PersonWindows(detector=detector, window_s=rc.window_s, max_windows=rc.max_windows,
                         threshold=rc.detector_threshold, min_area=rc.person_min_area, fps=rc.person_fps,
                         aspect=rc.person_crop_aspect, min_span_s=rc.min_duration_s, cache=cache)
