"""Video sources of the evaluate stage: folders of per-scene videos and how their files map to the plan's scenes.

A *source* is a folder of per-scene videos. By default it is the workspace's ``renders/`` (``renders/<scene>.mp4``);
``--videos DIR`` / ``LABEL=DIR`` scores other folders against the same plan, to compare systems side by side. In a
folder, videos are matched to scenes by file name (``<scene id>.<ext>``) or, when there are exactly as many videos as
scenes, by sorted (natural) order; anything else is an InputInvalid error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputInvalid, MissingUpstream, listing
from ..schema import Plan, slug
from ..workspace import Workspace

VIDEO_EXTS = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".gif")
RENDERS = "renders"


@dataclass
class VideoSource:
    """A folder of per-scene videos and how its files map to the plan's scenes."""

    name: str
    folder: Path
    videos: dict[str, Path]  # scene id → video file
    matched_by: str  # "scene id" or "sorted order"
    notes: list[str] = field(default_factory=list)


def _natural_key(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _parse_spec(spec: str | Path) -> tuple[str | None, Path]:
    """"DIR" or "LABEL=DIR" → (label or None, folder)."""
    text = str(spec)
    label, sep, rest = text.partition("=")
    if sep and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", label) and not Path(text).exists():
        return label, Path(rest).expanduser()
    return None, Path(text).expanduser()


def folder_source(name: str, folder: Path, scene_ids: Sequence[str]) -> VideoSource:
    """Match the videos in ``folder`` to scenes: by file name, else by sorted order when the counts agree."""
    if not folder.exists():
        raise InputInvalid(f"video folder {folder} does not exist", hint="pass --videos DIR (or LABEL=DIR) with one "
                           "video per scene")
    if not folder.is_dir():
        raise InputInvalid(f"{folder} is not a folder", hint="--videos takes a folder of per-scene videos "
                           "(s01.mp4, s02.mp4, ...), not a single file")
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS
                    and not p.name.startswith(".")), key=lambda p: _natural_key(p.name))
    by_stem: dict[str, list[Path]] = {}
    for p in files:
        by_stem.setdefault(p.stem, []).append(p)
    dupes = [s for s in scene_ids if len(by_stem.get(s, [])) > 1]
    if dupes:
        raise InputInvalid(f"{folder} has several videos for scene(s) {listing(dupes)}: "
                           f"{listing(p.name for s in dupes for p in by_stem[s])}", hint="keep one video per scene id")
    if all(s in by_stem for s in scene_ids):
        extra = [p.name for p in files if p.stem not in scene_ids]
        notes = [f"{name}: ignored files not named after a scene: {listing(extra)}"] if extra else []
        return VideoSource(name, folder, {s: by_stem[s][0] for s in scene_ids}, "scene id", notes)
    if len(files) == len(scene_ids):
        mapping = dict(zip(scene_ids, files, strict=True))
        # A file named after one scene must not land on another scene by sorting.
        wrong = [f"{p.name} → {s}" for s, p in mapping.items() if p.stem in scene_ids and p.stem != s]
        if wrong:
            raise InputInvalid(f"{folder}: sorted order would give files named after a scene to another scene "
                               f"({', '.join(wrong)})", hint="name every video after its scene id (s01.mp4, ...)")
        note = f"{name}: matched by sorted order: " + ", ".join(f"{s}={p.name}" for s, p in mapping.items())
        return VideoSource(name, folder, mapping, "sorted order", [note])
    missing = [s for s in scene_ids if s not in by_stem]
    shown = ", ".join(p.name for p in files[:8]) + (" ..." if len(files) > 8 else "")
    raise InputInvalid(
        f"{folder} has {len(files)} video(s) but the plan has {len(scene_ids)} scenes, and no video is named after "
        f"scene(s) {missing}",
        details=[f"videos found: {shown or '(none)'}", f"scenes in the plan: {', '.join(scene_ids)}",
                 f"video extensions looked for: {' '.join(VIDEO_EXTS)}"],
        hint=f"name the videos after the scene ids ({scene_ids[0]}.mp4, ...) or put exactly {len(scene_ids)} "
             "videos in the folder, in story order when sorted by name",
    )


def resolve_sources(ws: Workspace, plan: Plan, videos: Sequence[str | Path] | None,
                    dry_run: bool = False) -> list[VideoSource]:
    """The workspace's renders (default) or the folders given with ``--videos``, with unique slug names."""
    scene_ids = [s.id for s in plan.scenes]
    if not videos:
        mapping = {s: ws.scene_video(s) for s in scene_ids}
        missing = [s for s, p in mapping.items() if not p.exists()]
        if missing and not dry_run:
            raise MissingUpstream(f"scene video(s) not rendered yet: {', '.join(ws.rel(mapping[s]) for s in missing)}",
                                  hint=f"run `dreamrunner render {ws.root}` first, or score other videos with "
                                       "--videos DIR")
        return [VideoSource(RENDERS, ws.renders_dir, mapping, "scene id")]
    sources: list[VideoSource] = []
    used: set[str] = set()
    for spec in videos:
        label, folder = _parse_spec(spec)
        folder = folder.resolve()
        base = RENDERS if label is None and folder == ws.renders_dir else slug(label or folder.name, "videos")
        name, i = base, 2
        while name in used:
            name, i = f"{base}-{i}", i + 1
        used.add(name)
        if folder == ws.renders_dir and not dry_run:
            missing = [s for s in scene_ids if not ws.scene_video(s).exists()]
            if missing:
                raise MissingUpstream(f"scene video(s) not rendered yet: {missing}",
                                      hint=f"run `dreamrunner render {ws.root}` first")
        sources.append(folder_source(name, folder, scene_ids))
    return sources


