"""The pusher: a thread reading the store's change feed (:meth:`Store.changes`) for the
crawl's collections and handing each sink its batches.

Per sink and collection a cursor is kept in ``PUSH_DIR/<sink>/<collection>.cursor`` and moved
only after a batch is delivered, so nothing is skipped; a failed delivery is retried with
backoff (``PUSH_RETRY_TIMES``, ``PUSH_RETRY_BACKOFF``), then kept aside in
``PUSH_DIR/<sink>/failed-*.jsonl`` (``scrapy push replay`` delivers it later) and the cursor
moves on. Writes younger than ``PUSH_SETTLE`` wait for the next look, so that one committed a
moment late is not passed over. At the end of the crawl, :meth:`Pusher.finish` drains what is
left within ``PUSH_CLOSE_TIMEOUT``; past it, what could not be delivered is kept aside.
A sink's first run starts at the crawl's start: items stored before it are not pushed.
A sink named in ``PUSH_SKIP_DUPLICATES`` delivers a story once: an item stored as a
near-duplicate of an earlier one (``_duplicate_of``) is counted, not delivered.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.push.sinks import Entry, entry_of
from crawler.store import DUPLICATE_OF_FIELD, UPDATED_AT_FIELD, Store, dumps

logger = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CursorFile:
    """Where a sink stands in a collection's change feed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8")).get("cursor")
        except FileNotFoundError:
            return None

    def write(self, cursor: str | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cursor": cursor}), encoding="utf-8")
        tmp.replace(self.path)


def keep_aside(
    directory: Path, sink: str, collection: str, entries: Sequence[Entry], why: str
) -> Path:
    """Append a batch that could not be delivered to ``directory/failed-*.jsonl``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"failed-{collection}-{datetime.now(UTC).strftime('%Y%m%d')}.jsonl"
    with path.open("a", encoding="utf-8") as out:
        for entry in entries:
            out.write(
                dumps({"sink": sink, "collection": collection, "reason": why, "entry": entry})
                + "\n"
            )
    return path


class Pusher:
    def __init__(
        self,
        make_store: Callable[[], Store],
        sinks: Sequence[Any],
        collections: Sequence[str],
        settings: Any,
        stats: Any,
        started_at: datetime,
    ) -> None:
        self.make_store = make_store
        self.sinks = list(sinks)
        self.collections = list(collections)
        self.stats = stats
        self.started_at = iso(started_at)
        self.directory = Path(settings.get("PUSH_DIR"))
        self.batch_size = settings.getint("PUSH_BATCH_SIZE")
        self.interval = settings.getfloat("PUSH_INTERVAL")
        self.settle = settings.getfloat("PUSH_SETTLE")
        self.retry_times = settings.getint("PUSH_RETRY_TIMES")
        self.backoff = settings.getfloat("PUSH_RETRY_BACKOFF")
        self.close_timeout = settings.getfloat("PUSH_CLOSE_TIMEOUT")
        self.skip_duplicates = set(settings.getlist("PUSH_SKIP_DUPLICATES"))
        self.stop = threading.Event()  # the crawl is over: drain, then end
        self.give_up = threading.Event()  # past the close timeout: keep the rest aside
        self.thread = threading.Thread(target=self.run, name="push", daemon=True)
        self.error: BaseException | None = None

    # -- the thread -------------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        store = self.make_store()
        try:
            store.open()
            while not self.stop.is_set():
                if not self.look(store, final=False):
                    self.stop.wait(self.interval)
            while self.look(store, final=True):  # the crawl's last writes are in: no settle
                pass
        except BaseException as exc:  # reported by finish(); the crawl is not stopped for it
            self.error = exc
            logger.exception("push stopped")
        finally:
            store.close()
            for sink in self.sinks:
                sink.close()

    def finish(self) -> None:
        """Called when the crawl ends (from a thread): drain, bounded by the close timeout."""
        self.stop.set()
        self.thread.join(self.close_timeout)
        if self.thread.is_alive():
            logger.warning(
                "push: still delivering after %.0f s; keeping the rest aside", self.close_timeout
            )
            self.give_up.set()
            self.thread.join()

    def look(self, store: Store, final: bool) -> bool:
        """One pass over every sink and collection; True if anything was read."""
        moved = False
        before = None if final else iso(datetime.now(UTC) - timedelta(seconds=self.settle))
        for sink in self.sinks:
            for collection in self.collections:
                moved |= self.advance(store, sink, collection, before)
        return moved

    def advance(self, store: Store, sink: Any, collection: str, before: str | None) -> bool:
        cursor_file = CursorFile(self.directory / sink.name / f"{collection}.cursor")
        cursor = cursor_file.read()
        page = store.changes(collection, self.batch_size, cursor, before=before)
        docs = page.items
        if cursor is None:  # a sink's first run: from this crawl's start
            docs = [d for d in docs if str(d.get(UPDATED_AT_FIELD, "")) >= self.started_at]
        if sink.name in self.skip_duplicates:  # a story once: its earliest item was delivered
            kept = [d for d in docs if not d.get(DUPLICATE_OF_FIELD)]
            if len(kept) < len(docs):
                self.stats.inc_value(f"push/{sink.name}/skipped_duplicates", len(docs) - len(kept))
            docs = kept
        if docs:
            self.deliver(sink, collection, [entry_of(collection, d) for d in docs])
        if page.next != cursor:
            cursor_file.write(page.next)
        return bool(page.items)

    def deliver(self, sink: Any, collection: str, entries: list[Entry]) -> None:
        prefix = f"push/{sink.name}"
        attempts = 0
        while True:
            try:
                if self.give_up.is_set():
                    raise TimeoutError("the crawl ended and PUSH_CLOSE_TIMEOUT passed")
                counts = sink.deliver(collection, entries)
            except Exception as exc:
                attempts += 1
                why = f"{type(exc).__name__}: {exc}"
                self.stats.inc_value(f"{prefix}/failures")
                if attempts > self.retry_times or self.give_up.is_set():
                    path = keep_aside(
                        self.directory / sink.name, sink.name, collection, entries, why
                    )
                    self.stats.inc_value(f"{prefix}/kept_aside", len(entries))
                    logger.error(
                        "push to %s failed %d time(s) (%s): %d item(s) kept aside in %s; "
                        "deliver them with `scrapy push replay`",
                        sink.name, attempts, why, len(entries), path,
                    )  # fmt: skip
                    return
                if attempts == 1:
                    logger.warning("push to %s failed (%s); retrying with backoff", sink.name, why)
                delay = min(MAX_BACKOFF, self.backoff * 2 ** (attempts - 1))
                deadline = time.monotonic() + delay
                while time.monotonic() < deadline and not self.give_up.is_set():
                    time.sleep(min(0.05, delay))
                continue
            self.stats.inc_value(f"{prefix}/items", len(entries))
            self.stats.inc_value(f"{prefix}/batches")
            for name, count in (counts or {}).items():  # what a sink counts of its own
                self.stats.inc_value(f"{prefix}/{name}", count)
            return
