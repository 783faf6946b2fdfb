"""The shared store: proxy records in Redis, ranked with sorted sets.

Many crawl processes on many machines share one pool. Layout under ``prefix`` (default
``proxypool``):

``{prefix}:r:{key}``       one record, JSON (credentials included: keep Redis private)
``{prefix}:score``         sorted set, key -> overall score (the index of all records)
``{prefix}:due``           sorted set, key -> next check time (epoch seconds)
``{prefix}:d:{domain}``    sorted set, key -> that domain's score
``{prefix}:domains``       set of the domains with a sorted set

Changes are read-modify-write under ``WATCH`` on the one record, retried on conflict, so two
processes reporting on the same proxy at once both count. Scoring is the same
:class:`proxies.scoring.ScoringPolicy` as the embedded store's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

from proxies.model import Proxy, mask_url
from proxies.pool_store import StoreError
from proxies.scoring import INITIAL_SCORE, Filters, ProxyRecord, ScoringPolicy
from proxies.settings import PoolSettings

CHUNK = 500


class RedisStore:
    def __init__(
        self, client: redis.Redis, prefix: str = "proxypool", candidate_limit: int = 200
    ) -> None:
        self.r = client
        self.prefix = prefix
        self.candidate_limit = candidate_limit

    @classmethod
    def from_url(cls, url: str, prefix: str = "proxypool", **kwargs: Any) -> RedisStore:
        """Connect (and ping: an unreachable server is a :class:`StoreError` here, not a
        traceback at the first read)."""
        try:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(
                f"cannot reach the proxy store at {mask_url(url)}: {type(exc).__name__}: "
                f"{mask_url(str(exc))[:160]} (is redis-server running there? set PROXY_POOL_STORE)"
            ) from None
        return cls(client, prefix=prefix, **kwargs)

    @classmethod
    def from_uri(cls, uri: str, settings: Any = None) -> RedisStore:
        s = PoolSettings.wrap(settings)
        return cls.from_url(uri, prefix=s.get("PROXY_POOL_REDIS_PREFIX"))

    # -- keys -----------------------------------------------------------------------------
    def _rec(self, key: str) -> str:
        return f"{self.prefix}:r:{key}"

    @property
    def _score(self) -> str:
        return f"{self.prefix}:score"

    @property
    def _due(self) -> str:
        return f"{self.prefix}:due"

    def _dom(self, domain: str) -> str:
        return f"{self.prefix}:d:{domain}"

    @property
    def _domains(self) -> str:
        return f"{self.prefix}:domains"

    # -- the ProxyStore interface ---------------------------------------------------------
    def add(self, proxies: Iterable[Proxy], now: float | None = None) -> int:
        now = time.time() if now is None else now
        records = [ProxyRecord(p, added_at=now, next_check_at=now) for p in proxies]
        if not records:
            return 0
        pipe = self.r.pipeline(transaction=False)
        for rec in records:
            pipe.set(self._rec(rec.key), rec.to_json(), nx=True)
        created = pipe.execute()
        pipe = self.r.pipeline(transaction=False)
        added = 0
        for rec, was_set in zip(records, created, strict=True):
            if was_set:
                added += 1
                pipe.zadd(self._score, {rec.key: rec.score}, nx=True)
                pipe.zadd(self._due, {rec.key: rec.next_check_at}, nx=True)
        pipe.execute()
        return added

    def get(self, key: str) -> ProxyRecord | None:
        raw = self.r.get(self._rec(key))
        return ProxyRecord.from_json(raw) if raw else None

    def _load(self, keys: list[str]) -> list[ProxyRecord]:
        out: list[ProxyRecord] = []
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            for raw in self.r.mget([self._rec(k) for k in chunk]):
                if raw:
                    out.append(ProxyRecord.from_json(raw))
        return out

    def all(self) -> list[ProxyRecord]:
        keys = [k.decode() for k in self.r.zrevrange(self._score, 0, -1)]
        return self._load(keys)

    def _write(self, pipe: Any, rec: ProxyRecord) -> None:
        pipe.set(self._rec(rec.key), rec.to_json())
        pipe.zadd(self._score, {rec.key: rec.score})
        pipe.zadd(self._due, {rec.key: rec.next_check_at})
        for domain, score in rec.domain_scores.items():
            pipe.zadd(self._dom(domain), {rec.key: score})
            pipe.sadd(self._domains, domain)

    def save(self, records: Iterable[ProxyRecord]) -> None:
        pipe = self.r.pipeline(transaction=True)
        for rec in records:
            self._write(pipe, rec)
        pipe.execute()

    def update(self, key: str, change: Callable[[ProxyRecord], None]) -> ProxyRecord | None:
        name = self._rec(key)
        for _ in range(50):
            with self.r.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(name)
                    raw = pipe.get(name)
                    if not raw:
                        pipe.unwatch()
                        return None
                    rec = ProxyRecord.from_json(raw)
                    change(rec)
                    pipe.multi()
                    self._write(pipe, rec)
                    pipe.execute()
                    return rec
                except redis.WatchError:
                    continue
        raise RuntimeError(f"too much contention updating proxy {key.split('#', 1)[0]}")

    def update_many(
        self, changes: Mapping[str, Callable[[ProxyRecord], None]]
    ) -> dict[str, ProxyRecord | None]:
        """Read every record in one round trip, change them, write them in one transaction
        (``WATCH``ed: if another process changed one meanwhile, the batch is redone, and after
        a few conflicts each record is updated on its own)."""
        out: dict[str, ProxyRecord | None] = {}
        keys = list(changes)
        for i in range(0, len(keys), CHUNK):
            chunk = keys[i : i + CHUNK]
            names = [self._rec(k) for k in chunk]
            for _ in range(5):
                with self.r.pipeline(transaction=True) as pipe:
                    try:
                        pipe.watch(*names)
                        raws = pipe.mget(names)
                        recs = [ProxyRecord.from_json(raw) if raw else None for raw in raws]
                        pipe.multi()
                        for key, rec in zip(chunk, recs, strict=True):
                            if rec is not None:
                                changes[key](rec)
                                self._write(pipe, rec)
                        pipe.execute()
                        out.update(zip(chunk, recs, strict=True))
                        break
                    except redis.WatchError:
                        continue
            else:
                for key in chunk:
                    out[key] = self.update(key, changes[key])
        return out

    def remove(self, keys: Iterable[str]) -> int:
        keys = list(keys)
        if not keys:
            return 0
        domains = [d.decode() for d in self.r.smembers(self._domains)]
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(*[self._rec(k) for k in keys])
        pipe.zrem(self._score, *keys)
        pipe.zrem(self._due, *keys)
        for d in domains:
            pipe.zrem(self._dom(d), *keys)
        return int(pipe.execute()[0])

    def ranked(
        self,
        policy: ScoringPolicy,
        domain: str | None,
        now: float,
        filters: Filters | None = None,
        proven_only: bool = False,
    ) -> list[ProxyRecord]:
        """Best records first, reading the sorted set in chunks until ``candidate_limit``
        usable ones are found (a pool of thousands is not read whole on every request)."""
        zset = self._dom(domain) if (proven_only and domain) else self._score
        low = f"({INITIAL_SCORE}" if (proven_only and domain) else "-inf"
        usable: list[ProxyRecord] = []
        start = 0
        while len(usable) < self.candidate_limit:
            keys = [
                k.decode()
                for k in self.r.zrevrangebyscore(zset, "+inf", low, start=start, num=CHUNK)
            ]
            if not keys:
                break
            start += len(keys)
            usable.extend(policy.order(self._load(keys), domain, now, filters, proven_only))
        return policy.order(usable, domain, now)[: self.candidate_limit]

    def due(self, now: float, limit: int | None = None) -> list[ProxyRecord]:
        keys = self.r.zrangebyscore(self._due, "-inf", now, start=0, num=limit if limit else -1)
        return self._load([k.decode() for k in keys])

    def count(self) -> int:
        return int(self.r.zcard(self._score))

    def flush(self) -> None:
        """Nothing to do: every change is written at once."""

    def close(self) -> None:
        self.r.close()

    def clear(self) -> None:
        """Remove every key of this pool (tests, resets)."""
        keys = list(self.r.scan_iter(f"{self.prefix}:*", count=1000))
        for i in range(0, len(keys), CHUNK):
            self.r.delete(*keys[i : i + CHUNK])
