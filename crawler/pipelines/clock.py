"""The store pipeline's view of time, so tests can drive it without waiting: real time on
whatever loop Scrapy runs (Twisted reactor or asyncio), or a fake clock in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The pipeline's view of time, so tests can drive it without waiting."""

    def now(self) -> float: ...

    def call_later(self, delay: float, func: Callable[[], object]) -> Cancellable: ...

    def looping_call(self, interval: float, func: Callable[[], object]) -> Cancellable: ...

    async def sleep(self, seconds: float) -> None: ...


class ScrapyClock:
    """Real time, on whatever loop Scrapy runs (Twisted reactor or asyncio)."""

    def now(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, func: Callable[[], object]) -> Cancellable:
        from scrapy.utils.asyncio import call_later

        return call_later(delay, func)

    def looping_call(self, interval: float, func: Callable[[], object]) -> Cancellable:
        from scrapy.utils.asyncio import create_looping_call

        loop = create_looping_call(func)
        loop.start(interval, now=False)

        class _Stop:
            def cancel(self) -> None:
                if loop.running:
                    loop.stop()

        return _Stop()

    async def sleep(self, seconds: float) -> None:
        from scrapy.utils.asyncio import sleep

        await sleep(seconds)
