"""A slider solved in Chromium: the handle dragged with Playwright's mouse along the generated
track, which the sample site's own script records and the site judges human."""

from __future__ import annotations

import asyncio

import pytest
from scrapy.settings import Settings

from crawler.captcha.drag import solve_slider_with_settings
from crawler.defaults import render as defaults
from tests.dashboard.browser import CHROMIUM, require_chromium
from tests.sample_site import SampleSite, puzzles


async def drag_through_the_gate(url: str) -> tuple[str, int]:
    from playwright.async_api import async_playwright

    settings = Settings({k: getattr(defaults, k) for k in dir(defaults) if k.isupper()})
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=defaults.RENDER_BROWSER_ARGS
        )
        try:
            page = await browser.new_page()
            await page.goto(url)
            assert await page.title() == "Security check"
            async with page.expect_navigation():
                distance = await solve_slider_with_settings(page, settings, seed=3)
            return await page.locator("h1.name").inner_text(), distance
        finally:
            await browser.close()


def test_a_slider_dragged_in_chromium_along_the_track_opens_the_page():
    require_chromium()
    before = puzzles.STATS.copy()
    with SampleSite(books=1) as site:
        name, distance = asyncio.run(drag_through_the_gate(f"{site.url}/puzzle/slider/item/2.html"))
    assert name == puzzles.item_name("slider", 2)
    assert puzzles.STATS["slider/solved"] - before["slider/solved"] == 1
    assert puzzles.STATS["slider/failed"] == before["slider/failed"]
    assert distance > 0


class Fetched(Exception):
    pass


class FakeElement:
    def __init__(self, src: str) -> None:
        self.src = src
        self.first = self

    async def evaluate(self, script: str) -> list:
        return [self.src, 100, 200]


class FakePage:
    """Just what drag.py's image fetch touches: a fetch raises Fetched, with what it asked."""

    def __init__(self, src: str) -> None:
        self.element = FakeElement(src)
        self.context = self
        self.request = self

    def locator(self, selector: str) -> FakeElement:
        return self.element

    async def get(self, url: str, **kwargs: object) -> object:
        raise Fetched(url, kwargs)


def test_a_slider_image_the_guard_refuses_is_never_fetched():
    from crawler.captcha import drag

    async def refusal(url: str) -> str | None:
        return "private_address" if "10.0.0.1" in url else None

    for src, why in [
        ("http://10.0.0.1/bg.png", "refused \\(private_address\\)"),
        ("file:///etc/passwd", "no http\\(s\\) or data: address"),
    ]:
        with pytest.raises(ValueError, match=why):  # raised before any fetch
            asyncio.run(drag._image(FakePage(src), "xpath=//img", refusal))
    # an allowed one is fetched, never following a redirect
    with pytest.raises(Fetched) as fetched:
        asyncio.run(drag._image(FakePage("http://shop.example/bg.png"), "xpath=//img", refusal))
    url, kwargs = fetched.value.args
    assert url == "http://shop.example/bg.png" and kwargs["max_redirects"] == 0
