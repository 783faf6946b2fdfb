"""Rotation policies: which of the pool's usable proxies a request goes through (``PROXY_POLICY``).

A policy is a class with ``choose(candidates, *, domain, session) -> Proxy``; ``candidates`` is
never empty and is ordered best first by the pool. ``PROXY_POLICY`` is one of the names in
:data:`POLICIES` or a dotted path to such a class.

>>> from proxies.model import Proxy
>>> a, b, c = (Proxy.parse(f"127.0.0.1:{i}") for i in (1, 2, 3))
>>> rr = RoundRobinPolicy()
>>> [rr.choose([a, b, c], domain="x", session=None).port for _ in range(4)]
[1, 2, 3, 1]
>>> sticky = StickyDomainPolicy()
>>> first = sticky.choose([a, b, c], domain="x", session=None)
>>> all(sticky.choose([a, b, c], domain="x", session=None) is first for _ in range(5))
True
"""

from __future__ import annotations

import itertools
import random
from typing import Protocol

from scrapy.utils.misc import load_object

from proxies.model import Proxy


class RotationPolicy(Protocol):
    def choose(self, candidates: list[Proxy], *, domain: str, session: str | None) -> Proxy: ...


class RandomPolicy:
    """Uniformly among the usable proxies."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()

    def choose(self, candidates: list[Proxy], *, domain: str, session: str | None) -> Proxy:
        return self.rng.choice(candidates)


class RoundRobinPolicy:
    """Each domain walks the proxy list in a fixed order, skipping benched ones."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count] = {}

    def choose(self, candidates: list[Proxy], *, domain: str, session: str | None) -> Proxy:
        ordered = sorted(candidates, key=lambda p: p.key)
        n = next(self._counters.setdefault(domain, itertools.count()))
        return ordered[n % len(ordered)]


class LeastRecentlyUsedPolicy:
    """The usable proxy that was used longest ago (never used first), across domains."""

    def __init__(self) -> None:
        self._last_used: dict[str, float] = {}
        self._tick = itertools.count()

    def choose(self, candidates: list[Proxy], *, domain: str, session: str | None) -> Proxy:
        proxy = min(candidates, key=lambda p: self._last_used.get(p.key, -1.0))
        # A counter, not the clock: two picks in the same clock tick must still differ.
        self._last_used[proxy.key] = float(next(self._tick))
        return proxy


class StickyDomainPolicy:
    """One proxy per domain, kept while it stays usable; then the least recently assigned."""

    def __init__(self) -> None:
        self._assigned: dict[str, str] = {}
        self._fallback = LeastRecentlyUsedPolicy()

    def _key(self, domain: str, session: str | None) -> str:
        return domain

    def choose(self, candidates: list[Proxy], *, domain: str, session: str | None) -> Proxy:
        key = self._key(domain, session)
        current = self._assigned.get(key)
        for p in candidates:
            if p.key == current:
                return p
        taken = set(self._assigned.values())
        free = [p for p in candidates if p.key not in taken] or candidates
        proxy = self._fallback.choose(free, domain=domain, session=session)
        self._assigned[key] = proxy.key
        return proxy


class StickySessionPolicy(StickyDomainPolicy):
    """One proxy per session (``meta['antiban_session']`` or ``meta['cookiejar']``) and domain."""

    def _key(self, domain: str, session: str | None) -> str:
        return f"{session}\x00{domain}" if session is not None else domain


POLICIES = {  # the names are the ones a rule may use (crawler.rules.sections.antiban)
    "random": RandomPolicy,
    "round_robin": RoundRobinPolicy,
    "lru": LeastRecentlyUsedPolicy,
    "sticky_domain": StickyDomainPolicy,
    "sticky_session": StickySessionPolicy,
}


def policy_class(name: str) -> type:
    """The policy class for a name in POLICIES (what a rule may say) or a dotted class path (a
    project setting); build it with ``scrapy.utils.misc.build_from_crawler``."""
    if name in POLICIES:
        return POLICIES[name]
    if "." in name:
        return load_object(name)
    raise ValueError(f"PROXY_POLICY {name!r} is not one of {', '.join(POLICIES)} nor a class path")
