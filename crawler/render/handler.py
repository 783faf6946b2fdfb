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
- **Bounded memory.** :class:`crawler.render.memory.MemoryWatch` closes the contexts with pages
  open when the browser goes over ``RENDER_MEMORY_MAX_MB``; their requests fail with
  :class:`RenderMemoryError` (not retried by scrapy-playwright as a closed target would be).
- **Guarded.** Every context refuses what no page route answers (popups:
  :func:`crawler.render.guard.guard_context`); a page that navigated where the rule may not go
  fails with :class:`crawler.render.guard.RenderRefused` whatever the browser said of it.
- **Tabs reused.** A request renders in an idle tab of its context when there is one
  (:class:`crawler.render.tab.TabPool`): a clean tab goes back to its context after its page,
  at most ``RENDER_MAX_PAGES_PER_CONTEXT`` tabs are open in one, and a new tab is opened only
  when none is idle (``render/tabs/reused`` counts the others).
- **Stealth.** A context made for stealthy pages gets playwright-stealth's evasions once, as an
  init script of the context (:func:`crawler.render.stealth.evasions`); each page then gets the
  context's identity on its DevTools session (:func:`crawler.render.stealth.apply_stealth`).
- **Headers.** :func:`browser_headers`: Scrapy's headers for the navigation (user agent,
  cookies, the rule's headers) as scrapy-playwright does, never ``Proxy-Authorization`` (the
  context's proxy authenticates itself; the header would reach the site through a tunnel).

Pinned to scrapy-playwright 0.0.48 internals (``context_wrappers``, the context close
callback, ``_create_browser_context``, ``_download_request_with_retry``):
test_contexts_are_bounded_closed_when_idle_and_recycled in tests/crawler/render/test_render_crawl.py
and tests/crawler/render/test_render_bounds.py exercise them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections import Counter
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from scrapy.http import Request, Response
from scrapy_playwright.handler import DEFAULT_CONTEXT_NAME, ScrapyPlaywrightDownloadHandler
from scrapy_playwright.headers import use_scrapy_headers

from crawler.render.guard import RenderRefused, guard_context
from crawler.render.memory import MemoryWatch, RenderMemoryError
from crawler.render.page import META_STATE, RenderState, RenderTimeoutError
from crawler.render.processes import kill_renderers
from crawler.render.stealth import STEALTH_CONTEXT_KEY, evasions
from crawler.render.tab import TabPool, reusable

logger = logging.getLogger(__name__)

_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
WAIT_STEP = 0.05
CLOSE_TIMEOUT = 3.0  # seconds for a context the memory watch closes; then its renderers die


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
        self.open_pages: dict[str, set[RenderState]] = {}  # context -> states of its pages
        self.tabs = TabPool(settings.getint("RENDER_MAX_PAGES_PER_CONTEXT"), self._pages_of)
        self.memory = MemoryWatch(
            settings.getint("RENDER_MEMORY_MAX_MB"),
            busy=lambda: sum(map(len, self.open_pages.values())),
            shed=self._shed,
            stats=self.stats,
        )
        logging.getLogger("scrapy-playwright").addFilter(_quiet_failed_pages)

    async def download_request(self, request: Request) -> Response:  # type: ignore[override]
        if not request.meta.get("playwright"):
            return await super().download_request(request)
        name = request.meta.get("playwright_context") or DEFAULT_CONTEXT_NAME
        state = request.meta.get(META_STATE)
        await self._make_room(name)
        pages = self.open_pages.setdefault(name, set())
        if state is not None:
            pages.add(state)
            self.memory.start()
        try:
            return await self._until_shed(super().download_request(request), state)
        except (RenderTimeoutError, RenderNetworkError, RenderMemoryError, RenderRefused):
            raise
        except Exception as exc:
            raise _plain_error(exc, state) from None
        finally:
            pages.discard(state)
            self.inflight[name] -= 1
            self.last_used[name] = time.monotonic()

    async def _until_shed(self, download: Any, state: RenderState | None) -> Response:
        """The download, unless the memory watch closes its page first: then the request fails
        at once, whatever the browser does with the page it was closing (a renderer busy
        growing may take long to let go)."""
        if state is None or not self.memory.limit:
            return await download
        task = asyncio.ensure_future(download)
        state.shed = asyncio.get_running_loop().create_future()
        done, _ = await asyncio.wait({task, state.shed}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, CLOSE_TIMEOUT)
        raise RenderMemoryError(
            "the browser went over RENDER_MEMORY_MAX_MB while the page was open"
        )

    async def _download_request_with_retry(self, request: Request, spider: Any) -> Response:
        """The request in a tab of its context: an idle one when there is one (given back
        clean after the page, or closed: :mod:`crawler.render.tab`), else a new one."""
        meta = request.meta
        state = meta.get(META_STATE)
        if state is not None and state.memory_killed:  # no new page for it: it failed
            raise RenderMemoryError("the browser went over RENDER_MEMORY_MAX_MB")
        if state is None or meta.get("playwright_include_page") or meta.get("playwright_page"):
            return await super()._download_request_with_retry(request, spider)
        name = meta.setdefault("playwright_context", DEFAULT_CONTEXT_NAME)
        page = await self.tabs.take(name)
        if page is not None:
            self.stats.inc_value("render/tabs/reused")
            meta["playwright_page"] = page
        meta["playwright_include_page"] = True  # the tab outlives the request
        clean = False
        try:
            response = await super()._download_request_with_retry(request, spider)
            clean = reusable(state)
            return response
        finally:
            del meta["playwright_include_page"]
            await self.tabs.give_back(name, meta.pop("playwright_page", None), clean)

    async def _create_page(self, request: Request, spider: Any) -> Any:
        try:
            return await super()._create_page(request, spider)
        finally:
            self.tabs.opened(request.meta.get("playwright_context") or DEFAULT_CONTEXT_NAME)

    def _pages_of(self, name: str) -> int:
        wrapper = self.context_wrappers.get(name)
        return len(wrapper.context.pages) if wrapper is not None else 0

    async def _create_browser_context(
        self, name: str, context_kwargs: dict | None, spider: Any = None
    ) -> Any:
        kwargs = dict(context_kwargs or {})
        disguise = kwargs.pop(STEALTH_CONTEXT_KEY, None)
        wrapper = await super()._create_browser_context(name, kwargs, spider)
        await guard_context(wrapper.context, self.stats)
        if disguise is not None:  # every page of the context: once here, not once a page
            await wrapper.context.add_init_script(evasions(disguise))
        return wrapper

    async def _shed(self, used: int) -> int:
        """Close every context with pages open (the memory watch found the browser too big);
        their pages' requests fail with RenderMemoryError."""
        closed = 0
        async with self.room:
            for name, states in list(self.open_pages.items()):
                if not states:
                    continue
                for state in states:
                    state.memory_killed = True
                    if state.shed is not None and not state.shed.done():
                        state.shed.set_result(used)  # its request fails now
                closed += len(states)
                try:
                    await asyncio.wait_for(self._close_context(name, "memory"), CLOSE_TIMEOUT)
                except TimeoutError:
                    # A renderer too busy (growing, collecting garbage) to let its context
                    # close: its pages crash, and the close goes on.
                    killed = kill_renderers(os.getpid())
                    self.stats.inc_value("render/memory/renderers_killed", killed)
                    self.context_wrappers.pop(name, None)
        return closed

    async def close(self) -> None:  # type: ignore[override]
        await self.memory.stop()
        await super().close()

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
        self.tabs.forget(name)
        if wrapper is None:
            return
        self.stats.inc_value(f"render/contexts/closed/{why}")
        with contextlib.suppress(PlaywrightError):  # closed already: its close callback ran
            await wrapper.context.close()
        self.context_wrappers.pop(name, None)


def _plain_error(exc: BaseException, state: RenderState | None) -> BaseException:
    """What a failed page is, for the middlewares and the spider: the guard's and the memory
    watch's word first, then the browser's."""
    if state is not None and state.guard is not None and state.guard.navigation is not None:
        reason, url = state.guard.navigation
        return RenderRefused(reason, url)
    if state is not None and state.memory_killed:
        return RenderMemoryError(
            f"the browser went over RENDER_MEMORY_MAX_MB while the page was open ({exc!s:.200})"
        )
    if isinstance(exc, PlaywrightTimeout):
        return RenderTimeoutError("navigation", _first_line(exc))
    if isinstance(exc, PlaywrightError):
        found = _NET_ERROR.search(str(exc))
        if found:
            return RenderNetworkError(found.group(1).lower(), _first_line(exc))
        return RenderBrowserError(_first_line(exc))
    return exc


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
    """scrapy-playwright's headers, but Scrapy's go only to the page's own navigation: a later
    one (a form the page posts, a link it follows) keeps the browser's headers, as a
    sub-resource does (scrapy-playwright would send a posted form with the first GET's headers,
    without its Content-Type: the site reads no form)."""
    data = scrapy_request_data
    if playwright_request.is_navigation_request() and not _first_navigation(
        playwright_request, data
    ):
        headers = await playwright_request.all_headers()
        agent = data["headers"].get("User-Agent")
        if agent:
            headers["user-agent"] = agent.decode("latin-1")
    else:
        headers = await use_scrapy_headers(
            browser_type_name=browser_type_name,
            playwright_request=playwright_request,
            scrapy_request_data=data,
        )
    return {k: v for k, v in headers.items() if k.lower() != "proxy-authorization"}


def _first_navigation(playwright_request: Any, data: dict) -> bool:
    """Whether this is the navigation the Scrapy request asked for (its URL and method)."""
    return (
        playwright_request.url.rstrip("/") == str(data["url"]).rstrip("/")
        and playwright_request.method.upper() == str(data["method"]).upper()
    )
