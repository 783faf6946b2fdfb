"""The Redis scheduler of distributed crawls: scrapy-redis's scheduler, adapted.

What it adds to ``scrapy_redis.scheduler.Scheduler``:

- built from the crawler alone (Scrapy 2.13+ deprecates ``from_settings`` and spider arguments);
- leases on taken requests, heartbeats, and recovery of dead workers' requests
  (:mod:`crawler.distributed.leased_queue`);
- the idle stop: a worker stops once the whole crawl (the queue and every worker's in-flight
  requests) has been idle for ``DISTRIBUTED_IDLE_TIMEOUT`` seconds, so no worker leaves while a
  dead worker's requests may still return; a worker that has seen no work yet (started before
  the seed) waits ``DISTRIBUTED_SEED_TIMEOUT`` seconds for it;
- a poll every ``DISTRIBUTED_POLL_INTERVAL`` seconds that wakes the engine when other workers
  have queued requests (the engine itself looks only every 5 s when it has nothing to do);
- the last worker to leave a finished crawl clears its dupefilter, so the next seed starts fresh;
- requests in Redis as JSON data, never pickle (:mod:`crawler.distributed.request_json`): a
  request that cannot be written so is counted and dropped, and so is an entry in the queue that
  is not one (``distributed/unserializable``, ``distributed/bad_entries``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_redis.scheduler import Scheduler as ScrapyRedisScheduler
from twisted.internet import task

from crawler.core.redis import (
    RedisUnreachable,
    check_reachable,
    redis_from_settings,
)
from crawler.core.switches import refuse_start
from crawler.distributed import request_json
from crawler.distributed.leased_queue import (
    META_LEASE,
    CrawlStatus,
    LeasedPriorityQueue,
    QueueProblems,
)
from crawler.distributed.leases import OutputTracker
from crawler.distributed.redis_keys import CrawlKeys
from crawler.spider import request_failed

logger = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RedisScheduler(ScrapyRedisScheduler):
    def __init__(self, crawler, server, *, dupefilter, keys: CrawlKeys) -> None:
        settings = crawler.settings
        super().__init__(
            server,
            persist=settings.getbool("SCHEDULER_PERSIST"),
            flush_on_start=settings.getbool("SCHEDULER_FLUSH_ON_START"),
            queue_key=keys.queue,
            dupefilter=dupefilter,
            dupefilter_key=keys.dupefilter,
            serializer=request_json,
        )
        self.crawler = crawler
        self.stats = crawler.stats
        self.keys = keys
        self.worker = worker_id()
        self.idle_timeout = settings.getfloat("DISTRIBUTED_IDLE_TIMEOUT")
        self.seed_timeout = settings.getfloat("DISTRIBUTED_SEED_TIMEOUT")
        self._seen_work = False  # before any: waiting for the seed, not idle
        self.poll_interval = settings.getfloat("DISTRIBUTED_POLL_INTERVAL")
        self.lease_timeout = settings.getfloat("DISTRIBUTED_LEASE_TIMEOUT")
        self.queue: LeasedPriorityQueue | None = None
        self.outputs = OutputTracker()  # requests a leased response produced, until queued
        self.status: CrawlStatus | None = None
        self._idle_since: float | None = None
        self._poll: task.LoopingCall | None = None
        self.problems = QueueProblems(crawler.stats)
        self._handed_back: list[str] = []  # leases to hand back once Redis answers again
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self._failed, signal=request_failed)

    @classmethod
    def from_crawler(cls, crawler) -> RedisScheduler:
        settings = crawler.settings
        server = redis_from_settings(settings)
        keys = CrawlKeys.for_rule(crawler.spidercls.name, settings)
        dupefilter = build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler)
        return cls(crawler, server, dupefilter=dupefilter, keys=keys)

    # --- Scrapy's scheduler interface ---------------------------------------------------------

    def open(self, spider) -> None:
        self.spider = spider
        try:
            check_reachable(self.server, self.crawler.settings)
        except RedisUnreachable as exc:
            # One line and status start_error (exit 4), not a traceback. Refused once the
            # spider is open: raising here would leave Scrapy's scraper unopened, and its
            # close would fail with a traceback of its own.
            refuse_start(
                self.crawler,
                f"{exc}: start Redis, or run on one machine (unset REDIS_URL)",
                "redis_unreachable",
            )
            return
        self.queue = LeasedPriorityQueue(
            self.server,
            spider,
            self.keys.queue,
            keys=self.keys,
            worker=self.worker,
            problems=self.problems,
        )
        if self.flush_on_start:
            self.flush()
        self._update_status()
        logger.info(
            "worker %s on %s: %d request(s) queued, %d in flight elsewhere",
            self.worker,
            self.keys.queue,
            self.status.queued,
            self.status.inflight,
        )
        self._poll = task.LoopingCall(self._tick)
        self._poll.start(self.poll_interval, now=False)

    def close(self, reason: str) -> None:
        if self._poll is not None and self._poll.running:
            self._poll.stop()
        if self.queue is None:  # never opened: Redis was away
            return
        handed_back = self.queue.release()
        if handed_back:
            self.stats.inc_value("distributed/leases/handed_back", handed_back)
            logger.warning("handed %d unfinished request(s) back to the queue", handed_back)
        status = self.queue.status(self.lease_timeout, heartbeat=False)
        alone = self.server.zcard(self.keys.workers) == 0
        if not self.persist and status.idle and alone:
            logger.info("last worker of a finished crawl: clearing %s", self.keys.dupefilter)
            self.df.clear()

    def enqueue_request(self, request: Request) -> bool:
        """Queue a request in Redis, unless it is a duplicate (tested and queued atomically);
        the lease of the response it came from may end only once this is done."""
        try:
            if request.dont_filter:
                self.queue.push(request)
                added = True
            else:
                added = self.queue.push_new(request, self.df)
        except redis.exceptions.RedisError as exc:
            # Not queued: the response it came from keeps its lease, and is fetched again.
            self.outputs.handled(request, ok=False)
            self.stats.inc_value("distributed/enqueue_errors")
            logger.error("cannot queue %s in Redis: %s", request.url, exc)
            return False
        except request_json.Unserializable as exc:
            # Never will be: fetching its page again would give the same request.
            self.outputs.handled(request)
            self.problems.unserializable(request, str(exc))
            return False
        self.outputs.handled(request)
        self._seen_work = True
        if not added:
            self.df.log(request, self.spider)
            # A redirect to a page already seen carries its original's lease: that request is
            # done, since its copy will never be queued.
            self.ack(request)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        request = self.queue.pop()
        if request is not None:
            self._seen_work = True
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return self.queue is not None and len(self.queue) > 0

    def __len__(self) -> int:
        return len(self.queue) if self.queue is not None else 0

    # --- leases, polling and the idle stop ----------------------------------------------------

    def ack(self, request: Request) -> None:
        """The request's response or failure has been handled: end its lease."""
        token = request.meta.get(META_LEASE)
        if token and self.queue is not None and self.queue.ack(token):
            self.stats.inc_value("distributed/leases/finished")

    def _failed(self, request: Request, **kwargs: Any) -> None:
        # Failed for good: a failure reaches the spider's errback and no middleware (an
        # exception raised in a process_response is seen by none), so its lease ends here.
        self.ack(request)

    def hand_back(self, request: Request) -> None:
        """Put the request back in the queue now (its response's output could not be made
        durable): any worker fetches it again, and this one does not hold a lease that would
        keep the crawl from ever being idle. Without Redis, the next tick tries again."""
        token = request.meta.get(META_LEASE)
        if token and self.queue is not None:
            self._handed_back.append(token)
            self._hand_back_pending()

    def _hand_back_pending(self) -> None:
        while self._handed_back:
            try:
                done = self.queue.requeue(self._handed_back[-1])
            except redis.exceptions.RedisError as exc:
                logger.warning("cannot hand a request back to the queue yet: %s", exc)
                return
            self._handed_back.pop()
            if done:
                self.stats.inc_value("distributed/leases/handed_back")

    def _update_status(self) -> None:
        """Heartbeat, take back dead workers' requests, and read the crawl's state."""
        self.status = self.queue.status(self.lease_timeout)
        if not self.status.idle:
            self._seen_work = True
        if self.status.requeued:
            self.stats.inc_value("distributed/leases/recovered", self.status.requeued)
            logger.warning(
                "put %d request(s) of dead worker(s) back in the queue", self.status.requeued
            )

    def _tick(self) -> None:
        try:
            self._hand_back_pending()
            self._update_status()
        except Exception as exc:  # a Redis hiccup must not kill the loop; the next tick retries
            logger.warning("cannot reach Redis for the crawl status: %s", exc)
            return
        engine = self.crawler.engine
        if engine is not None and not engine.needs_backout():
            # The engine polls an empty scheduler (and checks for idleness) only every 5 s; wake
            # it for work other workers queued, or to notice the crawl went idle. There is no
            # public call for this in Scrapy 2.19: a private attribute, pinned by
            # tests/crawler/distributed/test_scrapy_internals.py.
            slot = getattr(engine, "_slot", None)
            if slot is not None:
                slot.nextcall.schedule()

    def spider_idle(self, spider: Any) -> None:
        status = self.status
        now = time.monotonic()
        if status is None or not status.idle:
            self._idle_since = None
            raise DontCloseSpider
        if self._idle_since is None:
            self._idle_since = now
        timeout = self.idle_timeout
        if not self._seen_work:  # started before the seed: wait for it, within a bound
            timeout = max(timeout, self.seed_timeout)
        if now - self._idle_since < timeout:
            raise DontCloseSpider
        logger.info("the crawl has been idle for %.0f s: stopping this worker", timeout)
