"""RunRecorder: one record per crawl in the store (``_runs``), from start to end.

The record is written when the spider opens (``status: running``), updated every
``RUN_UPDATE_INTERVAL`` seconds with live counters (so ``scrapy store runs`` shows a running
crawl), and written a last time when the spider closes, with the crawl's status and exit code
(crawler/core/runstatus.py, the table in crawler/core/exitcodes.py). All store calls run on a
thread of their own, never on the crawl's event loop, on a store built as every component of a
crawl builds one (``crawler.store.crawl_store``). If the store cannot take the final record, it
goes to the spill directory like items do, and ``scrapy store replay`` writes it later.

Fields of a record (the data service reads them; docs/storage.md lists them too):

- ``run_id``, ``rule``, ``pid``, ``host``; ``node`` (the Scrapyd node, else None) and ``part_of``
  (the distributed run this crawl is one worker of, else None: crawler/nodes/fleet_runs.py);
- ``started_at``, ``updated_at``, ``finished_at`` (ISO 8601 UTC; ``finished_at`` is None while
  running);
- ``status``: ``running``, then one of crawler/core/exitcodes.py's statuses; ``exit_code`` (None
  while running) and ``status_reason`` (one line; empty when finished);
- ``finish_reason`` (Scrapy's; None while running);
- counters: ``pages``, ``items``, ``new``, ``updated``, ``unchanged``, ``dead``, ``spilled``,
  ``lost``, ``journal_kept`` (items left in the journal), ``replayed`` (items this run replayed
  from journals of dead runs), ``errors`` (the run's errors, with their parts
  ``request_errors``, ``spider_exceptions`` and ``log_errors``: what counts is said in
  crawler/runs/figures.py), ``bans``, ``queued`` (requests waiting, while running);
- ``expected``: what the progress is measured against (``{"total", "unit", "source"}``: a
  ``CLOSESPIDER_*`` limit or the last finished run's pages), None when nothing is known;
- ``coverage``: per page type, ``{"items": N, "item_type": name or None, "fields": {field:
  share of the page type's items where it is filled, 0..1}}``, and ``coverage_item_types``:
  the same per item type (crawler/runs/coverage.py);
- ``monitors``: ``{"failed": N, "results": [...]}`` from the stats ``monitors/failed`` and
  ``monitors/results`` that the rule's monitors set (``failed`` above 0: ``monitor_failed``);
- ``log_file``: the crawl's own log (crawler/runs/runlog.py; ``scrapy store log RUN``);
- ``store_uri`` (credentials masked) and ``stats`` (the full Scrapy stats, datetimes as ISO).

The run id is in the stats as ``run/id`` from the start (:func:`run_id_of`: the one whoever
started the crawl passed as ``RUN_ID``, so the data service, the scheduler, the log file's name
and this record all use one id); the status and exit code as ``run/status`` and
``run/exit_code`` at the end (``scrapy crawl`` exits with it).

Settings: ``STORE_URI`` (empty: disabled), ``STORE_RUNS_ENABLED`` (True), ``STORE_SPILL_DIR``,
``RUN_UPDATE_INTERVAL`` (10 s; 0: start and end only), ``RUN_ID``.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.core.clock import Cancellable, Clock, ScrapyClock, run_in
from crawler.core.runstatus import run_status
from crawler.core.switches import describe, off
from crawler.runs.coverage import item_type_coverage, page_coverage
from crawler.runs.figures import Expected, expected_total, live_counters
from crawler.store import Store, crawl_store, run_line, utc_now_iso
from vocab import mask_url

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def json_safe(value: Any) -> Any:
    """Stats as JSON: datetimes as ISO 8601, anything else unknown as text.

    >>> json_safe({"start_time": datetime(2026, 1, 2, tzinfo=UTC), "n": 1, "t": (1, 2)})
    {'start_time': '2026-01-02T00:00:00+00:00', 'n': 1, 't': [1, 2]}
    """
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return None


def build_run_record(
    rule: str,
    stats: dict[str, Any],
    reason: str | None,
    store_uri: str,
    started_at: str | None = None,
    finished_at: str | None = None,
    *,
    run_id: str | None = None,
    expected: Expected | None = None,
) -> dict[str, Any]:
    """A run record from a crawl's stats (see the module docstring for the fields); ``reason``
    None: the crawl is still running."""
    if reason is None:
        status, exit_code, why = "running", None, ""
    else:
        status, exit_code, why = run_status(stats, reason)
    coverage = page_coverage(stats)
    return {
        "run_id": run_id or stats.get("run/id") or uuid.uuid4().hex,
        "rule": rule,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "node": stats.get("fleet/node"),  # NODE_NAME: the Scrapyd node it ran on (crawler/nodes)
        "part_of": stats.get("fleet/run_id"),  # FLEET_RUN_ID: the distributed run it is a worker of
        "started_at": _iso(stats.get("start_time")) or started_at,
        "updated_at": utc_now_iso(),
        "finished_at": (finished_at or _iso(stats.get("finish_time")) or utc_now_iso())
        if reason is not None
        else None,
        "status": status,
        "exit_code": exit_code,
        "status_reason": why,
        "finish_reason": reason,
        **live_counters(stats),
        "expected": expected.as_dict() if expected is not None else None,
        "coverage": coverage,
        "coverage_item_types": item_type_coverage(coverage),
        "monitors": {
            "failed": stats.get("monitors/failed") or 0,
            "results": json_safe(stats.get("monitors/results") or []),
        },
        "log_file": stats.get("run/log_file"),
        "store_uri": mask_url(store_uri),
        "stats": json_safe(stats),
    }


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def run_id_of(crawler: Any) -> str:
    """The crawl's run id (stat ``run/id``), settled by whichever component asks first: the one
    whoever started the crawl gave (``RUN_ID``, else ``SCHEDULE_RUN_ID``), or a new one.

    A given id that is not one (1 to 64 letters, digits, ``_``, ``.``, ``-``) is refused with
    ValueError: ``scrapy crawl`` says so in one line and exits 2.
    """
    run_id = crawler.stats.get_value("run/id")
    if not run_id:
        settings = crawler.settings
        given = settings.get("RUN_ID") or settings.get("SCHEDULE_RUN_ID")
        if given is not None and not RUN_ID.fullmatch(str(given)):
            name = "RUN_ID" if settings.get("RUN_ID") else "SCHEDULE_RUN_ID"
            raise ValueError(
                f"{name} {str(given)[:80]!r} is not a run id: 1 to 64 letters, digits, '_', "
                "'.' or '-', starting with a letter or digit"
            )
        run_id = str(given) if given else uuid.uuid4().hex
        crawler.stats.set_value("run/id", run_id)
    return run_id


def queued_requests(crawler: Any) -> int | None:
    """Requests waiting in the crawl's scheduler (None when it cannot say)."""
    try:
        return len(crawler.engine.scheduler)
    except Exception:  # no engine yet, a scheduler without a length, or its Redis away
        return None


class RunRecorder:
    """Write a crawl's run record via :meth:`Store.record_run`: at start, while it runs, at end."""

    def __init__(
        self,
        crawler: Crawler,
        store_uri: str,
        spill_dir: Path,
        store_factory: Callable[[str], Store] | None = None,
        *,
        update_interval: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        self.crawler = crawler
        self.store_uri = store_uri
        self.spill_dir = spill_dir
        self.store_factory = store_factory or partial(crawl_store, crawler)
        self.update_interval = update_interval
        self.clock: Clock = clock or ScrapyClock()
        settings = crawler.settings
        self.limits = (
            settings.getint("CLOSESPIDER_PAGECOUNT"),
            settings.getint("CLOSESPIDER_ITEMCOUNT"),
        )
        self.run_id = run_id_of(crawler) if crawler.stats is not None else uuid.uuid4().hex
        self.started_at: str | None = None
        self.last_record: dict[str, Any] | None = None
        self._store: Store | None = None  # opened on the lane
        self._lane: Any = None
        self._updating = False
        self._store_failed: str | None = None
        self._ticker: Cancellable | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        settings = crawler.settings
        uri = settings.get("STORE_URI") or ""
        if not uri or not settings.getbool("STORE_RUNS_ENABLED"):
            raise off("RunRecorder", "STORE_URI is empty or STORE_RUNS_ENABLED is off")
        spill_dir = Path(settings.get("STORE_SPILL_DIR"))
        ext = cls(crawler, uri, spill_dir, update_interval=settings.getfloat("RUN_UPDATE_INTERVAL"))
        for stat, setting in (("fleet/node", "NODE_NAME"), ("fleet/run_id", "FLEET_RUN_ID")):
            if settings.get(setting):
                crawler.stats.set_value(stat, settings.get(setting))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider: Spider) -> Any:
        self.started_at = utc_now_iso()
        self.crawler.stats.set_value("run/id", self.run_id)
        # Connected now, after every component's own handlers (monitors set their stats in
        # theirs), so that the final record sees the final stats.
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        self._lane = self.clock.lane("run-record")
        if self.crawler.stats.get_value("crawl/start_error"):
            return  # the crawl closes at once; the store may be what is away
        self._submit(self._record(spider, None))
        self._lane.submit(lambda: self._expected_pages(spider.name), self._expect)
        if self.update_interval > 0:
            self._ticker = self.clock.looping_call(self.update_interval, self._update)

    def _update(self) -> None:
        spider = self.crawler.spider
        if spider is not None and not self._updating and self._store_failed is None:
            self._submit(self._record(spider, None))

    def _submit(self, record: dict[str, Any]) -> None:
        self._updating = True

        def done(_: Any, error: BaseException | None) -> None:
            self._updating = False
            if error is not None and self._store_failed is None:
                self._store_failed = describe(error)
                logger.warning(
                    "Could not record the running crawl in %s (%s); the final record is "
                    "spilled if the store is still away then",
                    mask_url(self.store_uri),
                    self._store_failed,
                )

        self._lane.submit(lambda: self._write(record), done)

    def _write(self, record: dict[str, Any]) -> None:  # on the lane
        if self._store is None:
            store = self.store_factory(self.store_uri)
            store.open()
            self._store = store
        self._store.record_run(record)

    def _expected_pages(self, rule: str) -> int | None:  # on the lane
        if self._store is None:
            return None
        for run in self._store.runs(rule=rule, limit=10):
            if run.get("kind") == "backfill":  # archived pages read again, not a crawl's
                continue
            if run.get("status") == "finished" and run.get("run_id") != self.run_id:
                return run.get("pages") or None
        return None

    def _expect(self, pages: Any, error: BaseException | None) -> None:
        if error is None and pages:
            self.crawler.stats.set_value("run/expected_pages", pages)

    def _close_store(self) -> None:  # on the lane
        if self._store is not None:
            store, self._store = self._store, None
            store.close()

    def _record(self, spider: Spider, reason: str | None) -> dict[str, Any]:
        assert self.crawler.stats is not None
        stats = dict(self.crawler.stats.get_stats())
        stats["queued"] = self._queued()
        record = build_run_record(
            spider.name,
            stats,
            reason,
            self.store_uri,
            started_at=self.started_at,
            finished_at=utc_now_iso() if reason is not None else None,
            run_id=self.run_id,
            expected=expected_total(stats, *self.limits),
        )
        record["queued"] = stats.pop("queued")
        record["stats"].pop("queued", None)
        redactor = getattr(spider, "redactor", None)  # a rule spider's: its secret values
        return redactor.value(record) if redactor else record

    def _queued(self) -> int | None:
        return queued_requests(self.crawler)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        stats = self.crawler.stats
        status = run_status(stats.get_stats(), reason)
        stats.set_value("run/status", status.status)
        stats.set_value("run/exit_code", status.exit_code)
        if status.why:
            stats.set_value("run/status_reason", status.why)
        record = self._record(spider, reason)
        self.last_record = record
        lane = self._lane or self.clock.lane("run-record")
        try:
            if reason == "store_unreachable":  # said at start: no second wait for it
                raise ConnectionError("the store could not be opened at start")
            if self._store_failed is not None:
                raise ConnectionError(self._store_failed)
            await run_in(lane, lambda: self._write(record))
        except Exception as exc:
            self._spill(spider, record, exc)
        else:
            logger.info(
                "Run recorded: %s %s (exit status %d%s), %d page(s), %d item(s) (%d new, "
                "%d updated, %d unchanged, %d dead)",
                record["rule"],
                record["status"],
                record["exit_code"],
                f": {record['status_reason']}" if record["status_reason"] else "",
                record["pages"],
                record["items"],
                record["new"],
                record["updated"],
                record["unchanged"],
                record["dead"],
            )
        finally:
            try:
                await run_in(lane, self._close_store)
            except Exception:
                logger.debug("closing the run record's store failed", exc_info=True)
            lane.close()

    def _spill(self, spider: Spider, record: dict[str, Any], exc: Exception) -> None:
        spill_record(self.spill_dir, spider.name, record, exc, self.store_uri)


def spill_record(
    spill_dir: Path, name: str, record: dict[str, Any], exc: Exception, store_uri: str
) -> None:
    """Keep a run record the store did not take in ``spill_dir``, for ``scrapy store replay``."""
    safe = re.sub(r"[^\w.-]", "_", name)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = spill_dir / f"{safe}-run-{stamp}-{os.getpid()}.jsonl"
    try:
        spill_dir.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(run_line(record))
            out.flush()
            os.fsync(out.fileno())
    except OSError as spill_exc:
        logger.error(
            "Could not record the run (status %s) in %s (%s) nor spill it to %s (%s)",
            record["status"],
            mask_url(store_uri),
            describe(exc),
            path,
            describe(spill_exc),
        )
        return
    logger.error(
        "Could not record the run (status %s) in %s (%s); spilled it to %s for "
        "`scrapy store replay`",
        record["status"],
        mask_url(store_uri),
        describe(exc),
        path,
    )
