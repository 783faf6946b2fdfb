"""Run records of scheduled crawls, in the store beside the crawl's own.

A crawl records its run itself (``crawler.runs.recorder.RunRecorder``). The daemon passes
``SCHEDULE_RUN_ID`` to the crawl; :class:`ScheduledRunMarker` puts it in the crawl's stats, so
the daemon finds that record afterwards and adds what only it knows: exit status, log file,
attempt and trigger. A crawl that died before recording anything gets a record from the daemon
alone.
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
RETRIED = frozenset({"failed", "start_error", "blocked", "data_not_stored", "interrupted"})
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
        record = None
        for candidate in store.runs(rule=run["rule"], limit=20):
            if (candidate.get("stats") or {}).get(RUN_ID_STAT) == run["schedule_run_id"]:
                record = candidate
                break
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
        if record.get("status") in (None, "running"):  # the crawl could not say it itself
            code = run["exit_status"]
            status = status_of(code)
            record.update(
                status=status,
                exit_code=EXIT_CODES[status],
                status_reason=f"the crawl process ended with exit status {code}",
            )
        record.update(run)
        store.record_run(record)
    return record
