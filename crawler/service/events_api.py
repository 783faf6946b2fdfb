"""Server-sent events of a running crawl: ``progress`` (pages, items, errors, bans, rate,
queue), each new ``log`` line, and ``end`` (status, exit code) when the crawl is over.

Progress comes from the run record while the crawl keeps a live one (its counters win), and
otherwise from the log as it grows: the platform's "Progress: N pages (R/min), M items ..."
line (crawler/runs/progress.py), Scrapy's "Crawled N pages (at R pages/min), scraped M
items" line (hand-written spiders), and the ERROR lines. The stream reads the log from where it stood when
the client connected (the last ``SERVICE_LOG_CHUNK`` bytes first) and ends with the crawl, when
the client goes away, or after ``SERVICE_EVENTS_MAX_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from crawler.service.access import read_access
from crawler.service.run_views import exit_code_of, status_of
from crawler.service.runs_api import find_run, log_path

router = APIRouter(prefix="/api/runs", tags=["runs"])

LOGSTATS = re.compile(
    r"Crawled (\d+) pages \(at (\d+) pages/min\), scraped (\d+) items \(at (\d+) items/min\)"
)
PROGRESS = re.compile(
    r"Progress: (\d+) pages \(([\d.]+)/min\), (\d+) items \(([\d.]+)/min\), "
    r"(\d+) failed requests, (\d+) errors, (\d+) bans(?:, (\d+) queued)?"
)
MAX_LINE = 4000


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


class Progress:
    """Counters of a crawl, from its log lines and its run record."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {
            "pages": 0,
            "items": 0,
            "errors": 0,
            "bans": 0,
            "rate": 0,
            "queue": None,
        }

    def line(self, text: str) -> None:
        ours = PROGRESS.search(text)
        if ours:
            pages, rate, items, _, failed, errors, bans, queued = ours.groups()
            self.values.update(
                pages=int(pages), rate=round(float(rate)), items=int(items), bans=int(bans)
            )
            self.values["errors"] = int(failed) + int(errors)
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
        for name in ("pages", "items", "errors", "bans", "rate", "queue"):
            value = record.get(name)
            if isinstance(value, int | float) and (value or name in ("queue", "rate")):
                self.values[name] = value

    def snapshot(self) -> dict[str, Any]:
        return dict(self.values)


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
    while True:
        for line in await run_in_threadpool(follower.lines, config.log_chunk):
            progress.line(line)
            yield sse("log", {"line": line})
        progress.record(record)
        snapshot = progress.snapshot()
        if snapshot != last_sent:
            yield sse("progress", snapshot)
            last_sent = snapshot
        if not live:
            yield sse("end", {"status": status_of(record), "exit_code": exit_code_of(record)})
            return
        if time.monotonic() > deadline or await request.is_disconnected():
            return
        await asyncio.sleep(config.events_poll)
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
