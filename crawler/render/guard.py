"""What a rendered page may fetch: the rule's domains, the hosts its ``render:`` allows for
sub-resources, never a private address that is not the rule's own start, http(s) only.

A rendered page is the site's code running in the crawler's network. Every request it makes
goes through the same checks as the static crawl's:

- **scheme and user info**: http and https only (``ws``/``wss`` for WebSockets), no
  ``user:password@`` (as :mod:`crawler.spider.url_guard`);
- **domains**: a navigation of the page or of one of its frames stays on the rule's allowed
  domains (the spider's ``allowed_domains``, as Scrapy's offsite middleware judges: by host name,
  subdomains included) or the page's own host; a sub-resource (script, style, image, font, XHR,
  fetch, beacon, WebSocket) may also come from a host the page type's ``render:`` names in
  ``resource_hosts`` (a CDN). A frame on another site than its page (another registrable
  domain: Chromium would run it in a process of its own) is refused too;
- **addresses**: the crawl's :class:`crawler.core.addresses.AddressPolicy`: no private or
  loopback address except the rule's own start origins.

Where: a page route (every request of the page, its frames and its workers), a WebSocket route,
and Chromium's Fetch domain on the page's own DevTools session, which sees what Playwright's
routes do not: **redirects** (Playwright hands a route only the first URL of a redirect chain).
Popups are closed at once and their requests refused (the context's route: no page of ours
ever reaches it, scrapy-playwright's page route answers every request of its pages); service
workers are blocked by the context. A refused request is aborted as blocked by the client,
counted by the render middleware under ``render/refused/<reason>`` (distinct URLs per page) and
logged once per reason; a refused navigation of the main frame ends the page as a refused
request (:class:`RenderRefused`): never an item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from scrapy.exceptions import IgnoreRequest

from crawler.core.addresses import AddressPolicy, ip_literal, on_domains, origin_of
from crawler.rules.request_specs import ALLOWED_SCHEMES

logger = logging.getLogger(__name__)

MAX_REFUSED_KEPT = 200  # distinct refused URLs remembered per page (counting stops there)
WS_SCHEMES = {"ws": "http", "wss": "https"}
BLOCKED_BY_CLIENT = "blockedbyclient"


class RenderRefused(IgnoreRequest):
    """The page navigated where the rule may not go: a refused request, never an item."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"the page navigated to {url} ({reason}): refused")
        self.reason = "refused"
        self.refusal = reason
        self.url = url


@dataclass
class RequestGuard:
    """The checks of one rendered page, and what they refused."""

    domains: tuple[str, ...]  # the rule's allowed domains and the page's own host
    resource_hosts: tuple[str, ...]  # host or host:port, for sub-resources only
    policy: AddressPolicy
    site: str  # the registrable domain of the page's own host
    refused: Counter[str] = field(default_factory=Counter)  # reason -> distinct URLs
    examples: dict[str, tuple[str, str]] = field(default_factory=dict)  # reason -> (kind, url)
    navigation: tuple[str, str] | None = None  # (reason, url) of a refused main-frame navigation
    _seen: set[str] = field(default_factory=set)

    @classmethod
    def for_page(
        cls,
        url: str,
        allowed_domains: tuple[str, ...],
        resource_hosts: tuple[str, ...],
        policy: AddressPolicy,
    ) -> RequestGuard:
        host = (origin_of(url) or ("", 0))[0]
        domains = tuple(dict.fromkeys(d.lower() for d in (*allowed_domains, host) if d))
        return cls(domains, tuple(h.lower() for h in resource_hosts), policy, site_of(host))

    async def verdict(self, url: str, kind: str) -> str | None:
        """Why ``url`` may not be fetched as ``kind`` (``main``: the page's navigation,
        ``frame``: a frame's, ``resource``: anything else), or None."""
        scheme = url.partition(":")[0].lower()
        scheme = WS_SCHEMES.get(scheme, scheme)
        if scheme not in ALLOWED_SCHEMES:
            return f"scheme_{scheme[:20]}"
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return "bad_url"
        if parts.username is not None or parts.password is not None:
            return "userinfo"
        if not on_domains(host, self.domains):
            if kind != "resource" or not self._resource_host(host, port, scheme):
                return "offsite"
        elif kind == "frame" and site_of(host) != self.site:
            return "frame_site"  # Chromium would run it out of this page's process
        return await self.policy.refusal(url)

    def _resource_host(self, host: str, port: int | None, scheme: str) -> bool:
        port = port or (443 if scheme == "https" else 80)
        for allowed in self.resource_hosts:
            name, _, only = allowed.partition(":")
            if only and int(only) != port:
                continue
            if on_domains(host, (name,)):
                return True
        return False

    def refuse(self, reason: str, url: str, kind: str) -> None:
        """Keep a refusal (once per URL) and, for the page's own navigation, end the page."""
        if kind == "main" and self.navigation is None:
            self.navigation = (reason, url)
        if url in self._seen or len(self._seen) >= MAX_REFUSED_KEPT:
            return
        self._seen.add(url)
        self.refused[reason] += 1
        self.examples.setdefault(reason, (kind, url))


@lru_cache(maxsize=4096)
def site_of(host: str) -> str:
    """The registrable domain of ``host`` (the public suffix list bundled with tldextract, never
    fetched); an address or a single name is its own site."""
    if not host or ip_literal(host) is not None or "." not in host:
        return host
    return _extractor()(host).top_domain_under_public_suffix or host


@lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract

    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


# --- the browser side ---------------------------------------------------------------------------


async def guard_page(page: Any, session: Any, current: Callable[[], Any]) -> Callable[..., Any]:
    """Route every request and WebSocket of ``page`` through the guard of the request now on it
    (``current()``, a :class:`crawler.render.page.RenderState`: the resource types its
    ``render:`` blocks are aborted first, counted in its ``blocked``), refuse its redirects on its
    DevTools ``session``, and close its popups. Returns the page route's handler (a reused tab
    routes it again, in front of scrapy-playwright's)."""

    async def on_request(route: Any) -> None:
        request, state = route.request, current()
        if request.resource_type in state.spec.block:
            state.blocked += 1
            await route.abort()
            return
        kind, guard = _kind(page, request), state.guard
        reason = await guard.verdict(request.url, kind)
        if reason is None:
            await route.fallback()  # to scrapy-playwright's own handler (headers, method)
            return
        guard.refuse(reason, request.url, kind)
        await route.abort(BLOCKED_BY_CLIENT)

    async def on_websocket(ws: Any) -> None:
        guard = current().guard
        reason = await guard.verdict(ws.url, "resource")
        if reason is None:
            ws.connect_to_server()
            return
        guard.refuse(reason, ws.url, "websocket")
        with contextlib.suppress(PlaywrightError):
            await ws.close(code=1008, reason="refused by the crawler")

    await page.route("**/*", on_request)
    await page.route_web_socket("**", on_websocket)
    page.on("popup", lambda popup: asyncio.ensure_future(_close(popup)))
    await _guard_redirects(session, current)
    return on_request


async def _guard_redirects(session: Any, current: Callable[[], Any]) -> None:
    """Chromium's Fetch domain on the page's own session: every request of the page, redirects
    included, paused until the guard has looked at it. The main frame is the frame of the first
    document requested: the page is guarded before it navigates, and frames come after their
    page's document (no round trip to ask Chromium for the frame tree)."""
    frames: list[str] = []

    async def paused(event: dict[str, Any]) -> None:
        url, request_id = event["request"]["url"], event["requestId"]
        kind = "resource"
        if event.get("resourceType") == "Document":
            if not frames:
                frames.append(event.get("frameId") or "")
            kind = "main" if event.get("frameId") == frames[0] else "frame"
        guard = current().guard
        reason = await guard.verdict(url, kind)
        with contextlib.suppress(PlaywrightError):  # the page went away meanwhile
            if reason is None:
                await session.send("Fetch.continueRequest", {"requestId": request_id})
                return
            guard.refuse(reason, url, kind)
            await session.send(
                "Fetch.failRequest", {"requestId": request_id, "errorReason": "BlockedByClient"}
            )

    session.on("Fetch.requestPaused", lambda event: asyncio.ensure_future(paused(event)))
    await session.send(
        "Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]}
    )


def _kind(page: Any, request: Any) -> str:
    try:
        if not request.is_navigation_request():
            return "resource"
        return "main" if request.frame == page.main_frame else "frame"
    except PlaywrightError:  # a request of no frame (a worker's): a sub-resource
        return "resource"


async def _close(popup: Any) -> None:
    with contextlib.suppress(PlaywrightError):
        await popup.close()


async def guard_context(context: Any, stats: Any) -> None:
    """A context's own routes see only requests no page route answered: those of popups (our
    pages' routes answer all of theirs). They are refused."""

    async def refuse(route: Any) -> None:
        stats.inc_value("render/refused/popup")
        await route.abort(BLOCKED_BY_CLIENT)

    async def refuse_websocket(ws: Any) -> None:
        stats.inc_value("render/refused/popup")
        with contextlib.suppress(PlaywrightError):
            await ws.close(code=1008, reason="refused by the crawler")

    await context.route("**/*", refuse)
    await context.route_web_socket("**", refuse_websocket)
