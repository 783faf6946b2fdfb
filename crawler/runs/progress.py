"""Progress: one line every ``PROGRESS_INTERVAL`` seconds (10; 0 turns it off) while a crawl
runs, in place of Scrapy's once-a-minute LogStats::

    Progress: 120 pages (45.0/min), 110 items (40.0/min), 3 errors (2 failed requests), 0 bans,
    35 queued, 4 in flight; ETA 0:01:12 (443 pages expected: last run)

Its figures are the run record's (crawler/runs/figures.py: ``errors`` counts failed requests,
spider exceptions and other ERROR lines once each). The ETA is shown when a total is known
(:func:`crawler.runs.figures.expected_total`): ``CLOSESPIDER_PAGECOUNT`` or
``CLOSESPIDER_ITEMCOUNT``, else the page count of the rule's last finished run (stat
``run/expected_pages``, which the run recorder looks up at start).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.core.switches import off
from crawler.runs.figures import eta_seconds, expected_total, live_counters
from crawler.runs.recorder import queued_requests

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def eta(done: int, total: int, elapsed: float) -> str | None:
    """``H:MM:SS`` left at the rate of the ``elapsed`` seconds so far, or None when it cannot
    be told.

    >>> eta(100, 400, 10.0), eta(0, 400, 10.0), eta(500, 400, 10.0)
    ('0:00:30', None, None)
    """
    left = eta_seconds(done, total, elapsed)
    if left is None:
        return None
    seconds = int(left)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def requests_in_flight(crawler: Any) -> int | None:
    """Requests the downloader is fetching (None before the engine exists)."""
    try:
        return len(crawler.engine.downloader.active)
    except (AttributeError, RuntimeError):  # Scrapy raises RuntimeError before the engine is set
        return None


class Progress:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        settings = crawler.settings
        self.page_limit = settings.getint("CLOSESPIDER_PAGECOUNT")
        self.item_limit = settings.getint("CLOSESPIDER_ITEMCOUNT")
        self._loop: Any = None
        self._started = 0.0
        self._last = (0.0, 0, 0)  # time, pages, items at the last line

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise off("Progress", "PROGRESS_INTERVAL is 0")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        from scrapy.utils.asyncio import create_looping_call

        self._started = time.monotonic()
        self._last = (self._started, 0, 0)
        self._loop = create_looping_call(self.log)
        self._loop.start(self.interval, now=False)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def line(self) -> str:
        stats = self.crawler.stats.get_stats()
        counters = live_counters(stats)
        now = time.monotonic()
        pages, items = counters["pages"], counters["items"]
        then, last_pages, last_items = self._last
        self._last = (now, pages, items)
        minutes = max(now - then, 1e-6) / 60
        parts = [
            f"{pages} pages ({(pages - last_pages) / minutes:.1f}/min)",
            f"{items} items ({(items - last_items) / minutes:.1f}/min)",
            f"{counters['errors']} errors ({counters['request_errors']} failed requests)",
            f"{counters['bans']} bans",
        ]
        queued = queued_requests(self.crawler)
        if queued is not None:
            parts.append(f"{queued} queued")
        in_flight = requests_in_flight(self.crawler)
        if in_flight is not None:
            parts.append(f"{in_flight} in flight")
        text = "Progress: " + ", ".join(parts)
        left = self._eta(stats, pages, items, now)
        return f"{text}; ETA {left}" if left else text

    def _eta(self, stats: dict[str, Any], pages: int, items: int, now: float) -> str | None:
        elapsed = now - self._started
        expected = expected_total(stats, self.page_limit, self.item_limit)
        if elapsed <= 0 or expected is None:
            return None
        done = expected.done(pages, items)
        left = eta(done, expected.total, elapsed)
        if not left:
            return None
        what = "pages expected" if expected.source == "last run" else expected.unit
        return f"{left} ({expected.total} {what}: {expected.source})"

    def log(self) -> None:
        try:
            logger.info("%s", self.line())
        except Exception:  # a looping call stops for good on an exception
            logger.debug("progress line failed", exc_info=True)
