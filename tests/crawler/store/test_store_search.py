"""Text search and contains/prefix filters (crawler/store/sqlite_search.py, postgres_search.py,
mongo_search.py): on SQLite, PostgreSQL (the test process's server) and mongomock what mongomock
supports; ``$text`` and the expressions of the Chinese fallback on a real MongoDB server
(``MONGO_URI``)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.store.base import Store
from crawler.store.browse import ItemQuery
from crawler.store.mongo import MongoStore
from crawler.store.sqlite import SqliteStore
from crawler.store.sqlite_search import fts_table, search_clauses

MONGO_URI = os.environ.get("MONGO_URI")
ITEMS = [
    {"url": "u1", "title": "Red summer dress", "shop": "A"},
    {"url": "u2", "title": "红色连衣裙 夏季新款", "shop": "B"},
    {"url": "u3", "title": "Blue shoe", "note": "红色 laces", "shop": "A"},
    {"url": "u4", "title": "50%_off sale", "shop": "C", "price": 5},
    {"url": "u5", "title": "plain", "_internal": "red"},
]


@pytest.fixture(params=["sqlite", "postgres", "mongo-real"])
def searchable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store where text search runs: SQLite, PostgreSQL, or a real MongoDB server."""
    if request.param == "sqlite":
        store: Store = SqliteStore(f"sqlite:///{tmp_path / 'items.db'}")
    elif request.param == "postgres":
        from crawler.store.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_server").new_database())
    else:
        if not MONGO_URI:
            pytest.skip("mongomock has no $text: set MONGO_URI to run against a real server")
        from pymongo import MongoClient

        name = f"search_test_{uuid.uuid4().hex[:8]}"
        client = MongoClient(MONGO_URI, serverSelectionTimeoutMS=5000)
        store = MongoStore(MONGO_URI.rsplit("/", 1)[0] + "/" + name, client=client)
    store.open()
    yield store
    if request.param == "mongo-real":
        client.drop_database(name)
    store.close()


def urls(store: Store, **query: object) -> list[str]:
    return [d["url"] for d in store.page_items("s", ItemQuery(sort="url", **query)).items]


def test_text_in_english_and_chinese(searchable: Store) -> None:
    searchable.upsert_many("s", ITEMS, ("url",))
    assert urls(searchable, text="dress") == ["u1"]
    assert urls(searchable, text="DRESS red") == ["u1"]  # every word, any ASCII case
    assert urls(searchable, text="连衣裙") == ["u2"]
    assert urls(searchable, text="红色") == ["u2", "u3"]  # 2 characters: below the trigram
    assert urls(searchable, text="红色 shoe") == ["u3"]
    assert urls(searchable, text="red") == ["u1"]  # store fields (_internal) are not text
    page = searchable.page_items("s", ItemQuery(text="红色", count=True, limit=1))
    assert page.count == 2 and len(page.items) == 1 and page.next


def test_sqlite_substrings_paging_and_sync(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'items.db'}")
    with store:
        store.upsert_many("s", ITEMS, ("url",))
        assert urls(store, text="ummer") == ["u1"]  # a substring, not only words
        assert urls(store, text="%_o") == ["u4"]  # LIKE wildcards are text here
        many = [{"url": f"p{i:02}", "title": f"搜索 item {i}"} for i in range(23)]
        store.upsert_many("s", many, ("url",))
        for sort in ("url", "-url", None):
            seen, cursor = [], None
            while True:
                page = store.page_items(
                    "s", ItemQuery(text="搜索 item", sort=sort, limit=5, cursor=cursor)
                )
                seen += [d["url"] for d in page.items]
                cursor = page.next
                if cursor is None:
                    break
            assert sorted(seen) == [d["url"] for d in many] and len(seen) == 23
        # kept in sync: an update replaces the text, a delete removes it
        store.upsert_many("s", [{"url": "u1", "title": "Green coat"}], ("url",))
        assert urls(store, text="dress") == [] and urls(store, text="coat") == ["u1"]
        table = store.table("s", "items")
        with store.transaction() as conn:
            conn.execute(f'DELETE FROM "{table}" WHERE _key = ?', ('["u2"]',))
        assert urls(store, text="连衣裙") == []
        fts = fts_table(table or "")
        (n,) = store.conn.execute(f'SELECT COUNT(*) FROM "{fts}"').fetchone()
        assert n == store.count("s")


def test_sqlite_existing_collection_built_on_first_search(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'items.db'}")
    with store:
        store.upsert_many("s", ITEMS, ("url",))  # written before any search index
        assert (
            store.conn.execute("SELECT 1 FROM sqlite_master WHERE name LIKE '%__fts%'").fetchone()
            is None
        )
        assert urls(store, text="shoe") == ["u3"]
        assert store.ensure_search("s") is True and store.ensure_search("nope") is False
        table = store.table("s", "items") or ""
        store.conn.execute(f'DROP TABLE "{table}"')  # dropped: triggers go, the index stays
        store.conn.execute("DELETE FROM _collections")
    with SqliteStore(store.uri) as again:
        again.upsert_many("s", [{"url": "n1", "title": "new shoe"}], ("url",))
        assert urls(again, text="shoe") == ["n1"]  # built again, nothing stale


def test_contains_and_prefix_escape_wildcards(store: Store) -> None:
    store.upsert_many("s", ITEMS, ("url",))
    assert urls(store, contains={"title": "%_OFF"}) == ["u4"]
    assert urls(store, contains={"title": "_"}) == ["u4"]
    assert urls(store, contains={"title": "色连"}) == ["u2"]
    assert urls(store, contains={"title": ".*"}) == []  # a regex is text too
    assert urls(store, prefix={"title": "Red"}) == ["u1"]
    assert urls(store, prefix={"title": "red"}) == []  # a prefix keeps its case
    assert urls(store, prefix={"title": "红色"}) == ["u2"]
    assert urls(store, prefix={"title": "5"}, contains={"shop": "c"}) == ["u4"]
    assert urls(store, prefix={"price": "5"}) == []  # numbers are not text
    with pytest.raises(ValueError, match="1 to 200"):
        ItemQuery(contains={"title": "x" * 201})
    with pytest.raises(ValueError, match="not a field name"):
        ItemQuery(prefix={"$where": "x"})
    with pytest.raises(ValueError, match="at most 8 words"):
        ItemQuery(text="a b c d e f g h i")


def test_sqlite_search_of_100000_items_is_an_index_query(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'items.db'}")
    with store:
        store.upsert_many("big", [{"url": "seed", "title": "seed"}], ("url",))
        store.ensure_search("big")
        table = store.table("big", "items") or ""
        with store.transaction() as conn:
            conn.executemany(
                f'INSERT INTO "{table}" (_key, _hash, doc) VALUES (?, ?, ?)',
                (
                    (f'["u{i}"]', "h", f'{{"url":"u{i}","title":"item {i} 商品"}}')
                    for i in range(100_000)
                ),
            )
        started = time.perf_counter()
        page = store.page_items("big", ItemQuery(text="item 99999", count=True))
        took = time.perf_counter() - started
        assert [d["url"] for d in page.items] == ["u99999"] and page.count == 1
        assert took < 2, f"a search took {took:.2f}s"
        clauses, params = search_clauses(table, ItemQuery(text="item 99999"))
        plan = [
            row[-1]
            for row in store.conn.execute(
                f'EXPLAIN QUERY PLAN SELECT rowid, _key, doc FROM "{table}" '
                f"WHERE {' AND '.join(clauses)} ORDER BY rowid LIMIT 51",
                params,
            )
        ]
        assert f"SEARCH {table} USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
        assert f"SCAN {fts_table(table)} VIRTUAL TABLE INDEX 0:M1" in plan, plan


def test_sqlite_search_while_another_connection_changes_the_schema(tmp_path: Path) -> None:
    """A search while the data service's background thread builds indexes on its own
    connection: SQLite fails the text index's connect with SQLITE_SCHEMA ("vtable constructor
    failed") and does not retry it there; the reader reads again."""
    errors: list[str] = []
    for round_ in range(15):
        uri = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        writer = SqliteStore(uri)
        writer.open()
        writer.upsert_many("s", ITEMS, ("url",))
        writer.close()
        start = threading.Barrier(2)

        def search(uri: str = uri, start: threading.Barrier = start) -> None:
            reader = SqliteStore(uri)
            reader.open()
            start.wait()
            try:
                for _ in range(20):
                    assert urls(reader, text="红色") == ["u2", "u3"]
            except Exception as exc:  # noqa: BLE001 - collected for the assertion below
                errors.append(repr(exc))
            finally:
                reader.close()

        def build(uri: str = uri, start: threading.Barrier = start) -> None:
            builder = SqliteStore(uri)
            builder.open()
            start.wait()
            try:
                builder.ensure_search("s")
                for field in ("url", "title", "shop", "price", "note"):
                    builder.ensure_index("s", [field])
            finally:
                builder.close()

        threads = [threading.Thread(target=search), threading.Thread(target=build)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
