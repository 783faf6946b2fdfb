"""The crawl's side of the page archive: a spider middleware keeping every page a page type of
the rule parses (crawler/archive/sqlite_archive.py holds the file).

On with ``ARCHIVE_ENABLED`` (a rule's ``archive:`` sets it). Each response that reaches the
rule spider (after the downloader middlewares and Scrapy's HTTP error filter, so what was
parsed, decoded as it was) is captured with what its request carried; sitemaps, feeds and pages
of no page type are not, nor page types ``ARCHIVE_PAGES`` leaves out. Captured pages wait in
memory and are written in batches (``ARCHIVE_BATCH_PAGES``, ``ARCHIVE_BATCH_BYTES``, or once
``ARCHIVE_BATCH_SECONDS`` old) on a thread of their own (a lane: crawler/core/clock.py), where
they are compressed and the bounds applied; the crawl's loop never waits for the disk. While the
thread is behind by ``ARCHIVE_BUFFER_BYTES``, pages are not archived (``archive/skipped/busy``,
logged once) rather than holding the crawl's memory.

Stats: ``archive/pages`` (written), ``archive/bytes`` (compressed, as held), ``archive/dropped``
(pages the bounds removed), ``archive/skipped/busy``, ``archive/failed`` (pages a failed write
lost; an ERROR line). An archive that cannot be opened refuses the crawl (``start_error``) in
one line: the rule asked for it, and a backfill later would find nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from scrapy import signals
from scrapy.http import Response

from crawler.archive.sqlite_archive import (
    ArchiveError,
    Bounds,
    PageRecord,
    WriteResult,
    archive_path,
    open_archive,
    request_key,
    write_pages,
)
from crawler.core.clock import Cancellable, Clock, ScrapyClock, run_in
from crawler.core.sites import site_of
from crawler.core.switches import describe, off, refuse_start

logger = logging.getLogger(__name__)

HEADERS_KEPT = ("Content-Type", "Content-Language")  # what decodes the body again
OPEN_MAX = 16  # archives open at once in a crawl of many sites


@runtime_checkable
class ReplaysPages(Protocol):
    """A spider whose pages can be parsed again from what they were (rule spiders:
    :meth:`crawler.spider.RuleSpider.replay_state`)."""

    def replay_state(self, response: Response) -> tuple[str, dict[str, Any]] | None: ...


@dataclass(frozen=True)
class ArchiveSettings:
    directory: Path
    bounds: Bounds
    pages: frozenset[str]  # empty: every page type
    batch_pages: int
    batch_bytes: int
    batch_seconds: float
    buffer_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> ArchiveSettings:
        asked = settings.getint("ARCHIVE_MAX_BYTES")
        limit = settings.getint("ARCHIVE_LIMIT_BYTES")
        if asked > limit:
            logger.info("the page archive is held to ARCHIVE_LIMIT_BYTES (%d bytes)", limit)
        return cls(
            directory=Path(settings.get("ARCHIVE_DIR")),
            bounds=Bounds(max(1, min(asked, limit)), settings.getfloat("ARCHIVE_MAX_AGE")),
            pages=frozenset(settings.getlist("ARCHIVE_PAGES")),
            batch_pages=max(1, settings.getint("ARCHIVE_BATCH_PAGES")),
            batch_bytes=max(1, settings.getint("ARCHIVE_BATCH_BYTES")),
            batch_seconds=max(0.01, settings.getfloat("ARCHIVE_BATCH_SECONDS")),
            buffer_bytes=max(1, settings.getint("ARCHIVE_BUFFER_BYTES")),
        )


class PageArchiveMiddleware:
    """Only ``process_spider_input``: what the spider yields passes untouched."""

    def __init__(self, crawler: Any, config: ArchiveSettings, clock: Clock | None = None):
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        self.clock: Clock = clock or ScrapyClock()
        self.lane = self.clock.lane("archive")
        self.pending: dict[str, list[PageRecord]] = {}
        self.pending_pages = self.pending_bytes = self.inflight_bytes = 0
        self.refused = False
        self._connections: OrderedDict[str, sqlite3.Connection] = OrderedDict()  # lane only
        self._logged: set[str] = set()
        self._ticker: Cancellable | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PageArchiveMiddleware:
        if not crawler.settings.getbool("ARCHIVE_ENABLED"):
            raise off("PageArchiveMiddleware", "no rule asks for a page archive")
        middleware = cls(crawler, ArchiveSettings.from_settings(crawler.settings))
        spidercls = crawler.spidercls
        sites = getattr(spidercls, "site_classes", None) or {}
        rules = [c.rule.name for c in sites.values()] or [spidercls.name]
        for rule in rules:  # found unusable now, not at the first page
            try:
                open_archive(archive_path(middleware.config.directory, rule), rule, create=True)
            except (ArchiveError, OSError, sqlite3.Error) as exc:
                middleware.refused = True
                refuse_start(crawler, f"cannot open the page archive of {rule}: {describe(exc)}")
                break
        return middleware

    # -- capture, on the loop -----------------------------------------------------------------

    def process_spider_input(self, response: Response, spider: Any = None) -> None:
        if self.refused:
            return
        rule_spider = site_of(self.crawler.spider, response)
        if not isinstance(rule_spider, ReplaysPages):
            return
        state = rule_spider.replay_state(response)
        if state is None:
            return
        page, meta = state
        if self.config.pages and page not in self.config.pages:
            return
        record = capture(response, page, meta)
        if self.pending_bytes + self.inflight_bytes + record.text_size > self.config.buffer_bytes:
            self.stats.inc_value("archive/skipped/busy")
            self._log_once(
                "busy",
                logging.WARNING,
                "the page archive is behind by ARCHIVE_BUFFER_BYTES: pages are not archived "
                "until it catches up (archive/skipped/busy)",
            )
            return
        self.pending.setdefault(rule_spider.name, []).append(record)
        self.pending_pages += 1
        self.pending_bytes += record.text_size
        if (
            self.pending_pages >= self.config.batch_pages
            or self.pending_bytes >= self.config.batch_bytes
        ):
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, size = self.pending, self.pending_bytes
        self.pending, self.pending_pages, self.pending_bytes = {}, 0, 0
        self.inflight_bytes += size
        self.lane.submit(
            lambda: self._write(batch), lambda result, error: self._done(batch, size, result, error)
        )

    def _done(
        self,
        batch: dict[str, list[PageRecord]],
        size: int,
        result: Any,
        error: BaseException | None,
    ) -> None:
        self.inflight_bytes -= size
        if error is not None:
            lost = sum(len(pages) for pages in batch.values())
            self.stats.inc_value("archive/failed", lost)
            self._log_once(
                f"failed:{type(error).__name__}",
                logging.ERROR,
                f"{lost} page(s) could not be archived: {describe(error)} (archive/failed)",
            )
            return
        written: WriteResult = result
        self.stats.inc_value("archive/pages", written.pages)
        self.stats.inc_value("archive/bytes", written.bytes)
        self.stats.inc_value("archive/dropped", written.dropped)

    # -- writing, on the archive's lane ------------------------------------------------------

    def _write(self, batch: dict[str, list[PageRecord]]) -> WriteResult:
        total = WriteResult()
        now = time.time()
        for rule, pages in batch.items():
            written = write_pages(self._connection(rule), pages, self.config.bounds, now)
            total.pages += written.pages
            total.bytes += written.bytes
            total.dropped += written.dropped
        return total

    def _connection(self, rule: str) -> sqlite3.Connection:
        conn = self._connections.get(rule)
        if conn is None:
            path = archive_path(self.config.directory, rule)
            conn = self._connections[rule] = open_archive(path, rule, create=True)
            while len(self._connections) > OPEN_MAX:
                self._connections.popitem(last=False)[1].close()
        self._connections.move_to_end(rule)
        return conn

    def _close_all(self) -> None:
        while self._connections:
            self._connections.popitem()[1].close()

    # -- the crawl's start and end -----------------------------------------------------------

    def spider_opened(self, spider: Any) -> None:
        if not self.refused:
            self._ticker = self.clock.looping_call(self.config.batch_seconds, self.flush)

    async def spider_closed(self, spider: Any) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.flush()
        try:
            await run_in(self.lane, self._close_all)  # after every batch before it
        finally:
            self.lane.close()

    def _log_once(self, reason: str, level: int, message: str) -> None:
        if reason not in self._logged:
            self._logged.add(reason)
            logger.log(level, "%s", message)


def capture(response: Response, page: str, meta: dict[str, Any]) -> PageRecord:
    """What the archive keeps of ``response`` (the body as it came, not yet compressed)."""
    request = response.request
    method = request.method if request is not None else "GET"
    body = request.body if request is not None else b""
    redirects = request.meta.get("redirect_urls") if request is not None else None
    url = redirects[0] if redirects else request.url if request is not None else response.url
    headers = {}
    for name in HEADERS_KEPT:
        value = response.headers.get(name)
        if value:
            headers[name] = value.decode("latin-1")
    return PageRecord(
        key=request_key(method, url, body),
        url=url,
        final_url=response.url,
        status=response.status,
        headers=headers,
        page=page,
        meta=meta,
        fetched_at=time.time(),
        body=response.body,
    )
