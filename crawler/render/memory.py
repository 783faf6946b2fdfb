"""The browser's memory, bounded per crawl.

While pages render, :class:`MemoryWatch` sums the memory of the crawl's child processes
(Playwright's driver and Chromium's browser, renderer, GPU and utility processes: the crawl's
own Python process is not the browser's) every ``CHECK_EVERY`` seconds: their proportional set
size (shared pages counted once, :func:`crawler.render.processes.pss`), as their resident sizes
would count Chromium's shared libraries and buffers once per process. Over
``RENDER_MEMORY_MAX_MB`` it has the download handler close every context with pages open (their
renderers end, their memory is given back): the requests of those pages fail with
:class:`RenderMemoryError` (``render/errors/memory``, never retried, never an item) and the
crawl is told why in one log line (then at debug; ``render/memory/closed`` counts the times).
A page that grows forever is so bounded in memory as it is in time (``RENDER_MAX_WAIT``); the
pages that rendered beside it at that moment fail with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable

from crawler.render.processes import descendants, pss, rss

logger = logging.getLogger(__name__)

CHECK_EVERY = 0.2  # seconds between two looks at the browser's memory
# seconds between two listings of the browser's processes: listing reads one file per process of
# the machine (25 ms on a busy one, 5 s of a 40 s crawl's event loop at every look); in between,
# the processes listed are read (a renderer started meanwhile counts from the next listing)
LIST_EVERY = 1.0
MIB = 1024 * 1024


class RenderMemoryError(Exception):
    """The browser went over ``RENDER_MEMORY_MAX_MB`` while this page was open."""

    reason = "memory"


class MemoryWatch:
    """Looks at the browser's memory while ``busy()`` says pages are open (how many); over the
    bound, awaits ``shed(used_bytes)``, which closes them."""

    def __init__(
        self,
        max_mb: int,
        busy: Callable[[], int],
        shed: Callable[[int], Awaitable[int]],
        stats: object,
    ) -> None:
        self.limit = max_mb * MIB
        self.busy = busy
        self.shed = shed
        self.stats = stats
        self.task: asyncio.Task | None = None
        self.logged = False
        self.peak = 0
        self._pids: list[int] = []
        self._listed = float("-inf")

    def start(self) -> None:
        """Watch from now on (again, if the watch had ended); a bound of 0 watches nothing."""
        if self.limit and (self.task is None or self.task.done()):
            self.task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    def used(self) -> int:
        """The browser's memory, as far as the bound needs it: the summed RSS of its processes
        while that is under the bound (their PSS is never more), their PSS once it is over.
        Reading PSS walks every mapping of every process (about 40 ms for a browser with four
        pages, every look, on the crawl's event loop); RSS is one small read per process."""
        now = time.monotonic()
        if now - self._listed >= LIST_EVERY:
            self._pids, self._listed = descendants(os.getpid()), now
        pids = self._pids
        resident = rss(pids)
        return resident if resident <= self.limit else pss(pids)

    async def _watch(self) -> None:
        while pages := self.busy():
            used = self.used()
            self.peak = max(self.peak, used)
            self.stats.max_value("render/memory/peak_mb", used // MIB)  # type: ignore[attr-defined]
            if used > self.limit:
                # Said and counted first: the failed requests may end the crawl before the
                # contexts are closed.
                self.stats.inc_value("render/memory/closed")  # type: ignore[attr-defined]
                level = logging.DEBUG if self.logged else logging.WARNING
                self.logged = True
                logger.log(
                    level,
                    "the browser used %d MiB, over RENDER_MEMORY_MAX_MB=%d: closing %d page(s) "
                    "and their contexts, their requests failed (render/errors/memory)",
                    used // MIB,
                    self.limit // MIB,
                    pages,
                )
                await self.shed(used)
            await asyncio.sleep(CHECK_EVERY)
