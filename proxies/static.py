"""A fixed list of proxies with per-domain health: the crawler's default pool.

Proxies come from the setting ``PROXY_LIST`` (a list, or a newline/comma separated string), from
the file named by ``PROXY_LIST_FILE`` (one proxy a line, ``#`` comments), or from the environment
variable named by ``PROXY_LIST_ENV``. Health is kept per (proxy, domain):

- a BAN benches the proxy for that domain only (``PROXY_BAN_BACKOFF`` seconds, doubled for every
  ban in a row, at most ``PROXY_BACKOFF_MAX``);
- a FAILURE (refused, reset, timeout) benches the proxy for every domain
  (``PROXY_FAILURE_BACKOFF`` doubled likewise);
- a SUCCESS clears both streaks.

>>> pool = StaticProxyPool(["127.0.0.1:1", "http://u:p@127.0.0.1:2"], clock=lambda: 0.0)
>>> [p.label for p in pool.candidates("a.example")]  # doctest: +ELLIPSIS
['http://127.0.0.1:1', 'http://***@127.0.0.1:2#...']
>>> pool.report(pool.candidates("a.example")[0], Outcome.BAN, domain="a.example")
60.0
>>> [p.address for p in pool.candidates("a.example")], len(pool.candidates("b.example"))
(['127.0.0.1:2'], 2)
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxies.model import Outcome, Proxy, mask_url
from proxies.settings import PoolSettings

logger = logging.getLogger(__name__)


def parse_proxy_list(value: str | Iterable[str] | None) -> list[str]:
    """Split a list setting: a list, or a string separated by newlines or commas; drop comments.

    >>> parse_proxy_list("a:1, b:2\\n# c:3\\n\\n d:4")
    ['a:1', 'b:2', 'd:4']
    """
    if not value:
        return []
    if isinstance(value, str):
        items: Iterable[str] = value.replace(",", "\n").splitlines()
    else:
        items = value
    # Only whole-line comments: a '#' may be part of a password.
    return [t for t in (str(i).strip() for i in items) if t and not t.startswith("#")]


@dataclass
class _Health:
    streak: int = 0  # bans (per domain) or failures (global) in a row
    benched_until: float = 0.0


class StaticProxyPool:
    """Implements the ``ProxyPool`` seam (proxies.model) over a fixed list."""

    def __init__(
        self,
        proxies: Iterable[str | Proxy],
        *,
        ban_backoff: float = 60.0,
        failure_backoff: float = 10.0,
        backoff_max: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._proxies: dict[str, Proxy] = {}
        for item in proxies:
            try:
                proxy = item if isinstance(item, Proxy) else Proxy.parse(item, source="static")
            except ValueError as exc:
                raise ValueError(f"bad proxy in the proxy list: {exc}") from None
            self._proxies.setdefault(proxy.key, proxy)
        self.ban_backoff = ban_backoff
        self.failure_backoff = failure_backoff
        self.backoff_max = backoff_max
        self._clock = clock
        self._rng = rng or random.Random()
        self._domain_health: dict[tuple[str, str], _Health] = {}
        self._global_health: dict[str, _Health] = {}
        self._stats: dict[str, dict[str, float]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> StaticProxyPool:
        return cls.from_settings(crawler.settings)

    @classmethod
    def from_settings(cls, settings: Any) -> StaticProxyPool:
        settings = PoolSettings.wrap(settings)
        items = parse_proxy_list(settings.get("PROXY_LIST"))
        path = settings.getoptional("PROXY_LIST_FILE")
        if path:
            try:
                items += parse_proxy_list(Path(path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise ValueError(
                    f"PROXY_LIST_FILE {path!r} cannot be read: {exc.strerror}"
                ) from None
        env = settings.getoptional("PROXY_LIST_ENV")
        if env:
            if env not in os.environ:
                logger.warning("PROXY_LIST_ENV names %s, which is not set", env)
            items += parse_proxy_list(os.environ.get(env, ""))
        return cls(
            items,
            ban_backoff=settings.getfloat("PROXY_BAN_BACKOFF"),
            failure_backoff=settings.getfloat("PROXY_FAILURE_BACKOFF"),
            backoff_max=settings.getfloat("PROXY_BACKOFF_MAX"),
        )

    def __len__(self) -> int:
        return len(self._proxies)

    def unsupported(self, schemes: Collection[str]) -> list[Proxy]:
        return [p for p in self._proxies.values() if p.scheme not in schemes]

    def not_configured(self) -> str | None:
        if self._proxies:
            return None
        return "no proxies configured (PROXY_LIST, PROXY_LIST_FILE, PROXY_LIST_ENV)"

    @property
    def proxies(self) -> list[Proxy]:
        return list(self._proxies.values())

    def _usable(self, proxy: Proxy, domain: str, now: float) -> bool:
        g = self._global_health.get(proxy.key)
        if g and g.benched_until > now:
            return False
        d = self._domain_health.get((proxy.key, domain))
        return not (d and d.benched_until > now)

    def candidates(self, domain: str) -> list[Proxy]:
        """Usable proxies for ``domain``, the least troubled first (fewest failures, then bans)."""
        now = self._clock()
        usable = [p for p in self._proxies.values() if self._usable(p, domain, now)]

        def trouble(p: Proxy) -> tuple[int, int]:
            g = self._global_health.get(p.key)
            d = self._domain_health.get((p.key, domain))
            return (g.streak if g else 0, d.streak if d else 0)

        return sorted(usable, key=trouble)

    def get(self, domain: str) -> Proxy | None:
        usable = self.candidates(domain)
        if not usable:
            return None
        best = [p for p in usable if p is usable[0] or _same_trouble(self, p, usable[0], domain)]
        return self._rng.choice(best)

    def next_available_in(self, domain: str) -> float | None:
        """Seconds until some proxy is usable for ``domain`` again (0.0 if one is), None if the
        list is empty."""
        if not self._proxies:
            return None
        now = self._clock()
        waits = []
        for p in self._proxies.values():
            g = self._global_health.get(p.key)
            d = self._domain_health.get((p.key, domain))
            until = max(g.benched_until if g else 0.0, d.benched_until if d else 0.0)
            waits.append(max(0.0, until - now))
        return min(waits)

    def report(
        self,
        proxy: Proxy,
        outcome: Outcome,
        domain: str | None = None,
        latency: float | None = None,
    ) -> float:
        """Record an outcome; return how long (seconds) the proxy was benched by it (0 if not)."""
        self._proxies.setdefault(proxy.key, proxy)
        now = self._clock()
        g = self._global_health.setdefault(proxy.key, _Health())
        if outcome is Outcome.SUCCESS:
            g.streak = 0
            if domain is not None:
                d = self._domain_health.get((proxy.key, domain))
                if d:
                    d.streak = 0
            return 0.0
        if outcome is Outcome.FAILURE:
            health, base = g, self.failure_backoff
        else:
            health = self._domain_health.setdefault((proxy.key, domain or ""), _Health())
            base = self.ban_backoff
        if health.benched_until > now:
            # Requests sent before the bench are still coming back: not a new strike.
            return 0.0
        health.streak += 1
        duration = min(base * 2 ** (health.streak - 1), self.backoff_max)
        health.benched_until = now + duration
        logger.debug(
            "proxy %s benched for %.1fs after %s%s",
            proxy.label,
            duration,
            outcome.value,
            f" on {domain}" if domain and outcome is Outcome.BAN else "",
        )
        return duration


def _same_trouble(pool: StaticProxyPool, a: Proxy, b: Proxy, domain: str) -> bool:
    def t(p: Proxy) -> tuple[int, int]:
        g = pool._global_health.get(p.key)
        d = pool._domain_health.get((p.key, domain))
        return (g.streak if g else 0, d.streak if d else 0)

    return t(a) == t(b)


__all__ = ["StaticProxyPool", "parse_proxy_list", "mask_url"]
