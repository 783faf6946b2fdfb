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
from typing import Any

logger = logging.getLogger(__name__)


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


async def _image(page: Any, selector: str) -> tuple[bytes, float]:
    """The image's bytes, fetched as the page would, and its shown width over its own."""
    element = page.locator(selector).first
    src, shown, natural = await element.evaluate(
        "img => [img.currentSrc || img.src, img.getBoundingClientRect().width, img.naturalWidth]"
    )
    answer = await page.context.request.get(src)
    if not answer.ok:
        raise ValueError(f"the slider's image answered {answer.status}")
    return await answer.body(), (shown / natural if natural else 1.0)


async def solve_slider_in_page(
    page: Any,
    *,
    background: str,
    piece: str,
    handle: str,
    seed: Any = None,
) -> int:
    """Drag the slider of ``page`` to its gap (selectors for the background, the piece and the
    handle); the distance dragged, in the page's pixels."""
    from crawler.captcha.slider import drag_track, gap_offset

    back, scale = await _image(page, background)
    cut, _ = await _image(page, piece)
    offset = await asyncio.get_running_loop().run_in_executor(None, gap_offset, back, cut)
    distance = round(offset * scale)
    seed = seed if seed is not None else hashlib.sha1(back).hexdigest()[:12]
    await drag_along(page, handle, drag_track(distance, seed=seed), seed=seed)
    logger.debug("slider on %s dragged %d px", page.url, distance)
    return distance


async def solve_slider_with_settings(page: Any, settings: Any, *, seed: Any = None) -> int:
    """:func:`solve_slider_in_page` with the crawl's settings (the HTTP flow's XPaths and
    ``CAPTCHA_SLIDER_HANDLE_SELECTOR``)."""
    return await solve_slider_in_page(
        page,
        background=element_selector(settings.get("CAPTCHA_SLIDER_BACKGROUND_XPATH")),
        piece=element_selector(settings.get("CAPTCHA_SLIDER_PIECE_XPATH")),
        handle=settings.get("CAPTCHA_SLIDER_HANDLE_SELECTOR"),
        seed=seed,
    )
