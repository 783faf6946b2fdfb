"""Per-request proxies from the pool, with a rotation policy, health reports and direct modes.

``ProxyMiddleware`` sets ``request.meta["proxy"]`` (Scrapy's HttpProxyMiddleware at 750 then
turns the credentials into a ``Proxy-Authorization`` header and tunnels HTTPS with CONNECT).
The pool (``PROXY_POOL_CLASS``, default :class:`proxies.static.StaticProxyPool`, built with
``build_from_crawler``) is used only through the :class:`proxies.model.ProxyPool` protocol: it
lists usable proxies for the request's domain; the policy (``PROXY_POLICY``) picks one,
preferring proxies this request has not been banned through yet. Outcomes go back to the pool:
successes from ``process_response``, bans and failures from the ban middleware's
``request_banned`` signal. A proxy that fails (dead, stalled past its timeout, refusing our
credentials) is logged once, with the reason, when the failure comes back, and again only
after it has worked in between.

``PROXY_DIRECT``: ``never`` (default), ``fallback`` (direct when no proxy is usable) or
``until_blocked`` (direct for a domain until it bans us, then proxies). When no proxy is usable
and direct is not allowed, requests wait (polling every ``PROXY_WAIT_POLL`` seconds). The wait
is counted per domain from the first request that found no usable proxy until a proxy works
there again, across retries: a dead proxy that comes off its bench, fails again and is benched
again does not restart it. After ``PROXY_WAIT_MAX`` seconds without a working proxy the crawl
stops with reason ``antiban_no_proxy``.

A stopping crawl (SIGTERM, Ctrl-C, no usable proxy) waits for its downloads in flight; those
through a stalled proxy would hold it for their whole timeout. Requests waiting for a proxy are
dropped at once, and after ``PROXY_SHUTDOWN_GRACE`` seconds the connections to the proxies of
downloads still in flight are cut (:func:`cut_connections`); a cut is not reported to the pool
as the proxy's failure.

Requests whose ``meta["proxy"]`` was set by the spider are left alone; ``meta["antiban_direct"]
= True`` sends one request direct. Order: 545 (before the user-agent middleware, which keys
header profiles by proxy, and before HttpProxyMiddleware).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.antiban.impersonate import PROXY_SCHEMES
from crawler.antiban.proxy_rotation import policy_class
from crawler.antiban.signals import request_banned
from crawler.core.clock import ScrapyClock, sleep
from crawler.core.switches import off
from proxies.model import Proxy, ProxyPool
from vocab import Outcome, mask_url

logger = logging.getLogger(__name__)

DIRECT_MODES = ("never", "fallback", "until_blocked")
# Scrapy's HTTP download handler speaks to HTTP(S) proxies only; SOCKS ones are skipped (unless
# the crawl impersonates a browser: curl_cffi speaks SOCKS).
SCRAPY_PROXY_SCHEMES = ("http", "https")
STOP_POLL = 0.25  # seconds between looks at whether the crawl is stopping


class ProxyMiddleware:
    def __init__(self, crawler: Crawler, pool: ProxyPool, policy: Any) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.pool = pool
        self.policy = policy
        self.direct = s.get("PROXY_DIRECT")
        if self.direct not in DIRECT_MODES:
            raise ValueError(
                f"PROXY_DIRECT must be one of {', '.join(DIRECT_MODES)}, not {self.direct!r}"
            )
        self.wait_max = s.getfloat("PROXY_WAIT_MAX")
        self.wait_poll = s.getfloat("PROXY_WAIT_POLL")
        self.download_timeout = s.getfloat("PROXY_DOWNLOAD_TIMEOUT")
        self.shutdown_grace = s.getfloat("PROXY_SHUTDOWN_GRACE")
        self.paid_only = s.getbool("PROXY_PAID_ONLY")
        # Impersonation downloads through curl_cffi, which speaks SOCKS too.
        self.schemes = PROXY_SCHEMES if s.get("IMPERSONATE") else SCRAPY_PROXY_SCHEMES
        self._proxies: dict[str, Proxy] = {}
        self._failing: set[str] = set()  # proxies whose failure was logged, until they work
        self._cooldown: dict[tuple[str, str], float] = {}  # (proxy key, domain) -> Retry-After end
        self._direct_blocked: set[str] = set()
        self._stopping = False  # no usable proxy: the middleware closes the crawl
        self._deadlines: dict[str, float] = {}  # domain -> end of its wait for a working proxy
        self._stop_seen: float | None = None  # when the crawl was seen stopping
        self._watch: Any = None
        self._was_crawling = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyMiddleware:
        s = crawler.settings
        if not s.getbool("PROXY_ENABLED"):
            raise off("ProxyMiddleware", "PROXY_ENABLED is off")
        pool: ProxyPool = build_from_crawler(load_object(s.get("PROXY_POOL_CLASS")), crawler)
        reason = pool.not_configured()
        if reason:
            raise off("ProxyMiddleware", reason)
        mw = cls(crawler, pool, build_from_crawler(policy_class(s.get("PROXY_POLICY")), crawler))
        crawler.signals.connect(mw.on_banned, signal=request_banned)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_opened(self, spider: Any) -> None:
        unusable = [p.label for p in self.pool.unsupported(self.schemes)]
        if unusable:
            logger.warning("Skipping proxies Scrapy cannot use (SOCKS): %s", ", ".join(unusable))
        logger.info(
            "Proxies: %d from %s, policy %s, direct %s",
            len(self.pool),
            type(self.pool).__name__,
            type(self.policy).__name__,
            self.direct,
        )
        self._watch = ScrapyClock().looping_call(STOP_POLL, self._watch_stop)

    def spider_closed(self, spider: Any) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def _watch_stop(self) -> None:
        """Once the crawl stops, cut the proxied downloads still in flight after the grace."""
        if self._stop_seen is None:
            if self.crawler.crawling:
                self._was_crawling = True  # `scrapy shell` runs an engine without crawling
            if not self._stopping and (self.crawler.crawling or not self._was_crawling):
                return
            self._stop_seen = time.monotonic()
        if time.monotonic() - self._stop_seen < self.shutdown_grace:
            return
        engine = self.crawler.engine
        active = list(engine.downloader.active) if engine is not None else []
        proxied = [r for r in active if r.meta.get("antiban_proxy") and r.meta.get("proxy")]
        for request in proxied:
            request.meta["antiban_cut"] = True  # its failure is ours, not the proxy's
        cut = cut_connections(r.meta["proxy"] for r in proxied)
        if cut and not self.stats.get_value("antiban/proxy/cut_at_stop"):
            logger.info(
                "The crawl is stopping: cut %d connection(s) to proxies still downloading after "
                "%.0fs (PROXY_SHUTDOWN_GRACE)",
                cut,
                self.shutdown_grace,
            )
        if cut:
            self.stats.inc_value("antiban/proxy/cut_at_stop", cut)

    # -- choosing ---------------------------------------------------------------------------

    def _usable(self, domain: str, tried: set[str]) -> list[Proxy]:
        now = time.monotonic()
        candidates = [
            p
            for p in self.pool.candidates(domain)
            if p.scheme in self.schemes
            and self._cooldown.get((p.key, domain), 0.0) <= now
            and (p.paid or not self.paid_only)
        ]
        return [p for p in candidates if p.key not in tried] or candidates

    async def process_request(self, request: Request) -> None:
        if request.meta.get("proxy") and "antiban_proxy" not in request.meta:
            return None  # the spider chose its own proxy
        domain = urlparse_cached(request).hostname or ""
        if request.meta.get("antiban_direct") or (
            self.direct == "until_blocked" and domain not in self._direct_blocked
        ):
            return self._go_direct(request)
        tried = set(request.meta.get("antiban_tried_proxies", ()))
        session = request.meta.get("antiban_session", request.meta.get("cookiejar"))
        waiting = False
        while True:
            if self._stopping or self._stop_seen is not None:
                raise IgnoreRequest("the crawl is stopping: no proxy assigned")
            usable = self._usable(domain, tried)
            if usable:
                proxy = self.policy.choose(usable, domain=domain, session=session)
                return self._assign(request, proxy)
            if self.direct == "fallback":
                self.stats.inc_value("antiban/direct/fallback")
                return self._go_direct(request)
            now = time.monotonic()
            if not waiting:
                waiting = True
                self.stats.inc_value("antiban/proxy_waits")
            # Once per episode, not once per request: an episode ends when a proxy works again
            # (a response clears the deadline), which may happen while this request waits; it
            # then waits in the next episode (its deadline was read here and was gone).
            if domain not in self._deadlines:
                self._deadlines[domain] = now + self.wait_max
                logger.info(
                    "No usable proxy for %s: waiting up to %.0fs for one that works",
                    domain,
                    self.wait_max,
                )
            deadline = self._deadlines[domain]
            if now >= deadline:
                return await self._give_up(domain)
            wait = self.wait_poll
            hint = self.pool.next_available_in(domain)
            if hint:
                wait = max(0.05, min(wait, hint))
            await sleep(min(wait, max(0.05, deadline - now)))

    async def _give_up(self, domain: str) -> None:
        if not self._stopping:
            self._stopping = True
            logger.error(
                "No usable proxy for %s after waiting %.0fs: every proxy is benched or failing. "
                "Stopping the crawl. Add proxies (PROXY_LIST / the pool), raise PROXY_WAIT_MAX, "
                "or allow direct connections (PROXY_DIRECT=fallback).",
                domain,
                self.wait_max,
            )
            self.stats.set_value("antiban/stopped", "no_usable_proxy")
            # Not awaited: closing waits for in-flight requests, and this is one of them.
            self._closing = deferred_from_coro(
                self.crawler.engine.close_spider_async(reason="antiban_no_proxy")
            )
        raise IgnoreRequest(f"no usable proxy for {domain}")

    def _assign(self, request: Request, proxy: Proxy) -> None:
        self._proxies[proxy.key] = proxy
        request.meta.pop("antiban_cut", None)  # a retry of a cut request (a resumed JOBDIR)
        request.meta["proxy"] = proxy.url
        request.meta["antiban_proxy"] = proxy.key
        request.meta["antiban_proxy_label"] = proxy.label
        request.meta["antiban_sent_at"] = time.monotonic()
        if self.download_timeout:
            current = request.meta.get("download_timeout") or self.download_timeout
            request.meta["download_timeout"] = min(current, self.download_timeout)
        self.stats.inc_value("antiban/proxy/requests")
        self.stats.inc_value(f"antiban/proxy/{proxy.label}/requests")
        return None

    def _go_direct(self, request: Request) -> None:
        request.meta["proxy"] = None
        request.meta["antiban_proxy"] = None
        request.meta["antiban_proxy_label"] = "direct"
        self.stats.inc_value("antiban/direct/requests")
        return None

    # -- outcomes ---------------------------------------------------------------------------

    def process_response(self, request: Request, response: Response) -> Response:
        key = request.meta.get("antiban_proxy")
        if key and key in self._proxies and response.status < 500:
            proxy = self._proxies[key]
            sent = request.meta.get("antiban_sent_at")
            latency = time.monotonic() - sent if sent else None
            self.pool.report(
                proxy, Outcome.SUCCESS, domain=urlparse_cached(request).hostname, latency=latency
            )
            self.stats.inc_value(f"antiban/proxy/{proxy.label}/success")
            self._deadlines.pop(urlparse_cached(request).hostname or "", None)  # it works again
            if key in self._failing:
                self._failing.discard(key)
                logger.info("Proxy %s works again", proxy.label)
        return response

    def on_banned(
        self,
        request: Request,
        reason: str,
        outcome: Outcome,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        domain = urlparse_cached(request).hostname or ""
        key = request.meta.get("antiban_proxy")
        if key is None:
            if (
                "antiban_proxy" in request.meta
                and outcome is Outcome.BAN
                and self.direct == "until_blocked"
                and domain not in self._direct_blocked
            ):
                self._direct_blocked.add(domain)
                self.stats.inc_value("antiban/direct/blocked_domains")
                logger.info(
                    "%s blocks direct requests (%s): switching it to proxies", domain, reason
                )
            return
        proxy = self._proxies.get(key)
        if proxy is None:
            return
        if request.meta.get("antiban_cut"):
            return  # cut by the stopping crawl: not the proxy's failure
        benched = self.pool.report(proxy, outcome, domain=domain)
        self.stats.inc_value(f"antiban/proxy/{proxy.label}/{outcome.value}")
        if benched > 0:
            self.stats.inc_value(f"antiban/proxy/{proxy.label}/benched_seconds", round(benched, 3))
        if outcome is Outcome.FAILURE and key not in self._failing:
            # once per episode (until it works again), as soon as the failure comes back
            self._failing.add(key)
            logger.warning(
                "Proxy %s failed (%s)%s",
                proxy.label,
                mask_url(str(reason)),
                f": benched for {benched:.0f}s" if benched > 0 else "",
            )
        if retry_after:
            until = time.monotonic() + retry_after
            self._cooldown[(key, domain)] = max(self._cooldown.get((key, domain), 0.0), until)


def cut_connections(proxy_urls: Iterable[str]) -> int:
    """Abort the reactor's TCP connections to these proxies (connected or still connecting);
    how many were cut. Scrapy keeps no handle on a download in flight, so its connection is
    found by its peer address: the proxy's IP literal, or the address Scrapy's DNS cache
    resolved its name to."""
    endpoints = {address for url in proxy_urls for address in _addresses(url)}
    if not endpoints:
        return 0
    from twisted.internet import error, reactor

    cut = 0
    for transport in {*reactor.getReaders(), *reactor.getWriters()}:
        try:
            peer = transport.getPeer()
        except Exception:  # noqa: BLE001, S112 - not a TCP connection (a waker, a listening port)
            continue
        if (getattr(peer, "host", None), getattr(peer, "port", None)) not in endpoints:
            continue
        if getattr(transport, "connected", False):
            transport.abortConnection()
        elif hasattr(transport, "failIfNotConnected"):
            transport.failIfNotConnected(error.ConnectionAborted())
        else:
            continue
        cut += 1
    return cut


def _addresses(proxy_url: str) -> set[tuple[str, int]]:
    parts = urlsplit(proxy_url)
    if not parts.hostname:
        return set()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ipaddress.ip_address(parts.hostname)
        return {(parts.hostname, port)}
    except ValueError:
        from scrapy.resolver import dnscache

        found = dnscache.get(parts.hostname)
    hosts = [found] if isinstance(found, str) else [getattr(a, "host", a) for a in found or ()]
    return {(str(host), port) for host in hosts}
