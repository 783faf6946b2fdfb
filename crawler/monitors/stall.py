"""Stall detection: a crawl that makes no progress (no page received, no item scraped) for
``MONITORS_STALL_AFTER`` seconds (a rule's ``monitors: {stall: {after: 20m}}``) is *stalled*: a
host that accepts connections and never answers, a queue held by a lease that never ends.

The time of the last page and item is taken from Scrapy's signals as they happen and checked
every twentieth of the period (at least every second, at most every minute), so the alert
leaves within the period plus one check (20 minutes: within 21). The alert goes through the alert desk (check
``stall``: routed, deduplicated, resolved when the crawl progresses again or the next run ends
without stalling). With ``MONITORS_STALL_STOP`` (``stop: true``) the crawl is closed with the
finish reason ``stalled``: status ``stalled``, exit 9; requests already in flight end within
``DOWNLOAD_TIMEOUT``. Stats: ``stall/detected``, ``stall/idle_seconds``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import signals
from twisted.internet import task, threads

from crawler.core.switches import off
from crawler.monitors.channels import ChannelError, Subject, rule_subject
from crawler.monitors.desk import AlertDesk

logger = logging.getLogger(__name__)

PROGRESS = ("response_received_count", "item_scraped_count")


def subject_of(spider: Any) -> Subject:
    rule = getattr(spider, "rule", None)
    return rule_subject(rule) if rule is not None else Subject(name=spider.name)


def desk_for(settings: Any) -> AlertDesk | None:
    """The alert desk of these settings; None (logged once) when its configuration is broken."""
    try:
        return AlertDesk(settings)
    except (ChannelError, ValueError) as exc:
        logger.error("alerts are off: %s", exc)
        return None


class StallWatch:
    def __init__(self, crawler: Any, after: float, stop: bool) -> None:
        self.crawler = crawler
        self.after = after
        self.stop = stop
        self.every = min(60.0, max(1.0, after / 20))
        self.loop: task.LoopingCall | None = None
        self.last_change = 0.0
        self.stalled = False
        self.spider: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StallWatch:
        after = crawler.settings.getfloat("MONITORS_STALL_AFTER")
        if after <= 0:
            raise off("StallWatch", "the rule's monitors: declare no stall")
        ext = cls(crawler, after, crawler.settings.getbool("MONITORS_STALL_STOP"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.progressed, signal=signals.response_received)
        crawler.signals.connect(ext.progressed, signal=signals.item_scraped)
        return ext

    def progressed(self) -> None:
        self.last_change = time.monotonic()

    def progress(self) -> tuple[int, int]:
        stats = self.crawler.stats
        pages, items = (int(stats.get_value(name) or 0) for name in PROGRESS)
        return pages, items

    def spider_opened(self, spider: Any) -> None:
        self.spider = spider
        self.last_change = time.monotonic()
        self.loop = task.LoopingCall(self.check)
        self.loop.start(self.every, now=False)

    def check(self) -> None:
        now = time.monotonic()
        idle = now - self.last_change
        if self.stalled and idle < self.after:
            self.stalled = False
            logger.info("The crawl progresses again")
            self.report(ok=True)
            return
        if self.stalled or idle < self.after:
            return
        self.stalled = True
        stats = self.crawler.stats
        stats.set_value("stall/detected", 1)
        stats.set_value("stall/idle_seconds", round(idle, 1))
        flight = self._in_flight()
        logger.warning(
            "The crawl is stalled: no page or item for %.0f s (%d page(s), %d item(s) so far%s)%s",
            idle, *self.progress(), flight,
            "; stopping it" if self.stop else "",
        )  # fmt: skip
        self.report(ok=False, idle=idle, flight=flight)
        if self.stop:
            self.crawler.engine.close_spider(self.spider, "stalled")

    def _in_flight(self) -> str:
        try:
            active = self.crawler.engine.downloader.active
        except (AttributeError, RuntimeError):
            return ""
        hosts = sorted({r.url.split("/")[2] for r in active if "//" in r.url})[:5]
        return f"; {len(active)} request(s) in flight to {', '.join(hosts)}" if active else ""

    def report(self, ok: bool, idle: float = 0.0, flight: str = "") -> Any:
        message = "" if ok else (
            f"no page or item for {idle:.0f} s (stall after {self.after:g} s){flight}"
        )  # fmt: skip
        subject = subject_of(self.spider)
        stats = self.crawler.stats
        run_id = stats.get_value("run/id") or stats.get_value("schedule/run_id")
        event = {"event": "stalled", "rule": subject.name, "run_id": run_id,
                 "idle_seconds": round(idle, 1), "stopping": self.stop}  # fmt: skip
        title = f"[crawler] {subject.name}: the crawl is stalled" + (
            ", stopping it" if self.stop else ""
        )
        pages, items = self.progress()
        lines = [f"pages {pages}, items {items}"]

        def send() -> None:
            desk = desk_for(self.crawler.settings)
            if desk is None:
                return
            outcome = desk.report(subject, [{"name": "stall", "ok": ok, "message": message}],
                                  title, event, lines)  # fmt: skip
            for name in outcome.sent:
                stats.inc_value(f"monitors/alerts/{name}/sent")
            for name in outcome.failed:
                stats.inc_value(f"monitors/alerts/{name}/failed")

        return threads.deferToThread(send).addErrback(
            lambda failure: logger.error("stall alert failed: %s", failure.getErrorMessage())
        )

    def spider_closed(self, spider: Any, reason: str) -> Any:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if not self.stalled and reason != "stalled":
            return self.report(ok=True)  # resolves a stall of an earlier run, says nothing else
        return None
