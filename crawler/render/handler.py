"""scrapy-playwright's download handler, with the bounds and the errors the platform wants.

- **Bounded contexts.** A crawl keeps at most ``RENDER_MAX_CONTEXTS`` browser contexts (one per
  proxy, session and user agent: the render middleware names them). When a new one is needed
  at the bound, the least recently used idle context is closed; when none is idle the request
  waits for one (pages are bounded in time, so it does not wait long). A context that served
  ``RENDER_CONTEXT_MAX_PAGES`` pages takes no new one until its pages are done, then is closed
  and made anew, which keeps the browser's memory flat over long crawls.
- **Plain errors.** A page that does not settle raises :class:`RenderTimeoutError` with its
  reason (never retried: the crawl goes on); a network failure in the browser
  (``net::ERR_...``) raises :class:`RenderNetworkError`, a ``ConnectionError``, so the ban
  policy judges it as it judges Scrapy's own (through a proxy: the proxy's failure).
- **Headers.** :func:`browser_headers`: Scrapy's headers for the navigation (user agent,
  cookies, the rule's headers) as scrapy-playwright does, never ``Proxy-Authorization`` (the
  context's proxy authenticates itself; the header would reach the site through a tunnel).

Pinned to scrapy-playwright 0.0.48 internals (``context_wrappers``, the context close
callback): test_contexts_are_bounded_closed_when_idle_and_recycled in
tests/crawler/render/test_render_crawl.py exercises them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from scrapy.http import Request, Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.headers import use_scrapy_headers

from crawler.render.page import RenderTimeoutError

logger = logging.getLogger(__name__)

_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
WAIT_STEP = 0.05


class RenderNetworkError(ConnectionError):
    """The browser could not reach the page (``net::ERR_...``); ``reason`` is the error name."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class RenderBrowserError(Exception):
    """The browser failed the page for another reason (crashed, closed)."""

    reason = "browser_error"


class RenderDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.max_contexts = settings.getint("RENDER_MAX_CONTEXTS")
        self.context_max_pages = settings.getint("RENDER_CONTEXT_MAX_PAGES")
        self.served: Counter[str] = Counter()  # pages per context since it was made
        self.inflight: Counter[str] = Counter()
        self.last_used: dict[str, float] = {}
        self.room = asyncio.Lock()
        logging.getLogger("scrapy-playwright").addFilter(_quiet_failed_pages)

    async def download_request(self, request: Request) -> Response:  # type: ignore[override]
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        name = request.meta.get("playwright_context") or "default"
        await self._make_room(name)
        try:
            return await super().download_request(request)
        except (RenderTimeoutError, RenderNetworkError):
            raise
        except PlaywrightTimeout as exc:
            raise RenderTimeoutError("navigation", _first_line(exc)) from None
        except PlaywrightError as exc:
            found = _NET_ERROR.search(str(exc))
            if found:
                raise RenderNetworkError(found.group(1).lower(), _first_line(exc)) from None
            raise RenderBrowserError(_first_line(exc)) from None
        finally:
            self.inflight[name] -= 1
            self.last_used[name] = time.monotonic()

    async def _make_room(self, name: str) -> None:
        """Reserve a page of context ``name``. One that served its share takes no new page
        until its pages are done, then is closed and made anew; at the bound, the least
        recently used idle context is closed to make room. Waiting happens outside the lock."""
        while not await self._reserve(name):
            await asyncio.sleep(WAIT_STEP)  # a page ends soon: pages are bounded in time

    async def _reserve(self, name: str) -> bool:
        async with self.room:
            while True:
                open_ = set(self.context_wrappers) | {n for n, c in self.inflight.items() if c}
                if name in open_:
                    if self.served[name] < self.context_max_pages:
                        break
                    if self.inflight[name]:
                        return False  # draining before it is recycled
                    await self._close_context(name, "recycled")
                    continue
                if len(open_) < self.max_contexts:
                    break
                idle = [n for n in self.context_wrappers if not self.inflight[n]]
                if not idle:
                    return False
                await self._close_context(
                    min(idle, key=lambda n: self.last_used.get(n, 0.0)), "lru"
                )
            self.inflight[name] += 1
            self.served[name] += 1
            return True

    async def _close_context(self, name: str, why: str) -> None:
        wrapper = self.context_wrappers.get(name)
        self.served.pop(name, None)
        if wrapper is None:
            return
        self.stats.inc_value(f"render/contexts/closed/{why}")
        with contextlib.suppress(PlaywrightError):  # closed already: its close callback ran
            await wrapper.context.close()
        self.context_wrappers.pop(name, None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _quiet_failed_pages(record: logging.LogRecord) -> bool:
    """scrapy-playwright logs each failed page with its traceback; the render middleware counts
    and logs it once per reason, so its own line goes to debug without the traceback."""
    if record.getMessage().startswith("Closing page due to failed request"):
        record.levelno, record.levelname, record.exc_info = logging.DEBUG, "DEBUG", None
        return logging.getLogger("scrapy-playwright").isEnabledFor(logging.DEBUG)
    return True


async def browser_headers(
    *, browser_type_name: str, playwright_request: Any, scrapy_request_data: dict
) -> dict[str, str]:
    headers = await use_scrapy_headers(
        browser_type_name=browser_type_name,
        playwright_request=playwright_request,
        scrapy_request_data=scrapy_request_data,
    )
    return {k: v for k, v in headers.items() if k.lower() != "proxy-authorization"}
