"""Ban detection and retry elsewhere.

``BanMiddleware`` asks the ban policy (``BAN_POLICY_CLASS``) about every response and download
error. A ban (or a proxy failure) is counted in stats, announced with the ``request_banned``
signal (the proxy middleware reports it to the pool, the session and user-agent middlewares
retire what got burned), and the request is retried: through another proxy right away, or,
when it went direct, after ``Retry-After`` or an exponential delay. The budget
(``BAN_RETRY_TIMES``) is separate from Scrapy's ``RETRY_TIMES``. A banned response never reaches
the spider: once the budget is spent the request fails with IgnoreRequest (its errback sees it).

A verdict the policy reached from the page's content (``Verdict.signal`` set: a captcha, a
vendor's challenge, a block phrase, a landing page that looks like a login) is checked first
against what the spider expects of the page (:mod:`.expected_content`): a page that yields its
page type's required fields is content, passed on as it is (stats ``antiban/overruled``,
``antiban/overruled/<signal>``), before any retry or back-off.

A captcha page (verdict ``captcha``) first goes to the captcha solver when ``CAPTCHA_SOLVER``
is set (crawler/captcha): solved or not, the request is tried again; a captcha the solver
skips or keeps failing is then a ban like any other.

Every verdict is logged at INFO with its evidence the first time its reason (and signal) comes
up, at DEBUG after that; bans from a page's content are also counted by the rule that matched
(``antiban/signals/<signal>``).

Order: 585, between RetryMiddleware (550) and HttpCompressionMiddleware (590), so that it sees
decompressed bodies and followed redirects, and sees ban statuses (429, 503) before Scrapy's
retry does.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.antiban.ban_policy import Verdict
from crawler.antiban.expected_content import has_expected_content
from crawler.antiban.retry_after import parse_retry_after
from crawler.antiban.signals import request_banned
from crawler.captcha import captcha_solving
from crawler.core.clock import sleep
from crawler.core.switches import off
from vocab import Outcome

logger = logging.getLogger(__name__)

_REDIRECT_META = ("redirect_urls", "redirect_reasons", "redirect_times", "redirect_ttl")


# Stats of retries on the ban budget (Scrapy's get_retry_request names them under this prefix):
# antiban/retries/count, antiban/retries/reason_count/<reason>, antiban/retries/max_reached.
STATS_PREFIX = "antiban/retries"


class BanMiddleware:
    def __init__(self, crawler: Crawler, policy: Any) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.policy = policy
        self.retry_times = s.getint("BAN_RETRY_TIMES")
        self.retry_delay = s.getfloat("BAN_RETRY_DELAY")
        self.retry_after_max = s.getfloat("BAN_RETRY_AFTER_MAX")
        self.priority_adjust = s.getint("BAN_RETRY_PRIORITY_ADJUST")
        self.captchas = captcha_solving(crawler, policy)
        self.logged: set[str] = set()  # verdicts logged at INFO once, by reason and signal

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BanMiddleware:
        s = crawler.settings
        if not s.getbool("BAN_ENABLED"):
            raise off("BanMiddleware", "BAN_ENABLED is off")
        policy = build_from_crawler(load_object(s.get("BAN_POLICY_CLASS")), crawler)
        return cls(crawler, policy)

    async def process_request(self, request: Request) -> None:
        not_before = request.meta.get("antiban_not_before")
        if not_before:
            await sleep(not_before - time.monotonic())
        return None

    def process_response(self, request: Request, response: Response) -> Any:
        if request.meta.get("antiban_login") or request.meta.get("dont_check_ban"):
            return response
        verdict = self.policy.response_verdict(request, response)
        if verdict is None or self._overruled(verdict, response):
            return response
        if verdict.reason == "captcha" and self.captchas is not None:
            # Solving downloads: a coroutine, which Scrapy awaits (every other answer is at once).
            return self._after_captcha(request, response, verdict)
        return self._banned(request, response, verdict)

    def _overruled(self, verdict: Verdict, response: Response) -> bool:
        """A verdict from the page's content, on a page that has what the spider expects."""
        signal = getattr(verdict, "signal", "")
        if not signal or has_expected_content(self.crawler.spider, response) is not True:
            return False
        self.stats.inc_value("antiban/overruled")
        self.stats.inc_value(f"antiban/overruled/{signal}")
        self._log(
            f"overruled:{signal}",
            "not a ban: %s (%s) on %s, but the page yields its page type's required fields: %s",
            verdict.reason,
            signal,
            response.url,
            getattr(verdict, "evidence", ""),
        )
        return True

    def _log(self, key: str, message: str, *args: Any) -> None:
        level = logging.DEBUG if key in self.logged else logging.INFO
        self.logged.add(key)
        logger.log(level, message, *args)

    async def _after_captcha(
        self, request: Request, response: Response, verdict: Verdict
    ) -> Request | Response:
        assert self.captchas is not None
        again = await self.captchas.handle(request, response)
        return again if again is not None else self._banned(request, response, verdict)

    def _banned(self, request: Request, response: Response, verdict: Verdict) -> Request:
        retry_after = None
        if b"Retry-After" in response.headers:
            retry_after = parse_retry_after(response.headers.get(b"Retry-After"))
            if retry_after is not None:
                retry_after = min(retry_after, self.retry_after_max)
        retry = self._handle(request, verdict, response=response, retry_after=retry_after)
        if retry is None:
            raise IgnoreRequest(
                f"banned ({verdict.reason}) and out of ban retries ({self.retry_times}): {request.url}"
            )
        return retry

    def process_exception(self, request: Request, exception: BaseException) -> Request | None:
        # A download the stopping crawl cut (crawler/antiban/proxy_middleware.py) is no failure.
        if request.meta.get("dont_check_ban") or request.meta.get("antiban_cut"):
            return None
        verdict = self.policy.exception_verdict(request, exception)
        if verdict is None:
            return None
        # Out of budget: let Scrapy's RetryMiddleware and the errback deal with the error.
        return self._handle(request, verdict, response=None, retry_after=None)

    def _handle(
        self,
        request: Request,
        verdict: Verdict,
        *,
        response: Response | None,
        retry_after: float | None,
    ) -> Request | None:
        via = request.meta.get("antiban_proxy_label") or (
            "proxy" if request.meta.get("proxy") else "direct"
        )
        kind = "bans" if verdict.outcome is Outcome.BAN else "failures"
        self.stats.inc_value(f"antiban/{kind}")
        self.stats.inc_value(f"antiban/{kind}/{verdict.reason}")
        signal = getattr(verdict, "signal", "")
        if signal:
            self.stats.inc_value(f"antiban/signals/{signal}")
        self._log(
            f"{kind}:{verdict.reason}:{signal}",
            "%s (%s) on %s via %s: %s",
            "ban" if kind == "bans" else "failure",
            f"{verdict.reason}, {signal}" if signal else verdict.reason,
            _original_url(request),
            via,
            getattr(verdict, "evidence", "") or "-",
        )
        self.crawler.signals.send_catch_log(
            request_banned,
            request=request,
            reason=verdict.reason,
            outcome=verdict.outcome,
            response=response,
            retry_after=retry_after,
        )
        retries = request.meta.get("antiban_ban_retries", 0)
        # Scrapy's get_retry_request counts in meta["retry_times"], which RetryMiddleware shares;
        # the ban budget is separate, so its count stands in for the call and is put back after.
        probe = request.replace(url=_original_url(request))
        probe.meta["retry_times"] = retries
        retry = get_retry_request(
            probe,
            spider=self.crawler.spider,
            reason=verdict.reason,
            max_retry_times=self.retry_times,
            priority_adjust=self.priority_adjust,
            logger=logger,
            give_up_log_level=logging.WARNING,
            stats_base_key=STATS_PREFIX,
        )
        if retry is None:
            logger.debug("last ban of %s: %s via %s", _original_url(request), verdict.reason, via)
            return None
        retry.meta["retry_times"] = request.meta.get("retry_times", 0)
        if not retry.meta["retry_times"]:
            del retry.meta["retry_times"]
        for key in _REDIRECT_META:
            retry.meta.pop(key, None)
        retry.meta["antiban_ban_retries"] = retries + 1
        tried = list(request.meta.get("antiban_tried_proxies", ()))
        if request.meta.get("antiban_proxy"):
            tried.append(request.meta["antiban_proxy"])
        retry.meta["antiban_tried_proxies"] = tried
        if not request.meta.get("proxy"):
            # Direct: the same address would be banned again at once; wait first.
            delay = retry_after if retry_after is not None else self.retry_delay * 2**retries
            retry.meta["antiban_not_before"] = time.monotonic() + min(delay, self.retry_after_max)
        else:
            retry.meta.pop("antiban_not_before", None)
        return retry


def _original_url(request: Request) -> str:
    urls = request.meta.get("redirect_urls")
    return urls[0] if urls else request.url
