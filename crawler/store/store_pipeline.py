"""Item pipelines owned by the store layer: :class:`StorePipeline` writes every item to the store.

Nothing is dropped: an item is upserted into its collection, or dead-lettered (missing key,
marked invalid upstream), or, if the store keeps failing, spilled to a JSONL file that
``scrapy store replay`` brings back later (crawler/store/writer.py).

Before an item counts as processed (and so before its request counts as done: a distributed
crawl's lease ends only then), it is in the write-ahead journal on disk
(crawler/store/journaling.py). Journals that dead processes left behind are replayed into
the store when a crawl opens and closes, and by ``scrapy store replay``. A store that cannot be
opened at start stops the crawl at once (status ``start_error``), with one line saying why.

Enable with ``ITEM_PIPELINES = {"crawler.store.store_pipeline.StorePipeline": 900}``; its
``STORE_*`` settings and their defaults are in crawler/defaults/store.py.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import CloseSpider

from crawler.core.clock import Cancellable, Clock, ScrapyClock, Waiter, run_in
from crawler.core.sites import site_name
from crawler.core.switches import describe
from crawler.store.backends import crawl_store, open_store
from crawler.store.base import Store, StoreTarget, TargetsItems
from crawler.store.batches import Destination, StorePipelineSettings, default_target
from crawler.store.documents import missing_key_field, plain_document, utc_now_iso
from crawler.store.journal import JournalFiles, journal_name, replay_orphans, store_id
from crawler.store.journaling import Journal
from crawler.store.signals import item_dead_lettered
from crawler.store.spill import dead_record, item_record
from crawler.store.writer import BatchWriter

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class Held:
    """What ``process_item`` returns while its item waits: for the journal's disk write, or
    for room while a slow store catches up. Awaiting it gives the item."""

    def __init__(self, item: Any, waiters: list[Waiter]) -> None:
        self.item = item
        self.waiters = waiters

    def __await__(self) -> Generator[Any, None, Any]:
        for waiter in self.waiters:
            yield from waiter.__await__()
        return self.item


class StorePipeline:
    """Batch items into the store; journal them first; retry, then spill; never drop one."""

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
            self.store = crawl_store(crawler, config.uri)
        else:
            self.store = open_store(config.uri)
        self.spider: Spider | None = None
        self.store_lane = self.clock.lane("store")
        self.file_lane = self.clock.lane("store-files")
        self.journal: Journal | None = None
        self.writer = BatchWriter(
            config,
            stats,
            self.store,
            self.clock,
            store_lane=self.store_lane,
            file_lane=self.file_lane,
            journal=None,
            spill_path=self._spill_path,
        )
        self._ticker: Cancellable | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        assert crawler.stats is not None
        return cls(
            StorePipelineSettings.from_settings(crawler.settings), crawler.stats, crawler=crawler
        )

    @property
    def spill_path(self) -> Path | None:
        return self.writer.spill_path

    # -- Scrapy hooks -------------------------------------------------------------------------

    async def open_spider(self) -> None:
        if self.spider is None and self.crawler is not None:
            self.spider = self.crawler.spider
        sites = getattr(self.spider, "site_stats", None)  # a crawl of many sites
        if isinstance(sites, dict):
            self.writer.sites = {name: stats.own() for name, stats in sites.items()}
        try:
            await self.writer.open_store()
        except Exception as exc:
            self._refuse_start(exc)
        if self.config.journal_dir is not None:
            await self._open_journal(self.config.journal_dir)
            await self._replay_orphans()
        interval = max(0.01, self.config.batch_seconds / 2)
        self._ticker = self.clock.looping_call(interval, self._tick)

    def process_item(self, item: Any) -> Any:
        doc = plain_document(item)
        destination, reason, kind = self._route(doc)
        if destination.dead:
            self.stats.inc_value("store/items/dead")
            self.stats.inc_value(f"store/items/dead/{kind}")
            site = self.writer.sites.get(site_name(doc) or "") if self.writer.sites else None
            if site is not None:
                site.inc_value("store/items/dead")
            if self.crawler is not None:
                self.crawler.signals.send_catch_log(
                    item_dead_lettered,
                    item=doc,
                    page=str(doc.get("_page") or ""),
                    kind=kind,
                    reason=reason or "dead letter",
                )
        waiters: list[Waiter] = []
        seq = 0
        if self.journal is not None:
            record = (
                dead_record(destination.collection, reason or "dead letter", doc)
                if destination.dead
                else item_record(destination.collection, destination.key, destination.history, doc)
            )
            seq, durable = self.journal.append(record)
            if not durable.done:
                waiters.append(durable)
        self.writer.add(destination, doc, reason, seq)
        room = self.writer.room()
        if room is not None:
            waiters.append(room)
        return Held(item, waiters) if waiters else item

    async def close_spider(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await self.writer.close()
        journal = self.journal
        kept = lost = 0
        for seq in self.writer.unspilled():
            if journal is not None and journal.is_durable(seq):
                kept += 1
            else:
                lost += 1
        if lost:
            self.stats.inc_value("store/lost", lost)
            logger.critical(
                "%d item(s) could be neither stored, spilled nor kept in the journal: they are "
                "lost (see the errors above)",
                lost,
            )
        if journal is not None:
            if not self.writer.failing:  # a worker that died beside this one (ours is locked)
                await self._replay_orphans()
            await journal.close(keep=kept > 0)
            if kept:
                self.stats.inc_value("store/journal/kept", kept)
                logger.error(
                    "%d item(s) neither stored nor spilled stay in the journal in %s; the next "
                    "crawl, or `scrapy store replay`, writes them into the store",
                    kept,
                    self.config.journal_dir,
                )
        await self.writer.close_store()
        self.store_lane.close()
        self.file_lane.close()

    # -- starting -------------------------------------------------------------------------

    def _refuse_start(self, exc: BaseException) -> None:
        message = (
            f"cannot open the store {self.store.display_uri} ({describe(exc)}): "
            "start it, or point STORE_URI at one that works"
        )
        logger.error("%s", message)
        self.stats.set_value("crawl/start_error", message)
        raise CloseSpider("store_unreachable")

    async def _open_journal(self, directory: Path) -> None:
        spider = self.spider
        rule = spider.name if spider is not None else "crawl"
        run_id = (self.stats.get_value("run/id") if self.stats else None) or uuid.uuid4().hex
        files = JournalFiles(
            directory,
            journal_name(rule, run_id),
            {
                "run_id": run_id,
                "rule": rule,
                "store": store_id(self.config.uri),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "created_at": utc_now_iso(),
            },
        )
        journal = Journal(files, self.file_lane, self.config.journal_segment_bytes)
        try:
            await journal.open()
        except OSError as exc:
            self.stats.inc_value("store/journal/errors")
            logger.error(
                "Cannot open the journal in %s (%s); the crawl goes on without one: items are "
                "not protected against a crash of this process (STORE_JOURNAL_DIR)",
                directory,
                exc,
            )
            return
        self.journal = self.writer.journal = journal

    async def _replay_orphans(self) -> None:
        directory = self.config.journal_dir
        if directory is None or not self.config.journal_replay:
            return
        try:
            replays = await run_in(
                self.store_lane,
                lambda: replay_orphans(
                    self.store, directory, self.config.uri, self.config.batch_size
                ),
            )
        except Exception as exc:  # the journals stay: the next run tries again
            logger.error("Could not replay the journals in %s: %s", directory, exc)
            return
        for replay in replays:
            header = replay.orphan.header
            written = replay.result.written
            self.stats.inc_value("store/journal/replayed", replay.replayed)
            self.stats.inc_value("store/journal/replayed_journals")
            logger.info(
                "Replayed %d item(s) (%d new, %d updated, %d unchanged, %d dead letter(s)) from "
                "the journal of run %s of %s (pid %s), which ended before storing them%s",
                replay.replayed,
                written.new,
                written.updated,
                written.unchanged,
                replay.result.dead,
                header.get("run_id"),
                header.get("rule"),
                header.get("pid"),
                "" if replay.ok else f"; unreadable lines {replay.result.bad_lines[:10]} kept",
            )

    # -- routing --------------------------------------------------------------------------

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

    def _tick(self) -> None:
        # A looping call stops for good on an exception: never let one out.
        try:
            self.writer.tick()
        except Exception:
            logger.exception("Error flushing the store buffers")

    def _spill_path(self) -> Path:
        name = self.spider.name if self.spider is not None else "crawl"
        safe = re.sub(r"[^\w.-]", "_", name)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return self.config.spill_dir / f"{safe}-{stamp}-{os.getpid()}.jsonl"
