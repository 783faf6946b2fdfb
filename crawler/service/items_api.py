"""Items API: collections, keyset-paged item listings, one item with its history, dead
letters (listing; replay lives in :mod:`crawler.service.dead_letter_replay`), streamed exports
and the change feed.

Reads change nothing: a listing sorts and filters by the fields its collection has indexes for
(:mod:`crawler.service.indexes`), any other is a 400 naming them; a cursor the store did not
hand out is a 400 too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from crawler.service.access import Editor, read_access
from crawler.service.dead_fields import RuleLines
from crawler.service.dead_letter_replay import replay, rule_routes
from crawler.service.errors import cursor_message
from crawler.service.exports import EXPORT_FORMATS, export_stream
from crawler.service.gate import GatedRoute
from crawler.service.indexes import UnknownField
from crawler.store import (
    DEAD_SUFFIX,
    DUPLICATE_OF_FIELD,
    HISTORY_SUFFIX,
    NEAR_DUP_SIGNATURES,
    RUNS_COLLECTION,
    CursorError,
    ItemQuery,
    Store,
    check_field,
    check_match,
    duplicate_cluster,
    filter_value,
    text_terms,
)

router = APIRouter(prefix="/api", tags=["items"], route_class=GatedRoute)
READ = [Depends(read_access)]

FILTER_PREFIX = "f."
# ``f.title~contains=dress`` (any case), ``f.title~prefix=Red`` (exact case)
MATCHES = ("contains", "prefix")
# ``duplicates=``: only the near-duplicates of earlier items, or none of them
DUPLICATES = {"only": True, "hide": False}


def store_of(request: Request) -> Store:
    return request.app.state.stores.get()


def item_collections(store: Store) -> list[str]:
    names = store.collections()
    return [
        n
        for n in names
        if not n.endswith((DEAD_SUFFIX, HISTORY_SUFFIX))
        and n not in (RUNS_COLLECTION, NEAR_DUP_SIGNATURES)
    ]


def existing(store: Store, name: str) -> str:
    if name not in store.collections():
        raise HTTPException(404, f"no collection named {name!r}")
    return name


def page_limit(request: Request, limit: int | None) -> int:
    maximum = request.app.state.config.page_max
    if limit is None:
        return min(50, maximum)
    if limit < 1 or limit > maximum:
        raise HTTPException(422, f"limit must be between 1 and {maximum}")
    return limit


def _iso(text: str | None, name: str) -> str | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(422, f"{name} is not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


def item_query(
    request: Request,
    collection: str,
    limit: int | None,
    cursor: str | None,
    sort: str | None,
    count: bool,
    since: str | None,
    until: str | None,
    duplicates: str | None = None,
    q: str | None = None,
) -> ItemQuery:
    if duplicates is not None and duplicates not in DUPLICATES:
        raise HTTPException(422, f"duplicates must be one of {', '.join(DUPLICATES)}")
    filters = {}
    matches: dict[str, dict[str, str]] = {kind: {} for kind in MATCHES}
    for name, value in request.query_params.multi_items():
        if name.startswith(FILTER_PREFIX):
            field, _, kind = name[len(FILTER_PREFIX) :].partition("~")
            try:
                check_field(field)
                if kind and kind not in MATCHES:
                    raise ValueError(f"{name[:140]!r}: after ~ comes {' or '.join(MATCHES)}")
                if kind:
                    matches[kind][field] = check_match(value)
                else:
                    filters[field] = filter_value(value)
            except ValueError as exc:
                raise HTTPException(400, str(exc)) from None
    if q is not None:
        try:
            text_terms(q)
        except ValueError as exc:
            raise HTTPException(400, f"q: {exc}") from None
    if sort:
        try:
            check_field(sort.removeprefix("-"))
        except ValueError as exc:
            raise HTTPException(400, f"sort: {exc}") from None
    try:
        request.app.state.indexes.check(
            collection,
            [*filters, *matches["contains"], *matches["prefix"]]
            + ([sort.removeprefix("-")] if sort else []),
        )
    except UnknownField as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        return ItemQuery(
            filters=filters,
            exists={DUPLICATE_OF_FIELD: DUPLICATES[duplicates]} if duplicates else {},
            since=_iso(since, "since"),
            until=_iso(until, "until"),
            sort=sort or None,
            limit=page_limit(request, limit),
            cursor=cursor,
            count=count,
            text=q,
            contains=matches["contains"],
            prefix=matches["prefix"],
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/collections", dependencies=READ)
def collections(request: Request) -> dict[str, Any]:
    """Each collection: its count, dead letters, whether it keeps history, and the fields its
    listings may be sorted and filtered by."""
    store = store_of(request)
    indexes = request.app.state.indexes
    names = set(store.collections())
    out = []
    for name in item_collections(store):
        out.append(
            {
                "name": name,
                "count": store.count(name),
                "dead": store.count(name + DEAD_SUFFIX) if name + DEAD_SUFFIX in names else 0,
                "history": name + HISTORY_SUFFIX in names,
                "fields": indexes.fields(name),
            }
        )
    for dead in sorted(n for n in names if n.endswith(DEAD_SUFFIX)):
        base = dead[: -len(DEAD_SUFFIX)]
        if base not in names:  # every item of a collection went to the dead letters
            out.append(
                {"name": base, "count": 0, "dead": store.count(dead), "history": False,
                 "fields": indexes.fields(base)}
            )  # fmt: skip
    return {"items": out}


@router.get("/collections/{name}/items", dependencies=READ)
def list_items(
    request: Request,
    name: str,
    limit: int | None = None,
    cursor: str | None = None,
    sort: str | None = None,
    count: bool = False,
    since: str | None = None,
    until: str | None = None,
    duplicates: str | None = Query(None, description="only | hide: near-duplicates"),
    q: str | None = Query(None, description="text search: items holding every word"),
) -> dict[str, Any]:
    store = store_of(request)
    existing(store, name)
    query = item_query(request, name, limit, cursor, sort, count, since, until, duplicates, q)
    try:
        page = store.page_items(name, query)
    except CursorError as exc:
        raise HTTPException(400, cursor_message(exc)) from None
    answer: dict[str, Any] = {"items": page.items, "next": page.next}
    if query.count:
        answer["count"] = page.count
    return answer


@router.get("/collections/{name}/items/{key:path}", dependencies=READ)
def get_item(request: Request, name: str, key: str) -> dict[str, Any]:
    store = store_of(request)
    existing(store, name)
    item = store.get_item(name, key)
    if item is None:
        raise HTTPException(404, f"no item with key {key!r} in {name!r}")
    history = store.item_history(name, key, request.app.state.config.history_max)
    # near-duplicates: the earliest item it repeats, the others that repeat that one (bounded)
    cluster_max = request.app.state.settings.getint("NEAR_DUP_CLUSTER_MAX")
    cluster = duplicate_cluster(store, name, key, item, cluster_max)
    return {"item": item, "history": history, "cluster": cluster}


@router.get("/collections/{name}/dead", dependencies=READ)
def list_dead(
    request: Request, name: str, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    store = store_of(request)
    try:
        page = store.dead_page(name, page_limit(request, limit), cursor)
    except CursorError as exc:
        raise HTTPException(400, cursor_message(exc)) from None
    # the fields each failed on, with their line in its rule's file (crawler/service/dead_fields.py)
    RuleLines(request.app.state.config.rules_dir).annotate(page.items)
    return {"items": page.items, "next": page.next}


@router.get("/collections/{name}/export", dependencies=READ)
def export(
    request: Request,
    name: str,
    format: str = Query("jsonl", description=", ".join(EXPORT_FORMATS)),
    sort: str | None = None,
    since: str | None = None,
    until: str | None = None,
    duplicates: str | None = Query(None, description="only | hide: near-duplicates"),
    q: str | None = Query(None, description="text search, as in the listing"),
) -> StreamingResponse:
    if format not in EXPORT_FORMATS:
        raise HTTPException(422, f"format must be one of {', '.join(EXPORT_FORMATS)}")
    existing(store_of(request), name)
    page_max = request.app.state.config.page_max
    query = item_query(request, name, page_max, None, sort, False, since, until, duplicates, q)
    stores = request.app.state.stores
    media, chunks = export_stream(lambda: stores.get(), name, query, format)
    filename = f"{name}.{format}"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/changes", dependencies=READ)
def changes(
    request: Request, collection: str, cursor: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    store = store_of(request)
    existing(store, collection)
    config = request.app.state.config
    before = datetime.now(UTC) - timedelta(seconds=config.changes_settle)
    stamp = before.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    try:
        page = store.changes(collection, page_limit(request, limit), cursor, before=stamp)
    except CursorError as exc:
        raise HTTPException(400, cursor_message(exc)) from None
    return {"items": page.items, "next": page.next}


class ReplayRequest(BaseModel):
    ids: list[str] | None = Field(default=None, max_length=10_000)
    all: bool = False


@router.post("/collections/{name}/dead/replay")
def replay_dead(
    request: Request,
    name: str,
    body: ReplayRequest,
    who: Editor,
) -> dict[str, Any]:
    """Validate dead letters again (the rule or item type may have been fixed): those that
    pass are stored, the others stay, with their new reason."""
    store = store_of(request)
    maximum = request.app.state.config.replay_max
    if body.all:
        docs: list[dict[str, Any]] = []
        cursor = None
        while len(docs) < maximum:
            page = store.dead_page(name, min(500, maximum - len(docs)), cursor)
            docs += page.items
            cursor = page.next
            if cursor is None:
                break
    elif body.ids:
        docs = store.dead_by_ids(name, body.ids[:maximum])
    else:
        raise HTTPException(422, 'give "ids": [...] or "all": true')
    outcome = replay(store, name, docs, rule_routes(request.app.state.settings))
    return {
        "replayed": outcome.replayed,
        "still_dead": outcome.still_dead,
        "reasons": outcome.reasons,
    }
