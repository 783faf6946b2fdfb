"""A site table (or a tag) crawled as one crawl of many sites (crawler/spider/site_group.py,
crawler/spider/site_runs.py): one Scrapy crawler, each site with its own politeness, links,
stats, coverage, monitors, status and run record; a failing site stops no other."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.core.sites import META_SITE, SiteStats, site_name, site_of
from crawler.rules.compiler import load_rules
from crawler.spider.extract import Follow
from crawler.spider.rule_spider import RuleSpider
from crawler.spider.site_group import SiteGroupSpider, group_by_settings, politeness
from crawler.store import open_store
from tests.crawler.crawl import scrapy, store_args
from tests.sample_site import SampleSite

TEMPLATE = """\
description: Books of one tag list of a catalogue.
args:
  site: null
  tag: misc
item: {key: [url]}
monitors: {min_items: 1}
start:
  - url: "{site}/tag/{tag}/"
    page: tag_list
pages:
  tag_list:
    rows:
      css: article.book
      fields:
        title: {css: "h3 a::text", required: true}
        url: {css: "h3 a::attr(href)", clean: [absolute_url]}
    pagination:
      next: {css: li.next a}
"""

# s3's tag does not exist (a 404: no item, its monitor fails); s4's site does not answer; s5
# changes a setting the others keep, so it is a crawl of its own beside theirs.
TABLE = """\
template: books
sites:
  - {name: s1, args: {site: "URL1", tag: travel}}
  - {name: s2, args: {site: "URL2", tag: poetry}, settings: {DOWNLOAD_DELAY: 0.05}}
  - {name: s3, args: {site: "URL3", tag: nope}}
  - {name: s4, args: {site: "http://127.0.0.1:9", tag: misc}}
  - {name: s5, args: {site: "URL5", tag: misc}, settings: {ROBOTSTXT_OBEY: true}}
"""


def project(tmp_path: Path, urls: list[str]) -> Path:
    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    (rules / "tables").mkdir()
    (rules / "templates" / "books.yaml").write_text(TEMPLATE, encoding="utf-8")
    table = TABLE
    for number, url in enumerate(urls, 1):
        table = table.replace(f'"URL{number}"', f'"{url}"')
    (rules / "tables" / "shelves.yaml").write_text(table, encoding="utf-8")
    return rules


def test_a_table_is_one_crawl_of_many_sites_each_with_its_own_record(tmp_path):
    with SampleSite(hosts=5, record_hosts=True) as site:
        rules = project(tmp_path, site.urls)
        settings = [*store_args(tmp_path), "-s", f"RULES_DIR={rules}"]
        settings += ["-s", "INCREMENTAL_STATE_URI=", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
        env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
        proc = scrapy("crawl", "--table", "shelves", *settings, env=env, timeout=240)
        seen = dict(site.recorder.max_in_flight)
        requests = dict(site.recorder.requests)

    # each site's status, then the first that is not 0 (s3's: a failed monitor)
    summary = [line for line in proc.stderr.splitlines() if ": exit " in line]
    assert summary == ["s1: exit 0", "s2: exit 0", "s3: exit 7", "s4: exit 1", "s5: exit 0"]
    assert proc.returncode == 7, proc.stderr[-3000:]
    assert "4 site(s) in one crawl: s1, s2, s3, s4" in proc.stderr

    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        runs = {run["rule"]: run for run in store.runs(limit=100)}
        counts = {name: store.count(name) for name in ("s1", "s2", "s3")}
    assert set(runs) == {"s1", "s2", "s3", "s4", "s5", "table:shelves#1"}
    group = runs["table:shelves#1"]
    for name in ("s1", "s2", "s3", "s4"):
        assert runs[name]["group"] == {"name": "table:shelves#1", "run_id": group["run_id"]}
        assert runs[name]["run_id"].startswith(group["run_id"] + ".")
    assert "group" not in runs["s5"]  # a crawl of its own
    assert {n: runs[n]["status"] for n in runs} == {
        "s1": "finished",
        "s2": "finished",
        "s3": "monitor_failed",
        "s4": "failed",
        "s5": "finished",
        "table:shelves#1": "monitor_failed",
    }
    s1, s2, s3, s4 = (runs[n] for n in ("s1", "s2", "s3", "s4"))
    # each site's own figures: pages, items, what the store did with them, coverage, errors
    assert s1["items"] == s1["new"] == counts["s1"] > 0 and s1["pages"] >= 1
    assert s2["items"] == s2["new"] == counts["s2"] > 0 and counts["s3"] == 0
    assert s1["coverage"]["tag_list"]["fields"] == {"title": 1.0, "url": 1.0}
    assert s3["items"] == 0 and s3["request_errors"] == 1 and s3["coverage"] == {}
    assert s3["monitors"]["failed"] == 1 and s1["monitors"]["failed"] == 0
    assert s4["pages"] == 0 and s4["request_errors"] == 1
    assert s4["status_reason"].startswith("no page downloaded")
    # the crawl's own record holds them all
    assert group["pages"] == sum(runs[n]["pages"] for n in ("s1", "s2", "s3", "s4"))
    assert group["items"] == sum(runs[n]["items"] for n in ("s1", "s2", "s3", "s4"))
    # one request at a time on each host, every reachable site fetched
    assert set(requests) == {"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.5"}
    assert max(seen.values()) == 1


def group_of(tmp_path: Path, urls: list[str]) -> SiteGroupSpider:
    rules = project(tmp_path, urls)
    ruleset = load_rules(rules)
    classes = [RuleSpider.for_rule(ruleset.rules[n]) for n in ("s1", "s2", "s3", "s4")]
    spidercls = SiteGroupSpider.for_sites("table:t", classes)
    crawler = get_crawler(spidercls)
    spider = spidercls.from_crawler(crawler)
    crawler.spider = spider
    return spider


def test_a_site_follows_its_own_links_only_and_counts_in_its_own_stats(tmp_path):
    spider = group_of(tmp_path, [f"http://127.0.1.{n}:8000" for n in range(1, 6)])
    s1, s2 = spider.sites["s1"], spider.sites["s2"]
    page = HtmlResponse(
        "http://127.0.1.1:8000/tag/travel/",
        body=b"<html></html>",
        request=Request("http://127.0.1.1:8000/tag/travel/", meta={META_SITE: "s1"}),
    )
    own = s1.follow_request(Follow("http://127.0.1.1:8000/tag/travel/2/", "tag_list"), page)
    assert own is not None and own.meta[META_SITE] == "s1"
    assert own.callback == spider.parse_site and own.errback == spider.site_error
    assert s1.follow_request(Follow("http://127.0.1.2:8000/x/", "tag_list"), page) is None
    assert spider.site_stats["s1"].get_value("offsite/filtered") == 1
    assert spider.site_stats["s2"].get_value("offsite/filtered") is None
    assert spider.crawler.stats.get_value("offsite/filtered") == 1  # counters add up
    # which site answers for a request, a response, an item
    assert site_of(spider, own) is s1 and site_of(spider, page) is s1
    assert site_of(spider, {"_rule": "s2"}) is s2 and site_of(spider, {"_rule": "x"}) is spider
    assert site_name(Request("http://a/")) is None and site_of(s1, own) is s1
    # a site's values (a start error) are its own, never the crawl's
    s2.crawler.stats.set_value("rule/start_error", "missing argument")
    assert spider.crawler.stats.get_value("rule/start_error") is None
    # routes and store targets are each site's own
    assert spider.store_target({"_rule": "s2", "_page": "tag_list"}).collection == "s2"


def test_sites_keep_their_own_politeness_and_differing_settings_split_the_group(tmp_path):
    ruleset = load_rules(project(tmp_path, [f"http://127.0.1.{n}:80" for n in range(1, 6)]))
    classes = [RuleSpider.for_rule(ruleset.rules[n]) for n in ("s1", "s2", "s3", "s4", "s5")]
    groups = group_by_settings(classes)
    assert [[c.name for c in g] for g in groups] == [["s1", "s2", "s3", "s4"], ["s5"]]
    slots, budgets = politeness(groups[0])
    assert slots == {"127.0.1.2": {"delay": 0.05}} and budgets == {}
    spidercls = SiteGroupSpider.for_sites("t", groups[0])
    assert "DOWNLOAD_DELAY" not in spidercls.custom_settings
    crawler = get_crawler(spidercls, {"DOWNLOAD_SLOTS": {"127.0.1.2": {"delay": 3}}})
    # the project's own entry for a host wins over a row's
    assert crawler.settings.getdict("DOWNLOAD_SLOTS") == {"127.0.1.2": {"delay": 3}}
    crawler = get_crawler(spidercls)
    assert crawler.settings.getdict("DOWNLOAD_SLOTS") == {"127.0.1.2": {"delay": 0.05}}


def test_site_stats_add_counters_to_the_crawls_and_keep_values_their_own():
    crawl = SiteStats()
    site = SiteStats(through=crawl)
    site.inc_value("pages", 2)
    site.own().inc_value("items")  # the view that does not add up
    site.set_value("why", "x")
    site.max_value("most", 3)
    site.max_value("most", 1)
    assert site.get_stats() == {"pages": 2, "items": 1, "why": "x", "most": 3}
    assert crawl.get_stats() == {"pages": 2}


def test_the_rows_of_a_table_share_what_their_template_gives(tmp_path):
    ruleset = load_rules(project(tmp_path, [f"http://127.0.1.{n}:80" for n in range(1, 6)]))
    s1, s2, s3 = (ruleset.rules[n] for n in ("s1", "s2", "s3"))
    assert s1.section("pages") is s2.section("pages") is s3.section("pages")
    assert s1.section("meta") is not s2.section("meta")  # their arguments differ
    a, b = RuleSpider.for_rule(s1)(), RuleSpider.for_rule(s2)()
    fields = (a.compiled.pages["tag_list"].row_fields, b.compiled.pages["tag_list"].row_fields)
    assert [f.name for f in fields[0]] == ["title", "url"] and fields[0][0] is fields[1][0]


ONCE = """\
args: {site: null, tag: misc}
start:
  - url: "{site}/tag/{tag}/"
    page: tag_list
pages:
  tag_list:
    links:
      - {css: "article.book h3 a", to: book}
  book:
    fetch: once
    fields:
      title: {css: "div.product_main h1::text", required: true}
"""


def test_pages_fetched_once_are_skipped_per_site_in_a_crawl_of_many(tmp_path):
    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    (rules / "tables").mkdir()
    (rules / "templates" / "once.yaml").write_text(ONCE, encoding="utf-8")
    seen = tmp_path / "seen.db"
    with SampleSite(hosts=2) as site:
        rows = [f"  - {{name: o{n}, args: {{site: '{url}'}}}}" for n, url in enumerate(site.urls)]
        table = "template: once\nsites:\n" + "\n".join(rows) + "\n"
        (rules / "tables" / "once.yaml").write_text(table, encoding="utf-8")
        settings = [*store_args(tmp_path), "-s", f"RULES_DIR={rules}"]
        settings += ["-s", f"INCREMENTAL_STATE_URI=sqlite:///{seen}"]
        env = {"CRAWLER_DATA_DIR": str(tmp_path / "data")}
        first = scrapy("crawl", "--table", "once", *settings, env=env, timeout=240)
        second = scrapy("crawl", "--table", "once", *settings, env=env, timeout=240)
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-3000:]
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        runs = store.runs(limit=10)
        books = {name: store.count(name) for name in ("o0", "o1")}
    assert all(count > 0 for count in books.values())
    crawls = [r for r in runs if r["rule"] == "table:once"]
    latest, earlier = crawls[0], crawls[1]
    assert earlier["stats"]["rule/pages/book"] == sum(books.values())
    # the second crawl skips every book page of both sites: each site's seen URLs are its own
    assert latest["stats"]["incremental/skipped/book"] == sum(books.values())
    assert "rule/pages/book" not in latest["stats"]
    with sqlite3.connect(seen) as db:
        marked = dict(db.execute("SELECT rule, COUNT(*) FROM seen GROUP BY rule").fetchall())
    assert marked == books
