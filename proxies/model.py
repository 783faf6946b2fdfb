"""The proxy pool's data model and its seam with the crawler.

A crawler asks a pool for a proxy with ``get(domain)`` (or lists the usable ones with
``candidates(domain)`` to apply its own rotation policy) and tells it how the proxy did with
``report(proxy, outcome, domain=...)``. How a pool stores and scores proxies is its own business.

>>> p = Proxy.parse("http://alice:s3cret@10.0.0.1:3128")
>>> p.host, p.port, p.username
('10.0.0.1', 3128, 'alice')
>>> "s3cret" in p.label or "alice" in p.label or "s3cret" in repr(p)
False
>>> Proxy.parse("10.0.0.1:8080").url
'http://10.0.0.1:8080'
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

from proxies.proxy_keys import credential_digest
from vocab import Outcome, mask_url

__all__ = ["Anonymity", "Outcome", "Proxy", "ProxyPool", "mask_url"]

SCHEMES = ("http", "https", "socks4", "socks5")


class Anonymity(enum.IntEnum):
    """What a proxy reveals to the site it fetches from; a higher value reveals less.

    >>> Anonymity.parse("elite") > Anonymity.TRANSPARENT
    True
    """

    TRANSPARENT = 1  # the site sees the client's own address
    ANONYMOUS = 2  # the client's address is hidden, but the site can tell a proxy is in the way
    ELITE = 3  # the site sees a plain client at the proxy's address

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str | Anonymity) -> Anonymity:
        if isinstance(text, Anonymity):
            return text
        name = str(text).strip().upper()
        aliases = {"HIGH": "ELITE", "HIGH_ANONYMOUS": "ELITE", "ANON": "ANONYMOUS"}
        name = aliases.get(name, name)
        try:
            return cls[name]
        except KeyError:
            choices = ", ".join(a.label for a in cls)
            raise ValueError(
                f"unknown anonymity level {text!r} (expected one of {choices})"
            ) from None


@dataclass(frozen=True)
class Proxy:
    """One proxy endpoint. Two proxies that differ only in credentials are distinct."""

    host: str
    port: int
    scheme: str = "http"
    username: str | None = field(default=None, repr=False)  # with the password: never in logs
    password: str | None = field(default=None, repr=False)
    source: str = ""
    paid: bool = False

    @classmethod
    def parse(cls, text: str, *, source: str = "", paid: bool = False) -> Proxy:
        """Parse ``[scheme://][user:pass@]host:port``; raise ValueError with the reason."""
        raw = text.strip()
        if not raw:
            raise ValueError("empty proxy address")
        if "://" not in raw:
            raw = "http://" + raw
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(
                f"unsupported proxy scheme {scheme!r} (expected one of {', '.join(SCHEMES)})"
            )
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"invalid port in proxy address {mask_url(text)!r}") from None
        if not parts.hostname or port is None:
            raise ValueError(f"proxy address {mask_url(text)!r} needs host:port")
        return cls(
            host=parts.hostname,
            port=port,
            scheme=scheme,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            source=source,
            paid=paid,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The full URL, credentials included: for the downloader only, never for logs."""
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return f"{self.scheme}://{auth}{self.address}"

    @property
    def key(self) -> str:
        """A stable identity: credentials are part of it, but only as a keyed digest
        (HMAC-SHA256 with the deployment secret, :mod:`proxies.proxy_keys`)."""
        if self.username is None and self.password is None:
            return f"{self.scheme}://{self.address}"
        return f"{self.scheme}://{self.address}#{credential_digest(self.username, self.password)}"

    @property
    def label(self) -> str:
        """Safe to log, to put in stats and to show in an API: no user name, no password."""
        if self.username is None and self.password is None:
            return f"{self.scheme}://{self.address}"
        return f"{self.scheme}://***@{self.address}#{self.key.rsplit('#', 1)[1][:6]}"

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Proxy({self.label!r}, source={self.source!r}, paid={self.paid})"


class ProxyPool(Protocol):
    """The seam between crawler and pool: what every implementation offers and returns.

    Implementations: :class:`proxies.static.StaticProxyPool` (a fixed list),
    :class:`proxies.pool.EmbeddedProxyPool` (in-process, SQLite-backed),
    :class:`proxies.pool.RedisProxyPool` (shared through Redis) and
    :class:`proxies.client.HttpApiProxyPool` (through ``python -m proxies serve``). Each is built
    with ``from_settings(settings)``, or ``from_crawler(crawler)`` (what
    ``scrapy.utils.misc.build_from_crawler`` calls) from the crawler's settings.
    """

    def get(self, domain: str) -> Proxy | None:
        """The pool's own pick for ``domain`` (best scores, with randomness), or None if none is usable."""

    def candidates(self, domain: str) -> list[Proxy]:
        """Every proxy usable for ``domain`` now (not benched), best first."""

    def report(
        self,
        proxy: Proxy,
        outcome: Outcome,
        domain: str | None = None,
        latency: float | None = None,
    ) -> float:
        """Record how ``proxy`` did against ``domain``; return the seconds this outcome benches
        it for (for ``domain`` after a ban, everywhere after a failure), 0.0 when not benched."""

    def __len__(self) -> int:
        """How many proxies the pool knows (usable or not), for logs."""

    def next_available_in(self, domain: str) -> float | None:
        """Seconds until some proxy may be usable for ``domain`` (0.0: one is now); None when
        the pool cannot tell (the caller polls)."""

    def unsupported(self, schemes: Collection[str]) -> list[Proxy]:
        """The pool's proxies whose scheme is not in ``schemes`` (a client that speaks only
        HTTP proxies lists the SOCKS ones it skips)."""

    def not_configured(self) -> str | None:
        """Why this pool can never serve a proxy (say, an empty static list: the caller turns
        itself off), or None when it can or may later (a store filled by ``fetch``)."""
