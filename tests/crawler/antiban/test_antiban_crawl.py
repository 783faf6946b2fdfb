"""End to end: crawls in a subprocess, through real tinyproxy forward proxies, of the sample site
in anti-bot mode. Each proxy connects out from its own loopback address (127.0.0.N).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from proxies import proxy_keys
from proxies.model import Proxy
from tests.sample_site import SampleSite
from tests.sample_site.antibot import antibot_middleware

from .support import (
    CrawlResult,
    HttpsSampleSite,
    Tarpit,
    TinyProxy,
    free_port,
    require_tinyproxy,
    run_crawl,
)

BOOKS = 30

# The same anti-ban budget with and without rotation: only the proxies differ.
COMMON = {
    "CONCURRENT_REQUESTS": 4,
    "BAN_RETRY_TIMES": 8,
    "BAN_RETRY_DELAY": 0.2,
    "BAN_RETRY_AFTER_MAX": 0.5,
    "LOG_LEVEL": "INFO",
}


@pytest.fixture
def tinyproxies(tmp_path: Path) -> Iterator[Callable[..., TinyProxy]]:
    require_tinyproxy()
    started: list[TinyProxy] = []

    def start(bind: str, auth: tuple[str, str] | None = None) -> TinyProxy:
        proxy = TinyProxy(bind, tmp_path, auth=auth).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def _lost_pages(result: CrawlResult) -> str:
    """Why pages are missing: their errors, the retry and download figures, the log's
    warnings."""
    kinds = ("antiban/retries", "retry/", "downloader/exception", "proxy/", "antiban/proxy")
    figures = {k: v for k, v in result.stats.items() if k.startswith(kinds)}
    return f"errors: {result.errors}\nstats: {figures}\n{_antiban_lines(result.log)[-6000:]}"


def _antiban_lines(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if "antiban" in line or "WARNING" in line)


def book_urls(base: str, n: int = BOOKS) -> list[str]:
    return [f"{base}/book/{i}.html" for i in range(1, n + 1)]


def strict_antibot():
    return antibot_middleware(
        ip_limit=5,
        ua_limit=12,
        window=2.0,
        ban_seconds=4.0,
        captcha_every=9,
        too_many_every=13,
        retry_after=1,
    )


@pytest.mark.timeout(60)
def test_rotation_fetches_every_page_and_direct_gets_banned(tinyproxies, tmp_path):
    proxies = [tinyproxies(f"127.0.0.{n}") for n in range(2, 6)]
    rotating = strict_antibot()
    with SampleSite(books=BOOKS, middlewares=[rotating]) as site:
        urls = book_urls(site.url)
        result = run_crawl(
            urls,
            dict(
                COMMON,
                PROXY_LIST=[p.url for p in proxies],
                PROXY_BAN_BACKOFF=4.0,  # as long as the site bans an address
                PROXY_WAIT_MAX=30,
                PROXY_WAIT_POLL=0.2,
                # the site bans an address for a while: on a loaded machine a page can meet
                # more bans in a row than the default budget while every address is banned
                BAN_RETRY_TIMES=16,
            ),
            tmp_path,
        )
    assert result.returncode == 0, result.log[-3000:]
    # Every page, and only real content: no captcha or block page reached the callback.
    assert sorted(result.fetched) == sorted(urls), _lost_pages(result)
    assert all(
        h1 and h1 not in ("Security check", "Access denied") for h1 in result.fetched.values()
    )
    state = rotating.state
    assert set(state.by_ip) == {f"127.0.0.{n}" for n in range(2, 6)}  # the site saw 4 clients
    assert state.captchas and state.too_many and state.banned_ips  # and it did fight back
    stats = result.stats
    assert stats["antiban/bans"] >= state.captchas + state.too_many
    assert stats["antiban/bans/marker"] == state.captchas
    assert stats["antiban/bans/status_429"] == state.too_many
    assert stats["antiban/retries/count"] >= stats["antiban/bans"]
    assert "antiban/retries/max_reached" not in stats
    for p in proxies:
        assert stats[f"antiban/proxy/http://127.0.0.1:{p.port}/requests"] > 0
    assert stats["antiban/user_agent/profiles"] >= len(proxies)

    # The same crawl without rotation (one address, one fixed agent) gets banned.
    direct = strict_antibot()
    with SampleSite(books=BOOKS, middlewares=[direct]) as site:
        urls = book_urls(site.url)
        result = run_crawl(urls, dict(COMMON, USER_AGENT="Mozilla/5.0 (X11) Fixed/1.0"), tmp_path)
    assert result.returncode == 0, result.log[-3000:]
    assert len(result.fetched) < BOOKS // 2
    assert set(result.errors) == set(urls) - set(result.fetched)
    assert result.stats["antiban/retries/max_reached"] == len(result.errors)
    assert direct.state.banned_ips["127.0.0.1"] >= 1
    assert set(direct.state.by_ua) == {"Mozilla/5.0 (X11) Fixed/1.0"}


@pytest.mark.timeout(60)
def test_dead_and_tarpit_proxies_are_benched_and_the_crawl_completes(tinyproxies, tmp_path):
    good = [tinyproxies("127.0.0.2"), tinyproxies("127.0.0.3")]
    tarpit = Tarpit()
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        with SampleSite(books=BOOKS) as site:
            urls = book_urls(site.url)
            result = run_crawl(
                urls,
                dict(
                    COMMON,
                    PROXY_LIST=[dead, tarpit.url] + [p.url for p in good],
                    PROXY_POLICY="round_robin",
                    PROXY_DOWNLOAD_TIMEOUT=1.5,
                    PROXY_FAILURE_BACKOFF=60,
                ),
                tmp_path,
            )
    finally:
        tarpit.close()
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(result.fetched) == sorted(urls)
    stats = result.stats
    for bad in (dead, tarpit.url):
        # Only the requests in flight before its first failure came back went to it.
        assert stats[f"antiban/proxy/{bad}/requests"] == stats[f"antiban/proxy/{bad}/failure"]
        assert stats[f"antiban/proxy/{bad}/failure"] <= COMMON["CONCURRENT_REQUESTS"]
        assert stats[f"antiban/proxy/{bad}/benched_seconds"] == 60
        assert f"antiban/proxy/{bad}/success" not in stats
    good_successes = sum(stats[f"antiban/proxy/http://127.0.0.1:{p.port}/success"] for p in good)
    assert good_successes == len(urls)
    assert stats["antiban/failures/connection_refused"] >= 1
    assert stats["antiban/failures/timeout"] >= 1
    assert result.seconds < 30


@pytest.mark.timeout(60)
def test_proxy_credentials_http_and_https_never_logged(tinyproxies, tmp_path, monkeypatch):
    # labels carry a keyed digest: the same key secret here and in the crawl
    monkeypatch.setenv("PROXY_POOL_KEY_SECRET", "antiban-crawl-key-secret-0123456")
    proxy_keys.use_secret(None)  # the environment's, not one an earlier test settled on
    user, password = "crawluser7q", "s3cr3t-Pa55w0rd"
    authed = [tinyproxies(f"127.0.0.{n}", auth=(user, password)) for n in (2, 3)]
    wrong = tinyproxies("127.0.0.4", auth=(user, password))
    wrong_url = f"http://{user}:wrong-{password}@127.0.0.1:{wrong.port}"
    settings = dict(
        COMMON,
        PROXY_LIST=[p.url for p in authed] + [wrong_url],
        PROXY_FAILURE_BACKOFF=60,
        BAN_PROXY_AUTH_STATUSES=[401, 407],  # tinyproxy refuses bad credentials with 401
        LOG_LEVEL="DEBUG",
    )
    with SampleSite(books=10) as http_site, HttpsSampleSite(tmp_path, books=10) as https_site:
        urls = book_urls(http_site.url, 10) + book_urls(https_site.url, 10)
        result = run_crawl(urls, settings, tmp_path)
    assert result.returncode == 0, result.log[-3000:]
    assert sorted(result.fetched) == sorted(urls), result.log[-5000:]
    # The wrong password is refused (401 for HTTP, a failed CONNECT for HTTPS): a failure of that
    # proxy, which is benched, and the page is fetched through another.
    wrong_label = Proxy.parse(wrong_url).label
    assert result.stats[f"antiban/proxy/{wrong_label}/failure"] >= 1
    assert result.stats[f"antiban/proxy/{wrong_label}/benched_seconds"] == 60
    assert f"antiban/proxy/{wrong_label}/success" not in result.stats
    for p in authed:  # same user, same password: two proxies all the same
        assert result.stats[f"antiban/proxy/{Proxy.parse(p.url).label}/success"] >= 1
    text = result.log + repr(result.stats)
    for secret in (user, password, "wrong-"):
        assert secret not in text
    assert "***@127.0.0.1" in text  # proxies are named by their masked label


@pytest.mark.timeout(60)
def test_no_usable_proxy_waits_within_a_bound_then_stops_with_a_clear_message(tmp_path):
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    with SampleSite(books=10) as site:
        urls = book_urls(site.url, 10)
        result = run_crawl(
            urls,
            dict(
                COMMON,
                PROXY_LIST=dead,
                PROXY_FAILURE_BACKOFF=60,
                PROXY_WAIT_MAX=2,
                PROXY_WAIT_POLL=0.5,
            ),
            tmp_path,
        )
    assert result.returncode == 0, result.log[-3000:]
    assert result.fetched == {}
    assert result.stats["finish_reason"] == "antiban_no_proxy"
    assert result.stats["antiban/stopped"] == "no_usable_proxy"
    assert "No usable proxy for 127.0.0.1 after waiting 2s" in result.log
    # Waiting is sleeping, not spinning: a handful of polls, and the crawl ends soon after the bound.
    assert result.stats["antiban/proxy/requests"] <= 2 * COMMON["CONCURRENT_REQUESTS"]
    assert result.seconds < 15
