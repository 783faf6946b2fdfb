"""Middlewares of distributed crawls: where start requests come from, and where leases end.

Enabled by the :class:`~crawler.distributed.addon.DistributedCrawl` add-on only.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request, signals
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.distributed.leased_queue import META_LEASE
from crawler.distributed.leases import Outputs
from crawler.distributed.redis_keys import CrawlKeys
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
    """Ends a request's lease once everything its response produced is durable: the requests
    it led to are queued in Redis (or known duplicates there) and its items are through the
    item pipelines, so in the write-ahead journal (crawler/distributed/leases.py). A worker
    killed before that loses nothing: the lease outlives it, and the response is fetched again.
    Output that could not be queued (Redis away) or has not settled after
    ``DISTRIBUTED_LEASE_TIMEOUT`` seconds sends the request back to the queue, to be fetched
    again; a request that failed for good ends its lease in the scheduler
    (:data:`crawler.spider.request_failed`)."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.outputs: dict[int, Outputs] = {}  # id(response) -> its outputs
        self.timeout = crawler.settings.getfloat("DISTRIBUTED_LEASE_TIMEOUT")
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_done, signal=signal)
        crawler.signals.connect(self._request_dropped, signal=signals.request_dropped)

    @property
    def _scheduler(self) -> Any:
        return self.crawler.engine.scheduler

    def _ack(self, response: Response | None) -> None:
        if response is not None:
            ack = getattr(self._scheduler, "ack", None)
            if ack is not None:
                ack(response.request)

    def _item_done(self, response: Any = None, **kwargs: Any) -> None:
        outputs = self.outputs.get(id(response))
        if outputs is not None:
            outputs.done()

    def _request_dropped(self, request: Request, **kwargs: Any) -> None:
        tracker = getattr(self._scheduler, "outputs", None)
        if tracker is not None:
            tracker.handled(request)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        tracker = getattr(self._scheduler, "outputs", None)
        if tracker is None or not response.request.meta.get(META_LEASE):
            async for o in result:
                yield o
            self._ack(response)
            return
        outputs = self.outputs[id(response)] = Outputs()
        try:
            async for o in result:
                if isinstance(o, Request):
                    tracker.expect(o, outputs)
                elif o is not None:
                    outputs.add()
                yield o
            settled = await _within(outputs.settled(), self.timeout)
        finally:
            self.outputs.pop(id(response), None)
            tracker.forget(outputs)
        if settled and not outputs.failed:
            self._ack(response)
            return
        if not settled:
            logger.warning(
                "the output of %s did not settle within %.0f s: the page goes back to the "
                "queue, to be fetched again",
                response.request.url,
                self.timeout,
            )
        self._scheduler.hand_back(response.request)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        self._ack(response)


async def _within(awaitable: Any, seconds: float) -> bool:
    """Await ``awaitable``; False if it took longer than ``seconds``."""
    from scrapy.utils.asyncio import is_asyncio_available

    if is_asyncio_available():
        import asyncio

        try:
            await asyncio.wait_for(awaitable, seconds)
        except TimeoutError:
            return False
        return True
    await awaitable  # a Twisted reactor without asyncio: no timeout
    return True
