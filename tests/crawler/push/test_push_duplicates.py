"""A story delivered once: a sink with ``skip_duplicates`` gets the earliest item of a cluster
and not its near-duplicates (counted), another sink of the same crawl gets every item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from crawler.push.pusher import Pusher
from crawler.spider.project import parse_rule
from crawler.store import open_store


class ListSink:
    def __init__(self, name: str) -> None:
        self.name = name
        self.delivered: list[dict] = []

    def deliver(self, collection: str, entries: list[dict]) -> None:
        self.delivered += [entry["item"] for entry in entries]

    def close(self) -> None:
        return None


def test_the_push_section_names_the_sinks_that_skip_duplicates() -> None:
    base = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
    every = parse_rule(base + "push: {sinks: [webhook, redis], skip_duplicates: true}\n")
    assert every.crawl_settings["PUSH_SKIP_DUPLICATES"] == ["webhook", "redis"]
    one = parse_rule(base + "push: {sinks: [webhook, redis], skip_duplicates: [redis]}\n")
    assert one.crawl_settings["PUSH_SKIP_DUPLICATES"] == ["redis"]
    assert (
        "PUSH_SKIP_DUPLICATES" not in parse_rule(base + "push: {sinks: [redis]}\n").crawl_settings
    )


def test_near_duplicates_are_not_delivered_to_a_sink_that_skips_them(tmp_path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    link = {"collection": "ministry", "key": '["m/1"]'}
    with open_store(uri) as store:
        store.upsert_many("city", [
            {"url": "c/1", "title": "a repost", "_duplicate_of": link},
            {"url": "c/2", "title": "a story of its own"},
            {"url": "c/3", "title": "another repost", "_duplicate_of": link},
        ], ("url",))  # fmt: skip
    settings = get_project_settings().copy()
    settings.setdict(
        {"PUSH_DIR": str(tmp_path / "push"), "PUSH_SKIP_DUPLICATES": ["once"], "PUSH_SETTLE": 0}
    )
    stats = MemoryStatsCollector(get_crawler())
    once, every = ListSink("once"), ListSink("every")
    started = datetime.now(UTC) - timedelta(minutes=1)
    pusher = Pusher(lambda: open_store(uri), [once, every], ["city"], settings, stats, started)
    store = open_store(uri)
    store.open()
    try:
        while pusher.look(store, final=True):
            pass
    finally:
        store.close()
    assert [d["url"] for d in once.delivered] == ["c/2"]
    assert [d["url"] for d in every.delivered] == ["c/1", "c/2", "c/3"]
    assert stats.get_value("push/once/skipped_duplicates") == 2
    assert stats.get_value("push/every/skipped_duplicates") is None
