"""Deleting a collection: ``DELETE /api/collections/{name}?confirm={name}``, admin only.

The items go with their history, their dead letters, and the indexes recorded for them (an
admin's, ``SERVICE_DATA_DIR/indexes.json``); run records and other collections stay. The
confirmation is the collection's name typed again (400 otherwise); a name of the store's own
(``_runs``, ``_near_duplicates``) or a part of a collection (``books__dead``) is a 400 too.

Every deletion is recorded before the answer: one JSON line appended to
``SERVICE_DATA_DIR/collection-drops.jsonl`` (when, who, what, how many documents) and one INFO
log line. The file is opened before anything is deleted, so a deletion that cannot be recorded
does not happen. ``scrapy store drop NAME --yes`` records its deletions the same way.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from crawler.service.access import Admin
from crawler.service.gate import GatedRoute
from crawler.store import Store, dropped_parts, utc_now_iso

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["items"], route_class=GatedRoute)
AUDIT_FILE = "collection-drops.jsonl"
WHO_FIELDS = ("id", "name", "role", "via")


def drop_recorded(
    store: Store, name: str, who: dict[str, Any], data_dir: Path, indexes: Any = None
) -> dict[str, Any]:
    """Drop ``name`` and record it (``data_dir / AUDIT_FILE``, the log); the record.
    ValueError for a name that is not an item collection's."""
    dropped_parts(name)
    path = Path(data_dir) / AUDIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as audit:  # opened first: no deletion unrecorded
        counts = store.drop_collection(name)
        forgotten = indexes.forget(name) if indexes is not None else 0
        record = {
            "at": utc_now_iso(),
            "collection": name,
            "by": {k: str(who[k])[:200] for k in WHO_FIELDS if who.get(k) is not None},
            **counts,
            "indexes": forgotten,
            "store": store.display_uri,
        }
        audit.write(json.dumps(record, ensure_ascii=False) + "\n")
        audit.flush()
        os.fsync(audit.fileno())
    logger.info(
        "collection %r dropped by %s: %d item(s), %d history version(s), %d dead letter(s); "
        "recorded in %s",
        name, record["by"].get("name", "?"), counts["items"], counts["history"], counts["dead"],
        path,
    )  # fmt: skip
    return record


@router.delete("/collections/{name}")
def drop_collection(
    request: Request, name: str, who: Admin, confirm: str | None = None
) -> dict[str, Any]:
    """Delete a collection with its history and dead letters; ``confirm`` must repeat its name."""
    try:
        parts = dropped_parts(name)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    if confirm != name:
        raise HTTPException(
            400, f"confirm the deletion: repeat the collection's name (?confirm={name[:100]})"
        )
    store = request.app.state.stores.get()
    if not set(parts.values()) & set(store.collections()):
        raise HTTPException(404, f"no collection named {name[:100]!r}")
    state = request.app.state
    record = drop_recorded(store, name, who, state.config.data_dir, state.indexes)
    return {"dropped": name, "record": record}
