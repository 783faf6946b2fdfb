"""Runs API: run records (listed newest first, filtered by rule and status), one run whole,
its log in bounded chunks (as text, or as records filtered by level and text: the log's own
file, or one worker's log on its node), and stopping a crawl the service started."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from crawler.nodes import NodeError
from crawler.rules.chains import chain_json
from crawler.runs import (
    QUERY_MAX,
    LogSource,
    level_rank,
    needle_of,
    read_page,
    text_of,
)
from crawler.service.access import Editor, read_access
from crawler.service.errors import cursor_message
from crawler.service.gate import GatedRoute
from crawler.service.items_api import page_limit
from crawler.service.rules_api import project_state
from crawler.service.run_views import detail, exit_code_of, status_of, summary
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
    if own is not None and own.triggered_by and not record.get("triggered_by"):
        record = {**record, "triggered_by": list(own.triggered_by), "trigger": "chain"}
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
    answer = detail(record, live)
    answer.update(chain_of(request, record))
    if record.get("workers"):  # a distributed run: its workers, with their live figures
        answer["workers"] = request.app.state.fleet.live_workers(record)
    return answer


def chain_of(request: Request, record: dict[str, Any]) -> dict[str, Any]:
    """A run's place in the chains (``after:``, crawler/schedule/chains.py): the runs that
    started it (their rule and status, for links) and its rule's predecessors and successors."""
    store = request.app.state.stores.get()
    runs = []
    triggered_by = record.get("triggered_by")
    for run_id in triggered_by if isinstance(triggered_by, list) else []:
        found = store.get_run(str(run_id)) or {}
        runs.append({"run_id": run_id, "rule": found.get("rule"), "status": status_of(found)})
    rules, _, _ = project_state(request)
    return {"triggered_by_runs": runs, "chain": chain_json(str(record.get("rule")), rules)}


def log_path(record: dict[str, Any]) -> Path | None:
    """The run's log file, if it is one (a ``.log`` regular file)."""
    name = record.get("log_file")
    if not isinstance(name, str) or not name.endswith(".log"):
        return None
    path = Path(name)
    return path if path.is_file() else None


class LocalLogFile:
    """A log file on this machine, read the way a worker's log on another node is."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, offset: int, size: int) -> tuple[bytes, int]:
        """At most ``size`` bytes from ``offset``, and the file's size."""
        with self.path.open("rb") as f:
            f.seek(offset)
            data = f.read(size)
            return data, os.fstat(f.fileno()).st_size


def text_chunk(data: bytes, offset: int, size: int) -> tuple[str, int]:
    """The text of ``data`` read from ``offset`` (``size`` asked for), ending at a line end when
    it can; the offset to go on from."""
    if len(data) == size and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    return data.decode("utf-8", "replace"), offset + len(data)


def read_chunk(path: Path, offset: int, size: int) -> tuple[str, int]:
    """Text from ``offset``, at most ``size`` bytes, ending at a line end when it can; the
    offset to go on from."""
    data, _ = LocalLogFile(path).read(offset, size)
    return text_chunk(data, offset, size)


def log_source(
    request: Request, run_id: str, record: dict[str, Any], worker: str | None
) -> LogSource:
    """What the log of a run is read from: one worker's log on its node (the fleet's), or the
    run's own log file here (the workers' merged log, for a run spread over several)."""
    path = log_path(record)
    if worker or (path is None and record.get("node")):  # a crawl on a node: its log is there
        fleet = getattr(request.app.state, "fleet", None)
        if fleet is None:
            raise HTTPException(404, "no nodes are configured")
        try:
            return fleet.log_source(record, worker or None)
        except LookupError as exc:
            said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
            line = said.strip().splitlines()[0] if said.strip() else ""
            raise HTTPException(404, line or f"run {run_id!r} has no worker {worker!r}") from None
    if path is None:
        raise HTTPException(404, f"run {run_id!r} has no log file here")
    return LocalLogFile(path)


@router.get("/{run_id}/log", dependencies=[Depends(read_access)])
def get_log(
    request: Request,
    run_id: str,
    offset: int = 0,
    level: str | None = None,
    q: Annotated[str | None, Query(max_length=QUERY_MAX)] = None,
    log_format: Annotated[Literal["text", "records"], Query(alias="format")] = "text",
    worker: str | None = None,
) -> dict[str, Any]:
    """A chunk of the run's log as text, or (``format=records``) as parsed records; ``level``
    (a minimum) and ``q`` (a text search) filter it, scanning a bounded number of chunks."""
    if offset < 0:
        raise HTTPException(422, "offset must be 0 or more")
    try:
        minimum, needle = level_rank(level), needle_of(q)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    record, _ = find_run(request, run_id)
    source = log_source(request, run_id, record, worker)
    chunk = request.app.state.config.log_chunk
    try:
        if log_format == "text" and not (minimum or needle):  # the answer as it always was
            data, size = source.read(offset, chunk)
            text, next_offset = text_chunk(data, offset, chunk)
            return {"text": text, "offset": next_offset, "size": size}
        page = read_page(source, offset, chunk, minimum, needle)
    except NodeError as exc:  # the worker's node does not answer
        raise HTTPException(502, str(exc)) from None
    if log_format == "text":
        return {"text": text_of(page.records), "offset": page.offset, "size": page.size}
    records = [r.as_dict() for r in page.records]
    return {"records": records, "offset": page.offset, "size": page.size}


@router.post("/{run_id}/stop")
def stop_run(request: Request, run_id: str, who: Editor) -> dict[str, Any]:
    record, live = find_run(request, run_id)
    launcher = request.app.state.launcher
    own = launcher.find(run_id) or launcher.find(record.get("schedule_run_id") or "")
    if own is None and live and (record.get("distributed") or record.get("node")):
        cancelled = request.app.state.fleet.stop(record)  # its jobs, on every node
        if not cancelled:
            raise HTTPException(409, f"run {run_id!r} has no job running on its nodes")
        return {"stopping": True, "cancelled": cancelled}
    if own is None:
        raise HTTPException(409, f"run {run_id!r} was not started by this service")
    if not launcher.stop(own.run_id):
        raise HTTPException(409, f"run {run_id!r} is not running")
    return {"stopping": True}
