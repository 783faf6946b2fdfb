"""Incremental crawls: pages of ``fetch: once`` page types are fetched once across runs.

A spider middleware drops requests for such pages when the seen-URL state
(:mod:`crawler.distributed.seen`) says an earlier run fetched them, unless that fetch is older
than the page type's ``refresh_after``. Page types left at ``fetch: every`` (lists, the default)
are fetched on every run and find the new detail pages. Pages are marked as fetched when their
response arrives (2xx, or 404/410: gone pages need no fetch every run either).

Stats: ``incremental/skipped`` and ``incremental/skipped/<page>`` (already seen),
``incremental/refreshed/<page>`` (seen, but older than refresh_after), ``incremental/marked``.
Settings: ``INCREMENTAL_ENABLED`` (True; False re-fetches everything, still recording fetches),
``INCREMENTAL_STATE_URI`` (``sqlite:///path``; a distributed crawl uses Redis).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.core.redis import is_distributed
from crawler.distributed.redis_keys import CrawlKeys
from crawler.distributed.seen import RedisSeenState, SeenState, SqliteSeenState
from crawler.spider import META_PAGE

logger = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({404, 410})


def open_seen_state(settings, rule_name: str) -> SeenState:
    if is_distributed(settings):
        from crawler.core.redis import redis_from_settings

        return RedisSeenState(redis_from_settings(settings), CrawlKeys.for_rule(rule_name).seen)
    uri = settings.get("INCREMENTAL_STATE_URI") or ""
    if not uri:
        raise NotConfigured  # no seen-URL state kept (scrapy preview, or by choice)
    if not uri.startswith("sqlite:///"):
        raise NotConfigured(f"INCREMENTAL_STATE_URI must be sqlite:///PATH; got {uri!r}")
    return SqliteSeenState(uri.removeprefix("sqlite:///"), rule_name)


class IncrementalMiddleware(BaseSpiderMiddleware):
    def __init__(self, crawler, state: SeenState, once: dict[str, float | None]) -> None:
        super().__init__(crawler)
        self.state = state
        self.once = once  # page type -> refresh_after (seconds) or None
        self.enabled = crawler.settings.getbool("INCREMENTAL_ENABLED")
        self.stats = crawler.stats
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> IncrementalMiddleware:
        rule = getattr(crawler.spidercls, "rule", None)
        if rule is None or not rule.incremental:
            raise NotConfigured  # no message: Scrapy would warn about it on every crawl
        once = {n: p.refresh_after for n, p in rule.pages.items() if p.fetch == "once"}
        return cls(crawler, open_seen_state(crawler.settings, rule.name), once)

    # --- skipping -----------------------------------------------------------------------------

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        page = request.meta.get(META_PAGE)
        if not self.enabled or page not in self.once:
            return request
        fetched = self.state.last_fetched(request.url)
        if fetched is None:
            return request
        refresh_after = self.once[page]
        if refresh_after is not None and time.time() - fetched >= refresh_after:
            self.stats.inc_value(f"incremental/refreshed/{page}")
            return request
        self.stats.inc_value("incremental/skipped")
        self.stats.inc_value(f"incremental/skipped/{page}")
        return None

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for o in super().process_start(start):
            yield o

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        return super().process_spider_output(response, result)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for o in super().process_spider_output_async(response, result):
            yield o

    # --- recording ----------------------------------------------------------------------------

    def response_received(self, response: Response, request: Request, spider: Any) -> None:
        if request.meta.get(META_PAGE) not in self.once:
            return
        if not (200 <= response.status < 300 or response.status in FINAL_STATUSES):
            return
        now = time.time()
        # The URL that was asked for is the one skipped next time, also when it redirected.
        for url in {request.url, *request.meta.get("redirect_urls", ())[:1]}:
            self.state.mark(url, now)
        self.stats.inc_value("incremental/marked")

    def spider_closed(self, spider: Any) -> None:
        self.state.close()
