"""Slider captchas: where the gap is, and a drag to it that moves as a hand does.

:func:`gap_offset` finds the gap's x offset in the background: the piece (cropped to what is
opaque of it) is matched on edges against the background by ddddocr's ``slide_match`` (OpenCV's
Canny and normalised template matching; no model to load). :func:`drag_track` makes the drag
from 0 to that offset: ease-out with jitter, an overshoot and a settle back, at uneven
intervals, as ``(x, t_ms)`` points; its randomness is seeded, so a captcha always gets the same
track.

>>> track = drag_track(120, seed=7)
>>> track[0], track[-1][0], track == drag_track(120, seed=7)
((0, 0), 120, True)
>>> max(x for x, _ in track) > 120  # the hand went past and came back
True
"""

from __future__ import annotations

import io
import math
import random
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _matcher() -> Any:
    import ddddocr

    return ddddocr.DdddOcr(ocr=False, det=False, show_ad=False)  # the slide engine only


def _opaque(piece: bytes) -> tuple[bytes, int]:
    """The piece cropped to its opaque part (sites often pad it with transparency), and how
    far from its left edge that part starts."""
    from PIL import Image

    image = Image.open(io.BytesIO(piece))
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return piece, 0
    box = image.convert("RGBA").getchannel("A").point(lambda a: 255 if a > 40 else 0).getbbox()
    if box is None:
        return piece, 0
    out = io.BytesIO()
    image.convert("RGBA").crop(box).save(out, format="PNG")
    return out.getvalue(), box[0]


def gap_offset(background: bytes, piece: bytes) -> int:
    """The x offset (pixels of the background) the piece's image must move by to fill the gap:
    the gap's left edge less where the piece's opaque part starts in its image."""
    from PIL import Image

    target, left = _opaque(piece)
    width = Image.open(io.BytesIO(target)).size[0]
    found = _matcher().slide_match(target, background)
    centre = found.get("target_x", found["target"][0])
    return max(0, int(round(centre - width // 2 - left)))


def drag_track(distance: int, *, seed: int | str) -> list[tuple[int, int]]:
    """Points ``(x, t_ms)`` of a drag from 0 to ``distance``: fast at first and slowing down
    (ease-out), a little jitter, a few pixels past the end and back, 12 to 28 ms apart.
    Always at least 10 points, ending exactly on ``distance``."""
    rng = random.Random(f"drag:{seed}:{distance}")
    overshoot = rng.randint(3, 7) if distance > 20 else 0
    duration = rng.uniform(550, 900) + distance * rng.uniform(1.5, 3.0)
    points: list[tuple[int, int]] = [(0, 0)]
    t = 0.0
    rise = rng.uniform(2.5, 4.0)  # the ease-out's sharpness
    while t < duration:
        t += rng.uniform(12, 28)
        progress = min(1.0, t / duration)
        eased = 1 - (1 - progress) ** rise
        x = eased * (distance + overshoot) + rng.uniform(-0.6, 0.6)
        points.append((max(points[-1][0], int(round(x))), int(round(t))))
    # the settle back, slower, then a pause on the spot before letting go
    x = points[-1][0]
    for _ in range(rng.randint(3, 5)):
        t += rng.uniform(25, 60)
        x = max(distance, x - rng.randint(1, 3))
        points.append((x, int(round(t))))
    t += rng.uniform(60, 160)
    points.append((distance, int(round(t))))
    while len(points) < 10:  # a very short drag: dwell on the end
        t += rng.uniform(20, 40)
        points.append((distance, int(round(t))))
    return points


def track_shape(track: list[tuple[int, int]]) -> dict[str, float]:
    """What a site would measure of a track: points, duration (ms), mean and spread of speed
    (px/ms). For tests and logs.

    >>> track_shape([(0, 0), (10, 10), (30, 20)])["points"]
    3
    """
    speeds = [
        (b[0] - a[0]) / (b[1] - a[1]) for a, b in zip(track, track[1:], strict=False) if b[1] > a[1]
    ]
    mean = sum(speeds) / len(speeds) if speeds else 0.0
    spread = math.sqrt(sum((s - mean) ** 2 for s in speeds) / len(speeds)) if speeds else 0.0
    return {
        "points": len(track),
        "duration": track[-1][1] - track[0][1] if track else 0,
        "speed": mean,
        "spread": spread,
    }
