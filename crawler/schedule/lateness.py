"""Scheduled runs that did not start, or did not end, on time: judged from a rule's schedules
and its run records by whoever watches (the data service, every ``ALERT_FLUSH_INTERVAL``), so
that a scheduler that is down, or a run that never ends, is noticed without anyone looking.

- ``schedule_start``: the schedule fired at ``due`` more than ``grace`` seconds ago and no run
  of the rule started since (a run may start a little early: a minute of tolerance).
- ``schedule_end``: the rule's latest run is still running past its schedule's ``timeout``
  (else past the schedule's next fire time after its start) plus ``grace``.

A paused or disabled schedule is not judged. The checks go to the alert desk, which says
"resolved" once the run starts or ends.

>>> from crawler.rules.model import Schedule
>>> hourly = Schedule(cron="0 * * * *")
>>> now = datetime(2026, 12, 6, 10, 20, tzinfo=UTC)
>>> [c["ok"] for c in late_checks(hourly, {"started_at": "2026-12-06T10:00:02Z", "status": "finished"}, now, 600)]
[True, True]
>>> late_checks(hourly, {"started_at": "2026-12-06T09:00:01Z", "status": "finished"}, now, 600)[0]["message"]
'the run due at 2026-12-06 10:00 UTC did not start (20 min ago, grace 10 min)'
>>> late_checks(hourly, {"started_at": "2026-12-06T09:00:01Z", "status": "running"}, now, 600)[1]["ok"]
False
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from crawler.rules.model import Schedule
from crawler.schedule.timing import next_fire

TOLERANCE = timedelta(seconds=60)


def previous_fire(schedule: Schedule, now: datetime) -> datetime:
    """The latest time at or before ``now`` the schedule fired, in UTC."""
    zone = ZoneInfo(schedule.timezone)
    it = croniter(schedule.cron, now.astimezone(zone) + timedelta(microseconds=1))
    return it.get_prev(datetime).astimezone(UTC)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def late_checks(
    schedule: Schedule, last: Mapping[str, Any] | None, now: datetime, grace: float
) -> list[dict[str, Any]]:
    """``[schedule_start, schedule_end]`` results (``{name, ok, message}``)."""
    due = previous_fire(schedule, now)
    started = _time((last or {}).get("started_at"))
    late = (now - due).total_seconds()
    if late < grace:
        start = {"name": "schedule_start", "ok": True, "message": "skipped: not due yet"}
    else:
        ok = started is not None and started >= due - TOLERANCE
        message = "" if ok else (
            f"the run due at {due:%Y-%m-%d %H:%M} UTC did not start ({_minutes(late)} ago, "
            f"grace {_minutes(grace)})"
        )  # fmt: skip
        start = {"name": "schedule_start", "ok": ok, "message": message}
    end = {"name": "schedule_end", "ok": True, "message": ""}
    if last is not None and last.get("status") == "running" and started is not None:
        if schedule.timeout:
            deadline = started + timedelta(seconds=schedule.timeout)
            why = f"its timeout of {_minutes(schedule.timeout)}"
        else:
            deadline = next_fire(schedule, started)
            why = "the next scheduled run"
        if (now - deadline).total_seconds() > grace:
            end = {
                "name": "schedule_end",
                "ok": False,
                "message": f"the run started at {started:%Y-%m-%d %H:%M} UTC is still running "
                f"past {why} ({deadline:%H:%M} UTC, grace {_minutes(grace)})",
            }
    return [start, end]
