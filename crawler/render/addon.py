"""The switch of rendering: a Scrapy add-on (``ADDONS`` in crawler/settings.py).

With ``RENDER_ENABLED`` (a rule's ``render:`` sets it, or ``-s RENDER_ENABLED=1``) it installs
the browser download handler for http and https (it downloads the requests that do not render
as Scrapy's own handler does), launches Debian's Chromium from ``RENDER_BROWSER_PATH`` with
``RENDER_BROWSER_ARGS`` (never a downloaded browser), bounds contexts and pages, and adds the
render middleware. Without it nothing changes and no browser or driver starts.
"""

from __future__ import annotations

import os

from scrapy.exceptions import NotConfigured, UsageError
from scrapy.settings import BaseSettings

HANDLER = "crawler.render.handler.RenderDownloadHandler"
# After the session (540), proxy (545) and user-agent (548) middlewares, which pick the identity
# a browser context stands for; its responses are read before the ban check (585) sees them.
MIDDLEWARE_ORDER = 587


class BrowserMissing(UsageError):
    """Rendering is asked for and the browser is not there: one line says what to install."""


class Rendering:
    def __init__(self, crawler=None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> Rendering:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.getbool("RENDER_ENABLED"):
            raise NotConfigured  # nothing renders: no browser, no driver, no message
        path = settings.get("RENDER_BROWSER_PATH")
        if not (path and os.access(path, os.X_OK)):
            raise BrowserMissing(
                f"rendering needs Chromium at RENDER_BROWSER_PATH={path!r}: "
                "apt-get install chromium (or `make system-deps`)",
                print_help=False,
            )
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update(http=HANDLER, https=HANDLER)
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="addon")
        launch = {
            "executable_path": path,
            "args": settings.getlist("RENDER_BROWSER_ARGS"),
            "headless": True,
        }
        max_wait_ms = settings.getfloat("RENDER_MAX_WAIT") * 1000
        for name, value in {
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
            "PLAYWRIGHT_MAX_CONTEXTS": settings.getint("RENDER_MAX_CONTEXTS"),
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": settings.getint("RENDER_MAX_PAGES_PER_CONTEXT"),
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": max_wait_ms,
            "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": "crawler.render.handler.browser_headers",
        }.items():
            settings.set(name, value, priority="addon")
        from crawler.render.middleware import RenderMiddleware

        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", RenderMiddleware, MIDDLEWARE_ORDER
        )
