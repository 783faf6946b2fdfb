"""Server-sent events of a running crawl: ``progress`` (pages, items, errors, bans, rate,
queue, how long it has run, and its total, ETA and share done when a total is known), each new
``log`` line, and ``end`` (status, exit code) when the crawl is over.

The first ``progress`` event goes out at once, then one at least every
``SERVICE_EVENTS_PROGRESS_EVERY`` seconds (1) while the crawl runs, changed or not, so that a
run page's duration, rate and ETA tick from its first second. Its figures come from the run
record while the crawl keeps one (its counters win; the crawls the service starts update it
every ``SERVICE_RUN_UPDATE_INTERVAL`` seconds, 1), counted as everywhere else
(:func:`crawler.runs.run_errors`), and otherwise from the log as it grows: the platform's
"Progress: N pages (R/min), M items ..." line (crawler/runs/progress.py, in its current and
its earlier form), Scrapy's "Crawled N pages (at R pages/min), scraped M items" line
(hand-written spiders), and the ERROR lines. The stream reads the log from where it stood when
the client connected (the last ``SERVICE_LOG_CHUNK`` bytes first) and ends with the crawl, when
the client goes away, or after ``SERVICE_EVENTS_MAX_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from crawler.runs import eta_seconds, rate_of, run_errors
from crawler.service.access import read_access
from crawler.service.gate import GatedRoute
from crawler.service.run_views import exit_code_of, status_of
from crawler.service.runs_api import find_run, log_path

router = APIRouter(prefix="/api/runs", tags=["runs"], route_class=GatedRoute)

LOGSTATS = re.compile(
    r"Crawled (\d+) pages \(at (\d+) pages/min\), scraped (\d+) items \(at (\d+) items/min\)"
)
_HEAD = r"Progress: (\d+) pages \(([\d.]+)/min\), (\d+) items \(([\d.]+)/min\), "
_TAIL = r", (\d+) bans(?:, (\d+) queued)?"
PROGRESS = re.compile(_HEAD + r"(\d+) errors \((\d+) failed requests\)" + _TAIL)
PROGRESS_BEFORE = re.compile(_HEAD + r"(\d+) failed requests, (\d+) errors" + _TAIL)
MAX_LINE = 4000
COUNTERS = ("pages", "items", "errors", "bans")
TICKING = frozenset({"elapsed", "eta", "rate"})  # move with the clock alone


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class Progress:
    """Where a crawl stands, from its log lines and its run record."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {name: 0 for name in COUNTERS}
        self.values.update(rate=None, queue=None)
        self.recorded = False  # the counters come from the crawl's own record
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.expected: dict[str, Any] | None = None

    def line(self, text: str) -> None:
        ours = PROGRESS.search(text)
        before = None if ours else PROGRESS_BEFORE.search(text)
        if ours or before:
            pages, rate, items, _, first, second, bans, queued = (ours or before).groups()
            errors = int(first) if ours else int(first) + int(second)
            self.values.update(pages=int(pages), rate=round(float(rate)), items=int(items))
            self.values.update(errors=errors, bans=int(bans))
            if queued is not None:
                self.values["queue"] = int(queued)
            return
        match = LOGSTATS.search(text)
        if match:
            self.values["pages"] = int(match.group(1))
            self.values["rate"] = int(match.group(2))
            self.values["items"] = int(match.group(3))
        if "] ERROR:" in text or " ERROR: " in text:
            self.values["errors"] += 1

    def record(self, record: dict[str, Any]) -> None:
        self.started_at = _time(record.get("started_at")) or self.started_at
        self.finished_at = _time(record.get("finished_at"))
        if not record.get("stats") or not isinstance(record.get("pages"), int):
            return  # not the crawl's own record (the service's, the scheduler's): no counters
        self.recorded = True
        self.values.update(
            pages=record["pages"],
            items=record.get("items") or 0,
            errors=run_errors(record).total,
            bans=record.get("bans") or 0,
        )
        if isinstance(record.get("queued"), int):
            self.values["queue"] = record["queued"]
        expected = record.get("expected")
        if isinstance(expected, dict) and isinstance(expected.get("total"), int):
            self.expected = expected

    def snapshot(self, now: datetime | None = None) -> dict[str, Any]:
        out = dict(self.values)
        elapsed = None
        if self.started_at is not None:
            end = self.finished_at or now or datetime.now(UTC)
            elapsed = round(max(0.0, (end - self.started_at).total_seconds()), 1)
        out["elapsed"] = elapsed
        out["error_rate"] = rate_of(out["errors"], out["pages"])
        if self.recorded and elapsed:
            out["rate"] = round(out["pages"] * 60 / elapsed, 1)  # pages/min since the start
        out.update(total=None, done=None, unit=None, eta=None)
        if self.expected is not None:
            unit = self.expected.get("unit") or "pages"
            done = out["items"] if unit == "items" else out["pages"]
            total = self.expected["total"]
            out.update(total=total, done=done, unit=unit)
            out["eta"] = eta_seconds(done, total, elapsed or 0.0)
        return out


class LogFollower:
    """New complete lines of a growing file."""

    def __init__(self, path: Path | None, start_tail: int) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        if path is not None:
            size = path.stat().st_size
            self.offset = max(0, size - start_tail)
            if self.offset:  # start at a line boundary
                with path.open("rb") as f:
                    f.seek(self.offset)
                    head = f.readline()
                self.offset += len(head)

    def lines(self, limit: int) -> list[str]:
        if self.path is None:
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read(limit)
        self.offset += len(data)
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        if len(self.partial) > MAX_LINE:
            complete.append(self.partial)
            self.partial = b""
        return [line.decode("utf-8", "replace")[:MAX_LINE] for line in complete]


async def run_events(
    request: Request, run_id: str, record: dict[str, Any], live: bool
) -> AsyncIterator[str]:
    """The stream of a run found before it started (``find_run``), looked up again each poll."""
    config = request.app.state.config
    follower = LogFollower(log_path(record), config.log_chunk)
    progress = Progress()
    deadline = time.monotonic() + config.events_max_seconds
    last_sent: dict[str, Any] | None = None
    sent_at = float("-inf")
    while True:
        for line in await run_in_threadpool(follower.lines, config.log_chunk):
            progress.line(line)
            yield sse("log", {"line": line})
        progress.record(record)
        snapshot = progress.snapshot()
        steady = {k: v for k, v in snapshot.items() if k not in TICKING}
        if steady != last_sent or time.monotonic() - sent_at >= config.events_progress_every:
            yield sse("progress", snapshot)
            last_sent, sent_at = steady, time.monotonic()
        if not live:
            yield sse("end", {"status": status_of(record), "exit_code": exit_code_of(record)})
            return
        if time.monotonic() > deadline or await request.is_disconnected():
            return
        due = config.events_progress_every - (time.monotonic() - sent_at)
        await asyncio.sleep(max(0.01, min(config.events_poll, due)))
        yield ": keep-alive\n\n"
        try:
            record, live = await run_in_threadpool(find_run, request, run_id)
        except HTTPException as exc:  # the run's record went away mid-stream: say so, end
            yield sse("end", {"status": "unknown", "exit_code": None, "error": exc.detail})
            return
        if follower.path is None:
            follower = LogFollower(log_path(record), config.log_chunk)


@router.get("/{run_id}/events", dependencies=[Depends(read_access)])
async def events(request: Request, run_id: str) -> StreamingResponse:
    record, live = await run_in_threadpool(find_run, request, run_id)  # 404 before the stream
    return StreamingResponse(
        run_events(request, run_id, record, live),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
