"""The figures of a run (crawler/runs/figures.py) and its coverage read back per page type and
per item type (crawler/runs/coverage.py), from a crawl's stats and from run records of every
age; and the run id a crawl takes from whoever started it (``RUN_ID``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.runs import item_type_coverage, page_coverage, run_bans, run_errors
from crawler.runs.figures import expected_total, live_counters
from crawler.runs.recorder import RunRecorder, build_run_record, run_id_of
from tests.settings import project_settings


class Named(Spider):
    name = "named"


def test_each_error_counts_once():
    stats = {
        "response_received_count": 10,
        # a 404, and a 500 that Scrapy retried then gave up on (its "Gave up retrying" line)
        "rule/request_errors/http_404": 1,
        "rule/request_errors/http_500": 1,
        "retry/max_reached": 1,
        # a callback that raised (its "Spider error processing" line)
        "spider_exceptions/count": 1,
        # those two ERROR lines, and one of a store write that failed
        "log_count/ERROR": 3,
    }
    errors = run_errors(stats)
    assert (errors.requests, errors.spider_exceptions, errors.log_lines) == (2, 1, 1)
    assert errors.total == 4 and errors.rate == 0.4
    assert live_counters(stats)["errors"] == 4
    # a run record holds the same figures, and reading it gives them back
    record = build_run_record("r", stats, "finished", "sqlite://")
    assert (record["errors"], record["request_errors"], record["log_errors"]) == (4, 2, 1)
    assert run_errors(record) == errors
    assert run_errors({k: v for k, v in record.items() if k != "stats"}) == errors


def test_error_lines_are_never_negative_and_other_spiders_fall_back_on_scrapys_counts():
    # RETRY_GIVE_UP_LOG_LEVEL lowered: the give-up was no ERROR line
    assert run_errors({"retry/max_reached": 2, "log_count/ERROR": 0}).log_lines == 0
    hand_written = {"downloader/exception_count": 2, "httperror/response_ignored_count": 1}
    assert run_errors(hand_written).requests == 3
    assert run_errors({}).total == 0 and run_errors({}).rate == 0.0


def test_old_records_read_defensively():
    # before errors was the sum: it counted ERROR lines, request_errors beside it
    old = {"run_id": "o", "rule": "r", "pages": 4, "errors": 1, "request_errors": 2}
    assert run_errors(old).total == 3 and run_errors(old).rate == 0.75
    # the data service's placeholder of a crawl that has not recorded itself yet
    assert run_errors({"run_id": "x", "rule": "r", "status": "running"}).total == 0
    assert run_bans({"antiban/bans": 1, "downloader/request_count": 4}).rate == 0.25
    assert run_bans({"run_id": "o", "bans": 2, "pages": 4}).rate == 0.5


def test_expected_total_prefers_the_crawls_own_limit():
    assert expected_total({"run/expected_pages": 40}, page_limit=10).source == (
        "CLOSESPIDER_PAGECOUNT"
    )
    assert expected_total({}) is None
    # the live record carries it, from the crawl's settings and stats
    crawler = get_crawler(Named, project_settings(CLOSESPIDER_ITEMCOUNT=5))
    recorder = RunRecorder(crawler, "sqlite://", Path("unused"))
    crawler.stats.set_value("run/expected_pages", 40)
    record = recorder._record(Named(), None)
    assert record["expected"] == {"total": 5, "unit": "items", "source": "CLOSESPIDER_ITEMCOUNT"}
    crawler = get_crawler(Named, project_settings())
    crawler.stats.set_value("run/expected_pages", 40)
    record = RunRecorder(crawler, "sqlite://", Path("unused"))._record(Named(), None)
    assert record["expected"] == {"total": 40, "unit": "pages", "source": "last run"}


POSTS_AND_LISTS = {
    # every post has its title; the list rows have none (and the rows' "next" half the time)
    "coverage/post/items": 4,
    "coverage/post/item_type": "article",
    "coverage/post/filled/title": 4,
    "coverage/post/filled/body": 3,
    "coverage/list/items": 8,
    "coverage/list/filled/next": 4,
    "coverage/list/filled/body": 0,
    "coverage/teaser/items": 4,
    "coverage/teaser/item_type": "article",
    "coverage/teaser/filled/title": 2,
}


def test_coverage_is_kept_per_page_type_never_merged():
    pages = page_coverage(POSTS_AND_LISTS)
    assert pages["post"] == {
        "items": 4,
        "item_type": "article",
        "fields": {"body": 0.75, "title": 1.0},
    }
    assert "title" not in pages["list"]["fields"]  # not 50 %: list rows do not have it
    assert pages["list"]["fields"] == {"body": 0.0, "next": 0.5}
    # the record keeps the same, per page type and per item type
    record = build_run_record("r", POSTS_AND_LISTS, "finished", "sqlite://")
    assert record["coverage"] == pages
    assert record["coverage_item_types"] == {
        "article": {
            "items": 8,
            "page_types": ["post", "teaser"],
            "fields": {"body": 0.75, "title": 0.75},
        }
    }
    assert item_type_coverage(pages) == record["coverage_item_types"]
    # and reading the record back gives it, from its stats or from its own coverage
    assert page_coverage(record) == pages
    assert page_coverage({"run_id": "r", "coverage": record["coverage"]}) == pages


def test_old_coverage_shapes_stay_readable():
    flat_stats = {"run_id": "r", "stats": {"coverage/title": 1.0, "coverage/price": 0.5}}
    flat_record = {"run_id": "r", "coverage": {"title": 1.0, "price": 0.5}}
    for record in (flat_stats, flat_record):
        assert page_coverage(record) == {
            "*": {"items": None, "item_type": None, "fields": {"price": 0.5, "title": 1.0}}
        }
    # per page type, before the item type was kept
    before = {"run_id": "r", "coverage": {"book": {"items": 2, "fields": {"title": 0.5}}}}
    assert page_coverage(before) == {
        "book": {"items": 2, "item_type": None, "fields": {"title": 0.5}}
    }
    assert page_coverage({"run_id": "r", "coverage": "junk", "stats": {}}) == {}


def test_the_run_id_is_the_one_whoever_started_the_crawl_gave():
    given = get_crawler(Named, project_settings(RUN_ID="abc-123"))
    assert run_id_of(given) == "abc-123" == given.stats.get_value("run/id")
    scheduled = get_crawler(Named, project_settings(SCHEDULE_RUN_ID="f00d"))
    assert run_id_of(scheduled) == "f00d"
    both = get_crawler(Named, project_settings(RUN_ID="run-1", SCHEDULE_RUN_ID="other"))
    assert run_id_of(both) == "run-1"
    made = get_crawler(Named, project_settings())
    assert len(run_id_of(made)) == 32 and run_id_of(made) == made.stats.get_value("run/id")
    for bad in ("../etc", "a b", "x" * 65, "-lead"):
        with pytest.raises(ValueError, match="is not a run id"):
            run_id_of(get_crawler(Named, project_settings(RUN_ID=bad)))
