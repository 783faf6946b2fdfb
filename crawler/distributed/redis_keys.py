"""The Redis keys of one rule's distributed crawl, in one place so every part agrees on them."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.settings import BaseSettings

# scrapy-redis's default key patterns (scrapy_redis.defaults), here so that a crawl on one machine,
# which names its seen-URL state through these keys, never loads scrapy-redis and redis-py.
SCHEDULER_QUEUE_KEY = "%(spider)s:requests"
SCHEDULER_DUPEFILTER_KEY = "%(spider)s:dupefilter"


@dataclass(frozen=True)
class CrawlKeys:
    """Keys for rule ``name``; patterns follow scrapy-redis (``%(spider)s``) so its settings apply."""

    queue: str  # sorted set: encoded request -> -priority
    dupefilter: str  # set of fingerprints, or the Bloom filter's bitmaps (dupefilter:bloom:N)
    workers: str  # sorted set: worker id -> last heartbeat (Redis server time)
    inflight_prefix: str  # + worker id: hash lease token -> encoded request taken by that worker
    seen: str  # hash: fingerprint -> unix time last fetched (incremental crawls)

    @classmethod
    def for_rule(cls, name: str, settings: BaseSettings | None = None) -> CrawlKeys:
        get = settings.get if settings is not None else (lambda _k, d: d)
        spider = {"spider": name}
        return cls(
            queue=get("SCHEDULER_QUEUE_KEY", SCHEDULER_QUEUE_KEY) % spider,
            dupefilter=get("SCHEDULER_DUPEFILTER_KEY", SCHEDULER_DUPEFILTER_KEY) % spider,
            workers=f"{name}:workers",
            inflight_prefix=f"{name}:inflight:",
            seen=f"{name}:seen",
        )

    def inflight(self, worker: str) -> str:
        return self.inflight_prefix + worker

    def crawl_state(self) -> list[str]:
        """Keys a fresh crawl starts without (the seen-URL state of incremental crawls stays)."""
        return [self.queue, self.dupefilter, self.dupefilter + ":bloom"]
