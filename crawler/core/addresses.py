"""The address policy of a crawl: private and loopback addresses are not for pages to reach.

A rule names the site it crawls; the pages of that site must not steer the crawler into the
network it runs in (an admin panel on 127.0.0.1, a metadata service on 169.254.169.254, a
database's HTTP port on 10.0.0.5). One policy, used by the static crawl's redirects
(:mod:`crawler.spider.url_guard`), by every navigation and sub-resource of a rendered page
(:mod:`crawler.render.guard`) and by preview (``scrapy preview`` and the data service's preview
runner): a URL whose host is, or resolves to, a private address (:data:`PRIVATE_NETWORKS`) is
refused (reason ``private_address``), unless it is one of the rule's own start origins: the same
host and port as a start URL (or an address that host resolves to, on that port). A rule whose
start is ``http://127.0.0.1:8000/`` (the sample site, an intranet crawl) keeps that origin and
nothing else: ``127.0.0.1:8001`` is another service and is refused.

Host names are resolved here (cached ``RESOLVE_TTL`` seconds, at most ``RESOLVE_CACHE`` of
them); a name that does not resolve is not refused (nothing can reach it), one whose resolution
times out is (``unresolved``). The browser and Twisted resolve names again themselves: a name
whose answer changes between the two looks (DNS rebinding) is the operator's to stop, at the
network's edge (docs/rendering.md).

>>> policy = AddressPolicy(frozenset({("127.0.0.1", 8000)}))
>>> policy.refusal_blocking("http://127.0.0.1:8000/book/1.html") is None
True
>>> policy.refusal_blocking("http://127.0.0.1:8001/admin"), policy.refusal_blocking("http://[::1]/")
('private_address', 'private_address')
>>> policy.refusal_blocking("http://10.1.2.3/"), policy.refusal_blocking("http://93.184.215.14/")
('private_address', None)
>>> is_private_address("::ffff:169.254.169.254"), is_private_address("100.100.100.200")
(True, True)
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any
from urllib.parse import urlsplit

from crawler.rules import templates
from crawler.rules.model import Rule

PRIVATE_NETWORKS = tuple(
    ip_network(n)
    for n in (
        "127.0.0.0/8",  # loopback
        "::1/128",
        "10.0.0.0/8",  # private (RFC 1918)
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",  # link-local: cloud metadata services
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the local host on Linux
        "::/128",
        "100.64.0.0/10",  # shared address space: carrier NAT, cloud metadata (100.100.100.200)
    )
)
RESOLVE_TIMEOUT = 5.0  # seconds for one name's resolution
RESOLVE_TTL = 60.0  # seconds a resolution is kept
RESOLVE_CACHE = 4096  # names kept
MAX_START_ORIGINS = 64  # start origins a policy keeps (ranges vary paths, rarely hosts)
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

Address = IPv4Address | IPv6Address
Origin = tuple[str, int]  # (lower-case host, port)


def ip_literal(host: str) -> Address | None:
    """The address ``host`` spells (IPv4-mapped IPv6 unwrapped), or None for a name."""
    try:
        address = ip_address(host.strip("[]"))
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_private_address(address: str | Address) -> bool:
    """Whether an address is loopback, private, link-local or otherwise local."""
    if isinstance(address, str):
        parsed = ip_literal(address)
        if parsed is None:
            return False
        address = parsed
    return any(address in network for network in PRIVATE_NETWORKS)


def on_domains(host: str, domains: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one, by host name whatever the
    port: what Scrapy's offsite middleware decides for a spider's ``allowed_domains``.

    >>> on_domains("shop.example.com", ["example.com"]), on_domains("badexample.com", ["example.com"])
    (True, False)
    """
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith(f".{d}") for d in (d.lower() for d in domains if d))


def origin_of(url: str) -> Origin | None:
    """``(host, port)`` of an http(s) or ws(s) URL (default ports filled in), else None."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not host or scheme not in DEFAULT_PORTS:
        return None
    return host.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


@dataclass
class AddressPolicy:
    """Refuses private and loopback destinations other than the rule's own start origins."""

    starts: frozenset[Origin] = frozenset()
    _cache: dict[str, tuple[float, tuple[Address, ...] | None]] = field(default_factory=dict)
    _start_addresses: frozenset[tuple[Address, int]] | None = None

    @classmethod
    def for_urls(cls, urls: Iterable[str]) -> AddressPolicy:
        origins = (origin_of(url) for url in urls)
        kept = itertools.islice(dict.fromkeys(o for o in origins if o), MAX_START_ORIGINS)
        return cls(frozenset(kept))

    def describe_starts(self) -> str:
        return ", ".join(f"{h}:{p}" for h, p in sorted(self.starts)) or "none"

    # --- asynchronous (the crawl's event loop) ----------------------------------------------

    async def refusal(self, url: str) -> str | None:
        """``private_address`` or ``unresolved`` when ``url`` may not be fetched, else None."""
        origin = origin_of(url)
        if origin is None:
            return None  # not a network URL: the scheme checks answer for it
        addresses = await self.addresses(origin[0])
        if self._start_addresses is None:
            found = [(h, p, await self.addresses(h)) for h, p in self.starts]
            self._start_addresses = self._start_pairs(found)
        return self._judge(origin, addresses)

    async def addresses(self, host: str) -> tuple[Address, ...] | None:
        """What ``host`` is or resolves to (``()``: nothing; None: the lookup timed out)."""
        known = self._known(host)
        if known is not False:
            return known  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
            )
            found: tuple[Address, ...] | None = _addresses(infos)
        except TimeoutError:
            found = None
        except (OSError, UnicodeError, ValueError):
            found = ()
        return self._keep(host, found)

    def refusal_now(self, url: str) -> str | None | type[Ellipsis]:
        """As :meth:`refusal` when it can be decided without resolving a name (an address
        literal, or a name resolved lately), else ``...``: a crawl's requests to its own site
        cost no coroutine."""
        origin = origin_of(url)
        if origin is None:
            return None
        if self._start_addresses is None:
            known = [(h, p, self._known(h)) for h, p in self.starts]
            if any(addresses is False for _, _, addresses in known):
                return ...
            self._start_addresses = self._start_pairs(known)  # type: ignore[arg-type]
        addresses = self._known(origin[0])
        if addresses is False:
            return ...
        return self._judge(origin, addresses)  # type: ignore[arg-type]

    def _known(self, host: str) -> tuple[Address, ...] | None | bool:
        literal = ip_literal(host)
        return (literal,) if literal is not None else self._cached(host)

    # --- blocking (commands, the data service's worker threads) -----------------------------

    def refusal_blocking(self, url: str) -> str | None:
        """As :meth:`refusal`, resolving names in this thread."""
        origin = origin_of(url)
        if origin is None:
            return None
        if self._start_addresses is None:
            found = [(h, p, self.addresses_blocking(h)) for h, p in self.starts]
            self._start_addresses = self._start_pairs(found)
        return self._judge(origin, self.addresses_blocking(origin[0]))

    def addresses_blocking(self, host: str) -> tuple[Address, ...] | None:
        known = self._known(host)
        if known is not False:
            return known  # type: ignore[return-value]
        try:
            found: tuple[Address, ...] | None = _addresses(
                socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
            )
        except (OSError, UnicodeError, ValueError):
            found = ()
        return self._keep(host, found)

    # --- the decision ------------------------------------------------------------------------

    def _judge(self, origin: Origin, addresses: tuple[Address, ...] | None) -> str | None:
        if addresses is None:
            return "unresolved"
        private = [a for a in addresses if is_private_address(a)]
        if not private or origin in self.starts:
            return None
        starts = self._start_addresses or frozenset()
        if all((a, origin[1]) in starts for a in private):
            return None  # another name of a start origin (localhost for 127.0.0.1)
        return "private_address"

    @staticmethod
    def _start_pairs(
        found: list[tuple[str, int, tuple[Address, ...] | None]],
    ) -> frozenset[tuple[Address, int]]:
        return frozenset((a, port) for _, port, addresses in found for a in addresses or ())

    def _cached(self, host: str) -> tuple[Address, ...] | None | bool:
        entry = self._cache.get(host)
        if entry is None or time.monotonic() - entry[0] > RESOLVE_TTL:
            return False
        return entry[1]

    def _keep(self, host: str, found: tuple[Address, ...] | None) -> tuple[Address, ...] | None:
        if len(self._cache) >= RESOLVE_CACHE:
            self._cache.clear()  # a crawl meets few names; a flood of new ones starts over
        self._cache[host] = (time.monotonic(), found)
        return found


def _addresses(infos: Iterable[Any]) -> tuple[Address, ...]:
    found = (ip_literal(str(info[4][0]).split("%", 1)[0]) for info in infos)
    return tuple(dict.fromkeys(a for a in found if a is not None))


def start_urls(rule: Rule, args: Mapping[str, Any], per_template: int = 1000) -> list[str]:
    """The first URLs of each of the rule's start templates (page URLs, sitemaps, feeds) with
    ``args`` (unexpandable templates are left out: the crawl reports them)."""
    urls: list[str] = []
    for spec in rule.start:
        for template in spec.first_urls:
            try:
                urls.extend(itertools.islice(templates.expand(template, args), per_template))
            except (KeyError, ValueError):
                continue
    return urls


def rule_policy(rule: Rule, args: Mapping[str, Any], also: Iterable[str] = ()) -> AddressPolicy:
    """The address policy of a run of ``rule`` with ``args``: its start origins are its own,
    and those of the URLs ``also`` (the project's ``CRAWL_PRIVATE_ORIGINS``)."""
    return AddressPolicy.for_urls([*also, *start_urls(rule, args)])


def refusal_message(url: str, reason: str, policy: AddressPolicy) -> str:
    """One line saying why ``url`` is refused."""
    if reason == "unresolved":
        return f"the address of {url} could not be resolved in time"
    return (
        f"{url} is a private or loopback address, and not one of the rule's start origins "
        f"({policy.describe_starts()})"
    )
