"""User-agent header profiles, sticky to a session or proxy.

``UserAgentMiddleware`` replaces Scrapy's (which crawler/settings.py disables). Each request
gets the User-Agent and the matching Accept*, Sec-Fetch-* and (Chromium only) sec-ch-ua headers
of one browser profile (crawler.antiban.useragents). The profile belongs to an identity: the
request's session (``meta["antiban_session"]``) if any, else its proxy, else the direct
connection; every request of that identity carries the same profile. A ban through an identity
retires its profile (``USER_AGENT_ROTATE_ON_BAN``), so the next request gets a new one, and
that agent is not handed out again for ``USER_AGENT_BAN_COOLDOWN`` seconds when others match.

A fixed agent wins: ``USER_AGENT_FIXED``, or ``USER_AGENT`` set anywhere above Scrapy's
defaults (settings.py, a rule's settings, ``-s USER_AGENT=...``), or a User-Agent header the
request already has. ``USER_AGENT_ROTATE = False`` turns rotation off.

Filters (all optional): ``USER_AGENT_BROWSERS`` (chrome, edge, firefox, safari, opera, or
fake-useragent names), ``USER_AGENT_OS`` (windows, macos, linux, chromeos, android, ios),
``USER_AGENT_PLATFORMS`` (desktop [default], mobile, tablet), ``USER_AGENT_MIN_VERSION``
(``{"chrome": 120, "firefox": 115}``), ``USER_AGENT_ACCEPT_LANGUAGE``, ``USER_AGENT_SEED``.

Impersonation (``IMPERSONATE``, crawler.antiban.impersonate): the profile follows the target.
curl_cffi sends the target browser's own User-Agent and client hints, so the profiles here are
drawn from the target's family (no older than its version, where the data has such agents) and
the impersonating handler leaves them out of what it sends; they are what rendered pages
present. A fixed agent is ignored (with a warning): it would contradict the fingerprint.

Order: 548, after the session (540) and proxy (545) middlewares, which pick the identity.
"""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.antiban.impersonate import user_agent_filters
from crawler.antiban.signals import request_banned
from crawler.antiban.useragents import HeaderProfile, UserAgentCatalog
from crawler.core.switches import off
from vocab import Outcome

logger = logging.getLogger(__name__)


def fixed_user_agent(settings: Any) -> str | None:
    """The agent the user pinned, if any: USER_AGENT_FIXED, or USER_AGENT above default priority."""
    fixed = settings.get("USER_AGENT_FIXED")
    if fixed:
        return fixed
    if settings.getpriority("USER_AGENT") and settings.getpriority("USER_AGENT") > 0:
        return settings.get("USER_AGENT") or None
    return None


def catalog_from_settings(settings: Any) -> UserAgentCatalog:
    min_version = settings.get("USER_AGENT_MIN_VERSION") or {}
    if isinstance(min_version, str):
        min_version = json.loads(min_version)
    return UserAgentCatalog(
        browsers=settings.getlist("USER_AGENT_BROWSERS") or None,
        os=settings.getlist("USER_AGENT_OS") or None,
        platforms=settings.getlist("USER_AGENT_PLATFORMS") or ["desktop"],
        min_version=min_version,
        min_percent=settings.getfloat("USER_AGENT_MIN_PERCENT"),
        accept_language=settings.get("USER_AGENT_ACCEPT_LANGUAGE"),
    )


def impersonated_catalog(settings: Any, target: str) -> UserAgentCatalog:
    """Profiles of the impersonated browser: its family, platform and version when the data
    has agents that new, else its family and platform alone."""
    filters = user_agent_filters(target)
    language = settings.get("USER_AGENT_ACCEPT_LANGUAGE")
    try:
        return UserAgentCatalog(**filters, accept_language=language)
    except ValueError:
        filters.pop("min_version", None)
        return UserAgentCatalog(**filters, accept_language=language)


class UserAgentMiddleware:
    def __init__(
        self,
        crawler: Crawler,
        catalog: UserAgentCatalog | None,
        fixed: str | None,
        rng: random.Random,
    ) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.catalog = catalog
        self.fixed = fixed
        self.rng = rng
        self.rotate_on_ban = crawler.settings.getbool("USER_AGENT_ROTATE_ON_BAN")
        defaults = crawler.settings.getdict("DEFAULT_REQUEST_HEADERS")
        self._defaults = {k.lower(): str(v) for k, v in defaults.items()}
        self._profiles: dict[str, HeaderProfile] = {}
        self.ban_cooldown = crawler.settings.getfloat("USER_AGENT_BAN_COOLDOWN")
        self._burned: dict[str, float] = {}  # user agent -> until when not to hand it out again

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UserAgentMiddleware:
        s = crawler.settings
        fixed = fixed_user_agent(s)
        catalog = None
        target = s.get("IMPERSONATE")
        if target:
            if fixed:
                logger.warning(
                    "Impersonating %s: requests present its own User-Agent, not %r", target, fixed
                )
            fixed, catalog = None, impersonated_catalog(s, target)
        elif not fixed:
            if not s.getbool("USER_AGENT_ROTATE"):
                fixed = s.get("USER_AGENT")
                if not fixed:
                    raise off("UserAgentMiddleware", "no USER_AGENT and rotation is off")
            else:
                try:
                    catalog = catalog_from_settings(s)
                except ValueError as exc:
                    # Fail loudly: a filter that matches nothing is a configuration error.
                    raise ValueError(f"USER_AGENT_* settings: {exc}") from None
        seed = s.get("USER_AGENT_SEED")
        mw = cls(crawler, catalog, fixed, random.Random(seed))
        crawler.signals.connect(mw.on_banned, signal=request_banned)
        if catalog is not None:
            logger.info("User agents: %d profiles match %s", len(catalog), catalog.filters)
        return mw

    @staticmethod
    def identity(request: Request) -> str:
        session = request.meta.get("antiban_session")
        if session is not None:
            return f"session:{session}"
        proxy = request.meta.get("antiban_proxy")
        if proxy:
            return f"proxy:{proxy}"
        return "direct"

    def profile_for(self, request: Request) -> HeaderProfile:
        assert self.catalog is not None
        key = self.identity(request)
        profile = self._profiles.get(key)
        if profile is None:
            now = time.monotonic()
            for _ in range(10):  # the most common agents are the likeliest to have been burned
                profile = self.catalog.profile(self.rng)
                if self._burned.get(profile.user_agent, 0.0) <= now:
                    break
            self._profiles[key] = profile
            self.stats.inc_value("antiban/user_agent/profiles")
        return profile

    def process_request(self, request: Request) -> None:
        if self.fixed:
            request.headers.setdefault(b"User-Agent", self.fixed)
            return None
        ours = request.meta.get("antiban_user_agent")
        current_ua = request.headers.get(b"User-Agent")
        if current_ua is not None:
            if ours is None or current_ua.decode("latin-1") != ours:
                return None  # the spider or rule set its own
            # A retry or redirect of ours: drop the previous profile's headers, it may change.
            for name in request.meta.get("antiban_profile_headers", ()):
                request.headers.pop(name, None)
        profile = self.profile_for(request)
        referer = request.headers.get(b"Referer")
        headers = profile.request_headers(
            request.url, referer.decode("latin-1") if referer else None
        )
        applied = []
        for name, value in headers.items():
            current = request.headers.get(name)
            # DefaultHeadersMiddleware (400) filled in Scrapy's defaults: the profile replaces those.
            if current is None or current.decode("latin-1") == self._defaults.get(name.lower()):
                request.headers[name] = value
                applied.append(name)
        request.meta["antiban_user_agent"] = profile.user_agent
        request.meta["antiban_profile_headers"] = applied
        return None

    def on_banned(self, request: Request, outcome: Outcome, **kwargs: Any) -> None:
        if not (self.rotate_on_ban and self.catalog is not None and outcome is Outcome.BAN):
            return
        profile = self._profiles.pop(self.identity(request), None)
        if profile is not None:
            self._burned[profile.user_agent] = time.monotonic() + self.ban_cooldown
            self.stats.inc_value("antiban/user_agent/retired")
