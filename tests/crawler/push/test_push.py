"""Data push on real crawls of the sample site: every stored item version reaches a webhook on
127.0.0.1 and a Redis stream exactly once, across an outage of the webhook; batches that
cannot be delivered are kept aside and replayed; a down sink never holds the crawl."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from pathlib import Path

import redis

from crawler.push.sinks import idempotency_key
from crawler.spider.project import parse_rule
from crawler.store import open_store
from crawler.store.browse import ItemQuery
from tests.crawler.crawl import crawl_sample_books, sample_rules_with, scrapy
from tests.crawler.monitors.receivers import HttpReceiver, ServerThread

SECRET = "push-secret-456"


def rules_with(tmp_path: Path, push: str) -> Path:
    return sample_rules_with(tmp_path, "push", push)


def crawl(tmp_path: Path, rules: Path, site: str, *settings: str, env: dict | None = None):
    return crawl_sample_books(
        tmp_path,
        rules,
        site,
        "STORE_BATCH_SIZE=5",
        "STORE_BATCH_SECONDS=0.2",
        f"PUSH_DIR={tmp_path / 'push'}",
        "PUSH_INTERVAL=0.1",
        "PUSH_SETTLE=0.2",
        "PUSH_RETRY_BACKOFF=0.1",
        *settings,
        env={"PUSH_WEBHOOK_SECRET": SECRET, **(env or {})},
        timeout=240,
    )


def stored_versions(tmp_path: Path) -> set[str]:
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        docs = list(store.iter_items("sample_books", ItemQuery(limit=500)))
    return {idempotency_key("sample_books", d["_key"], d["_hash"]) for d in docs}


def test_the_section_maps_to_settings() -> None:
    base = "start: [{url: 'http://x.test/', page: p}]\npages: {p: {fields: {t: {css: title}}}}\n"
    rule = parse_rule(base + "push: {sinks: [webhook, redis], batch_size: 20}\n")
    assert rule.crawl_settings["PUSH_SINKS"] == ["webhook", "redis"]
    assert rule.crawl_settings["PUSH_BATCH_SIZE"] == 20


def test_every_item_reaches_each_sink_exactly_once_across_an_outage(
    tmp_path, make_sample_site, redis_url
) -> None:
    site = make_sample_site(books=20, latency=0.05).url
    rules = rules_with(tmp_path, "{sinks: [webhook, redis], batch_size: 4}")
    receiver = HttpReceiver()
    outage = threading.Event()
    outage.set()
    refused: list[float] = []

    def answer(got):
        if outage.is_set():
            refused.append(time.monotonic())
            if len(refused) >= 5:
                outage.clear()  # back after five refused deliveries
            return 503, {"error": "down for maintenance"}
        return 200, {"ok": True}

    receiver.answer = answer
    server = ServerThread(receiver)
    server.start()
    try:
        result = crawl(
            tmp_path, rules, site, f"PUSH_REDIS_URL={redis_url}", "PUSH_RETRY_TIMES=20",
            "CONCURRENT_REQUESTS=2",
            env={"PUSH_WEBHOOK_URL": f"{receiver.url}/items"},
        )  # fmt: skip
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(refused) >= 5  # the outage happened, and was retried through
    expected = stored_versions(tmp_path)
    assert len(expected) >= 20
    keys = [e["idempotency_key"] for r in receiver.requests for e in r.json["items"]]
    assert len(keys) == len(set(keys)) and set(keys) == expected
    for request in receiver.requests:
        digest = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Signature"] == f"sha256={digest}"
        assert request.json["collection"] == "sample_books"
    client = redis.Redis.from_url(redis_url)
    entries = client.xrange("crawler:items:sample_books")
    stream_keys = [fields[b"idempotency_key"].decode() for _, fields in entries]
    assert len(stream_keys) == len(set(stream_keys)) and set(stream_keys) == expected
    assert not list((tmp_path / "push").rglob("failed-*.jsonl"))
    # A second crawl changes nothing: nothing more is pushed.
    before = len(keys)
    server = ServerThread(receiver)
    server.start()
    try:
        again = crawl(
            tmp_path, rules, site, f"PUSH_REDIS_URL={redis_url}",
            env={"PUSH_WEBHOOK_URL": f"{receiver.url}/items"},
        )  # fmt: skip
    finally:
        server.stop()
    assert again.returncode == 0
    assert sum(len(r.json["items"]) for r in receiver.requests) == before
    assert client.xlen("crawler:items:sample_books") == len(expected)


def test_a_sink_that_stays_down_keeps_batches_aside_for_replay(tmp_path, make_sample_site) -> None:
    site = make_sample_site(books=10).url
    rules = rules_with(tmp_path, "{sinks: [webhook], batch_size: 5}")
    receiver = HttpReceiver()
    receiver.answer = lambda got: (503, {"error": "down"})
    server = ServerThread(receiver)
    server.start()
    env = {"PUSH_WEBHOOK_URL": f"{receiver.url}/items"}
    try:
        started = time.monotonic()
        result = crawl(tmp_path, rules, site, "PUSH_RETRY_TIMES=1", env=env)
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr[-3000:]
        assert elapsed < 60  # a dead sink does not hold the crawl
        kept = list((tmp_path / "push" / "webhook").glob("failed-*.jsonl"))
        assert kept and "scrapy push replay" in result.stderr
        receiver.answer = None  # the business system is back
        replay = scrapy(
            "push", "replay", "-s", f"PUSH_DIR={tmp_path / 'push'}", "-s", "PUSH_SINKS=webhook",
            env={**env, "PUSH_WEBHOOK_SECRET": SECRET},
        )  # fmt: skip
    finally:
        server.stop()
    assert replay.returncode == 0, replay.stdout + replay.stderr
    keys = [e["idempotency_key"] for r in receiver.requests for e in r.json["items"]]
    assert set(keys) == stored_versions(tmp_path) and len(keys) == len(set(keys))
    assert not list((tmp_path / "push" / "webhook").glob("failed-*.jsonl"))
    assert list((tmp_path / "push" / "webhook").glob("failed-*.jsonl.replayed"))
