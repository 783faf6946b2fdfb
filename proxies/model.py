"""The proxy pool's data model and its seam with the crawler.

A crawler asks a pool for a proxy with ``get(domain)`` (or lists the usable ones with
``candidates(domain)`` to apply its own rotation policy) and tells it how the proxy did with
``report(proxy, outcome, domain=...)``. How a pool stores and scores proxies is its own business.

>>> p = Proxy.parse("http://alice:s3cret@10.0.0.1:3128")
>>> p.host, p.port, p.username
('10.0.0.1', 3128, 'alice')
>>> "s3cret" in p.label or "alice" in p.label
False
>>> Proxy.parse("10.0.0.1:8080").url
'http://10.0.0.1:8080'
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

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
        """A stable identity: credentials are part of it, but only as a digest."""
        if self.username is None:
            return f"{self.scheme}://{self.address}"
        digest = hashlib.sha1(f"{self.username}:{self.password}".encode()).hexdigest()[:10]
        return f"{self.scheme}://{self.address}#{digest}"

    @property
    def label(self) -> str:
        """Safe to log, to put in stats and to show in an API: no user name, no password."""
        if self.username is None:
            return f"{self.scheme}://{self.address}"
        return f"{self.scheme}://***@{self.address}#{self.key.rsplit('#', 1)[1][:6]}"

    def __str__(self) -> str:
        return self.label


class ProxyPool(Protocol):
    """The seam between crawler and pool.

    Implementations: proxies.static.StaticProxyPool, proxies.pool.EmbeddedProxyPool (in-process,
    SQLite-backed), proxies.pool.RedisProxyPool (shared through Redis) and
    proxies.client.HttpApiProxyPool (through ``scrapy proxies serve``). Each is built with
    ``from_settings(settings)``.
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
    ) -> None:
        """Record how ``proxy`` did against ``domain``."""
