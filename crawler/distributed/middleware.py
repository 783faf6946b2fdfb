"""Middlewares of distributed crawls: where start requests come from, and where leases end.

Enabled by the :class:`~crawler.distributed.addon.DistributedCrawl` add-on only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.distributed.keys import CrawlKeys
from crawler.distributed.seed import reset_crawl

logger = logging.getLogger(__name__)


class DistributedStartMiddleware(BaseSpiderMiddleware):
    """Workers read their requests from Redis, so a spider's own start requests are not sent,
    unless ``DISTRIBUTED_SEED`` is set: then this worker first resets the rule's crawl state
    (queue and dupefilter) and seeds it with the start requests, like ``scrapy seed`` does."""

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        crawler = self.crawler
        if not crawler.settings.getbool("DISTRIBUTED_SEED"):
            keys = CrawlKeys.for_rule(crawler.spidercls.name, crawler.settings)
            logger.info(
                "distributed worker: taking requests from Redis key %s (seed it with "
                "`scrapy seed %s`)",
                keys.queue,
                crawler.spidercls.name,
            )
            return
        scheduler = crawler.engine.scheduler
        reset_crawl(scheduler.server, scheduler.keys)
        async for item_or_request in start:
            crawler.stats.inc_value("distributed/seeded")
            yield item_or_request


class LeaseSpiderMiddleware(BaseSpiderMiddleware):
    """Ends a request's lease once its callback's (or errback's) output has been consumed, so
    the requests it led to are already queued when the lease goes."""

    def _ack(self, response: Response | None) -> None:
        if response is not None:
            scheduler = self.crawler.engine.scheduler
            ack = getattr(scheduler, "ack", None)
            if ack is not None:
                ack(response.request)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        yield from result
        self._ack(response)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for o in result:
            yield o
        self._ack(response)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        self._ack(response)


class LeaseDownloaderMiddleware:
    """Ends the lease of a request that failed for good (retries exhausted, or ignored). It sits
    first in the chain, so it sees an exception only after the retry middleware gave up on it."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> LeaseDownloaderMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        ack = getattr(self.crawler.engine.scheduler, "ack", None)
        if ack is not None:
            ack(request)
