"""Item pipelines owned by the store layer: :class:`StorePipeline` writes every item to the store.

Nothing is dropped: an item is upserted into its collection, or dead-lettered (missing key,
marked invalid upstream), or, if the store keeps failing, spilled to a JSONL file that
``scrapy store replay`` brings back later.

Enable with ``ITEM_PIPELINES = {"crawler.pipelines.StorePipeline": 900}``; its ``STORE_*``
settings and their defaults are in crawler/defaults/store.py.
"""

from __future__ import annotations

import logging
import os
import re
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from itemadapter import ItemAdapter

from crawler.pipelines.batches import Batch, Destination, StorePipelineSettings, default_target
from crawler.pipelines.clock import Cancellable, Clock, ScrapyClock
from crawler.store import build_store, open_store
from crawler.store.base import Store, StoreTarget, TargetsItems
from crawler.store.documents import missing_key_field
from crawler.store.spill import dead_line, item_line

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


# -- the pipeline -----------------------------------------------------------------------------


class StorePipeline:
    """Batch items into the store; retry, then spill, when the store fails; never drop one."""

    def __init__(
        self,
        config: StorePipelineSettings,
        stats: StatsCollector,
        *,
        crawler: Crawler | None = None,
        store_factory: Callable[[str], Store] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.stats = stats
        self.crawler = crawler
        self.clock: Clock = clock or ScrapyClock()
        # Built now, so a bad STORE_URI stops the crawl before it starts.
        if store_factory is not None:
            self.store: Store = store_factory(config.uri)
        elif crawler is not None:
            self.store = build_store(crawler, config.uri)
        else:
            self.store = open_store(config.uri)
        self.spider: Spider | None = None
        self._store_open = False
        self._buffers: dict[Destination, Batch] = {}
        self._started: dict[Destination, float] = {}
        self._pending: deque[Batch] = deque()
        self._buffered = 0
        self._retry_call: Cancellable | None = None
        self._ticker: Cancellable | None = None
        self._draining = False
        self._closing = False
        self._last_error: str | None = None
        self._warned: set[str] = set()
        self._spill_logged: set[str] = set()
        self._spill_file: IO[str] | None = None
        self.spill_path: Path | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        assert crawler.stats is not None
        return cls(
            StorePipelineSettings.from_settings(crawler.settings), crawler.stats, crawler=crawler
        )

    # -- Scrapy hooks -------------------------------------------------------------------------

    def open_spider(self) -> None:
        if self.spider is None and self.crawler is not None:
            self.spider = self.crawler.spider
        try:
            self._open_store()
        except Exception as exc:  # keep crawling: the write path retries, then spills
            self._record_failure(exc, None)
        interval = max(0.01, self.config.batch_seconds / 2)
        self._ticker = self.clock.looping_call(interval, self._tick)

    def process_item(self, item: Any) -> Any:
        doc = ItemAdapter(item).asdict()
        destination, reason, kind = self._route(doc)
        if destination.dead:
            self.stats.inc_value("store/items/dead")
            self.stats.inc_value(f"store/items/dead/{kind}")
        self._add(destination, doc, reason)
        return item

    async def close_spider(self) -> None:
        self._closing = True
        for call in (self._ticker, self._retry_call):
            if call is not None:
                call.cancel()
        self._ticker = self._retry_call = None
        for destination in list(self._buffers):
            self._cut(destination)
        given_up = False
        while self._pending:
            batch = self._pending[0]
            try:
                self._write(batch)
            except Exception as exc:
                self._record_failure(exc, batch)
                # Once one batch has given up at shutdown, the others get one try each:
                # a dead store must not hold the process for retries x batches.
                if given_up or batch.attempts > self.config.retry_times:
                    given_up = True
                    self._pending.popleft()
                    self._spill(batch, self._last_error or "store error")
                else:
                    await self.clock.sleep(self._backoff(batch.attempts))
                continue
            self._pending.popleft()
            self._buffered -= len(batch.items)
        if self._spill_file is not None:
            self._spill_file.close()
            self._spill_file = None
            logger.warning(
                "%d item(s) were spilled to %s; replay them with: scrapy store replay %s",
                self.stats.get_value("store/spilled", 0),
                self.spill_path,
                self.spill_path,
            )
        if self._store_open:
            try:
                self.store.close()
            except Exception:
                logger.exception("Error closing %r", self.store)
            self._store_open = False

    # -- routing and buffering ----------------------------------------------------------------

    def _route(self, doc: dict[str, Any]) -> tuple[Destination, str | None, str]:
        """Where an item goes: ``(destination, dead-letter reason, dead-letter kind)``."""
        spider = self.spider
        fallback = spider.name if spider is not None else "items"
        if isinstance(spider, TargetsItems):
            try:
                target = spider.store_target(doc)
            except Exception as exc:
                reason = f"store_target failed: {exc!r}"
                return Destination.dead_letters(fallback), reason, "no_target"
            if not isinstance(target, StoreTarget):
                reason = f"store_target returned {target!r}, not a StoreTarget"
                return Destination.dead_letters(fallback), reason, "no_target"
        elif spider is not None:
            target = default_target(spider)
        else:
            target = StoreTarget(fallback, ("_url",))
        # Marked invalid upstream: ``_errors`` (with ``_raw`` from validation; the rule spider
        # marks a missing required field with ``_errors`` alone).
        errors = doc.get("_errors")
        if errors:
            reason = "; ".join(map(str, errors)) if isinstance(errors, list) else str(errors)
            return Destination.dead_letters(target.collection), reason, "invalid"
        missing = missing_key_field(doc, target.key)
        if missing is not None:
            reason = f"missing key field '{missing}'"
            return Destination.dead_letters(target.collection), reason, "missing_key"
        return Destination.of(target), None, ""

    def _add(self, destination: Destination, doc: dict[str, Any], reason: str | None) -> None:
        batch = self._buffers.get(destination)
        if batch is None:
            batch = self._buffers[destination] = Batch(destination)
            self._started[destination] = self.clock.now()
        batch.items.append(doc)
        if destination.dead:
            batch.reasons.append(reason or "dead letter")
        self._buffered += 1
        if len(batch.items) >= self.config.batch_size:
            self._cut(destination)
        if self._buffered > self.config.buffer_max:
            self._relieve()
        self._drain()

    def _cut(self, destination: Destination) -> None:
        """Move a buffer to the queue of batches to write."""
        batch = self._buffers.pop(destination, None)
        self._started.pop(destination, None)
        if batch is not None and batch.items:
            self._pending.append(batch)

    def _tick(self) -> None:
        # A looping call stops for good on an exception: never let one out.
        try:
            now = self.clock.now()
            for destination, started in list(self._started.items()):
                if now - started >= self.config.batch_seconds:
                    self._cut(destination)
            self._drain()
        except Exception:
            logger.exception("Error flushing the store buffers")

    def _relieve(self) -> None:
        """Keep memory bounded: write what is buffered, or spill the oldest batches."""
        if self._retry_call is None and not self._closing:
            for destination in list(self._buffers):
                self._cut(destination)
            self._drain()
        while self._buffered > self.config.buffer_max:
            if not self._pending:
                largest = max(self._buffers.values(), key=lambda b: len(b.items))
                self._cut(largest.destination)
            batch = self._pending.popleft()
            reason = f"buffer full ({self.config.buffer_max} items) while the store fails"
            if self._last_error:
                reason += f": {self._last_error}"
            self._spill(batch, reason)

    # -- writing ------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Write queued batches until one fails; a failure schedules a retry (never sleeps)."""
        if self._draining or self._retry_call is not None or self._closing:
            return
        self._draining = True
        try:
            while self._pending:
                batch = self._pending[0]
                try:
                    self._write(batch)
                except Exception as exc:
                    self._record_failure(exc, batch)
                    if batch.attempts > self.config.retry_times:
                        self._pending.popleft()
                        self._spill(batch, self._last_error or "store error")
                        continue
                    self._retry_call = self.clock.call_later(
                        self._backoff(batch.attempts), self._retry
                    )
                    return
                self._pending.popleft()
                self._buffered -= len(batch.items)
        finally:
            self._draining = False

    def _retry(self) -> None:
        self._retry_call = None
        self._drain()

    def _backoff(self, attempts: int) -> float:
        return self.config.retry_backoff * 2 ** max(0, attempts - 1)

    def _open_store(self) -> None:
        if not self._store_open:
            self.store.open()
            self._store_open = True

    def _write(self, batch: Batch) -> None:
        self._open_store()
        destination = batch.destination
        if destination.dead:
            self.store.dead_letter(destination.collection, batch.items, batch.reasons)
        else:
            result = self.store.upsert_many(
                destination.collection,
                batch.items,
                destination.key,
                history=destination.history,
            )
            self.stats.inc_value("store/items/new", result.new)
            self.stats.inc_value("store/items/updated", result.updated)
            self.stats.inc_value("store/items/unchanged", result.unchanged)
        self.stats.inc_value("store/batches")
        if self._last_error is not None:
            logger.info("Store %s is writable again", self.store.display_uri)
            self._last_error = None

    def _record_failure(self, exc: Exception, batch: Batch | None) -> None:
        name = type(exc).__name__
        reason = f"{name}: {exc}"
        self._last_error = reason
        self.stats.inc_value(f"store/errors/{name}")
        if batch is None:
            what = "open"
        else:
            batch.attempts += 1
            if batch.attempts <= self.config.retry_times:
                self.stats.inc_value("store/retries")
            what = f"write {len(batch.items)} item(s) to {batch.destination.collection!r} in"
        if reason not in self._warned:
            self._warned.add(reason)
            logger.warning(
                "Could not %s store %s (%s); retrying up to %d times with backoff, then "
                "spilling to %s (logged once per reason)",
                what,
                self.store.display_uri,
                reason,
                self.config.retry_times,
                self.config.spill_dir,
            )

    # -- spilling -----------------------------------------------------------------------------

    def _spill(self, batch: Batch, reason: str) -> None:
        self._buffered -= len(batch.items)
        destination = batch.destination
        reasons = batch.reasons if destination.dead else [None] * len(batch.items)
        try:
            out = self._open_spill_file()
            out.writelines(
                dead_line(destination.collection, why or "dead letter", item)
                if destination.dead
                else item_line(destination.collection, destination.key, destination.history, item)
                for item, why in zip(batch.items, reasons, strict=True)
            )
            out.flush()
            os.fsync(out.fileno())
        except Exception as exc:
            self.stats.inc_value("store/lost", len(batch.items))
            self.stats.inc_value(f"store/errors/spill/{type(exc).__name__}")
            logger.critical(
                "Could not spill %d item(s) for %r to %s (%r) after the store failed (%s): "
                "these items are lost",
                len(batch.items),
                destination.collection,
                self.config.spill_dir,
                exc,
                reason,
            )
            return
        self.stats.inc_value("store/spilled", len(batch.items))
        if reason not in self._spill_logged:
            self._spill_logged.add(reason)
            logger.error(
                "Gave up writing to store %s (%s): spilling items to %s; replay them with "
                "`scrapy store replay` (logged once per reason)",
                self.store.display_uri,
                reason,
                self.spill_path,
            )

    def _open_spill_file(self) -> IO[str]:
        if self._spill_file is None:
            name = self.spider.name if self.spider is not None else "crawl"
            safe = re.sub(r"[^\w.-]", "_", name)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            self.config.spill_dir.mkdir(parents=True, exist_ok=True)
            self.spill_path = self.config.spill_dir / f"{safe}-{stamp}-{os.getpid()}.jsonl"
            self._spill_file = self.spill_path.open("a", encoding="utf-8")
        return self._spill_file
