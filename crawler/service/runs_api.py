"""Runs API: run records (listed newest first, filtered by rule and status), one run whole,
its log in bounded chunks, and stopping a crawl the service started."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from crawler.service.access import Editor, read_access
from crawler.service.errors import cursor_message
from crawler.service.gate import GatedRoute
from crawler.service.items_api import page_limit
from crawler.service.run_views import detail, exit_code_of, summary
from crawler.store import CursorError

router = APIRouter(prefix="/api/runs", tags=["runs"], route_class=GatedRoute)

# Records read to fill one filtered page before answering with a cursor to go on from.
SCAN_MAX = 5000


def find_run(request: Request, run_id: str) -> tuple[dict[str, Any], bool]:
    """``(record, live)`` of a run: the store's record, or what the service knows of a crawl
    it started that has not recorded itself yet. 404 if neither."""
    launcher = request.app.state.launcher
    record = request.app.state.stores.get().get_run(run_id)
    own = launcher.find(run_id)
    if own is None and record is not None:
        own = launcher.find(record.get("schedule_run_id") or "")
    live = own is not None and launcher.is_running(own.run_id)
    if record is None:
        if own is None:
            raise HTTPException(404, f"no run {run_id!r}")
        record = own.record()
    elif live:
        record = {**record, "status": "running"}
    if own is not None and exit_code_of(record) is None and own.proc.poll() is not None:
        record = {**record, "exit_code": own.proc.returncode}  # ended, not yet recorded
    if own is not None and not record.get("log_file"):
        record = {**record, "log_file": str(own.log_file)}
    return record, live or record.get("status") == "running"


@router.get("", dependencies=[Depends(read_access)])
def list_runs(
    request: Request,
    rule: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    limit = page_limit(request, limit)
    store = request.app.state.stores.get()
    launcher = request.app.state.launcher
    items: list[dict[str, Any]] = []
    if cursor is None:  # crawls started here that have no record yet come first
        for run in list(launcher.running.values()):
            if rule not in (None, run.rule) or status not in (None, "running"):
                continue
            if store.get_run(run.run_id) is None:
                items.append(summary(run.record(), live=True))
    scanned = 0
    while len(items) < limit:
        want = limit - len(items)  # a filtered page then never holds more than asked
        try:
            records, cursor = store.runs_page(rule, want, cursor)
        except CursorError as exc:
            raise HTTPException(400, cursor_message(exc)) from None
        scanned += len(records)
        for record in records:
            live = launcher.is_running(record.get("schedule_run_id") or "")
            row = summary(record, live=live or None)
            if status is None or row["status"] == status:
                items.append(row)
        if cursor is None or scanned >= SCAN_MAX:
            break
    return {"items": items, "next": cursor}


@router.get("/{run_id}", dependencies=[Depends(read_access)])
def get_run(request: Request, run_id: str) -> dict[str, Any]:
    record, live = find_run(request, run_id)
    return detail(record, live)


def log_path(record: dict[str, Any]) -> Path | None:
    """The run's log file, if it is one (a ``.log`` regular file)."""
    name = record.get("log_file")
    if not isinstance(name, str) or not name.endswith(".log"):
        return None
    path = Path(name)
    return path if path.is_file() else None


def read_chunk(path: Path, offset: int, size: int) -> tuple[str, int]:
    """Text from ``offset``, at most ``size`` bytes, ending at a line end when it can; the
    offset to go on from."""
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read(size)
    if len(data) == size and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return data.decode("utf-8", "replace"), offset + len(data)


@router.get("/{run_id}/log", dependencies=[Depends(read_access)])
def get_log(request: Request, run_id: str, offset: int = 0) -> dict[str, Any]:
    if offset < 0:
        raise HTTPException(422, "offset must be 0 or more")
    record, _ = find_run(request, run_id)
    path = log_path(record)
    if path is None:
        raise HTTPException(404, f"run {run_id!r} has no log file here")
    text, next_offset = read_chunk(path, offset, request.app.state.config.log_chunk)
    return {"text": text, "offset": next_offset, "size": path.stat().st_size}


@router.post("/{run_id}/stop")
def stop_run(request: Request, run_id: str, who: Editor) -> dict[str, Any]:
    record, live = find_run(request, run_id)
    launcher = request.app.state.launcher
    own = launcher.find(run_id) or launcher.find(record.get("schedule_run_id") or "")
    if own is None:
        raise HTTPException(409, f"run {run_id!r} was not started by this service")
    if not launcher.stop(own.run_id):
        raise HTTPException(409, f"run {run_id!r} is not running")
    return {"stopping": True}
