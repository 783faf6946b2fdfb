"""The tab pool's bookkeeping (crawler.render.tab.TabPool) with stand-in tabs: the bound of tabs
open in a context, clean tabs given back and unclean ones closed, closed tabs never handed out,
idle tabs closed after a while. The browser side is tested by test_render_tabs.py."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Error as PlaywrightError

from crawler.render import tab as tabs
from crawler.render.tab import Tab, TabPool


class FakePage:
    def __init__(self, fail: bool = False) -> None:
        self.closed = False
        self.fail = fail  # the page went away: clearing it fails
        self.cleared = 0

    def is_closed(self) -> bool:
        return self.closed

    async def close(self) -> None:
        self.closed = True

    async def evaluate(self, script: str) -> None:
        if self.fail:
            raise PlaywrightError("Target page, context or browser has been closed")
        self.cleared += 1


class FakeSession:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, method: str, params: dict | None = None) -> dict:
        self.sent.append(method)
        return {}


def known(page: FakePage) -> Tab:
    tab = Tab(page, FakeSession(), state=None)  # type: ignore[arg-type]
    tabs._TABS[page] = tab  # type: ignore[index]
    return tab


def test_the_pool_bounds_its_tabs_reuses_clean_ones_and_closes_the_others():
    async def scenario() -> None:
        open_pages: list[FakePage] = []
        pool = TabPool(2, lambda name: sum(not p.closed for p in open_pages))

        async def opened() -> FakePage:
            assert await pool.take("c") is None  # room for a new tab: counted until opened
            page = FakePage()
            open_pages.append(page)
            known(page)
            pool.opened("c")
            return page

        first, second = await opened(), await opened()
        waiting = asyncio.ensure_future(pool.take("c"))  # at the bound: it waits
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await pool.give_back("c", first, clean=True)
        assert await asyncio.wait_for(waiting, 1) is first  # the clean tab, reused
        assert (
            first.cleared == 1 and "Page.resetNavigationHistory" in tabs._TABS[first].devtools.sent
        )
        await pool.give_back("c", second, clean=False)  # a tab that failed: closed
        assert second.closed
        assert await pool.take("c") is None  # its place is free again
        pool.opened("c")
        broken = FakePage(fail=True)
        known(broken)
        await pool.give_back("c", broken, clean=True)  # clearing failed: closed, not kept
        assert broken.closed and broken not in pool.idle.get("c", [])
        stranger = FakePage()  # a tab never set up (its preparation failed): not known clean
        await pool.give_back("c", stranger, clean=True)
        assert stranger.closed and stranger not in pool.idle.get("c", [])
        await pool.give_back("c", first, clean=True)
        first.closed = True  # closed with its context meanwhile: never handed out
        assert await pool.take("c") is None

    asyncio.run(scenario())


def test_garbage_is_collected_every_few_pages_and_idle_tabs_are_closed(monkeypatch):
    monkeypatch.setattr(tabs, "IDLE_CLOSE", 0.2)

    async def scenario() -> None:
        pool = TabPool(4, lambda name: 0)
        page = FakePage()
        tab = known(page)
        for _ in range(tabs.COLLECT_EVERY):
            await pool.give_back("c", page, clean=True)
            assert await pool.take("c") is page
        assert tab.devtools.sent.count("HeapProfiler.collectGarbage") == 1
        await pool.give_back("c", page, clean=True)
        await asyncio.sleep(0.1)
        assert await pool.take("c") is page and not page.closed  # taken before its time
        await pool.give_back("c", page, clean=True)
        await asyncio.sleep(0.4)
        assert page.closed and pool.idle["c"] == []  # idle too long: closed
        other = FakePage()
        known(other)
        await pool.give_back("gone", other, clean=True)
        pool.forget("gone")  # its context was closed
        assert "gone" not in pool.idle

    asyncio.run(scenario())


@pytest.mark.parametrize("actions, drags, banned, reusable", [
    ((), 0, False, True),
    (("click",), 0, False, False),
    ((), 1, False, False),
    ((), 0, True, False),
])  # fmt: skip
def test_only_a_tab_that_ran_no_action_or_drag_and_was_no_ban_page_is_reused(
    actions, drags, banned, reusable
):
    from crawler.render.page import RenderState
    from crawler.rules.sections.render import RenderSpec

    state = RenderState(RenderSpec(actions=actions), max_wait=1.0, settle=0.1)
    state.slider_drags, state.banned = drags, banned
    assert tabs.reusable(state) is reusable
    assert tabs.reusable(None) is False
