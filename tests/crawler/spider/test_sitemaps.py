"""Sitemap and feed starts, crawled for real: ``scrapy crawl`` against the sample site's
sitemap index (a gzip file, a gzip-encoded sitemap), robots.txt, Atom and RSS feeds, with their
bounds, a malformed sitemap, and the incremental crawl skipping pages whose lastmod says they
did not change."""

from __future__ import annotations

import gzip
import time
import urllib.request
from pathlib import Path

import pytest

from tests.crawler.crawl import CrawlRun, crawl, stat
from tests.sample_site import NEWS, catalogue

BOOKS = 60  # the session's sample site (conftest.sample_site)

RULE = """\
name: listed
args: {{site: "http://127.0.0.1:1", query: ""}}  # query: ?updated=ID,ID (feeds.py)
start:
{starts}pages:
  book:
    fields:
      title: {{css: "div.product_main h1::text", required: true}}
    links:
      - {{css: "td a[href^='/tag/']", to: tag_list, max_depth: 1}}
  tag_list:
    emit: false
    fields: {{tag: {{css: "h1::text"}}}}
  article:
    fields:
      title: {{css: "h1::text", required: true}}
"""


def listed_crawl(tmp_path: Path, site: str, starts: str, *args: str, state: bool = False):
    """``scrapy crawl listed`` with ``starts`` (YAML items of ``start:``), keeping the seen-URL
    state under tmp_path when ``state`` (else none: pages are never skipped)."""
    rules = tmp_path / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "listed.yaml").write_text(RULE.format(starts=starts), encoding="utf-8")
    seen = f"sqlite:///{tmp_path / 'seen.db'}" if state else ""
    settings = ["-s", f"RULES_DIR={rules}", "-s", f"INCREMENTAL_STATE_URI={seen}"]
    run = crawl("listed", tmp_path, *settings, *args, site=site)
    assert "Traceback" not in run.log, run.log[-4000:]
    return run


def titles(run: CrawlRun, page: str) -> list[str]:
    return sorted(item["title"] for item in run.items if item["_page"] == page)


def warnings(run: CrawlRun, reason: str) -> list[str]:
    return [line for line in run.log.splitlines() if f"WARNING: {reason}:" in line]


def test_a_sitemap_index_of_a_gzip_file_and_a_gzip_encoded_sitemap(tmp_path, sample_site):
    starts = (
        '  - {sitemap: "{site}/sitemap_index.xml{query}", page: book, allow: /book/}\n'
        '  - {sitemap: "{site}/sitemap_index.xml{query}", page: article, allow: /gbk/}\n'
    )
    run = listed_crawl(tmp_path, sample_site, starts)
    assert run.returncode == 0, run.log[-3000:]
    assert titles(run, "book") == sorted(b.title for b in catalogue(BOOKS))
    assert titles(run, "article") == sorted(n.title for n in NEWS)
    # each start reads the index and both sitemaps for its own pages: none is a duplicate
    assert stat(run.log, "rule/listings/sitemapindex") == 2
    assert stat(run.log, "rule/listings/urlset") == 4
    assert stat(run.log, "rule/listings/pages") == BOOKS + len(NEWS)
    assert stat(run.log, "rule/listings/filtered") == BOOKS + len(NEWS)
    # a listed page is a start page: its links of max_depth 1 are followed
    assert stat(run.log, "rule/pages/tag_list") > 0
    assert not any(" WARNING: " in line for line in run.log.splitlines()), run.log[-3000:]


def test_robots_txt_names_the_sitemap_index(tmp_path, sample_site):
    robots = urllib.request.urlopen(f"{sample_site}/robots.txt", timeout=10).read().decode()
    assert f"Sitemap: {sample_site}/sitemap_index.xml" in robots
    run = listed_crawl(
        tmp_path, sample_site, '  - {sitemap: "{site}/robots.txt", page: book, allow: /book/}\n'
    )
    assert run.returncode == 0, run.log[-3000:]
    assert stat(run.log, "rule/listings/robots") == 1
    assert stat(run.log, "rule/listings/sitemapindex") == 1
    assert len(titles(run, "book")) == BOOKS


def test_atom_and_rss_feeds(tmp_path, sample_site):
    starts = (
        '  - feed: "{site}/feeds/books.atom"\n'
        "    page: book\n"
        "    deny: '/book/[0-9]\\.html$'\n"  # books 1 to 9 left out
        '  - {feed: "{site}/feeds/news.rss", page: article}\n'
    )
    run = listed_crawl(tmp_path, sample_site, starts)
    assert run.returncode == 0, run.log[-3000:]
    assert titles(run, "book") == sorted(b.title for b in catalogue(BOOKS) if b.id >= 10)
    assert titles(run, "article") == sorted(n.title for n in NEWS)
    assert stat(run.log, "rule/listings/feed") == 2
    assert stat(run.log, "rule/listings/filtered") == 9


def test_what_cannot_be_read_is_counted_and_logged_once(tmp_path, sample_site):
    starts = (
        '  - {sitemap: "{site}/sitemaps/broken.xml", page: book}\n'  # two books, then garbage
        '  - {sitemap: "{site}/", page: book}\n'  # an HTML page
        '  - {sitemap: "{site}/book/1.html", page: book}\n'  # another
        '  - {feed: "{site}/sitemap_index.xml", page: article}\n'  # a sitemap, not a feed
        '  - {sitemap: "{site}/sitemaps/missing.xml", page: book}\n'  # 404
    )
    run = listed_crawl(tmp_path, sample_site, starts)
    assert run.returncode == 0, run.log[-3000:]
    assert titles(run, "book") == sorted(b.title for b in catalogue(BOOKS)[:2])
    assert stat(run.log, "rule/problems/sitemap_malformed") == 1
    assert stat(run.log, "rule/problems/not_a_sitemap") == 2
    assert stat(run.log, "rule/problems/not_a_feed") == 1
    assert stat(run.log, "rule/request_errors/http_404") == 1
    [malformed] = warnings(run, "sitemap_malformed")
    assert "/sitemaps/broken.xml is malformed (" in malformed
    assert len(warnings(run, "not_a_sitemap")) == 1  # the second is counted, not logged again
    assert "its root is <html>, not <urlset>" in warnings(run, "not_a_sitemap")[0]


def test_bounds_on_urls_depth_and_files(tmp_path, sample_site):
    starts = (
        '  - {sitemap: "{site}/sitemap_index.xml{query}", page: book, allow: /book/, max_urls: 5}\n'
        # robots.txt -> index -> sitemaps: the sitemaps lie at depth 2
        '  - {sitemap: "{site}/robots.txt", page: article, allow: /gbk/, max_depth: 1}\n'
    )
    run = listed_crawl(tmp_path, sample_site, starts)
    assert run.returncode == 0, run.log[-3000:]
    assert len(titles(run, "book")) == 5 and titles(run, "article") == []
    assert stat(run.log, "rule/listings/over_max_urls") == BOOKS - 5
    assert stat(run.log, "rule/listings/too_deep") == 2
    assert len(warnings(run, "listings_over_max_urls")) == 1
    assert "start[0] requested 5 listed pages (its max_urls)" in run.log

    files = listed_crawl(
        tmp_path / "files",
        sample_site,
        '  - {sitemap: "{site}/sitemap_index.xml{query}", page: book, allow: /book/}\n',
        "-s",
        "RULE_SITEMAP_MAX_FILES=1",
    )
    assert stat(files.log, "rule/listings/over_max_files") == 1  # the news sitemap
    assert len(titles(files, "book")) == BOOKS


def test_a_gzip_sitemap_inflating_past_download_maxsize_is_refused(tmp_path, sample_site):
    body = urllib.request.urlopen(f"{sample_site}/sitemaps/books.xml.gz", timeout=10).read()
    inflated = len(gzip.decompress(body))
    assert len(body) * 2 < inflated
    maxsize = (len(body) + inflated) // 2  # the download fits, what it inflates to does not
    run = listed_crawl(
        tmp_path,
        sample_site,
        '  - {sitemap: "{site}/sitemaps/books.xml.gz", page: book}\n',
        "-s",
        f"DOWNLOAD_MAXSIZE={maxsize}",
    )
    assert stat(run.log, "rule/request_errors/too_large") == 1
    assert run.items == [] and stat(run.log, "rule/listings/urlset") == 0
    assert f"inflates to more than {maxsize:,} bytes" in run.log


@pytest.mark.parametrize(
    "document", ["{site}/sitemap_index.xml{query}", "{site}/feeds/books.atom{query}"]
)
def test_lastmod_skips_unchanged_pages_and_refetches_changed_ones(tmp_path, sample_site, document):
    source = "feed" if "feeds" in document else "sitemap"
    starts = f'  - {{{source}: "{document}", page: book, allow: /book/}}\n'

    def run(*args: str, state: bool = True) -> CrawlRun:
        return listed_crawl(tmp_path, sample_site, starts, *args, state=state)

    first = run()
    assert first.returncode == 0, first.log[-3000:]
    assert stat(first.log, "rule/pages/book") == BOOKS
    assert stat(first.log, "incremental/marked") == BOOKS

    second = run()  # nothing changed since: every book is skipped
    assert second.returncode == 0, second.log[-3000:]
    assert stat(second.log, "rule/pages/book") == 0 and second.items == []
    assert stat(second.log, "incremental/unmodified/book") == BOOKS
    assert stat(second.log, "incremental/skipped/book") == BOOKS

    third = run("-a", "query=?updated=3,5")  # two books changed after their last fetch
    assert third.returncode == 0, third.log[-3000:]
    assert stat(third.log, "incremental/modified/book") == 2
    assert stat(third.log, "incremental/unmodified/book") == BOOKS - 2
    assert sorted(item["_url"] for item in third.items) == [
        f"{sample_site}/book/3.html",
        f"{sample_site}/book/5.html",
    ]

    fourth = run()  # their old dates again: not after the fetch of the third run
    assert stat(fourth.log, "incremental/unmodified/book") == BOOKS
    assert stat(fourth.log, "rule/pages/book") == 0

    stateless = run(state=False)  # without the seen-URL state, the dates are ignored
    assert stat(stateless.log, "rule/pages/book") == BOOKS
    assert stat(stateless.log, "incremental/skipped") == 0


# --- in process: what a document may not do, and how dates decide -----------------------------


def test_documents_are_read_without_entities_dtds_or_network(tmp_path, make_sample_site):
    from crawler.spider.listing_formats import ListingError, read_feed, read_sitemap

    site = make_sample_site(books=1, record_hosts=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    doctype = (
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{site.url}/evil.dtd" [\n'
        f'<!ENTITY file SYSTEM "file://{secret}"><!ENTITY net SYSTEM "{site.url}/x">\n'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )
    loc = "http://a.test/&file;&net;&d;"
    sitemap = read_sitemap(f"{doctype}<urlset><url><loc>{loc}</loc></url></urlset>".encode())
    assert [entry.url for entry in sitemap.entries] == ["http://a.test/"]  # left unexpanded
    # a feed's links may be attributes, where libxml2 expands entities: it is not read at all
    for feed in (
        f"{doctype}<rss><channel><item><link>{loc}</link></item></channel></rss>",
        f'{doctype}<feed><entry><link href="{loc}"/></entry></feed>',
    ):
        with pytest.raises(ListingError, match="declares entities") as refused:
            read_feed(feed.encode())
        assert refused.value.reason == "malformed"
    rss = read_feed(
        f'<!DOCTYPE rss SYSTEM "{site.url}/rss-0.91.dtd"><rss><channel><item>'
        "<link>http://a.test/1</link></item></channel></rss>".encode()
    )
    assert [entry.url for entry in rss.entries] == ["http://a.test/1"]
    assert site.recorder is not None and site.recorder.requests == {}  # nothing fetched


def test_listed_dates_decide_over_fetch_once_and_refresh_after():
    from scrapy import Request
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from crawler.distributed.incremental_crawl import IncrementalMiddleware, Tracked
    from crawler.distributed.seen import SqliteSeenState
    from crawler.spider import META_LASTMOD, META_PAGE
    from crawler.spider.project import parse_rule
    from crawler.spider.rule_spider import RuleSpider
    from tests.settings import project_settings

    rule = parse_rule(
        "start: [{sitemap: 'http://x.test/sitemap.xml', page: book}]\n"
        "pages:\n"
        "  book: {fetch: once, refresh_after: 7d, fields: {t: {css: h1}}}\n"
        "  news: {fields: {t: {css: h1}}}\n",
        filename="r.yaml",
    )
    spidercls = RuleSpider.for_rule(rule)
    with pytest.raises(NotConfigured):  # no seen-URL state: the dates are ignored
        IncrementalMiddleware.from_crawler(get_crawler(spidercls, project_settings()))
    crawler = get_crawler(spidercls, project_settings())
    state = SqliteSeenState(":memory:", rule.name)
    once = {"book": rule.pages["book"].refresh_after}
    mw = IncrementalMiddleware(crawler, {rule.name: Tracked(state, once)})
    now = time.time()
    hour_ago, week_ago = now - 3600, now - 8 * 86400
    for url, when in [("b/1", hour_ago), ("b/2", hour_ago), ("b/3", week_ago)]:
        state.mark(f"http://x.test/{url}", when)
    for url in ("n/1", "n/2"):
        state.mark(f"http://x.test/{url}", hour_ago)

    def kept(url: str, page: str, lastmod: float | None) -> bool:
        meta = {META_PAGE: page} | ({META_LASTMOD: lastmod} if lastmod is not None else {})
        return (
            mw.get_processed_request(Request(f"http://x.test/{url}", meta=meta), None) is not None
        )

    assert not kept("b/1", "book", week_ago)  # not changed since: skipped
    assert kept("b/2", "book", now - 60)  # changed since its fetch: fetched again
    assert kept("b/3", "book", week_ago - 86400)  # older than refresh_after: fetched again
    assert not kept("n/1", "news", hour_ago - 1)  # a fetch: every page listed unchanged
    assert kept("n/2", "news", None)  # listed without a date: its page type's fetch: every
    assert kept("n/3", "news", week_ago)  # never fetched
    stats = crawler.stats.get_stats()
    assert stats["incremental/unmodified/book"] == stats["incremental/unmodified/news"] == 1
    assert stats["incremental/modified/book"] == stats["incremental/refreshed/book"] == 1
    assert stats["incremental/skipped"] == 2
