"""Is this response (or this download error) a ban? The default policy, replaceable by a setting.

A policy is any class with ``from_settings(settings)``, ``response_verdict(request, response)``
and ``exception_verdict(request, exception)``, each returning a :class:`Verdict` or None; the
ban middleware loads it from ``BAN_POLICY_CLASS``.

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
from twisted.internet import error as neterror
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from vocab import Outcome

# The statuses sites answer blocked clients with. 407 is the proxy refusing our credentials.
DEFAULT_BAN_STATUSES = [403, 407, 429, 503]

# Markers of whole-page blocks and challenges of the common anti-bot vendors (regex,
# case-insensitive). Not a bare "g-recaptcha": many sites embed a captcha in an ordinary form.
DEFAULT_BAN_MARKERS = [
    r"<title>\s*(Just a moment\.\.\.|Attention Required! \| Cloudflare)",
    r"cf-browser-verification|cf_chl_opt",
    r"px-captcha",
    r"/distil_r_captcha",
    r"verify (that )?you are (a )?human",
    r"unusual traffic from your computer network",
]

# Where blocked clients get redirected to (regex on the URL, case-insensitive).
DEFAULT_LOGIN_URL_PATTERNS = [
    r"/(login|signin|sign-in|log-in)\b",
    r"captcha",
    r"/challenge\b",
    r"/verif(y|ication)\b",
]

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
        statuses: Iterable[int] = DEFAULT_BAN_STATUSES,
        markers: Iterable[str] = DEFAULT_BAN_MARKERS,
        login_url_patterns: Iterable[str] = DEFAULT_LOGIN_URL_PATTERNS,
        empty_body: bool = True,
        marker_scan_bytes: int = 200_000,
        proxy_auth_statuses: Iterable[int] = (407,),
    ) -> None:
        self.proxy_auth_statuses = {int(s) for s in proxy_auth_statuses}
        self.statuses = {int(s) for s in statuses}
        self.markers = _compile(markers, "BAN_MARKERS")
        self.login_url_patterns = _compile(login_url_patterns, "BAN_LOGIN_URL_PATTERNS")
        self.empty_body = empty_body
        self.marker_scan_bytes = marker_scan_bytes

    @classmethod
    def from_settings(cls, settings: Any) -> BanPolicy:
        return cls(
            statuses=settings.getlist("BAN_STATUSES", DEFAULT_BAN_STATUSES)
            + settings.getlist("BAN_EXTRA_STATUSES", []),
            markers=settings.getlist("BAN_MARKERS", DEFAULT_BAN_MARKERS)
            + settings.getlist("BAN_EXTRA_MARKERS", []),
            login_url_patterns=settings.getlist(
                "BAN_LOGIN_URL_PATTERNS", DEFAULT_LOGIN_URL_PATTERNS
            )
            + settings.getlist("BAN_EXTRA_LOGIN_URL_PATTERNS", []),
            empty_body=settings.getbool("BAN_EMPTY_BODY", True),
            proxy_auth_statuses=settings.getlist("BAN_PROXY_AUTH_STATUSES", [407]),
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
        if self.markers and isinstance(response, TextResponse):
            head = response.text[: self.marker_scan_bytes]
            if any(m.search(head) for m in self.markers):
                return Verdict("marker", Outcome.BAN)
        return None

    def exception_verdict(self, request: Request, exception: BaseException) -> Verdict | None:
        """Through a proxy, a broken connection is the proxy's failure; direct, a reset is a ban."""
        via_proxy = bool(request.meta.get("proxy"))
        reason = _exception_reason(exception)
        if reason is None:
            return None
        if via_proxy:
            return Verdict(reason, Outcome.FAILURE)
        if reason in {"connection_reset", "connection_lost", "truncated"}:
            return Verdict(reason, Outcome.BAN)
        return None


# Scrapy >= 2.14 wraps download errors in its own classes (scrapy.exceptions); older ones raise
# Twisted's. Both are recognised, by class name for the former so older Scrapy still imports.
_SCRAPY_ERRORS = {
    "DownloadConnectionRefusedError": "connection_refused",
    "DownloadTimeoutError": "timeout",
    "ResponseDataLossError": "truncated",
    "TunnelError": "tunnel_error",
}


def _exception_reason(exc: BaseException) -> str | None:
    name = type(exc).__name__
    if name in _SCRAPY_ERRORS:
        return _SCRAPY_ERRORS[name]
    if name == "DownloadFailedError":
        cause = exc.__cause__ or exc.__context__
        return (_exception_reason(cause) if cause else None) or _reason_from_text(str(exc))
    if isinstance(exc, neterror.ConnectionRefusedError):
        return "connection_refused"
    if (
        isinstance(exc, (neterror.TimeoutError, neterror.TCPTimedOutError))
        or name == "TimeoutError"
    ):
        return "timeout"
    if isinstance(exc, (neterror.ConnectionLost, neterror.ConnectionDone)):
        return "connection_lost"
    if isinstance(exc, (ResponseFailed, ResponseNeverReceived)):
        return _reason_from_text(repr(getattr(exc, "reasons", exc)))
    if isinstance(exc, (neterror.ConnectError, ConnectionError)):
        return "connect_error"
    return None


def _reason_from_text(text: str) -> str:
    if "DataLoss" in text:
        return "truncated"
    if "ConnectionReset" in text or "Connection reset" in text:
        return "connection_reset"
    if "TimeoutError" in text or "timed out" in text:
        return "timeout"
    if "refused" in text:
        return "connection_refused"
    return "connection_lost"
