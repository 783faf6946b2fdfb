"""When a schedule fires: cron expressions read in a time zone, with croniter.

>>> from datetime import datetime, UTC
>>> from crawler.rules.model import Schedule
>>> s = Schedule(cron="30 9 * * *", timezone="Europe/Paris")
>>> next_fire(s, datetime(2026, 7, 1, 8, 0, tzinfo=UTC)).isoformat()
'2026-07-02T07:30:00+00:00'
>>> missed_fire(s, datetime(2026, 7, 1, 0, 0, tzinfo=UTC), datetime(2026, 7, 3, 0, 0, tzinfo=UTC))
datetime.datetime(2026, 7, 2, 7, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from crawler.rules.model import Schedule


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    """The first time strictly after ``after`` the schedule fires, in UTC."""
    zone = ZoneInfo(schedule.timezone)
    it = croniter(schedule.cron, after.astimezone(zone))
    return it.get_next(datetime).astimezone(UTC)


def missed_fire(schedule: Schedule, since: datetime, now: datetime) -> datetime | None:
    """The latest time the schedule fired in ``(since, now]``, or None."""
    zone = ZoneInfo(schedule.timezone)
    it = croniter(schedule.cron, now.astimezone(zone))
    previous = it.get_prev(datetime).astimezone(UTC)
    if previous == now:  # croniter's get_prev is strictly before; now itself may be a fire time
        return now
    return previous if previous > since else None


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(when: datetime) -> str:
    """``2026-01-02T03:04:05.000Z``: how run records write times."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
