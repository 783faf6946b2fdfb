"""Scored proxy pools over a store: in-process (embedded store) or shared (Redis store).

Both implement :class:`proxies.model.ProxyPool` and are built with ``from_settings`` (or
``from_crawler``, by the crawler's middleware through ``build_from_crawler``). Settings read
here (defaults in :mod:`proxies.defaults`):

``PROXY_POOL_STORE``          ``sqlite:///…`` (embedded), ``memory:``, ``redis://…`` (shared)
``PROXY_POOL_REDIS_URL``      the Redis pool's server when ``PROXY_POOL_STORE`` is not a redis URL
``PROXY_POOL_PAID``           True: paid proxies only; False: free only; None: both
``PROXY_POOL_MIN_ANONYMITY``  ``transparent`` | ``anonymous`` | ``elite`` (None: any)
``PROXY_POOL_HTTPS``          only proxies that passed the CONNECT check
``PROXY_POOL_TARGETS``        ``{domain: {"url": ..., "marker": ...}}``: target-specific checks;
                              for these domains the pool serves proxies proven on the site
``PROXY_POOL_PROVEN_ONLY``    True: never fall back to unproven proxies for a target domain
plus the scoring knobs of :class:`proxies.scoring.ScoringPolicy` (``PROXY_POOL_MAX_FAILURES``,
``PROXY_POOL_BENCH_BASE``, ``PROXY_POOL_RECHECK_*``, ``PROXY_POOL_PICK_TOP``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from proxies.model import Anonymity, Outcome, Proxy
from proxies.pool_store import (
    EmbeddedStore,
    ProxyStore,
    StoreError,
    open_pool_store,
    store_from_uri,
)
from proxies.scoring import Filters, ProxyRecord, ScoringPolicy
from proxies.settings import PoolSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetCheck:
    """A site's own check: fetch ``url`` through the proxy and expect ``marker`` in the body."""

    domain: str
    url: str
    marker: str = ""

    @classmethod
    def parse_all(cls, value: Any) -> list[TargetCheck]:
        if not value:
            return []
        if isinstance(value, str):
            import json

            value = json.loads(value)
        if not isinstance(value, Mapping):
            raise ValueError("PROXY_POOL_TARGETS must map a domain to {url, marker}")
        out = []
        for domain, spec in dict(value).items():
            if isinstance(spec, str):
                spec = {"url": spec}
            out.append(cls(domain=domain.lower(), url=spec["url"], marker=spec.get("marker", "")))
        return out


def filters_from_settings(settings: Any) -> Filters:
    s = PoolSettings.wrap(settings)
    paid = s.getoptional("PROXY_POOL_PAID")
    anon = s.getoptional("PROXY_POOL_MIN_ANONYMITY")
    return Filters(
        paid=None if paid is None else s.getbool("PROXY_POOL_PAID"),
        min_anonymity=Anonymity.parse(anon) if anon else None,
        https=s.getbool("PROXY_POOL_HTTPS"),
    )


def target_domain(domain: str | None, targets: Iterable[str]) -> str | None:
    """The configured target a domain belongs to (``shop.example.com`` -> ``example.com``)."""
    if not domain:
        return None
    domain = domain.lower()
    for t in targets:
        if domain == t or domain.endswith("." + t):
            return t
    return None


class StoredProxyPool:
    """A :class:`ProxyPool` over any :class:`ProxyStore`, scored by a :class:`ScoringPolicy`."""

    def __init__(
        self,
        store: ProxyStore,
        policy: ScoringPolicy | None = None,
        filters: Filters | None = None,
        targets: Iterable[TargetCheck] = (),
        proven_only: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or ScoringPolicy()
        self.filters = filters or Filters()
        self.targets = {t.domain: t for t in targets}
        self.proven_only = proven_only
        self.rng = rng or random.Random()

    @classmethod
    def from_crawler(cls, crawler: Any) -> StoredProxyPool:
        return cls.from_settings(crawler.settings)

    @classmethod
    def from_settings(cls, settings: Any) -> StoredProxyPool:
        return cls._build(open_pool_store(settings), settings)

    @classmethod
    def _build(cls, store: ProxyStore, settings: Any) -> StoredProxyPool:
        s = PoolSettings.wrap(settings)
        return cls(
            store,
            policy=ScoringPolicy.from_settings(s),
            filters=filters_from_settings(s),
            targets=TargetCheck.parse_all(s.getdict("PROXY_POOL_TARGETS")),
            proven_only=s.getbool("PROXY_POOL_PROVEN_ONLY"),
        )

    # -- the ProxyPool protocol -----------------------------------------------------------
    def get(self, domain: str | None = None, **filters: Any) -> Proxy | None:
        ordered = self._ranked(domain, filters)
        rec = self.policy.pick(ordered, self._score_domain(domain), self.rng)
        return rec.proxy if rec else None

    def candidates(self, domain: str | None = None, **filters: Any) -> list[Proxy]:
        return [r.proxy for r in self._ranked(domain, filters)]

    def report(
        self,
        proxy: Proxy,
        outcome: Outcome,
        domain: str | None = None,
        latency: float | None = None,
    ) -> float:
        """Record an outcome; return the seconds the proxy is benched by it (0 if not)."""
        now = time.time()
        scored = self._score_domain(domain)
        benched = [0.0]

        def change(rec: ProxyRecord) -> None:
            benched[0] = self.policy.apply(rec, outcome, scored, latency, now)

        rec = self.store.update(proxy.key, change)
        if rec is None:
            logger.debug("report for unknown proxy %s ignored", proxy.label)
            return 0.0
        if self.policy.is_dead(rec):
            self.store.remove([rec.key])
            logger.info("proxy %s dropped after %d failures in a row", proxy.label, rec.fail_streak)
        return benched[0]

    def __len__(self) -> int:
        return self.store.count()

    def next_available_in(self, domain: str) -> float | None:
        """Seconds until a benched proxy comes back for ``domain`` (0.0 if one is usable)."""
        now = time.time()
        if self._ranked(domain, {}):
            return 0.0
        waits = [
            max(r.benched_until, r.domain_benched_until.get(domain, 0.0)) - now
            for r in self.store.all()
            if self.filters.accepts(r) and r.alive is not False
        ]
        waits = [w for w in waits if w > 0]
        return min(waits) if waits else None

    def unsupported(self, schemes: Collection[str]) -> list[Proxy]:
        return [r.proxy for r in self.store.all() if r.proxy.scheme not in schemes]

    def not_configured(self) -> str | None:
        return None  # an empty store may be filled any time (`python -m proxies fetch`)

    # -- more than the protocol -----------------------------------------------------------
    def records(self, domain: str | None = None, **filters: Any) -> list[ProxyRecord]:
        """Usable records, best first (for the API and the commands)."""
        return self._ranked(domain, filters)

    def pop(self, domain: str | None = None, **filters: Any) -> Proxy | None:
        """Pick a proxy and remove it from the pool (jhao104's ``/pop``)."""
        proxy = self.get(domain, **filters)
        if proxy is not None:
            self.store.remove([proxy.key])
        return proxy

    def close(self) -> None:
        self.store.close()

    def _score_domain(self, domain: str | None) -> str | None:
        return target_domain(domain, self.targets) or (domain.lower() if domain else None)

    def _ranked(self, domain: str | None, overrides: Mapping[str, Any]) -> list[ProxyRecord]:
        filters = self._filters(overrides)
        now = time.time()
        target = target_domain(domain, self.targets)
        if target is not None:
            proven = self.store.ranked(self.policy, target, now, filters, proven_only=True)
            if proven or self.proven_only:
                return proven
        return self.store.ranked(self.policy, self._score_domain(domain), now, filters)

    def _filters(self, overrides: Mapping[str, Any]) -> Filters:
        if not overrides:
            return self.filters
        f = self.filters
        anon = overrides.get("anonymity", overrides.get("min_anonymity", f.min_anonymity))
        return Filters(
            paid=overrides.get("paid", f.paid),
            min_anonymity=Anonymity.parse(anon) if anon else None,
            https=bool(overrides.get("https", f.https)),
            scheme=overrides.get("scheme", f.scheme),
        )


class EmbeddedProxyPool(StoredProxyPool):
    """The in-process pool for one machine: records in memory, persisted to SQLite."""

    @classmethod
    def from_settings(cls, settings: Any) -> EmbeddedProxyPool:
        s = PoolSettings.wrap(settings)
        uri = s.get("PROXY_POOL_STORE")
        if not str(uri).startswith(("sqlite:", "memory:")):
            raise StoreError("EmbeddedProxyPool needs a sqlite:/// or memory: PROXY_POOL_STORE")
        return cls._build(open_pool_store(s), s)  # type: ignore[return-value]


class RedisProxyPool(StoredProxyPool):
    """The pool shared by many crawl processes through Redis (sorted sets)."""

    @classmethod
    def from_settings(cls, settings: Any) -> RedisProxyPool:
        from proxies.proxy_keys import configure_keys

        s = PoolSettings.wrap(settings)
        uri = s.get("PROXY_POOL_STORE")
        if not str(uri).startswith(("redis://", "rediss://", "unix://")):
            uri = s.get("PROXY_POOL_REDIS_URL")
        configure_keys(s)
        return cls._build(store_from_uri(uri, s), s)  # type: ignore[return-value]


def memory_pool(proxies: Iterable[Proxy] = (), **kwargs: Any) -> StoredProxyPool:
    """A throwaway in-memory pool (tests, one-off scripts)."""
    store = EmbeddedStore(None)
    store.add(proxies)
    return StoredProxyPool(store, **kwargs)
