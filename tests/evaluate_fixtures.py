"""Fixtures for the evaluate tests: a small plan, synthetic scene videos with known content, deterministic fake
encoders whose similarities have known answers (so the metric math can be checked exactly)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from dreamrunner_cli.schema import Character, Keyframe, Motion, ObjectEntity, Plan, Region, Scene
from dreamrunner_cli.video import write_video
from dreamrunner_cli.workspace import Workspace, write_json_atomic

H = W = 32
COLORS = {"red": (230, 20, 20), "green": (20, 230, 20), "blue": (20, 20, 230), "yellow": (230, 230, 20)}


def pattern(seed: int = 0) -> np.ndarray:
    """A smooth, compressible (H, W, 3) uint8 picture (survives H.264 almost unchanged)."""
    y, x = np.mgrid[0:H, 0:W]
    img = np.stack([(x * 255 // (W - 1) + 40 * seed) % 256, y * 255 // (H - 1),
                    ((x // 8 + y // 8 + seed) % 2) * 200 + 20], -1)
    return img.astype(np.uint8)


def solid(color: str, n: int) -> np.ndarray:
    return np.broadcast_to(np.array(COLORS[color], np.uint8), (n, H, W, 3)).copy()


def two_color_video(first: str, second: str, split: int, total: int = 48) -> np.ndarray:
    """Frames [0, split) of one colour, [split, total) of another: (total, H, W, 3)."""
    return np.concatenate([solid(first, split), solid(second, total - split)])


def region(entity: str, motion: str, caption: str, box=(0.2, 0.1, 0.8, 0.9)) -> Region:
    return Region(entity=entity, motion=motion, caption=caption, box=box)


def make_plan(events: list[list[tuple[str, int]]] | None = None, refs: list[str] | None = None) -> Plan:
    """A plan with one character (teddy, token [v1]), a static rock, and one scene per entry of ``events``.

    ``events[i]`` lists (colour, key frames) runs of teddy's motion in scene i; each run gets a distinct motion
    and a caption naming the colour, e.g. ``A [v1] teddy bear is walking, all red``.
    """
    events = events or [[("red", 4), ("blue", 2)], [("green", 3), ("yellow", 3)]]
    motion_ids = ["walking", "waving", "jumping", "sitting"]
    scenes = []
    for si, runs in enumerate(events):
        keyframes = []
        for ri, (color, n) in enumerate(runs):
            motion = motion_ids[ri % len(motion_ids)]
            for _ in range(n):
                keyframes.append(Keyframe(regions=[
                    region("teddy", motion, f"A [v1] teddy bear is {motion}, all {color}"),
                    region("rock", "none", "a grey rock", (0.0, 0.6, 0.3, 1.0)),
                ]))
        colours = " then ".join(c for c, _ in runs)
        scenes.append(Scene(id=f"s{si + 1:02d}", location="garden", narration=f"Teddy is {colours}.",
                            background="a garden", characters=["teddy"],
                            motions=[motion_ids[ri % 4] for ri in range(len(runs))], keyframes=keyframes))
    return Plan(title="Teddy test", story="test", characters=[
        Character(id="teddy", name="Teddy", description="a teddy bear", token="[v1]",
                  reference_images=refs if refs is not None else ["refs/teddy/1.png"])],
        objects=[ObjectEntity(id="rock")], motions=[Motion(id=m, description=m) for m in motion_ids],
        scenes=scenes)


def make_workspace(root: Path, plan: Plan, videos: dict[str, np.ndarray] | None = None,
                   ref_images: dict[str, np.ndarray] | None = None, fps: float = 8.0) -> Workspace:
    """plan.json, reference images and renders/<scene>.mp4 in a fresh workspace."""
    from PIL import Image

    ws = Workspace(root)
    ws.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(ws.plan, plan.model_dump(mode="json"))
    for rel, img in (ref_images or {"refs/teddy/1.png": pattern(0)}).items():
        (ws.root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(ws.root / rel)
    for sid, frames in (videos or {}).items():
        write_video(ws.scene_video(sid), frames, fps)
    return ws


# Fake encoders -------------------------------------------------------------------------------------------------------


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def colour_vec(img: np.ndarray) -> np.ndarray:
    """Mean colour, centred: pure red → (+,-,-)."""
    return np.asarray(img, np.float64).reshape(-1, 3).mean(0) / 255.0 - 0.5


def text_colour_vec(text: str) -> np.ndarray:
    for name, rgb in COLORS.items():
        if re.search(rf"\b{name}\b", text):
            return np.array(rgb, np.float64) / 255.0 - 0.5
    return np.array([0.0, 0.0, 0.0]) + 1e-3


class Counting:
    """Counts encode calls (to prove skipped items do not touch models)."""

    def __init__(self) -> None:
        self.calls = 0


class PixelEncoder(Counting):
    """Image embedding = centred pixels: identical images → cosine exactly 1."""

    model_id = "fake-pixels"

    def encode_images(self, images):
        self.calls += 1
        return _unit(np.stack([np.asarray(im, np.float64).ravel() - 127.5 for im in images]))

    def encode_texts(self, texts):
        self.calls += 1
        rng = np.random.default_rng(0)
        return _unit(rng.normal(size=(len(texts), H * W * 3)))


class ColourClip(Counting):
    """CLIP-like: images by mean colour, texts by the colour word they contain (same 3-D space)."""

    model_id = "fake-colour-clip"

    def encode_images(self, images):
        self.calls += 1
        return _unit(np.stack([colour_vec(im) for im in images]))

    def encode_texts(self, texts):
        self.calls += 1
        return _unit(np.stack([text_colour_vec(t) for t in texts]))


class ColourVideoText(Counting):
    """Video-text-like (the scorers' interface): a clip by its mean colour, texts by their colour word; cosine."""

    model_id = "fake-colour-vt"

    def __init__(self) -> None:
        super().__init__()
        self.video_lengths: list[int] = []

    def video_features(self, frames):
        self.calls += 1
        self.video_lengths.append(len(frames))
        return {"video": _unit(colour_vec(np.asarray(frames)))}

    def text_features(self, texts):
        self.calls += 1
        return {"text": _unit(np.stack([text_colour_vec(t) for t in texts]))}

    def similarity(self, video, text):
        return text["text"] @ video["video"]
