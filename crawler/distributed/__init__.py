"""Distributed crawling on Redis: the same rule, any number of ``scrapy crawl`` workers.

With ``REDIS_URL`` set (or ``-s DISTRIBUTED=1``) the :class:`~crawler.distributed.addon.DistributedCrawl`
add-on swaps Scrapy's scheduler and dupefilter for the Redis-backed ones in this package
(adapters over scrapy-redis). See docs/distributed.md for the keys, the settings and how a dead
worker's requests are recovered.
"""
