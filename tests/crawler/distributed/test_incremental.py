"""Incremental crawls: a second run of an unchanged site fetches only the list pages."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from tests.crawler.crawl import ROOT, crawl, stat
from tests.crawler.distributed.workers import Workers
from tests.settings import project_settings

BOOKS = 30


def incremental_rules(tmp_path: Path, refresh: str = "") -> Path:
    """rules/sample_books.yaml with its book pages fetched once."""
    text = (ROOT / "rules" / "sample_books.yaml").read_text(encoding="utf-8")
    extra = "    fetch: once\n" + (f"    refresh_after: {refresh}\n" if refresh else "")
    text, n = re.subn(r"(\n  book:\n)", r"\1" + extra, text)
    assert n == 1
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copytree(ROOT / "rules" / "types", rules / "types")
    (rules / "sample_books.yaml").write_text(text, encoding="utf-8")
    return rules


def test_second_run_fetches_only_list_pages(tmp_path, make_sample_site):
    site = make_sample_site(books=BOOKS).url
    rules = incremental_rules(tmp_path)
    state = f"INCREMENTAL_STATE_URI=sqlite:///{tmp_path / 'seen.db'}"
    args = ("-s", f"RULES_DIR={rules}", "-s", state)

    first = crawl("sample_books", tmp_path, *args, site=site)
    assert first.returncode == 0, first.log[-2000:]
    books = stat(first.log, "rule/pages/book")
    assert books >= BOOKS and stat(first.log, "incremental/skipped") == 0
    assert stat(first.log, "store/items/new") >= BOOKS

    second = crawl("sample_books", tmp_path, *args, site=site)
    assert second.returncode == 0, second.log[-2000:]
    assert stat(second.log, "rule/pages/book") == 0
    assert stat(second.log, "rule/pages/tag_list") == stat(first.log, "rule/pages/tag_list")
    # every book link was skipped as seen, including the one that answered 404
    assert stat(second.log, "incremental/skipped/book") == books + 1
    fetched = stat(second.log, "response_received_count")
    assert fetched == stat(first.log, "rule/pages/tag_list") + 1  # + the index
    assert second.items == []
    assert stat(second.log, "store/items/new") == stat(second.log, "store/items/updated") == 0

    everything = crawl("sample_books", tmp_path, *args, "-s", "INCREMENTAL_ENABLED=0", site=site)
    assert stat(everything.log, "rule/pages/book") == books
    # the content hash finds nothing changed: a full re-crawl writes nothing either
    assert stat(everything.log, "store/items/unchanged") >= BOOKS
    assert (
        stat(everything.log, "store/items/new") == stat(everything.log, "store/items/updated") == 0
    )


def test_refresh_after_lets_old_pages_through(tmp_path):
    from scrapy import Request
    from scrapy.utils.test import get_crawler

    from crawler.distributed.incremental_crawl import IncrementalMiddleware, Tracked
    from crawler.distributed.seen import SqliteSeenState
    from crawler.rules import load_rule
    from crawler.spider.rule_spider import META_PAGE, RuleSpider

    rule = load_rule(incremental_rules(tmp_path, refresh="7d") / "sample_books.yaml")
    crawler = get_crawler(RuleSpider.for_rule(rule), project_settings())
    state = SqliteSeenState(":memory:", rule.name)
    once = {"book": rule.pages["book"].refresh_after}
    mw = IncrementalMiddleware(crawler, {rule.name: Tracked(state, once)})
    now = time.time()
    state.mark("http://x/book/1.html", now - 3600)  # an hour ago: skipped
    state.mark("http://x/book/2.html", now - 8 * 86400)  # eight days ago: fetched again
    book = {META_PAGE: "book"}
    requests = [Request(f"http://x/book/{n}.html", meta=book) for n in (1, 2, 3)]
    requests.append(Request("http://x/book/1.html", meta={META_PAGE: "tag_list"}))
    kept = [r for r in requests if mw.get_processed_request(r, None) is not None]
    assert [r.url for r in kept] == [
        "http://x/book/2.html",
        "http://x/book/3.html",
        "http://x/book/1.html",
    ]
    stats = crawler.stats.get_stats()
    assert stats["incremental/skipped/book"] == 1 and stats["incremental/refreshed/book"] == 1


@pytest.fixture
def workers(tmp_path, redis_url):
    started = Workers(tmp_path, redis_url)
    yield started
    started.stop_all()


def test_distributed_seen_state_is_in_redis(tmp_path, make_sample_site, redis_url, workers):
    """Each run is a worker that seeds the crawl itself (DISTRIBUTED_SEED, as scheduled runs
    do); the second finds the first's fetches in Redis."""
    import redis

    site = make_sample_site(books=10).url
    rules = incremental_rules(tmp_path)
    args = ("-a", f"site={site}", "-s", f"RULES_DIR={rules}", "-s", "DISTRIBUTED_SEED=1")
    first = workers.start("sample_books", *args, name="first")
    assert first.wait() == 0, first.log[-2000:]
    assert stat(first.log, "distributed/seeded") == 1
    assert stat(first.log, "rule/pages/book") > 0
    assert redis.Redis.from_url(redis_url).hlen("sample_books:seen") > 0

    second = workers.start("sample_books", *args, name="second")
    assert second.wait() == 0, second.log[-2000:]
    assert stat(second.log, "rule/pages/book") == 0
    assert stat(second.log, "incremental/skipped/book") == stat(first.log, "rule/pages/book") + 1


def test_preview_stays_local_and_ignores_seen_state(tmp_path, make_sample_site):
    """With REDIS_URL exported (here to a port nobody listens on), `scrapy preview` still
    fetches its one page itself, even one an incremental crawl has seen."""
    from tests.crawler.crawl import scrapy

    site = make_sample_site(books=5).url
    rules = incremental_rules(tmp_path)
    state = f"INCREMENTAL_STATE_URI=sqlite:///{tmp_path / 'seen.db'}"
    args = ("-s", f"RULES_DIR={rules}", "-s", state)
    assert crawl("sample_books", tmp_path, *args, site=site).returncode == 0
    proc = scrapy(
        "preview", "sample_books", f"{site}/book/1.html", "-a", f"site={site}", *args,
        env={"REDIS_URL": "redis://127.0.0.1:9/0"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"page": "book"' in proc.stdout and '"status": 200' in proc.stdout
