"""Run records as the API shows them, read defensively: records written by older versions
lack ``status``, ``exit_code``, ``coverage`` or ``log_file``, a scheduled run keeps its exit
code as ``exit_status``, monitors may be in the stats only.

>>> summary({"run_id": "r", "finish_reason": "finished", "exit_status": 0})["status"]
'finished'
>>> summary({"run_id": "r", "exit_status": 7})["status"], summary({"run_id": "r"})["status"]
('monitor_failed', 'unknown')
>>> coverage_of({"stats": {"coverage/title": 1.0, "coverage/price": 0.5}})
{'price': 0.5, 'title': 1.0}
"""

from __future__ import annotations

from typing import Any

from crawler.core.exitcodes import STATUSES
from crawler.runs import field_coverage

COUNTERS = ("pages", "items", "new", "updated", "unchanged", "dead", "spilled", "errors", "bans")
LIVE_STATUSES = frozenset({"running", "starting"})


def exit_code_of(record: dict[str, Any]) -> int | None:
    for name in ("exit_code", "exit_status"):
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def status_of(record: dict[str, Any], live: bool = False) -> str:
    status = record.get("status")
    if isinstance(status, str) and status:
        return status
    if live:
        return "running"
    code = exit_code_of(record)
    if code is not None:
        return STATUSES.get(code, "failed")
    stats = record.get("stats") if isinstance(record.get("stats"), dict) else {}
    if (stats.get("monitors/failed") or 0) > 0:
        return "monitor_failed"
    reason = record.get("finish_reason")
    if reason == "finished":
        return "finished"
    if reason == "shutdown":
        return "interrupted"
    return "unknown" if not reason else "failed"


def coverage_of(record: dict[str, Any]) -> dict[str, float]:
    """``{field: share}``: the record's own coverage when flat, else from its stats (either
    ``coverage/<field>`` shares or per page type counts, :mod:`crawler.runs.coverage`)."""
    coverage = record.get("coverage")
    if isinstance(coverage, dict) and all(isinstance(v, int | float) for v in coverage.values()):
        return {str(k): v for k, v in coverage.items()}
    stats = record.get("stats") if isinstance(record.get("stats"), dict) else {}
    return field_coverage(stats)


def monitors_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    monitors = record.get("monitors")
    if isinstance(monitors, list):
        return monitors
    stats = record.get("stats") if isinstance(record.get("stats"), dict) else {}
    results = stats.get("monitors/results")
    return results if isinstance(results, list) else []


def is_live(record: dict[str, Any]) -> bool:
    return record.get("status") in LIVE_STATUSES


def summary(record: dict[str, Any], live: bool | None = None) -> dict[str, Any]:
    """The fields of a run in a listing."""
    live = is_live(record) if live is None else live
    out: dict[str, Any] = {
        "run_id": record.get("run_id"),
        "rule": record.get("rule"),
        "status": status_of(record, live),
        "exit_code": exit_code_of(record),
        "started_at": record.get("started_at"),
        "finished_at": record.get("finished_at") if not live else None,
        "finish_reason": record.get("finish_reason"),
    }
    for name in COUNTERS:
        value = record.get(name)
        out[name] = value if isinstance(value, int | float) else 0
    out["live"] = live
    if record.get("schedule_run_id"):
        out["schedule_run_id"] = record["schedule_run_id"]
    return out


def detail(record: dict[str, Any], live: bool | None = None) -> dict[str, Any]:
    """The whole run: the summary plus stats, coverage, monitor results and the log file."""
    out = summary(record, live)
    out["stats"] = record.get("stats") if isinstance(record.get("stats"), dict) else {}
    out["coverage"] = coverage_of(record)
    out["monitors"] = monitors_of(record)
    out["log_file"] = record.get("log_file")
    for name in ("trigger", "attempt", "store_uri", "notes"):
        if name in record:
            out[name] = record[name]
    return out
