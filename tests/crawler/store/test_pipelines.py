"""StorePipeline: batching, dead letters, retries, spilling and replay, flush on close.

Time is a fake clock driven by the test (no sleeping); the store is real SQLite, sometimes
wrapped to fail for a while, sometimes locked by another connection or unopenable.
A real Scrapy crawl drives the pipeline in tests/crawler/store/test_store_end_to_end.py.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.test import get_crawler

from crawler.store import Store, StoreTarget, open_store
from crawler.store.batches import StorePipelineSettings
from crawler.store.spill import replay_file, spill_files
from crawler.store.sqlite import SqliteStore
from crawler.store.store_pipeline import StorePipeline
from tests.settings import project_settings


class FakeClock:
    """Time that moves only when the test (or an awaited sleep) says so."""

    def __init__(self) -> None:
        self.t = 0.0
        self._queue: list[tuple[float, int, _Call]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    def call_later(self, delay: float, func: Callable[[], object]) -> _Call:
        call = _Call(func)
        heapq.heappush(self._queue, (self.t + delay, next(self._seq), call))
        return call

    def looping_call(self, interval: float, func: Callable[[], object]) -> _Call:
        loop = _Call(func)

        def run() -> None:
            if not loop.cancelled:
                func()
                self.call_later(interval, run)

        self.call_later(interval, run)
        return loop

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def lane(self, name: str) -> InlineLane:
        return InlineLane()

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        while self._queue and self._queue[0][0] <= end:
            due, _, call = heapq.heappop(self._queue)
            self.t = due
            if not call.cancelled:
                call.func()
        self.t = end


class InlineLane:
    """A lane that runs each job at once, in the caller's thread."""

    def submit(self, job: Callable[[], Any], on_done: Callable[[Any, Any], object]) -> None:
        try:
            result = job()
        except Exception as exc:
            on_done(None, exc)
        else:
            on_done(result, None)

    def close(self) -> None:
        pass


class _Call:
    def __init__(self, func: Callable[[], object]) -> None:
        self.func = func
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FlakyStore(SqliteStore):
    """A real SQLite store whose writes fail while ``down`` (or for the next ``failures``)."""

    def __init__(self, uri: str, failures: int = 0, down: bool = False) -> None:
        super().__init__(uri)
        self.failures = failures
        self.down = down
        self.attempts = 0

    def _maybe_fail(self) -> None:
        self.attempts += 1
        if self.down:
            raise ConnectionError("store is down")
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("store is down")

    def upsert_many(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail()
        return super().upsert_many(*args, **kwargs)

    def dead_letter(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail()
        return super().dead_letter(*args, **kwargs)


class RuleSpider(Spider):
    name = "shop"

    def store_target(self, item: dict) -> StoreTarget:
        return StoreTarget("books", ("url",), history=True)


class HandSpider(Spider):
    name = "handmade"


def item(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"https://shop.test/book/{i}",
        "title": f"Book {i}",
        "_url": f"https://shop.test/list?p={i // 10}",
        "_rule": "shop",
        "_page": "list",
        "_crawled_at": "2026-01-01T00:00:00Z",
        **extra,
    }


def make_pipeline(
    tmp_path: Path,
    store: Store | None = None,
    spidercls: type[Spider] = RuleSpider,
    **settings: Any,
) -> tuple[StorePipeline, FakeClock]:
    values = {
        "STORE_URI": f"sqlite:///{tmp_path / 'items.db'}",
        "STORE_SPILL_DIR": str(tmp_path / "spill"),
        "STORE_BATCH_SIZE": 5,
        "STORE_BATCH_SECONDS": 2.0,
        "STORE_RETRY_TIMES": 3,
        "STORE_RETRY_BACKOFF": 1.0,
        "STORE_JOURNAL_DIR": str(tmp_path / "journal"),
        **settings,
    }
    crawler = get_crawler(spidercls, project_settings(values))
    crawler.spider = spidercls.from_crawler(crawler)
    clock = FakeClock()
    pipeline = StorePipeline(
        StorePipelineSettings.from_settings(crawler.settings),
        crawler.stats,
        crawler=crawler,
        store_factory=(lambda uri: store) if store is not None else open_store,
        clock=clock,
    )
    asyncio.run(pipeline.open_spider())
    return pipeline, clock


def close(pipeline: StorePipeline) -> None:
    asyncio.run(pipeline.close_spider())


def stored(tmp_path: Path, collection: str = "books") -> list[dict[str, Any]]:
    with open_store(f"sqlite:///{tmp_path / 'items.db'}") as store:
        return list(store.find(collection))


def stat(pipeline: StorePipeline, name: str) -> Any:
    return pipeline.stats.get_value(name, 0)


def test_not_configured_without_store_uri() -> None:
    crawler = get_crawler(RuleSpider, project_settings(STORE_URI=""))
    with pytest.raises(NotConfigured):
        StorePipeline.from_crawler(crawler)


def test_bad_store_uri_stops_the_crawl_early() -> None:
    crawler = get_crawler(RuleSpider, project_settings(STORE_URI="redis://u:pw@h/0"))
    with pytest.raises(ValueError, match=r"redis://\*\*\*@h/0"):
        StorePipeline.from_crawler(crawler)


def test_batches_by_size_then_by_time_and_returns_items(tmp_path: Path) -> None:
    pipeline, clock = make_pipeline(tmp_path)
    for i in range(7):
        it = item(i)
        assert pipeline.process_item(it) is it
    assert len(stored(tmp_path)) == 5  # one full batch written, two items waiting
    clock.advance(1.0)
    assert len(stored(tmp_path)) == 5
    clock.advance(1.5)  # the partial batch is now older than STORE_BATCH_SECONDS
    assert len(stored(tmp_path)) == 7
    close(pipeline)
    assert stat(pipeline, "store/items/new") == 7
    assert stat(pipeline, "store/batches") == 2


def test_second_crawl_counts_unchanged_and_updated(tmp_path: Path) -> None:
    pipeline, _ = make_pipeline(tmp_path)
    for i in range(12):
        pipeline.process_item(item(i))
    close(pipeline)
    pipeline, _ = make_pipeline(tmp_path)
    for i in range(12):
        pipeline.process_item(item(i, title="Changed") if i < 2 else item(i))
    close(pipeline)
    assert stat(pipeline, "store/items/new") == 0
    assert stat(pipeline, "store/items/updated") == 2
    assert stat(pipeline, "store/items/unchanged") == 10
    with open_store(f"sqlite:///{tmp_path / 'items.db'}") as store:
        assert store.count("books__history") == 2  # the spider's target asks for history


def test_flush_on_close(tmp_path: Path) -> None:
    pipeline, _ = make_pipeline(tmp_path, STORE_BATCH_SIZE=500, STORE_BATCH_SECONDS=600)
    for i in range(3):
        pipeline.process_item(item(i))
    assert stored(tmp_path) == []
    close(pipeline)
    assert len(stored(tmp_path)) == 3


def test_dead_letters_missing_key_and_invalid_items(tmp_path: Path) -> None:
    pipeline, _ = make_pipeline(tmp_path)
    no_key = item(1, url="")
    invalid = {
        "_errors": ["price: not a number", "title: required"],
        "_raw": {"price": "abc"},
        "_url": "https://shop.test/x",
    }
    # The rule spider marks a required field it could not extract with `_errors` alone.
    required_missing = item(3, title="", _errors=["title: required field is empty"])
    cleaned_fine = item(4, _raw={"price": " 4 "}, _errors=[])  # raw values kept, no error
    assert pipeline.process_item(no_key) is no_key
    assert pipeline.process_item(invalid) is invalid
    for it in (required_missing, cleaned_fine, item(2)):
        assert pipeline.process_item(it) is it
    close(pipeline)
    dead = {d["_reason"]: d for d in stored(tmp_path, "books__dead")}
    assert set(dead) == {
        "missing key field 'url'",
        "price: not a number; title: required",
        "title: required field is empty",
    }
    assert dead["price: not a number; title: required"]["_raw"] == {"price": "abc"}
    assert sorted(d["url"] for d in stored(tmp_path)) == [
        "https://shop.test/book/2",
        "https://shop.test/book/4",
    ]
    assert stat(pipeline, "store/items/dead") == 3
    assert stat(pipeline, "store/items/dead/missing_key") == 1
    assert stat(pipeline, "store/items/dead/invalid") == 2


def test_hand_written_spider_uses_its_name_and_page_url(tmp_path: Path) -> None:
    pipeline, _ = make_pipeline(tmp_path, spidercls=HandSpider)
    pipeline.process_item({"_url": "https://x.test/a", "name": "a"})
    pipeline.process_item({"name": "no page url"})
    close(pipeline)
    assert [d["name"] for d in stored(tmp_path, "handmade")] == ["a"]
    assert [d["_reason"] for d in stored(tmp_path, "handmade__dead")] == [
        "missing key field '_url'"
    ]


def test_failing_store_target_dead_letters_the_item(tmp_path: Path) -> None:
    class Broken(RuleSpider):
        def store_target(self, item: dict) -> StoreTarget:
            raise KeyError("page type")

    class Confused(RuleSpider):
        def store_target(self, item: dict) -> StoreTarget:
            return ("books", "url")  # type: ignore[return-value]

    for spidercls in (Broken, Confused):
        pipeline, _ = make_pipeline(tmp_path, spidercls=spidercls)
        pipeline.process_item(item(1))
        close(pipeline)
        assert stat(pipeline, "store/items/dead/no_target") == 1
    reasons = sorted(d["_reason"] for d in stored(tmp_path, "shop__dead"))
    assert reasons[0].startswith("store_target failed: KeyError")
    assert reasons[1].startswith("store_target returned ('books', 'url')")


def test_retries_with_backoff_then_succeeds(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path / 'items.db'}", failures=2)
    pipeline, clock = make_pipeline(tmp_path, store)
    for i in range(5):
        pipeline.process_item(item(i))  # a full batch: first attempt fails
    assert store.attempts == 1 and stat(pipeline, "store/retries") == 1
    pipeline.process_item(item(5))  # buffered; no write attempt while waiting to retry
    assert store.attempts == 1
    clock.advance(0.99)
    assert store.attempts == 1  # backoff 1 s not over yet
    clock.advance(0.02)
    assert store.attempts == 2 and stat(pipeline, "store/retries") == 2
    clock.advance(1.9)
    assert store.attempts == 2  # second backoff is 2 s
    clock.advance(0.2)  # the retry succeeds; the waiting partial batch goes right after
    assert len(stored(tmp_path)) >= 5
    close(pipeline)
    assert len(stored(tmp_path)) == 6
    assert stat(pipeline, "store/errors/ConnectionError") == 2
    assert stat(pipeline, "store/spilled") == 0


def test_outage_spills_logs_once_and_replay_restores_every_item(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path / 'items.db'}", down=True)
    pipeline, clock = make_pipeline(tmp_path, store, STORE_RETRY_TIMES=2)
    sent = [item(i) for i in range(23)] + [item(99, url=None)]
    with caplog.at_level(logging.INFO, logger="crawler.store"):
        for i, it in enumerate(sent):
            pipeline.process_item(it)
            if i % 5 == 4:
                clock.advance(10)  # let retries run out for the queued batches
        close(pipeline)
    assert stored(tmp_path) == []
    assert stat(pipeline, "store/spilled") == 24
    assert stat(pipeline, "store/retries") > 0
    warnings = [r for r in caplog.records if "Could not" in r.message]
    gave_up = [r for r in caplog.records if "Gave up" in r.message]
    assert len(warnings) == 1 and "ConnectionError: store is down" in warnings[0].message
    assert len(gave_up) == 1 and "store is down" in gave_up[0].message

    files = spill_files(tmp_path / "spill")
    assert files == [pipeline.spill_path]
    with open_store(f"sqlite:///{tmp_path / 'items.db'}") as good:
        for _ in range(2):  # replaying twice is harmless
            result = replay_file(good, files[0])
            assert result.ok and result.items == 24
        urls = {d["url"] for d in good.find("books")}
        assert urls == {it["url"] for it in sent[:23]}
        for it in sent[:23]:
            (doc,) = good.find("books", {"url": it["url"]})
            assert {k: doc[k] for k in it} == it
        (dead,) = good.find("books__dead")
        assert dead["_reason"] == "missing key field 'url'"


def test_buffer_bound_spills_oldest_batches(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite:///{tmp_path / 'items.db'}", down=True)
    pipeline, _ = make_pipeline(tmp_path, store, STORE_BUFFER_MAX=12, STORE_RETRY_BACKOFF=60)
    for i in range(30):
        pipeline.process_item(item(i))
        assert pipeline.writer.buffered <= 12
    assert stat(pipeline, "store/spilled") >= 15
    store.down = False  # the store comes back before shutdown: the rest is written, not spilled
    close(pipeline)
    with open_store(f"sqlite:///{tmp_path / 'items.db'}") as good:
        in_store = good.count("books")
        replay_file(good, pipeline.spill_path)
        assert {d["url"] for d in good.find("books")} == {item(i)["url"] for i in range(30)}
    assert in_store + stat(pipeline, "store/spilled") == 30


def test_locked_database_is_retried_until_released(tmp_path: Path) -> None:
    path = tmp_path / "items.db"
    with open_store(f"sqlite:///{path}") as store:
        store.upsert_many("books", [item(0)], ("url",), history=True)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    pipeline, clock = make_pipeline(tmp_path, STORE_URI=f"sqlite:///{path}?timeout=0.01")
    for i in range(1, 6):
        pipeline.process_item(item(i))
    assert stat(pipeline, "store/errors/OperationalError") >= 1
    holder.execute("ROLLBACK")
    holder.close()
    clock.advance(1.0)
    close(pipeline)
    assert len(stored(tmp_path)) == 6
    assert stat(pipeline, "store/spilled") == 0


def test_unopenable_store_refuses_to_start_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with caplog.at_level(logging.ERROR), pytest.raises(CloseSpider) as refused:
        make_pipeline(tmp_path, STORE_URI=f"sqlite:///{blocker / 'items.db'}")
    assert refused.value.reason == "store_unreachable"
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert line.startswith(f"cannot open the store sqlite:///{blocker / 'items.db'} (")
    assert line.endswith("start it, or point STORE_URI at one that works")
    assert not (tmp_path / "journal").exists() or not list((tmp_path / "journal").iterdir())


def test_store_fails_mid_crawl_some_retried_some_spilled_then_scrapy_store_replay(
    tmp_path: Path,
) -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    uri = f"sqlite:///{tmp_path / 'items.db'}"
    store = FlakyStore(uri)
    pipeline, clock = make_pipeline(tmp_path, store, STORE_RETRY_TIMES=2)
    sent = [item(i, price=i) for i in range(60)]
    for it in sent[:20]:  # healthy: written as they come
        pipeline.process_item(it)
    assert len(stored(tmp_path)) == 20
    store.down = True  # the store goes away mid-crawl
    for n, it in enumerate(sent[20:45]):
        pipeline.process_item(it)
        if n % 5 == 4:
            clock.advance(10)  # long enough for the queued batch to give up
    store.down = False  # ... and comes back: what is still buffered gets written
    for it in sent[45:]:
        pipeline.process_item(it)
    clock.advance(10)
    close(pipeline)
    spilled = stat(pipeline, "store/spilled")
    assert 0 < spilled < 40
    assert len(stored(tmp_path)) == 60 - spilled

    proc = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", "store", "replay", str(pipeline.spill_path)]
        + ["--store", uri],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{spilled} new" in proc.stdout
    with open_store(uri) as good:
        for it in sent:
            (doc,) = good.find("books", {"url": it["url"]})
            assert {k: doc[k] for k in it} == it
        assert good.count("books") == 60
