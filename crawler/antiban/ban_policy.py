"""Is this response (or this download error) a ban? The default policy, replaceable by a setting.

A policy is any class built by ``scrapy.utils.misc.build_from_crawler`` with
``response_verdict(request, response)`` and ``exception_verdict(request, exception)``, each
returning a :class:`Verdict` or None; the ban middleware builds it from ``BAN_POLICY_CLASS``.
Download errors are judged by class, as listed in ``BAN_EXCEPTIONS`` (import path -> reason).

>>> from scrapy.http import HtmlResponse, Request
>>> policy = BanPolicy(markers=[r"verify you are (a )?human"])
>>> req = Request("http://shop.example/p/1")
>>> policy.response_verdict(req, HtmlResponse(req.url, status=429, body=b"slow down", request=req))
Verdict(reason='status_429', outcome=<Outcome.BAN: 'ban'>)
>>> policy.response_verdict(req, HtmlResponse(req.url, body=b"<p>Verify you are human</p>", request=req)).reason
'marker'
>>> policy.response_verdict(req, HtmlResponse(req.url, body=b"<p>a book</p>", request=req)) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scrapy.http import Request, Response, TextResponse
from scrapy.utils.misc import load_object

from crawler.defaults import antiban as defaults
from vocab import Outcome

REDIRECT_STATUSES = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Verdict:
    """Why a request failed: ``reason`` names it in stats (``antiban/bans/<reason>``)."""

    reason: str
    outcome: Outcome


def _compile(patterns: Iterable[str], what: str) -> list[re.Pattern[str]]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p, re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"{what}: bad regular expression {p!r}: {exc}") from None
    return out


class BanPolicy:
    """Status codes, body markers, redirects to login pages, empty bodies and broken connections."""

    def __init__(
        self,
        *,
        statuses: Iterable[int] = defaults.BAN_STATUSES,
        markers: Iterable[str] = defaults.BAN_MARKERS,
        login_url_patterns: Iterable[str] = defaults.BAN_LOGIN_URL_PATTERNS,
        empty_body: bool = True,
        marker_scan_bytes: int = 200_000,
        proxy_auth_statuses: Iterable[int] = (407,),
        exceptions: dict[str, str] = defaults.BAN_EXCEPTIONS,
        captcha_markers: Iterable[str] = (),
    ) -> None:
        # (exception class, reason), most specific classes first so subclasses win
        classes = [(load_object(path), reason) for path, reason in exceptions.items()]
        self.exceptions = sorted(classes, key=lambda cr: -len(cr[0].__mro__))
        self.proxy_auth_statuses = {int(s) for s in proxy_auth_statuses}
        self.statuses = {int(s) for s in statuses}
        self.markers = _compile(markers, "BAN_MARKERS")
        # A captcha page is a ban a solver may lift (crawler.captcha): reason "captcha".
        self.captcha_markers = _compile(captcha_markers, "CAPTCHA_MARKERS")
        self.login_url_patterns = _compile(login_url_patterns, "BAN_LOGIN_URL_PATTERNS")
        self.empty_body = empty_body
        self.marker_scan_bytes = marker_scan_bytes

    @classmethod
    def from_crawler(cls, crawler: Any) -> BanPolicy:
        settings = crawler.settings
        return cls(
            statuses=settings.getlist("BAN_STATUSES") + settings.getlist("BAN_EXTRA_STATUSES"),
            markers=settings.getlist("BAN_MARKERS") + settings.getlist("BAN_EXTRA_MARKERS"),
            login_url_patterns=settings.getlist("BAN_LOGIN_URL_PATTERNS")
            + settings.getlist("BAN_EXTRA_LOGIN_URL_PATTERNS"),
            empty_body=settings.getbool("BAN_EMPTY_BODY"),
            proxy_auth_statuses=settings.getlist("BAN_PROXY_AUTH_STATUSES"),
            exceptions=settings.getdict("BAN_EXCEPTIONS"),
            captcha_markers=settings.getlist("CAPTCHA_MARKERS"),
        )

    def is_login_url(self, url: str) -> bool:
        return any(p.search(url) for p in self.login_url_patterns)

    def response_verdict(self, request: Request, response: Response) -> Verdict | None:
        if response.status in self.proxy_auth_statuses and (
            response.status == 407 or request.meta.get("proxy")
        ):
            # The proxy refused our credentials (tinyproxy answers 401 rather than 407).
            return Verdict("proxy_auth", Outcome.FAILURE)
        if response.status in self.statuses:
            return Verdict(f"status_{response.status}", Outcome.BAN)
        if response.status in REDIRECT_STATUSES:
            location = response.headers.get(b"Location", b"").decode("latin-1")
            if location and self.is_login_url(location) and not self.is_login_url(request.url):
                return Verdict("login_redirect", Outcome.BAN)
            return None
        # Followed redirects: the page we landed on is a login/verification page we did not ask for.
        redirected_from = request.meta.get("redirect_urls") or []
        if (
            redirected_from
            and self.is_login_url(response.url)
            and not self.is_login_url(redirected_from[0])
        ):
            return Verdict("login_redirect", Outcome.BAN)
        if "dataloss" in response.flags:
            return Verdict("truncated", Outcome.BAN)
        if (
            self.empty_body
            and response.status == 200
            and request.method != "HEAD"
            and not response.body.strip()
        ):
            return Verdict("empty_body", Outcome.BAN)
        if (self.markers or self.captcha_markers) and isinstance(response, TextResponse):
            head = response.text[: self.marker_scan_bytes]
            if any(m.search(head) for m in self.captcha_markers):
                return Verdict("captcha", Outcome.BAN)
            if any(m.search(head) for m in self.markers):
                return Verdict("marker", Outcome.BAN)
        return None

    def exception_reason(self, exception: BaseException) -> str | None:
        """The reason of the first exception in the chain that ``BAN_EXCEPTIONS`` names; a
        wrapper (DownloadFailedError, ResponseFailed) is judged by what it wraps first."""
        causes = _causes(exception)
        for exc in causes[1:] + causes[:1]:
            for cls, reason in self.exceptions:
                if isinstance(exc, cls):
                    detailed = _reason_from_text(repr(exc)) if reason == "connection_lost" else None
                    return detailed or reason
        return None

    def exception_verdict(self, request: Request, exception: BaseException) -> Verdict | None:
        """Through a proxy, a broken connection is the proxy's failure; direct, a reset is a ban."""
        via_proxy = bool(request.meta.get("proxy"))
        reason = self.exception_reason(exception)
        if reason is None:
            return None
        if via_proxy:
            return Verdict(reason, Outcome.FAILURE)
        if reason in {"connection_reset", "connection_lost", "truncated"}:
            return Verdict(reason, Outcome.BAN)
        return None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: ``__cause__``/``__context__`` chains and the failures a
    Twisted ResponseFailed collects (``reasons``), breadth first."""
    seen: list[BaseException] = []
    queue = [exc]
    while queue and len(seen) < 20:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.append(current)
        queue += [e for e in (current.__cause__, current.__context__) if e is not None]
        for reason in getattr(current, "reasons", None) or ():
            value = getattr(reason, "value", reason)  # a twisted Failure, or an exception
            if isinstance(value, BaseException):
                queue.append(value)
    return seen


def _reason_from_text(text: str) -> str | None:
    if "DataLoss" in text:
        return "truncated"
    if "ConnectionReset" in text or "Connection reset" in text:
        return "connection_reset"
    return None
