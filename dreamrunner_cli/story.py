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

Reference images are resolved relative to the story file and copied into the workspace by the plan stage.
"""

from __future__ import annotations

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


def parse_story(path: Path) -> StoryInput:
    """Read a story file; raise InputInvalid naming the file and the field on bad front matter or missing images."""
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
            if not p.is_file():
                raise InputInvalid(f"{where}.images[{j}]: image {img!r} not found (looked at {p})",
                                   hint="paths are relative to the story file")
            images.append(p)
        characters.append(CharacterSpec(id=cid, name=name or cid, description=str(c.get("description") or name),
                                        token=str(c.get("token") or f"[v{i + 1}]"), images=images))
    title = str(meta.get("title") or path.stem.replace("_", " ").replace("-", " ").strip())
    return StoryInput(path=path.resolve(), title=title, text=body, characters=characters)
