"""Image captchas of the sample site's anti-bot gate: text and picture made from a token alone.

Deterministic (a token always gives the same text and the same PNG), drawn with Pillow: four
characters from an alphabet without look-alikes, each turned a little and set at an uneven
height, over a light noisy background with two lines across. Hard enough that an OCR model gets
some wrong, so solvers have failures to count and recover from.

>>> captcha_text("000001") == captcha_text("000001"), len(captcha_text("000002"))
(True, 4)
>>> captcha_png("000001")[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

ALPHABET = "ABCDEFHJKLMNPRTUVWXY2345678"
LENGTH = 4
SIZE = (160, 60)


def captcha_text(token: str) -> str:
    rng = random.Random(f"captcha-text:{token}")
    return "".join(rng.choice(ALPHABET) for _ in range(LENGTH))


@lru_cache(maxsize=1)
def _font(size: int = 34):  # noqa: ANN202
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@lru_cache(maxsize=256)
def captcha_png(token: str) -> bytes:
    from PIL import Image, ImageDraw

    rng = random.Random(f"captcha-image:{token}")
    text = captcha_text(token)
    image = Image.new("RGB", SIZE, (rng.randint(225, 250), rng.randint(225, 250), 240))
    draw = ImageDraw.Draw(image)
    for _ in range(140):  # speckles
        xy = (rng.randrange(SIZE[0]), rng.randrange(SIZE[1]))
        draw.point(xy, fill=(rng.randint(120, 200),) * 3)
    x = 10
    for char in text:
        glyph = Image.new("RGBA", (42, 50), (0, 0, 0, 0))
        colour = (rng.randint(10, 90), rng.randint(10, 90), rng.randint(60, 140), 255)
        ImageDraw.Draw(glyph).text((6, 2), char, font=_font(), fill=colour)
        glyph = glyph.rotate(rng.uniform(-14, 14), resample=Image.BICUBIC, expand=False)
        image.paste(glyph, (x, rng.randint(0, 10)), glyph)
        x += rng.randint(30, 36)
    for _ in range(2):  # lines across
        points = [
            (rng.randint(0, 20), rng.randint(10, 50)),
            (rng.randint(140, 160), rng.randint(10, 50)),
        ]
        draw.line(points, fill=(rng.randint(80, 160),) * 3, width=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
