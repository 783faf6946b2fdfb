"""Debian's Chromium driven by Playwright for Python (its bundled driver; no browser is ever
downloaded): how the browser tests and the screenshot script open the dashboard, and the
rendering and captcha tests' skip when Chromium is missing."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crawler.defaults.render import RENDER_BROWSER_ARGS, RENDER_BROWSER_PATH

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser

CHROMIUM = Path(RENDER_BROWSER_PATH)  # the crawler's own browser and flags (crawler/render)
MISSING = "/usr/bin/chromium is not installed (apt-get install chromium; .ci/system-deps does it)"
VIEWPORT = {"width": 1280, "height": 900}


def require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(MISSING)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=RENDER_BROWSER_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
