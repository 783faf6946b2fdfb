"""Rule crawls fetch http and https only, never send a URL's user info, and follow redirects only
where the rule goes.

A rule's start URLs and links are checked where they are made; this downloader middleware is
the last word for everything else that reaches the downloader in a rule crawl, redirects
included:

- another scheme (``file:``, ``data:``, ``ftp:``, ``s3:``...) is refused (counted under
  ``rule/refused/scheme_<scheme>``, logged once);
- user info (``http://user:pw@host/``, or the ``http://evil@127.0.0.1/`` trick that Scrapy would
  send as part of the Host header) is removed from the URL before it is sent
  (``rule/refused/userinfo``);
- a **redirect** (of any request: start URLs too, which Scrapy's offsite middleware lets through
  with everything they redirect to, as ``dont_filter`` requests) stays on the spider's allowed
  domains (``rule/refused/offsite_redirect``; a request marked ``allow_offsite``, as preview's,
  skips this one) and never reaches a private or loopback address other than the rule's own
  start origins (``rule/refused/private_address``: :mod:`crawler.core.addresses`, the policy
  rendered pages and preview keep too);
- **any request** (a followed link, a login form, an image a captcha needs) to a private or
  loopback address other than the rule's own start origins is refused the same way: a page of
  ``http://127.0.0.1:8000/`` linking to ``http://127.0.0.1:8001/admin`` is not fetched. An
  address literal, or a name resolved in the last minute, is judged at once; another name is
  resolved first, off the reactor's thread.

Hand-written spiders are left alone. Order: 50, before every other downloader middleware.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request

from crawler.core.addresses import AddressPolicy, on_domains, refusal_message
from crawler.core.sites import site_of
from crawler.rules.request_specs import ALLOWED_SCHEMES, strip_userinfo
from crawler.spider.rule_spider import RuleSpider
from vocab import mask_url

logger = logging.getLogger(__name__)


class SafeUrlMiddleware:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self._logged: set[str] = set()
        self._policies: dict[str, AddressPolicy] = {}  # per rule (per site of a group crawl)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SafeUrlMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Any:
        spider = site_of(self.crawler.spider, request)
        if not isinstance(spider, RuleSpider):
            return None
        scheme = request.url.partition(":")[0].lower()
        if scheme not in ALLOWED_SCHEMES:
            self._count(
                f"scheme_{scheme}", f"refused a {scheme}: URL: only http and https are crawled"
            )
            raise IgnoreRequest(f"refused {mask_url(request.url)[:200]}: not http or https")
        if request.meta.get("redirect_urls"):
            # A coroutine (Scrapy awaits what a middleware returns): the address policy may
            # resolve the host name, off the reactor's thread.
            return self._redirected(request, spider)
        policy = self._policy_of(spider)
        reason = policy.refusal_now(request.url)
        if reason is ...:
            return self._resolved(request, policy)
        if reason is not None:
            self._refuse(request, reason, "", policy)
        return self._without_userinfo(request)

    async def _redirected(self, request: Request, spider: RuleSpider) -> Request | None:
        await self._check_redirect(request, spider)
        return self._without_userinfo(request)

    async def _resolved(self, request: Request, policy: AddressPolicy) -> Request | None:
        reason = await policy.refusal(request.url)
        if reason is not None:
            self._refuse(request, reason, "", policy)
        return self._without_userinfo(request)

    def _policy_of(self, spider: RuleSpider) -> AddressPolicy:
        policy = self._policies.get(spider.name)
        if policy is None:
            also = self.crawler.settings.getlist("CRAWL_PRIVATE_ORIGINS")
            policy = self._policies[spider.name] = spider.address_policy(also)
        return policy

    def _refuse(self, request: Request, reason: str, before: str, policy: AddressPolicy) -> None:
        """A request (or, with ``before``, a redirect) to an address the policy refuses."""
        url = mask_url(request.url)[:200]
        message = before + refusal_message(url, reason, policy)
        self._count(reason, message)
        raise IgnoreRequest(message)

    def _without_userinfo(self, request: Request) -> Request | None:
        clean = strip_userinfo(request.url)
        if clean != request.url:
            self._count("userinfo", f"removed user info from {mask_url(request.url)[:200]}")
            return request.replace(url=clean, dont_filter=True)
        return None

    async def _check_redirect(self, request: Request, spider: RuleSpider) -> None:
        url = mask_url(request.url)[:200]
        origin = mask_url(request.meta["redirect_urls"][0])[:200]
        domains = list(getattr(spider, "allowed_domains", None) or ())
        if domains and not request.meta.get("allow_offsite"):
            host = urlsplit(request.url).hostname or ""
            if not on_domains(host, domains):
                message = (
                    f"refused the redirect of {origin} to {url}: not on the rule's domains "
                    f"({', '.join(domains)})"
                )
                self._count("offsite_redirect", message)
                raise IgnoreRequest(message)
        policy = self._policy_of(spider)
        reason = await policy.refusal(request.url)
        if reason is not None:
            self._refuse(request, reason, f"refused the redirect of {origin}: ", policy)

    def _count(self, reason: str, message: str) -> None:
        self.crawler.stats.inc_value(f"rule/refused/{reason}")
        if reason not in self._logged:
            self._logged.add(reason)
            logger.warning("%s (logged once; counted in rule/refused/%s)", message, reason)
