"""Every rule's crawl figures for ``GET /metrics`` (:mod:`crawler.service.metrics`), read from
the run records in the store (docs/metrics.md lists them).

For each rule: the counters of its current run when one runs, else of its last run, each the
record's field as it is (``crawler_run_pages_total`` is the record's ``pages``). A counter of
one run starts again from 0 when the rule's next run starts, which Prometheus' ``rate()`` and
``increase()`` take as a counter reset. Beside them, gauges: whether the rule runs now, its
requests waiting, the exit code of its last finished run, when its run started and when its
record was last written; and the politeness figures of the run's stats (``politeness/...``:
requests granted, waits by why, slow-downs by reason; the stats count them per crawl, not per
host, so there is no ``host`` label).

**The work of one scrape is bounded**, however many records the store keeps:

- the rules are found among the newest ``SERVICE_METRICS_SCAN_RECORDS`` run records, read in one
  query newest first (``Store.runs(limit=...)``: on SQLite it walks the ``started_at`` index and
  stops there; ``Store.runs_page`` would sort every record for each page): the first record of a
  rule met is its latest;
- a rule found by an earlier scrape whose records are all older than that window is looked up by
  itself (``Store.runs(rule=..., limit=1)``, one read on the ``(rule, started_at)`` index), so it
  is still reported;
- at most ``SERVICE_METRICS_MAX_RULES`` rules are reported (the most recently run first);
  ``crawler_metrics_rules_limited`` says when that bound left some out;
- a rule whose record says it runs has its last few records read for the exit code of its last
  finished run.

So a scrape reads at most ``SCAN_RECORDS + MAX_RULES + 3 × (rules running)`` records, and holds
at most ``SCAN_RECORDS`` of them at once. A rule neither among the newest records nor met by a
scrape since the service started (its last run is older than the window) is left out until it
runs again.

>>> epoch("2026-01-02T00:00:00Z"), epoch("2026-01-02T00:00:00"), epoch("soon")
(1767312000.0, 1767312000.0, None)
>>> figure(3), figure(2.5), figure(True), figure("3")
(3, 2.5, None, None)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from crawler.service.run_views import exit_code_of, is_live

#: ``(record field, metric family, help)``: each a counter per rule, the field's value exactly.
RUN_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("pages", "crawler_run_pages", "Pages (responses) received by the rule's current or last run"),
    ("items", "crawler_run_items", "Items scraped by the rule's current or last run"),
    ("new", "crawler_run_items_new", "Items of the run new to the store"),
    ("updated", "crawler_run_items_updated", "Items of the run changed and rewritten"),
    ("unchanged", "crawler_run_items_unchanged", "Items of the run found unchanged"),
    ("dead", "crawler_run_items_dead", "Items of the run dead-lettered (kept aside, invalid)"),
    ("spilled", "crawler_run_items_spilled", "Items spilled to disk while the store was away"),
    ("lost", "crawler_run_items_lost", "Items neither stored nor spilled"),
    ("replayed", "crawler_run_items_replayed", "Items replayed from journals of dead runs"),
    ("errors", "crawler_run_errors", "Errors: requests given up on, exceptions, ERROR lines"),
    ("request_errors", "crawler_run_request_errors", "Requests of the run given up on"),
    ("spider_exceptions", "crawler_run_spider_exceptions", "Exceptions raised by callbacks"),
    ("log_errors", "crawler_run_log_errors", "Other ERROR log lines of the run"),
    ("bans", "crawler_run_bans", "Responses of the run taken for bans"),
)

#: Politeness stats (crawler/politeness/downloader.py): ``stat or prefix -> (family, label)``.
POLITENESS: dict[str, tuple[str, str | None, str]] = {
    "politeness/granted": (
        "crawler_run_politeness_granted", None, "Downloads the host budget let go"),
    "politeness/shared_lost": (
        "crawler_run_politeness_shared_lost", None,
        "Times the shared (Redis) host budget could not be reached"),
    "politeness/waits/": (
        "crawler_run_politeness_waits", "why",
        "Times a download waited for its host's budget, by why (rate, concurrency, slowed)"),
    "politeness/slowed/": (
        "crawler_run_politeness_slowed", "reason",
        "Times a host was slowed for everyone, by reason (http_429, http_503, ban ...)"),
}  # fmt: skip
LABEL_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # what a stat name's last part may label
PREVIOUS = 3  # records read for the last finished run of a rule that runs now


def figure(value: Any) -> int | float | None:
    """A record's number, or None (absent, text, a bool)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def epoch(value: Any) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (UTC when it names no zone), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@dataclass
class Scan:
    """What one scrape read: each rule's latest record (most recently run first), how many
    records it read, and whether ``SERVICE_METRICS_MAX_RULES`` left rules out."""

    latest: dict[str, dict[str, Any]]
    read: int
    limited: bool


class RunFigures:
    """One app's reader of run records for its scrapes (see the module docstring for the bound).

    It remembers the rules it reported (at most ``max_rules``) for the next scrape."""

    def __init__(self, max_rules: int, scan_records: int) -> None:
        self.max_rules = max(1, max_rules)
        self.scan_records = max(1, scan_records)
        self._known: dict[str, None] = {}
        self._lock = threading.Lock()  # scrapes may run at once, on two worker threads

    @classmethod
    def from_settings(cls, settings: Any) -> RunFigures:
        return cls(
            settings.getint("SERVICE_METRICS_MAX_RULES"),
            settings.getint("SERVICE_METRICS_SCAN_RECORDS"),
        )

    def scan(self, store: Any) -> Scan:
        """Each rule's latest record, within the bounds; raises what the store raises."""
        recent = store.runs(limit=self.scan_records)
        read, complete = len(recent), len(recent) < self.scan_records
        latest: dict[str, dict[str, Any]] = {}
        for record in recent:
            rule = record.get("rule")
            if isinstance(rule, str) and rule and rule not in latest:
                latest[rule] = record
        del recent  # only each rule's latest is kept
        if not complete:  # older records were left unread: the rules met before, one by one
            with self._lock:
                known = list(self._known)
            for rule in known:
                if len(latest) >= self.max_rules:
                    break
                if rule not in latest:
                    found = store.runs(rule=rule, limit=1)
                    read += len(found)
                    if found:
                        latest[rule] = found[0]
        limited = len(latest) > self.max_rules or (len(latest) == self.max_rules and not complete)
        latest = dict(list(latest.items())[: self.max_rules])
        with self._lock:
            self._known = dict.fromkeys(latest)  # a rule whose records went is forgotten
        return Scan(latest, read, limited)

    def families(self, store: Any, running_rules: Iterable[str]) -> list[Metric]:
        """The run families of one scrape; ``running_rules``: the rules of the crawls the
        service runs now (their record may not be written yet). Raises what the store raises."""
        scan = self.scan(store)
        exits: dict[str, int | None] = {}
        for rule, record in scan.latest.items():
            if is_live(record):  # the code of the run before it
                earlier = store.runs(rule=rule, limit=PREVIOUS)
                scan.read += len(earlier)
                exits[rule] = last_exit_code(earlier, record)
            else:
                exits[rule] = exit_code_of(record)
        families = run_families(scan.latest, set(running_rules), exits)
        read = GaugeMetricFamily(
            "crawler_metrics_run_records_read",
            "Run records this scrape read (bounded: SERVICE_METRICS_SCAN_RECORDS and "
            "SERVICE_METRICS_MAX_RULES)",
            value=scan.read,
        )
        limited = GaugeMetricFamily(
            "crawler_metrics_rules_limited",
            "1 when SERVICE_METRICS_MAX_RULES left rules out of this scrape",
            value=int(scan.limited),
        )
        return [*families, read, limited]


def last_exit_code(records: Iterable[dict[str, Any]], current: dict[str, Any]) -> int | None:
    """The exit code of the newest finished run of ``records`` (a rule's, newest first) other
    than ``current``, the one running.

    >>> now = {"run_id": "b", "status": "running"}
    >>> last_exit_code([now, {"run_id": "a", "status": "blocked", "exit_code": 5}], now)
    5
    """
    for record in records:
        if record.get("run_id") == current.get("run_id") or is_live(record):
            continue
        code = exit_code_of(record)
        if code is not None:
            return code
    return None


def run_families(
    latest: dict[str, dict[str, Any]], own: set[str], exits: dict[str, int | None]
) -> list[Metric]:
    """The families of every rule's run: ``latest`` its record, ``own`` the rules the service
    runs now, ``exits`` the exit code of each rule's last finished run."""
    counters = {
        name: CounterMetricFamily(name, text, labels=["rule"]) for _, name, text in RUN_COUNTERS
    }
    running = GaugeMetricFamily(
        "crawler_run_running", "1 while the rule's crawl runs, else 0", labels=["rule"]
    )
    queued = GaugeMetricFamily(
        "crawler_run_queued_requests",
        "Requests waiting in the running crawl's scheduler (0 once it ended)",
        labels=["rule"],
    )
    exit_code = GaugeMetricFamily(
        "crawler_run_exit_code",
        "Exit code of the rule's last finished run (0: finished; crawler/core/exitcodes.py)",
        labels=["rule"],
    )
    started = GaugeMetricFamily(
        "crawler_run_start_time_seconds",
        "When the rule's current or last run started (seconds since the epoch)",
        labels=["rule"],
    )
    updated = GaugeMetricFamily(
        "crawler_run_last_update_time_seconds",
        "When the run's record was last written (seconds since the epoch)",
        labels=["rule"],
    )
    politeness = {
        key: CounterMetricFamily(name, text, labels=["rule", label] if label else ["rule"])
        for key, (name, label, text) in POLITENESS.items()
    }
    for rule in sorted(own - set(latest)):  # started here, no record of the rule yet
        running.add_metric([rule], 1)
    for rule, record in latest.items():
        for field, name, _ in RUN_COUNTERS:
            value = figure(record.get(field))
            if value is not None:
                counters[name].add_metric([rule], value)
        live = is_live(record) or rule in own
        running.add_metric([rule], int(live))
        waiting = figure(record.get("queued")) if is_live(record) else 0
        if waiting is not None:
            queued.add_metric([rule], waiting)
        if exits.get(rule) is not None:
            exit_code.add_metric([rule], exits[rule])
        for family, when in (
            (started, epoch(record.get("started_at"))),
            (updated, epoch(record.get("updated_at") or record.get("finished_at"))),
        ):
            if when is not None:
                family.add_metric([rule], when)
        stats = record.get("stats")
        if isinstance(stats, dict):
            add_politeness(politeness, rule, stats)
    return [*counters.values(), running, queued, exit_code, started, updated,
            *politeness.values()]  # fmt: skip


def add_politeness(families: dict[str, CounterMetricFamily], rule: str, stats: dict) -> None:
    """The run's ``politeness/...`` stats, each under its family (by why or reason)."""
    for stat, value in stats.items():
        if not stat.startswith("politeness/") or figure(value) is None:
            continue
        if stat in families:
            families[stat].add_metric([rule], value)
            continue
        prefix, _, last = stat.rpartition("/")
        family = families.get(prefix + "/")
        if family is not None and LABEL_VALUE.fullmatch(last):
            family.add_metric([rule, last], value)
