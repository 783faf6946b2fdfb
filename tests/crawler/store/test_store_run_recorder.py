"""RunRecorder (crawler/extensions/runs.py): what a run record holds, and where it goes when
the store is away."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.extensions.runs import RunRecorder, build_run_record
from crawler.store import open_store
from crawler.store.spill import replay_file
from tests.settings import project_settings


def test_build_run_record_counts_and_masks() -> None:
    stats = {
        "start_time": datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        "response_received_count": 7,
        "item_scraped_count": 20,
        "store/items/new": 15,
        "store/items/updated": 2,
        "store/items/unchanged": 1,
        "store/items/dead": 2,
        "log_count/ERROR": 3,
        "spider_exceptions/count": 3,
        "spider_exceptions/ValueError": 2,
        "spider_exceptions/KeyError": 1,
        "antiban/bans": 4,
        "odd": object(),
    }
    run = build_run_record("shop", stats, "finished", "mongodb://u:pw@db/x", finished_at="F")
    assert run["started_at"] == "2026-01-01T12:00:00.000Z" and run["finished_at"] == "F"
    assert (run["pages"], run["items"], run["new"], run["updated"], run["unchanged"]) == (
        7,
        20,
        15,
        2,
        1,
    )
    assert (run["dead"], run["errors"], run["spider_exceptions"], run["bans"]) == (2, 3, 3, 4)
    assert run["store_uri"] == "mongodb://***@db/x"
    assert run["stats"]["start_time"] == "2026-01-01T12:00:00+00:00"
    json.dumps(run)  # JSON-safe throughout


def test_disabled_without_store_or_by_setting() -> None:
    with pytest.raises(NotConfigured):
        RunRecorder.from_crawler(get_crawler(Spider, project_settings(STORE_URI="")))
    with pytest.raises(NotConfigured):
        RunRecorder.from_crawler(
            get_crawler(Spider, project_settings(STORE_URI="sqlite://", STORE_RUNS_ENABLED=False))
        )


class Named(Spider):
    name = "named"


def test_records_run_or_spills_it(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'items.db'}"
    crawler = get_crawler(
        Named, project_settings(STORE_URI=uri, STORE_SPILL_DIR=str(tmp_path / "spill"))
    )
    recorder = RunRecorder.from_crawler(crawler)
    spider = Named.from_crawler(crawler)
    crawler.stats.set_value("item_scraped_count", 5)
    recorder.spider_opened(spider)
    recorder.spider_closed(spider, "finished")
    with open_store(uri) as store:
        (run,) = store.runs()
    assert run["rule"] == "named" and run["items"] == 5 and run["finish_reason"] == "finished"

    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    recorder.store_uri = f"sqlite:///{blocker}/items.db"
    recorder.spider_closed(spider, "shutdown")
    (spilled,) = (tmp_path / "spill").glob("named-run-*.jsonl")
    with open_store(uri) as store:
        assert replay_file(store, spilled).runs == 1
        assert [r["finish_reason"] for r in store.runs()] == ["shutdown", "finished"]
