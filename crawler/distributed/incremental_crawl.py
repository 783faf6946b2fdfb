"""Incremental crawls: pages of ``fetch: once`` page types are fetched once across runs, and
pages a sitemap or feed lists are fetched again only when it says they changed.

A spider middleware drops requests for such pages when the seen-URL state
(:mod:`crawler.distributed.seen`) says an earlier run fetched them, unless that fetch is older
than the page type's ``refresh_after``. Page types left at ``fetch: every`` (lists, the default)
are fetched on every run and find the new detail pages. Pages are marked as fetched when their
response arrives (2xx, or 404/410: gone pages need no fetch every run either).

A page listed by a sitemap or feed start with a date (``<lastmod>``, a feed entry's ``updated``
or ``published``: request meta ``rule_lastmod``, :mod:`crawler.spider.listings`) is judged by it,
whatever its page type's ``fetch``: skipped when that date is not after its last fetch (a
``fetch: once`` page older than ``refresh_after`` is still fetched again), fetched when it is.
Without the seen-URL state the dates are ignored, as ``fetch: once`` is.

Stats: ``incremental/skipped`` and ``incremental/skipped/<page>`` (already seen),
``incremental/unmodified/<page>`` (of those, listed with a date not after the last fetch),
``incremental/modified/<page>`` (seen, but listed as changed since),
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
from crawler.core.sites import META_SITE
from crawler.distributed.redis_keys import CrawlKeys
from crawler.distributed.seen import RedisSeenState, SeenState, SqliteSeenState
from crawler.spider import META_LASTMOD, META_PAGE

logger = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({404, 410})


def open_seen_state(settings, rule_name: str, share: SeenState | None = None) -> SeenState:
    if is_distributed(settings):
        from crawler.core.redis import redis_from_settings

        server = share.server if isinstance(share, RedisSeenState) else None
        server = server or redis_from_settings(settings)
        return RedisSeenState(server, CrawlKeys.for_rule(rule_name).seen)
    uri = settings.get("INCREMENTAL_STATE_URI") or ""
    if not uri:
        raise NotConfigured  # no seen-URL state kept (scrapy preview, or by choice)
    if not uri.startswith("sqlite:///"):
        raise NotConfigured(f"INCREMENTAL_STATE_URI must be sqlite:///PATH; got {uri!r}")
    shared = share if isinstance(share, SqliteSeenState) else None
    return SqliteSeenState(uri.removeprefix("sqlite:///"), rule_name, shared)


class Tracked:
    """One rule's seen-URL state and its page types fetched once (-> refresh_after)."""

    def __init__(self, state: SeenState, once: dict[str, float | None]) -> None:
        self.state = state
        self.once = once


class IncrementalMiddleware(BaseSpiderMiddleware):
    """Per rule: a crawl of many sites (crawler/spider/site_group.py) keeps each site's seen
    URLs under its own name, as its crawl alone would, through one connection."""

    def __init__(self, crawler, tracked: dict[str, Tracked]) -> None:
        super().__init__(crawler)
        self.tracked = tracked
        self.single = next(iter(tracked.values())) if len(tracked) == 1 else None
        self.enabled = crawler.settings.getbool("INCREMENTAL_ENABLED")
        self.stats = crawler.stats
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> IncrementalMiddleware:
        spidercls = crawler.spidercls
        sites = getattr(spidercls, "site_classes", None) or {}
        rules = [c.rule for c in sites.values()] or [getattr(spidercls, "rule", None)]
        tracked: dict[str, Tracked] = {}
        first: SeenState | None = None
        for rule in rules:
            lists_pages = rule is not None and any(start.listing for start in rule.start)
            if rule is None or not (rule.incremental or lists_pages):
                continue
            once = {n: p.refresh_after for n, p in rule.pages.items() if p.fetch == "once"}
            state = open_seen_state(crawler.settings, rule.name, first)
            first = first or state
            tracked[rule.name] = Tracked(state, once)
        if not tracked:
            raise NotConfigured  # no message: Scrapy would warn about it on every crawl
        return cls(crawler, tracked)

    def _tracked(self, request: Request) -> Tracked | None:
        if self.single is not None and META_SITE not in request.meta:  # a crawl of one rule
            return self.single
        return self.tracked.get(request.meta.get(META_SITE) or "")

    # --- skipping -----------------------------------------------------------------------------

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        tracked = self._tracked(request)
        if tracked is None:
            return request
        page = request.meta.get(META_PAGE)
        lastmod = listed_lastmod(request)
        if not self.enabled or (page not in tracked.once and lastmod is None):
            return request
        fetched = tracked.state.last_fetched(request.url)
        if fetched is None:
            return request
        if lastmod is not None and lastmod > fetched:
            self.stats.inc_value(f"incremental/modified/{page}")
            return request
        refresh_after = tracked.once.get(page)
        if refresh_after is not None and time.time() - fetched >= refresh_after:
            self.stats.inc_value(f"incremental/refreshed/{page}")
            return request
        self.stats.inc_value("incremental/skipped")
        self.stats.inc_value(f"incremental/skipped/{page}")
        if lastmod is not None:
            self.stats.inc_value(f"incremental/unmodified/{page}")
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
        tracked = self._tracked(request)
        if tracked is None:
            return
        if request.meta.get(META_PAGE) not in tracked.once and listed_lastmod(request) is None:
            return
        if not (200 <= response.status < 300 or response.status in FINAL_STATUSES):
            return
        now = time.time()
        # The URL that was asked for is the one skipped next time, also when it redirected.
        for url in {request.url, *request.meta.get("redirect_urls", ())[:1]}:
            tracked.state.mark(url, now)
        self.stats.inc_value("incremental/marked")

    def spider_closed(self, spider: Any) -> None:
        states = [t.state for t in self.tracked.values()]
        for state in sorted(states, key=lambda s: getattr(s, "owner", False)):
            state.close()  # the connection's owner last


def listed_lastmod(request: Request) -> float | None:
    """When the sitemap or feed listing the requested page says it changed, if it says."""
    lastmod = request.meta.get(META_LASTMOD)
    return float(lastmod) if isinstance(lastmod, int | float) else None
