"""Seeding a distributed crawl: reset a rule's crawl state in Redis and push start requests."""

from __future__ import annotations

from collections.abc import Iterable

from scrapy import Request, Spider

from crawler.distributed.leased_queue import LeasedPriorityQueue
from crawler.distributed.redis_keys import CrawlKeys


def reset_crawl(server, keys: CrawlKeys) -> int:
    """Delete the queue, the dupefilter (set or Bloom bitmaps) and any leases of a previous crawl.

    The seen-URL state of incremental crawls is kept: it is what makes the next run incremental.
    """
    doomed = [keys.queue, keys.dupefilter]
    doomed += list(server.scan_iter(match=keys.dupefilter + ":bloom:*", count=1000))
    doomed += list(server.scan_iter(match=keys.inflight_prefix + "*", count=1000))
    doomed.append(keys.workers)
    return int(server.delete(*doomed))


def push_requests(server, spider: Spider, keys: CrawlKeys, requests: Iterable[Request]) -> int:
    """Queue requests for the workers of ``spider``'s rule; returns how many were pushed.

    Requests are pushed as they are (start requests are ``dont_filter``), with their priority.
    """
    queue = LeasedPriorityQueue(server, spider, keys.queue, keys=keys)
    count = 0
    for request in requests:
        queue.push(request)
        count += 1
    return count
