"""What one run changed: ``GET /api/runs/{run_id}/changes`` lists the items of a collection its
rule writes that the run stored new or updated (keyset pages), each with the version it replaced
when the collection keeps history, so the dashboard can show the diff.

An item belongs to the run when it was crawled within the run's window (``_crawled_at`` from
the run's ``started_at`` to its ``finished_at``, or on while it runs) and written then
(``_updated_at`` from ``started_at``): an unchanged item is not written again, so it is not
listed. It is new when it was first seen within the run, else updated. An item the run changed
and a later run changed again belongs to the later run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from crawler.service.access import read_access
from crawler.service.dead_letter_replay import rule_routes
from crawler.service.errors import cursor_message
from crawler.service.gate import GatedRoute
from crawler.service.items_api import item_collections, page_limit, store_of
from crawler.service.runs_api import find_run
from crawler.store import HISTORY_SUFFIX, CursorError, ItemQuery

router = APIRouter(prefix="/api/runs", tags=["runs"], route_class=GatedRoute)


def _time(text: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset; naive is UTC), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _naive(when: datetime) -> str:
    """``when`` as the listing's ``since``/``until`` take it (UTC, seconds, no offset)."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def rule_collections(request: Request, rule: Any) -> list[str]:
    """The collections the rule's page types store items in (its rule compiled now), the ones
    the store has; [] when the rule is gone or does not compile."""
    try:
        routes = rule_routes(request.app.state.settings)(rule) or {}
    except Exception:  # a broken rules directory: the caller names the collection itself
        routes = {}
    have = set(item_collections(store_of(request)))
    return sorted({r.collection for r in routes.values() if r.collection in have})


@router.get("/{run_id}/changes", dependencies=[Depends(read_access)])
def run_changes(
    request: Request,
    run_id: str,
    collection: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The items ``run_id`` stored new or updated in ``collection`` (by default the first its
    rule writes): ``{run, collection, collections, items: [{change: new|updated, item,
    previous}], next}``; ``previous`` is the version replaced (null when new or not kept)."""
    record, _ = find_run(request, run_id)
    started = _time(record.get("started_at"))
    if started is None:
        raise HTTPException(409, f"run {run_id!r} has no start time")
    # the store's times have milliseconds: a write in the run's first millisecond counts
    started = started.replace(microsecond=started.microsecond // 1000 * 1000)
    finished = _time(record.get("finished_at"))
    store = store_of(request)
    collections = rule_collections(request, record.get("rule"))
    name = collection or (collections[0] if collections else None)
    run = {k: record.get(k) for k in ("run_id", "rule", "status", "started_at", "finished_at")}
    answer: dict[str, Any] = {"run": run, "collection": name, "collections": collections}
    if name is None:
        return {**answer, "items": [], "next": None}
    if name not in store.collections():
        raise HTTPException(404, f"no collection named {name!r}")
    query = ItemQuery(
        since=_naive(started),
        until=_naive(finished + timedelta(seconds=1)) if finished else None,
        limit=page_limit(request, limit),
        cursor=cursor,
    )
    try:
        page = store.page_items(name, query)
    except CursorError as exc:
        raise HTTPException(400, cursor_message(exc)) from None
    history = name + HISTORY_SUFFIX in store.collections()
    items = []
    for item in page.items:
        updated = _time(item.get("_updated_at"))
        if updated is not None and updated < started:
            continue  # crawled in the run's window but not written by it
        first = _time(item.get("_first_seen"))
        new = first is None or first >= started
        previous = None
        if not new and history:
            older = store.item_history(name, str(item.get("_key")), 1)
            previous = older[0] if older else None
        items.append({"change": "new" if new else "updated", "item": item, "previous": previous})
    return {**answer, "items": items, "next": page.next}
