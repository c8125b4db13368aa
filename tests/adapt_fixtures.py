"""Fixtures for the adapt tests: tiny clips, reference images and a workspace with a plan (all made in code)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dreamrunner_cli.workspace import Workspace


def moving_square(frames: int = 9, size: int = 64, start: int = 4, speed: int = 5,
                  color: tuple[int, int, int] = (220, 60, 30)) -> np.ndarray:
    """(T, H, W, 3) uint8: a square moving right on a grey background."""
    out = np.full((frames, size, size, 3), 90, np.uint8)
    for i in range(frames):
        x = start + speed * i
        out[i, 20:40, x : x + 20] = color
    return out


def write_clip(path: Path, **kwargs) -> Path:
    from dreamrunner_cli.video import write_video

    return write_video(path, moving_square(**kwargs), fps=8)


def write_image(path: Path, color: tuple[int, int, int]) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((48, 40, 3), 200, np.uint8)
    img[10:38, 8:32] = color
    Image.fromarray(img).save(path)
    return path


def clips_folder(root: Path) -> Path:
    """Two clips whose file names are their captions (the authors' convention)."""
    root.mkdir(parents=True, exist_ok=True)
    write_clip(root / "a_person_walking_to_the_right.mp4")
    write_clip(root / "a-man-walking-in-the-park.mp4", start=2, speed=4, color=(30, 160, 40))
    return root


def plan_dict(with_images: bool = True) -> dict:
    return {
        "schema_version": 1,
        "title": "Teddy walks",
        "characters": [{"id": "teddy", "description": "a brown teddy bear", "token": "[v1]",
                        "reference_images": ["refs/teddy/1.png", "refs/teddy/2.png"] if with_images else []}],
        "motions": [{"id": "walking", "description": "walking"}],
        "scenes": [{
            "id": "s01", "narration": "Teddy walks in the garden.", "background": "a sunny garden",
            "characters": ["teddy"], "motions": ["walking"],
            "keyframes": [{"regions": [{"entity": "teddy", "motion": "walking",
                                        "caption": "a [v1] teddy bear is walking", "box": [0.2, 0.0, 0.8, 1.0]}]}],
        }],
    }


def make_workspace(root: Path, with_images: bool = True) -> Workspace:
    ws = Workspace(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "plan.json").write_text(json.dumps(plan_dict(with_images), indent=2), encoding="utf-8")
    if with_images:
        write_image(root / "refs/teddy/1.png", (120, 70, 20))
        write_image(root / "refs/teddy/2.png", (140, 80, 30))
    return ws
