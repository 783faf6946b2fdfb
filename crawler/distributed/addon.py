"""The switch between one machine and many: a Scrapy add-on (``ADDONS`` in crawler/settings.py).

With ``REDIS_URL`` set (in the environment, ``-s``, or a rule's settings) or ``DISTRIBUTED``
true, it installs the Redis scheduler, the chosen dupefilter and the lease middlewares, and
refuses any ``SCHEDULER_SERIALIZER`` but JSON (:mod:`crawler.distributed.request_json`);
otherwise it disables itself and Scrapy's own scheduler runs the crawl.
"""

from __future__ import annotations

import warnings

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.core.redis import is_distributed, redis_url

SERIALIZER = "crawler.distributed.request_json"
DUPEFILTERS = {
    "set": "crawler.distributed.dupefilter.RedisDupeFilter",
    "bloom": "crawler.distributed.dupefilter.BloomDupeFilter",
}


def quiet_scrapy_redis_warnings() -> None:
    """scrapy-redis 0.9.1 predates Scrapy 2.13 and redis-py 6; the adapters here avoid its
    deprecated paths (``from_settings``, ``spider=`` arguments, ``retry_on_timeout``), and what
    it may still trigger is not the user's to fix. Only deprecation warnings attributed to
    scrapy_redis's own modules are silenced; the user's code and Scrapy's still warn."""
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"scrapy_redis(\.|$)")
    try:
        from scrapy.exceptions import ScrapyDeprecationWarning
    except ImportError:  # pragma: no cover
        return
    warnings.filterwarnings(
        "ignore", category=ScrapyDeprecationWarning, module=r"scrapy_redis(\.|$)"
    )


class DistributedCrawl:
    def __init__(self, crawler=None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> DistributedCrawl:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        if not is_distributed(settings):
            # One machine, Scrapy's own scheduler; no message, as Scrapy would warn about it.
            raise NotConfigured
        name = settings.get("DISTRIBUTED_DUPEFILTER")
        if name not in DUPEFILTERS:
            raise ValueError(
                f"DISTRIBUTED_DUPEFILTER must be one of {', '.join(DUPEFILTERS)}; got {name!r}"
            )
        serializer = settings.get("SCHEDULER_SERIALIZER")
        if serializer != SERIALIZER:
            # Pickle in Redis would let anyone who can write to it run code on every worker.
            raise ValueError(
                f"SCHEDULER_SERIALIZER must be {SERIALIZER} (requests queued as JSON data); "
                f"got {serializer!r}"
            )
        quiet_scrapy_redis_warnings()
        if not settings.get("REDIS_URL"):
            settings.set("REDIS_URL", redis_url(settings), priority="addon")
        settings.set("SCHEDULER", "crawler.distributed.scheduler.RedisScheduler", priority="addon")
        settings.set("DUPEFILTER_CLASS", DUPEFILTERS[name], priority="addon")
        from crawler.distributed import middleware

        # Outermost: the lease ends after every other spider middleware is done with the output.
        settings.set_in_component_priority_dict(
            "SPIDER_MIDDLEWARES", middleware.DistributedStartMiddleware, 5
        )
        settings.set_in_component_priority_dict(
            "SPIDER_MIDDLEWARES", middleware.LeaseSpiderMiddleware, 1
        )
