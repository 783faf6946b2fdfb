"""Time and threads for crawl components, so tests can drive them without waiting (the store
pipeline, run records, distributed leases, anti-ban and captcha waits).

- :func:`sleep`: wait without blocking the crawl's loop.
- :class:`Clock`: now, timers and sleeps on whatever loop Scrapy runs (Twisted reactor or
  asyncio) in :class:`ScrapyClock`; a fake clock in tests.
- lanes (:meth:`Clock.lane`): blocking work (store calls, journal and spill files) runs on a
  thread of its own per lane, in order, off the crawl's event loop, as Scrapy's feed exports do
  with their storage; the result comes back on the loop. A test clock runs them inline.
- :class:`Waiter`: a one-shot result that crawl code can ``await`` (an item pipeline returns one
  from ``process_item`` to hold its item until it is durable).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

#: ``on_done(result, error)``: called on the loop once a lane's job has run.
Done = Callable[[Any, BaseException | None], object]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Lane(Protocol):
    def submit(self, job: Callable[[], Any], on_done: Done) -> None: ...

    def close(self) -> None: ...


class Clock(Protocol):
    """A component's view of time, so tests can drive it without waiting."""

    def now(self) -> float: ...

    def call_later(self, delay: float, func: Callable[[], object]) -> Cancellable: ...

    def looping_call(self, interval: float, func: Callable[[], object]) -> Cancellable: ...

    async def sleep(self, seconds: float) -> None: ...

    def lane(self, name: str) -> Lane: ...


async def sleep(seconds: float) -> None:
    """Wait ``seconds`` on the crawl's loop (the asyncio or the default Twisted reactor)."""
    if seconds > 0:
        from scrapy.utils.asyncio import sleep as loop_sleep

        await loop_sleep(seconds)


class Waiter:
    """A result set once, on the loop; ``await waiter`` returns it (or raises its error)."""

    __slots__ = ("_done", "_error", "_futures", "_result")

    def __init__(self) -> None:
        self._done = False
        self._result: Any = None
        self._error: BaseException | None = None
        self._futures: list[Any] = []

    @property
    def done(self) -> bool:
        return self._done

    def set(self, result: Any = None, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done, self._result, self._error = True, result, error
        futures, self._futures = self._futures, []
        for future in futures:
            if hasattr(future, "callback"):  # a Deferred
                future.callback(None)
            elif not future.done():
                future.set_result(None)

    def __await__(self) -> Generator[Any, None, Any]:
        if not self._done:
            future = _loop_future()
            self._futures.append(future)
            yield from future.__await__()
        if self._error is not None:
            raise self._error
        return self._result


def _loop_future() -> Any:
    from scrapy.utils.asyncio import is_asyncio_available

    if is_asyncio_available():
        import asyncio

        return asyncio.get_running_loop().create_future()
    from twisted.internet.defer import Deferred

    return Deferred()


def _loop_caller() -> Callable[..., object]:
    """A thread-safe way to call a function on the crawl's loop."""
    from scrapy.utils.asyncio import is_asyncio_available

    if is_asyncio_available():
        import asyncio

        return asyncio.get_running_loop().call_soon_threadsafe
    from twisted.internet import reactor

    return reactor.callFromThread


class ThreadLane:
    """Jobs on one thread of their own, in order; results handed back on the crawl's loop."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, job: Callable[[], Any], on_done: Done) -> None:
        call = _loop_caller()

        def back(future: Future) -> None:
            error = future.exception()
            result = None if error is not None else future.result()
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                call(on_done, result, error)

        self._executor.submit(job).add_done_callback(back)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class ScrapyClock:
    """Real time and threads, on whatever loop Scrapy runs (Twisted reactor or asyncio)."""

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
        await sleep(seconds)

    def lane(self, name: str) -> Lane:
        return ThreadLane(name)


async def run_in(lane: Lane, job: Callable[[], Any]) -> Any:
    """Run ``job`` on ``lane`` and wait for its result (its exception is raised here)."""
    waiter = Waiter()
    lane.submit(job, lambda result, error: waiter.set(result, error))
    return await waiter
