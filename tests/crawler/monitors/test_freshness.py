"""Freshness judged on the store, through real crawls of the sample site and a receiver on
127.0.0.1: a list that keeps serving the same items fails ``min_new_items`` while every other
monitor passes; in quiet hours the alert is held and `scrapy alerts flush` sends the digest
after them; a new item resolves the check, said once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.rules import RuleError
from crawler.spider.project import parse_rule
from crawler.store import open_store
from tests.crawler.crawl import crawl_sample_books, sample_rules_with, scrapy
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread

BASE = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
MONITORS = (
    "{min_items: 1, max_error_rate: 0.5, min_coverage: {price: 0.8},"
    " min_new_items: {count: 1, within: 3s}, max_newest_age: {field: published, age: 36500d}}"
)


def test_the_freshness_and_stall_checks_map_to_settings() -> None:
    rule = parse_rule(
        BASE + "monitors: {min_new_items: {count: 2, within: 3d},"
        " max_newest_age: {field: date, age: 1w}, stall: {after: 20m, stop: true}}\n"
    )
    settings = rule.crawl_settings
    assert settings["MONITORS_RULES"] == {
        "min_new_items": {"count": 2, "within": 259200.0},
        "max_newest_age": {"field": "date", "age": 604800.0},
    }
    assert settings["MONITORS_STALL_AFTER"] == 1200.0 and settings["MONITORS_STALL_STOP"] is True
    only_stall = parse_rule(BASE + "monitors: {stall: {after: 1m}}\n").crawl_settings
    assert "MONITORS_RULES" not in only_stall and only_stall["MONITORS_STALL_STOP"] is False
    alerts = parse_rule(BASE + "alerts: {to: [ops], dedup: 6h}\n").section("alerts")
    assert alerts.to == ("ops",) and alerts.dedup == 21600.0


@pytest.mark.parametrize(
    "text",
    [
        "monitors: {min_new_items: {count: 0, within: 1d}}\n",
        "monitors: {min_new_items: {count: 1}}\n",
        "monitors: {max_newest_age: {field: 'a b', age: 1d}}\n",
        "monitors: {stall: {after: 1s}}\n",
        "alerts: {to: ['no spaces']}\n",
        "alerts: {dedup: 10s}\n",
    ],
)
def test_bad_freshness_stall_and_alerts_are_errors_at_their_line(text: str) -> None:
    with pytest.raises(RuleError) as info:
        parse_rule(BASE + "\n" + text, filename="r.yaml")
    assert any(":4:" in str(p) for p in info.value.errors), info.value


def runs(tmp_path: Path) -> list[dict]:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        return store.runs(rule="sample_books", limit=10)


def quiet_now() -> str:
    """Quiet hours (UTC) around now."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def test_a_source_serving_the_same_items_fails_freshness_alone(tmp_path, make_sample_site) -> None:
    rules = sample_rules_with(tmp_path, "monitors", MONITORS)
    server = ServerThread(HttpReceiver())
    receiver = server.start()
    env = {"ALERT_WEBHOOK_URL": f"{receiver.url}/webhook"}
    alerts = ("MONITORS_ALERTS=webhook", "ALERT_TIMEZONE=UTC")
    try:
        five = make_sample_site(books=5)
        site = five.url
        first = crawl_sample_books(tmp_path, rules, site, *alerts, env=env)
        assert first.returncode == 0, first.stderr[-3000:]
        assert receiver.requests == []
        time.sleep(3.5)  # the 3 s window passes: nothing new since
        second = crawl_sample_books(
            tmp_path, rules, site, *alerts, f"ALERT_QUIET_HOURS={quiet_now()}", env=env
        )
        assert second.returncode == 7, second.stderr[-3000:]
        record = runs(tmp_path)[0]
        assert record["status"] == "monitor_failed" and record["new"] == 0
        results = {r["name"]: r for r in record["stats"]["monitors/results"]}
        failed = sorted(name for name, r in results.items() if not r["ok"])
        assert failed == ["min_new_items"], results  # every other monitor passes
        assert results["min_new_items"]["message"].startswith("0 new item(s) in the last 3s")
        assert results["max_newest_age"]["ok"] and results["max_newest_age"]["figure"]["newest"]
        assert receiver.requests == []  # quiet hours: held
        assert "alert for channel webhook held until its quiet hours end" in second.stderr

        flushed = scrapy(
            "alerts", "flush", "-s", f"ALERTS_STATE={tmp_path / 'alerts.sqlite'}",
            "-s", "ALERT_QUIET_HOURS=", "-s", f"RULES_DIR={rules}", env=env,
        )  # fmt: skip
        assert flushed.returncode == 0, flushed.stderr
        assert "digests sent: webhook" in flushed.stdout
        [digest] = [r.json for r in receiver.requests]
        assert digest["event"] == "digest" and len(digest["alerts"]) == 1
        held = digest["alerts"][0]["event"]
        assert held["event"] == "monitors_failed" and held["checks"] == ["min_new_items"]

        # the source publishes again: one new book; the check passes and "resolved" is sent once
        port = five.port
        five.stop()  # the same site (same URLs) with one book more
        site = make_sample_site(books=6, port=port).url
        third = crawl_sample_books(tmp_path, rules, site, *alerts, env=env)
        assert third.returncode == 0, third.stderr[-3000:]
        assert runs(tmp_path)[0]["new"] == 1
        resolved = [r.json for r in receiver.requests if r.json["event"] == "resolved"]
        assert len(resolved) == 1 and resolved[0]["checks"] == ["min_new_items"]
        assert resolved[0]["subject"] == "sample_books"
    finally:
        server.stop()
