"""The live progress of a crawl, read from the lines its log gets: the platform's progress line
(crawler/runs/progress.py) and Scrapy's LogStats line of hand-written spiders."""

from __future__ import annotations

from scrapy.utils.test import get_crawler

from crawler.runs.progress import Progress as ProgressLine
from crawler.service.events_api import Progress
from tests.settings import project_settings


def test_the_platforms_progress_line_is_read():
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
    for key, value in {"response_received_count": 7, "item_scraped_count": 5}.items():
        crawler.stats.set_value(key, value)
    written = ProgressLine(crawler, interval=10).line()
    progress = Progress()
    progress.line(f"2026-11-30 12:00:00 [crawler.runs.progress] INFO: {written}")
    snapshot = progress.snapshot()
    assert (snapshot["pages"], snapshot["items"]) == (7, 5), written
