"""Browser tabs, reused by the successive rendered requests of one context.

Opening a tab costs Chromium more than loading a page in it: a renderer process starts, and the
page's DevTools session, disguise, guard and listeners are set up again. So a tab that rendered a
page cleanly goes back to its context's :class:`TabPool` and the next request of that context
navigates it (the same bound of ``RENDER_MAX_PAGES_PER_CONTEXT`` tabs open at once). What stays
with a tab is what a context shares anyway (cookies, storage, the disguise); what belongs to a
tab alone is cleared when it is given back: its session storage, ``window.name`` and its
history (so a page sees the history of a fresh tab: where it came from, never where the crawl
went). A tab that ran actions or drags, failed, or was judged a ban page is closed instead; an
idle tab is closed after :data:`IDLE_CLOSE` seconds (its last page stops running).

scrapy-playwright calls :func:`prepare_page` (``playwright_page_init_callback``) before each
navigation: a new tab is set up once (DevTools session, disguise, guard, listeners), a reused one
is bound to its new request (its guard's route goes back in front of scrapy-playwright's, which
that library makes anew for each request). Its handlers read the request now on the tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from crawler.core.addresses import AddressPolicy
from crawler.render.guard import RequestGuard, guard_page
from crawler.render.page import (
    CAPTURE_TYPES,
    MAX_CAPTURED,
    MAX_CAPTURED_BYTES,
    META_STATE,
    RenderState,
)
from crawler.render.stealth import apply_stealth

logger = logging.getLogger(__name__)

IDLE_CLOSE = 5.0  # seconds an idle tab stays open for the next request of its context
# A reused tab's renderer keeps the garbage of the pages it showed until V8 collects it; every
# this many pages it is collected when the tab is given back (memory stays that of fresh tabs).
COLLECT_EVERY = 4
WAIT_STEP = 0.05  # seconds between two looks for a free tab at the bound
_CLEAR = "() => { try { sessionStorage.clear(); } catch (e) {} window.name = ''; }"


class Tab:
    """A tab's own set-up, and the request now rendered in it."""

    def __init__(self, page: Page, devtools: Any, state: RenderState) -> None:
        self.page = page
        self.devtools = devtools
        self.state = state
        self.route: Callable[..., Any] | None = None  # the guard's route handler
        self.counting = False  # request/finished listeners (waits for a quiet page)
        self.capturing = False  # the response listener of captured XHR/fetch answers
        self.idle_since = 0.0
        self.uses = 0

    def current(self) -> RenderState:
        return self.state

    def started(self, _: Any) -> None:
        self.state.pending += 1

    def finished(self, _: Any) -> None:
        self.state.pending = max(0, self.state.pending - 1)
        self.state.quiet_since = time.monotonic()

    def navigated(self, response: Any) -> None:
        with contextlib.suppress(PlaywrightError):
            if response.request.is_navigation_request() and response.frame == self.page.main_frame:
                self.state.status = response.status

    def captured(self, response: Any) -> None:
        _maybe_capture(self.state, response)


_TABS: weakref.WeakKeyDictionary[Page, Tab] = weakref.WeakKeyDictionary()


def reusable(state: RenderState | None) -> bool:
    """Whether the tab of this finished request may render another page: it ran no action and
    no drag (a clicked page may hold a leave-page dialog) and was not a ban page."""
    return (
        state is not None
        and not state.spec.actions
        and not state.slider_drags
        and not state.banned
        and not state.memory_killed
    )


async def prepare_page(page: Page, request: Any) -> None:
    """Before navigation: guard the page's requests and block resources, listen for captures and
    pending requests, and give the context the cookies Scrapy sends (so the page's own requests
    carry them too). A page whose guard cannot be set up is closed: it never navigates."""
    state: RenderState = request.meta[META_STATE]
    try:
        await _prepare(page, request, state)
    except Exception as exc:  # scrapy-playwright would log it and navigate anyway
        logger.debug("could not prepare the page of %s: %s", request.url, exc)
        with contextlib.suppress(PlaywrightError):
            await page.close()


async def _prepare(page: Page, request: Any, state: RenderState) -> None:
    if state.memory_killed:
        await page.close()  # a retry of a page the memory watch closed: it failed
        return
    if state.guard is None:  # not made by the render middleware: the page's own host only
        state.guard = RequestGuard.for_page(request.url, (), (), AddressPolicy.for_urls([]))
    tab = _TABS.get(page)
    if tab is None:
        # One DevTools session of the tab holds its disguise and its guard (the disguise lasts
        # as long as the session: kept with the tab)
        tab = Tab(page, await page.context.new_cdp_session(page), state)
        if state.disguise is not None:
            await apply_stealth(tab.devtools, state.disguise)
        tab.route = await guard_page(page, tab.devtools, tab.current)
        page.on("response", tab.navigated)
        _TABS[page] = tab
    else:
        tab.state = state
        await page.unroute("**/*", tab.route)  # back in front of scrapy-playwright's new route
        await page.route("**/*", tab.route)
    state.devtools = tab.devtools
    if (state.spec.actions or state.patterns) and not tab.counting:  # quiet() waits on them
        page.on("request", tab.started)
        page.on("requestfinished", tab.finished)
        page.on("requestfailed", tab.finished)
        tab.counting = True
    if state.patterns and not tab.capturing:
        page.on("response", tab.captured)
        tab.capturing = True
    cookies = _cookies(request)
    if cookies:
        await page.context.add_cookies(cookies)


def _maybe_capture(state: RenderState, response: Any) -> None:
    if not state.patterns or response.request.resource_type not in CAPTURE_TYPES:
        return
    if not any(p.search(response.url) for p in state.patterns):
        return
    order = len(state.tasks)
    if order >= MAX_CAPTURED:
        return
    state.tasks.append(asyncio.ensure_future(_read_json(state, order, response)))


async def _read_json(state: RenderState, order: int, response: Any) -> None:
    try:
        body = await response.body()
        if state.captured_bytes + len(body) > MAX_CAPTURED_BYTES:
            state.capture_errors += 1
            return
        state.captured_bytes += len(body)
        state.captured.append((order, response.url, json.loads(body)))
    except (PlaywrightError, ValueError):
        state.capture_errors += 1  # not JSON, or the page went away first


def _cookies(request: Any) -> list[dict[str, str]]:
    header = request.headers.get(b"Cookie")
    if not header:
        return []
    jar: SimpleCookie = SimpleCookie()
    with contextlib.suppress(Exception):
        jar.load(header.decode("latin-1"))
    return [{"name": k, "value": m.value, "url": request.url} for k, m in jar.items()]


class TabPool:
    """The idle tabs of each context, and the bound of ``per_context`` tabs open at once in one
    (counted from the context's own list of pages, and the tabs being opened)."""

    def __init__(self, per_context: int, pages_of: Callable[[str], int]) -> None:
        self.per_context = per_context
        self.pages_of = pages_of  # context name -> its open pages
        self.idle: dict[str, list[Page]] = {}
        self.opening: Counter[str] = Counter()

    async def take(self, name: str) -> Page | None:
        """An idle tab of context ``name``, or None once one may be opened (counted in
        ``opening`` until :meth:`opened`)."""
        while True:
            tabs = self.idle.get(name)
            while tabs:
                page = tabs.pop()
                if not page.is_closed():
                    return page
            if self.pages_of(name) + self.opening[name] < self.per_context:
                self.opening[name] += 1
                return None
            await asyncio.sleep(WAIT_STEP)  # a tab is given back or closed soon: pages end

    def opened(self, name: str) -> None:
        self.opening[name] = max(0, self.opening[name] - 1)

    def forget(self, name: str) -> None:
        """Context ``name`` is closed, and its tabs with it."""
        self.idle.pop(name, None)

    async def give_back(self, name: str, page: Page | None, clean: bool) -> None:
        """A finished request's tab: kept for the next request of its context when ``clean``
        (what belongs to the tab alone cleared), closed otherwise."""
        if page is None or page.is_closed():
            return
        tab = _TABS.get(page)
        if not (clean and tab is not None and await _cleared(tab)):  # never set up: not clean
            with contextlib.suppress(PlaywrightError):
                await page.close()
            return
        tab.idle_since = time.monotonic()
        self.idle.setdefault(name, []).append(page)
        asyncio.get_running_loop().call_later(IDLE_CLOSE, self._close_if_idle, name, tab)

    def _close_if_idle(self, name: str, tab: Tab) -> None:
        tabs = self.idle.get(name, [])
        if tab.page in tabs and time.monotonic() - tab.idle_since >= IDLE_CLOSE * 0.99:
            tabs.remove(tab.page)
            asyncio.ensure_future(_close(tab.page))


async def _cleared(tab: Tab) -> bool:
    """Clear what belongs to the tab alone (and collect its garbage every few pages); False when
    the tab went away meanwhile."""
    tab.uses += 1
    try:
        await tab.page.evaluate(_CLEAR)
        await tab.devtools.send("Page.resetNavigationHistory")
        if tab.uses % COLLECT_EVERY == 0:
            await tab.devtools.send("HeapProfiler.collectGarbage")
    except PlaywrightError:
        return False
    return True


async def _close(page: Page) -> None:
    with contextlib.suppress(Exception):  # closed already, or the browser is gone
        await page.close()
