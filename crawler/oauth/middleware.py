"""OAuth 2.0 tokens on the requests of a rule with an ``auth:`` section (docs/auth.md).

A thin adapter over :mod:`crawler.oauth`: each request to one of the provider's ``hosts`` gets
the credential's token (``Authorization: Bearer`` or a query parameter such as
``access_token``), renewed before it expires. An answer the provider declares "expired" (401,
or an ``errcode`` such as WeChat's 42001 in a 200 answer) renews the token once (if no other
request or process did already) and retries the request through Scrapy's ``get_retry_request``
(stats under ``oauth/retries``); a second such answer drops the request, counted. A refresh
token the provider refuses, a refused client or no stored credential stops the crawl at once:
stat ``oauth/stopped`` = the reason, close reason ``oauth_<reason>``, exit status 5 (blocked),
and one ERROR line saying what to do (``scrapy auth authorize PROVIDER``).

The token leaves the request again on the way back (the spider, its items and the retry queue
never see it), and every token this process learns is redacted from the log. Settings:
``OAUTH_*`` (crawler/defaults/auth.py). Order 560: after the session and proxy middlewares;
responses come decompressed (590), before RetryMiddleware (550).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import threads
from twisted.internet.defer import Deferred

from crawler.core.log_redaction import RedactingFilter
from crawler.core.switches import off
from crawler.oauth.errors import OAuthFailure, ProviderError
from crawler.oauth.placement import expired_answer, with_query_token, without_query_token
from crawler.oauth.token_stores import LockTimeout
from vocab.redaction import Redactor

if TYPE_CHECKING:
    from crawler.oauth.keeper import TokenKeeper
    from crawler.oauth.source_providers import Provider
    from crawler.oauth.source_tokens import Token

logger = logging.getLogger(__name__)

META_TOKEN = "oauth_token"  # the label (a hash) of the token a request was sent with
META_CLEAN_URL = "oauth_clean_url"
META_RETRIED = "oauth_retried"


class OAuthMiddleware:
    def __init__(self, crawler: Crawler, provider: Provider, keeper: TokenKeeper) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.provider = provider
        self.keeper = keeper
        self.priority_adjust = crawler.settings.getint("OAUTH_RETRY_PRIORITY_ADJUST")
        self.secrets: set[str] = set()
        self.log_filter = RedactingFilter(Redactor())
        self._handlers: list[logging.Handler] = []
        self._waiters: list[Deferred] | None = None
        self._stopping = False
        self._warned = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OAuthMiddleware:
        s = crawler.settings
        if not s.getbool("OAUTH_ENABLED"):
            raise off("OAuthMiddleware", "OAUTH_ENABLED is off")
        name = s.get("OAUTH_PROVIDER")
        if not name:
            raise off("OAuthMiddleware", "no auth: section (OAUTH_PROVIDER)")
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

    # -- requests --------------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        if request.meta.get("oauth") is False:
            return None
        if not self.provider.allows(urlparse_cached(request).hostname):
            self.stats.inc_value("oauth/requests/other_host")
            return None
        if self._stopping:
            raise IgnoreRequest("the crawl is stopping")
        token = self.keeper.cached() or await self._renewed(None)
        self._place(request, token)
        return None

    def _place(self, request: Request, token: Token) -> None:
        p = self.provider
        request.meta[META_TOKEN] = token.label
        if p.token_in == "header":
            scheme = "Bearer" if token.token_type.lower() == "bearer" else token.token_type
            request.headers["Authorization"] = f"{scheme} {token.access_token}"
        else:
            clean = without_query_token(request.url, p.token_param)
            request.meta[META_CLEAN_URL] = clean
            extra = {p.openid_param: token.openid} if p.openid_param and token.openid else None
            # Request.url is read-only; returning a new request would send it back through the
            # scheduler (and, distributed, into Redis) with the token in its URL. _set_url is
            # pinned by tests/crawler/oauth/test_middleware.py.
            request._set_url(with_query_token(clean, p.token_param, token.access_token, extra))
        self.stats.inc_value("oauth/requests/signed")

    def _unsign(self, request: Request) -> None:
        if self.provider.token_in == "header":
            request.headers.pop("Authorization", None)
        elif META_CLEAN_URL in request.meta:
            request._set_url(request.meta[META_CLEAN_URL])  # see _place

    async def process_response(self, request: Request, response: Response) -> Any:
        label = request.meta.get(META_TOKEN)
        if label is None:
            return response
        self._unsign(request)
        p = self.provider
        if not expired_answer(
            response.status, response.body, p.expired_statuses, p.expired_errcodes
        ):
            if p.token_in == "query":
                return response.replace(url=request.url)
            return response
        self.stats.inc_value("oauth/expired_answers")
        if request.meta.get(META_RETRIED):
            self.stats.inc_value("oauth/rejected_after_renewal")
            if not self._warned:
                self._warned = True
                logger.warning(
                    "provider %s rejected a renewed token too (%s): request dropped; later "
                    "ones are counted in oauth/rejected_after_renewal", p.name, request.url,
                )  # fmt: skip
            raise IgnoreRequest("the token was rejected after renewal")
        await self._renewed(rejected=label)
        retry = get_retry_request(
            request,
            spider=self.crawler.spider,
            reason="token_expired",
            max_retry_times=request.meta.get("retry_times", 0) + 1,
            priority_adjust=self.priority_adjust,
            stats_base_key="oauth/retries",
        )
        if retry is None:  # pragma: no cover - max_retry_times above always allows one
            raise IgnoreRequest("token expired")
        retry.meta[META_RETRIED] = True
        return retry

    def process_exception(self, request: Request, exception: Exception) -> None:
        if request.meta.get(META_TOKEN) is not None:
            self._unsign(request)
        return None

    # -- renewals: one at a time in this process, the store's lock across processes ---------

    async def _renewed(self, rejected: str | None) -> Token:
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
