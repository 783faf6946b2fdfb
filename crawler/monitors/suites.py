"""The monitors a rule's ``monitors:`` section asks for, as Spidermon monitors and suites.

Spidermon's own monitors where one fits (``FinishReasonMonitor``), its ``BaseStatMonitor`` with
a threshold computed from the stats for counts (items, item drop against the last successful
run), and the run's own figures for rates: the error rate and ban rate are those of
crawler/runs/figures.py (:func:`crawler.runs.run_errors`, :func:`crawler.runs.run_bans`), the
figures ``scrapy store runs`` and the data service show. Field coverage is a monitor with one
test per field, judged per page type where the field exists, or in the page type or item type
the rule names (:func:`judge_coverage`); never merged across page types.

Each monitor class carries ``check``, the name the results are reported under; a monitor that
judged a figure keeps it in ``figure`` (reported with its result).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spidermon import MonitorSuite
from spidermon import monitors as named
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor, BaseStatMonitor
from spidermon.contrib.scrapy.monitors.monitors import FinishReasonMonitor

from crawler.runs import item_type_coverage, page_coverage, run_bans, run_errors


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


class _Rate(BaseScrapyMonitor):
    """A rate of the run (crawler/runs/figures.py, as the API and the CLI show it) at most the
    rule's value; the figure it judged is kept in its result (``figure``)."""

    check = ""
    value: float = 0.0
    longMessage = False
    figure: dict[str, Any] | None = None


@named.name("max_error_rate")
class ErrorRateMonitor(_Rate):
    """Errors per page fetched, at most ``max_error_rate``: the run's errors as
    :func:`crawler.runs.run_errors` counts them (failed requests, spider exceptions, other
    ERROR lines), the same figure ``scrapy store runs`` and the data service show."""

    check = "max_error_rate"

    @named.name("error rate")
    def test_error_rate(self) -> None:
        errors = run_errors(self.stats)
        self.figure = {"errors": errors.total, "pages": errors.pages, "rate": errors.rate}
        self.assertLessEqual(
            errors.rate,
            self.value,
            msg=f"error rate is {errors.rate:.1%} ({errors.total} error(s) in {errors.pages} "
            f"page(s): {errors.requests} failed request(s), {errors.spider_exceptions} spider "
            f"exception(s), {errors.log_lines} other ERROR line(s)), above {self.value:.1%}",
        )


@named.name("max_ban_rate")
class BanRateMonitor(_Rate):
    """Bans per request sent, at most ``max_ban_rate`` (:func:`crawler.runs.run_bans`)."""

    check = "max_ban_rate"

    @named.name("ban rate")
    def test_ban_rate(self) -> None:
        bans = run_bans(self.stats)
        self.figure = {"bans": bans.bans, "requests": bans.requests, "rate": bans.rate}
        self.assertLessEqual(
            bans.rate,
            self.value,
            msg=f"ban rate is {bans.rate:.1%} ({bans.bans} ban(s) in {bans.requests} "
            f"request(s)), above {self.value:.1%}",
        )


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


@dataclass(frozen=True)
class CoverageVerdict:
    ok: bool
    message: str  # why it failed ("" when it held)
    figure: dict[str, Any]  # the shares judged, by page type (or the item type named)


def _pct(share: float) -> str:
    return f"{share:.1%}"


def judge_coverage(
    pages: Mapping[str, Mapping[str, Any]], field_name: str, minimum: float, scope: str | None
) -> CoverageVerdict:
    """``field_name``'s coverage against ``minimum``, per page type (:func:`page_coverage`):
    without ``scope``, in every page type whose items have the field (a page type whose items
    lack it is not judged); with one, in that page type, or else that item type (its page
    types together). Coverage is never merged across page types.

    >>> pages = {"post": {"items": 4, "item_type": None, "fields": {"title": 1.0}},
    ...          "list": {"items": 4, "item_type": None, "fields": {"next": 0.5}}}
    >>> judge_coverage(pages, "title", 0.9, None).ok
    True
    >>> judge_coverage(pages, "next", 0.9, None).message
    "coverage of next in page type 'list' is 50.0% (of 4 items), below 90.0%"
    """
    if scope is None:
        judged = {p: e["fields"][field_name] for p, e in pages.items() if field_name in e["fields"]}
        figure = {"page_types": judged}
        if not judged:
            return CoverageVerdict(
                minimum <= 0, f"no page type's items have the field {field_name}", figure
            )
        below = [
            f"in page type {page!r} is {_pct(share)} (of {pages[page]['items']} items)"
            for page, share in judged.items()
            if share < minimum
        ]
        message = f"coverage of {field_name} {'; '.join(below)}, below {_pct(minimum)}"
        return CoverageVerdict(not below, message if below else "", figure)
    if scope in pages:
        kind, entry = "page type", pages[scope]
    else:
        kind, entry = "item type", item_type_coverage(pages).get(scope)
    if entry is None:
        figure = {"page_types": {}}
        message = f"no item of page type or item type {scope!r} was scraped"
        return CoverageVerdict(minimum <= 0, message, figure)
    share = entry["fields"].get(field_name, 0.0)
    figure = {"page_types" if kind == "page type" else "item_types": {scope: share}}
    message = (
        f"coverage of {field_name} in {kind} {scope!r} is {_pct(share)} (of {entry['items']} "
        f"items), below {_pct(minimum)}"
    )
    return CoverageVerdict(share >= minimum, "" if share >= minimum else message, figure)


def coverage_tests(minimums: Mapping[str, Any]) -> list[tuple[str | None, str, float]]:
    """``(scope or None, field, minimum)`` for a ``min_coverage`` value: ``{field: share}``
    entries and ``{page or item type: {field: share}}`` entries."""
    tests: list[tuple[str | None, str, float]] = []
    for key, value in sorted(minimums.items()):
        if isinstance(value, Mapping):
            tests += [(key, name, float(share)) for name, share in sorted(value.items())]
        else:
            tests.append((None, key, float(value)))
    return tests


def coverage_monitor(minimums: Mapping[str, Any]) -> type[BaseScrapyMonitor]:
    """A monitor with one test per field (and page or item type named), each reported as
    ``min_coverage/<field>`` or ``min_coverage/<scope>/<field>`` (``result_names``)."""
    names: dict[str, str] = {}
    methods: dict[str, Any] = {"check": "min_coverage", "longMessage": False, "figure": None}
    for index, (scope, field_name, minimum) in enumerate(coverage_tests(minimums)):

        def test(
            self: BaseScrapyMonitor,
            scope: str | None = scope,
            field_name: str = field_name,
            minimum: float = minimum,
        ) -> None:
            verdict = judge_coverage(page_coverage(self.stats), field_name, minimum, scope)
            self.figure = verdict.figure
            if not verdict.ok:
                self.fail(verdict.message)

        method = f"test_coverage_{index:03d}"
        test.__name__ = method
        label = field_name if scope is None else f"{scope}/{field_name}"
        names[method] = f"min_coverage/{label}"
        methods[method] = named.name(f"coverage of {label}")(test)
    methods["result_names"] = names
    return named.name("min_coverage")(type("FieldCoverageMonitor", (BaseScrapyMonitor,), methods))


END_ONLY = frozenset({"min_items", "finish_reasons", "max_item_drop"})
_VALUE_MONITORS: dict[str, type[_Threshold] | type[_Rate]] = {
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
        if (
            periodic and check in END_ONLY
        ):  # (freshness is judged apart: crawler/monitors/freshness.py)
            continue
        base = _VALUE_MONITORS.get(check)
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
    *,
    periodic: bool = False,
    previous_items: int | None = None,
) -> MonitorSuite:
    name = "periodic monitors" if periodic else "monitors"
    return MonitorSuite(
        name=name,
        monitors=monitor_classes(rules, periodic=periodic, previous_items=previous_items),
        crawler=crawler,
    )
