"""What happens in the browser page of one rendered request: disguised when its ``render:`` asks
for stealth (:mod:`crawler.render.stealth`), its requests guarded
(:mod:`crawler.render.guard`) and resources blocked, XHR/fetch answers captured, the Scrapy
cookie jar handed to the context, then waits and actions within the page's time budget, and a
screenshot at most ``RENDER_SCREENSHOT_MAX_HEIGHT`` pixels tall (and ``MAX_SCREENSHOT_WIDTH``
wide): a page that grows forever gives a bounded picture.

scrapy-playwright calls :func:`crawler.render.tab.prepare_page` (``playwright_page_init_callback``)
before the navigation and :func:`run_page` (a ``PageMethod``) after it. Both find the request's
:class:`RenderState` in its meta; what they produce (captured JSON, screenshot, counts) is kept
there for the render middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from crawler.captcha import SliderSelectors, solve_slider_in_page
from crawler.render.guard import RenderRefused, RequestGuard
from crawler.render.stealth import Disguise
from crawler.rules.sections.render import Action, RenderSpec

logger = logging.getLogger(__name__)

META_STATE = "render_state"
MAX_CAPTURED = 200  # JSON answers kept per page: every input is bounded
MAX_CAPTURED_BYTES = 16 * 1024 * 1024
CAPTURE_TYPES = ("xhr", "fetch")
WATCH_EVERY = 0.5  # seconds between two looks for a ban page while waiting
SLIDER_DRAGS = 2  # drags of a page's slider captchas before it is handed over as it is
SLIDER_WAIT = 10.0  # seconds a dragged slider has to let the page through
MAX_SCREENSHOT_WIDTH = 2048  # pixels: wider pages are cut, as taller ones
_HEIGHT = "() => document.documentElement.scrollHeight"
_SIZE = """() => [
  Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0),
  Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0),
]"""
# The scroll event is also sent at once: a page in a busy browser may get its own late, and the
# listener's request then starts before the page is judged quiet.
_SCROLL = """() => {
  window.scrollTo(0, document.documentElement.scrollHeight);
  window.dispatchEvent(new Event("scroll"));
}"""


class RenderTimeoutError(Exception):
    """A rendered page did not settle in time; ``reason`` names what it was waiting for."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(eq=False)  # hashed by identity: the download handler keeps the open pages in sets
class RenderState:
    """One rendered request, from its page's creation to its response."""

    spec: RenderSpec
    max_wait: float  # seconds for the whole page
    settle: float  # seconds without a pending request that mean "nothing new loads"
    started: float = field(default_factory=time.monotonic)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    captured: list[tuple[int, str, Any]] = field(default_factory=list)  # (order, url, json)
    capture_errors: int = 0
    captured_bytes: int = 0
    blocked: int = 0
    pending: int = 0  # requests of the page in flight
    quiet_since: float = field(default_factory=time.monotonic)
    tasks: list[asyncio.Future] = field(default_factory=list)
    screenshot: bytes | None = None
    actions_done: int = 0
    step: str = "load"  # what the page is doing, for the reason of a timeout
    # (status, url, html) -> a ban or captcha page? Such a page never shows what the rule waits
    # for: it is handed over as it is, for the ban middleware to judge, instead of timing out.
    judge: Callable[[int, str, str], bool] | None = None
    status: int = 200  # of the navigation
    banned: bool = False
    guard: RequestGuard | None = None  # what the page may fetch, and what it was refused
    memory_killed: bool = False  # closed by the memory watch (crawler.render.memory)
    shed: asyncio.Future | None = None  # done when the memory watch closes the page
    screenshot_max_height: int = 10000  # pixels (RENDER_SCREENSHOT_MAX_HEIGHT)
    screenshot_clipped: bool = False
    disguise: Disguise | None = None  # render: {stealth: true} (crawler.render.stealth)
    slider: SliderSelectors | None = None  # a slider the page shows is dragged (local solver)
    slider_drags: int = 0
    slider_passed: int = 0  # drags after which the page was no longer a captcha page
    slider_error: str = ""  # why the last drag could not be made
    devtools: Any = None  # the DevTools session holding the disguise: lives with the tab

    def __post_init__(self) -> None:
        self.patterns = [re.compile(p) for p in self.spec.capture]

    def remaining(self) -> float:
        return self.max_wait - (time.monotonic() - self.started)


async def run_page(page: Page, state: RenderState) -> dict[str, Any]:
    """After navigation: waits, actions, captures and the screenshot, within the time left. A
    page found to be a slider captcha is dragged through (at most :data:`SLIDER_DRAGS`
    times) when the crawl solves sliders itself, then settled again."""
    while True:
        result = await _run_once(page, state)
        if not (result.get("banned") or await _settled_on_a_slider(page, state)):
            return result
        if not await _through_slider(page, state):
            return result
        state.banned = False


def _may_drag(state: RenderState) -> bool:
    return (
        state.slider is not None and state.judge is not None and state.slider_drags < SLIDER_DRAGS
    )


async def _settled_on_a_slider(page: Page, state: RenderState) -> bool:
    """A page that settled (nothing to wait for) but is a slider captcha page: its handle is
    there and the ban policy calls the page a captcha."""
    if not _may_drag(state):
        return False
    assert state.slider is not None and state.judge is not None
    with contextlib.suppress(PlaywrightError):
        if await page.locator(state.slider.handle).count():
            return state.judge(state.status, page.url, await page.content())
    return False


async def _through_slider(page: Page, state: RenderState) -> bool:
    """Drag the slider the page shows to its gap, then wait until the page is no longer a
    captcha page (what the page's script does: post a form, call its API), or shows another
    slider (a failed drag gets a new puzzle: dragged again while drags are left). False when
    there is no slider to drag, or the drag changed nothing."""
    slider, judge = state.slider, state.judge
    if not _may_drag(state) or slider is None or judge is None or not await slider.shown(page):
        return False
    state.step, state.slider_drags = "slider", state.slider_drags + 1
    guard = state.guard

    async def refusal(url: str) -> str | None:
        return await guard.verdict(url, "resource") if guard is not None else None

    puzzle = await _puzzle_of(page, slider)
    try:
        await asyncio.wait_for(
            solve_slider_in_page(page, background=slider.background, piece=slider.piece,
                                 handle=slider.handle, refusal=refusal),
            max(0.1, state.remaining()),
        )  # fmt: skip
    except (ValueError, TimeoutError, PlaywrightError, PlaywrightTimeout) as exc:
        state.slider_error = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return False
    deadline = time.monotonic() + min(SLIDER_WAIT, state.remaining())
    while time.monotonic() < deadline:
        await asyncio.sleep(WATCH_EVERY / 2)
        with contextlib.suppress(PlaywrightError):  # navigating: no content yet
            if not judge(state.status, page.url, await page.content()):
                state.slider_passed += 1
                return True
            if await _puzzle_of(page, slider) not in (None, puzzle):
                return True  # a new puzzle: the drag missed
    return False


async def _puzzle_of(page: Page, slider: SliderSelectors) -> str | None:
    """Which puzzle the page shows: its background image's address (None: none shown)."""
    with contextlib.suppress(PlaywrightError):
        background = page.locator(slider.background)
        if await background.count():
            return await background.first.get_attribute("src")
    return None


async def _run_once(page: Page, state: RenderState) -> dict[str, Any]:
    _refused(state)
    remaining = state.remaining()
    if remaining <= 0:
        raise RenderTimeoutError("load", f"the page did not load within {state.max_wait:g}s")
    if state.status >= 400:
        return {"actions": 0}  # an error page: nothing the rule waits for will come
    settle = asyncio.ensure_future(_settle_page(page, state))
    tasks = {settle}
    if state.judge is not None:
        tasks.add(asyncio.ensure_future(_watch(page, state)))
    done, _ = await asyncio.wait(tasks, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks - done:
        task.cancel()
    await asyncio.gather(*(tasks - done), return_exceptions=True)
    _refused(state)  # it navigated where the rule may not go while it settled
    if settle in done and settle.exception() is None:
        return {"actions": state.actions_done}
    if state.banned:
        return {"actions": state.actions_done, "banned": True}
    if settle in done and not isinstance(settle.exception(), (TimeoutError, PlaywrightTimeout)):
        raise settle.exception()  # type: ignore[misc]
    raise RenderTimeoutError(
        state.step, f"the page did not settle within {state.max_wait:g}s ({state.step})"
    )


def _refused(state: RenderState) -> None:
    if state.guard is not None and state.guard.navigation is not None:
        raise RenderRefused(*state.guard.navigation)


async def _watch(page: Page, state: RenderState) -> None:
    """Return once the page is a ban or captcha page (the judge says so). The first look comes
    after ``WATCH_EVERY``: a page that settles sooner is never read twice (its HTML is the
    response, which the ban middleware judges anyway)."""
    assert state.judge is not None
    while True:
        await asyncio.sleep(WATCH_EVERY)
        with contextlib.suppress(PlaywrightError):
            if state.judge(state.status, page.url, await page.content()):
                state.banned = True
                return


async def _settle_page(page: Page, state: RenderState) -> None:
    spec = state.spec
    if spec.wait_for:
        state.step = "wait_for"
        await page.wait_for_selector(spec.wait_for, state="attached", timeout=_ms(state))
    for action in spec.actions:
        state.step = action.kind
        await ACTIONS[action.kind](page, state, action)
        state.actions_done += 1
    if state.tasks:
        state.step = "capture"
        await quiet(state)
        await asyncio.gather(*state.tasks)
    if spec.screenshot:
        state.step = "screenshot"
        state.screenshot = await screenshot(page, state)


async def screenshot(page: Page, state: RenderState) -> bytes:
    """A full-page PNG of at most ``state.screenshot_max_height`` by ``MAX_SCREENSHOT_WIDTH``
    pixels, from the top left: a taller (or wider) page is cut (``state.screenshot_clipped``)."""
    width, height = await page.evaluate(_SIZE)
    clip = {
        "x": 0,
        "y": 0,
        "width": max(1, min(int(width), MAX_SCREENSHOT_WIDTH)),
        "height": max(1, min(int(height), state.screenshot_max_height)),
    }
    state.screenshot_clipped = height > clip["height"] or width > clip["width"]
    return await page.screenshot(full_page=True, clip=clip, type="png", timeout=_ms(state))


def _ms(state: RenderState) -> float:
    return max(1.0, state.remaining() * 1000)


async def quiet(state: RenderState, grew: Any = None) -> bool:
    """Wait until the page has no request pending for ``state.settle`` seconds (True), or until
    ``grew()`` says something new arrived (False)."""
    step = min(0.05, state.settle / 2)
    begun = time.monotonic()
    while True:
        if grew is not None and await grew():
            return False
        now = time.monotonic()
        if (
            state.pending == 0
            and now - max(state.quiet_since, begun) >= state.settle
            and now - begun >= state.settle
        ):
            return True
        await asyncio.sleep(step)


async def scroll(page: Page, state: RenderState, action: Action) -> None:
    """Scroll to the bottom ``times`` times, stopping early once nothing new loads."""
    for _ in range(action.times):
        await quiet(state)  # what is loading already lands first (a scroll then loads more)
        height = await page.evaluate(_HEIGHT)
        await page.evaluate(_SCROLL)

        async def grew(before: int = height) -> bool:
            return await page.evaluate(_HEIGHT) > before

        if await quiet(state, grew) and not await grew():
            return  # nothing new: the end of the list
        await asyncio.sleep(action.seconds)


async def click(page: Page, state: RenderState, action: Action) -> None:
    """Click the selector ``times`` times; with ``until_end`` (until_gone), while it is there."""
    target = page.locator(action.selector).first
    for _ in range(action.times):
        await quiet(state)
        if action.until_end and not (await target.count() and await target.is_visible()):
            return
        await target.click(timeout=_ms(state))
        await asyncio.sleep(action.seconds)


async def wait(page: Page, state: RenderState, action: Action) -> None:
    await asyncio.sleep(action.seconds)


async def wait_for(page: Page, state: RenderState, action: Action) -> None:
    await page.wait_for_selector(action.selector, state="attached", timeout=_ms(state))


ACTIONS = {"scroll": scroll, "click": click, "wait": wait, "wait_for": wait_for}


def captured_json(state: RenderState) -> list[Any]:
    """The captured JSON answers in the order the page received them."""
    return [body for _, _, body in sorted(state.captured, key=lambda c: c[0])]
