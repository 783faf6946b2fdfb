"""Debian's Chromium driven by Playwright for Python (its bundled driver; no browser is ever
downloaded): how the browser tests and the screenshot script open the dashboard, the rendering
and captcha tests' skip when Chromium is missing, and the watch every dashboard page is under for
Content-Security-Policy violations (the service sends a strict policy: the dashboard must work
within it)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


# Reported to the page's console as "csp-violation ..." by a listener every page gets first.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`csp-violation ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def watch_csp(page: Any, problems: list[str]) -> None:
    """Every Content-Security-Policy violation on ``page`` goes into ``problems``: the browser's
    own console message ("Refused to ... because it violates the following Content Security
    Policy directive") and the page's ``securitypolicyviolation`` events."""
    page.add_init_script(_CSP_LISTENER)

    def console(message: Any) -> None:
        text = message.text
        if text.startswith("csp-violation") or "Content Security Policy" in text:
            problems.append(f"CSP: {text[:300]}")

    page.on("console", console)
