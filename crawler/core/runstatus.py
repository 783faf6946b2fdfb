"""How a crawl's final stats become its status and exit code (the table is
crawler/core/exitcodes.py).

One function, :func:`run_status`, decides; the run record (crawler/runs/recorder.py), the
``scrapy crawl`` exit code (crawler/commands/crawl.py) and ``scrapy demo`` all ask it, so the
record and the exit code always agree. The first rule that matches wins:

1. ``start_error``: a component refused to start (stat ``rule/start_error`` or
   ``crawl/start_error``: a missing argument or variable, a store or Redis unreachable), or
   no start URL was valid;
2. ``blocked``: the OAuth middleware stopped the crawl (``oauth/stopped``; ``not_configured``
   is a start error), the anti-ban layer did (``antiban/stopped``, a finish reason
   ``antiban_*``), or bans used up the retries of requests and no page was parsed at all;
3. ``data_not_stored``: items spilled (``store/spilled``), lost (``store/lost``) or left in
   the write-ahead journal (``store/journal/kept``) instead of stored;
4. ``stalled``: stopped by the stall watch (finish reason ``stalled``: no progress);
5. ``interrupted``: stopped by a signal (finish reason ``shutdown``) or by
   ``CLOSESPIDER_TIMEOUT``;
6. ``failed``: any finish reason not listed as a normal end, too many errors
   (``closespider_errorcount``), or nothing downloaded because every request failed;
7. ``monitor_failed``: stat ``monitors/failed`` above 0 (set by the rule's monitors);
8. ``finished``.

>>> run_status({"finish_reason": "finished", "response_received_count": 3}).status
'finished'
>>> run_status({"rule/start_error": "missing argument: site"}, "finished")
RunStatus(status='start_error', exit_code=4, why='missing argument: site')
>>> run_status({"store/spilled": 4}, "finished").why
'4 item(s) spilled, not stored: replay them with `scrapy store replay`'
>>> run_status({}, "shutdown").exit_code
8
>>> run_status({"monitors/failed": 2}, "finished")[:2]
('monitor_failed', 7)
>>> run_status({"oauth/stopped": "invalid_grant"}, "oauth_invalid_grant")[:2]
('blocked', 5)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from crawler.core.exitcodes import EXIT_CODES

#: Finish reasons of a crawl that ended as it should (limits the user set included).
NORMAL_ENDS = frozenset(
    {"finished", "closespider_itemcount", "closespider_pagecount", "closespider_timeout_no_item"}
)
INTERRUPTED_ENDS = frozenset({"shutdown", "closespider_timeout"})
#: Finish reasons that components give when they refuse to start.
START_ENDS = frozenset({"start_error", "store_unreachable", "redis_unreachable"})
START_ERROR_STATS = ("rule/start_error", "crawl/start_error")


class RunStatus(NamedTuple):
    status: str  # a key of crawler.core.exitcodes.EXIT_CODES
    exit_code: int
    why: str  # one line for logs and the run record; "" when finished


def _status(status: str, why: str) -> RunStatus:
    return RunStatus(status, EXIT_CODES[status], why)


def _count(stats: Mapping[str, Any], key: str) -> int:
    value = stats.get(key) or 0
    return value if isinstance(value, int) else 0


def _parsed_pages(stats: Mapping[str, Any]) -> int:
    rule_pages = sum(
        v for k, v in stats.items() if k.startswith("rule/pages/") and isinstance(v, int)
    )
    return rule_pages or _count(stats, "item_scraped_count")


def run_status(stats: Mapping[str, Any], reason: str | None = None) -> RunStatus:
    """The status of a crawl from its stats and finish reason (default: the stats' own)."""
    reason = reason or stats.get("finish_reason") or ""
    for key in START_ERROR_STATS:
        if stats.get(key):
            return _status("start_error", str(stats[key]))
    if reason in START_ENDS:
        return _status("start_error", f"the crawl could not start ({reason})")
    bad_starts = _count(stats, "rule/request_errors/bad_start_url")
    if bad_starts and not _count(stats, "downloader/request_count"):
        return _status("start_error", f"no valid start URL ({bad_starts} refused)")
    oauth = stats.get("oauth/stopped")
    if oauth == "not_configured":
        return _status("start_error", "the OAuth provider of the rule is not configured")
    if oauth or reason.startswith("oauth_"):
        return _status(
            "blocked",
            f"the authorization failed ({oauth or reason}): run `scrapy auth authorize` again",
        )
    stopped = stats.get("antiban/stopped")
    if stopped or reason.startswith("antiban_"):
        return _status("blocked", f"the anti-ban layer stopped the crawl ({stopped or reason})")
    gave_up = _count(stats, "antiban/retries/max_reached")
    if gave_up and not _parsed_pages(stats):
        return _status("blocked", f"banned: {gave_up} request(s) gave up, no page parsed")
    not_stored = _not_stored(stats)
    if not_stored:
        return _status("data_not_stored", not_stored)
    if reason == "stalled":
        idle = stats.get("stall/idle_seconds")
        return _status("stalled", f"stopped: no page or item for {idle} s (stalled)")
    if reason in INTERRUPTED_ENDS:
        return _status("interrupted", f"stopped before it finished ({reason})")
    if reason not in NORMAL_ENDS:
        return _status("failed", f"the crawl ended with {reason or 'no finish reason'}")
    failed_downloads = _count(stats, "downloader/exception_count")
    if failed_downloads and not _count(stats, "response_received_count"):
        return _status("failed", f"no page downloaded: {failed_downloads} request(s) failed")
    monitors = _count(stats, "monitors/failed")
    if monitors:
        return _status("monitor_failed", f"{monitors} monitor(s) failed")
    return _status("finished", "")


def _not_stored(stats: Mapping[str, Any]) -> str:
    spilled = _count(stats, "store/spilled")
    lost = _count(stats, "store/lost")
    kept = _count(stats, "store/journal/kept")
    parts = []
    if spilled:
        parts.append(
            f"{spilled} item(s) spilled, not stored: replay them with `scrapy store replay`"
        )
    if kept:
        parts.append(f"{kept} item(s) left in the journal: `scrapy store replay` writes them")
    if lost:
        parts.append(f"{lost} item(s) lost")
    return "; ".join(parts)
