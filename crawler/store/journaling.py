"""The store pipeline's side of the write-ahead journal (the files: crawler/store/journal.py).

:meth:`Journal.append` numbers an item and returns a :class:`~crawler.core.clock.Waiter`
that fires once the item is on disk: lines are written and fsynced on the file lane, one batch at
a time (a group commit: whatever arrived while the previous batch was being written goes in the
next). :meth:`Journal.ack` records that the store (or a spill file) took items; a sealed segment
whose items are all acknowledged is deleted. If the journal cannot be written, the crawl goes on
without it (logged once): its items are then as safe as the store makes them, no more.
"""

from __future__ import annotations

import bisect
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from crawler.core.clock import Lane, Waiter, run_in
from crawler.store.documents import dumps
from crawler.store.journal import JournalFiles

logger = logging.getLogger(__name__)

DONE = Waiter()
DONE.set()


class Journal:
    def __init__(self, files: JournalFiles, lane: Lane, segment_bytes: int) -> None:
        self.files = files
        self.lane = lane
        self.segment_bytes = segment_bytes
        self._seq = 0
        self._pending: list[tuple[int, str]] = []
        self._group = Waiter()  # fires when the lines appended since the last flush are on disk
        self._flushing = False
        self._idle: Waiter | None = None
        self._doomed: list[int] = []
        self.durable_seq = 0
        self._segment = 1
        self._segment_size = 0
        self._first_seq = [0, 1]  # index: segment number -> its first seq
        self._unacked: Counter[int] = Counter()  # segment -> items not acknowledged
        self.unacked = 0
        self.failed: BaseException | None = None

    async def open(self) -> None:
        await run_in(self.lane, self.files.open)

    def append(self, record: dict[str, Any]) -> tuple[int, Waiter]:
        """Number ``record`` (a spill record) and queue it; ``(seq, waiter for disk)``."""
        if self.failed is not None:
            return 0, DONE
        self._seq += 1
        line = dumps({"seq": self._seq, **record}) + "\n"
        if self._segment_size >= self.segment_bytes:
            self._segment += 1
            self._segment_size = 0
            self._first_seq.append(self._seq)
        self._pending.append((self._segment, line))
        self._segment_size += len(line)
        self._unacked[self._segment] += 1
        self.unacked += 1
        seq, group = self._seq, self._group  # the flush that takes this line fires this group
        self._kick()
        return seq, group

    def ack(self, seqs: Iterable[int]) -> None:
        acked = [s for s in seqs if s]
        if not acked or self.failed is not None:
            return
        self._pending.append((self._segment, dumps({"ack": acked}) + "\n"))
        for seq in acked:
            segment = bisect.bisect_right(self._first_seq, seq) - 1
            self._unacked[segment] -= 1
            self.unacked -= 1
            if segment < self._segment and self._unacked[segment] == 0:
                del self._unacked[segment]
                self._doomed.append(segment)
        self._kick()

    def is_durable(self, seq: int) -> bool:
        return 0 < seq <= self.durable_seq

    def _kick(self) -> None:
        if self._flushing or not (self._pending or self._doomed):
            if not self._flushing and self._idle is not None:
                idle, self._idle = self._idle, None
                idle.set()
            return
        lines, self._pending = self._pending, []
        doomed, self._doomed = self._doomed, []
        group, self._group = self._group, Waiter()
        upto = self._seq
        self._flushing = True

        def job() -> None:
            self.files.write(lines)
            for segment in doomed:
                self.files.delete_segment(segment)

        def done(_: Any, error: BaseException | None) -> None:
            self._flushing = False
            if error is None:
                self.durable_seq = upto
            elif self.failed is None:
                self.failed = error
                self._pending.clear()
                logger.error(
                    "Cannot write the journal in %s (%s: %s): from now on, items are not "
                    "protected against a crash of this process; the crawl goes on",
                    self.files.directory,
                    type(error).__name__,
                    error,
                )
            group.set()  # items wait for the disk, not for ever
            self._kick()

        self.lane.submit(job, done)

    async def drain(self) -> None:
        """Wait until everything appended and acknowledged so far is on disk."""
        if self._flushing or self._pending or self._doomed:
            self._idle = self._idle or Waiter()
            await self._idle

    async def close(self, keep: bool) -> None:
        """Flush, then keep the journal for the next run (items neither stored nor spilled, or a
        journal that failed part way), or delete it."""
        await self.drain()
        keep = keep or self.failed is not None or self.unacked > 0
        await run_in(self.lane, lambda: self.files.close(delete=not keep))
