"""What the provider answered a signed request (order 588: bodies decompressed at 590, read
before the ban check at 585, the render middleware at 587 and Scrapy's retries at 550).

- A token the answer echoes in its body (a link, a field) is replaced by ``***``, so that no
  item, link or meta refresh of the crawl carries it (``oauth/responses/scrubbed``, logged once).
- An answer the provider declares "expired" (401, or an ``errcode`` such as WeChat's 42001 in a
  200 answer) renews the token once (unless another request or process did already) and retries
  the request through Scrapy's ``get_retry_request`` (stats under ``oauth/retries``); the retry
  is the request without its token (:class:`~crawler.oauth.middleware.OAuthMiddleware` took it
  off), signed again on its way out. A second such answer drops the request, counted in
  ``oauth/rejected_after_renewal``.

Which requests went out signed, and with which token, the token middleware (950) knows; this
one asks it (``Crawler.get_downloader_middleware``), so nothing about the token travels in the
request's meta.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, quote_plus

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.oauth.middleware import OAuthMiddleware, enabled
from crawler.oauth.placement import expired_answer

logger = logging.getLogger(__name__)

META_RETRIED = "oauth_retried"
MARK = b"***"


class OAuthAnswerMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.priority_adjust = crawler.settings.getint("OAUTH_RETRY_PRIORITY_ADJUST")
        self._oauth: OAuthMiddleware | None | bool = False  # False: not looked up yet
        self._warned = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OAuthAnswerMiddleware:
        enabled(crawler, "OAuthAnswerMiddleware")
        return cls(crawler)

    @property
    def oauth(self) -> OAuthMiddleware | None:
        if self._oauth is False:  # the engine exists once responses come back
            self._oauth = self.crawler.get_downloader_middleware(OAuthMiddleware)
        return self._oauth or None

    async def process_response(self, request: Request, response: Response) -> Any:
        oauth = self.oauth
        sent = oauth.sent.pop(request, None) if oauth is not None else None
        if sent is None:
            return response
        response = self._scrubbed(oauth, response)
        p = oauth.provider
        if not expired_answer(
            response.status, response.body, p.expired_statuses, p.expired_errcodes
        ):
            return response
        oauth.stats.inc_value("oauth/expired_answers")
        if request.meta.get(META_RETRIED):
            oauth.stats.inc_value("oauth/rejected_after_renewal")
            if not self._warned:
                self._warned = True
                logger.warning(
                    "provider %s rejected a renewed token too (%s): request dropped; later "
                    "ones are counted in oauth/rejected_after_renewal", p.name, request.url,
                )  # fmt: skip
            raise IgnoreRequest("the token was rejected after renewal")
        await oauth.renewed(rejected=sent.label)
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

    @staticmethod
    def _scrubbed(oauth: OAuthMiddleware, response: Response) -> Response:
        body = response.body
        forms = {f(s).encode() for s in oauth.secrets for f in (str, _quoted, quote_plus)}
        found = [form for form in forms if form in body]
        if not found:
            return response
        for form in sorted(found, key=len, reverse=True):
            body = body.replace(form, MARK)
        oauth.count("responses/scrubbed", "an answer of %s echoed an OAuth token in its body: "
                    "replaced by ***", oauth.provider.name)  # fmt: skip
        return response.replace(body=body)


def _quoted(secret: str) -> str:
    return quote(secret, safe="")
