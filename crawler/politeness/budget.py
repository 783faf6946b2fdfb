"""One politeness budget per host, shared by every crawl that uses the host.

A host's budget is a rate (requests per second, at most one at a time every ``1/rate`` s: no
bursts) and a concurrency (requests in flight at once). :meth:`Budget.take` either grants a
request (a :class:`Lease`, given back with :meth:`Budget.give_back` when its download ends) or
says how long to wait; :meth:`Budget.slow` pauses a host for everyone (a ``Retry-After``, a
429, a ban). A host nobody limits costs nothing: no lease, no wait, no Redis call.

Two stores of the same state: :class:`LocalBudget`, shared by every crawl of one process
(``scrapy crawl --tag`` runs several), and :class:`RedisBudget`, shared by every process and
machine using one Redis, atomic in one Lua script per grant with Redis's clock. A lease in
Redis expires (``ttl``) so that a killed process cannot hold a host for ever.

The rate is the generic cell rate algorithm: each host keeps the earliest time its next request
may go (``next``); a grant moves it on by ``1/rate``. Four processes sharing 5 requests per
second hold 5 between them (benchmarks/bench_politeness.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

CONCURRENCY_POLL = 0.05  # seconds between asks while a host is at its concurrency (other process)


@dataclass(frozen=True)
class Limits:
    """A host's budget: 0 means no limit of that kind."""

    rate: float = 0.0  # requests per second
    concurrency: int = 0  # requests in flight

    @property
    def limited(self) -> bool:
        return self.rate > 0 or self.concurrency > 0


@dataclass(frozen=True)
class Lease:
    host: str
    token: str
    counted: bool  # holds one of the host's concurrency places


@dataclass(frozen=True)
class Grant:
    """``lease`` when the request may go now; else ``wait`` seconds before asking again, and
    ``why``: ``rate``, ``concurrency`` or ``slowed``."""

    lease: Lease | None
    wait: float = 0.0
    why: str = ""


class Budget(Protocol):
    def take(self, host: str, limits: Limits) -> Grant: ...

    def give_back(self, lease: Lease) -> None: ...

    def slow(self, host: str, seconds: float, reason: str) -> None: ...

    def hosts(self, limit: int = 1000) -> list[dict[str, Any]]: ...


@dataclass
class _Host:
    next: float = 0.0  # the earliest time of the next request (monotonic)
    paused_until: float = 0.0
    in_flight: int = 0
    granted: int = 0
    waited: int = 0
    slowed: int = 0
    limits: Limits = Limits()
    last: float = 0.0


class LocalBudget:
    """The budget of one process; thread-safe (the reactor's thread and the service's)."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def take(self, host: str, limits: Limits) -> Grant:
        if not limits.limited:
            return Grant(Lease(host, "", False))
        with self._lock:
            now = self.clock()
            state = self._hosts.setdefault(host, _Host())
            state.limits, state.last = limits, now
            if state.paused_until > now:
                state.waited += 1
                return Grant(None, state.paused_until - now, "slowed")
            if limits.concurrency and state.in_flight >= limits.concurrency:
                state.waited += 1
                return Grant(None, CONCURRENCY_POLL, "concurrency")
            if limits.rate and state.next > now:
                state.waited += 1
                return Grant(None, state.next - now, "rate")
            if limits.rate:
                state.next = max(state.next, now) + 1.0 / limits.rate
            counted = limits.concurrency > 0
            state.in_flight += counted
            state.granted += 1
            return Grant(Lease(host, uuid.uuid4().hex, counted))

    def give_back(self, lease: Lease) -> None:
        if not lease.counted:
            return
        with self._lock:
            state = self._hosts.get(lease.host)
            if state is not None and state.in_flight > 0:
                state.in_flight -= 1

    def slow(self, host: str, seconds: float, reason: str) -> None:
        with self._lock:
            state = self._hosts.setdefault(host, _Host())
            state.paused_until = max(state.paused_until, self.clock() + seconds)
            state.slowed += 1

    def hosts(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self._lock:
            now = self.clock()
            return [
                _host_json(
                    host,
                    s.limits,
                    s.in_flight,
                    s.granted,
                    s.waited,
                    s.slowed,
                    max(0.0, s.paused_until - now),
                )  # fmt: skip
                for host, s in sorted(self._hosts.items())[:limit]
            ]


def _host_json(
    host: str, limits: Limits, in_flight: int, granted: int, waited: int, slowed: int, paused: float
) -> dict[str, Any]:
    return {
        "host": host,
        "rate": limits.rate,
        "concurrency": limits.concurrency,
        "in_flight": in_flight,
        "granted": granted,
        "waited": waited,
        "slowed": slowed,
        "paused_for": round(paused, 3),
    }


# One Lua script per grant: KEYS[1] the host's hash, KEYS[2] its leases (a sorted set scored by
# expiry). ARGV: rate, concurrency, lease token, lease ttl (ms). Times are Redis's (ms).
# Answers {1, 0} granted, or {0, wait_ms, why}.
TAKE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rate = tonumber(ARGV[1])
local concurrency = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'rate', ARGV[1], 'concurrency', ARGV[2], 'last', now)
redis.call('PEXPIRE', KEYS[1], 86400000)
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
if paused > now then
  redis.call('HINCRBY', KEYS[1], 'waited', 1)
  return {0, paused - now, 'slowed'}
end
if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= concurrency then
    redis.call('HINCRBY', KEYS[1], 'waited', 1)
    return {0, 50, 'concurrency'}
  end
end
if rate > 0 then
  local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
  if nxt > now then
    redis.call('HINCRBY', KEYS[1], 'waited', 1)
    return {0, nxt - now, 'rate'}
  end
  redis.call('HSET', KEYS[1], 'next', math.max(nxt, now) + 1000 / rate)
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) + 60000)
end
redis.call('HINCRBY', KEYS[1], 'granted', 1)
return {1, 0}
"""

SLOW = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local until_ = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
if until_ > paused then redis.call('HSET', KEYS[1], 'paused_until', until_) end
redis.call('HINCRBY', KEYS[1], 'slowed', 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
return 1
"""


class RedisBudget:
    """The budget every process using this Redis shares (keys ``PREFIX{host}`` and
    ``PREFIX{host}:leases``)."""

    def __init__(self, client: Any, prefix: str = "crawler:budget:", lease_ttl: float = 300):
        self.client = client
        self.prefix = prefix
        self.lease_ttl_ms = int(lease_ttl * 1000)
        self._take = client.register_script(TAKE)
        self._slow = client.register_script(SLOW)

    def _keys(self, host: str) -> list[str]:
        return [f"{self.prefix}{host}", f"{self.prefix}{host}:leases"]

    def take(self, host: str, limits: Limits) -> Grant:
        if not limits.limited:
            return Grant(Lease(host, "", False))
        token = uuid.uuid4().hex
        args = [repr(float(limits.rate)), int(limits.concurrency), token, self.lease_ttl_ms]
        answer = self._take(keys=self._keys(host), args=args)
        if int(answer[0]) == 1:
            return Grant(Lease(host, token, limits.concurrency > 0))
        why = answer[2].decode() if isinstance(answer[2], bytes) else str(answer[2])
        return Grant(None, int(answer[1]) / 1000.0, why)

    def give_back(self, lease: Lease) -> None:
        if lease.counted:
            self.client.zrem(self._keys(lease.host)[1], lease.token)

    def slow(self, host: str, seconds: float, reason: str) -> None:
        self._slow(keys=self._keys(host)[:1], args=[int(seconds * 1000)])

    def hosts(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Every host with a budget in this Redis (at most ``limit``), for the dashboard."""
        out = []
        now_s, now_us = self.client.time()
        now = now_s * 1000 + now_us // 1000
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=500):
            name = key.decode() if isinstance(key, bytes) else key
            if name.endswith(":leases"):
                continue
            host = name[len(self.prefix) :]
            fields = {
                (k.decode() if isinstance(k, bytes) else k): float(v)
                for k, v in self.client.hgetall(name).items()
            }
            in_flight = self.client.zcount(f"{name}:leases", now, "+inf")
            limits = Limits(fields.get("rate", 0.0), int(fields.get("concurrency", 0)))
            paused = max(0.0, (fields.get("paused_until", 0) - now) / 1000)
            out.append(
                _host_json(host, limits, int(in_flight), int(fields.get("granted", 0)),
                           int(fields.get("waited", 0)), int(fields.get("slowed", 0)), paused)
            )  # fmt: skip
            if len(out) >= limit:
                break
        return sorted(out, key=lambda h: h["host"])


_local = LocalBudget()


def local_budget() -> LocalBudget:
    """The budget every crawl of this process shares."""
    return _local
