"""Heartbeat: every crawl with a Redis (``REDIS_URL``) says every ``FLEET_HEARTBEAT_INTERVAL``
seconds who and where it is and how it goes, for the data service's Nodes page, the run page's
workers and ``/metrics``.

Keys: ``fleet:workers`` (sorted set: worker id -> last beat, unix time) and
``fleet:worker:<id>`` (JSON, expiring after three intervals: a crawl that died drops out by
itself): ``worker`` (``host:pid``), ``host``, ``pid``, ``node`` (``NODE_NAME``, given by the
dispatcher, else the host), ``job`` (Scrapyd's job id), ``rule``, ``run_id``, ``part_of`` (the
distributed run, ``FLEET_RUN_ID``), ``pages``, ``items``, ``errors``, ``bans``, ``rate`` (pages
per minute since the last beat), ``rss`` (resident memory, bytes), ``started_at``,
``updated_at``. Nothing else: no URL, no argument, no setting. Writes run on a thread of their
own; a Redis that does not answer costs a warning once, never the crawl.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import socket
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.core.clock import Cancellable, ScrapyClock, run_in
from crawler.core.redis import redis_from_settings
from crawler.core.switches import describe, off
from crawler.runs import live_counters, run_id_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

WORKERS = "fleet:workers"
WORKER = "fleet:worker:"


def resident_bytes() -> int:
    """This process's resident memory now (its peak where /proc is not there)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def read_heartbeats(
    server: Any, now: float | None = None, limit: int = 10_000
) -> list[dict[str, Any]]:
    """Every live crawl's last heartbeat; members whose beat expired are removed."""
    ids = [i.decode() if isinstance(i, bytes) else i for i in server.zrange(WORKERS, 0, limit - 1)]
    if not ids:
        return []
    values = server.mget([WORKER + i for i in ids])
    beats, gone = [], []
    for worker, value in zip(ids, values, strict=True):
        if value is None:
            gone.append(worker)
            continue
        try:
            beats.append(json.loads(value))
        except ValueError:
            gone.append(worker)
    if gone:
        server.zrem(WORKERS, *gone)
    return beats


class Heartbeat:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.clock = ScrapyClock()
        self.server: Any = None
        self.lane: Any = None
        self.ticker: Cancellable | None = None
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.node = crawler.settings.get("NODE_NAME") or socket.gethostname()
        self.part_of = crawler.settings.get("FLEET_RUN_ID") or None
        self.busy = False
        self.failed = False
        self.last: tuple[float, int] | None = None
        self.started_at = time.time()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Heartbeat:
        settings = crawler.settings
        interval = settings.getfloat("FLEET_HEARTBEAT_INTERVAL")
        if interval <= 0 or not settings.get("REDIS_URL"):
            raise off("Heartbeat", "no REDIS_URL or FLEET_HEARTBEAT_INTERVAL is 0")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.server = redis_from_settings(self.crawler.settings)
        self.lane = self.clock.lane("heartbeat")
        self.beat()
        self.ticker = self.clock.looping_call(self.interval, self.beat)

    def beat(self) -> None:
        if self.busy or self.crawler.spider is None:
            return
        self.busy = True
        beat = self.describe()
        self.lane.submit(lambda: self.write(beat), self.written)

    def describe(self) -> dict[str, Any]:
        stats = self.crawler.stats.get_stats()
        counters = live_counters(stats)
        now = time.time()
        rate = 0.0
        if self.last is not None and now > self.last[0]:
            rate = (counters["pages"] - self.last[1]) * 60.0 / (now - self.last[0])
        self.last = (now, counters["pages"])
        return {
            "worker": self.worker,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "node": self.node,
            "job": os.environ.get("SCRAPY_JOB") or run_id_of(self.crawler),
            "rule": self.crawler.spider.name,
            "run_id": run_id_of(self.crawler),
            "part_of": self.part_of,
            **{k: counters[k] for k in ("pages", "items", "errors", "bans")},
            "rate": round(rate, 1),
            "rss": resident_bytes(),
            "started_at": self.started_at,
            "updated_at": now,
        }

    def write(self, beat: dict[str, Any]) -> None:  # on the lane
        ttl = max(3, int(self.interval * 3 + 1))
        pipe = self.server.pipeline(transaction=False)
        pipe.set(WORKER + self.worker, json.dumps(beat), ex=ttl)
        pipe.zadd(WORKERS, {self.worker: beat["updated_at"]})
        pipe.execute()

    def written(self, _: Any, error: BaseException | None) -> None:
        self.busy = False
        if error is not None and not self.failed:
            self.failed = True
            logger.warning(
                "Heartbeat: cannot write to Redis (%s); the Nodes page will not show this crawl",
                describe(error),
            )

    async def spider_closed(self, spider: Any) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
        if self.lane is None:
            return

        def forget() -> None:
            self.server.delete(WORKER + self.worker)
            self.server.zrem(WORKERS, self.worker)

        try:
            await run_in(self.lane, forget)
        except Exception as exc:  # Redis away: the key expires by itself
            logger.debug("Heartbeat: could not remove this crawl's beat (%s)", describe(exc))
        self.lane.close()
