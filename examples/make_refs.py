"""Draw the tiny reference images of the example characters (run once; the PNGs are committed).

    .venv/bin/python examples/make_refs.py

Writes ``examples/stories/refs/<character>/<N>.png``: 64×64 pictures made of simple shapes with PIL, a few hundred
bytes each. They stand in for real character photos (DreamBooth / CustomConcept101 subjects in the paper) so the
plan stage has images to copy and the adapt stage has something to learn from; they are not meant to look good.
The drawing is deterministic: running the script again rewrites identical files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 64
OUT = Path(__file__).resolve().parent / "stories" / "refs"


def _canvas(bg: tuple[int, int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (SIZE, SIZE), bg)
    return img, ImageDraw.Draw(img)


def teddy(variant: int) -> Image.Image:
    """A brown teddy bear: round head with ears, round body; variant 1 sits up, variant 2 raises an arm."""
    img, d = _canvas((250, 244, 230) if variant == 1 else (214, 232, 248))
    brown, light, dark = (140, 90, 50), (196, 150, 105), (40, 25, 15)
    d.ellipse((18, 30, 46, 60), fill=brown)                       # body
    d.ellipse((24, 38, 40, 56), fill=light)                       # belly
    d.ellipse((16, 4, 26, 14), fill=brown)                        # ears
    d.ellipse((38, 4, 48, 14), fill=brown)
    d.ellipse((19, 7, 45, 33), fill=brown)                        # head
    d.ellipse((27, 19, 37, 29), fill=light)                       # muzzle
    d.ellipse((25, 14, 28, 17), fill=dark)                        # eyes
    d.ellipse((36, 14, 39, 17), fill=dark)
    d.ellipse((30, 20, 34, 23), fill=dark)                        # nose
    if variant == 1:
        d.ellipse((10, 34, 22, 46), fill=brown)                   # arms down
        d.ellipse((42, 34, 54, 46), fill=brown)
    else:
        d.ellipse((8, 22, 20, 34), fill=brown)                    # left arm waving
        d.ellipse((42, 34, 54, 46), fill=brown)
    return img


def mia(variant: int) -> Image.Image:
    """A little girl in a red dress with dark hair; variant 2 on grass with arms out."""
    img, d = _canvas((235, 240, 255) if variant == 1 else (170, 215, 150))
    skin, hair, red = (240, 200, 170), (70, 40, 20), (210, 30, 40)
    d.polygon([(32, 26), (16, 54), (48, 54)], fill=red)           # dress
    d.rectangle((25, 54, 28, 62), fill=skin)                      # legs
    d.rectangle((36, 54, 39, 62), fill=skin)
    d.ellipse((21, 3, 43, 25), fill=hair)                         # hair
    d.ellipse((24, 7, 40, 25), fill=skin)                         # face
    d.ellipse((28, 13, 30, 15), fill=(20, 20, 20))
    d.ellipse((34, 13, 36, 15), fill=(20, 20, 20))
    d.arc((28, 16, 36, 22), 20, 160, fill=(150, 40, 40))
    if variant == 1:
        d.line((24, 32, 16, 44), fill=skin, width=3)
        d.line((40, 32, 48, 44), fill=skin, width=3)
    else:
        d.line((24, 32, 8, 26), fill=skin, width=3)
        d.line((40, 32, 56, 26), fill=skin, width=3)
    return img


def rex(variant: int) -> Image.Image:
    """A fluffy white dog seen from the side; variant 2 faces the other way on grass."""
    img, d = _canvas((200, 225, 245) if variant == 1 else (150, 200, 120))
    white, grey, dark = (250, 250, 250), (205, 205, 210), (30, 30, 30)
    d.ellipse((12, 28, 48, 50), fill=white, outline=grey)         # body
    for x in (16, 24, 36, 42):
        d.rectangle((x, 46, x + 4, 58), fill=white, outline=grey)  # legs
    d.ellipse((36, 14, 58, 36), fill=white, outline=grey)         # head
    d.ellipse((36, 14, 44, 30), fill=grey)                        # ear
    d.ellipse((49, 21, 52, 24), fill=dark)                        # eye
    d.ellipse((54, 27, 58, 31), fill=dark)                        # nose
    d.line((12, 34, 4, 24), fill=grey, width=4)                   # tail
    return img if variant == 1 else img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


CHARACTERS: dict[str, Callable[[int], Image.Image]] = {"teddy": teddy, "mia": mia, "rex": rex}


def main() -> None:
    for name, draw in CHARACTERS.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        for variant in (1, 2):
            path = folder / f"{variant}.png"
            draw(variant).save(path, optimize=True)
            print(f"{path.relative_to(OUT.parents[2])}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
