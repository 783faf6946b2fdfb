"""Which requests render, in which browser context, and what their pages gave.

``RenderMiddleware`` (installed by the rendering add-on) renders a request when the rule's
``render:`` says so for its start or its page type (:class:`RenderPlan`), or when the request
carries a :class:`RenderSpec` in ``meta["render"]`` (``scrapy preview --render``). A type of
``render: auto`` is fetched statically first and rendered only when that page misses its
content (:mod:`crawler.render.auto`).

**One context per identity.** The context is named after the request's proxy, session (cookie
jar) and User-Agent, as the anti-ban middlewares chose them (this one runs after them): the
browser presents the same agent (``navigator.userAgent`` included), goes out through the same
proxy and keeps the same cookies as the static requests of that identity. A banned proxy or a
retired agent gives the next request a new context. With stealth (``render: {stealth: true}``,
the default) the page hides its automation and tells that identity the same way everywhere:
agent, platform, client hints, languages (:mod:`crawler.render.stealth`).

**Ban pages.** While a page waits for what the rule asked, the ban policy looks at it every
half second: a ban or captcha page (which never shows it) is handed on as it is, to the ban
middleware and the captcha solver, instead of timing out (``render/banned_pages``). A page the
policy doubts from its content but that has what the spider expects of it is not one.

**Results.** Captured XHR/fetch JSON goes to ``meta["render_json"]`` (the page's JSON for
``json:`` selectors), the screenshot to ``meta["render_screenshot"]`` (PNG bytes, also saved
under ``RENDER_SCREENSHOT_DIR`` when set; at most ``RENDER_SCREENSHOT_MAX_HEIGHT`` pixels tall, and
not kept over ``RENDER_SCREENSHOT_MAX_BYTES``). Stats under ``render/``: pages, captured,
blocked, screenshots, and ``render/errors/<reason>`` for pages that did not settle (logged once
per reason; the request fails to its errback and the crawl goes on).

**Sliders.** When the crawl solves slider captchas itself (the slider's solver is ``ocr``), a
rendered page that turns out to be one (the ban watch) and shows a slider
(:class:`crawler.captcha.SliderSelectors`) has its handle dragged to the gap in the page, then
settles again: ``captcha/slider/dragged``, ``captcha/slider/drag_passed`` and
``captcha/slider/drag_errors`` (logged once with the reason). A slider that does not let the
page through is handed over as before (the ban middleware and the HTTP flow).

**Guarded.** Each page gets a :class:`crawler.render.guard.RequestGuard`: the spider's allowed
domains (and the page's own host), the ``resource_hosts`` of its ``render:``, and the crawl's
address policy (:func:`crawler.core.addresses.rule_policy`: no private or loopback address but
the rule's start origins). What it refused is counted under ``render/refused/<reason>`` and
logged once per reason.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.misc import build_from_crawler, load_object
from scrapy_playwright.page import PageMethod

from crawler.antiban import has_expected_content
from crawler.captcha import SliderSelectors
from crawler.core.addresses import AddressPolicy
from crawler.core.sites import site_of
from crawler.core.switches import off
from crawler.render import META_RENDER, META_SCREENSHOT, META_SCREENSHOT_PATH
from crawler.render.auto import META_AUTO, AutoRender
from crawler.render.guard import RequestGuard
from crawler.render.page import META_STATE, RenderState, captured_json, run_page
from crawler.render.stealth import STEALTH_CONTEXT_KEY, disguise_for
from crawler.rules.sections.render import RenderSpec
from crawler.spider import META_PAGE, META_RENDER_JSON, META_START
from vocab import mask_url

logger = logging.getLogger(__name__)

PLAYWRIGHT_KEYS = (
    "playwright",
    "playwright_context",
    "playwright_context_kwargs",
    "playwright_page_init_callback",
    "playwright_page_methods",
    "playwright_page_goto_kwargs",
)


class RenderMiddleware:
    def __init__(self, crawler: Any) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_wait = s.getfloat("RENDER_MAX_WAIT")
        self.settle = s.getfloat("RENDER_SETTLE")
        self.screenshot_dir = s.get("RENDER_SCREENSHOT_DIR")
        self.screenshot_max_height = s.getint("RENDER_SCREENSHOT_MAX_HEIGHT")
        self.screenshot_max_bytes = s.getint("RENDER_SCREENSHOT_MAX_BYTES")
        self._policies: dict[str, AddressPolicy] = {}  # per rule (per site of a group crawl)
        self._logged: set[str] = set()
        self.ban_policy = None
        if s.getbool("BAN_ENABLED"):
            self.ban_policy = build_from_crawler(load_object(s.get("BAN_POLICY_CLASS")), crawler)
        self.auto = AutoRender(crawler, self.ban_policy)
        self.slider = SliderSelectors.for_crawl(s) if self.ban_policy is not None else None

    @classmethod
    def from_crawler(cls, crawler: Any) -> RenderMiddleware:
        if not crawler.settings.getbool("RENDER_ENABLED"):
            raise off("RenderMiddleware", "RENDER_ENABLED is off")
        return cls(crawler)

    def spec_for(self, request: Request) -> RenderSpec | None:
        explicit = request.meta.get(META_RENDER)
        if isinstance(explicit, RenderSpec):
            return explicit
        rule = getattr(site_of(self.crawler.spider, request), "rule", None)
        plan = rule.section("render") if rule is not None else None
        if not plan:
            return None
        return plan.for_request(request.meta.get(META_PAGE), request.meta.get(META_START))

    def process_request(self, request: Request) -> None:
        spec = self.spec_for(request)
        if spec is not None and spec.auto and not self.auto.renders(request, spec):
            spec = None  # fetched statically first, judged in process_response
        if spec is None:
            for key in (*PLAYWRIGHT_KEYS, META_STATE):
                request.meta.pop(key, None)  # e.g. a static request made from a rendered one
            return None
        state = RenderState(spec, max_wait=spec.max_wait or self.max_wait, settle=self.settle)
        state.judge = self.judge(request)
        state.slider = self.slider
        state.screenshot_max_height = self.screenshot_max_height
        state.guard = self.guard_for(request, spec)
        name, kwargs = context_for(request, stealth=spec.stealth)
        request.meta.update(
            {
                "playwright": True,
                "playwright_context": name,
                "playwright_context_kwargs": kwargs,
                "playwright_page_init_callback": "crawler.render.tab.prepare_page",
                "playwright_page_methods": [PageMethod(run_page, state)],
                "playwright_page_goto_kwargs": {
                    "wait_until": spec.wait_until,
                    "timeout": state.max_wait * 1000,
                },
                META_STATE: state,
            }
        )
        # The context's identity, told the same way to the page's scripts (crawler.render.stealth)
        state.disguise = kwargs.get(STEALTH_CONTEXT_KEY)
        for key in (META_RENDER_JSON, META_SCREENSHOT, META_SCREENSHOT_PATH):
            request.meta.pop(key, None)
        self.stats.inc_value("render/requests")
        return None

    def policy(self, spider: Any) -> AddressPolicy:
        """The address policy of ``spider``'s pages: its start origins are the rule's own (a
        hand-written spider's ``start_urls``)."""
        name = getattr(spider, "name", None) or ""
        policy = self._policies.get(name)
        if policy is None:
            if hasattr(spider, "address_policy"):
                also = self.crawler.settings.getlist("CRAWL_PRIVATE_ORIGINS")
                policy = spider.address_policy(also)
            else:
                policy = AddressPolicy.for_urls(getattr(spider, "start_urls", None) or ())
            self._policies[name] = policy
        return policy

    def guard_for(self, request: Request, spec: RenderSpec) -> RequestGuard:
        spider = site_of(self.crawler.spider, request)
        domains = tuple(getattr(spider, "allowed_domains", None) or ())
        return RequestGuard.for_page(request.url, domains, spec.resource_hosts, self.policy(spider))

    def judge(self, request: Request) -> Any:
        """Whether a page, as the browser has it now, is a ban or captcha page (ban policy)."""
        policy = self.ban_policy
        if policy is None or request.meta.get("dont_check_ban"):
            return None

        def is_ban(status: int, url: str, html: str) -> bool:
            page = HtmlResponse(url, status=status, body=html, encoding="utf-8", request=request)
            verdict = policy.response_verdict(request, page)
            if verdict is None:
                return False
            # A verdict from the page's content (not its status) stands only if the page lacks
            # what the spider expects of it, as the ban middleware decides too.
            return not (verdict.signal and has_expected_content(self.crawler.spider, page))

        return is_ban

    def process_response(self, request: Request, response: Response) -> Response | Request:
        state = self._finish(request)
        if state is None:
            if request.meta.pop(META_AUTO, None) == "static":  # render: auto's first try
                return self.auto.judge(request, response, self.spec_for(request)) or response
            return response
        self.auto.rendered(request)
        if state.banned:  # the ban middleware takes it from here
            self.stats.inc_value("render/banned_pages")
            return response
        self.stats.inc_value("render/pages")
        if state.patterns:
            found = captured_json(state)
            request.meta[META_RENDER_JSON] = found
            self.stats.inc_value("render/captured", len(found))
            if state.capture_errors:
                self.stats.inc_value("render/capture_errors", state.capture_errors)
        if state.blocked:
            self.stats.inc_value("render/blocked", state.blocked)
        if state.screenshot is not None and len(state.screenshot) > self.screenshot_max_bytes:
            self.stats.inc_value("render/screenshots/too_large")
            self.log_once(
                "screenshot_too_large",
                f"a screenshot of {len(state.screenshot)} bytes is over "
                f"RENDER_SCREENSHOT_MAX_BYTES={self.screenshot_max_bytes}: not kept "
                f"({response.url})",
            )
            state.screenshot = None
        if state.screenshot is not None:
            if state.screenshot_clipped:
                self.stats.inc_value("render/screenshots/clipped")
            request.meta[META_SCREENSHOT] = state.screenshot
            self.stats.inc_value("render/screenshots")
            if self.screenshot_dir:
                path = self.save_screenshot(response.url, state.screenshot)
                request.meta[META_SCREENSHOT_PATH] = str(path)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        state = self._finish(request)
        if state is None:
            return None
        reason = getattr(exception, "reason", None) or type(exception).__name__
        refusal = getattr(exception, "refusal", None)
        if refusal:  # a page that navigated where the rule may not go (RenderRefused)
            reason = f"refused_{refusal}"
        self.stats.inc_value("render/errors")
        self.stats.inc_value(f"render/errors/{reason}")
        self.log_once(reason, f"rendering failed ({reason}): {exception} on {request.url}")
        return None

    def log_once(self, key: str, message: str) -> None:
        level = logging.DEBUG if key in self._logged else logging.WARNING
        self._logged.add(key)
        logger.log(level, "%s", message)

    def _finish(self, request: Request) -> RenderState | None:
        state = request.meta.pop(META_STATE, None)
        if state is None:
            return None
        for key in PLAYWRIGHT_KEYS:  # callables and page objects: never in a retry or a queue
            request.meta.pop(key, None)
        self._count_refused(state)
        if state.slider_drags:  # a slider captcha dragged through in the page (page.py)
            self.stats.inc_value("captcha/slider/dragged", state.slider_drags)
            self.stats.inc_value("captcha/slider/drag_passed", state.slider_passed)
        if state.slider_error:
            self.stats.inc_value("captcha/slider/drag_errors")
            self.log_once(
                "slider_drag_error",
                f"could not drag a slider captcha in a rendered page: {state.slider_error} "
                "(logged once; counted in captcha/slider/drag_errors; the page is handed over)",
            )
        return state

    def _count_refused(self, state: RenderState) -> None:
        guard = state.guard
        if guard is None:
            return
        for why, count in guard.refused.items():
            self.stats.inc_value("render/refused", count)
            self.stats.inc_value(f"render/refused/{why}", count)
            kind, url = guard.examples[why]
            self.log_once(
                f"refused/{why}",
                f"refused a request of a rendered page ({why}): {kind} {mask_url(url)[:200]} "
                f"(logged once; counted in render/refused/{why})",
            )
        guard.refused.clear()

    def save_screenshot(self, url: str, png: bytes) -> Path:
        spider = self.crawler.spider
        directory = Path(self.screenshot_dir) / (getattr(spider, "name", None) or "render")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{hashlib.sha1(url.encode()).hexdigest()[:16]}.png"
        path.write_bytes(png)
        return path


def context_for(request: Request, stealth: bool = False) -> tuple[str, dict[str, Any]]:
    """The browser context of the request's identity: its name and how to make it (a stealthy
    one is another context, whose pages all get the evasions: ``STEALTH_CONTEXT_KEY``)."""
    meta = request.meta
    proxy = meta.get("proxy") or ""
    session = meta.get("antiban_session", meta.get("cookiejar"))
    agent = request.headers.get(b"User-Agent", b"").decode("latin-1")
    identity = f"{meta.get('antiban_proxy') or proxy}\n{session}\n{agent}"
    if stealth:
        disguise = disguise_for(request.headers)
        identity += f"\nstealth\n{disguise}"
    name = "render-" + hashlib.sha1(identity.encode()).hexdigest()[:12]
    kwargs: dict[str, Any] = {"ignore_https_errors": True}
    if agent:
        kwargs["user_agent"] = agent
    language = request.headers.get(b"Accept-Language")
    if language:
        kwargs["extra_http_headers"] = {"Accept-Language": language.decode("latin-1")}
    if proxy:
        kwargs["proxy"] = browser_proxy(proxy)
    if stealth:
        kwargs[STEALTH_CONTEXT_KEY] = disguise  # the download handler takes it out
    return name, kwargs


def browser_proxy(url: str) -> dict[str, str]:
    """Playwright's proxy option for a proxy URL; loopback addresses go through it too
    (Chromium sends them direct unless told ``<-loopback>``).

    >>> browser_proxy("http://user:p%40ss@127.0.0.1:3128")
    {'server': 'http://127.0.0.1:3128', 'bypass': '<-loopback>', 'username': 'user', 'password': 'p@ss'}
    """
    parts = urlsplit(url if "://" in url else f"http://{url}")
    server = f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.port else url
    out = {"server": server, "bypass": "<-loopback>"}
    if parts.username:
        out["username"] = unquote(parts.username)
        out["password"] = unquote(parts.password or "")
    return out
