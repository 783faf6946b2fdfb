"""Run records of scheduled crawls: the crawl's own record, completed by the daemon.

A crawl records its run itself (``crawler.runs.recorder.RunRecorder``), under the run id the
daemon made and passed as ``RUN_ID`` (so the daemon's log file, the record, the API and
``scrapy store runs`` show one id). The daemon also passes it as ``SCHEDULE_RUN_ID``, which
:class:`ScheduledRunMarker` puts in the crawl's stats (``schedule/run_id``: the crawl was
scheduled; records of older crawls are found by it). Afterwards the daemon finds that record and
adds what only it knows: exit status, log file, attempt and trigger. A crawl that died before
recording anything gets a record from the daemon alone, under the same id.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.core.exitcodes import EXIT_CODES, STATUSES

logger = logging.getLogger(__name__)

RUN_ID_STAT = "schedule/run_id"

#: Statuses (crawler/core/exitcodes.py) worth another attempt: what failed may work later.
RETRIED = frozenset(
    {"failed", "start_error", "blocked", "data_not_stored", "interrupted", "stalled"}
)
NOT_RETRIED_WHY = (
    "a usage or rule error fails the same way again; a failed monitor is for a human, the "
    "data is stored"
)


def status_of(code: int) -> str:
    """The status an exit code stands for; killed by a signal (negative) is ``interrupted``.

    >>> status_of(6), status_of(-9), status_of(99)
    ('data_not_stored', 'interrupted', 'failed')
    """
    if code < 0:
        return "interrupted"
    return STATUSES.get(code, "failed")


def settle_status(record: dict[str, Any], exit_status: int) -> None:
    """A record whose crawl ended without saying how (no status, or still ``running``: killed,
    or dead before its last record) gets the status its process's exit status stands for."""
    if record.get("status") in (None, "running"):
        status = status_of(exit_status)
        record.update(
            status=status,
            exit_code=EXIT_CODES[status],
            status_reason=f"the crawl process ended with exit status {exit_status}",
        )


class ScheduledRunMarker:
    """Extension: copies ``SCHEDULE_RUN_ID`` into the stats (absent: disabled, silently)."""

    def __init__(self, crawler, run_id: str) -> None:
        self.crawler = crawler
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler) -> ScheduledRunMarker:
        run_id = crawler.settings.get("SCHEDULE_RUN_ID")
        if not run_id:
            raise NotConfigured
        ext = cls(crawler, run_id)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.crawler.stats.set_value(RUN_ID_STAT, self.run_id)


def complete_run_record(store_uri: str, run: dict[str, Any]) -> dict[str, Any]:
    """Merge the daemon's facts (``run``) into the crawl's record in the store, or record them
    alone; returns the record written. Raises what the store raises."""
    from crawler.store import open_store

    with open_store(store_uri) as store:
        record = store.get_run(run["schedule_run_id"])  # by its run id (or schedule/run_id)
        if record is not None and record.get("rule") != run["rule"]:
            record = None
        if record is None:
            record = {
                "run_id": run["schedule_run_id"],
                "rule": run["rule"],
                "started_at": run["process_started_at"],
                "finished_at": run["process_finished_at"],
                "finish_reason": "exited" if run["exit_status"] == 0 else "process_failed",
                "pages": 0,
                "items": 0,
            }
        settle_status(record, run["exit_status"])
        record.update(run)
        store.record_run(record)
    return record
