"""The archive's spider middleware, driven in this process with its lane inline: what it keeps
(the page types asked for, never a sitemap or a page of no page type), what it carries, and
how it says that it could not keep a page."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.archive.middleware import PageArchiveMiddleware
from crawler.archive.sqlite_archive import archive_path, open_archive, read_pages
from crawler.defaults import archive as archive_defaults
from crawler.defaults import settings_of
from crawler.spider import META_CARRY, META_PAGE, RuleSpider, parse_rule

RULE = """name: shop
start: [{url: "http://shop.test/", page: index}]
pages:
  index:
    links: [{css: a, to: item}]
  item:
    match: /item/
    fields: {title: {css: "h1::text"}}
"""


class InlineLane:
    def submit(self, job, on_done):
        try:
            result = job()
        except Exception as exc:
            on_done(None, exc)
        else:
            on_done(result, None)

    def close(self):
        pass


class InlineClock:
    def lane(self, name):
        return InlineLane()

    def looping_call(self, interval, func):
        class Stop:
            def cancel(self):
                pass

        return Stop()


def middleware(tmp_path, **settings):
    spidercls = RuleSpider.for_rule(parse_rule(RULE))
    values = {"ARCHIVE_ENABLED": True, "ARCHIVE_DIR": str(tmp_path), "ARCHIVE_BATCH_PAGES": 2}
    crawler = get_crawler(spidercls, {**settings_of(archive_defaults), **values, **settings})
    crawler.spider = spidercls.from_crawler(crawler)
    built = PageArchiveMiddleware.from_crawler(crawler)
    built.clock = InlineClock()
    built.lane = InlineLane()
    return built, crawler.stats


def response(url: str, **meta) -> HtmlResponse:
    request = Request(url, meta=meta)
    headers = {"Content-Type": "text/html; charset=utf-8", "Set-Cookie": "session=secret"}
    return HtmlResponse(url, body=b"<h1>A</h1>", headers=headers, request=request)


def kept(tmp_path) -> list:
    with open_archive(archive_path(tmp_path, "shop"), "shop", create=False) as conn:
        return list(read_pages(conn))


def test_pages_of_the_page_types_asked_for_are_kept_with_what_they_carried(tmp_path):
    mw, stats = middleware(tmp_path, ARCHIVE_PAGES=["item"])
    mw.process_spider_input(response("http://shop.test/", **{META_PAGE: "index"}))
    mw.process_spider_input(
        response("http://shop.test/item/1", **{META_PAGE: "item", META_CARRY: {"x": 1}})
    )
    mw.process_spider_input(response("http://shop.test/item/2", depth=3))  # page type by match
    mw.process_spider_input(response("http://shop.test/other"))  # no page type
    listing = {META_PAGE: None, "rule_listing": {"kind": "sitemap", "depth": 0, "start": 0}}
    mw.process_spider_input(response("http://shop.test/item/sitemap.xml", **listing))
    pages = kept(tmp_path)
    assert [(p.url, p.page) for p in pages] == [
        ("http://shop.test/item/1", "item"),
        ("http://shop.test/item/2", "item"),
    ]
    assert pages[0].meta == {META_PAGE: "item", META_CARRY: {"x": 1}}
    assert pages[1].meta == {"depth": 3}
    assert pages[0].headers == {"Content-Type": "text/html; charset=utf-8"}  # no cookie
    assert stats.get_value("archive/pages") == 2 and stats.get_value("archive/bytes") > 0


def test_a_thread_behind_skips_pages_and_says_so(tmp_path, caplog):
    mw, stats = middleware(tmp_path, ARCHIVE_BUFFER_BYTES=60, ARCHIVE_BATCH_PAGES=100)
    with caplog.at_level(logging.WARNING):
        for n in range(3):
            mw.process_spider_input(response(f"http://shop.test/item/{n}"))
    assert stats.get_value("archive/skipped/busy") == 2
    assert [r.message for r in caplog.records if "ARCHIVE_BUFFER_BYTES" in r.message]
    mw.flush()
    assert len(kept(tmp_path)) == 1


def test_a_failed_write_is_counted_and_logged(tmp_path, caplog, monkeypatch):
    mw, stats = middleware(tmp_path)

    def broken(rule):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(mw, "_connection", broken)
    with caplog.at_level(logging.ERROR):
        for n in range(2):
            mw.process_spider_input(response(f"http://shop.test/item/{n}"))
    assert stats.get_value("archive/failed") == 2
    assert "2 page(s) could not be archived: OperationalError: disk I/O error" in caplog.text


def test_an_archive_that_cannot_open_refuses_the_crawl(tmp_path):
    (tmp_path / "file").write_text("x")
    mw, stats = middleware(tmp_path / "file" / "archive")
    assert mw.refused
    assert stats.get_value("crawl/start_error").startswith("cannot open the page archive of shop")
    mw.process_spider_input(response("http://shop.test/item/1"))
    assert mw.pending == {}


def test_off_unless_asked(tmp_path):
    with pytest.raises(NotConfigured):
        middleware(tmp_path, ARCHIVE_ENABLED=False)
    assert not (tmp_path / "shop.sqlite").exists()
