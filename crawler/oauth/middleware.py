"""OAuth 2.0 tokens on the requests of a rule with an ``auth:`` section (docs/auth.md): where a
token goes, and only there.

:class:`OAuthMiddleware` (order 950, the last before the download and the first on the way
back) puts the credential's token (``Authorization: Bearer`` or a query parameter such as
``access_token``) on each request to one of the provider's ``hosts``, renewed before it expires,
and takes it off the request again as soon as the answer or the failure is back. Everything
else in the crawl sees the request without it: the scheduler and its queues (Redis, JOBDIR), the
redirect middleware (600), which therefore builds a redirected request from the clean URL and
sends it through the scheduler to be signed again only if its host is the provider's, the retry
and ban middlewares, the HTTP cache (900), the spider, its items and their ``_url``.

On the way back it also takes tokens out of what the answer says: a ``Location`` that echoes
one (the query string copied into a redirect to another host) loses those parameters, or the
header altogether when the token is elsewhere in it, so the redirect is not followed
(``oauth/redirects/scrubbed``, ``oauth/redirects/refused``). On the way out, a request to any
other host that carries a token this process knows (in its query, its fragment or an
``Authorization`` header) loses it before it leaves (``oauth/requests/token_removed``), or is
refused when the token is in its path (``oauth/requests/refused``). Each is logged once.

Answers to signed requests are read by :class:`crawler.oauth.answers.OAuthAnswerMiddleware`
(588: decompressed, before the ban check): tokens out of the body, and an answer the provider
declares "expired" renews the token once and retries. A refresh token the provider refuses, a
refused client or no stored credential stops the crawl at once: stat ``oauth/stopped`` = the
reason, close reason ``oauth_<reason>``, exit status 5 (blocked), and one ERROR line saying what
to do (``scrapy auth authorize PROVIDER``). Every secret this process learns is redacted from
the log. Settings: ``OAUTH_*`` (crawler/defaults/auth.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import threads
from twisted.internet.defer import Deferred

from crawler.core.log_redaction import RedactingFilter
from crawler.core.switches import off
from crawler.oauth.errors import OAuthFailure, ProviderError
from crawler.oauth.placement import holds_secret, scrubbed, with_query_token
from crawler.oauth.token_stores import LockTimeout
from vocab.redaction import Redactor

if TYPE_CHECKING:
    from crawler.oauth.keeper import TokenKeeper
    from crawler.oauth.source_providers import Provider
    from crawler.oauth.source_tokens import Token

logger = logging.getLogger(__name__)


@dataclass
class Sent:
    """How a request went out signed: what to put back, and which token it carried."""

    label: str  # the token's label (a hash), for the answer middleware's "expired" check
    url: str  # the request's URL before the token
    signed_url: str
    authorization: bytes | None  # the request's own Authorization header, if it had one


def enabled(crawler: Crawler, component: str) -> None:
    """Raise NotConfigured (said at INFO) unless the crawl's rule has an ``auth:`` section."""
    s = crawler.settings
    if not s.getbool("OAUTH_ENABLED"):
        raise off(component, "OAUTH_ENABLED is off")
    if not s.get("OAUTH_PROVIDER"):
        raise off(component, "no auth: section (OAUTH_PROVIDER)")


class OAuthMiddleware:
    def __init__(self, crawler: Crawler, provider: Provider, keeper: TokenKeeper) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.provider = provider
        self.keeper = keeper
        self.secrets: set[str] = set()
        self.log_filter = RedactingFilter(Redactor())
        # Requests out with a token, until their answer was read (an entry goes with its request).
        self.sent: WeakKeyDictionary[Request, Sent] = WeakKeyDictionary()
        self._handlers: list[logging.Handler] = []
        self._waiters: list[Deferred] | None = None
        self._stopping = False
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OAuthMiddleware:
        enabled(crawler, "OAuthMiddleware")
        s = crawler.settings
        name = s.get("OAUTH_PROVIDER")
        credential = s.get("OAUTH_CREDENTIAL")
        # Here, not at the top: the token clients (Authlib) load only for a rule with auth:.
        from crawler.oauth import configured

        mw = cls.__new__(cls)
        try:
            provider = configured.provider(s, name)
            secret = provider.secret()
            store = configured.token_store(s)
            keeper = configured.keeper(s, provider, credential, store, on_token=mw.learn)
        except (ProviderError, ValueError) as exc:
            # Not a traceback: one line at the start, the crawl closed (a start error, exit 4).
            return StartProblem(crawler, f"{exc}")
        cls.__init__(mw, crawler, provider, keeper)
        mw.learn_secret(secret)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.engine_stopped, signal=signals.engine_stopped)
        return mw

    # -- secrets out of the log ------------------------------------------------------------

    def learn(self, token: Token) -> None:
        self.learn_secret(*token.secrets)

    def learn_secret(self, *values: str | None) -> None:
        new = {v for v in values if v} - self.secrets
        if new:
            self.secrets |= new
            self.log_filter.redactor = Redactor(self.secrets)

    def spider_opened(self, spider: Any) -> None:
        self._handlers = list(logging.getLogger().handlers)
        for handler in self._handlers:
            handler.addFilter(self.log_filter)
        stored = self.keeper.store.get(self.keeper.key)
        if stored is not None:
            self.learn(stored)  # its refresh token goes out in a URL (WeChat) before any renewal
        self.count_tokens()
        p = self.provider
        logger.info(
            "OAuth: provider %s (%s, %s grant), credential %s, tokens in %s, for %s",
            p.name, p.dialect, p.grant, self.keeper.credential,
            self.keeper.store.display_uri, ", ".join(p.hosts),
        )  # fmt: skip

    def count_tokens(self) -> None:
        # kept current (not set at the close: the run recorder reads the stats at spider_closed)
        for how, count in self.keeper.counts.items():
            self.stats.set_value(f"oauth/tokens/{how}", count)

    def engine_stopped(self) -> None:
        for handler in self._handlers:
            handler.removeFilter(self.log_filter)
        self._handlers = []
        self.keeper.store.close()

    def count(self, stat: str, message: str, *args: Any) -> None:
        """Count ``oauth/<stat>``; the first time, say it (WARNING) with what was done."""
        self.stats.inc_value(f"oauth/{stat}")
        if stat not in self._logged:
            self._logged.add(stat)
            logger.warning(message + " (later ones counted in oauth/%s)", *args, stat)

    # -- requests: the token on the way out, only to the provider's hosts ---------------------

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname
        ours = self.provider.allows(host)
        if not ours:
            self.stats.inc_value("oauth/requests/other_host")
        if not ours or request.meta.get("oauth") is False:
            self._strip(request, host)
            return None
        if self._stopping:
            raise IgnoreRequest("the crawl is stopping")
        token = self.keeper.cached() or await self.renewed(None)
        self._place(request, token)
        return None

    def _strip(self, request: Request, host: str | None) -> None:
        """No token of this process leaves with a request it does not sign."""
        if holds_secret(request.url, self.secrets):
            clean = scrubbed(request.url, self.secrets)
            if holds_secret(clean, self.secrets):
                self.count("requests/refused", "a request to %s held an OAuth token in its "
                           "path: not sent", host)  # fmt: skip
                raise IgnoreRequest("an OAuth token in its URL")
            request._set_url(clean)  # see _place
            self.count("requests/token_removed", "an OAuth token was taken out of the URL of a "
                       "request to %s, not one of the provider's hosts", host)  # fmt: skip
        auth = request.headers.get("Authorization")
        if auth and holds_secret(auth.decode("latin-1"), self.secrets):
            del request.headers["Authorization"]
            self.count("requests/token_removed", "an OAuth token was taken out of the "
                       "Authorization header of a request to %s", host)  # fmt: skip

    def _place(self, request: Request, token: Token) -> None:
        p = self.provider
        url, authorization = request.url, request.headers.get("Authorization")
        if p.token_in == "header":
            scheme = "Bearer" if token.token_type.lower() == "bearer" else token.token_type
            request.headers["Authorization"] = f"{scheme} {token.access_token}"
        else:
            extra = {p.openid_param: token.openid} if p.openid_param and token.openid else None
            # Request.url is read-only; returning a new request would send it back through the
            # scheduler (and, distributed, into Redis) with the token in its URL. _set_url is
            # pinned by tests/crawler/oauth/test_middleware.py.
            request._set_url(with_query_token(url, p.token_param, token.access_token, extra))
        self.sent[request] = Sent(token.label, url, request.url, authorization)
        self.stats.inc_value("oauth/requests/signed")

    def _unsign(self, request: Request, sent: Sent) -> None:
        if self.provider.token_in == "header":
            if sent.authorization is None:
                request.headers.pop("Authorization", None)
            else:
                request.headers["Authorization"] = sent.authorization
        elif request.url == sent.signed_url:
            request._set_url(sent.url)  # see _place

    # -- the way back: the token off the request, out of the answer's URL and Location ----------

    def process_response(self, request: Request, response: Response) -> Response:
        sent = self.sent.get(request)
        if sent is not None:
            self._unsign(request, sent)
        url = response.url
        if sent is not None and url == sent.signed_url:
            url = request.url
        elif holds_secret(url, self.secrets):  # e.g. a browser that followed a redirect
            url = scrubbed(url, self.secrets)
            if holds_secret(url, self.secrets):
                url = request.url
        self._scrub_location(response, sent)
        return response if url == response.url else response.replace(url=url)

    def _scrub_location(self, response: Response, sent: Sent | None) -> None:
        raw = response.headers.get("Location")
        if not raw:
            return
        location = raw.decode("utf-8", "surrogateescape")
        p = self.provider
        names = {p.token_param, p.openid_param} - {None}
        names = names if sent is not None and p.token_in == "query" else set()
        echoed = holds_secret(location, self.secrets)
        if not names and not echoed:
            return
        clean = scrubbed(location, self.secrets, names)
        host = urlparse_cached(response).hostname
        if echoed and holds_secret(clean, self.secrets):
            del response.headers["Location"]
            self.count("redirects/refused", "a redirect from %s held an OAuth token in its "
                       "Location outside the query: not followed", host)  # fmt: skip
            return
        if clean == location:
            return
        response.headers["Location"] = clean.encode("utf-8", "surrogateescape")
        if echoed:
            self.count("redirects/scrubbed", "a redirect from %s echoed an OAuth token in its "
                       "Location: taken out before the redirect is followed", host)  # fmt: skip

    def process_exception(self, request: Request, exception: Exception) -> None:
        sent = self.sent.pop(request, None)
        if sent is not None:
            self._unsign(request, sent)
        return None

    # -- renewals: one at a time in this process, the store's lock across processes ---------

    async def renewed(self, rejected: str | None) -> Token:
        """A fresh token; with ``rejected`` (the label of a token the provider refused), a
        newer one than that. Stops the crawl when only a person can fix it."""
        for _ in range(2):
            token = await self._one_renewal(rejected)
            if rejected is None or token.label != rejected:
                return token
        return token  # pragma: no cover - the keeper renews a rejected token itself

    async def _one_renewal(self, rejected: str | None) -> Token:
        if self._waiters is not None:
            waiter: Deferred = Deferred()
            self._waiters.append(waiter)
            try:
                return await maybe_deferred_to_future(waiter)
            except (
                OAuthFailure,
                LockTimeout,
            ) as exc:  # the renewal it waited for stopped the crawl
                raise IgnoreRequest(str(exc)) from None
        self._waiters = []
        call = self.keeper.token if rejected is None else (lambda: self.keeper.renew(rejected))
        try:
            token = await maybe_deferred_to_future(threads.deferToThread(call))
        except (OAuthFailure, LockTimeout) as exc:
            waiters, self._waiters = self._waiters, None
            for waiter in waiters:
                waiter.errback(exc)
            self._stop(exc)
        except BaseException as exc:
            waiters, self._waiters = self._waiters, None
            for waiter in waiters:
                waiter.errback(exc)
            raise
        self.count_tokens()
        waiters, self._waiters = self._waiters, None
        for waiter in waiters:
            waiter.callback(token)
        return token

    def _stop(self, exc: Exception) -> None:
        reason = getattr(exc, "reason", "lock_timeout")
        if not self._stopping:
            self._stopping = True
            logger.error("Stopping the crawl: %s", exc)
            self.stats.set_value("oauth/stopped", reason)
            self._closing = deferred_from_coro(
                self.crawler.engine.close_spider_async(reason=f"oauth_{reason}")
            )
        raise IgnoreRequest(str(exc))


class StartProblem:
    """What runs instead of the middleware when its configuration is wrong: the crawl closes
    at once (``oauth/stopped`` = ``not_configured``) and no request goes out unsigned."""

    def __init__(self, crawler: Crawler, problem: str) -> None:
        self.crawler = crawler
        self.problem = problem
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def spider_opened(self, spider: Any) -> None:
        logger.error("Cannot start: %s", self.problem)
        self.crawler.stats.set_value("oauth/stopped", "not_configured")
        self._closing = deferred_from_coro(
            self.crawler.engine.close_spider_async(reason="oauth_not_configured")
        )

    def process_request(self, request: Request) -> None:
        raise IgnoreRequest(self.problem)
