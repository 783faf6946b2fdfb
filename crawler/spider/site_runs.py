"""SiteRuns: in a crawl of many sites (:mod:`.site_group`), each site's figures, status and run
record.

Each site of the crawl has stats of its own (``spider.site_stats``). Its rule spider counts
there what it counts in a crawl of its own (pages by page type, items, failed requests by
reason, start errors); coverage counts its items' fields (crawler/runs/coverage.py) and the
monitors judge it alone (crawler/monitors/extension.py). This extension counts the rest from
Scrapy's signals, by the site named by the request, response or item: requests sent, responses
and their statuses, items scraped and dropped, spider exceptions, bans.

At the close, before coverage and the monitors, each site's stats get the crawl's times and
finish reason, and the crawl-wide troubles every site shares (items lost or kept in the
journal, items spilled from batches of several sites; an OAuth or anti-ban stop; a store that
could not open). The store counts its outcomes (new, updated, unchanged, dead, spilled) per site
when a site's items have a collection of their own (crawler/store/writer.py). After every other
component, each site gets its status (:func:`crawler.core.runstatus.run_status`), in its stats
(``run/status``, ``run/exit_code``) and in ``spider.site_status``, and its run record, as a
crawl of the rule alone would have: rule = the site's name, run id = the crawl's run id and the
site's place (``RUNID.7``), and ``group``: ``{"name", "run_id"}`` of the crawl (whose own record,
from the run recorder, is under the crawl's name). Records go to the store in one pass off the
crawl's loop, or to the spill directory when the store does not take them.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from scrapy import signals

from crawler.antiban import request_banned
from crawler.core.clock import Clock, ScrapyClock, run_in
from crawler.core.runstatus import run_status
from crawler.core.sites import SiteStats, site_name
from crawler.core.switches import off
from crawler.runs import build_run_record, expected_total, run_id_of, spill_record
from crawler.store import crawl_store, utc_now_iso

logger = logging.getLogger(__name__)

FROM_CRAWL = ("start_time", "finish_time", "finish_reason", "elapsed_time_seconds")
# Troubles of the whole crawl, which no single site caused and every site's data shares.
CRAWL_WIDE = (
    "store/lost",
    "store/journal/kept",
    "oauth/stopped",
    "antiban/stopped",
    "crawl/start_error",
)


class SiteRuns:
    def __init__(self, crawler: Any, clock: Clock | None = None) -> None:
        self.crawler = crawler
        self.clock: Clock = clock or ScrapyClock()
        self.own: dict[str, SiteStats] = {}  # each site's stats, not added to the crawl's

    @classmethod
    def from_crawler(cls, crawler: Any) -> SiteRuns:
        if not hasattr(crawler.spidercls, "site_classes"):
            raise off("SiteRuns", "not a crawl of many sites")
        ext = cls(crawler)
        connect = crawler.signals.connect
        connect(ext.spider_opened, signal=signals.spider_opened)
        connect(ext.request_reached_downloader, signal=signals.request_reached_downloader)
        connect(ext.response_received, signal=signals.response_received)
        connect(ext.item_scraped, signal=signals.item_scraped)
        connect(ext.item_dropped, signal=signals.item_dropped)
        connect(ext.spider_error, signal=signals.spider_error)
        connect(ext.request_banned, signal=request_banned)
        connect(ext.close_sites, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        self.own = {name: stats.own() for name, stats in spider.site_stats.items()}
        # after every component's own handlers: the records see the sites' final stats
        self.crawler.signals.connect(self.record_sites, signal=signals.spider_closed)

    # --- counting ------------------------------------------------------------------------------

    def _count(self, thing: Any, *keys: str) -> None:
        stats = self.own.get(site_name(thing) or "")
        if stats is not None:
            for key in keys:
                stats.inc_value(key)

    def request_reached_downloader(self, request: Any, spider: Any) -> None:
        self._count(request, "downloader/request_count")

    def response_received(self, response: Any, request: Any, spider: Any) -> None:
        status = f"downloader/response_status_count/{response.status}"
        self._count(request, "response_received_count", status)

    def item_scraped(self, item: Any, **kwargs: Any) -> None:
        self._count(item, "item_scraped_count")

    def item_dropped(self, item: Any, **kwargs: Any) -> None:
        self._count(item, "item_dropped_count")

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        kind = f"spider_exceptions/{type(failure.value).__name__}"
        self._count(response, "spider_exceptions/count", kind)

    def request_banned(self, request: Any, reason: str, outcome: Any, **kwargs: Any) -> None:
        kind = "bans" if getattr(outcome, "name", "") == "BAN" else "failures"
        self._count(request, f"antiban/{kind}", f"antiban/{kind}/{reason}")

    # --- the close -----------------------------------------------------------------------------

    def close_sites(self, spider: Any, reason: str) -> None:
        """Before coverage and the monitors: what each site's stats take from the crawl's."""
        crawl = self.crawler.stats.get_stats()
        shared = {k: crawl[k] for k in FROM_CRAWL + CRAWL_WIDE if crawl.get(k) is not None}
        shared.setdefault("finish_reason", reason)
        # items spilled in batches of several sites (one collection for many) are every one's
        spilled = crawl.get("store/spilled") or 0
        spilled -= sum(s.get_value("store/spilled", 0) for s in self.own.values())
        for stats in self.own.values():
            for key, value in shared.items():
                stats.set_value(key, value)
            if spilled > 0:
                stats.inc_value("store/spilled", spilled)

    async def record_sites(self, spider: Any, reason: str) -> None:
        """Each site's status, and its run record in the store."""
        group_run = run_id_of(self.crawler)
        settings = self.crawler.settings
        uri = settings.get("STORE_URI") or ""
        limits = settings.getint("CLOSESPIDER_PAGECOUNT"), settings.getint("CLOSESPIDER_ITEMCOUNT")
        records, statuses = [], {}
        for number, (name, stats) in enumerate(self.own.items(), 1):
            status = run_status(stats.get_stats(), reason)
            statuses[name] = status
            stats.set_value("run/status", status.status)
            stats.set_value("run/exit_code", status.exit_code)
            if status.why:
                stats.set_value("run/status_reason", status.why)
            values = stats.get_stats()
            record = build_run_record(
                name, values, reason, uri, finished_at=utc_now_iso(),
                run_id=f"{group_run[:58]}.{number}", expected=expected_total(values, *limits),
            )  # fmt: skip
            record["group"] = {"name": spider.name, "run_id": group_run}
            site = spider.sites[name]
            records.append(site.redactor.value(record) if site.redactor else record)
        spider.site_status = statuses
        self._summary(spider, statuses)
        if uri and settings.getbool("STORE_RUNS_ENABLED"):
            await self._store(records, uri, Path(settings.get("STORE_SPILL_DIR")))

    def _summary(self, spider: Any, statuses: dict[str, Any]) -> None:
        counts = Counter(status.status for status in statuses.values())
        others = [f"{name} ({s.status}: {s.why})" for name, s in statuses.items() if s.exit_code]
        logger.info(
            "%d site(s) of %s: %s%s",
            len(statuses),
            spider.name,
            ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
            f"; not finished: {'; '.join(others[:20])}" if others else "",
        )

    async def _store(self, records: list[dict[str, Any]], uri: str, spill_dir: Path) -> None:
        def write() -> None:
            with crawl_store(self.crawler, uri) as store:
                for record in records:
                    store.record_run(record)

        lane = self.clock.lane("site-runs")
        try:
            await run_in(lane, write)
        except Exception as exc:
            for record in records:
                spill_record(spill_dir, record["rule"], record, exc, uri)
        finally:
            lane.close()
