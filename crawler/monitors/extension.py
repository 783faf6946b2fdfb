"""The ``Monitors`` extension: runs a rule's monitors with Spidermon and records the outcome.

At the close of the crawl (``spider_closed``, before the run recorder) the suite's monitors run
on the final stats, and the freshness checks on the store (:mod:`.freshness`);
``monitors/failed`` (how many failed), ``monitors/passed`` and ``monitors/results``
(``[{name, ok, message}]``) go to the stats, which the run record and the exit status read.
Every result then goes to the alert desk (:mod:`.desk`) from a thread, off the reactor: new
failures are alerted on the rule's channels, repeats within the window counted, recovered
checks resolved; the crawl waits for it (each channel bounded by ``ALERT_TIMEOUT``). With
``MONITORS_INTERVAL`` the rate and coverage checks also run during the crawl, their failures
counted under ``monitors/periodic_failed`` and reported the same way.

Settings: ``MONITORS_RULES`` (set by the rule's ``monitors:``; empty: off), ``MONITORS_INTERVAL``,
the channels and routes (crawler/defaults/monitors.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scrapy import signals
from twisted.internet import task, threads

from crawler.core.switches import describe, off
from crawler.monitors.alerts import alert_text
from crawler.monitors.freshness import CHECKS as FRESHNESS
from crawler.monitors.freshness import judge as judge_freshness
from crawler.monitors.freshness import measure
from crawler.monitors.stall import desk_for, subject_of
from crawler.runs import run_errors
from crawler.store import crawl_store

if TYPE_CHECKING:
    from crawler.monitors.runner import StepRunner

logger = logging.getLogger(__name__)


def successful(record: Mapping[str, Any]) -> bool:
    """A crawl that counts as a baseline for ``max_item_drop`` (a backfill is not a crawl)."""
    if record.get("kind") == "backfill":
        return False
    status = record.get("status")
    if status:
        return status == "finished"
    code = record.get("exit_code", record.get("exit_status"))
    if isinstance(code, int):
        return code == 0
    return record.get("finish_reason") == "finished"


class Monitors:
    def __init__(self, crawler: Any, rules: dict[str, Any], interval: float):
        self.crawler = crawler
        self.rules = rules
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Monitors:
        settings = crawler.settings
        rules = settings.getdict("MONITORS_RULES")
        if not rules:
            raise off("Monitors", "the rule has no monitors: section")
        ext = cls(crawler, rules, settings.getfloat("MONITORS_INTERVAL"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    # -- the two moments --------------------------------------------------------------------

    def spider_opened(self, spider: Any) -> None:
        if self.interval > 0:
            self.loop = task.LoopingCall(self.periodic, spider)
            self.loop.start(self.interval, now=False)

    def periodic(self, spider: Any) -> None:
        try:
            _, results = self.run(spider, periodic=True)
        except Exception:  # a looping call stops for good on an exception
            logger.exception("periodic monitors failed to run")
            return
        failed = sum(not r["ok"] for r in results)
        if failed:
            self.crawler.stats.inc_value("monitors/periodic_failed", failed)
        reports = [(spider, results, dict(self.crawler.stats.get_stats()), True)]
        threads.deferToThread(self.send_alerts, reports).addErrback(self._alerts_failed)

    def spider_closed(self, spider: Any, reason: str) -> Any:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        sites = getattr(spider, "sites", None)
        if not isinstance(sites, dict):
            results = self.judge(spider, self.crawler.stats)
            return self.alert([(spider, results, dict(self.crawler.stats.get_stats()), False)])
        # A crawl of many sites: each site's monitors on its own stats (crawler/runs/sites.py
        # closed them just before); the crawl's stats count every site's failures.
        reports, failed, results = [], 0, []
        for name, site in sites.items():
            site_stats = spider.site_stats[name]
            site_results = self.judge(site, site_stats)
            reports.append((site, site_results, dict(site_stats.get_stats()), False))
            bad = [{**r, "name": f"{name}: {r['name']}"} for r in site_results if not r["ok"]]
            failed += len(bad)
            results += bad[: max(0, 100 - len(results))]
        stats = self.crawler.stats
        stats.set_value("monitors/failed", failed)
        stats.set_value("monitors/results", results)
        return self.alert(reports)

    def judge(self, spider: Any, stats: Any) -> list[dict[str, Any]]:
        """Run ``spider``'s monitors on ``stats`` (a stats collector) and its freshness checks
        on the store; keep their results there."""
        _, results = self.run(spider, periodic=False, stats=stats.get_stats())
        results += self.freshness(spider)
        failed = [r for r in results if not r["ok"]]
        stats.set_value("monitors/failed", len(failed))
        stats.set_value("monitors/passed", len(results) - len(failed))
        stats.set_value("monitors/results", results)
        if not failed:
            quiet = getattr(spider, "site_group", None) is not None  # one of many sites
            logger.log(logging.DEBUG if quiet else logging.INFO, "Monitors of %s: %d passed",
                       spider.name, len(results))  # fmt: skip
            return results
        # A WARNING: the run's status (monitor_failed, exit 7) says it failed; an ERROR line
        # would count as one more error of the run than the monitors judged.
        logger.warning(
            "Monitors of %s: %d of %d failed: %s",
            spider.name,
            len(failed),
            len(results),
            "; ".join(f"{r['name']}: {r['message']}" for r in failed),
        )
        return results

    def alert(self, reports: list[tuple[Any, list[dict[str, Any]], dict[str, Any], bool]]) -> Any:
        return threads.deferToThread(self.send_alerts, reports).addErrback(self._alerts_failed)

    def freshness(self, spider: Any) -> list[dict[str, Any]]:
        """The freshness checks of the rule, judged on the store (skipped without one)."""
        checks = {name: self.rules[name] for name in FRESHNESS if name in self.rules}
        if not checks:
            return []
        uri = self.crawler.settings.get("STORE_URI")
        routes = getattr(spider, "routes", None) or {}
        collections = sorted({route.collection for route in routes.values()}) or [spider.name]
        try:
            if not uri:
                raise ValueError("no STORE_URI")
            with crawl_store(self.crawler, uri) as store:
                figures = measure(store, collections, spider.name, checks)
        except Exception as exc:
            message = f"skipped: the store cannot be read ({describe(exc)})"
            return [{"name": name, "ok": True, "message": message} for name in checks]
        return judge_freshness(checks, figures)

    # -- running ----------------------------------------------------------------------------

    def run(
        self, spider: Any, periodic: bool, stats: Any = None
    ) -> tuple[StepRunner, list[dict[str, Any]]]:
        # Here, not at the top: a crawl whose rule has no monitors never loads Spidermon.
        from crawler.monitors.runner import StepRunner, results_of
        from crawler.monitors.suites import build_suite

        wanted = not periodic and "max_item_drop" in self.rules
        previous = self.previous_items(spider.name) if wanted else None
        suite = build_suite(self.crawler, self.rules, periodic=periodic, previous_items=previous)
        runner = StepRunner(spider=spider)
        stats = dict(self.crawler.stats.get_stats() if stats is None else stats)
        runner.run(suite, stats=stats, stats_history=[], crawler=self.crawler, spider=spider)
        results = results_of(runner.result)
        runner.data.meta["results"] = results
        runner.data.meta["rule"] = spider.name
        runner.data.meta["periodic"] = periodic
        return runner, results

    def previous_items(self, rule: str) -> int | None:
        """Items of the rule's last successful run (the store's run records)."""
        uri = self.crawler.settings.get("STORE_URI")
        if not uri:
            return None
        try:
            with crawl_store(self.crawler, uri) as store:
                records = store.runs(rule=rule, limit=50)
        except Exception as exc:
            logger.warning("max_item_drop: cannot read earlier runs (%s); skipped", exc)
            return None
        for record in records:
            if successful(record) and isinstance(record.get("items"), int):
                return record["items"]
        return None

    def send_alerts(
        self, reports: list[tuple[Any, list[dict[str, Any]], dict[str, Any], bool]]
    ) -> None:
        """Every judged check to the alert desk (in a thread): new failures alerted, repeats
        counted, recoveries resolved. What happened is counted under ``monitors/alerts/``."""
        desk = desk_for(self.crawler.settings)
        if desk is None:
            return
        stats = self.crawler.stats
        for spider, results, site_stats, periodic in reports:
            subject = subject_of(spider)
            title, lines = alert_text(subject.name, results, site_stats, periodic)
            event = {
                "event": "monitors_failed",
                "rule": subject.name,
                "periodic": periodic,
                "failed": [r for r in results if not r["ok"]],
                "results": results,
                "stats": {name: site_stats.get(name) for name in EVENT_STATS},
                "errors": run_errors(site_stats).total,  # as the run record and the API count
                "run_id": site_stats.get("run/id") or site_stats.get("schedule/run_id"),
            }
            outcome = desk.report(subject, results, title, event, lines)
            for kind in ("sent", "failed", "held"):
                for name in getattr(outcome, kind):
                    stats.inc_value(f"monitors/alerts/{name}/{kind}")
            for kind in ("suppressed", "resolved"):
                if getattr(outcome, kind):
                    stats.inc_value(f"monitors/alerts/{kind}", len(getattr(outcome, kind)))

    @staticmethod
    def _alerts_failed(failure: Any) -> None:
        logger.error("Sending alerts failed: %s", failure.getErrorMessage())


EVENT_STATS = (
    "response_received_count",
    "item_scraped_count",
    "log_count/ERROR",
    "antiban/bans",
    "finish_reason",
)
