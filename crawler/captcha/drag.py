"""A slider captcha solved in a rendered page: the gap found in the page's own images, and the
handle dragged there with Playwright's mouse along a human-like track.

:func:`solve_slider_in_page` takes a Playwright page (scrapy-playwright's, or any) showing a
slider: it fetches the background and the piece through the page's context (its cookies, its
proxy), finds the gap (:func:`crawler.captcha.slider.gap_offset`), scales the offset to the size
the page shows the background at, and :func:`drag_along` presses the handle, moves along
:func:`crawler.captcha.slider.drag_track` at the track's own pace (with a little vertical
drift, as a hand has) and lets go. What the page does then (post a form, call its API) is the
page's; the caller waits for it as for any action. The elements are found with the same
settings as the HTTP flow's (the XPaths without their ``/@src``) and
``CAPTCHA_SLIDER_HANDLE_SELECTOR``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

IMAGE_MAX_BYTES = 4 * 1024 * 1024  # a slider's background or piece
IMAGE_TIMEOUT_MS = 10_000
# Why an address may not be fetched (the rendered page's guard), or None.
Refusal = Callable[[str], Awaitable[str | None]]


def element_selector(xpath: str) -> str:
    """A Playwright selector for the element an image-URL XPath names.

    >>> element_selector("//form//img[@class='bg']/@src")
    "xpath=//form//img[@class='bg']"
    """
    return "xpath=" + xpath.removesuffix("/@src")


async def drag_along(page: Any, handle: str, track: list[tuple[int, int]], *, seed: Any) -> None:
    """Press ``handle`` near its middle, move along ``track`` (``(x, t_ms)`` from the press)
    at its pace, and let go."""
    rng = random.Random(f"hand:{seed}")
    box = await page.locator(handle).first.bounding_box()
    if box is None:
        raise ValueError(f"the slider's handle {handle!r} is not shown")
    x0 = box["x"] + box["width"] * rng.uniform(0.35, 0.65)
    y0 = box["y"] + box["height"] * rng.uniform(0.35, 0.65)
    await page.mouse.move(x0 - rng.uniform(20, 60), y0 + rng.uniform(-15, 15), steps=5)
    await page.mouse.move(x0, y0, steps=4)
    await asyncio.sleep(rng.uniform(0.08, 0.2))
    await page.mouse.down()
    drift, last = 0.0, 0
    for x, t in track[1:]:
        await asyncio.sleep(max(0, t - last) / 1000)
        last = t
        drift = max(-3.0, min(3.0, drift + rng.uniform(-0.6, 0.6)))
        await page.mouse.move(x0 + x, y0 + drift)
    await asyncio.sleep(rng.uniform(0.05, 0.15))
    await page.mouse.up()


async def _image(page: Any, selector: str, refusal: Refusal | None) -> tuple[bytes, float]:
    """The image's bytes, fetched as the page would (its context's cookies and proxy; never a
    redirect, and only where ``refusal`` finds nothing wrong), and its shown width over its own."""
    element = page.locator(selector).first
    src, shown, natural = await element.evaluate(
        "img => [img.currentSrc || img.src, img.getBoundingClientRect().width, img.naturalWidth]"
    )
    if not isinstance(src, str) or not src.startswith(("http://", "https://", "data:")):
        raise ValueError("the slider's image has no http(s) or data: address")
    why = await refusal(src) if refusal is not None and not src.startswith("data:") else None
    if why is not None:
        raise ValueError(f"the slider's image is refused ({why})")
    answer = await page.context.request.get(src, max_redirects=0, timeout=IMAGE_TIMEOUT_MS)
    if not answer.ok:
        raise ValueError(f"the slider's image answered {answer.status}")
    body = await answer.body()
    if len(body) > IMAGE_MAX_BYTES:
        raise ValueError(f"the slider's image is over {IMAGE_MAX_BYTES} bytes")
    return body, (shown / natural if natural else 1.0)


async def solve_slider_in_page(
    page: Any,
    *,
    background: str,
    piece: str,
    handle: str,
    seed: Any = None,
    refusal: Refusal | None = None,
) -> int:
    """Drag the slider of ``page`` to its gap (selectors for the background, the piece and the
    handle); the distance dragged, in the page's pixels. ``refusal`` judges the images'
    addresses before they are fetched (a crawl's rendered page: its guard)."""
    from crawler.captcha.slider import drag_track, gap_offset

    back, scale = await _image(page, background, refusal)
    cut, _ = await _image(page, piece, refusal)
    offset = await asyncio.get_running_loop().run_in_executor(None, gap_offset, back, cut)
    distance = round(offset * scale)
    seed = seed if seed is not None else hashlib.sha1(back).hexdigest()[:12]
    await drag_along(page, handle, drag_track(distance, seed=seed), seed=seed)
    logger.debug("slider on %s dragged %d px", page.url, distance)
    return distance


@dataclass(frozen=True)
class SliderSelectors:
    """Where a slider is in a page: its background, its piece and the handle to drag."""

    background: str
    piece: str
    handle: str

    @classmethod
    def from_settings(cls, settings: Any) -> SliderSelectors:
        """The HTTP flow's XPaths (without their ``/@src``) and ``CAPTCHA_SLIDER_HANDLE_SELECTOR``."""
        return cls(
            element_selector(settings.get("CAPTCHA_SLIDER_BACKGROUND_XPATH")),
            element_selector(settings.get("CAPTCHA_SLIDER_PIECE_XPATH")),
            settings.get("CAPTCHA_SLIDER_HANDLE_SELECTOR"),
        )

    @classmethod
    def for_crawl(cls, settings: Any) -> SliderSelectors | None:
        """The selectors when the crawl solves sliders itself (the slider's solver is the local
        one, ``ocr``): a rendered page showing one then drags it. None otherwise."""
        kinds = settings.getdict("CAPTCHA_KIND_SOLVERS")
        if (kinds.get("slider") or settings.get("CAPTCHA_SOLVER")) != "ocr":
            return None
        return cls.from_settings(settings)

    async def shown(self, page: Any) -> bool:
        """Whether ``page`` shows this slider now (its handle and both images)."""
        for selector in (self.handle, self.background, self.piece):
            if not await page.locator(selector).count():
                return False
        return True


async def solve_slider_with_settings(page: Any, settings: Any, *, seed: Any = None) -> int:
    """:func:`solve_slider_in_page` with the crawl's settings (:class:`SliderSelectors`)."""
    where = SliderSelectors.from_settings(settings)
    return await solve_slider_in_page(
        page, background=where.background, piece=where.piece, handle=where.handle, seed=seed
    )
