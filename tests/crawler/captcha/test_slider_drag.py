"""A slider solved in Chromium: the handle dragged with Playwright's mouse along the generated
track, which the sample site's own script records and the site judges human."""

from __future__ import annotations

import asyncio

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
