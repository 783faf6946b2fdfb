"""The monitors a rule's ``monitors:`` section asks for, as Spidermon monitors and suites.

Spidermon's own monitors where one fits (``FinishReasonMonitor``) and its ``BaseStatMonitor``
with a threshold computed from the stats otherwise (its documented way to compare one stat with
others): items, error rate, ban rate, item drop against the last successful run; field coverage
is a monitor with one test per field.

Each monitor class carries ``check``, the name the results are reported under.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spidermon import MonitorSuite
from spidermon import monitors as named
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor, BaseStatMonitor
from spidermon.contrib.scrapy.monitors.monitors import FinishReasonMonitor

from crawler.runs import field_coverage


class _Threshold(BaseStatMonitor):
    """A stat compared with a threshold computed from the rule's value and other stats."""

    check = ""
    value: float = 0.0
    longMessage = False

    def get_threshold(self) -> float:
        raise NotImplementedError


@named.name("min_items")
class MinItemsMonitor(_Threshold):
    """Items scraped, at least ``min_items``."""

    check = "min_items"
    stat_name = "item_scraped_count"
    assert_type = ">="

    def get_threshold(self) -> float:
        return self.value


@named.name("max_error_rate")
class ErrorRateMonitor(_Threshold):
    """ERROR log lines per page fetched, at most ``max_error_rate``."""

    check = "max_error_rate"
    stat_name = "log_count/ERROR"
    assert_type = "<="
    fail_if_stat_missing = False  # no ERROR line at all

    def get_threshold(self) -> float:
        return self.value * max(1, self.stats.get("response_received_count", 0))


@named.name("max_ban_rate")
class BanRateMonitor(_Threshold):
    """Bans per request sent, at most ``max_ban_rate``."""

    check = "max_ban_rate"
    stat_name = "antiban/bans"
    assert_type = "<="
    fail_if_stat_missing = False  # no ban at all

    def get_threshold(self) -> float:
        return self.value * max(1, self.stats.get("downloader/request_count", 0))


@named.name("max_item_drop")
class ItemDropMonitor(_Threshold):
    """Items scraped, at least ``1 - max_item_drop`` of the last successful run's."""

    check = "max_item_drop"
    stat_name = "item_scraped_count"
    assert_type = ">="
    previous: int | None = None

    def get_threshold(self) -> float:
        if not self.previous:
            self.skipTest("no earlier successful run to compare with")
        return self.previous * (1 - self.value)


@named.name("finish_reasons")
class FinishReasonsMonitor(FinishReasonMonitor):
    """Spidermon's own, reading ``SPIDERMON_EXPECTED_FINISH_REASONS`` (from the section)."""

    check = "finish_reasons"


def coverage_monitor(minimums: Mapping[str, float]) -> type[BaseScrapyMonitor]:
    """A monitor with one test per field: its coverage at least its minimum."""
    methods: dict[str, Any] = {"check": "min_coverage", "longMessage": False}
    for field_name, minimum in sorted(minimums.items()):

        def test(self: BaseScrapyMonitor, field_name: str = field_name, minimum: float = minimum):
            share = field_coverage(self.stats).get(field_name, 0.0)
            self.assertGreaterEqual(
                share,
                minimum,
                msg=f"coverage of {field_name} is {share:.1%}, below {minimum:.1%}",
            )

        name = f"test_coverage_{field_name}"
        test.__name__ = name
        methods[name] = named.name(f"coverage of {field_name}")(test)
    return named.name("min_coverage")(type("FieldCoverageMonitor", (BaseScrapyMonitor,), methods))


END_ONLY = frozenset({"min_items", "finish_reasons", "max_item_drop"})
_STAT_MONITORS: dict[str, type[_Threshold]] = {
    "min_items": MinItemsMonitor,
    "max_error_rate": ErrorRateMonitor,
    "max_ban_rate": BanRateMonitor,
    "max_item_drop": ItemDropMonitor,
}


def monitor_classes(
    rules: Mapping[str, Any], *, periodic: bool = False, previous_items: int | None = None
) -> list[type]:
    """The monitor classes for ``rules`` (``MONITORS_RULES``); ``periodic``: only the checks
    that make sense while the crawl runs (rates, coverage)."""
    classes: list[type] = []
    for check, value in rules.items():
        if periodic and check in END_ONLY:
            continue
        base = _STAT_MONITORS.get(check)
        if base is not None:
            attrs: dict[str, Any] = {"value": float(value)}
            if check == "max_item_drop":
                attrs["previous"] = previous_items
            classes.append(named.name(check)(type(base.__name__, (base,), attrs)))
        elif check == "min_coverage" and value:
            classes.append(coverage_monitor(value))
        elif check == "finish_reasons":
            classes.append(FinishReasonsMonitor)
    return classes


def build_suite(
    crawler: Any,
    rules: Mapping[str, Any],
    actions: list[Any],
    *,
    periodic: bool = False,
    previous_items: int | None = None,
) -> MonitorSuite:
    name = "periodic monitors" if periodic else "monitors"
    return MonitorSuite(
        name=name,
        monitors=monitor_classes(rules, periodic=periodic, previous_items=previous_items),
        monitors_failed_actions=actions,
        crawler=crawler,
    )
