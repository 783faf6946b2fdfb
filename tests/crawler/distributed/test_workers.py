"""Two workers crawl the sample site through one Redis: every page once, every item once."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis

from tests.crawler.crawl import ROOT, stat
from tests.crawler.distributed.workers import Workers, seed
from tests.sample_site.data import catalogue
from tests.settings import project_settings

BOOKS = 40


@pytest.fixture
def workers(tmp_path, redis_url) -> Iterator[Workers]:
    started = Workers(tmp_path, redis_url)
    yield started
    started.stop_all()


@pytest.fixture
def site(make_sample_site) -> str:
    return make_sample_site(books=BOOKS, latency=0.03).url


def expected_book_urls(site: str) -> set[str]:
    return {f"{site}/book/{book.id}.html" for book in catalogue(BOOKS)}


@pytest.mark.parametrize("dupefilter", ["set", "bloom"])
def test_two_workers_share_the_crawl(workers, site, redis_url, dupefilter):
    args = ("-a", f"site={site}", "-s", f"DISTRIBUTED_DUPEFILTER={dupefilter}")
    # two requests at a time each: on a loaded machine one worker must not finish the whole
    # crawl before the other has polled the queue once
    args += ("-s", "CONCURRENT_REQUESTS=2")
    w1 = workers.start("sample_books", *args)
    w2 = workers.start("sample_books", *args)
    # both wait on the empty queue before the seed, so both get a share however slow starts are
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 30
    while client.zcard("sample_books:workers") < 2:
        assert time.monotonic() < deadline, w1.log[-2000:] + w2.log[-2000:]
        time.sleep(0.05)
    # seeded in-process, in milliseconds, well within the workers' idle timeout (the killed
    # worker test below runs `scrapy seed` itself)
    seed_in_process(client, site)
    assert w1.wait() == 0, w1.log[-3000:]
    assert w2.wait() == 0, w2.log[-3000:]

    fetched = w1.crawled() + w2.crawled()
    twice = [url for url, n in Counter(fetched).items() if n > 1]
    assert not twice, f"fetched more than once: {twice}"
    assert w1.crawled() and w2.crawled(), "both workers should have taken a share"
    assert expected_book_urls(site) <= set(fetched)

    items = w1.items() + w2.items()
    urls = Counter(item.get("_url") or item.get("url") for item in items)
    assert not [u for u, n in urls.items() if n > 1], "an item was scraped twice"
    titles = {item["title"] for item in items if item.get("title")}
    assert titles == {book.title for book in catalogue(BOOKS)}

    for w in (w1, w2):
        assert "finish_reason': 'finished'" in w.log
        assert "Traceback" not in w.log
        assert "ScrapyDeprecationWarning" not in w.log
    # the last worker out cleared the finished crawl
    assert client.zcard("sample_books:requests") == 0
    assert not client.keys("sample_books:dupefilter*")
    assert not client.keys("sample_books:inflight:*")


def rule_spider(site: str):
    from scrapy.utils.test import get_crawler

    from crawler.spider.loader import RuleSpiderLoader

    settings = get_crawler(settings_dict=project_settings(RULES_DIR=str(ROOT / "rules"))).settings
    return RuleSpiderLoader(settings).load("sample_books")(site=site)


def seed_in_process(client, site: str) -> None:
    from crawler.commands.seed import requests_to_seed
    from crawler.distributed.redis_keys import CrawlKeys
    from crawler.distributed.seed import push_requests, reset_crawl

    spider = rule_spider(site)
    keys = CrawlKeys.for_rule("sample_books")
    reset_crawl(client, keys)
    assert push_requests(client, spider, keys, requests_to_seed(spider, [], None, 100)) == 1


def test_priorities_reach_the_redis_queue(site, redis_url):
    """Detail pages (priority 10 in the rule) come out of the queue before list pages."""
    from crawler.commands.seed import requests_to_seed
    from crawler.distributed.redis_keys import CrawlKeys
    from crawler.distributed.seed import push_requests

    spider = rule_spider(site)
    keys = CrawlKeys.for_rule("sample_books")
    client = redis.Redis.from_url(redis_url)
    lists = requests_to_seed(spider, [f"{site}/tag/fiction/"], None, 100)
    details = requests_to_seed(spider, [f"{site}/book/1.html"], None, 100)
    push_requests(client, spider, keys, lists + details)
    (first, score), (second, _) = client.zrange(keys.queue, 0, -1, withscores=True)
    assert score == -10 and b"/book/1.html" in first and b"/tag/fiction/" in second


def test_killed_worker_requests_are_finished(workers, make_sample_site, redis_url):
    """A worker killed with requests in flight: another worker takes them over once its
    heartbeat is older than the lease timeout, and the crawl completes."""
    site = make_sample_site(books=BOOKS, latency=0.4).url
    seed("sample_books", redis_url, "-a", f"site={site}")
    args = ("-a", f"site={site}", "-s", "DISTRIBUTED_LEASE_TIMEOUT=2")
    doomed = workers.start("sample_books", *args, "-s", "CONCURRENT_REQUESTS=4", name="doomed")
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 30
    held = 0
    while time.monotonic() < deadline and held == 0:
        # wait until it holds detail pages (after the index and a tag list)
        keys = client.keys("sample_books:inflight:*")
        held = sum(1 for k in keys for token in client.hkeys(k) if token.startswith(b"-10:"))
        time.sleep(0.05)
    assert held, doomed.log[-3000:]
    doomed.kill()
    survivor = workers.start("sample_books", *args, name="survivor")
    assert survivor.wait() == 0, survivor.log[-3000:]

    assert stat(survivor.log, "distributed/leases/recovered") >= held
    fetched = set(doomed.crawled()) | set(survivor.crawled())
    assert expected_book_urls(site) <= fetched
    assert client.zcard("sample_books:requests") == 0
    assert not client.keys("sample_books:inflight:*")


def test_a_page_given_up_by_a_middleware_ends_its_lease_and_the_worker_stops(
    workers, make_sample_site, redis_url
):
    """A ban out of retries is an IgnoreRequest raised in the ban middleware's process_response:
    Scrapy shows it to the spider's errback alone. Its lease must end there, or the worker,
    holding it, would wait for the crawl to be idle forever."""
    from tests.sample_site.antibot import antibot_middleware

    # the site answers "Access denied" to everything after its third request, for a minute
    bans = antibot_middleware(ip_limit=3, window=60.0, ban_seconds=60.0)
    site = make_sample_site(books=6, middlewares=[bans]).url
    client = redis.Redis.from_url(redis_url)
    seed_in_process(client, site)
    w = workers.start("sample_books", "-a", f"site={site}", "-s", "BAN_RETRY_TIMES=0",
                      "-s", "CONCURRENT_REQUESTS=2")  # fmt: skip
    try:
        w.wait(timeout=45)
    except subprocess.TimeoutExpired:
        pytest.fail(
            "the worker never stopped: a lease it held kept the crawl busy\n" + w.log[-3000:]
        )
    log = w.log
    assert "the crawl has been idle" in log, log[-3000:]
    assert "out of ban retries" in log, log[-3000:]
    given_up = stat(log, "rule/request_errors/IgnoreRequest")
    assert given_up >= 1, log[-3000:]
    # the given-up requests' leases ended at the errback, and none is left in Redis
    assert stat(log, "distributed/leases/finished") >= given_up
    assert not client.keys("sample_books:inflight:*")
