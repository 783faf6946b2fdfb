"""Every figure a run shows, computed in one place: the counters of a run record and of the
progress line, the run's errors and error rate, its ban rate, and the total its progress is
measured against. The run recorder and the progress line (this package), ``scrapy store runs``,
the data service (its API, and so the dashboard) and the monitors (``max_error_rate``,
``max_ban_rate``) all read them from here, from a crawl's stats or from a run record (records of
older versions included), so that they always show the same numbers.

**Errors.** The errors of a run are, each counted once:

1. *failed requests* (``request_errors``): requests that failed for good, counted by the rule
   spider per reason under ``rule/request_errors/<reason>``: a download error after Scrapy's
   retries, an HTTP error status (after its retries for 5xx), a body over
   ``DOWNLOAD_MAXSIZE``, a start URL Scrapy refuses. A spider without that count (hand-written)
   falls back on Scrapy's ``downloader/exception_count`` plus
   ``httperror/response_ignored_count``;
2. *spider exceptions* (``spider_exceptions``): a callback that raised
   (``spider_exceptions/count``);
3. *other ERROR log lines* (``log_errors``): ``log_count/ERROR`` less the ERROR lines Scrapy
   itself writes for the two above (one "Gave up retrying" per ``retry/max_reached``, at
   Scrapy's default ``RETRY_GIVE_UP_LOG_LEVEL``, and one "Spider error processing" per spider
   exception), never below 0: a store that failed a write, a component that could not start,
   an alert that could not be sent.

``errors`` is their sum. Bans are not errors (they are counted as ``bans``), nor are items
sent to the dead letters (``dead``), nor is a failed monitor (its own status).

The **error rate** is ``errors`` per page fetched (``response_received_count``; a run that
fetched nothing counts as one page). The **ban rate** is bans per request sent
(``downloader/request_count``, at least one).

>>> stats = {"response_received_count": 8, "rule/request_errors/http_404": 1,
...          "rule/request_errors/TimeoutError": 1, "retry/max_reached": 1,
...          "spider_exceptions/count": 1, "log_count/ERROR": 3}
>>> e = run_errors(stats)
>>> (e.requests, e.spider_exceptions, e.log_lines, e.total, e.rate)
(2, 1, 1, 4, 0.5)
>>> run_errors({"run_id": "old", "errors": 2, "request_errors": 1, "pages": 3}).total
3
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sum(stats: Mapping[str, Any], prefix: str) -> int:
    return sum(_int(v) for k, v in stats.items() if isinstance(k, str) and k.startswith(prefix))


def rate_of(count: int, whole: int) -> float:
    """``count`` per ``whole`` (at least one), to 4 places: every rate a run shows.

    >>> rate_of(1, 8), rate_of(2, 0)
    (0.125, 2.0)
    """
    return round(count / max(1, whole), 4)


def stats_of(source: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The crawl stats in ``source``: a run record's ``stats``, or ``source`` itself when it is
    a crawl's stats (its keys have a ``/``, or it has Scrapy's counters); None for a record that
    kept none (the data service's placeholder of a crawl it just started, a crawl that died
    before recording anything)."""
    stats = source.get("stats")
    if isinstance(stats, Mapping) and stats:
        return stats
    if "run_id" in source or "rule" in source:
        return None
    return source


@dataclass(frozen=True)
class RunErrors:
    """The errors of a run (see the module docstring for what counts) and the pages they are
    a rate of."""

    requests: int  # failed requests
    spider_exceptions: int
    log_lines: int  # ERROR log lines that are neither of the above
    pages: int

    @property
    def total(self) -> int:
        return self.requests + self.spider_exceptions + self.log_lines

    @property
    def rate(self) -> float:
        """Errors per page fetched (0..; a run without pages counts as one page)."""
        return rate_of(self.total, self.pages)

    def counters(self) -> dict[str, int]:
        """The fields a run record keeps: ``errors`` and its parts."""
        return {
            "errors": self.total,
            "request_errors": self.requests,
            "spider_exceptions": self.spider_exceptions,
            "log_errors": self.log_lines,
        }


def run_errors(source: Mapping[str, Any]) -> RunErrors:
    """The errors of a run, from a crawl's stats or a run record (the one way every figure of
    errors is computed: see the module docstring)."""
    stats = stats_of(source)
    if stats is None:  # a record without stats: the counters it kept
        record = source
        if "log_errors" in record:  # written by this module: errors is the sum already
            log_lines = _int(record.get("log_errors"))
        else:  # older records: errors were the ERROR log lines
            log_lines = _int(record.get("errors"))
        return RunErrors(
            requests=_int(record.get("request_errors")),
            spider_exceptions=_int(record.get("spider_exceptions")),
            log_lines=log_lines,
            pages=_int(record.get("pages")),
        )
    requests = _sum(stats, "rule/request_errors/") or (
        _int(stats.get("downloader/exception_count"))
        + _int(stats.get("httperror/response_ignored_count"))
    )
    exceptions = _int(stats.get("spider_exceptions/count"))
    scrapy_lines = _int(stats.get("retry/max_reached")) + exceptions
    return RunErrors(
        requests=requests,
        spider_exceptions=exceptions,
        log_lines=max(0, _int(stats.get("log_count/ERROR")) - scrapy_lines),
        pages=_int(stats.get("response_received_count")),
    )


@dataclass(frozen=True)
class RunBans:
    bans: int
    requests: int  # requests sent

    @property
    def rate(self) -> float:
        """Bans per request sent (a run that sent none counts as one)."""
        return rate_of(self.bans, self.requests)


def run_bans(source: Mapping[str, Any]) -> RunBans:
    """Bans and the requests they are a rate of, from a crawl's stats or a run record.

    >>> run_bans({"antiban/bans": 2, "downloader/request_count": 8}).rate
    0.25
    """
    stats = stats_of(source)
    if stats is None:
        return RunBans(_int(source.get("bans")), _int(source.get("pages")))
    return RunBans(_int(stats.get("antiban/bans")), _int(stats.get("downloader/request_count")))


def live_counters(stats: Mapping[str, Any]) -> dict[str, int]:
    """The counters a run record, the progress line and ``scrapy store runs`` show.

    >>> c = live_counters({"response_received_count": 4, "rule/request_errors/http_404": 2})
    >>> c["pages"], c["errors"], c["request_errors"], c["items"]
    (4, 2, 2, 0)
    """
    return {
        "pages": _int(stats.get("response_received_count")),
        "items": _int(stats.get("item_scraped_count")),
        "new": _int(stats.get("store/items/new")),
        "updated": _int(stats.get("store/items/updated")),
        "unchanged": _int(stats.get("store/items/unchanged")),
        "dead": _int(stats.get("store/items/dead")),
        "spilled": _int(stats.get("store/spilled")),
        "lost": _int(stats.get("store/lost")),
        "journal_kept": _int(stats.get("store/journal/kept")),
        "replayed": _int(stats.get("store/journal/replayed")),
        **run_errors(stats).counters(),
        "bans": _int(stats.get("antiban/bans")),
    }


@dataclass(frozen=True)
class Expected:
    """What a crawl's progress is measured against."""

    total: int
    unit: str  # "pages" or "items"
    source: str  # CLOSESPIDER_PAGECOUNT, CLOSESPIDER_ITEMCOUNT or "last run"

    def done(self, pages: int, items: int) -> int:
        return items if self.unit == "items" else pages

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "unit": self.unit, "source": self.source}


def expected_total(
    stats: Mapping[str, Any], page_limit: int = 0, item_limit: int = 0
) -> Expected | None:
    """The total a crawl's progress is measured against, when one is known: the crawl's limit
    (``CLOSESPIDER_PAGECOUNT``, ``CLOSESPIDER_ITEMCOUNT``), else the page count of the rule's
    last finished run (stat ``run/expected_pages``, which the run recorder looks up at start).

    >>> expected_total({"run/expected_pages": 40}).as_dict()
    {'total': 40, 'unit': 'pages', 'source': 'last run'}
    >>> expected_total({}, item_limit=5).unit, expected_total({}) is None
    ('items', True)
    """
    if page_limit > 0:
        return Expected(page_limit, "pages", "CLOSESPIDER_PAGECOUNT")
    if item_limit > 0:
        return Expected(item_limit, "items", "CLOSESPIDER_ITEMCOUNT")
    last = _int(stats.get("run/expected_pages"))
    return Expected(last, "pages", "last run") if last > 0 else None


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left at the rate so far, or None when it cannot be told.

    >>> eta_seconds(100, 400, 10.0), eta_seconds(0, 400, 10.0), eta_seconds(500, 400, 10.0)
    (30.0, None, None)
    """
    if done <= 0 or elapsed <= 0 or done >= total:
        return None
    return round((total - done) * elapsed / done, 1)
