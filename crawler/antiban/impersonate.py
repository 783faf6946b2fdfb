"""Impersonation: a rule's requests present a browser's TLS and HTTP/2 fingerprint.

Firewalls judge the TLS ClientHello (JA3/JA4) and the HTTP/2 settings before they read a
header; Scrapy's downloader presents Twisted's OpenSSL handshake whatever user agent it claims.
With ``IMPERSONATE`` (a rule's ``antiban.impersonate``: ``chrome``, ``chrome131``, ``edge``,
``safari``, ``firefox``, ... curl_cffi's targets) the add-on :class:`Impersonation`:

- installs :class:`crawler.antiban.impersonate_handler.ImpersonateHandler` for http and https
  (curl_cffi, imported only then). When rendering is on as well (the render add-on runs first and
  installed its browser handler), rendered pages stay on that handler and every other request
  goes through curl_cffi;
- adds :class:`ImpersonateMiddleware`, which puts the target in every request's
  ``meta["impersonate"]`` (a request that set the key itself keeps its value; ``None`` sends it
  through Scrapy's handler).

The user agent follows the target: curl_cffi sends the target's own User-Agent, client hints
(``sec-ch-ua*``), Accept headers and header order; the user-agent middleware picks its profiles
(which rendered pages present) from the target's browser family (:func:`user_agent_filters`).
Without ``IMPERSONATE`` nothing changes and curl_cffi is never imported.
"""

from __future__ import annotations

import re
from typing import Any

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.core.switches import off

HANDLER = "crawler.antiban.impersonate_handler.ImpersonateHandler"
# After the session (540) and proxy (545) middlewares, before the user agent's (548), which
# reads the target.
MIDDLEWARE_ORDER = 546
# The proxies curl_cffi speaks to (Scrapy's own handler: http and https only).
PROXY_SCHEMES = ("http", "https", "socks4", "socks5")
_FAMILIES = {"chrome": "chrome", "edge": "edge", "firefox": "firefox", "tor": "firefox"}


class Impersonation:
    """The switch: a Scrapy add-on (``ADDONS`` in crawler/settings.py, after rendering's)."""

    def __init__(self, crawler: Any = None) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> Impersonation:
        return cls(crawler)

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("IMPERSONATE"):
            raise NotConfigured
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        other = handlers.get("https")
        if other and other != HANDLER and not settings.get("IMPERSONATE_OTHER_HANDLER"):
            # At the priority of the default (the project's: above an add-on's), which is None.
            priority = max(settings.getpriority("IMPERSONATE_OTHER_HANDLER") or 0, 15)
            settings.set("IMPERSONATE_OTHER_HANDLER", other, priority=priority)
        handlers.update(http=HANDLER, https=HANDLER)
        settings.set("DOWNLOAD_HANDLERS", handlers, priority="addon")
        settings.set_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", ImpersonateMiddleware, MIDDLEWARE_ORDER
        )


class ImpersonateMiddleware:
    """``meta["impersonate"]`` = the target, on every http(s) request."""

    def __init__(self, target: str) -> None:
        self.target = target

    @classmethod
    def from_crawler(cls, crawler: Any) -> ImpersonateMiddleware:
        target = crawler.settings.get("IMPERSONATE")
        if not target:
            raise off("ImpersonateMiddleware", "IMPERSONATE is not set")
        return cls(target)

    def process_request(self, request: Request) -> None:
        if request.url.startswith(("http://", "https://")):
            request.meta.setdefault("impersonate", self.target)
        return None


def user_agent_filters(target: str) -> dict[str, Any]:
    """The user-agent catalog's filters for the browser a curl_cffi target stands for.

    >>> user_agent_filters("chrome131")
    {'browsers': ['chrome'], 'platforms': ['desktop'], 'min_version': {'chrome': 131}}
    >>> user_agent_filters("safari184_ios")
    {'browsers': ['safari'], 'platforms': ['mobile'], 'os': ['ios']}
    >>> user_agent_filters("chrome152_macos")["os"], user_agent_filters("tor145")["browsers"]
    (['macos'], ['firefox'])
    """
    name = re.match(r"[a-z]+", target)
    family = name.group() if name else target
    filters: dict[str, Any] = {
        "browsers": [_FAMILIES.get(family, family)],
        "platforms": ["desktop"],
    }
    if target.endswith(("_ios", "_android")):
        filters["platforms"] = ["mobile"]
        filters["os"] = ["ios" if target.endswith("_ios") else "android"]
    elif target.endswith("_macos"):
        filters["os"] = ["macos"]
    version = re.match(r"[a-z]+(\d+)", target)
    if version and family in ("chrome", "edge", "firefox"):
        filters["min_version"] = {filters["browsers"][0]: int(version.group(1))}
    return filters
