"""RunRecorder: one record per crawl in the store (``_runs``), written when the spider closes.

A record says what a crawl did: rule, start and end (ISO UTC), finish reason, pages, items,
new/updated/unchanged/dead counts, errors, bans, the store (credentials masked) and the full
Scrapy stats. ``scrapy store runs`` prints them. If the store cannot take the record, it goes to
the spill directory like items do, and ``scrapy store replay`` writes it later.

Settings: ``STORE_URI`` (empty: disabled), ``STORE_RUNS_ENABLED`` (True), ``STORE_SPILL_DIR``.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.store import Store, open_store
from crawler.store.documents import utc_now_iso
from crawler.store.spill import run_line
from crawler.switches import off
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
    reason: str,
    store_uri: str,
    started_at: str | None = None,
    finished_at: str | None = None,
) -> dict[str, Any]:
    """A run record from a crawl's final stats (see the module docstring for the fields)."""
    return {
        "run_id": uuid.uuid4().hex,
        "rule": rule,
        "started_at": _iso(stats.get("start_time")) or started_at,
        "finished_at": finished_at or _iso(stats.get("finish_time")) or utc_now_iso(),
        "finish_reason": reason,
        "pages": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "new": stats.get("store/items/new", 0),
        "updated": stats.get("store/items/updated", 0),
        "unchanged": stats.get("store/items/unchanged", 0),
        "dead": stats.get("store/items/dead", 0),
        "spilled": stats.get("store/spilled", 0),
        "errors": stats.get("log_count/ERROR", 0),
        "spider_exceptions": stats.get("spider_exceptions/count", 0),
        "bans": stats.get("antiban/bans", 0),
        "store_uri": mask_url(store_uri),
        "stats": json_safe(stats),
    }


class RunRecorder:
    """Write a run record via :meth:`Store.record_run` when the spider closes."""

    def __init__(
        self,
        crawler: Crawler,
        store_uri: str,
        spill_dir: Path,
        store_factory: Callable[[str], Store] = open_store,
    ) -> None:
        self.crawler = crawler
        self.store_uri = store_uri
        self.spill_dir = spill_dir
        self.store_factory = store_factory
        self.started_at: str | None = None
        self.last_record: dict[str, Any] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        settings = crawler.settings
        uri = settings.get("STORE_URI") or ""
        if not uri or not settings.getbool("STORE_RUNS_ENABLED"):
            raise off("RunRecorder", "STORE_URI is empty or STORE_RUNS_ENABLED is off")
        spill_dir = Path(settings.get("STORE_SPILL_DIR"))
        ext = cls(crawler, uri, spill_dir)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.started_at = utc_now_iso()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        assert self.crawler.stats is not None
        record = build_run_record(
            spider.name,
            dict(self.crawler.stats.get_stats()),
            reason,
            self.store_uri,
            started_at=self.started_at,
            finished_at=utc_now_iso(),
        )
        redactor = getattr(spider, "redactor", None)  # a rule spider's: its secret values
        if redactor:
            record = redactor.value(record)
        self.last_record = record
        try:
            store = self.store_factory(self.store_uri)
            with store:
                store.record_run(record)
        except Exception as exc:
            self._spill(spider, record, exc)
            return
        logger.info(
            "Run recorded: %s %s, %d page(s), %d item(s) (%d new, %d updated, %d unchanged, "
            "%d dead)",
            record["rule"],
            record["finish_reason"],
            record["pages"],
            record["items"],
            record["new"],
            record["updated"],
            record["unchanged"],
            record["dead"],
        )

    def _spill(self, spider: Spider, record: dict[str, Any], exc: Exception) -> None:
        safe = re.sub(r"[^\w.-]", "_", spider.name)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.spill_dir / f"{safe}-run-{stamp}-{os.getpid()}.jsonl"
        try:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(run_line(record))
        except OSError as spill_exc:
            logger.error(
                "Could not record the run in %s (%r) nor spill it to %s (%r)",
                mask_url(self.store_uri),
                exc,
                path,
                spill_exc,
            )
            return
        logger.error(
            "Could not record the run in %s (%r); spilled it to %s for `scrapy store replay`",
            mask_url(self.store_uri),
            exc,
            path,
        )
