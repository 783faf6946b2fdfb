"""The reading side of the store seam (crawler/store/browse.py), on every backend: keyset pages
filtered and sorted (nulls included), one item and its history, dead letters, the change feed
and paged run records."""

from __future__ import annotations

import time

import pytest

from crawler.store.base import Store
from crawler.store.browse import CursorError, ItemQuery
from crawler.store.documents import utc_now_iso


def fill(store: Store) -> None:
    items = [
        {"url": f"u{i}", "p": (i % 7) if i % 5 else None, "c": "x" if i % 2 else "y"}
        for i in range(30)
    ]
    store.upsert_many("b", items, ("url",), history=True)


def walk(store: Store, query: ItemQuery) -> list[dict]:
    seen, cursor = [], None
    for _ in range(100):
        page = store.page_items("b", ItemQuery(**{**query.__dict__, "cursor": cursor}))
        seen += page.items
        cursor = page.next
        if cursor is None:
            return seen
    raise AssertionError("paging never ended")


@pytest.mark.parametrize("sort", ["p", "-p", None, "url"])
def test_keyset_pages_list_every_match_once_in_order(store: Store, sort: str | None) -> None:
    fill(store)
    store.ensure_index("b", ["c", "p"])
    seen = walk(store, ItemQuery(filters={"c": "x"}, sort=sort, limit=4))
    assert sorted(d["url"] for d in seen) == sorted(f"u{i}" for i in range(1, 30, 2))
    assert len({d["url"] for d in seen}) == 15
    if sort in ("p", "-p"):
        values = [d.get("p") for d in seen]
        nulls = [v for v in values if v is None]
        numbers = [v for v in values if v is not None]
        assert numbers == sorted(numbers, reverse=sort == "-p")
        # nulls first ascending, last descending
        assert (
            values[: len(nulls)] if sort == "p" else values[len(values) - len(nulls) :]
        ) == nulls
    assert all(d["_key"] == f'["{d["url"]}"]' for d in seen)


def test_count_filters_and_typed_values(store: Store) -> None:
    fill(store)
    page = store.page_items("b", ItemQuery(filters={"p": 3}, count=True, limit=2))
    assert page.count == sum(1 for i in range(30) if i % 5 and i % 7 == 3)
    assert all(d["p"] == 3 for d in page.items)
    assert store.page_items("b", ItemQuery(filters={"p": "3"}, count=True)).count == 0
    assert store.page_items("nope", ItemQuery(count=True)).count == 0


def test_crawl_time_range(store: Store) -> None:
    store.upsert_many(
        "t",
        [{"url": f"u{d}", "_crawled_at": f"2026-01-0{d}T00:00:00+00:00"} for d in range(1, 6)],
        ("url",),
    )
    query = ItemQuery(since="2026-01-02T00:00:00", until="2026-01-04T00:00:00", count=True)
    page = store.page_items("t", query)
    assert [d["url"] for d in page.items] == ["u2", "u3"] and page.count == 2


def test_a_cursor_of_another_query_is_refused(store: Store) -> None:
    fill(store)
    page = store.page_items("b", ItemQuery(limit=2))
    with pytest.raises(CursorError):
        store.page_items("b", ItemQuery(sort="p", cursor=page.next))
    with pytest.raises(CursorError):
        store.page_items("b", ItemQuery(cursor="not-a-cursor!"))


def test_one_item_with_its_history(store: Store) -> None:
    fill(store)
    store.upsert_many("b", [{"url": "u1", "p": 99, "c": "x"}], ("url",), history=True)
    store.upsert_many("b", [{"url": "u1", "p": 100, "c": "x"}], ("url",), history=True)
    item = store.get_item("b", '["u1"]')
    assert item is not None and item["p"] == 100 and item["_key"] == '["u1"]'
    history = store.item_history("b", '["u1"]', 10)
    assert [h["p"] for h in history] == [99, 1] and all("_replaced_at" in h for h in history)
    assert store.get_item("b", '["nope"]') is None
    assert store.get_item("b", "not json") is None


def test_dead_letters_page_and_removal(store: Store) -> None:
    store.dead_letter("b", [{"url": "d1"}, {"url": "d2"}, {"url": "d3"}], ["bad"] * 3)
    first = store.dead_page("b", 2, None)
    rest = store.dead_page("b", 2, first.next)
    assert [d["url"] for d in first.items + rest.items] == ["d1", "d2", "d3"]
    assert rest.next is None and all(d["_reason"] == "bad" for d in first.items)
    ids = [first.items[0]["_dead_id"]]
    assert [d["url"] for d in store.dead_by_ids("b", ids)] == ["d1"]
    assert store.remove_dead("b", ids) == 1
    assert store.count("b__dead") == 2


def settled() -> str:
    """A ``before`` for the change feed: now, once the clock has moved past the last write."""
    time.sleep(0.002)
    return utc_now_iso()


def test_change_feed_sees_new_and_changed_items_once(store: Store) -> None:
    fill(store)
    before = settled()
    first = store.changes("b", 20, None, before)
    second = store.changes("b", 20, first.next, before)
    assert len(first.items) + len(second.items) == 30
    idle = store.changes("b", 20, second.next, settled())
    assert idle.items == [] and idle.next == second.next  # polling goes on from there
    store.upsert_many("b", [{"url": "u2", "p": 5, "c": "q"}, {"url": "new"}], ("url",))
    assert store.changes("b", 20, idle.next, before).items == []  # not settled at `before`
    later = store.changes("b", 20, idle.next, settled())
    assert sorted(d["url"] for d in later.items) == ["new", "u2"]


def test_run_records_paged_newest_first_and_found_by_scheduled_id(store: Store) -> None:
    for i in range(5):
        store.record_run({"run_id": f"r{i}", "rule": "a", "started_at": f"2026-01-0{i + 1}"})
    store.record_run({"run_id": "other", "rule": "b", "started_at": "2026-02-01"})
    store.record_run({"run_id": "u", "rule": "a", "schedule_run_id": "S1", "started_at": None})
    records, cursor = store.runs_page("a", 4, None)
    more, end = store.runs_page("a", 4, cursor)
    assert [r["run_id"] for r in records + more] == ["r4", "r3", "r2", "r1", "r0", "u"]
    assert end is None
    assert store.get_run("S1")["run_id"] == "u"
    assert store.get_run("r2")["started_at"] == "2026-01-03"
    assert store.get_run("missing") is None
