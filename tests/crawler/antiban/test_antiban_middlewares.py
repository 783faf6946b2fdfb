"""The anti-ban middlewares in process, one request at a time (no network)."""

from __future__ import annotations

import asyncio
import time

import pytest
from scrapy import Spider
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.antiban.ban_middleware import BanMiddleware
from crawler.antiban.proxy_middleware import ProxyMiddleware
from crawler.antiban.signals import request_banned
from crawler.antiban.useragent_middleware import UserAgentMiddleware
from proxies.model import Outcome
from tests.settings import project_settings

URL = "http://shop.example/item/1"


def crawler_with(settings=None, priority="project"):
    crawler = get_crawler(settings_dict=project_settings())
    crawler.settings.frozen = False
    crawler.settings.setdict(settings or {}, priority=priority)
    crawler.spider = Spider.from_crawler(crawler, name="t")  # retries are made for a spider
    return crawler


def proxy_crawler_with(settings=None):
    """A crawler with the project's PROXY_* settings (the proxy middleware reads them without
    fallbacks, as in a real crawl) plus ``settings``."""
    import crawler.settings as project

    defaults = {k: getattr(project, k) for k in dir(project) if k.startswith("PROXY_")}
    crawler = get_crawler(settings_dict=defaults)
    crawler.settings.frozen = False
    crawler.settings.setdict(settings or {}, priority="project")
    return crawler


def run(coro_or_value):
    if asyncio.iscoroutine(coro_or_value):
        return asyncio.run(coro_or_value)
    return coro_or_value


# -- user agents ------------------------------------------------------------------------------


def test_fixed_user_agent_from_command_line_wins():
    mw = UserAgentMiddleware.from_crawler(crawler_with({"USER_AGENT": "Pinned/1.0"}, "cmdline"))
    request = Request(URL)
    mw.process_request(request)
    assert request.headers[b"User-Agent"] == b"Pinned/1.0"
    assert b"sec-ch-ua" not in request.headers


def test_fixed_user_agent_from_setting_and_request_header_win():
    mw = UserAgentMiddleware.from_crawler(crawler_with({"USER_AGENT_FIXED": "Rule/2.0"}))
    request = Request(URL)
    mw.process_request(request)
    assert request.headers[b"User-Agent"] == b"Rule/2.0"
    rotating = UserAgentMiddleware.from_crawler(crawler_with())
    own = Request(URL, headers={"User-Agent": "Mine/3.0"})
    rotating.process_request(own)
    assert own.headers[b"User-Agent"] == b"Mine/3.0"


def test_profile_sticks_to_its_proxy_and_is_retired_after_a_ban():
    crawler = crawler_with({"USER_AGENT_SEED": 5, "USER_AGENT_BROWSERS": ["chrome"]})
    mw = UserAgentMiddleware.from_crawler(crawler)
    agents = set()
    for _ in range(5):
        r = Request(URL, meta={"antiban_proxy": "http://p1:1"})
        mw.process_request(r)
        agents.add(r.headers[b"User-Agent"])
    assert len(agents) == 1
    banned = Request(URL, meta={"antiban_proxy": "http://p1:1"})
    mw.process_request(banned)
    crawler.signals.send_catch_log(
        request_banned, request=banned, reason="status_403", outcome=Outcome.BAN
    )
    assert crawler.stats.get_value("antiban/user_agent/retired") == 1
    assert mw.identity(banned) not in mw._profiles


def test_retry_through_another_identity_gets_that_identitys_whole_profile():
    mw = UserAgentMiddleware.from_crawler(crawler_with({"USER_AGENT_SEED": 1}))
    first = Request("http://127.0.0.1:8000/", meta={"antiban_proxy": "a"})
    mw.process_request(first)
    retry = first.replace()
    retry.meta["antiban_proxy"] = "b"
    mw.process_request(retry)
    expected = mw.profile_for(retry).request_headers(retry.url)
    for name, value in expected.items():
        assert retry.headers.get(name).decode() == value
    for name in first.meta["antiban_profile_headers"]:
        if name not in expected:
            assert name not in retry.headers  # no sec-ch-ua left over from a Chromium profile


def test_a_filter_that_matches_nothing_fails_at_start():
    with pytest.raises(ValueError, match="USER_AGENT_"):
        UserAgentMiddleware.from_crawler(
            crawler_with({"USER_AGENT_BROWSERS": ["safari"], "USER_AGENT_OS": ["android"]})
        )


# -- proxies ----------------------------------------------------------------------------------


def test_no_proxies_means_plain_scrapy():
    with pytest.raises(NotConfigured):
        ProxyMiddleware.from_crawler(proxy_crawler_with())


def test_assigns_proxies_with_credentials_and_leaves_spider_proxies_alone():
    crawler = proxy_crawler_with(
        {"PROXY_LIST": ["http://u:pw@10.0.0.1:3128"], "PROXY_DOWNLOAD_TIMEOUT": 5}
    )
    mw = ProxyMiddleware.from_crawler(crawler)
    request = Request(URL, meta={"download_timeout": 30})
    run(mw.process_request(request))
    assert request.meta["proxy"] == "http://u:pw@10.0.0.1:3128"  # HttpProxyMiddleware's input
    assert "pw" not in request.meta["antiban_proxy_label"]
    assert request.meta["download_timeout"] == 5
    own = Request(URL, meta={"proxy": "http://mine:1"})
    run(mw.process_request(own))
    assert own.meta["proxy"] == "http://mine:1" and "antiban_proxy" not in own.meta


def test_until_blocked_goes_direct_until_a_ban_then_proxies():
    crawler = proxy_crawler_with({"PROXY_LIST": ["10.0.0.1:3128"], "PROXY_DIRECT": "until_blocked"})
    mw = ProxyMiddleware.from_crawler(crawler)
    request = Request(URL)
    run(mw.process_request(request))
    assert request.meta["proxy"] is None
    crawler.signals.send_catch_log(
        request_banned, request=request, reason="status_403", outcome=Outcome.BAN
    )
    again = Request(URL)
    run(mw.process_request(again))
    assert again.meta["proxy"] == "http://10.0.0.1:3128"
    other_site = Request("http://news.example/")
    run(mw.process_request(other_site))
    assert other_site.meta["proxy"] is None


def test_a_retry_prefers_a_proxy_it_was_not_banned_through():
    crawler = proxy_crawler_with(
        {"PROXY_LIST": ["10.0.0.1:1", "10.0.0.2:2"], "PROXY_BAN_BACKOFF": 0}
    )
    mw = ProxyMiddleware.from_crawler(crawler)
    for _ in range(10):
        request = Request(URL, meta={"antiban_tried_proxies": ["http://10.0.0.1:1"]})
        run(mw.process_request(request))
        assert request.meta["proxy"] == "http://10.0.0.2:2"


def test_fallback_goes_direct_when_every_proxy_is_benched():
    crawler = proxy_crawler_with({"PROXY_LIST": ["10.0.0.1:1"], "PROXY_DIRECT": "fallback"})
    mw = ProxyMiddleware.from_crawler(crawler)
    first = Request(URL)
    run(mw.process_request(first))
    crawler.signals.send_catch_log(
        request_banned, request=first, reason="timeout", outcome=Outcome.FAILURE
    )
    second = Request(URL)
    run(mw.process_request(second))
    assert second.meta["proxy"] is None
    assert crawler.stats.get_value("antiban/direct/fallback") == 1
    assert crawler.stats.get_value("antiban/proxy/http://10.0.0.1:1/benched_seconds") == 10


# -- ban detection and retry ------------------------------------------------------------------


def test_banned_response_is_retried_then_dropped():
    crawler = crawler_with({"BAN_RETRY_TIMES": 2, "BAN_RETRY_DELAY": 1})
    mw = BanMiddleware.from_crawler(crawler)
    request = Request(
        URL, meta={"proxy": "http://10.0.0.1:1", "antiban_proxy": "http://10.0.0.1:1"}
    )
    for attempt in (1, 2):
        retry = mw.process_response(request, HtmlResponse(URL, status=403, request=request))
        assert isinstance(retry, Request) and retry.dont_filter
        assert retry.meta["antiban_ban_retries"] == attempt
        assert retry.meta["antiban_tried_proxies"][-1] == "http://10.0.0.1:1"
        assert "antiban_not_before" not in retry.meta  # another proxy: no need to wait
        request = retry
    with pytest.raises(IgnoreRequest, match="out of ban retries"):
        mw.process_response(request, HtmlResponse(URL, status=403, request=request))
    assert crawler.stats.get_value("antiban/bans") == 3
    assert crawler.stats.get_value("antiban/bans/status_403") == 3
    assert crawler.stats.get_value("antiban/retries/count") == 2
    assert crawler.stats.get_value("antiban/retries/max_reached") == 1


def test_direct_retry_waits_for_retry_after_and_goes_back_to_the_original_url():
    mw = BanMiddleware.from_crawler(crawler_with({"BAN_RETRY_AFTER_MAX": 30}))
    landed = Request(
        "http://shop.example/captcha?from=1", meta={"redirect_urls": [URL], "redirect_times": 1}
    )
    response = HtmlResponse(landed.url, status=429, headers={"Retry-After": "7"}, request=landed)
    before = time.monotonic()
    retry = mw.process_response(landed, response)
    assert retry.url == URL and "redirect_urls" not in retry.meta
    assert 6.5 <= retry.meta["antiban_not_before"] - before <= 7.5
    content = HtmlResponse(URL, body=b"<h1>fine</h1>", request=Request(URL))
    assert mw.process_response(content.request, content) is content


# -- sessions ---------------------------------------------------------------------------------


def test_sessions_off_unless_configured_and_login_needs_its_env(monkeypatch):
    from crawler.antiban.cookie_session_middleware import CookieSessionMiddleware

    with pytest.raises(NotConfigured):
        CookieSessionMiddleware.from_crawler(crawler_with())
    monkeypatch.delenv("NOPE_PASSWORD", raising=False)
    settings = {
        "SESSION_LOGIN_URL": "http://x/login",
        "SESSION_LOGIN_FORM": {"p": "${NOPE_PASSWORD}"},
    }
    crawler = crawler_with(settings)
    with pytest.raises(NotConfigured):  # refused in one line, the crawl closes at start
        CookieSessionMiddleware.from_crawler(crawler)
    assert "NOPE_PASSWORD, which are not set" in crawler.stats.get_value("crawl/start_error")


def test_sessions_rotate_and_seed_file_cookies_once_per_host(tmp_path):
    from crawler.antiban.cookie_session_middleware import CookieSessionMiddleware

    cookies = tmp_path / "c.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n.shop.example\tTRUE\t/\tFALSE\t0\tsid\tabc\n")
    mw = CookieSessionMiddleware.from_crawler(
        crawler_with({"SESSION_COUNT": 2, "SESSION_COOKIES_FILES": [str(cookies)]})
    )
    requests = [Request(URL) for _ in range(4)]
    for r in requests:
        run(mw.process_request(r))
    assert [r.meta["cookiejar"] for r in requests] == ["s0.0", "s1.0", "s0.0", "s1.0"]
    assert requests[0].cookies == [
        {"name": "sid", "value": "abc", "domain": ".shop.example", "path": "/"}
    ]
    assert requests[2].cookies == {}  # the jar has it by then
    own = Request(URL, meta={"cookiejar": "spider-jar"})
    run(mw.process_request(own))
    assert own.meta["cookiejar"] == "spider-jar"


def test_a_banned_agent_is_not_handed_out_again_soon():
    crawler = crawler_with({"USER_AGENT_SEED": 2})
    mw = UserAgentMiddleware.from_crawler(crawler)
    first = Request(URL, meta={"antiban_proxy": "p1"})
    mw.process_request(first)
    burned = first.meta["antiban_user_agent"]
    crawler.signals.send_catch_log(
        request_banned, request=first, reason="marker", outcome=Outcome.BAN
    )
    for n in range(30):
        r = Request(URL, meta={"antiban_proxy": f"p{n + 2}"})
        mw.process_request(r)
        assert r.meta["antiban_user_agent"] != burned


def test_socks_proxies_are_skipped():
    mw = ProxyMiddleware.from_crawler(
        proxy_crawler_with({"PROXY_LIST": ["socks5://10.0.0.9:1080", "10.0.0.1:1"]})
    )
    for _ in range(5):
        r = Request(URL)
        run(mw.process_request(r))
        assert r.meta["proxy"] == "http://10.0.0.1:1"


def test_a_stored_pool_is_built_from_the_crawler_and_used_through_the_protocol(tmp_path):
    from proxies.pool import EmbeddedProxyPool

    crawler = proxy_crawler_with(
        {
            "PROXY_POOL_CLASS": "proxies.pool.EmbeddedProxyPool",
            "PROXY_POOL_STORE": "memory:",
            "PROXY_POOL_DATA_DIR": str(tmp_path),  # its generated key secret goes here
            "PROXY_DIRECT": "fallback",
        }
    )
    from proxies import proxy_keys

    try:
        mw = ProxyMiddleware.from_crawler(crawler)  # an empty store may be filled: enabled
        assert isinstance(mw.pool, EmbeddedProxyPool) and len(mw.pool) == 0
        assert mw.pool.next_available_in("shop.example") is None
        request = Request(URL)
        run(mw.process_request(request))
        assert request.meta["proxy"] is None  # nothing usable: direct, as PROXY_DIRECT says
        assert (tmp_path / "key-secret").exists()
    finally:
        proxy_keys.use_secret(None)  # the generated secret was this test's only


def test_a_request_waiting_for_a_proxy_outlives_the_end_of_its_wait_episode():
    # A response through a proxy ends a domain's wait episode while other requests wait; when
    # the proxy is benched again before they look, they wait on in a new episode (it was a
    # KeyError: downloader/exception_type_count/builtins.KeyError in a rotation crawl).
    crawler = proxy_crawler_with(
        {"PROXY_LIST": ["10.0.0.1:1"], "PROXY_WAIT_MAX": 30, "PROXY_WAIT_POLL": 0.02}
    )
    mw = ProxyMiddleware.from_crawler(crawler)
    earlier = Request(URL)
    run(mw.process_request(earlier))

    async def scenario() -> None:
        crawler.signals.send_catch_log(
            request_banned, request=earlier, reason="timeout", outcome=Outcome.FAILURE
        )  # benched: the next request waits
        waiting = asyncio.ensure_future(mw.process_request(Request(URL)))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        answered = Request(URL, meta=dict(earlier.meta))
        mw.process_response(answered, HtmlResponse(URL, body=b"<p>ok</p>", request=answered))
        crawler.signals.send_catch_log(
            request_banned, request=answered, reason="timeout", outcome=Outcome.FAILURE
        )  # benched again before the waiting request looks
        await asyncio.sleep(0.1)
        assert not waiting.done(), waiting.exception() if waiting.done() else None
        waiting.cancel()

    asyncio.run(scenario())
