"""Story input: plain text, optionally with YAML front matter naming the characters.

    ---
    title: Teddy's one day
    characters:
      - id: teddy
        name: Teddy
        description: a brown teddy bear
        token: "[v1]"                # optional; default [v1], [v2], ... in order
        images: [refs/teddy/1.png]   # relative to the story file
    ---
    Teddy wakes up in his bedroom and stretches his arms. ...

Reference images are resolved relative to the story file and copied into the workspace by the plan stage. They are
checked here, where they enter (``plan`` time, before anything is copied): each must

* lie inside the story file's folder (after resolving ``..`` and symlinks), so a story cannot make ``plan`` copy
  ``/etc/passwd`` or any file elsewhere; ``dreamrunner plan --allow-outside-refs`` (``allow_outside_refs=True``)
  accepts absolute paths and paths outside the folder;
* be a real image that Pillow decodes (``verify``, then a full ``load``): a text file named ``.png`` or a truncated
  image is refused;
* hold at most ``max_pixels`` pixels (width × height, read from the header before decoding; default 100 MP, the
  default of ``adapt.max_image_pixels``, which the plan stage passes).

A failure raises InputInvalid (exit 5) naming the front-matter entry (``characters[0].images[1]``) and the file
as written there (a symlink is named by its own path, not by its target).

The story file itself is bounded (docs/reliability.md, "Every external input has a bound"): a regular file only (a
FIFO or a device is refused, never read), at most ``max_bytes`` bytes (``plan.max_story_bytes``, default 64 KiB),
strict UTF-8 (a leading byte-order mark is dropped, so front matter saved by a Windows editor is still front
matter), and front matter in plain YAML: no aliases (``*name``, which can expand a 1 KB file into billions of
items) and at most ``MAX_FRONT_MATTER_DEPTH`` levels of nesting.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputInvalid

if TYPE_CHECKING:
    from .schema import Plan


@dataclass
class CharacterSpec:
    id: str
    name: str
    description: str
    token: str
    images: list[Path] = field(default_factory=list)  # absolute paths as written (links kept), checked to exist


@dataclass
class StoryInput:
    path: Path
    title: str
    text: str  # the story body, without front matter
    characters: list[CharacterSpec] = field(default_factory=list)


MAX_REF_PIXELS = 100_000_000  # = adapt.max_image_pixels' default
MAX_STORY_BYTES = 64 * 1024  # = plan.max_story_bytes' default: ~10,000 words, far more than 8 scenes can show
MAX_FRONT_MATTER_DEPTH = 16  # levels of nested mappings/lists; a story's front matter has 3


def read_front_matter(text: str, path: Path) -> object:
    """Safe YAML without aliases: the events are scanned first (libyaml's parser when available, linear time), and
    an alias or nesting past MAX_FRONT_MATTER_DEPTH is refused before anything is built."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            line = getattr(getattr(event, "start_mark", None), "line", None)
            raise InputInvalid(f"{path}: front matter uses the YAML alias *{event.anchor}"
                               + (f" (line {line + 1})" if line is not None else "")
                               + "; aliases (and << merge keys) are not accepted in a story",
                               hint="write each value out in full")
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_FRONT_MATTER_DEPTH:
                raise InputInvalid(f"{path}: front matter is nested more than {MAX_FRONT_MATTER_DEPTH} levels deep "
                                   "(the limit; title: and characters: need 3)", hint="flatten the front matter")
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)


def parse_story(path: Path, allow_outside_refs: bool = False, max_pixels: int = MAX_REF_PIXELS,
                max_bytes: int = MAX_STORY_BYTES) -> StoryInput:
    """Read a story file; raise InputInvalid naming the file and the field on a file that is not a regular file,
    is over ``max_bytes`` (plan.max_story_bytes) or is not UTF-8, on bad front matter, or on a reference image that
    is missing, outside the story's folder (unless ``allow_outside_refs``), not an image, or larger than
    ``max_pixels``."""
    import yaml

    from .bounds import read_text
    from .schema import ID_PATTERN, slug

    path = Path(path)
    try:
        raw = read_text(path, max_bytes, what="story file", key="plan.max_story_bytes")
    except FileNotFoundError:
        raise InputInvalid(f"story file {path} not found") from None
    meta: dict = {}
    body = raw
    if raw.startswith("---"):
        parts = raw.split("\n---", 1)
        if len(parts) != 2:
            raise InputInvalid(f"{path}: front matter starts with '---' but has no closing '---' line")
        try:
            meta = read_front_matter(parts[0][3:], path) or {}  # type: ignore[assignment]
        except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: e.g. an int of 5,000 digits
            raise InputInvalid(f"{path}: front matter is not valid YAML: {str(exc)[:300]}") from None
        if not isinstance(meta, dict):
            raise InputInvalid(f"{path}: front matter must be a mapping (title:, characters:)")
        body = parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    body = body.strip()
    if not body:
        raise InputInvalid(f"{path}: the story text is empty", hint="write the story below the front matter")
    import re

    characters: list[CharacterSpec] = []
    for i, c in enumerate(meta.get("characters") or []):
        where = f"{path}: characters[{i}]"
        if not isinstance(c, dict) or not c.get("description") and not c.get("name"):
            raise InputInvalid(f"{where} needs at least a name or a description")
        name = str(c.get("name") or c.get("id") or "")
        cid = str(c.get("id") or slug(name, f"character{i + 1}"))
        if not re.fullmatch(ID_PATTERN, cid):
            raise InputInvalid(f"{where}.id {cid!r} must be lower-case letters, digits, '-' or '_'")
        images = []
        for j, img in enumerate(c.get("images") or c.get("reference_images") or []):
            given = (path.parent / str(img)).absolute()  # as written: what messages name (not a link's target)
            p = given.resolve()
            if not allow_outside_refs and not p.is_relative_to(path.parent.resolve()):
                raise InputInvalid(f"{where}.images[{j}]: image {img!r} is outside the story's folder "
                                   f"{path.parent.resolve()} (resolves to {p})",
                                   hint="copy the image next to the story (paths are relative to the story file), "
                                        "or pass --allow-outside-refs to accept it")
            if not p.is_file():
                raise InputInvalid(f"{where}.images[{j}]: image {img!r} not found (looked at {given}"
                                   + (f", a link to {p}" if given.is_symlink() else "") + ")",
                                   hint="paths are relative to the story file")
            check_reference_image(given, f"{where}.images[{j}]", max_pixels)
            images.append(given)  # as written: the workspace copy is named after the entry, not a link's target
        characters.append(CharacterSpec(id=cid, name=name or cid, description=str(c.get("description") or name),
                                        token=str(c.get("token") or f"[v{i + 1}]"), images=images))
    title = str(meta.get("title") or path.stem.replace("_", " ").replace("-", " ").strip())
    return StoryInput(path=path.resolve(), title=title, text=body, characters=characters)


def image_too_large(path: Path, w: int, h: int, max_pixels: int, where: str | None = None) -> InputInvalid:
    """The one pixel-budget refusal, at plan time (naming the front-matter entry) and when adapt decodes."""
    return InputInvalid(f"{where + ': ' if where else ''}image {path} is {w}×{h} = {w * h / 1e6:.1f} MP, above the "
                        f"limit of {max_pixels / 1e6:.1f} MP (adapt.max_image_pixels)",
                        hint="downscale it (reference images are resized to the render size anyway), or raise "
                        "adapt.max_image_pixels with --set")


@contextlib.contextmanager
def open_image_within_budget(path: Path, max_pixels: int, where: str | None = None):
    """``Image.open(path)`` with the one pixel budget: the size is read from the header, and an image above
    ``max_pixels`` is refused (``image_too_large``) before any pixel is decoded. Pillow's own bomb warning is
    silenced (our budget decides); its DecompressionBombError still reaches the caller."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise image_too_large(path, w, h, max_pixels, where)
            yield im


def check_reference_image(path: Path, where: str, max_pixels: int = MAX_REF_PIXELS) -> None:
    """Raise InputInvalid (naming ``where``, the front-matter entry) unless ``path`` is an image Pillow decodes, of
    at most ``max_pixels`` pixels. The size is read from the header first, so a huge image is refused undecoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open_image_within_budget(path, max_pixels, where) as im:
            im.verify()  # structure and checksums (PNG chunks' CRCs)
        with open_image_within_budget(path, max_pixels, where) as im:  # verify() leaves it unusable: open again
            im.draft("RGB", (256, 256))  # JPEG: decode at a reduced scale (still reads the whole stream)
            im.load()
    except InputInvalid:
        raise
    except Image.DecompressionBombError as exc:
        raise InputInvalid(f"{where}: image {path} is refused as a decompression bomb: {exc}",
                           hint="use an ordinary photo or drawing (PNG or JPEG)") from None
    except UnidentifiedImageError:
        raise InputInvalid(f"{where}: {path} is not an image Pillow can read",
                           hint="give a PNG or JPEG file") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InputInvalid(f"{where}: image {path} is damaged or truncated: {type(exc).__name__}: {exc}",
                           hint="re-export the image as PNG or JPEG") from None


def missing_reference_images(plan: Plan, story: StoryInput | None, workspace: Path) -> list[str]:
    """One warning per character that appears in a scene but has no reference images, said at plan time (adapt
    would otherwise report it only after training the motions): without images there is no character LoRA, so the
    character's look is not kept from scene to scene. Each names the character and the fix: images in the story's
    front matter (``story``, the file the user wrote), or in plan.json for a plan without a story."""
    seen = {cid for s in plan.scenes for cid in s.characters}
    seen |= {r.entity for s in plan.scenes for kf in s.keyframes for r in kf.regions}
    declared = {c.id: i for i, c in enumerate(story.characters)} if story is not None else {}
    out = []
    for i, c in enumerate(plan.characters):
        if c.reference_images or c.id not in seen:
            continue
        why = (f"character {c.id!r} has no reference images, so adapt trains no character LoRA for it and its look "
               "may change from scene to scene")
        example = f"refs/{c.id}/1.png"
        if story is None:
            fix = (f"copy images into {workspace} (e.g. {example}) and list them in plan.json "
                   f"characters[{i}].reference_images")
        elif c.id in declared:
            fix = (f"add `images: [{example}]` (paths relative to the story file) to characters"
                   f"[{declared[c.id]}] in the front matter of {story.path}, then plan again")
        else:
            fix = (f"the planner found it in the story; declare it in the front matter of {story.path} (id: {c.id}, "
                   f"images: [{example}]), then plan again")
        out.append(f"{why}: {fix}")
    return out
