"""The ``Monitors`` extension: runs a rule's monitors with Spidermon and records the outcome.

At the close of the crawl (``spider_closed``, before the run recorder) the suite's monitors run
on the final stats; ``monitors/failed`` (how many failed), ``monitors/passed`` and
``monitors/results`` (``[{name, ok, message}]``) go to the stats, which the run record and the
exit status read. When one failed, the alerts (Spidermon actions) are sent from a thread, off
the reactor; the crawl waits for them (each bounded by ``ALERT_TIMEOUT``). With
``MONITORS_INTERVAL`` the rate and coverage checks also run during the crawl, their failures
counted under ``monitors/periodic_failed`` and alerted the same way.

Settings: ``MONITORS_RULES`` (set by the rule's ``monitors:``; empty: off), ``MONITORS_INTERVAL``,
``MONITORS_ALERTS`` and ``MONITORS_ALERT_ACTIONS`` (crawler/defaults/monitors.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.misc import load_object
from twisted.internet import task, threads

from crawler.core.switches import off
from crawler.store import crawl_store

if TYPE_CHECKING:
    from crawler.monitors.runner import StepRunner

logger = logging.getLogger(__name__)


def successful(record: Mapping[str, Any]) -> bool:
    """A run that counts as a baseline for ``max_item_drop``."""
    status = record.get("status")
    if status:
        return status == "finished"
    code = record.get("exit_code", record.get("exit_status"))
    if isinstance(code, int):
        return code == 0
    return record.get("finish_reason") == "finished"


class Monitors:
    def __init__(self, crawler: Any, rules: dict[str, Any], interval: float, alerts: list[Any]):
        self.crawler = crawler
        self.rules = rules
        self.interval = interval
        self.alerts = alerts
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Monitors:
        settings = crawler.settings
        rules = settings.getdict("MONITORS_RULES")
        if not rules:
            raise off("Monitors", "the rule has no monitors: section")
        ext = cls(crawler, rules, settings.getfloat("MONITORS_INTERVAL"), alert_actions(settings))
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
            runner, results = self.run(spider, periodic=True)
        except Exception:  # a looping call stops for good on an exception
            logger.exception("periodic monitors failed to run")
            return
        failed = sum(not r["ok"] for r in results)
        if failed:
            self.crawler.stats.inc_value("monitors/periodic_failed", failed)
            threads.deferToThread(self.send_alerts, runner).addErrback(self._alerts_failed)

    def spider_closed(self, spider: Any, reason: str) -> Any:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        sites = getattr(spider, "sites", None)
        if not isinstance(sites, dict):
            runner, results = self.judge(spider, self.crawler.stats)
            return self.alert([runner] if runner is not None else [])
        # A crawl of many sites: each site's monitors on its own stats (crawler/runs/sites.py
        # closed them just before); the crawl's stats count every site's failures.
        runners, failed, results = [], 0, []
        for name, site in sites.items():
            runner, site_results = self.judge(site, spider.site_stats[name])
            if runner is not None:
                runners.append(runner)
            bad = [{**r, "name": f"{name}: {r['name']}"} for r in site_results if not r["ok"]]
            failed += len(bad)
            results += bad[: max(0, 100 - len(results))]
        stats = self.crawler.stats
        stats.set_value("monitors/failed", failed)
        stats.set_value("monitors/results", results)
        return self.alert(runners)

    def judge(self, spider: Any, stats: Any) -> tuple[StepRunner | None, list[dict[str, Any]]]:
        """Run ``spider``'s monitors on ``stats`` (a stats collector), keep their results there;
        the runner when one failed (its alerts to send)."""
        runner, results = self.run(spider, periodic=False, stats=stats.get_stats())
        failed = [r for r in results if not r["ok"]]
        stats.set_value("monitors/failed", len(failed))
        stats.set_value("monitors/passed", len(results) - len(failed))
        stats.set_value("monitors/results", results)
        if not failed:
            quiet = getattr(spider, "site_group", None) is not None  # one of many sites
            logger.log(logging.DEBUG if quiet else logging.INFO, "Monitors of %s: %d passed",
                       spider.name, len(results))  # fmt: skip
            return None, results
        # A WARNING: the run's status (monitor_failed, exit 7) says it failed; an ERROR line
        # would count as one more error of the run than the monitors judged.
        logger.warning(
            "Monitors of %s: %d of %d failed: %s",
            spider.name,
            len(failed),
            len(results),
            "; ".join(f"{r['name']}: {r['message']}" for r in failed),
        )
        return runner, results

    def alert(self, runners: list[StepRunner]) -> Any:
        if not self.alerts or not runners:
            return None

        def send() -> None:
            for runner in runners:
                self.send_alerts(runner)

        return threads.deferToThread(send).addErrback(self._alerts_failed)

    # -- running ----------------------------------------------------------------------------

    def run(
        self, spider: Any, periodic: bool, stats: Any = None
    ) -> tuple[StepRunner, list[dict[str, Any]]]:
        # Here, not at the top: a crawl whose rule has no monitors never loads Spidermon.
        from crawler.monitors.runner import StepRunner, results_of
        from crawler.monitors.suites import build_suite

        wanted = not periodic and "max_item_drop" in self.rules
        previous = self.previous_items(spider.name) if wanted else None
        suite = build_suite(
            self.crawler, self.rules, self.alerts, periodic=periodic, previous_items=previous
        )
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

    def send_alerts(self, runner: StepRunner) -> None:
        runner.finish()
        stats = self.crawler.stats
        for item in runner.result.monitors_failed_action_results:
            name = getattr(item.item, "alert", item.item.name)
            stats.inc_value(f"monitors/alerts/{name}/{item.status.lower()}")

    @staticmethod
    def _alerts_failed(failure: Any) -> None:
        logger.error("Sending alerts failed: %s", failure.getErrorMessage())


def alert_actions(settings: Any) -> list[Any]:
    """The alert action classes ``MONITORS_ALERTS`` names that are configured; each one asked
    for but not usable is logged once, with what is missing."""
    classes = settings.getdict("MONITORS_ALERT_ACTIONS")
    actions = []
    for name in settings.getlist("MONITORS_ALERTS"):
        path = classes.get(name)
        if not path:
            logger.error("alert %r is unknown: one of %s", name, ", ".join(sorted(classes)))
            continue
        action = load_object(path)
        problem = action.configuration_problem(settings)
        if problem:
            logger.error("alert %r is not sent: %s", name, problem)
            continue
        actions.append(action)
    return actions
