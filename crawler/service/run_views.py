"""Run records as the API shows them, read defensively: records written by older versions
lack ``status``, ``exit_code``, ``coverage`` or ``log_file``, kept their coverage flat
(``{field: share}``, or ``coverage/<field>`` stats), counted ``errors`` as ERROR log lines only;
a scheduled run keeps its exit code as ``exit_status``, monitors may be in the stats only.

Every figure comes from crawler/runs (:func:`crawler.runs.run_errors`,
:func:`crawler.runs.run_bans`, :func:`crawler.runs.page_coverage`), the functions the CLI and
the monitors use: ``errors`` and ``error_rate`` here are the ones ``scrapy store runs`` and
``max_error_rate`` see.

>>> summary({"run_id": "r", "finish_reason": "finished", "exit_status": 0})["status"]
'finished'
>>> summary({"run_id": "r", "exit_status": 7})["status"], summary({"run_id": "r"})["status"]
('monitor_failed', 'unknown')
>>> coverage_of({"stats": {"coverage/title": 1.0}})["*"]["fields"]
{'title': 1.0}
>>> s = summary({"run_id": "r", "pages": 4, "stats": {"response_received_count": 4,
...              "rule/request_errors/http_404": 1, "log_count/ERROR": 0}})
>>> s["errors"], s["error_rate"]
(1, 0.25)
"""

from __future__ import annotations

from typing import Any

from crawler.core.exitcodes import STATUSES
from crawler.runs import item_type_coverage, page_coverage, run_bans, run_errors

COUNTERS = ("pages", "items", "new", "updated", "unchanged", "dead", "spilled", "bans")
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


def coverage_of(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per page type: ``{page: {"items", "item_type", "fields": {field: share}}}`` (old flat
    shares under the page type ``*``)."""
    return page_coverage(record)


def monitors_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    monitors = record.get("monitors")
    if isinstance(monitors, list):
        return monitors
    if isinstance(monitors, dict) and isinstance(monitors.get("results"), list):
        return monitors["results"]
    stats = record.get("stats") if isinstance(record.get("stats"), dict) else {}
    results = stats.get("monitors/results")
    return results if isinstance(results, list) else []


def is_live(record: dict[str, Any]) -> bool:
    return record.get("status") in LIVE_STATUSES


def summary(record: dict[str, Any], live: bool | None = None) -> dict[str, Any]:
    """The fields of a run in a listing: its counters, and its errors and rates as
    crawler/runs/figures.py counts them."""
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
        out[name] = value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    errors = run_errors(record)
    out.update(errors.counters())
    out["error_rate"] = errors.rate
    out["ban_rate"] = run_bans(record).rate
    out["live"] = live
    if record.get("schedule_run_id"):
        out["schedule_run_id"] = record["schedule_run_id"]
    return out


def detail(record: dict[str, Any], live: bool | None = None) -> dict[str, Any]:
    """The whole run: the summary plus stats, coverage (per page type and per item type),
    what its progress is measured against, monitor results and the log file."""
    out = summary(record, live)
    out["stats"] = record.get("stats") if isinstance(record.get("stats"), dict) else {}
    coverage = coverage_of(record)
    out["coverage"] = coverage
    out["coverage_item_types"] = item_type_coverage(coverage)
    expected = record.get("expected")
    out["expected"] = expected if isinstance(expected, dict) else None
    out["monitors"] = monitors_of(record)
    out["log_file"] = record.get("log_file")
    out["updated_at"] = record.get("updated_at")
    for name in ("trigger", "attempt", "store_uri", "notes", "node", "distributed", "workers",
                 "lost_workers", "status_reason", "triggered_by"):  # fmt: skip
        if name in record:
            out[name] = record[name]
    return out
