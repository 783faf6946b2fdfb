"""Freshness: is a source still publishing? Judged on the store, not on one run: a list page
that keeps serving last month's notices makes every run "finished" with every item unchanged.

    monitors:
      min_new_items: {count: 1, within: 3d}          # at least 1 item first seen in 3 days
      max_newest_age: {field: published, age: 7d}    # the newest item's date at most 7 days old

:func:`measure` reads what the checks need from a store (items of the rule, newest first by
``_first_seen`` or by the date field: a bounded read, never a scan of every item into memory);
:func:`judge` turns figures into results (``{name, ok, message, figure}``), the shape of every
monitor's result. The monitors extension runs both at the end of a crawl (crawler/monitors/
suites.py); the data service's freshness board runs them for every rule (staleness first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crawler.store import ItemQuery

FIRST_SEEN = "_first_seen"
MAX_COUNT = 1000  # new items are counted up to this (the board shows "1000+")
CHECKS = ("min_new_items", "max_newest_age")


def parse_time(value: Any) -> datetime | None:
    """A stored date or time (ISO 8601 text, a date, a datetime) as an aware UTC datetime.

    >>> parse_time("2026-12-01"), parse_time("2026-12-01T08:00:00Z").hour, parse_time("soon")
    (datetime.datetime(2026, 12, 1, 0, 0, tzinfo=datetime.timezone.utc), 8, None)
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _newest(store: Any, collections: Iterable[str], rule: str, field: str, want: int) -> list:
    """The ``want`` newest values of ``field`` among the rule's items (every collection)."""
    values: list[Any] = []
    query = ItemQuery(filters={"_rule": rule}, sort=f"-{field}", limit=want)
    for collection in collections:
        page = store.page_items(collection, query)
        values += [item.get(field) for item in page.items if item.get(field) is not None]
    return values


def measure(
    store: Any,
    collections: Iterable[str],
    rule: str,
    checks: Mapping[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """The figures the freshness checks judge: ``last_new_at`` (the newest ``_first_seen``),
    ``new_items`` (first seen within ``min_new_items.within``, counted up to the count asked
    for, or to :data:`MAX_COUNT`), ``newest`` (the newest value of ``max_newest_age.field``)."""
    now = now or datetime.now(UTC)
    collections = list(collections)
    minimum = checks.get("min_new_items")
    want = min(int(minimum["count"]), MAX_COUNT) if minimum else 1
    seen = [t for t in map(parse_time, _newest(store, collections, rule, FIRST_SEEN, want)) if t]
    seen.sort(reverse=True)
    figures: dict[str, Any] = {"last_new_at": seen[0].isoformat() if seen else None}
    if minimum:
        since = now - timedelta(seconds=float(minimum["within"]))
        figures["new_items"] = sum(t >= since for t in seen[:want])
        figures["within"] = float(minimum["within"])
    age = checks.get("max_newest_age")
    if age:
        dated = [
            t for t in map(parse_time, _newest(store, collections, rule, age["field"], 5)) if t
        ]
        newest = max(dated) if dated else None
        figures["field"] = age["field"]
        figures["newest"] = newest.isoformat() if newest else None
    return figures


def _span(seconds: float) -> str:
    """``3d``, ``36h``, ``90m``, ``45s``: a period as the rule writes it.

    >>> _span(259200), _span(5400), _span(12)
    ('3d', '90m', '12s')
    """
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def judge(
    checks: Mapping[str, Any], figures: Mapping[str, Any], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Results of the freshness checks the rule declares, from :func:`measure`'s figures."""
    now = now or datetime.now(UTC)
    results = []
    minimum = checks.get("min_new_items")
    if minimum:
        count, within = int(minimum["count"]), float(minimum["within"])
        found = int(figures.get("new_items") or 0)
        last = figures.get("last_new_at")
        ok = found >= count
        message = "" if ok else (
            f"{found} new item(s) in the last {_span(within)}, below {count}"
            + (f"; the last new item was first seen {last}" if last else "; no item stored")
        )  # fmt: skip
        results.append({"name": "min_new_items", "ok": ok, "message": message,
                        "figure": {"new_items": found, "last_new_at": last}})  # fmt: skip
    age = checks.get("max_newest_age")
    if age:
        limit = float(age["age"])
        newest = parse_time(figures.get("newest"))
        if newest is None:
            ok, message, days = False, f"no item has a date in {age['field']}", None
        else:
            seconds = (now - newest).total_seconds()
            days = round(seconds / 86400, 1)
            ok = seconds <= limit
            message = "" if ok else (
                f"the newest {age['field']} is {newest.date().isoformat()} ({days} days old), "
                f"older than {_span(limit)}"
            )  # fmt: skip
        results.append({"name": "max_newest_age", "ok": ok, "message": message,
                        "figure": {"newest": figures.get("newest"), "age_days": days}})  # fmt: skip
    return results


def staleness(figures: Mapping[str, Any], now: datetime | None = None) -> float | None:
    """Seconds since the last new item (None: nothing stored): the board's sort key."""
    last = parse_time(figures.get("last_new_at"))
    if last is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - last).total_seconds())
