"""The MongoDB backend (pymongo): one collection per collection, a unique index on the key fields.

URI: ``mongodb://[user:pass@]host[:port]/[database][?options]`` or ``mongodb+srv://...``; the
database defaults to ``crawler``. A client can be injected (``MongoStore(uri, client=...)``),
which is how the tests run the very same code on ``mongomock``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from pymongo import ASCENDING, DESCENDING, UpdateOne

from crawler.store.base import Sort, Store, UpsertResult, dropped_parts, shared_lazily
from crawler.store.documents import (
    DEAD_ID_FIELD,
    DEAD_SUFFIX,
    FIRST_SEEN_FIELD,
    HISTORY_SUFFIX,
    REPLACED_AT_FIELD,
    RUNS_COLLECTION,
    Existing,
    dead_document,
    key_values,
    plan_upsert,
    utc_now_iso,
)
from crawler.store.mongo_reader import MongoReader

DEFAULT_DATABASE = "crawler"
# A crawl should learn quickly that the server is away (then retry, then spill) rather than
# block for pymongo's default 30 s per batch.
DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000
_IN_CHUNK = 1000


def mongo_database(uri: str) -> str:
    """The database named in the URI's path, or ``crawler``.

    >>> mongo_database("mongodb://u:p@h:27017/shop?authSource=admin"), mongo_database("mongodb://h")
    ('shop', 'crawler')
    """
    path = urlsplit(uri).path.lstrip("/")
    return unquote(path) or DEFAULT_DATABASE


def mongo_client(uri: str) -> Any:
    from pymongo import MongoClient

    options: dict[str, Any] = {}
    if "serverselectiontimeoutms" not in uri.lower():
        options["serverSelectionTimeoutMS"] = DEFAULT_SERVER_SELECTION_TIMEOUT_MS
    return MongoClient(uri, **options)


def _sort_spec(sort: Sort) -> list[tuple[str, int]]:
    if isinstance(sort, str):
        return [(sort[1:], DESCENDING)] if sort.startswith("-") else [(sort, ASCENDING)]
    return [(field, DESCENDING if direction < 0 else ASCENDING) for field, direction in sort]


class MongoStore(Store):
    """The MongoDB backend; see the module docstring."""

    def __init__(self, uri: str, client: Any = None) -> None:
        self.uri = uri
        self.database_name = mongo_database(uri)
        self._client = client
        self._owns_client = client is None
        self._db: Any = None
        self._indexed: set[str] = set()
        self.reader = MongoReader(self)

    @classmethod
    def thread_factory(cls, uri: str) -> Callable[[], Store]:
        """Stores that share one client: pymongo's is thread-safe and pools connections."""
        client = shared_lazily(lambda: mongo_client(uri))
        return lambda: cls(uri, client=client())

    def open(self) -> None:
        if self._db is not None:
            return
        if self._client is None:
            self._client = mongo_client(self.uri)
        db = self._client[self.database_name]
        db[RUNS_COLLECTION].create_index([("run_id", ASCENDING)], unique=True)
        db[RUNS_COLLECTION].create_index([("rule", ASCENDING), ("started_at", DESCENDING)])
        self._db = db

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None
        self._db = None
        self._indexed.clear()

    @property
    def db(self) -> Any:
        if self._db is None:
            raise RuntimeError(f"{self!r} is not open")
        return self._db

    def _keyed(self, collection: str, key: tuple[str, ...]) -> Any:
        """The collection, with its unique key index created the first time it is used."""
        coll = self.db[collection]
        if collection not in self._indexed:
            coll.create_index([(name, ASCENDING) for name in key], unique=True)
            self._indexed.add(collection)
        return coll

    def collections(self) -> list[str]:
        return sorted(
            name
            for name in self.db.list_collection_names()
            if name != RUNS_COLLECTION and not name.startswith("system.")
        )

    def drop_collection(self, collection: str) -> dict[str, int]:
        parts = dropped_parts(collection)
        present = set(self.db.list_collection_names())
        counts = {}
        for part, name in parts.items():
            counts[part] = self.db[name].estimated_document_count() if name in present else 0
            if name in present:
                self.db[name].drop()  # its indexes with it
            self._indexed.discard(name)
        return counts

    def upsert_many(
        self,
        collection: str,
        items: Sequence[dict[str, Any]],
        key: tuple[str, ...],
        *,
        history: bool = False,
    ) -> UpsertResult:
        if not items:
            return UpsertResult()
        key = tuple(key)
        keys = [key_values(item, key) for item in items]
        coll = self._keyed(collection, key)
        now = utc_now_iso()
        existing: dict[tuple[Any, ...], Existing] = {}
        distinct = list(dict.fromkeys(keys))
        projection = {"_id": 0, "_hash": 1, FIRST_SEEN_FIELD: 1, **{name: 1 for name in key}}
        for start in range(0, len(distinct), _IN_CHUNK):
            chunk = distinct[start : start + _IN_CHUNK]
            for doc in coll.find(self._match(key, chunk), projection):
                existing[tuple(doc.get(name) for name in key)] = Existing(
                    doc.get("_hash", ""), doc.get(FIRST_SEEN_FIELD)
                )
        plan = plan_upsert(items, keys, existing, now)

        old_docs: dict[tuple[Any, ...], dict[str, Any]] = {}
        if plan.updates:
            # Changed documents are read whole: for history, and to $unset fields that vanished.
            changed = list(plan.updates)
            for start in range(0, len(changed), _IN_CHUNK):
                for doc in coll.find(self._match(key, changed[start : start + _IN_CHUNK])):
                    doc.pop("_id", None)
                    old_docs[tuple(doc.get(name) for name in key)] = doc
        if history and plan.replaced:
            rows = []
            for k, doc in plan.replaced:
                old = dict(doc if doc is not None else old_docs[k])
                old[REPLACED_AT_FIELD] = now
                rows.append(old)
            history_coll = self.db[collection + HISTORY_SUFFIX]
            if collection + HISTORY_SUFFIX not in self._indexed:
                history_coll.create_index([(name, ASCENDING) for name in key])
                self._indexed.add(collection + HISTORY_SUFFIX)
            history_coll.insert_many(rows, ordered=True)

        ops = []
        for k, doc in plan.inserts.items():
            fields = {name: doc[name] for name in doc if name != FIRST_SEEN_FIELD}
            ops.append(
                UpdateOne(
                    dict(zip(key, k, strict=True)),
                    {"$set": fields, "$setOnInsert": {FIRST_SEEN_FIELD: doc[FIRST_SEEN_FIELD]}},
                    upsert=True,
                )
            )
        for k, doc in plan.updates.items():
            update: dict[str, Any] = {"$set": doc}
            gone = set(old_docs.get(k, {})) - set(doc)
            if gone:
                update["$unset"] = dict.fromkeys(sorted(gone), "")
            ops.append(UpdateOne(dict(zip(key, k, strict=True)), update, upsert=True))
        if ops:
            coll.bulk_write(ops, ordered=False)
        return UpsertResult(plan.new, plan.updated, plan.unchanged)

    @staticmethod
    def _match(key: tuple[str, ...], values: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
        if len(key) == 1:
            return {key[0]: {"$in": [v[0] for v in values]}}
        return {"$or": [dict(zip(key, v, strict=True)) for v in values]}

    def find(
        self,
        collection: str,
        filter: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
        sort: Sort | None = None,
    ) -> Iterator[dict[str, Any]]:
        cursor = self.db[collection].find(filter or {}, {"_id": 0})
        if sort:
            cursor = cursor.sort(_sort_spec(sort))
        if limit is not None:
            cursor = cursor.limit(int(limit))
        return iter(cursor)

    def count(self, collection: str, filter: dict[str, Any] | None = None) -> int:
        return self.db[collection].count_documents(filter or {})

    def dead_letter(
        self, collection: str, items: Sequence[dict[str, Any]], reasons: Sequence[str]
    ) -> int:
        if len(items) != len(reasons):
            raise ValueError("dead_letter needs one reason per item")
        if not items:
            return 0
        name = collection + DEAD_SUFFIX
        coll = self.db[name]
        if name not in self._indexed:
            coll.create_index([(DEAD_ID_FIELD, ASCENDING)], unique=True)
            self._indexed.add(name)
        now = utc_now_iso()
        ops = []
        for item, reason in zip(items, reasons, strict=True):
            doc = dead_document(item, reason, now)
            ops.append(
                UpdateOne({DEAD_ID_FIELD: doc[DEAD_ID_FIELD]}, {"$setOnInsert": doc}, upsert=True)
            )
        result = coll.bulk_write(ops, ordered=False)
        return result.upserted_count

    def record_run(self, run: dict[str, Any]) -> None:
        run = dict(run)
        run.setdefault("run_id", uuid.uuid4().hex)
        self.db[RUNS_COLLECTION].replace_one({"run_id": run["run_id"]}, run, upsert=True)

    def latest_runs(self, rules: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(set(rules))
        pipeline = [
            {"$match": {"rule": {"$in": wanted}, "part_of": None}},
            {"$sort": {"started_at": DESCENDING, "_id": DESCENDING}},
            {"$group": {"_id": "$rule", "doc": {"$first": "$$ROOT"}}},
        ]
        latest = {}
        for row in self.db[RUNS_COLLECTION].aggregate(pipeline):
            doc = dict(row["doc"])
            doc.pop("_id", None)
            latest[row["_id"]] = doc
        return latest

    def runs(self, rule: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"part_of": None}  # a distributed run's workers: parts of it
        if rule is not None:
            query["rule"] = rule
        cursor = (
            self.db[RUNS_COLLECTION]
            .find(query, {"_id": 0})
            .sort([("started_at", DESCENDING), ("_id", DESCENDING)])
            .limit(int(limit))
        )
        return list(cursor)
