"""A demo video database generated in code: small clips of a moving stick figure, captioned with their motion.

For the tiny preset, the tests and ``make demo``: retrieval runs offline end to end without downloading a data set.
Each motion gets ``clips_per_motion`` (4) clips (64×64, 8 fps, 2 s) whose figure moves in a way loosely tied to the
motion (walking translates, jumping bounces, waving swings one arm, sitting lowers the body, …), captioned "a man is
walking in a park" and the like. Four extra rows exercise the retrieve stage's checks: a clip too short for the
filter, a portrait clip (aspect < 0.9), a corrupt "video", and a clip whose metadata is missing (so it is probed).

``dreamrunner index demo OUT_DIR`` writes ``OUT_DIR/videos/*.mp4``, ``OUT_DIR/captions.jsonl`` and the index
``OUT_DIR/index``. ``retrieve.db: demo`` (the tiny preset) builds the same database once in the cache folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import cache_dir
from ..progress import Reporter, reporter
from .index import INDEX_FILE, _mkdtemp, _replace_dir, build_index

DEMO_VERSION = 3
DEMO_NAME = "demo"

# Motions in the present progressive, covering what the built-in planner produces for examples/stories.
DEMO_MOTIONS: tuple[str, ...] = (
    "walking", "running", "jumping", "waving", "waving hand", "sitting", "standing", "stretching arms", "waking up",
    "yawning", "dancing", "reading", "reading a book", "swimming", "diving", "eating", "eating breakfast", "drinking",
    "drinking water", "flying", "floating", "sleeping", "falling asleep", "lying down", "resting", "curling up",
    "cooking", "climbing", "climbing the ladder", "riding a bicycle", "playing", "playing with a ball", "singing",
    "laughing", "smiling", "clapping hands", "hugging", "throwing a ball", "catching a ball", "chasing", "following",
    "rolling", "spinning", "looking around", "looking out of the window", "looking up", "watching",
    "watering the flowers", "planting a flag", "picking up a shell", "building a tower", "knocking over a tower",
    "writing", "brushing teeth", "opening the door", "pressing buttons", "switching on", "closing eyes",
    "wagging tail", "sniffing the grass", "barking", "eating a snack",
)
# No caption says "person": the query "person is <motion>" then ranks by the motion words alone, so each motion's
# BM25 candidates are its own clips (a word in most captions would add every clip as a candidate).
SUBJECTS = ("a man", "a woman", "a child", "a girl", "a boy")
PLACES = ("in a park", "in a room", "on a street", "in a garden", "on a beach", "in a kitchen", "in a field",
          "near a lake")
SIZE, FPS, FRAMES = 64, 8, 16


@dataclass(frozen=True)
class Program:
    """How the figure moves: pixels per frame, amplitudes, frequencies (cycles per clip)."""

    dx: float = 0.0  # horizontal speed
    bob: float = 0.0  # vertical bobbing amplitude
    jump: float = 0.0  # jump height
    arm: float = 0.0  # arm swing amplitude (radians)
    both_arms: bool = True
    raise_arms: float = 0.0  # arms lifted (radians) by the end of the clip
    squat: float = 0.0  # body lowered by this fraction by the end (negative: rises)
    lie: bool = False  # horizontal body
    sway: float = 0.0  # side-to-side amplitude
    freq: float = 2.0


PROGRAMS: dict[str, Program] = {
    "walking": Program(dx=1.2, bob=1.0, arm=0.5),
    "running": Program(dx=2.6, bob=2.0, arm=0.9, freq=4),
    "jumping": Program(jump=10, arm=0.3, freq=2),
    "waving": Program(arm=0.9, both_arms=False, raise_arms=2.2, freq=4),
    "sitting": Program(squat=0.35),
    "standing": Program(bob=0.3, freq=1),
    "stretching": Program(raise_arms=2.8, freq=1),
    "waking": Program(lie=True, squat=-0.3),
    "dancing": Program(sway=6, arm=1.0, bob=1.5, freq=3),
    "reading": Program(raise_arms=0.8, bob=0.2, freq=1),
    "swimming": Program(lie=True, dx=1.0, arm=1.2, freq=3),
    "diving": Program(lie=True, dx=1.5, jump=-6, freq=1),
    "eating": Program(raise_arms=1.2, arm=0.5, both_arms=False, freq=4),
    "drinking": Program(raise_arms=1.5, both_arms=False, freq=1),
    "flying": Program(dx=2.0, jump=8, raise_arms=1.6, freq=1),
    "floating": Program(bob=3.0, sway=3, freq=1),
    "sleeping": Program(lie=True, bob=0.5, freq=1),
    "lying": Program(lie=True, squat=0.2),
    "climbing": Program(jump=-10, arm=1.0, raise_arms=2.5, freq=3),
    "riding": Program(dx=2.0, squat=0.2, bob=0.5, freq=4),
    "clapping": Program(arm=0.8, raise_arms=1.2, freq=5),
    "spinning": Program(sway=4, arm=1.5, freq=4),
    "throwing": Program(arm=1.4, both_arms=False, raise_arms=2.0, freq=1),
}


def program_for(motion: str) -> Program:
    """A known motion's program, matched on its first word; otherwise one derived from the motion's hash."""
    for word in motion.lower().split():
        for key, prog in PROGRAMS.items():
            if word.startswith(key):
                return prog
    h = hashlib.sha256(motion.encode()).digest()
    return Program(dx=(h[0] % 5) * 0.5, bob=(h[1] % 4) * 0.5, arm=(h[2] % 5) * 0.25, sway=(h[3] % 4),
                   both_arms=bool(h[4] % 2), freq=1 + h[5] % 4)


def render_clip(motion: str, seed: int, frames: int = FRAMES, width: int = SIZE, height: int = SIZE) -> np.ndarray:
    """uint8 (T, H, W, 3) frames of a stick figure performing ``motion`` (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    prog = program_for(motion)
    bg = rng.integers(40, 200, size=3)
    ground = (bg * 0.6).astype(np.uint8)
    color = rng.integers(0, 256, size=3)
    color[rng.integers(3)] = 255  # keep the figure visible against the background
    yy, xx = np.mgrid[0:height, 0:width]
    s = min(width, height) / 64.0  # figure scale
    x0 = width * (0.3 if prog.dx > 0 else 0.5) + rng.uniform(-4, 4) * s
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        ph = 2 * np.pi * prog.freq * t / frames
        u = t / max(frames - 1, 1)
        frame = np.empty((height, width, 3), dtype=np.uint8)
        frame[:] = bg
        frame[int(height * 0.8):] = ground
        cx = x0 + prog.dx * s * t + prog.sway * s * np.sin(ph)
        cx = (cx - width * 0.15) % (width * 0.7) + width * 0.15  # wrap inside the frame
        base = height * 0.8 - prog.bob * s * abs(np.sin(ph)) - prog.jump * s * max(0.0, np.sin(ph))
        body = 22 * s * (1 - prog.squat * u)
        if prog.lie:
            _line(frame, (cx - body / 2, base - 6 * s), (cx + body / 2, base - 6 * s), color, 3 * s)
            _disk(frame, xx, yy, cx + body / 2 + 4 * s, base - 7 * s, 4 * s, color)
            arm_from = (cx + body / 4, base - 6 * s)
            arm_len, arm_base = 9 * s, -np.pi / 2
        else:
            hip, neck = (cx, base - 10 * s), (cx, base - 10 * s - body * 0.6)
            _line(frame, hip, neck, color, 3 * s)
            _disk(frame, xx, yy, cx, neck[1] - 5 * s, 5 * s, color)
            for side in (-1, 1):  # legs
                swing = prog.arm * 0.6 * np.sin(ph) * side if prog.dx else 0.0
                _line(frame, hip, (cx + side * 5 * s + 6 * s * swing, base), color, 2 * s)
            arm_from, arm_len, arm_base = neck, 10 * s, 0.0
        for side in (-1, 1):  # arms: angle from hanging down, swinging and/or raised
            if side == -1 and not prog.both_arms:
                angle = 0.3
            else:
                angle = arm_base + 0.3 + prog.raise_arms * u + prog.arm * np.sin(ph + (0 if side > 0 else np.pi))
            end = (arm_from[0] + side * arm_len * np.sin(angle), arm_from[1] + arm_len * np.cos(angle))
            _line(frame, arm_from, end, color, 2 * s)
        out[t] = frame
    return out


def _disk(frame: np.ndarray, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float, color: Any) -> None:
    frame[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = color


def _line(frame: np.ndarray, a: tuple[float, float], b: tuple[float, float], color: Any, width: float) -> None:
    h, w = frame.shape[:2]
    n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1])) * 2) + 2
    half = max(int(round(width / 2)), 1)
    for k in np.linspace(0, 1, n):
        x, y = int(round(a[0] + (b[0] - a[0]) * k)), int(round(a[1] + (b[1] - a[1]) * k))
        frame[max(y - half + 1, 0):min(y + half, h), max(x - half + 1, 0):min(x + half, w)] = color


def demo_rows(motions: tuple[str, ...] | list[str] = DEMO_MOTIONS, clips_per_motion: int = 4, frames: int = FRAMES,
              size: int = SIZE, fps: int = FPS, extras: bool = True) -> list[dict[str, Any]]:
    """The demo caption rows (deterministic). Keys starting with '_' say how to render the clip."""
    rows: list[dict[str, Any]] = []
    n = 0
    for motion in motions:
        for i in range(clips_per_motion):
            seed = int.from_bytes(hashlib.sha256(f"{motion}/{i}".encode()).digest()[:4], "little")
            subject, place = SUBJECTS[(n + i) % len(SUBJECTS)], PLACES[seed % len(PLACES)]
            rows.append({"path": f"videos/{n:04d}-{motion.replace(' ', '-')}.mp4",
                         "caption": f"{subject} is {motion} {place}", "duration": frames / fps, "fps": fps,
                         "frames": frames, "width": size, "height": size,
                         "_motion": motion, "_seed": seed, "_frames": frames, "_size": (size, size)})
            n += 1
    if extras:
        short = 8  # below the tiny preset's 9-frame minimum
        rows.append({"path": "videos/x-short.mp4", "caption": "a man is walking quickly on a street",
                     "duration": short / fps, "fps": fps, "frames": short, "width": size, "height": size,
                     "_motion": "walking", "_seed": 1, "_frames": short, "_size": (size, size)})
        rows.append({"path": "videos/x-portrait.mp4", "caption": "a woman is walking in a hallway",
                     "duration": frames / fps, "fps": fps, "frames": frames, "width": size // 2, "height": size,
                     "_motion": "walking", "_seed": 2, "_frames": frames, "_size": (size // 2, size)})
        rows.append({"path": "videos/x-corrupt.mp4", "caption": "a child is walking and waving in the garden",
                     "duration": frames / fps, "fps": fps, "frames": frames, "width": size, "height": size,
                     "_corrupt": True})
        rows.append({"path": "videos/x-nometa.mp4", "caption": "a girl is dancing and jumping at a party",
                     "_motion": "dancing", "_seed": 3, "_frames": frames, "_size": (size, size)})
    return rows


def build_demo_database(out_dir: Path, *, motions: tuple[str, ...] | list[str] = DEMO_MOTIONS,
                        clips_per_motion: int = 4, frames: int = FRAMES, size: int = SIZE, fps: int = FPS,
                        extras: bool = True, progress: Reporter | None = None) -> dict[str, Any]:
    """Write the demo videos, their caption file and the index into ``out_dir``; returns the index summary.
    ``progress``: where to show it (a bar over the videos, then the index build's own); None shows nothing."""
    from ..video import write_video

    rep = progress or reporter(False)
    out_dir = Path(out_dir)
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    rows = demo_rows(motions, clips_per_motion, frames, size, fps, extras)
    with rep.bar("write videos", total=len(rows)) as bar:  # the slow part: ~250 clips, 10-30 s
        for r in rows:
            if r.get("_corrupt"):
                (out_dir / r["path"]).write_bytes(b"this is not a video\n" * 64)
            else:
                w, h = r["_size"]
                write_video(out_dir / r["path"], render_clip(r["_motion"], r["_seed"], r["_frames"], w, h), fps)
            bar.advance()
    captions = out_dir / "captions.jsonl"
    captions.write_text("".join(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) + "\n"
                                for r in rows), encoding="utf-8")
    summary = build_index(out_dir, captions, out_dir / "index", progress=progress)
    return {**summary, "db_dir": str(out_dir), "captions": str(captions), "videos": len(rows)}


DEMO_DIR_ENV = "DREAMRUNNER_DEMO_DIR"


def demo_index_dir() -> Path:
    """Where ``retrieve.db: demo`` lives: ``$DREAMRUNNER_DEMO_DIR/v<N>/index`` if set (e.g. one folder shared by a
    whole test session), else ``$DREAMRUNNER_CACHE/demo-db/v<N>/index``."""
    root = Path(os.environ[DEMO_DIR_ENV]) if os.environ.get(DEMO_DIR_ENV) else cache_dir() / "demo-db"
    return root / f"v{DEMO_VERSION}" / "index"


def _current(index: Path) -> bool:
    """Whether the demo index on disk has this version's format."""
    import json

    from .index import FORMAT_VERSION

    try:
        return json.loads((index / INDEX_FILE).read_text(encoding="utf-8")).get("format_version") == FORMAT_VERSION
    except (OSError, ValueError):
        return False


def ensure_demo_index() -> Path:
    """Build the demo database in the cache folder on first use (atomically: built aside, then renamed)."""
    index = demo_index_dir()
    if (index / INDEX_FILE).is_file() and _current(index):
        return index
    root = index.parent
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = _mkdtemp(root.parent, ".tmp-demo-")
    try:
        build_demo_database(tmp)
        if root.exists() and not _current(index):  # built by an older version (another index format): replace it
            _replace_dir(tmp, root)
        else:
            try:
                os.rename(tmp, root)
            except OSError:  # another process finished first: use theirs
                if not (index / INDEX_FILE).is_file():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return index
