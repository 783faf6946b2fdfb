"""Running a rule's monitor suite with Spidermon, and reading what it found: the runner runs the
monitors only (alerts are the desk's: crawler/monitors/desk.py), logs their failures as
WARNINGs, and turns their results into ``[{name, ok, message, figure}]`` for the stats.

Imported by the ``Monitors`` extension (:mod:`.extension`) only when the rule has monitors, so a
crawl without them never loads Spidermon.
"""

from __future__ import annotations

import logging
from typing import Any

from spidermon.contrib.scrapy.runners import SpiderMonitorResult, SpiderMonitorRunner
from spidermon.settings import MONITOR


class StepRunner(SpiderMonitorRunner):
    """Spidermon's runner, the monitors only (no actions: the alert desk sends alerts)."""

    def run_suite(self) -> Any:
        self.result.start()
        self.run_monitors()
        self.result.finish()
        return self.result

    def create_result(self) -> StepResult:
        return StepResult(self.spider)


class StepResult(SpiderMonitorResult):
    """Spidermon's report of a run, its failures logged as WARNING, as the extension's summary
    line is: the run's status (``monitor_failed``) says it failed, and an ERROR line would be
    one more error of the run (crawler/runs/figures.py) than the monitors judged."""

    def log_error(self, msg: Any) -> None:
        self.log(msg, level=logging.WARNING)


def _message(item: Any) -> str:
    text = item.error or item.reason or ""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last.split(": ", 1)[1] if last.startswith(("AssertionError", "SkipTest")) else last


def results_of(result: Any) -> list[dict[str, Any]]:
    """``[{name, ok, message}]`` from a Spidermon result, with ``figure`` (what it judged) for
    the monitors that keep one (rates, coverage)."""
    out = []
    for item in result.monitor_results:
        monitor = item.item
        check = getattr(monitor, "check", "") or monitor.name
        method = getattr(monitor, "_testMethodName", "")  # unittest's: one result per test
        name = getattr(monitor, "result_names", {}).get(method, check)
        ok = item.status in MONITOR.STATUSES.SUCCESSFUL
        message = _message(item)
        if item.status == MONITOR.STATUS.SKIPPED:
            message = f"skipped: {message}" if message else "skipped"
        row: dict[str, Any] = {"name": name, "ok": ok, "message": message}
        figure = getattr(monitor, "figure", None)
        if isinstance(figure, dict):
            row["figure"] = figure
        out.append(row)
    return out
