"""Files shipped with the package: the one font every picture is drawn with.

``fonts/DejaVuSans.ttf`` is DejaVu Sans, unmodified (Bitstream Vera licence + public-domain DejaVu changes, see
``fonts/LICENSE-DejaVu.txt``). It is bundled rather than looked up on the system so that the storyboard, the mask
pictures and the report pictures look the same on every machine, keep their spaces, and can be measured: labels are
wrapped with ``font.getlength`` against the picture's width, so a legend is never cut.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageFont

FONT_FILE = "DejaVuSans.ttf"


def font_path() -> Path:
    """The bundled TrueType file (inside the installed package)."""
    return Path(str(resources.files("dreamrunner_cli.assets") / "fonts" / FONT_FILE))


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    """The bundled font at ``size`` pixels (em height). Needs Pillow built with FreeType (every wheel is)."""
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path()), size=size)


def wrap(text: str, fnt: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap of ``text`` to ``width`` pixels in ``fnt``; a single word longer than the width is split
    at characters, so no line is ever wider than ``width`` and no text is dropped."""
    lines: list[str] = []
    line = ""
    for word in " ".join(str(text).split()).split(" "):
        trial = f"{line} {word}" if line else word
        if fnt.getlength(trial) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        line = ""
        while word and fnt.getlength(word) > width:  # a very long word: break it
            cut = max(1, max(i for i in range(1, len(word) + 1) if fnt.getlength(word[:i]) <= width or i == 1))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return lines
