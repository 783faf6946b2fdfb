"""The shared request queue, with leases so that a worker that dies loses no request.

A worker takes the highest-priority request and, in the same Lua script, records it under a
lease in its own in-flight hash. The lease ends (``ack``) when the request's response or failure
has been handled, or when the request went back to the queue (a retry or a redirect). Every
worker heartbeats into ``<rule>:workers``; a worker silent for longer than the lease timeout is
presumed dead and any live worker moves its in-flight requests back to the queue, atomically, so
exactly one worker does it. The cost is at-least-once fetching: a request being downloaded when
its worker died is fetched again by another.

Entries are JSON (:mod:`crawler.distributed.request_json`), never pickle: an entry that is not a
request of that format (written by an older version, or by anyone who can write to Redis) is
taken off the queue, counted and dropped, never run (:class:`QueueProblems`).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy_redis.queue import PriorityQueue

from crawler.distributed import request_json
from crawler.distributed.redis_keys import CrawlKeys

logger = logging.getLogger(__name__)

META_LEASE = "distributed_lease"
MAX_BAD_PER_POP = 100  # bad entries dropped by one pop before it yields to the engine

# KEYS: queue, inflight hash. ARGV: lease serial. Returns {encoded request, lease token} or nil.
_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return nil end
redis.call('ZREM', KEYS[1], r[1])
local token = r[2] .. ':' .. ARGV[1]
redis.call('HSET', KEYS[2], token, r[1])
return {r[1], token}
"""

# KEYS: queue, workers. ARGV: inflight prefix, lease timeout (s), worker id to heartbeat ('' none).
# Requeues the leases of workers whose heartbeat is older than the timeout; returns
# {requests requeued, queue length, requests in flight over all live workers}.
_STATUS = """
local now = tonumber(redis.call('TIME')[1])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], now, ARGV[3]) end
local requeued = 0
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
for _, worker in ipairs(dead) do
  local hash = ARGV[1] .. worker
  local leases = redis.call('HGETALL', hash)
  for i = 1, #leases, 2 do
    local score = string.match(leases[i], '^(.-):[^:]*$')
    redis.call('ZADD', KEYS[1], score, leases[i + 1])
    requeued = requeued + 1
  end
  redis.call('DEL', hash)
  redis.call('ZREM', KEYS[2], worker)
end
local inflight = 0
for _, worker in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  inflight = inflight + redis.call('HLEN', ARGV[1] .. worker)
end
return {requeued, redis.call('ZCARD', KEYS[1]), inflight}
"""

# KEYS: queue, inflight hash, workers. ARGV: worker id. A leaving worker hands back its leases.
_RELEASE = """
local leases = redis.call('HGETALL', KEYS[2])
for i = 1, #leases, 2 do
  redis.call('ZADD', KEYS[1], string.match(leases[i], '^(.-):[^:]*$'), leases[i + 1])
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return #leases / 2
"""

# KEYS: queue, inflight hash. ARGV: lease token. One lease handed back; 1 if it was held.
_REQUEUE = """
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return 0 end
redis.call('ZADD', KEYS[1], string.match(ARGV[1], '^(.-):[^:]*$'), entry)
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class CrawlStatus:
    requeued: int  # requests of dead workers put back by this call
    queued: int
    inflight: int  # taken by live workers and not yet finished

    @property
    def idle(self) -> bool:
        return self.queued == 0 and self.inflight == 0


class QueueProblems:
    """What the queue refused or dropped: counted in the crawl's stats (when it has them) and
    logged once per kind, with the reason and never the entry itself."""

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats
        self._logged: set[tuple[str, str]] = set()

    def _once(self, kind: str, detail: str, level: int, message: str, *args: Any) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"distributed/{kind}")
        if (kind, detail) not in self._logged:
            self._logged.add((kind, detail))
            logger.log(level, message + " (later ones counted in distributed/%s)", *args, kind)

    def meta_refused(self, key: str, why: str) -> None:
        self._once("meta_refused", key, logging.WARNING,
                   "meta[%r] left out of requests queued in Redis: %s is not JSON data",
                   key, why)  # fmt: skip

    def unserializable(self, request: Request, why: str) -> None:
        self._once("unserializable", why, logging.ERROR,
                   "cannot queue %s in Redis: %s; request dropped", request, why)  # fmt: skip

    def bad_entry(self, reason: str, size: int) -> None:
        self._once("bad_entries", reason, logging.ERROR,
                   "dropped a queue entry of %d bytes that is not a request this platform "
                   "writes (%s): it was written by an older version or by someone with write "
                   "access to Redis; nothing in it was run", size, reason)  # fmt: skip


class LeasedPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue (sorted set, score ``-priority``) with per-worker leases,
    holding JSON entries."""

    def __init__(
        self,
        server,
        spider,
        key,
        serializer=None,
        *,
        keys: CrawlKeys,
        worker: str = "",
        problems: QueueProblems | None = None,
    ):
        if serializer not in (None, request_json):
            raise ValueError("the distributed queue holds JSON entries only (request_json)")
        super().__init__(server, spider, key, request_json)
        self.keys = keys
        self.worker = worker
        self.problems = problems or QueueProblems()
        self._serial = itertools.count(1)
        self._pop = server.register_script(_POP)
        self._status = server.register_script(_STATUS)
        self._release = server.register_script(_RELEASE)
        self._requeue = server.register_script(_REQUEUE)

    def _encode_request(self, request: Request) -> bytes:
        """The entry of ``request``; :class:`request_json.Unserializable` when it has none."""
        # A retry or redirect copies meta; the copy must not carry the lease of its original.
        if META_LEASE in request.meta:
            request = request.replace(
                meta={k: v for k, v in request.meta.items() if k != META_LEASE}
            )
        data, refused = request_json.encode(request, self.spider)
        for key, why in refused:
            self.problems.meta_refused(key, why)
        return data

    def _decode_request(self, encoded_request: bytes) -> Request:
        return request_json.decode(encoded_request, self.spider)

    def push(self, request: Request) -> None:
        super().push(request)
        lease = request.meta.get(META_LEASE)
        if lease:  # the request is queued again, so its old lease is over
            self.ack(lease)

    def push_new(self, request: Request, dupefilter) -> bool:
        """Queue ``request`` unless the dupefilter has seen it, in one Lua script (the
        dupefilter's ``add_and_push``); False when it was a duplicate."""
        added = dupefilter.add_and_push(
            request, self.key, self._encode_request(request), -request.priority
        )
        lease = request.meta.get(META_LEASE)
        if added and lease:  # a redirect queued again: its old lease is over
            self.ack(lease)
        return added

    def pop(self, timeout: int = 0) -> Request | None:
        """The next request, under a lease; entries that are not requests are dropped on the
        way (their lease ended at once), at most :data:`MAX_BAD_PER_POP` per call."""
        for _ in range(MAX_BAD_PER_POP):
            result = self._pop(
                keys=[self.key, self.keys.inflight(self.worker)], args=[next(self._serial)]
            )
            if not result:
                return None
            data, token = result
            token = token.decode() if isinstance(token, bytes) else token
            try:
                request = self._decode_request(data)
            except request_json.BadEntry as exc:
                self.ack(token)
                self.problems.bad_entry(exc.reason, len(data))
                continue
            request.meta[META_LEASE] = token
            return request
        return None

    def ack(self, token: str) -> bool:
        return bool(self.server.hdel(self.keys.inflight(self.worker), token))

    def requeue(self, token: str) -> bool:
        """Hand one lease's request back to the queue (at its priority); False if not held."""
        return bool(self._requeue(keys=[self.key, self.keys.inflight(self.worker)], args=[token]))

    def status(self, lease_timeout: float, heartbeat: bool = True) -> CrawlStatus:
        requeued, queued, inflight = self._status(
            keys=[self.key, self.keys.workers],
            args=[
                self.keys.inflight_prefix,
                int(max(1, lease_timeout)),
                self.worker if heartbeat else "",
            ],
        )
        return CrawlStatus(int(requeued), int(queued), int(inflight))

    def release(self) -> int:
        """Hand back every request this worker still holds and leave the worker set."""
        return int(
            self._release(
                keys=[self.key, self.keys.inflight(self.worker), self.keys.workers],
                args=[self.worker],
            )
        )
