"""What only the MongoDB backend does; against a real server when MONGO_URI is set.

The shared contract runs on mongomock in test_store_backends.py. Set MONGO_URI (for example
``mongodb://localhost:27017/crawler_test``) to run the same checks against a real server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from crawler.store import UpsertResult, open_store
from crawler.store.mongo import MongoStore, mongo_database

MONGO_URI = os.environ.get("MONGO_URI")
needs_server = pytest.mark.skipif(
    not MONGO_URI, reason="no MongoDB server here: set MONGO_URI to run against a real one"
)


def test_uri_picks_mongo_and_database() -> None:
    store = open_store("mongodb://alice:s3cret@db.example:27017/shop?authSource=admin")
    assert isinstance(store, MongoStore)
    assert store.database_name == "shop"
    assert "s3cret" not in repr(store) and "s3cret" not in store.display_uri
    assert open_store("mongodb+srv://cluster.example/").database_name == "crawler"  # type: ignore[attr-defined]
    assert mongo_database("mongodb://h:1") == "crawler"


def test_injected_client_is_not_closed(store_mock: MongoStore) -> None:
    client = store_mock._client
    store_mock.close()
    assert client.list_database_names() is not None  # still usable by its owner


@pytest.fixture
def store_mock() -> Iterator[MongoStore]:
    import mongomock

    s = MongoStore("mongodb://mock.invalid/db", client=mongomock.MongoClient())
    s.open()
    yield s
    s.close()


def test_batch_lookup_is_one_query_per_chunk(store_mock: MongoStore) -> None:
    calls: list[dict] = []
    coll = store_mock.db["books"]
    real_find = type(coll).find

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0] if args else kwargs.get("filter"))
        return real_find(self, *args, **kwargs)

    type(coll).find = spy
    try:
        store_mock.upsert_many("books", [{"url": f"u{i}"} for i in range(50)], ("url",))
    finally:
        type(coll).find = real_find
    assert len(calls) == 1 and "$in" in calls[0]["url"]


@pytest.fixture
def live_store() -> Iterator[MongoStore]:
    assert MONGO_URI
    # A throwaway database on the given server, dropped afterwards.
    parts = urlsplit(MONGO_URI)
    uri = urlunsplit(parts._replace(path=f"/crawler_test_{uuid.uuid4().hex[:8]}"))
    store = MongoStore(uri)
    store.open()
    yield store
    store._client.drop_database(store.database_name)
    store.close()


@needs_server
def test_live_upsert_history_dead_runs(live_store: MongoStore) -> None:
    items = [{"url": f"u{i}", "v": i} for i in range(20)]
    assert live_store.upsert_many("books", items, ("url",), history=True) == UpsertResult(new=20)
    items[0]["v"] = -1
    assert live_store.upsert_many("books", items, ("url",), history=True) == UpsertResult(0, 1, 19)
    assert live_store.count("books__history") == 1
    assert live_store.dead_letter("books", [{"x": 1}], ["missing key field 'url'"]) == 1
    live_store.record_run({"run_id": "r1", "rule": "books", "started_at": "2026"})
    assert live_store.runs("books")[0]["run_id"] == "r1"
    assert set(live_store.collections()) >= {"books", "books__dead", "books__history"}


@needs_server
def test_live_unique_index(live_store: MongoStore) -> None:
    import pymongo.errors

    live_store.upsert_many("books", [{"url": "u"}], ("url",))
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        live_store.db["books"].insert_one({"url": "u"})
