"""Rule crawls fetch http and https only, and never send a URL's user info.

A rule's start URLs and links are checked where they are made; this downloader middleware is
the last word for everything else that reaches the downloader in a rule crawl, redirects
included: another scheme (``file:``, ``data:``, ``ftp:``, ``s3:``...) is refused (counted under
``rule/refused/scheme_<scheme>``, logged once), and user info (``http://user:pw@host/``, or the
``http://evil@127.0.0.1/`` trick that Scrapy would send as part of the Host header) is removed
from the URL before it is sent (``rule/refused/userinfo``). Hand-written spiders are left alone.

Order: 50, before every other downloader middleware.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from crawler.rules.request_specs import ALLOWED_SCHEMES, strip_userinfo
from crawler.spider.rule_spider import RuleSpider
from vocab import mask_url

logger = logging.getLogger(__name__)


class SafeUrlMiddleware:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self._logged: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> SafeUrlMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Request | None:
        if not isinstance(self.crawler.spider, RuleSpider):
            return None
        scheme = request.url.partition(":")[0].lower()
        if scheme not in ALLOWED_SCHEMES:
            self._count(
                f"scheme_{scheme}", f"refused a {scheme}: URL: only http and https are crawled"
            )
            raise IgnoreRequest(f"refused {mask_url(request.url)[:200]}: not http or https")
        clean = strip_userinfo(request.url)
        if clean != request.url:
            self._count("userinfo", f"removed user info from {mask_url(request.url)[:200]}")
            return request.replace(url=clean, dont_filter=True)
        return None

    def _count(self, reason: str, message: str) -> None:
        self.crawler.stats.inc_value(f"rule/refused/{reason}")
        if reason not in self._logged:
            self._logged.add(reason)
            logger.warning("%s (logged once; counted in rule/refused/%s)", message, reason)
