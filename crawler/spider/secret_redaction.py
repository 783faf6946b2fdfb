"""Secret values of a rule crawl (secret arguments, the environment variables the rule refers to)
are replaced by ``***`` in every log line while the crawl runs: a filter on the root logger's
handlers, where Scrapy's own lines (``Crawled (200) <GET ...?key=...>``) pass too.

Items are redacted by the rule spider, run records by the run recorder, fixtures and preview
output by their commands; all use the spider's :class:`vocab.redaction.Redactor`.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals

from crawler.core.log_redaction import RedactingFilter
from crawler.core.switches import off
from crawler.spider.rule_spider import RuleSpider
from crawler.spider.site_group import SiteGroupSpider


class SecretRedaction:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.filter: RedactingFilter | None = None
        self.handlers: list[logging.Handler] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> SecretRedaction:
        if not issubclass(crawler.spidercls, (RuleSpider, SiteGroupSpider)):
            raise off("SecretRedaction", "not a rule crawl")
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def spider_opened(self, spider: Any) -> None:
        redactor = spider.redactor
        if not redactor:
            return
        self.filter = RedactingFilter(redactor)
        self.handlers = list(logging.getLogger().handlers)
        for handler in self.handlers:
            handler.addFilter(self.filter)

    def engine_stopped(self) -> None:
        # after "Dumping Scrapy stats" and "Spider closed": the stats may hold secret URLs
        for handler in self.handlers:
            handler.removeFilter(self.filter)
        self.handlers = []
