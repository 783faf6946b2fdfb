"""RunRecorder (crawler/runs/recorder.py): what a run record holds, and where it goes when
the store is away."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.core.exitcodes import EXIT_CODES
from crawler.runs.recorder import RunRecorder, build_run_record
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
    assert run["log_errors"] == 0  # the 3 ERROR lines are Scrapy's for the 3 spider exceptions
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
    crawler.spider = spider
    crawler.stats.set_value("item_scraped_count", 5)

    async def run(reason: str) -> None:
        recorder.spider_opened(spider)
        await asyncio.sleep(0.2)  # the start record is written on its own thread
        with open_store(uri) as store:
            (running,) = [r for r in store.runs() if r["run_id"] == recorder.run_id]
        assert running["status"] == "running" and running["exit_code"] is None
        assert running["finished_at"] is None and running["pid"] == os.getpid()
        await recorder.spider_closed(spider, reason)

    asyncio.run(run("finished"))
    with open_store(uri) as store:
        (run_record,) = store.runs()
    assert run_record["rule"] == "named" and run_record["items"] == 5
    assert run_record["finish_reason"] == "finished"
    assert (run_record["status"], run_record["exit_code"]) == ("finished", 0)
    assert crawler.stats.get_value("run/exit_code") == 0
    assert run_record["run_id"] == crawler.stats.get_value("run/id")

    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    crawler.stats.set_value("run/id", None)  # another run of the same spider
    recorder = RunRecorder.from_crawler(crawler)
    recorder.store_uri = f"sqlite:///{blocker}/items.db"
    asyncio.run(recorder.spider_closed(spider, "shutdown"))
    (spilled,) = (tmp_path / "spill").glob("named-run-*.jsonl")
    with open_store(uri) as store:
        assert replay_file(store, spilled).runs == 1
        runs = {r["finish_reason"]: r for r in store.runs()}
        assert set(runs) == {"shutdown", "finished"}
        assert (runs["shutdown"]["status"], runs["shutdown"]["exit_code"]) == ("interrupted", 8)


def test_status_and_exit_code_agree_with_the_contract() -> None:
    cases = {
        "finished": ({"response_received_count": 3}, "finished"),
        "start_error": ({"rule/start_error": "missing argument site"}, "finished"),
        "blocked": ({"antiban/stopped": "no_session"}, "antiban_no_session"),
        "data_not_stored": ({"store/spilled": 3}, "finished"),
        "monitor_failed": ({"monitors/failed": 1, "response_received_count": 1}, "finished"),
        "interrupted": ({}, "shutdown"),
        "failed": ({}, "cancelled"),
    }
    for status, (stats, reason) in cases.items():
        record = build_run_record("r", stats, reason, "sqlite://")
        assert record["status"] == status, (status, record["status_reason"])
        assert record["exit_code"] == EXIT_CODES[status]
        assert (record["status_reason"] == "") == (status == "finished")
