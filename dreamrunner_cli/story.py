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

A failure raises InputInvalid (exit 5) naming the front-matter entry (``characters[0].images[1]``) and the file.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputInvalid


@dataclass
class CharacterSpec:
    id: str
    name: str
    description: str
    token: str
    images: list[Path] = field(default_factory=list)  # absolute paths, checked to exist


@dataclass
class StoryInput:
    path: Path
    title: str
    text: str  # the story body, without front matter
    characters: list[CharacterSpec] = field(default_factory=list)


MAX_REF_PIXELS = 100_000_000  # = adapt.max_image_pixels' default


def parse_story(path: Path, allow_outside_refs: bool = False, max_pixels: int = MAX_REF_PIXELS) -> StoryInput:
    """Read a story file; raise InputInvalid naming the file and the field on bad front matter, or on a reference
    image that is missing, outside the story's folder (unless ``allow_outside_refs``), not an image, or larger
    than ``max_pixels``."""
    import yaml

    from .schema import ID_PATTERN, slug

    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputInvalid(f"story file {path} not found") from None
    except UnicodeDecodeError:
        raise InputInvalid(f"story file {path} is not UTF-8 text") from None
    meta: dict = {}
    body = raw
    if raw.startswith("---"):
        parts = raw.split("\n---", 1)
        if len(parts) != 2:
            raise InputInvalid(f"{path}: front matter starts with '---' but has no closing '---' line")
        try:
            meta = yaml.safe_load(parts[0][3:]) or {}
        except yaml.YAMLError as exc:
            raise InputInvalid(f"{path}: front matter is not valid YAML: {exc}") from None
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
            p = (path.parent / str(img)).resolve()
            if not allow_outside_refs and not p.is_relative_to(path.parent.resolve()):
                raise InputInvalid(f"{where}.images[{j}]: image {img!r} is outside the story's folder "
                                   f"{path.parent.resolve()} (resolves to {p})",
                                   hint="copy the image next to the story (paths are relative to the story file), "
                                        "or pass --allow-outside-refs to accept it")
            if not p.is_file():
                raise InputInvalid(f"{where}.images[{j}]: image {img!r} not found (looked at {p})",
                                   hint="paths are relative to the story file")
            check_reference_image(p, f"{where}.images[{j}]", max_pixels)
            images.append(p)
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
