"""The store pipeline's write path: batches of items on their way to the store.

Batches are cut by size (``STORE_BATCH_SIZE`` items or ``STORE_BATCH_BYTES`` of their text) and
age (``STORE_BATCH_SECONDS``) and written one at a time on the store's own thread (a lane,
crawler/core/clock.py), so a slow or hung store never blocks the crawl's event loop. A failed
write is retried with backoff (``STORE_RETRY_TIMES``, ``STORE_RETRY_BACKOFF``), then the batch
is spilled to a JSONL file (``STORE_SPILL_DIR``, on the file lane) for ``scrapy store replay``.
Memory stays bounded (``STORE_BUFFER_MAX`` items, ``STORE_BUFFER_BYTES`` of their text): while
the store fails, the oldest batches are spilled; while it is merely slow, new items wait for
room. Every batch stored or spilled is acknowledged to the
write-ahead journal (crawler/store/journaling.py).

Counts are exact: ``store/spilled`` is what the spill file holds; items that neither the store
nor the spill file took are ``store/journal/kept`` (still in the journal, replayed by the next
run) or, without a journal to keep them, ``store/lost``.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.core.clock import Cancellable, Clock, Lane, Waiter, run_in
from crawler.core.sites import site_name
from crawler.store.batches import Batch, Destination, StorePipelineSettings
from crawler.store.documents import text_size
from crawler.store.neardup_store import NearDupMarker
from crawler.store.spill import PartialWrite, append_lines, dead_line, item_line

if TYPE_CHECKING:
    from scrapy.statscollectors import StatsCollector

    from crawler.store.base import Store
    from crawler.store.journaling import Journal

logger = logging.getLogger(__name__)


class BatchWriter:
    def __init__(
        self,
        config: StorePipelineSettings,
        stats: StatsCollector,
        store: Store,
        clock: Clock,
        *,
        store_lane: Lane,
        file_lane: Lane,
        journal: Journal | None,
        spill_path: Callable[[], Path],
    ) -> None:
        self.config = config
        self.stats = stats
        self.store = store
        self.clock = clock
        self.store_lane = store_lane
        self.file_lane = file_lane
        self.journal = journal
        self._spill_path = spill_path
        self._buffers: dict[Destination, Batch] = {}
        self._started: dict[Destination, float] = {}
        self._pending: deque[Batch] = deque()
        self.buffered = 0  # items in memory: buffers, queued batches, the write in flight
        self.buffered_bytes = 0  # their text (documents.text_size)
        self._inflight: Waiter | None = None  # the write on the store lane
        # a crawl of many sites: each site's own stats (crawler.core.sites), by name
        self.sites: dict[str, Any] = {}
        self._retry_call: Cancellable | None = None
        self._room: Waiter | None = None  # items waiting for room while the store is slow
        self._closing = False
        self._store_opened = False  # set on the store lane
        self._last_error: str | None = None
        self._warned: set[str] = set()
        self._spill_logged: set[str] = set()
        self._spill_fd: int | None = None
        self.spill_path: Path | None = None
        self._unspilled: list[int] = []  # journal seqs of items no spill took (0: none)
        self.near_dups = NearDupMarker(config.near_dup_max_index)  # used on the store lane

    # -- taking items ---------------------------------------------------------------------

    def add(self, destination: Destination, doc: dict[str, Any], reason: str | None, seq: int):
        batch = self._buffers.get(destination)
        if batch is None:
            batch = self._buffers[destination] = Batch(destination)
            self._started[destination] = self.clock.now()
        size = text_size(doc)
        batch.items.append(doc)
        batch.seqs.append(seq)
        batch.size += size
        if destination.dead:
            batch.reasons.append(reason or "dead letter")
        self.buffered += 1
        self.buffered_bytes += size
        if len(batch.items) >= self.config.batch_size or batch.size >= self.config.batch_bytes:
            self._cut(destination)
        if self.full:
            self._relieve()
        self._drain()

    @property
    def full(self) -> bool:
        """More items, or more bytes of them, in memory than the buffer may hold."""
        config = self.config
        return self.buffered > config.buffer_max or self.buffered_bytes > config.buffer_bytes

    @property
    def failing(self) -> bool:
        """The last write failed (and none succeeded since)."""
        return self._last_error is not None

    def room(self) -> Waiter | None:
        """While the store is slow (not failing) and memory is full: a waiter for room."""
        if not self.full or self._last_error is not None:
            return None
        if self._room is None:
            self._room = Waiter()
        return self._room

    def tick(self) -> None:
        """Cut the batches older than ``STORE_BATCH_SECONDS``; write what is queued."""
        now = self.clock.now()
        for destination, started in list(self._started.items()):
            if now - started >= self.config.batch_seconds:
                self._cut(destination)
        self._drain()

    def _cut(self, destination: Destination) -> None:
        batch = self._buffers.pop(destination, None)
        self._started.pop(destination, None)
        if batch is not None and batch.items:
            self._pending.append(batch)

    def _relieve(self) -> None:
        """Keep memory bounded while the store fails: spill the oldest batches."""
        if self._retry_call is None and not self._closing:
            for destination in list(self._buffers):
                self._cut(destination)
            self._drain()
        if self._last_error is None:
            return  # slow, not failing: new items wait for room (see room())
        while self.full:
            queued = list(self._pending)[1 if self._inflight is not None else 0 :]
            if not queued:
                if not self._buffers:
                    return
                largest = max(self._buffers.values(), key=lambda b: len(b.items))
                self._cut(largest.destination)
                continue
            self._pending.remove(queued[0])
            reason = (
                f"buffer full ({self.config.buffer_max} items or {self.config.buffer_bytes} "
                "bytes) while the store fails"
            )
            self._spill(queued[0], f"{reason}: {self._last_error}")

    # -- writing --------------------------------------------------------------------------

    async def open_store(self) -> None:
        await run_in(self.store_lane, self._open_store)

    def _open_store(self) -> None:  # on the store lane
        if not self._store_opened:
            self.store.open()
            self._store_opened = True

    def _write(self, batch: Batch) -> Any:  # on the store lane
        self._open_store()
        destination = batch.destination
        if destination.dead:
            return self.store.dead_letter(destination.collection, batch.items, batch.reasons)
        declare = getattr(self.store, "declare_columns", None)  # (a Store's; not a duck's)
        if destination.columns and declare is not None:  # for a backend with typed columns
            declare(destination.collection, dict(destination.columns))
        if destination.near_duplicates is not None:  # its item type compares near-duplicates
            return self.near_dups.upsert(self.store, batch)
        return self.store.upsert_many(
            destination.collection, batch.items, destination.key, history=destination.history
        )

    def _drain(self) -> None:
        """Write the oldest queued batch, if no write is in flight nor waiting to retry."""
        if self._inflight is not None or self._retry_call is not None or self._closing:
            return
        if not self._pending:
            return
        batch = self._pending[0]
        self._inflight = Waiter()
        self.store_lane.submit(partial(self._write, batch), partial(self._written, batch))

    def _written(self, batch: Batch, result: Any, error: BaseException | None) -> None:
        inflight, self._inflight = self._inflight, None
        try:
            if error is None:
                self._stored(batch, result)
            else:
                self._failed(batch, error)
                if batch.attempts <= self.config.retry_times and not self._closing:
                    self._retry_call = self.clock.call_later(
                        self._backoff(batch.attempts), self._retry
                    )
        finally:
            if inflight is not None:
                inflight.set()
        self._drain()

    def _counters(self, batch: Batch) -> list[Any]:
        """Where a batch's outcome is counted: the crawl's stats, and its site's when every
        item of the batch is of one site of a crawl of many (they are when each site has a
        collection of its own; otherwise only the crawl's stats say)."""
        if not self.sites or not batch.items:
            return [self.stats]
        name = site_name(batch.items[0])
        site = self.sites.get(name or "")
        if site is None or any(site_name(doc) != name for doc in batch.items):
            return [self.stats]
        return [self.stats, site]

    def _stored(self, batch: Batch, result: Any) -> None:
        if self._pending and self._pending[0] is batch:
            self._pending.popleft()
        self.buffered -= len(batch.items)
        self.buffered_bytes -= batch.size
        if not batch.destination.dead:
            for stats in self._counters(batch):
                stats.inc_value("store/items/new", result.new)
                stats.inc_value("store/items/updated", result.updated)
                stats.inc_value("store/items/unchanged", result.unchanged)
            if batch.marks is not None:
                self.stats.inc_value("neardup/checked", batch.marks.checked)
                self.stats.inc_value("neardup/duplicates", batch.marks.duplicates)
        self.stats.inc_value("store/batches")
        if self.journal is not None:
            self.journal.ack(batch.seqs)
        if self._last_error is not None:
            logger.info("Store %s is writable again", self.store.display_uri)
            self._last_error = None
        if self._room is not None and not self.full:
            room, self._room = self._room, None
            room.set()

    def _failed(self, batch: Batch, error: BaseException) -> None:
        self._record_failure(error, batch)
        if batch.attempts > self.config.retry_times:
            if self._pending and self._pending[0] is batch:
                self._pending.popleft()
            self._spill(batch, self._last_error or "store error")

    def _retry(self) -> None:
        self._retry_call = None
        self._drain()

    def _backoff(self, attempts: int) -> float:
        return self.config.retry_backoff * 2 ** max(0, attempts - 1)

    def _record_failure(self, exc: BaseException, batch: Batch) -> None:
        name = type(exc).__name__
        reason = f"{name}: {exc}"
        self._last_error = reason
        self.stats.inc_value(f"store/errors/{name}")
        batch.attempts += 1
        if batch.attempts <= self.config.retry_times:
            self.stats.inc_value("store/retries")
        if reason not in self._warned:
            self._warned.add(reason)
            logger.warning(
                "Could not write %d item(s) to %r in store %s (%s); retrying up to %d times "
                "with backoff, then spilling to %s (logged once per reason)",
                len(batch.items),
                batch.destination.collection,
                self.store.display_uri,
                reason,
                self.config.retry_times,
                self.config.spill_dir,
            )
        if self._room is not None:  # failing now, not slow: spill rather than make items wait
            room, self._room = self._room, None
            room.set()

    # -- closing --------------------------------------------------------------------------

    async def close(self) -> None:
        """Write everything buffered; once one batch gave up, the others get one try each (a
        dead store must not hold the process for retries x batches); spill the rest."""
        self._closing = True
        if self._retry_call is not None:
            self._retry_call.cancel()
            self._retry_call = None
        if self._inflight is not None:
            await self._inflight
        for destination in list(self._buffers):
            self._cut(destination)
        given_up = False
        while self._pending:
            batch = self._pending[0]
            try:
                result = await run_in(self.store_lane, partial(self._write, batch))
            except Exception as exc:
                self._record_failure(exc, batch)
                if given_up or batch.attempts > self.config.retry_times:
                    given_up = True
                    self._pending.popleft()
                    self._spill(batch, self._last_error or "store error")
                else:
                    await self.clock.sleep(self._backoff(batch.attempts))
                continue
            self._stored(batch, result)
        await run_in(self.file_lane, self._close_spill_file)  # after every spill queued
        if self._room is not None:
            self._room.set()
        if self.spill_path is not None and self.stats.get_value("store/spilled"):
            logger.warning(
                "%d item(s) were spilled to %s; replay them with: scrapy store replay %s",
                self.stats.get_value("store/spilled", 0),
                self.spill_path,
                self.spill_path,
            )

    async def close_store(self) -> None:
        if self._store_opened:
            try:
                await run_in(self.store_lane, self.store.close)
            except Exception:
                logger.exception("Error closing %r", self.store)
            self._store_opened = False

    def unspilled(self) -> list[int]:
        """Journal seqs of the items no spill took (0 for items the journal never held)."""
        return list(self._unspilled)

    # -- spilling -------------------------------------------------------------------------

    def _spill(self, batch: Batch, reason: str) -> None:
        self.buffered -= len(batch.items)
        self.buffered_bytes -= batch.size
        destination = batch.destination
        reasons = batch.reasons if destination.dead else [None] * len(batch.items)
        lines = [
            dead_line(destination.collection, why or "dead letter", item)
            if destination.dead
            else item_line(destination.collection, destination.key, destination.history, item)
            for item, why in zip(batch.items, reasons, strict=True)
        ]
        if self.spill_path is None:
            self.spill_path = self._spill_path()
        self.file_lane.submit(
            partial(self._spill_lines, lines), partial(self._spilled, batch, reason)
        )

    def _spill_lines(self, lines: list[str]) -> int:  # on the file lane
        if self._spill_fd is None:
            assert self.spill_path is not None
            try:
                self.spill_path.parent.mkdir(parents=True, exist_ok=True)
                self._spill_fd = os.open(self.spill_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            except OSError as exc:
                raise PartialWrite(0, exc) from None
        return append_lines(self._spill_fd, lines)

    def _close_spill_file(self) -> None:  # on the file lane
        if self._spill_fd is not None:
            os.close(self._spill_fd)
            self._spill_fd = None

    def _spilled(self, batch: Batch, reason: str, written: Any, error: BaseException | None):
        if error is not None:
            written = error.written if isinstance(error, PartialWrite) else 0
        if written:
            for stats in self._counters(batch):
                stats.inc_value("store/spilled", written)
            if self.journal is not None:
                self.journal.ack(batch.seqs[:written])
            if reason not in self._spill_logged:
                self._spill_logged.add(reason)
                logger.error(
                    "Gave up writing to store %s (%s): spilling items to %s; replay them with "
                    "`scrapy store replay` (logged once per reason)",
                    self.store.display_uri,
                    reason,
                    self.spill_path,
                )
        if error is None:
            return
        rest = batch.seqs[written:]
        self._unspilled += rest
        self.stats.inc_value(f"store/errors/spill/{type(error).__name__}")
        logger.error(
            "Could not spill %d item(s) for %r to %s (%s) after the store failed (%s): they "
            "stay in the journal if it holds them, else they are lost (counted at close)",
            len(rest),
            batch.destination.collection,
            self.spill_path,
            error,
            reason,
        )
