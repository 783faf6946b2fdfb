"""The store contract, run against every backend (real SQLite, MongoDB logic on mongomock)."""

from __future__ import annotations

import pytest

from crawler.store.base import Store, UpsertResult
from crawler.store.documents import content_hash


def books(n: int, crawl: str = "2026-01-01T00:00:00Z", **extra: object) -> list[dict]:
    return [
        {
            "url": f"https://shop.test/book/{i}",
            "title": f"Book {i}",
            "price": 10 + i,
            "tags": ["fiction", f"t{i % 3}"],
            "_url": "https://shop.test/list",
            "_rule": "shop",
            "_page": "list",
            "_crawled_at": crawl,
            **extra,
        }
        for i in range(n)
    ]


def test_new_updated_unchanged_across_two_crawls(store: Store) -> None:
    first = books(10)
    assert store.upsert_many("books", first, ("url",)) == UpsertResult(new=10)
    second = books(12, crawl="2026-01-02T00:00:00Z")  # metadata changed: not a content change
    second[3]["price"] = 99
    second[4]["title"] = "Renamed"
    assert store.upsert_many("books", second, ("url",)) == UpsertResult(
        new=2, updated=2, unchanged=8
    )
    assert store.count("books") == 12
    (doc,) = store.find("books", {"url": "https://shop.test/book/3"})
    assert doc["price"] == 99
    assert doc["_hash"] == content_hash(second[3])
    assert doc["_first_seen"] <= doc["_updated_at"]


def test_unchanged_items_are_not_rewritten(store: Store) -> None:
    store.upsert_many("books", books(3), ("url",))
    before = {d["url"]: d for d in store.find("books")}
    result = store.upsert_many("books", books(3, crawl="later"), ("url",))
    assert result == UpsertResult(unchanged=3)
    after = {d["url"]: d for d in store.find("books")}
    assert after == before  # _crawled_at and _updated_at untouched: the document was not written


def test_first_seen_kept_on_update_and_vanished_fields_removed(store: Store) -> None:
    store.upsert_many("books", books(1, isbn="123"), ("url",))
    (old,) = store.find("books")
    changed = books(1)  # no isbn any more
    changed[0]["title"] = "New title"
    assert store.upsert_many("books", changed, ("url",)).updated == 1
    (new,) = store.find("books")
    assert new["_first_seen"] == old["_first_seen"]
    assert new["title"] == "New title"
    assert "isbn" not in new


def test_history_keeps_previous_versions(store: Store) -> None:
    store.upsert_many("books", books(2), ("url",), history=True)
    v2 = books(2)
    v2[0]["price"] = 50
    store.upsert_many("books", v2, ("url",), history=True)
    v3 = books(2)
    v3[0]["price"] = 60
    store.upsert_many("books", v3, ("url",), history=True)
    url = "https://shop.test/book/0"
    old = list(store.find("books__history", {"url": url}, sort="_replaced_at"))
    assert [d["price"] for d in old] == [10, 50]
    assert all("_replaced_at" in d for d in old)
    (current,) = store.find("books", {"url": url})
    assert current["price"] == 60
    assert store.count("books__history") == 2  # book 1 never changed


def test_no_history_unless_asked(store: Store) -> None:
    store.upsert_many("books", books(1), ("url",))
    store.upsert_many("books", books(1, extra="x"), ("url",))
    assert store.count("books__history") == 0
    assert "books__history" not in store.collections()


def test_same_key_twice_in_one_batch(store: Store) -> None:
    a = {"url": "u", "v": 1}
    b = {"url": "u", "v": 2}
    assert store.upsert_many("c", [a, a, b], ("url",), history=True) == UpsertResult(1, 1, 1)
    assert [d["v"] for d in store.find("c")] == [2]
    assert [d["v"] for d in store.find("c__history")] == [1]


def test_composite_key(store: Store) -> None:
    items = [{"shop": s, "sku": k, "price": 1} for s in ("a", "b") for k in (1, 2)]
    assert store.upsert_many("offers", items, ("shop", "sku")).new == 4
    items[0]["price"] = 2
    assert store.upsert_many("offers", items, ("shop", "sku")) == UpsertResult(0, 1, 3)
    assert store.count("offers", {"shop": "a"}) == 2


def test_missing_key_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="missing key field 'sku'"):
        store.upsert_many("offers", [{"sku": ""}], ("sku",))


def test_large_batch_is_looked_up_in_chunks(
    store: Store, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks, so a modest batch (mongomock is slow) still spans several lookups.
    monkeypatch.setattr(f"crawler.store.{backend}._IN_CHUNK", 40)
    items = [{"url": f"u{i}", "n": i} for i in range(250)]
    assert store.upsert_many("big", items, ("url",)).new == 250
    items[240]["n"] = -1
    items[3]["n"] = -1
    assert store.upsert_many("big", items, ("url",), history=True) == UpsertResult(0, 2, 248)
    assert store.count("big__history") == 2


def test_unique_key_index(store: Store, backend: str) -> None:
    store.upsert_many("books", books(2), ("url",))
    if backend == "sqlite":
        import sqlite3

        conn = store.conn  # type: ignore[attr-defined]
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                'INSERT INTO "c_books" (_key, _hash, doc) VALUES (?, ?, ?)',
                ('["https://shop.test/book/0"]', "x", "{}"),
            )
    elif backend == "postgres":
        import psycopg.errors

        with store.connection() as conn:  # type: ignore[attr-defined]
            ((primary,),) = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'c_books'::regclass "
                "AND i.indisprimary"
            ).fetchall()
        assert primary == "_key"
        inserting = store.connection()  # type: ignore[attr-defined]
        with pytest.raises(psycopg.errors.UniqueViolation), inserting as conn:
            conn.execute(
                "INSERT INTO c_books (_key, _hash, doc) VALUES (%s, %s, %s)",
                ('["https://shop.test/book/0"]', "x", "{}"),
            )
    else:
        import pymongo.errors

        info = store.db["books"].index_information()  # type: ignore[attr-defined]
        assert any(ix.get("unique") and ix["key"] == [("url", 1)] for ix in info.values())
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            store.db["books"].insert_one({"url": "https://shop.test/book/0"})  # type: ignore[attr-defined]


def test_find_filter_limit_sort_and_count(store: Store) -> None:
    store.upsert_many("books", books(5), ("url",))
    assert store.count("books") == 5
    assert store.count("books", {"price": 12}) == 1
    assert store.count("books", {"_rule": "shop", "price": 12}) == 1
    assert store.count("books", {"price": 999}) == 0
    assert [d["price"] for d in store.find("books", sort="-price", limit=2)] == [14, 13]
    assert [d["price"] for d in store.find("books", sort=[("price", 1)], limit=3)] == [10, 11, 12]
    assert all("_id" not in d for d in store.find("books"))
    assert list(store.find("nothing")) == []
    assert store.count("nothing") == 0


def test_collections_lists_data_not_runs(store: Store) -> None:
    store.upsert_many("books", books(1), ("url",))
    store.dead_letter("books", [{"title": "x"}], ["missing key field 'url'"])
    store.record_run({"run_id": "r", "rule": "shop", "started_at": "2026"})
    assert store.collections() == ["books", "books__dead"]


def test_dead_letters_keep_reasons_and_are_idempotent(store: Store) -> None:
    bad = [
        {"title": "no url", "_url": "https://shop.test/p"},
        {"_errors": ["price: not a number"], "_raw": {"price": "abc"}, "_url": "https://x"},
    ]
    reasons = ["missing key field 'url'", "price: not a number"]
    assert store.dead_letter("books", bad, reasons) == 2
    assert store.dead_letter("books", bad, reasons) == 0  # a replay does not duplicate them
    docs = list(store.find("books__dead"))
    assert sorted(d["_reason"] for d in docs) == sorted(reasons)
    (invalid,) = store.find("books__dead", {"_reason": "price: not a number"})
    assert invalid["_raw"] == {"price": "abc"}
    assert invalid["_errors"] == ["price: not a number"]
    assert all(d["_dead_at"] for d in docs)
    with pytest.raises(ValueError, match="one reason per item"):
        store.dead_letter("books", bad, reasons[:1])


def test_run_records(store: Store) -> None:
    store.record_run({"run_id": "1", "rule": "a", "started_at": "2026-01-01T00:00:00Z", "items": 1})
    store.record_run({"run_id": "2", "rule": "b", "started_at": "2026-01-02T00:00:00Z", "items": 2})
    store.record_run({"run_id": "3", "rule": "a", "started_at": "2026-01-03T00:00:00Z", "items": 3})
    assert [r["run_id"] for r in store.runs()] == ["3", "2", "1"]
    assert [r["run_id"] for r in store.runs(rule="a")] == ["3", "1"]
    assert [r["run_id"] for r in store.runs(limit=1)] == ["3"]
    store.record_run({"run_id": "3", "rule": "a", "started_at": "2026-01-03T00:00:00Z", "items": 4})
    assert [r["items"] for r in store.runs(rule="a")] == [4, 1]  # same run_id: replaced
    store.record_run({"rule": "c", "started_at": "2026-01-04T00:00:00Z"})
    assert store.runs(rule="c")[0]["run_id"]


def test_odd_values_are_stored_not_fatal(store: Store) -> None:
    from datetime import UTC, datetime

    item = {"url": "u", "when": datetime(2026, 1, 1, tzinfo=UTC), "name": "Zoë ✓"}
    assert store.upsert_many("odd", [item], ("url",)).new == 1
    (doc,) = store.find("odd")
    assert doc["name"] == "Zoë ✓"
