"""Reading the MongoDB store as the data service does: keyset pages, one item and its history,
dead letters, the change feed, run records (see :mod:`crawler.store.browse`).

The tie-breaker of every keyset is ``_id``. A document's ``_key`` (its key as canonical JSON
text, as the SQLite backend keeps it) is computed from the key fields of the collection's
unique index, so both backends answer the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING

from crawler.store.browse import (
    CRAWLED_AT_FIELD,
    KEY_FIELD,
    CursorError,
    ItemQuery,
    Page,
    check_field,
    decode_cursor,
    encode_cursor,
    sort_phases,
)
from crawler.store.documents import (
    DEAD_ID_FIELD,
    DEAD_SUFFIX,
    HISTORY_SUFFIX,
    RUNS_COLLECTION,
    UPDATED_AT_FIELD,
    key_text,
)
from crawler.store.mongo_search import ensure_search, search_parts


def _oid(value: Any) -> ObjectId:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        raise CursorError("invalid cursor") from None


def _and(*parts: dict[str, Any]) -> dict[str, Any]:
    parts = tuple(p for p in parts if p)
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": list(parts)}


class MongoDatabase(Protocol):
    """What the reader asks of :class:`crawler.store.mongo.MongoStore`: its open database."""

    @property
    def db(self) -> Any: ...


class MongoReader:
    """The MongoDB store's :class:`~crawler.store.browse.StoreReader`, composed by
    :class:`~crawler.store.mongo.MongoStore` over its database."""

    def __init__(self, store: MongoDatabase) -> None:
        self.store = store
        self._key_fields: dict[str, tuple[str, ...] | None] = {}

    @property
    def db(self) -> Any:
        return self.store.db

    def _exists(self, name: str) -> bool:
        return name in self.db.list_collection_names()

    def key_fields(self, collection: str) -> tuple[str, ...] | None:
        """The fields of the collection's unique key index (what upserts match on)."""
        cache = self._key_fields
        if collection not in cache:
            found = None
            for name, info in self.db[collection].index_information().items():
                if name != "_id_" and info.get("unique"):
                    found = tuple(field for field, _ in info["key"])
                    break
            if found is None:
                return None  # not (yet) written by upsert_many: ask again next time
            cache[collection] = found
        return cache[collection]

    def _with_key(self, docs: Sequence[dict[str, Any]], collection: str) -> list[dict[str, Any]]:
        fields = self.key_fields(collection)
        out = []
        for doc in docs:
            doc = dict(doc)
            doc.pop("_id", None)
            if fields and all(name in doc for name in fields):
                doc[KEY_FIELD] = key_text([doc[name] for name in fields])
            out.append(doc)
        return out

    def _key_match(self, collection: str, key: str) -> dict[str, Any] | None:
        fields = self.key_fields(collection)
        try:
            values = json.loads(key)
        except ValueError:
            return None
        if not fields or not isinstance(values, list) or len(values) != len(fields):
            return None
        return dict(zip(fields, values, strict=True))

    # -- items ------------------------------------------------------------------------------

    @staticmethod
    def _item_match(query: ItemQuery) -> dict[str, Any]:
        match: dict[str, Any] = {name: value for name, value in query.filters.items()}
        for name, present in query.exists.items():
            match[name] = {"$ne": None} if present else None
        parts = search_parts(query)  # contains, prefix, text
        if parts:
            match["$and"] = parts
        times: dict[str, Any] = {}
        if query.since:
            times["$gte"] = query.since
        if query.until:
            times["$lt"] = query.until
        if times:
            match[CRAWLED_AT_FIELD] = times
        return match

    def page_items(self, collection: str, query: ItemQuery) -> Page:
        if not self._exists(collection):
            return Page([], None, 0 if query.count else None)
        coll = self.db[collection]
        if query.text is not None:  # created on first use (or by the service's reconciliation)
            ensure_search(coll)
        match = self._item_match(query)
        count = coll.count_documents(match) if query.count else None
        position = decode_cursor(query.cursor)
        want = query.limit + 1
        rows: list[tuple[list[Any], dict[str, Any]]] = []
        field = query.sort_field
        if field is None:
            after = {}
            if position is not None:
                if position[0] != "r" or len(position) != 2:
                    raise CursorError("cursor of another query")
                after = {"_id": {"$gt": _oid(position[1])}}
            for doc in coll.find(_and(match, after)).sort("_id", ASCENDING).limit(want):
                rows.append((["r", str(doc["_id"])], doc))
        else:
            rows = self._sorted(coll, match, field, query.descending, position, want)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = encode_cursor(rows[-1][0]) if more and rows else None
        return Page(self._with_key([doc for _, doc in rows], collection), next_cursor, count)

    @staticmethod
    def _sorted(
        coll: Any,
        match: dict[str, Any],
        field: str,
        desc: bool,
        position: list[Any] | None,
        want: int,
    ) -> list[tuple[list[Any], dict[str, Any]]]:
        check_field(field)
        phases = sort_phases(desc)
        if position is not None and (len(position) != 3 or position[0] not in phases):
            raise CursorError("cursor of another query")
        start = phases.index(position[0]) if position is not None else 0
        direction = DESCENDING if desc else ASCENDING
        beyond = "$lt" if desc else "$gt"
        rows: list[tuple[list[Any], dict[str, Any]]] = []
        for i, phase in enumerate(phases[start:]):
            after = position if i == 0 else None
            if phase == "n":
                part: dict[str, Any] = {field: None}
                if after is not None:
                    part = {field: None, "_id": {beyond: _oid(after[2])}}
                order = [("_id", direction)]
            else:
                part = {field: {"$ne": None}}
                if after is not None:
                    value, oid = after[1], _oid(after[2])
                    part = {
                        "$or": [
                            {field: {beyond: value}},
                            {field: value, "_id": {beyond: oid}},
                        ]
                    }
                order = [(field, direction), ("_id", direction)]
            cursor = coll.find(_and(match, part)).sort(order).limit(want - len(rows))
            for doc in cursor:
                rows.append(([phase, doc.get(field), str(doc["_id"])], doc))
            if len(rows) >= want:
                break
        return rows

    def get_item(self, collection: str, key: str) -> dict[str, Any] | None:
        match = self._key_match(collection, key)
        if match is None:
            return None
        doc = self.db[collection].find_one(match)
        return self._with_key([doc], collection)[0] if doc else None

    def get_items(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        fields = self.key_fields(collection)
        if not fields:
            return {}
        values = []
        for key in dict.fromkeys(keys):
            match = self._key_match(collection, key)
            if match is not None:
                values.append(tuple(match[name] for name in fields))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(values), 1000):
            chunk = values[start : start + 1000]
            query = (
                {fields[0]: {"$in": [v[0] for v in chunk]}}
                if len(fields) == 1
                else {"$or": [dict(zip(fields, v, strict=True)) for v in chunk]}
            )
            docs = self._with_key(list(self.db[collection].find(query)), collection)
            found.update((doc[KEY_FIELD], doc) for doc in docs)
        return found

    def item_history(self, collection: str, key: str, limit: int) -> list[dict[str, Any]]:
        match = self._key_match(collection, key)
        if match is None:
            return []
        docs = self.db[collection + HISTORY_SUFFIX].find(match).sort("_id", DESCENDING)
        return self._with_key(list(docs.limit(int(limit))), collection)

    def ensure_index(self, collection: str, fields: Sequence[str]) -> bool:
        if not self._exists(collection):
            return False
        self.db[collection].create_index([(check_field(f), ASCENDING) for f in fields])
        return True

    def ensure_search(self, collection: str) -> bool:
        if not self._exists(collection):
            return False
        ensure_search(self.db[collection])
        return True

    # -- dead letters -----------------------------------------------------------------------

    def dead_page(self, collection: str, limit: int, cursor: str | None) -> Page:
        coll = self.db[collection + DEAD_SUFFIX]
        position = decode_cursor(cursor)
        after = {}
        if position is not None:
            if position[0] != "r" or len(position) != 2:
                raise CursorError("cursor of another query")
            after = {"_id": {"$gt": _oid(position[1])}}
        docs = list(coll.find(after).sort("_id", ASCENDING).limit(int(limit) + 1))
        more = len(docs) > limit
        docs = docs[:limit]
        next_cursor = encode_cursor(["r", str(docs[-1]["_id"])]) if more and docs else None
        for doc in docs:
            doc.pop("_id", None)
        return Page(docs, next_cursor)

    def dead_by_ids(self, collection: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        docs = self.db[collection + DEAD_SUFFIX].find(
            {DEAD_ID_FIELD: {"$in": list(ids)}}, {"_id": 0}
        )
        return list(docs)

    def remove_dead(self, collection: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        result = self.db[collection + DEAD_SUFFIX].delete_many({DEAD_ID_FIELD: {"$in": list(ids)}})
        return result.deleted_count

    # -- change feed ------------------------------------------------------------------------

    def changes(
        self, collection: str, limit: int, cursor: str | None, before: str | None = None
    ) -> Page:
        position = decode_cursor(cursor)
        match: dict[str, Any] = {UPDATED_AT_FIELD: {"$ne": None}}
        if position is not None:
            if len(position) != 2:
                raise CursorError("cursor of another query")
            value, oid = position[0], _oid(position[1])
            match = {
                "$or": [
                    {UPDATED_AT_FIELD: {"$gt": value}},
                    {UPDATED_AT_FIELD: value, "_id": {"$gt": oid}},
                ]
            }
        if before is not None:
            match = _and(match, {UPDATED_AT_FIELD: {"$lt": before}})
        docs = list(
            self.db[collection]
            .find(match)
            .sort([(UPDATED_AT_FIELD, ASCENDING), ("_id", ASCENDING)])
            .limit(int(limit))
        )
        if not docs:
            return Page([], cursor)
        last = docs[-1]
        next_cursor = encode_cursor([last[UPDATED_AT_FIELD], str(last["_id"])])
        return Page(self._with_key(docs, collection), next_cursor)

    # -- run records ------------------------------------------------------------------------

    def runs_page(
        self, rule: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        match: dict[str, Any] = {"part_of": None}  # a distributed run's workers: parts of it
        if rule is not None:
            match["rule"] = rule
        position = decode_cursor(cursor)
        if position is not None:
            if len(position) != 2:
                raise CursorError("cursor of another query")
            started, oid = position[0], _oid(position[1])
            if started is None:
                after = {"started_at": None, "_id": {"$lt": oid}}
            else:
                after = {
                    "$or": [
                        {"started_at": {"$lt": started}},
                        {"started_at": started, "_id": {"$lt": oid}},
                        {"started_at": None},
                    ]
                }
            match = _and(match, after)
        docs = list(
            self.db[RUNS_COLLECTION]
            .find(match)
            .sort([("started_at", DESCENDING), ("_id", DESCENDING)])
            .limit(int(limit) + 1)
        )
        more = len(docs) > limit
        docs = docs[:limit]
        next_cursor = None
        if more and docs:
            next_cursor = encode_cursor([docs[-1].get("started_at"), str(docs[-1]["_id"])])
        for doc in docs:
            doc.pop("_id", None)
        return docs, next_cursor

    def run_parts(self, run_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        cursor = self.db[RUNS_COLLECTION].find({"part_of": run_id}, {"_id": 0})
        return list(cursor.sort([("_id", 1)]).limit(int(limit)))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        runs = self.db[RUNS_COLLECTION]
        doc = runs.find_one({"run_id": run_id}, {"_id": 0})
        if doc is None:
            doc = runs.find_one(
                {"$or": [{"schedule_run_id": run_id}, {"stats.schedule/run_id": run_id}]},
                {"_id": 0},
                sort=[("_id", DESCENDING)],
            )
        return doc
