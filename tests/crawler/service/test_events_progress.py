"""The live progress of a crawl, read from the lines its log gets (the platform's progress line,
crawler/runs/progress.py, in its current and earlier form, and Scrapy's LogStats line of
hand-written spiders) and from its run record (its counters win; how long it has run, its
total and ETA)."""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.utils.test import get_crawler

from crawler.runs.progress import Progress as ProgressLine
from crawler.service.events_api import Progress
from tests.settings import project_settings


def test_the_platforms_progress_line_is_read():
    progress = Progress()
    progress.line(
        "2026-11-30 12:00:00 [crawler.runs.progress] INFO: Progress: 120 pages (45.0/min), "
        "110 items (40.0/min), 3 errors (2 failed requests), 3 bans, 35 queued, 4 in flight; "
        "ETA 0:01:12 (443 pages expected: last run)"
    )
    snapshot = progress.snapshot()
    assert (snapshot["pages"], snapshot["items"], snapshot["rate"]) == (120, 110, 45)
    assert (snapshot["errors"], snapshot["bans"], snapshot["queue"]) == (3, 3, 35)


def test_the_earlier_progress_line_is_read_too():
    progress = Progress()
    progress.line(
        "2026-11-30 12:00:00 [crawler.runs.progress] INFO: Progress: 120 pages (45.0/min), "
        "110 items (40.0/min), 2 failed requests, 1 errors, 3 bans, 35 queued, 4 in flight; "
        "ETA 0:01:12 (443 pages expected: last run)"
    )
    snapshot = progress.snapshot()
    assert (snapshot["pages"], snapshot["items"], snapshot["rate"]) == (120, 110, 45)
    assert (snapshot["errors"], snapshot["bans"], snapshot["queue"]) == (3, 3, 35)


def test_scrapys_logstats_line_is_read_too():
    progress = Progress()
    progress.line("INFO: Crawled 30 pages (at 12 pages/min), scraped 25 items (at 10 items/min)")
    snapshot = progress.snapshot()
    assert (snapshot["pages"], snapshot["items"], snapshot["rate"]) == (30, 25, 12)


def test_the_progress_extension_writes_what_the_service_reads():
    crawler = get_crawler(settings_dict=project_settings())
    stats = {
        "response_received_count": 7,
        "item_scraped_count": 5,
        "rule/request_errors/http_500": 1,
        "retry/max_reached": 1,
        "log_count/ERROR": 2,
    }
    for key, value in stats.items():
        crawler.stats.set_value(key, value)
    written = ProgressLine(crawler, interval=10).line()
    assert "2 errors (1 failed requests)" in written  # as the run record counts them
    progress = Progress()
    progress.line(f"2026-11-30 12:00:00 [crawler.runs.progress] INFO: {written}")
    snapshot = progress.snapshot()
    assert (snapshot["pages"], snapshot["items"], snapshot["errors"]) == (7, 5, 2), written


def test_the_run_record_wins_and_the_clock_ticks():
    progress = Progress()
    progress.line("INFO: Crawled 30 pages (at 12 pages/min), scraped 25 items (at 10 items/min)")
    # the service's placeholder of a crawl that has not recorded itself yet: no counters
    progress.record({"run_id": "r", "started_at": "2026-11-30T12:00:00.000Z"})
    assert progress.snapshot(datetime(2026, 11, 30, 12, 0, 2, tzinfo=UTC))["pages"] == 30
    record = {
        "run_id": "r",
        "started_at": "2026-11-30T12:00:00.000Z",
        "pages": 10,
        "items": 4,
        "bans": 1,
        "queued": 6,
        "expected": {"total": 40, "unit": "pages", "source": "last run"},
        "stats": {"response_received_count": 10, "rule/request_errors/http_404": 2},
    }
    progress.record(record)
    at_20s = progress.snapshot(datetime(2026, 11, 30, 12, 0, 20, tzinfo=UTC))
    assert (at_20s["pages"], at_20s["items"], at_20s["errors"], at_20s["queue"]) == (10, 4, 2, 6)
    assert (at_20s["elapsed"], at_20s["rate"], at_20s["error_rate"]) == (20.0, 30.0, 0.2)
    assert (at_20s["total"], at_20s["done"], at_20s["eta"]) == (40, 10, 60.0)
    at_30s = progress.snapshot(datetime(2026, 11, 30, 12, 0, 30, tzinfo=UTC))
    assert at_30s["elapsed"] == 30.0 and at_30s["eta"] == 90.0
    # ended: the duration stops at its end
    progress.record({**record, "finished_at": "2026-11-30T12:00:25.000Z"})
    assert progress.snapshot(datetime(2026, 11, 30, 13, 0, tzinfo=UTC))["elapsed"] == 25.0
