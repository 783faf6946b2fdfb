"""``min_coverage`` judged per page type (or in the page type or item type the rule names),
never merged across page types; ``max_error_rate`` and ``max_ban_rate`` judging the run's own
figures (crawler/runs/figures.py), which their results keep; run in-process on Spidermon."""

from __future__ import annotations

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.monitors.extension import Monitors
from crawler.monitors.suites import coverage_tests, judge_coverage
from crawler.rules import RuleError
from crawler.rules.itemtypes import load_item_types
from crawler.runs import page_coverage, run_errors
from crawler.spider.project import parse_rule
from tests.crawler.crawl import ROOT
from tests.settings import project_settings

# Posts have a title on every item; list rows never have one (their items lack the field).
STATS = {
    "response_received_count": 20,
    "coverage/post/items": 10,
    "coverage/post/item_type": "article",
    "coverage/post/filled/title": 10,
    "coverage/post/filled/author": 6,
    "coverage/list/items": 10,
    "coverage/list/filled/next": 10,
    "coverage/list/filled/author": 10,
}


class Named(Spider):
    name = "named"


def run_monitors(rules: dict, stats: dict) -> dict[str, dict]:
    crawler = get_crawler(Named, project_settings(MONITORS_RULES=rules))
    ext = Monitors.from_crawler(crawler)
    spider = Named.from_crawler(crawler)
    crawler.spider = spider
    for key, value in stats.items():
        crawler.stats.set_value(key, value)
    _, results = ext.run(spider, periodic=False)
    return {r["name"]: r for r in results}


def test_a_field_of_one_page_type_is_not_failed_by_anothers_items():
    pages = page_coverage(STATS)
    # merged over both page types, title would be 50 %: it is 100 % where it exists
    verdict = judge_coverage(pages, "title", 0.9, None)
    assert verdict.ok and verdict.figure == {"page_types": {"post": 1.0}}
    # a field in both is judged in each, and the message names the page type that failed
    author = judge_coverage(pages, "author", 0.9, None)
    assert not author.ok and author.figure == {"page_types": {"list": 1.0, "post": 0.6}}
    assert (
        author.message
        == "coverage of author in page type 'post' is 60.0% (of 10 items), below 90.0%"
    )
    # a field no page type has: coverage 0
    missing = judge_coverage(pages, "price", 0.5, None)
    assert not missing.ok and "no page type's items have the field price" in missing.message


def test_a_named_page_type_or_item_type_is_judged_there():
    pages = page_coverage(STATS)
    assert judge_coverage(pages, "author", 0.9, "list").ok
    in_post = judge_coverage(pages, "author", 0.9, "post")
    assert not in_post.ok and "in page type 'post' is 60.0%" in in_post.message
    by_type = judge_coverage(pages, "author", 0.5, "article")
    assert by_type.ok and by_type.figure == {"item_types": {"article": 0.6}}
    # named, but its items lack the field: 0; named, but none scraped: said so
    assert not judge_coverage(pages, "title", 0.1, "list").ok
    absent = judge_coverage(pages, "title", 0.1, "detail")
    assert not absent.ok and absent.message == (
        "no item of page type or item type 'detail' was scraped"
    )
    assert coverage_tests({"title": 0.9, "post": {"author": 0.5, "body": 1}}) == [
        ("post", "author", 0.5),
        ("post", "body", 1.0),
        (None, "title", 0.9),
    ]


def test_the_monitors_report_each_judgement_with_its_figure():
    results = run_monitors(
        {"min_coverage": {"title": 0.9, "author": 0.9, "list": {"next": 1.0}}}, STATS
    )
    assert set(results) == {"min_coverage/title", "min_coverage/author", "min_coverage/list/next"}
    assert results["min_coverage/title"]["ok"] is True
    assert results["min_coverage/title"]["figure"] == {"page_types": {"post": 1.0}}
    assert results["min_coverage/list/next"]["ok"] is True
    author = results["min_coverage/author"]
    assert author["ok"] is False and "page type 'post'" in author["message"]


def test_rates_judge_the_runs_own_figures():
    stats = {
        "response_received_count": 10,
        "rule/request_errors/http_404": 1,
        "rule/request_errors/http_500": 1,
        "retry/max_reached": 1,
        "log_count/ERROR": 1,  # the 500's "Gave up retrying": not a second error
        "antiban/bans": 1,
        "downloader/request_count": 12,
    }
    held = run_monitors({"max_error_rate": 0.2, "max_ban_rate": 0.1}, stats)
    errors = run_errors(stats)
    assert held["max_error_rate"]["ok"] is True
    assert held["max_error_rate"]["figure"] == {"errors": 2, "pages": 10, "rate": errors.rate}
    assert held["max_ban_rate"]["figure"] == {"bans": 1, "requests": 12, "rate": 0.0833}
    failed = run_monitors({"max_error_rate": 0.1, "max_ban_rate": 0.05}, stats)
    assert failed["max_error_rate"]["ok"] is False
    assert failed["max_error_rate"]["message"].startswith("error rate is 20.0% (2 error(s) in 10")
    assert failed["max_ban_rate"]["message"].startswith("ban rate is 8.3% (1 ban(s) in 12")


BASE = (
    "start: [{url: 'http://x.test/', page: post}]\n"
    "item: {type: book}\n"
    "pages: {post: {fields: {title: {css: title}, url: {css: a}}}, list: {links: [{css: a, to: post}]}}\n"
)


def parse(text: str, **kwargs: object):  # with the project's item types (rules/types/)
    types, _ = load_item_types(ROOT / "rules")
    return parse_rule(text, item_types=types, **kwargs)


def test_the_section_takes_page_and_item_types_and_refuses_others():
    rule = parse(
        BASE + "monitors: {min_coverage: {title: 0.9, post: {title: 1}, book: {url: 1}}}\n"
    )
    assert rule.crawl_settings["MONITORS_RULES"]["min_coverage"] == {
        "book": {"url": 1},
        "post": {"title": 1},
        "title": 0.9,
    }
    with pytest.raises(RuleError) as info:
        parse(BASE + "\nmonitors: {min_coverage: {psot: {title: 1}}}\n", filename="r.yaml")
    (problem,) = info.value.errors
    assert ":5:" in str(problem) and "no page type or item type named 'psot'" in str(problem)
    assert "post" in str(problem)  # did you mean
