"""A stand-in for the rule's monitors (another component sets these stats): a monitor that
fails, as ``monitors/failed`` (an int) and ``monitors/results`` (a list of dicts)."""

from __future__ import annotations

from typing import Any

from scrapy import signals


class FailingMonitor:
    @classmethod
    def from_crawler(cls, crawler: Any) -> FailingMonitor:
        ext = cls()
        ext.stats = crawler.stats
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.stats.set_value("monitors/failed", 1)
        self.stats.set_value(
            "monitors/results", [{"monitor": "item count", "ok": False, "why": "too few"}]
        )
