"""Is this response (or this download error) a ban? The default policy, replaceable by a setting.

A policy is any class built by ``scrapy.utils.misc.build_from_crawler`` with
``response_verdict(request, response)`` and ``exception_verdict(request, exception)``, each
returning a :class:`Verdict` or None; the ban middleware builds it from ``BAN_POLICY_CLASS``.
Download errors are judged by class, as listed in ``BAN_EXCEPTIONS`` (import path -> reason).

Statuses (``BAN_STATUSES``), redirects to login pages, empty and truncated bodies are bans
whatever the page says. What a page says is read by :mod:`crawler.antiban.block_pages`: captcha
images, vendors' challenge markup and block phrases make a page a suspect, and only a suspect
shaped like a block (short, few links) is a ban. Such a verdict carries its ``signal`` (the rule
that matched): the ban middleware asks the spider first whether the page has what its page type
expects, and a page that does is content (:mod:`crawler.antiban.expected_content`). Every
verdict carries its ``evidence``, one line for the log.

>>> from scrapy.http import HtmlResponse, Request
>>> policy = BanPolicy(markers=[r"verify you are (a )?human"])
>>> req = Request("http://shop.example/p/1")
>>> policy.response_verdict(req, HtmlResponse(req.url, status=429, body=b"slow down", request=req))
Verdict(reason='status_429', outcome=<Outcome.BAN: 'ban'>, evidence='HTTP 429', signal='')
>>> wall = policy.response_verdict(req, HtmlResponse(req.url, body=b"<p>Verify you are human</p>", request=req))
>>> wall.reason, wall.signal
('marker', 'marker')
>>> policy.response_verdict(req, HtmlResponse(req.url, body=b"<p>a book</p>", request=req)) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy.http import Request, Response, TextResponse
from scrapy.utils.misc import load_object

from crawler.antiban.block_pages import BlockPages, compile_patterns
from crawler.defaults import antiban as defaults
from vocab import Outcome, mask_url

REDIRECT_STATUSES = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class Verdict:
    """Why a request failed: ``reason`` names it in stats (``antiban/bans/<reason>``);
    ``evidence`` says what the policy saw; ``signal`` names the rule that matched when the page's
    content decided (then the page's expected content overrules it), else it is empty."""

    reason: str
    outcome: Outcome
    evidence: str = field(default="", compare=False)
    signal: str = field(default="", compare=False)


class BanPolicy:
    """Status codes, redirects to login pages, empty bodies, broken connections, and pages
    shaped like a block that show a captcha, a vendor's challenge or a block phrase."""

    def __init__(
        self,
        *,
        statuses: Iterable[int] = defaults.BAN_STATUSES,
        markers: Iterable[str] = defaults.BAN_MARKERS,
        login_url_patterns: Iterable[str] = defaults.BAN_LOGIN_URL_PATTERNS,
        empty_body: bool = True,
        proxy_auth_statuses: Iterable[int] = (407,),
        exceptions: dict[str, str] = defaults.BAN_EXCEPTIONS,
        captcha_markers: Iterable[str] = (),
        challenge_markers: Mapping[str, str] = defaults.BAN_CHALLENGE_MARKERS,
        scan_chars: int = defaults.BAN_SCAN_CHARS,
        block_text_max: int = defaults.BAN_BLOCK_TEXT_MAX,
        block_links_max: int = defaults.BAN_BLOCK_LINKS_MAX,
    ) -> None:
        # (exception class, reason), most specific classes first so subclasses win
        classes = [(load_object(path), reason) for path, reason in exceptions.items()]
        self.exceptions = sorted(classes, key=lambda cr: -len(cr[0].__mro__))
        self.proxy_auth_statuses = {int(s) for s in proxy_auth_statuses}
        self.statuses = {int(s) for s in statuses}
        # A captcha page is a ban a solver may lift (crawler.captcha): reason "captcha".
        self.pages = BlockPages(
            challenge_markers=challenge_markers,
            markers=markers,
            captcha_markers=captcha_markers,
            scan_chars=scan_chars,
            text_max=block_text_max,
            links_max=block_links_max,
        )
        self.login_url_patterns = compile_patterns(login_url_patterns, "BAN_LOGIN_URL_PATTERNS")
        self.empty_body = empty_body

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
            challenge_markers=settings.getdict("BAN_CHALLENGE_MARKERS"),
            scan_chars=settings.getint("BAN_SCAN_CHARS"),
            block_text_max=settings.getint("BAN_BLOCK_TEXT_MAX"),
            block_links_max=settings.getint("BAN_BLOCK_LINKS_MAX"),
        )

    def is_login_url(self, url: str) -> bool:
        return any(p.search(url) for p in self.login_url_patterns)

    def response_verdict(self, request: Request, response: Response) -> Verdict | None:
        status = response.status
        if status in self.proxy_auth_statuses and (status == 407 or request.meta.get("proxy")):
            # The proxy refused our credentials (tinyproxy answers 401 rather than 407).
            return Verdict("proxy_auth", Outcome.FAILURE, f"HTTP {status} from the proxy")
        if status in self.statuses:
            after = response.headers.get(b"Retry-After")
            evidence = f"HTTP {status}" + (
                f" (Retry-After: {after.decode('latin-1')[:40]})" if after else ""
            )
            return Verdict(f"status_{status}", Outcome.BAN, evidence)
        if status in REDIRECT_STATUSES:
            location = response.headers.get(b"Location", b"").decode("latin-1")
            if location and self.is_login_url(location) and not self.is_login_url(request.url):
                return Verdict(
                    "login_redirect", Outcome.BAN, f"HTTP {status} to {mask_url(location)}"
                )
            return None
        # Followed redirects: the page we landed on is a login/verification page we did not ask
        # for. It is a page, so the page's expected content overrules this verdict too.
        redirected_from = request.meta.get("redirect_urls") or []
        if (
            redirected_from
            and self.is_login_url(response.url)
            and not self.is_login_url(redirected_from[0])
        ):
            where = f"redirected from {mask_url(redirected_from[0])} to {mask_url(response.url)}"
            return Verdict("login_redirect", Outcome.BAN, where, signal="login_url")
        if "dataloss" in response.flags:
            return Verdict("truncated", Outcome.BAN, "the body was cut short (data loss)")
        if (
            self.empty_body
            and status == 200
            and request.method != "HEAD"
            and not response.body.strip()
        ):
            return Verdict("empty_body", Outcome.BAN, "HTTP 200 with an empty body")
        if self.pages and isinstance(response, TextResponse):
            found = self.pages.examine(response.text)
            if found is not None and found.block:
                return Verdict(found.reason, Outcome.BAN, str(found), signal=found.signal)
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
        evidence = type(exception).__name__  # its message may name the proxy: the class is enough
        if via_proxy:
            return Verdict(reason, Outcome.FAILURE, evidence)
        if reason in {"connection_reset", "connection_lost", "truncated"}:
            return Verdict(reason, Outcome.BAN, evidence)
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
